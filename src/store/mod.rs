//! The SQLite store: opening (pragmas, permissions), migrations, and the
//! version check. Ingest writes through `Store::conn`, reports read from it.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub mod line_counts;
pub mod raw;
pub mod rollup;
pub mod uuid;

/// The migrations, in order; `PRAGMA user_version` counts how many ran.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("migrations/0001_initial.sql")),
    ("0002_lean", include_str!("migrations/0002_lean.sql")),
    ("0003_forget", include_str!("migrations/0003_forget.sql")),
    (
        "0004_rollup_insert",
        include_str!("migrations/0004_rollup_insert.sql"),
    ),
    (
        "0005_scan_dirs",
        include_str!("migrations/0005_scan_dirs.sql"),
    ),
    (
        "0006_thread_figures",
        include_str!("migrations/0006_thread_figures.sql"),
    ),
    (
        "0007_uuid_blobs",
        include_str!("migrations/0007_uuid_blobs.sql"),
    ),
    ("0008_threads", include_str!("migrations/0008_threads.sql")),
    (
        "0009_lean_rows",
        include_str!("migrations/0009_lean_rows.sql"),
    ),
    (
        "0010_raw_dicts",
        include_str!("migrations/0010_raw_dicts.sql"),
    ),
    (
        "0011_rollup_model",
        include_str!("migrations/0011_rollup_model.sql"),
    ),
    (
        "0012_watch_events",
        include_str!("migrations/0012_watch_events.sql"),
    ),
    (
        "0013_tail_digest",
        include_str!("migrations/0013_tail_digest.sql"),
    ),
    ("0014_prompts", include_str!("migrations/0014_prompts.sql")),
    (
        "0015_content_key",
        include_str!("migrations/0015_content_key.sql"),
    ),
    (
        "0016_tool_call_owner",
        include_str!("migrations/0016_tool_call_owner.sql"),
    ),
    (
        "0017_tool_call_duration",
        include_str!("migrations/0017_tool_call_duration.sql"),
    ),
    (
        "0018_first_prompt_at",
        include_str!("migrations/0018_first_prompt_at.sql"),
    ),
    (
        "0019_project_at",
        include_str!("migrations/0019_project_at.sql"),
    ),
    (
        "0020_session_lookups",
        include_str!("migrations/0020_session_lookups.sql"),
    ),
    (
        "0021_kept_counts",
        include_str!("migrations/0021_kept_counts.sql"),
    ),
    (
        "0022_file_session_ids",
        include_str!("migrations/0022_file_session_ids.sql"),
    ),
    (
        "0023_rollup_by_session",
        include_str!("migrations/0023_rollup_by_session.sql"),
    ),
    (
        "0024_workflow_agents",
        include_str!("migrations/0024_workflow_agents.sql"),
    ),
    (
        "0025_fast_responses",
        include_str!("migrations/0025_fast_responses.sql"),
    ),
    (
        "0026_subagent_meta",
        include_str!("migrations/0026_subagent_meta.sql"),
    ),
    (
        "0027_commands_index",
        include_str!("migrations/0027_commands_index.sql"),
    ),
    (
        "0028_gone_files",
        include_str!("migrations/0028_gone_files.sql"),
    ),
    (
        "0029_cost_totals",
        include_str!("migrations/0029_cost_totals.sql"),
    ),
    (
        "0030_tool_figures",
        include_str!("migrations/0030_tool_figures.sql"),
    ),
    (
        "0031_hook_figures",
        include_str!("migrations/0031_hook_figures.sql"),
    ),
    (
        "0032_contentless_prompts",
        include_str!("migrations/0032_contentless_prompts.sql"),
    ),
    (
        "0033_earliest_copy",
        include_str!("migrations/0033_earliest_copy.sql"),
    ),
];

/// The readable current schema (what the migrations produce).
pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The page cache of every connection that writes: 16 MiB.
pub const CACHE_SIZE: &str = "PRAGMA cache_size=-16384;";

/// The page cache of a report's reads: 256 KiB. They scan, reading most
/// pages once, and every page of a larger cache is fresh memory, a page
/// fault each (on the 1 GiB benchmark database, `--no-ingest`, alternating
/// runs: `tools` 49 -> 45 ms, 2,072 -> 1,605 page faults, and `cost
/// --by-model` 15 -> 10.5 ms against SQLite's default 2 MiB). Not for
/// `query`'s SQL: random lookups in a large index read its lower levels
/// again from a cache this small.
const READ_CACHE_SIZE: &str = "PRAGMA cache_size=-256";

