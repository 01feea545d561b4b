//! The event log of `watch` (`watch_events`, schema 0012): every running
//! watcher sees the events of every line stored, whichever process stored
//! it (a report's own ingest, the status line, `ingest`, another watcher).
//!
//! A watcher announces itself by holding a shared lock on `<db>.watch`
//! (`Watching`) from the end of its catch-up ingest, taken while it still
//! holds the ingest lock, to the end of its life. An ingest that has
//! something to store asks `watched` (an open and a non-blocking exclusive
//! try-lock: no file, or the lock taken, means no watcher) while it holds
//! the ingest lock; if a watcher is live, its writer builds the events and
//! `append`s them in the transaction that stores their rows, so an event
//! is committed exactly when its rows are. A watcher starts from the
//! largest id at its announcement and emits the rows past the last id it
//! read (`since`): so every ingest after its catch-up reaches it, and none
//! before. When the watcher goes (even killed), its lock goes with it and
//! ingests stop logging; what is left in the log is never read again.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rusqlite::{Connection, params};
use serde_json::Value;

/// Rows written before a commit that the commit keeps (and all of its
/// own): a watcher reads the log at least every 200 ms, so only one that
/// fell this far behind (stopped, or blocked behind a large ingest) misses
/// some, and says so.
pub const KEEP: i64 = 10_000;

/// `<db>.watch`: the file watchers hold a shared lock on.
const WATCH_SUFFIX: &str = ".watch";

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(WATCH_SUFFIX);
    PathBuf::from(name)
}

/// A live watcher's announcement: the shared lock on `<db>.watch`, held
/// until dropped (or the process ends).
pub struct Watching {
    _file: File,
}

impl Watching {
    pub fn announce(db: &Path) -> Result<Watching> {
        let (file, path) = super::lock_file(db, WATCH_SUFFIX, "watch")?;
        file.lock_shared()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(Watching { _file: file })
    }
}

/// Whether a watcher is live on `db`, in any process (this one included:
/// flock locks belong to open files, so our own shared lock fails the
/// exclusive try too). Anything that stops the check (no file, no
/// permission) means no.
pub fn watched(db: &Path) -> bool {
    let Ok(file) = File::open(lock_path(db)) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// One event as logged: its session and its JSON text.
pub struct Entry {
    session_id: Option<String>,
    event: String,
}

impl Entry {
    pub fn of(e: &Value) -> Entry {
        Entry {
            session_id: e.get("session_id").and_then(Value::as_str).map(Into::into),
            // (a Value with string keys always serializes)
            event: e.to_string(),
        }
    }
}

/// Log `entries` (in the caller's transaction), then trim what came before
/// them to the newest KEEP rows.
pub fn append(conn: &Connection, entries: &[Entry]) -> rusqlite::Result<()> {
    let Some(first) = entries.first() else {
        return Ok(());
    };
    let mut st =
        conn.prepare_cached("INSERT INTO watch_events(session_id, event) VALUES (?1, ?2)")?;
    st.execute(params![first.session_id, first.event])?;
    let first_id = conn.last_insert_rowid();
    for e in &entries[1..] {
        st.execute(params![e.session_id, e.event])?;
    }
    conn.prepare_cached("DELETE FROM watch_events WHERE id < ?1")?
        .execute([first_id - KEEP])?;
    Ok(())
}

/// The largest id ever logged (0: none yet), even if its row is gone
/// (`forget` may have emptied the log).
pub fn last_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'watch_events'), 0)",
        [],
        |r| r.get(0),
    )
}

/// The events logged after id `after`, oldest first: (id, JSON text).
pub fn since(conn: &Connection, after: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    conn.prepare_cached("SELECT id, event FROM watch_events WHERE id > ?1 ORDER BY id")?
        .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    #[test]
    fn a_watcher_is_seen_while_it_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("obs.db");
        assert!(!watched(&db), "no lock file: no watcher");
        let w = Watching::announce(&db).unwrap();
        assert!(watched(&db));
        // a second watcher shares the lock
        let w2 = Watching::announce(&db).unwrap();
        drop(w);
        assert!(watched(&db));
        drop(w2);
        assert!(!watched(&db), "the file stays, the lock is gone");
        assert!(lock_path(&db).exists());
    }

    #[test]
    fn a_commit_keeps_its_own_events_and_the_newest_before_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("obs.db")).unwrap();
        let c = &store.conn;
        let batch = |n: i64| -> Vec<Entry> {
            (0..n)
                .map(|i| {
                    Entry::of(
                        &json!({"event": "message", "session_id": "s1", "uuid": format!("u{i}")}),
                    )
                })
                .collect()
        };
        assert_eq!(last_id(c).unwrap(), 0);
        append(c, &batch(KEEP + 5)).unwrap();
        let count = || -> i64 {
            c.query_row("SELECT count(*) FROM watch_events", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(), KEEP + 5, "a commit keeps all of its own");
        append(c, &batch(3)).unwrap();
        assert_eq!(count(), KEEP + 3);
        assert_eq!(last_id(c).unwrap(), KEEP + 8);
        let rows = since(c, KEEP + 6).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            (
                KEEP + 7,
                r#"{"event":"message","session_id":"s1","uuid":"u1"}"#.into()
            )
        );
        let sid: String = c
            .query_row(
                "SELECT session_id FROM watch_events WHERE id = ?1",
                [KEEP + 7],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sid, "s1");
        // ids are never used again, even once the log is emptied
        c.execute("DELETE FROM watch_events", []).unwrap();
        assert_eq!(last_id(c).unwrap(), KEEP + 8);
        append(c, &batch(1)).unwrap();
        assert_eq!(last_id(c).unwrap(), KEEP + 9);
    }
}