/// Writers fold the WAL into the database when it passes ~40 MB.
const WAL_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint=10000";

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Nothing at `path`, or an empty file with no WAL beside it: no database
/// yet (opened to write, SQLite would make one there).
pub fn no_database_yet(path: &Path) -> bool {
    let empty = || std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0);
    !path.exists() || (empty() && !wal_pending(path))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} was written by a newer observatory (schema version {found}; this binary knows up to {supported}); upgrade observatory or use another --db"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} is not an observatory database (not SQLite); if it was one, it is damaged: restore a copy made by `observatory backup`, or move it away and run `observatory ingest` to build a new one from the transcripts Claude Code still keeps; else pass another --db"
    )]
    NotSqlite { path: PathBuf },
    #[error(
        "{path} is another program's SQLite database (it holds tables but no observatory schema): left as it is; pass another --db (or OBSERVATORY_HOME) for observatory's own"
    )]
    Foreign { path: PathBuf },
    #[error("{path}: no database here yet; run `observatory ingest` first")]
    Missing { path: PathBuf },
    #[error(
        "{path} is a folder, not a database file; pass a file path, e.g. --db {path}/observatory.db"
    )]
    Folder { path: PathBuf },
    #[error(
        "{path} is not a regular file (a FIFO, a socket or a device), so not a database; pass a database file with --db"
    )]
    NotAFile { path: PathBuf },
    #[error(
        "{path} cannot be written: it or its folder is read-only for this user; make them writable (chmod u+w) or pass another --db"
    )]
    ReadOnly { path: PathBuf },
    /// (SQLite's words once: its error is not also given as a source,
    /// which would print it again after them)
    #[error("{path}: {}{}", sqlite_words(error), damaged_hint(error))]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A warning when a database file is readable by other users (said to its
/// owner: another reader cannot chmod it).
fn exposed(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.permissions().mode() & 0o777;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let owner = meta.uid() == unsafe { libc::geteuid() };
    (owner && mode & 0o077 != 0).then(|| {
        format!(
            "{} is readable by other users (mode {mode:o}); transcripts hold secrets: chmod 600 it",
            path.display()
        )
    })
}

/// `--db` naming a folder, a FIFO or a device: said plainly, before
/// SQLite's "disk I/O error" (a folder) or a wait for a FIFO's writer.
fn not_a_file(path: &Path) -> Result<(), StoreError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let path = path.to_owned();
    match meta.file_type() {
        t if t.is_dir() => Err(StoreError::Folder { path }),
        t if !t.is_file() => Err(StoreError::NotAFile { path }),
        _ => Ok(()),
    }
}

pub struct Store {
    pub conn: Connection,
    pub path: PathBuf,
    /// Things the user should hear about (e.g. a DB readable by others).
    pub warnings: Vec<String>,
    /// Held as long as the store, and let go after the connection closes
    /// (fields drop in order): a lock kept over a transaction that closing
    /// rolls back (a report priced with `--pricing`).
    pub held: Option<crate::ingest::IngestLock>,
}

impl Store {
    /// End what `held` was held for: roll back the open transaction (the
    /// re-pricing of a report given `--pricing`: its figures are read) and
    /// let go, so that a report piped into a pager holds nothing while it
    /// prints. Nothing when nothing is held.
    pub fn end_what_if(&mut self) {
        if self.held.is_some() {
            let _ = self
                .conn
                .execute_batch("ROLLBACK; PRAGMA temp_store = MEMORY");
            self.held = None;
        }
    }

    /// Open (creating if needed: folder 0700, file 0600) and migrate.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // (a folder this user cannot write: said as a read-only database is)
        let io = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::PermissionDenied => StoreError::ReadOnly {
                path: path.to_owned(),
            },
            _ => StoreError::Io {
                path: path.to_owned(),
                source,
            },
        };
        not_a_file(path)?;
        let mut warnings = Vec::new();
        if let Some(w) = FirstLoad::recover(path).map_err(io)? {
            warnings.push(w);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        match std::fs::metadata(path) {
            Ok(meta) => warnings.extend(exposed(path, &meta)),
            Err(_) => {
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
            }
        }
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            warnings,
            held: None,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// An empty database in memory, migrated, standing in for `path`
    /// where none is yet: a report with `--no-ingest` reads nothing from it
    /// and leaves no file behind.
    pub fn empty_in_memory(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| sql(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            warnings: Vec::new(),
            held: None,
        };
        store.migrate()?;
        Ok(store)
    }

    /// True when SQLite opened the database read-only (the file or its
    /// folder cannot be written): reads work, writes fail.
    pub fn is_read_only(&self) -> bool {
        self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false)
    }

    /// Refuse, naming the file, when writing `path` would fail for
    /// permissions: the database, or its `-wal` / `-shm` left read-only (a
    /// read of a read-only database creates them with its mode). Checked
    /// before opening, so a refused write leaves nothing behind.
    pub fn check_writable(path: &Path) -> Result<(), StoreError> {
        not_a_file(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let f = sibling(path, suffix);
            if f.exists() && !file_writable(&f) {
                return Err(StoreError::ReadOnly { path: f });
            }
        }
        Ok(())
    }

    /// Open an existing database for reading only (`query_only` too). In a
    /// folder this user cannot write, SQLite cannot create the WAL's `-shm`
    /// file; when no WAL content is pending, the file is then read as
    /// immutable (everything committed is in it).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if no_database_yet(path) {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        not_a_file(path)?;
        // A file we cannot write, with no WAL frames pending: read it as
        // immutable, so that reading leaves no read-only -shm behind.
        if !file_writable(path) && !wal_pending(path) {
            return Store::open_read_only_as(path, true);
        }
        match Store::open_read_only_as(path, false) {
            Err(StoreError::ReadOnly { .. }) if !wal_pending(path) => {
                Store::open_read_only_as(path, true)
            }
            other => other,
        }
    }

    fn open_read_only_as(path: &Path, immutable: bool) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = if immutable {
            Connection::open_with_flags(format!("file:{}?immutable=1", uri_path(path)), flags)
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(|e| sql(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql(path, e))?;
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| sql(path, e))?;
        let warnings = std::fs::metadata(path)
            .ok()
            .and_then(|m| exposed(path, &m))
            .into_iter()
            .collect();
        let store = Store {
            conn,
            path: path.to_owned(),
            warnings,
            held: None,
        };
        store.refuse_foreign()?;
        let v = store.user_version()?;
        if v > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(store)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let conn = &self.conn;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql(&path, e))?;
        // (before the switch to WAL, which writes the file's header)
        self.refuse_foreign()?;
        // Ingest cycles through a few dozen statements: keep them all prepared.
        conn.set_prepared_statement_cache_capacity(64);
        // The first statement that reads the file tells a non-SQLite file.
        // Switching a new database to WAL needs it to ourselves and does not
        // wait on the busy handler: retry while another process holds it.
        let started = std::time::Instant::now();
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => break other.map_err(|e| not_sqlite_or(&path, e))?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(sql(
                &path,
                rusqlite::Error::InvalidParameterName(format!(
                    "could not enable WAL (journal_mode={mode})"
                )),
            ));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous=NORMAL;
             PRAGMA foreign_keys=ON;
             {CACHE_SIZE}
             PRAGMA temp_store=MEMORY;"
        ))
        .map_err(|e| sql(&path, e))?;
        conn.execute_batch(WAL_AUTOCHECKPOINT)
            .map_err(|e| sql(&path, e))?;
        // The WAL is folded into the database when it passes ~40 MB (and at
        // the end of `observatory ingest`), not whenever a connection
        // closes: a status line's or a report's small ingest then costs a
        // commit, not a checkpoint with its fsync (append-then-cost on the
        // 1 GiB corpus: ~160 -> ~120 ms).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(|e| sql(&path, e))?;
        Ok(())
    }

    /// A report's page cache (`READ_CACHE_SIZE`) from here on. Not inside
    /// a transaction (a `--pricing` what-if's): its changed pages stay in
    /// the cache.
    pub fn small_cache(&self) {
        if self.conn.is_autocommit() {
            let _ = self.conn.execute_batch(READ_CACHE_SIZE);
        }
    }

    /// Fold the WAL into the database file when this connection closes, and
    /// remove it if no other process has the database open (after a real
    /// ingest: the file alone then holds everything). Best effort.
    pub fn checkpoint_on_close(&self) {
        let _ = self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            false,
        );
    }

    /// Fold the WAL into the database at close (as `checkpoint_on_close`)
    /// when it is past the size at which commits checkpoint it (~40 MB):
    /// its frames are then mostly in the database already, and left behind
    /// every later command would read it whole to open the database (~0.2
    /// ms per MB: a report 9 -> 19 ms with a 61 MB WAL on the 1 GiB
    /// benchmark database). After a big ingest, a report's included.
    pub fn fold_big_wal(&self) {
        const BIG: u64 = 40 << 20;
        if std::fs::metadata(sibling(&self.path, "-wal")).is_ok_and(|m| m.len() > BIG) {
            self.checkpoint_on_close();
        }
    }

    /// Refuse an SQLite file observatory did not make: one with an
    /// application id (observatory sets none), a negative schema version,
    /// tables but no schema version, or a schema version but no `meta`
    /// table (every observatory schema has one). (Migrations set the version
    /// in the transaction that makes the tables: an empty file is new.)
    fn refuse_foreign(&self) -> Result<(), StoreError> {
        let path = &self.path;
        let ask = |sql: &str| {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map_err(|e| not_sqlite_or(path, e))
        };
        let version = ask("PRAGMA user_version")?;
        let foreign = ask("PRAGMA application_id")? != 0
            || version < 0
            || match version {
                0 => {
                    ask(
                        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
                    )? != 0
                }
                _ => {
                    ask(
                        "SELECT NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
                    )? != 0
                }
            };
        if foreign {
            return Err(StoreError::Foreign { path: path.clone() });
        }
        Ok(())
    }

    pub fn user_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| not_sqlite_or(&self.path, e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.user_version()?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        // (SQLite's advice for schema changes; the migrations keep every
        // reference)
        without_foreign_keys(&self.conn, |c| migrate_in_tx(c, &path)).map_err(|e| sql(&path, e))?
    }

    pub fn meta_get(&self, key: &str) -> rusqlite::Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    /// Set `key` (an unchanged value is not written again).
    pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn sql(path: &Path, error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
        return StoreError::ReadOnly {
            path: path.to_owned(),
        };
    }
    StoreError::Sqlite {
        path: path.to_owned(),
        error,
    }
}

/// What SQLite said (its message, else its code's description).
fn sqlite_words(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqliteFailure(f, None) => f.to_string(),
        other => other.to_string(),
    }
}

/// An error that met a damaged database file while a command ran (not
/// while opening it: a StoreError says that already), said as a
/// StoreError says it: the file, SQLite's words once, the way back.
pub fn name_damage(err: anyhow::Error, db: &Path) -> anyhow::Error {
    if err.chain().any(|c| c.is::<StoreError>()) {
        return err;
    }
    let corrupt = err.chain().find_map(|c| {
        c.downcast_ref::<rusqlite::Error>()
            .filter(|e| e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt))
    });
    let Some(e) = corrupt else {
        return err;
    };
    // (without what the command was doing: its advice, "run ingest
    // again", would contradict the way back)
    anyhow::anyhow!("{}: {}{}", db.display(), sqlite_words(e), damaged_hint(e))
}

/// What to do about a damaged database file.
fn damaged_hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            " (the file is damaged: restore a copy made by `observatory backup`, or move it away and run `observatory ingest` to build a new one from the transcripts Claude Code still keeps)"
        }
        _ => "",
    }
}

/// `path` with a suffix: `x.db` -> `x.db-wal`.
/// Run `f` with its sorts spilling to a temp file past 4 MiB instead of
/// growing in memory (SQLite's sorter never spills while the temp store is
/// in memory; its budget is the page cache's size): the temp store on file
/// and a 4 MiB page cache, both given back after. Inside a transaction the
/// temp store cannot change: there only the cache narrows (the caller has
/// set the store).
pub fn spilling<T>(
    conn: &Connection,
    f: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let in_tx = !conn.is_autocommit();
    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch(if in_tx {
        "PRAGMA cache_size = -4096"
    } else {
        "PRAGMA temp_store = FILE; PRAGMA cache_size = -4096"
    })?;
    let result = f();
    let store = if in_tx {
        ""
    } else {
        "PRAGMA temp_store = MEMORY; "
    };
    conn.execute_batch(&format!("{store}PRAGMA cache_size = {cache}"))?;
    result
}

/// Run `f` in one write transaction (taken at once: no upgrade from a read
/// lock that another writer could make fail): committed if it returns Ok,
/// rolled back if not.
pub fn immediate<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    if !conn.is_autocommit() {
        return f(); // (part of a transaction already open: a rebuild's)
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f() {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Folds the WAL into the database from a second connection on its own
/// thread, after each commit of a long ingest, while the writer goes on
/// writing: passive checkpoints never wait on the writer, and the writer's
/// own automatic checkpoints are off meanwhile (back on when this is
/// dropped).
pub struct WalFolder<'c> {
    writer: &'c Connection,
    conn: Option<Connection>,
}

/// What the writer tells a running `WalFolder`.
pub struct Folding {
    tx: std::sync::mpsc::Sender<u64>,
    commits: u64,
    /// (commits folded through, WAL frames at that fold)
    folded: std::sync::Arc<(std::sync::Mutex<(u64, i64)>, std::sync::Condvar)>,
}

/// Past this many WAL frames (~100 MB), the writer waits for the fold of
/// its last commit before it begins the next transaction, so that the WAL
/// starts over from its first frame instead of growing.
const FOLD_WAIT_FRAMES: i64 = 25_000;

impl<'c> WalFolder<'c> {
    /// None if the second connection cannot be opened (the writer then
    /// keeps its automatic checkpoints).
    pub fn open(writer: &'c Connection, path: &Path) -> Option<WalFolder<'c>> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        // it reads WAL frames and writes pages: no cache to speak of
        conn.execute_batch("PRAGMA cache_size=16").ok()?;
        writer.execute_batch("PRAGMA wal_autocheckpoint=0").ok()?;
        Some(WalFolder {
            writer,
            conn: Some(conn),
        })
    }

    /// Start folding on a thread of `scope` (once; None after).
    pub fn spawn<'s>(&mut self, scope: &'s std::thread::Scope<'s, '_>) -> Option<Folding> {
        let conn = self.conn.take()?;
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let folded = std::sync::Arc::new((
            std::sync::Mutex::new((0u64, 0i64)),
            std::sync::Condvar::new(),
        ));
        let shared = folded.clone();
        scope.spawn(move || {
            while let Ok(mut commit) = rx.recv() {
                while let Ok(later) = rx.try_recv() {
                    commit = later;
                }
                // best effort: what is not folded now is folded later
                let frames = conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
                    .unwrap_or(0);
                let (lock, cv) = &*shared;
                if let Ok(mut f) = lock.lock() {
                    *f = (commit, frames);
                    cv.notify_all();
                }
            }
            // the writer may be waiting on a fold that will not come
            let (lock, cv) = &*shared;
            if let Ok(mut f) = lock.lock() {
                f.0 = u64::MAX;
                cv.notify_all();
            }
        });
        Some(Folding {
            tx,
            commits: 0,
            folded,
        })
    }
}

impl Folding {
    /// The writer committed: fold what it wrote. When the WAL has grown
    /// long, wait for that fold (the next transaction then starts the WAL
    /// over).
    pub fn committed(&mut self) {
        self.commits += 1;
        if self.tx.send(self.commits).is_err() {
            return;
        }
        let (lock, cv) = &*self.folded;
        let Ok(mut f) = lock.lock() else { return };
        if f.1 < FOLD_WAIT_FRAMES {
            return;
        }
        while f.0 < self.commits {
            match cv.wait(f) {
                Ok(next) => f = next,
                Err(_) => return,
            }
        }
    }
}

impl Drop for WalFolder<'_> {
    fn drop(&mut self) {
        let _ = self.writer.execute_batch(WAL_AUTOCHECKPOINT);
    }
}

/// What `scrub` managed.
#[derive(Debug, Clone, Copy)]
pub struct Scrubbed {
    /// The WAL was checkpointed and emptied (false: another process kept
    /// reading; old pages may remain in it until the next checkpoint).
    pub wal_truncated: bool,
}

/// Run `f`, which opens and ends its own transaction, with foreign keys
/// unchecked, and check them again afterwards whatever `f` returned (the
/// pragma is a no-op inside a transaction, so it is set around it). With
/// them on, SQLite deletes a table's rows one by one before DROP TABLE or
/// an unqualified DELETE, holding all their ids in memory (a rebuild of the
/// 1 GiB corpus's database peaked at 131 MB, migration 0009 at 152 MB).
pub fn without_foreign_keys<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> T,
) -> rusqlite::Result<T> {
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    let out = f(conn);
    conn.execute_batch("PRAGMA foreign_keys=ON")?;
    Ok(out)
}

/// Empty `tables`, inside the caller's transaction and with foreign keys
/// unchecked (see [`without_foreign_keys`]), page by page as SQLite empties
/// a table without triggers: each table's triggers are lifted for its
/// DELETE and put back as they were. (A table with a trigger is emptied
/// row by row, every id held: the responses of the 1 GiB benchmark corpus
/// 1.22 s against 0.10 s, its lines 0.49 s and 22 MB against 0.24 s and
/// 6 MB.) What the lifted triggers would have recorded is the caller's to
/// redo.
pub fn empty_tables(conn: &Connection, tables: &[&str]) -> rusqlite::Result<()> {
    for table in tables {
        let triggers: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1",
            )?
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &triggers {
            conn.execute_batch(&format!("DROP TRIGGER \"{name}\""))?;
        }
        conn.execute(&format!("DELETE FROM {table}"), [])?;
        for (_, sql) in &triggers {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}

/// Run the migrations this database lacks, in one transaction.
fn migrate_in_tx(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    // IMMEDIATE: take the write lock up front, so two processes that
    // open a new database at once wait for each other instead of failing.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| sql(path, e))?;
    // Re-read under the write lock: another process may have migrated.
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sql(path, e))?;
    for (_, migration) in MIGRATIONS.iter().skip(current.max(0) as usize) {
        tx.execute_batch(migration).map_err(|e| sql(path, e))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(|e| sql(path, e))?;
    tx.commit().map_err(|e| sql(path, e))?;
    Ok(())
}

/// The `meta` key a deletion (`forget`) sets until the database is
/// rewritten: a forget stopped before that leaves the next one to do it.
pub const COMPACT_PENDING: &str = "compact_pending";

/// Get deleted bytes out of the files: checkpoint the WAL into the database
/// and truncate it, rewrite the database (VACUUM), and checkpoint again.
pub fn scrub(conn: &Connection) -> anyhow::Result<Scrubbed> {
    use anyhow::Context;
    checkpoint(conn).context("checkpointing the WAL")?;
    // VACUUM builds the new database in a temporary one: on disk, not in
    // memory (the store's temp_store), or a large database needs its size
    // in RAM.
    conn.pragma_update(None, "temp_store", "FILE")?;
    let vacuumed = conn.execute_batch("VACUUM");
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    vacuumed.context("rewriting the database (VACUUM)")?;
    // (rewritten, by whichever command: before the last checkpoint, which
    // then empties the WAL of this too)
    conn.execute("DELETE FROM meta WHERE key = ?1", [COMPACT_PENDING])?;
    let wal_truncated = checkpoint(conn).context("checkpointing the WAL")?;
    Ok(Scrubbed { wal_truncated })
}

/// Copy the WAL into the database and truncate it to nothing; false when
/// a reader kept it from finishing.
pub fn checkpoint(conn: &Connection) -> rusqlite::Result<bool> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// The first ingest into an empty database is a bulk load: no journal and
/// no fsync (no page is written twice, nothing waits on the disk), and the
/// non-unique indexes are built once at the end from sorted keys instead of
/// kept up to date one random insert at a time. Writer-thread CPU on the
/// 1 GiB gen-corpus: 12.3 s through a rollback journal (itself ~25% faster
/// than the WAL in wall time); 8.3 s with no journal, 64 MB commits and the
/// indexes at the end (+0.5 s to build them).
///
/// Without a journal a failed transaction cannot be rolled back, and a
/// machine that stops may leave a damaged file. So a marker file beside the
/// database says a first load is under way, and only `finish` removes it:
/// a load that failed, panicked or was killed leaves it, and the next open
/// that finds it while no ingest holds the lock starts the database over
/// (it held nothing but what the transcripts still hold).
pub struct FirstLoad<'c> {
    conn: &'c Connection,
    db: PathBuf,
    marker: PathBuf,
    /// The indexes dropped for the load, as created.
    deferred: Vec<String>,
    /// An early flush of the rows to disk (`flush_rows`), joined in `finish`.
    flushing: Option<std::thread::JoinHandle<()>>,
}

const FIRST_LOAD_MARKER: &str = ".first-load";

impl<'c> FirstLoad<'c> {
    /// Switch `store` to the first-load mode, if it is empty (no file read
    /// yet, no budget) and no other connection has it open. None: the
    /// ingest goes on in WAL mode.
    pub fn begin(store: &'c Store) -> Option<FirstLoad<'c>> {
        let conn = &store.conn;
        let empty: bool = conn
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM source_files) AND NOT EXISTS (SELECT 1 FROM budgets)",
                [],
                |r| r.get(0),
            )
            .ok()?;
        if !empty || store.is_read_only() {
            return None;
        }
        // (another connection open: the mode stays WAL)
        let off: String = conn
            .query_row("PRAGMA journal_mode=OFF", [], |r| r.get(0))
            .ok()?;
        if !off.eq_ignore_ascii_case("off") {
            return None;
        }
        let mut load = FirstLoad {
            conn,
            db: store.path.clone(),
            marker: sibling(&store.path, FIRST_LOAD_MARKER),
            deferred: Vec::new(),
            flushing: None,
        };
        let marked = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&load.marker)
            .and_then(|f| f.sync_all());
        if marked.is_err() {
            load.back_to_wal(); // (nothing written yet)
            return None;
        }
        // from here on, anything but `finish` leaves the marker
        // Half the page cache: measured, the load is no slower (the misses
        // are in random-keyed indexes larger than either cache), and the
        // peak memory of a cold ingest is 8 MB lower (62 MB with the 600 MB
        // file).
        if conn
            .execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-8192")
            .is_err()
            || load.drop_indexes().is_err()
        {
            // (nothing written yet: indexes back, WAL, no marker)
            let _ = load.finish();
            return None;
        }
        Some(load)
    }

    fn drop_indexes(&mut self) -> rusqlite::Result<()> {
        let indexes: Vec<(String, String)> = self
            .conn
            .prepare(
                "SELECT name, sql FROM sqlite_schema
                 WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE %'",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, sql) in indexes {
            self.conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
            self.deferred.push(sql);
        }
        Ok(())
    }

    /// The rows are in: build the indexes dropped for the load (before
    /// anything reads through them).
    pub fn build_indexes(&mut self) -> rusqlite::Result<()> {
        // Each build sorts its table's keys: in memory, at 4 GiB of
        // transcripts that was the cold ingest's peak (86-92 MiB, 74-77 with
        // the sorts spilling; a build reads its table once and appends its
        // index: a small cache costs it nothing).
        let deferred = std::mem::take(&mut self.deferred);
        spilling(self.conn, || {
            deferred
                .iter()
                .try_for_each(|sql| self.conn.execute_batch(sql))
        })
    }

    /// The rows are in: start writing them to disk on another thread,
    /// while this one builds the indexes and sums the figures (the load
    /// itself never syncs; `finish` syncs again for what came after).
    pub fn flush_rows(&mut self) {
        let db = self.db.clone();
        // (no thread to be had: finish syncs it all, as before)
        self.flushing = std::thread::Builder::new()
            .spawn(move || {
                // (an error here is met again by finish's own sync)
                let _ = std::fs::File::open(db).and_then(|f| f.sync_data());
            })
            .ok();
    }

    /// The load is complete: indexes built, back to WAL, everything on
    /// disk, and then the marker goes.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.build_indexes().map_err(std::io::Error::other)?;
        if let Some(flushing) = self.flushing.take() {
            let _ = flushing.join();
        }
        self.back_to_wal();
        std::fs::File::open(&self.db)?.sync_all()?;
        std::fs::remove_file(&self.marker)
    }

    /// Back to WAL; if that fails (another process has the database open
    /// and busy), to a rollback journal, so that this connection never
    /// goes on without one (the next open switches it to WAL).
    fn back_to_wal(&self) {
        let _ = self
            .conn
            .execute_batch(&format!("PRAGMA synchronous=NORMAL; {CACHE_SIZE}"));
        let mode: Result<String, _> = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0));
        if !mode.is_ok_and(|m| m.eq_ignore_ascii_case("wal")) {
            let _ = self
                .conn
                .query_row("PRAGMA journal_mode=DELETE", [], |_| Ok(()));
        }
    }

    /// Called by `Store::open`: a marker with no ingest holding the lock is
    /// a first load that never finished; the database starts over. While
    /// another process loads it, wait: the database has no journal then,
    /// and switching it back to WAL under the load fails the load (a
    /// second `ingest`, `watch` or report started meanwhile).
    fn recover(db: &Path) -> std::io::Result<Option<String>> {
        use crate::ingest::IngestLock;
        let marker = sibling(db, FIRST_LOAD_MARKER);
        if !marker.exists() || IngestLock::held_here(db) {
            return Ok(None);
        }
        let _held = match IngestLock::try_acquire(db).map_err(std::io::Error::other)? {
            Some(held) => held,
            None => {
                crate::errln!(
                    "waiting for the first ingest into {} to finish...",
                    db.display()
                );
                IngestLock::wait_for(db).map_err(std::io::Error::other)?
            }
        };
        // (looked at again under the lock: the load may have finished, and
        // taken its marker away, between the first look and the lock)
        if !marker.exists() {
            return Ok(None);
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            match std::fs::remove_file(sibling(db, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::remove_file(&marker)?;
        Ok(Some(format!(
            "{}: the first ingest into it did not finish (interrupted or failed); the database starts over and the next ingest reads every transcript again",
            db.display()
        )))
    }
}

/// After a first load into `db` failed (no connection to it open here):
/// its files removed at once, rather than by the next open (on a full disk
/// they are what fills it, and they hold nothing the transcripts do not).
/// The bytes freed, or None when there was nothing to remove (another
/// process's load, say, finished meanwhile).
pub fn remove_failed_first_load(db: &Path) -> std::io::Result<Option<u64>> {
    let size = std::fs::metadata(db).map_or(0, |m| m.len())
        + std::fs::metadata(sibling(db, "-wal")).map_or(0, |m| m.len());
    Ok(FirstLoad::recover(db)?.map(|_| size))
}

/// A first load is (or was, if it died) under way in the database at `db`.
pub fn first_load_marked(db: &Path) -> bool {
    sibling(db, FIRST_LOAD_MARKER).exists()
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A `-wal` file beside the database holds frames not yet in it.
fn wal_pending(path: &Path) -> bool {
    std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0)
}

/// This process may open the file for writing (nothing is written).
pub fn file_writable(path: &Path) -> bool {
    // (a FIFO's open for writing waits for a reader: not a file at all)
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && OpenOptions::new().write(true).open(path).is_ok()
}

/// A path for an SQLite `file:` URI (percent-encoded).
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn not_sqlite_or(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotSqlite {
            path: path.to_owned(),
        },
        _ => sql(path, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(conn: &Connection) -> Vec<(String, String, String)> {
        let mut st = conn
            .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn migrations_produce_schema_sql() {
        let migrated = Connection::open_in_memory().unwrap();
        for (_, m) in MIGRATIONS {
            migrated.execute_batch(m).unwrap();
        }
        let readable = Connection::open_in_memory().unwrap();
        readable.execute_batch(SCHEMA_SQL).unwrap();
        assert_eq!(objects(&migrated), objects(&readable));
    }

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/obs.db");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
        s.conn
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(s);
        match Store::open(&path) {
            Err(StoreError::SchemaTooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a newer database was opened"),
        }
    }

    /// Without a journal a failed load cannot be rolled back: only
    /// `finish` removes the marker, and the next open starts over.
    #[test]
    fn a_first_load_that_does_not_finish_starts_the_database_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.db");
        let marker = sibling(&path, FIRST_LOAD_MARKER);
        let mode = |s: &Store| -> String {
            s.conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        let indexes = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let cache = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let s = Store::open(&path).unwrap();
        let all = indexes(&s);
        assert_eq!(cache(&s), -16384);
        let load = FirstLoad::begin(&s).unwrap();
        assert_eq!(mode(&s), "off");
        assert_eq!(cache(&s), -8192, "a smaller page cache for the load");
        assert!(marker.exists());
        assert!(indexes(&s) < all, "the non-unique indexes wait for the end");
        s.conn
            .execute_batch("INSERT INTO meta(key, value) VALUES ('half', 'loaded')")
            .unwrap();
        drop(load); // (a failure: no finish)
        assert!(marker.exists());
        drop(s);
        let s = Store::open(&path).unwrap();
        assert!(
            s.warnings.iter().any(|w| w.contains("did not finish")),
            "{:?}",
            s.warnings
        );
        assert_eq!(s.meta_get("half").unwrap(), None, "started over");
        assert!(!marker.exists());

        let mut load = FirstLoad::begin(&s).unwrap();
        // (a full re-sum of the rollup, here for a response inserted without
        // noting its bucket, narrows the cache for its sort and gives back
        // what it found)
        s.conn
            .execute_batch(
                "INSERT INTO response_rows(key, model, at, input_tokens, output_tokens, cache_creation_5m_tokens,
                   cache_creation_1h_tokens, cache_read_tokens, web_search_requests, web_fetch_requests, fast,
                   us_only, final, line_count) VALUES ('k', 'm', 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1)",
            )
            .unwrap();
        crate::store::rollup::refresh(&s.conn, true).unwrap();
        let summed: i64 = s
            .conn
            .query_row("SELECT sum(requests) FROM cost_rollup", [], |r| r.get(0))
            .unwrap();
        assert_eq!(summed, 1);
        let temp_store = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA temp_store", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(cache(&s), -8192);
        assert_eq!(temp_store(&s), 2, "back in memory");
        // (the index builds too, their sorter spilling to a file)
        load.build_indexes().unwrap();
        assert_eq!(indexes(&s), all);
        assert_eq!(cache(&s), -8192);
        assert_eq!(temp_store(&s), 2, "back in memory");
        load.finish().unwrap();
        assert!(!marker.exists());
        assert_eq!(mode(&s), "wal");
        assert_eq!(cache(&s), -16384);
        assert_eq!(indexes(&s), all);
    }

    /// A reader in the middle of a read when the load ends: the switch back
    /// to WAL cannot happen, and the connection goes on with a rollback
    /// journal rather than none.
    #[test]
    fn a_first_load_ending_beside_a_reader_keeps_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.db");
        let s = Store::open(&path).unwrap();
        let mut load = FirstLoad::begin(&s).unwrap();
        load.build_indexes().unwrap();
        s.conn.busy_timeout(Duration::from_millis(50)).unwrap();
        let reader = Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM meta;")
            .unwrap();
        load.finish().unwrap();
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        assert!(!sibling(&path, FIRST_LOAD_MARKER).exists());
        reader.execute_batch("COMMIT").unwrap();
        drop((reader, s));
        let s = Store::open(&path).unwrap();
        let mode: String = s
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal", "the next open switches it back");
    }

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(uri_path(Path::new("/a b/x?.db")), "/a%20b/x%3F.db");
        assert_eq!(uri_path(Path::new("/h/obs-1_2.db")), "/h/obs-1_2.db");
    }

    #[test]
    fn a_version_1_database_gets_the_forget_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0].1).unwrap();
        c.execute_batch(
            "INSERT INTO meta(key, value) VALUES ('last_ingest_at', 'x');
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(c);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(SCHEMA_VERSION, 33);
        // (migrated with foreign keys unchecked) checked again, and holding
        let checked: i64 = s
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(checked, 1);
        let dangling: i64 = s
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM forgotten_files", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(s.meta_get("last_ingest_at").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn a_wal_folder_folds_commits_into_the_file_and_gives_checkpoints_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.db");
        let s = Store::open(&path).unwrap();
        let autocheckpoint = |c: &Connection| -> i64 {
            c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .unwrap()
        };
        let before = std::fs::metadata(&path).unwrap().len();
        {
            let mut folder = WalFolder::open(&s.conn, &s.path).unwrap();
            assert_eq!(autocheckpoint(&s.conn), 0, "the writer does not fold");
            std::thread::scope(|scope| {
                let mut folding = folder.spawn(scope).unwrap();
                for i in 0..3 {
                    Store::meta_set(&s.conn, &format!("k{i}"), &"x".repeat(200_000)).unwrap();
                    folding.committed();
                }
            });
        }
        assert_eq!(autocheckpoint(&s.conn), 10_000);
        // only the folder's checkpoints can have copied pages into the file
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after >= before + 600_000, "{before} -> {after}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("obs.db");
        std::fs::write(
            &path,
            b"this is a text file, not a database at all, honestly......",
        )
        .unwrap();
        match Store::open(&path) {
            Err(StoreError::NotSqlite { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a text file"),
        }
    }
}
