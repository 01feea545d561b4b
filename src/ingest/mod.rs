//! Batch ingest: discover transcript files, read only what is new past each
//! file's cursor, and store it (raw bytes, lines, typed rows) with the cursor
//! in the same transaction. Re-running on unchanged files opens none of them.

pub mod discover;
pub mod reader;
pub mod watch_log;
pub mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, Result};
use foldhash::{HashMap, HashMapExt};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::paths::{self, Root};
use crate::pricing::PriceTable;
use crate::store::{Store, raw};
use discover::{Found, Listings, Stat};
use reader::{Msg, ReadJob};
use writer::{FileRef, Notice, STORED_RESPONSE_COLUMNS, StoredResponse, Writer};

/// Commit after this many transcript bytes (and at the end). A first load
/// commits as often: with its 8 MiB page cache, 16 MB is no slower than 32
/// or 64 and peaks lower (3 pairs of cold ingests of 1 GiB, median wall
/// 9.97 vs 10.87 s; with the 600 MB file 62.7-63.6 MB against 66.1-67.8 MB
/// at 32).
const COMMIT_BYTES: u64 = 16 << 20;

/// From this much to read into an empty database, it is loaded without the
/// WAL (`store::FirstLoad`).
const FIRST_LOAD_BYTES: u64 = 16 << 20;

/// From this much to read, the WAL is folded into the database on a thread
/// of its own while the writer goes on (checkpoints were a fifth of the
/// writer's time in a cold ingest).
const FOLD_ALONGSIDE_BYTES: u64 = 64 << 20;

/// Derived tables: everything a rebuild re-creates from raw_chunks.
const DERIVED_TABLES: &[&str] = &[
    "content_blocks",
    "hook_run_rows",
    "progress_event_rows",
    "attachment_rows",
    "queue_operations",
    "system_event_rows",
    "summaries",
    "file_snapshots",
    "session_metadata",
    "subagent_meta",
    "tool_call_rows",
    "response_rows",
    "cost_rollup",
    "cost_totals",
    "cost_rollup_dirty",
    "thread_figures",
    "thread_figures_dirty",
    "tool_figures",
    "tool_figures_dirty",
    "hook_figures",
    "hook_figures_dirty",
    "line_counts",
    "file_session_ids",
    "message_rows",
    "threads",
    "sessions",
    "projects",
    "lines",
];

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Re-derive every table from the stored raw lines first.
    pub full: bool,
    /// Return the live events (`watch --replay`'s catch-up) in
    /// `Summary::events`. (Whether they are written into the watch log
    /// does not depend on this: they are while a watcher runs.)
    pub events: bool,
    /// `observatory ingest` itself, not a report's own ingest. Even when
    /// nothing was new it counts the responses against the cost rollup
    /// (healing a rollup that a response stored with an id below the
    /// largest left behind) and records the time in `meta`. A report's own
    /// ingest that stores nothing counts them only when something changed
    /// since the rollup was last checked (the count reads an index of every
    /// response: ~3 ms of a 35 ms repeat `cost` at 1 GiB), and otherwise
    /// writes nothing at all.
    pub explicit: bool,
    /// Read about this much of each file at most (whole lines; see
    /// `reader::ReadJob::max_bytes`); the rest is left for the next run.
    /// The status line's bound.
    pub max_bytes_per_file: Option<u64>,
    /// Once set (`watch`'s Ctrl-C during its catch-up), what was stored is
    /// committed and the reading stops there; the next run reads on from
    /// the cursors.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Leave the hook runs noted, not summed again (`watch` and the status
    /// line, which store a few lines of a live session at a time: each
    /// re-sum re-pairs the whole session's hooks, ~110 ms for one of 51,000
    /// hook rows; review-s35 M1). The next ingest that is not deferred (a
    /// report's own, `hooks`') sums them; until then `hooks` pairs every
    /// row, as before schema 31.
    pub defer_hook_sums: bool,
}

/// What `ingest --json` prints. Invariant:
/// sum(records_by_type) + malformed_lines == lines_read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub files_seen: u64,
    pub files_read: u64,
    pub files_failed: u64,
    /// Of `files_failed`, those read up to a line too long to hold, whose
    /// lines before it are stored (this run or an earlier one).
    pub files_cut_short: u64,
    /// Files rewritten or cut shorter while they were read: read up to
    /// there (the next run reads the new file).
    pub files_changed_while_read: u64,
    /// Of `files_read`, those rewritten or cut shorter since they were
    /// last read: read again from their start as a new generation (the
    /// old one's lines kept; `forget --replaced` drops them).
    pub files_replaced: u64,
    /// Folders and links under `projects/` the walk could not follow (a
    /// symlink loop, a dangling link, an unreadable folder): each named.
    pub paths_skipped: u64,
    pub bytes_read: u64,
    pub lines_read: u64,
    pub records_by_type: BTreeMap<String, u64>,
    pub malformed_lines: u64,
    pub held_back_lines: u64,
    pub unknown_types: BTreeMap<String, u64>,
    pub responses_new: u64,
    pub responses_updated: u64,
    pub warnings: u64,
    /// Small raw chunks at the end of appended files merged into one each.
    pub raw_chunks_merged: u64,
    /// `--full`: chunks stored without the dictionary, compressed with it
    /// (one is sampled from the stored lines first if there is none).
    pub raw_chunks_recompressed: u64,
    pub rebuilt_lines: u64,
    /// A rebuild's stored chunks that did not decompress (a damaged
    /// database), read again from their transcript, still on disk and
    /// unchanged, and stored anew.
    pub raw_chunks_healed: u64,
    /// ... and those whose transcript is gone or changed: their lines are
    /// left out of the tables (the run exits 1).
    pub raw_chunks_damaged: u64,
    /// The first ingest into an empty database, loaded without the WAL.
    pub first_load: bool,
    pub elapsed_ms: u64,
    /// Live events, in the order rows were stored (only with `Options::events`).
    #[serde(skip)]
    pub events: Vec<serde_json::Value>,
}

impl Summary {
    /// Files that could not be read at all: those failed, but for the ones
    /// read up to a line too long to hold.
    pub fn files_unread(&self) -> u64 {
        self.files_failed - self.files_cut_short
    }
}

/// What ingest tells its caller while it runs (the caller prints).
pub trait Observer {
    /// Total transcript bytes this run will read (for a progress bar).
    fn start(&mut self, _total_bytes: u64) {}
    fn advance(&mut self, _bytes: u64) {}
    /// A located problem: a malformed line, an odd field, an unreadable file.
    fn notice(&mut self, _n: &Notice) {}
    /// A problem with no line (a file that failed while being read).
    fn warning(&mut self, _message: &str) {}
    /// A problem every run meets again until the user acts: an
    /// unreadable folder, a symlink loop, a file that cannot be opened.
    fn recurring(&mut self, message: &str) {
        self.warning(message);
    }
    /// A transaction of this run was committed, and more follow (a run
    /// commits every `COMMIT_BYTES`): what it stored can be read now.
    fn committed(&mut self, _conn: &Connection) {}
}

/// Only one process ingests into a database at a time: a second `ingest`,
/// `watch` or report waits here, then finds nothing left to read.
pub struct IngestLock {
    _file: File,
    path: PathBuf,
}

/// The lock files this process holds an `IngestLock` on, once per lock (a
/// process holding one never waits for it again: it would wait for
/// itself).
static HELD_HERE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn held_locks() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    HELD_HERE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IngestLock {
    /// Wait for the lock, saying so on stderr once another process has
    /// held it for `SAY_WAITING_AFTER` (a report or hook that waits without
    /// a word looks hung; an ingest stopped with Ctrl-Z holds it until it
    /// is resumed). A wait behind a status line's ingest says nothing.
    pub fn acquire(db: &Path) -> Result<IngestLock> {
        if let Some(held) = Self::try_acquire(db)? {
            return Ok(held);
        }
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let db_shown = db.display().to_string();
        std::thread::spawn(move || {
            if wait.recv_timeout(SAY_WAITING_AFTER)
                == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            {
                waiting_for(&db_shown);
            }
        });
        let held = Self::wait_for(db);
        drop(done);
        held
    }

    /// Wait for the lock, without a word.
    pub fn wait_for(db: &Path) -> Result<IngestLock> {
        let (file, path) = Self::open_file(db)?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(IngestLock::held(file, path))
    }

    /// `acquire`, given up (None) once `stop` is set: `watch`'s Ctrl-C or
    /// SIGTERM ends it while it waits (looked at every 50 ms).
    pub fn acquire_unless(
        db: &Path,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<IngestLock>> {
        let started = Instant::now();
        let mut said = false;
        loop {
            if let Some(held) = Self::try_acquire(db)? {
                return Ok(Some(held));
            }
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(None);
            }
            if !said && started.elapsed() >= SAY_WAITING_AFTER {
                waiting_for(&db.display().to_string());
                said = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn held(file: File, path: PathBuf) -> IngestLock {
        held_locks().push(path.clone());
        IngestLock { _file: file, path }
    }

    /// This process holds the ingest lock of the database at `db`.
    pub fn held_here(db: &Path) -> bool {
        held_locks().contains(&lock_path(db, ".lock"))
    }

    /// Like `acquire`, but never waits: None while another process holds
    /// the lock (a status line skips its ingest rather than queue up).
    pub fn try_acquire(db: &Path) -> Result<Option<IngestLock>> {
        let (file, path) = Self::open_file(db)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(IngestLock::held(file, path))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    fn open_file(db: &Path) -> Result<(File, PathBuf)> {
        lock_file(db, ".lock", "ingest")
    }
}

/// How long a wait for another process's ingest lock goes unsaid.
const SAY_WAITING_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Said once while waiting for another process's ingest lock.
fn waiting_for(db: &str) {
    crate::errln!(
        "waiting for another observatory process to finish storing new lines into {db} (an ingest, watch or report; one stopped with Ctrl-Z holds it until it is resumed)..."
    );
}

impl Drop for IngestLock {
    fn drop(&mut self) {
        let mut held = held_locks();
        if let Some(i) = held.iter().position(|p| *p == self.path) {
            held.swap_remove(i);
        }
    }
}

/// What to do first when `e` is a full disk (SQLITE_FULL) or a write that
/// failed (SQLITE_IOERR_WRITE: EFBIG past a size limit); "" otherwise.
fn disk_hint(e: &anyhow::Error) -> &'static str {
    e.chain()
        .find_map(|c| match c.downcast_ref::<rusqlite::Error>()? {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
                Some("free some disk space, then ")
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE =>
            {
                Some("check the disk (is it full?), then ")
            }
            _ => None,
        })
        .unwrap_or("")
}

fn lock_path(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Another process holds the ingest lock of the database at `db` (asked
/// with a shared try-lock on the lock file, opened read-only: no file, or
/// one that cannot be read, says no).
pub fn ingest_running(db: &Path) -> bool {
    File::open(lock_path(db, ".lock"))
        .is_ok_and(|f| matches!(f.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock)))
}

/// The lock file `<db><suffix>` (created 0600 if need be) and its path;
/// `what` names it in an error.
pub fn lock_file(db: &Path, suffix: &str, what: &str) -> Result<(File, PathBuf)> {
    let path = lock_path(db, suffix);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create the {what} lock {}", path.display()))?;
    Ok((file, path))
}

#[derive(Debug, Clone)]
struct Tracked {
    id: i64,
    generation: i64,
    /// The file as it was at the last read.
    stat: Stat,
    read_offset: u64,
    line_count: u64,
    fingerprint: u64,
    fingerprint_len: u64,
    tail_len: u64,
    tail_digest: u64,
    /// Made but never read (no cursor set): the dictionary's sample opened
    /// its row, and that run stopped before the file's turn.
    never_read: bool,
    /// Recorded with no project folder, of no known kind: read by the
    /// status line from a folder under no root (or a file no walk places).
    unplaced: bool,
}

/// A file to read this run.
struct Job {
    found: Found,
    /// Existing row to continue, or None for a new row.
    file_id: Option<i64>,
    /// A row this one replaces (the file shrank or changed its first bytes).
    supersedes: Option<(i64, i64)>,
    start_offset: u64,
    start_lines: u64,
    remaining: u64,
    /// A new row that starts as a copy of a forgotten file (`forget`): it
    /// inherits the tombstone and is read only past the forgotten bytes.
    inherits: Option<Tombstone>,
    /// The row's last line was stored cut (the file was still for an hour)
    /// and has been continued since: read again whole from its start
    /// (`start_offset`), replacing that line's row in `lines` (None: a
    /// tail of blanks, which has none) and its stored bytes.
    recut: Option<Option<i64>>,
    /// The first bytes' fingerprint (and its length) the plan found the
    /// file to start with, for a read that goes on from a cursor: checked
    /// again when the reader opens it (it may be rewritten meanwhile).
    expect_head: Option<(u64, u64)>,
}

/// A forgotten file (`forgotten_files`): what ingest needs to recognise a
/// copy of it elsewhere, or a replacement that starts with the same bytes.
#[derive(Debug, Clone)]
struct Tombstone {
    forgotten_at: i64,
    read_offset: u64,
    line_count: u64,
    /// FNV-1a 64 of the first min(4 KiB, read_offset) bytes, then of all.
    head_digest: u64,
    digest: u64,
    /// Where the forgotten file was (as stored).
    path: String,
}

/// Ingest everything new under `roots` into `store`.
pub fn run(
    store: &mut Store,
    roots: &[Root],
    prices: &PriceTable,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let lock = IngestLock::acquire(&store.path)?;
    run_held(store, &lock, roots, prices, opts, obs)
}

/// `run`, by a caller that holds the ingest lock (`_held` proves it).
pub fn run_held(
    store: &mut Store,
    _held: &IngestLock,
    roots: &[Root],
    prices: &PriceTable,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    reprice_if_needed(&store.conn, prices).context("re-pricing stored responses")?;
    let pending = store.meta_get("rebuild_pending")?.is_some();
    if opts.full {
        summary.raw_chunks_recompressed = recompress(store)?;
    }
    if pending && !opts.full {
        // (an upgrade, or an interrupted rebuild: say why this run is slow)
        obs.warning(&format!(
            "{}: rebuilding every table from the stored raw lines (after an upgrade or an \
             interrupted rebuild; about 10 s per GiB of transcripts)",
            store.path.display()
        ));
    }
    if opts.full || pending {
        rebuild(store, prices, obs)
            .context("rebuilding tables from the stored raw lines")?
            .add_to(&mut summary);
        compact_after_rebuild(&store.conn).context("rewriting the database after a rebuild")?;
    }

    // (a rebuild lists every folder again)
    let mut listings = if opts.full {
        Listings::default()
    } else {
        Listings::load(&store.conn)?
    };
    // (a root without projects/ is a setting to fix: said on every run,
    // once per watch, which looks again for one made since)
    for root in roots.iter().filter(|r| r.projects.is_none()) {
        obs.recurring(&format!(
            "{}: {}; nothing to read from this root",
            root.given.display(),
            paths::why_nothing(&root.given)
        ));
    }
    let (mut found, warnings) = discover::discover(roots, &mut listings);
    for w in &warnings {
        obs.recurring(w);
    }
    summary.paths_skipped = warnings.len() as u64;
    listings
        .save(&store.conn)
        .context("storing the folder listings")?;
    let mut tracked =
        load_walked(&store.conn, roots, &found).context("matching files to their rows")?;
    let left_out = fold_hard_links(&mut found, &tracked);
    if !left_out.is_empty() {
        crate::store::immediate(&store.conn, || {
            let mut st = store
                .conn
                .prepare_cached("UPDATE source_files SET superseded = 1 WHERE id = ?1")?;
            for id in &left_out {
                st.execute([id])?;
            }
            Ok::<_, rusqlite::Error>(())
        })
        .context("setting aside a second name's row")?;
        tracked.retain(|_, t| !left_out.contains(&t.id));
    }
    relocate(&store.conn, &found, &mut tracked).context("following moved transcripts")?;
    ingest_found(store, found, tracked, prices, opts, obs, summary, started)
}

/// Paths found that are one file (hard links: a project folder copied with
/// `cp -al` to keep it from Claude Code's cleanup) are read once, as one
/// symlinked twice is: under the path already tracked (the first, in path
/// order, if several are), else the first found. The others are left out
/// of the run, not marked gone: they are still on disk. Returns the rows of
/// those an older run tracked too (both names stored, before hard links
/// were told apart), for the caller to set aside as replaced generations:
/// their lines are kept, and should the name read be deleted later, the
/// other is a new name for its row, followed as a move (review-s34 2: read
/// on from its own, older cursor, it stored every line since again).
fn fold_hard_links(found: &mut Vec<Found>, tracked: &HashMap<String, Tracked>) -> Vec<i64> {
    let mut linked: HashMap<(u64, u64), usize> = HashMap::new();
    let mut drop = vec![false; found.len()];
    for (i, f) in found.iter().enumerate() {
        if f.links < 2 || f.stat.ino == 0 {
            continue;
        }
        let is_tracked = |f: &Found| tracked.contains_key(paths::stored(&f.path).as_ref());
        match linked.entry((f.stat.dev, f.stat.ino)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let kept = *e.get();
                if !is_tracked(&found[kept]) && is_tracked(f) {
                    drop[kept] = true;
                    e.insert(i);
                } else {
                    drop[i] = true;
                }
            }
        }
    }
    let left_out = found
        .iter()
        .zip(&drop)
        .filter(|(_, d)| **d)
        .filter_map(|(f, _)| tracked.get(paths::stored(&f.path).as_ref()))
        .map(|t| t.id)
        .collect();
    let mut i = 0;
    found.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    left_out
}

/// Tracked files gone from where they were read, found at a new path: a
/// new file whose first bytes and bytes before the cursor are a gone
/// file's, and whose cursor stands at a line end there (what reading on
/// from it needs), is that file, moved (a project folder renamed, or moved
/// to another disk and linked back, its old path now leading to the new
/// one; `~/.claude` moved): its rows, every generation's, take the new path,
/// and it is read on from its cursor rather than stored again. A copy whose
/// original is still there is a file of its own, and so is a file whose
/// bytes before the cursor are not known (a row from before schema 13 not
/// read since). A file that cannot be read is not followed (its read says
/// why).
fn relocate(
    conn: &Connection,
    found: &[Found],
    tracked: &mut HashMap<String, Tracked>,
) -> Result<()> {
    // (nearly every run: no new file, nothing to follow)
    let new: Vec<&Found> = found
        .iter()
        .filter(|f| !tracked.contains_key(paths::stored(&f.path).as_ref()))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    // (fingerprint length, fingerprint) -> the tracked files with them
    let mut by_head: HashMap<(u64, u64), Vec<i64>> = HashMap::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT id, fingerprint_len, fingerprint FROM source_files
             WHERE superseded = 0 AND fingerprint_len > 0",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        for row in rows {
            let (id, len, fp) = row?;
            by_head.entry((len, fp)).or_default().push(id);
        }
    }
    let mut lens: Vec<u64> = by_head.keys().map(|(len, _)| *len).collect();
    lens.sort_unstable();
    lens.dedup();
    let mut moves: Vec<(String, &Found, Tracked)> = Vec::new();
    for f in new {
        let taken = |id: i64| moves.iter().any(|(_, _, t)| t.id == id);
        if let Ok(Some((old, t))) = moved_from(conn, f, &lens, &by_head, &taken) {
            // (a subagent's sidecar only as the same session's and agent's:
            // the same few bytes are many sessions' sidecars)
            let other_agent = f.kind == discover::AGENT_META
                && crate::transcript::sidecar_ids(&old)
                    != crate::transcript::sidecar_ids(&f.path.to_string_lossy());
            if !other_agent {
                moves.push((old, f, t));
            }
        }
    }
    if moves.is_empty() {
        return Ok(());
    }
    crate::store::immediate(conn, || {
        place(conn, moves.iter().map(|(old, f, _)| (old.as_str(), *f)))
    })?;
    for (old, f, t) in moves {
        tracked.remove(&old);
        tracked.insert(paths::stored(&f.path).into_owned(), t);
    }
    Ok(())
}

/// Every row (each generation) of each file at `old` takes its `Found`'s
/// path, root, project folder and kind, and is not gone: the walk found it
/// there (moved, or first read by the status line from under no root).
fn place<'a>(
    conn: &Connection,
    files: impl Iterator<Item = (&'a str, &'a Found)>,
) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE source_files SET path = ?2, root = ?3, project_dir = ?4, kind = ?5, gone = 0 WHERE path = ?1",
    )?;
    for (old, f) in files {
        st.execute(params![
            old,
            paths::stored(&f.path),
            paths::stored(&f.root),
            f.project_dir,
            f.kind
        ])?;
    }
    Ok(())
}

/// The tracked file that `f` (untracked at its path) is, moved there: one
/// whose first bytes `f` starts with (`by_head`, by fingerprint length
/// and fingerprint; `lens` its lengths, sorted), gone from its path, not
/// `taken` by another, that `f` continues (`same_file`, the cursor at a
/// line end).
fn moved_from(
    conn: &Connection,
    f: &Found,
    lens: &[u64],
    by_head: &HashMap<(u64, u64), Vec<i64>>,
    taken: &dyn Fn(i64) -> bool,
) -> Result<Option<(String, Tracked)>> {
    let file = File::open(&f.path)?;
    let want = lens
        .iter()
        .copied()
        .filter(|l| *l <= f.stat.size)
        .max()
        .unwrap_or(0);
    let mut head = vec![0u8; want as usize];
    read_exact_at(&file, &mut head, 0)?;
    let mut st = conn.prepare_cached(&format!("{TRACKED_COLUMNS} AND id = ?1"))?;
    // (the first bytes hashed once, their fingerprint taken at each length)
    let (mut fp, mut hashed) = (reader::FNV_START, 0);
    for &len in lens.iter().filter(|l| **l <= want) {
        fp = reader::fnv1a_more(fp, &head[hashed..len as usize]);
        hashed = len as usize;
        let Some(ids) = by_head.get(&(len, fp)) else {
            continue;
        };
        for &id in ids {
            let Some((old, t)) = st.query_row([id], tracked_row).optional()? else {
                continue;
            };
            if taken(t.id) || f.stat.size < t.read_offset {
                continue;
            }
            // (gone, or its old path leads to this one: linked back)
            let old_path = paths::from_stored(&old);
            let gone = paths::is_gone(&old_path)
                || std::fs::canonicalize(&old_path).is_ok_and(|now| now == f.path);
            // (stored bytes that cannot be read: not this one, the next
            // candidate may be)
            if gone
                && same_file(&file, &t)?
                && at_line_end(&file, t.read_offset, f.stat.size)?
                && tail_known(conn, &file, &t).unwrap_or(false)
            {
                return Ok(Some((old, t)));
            }
        }
    }
    Ok(None)
}

/// Whether `file` holds the bytes last read of tracked `t` before its
/// cursor, as far as they are known: its tail digest, or all of them in its
/// fingerprint; a row without a digest (written before schema 13, and not
/// read since) is compared with the stored bytes themselves.
fn tail_known(conn: &Connection, file: &File, t: &Tracked) -> Result<bool> {
    if t.tail_len > 0 || t.read_offset <= t.fingerprint_len {
        return Ok(true);
    }
    let from = t.read_offset - t.read_offset.min(reader::TAIL_BYTES as u64);
    let Some(stored) = crate::store::raw::stored_range(conn, t.id, from, t.read_offset)? else {
        return Ok(false);
    };
    let mut now = vec![0u8; stored.len()];
    read_exact_at(file, &mut now, from)?;
    Ok(now == stored)
}

/// Ingest only `files` (e.g. the one transcript a status line is about),
/// through the same planning, reading and writing as `run`. The caller
/// holds the ingest lock (`_held` proves it: taking it again here would
/// wait on ourselves). A file under a root's `projects/` is recorded as
/// `discover` would; one under no root is still read, with its parent dir
/// as its root. `opts.full` rebuilds first; a pending rebuild (an upgrade,
/// an interrupted one) is left for the next `run`, and nothing is read
/// until it is done. Files that cannot be read count in `files_failed`.
pub fn run_files(
    store: &mut Store,
    _held: &IngestLock,
    roots: &[Root],
    files: &[PathBuf],
    prices: &PriceTable,
    opts: &Options,
    obs: &mut dyn Observer,
) -> Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    reprice_if_needed(&store.conn, prices).context("re-pricing stored responses")?;
    if opts.full {
        rebuild(store, prices, obs)
            .context("rebuilding tables from the stored raw lines")?
            .add_to(&mut summary);
    } else if store.meta_get("rebuild_pending")?.is_some() {
        // (rows added now would go into tables about to be rebuilt: the
        // next `run`, a report's or `ingest`, rebuilds and reads them)
        return Ok(summary);
    }
    let mut found: Vec<Found> = Vec::new();
    for f in files {
        match locate(roots, f) {
            Ok(x) => found.push(x),
            Err(e) => {
                summary.files_failed += 1;
                obs.recurring(&cannot_read(f, &e, "skipped"));
            }
        }
    }
    // (a hard link to a file tracked at another path is read there, as
    // the walk reads it: `fold_hard_links`)
    for f in found.iter_mut().filter(|f| f.links > 1) {
        if let Some(other) = tracked_link(&store.conn, f)?
            && let Ok(x) = locate(roots, &other)
            && x.stat.dev == f.stat.dev
            && x.stat.ino == f.stat.ino
        {
            *f = x;
        }
    }
    // (one path given twice, or two names of one file: read once)
    let mut seen = foldhash::HashSet::default();
    found.retain(|f| seen.insert(f.path.clone()));
    let paths: Vec<&Path> = found.iter().map(|f| f.path.as_path()).collect();
    let mut tracked = load_tracked(&store.conn, Some(&paths))?;
    // (a moved transcript a status line names first is followed too)
    relocate(&store.conn, &found, &mut tracked).context("following moved transcripts")?;
    ingest_found(store, found, tracked, prices, opts, obs, summary, started)
}

/// The name the walk reads `f` under, when that is another of its names
/// (hard links): the first in path order of the tracked ones (current, not
/// gone) with its device and inode, as `fold_hard_links` keeps it; None
/// when that is `f`'s own, or none is tracked.
fn tracked_link(conn: &Connection, f: &Found) -> rusqlite::Result<Option<PathBuf>> {
    let own = paths::stored(&f.path);
    let first: Option<String> = conn
        .query_row(
            "SELECT path FROM source_files
             WHERE superseded = 0 AND gone = 0 AND dev = ?1 AND ino = ?2
             ORDER BY path LIMIT 1",
            params![f.stat.dev as i64, f.stat.ino as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(first.filter(|p| *p != own).map(|p| paths::from_stored(&p)))
}

/// A file given by path, recorded as `discover` would find it: under the
/// first root whose `projects/` holds it (as given, or once both are
/// canonical), else with its parent dir as its root.
/// A transcript that could not be opened or read, for people: a file the
/// user may not read says what to do (it is met again on every run until
/// then); any other error says `then`.
fn cannot_read(path: &Path, e: &std::io::Error, then: &str) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        format!(
            "{}: permission denied: make it readable by this user (chmod u+r, or run as its owner); it is tried again on every run",
            path.display()
        )
    } else {
        format!("{}: {e}; {then}", path.display())
    }
}

fn locate(roots: &[Root], file: &Path) -> std::io::Result<Found> {
    let path = std::fs::canonicalize(file)?;
    let meta = std::fs::metadata(&path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a file"));
    }
    let stat = Stat::of(&meta);
    let links = meta.nlink();
    for root in roots {
        let Some(projects) = &root.projects else {
            continue;
        };
        let canonical = std::fs::canonicalize(projects).ok();
        let rel = file
            .strip_prefix(projects)
            .ok()
            .or_else(|| canonical.as_deref().and_then(|c| path.strip_prefix(c).ok()));
        if let Some(rel) = rel {
            let mut comps = rel.components();
            let first = comps.next();
            let project_dir = comps
                .next()
                .and(first)
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            return Ok(Found {
                kind: discover::kind_of(rel),
                project_dir,
                root: root.given.clone(),
                path,
                stat,
                links,
            });
        }
    }
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    Ok(Found {
        kind: discover::kind_of(&name),
        project_dir: None,
        root: path.parent().map(Path::to_owned).unwrap_or_default(),
        path,
        stat,
        links,
    })
}

/// `meta` keys (this, then the stored path) of files whose read stopped at
/// a line too long to hold (`reader::LineTooLong`): their stat when it did
/// (`stat_key`), a line end, and the message.
const TOO_LONG_KEY: &str = "line_too_long:";

fn stat_key(s: &discover::Stat) -> String {
    format!("{}:{}:{}:{}", s.dev, s.ino, s.size, s.mtime_ns)
}

/// The files remembered under `TOO_LONG_KEY`: stored path -> (stat key,
/// message).
fn load_too_long(conn: &Connection) -> rusqlite::Result<HashMap<String, (String, String)>> {
    let mut st = conn.prepare(
        "SELECT substr(key, length(?1) + 1), value FROM meta WHERE substr(key, 1, length(?1)) = ?1",
    )?;
    let rows = st.query_map([TOO_LONG_KEY], |r| {
        let value: String = r.get(1)?;
        let (stat, message) = value.split_once('\n').unwrap_or((&value, ""));
        Ok((r.get(0)?, (stat.to_owned(), message.to_owned())))
    })?;
    rows.collect()
}

/// Plan, read and store `found` (the lock is held, any rebuild done).
#[allow(clippy::too_many_arguments)]
fn ingest_found(
    store: &mut Store,
    found: Vec<Found>,
    tracked: HashMap<String, Tracked>,
    prices: &PriceTable,
    opts: &Options,
    obs: &mut dyn Observer,
    mut summary: Summary,
    started: Instant,
) -> Result<Summary> {
    summary.files_seen += found.len() as u64;
    let tombstones = load_tombstones(&store.conn)?;
    let mut too_long = load_too_long(&store.conn)?;
    let mut jobs = Vec::new();
    for f in found {
        // (a file whose read stopped at a line too long to hold, unchanged
        // since: said again, not read again, ~256 MiB at every run)
        if let Some((stat, message)) = too_long.remove(paths::stored(&f.path).as_ref()) {
            if stat == stat_key(&f.stat) {
                summary.files_failed += 1;
                if reader::cut_after_lines(&message) {
                    summary.files_cut_short += 1;
                }
                obs.recurring(&message);
                continue;
            }
            store.conn.execute(
                "DELETE FROM meta WHERE key = ?1",
                [format!("{TOO_LONG_KEY}{}", paths::stored(&f.path))],
            )?;
        }
        match plan(
            &f,
            tracked.get(paths::stored(&f.path).as_ref()),
            &tombstones,
            &mut |t| cut_line(&store.conn, t),
        ) {
            Ok(Some(job)) => jobs.push(job),
            Ok(None) => {}
            Err(e) => {
                summary.files_failed += 1;
                obs.recurring(&cannot_read(&f.path, &e, "skipped"));
            }
        }
    }
    // (what this run will read: a per-file bound, the status line's, keeps
    // a long backlog from making it a first load or a dictionary's sample)
    let total: u64 = jobs
        .iter()
        .map(|j| j.remaining.min(opts.max_bytes_per_file.unwrap_or(u64::MAX)))
        .sum();
    obs.start(total);

    let read_jobs: Vec<ReadJob> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| ReadJob {
            job: i,
            path: j.found.path.clone(),
            start_offset: j.start_offset,
            start_lines: j.start_lines,
            max_bytes: opts.max_bytes_per_file,
            expect_head: j.expect_head,
        })
        .collect();
    // (declared before the writer: dropped after it)
    let mut first_load = (total >= FIRST_LOAD_BYTES)
        .then(|| crate::store::FirstLoad::begin(store))
        .flatten();
    summary.first_load = first_load.is_some();
    let dict = raw_dictionary(&store.conn, &mut jobs, total, obs)
        .context("making the raw lines' dictionary")?;
    let packers = reader::Zip::packers(dict).context("starting zstd")?;
    let mut folder = (total >= FOLD_ALONGSIDE_BYTES && first_load.is_none())
        .then(|| crate::store::WalFolder::open(&store.conn, &store.path))
        .flatten();
    let mut files: HashMap<usize, FileRef> = HashMap::new();
    let mut writer = Writer::new(&store.conn, prices)?;
    // (asked with the ingest lock held: a watcher announces itself at the
    // end of its catch-up, with the lock held, and reads from there on)
    writer.log_events = !jobs.is_empty() && watch_log::watched(&store.path);
    writer.keep_events = opts.events;
    let result = std::thread::scope(|scope| -> Result<()> {
        // (the reader's slack is bounded in bytes: reader::IN_FLIGHT_BYTES)
        let (tx, rx) = sync_channel::<Msg>(64);
        let (spent_tx, spent) = std::sync::mpsc::channel();
        let mut spent = reader::Spent::new(spent);
        let mut folded = folder.as_mut().and_then(|f| f.spawn(scope));
        scope.spawn(move || {
            std::thread::scope(|inner| {
                let mut zip = reader::Zip::spawn(inner, packers);
                for job in &read_jobs {
                    if !reader::read_file(job, &tx, &mut spent, &mut zip) {
                        break;
                    }
                }
            });
        });
        let mut uncommitted = 0u64;
        for msg in rx {
            match msg {
                Msg::Batch(batch) => {
                    let file = match files.get(&batch.job) {
                        Some(f) => f.clone(),
                        None => {
                            writer.begin()?;
                            let job = &jobs[batch.job];
                            let f = open_file_row(&store.conn, job)?;
                            if let Some(line_id) = job.recut {
                                writer.recut(f.id, line_id, job.start_offset)?;
                            }
                            files.insert(batch.job, f.clone());
                            summary.files_read += 1;
                            summary.files_replaced += u64::from(job.supersedes.is_some());
                            f
                        }
                    };
                    summary.bytes_read += batch.bytes_read;
                    uncommitted += batch.bytes_read;
                    obs.advance(batch.bytes_read);
                    if let Some(line) = batch.held_back_line {
                        summary.held_back_lines += 1;
                        obs.notice(&Notice {
                            file: file.display.clone(),
                            line,
                            message: "last line has no newline and is not a complete JSON object yet; held back until the file grows (or, if it stays unchanged for an hour, stored as it is)".into(),
                            held_back: true,
                        });
                    }
                    writer.write_batch(&file, &batch)?;
                    // freed on the reader thread, which allocated it
                    let _ = spent_tx.send(batch);
                    for n in writer.notices.drain(..) {
                        obs.notice(&n);
                    }
                    let stopped = opts
                        .stop
                        .as_ref()
                        .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst));
                    if uncommitted >= COMMIT_BYTES || stopped {
                        writer.commit()?;
                        uncommitted = 0;
                        if let Some(f) = &mut folded {
                            f.committed();
                        }
                        obs.committed(&store.conn);
                    }
                    if stopped {
                        // (the reader stops at its next send)
                        break;
                    }
                }
                Msg::Changed { job } => {
                    summary.files_changed_while_read += 1;
                    obs.warning(&format!(
                        "{}: changed while it was read (rewritten, or cut shorter): what was read before it changed stays stored, and the next ingest reads it again",
                        jobs[job].found.path.display()
                    ));
                }
                Msg::TooLong { job, message: why } => {
                    // (met again at every run, until the file is dealt
                    // with: remembered with its stat, not read again)
                    summary.files_failed += 1;
                    if reader::cut_after_lines(&why) {
                        summary.files_cut_short += 1;
                    }
                    let found = &jobs[job].found;
                    let message = format!("{}: {why}", found.path.display());
                    writer.begin()?;
                    Store::meta_set(
                        &store.conn,
                        &format!("{TOO_LONG_KEY}{}", paths::stored(&found.path)),
                        &format!("{}\n{message}", stat_key(&found.stat)),
                    )?;
                    obs.recurring(&message);
                }
                Msg::Failed { job, error } => {
                    summary.files_failed += 1;
                    let path = &jobs[job].found.path;
                    let message = if error.kind() == std::io::ErrorKind::NotFound {
                        // (Claude Code's cleanup, or a project folder
                        // renamed, while this run was reading others)
                        format!(
                            "{}: gone before it was read (deleted or moved meanwhile): what was read of it before stays stored, and a moved file is read where it is now by the next ingest",
                            path.display()
                        )
                    } else {
                        cannot_read(
                            path,
                            &error,
                            "lines read before stay stored, the rest is read next time",
                        )
                    };
                    if error.kind() == std::io::ErrorKind::PermissionDenied {
                        obs.recurring(&message);
                    } else {
                        obs.warning(&message);
                    }
                }
            }
        }
        writer.merge_raw_tails()?;
        writer.commit()?;
        Ok(())
    });
    if let Err(e) = result {
        let space = disk_hint(&e);
        if first_load.is_some() {
            // (no journal: the marker stays, and the next open starts over)
            return Err(e).context(format!(
                "storing transcript lines in a first load (it cannot be resumed: the database starts over; {space}run ingest again)"
            ));
        }
        // (dropping the writer rolls its transaction back)
        return Err(e).context(format!(
            "storing transcript lines (nothing from the failed batch was kept; {space}run ingest again)"
        ));
    }
    // The readers' and compressors' buffers are free now, in their threads'
    // malloc arenas, which the sums below (on this thread) never reuse:
    // given back first, the sums' memory comes after theirs rather than on
    // top of it (the 600 MB single-session file's 64,000 hook rows, paired
    // at the end of a first load with the 1 GiB corpus: 84-90 MiB peak
    // before, 75-77 after, against the load's 61).
    if total >= FIRST_LOAD_BYTES {
        give_back_free_memory();
    }
    if let Some(load) = &mut first_load {
        load.flush_rows();
        load.build_indexes()
            .context("building the indexes after a first load")?;
    }
    // Only what is pending is re-summed. The rollup's responses are counted
    // again (a scan of an index: ~3 ms at 1 GiB, ~13 ms at 4 GiB) only by
    // an explicit ingest, or when something changed since the last check
    // that noted nothing (a response inserted by another tool): lines
    // stored with no response in them (a prompt, a tool result: most lines
    // `watch` sees) change no response, and new or changed responses are
    // noted. With nothing stored the sessions' figures are left to the
    // report.
    let stored = summary.files_read > 0 || summary.rebuilt_lines > 0;
    if first_load.is_some() {
        // (the sums scan; the load's pages, given back, make room for
        // what they hold: the 600 MB session's hook rows)
        store.conn.execute_batch("PRAGMA cache_size = -1024")?;
    }
    crate::store::rollup::refresh(&store.conn, opts.explicit)
        .context("summing costs per 15 minutes")?;
    crate::report::sessions::refresh(&store.conn, stored)
        .context("summing the figures of each session")?;
    crate::report::tools::refresh(&store.conn).context("summing the tool calls of each session")?;
    if !opts.defer_hook_sums {
        crate::report::hooks::refresh(&store.conn)
            .context("summing the hook runs of each session")?;
    }
    crate::store::line_counts::refresh(&store.conn).context("counting the lines per type")?;
    if stored || opts.explicit {
        Store::meta_set(
            &store.conn,
            "last_ingest_at",
            &crate::transcript::format_timestamp(chrono::Utc::now().timestamp_millis()),
        )?;
    }

    summary.events = std::mem::take(&mut writer.kept);
    let c = std::mem::take(&mut writer.counts);
    summary.lines_read = c.lines_read;
    summary.records_by_type = c.records_by_type;
    summary.malformed_lines = c.malformed_lines;
    summary.unknown_types = c.unknown_types;
    summary.responses_new = c.responses_new;
    summary.responses_updated = c.responses_updated;
    summary.raw_chunks_merged = c.raw_chunks_merged;
    summary.warnings = c.warnings;
    drop(writer);
    if let Some(load) = first_load {
        load.finish()
            .context("ending the first load (the next ingest starts the database over)")?;
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

/// Give the memory malloc holds free, in every thread's arena, back to
/// the system (glibc; elsewhere nothing).
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory that malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `ingest --full`: the chunks stored without a dictionary, compressed
/// with one (`raw::recompress`), in one transaction.
fn recompress(store: &Store) -> Result<u64> {
    crate::store::immediate(&store.conn, || raw::recompress(&store.conn))
        .map(|r| r.repacked)
        .context("compressing the stored raw lines with a dictionary")
}

/// The dictionary this run's raw chunks are compressed with, and the jobs
/// whose files it was sampled from (none unless it is new). A run that reads
/// less than `raw::DICT_USE_BYTES` uses none; a run that finds none and
/// reads `raw::DICT_FROM_BYTES` or more samples one from its files.
fn raw_dictionary(
    conn: &Connection,
    jobs: &mut [Job],
    total: u64,
    obs: &mut dyn Observer,
) -> Result<Option<raw::Dict>> {
    if total < raw::DICT_USE_BYTES {
        return Ok(None);
    }
    match raw::newest(conn) {
        Ok(Some(d)) => return Ok(Some(d)),
        Ok(None) => {}
        Err(e) => {
            // (what uses it cannot be read back either: export says so)
            obs.warning(&format!(
                "the dictionary of the stored raw lines cannot be read ({e}); new lines are stored without one. The database looks damaged: `observatory export` shows which files"
            ));
            return Ok(None);
        }
    }
    if total < raw::DICT_FROM_BYTES {
        return Ok(None);
    }
    let sources: Vec<raw::Source> = jobs
        .iter()
        .map(|j| raw::Source {
            path: &j.found.path,
            start: j.start_offset,
            len: j.remaining,
        })
        .collect();
    let Some((content, used)) = raw::sample(&sources) else {
        return Ok(None);
    };
    // The dictionary holds bytes of the files it was sampled from: it and
    // their rows, noted as its sources, are stored at once, so that
    // `forget` of any of them always finds it (stored apart, a run stopped
    // before a sampled file's row left the dictionary with no record of it).
    // (and the files before them, in the order they are read: a rebuild
    // reads files in the order of their ids, which is then the order this
    // run read them in, and so gives back what it stored)
    let tx = conn.unchecked_transaction()?;
    let dict = raw::store(&tx, content)?;
    let last = used.iter().copied().max().unwrap_or(0);
    for (i, job) in jobs.iter_mut().enumerate().take(last + 1) {
        let f = open_file_row(&tx, job)?;
        job.file_id = Some(f.id);
        if used.contains(&i) {
            tx.execute(
                "INSERT OR IGNORE INTO raw_dict_sources(dict_id, file_id) VALUES (?1, ?2)",
                params![dict.id, f.id],
            )?;
        }
    }
    tx.commit()?;
    Ok(Some(dict))
}

/// The current rows of `source_files`, as `tracked_row` reads them (and,
/// for `load_walked`, the root each was found under: column 15).
const TRACKED_COLUMNS: &str = "SELECT id, path, generation, dev, ino, size, mtime_ns, read_offset, line_count, fingerprint, fingerprint_len,
     tail_len, tail_digest, last_read_at IS NULL, project_dir IS NULL AND kind = 'other', root
     FROM source_files WHERE superseded = 0";

fn tracked_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Tracked)> {
    Ok((
        r.get::<_, String>(1)?,
        Tracked {
            id: r.get(0)?,
            generation: r.get(2)?,
            stat: Stat {
                dev: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                ino: r.get::<_, Option<i64>>(4)?.unwrap_or(0) as u64,
                size: r.get::<_, i64>(5)? as u64,
                mtime_ns: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
            },
            read_offset: r.get::<_, i64>(7)? as u64,
            line_count: r.get::<_, i64>(8)? as u64,
            fingerprint: r.get::<_, i64>(9)? as u64,
            fingerprint_len: r.get::<_, i64>(10)? as u64,
            tail_len: r.get::<_, i64>(11)? as u64,
            tail_digest: r.get::<_, i64>(12)? as u64,
            never_read: r.get(13)?,
            unplaced: r.get(14)?,
        },
    ))
}

/// The current rows of the files a walk `found`, with the `gone` marks
/// brought up to date. The rows not marked gone are read in one scan; a
/// found file without one is looked up by its path (new, or found again:
/// then unmarked), and a row read whose file the walk did not find is
/// marked. So the rows of deleted transcripts, kept for good, are not read
/// by every run (only files under the `roots` walked are marked: one under
/// another root was not looked for). A mark decides nothing: it only says
/// where to look. The rows the status line recorded under no root take
/// the root, project folder and kind the walk finds their file under.
fn load_walked(
    conn: &Connection,
    roots: &[Root],
    found: &[Found],
) -> Result<HashMap<String, Tracked>> {
    // (only a file under a root this run walked can be missing: one under
    // another (another CLAUDE_CONFIG_DIR's, or a folder only the status
    // line reads) was not looked for. Two config dirs ingested in turn
    // would otherwise mark and unmark all of each one's files)
    let walked_roots: foldhash::HashSet<std::borrow::Cow<'_, str>> = roots
        .iter()
        .filter(|r| r.projects.is_some())
        .map(|r| paths::stored(&r.given))
        .collect();
    let mut elsewhere: foldhash::HashSet<i64> = foldhash::HashSet::default();
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    {
        let mut st = conn.prepare(&format!("{TRACKED_COLUMNS} AND gone = 0"))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (path, t) = tracked_row(r)?;
            if !walked_roots.contains(r.get_ref(15)?.as_str()?) {
                elsewhere.insert(t.id);
            }
            tracked.insert(path, t);
        }
    }
    let walked: foldhash::HashSet<std::borrow::Cow<'_, str>> =
        found.iter().map(|f| paths::stored(&f.path)).collect();
    let mut marks: Vec<(i64, bool)> = tracked
        .iter()
        .filter(|(path, t)| !walked.contains(path.as_str()) && !elsewhere.contains(&t.id))
        .map(|(_, t)| (t.id, true))
        .collect();
    let unknown: Vec<&Path> = found
        .iter()
        .filter(|f| !tracked.contains_key(paths::stored(&f.path).as_ref()))
        .map(|f| f.path.as_path())
        .collect();
    if !unknown.is_empty() {
        for (path, t) in load_tracked(conn, Some(&unknown))? {
            marks.push((t.id, false));
            tracked.insert(path, t);
        }
    }
    // (a file the status line read from a folder under no root, found
    // under one since: placed as the walk places it, as `export` writes
    // it, every generation)
    let mut placed: Vec<&Found> = Vec::new();
    for f in found.iter().filter(|f| f.project_dir.is_some()) {
        let stored = paths::stored(&f.path);
        if let Some(t) = tracked.get_mut(stored.as_ref()).filter(|t| t.unplaced) {
            t.unplaced = false;
            placed.push(f);
        }
    }
    if !marks.is_empty() || !placed.is_empty() {
        crate::store::immediate(conn, || {
            let mut st = conn.prepare_cached("UPDATE source_files SET gone = ?2 WHERE id = ?1")?;
            for (id, gone) in &marks {
                st.execute(params![id, gone])?;
            }
            let at: Vec<_> = placed
                .iter()
                .map(|f| (paths::stored(&f.path), *f))
                .collect();
            place(conn, at.iter().map(|(path, f)| (path.as_ref(), *f)))
        })?;
    }
    Ok(tracked)
}

/// The current row of every tracked file, or only of `paths` (looked up
/// one by one through the `source_files_current` index), by path as stored
/// (hashing a `PathBuf` walks its components: strings hash ~3x faster).
fn load_tracked(conn: &Connection, paths: Option<&[&Path]>) -> Result<HashMap<String, Tracked>> {
    let Some(paths) = paths else {
        let mut st = conn.prepare(TRACKED_COLUMNS)?;
        let rows = st.query_map([], tracked_row)?;
        return Ok(rows.collect::<rusqlite::Result<_>>()?);
    };
    let mut st = conn.prepare(&format!("{TRACKED_COLUMNS} AND path = ?1"))?;
    let mut out = HashMap::new();
    for p in paths {
        let rows = st.query_map([paths::stored(p)], tracked_row)?;
        for r in rows {
            let (path, t) = r?;
            out.insert(path, t);
        }
    }
    Ok(out)
}

/// Decide what to read from one file: nothing (unchanged: stat only, the
/// file is not opened), the bytes past its cursor, or all of it again as a
/// new generation (it shrank or its first bytes changed).
///
/// A file read from the start (new, or a new generation) that begins with
/// exactly the bytes of a forgotten file is read only past them: forgotten
/// lines never come back through a copy or a replaced file.
///
/// A file whose last line was stored cut (still for an hour without its
/// newline) and that has grown since is read again from that line's start,
/// in place, when `cut_line` finds that line and the bytes before the cursor
/// are unchanged: the whole line replaces the cut one.
fn plan(
    f: &Found,
    t: Option<&Tracked>,
    tombstones: &[Tombstone],
    cut_line: &mut CutLine<'_>,
) -> std::io::Result<Option<Job>> {
    let size = f.stat.size;
    let fresh = |supersedes| -> std::io::Result<Job> {
        let inherits = forgotten_copy(f, size, tombstones)?;
        let (mut start_offset, start_lines) = inherits
            .as_ref()
            .map_or((0, 0), |t| (t.read_offset, t.line_count));
        // (forgotten bytes that end inside a line, a cut line stored as it
        // was: the rest of that line is forgotten with it)
        if start_offset > 0 {
            start_offset = next_line_start(&f.path, start_offset, size)?;
        }
        Ok(Job {
            found: f.clone(),
            file_id: None,
            supersedes,
            start_offset,
            start_lines,
            remaining: size - start_offset,
            inherits,
            recut: None,
            expect_head: None,
        })
    };
    let Some(t) = t else {
        return fresh(None).map(Some);
    };
    // (unchanged: nothing to read, unless a held-back last line has been
    // still long enough to be stored as it is)
    if f.stat == t.stat && (t.stat.size == t.read_offset || !reader::is_stale(f.stat.mtime_ns)) {
        return Ok(None);
    }
    // (a row never read is read from the start under its own id: nothing of
    // it was stored, so it replaces nothing; a run stopped after the
    // dictionary's sample made rows for thousands of files left them all
    // looking replaced)
    if t.never_read && t.read_offset == 0 && t.line_count == 0 {
        let mut job = fresh(None)?;
        if job.inherits.is_none() {
            job.file_id = Some(t.id);
            return Ok(Some(job));
        }
    }
    let replaced = Some((t.id, t.generation));
    if size < t.read_offset {
        return fresh(replaced).map(Some);
    }
    let file = File::open(&f.path)?;
    if !same_file(&file, t)? {
        return fresh(replaced).map(Some);
    }
    let mut job = Job {
        found: f.clone(),
        file_id: Some(t.id),
        supersedes: None,
        start_offset: t.read_offset,
        start_lines: t.line_count,
        remaining: size - t.read_offset,
        inherits: None,
        recut: None,
        expect_head: Some((t.fingerprint, t.fingerprint_len)),
    };
    // (nothing past the cursor: touched, or written again as it was, as a
    // sidecar (one line, no newline) is: no cut line to look for, a scan
    // of `lines`; the job only notes the new stat)
    if size == t.read_offset {
        return Ok(Some(job));
    }
    // (a last line stored cut is read again once continued, even by
    // blanks that would end a whole line read without its newline)
    let open = open_line(&file, t.read_offset)?;
    let cut = match open {
        true => cut_line(t)?,
        false => None,
    };
    if !open || (cut.is_none() && at_line_end(&file, t.read_offset, size)?) {
        return Ok(Some(job));
    }
    // (a cut last line continued: its start is a line start, and no
    // newline comes between it and the cursor; or a last line of blanks,
    // which has no row, continued)
    let continued = match cut {
        Some((line_id, start)) if start < t.read_offset && t.line_count > 0 => {
            (at_line_end(&file, start, size)? && {
                let mut cut = vec![0u8; (t.read_offset - start) as usize];
                read_exact_at(&file, &mut cut, start)?;
                !cut.contains(&b'\n')
            })
            .then_some((Some(line_id), start))
        }
        None if t.line_count > 0 => blank_tail_start(&file, t.read_offset)?.map(|s| (None, s)),
        _ => None,
    };
    let Some((line_id, start)) = continued else {
        return fresh(replaced).map(Some);
    };
    // (not before the line is whole, or still again for an hour: the cut
    // row and its bytes stay stored until then)
    if !reader::is_stale(f.stat.mtime_ns) && !newline_after(&file, t.read_offset, size)? {
        return Ok(None);
    }
    job.start_offset = start;
    job.start_lines = t.line_count - 1;
    job.remaining = size - start;
    job.recut = Some(line_id);
    Ok(Some(job))
}

/// Whether `file` is still the file last read: its first bytes and the
/// bytes just before its cursor as they were.
fn same_file(file: &File, t: &Tracked) -> std::io::Result<bool> {
    let (fp, got) = reader::fingerprint(file, t.fingerprint_len)?;
    Ok(got == t.fingerprint_len && fp == t.fingerprint && tail_unchanged(file, t)?)
}

/// Whether a newline comes in bytes [from, size) of `file`.
fn newline_after(file: &File, from: u64, size: u64) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 64 << 10];
    let mut at = from;
    while at < size {
        let n = buf.len().min((size - at) as usize);
        read_exact_at(file, &mut buf[..n], at)?;
        if memchr::memchr(b'\n', &buf[..n]).is_some() {
            return Ok(true);
        }
        at += n as u64;
    }
    Ok(false)
}

/// Finds a file's last line stored cut: its row's id and byte offset.
type CutLine<'a> = dyn FnMut(&Tracked) -> std::io::Result<Option<(i64, u64)>> + 'a;

/// The row of a file's last line if it was stored cut: malformed, and
/// ending at the cursor with no line end (id, byte offset).
fn cut_line(conn: &Connection, t: &Tracked) -> std::io::Result<Option<(i64, u64)>> {
    // (lines has no index on its file: a scan, in this rare case only)
    conn.prepare_cached(
        "SELECT id, byte_offset FROM lines
         WHERE file_id = ?1 AND line_no = ?2 AND status = 'malformed' AND byte_offset + byte_len >= ?3 - 1",
    )
    .and_then(|mut st| {
        st.query_row(
            params![t.id, t.line_count as i64, t.read_offset as i64],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
        )
        .optional()
    })
    .map_err(std::io::Error::other)
}

/// Whether the bytes just before the cursor are those last read (their
/// digest, if known). With the cursor still at the end of a line, the bytes
/// past it can be read as an append. (Claude Code only appends; with the
/// first 4 KiB, this checks both ends of what was read, cheaply: a rewrite
/// that keeps both is still taken for an append.)
fn tail_unchanged(file: &File, t: &Tracked) -> std::io::Result<bool> {
    if t.tail_len == 0 || t.tail_len > t.read_offset || t.tail_len > reader::TAIL_BYTES as u64 {
        return Ok(t.tail_len == 0);
    }
    let mut tail = vec![0u8; t.tail_len as usize];
    read_exact_at(file, &mut tail, t.read_offset - t.tail_len)?;
    Ok(reader::fnv1a(&tail) == t.tail_digest)
}

/// The last line read ends at `read_offset` without its newline (a whole
/// object taken as it was, or a line stored cut).
fn open_line(file: &File, read_offset: u64) -> std::io::Result<bool> {
    if read_offset == 0 {
        return Ok(false);
    }
    let mut before = [0u8; 1];
    read_exact_at(file, &mut before, read_offset - 1)?;
    Ok(before[0] != b'\n')
}

/// The start of the last line before the cursor, if it holds only blanks
/// (spaces, tabs, `\r`) and no newline: a tail of blanks stored as it was
/// once the file had been still for an hour. A blank line has no row, so
/// there is none to find as a cut line's; a line written on after it is
/// still read from there, whole, rather than the file read again as a new
/// generation (tour-s33a F2).
fn blank_tail_start(file: &File, read_offset: u64) -> std::io::Result<Option<u64>> {
    // (back from the cursor, 4 KiB at a time, to the newline before it)
    let mut before = [0u8; reader::TAIL_BYTES];
    let mut end = read_offset;
    while end > 0 {
        let from = end.saturating_sub(before.len() as u64);
        let part = &mut before[..(end - from) as usize];
        read_exact_at(file, part, from)?;
        for (i, b) in part.iter().enumerate().rev() {
            match b {
                b'\n' => {
                    let start = from + i as u64 + 1;
                    return Ok((start < read_offset).then_some(start));
                }
                b' ' | b'\t' | b'\r' => {}
                _ => return Ok(None),
            }
        }
        end = from;
    }
    Ok((read_offset > 0).then_some(0))
}

/// Whether the cursor still stands at the end of a line: the byte before it
/// is a newline, or it ends an object that was the last line read without
/// its newline (and blanks then a newline follow, or blanks only, or
/// nothing yet). An object written
/// right after it, on the same line, is not a line of its own: read from
/// the start, `}{` is one malformed line, so the file is (a new generation,
/// as a read from the start gives). A file rewritten
/// in place with the same first 4 KiB and more bytes would otherwise be read
/// from the middle of a line (Claude Code only appends; this is a cheap
/// check, not a proof).
fn at_line_end(file: &File, read_offset: u64, size: u64) -> std::io::Result<bool> {
    if read_offset == 0 {
        return Ok(true);
    }
    let mut before = [0u8; 1];
    read_exact_at(file, &mut before, read_offset - 1)?;
    if before[0] == b'\n' {
        return Ok(true);
    }
    if !matches!(before[0], b'}' | b'\r' | b' ' | b'\t') {
        return Ok(false);
    }
    // (an object may end with blanks or a `\r` before its newline: what
    // follows up to the newline, or to the end, must be blanks)
    let mut after = [0u8; 4096];
    let mut at = read_offset;
    while at < size {
        let n = after.len().min((size - at) as usize);
        read_exact_at(file, &mut after[..n], at)?;
        match after[..n]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        {
            Some(b) => return Ok(*b == b'\n'),
            None => at += n as u64,
        }
    }
    Ok(true)
}

/// Every forgotten file whose bytes are known by their digests (newest
/// first).
fn load_tombstones(conn: &Connection) -> Result<Vec<Tombstone>> {
    let mut st = conn.prepare_cached(
        "SELECT t.forgotten_at, t.read_offset, t.line_count, t.head_digest, t.digest, f.path
         FROM forgotten_files t JOIN source_files f ON f.id = t.file_id
         WHERE t.digest IS NOT NULL AND t.head_digest IS NOT NULL AND t.read_offset > 0
         ORDER BY t.forgotten_at DESC",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Tombstone {
            forgotten_at: r.get(0)?,
            read_offset: r.get::<_, i64>(1)? as u64,
            line_count: r.get::<_, i64>(2)? as u64,
            head_digest: r.get::<_, i64>(3)? as u64,
            digest: r.get::<_, i64>(4)? as u64,
            path: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The forgotten file `f` begins with, if any: its first 4 KiB first
/// (cheap), then all of the forgotten bytes. A subagent's sidecar is one
/// only at the same path: the same few bytes (`{"agentType":"Explore"}`)
/// are many sessions' sidecars.
fn forgotten_copy(
    f: &Found,
    size: u64,
    tombstones: &[Tombstone],
) -> std::io::Result<Option<Tombstone>> {
    let path = &f.path;
    let only_at = (f.kind == discover::AGENT_META).then(|| paths::stored(path));
    let mut candidates = tombstones
        .iter()
        .filter(|t| t.read_offset <= size)
        .filter(|t| only_at.as_ref().is_none_or(|p| t.path == p.as_ref()))
        .peekable();
    if candidates.peek().is_none() {
        return Ok(None);
    }
    let file = File::open(path)?;
    let mut head = vec![0u8; reader::FINGERPRINT_BYTES.min(size) as usize];
    read_exact_at(&file, &mut head, 0)?;
    // most tombstones hash the same 4 KiB: hash each length once
    let mut heads: HashMap<usize, u64> = HashMap::new();
    for t in candidates {
        let n = (t.read_offset as usize).min(head.len());
        let h = *heads.entry(n).or_insert_with(|| reader::fnv1a(&head[..n]));
        if h == t.head_digest && digest_prefix(&file, t.read_offset)? == t.digest {
            return Ok(Some(t.clone()));
        }
    }
    Ok(None)
}

/// `at` if a line starts there (the byte before it is a newline), else
/// the offset after the next newline (`size` if there is none).
fn next_line_start(path: &Path, at: u64, size: u64) -> std::io::Result<u64> {
    let file = File::open(path)?;
    let mut before = [0u8; 1];
    read_exact_at(&file, &mut before, at - 1)?;
    if before[0] == b'\n' {
        return Ok(at);
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut from = at;
    while from < size {
        let n = buf.len().min((size - from) as usize);
        read_exact_at(&file, &mut buf[..n], from)?;
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(from + i as u64 + 1);
        }
        from += n as u64;
    }
    Ok(size)
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// FNV-1a 64 of the first `len` bytes of `file` (as `forget` digests them).
fn digest_prefix(file: &File, len: u64) -> std::io::Result<u64> {
    let mut h = reader::FNV_START;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < len {
        let n = buf.len().min((len - at) as usize);
        read_exact_at(file, &mut buf[..n], at)?;
        h = reader::fnv1a_more(h, &buf[..n]);
        at += n as u64;
    }
    Ok(h)
}

fn open_file_row(conn: &Connection, job: &Job) -> Result<FileRef> {
    let display = job.found.path.display().to_string();
    if let Some(id) = job.file_id {
        return Ok(FileRef { id, display });
    }
    let generation = match job.supersedes {
        Some((old, g)) => {
            conn.prepare_cached("UPDATE source_files SET superseded = 1 WHERE id = ?1")?
                .execute([old])?;
            g + 1
        }
        None => 0,
    };
    // (cached: a first load opens a row per file, 3,221 on the benchmark,
    // and compiling the statement each time was a prepare per file)
    conn.prepare_cached(
        "INSERT INTO source_files(path, root, project_dir, kind, generation, first_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        paths::stored(&job.found.path),
        paths::stored(&job.found.root),
        job.found.project_dir,
        job.found.kind,
        generation,
        chrono::Utc::now().timestamp_millis()
    ])?;
    let id = conn.last_insert_rowid();
    if let Some(t) = &job.inherits {
        conn.execute(
            "INSERT INTO forgotten_files(file_id, forgotten_at, read_offset, line_count, head_digest, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                t.forgotten_at,
                t.read_offset as i64,
                t.line_count as i64,
                t.head_digest as i64,
                t.digest as i64
            ],
        )?;
    }
    Ok(FileRef { id, display })
}

/// A rebuild rewrites every derived row: its WAL holds about the whole
/// database (1.3 GB after a schema-7 database of the 1 GiB corpus was
/// rebuilt), so it is folded in and truncated now rather than left to a
/// later command. When the rows came out smaller (a migration: schema 8
/// freed ~12% of the file), the file is rewritten (VACUUM) to give the
/// space back.
fn compact_after_rebuild(conn: &rusqlite::Connection) -> Result<()> {
    let (free, pages): (i64, i64) = conn.query_row(
        "SELECT (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_count FROM pragma_page_count)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if free * 10 > pages {
        crate::store::scrub(conn)?;
    } else {
        crate::store::checkpoint(conn)?;
    }
    Ok(())
}

/// Re-derive every table from raw_chunks, in one transaction: readers see
/// the old tables until the new ones are complete (a report, `query` or the
/// status line during `ingest --full` saw them half filled), and a crash
/// leaves the old ones. The flag in `meta` that asks for a rebuild (an
/// upgrade's, or `forget`'s) is cleared in that transaction, so it stays
/// until one commits. `ingest --full` sets none: while it ran, every other
/// process saw the flag and said the database awaited a rebuild (the
/// status line: "`observatory ingest` to finish upgrading") though the
/// tables they read were whole.
pub fn rebuild(store: &mut Store, prices: &PriceTable, obs: &mut dyn Observer) -> Result<Rebuilt> {
    let conn = &store.conn;
    // Unchecked: a table is emptied page by page (`store::empty_tables`),
    // and the rows are the writer's own (tests check the references after
    // it).
    // The sums at the end sort every response: past the page cache's
    // budget, the sorter spills to a file (see rollup::resum).
    conn.execute_batch("PRAGMA temp_store = FILE")?;
    let result = crate::store::without_foreign_keys(conn, |c| -> Result<Rebuilt> {
        c.execute_batch("BEGIN IMMEDIATE")?;
        let result = refill(store, c, prices, obs);
        if result.is_err() && !c.is_autocommit() {
            let _ = c.execute_batch("ROLLBACK");
        }
        result
    });
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    result?
}

/// How many chunks that do not decompress a rebuild names, one warning
/// each (a damaged dictionary fails them all); the rest in one line.
const DAMAGED_SAID: usize = 10;

/// What a rebuild did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub lines: u64,
    /// Chunks that did not decompress, read again from their transcript.
    pub healed: u64,
    /// Chunks that did not decompress, their lines left out.
    pub damaged: u64,
}

impl Rebuilt {
    fn add_to(self, s: &mut Summary) {
        s.rebuilt_lines = self.lines;
        s.raw_chunks_healed = self.healed;
        s.raw_chunks_damaged = self.damaged;
    }
}

/// A stored chunk that does not decompress: bytes [start, end) of the
/// file as read, taken again from the file itself if it is still the file
/// that was read (the current generation: its first bytes and the bytes
/// before its cursor unchanged, as for an append) and they are whole
/// lines, as many as the chunk held (`lines`, physical).
fn from_transcript(path: &str, t: &Tracked, start: u64, end: u64, lines: u64) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    if size < t.read_offset || end > t.read_offset {
        return None;
    }
    // (the cursor may follow a cut line stored as it was: not a line end)
    if !same_file(&file, t).ok()? {
        return None;
    }
    let mut plain = vec![0u8; (end - start) as usize];
    read_exact_at(&file, &mut plain, start).ok()?;
    let open_end = !plain.is_empty() && !plain.ends_with(b"\n");
    let read = memchr::memchr_iter(b'\n', &plain).count() as u64 + u64::from(open_end);
    ((!open_end || end == t.read_offset) && read == lines).then_some(plain)
}

/// Whether `plain`, bytes [start, ..) of the transcript at `path`, are
/// those a damaged chunk's frame `data` held: its checksum, when it kept
/// one, taken over as many bytes as the frame says it holds (more than
/// `plain` when the chunk was cut shorter after it was stored: a cut last
/// line read again in place, `Writer::recut`, keeps a damaged chunk's
/// frame). A chunk stored without a checksum has only `from_transcript`'s
/// checks.
fn same_bytes(path: &str, start: u64, plain: &[u8], data: &[u8]) -> bool {
    let Some(sum) = raw::stored_checksum(data) else {
        return true;
    };
    let extra = raw::frame_size(data).map_or(0, |n| n.saturating_sub(plain.len() as u64));
    if extra == 0 {
        return raw::checksum_of(plain).is_ok_and(|s| s == sum);
    }
    // (a frame header that claims much more is damage: not healed)
    if extra > 64 << 20 {
        return false;
    }
    let mut held = plain.to_vec();
    held.resize(plain.len() + extra as usize, 0);
    File::open(path)
        .and_then(|f| read_exact_at(&f, &mut held[plain.len()..], start + plain.len() as u64))
        .is_ok_and(|()| raw::checksum_of(&held).is_ok_and(|s| s == sum))
}

/// `rebuild` inside its transaction: empty the derived tables, read every
/// stored chunk again, commit.
fn refill(
    store: &Store,
    conn: &rusqlite::Connection,
    prices: &PriceTable,
    obs: &mut dyn Observer,
) -> Result<Rebuilt> {
    // (what a damaged chunk's transcript must still be to be read again)
    let tracked = load_tracked(conn, None)?;
    // (emptied with their triggers lifted: what those record is emptied
    // here too (the dirty buckets and figures), or is a note that goes
    // first: the line counts' and the rollup's check)
    crate::store::line_counts::drop_note(conn)?;
    crate::store::rollup::drop_note(conn)?;
    crate::store::empty_tables(conn, DERIVED_TABLES)?;
    let files: Vec<(i64, String)> = conn
        .prepare("SELECT id, path FROM source_files ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let total: i64 = conn.query_row(
        "SELECT coalesce(sum(end_offset - start_offset), 0) FROM raw_chunks",
        [],
        |r| r.get(0),
    )?;
    obs.start(total as u64);
    let db_path = store.path.clone();
    let mut writer = Writer::new(conn, prices)?;
    writer.continue_transaction();
    let mut unflushed = 0;
    let mut done = Rebuilt::default();
    let result = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = sync_channel::<Result<Chunk>>(2);
        let files_for_reader = files.clone();
        scope.spawn(move || {
            let read = || -> Result<()> {
                // (raw_chunks are not derived: the committed ones are all)
                let ro = Store::open_read_only(&db_path)?;
                let mut st = ro
                    .conn
                    .prepare("SELECT start_offset, end_offset, first_line, dict, data FROM raw_chunks WHERE file_id = ?1 ORDER BY start_offset")?;
                let mut unpacker = crate::store::raw::Unpacker::default();
                for (job, (id, path)) in files_for_reader.iter().enumerate() {
                    let mut rows = st.query([id])?;
                    while let Some(row) = rows.next()? {
                        let start: i64 = row.get(0)?;
                        let end: i64 = row.get(1)?;
                        let first: i64 = row.get(2)?;
                        let data = raw::stored_frame(row.get_ref(4)?);
                        let plain = unpacker.unpack(&ro.conn, row.get(3)?, data, (end - start) as usize);
                        let batch = |plain: &[u8]| {
                            let mut batch =
                                reader::raw_chunk_batch(job, start as u64, first as u64, plain);
                            batch.bytes_read = (end - start) as u64;
                            batch
                        };
                        let healed = || {
                            let t = tracked.get(path.as_str()).filter(|t| t.id == *id)?;
                            // (the chunk's physical lines: up to the next
                            // chunk's first, or the cursor's count)
                            let next: Option<i64> = ro
                                .conn
                                .query_row(
                                    "SELECT first_line FROM raw_chunks WHERE file_id = ?1 AND start_offset = ?2",
                                    params![id, end],
                                    |r| r.get(0),
                                )
                                .optional()
                                .ok()?;
                            let upto = next.unwrap_or(t.line_count as i64 + 1);
                            let lines = u64::try_from(upto - first).ok()?;
                            let plain = from_transcript(path, t, start as u64, end as u64, lines)?;
                            same_bytes(path, start as u64, &plain, data).then_some(plain)
                        };
                        let sent = match plain {
                            Ok(plain) => tx.send(Ok(Chunk::Read(batch(&plain)))),
                            // (SQLite failing to read a dictionary: not damage)
                            Err(e) if !raw::is_damage(&e) => {
                                return Err(anyhow::Error::new(e)
                                    .context(format!("reading the stored bytes of {path}")));
                            }
                            Err(e) => match healed() {
                                Some(plain) => tx.send(Ok(Chunk::Healed(
                                    batch(&plain),
                                    plain,
                                    format!(
                                        "{path}: the stored bytes [{start}, {end}) do not decompress ({e}); read again from the transcript as it is now (its first bytes, the bytes before its cursor and the chunk's line count as read, and the bytes' checksum where the chunk kept one), and stored anew. The database looks damaged: check it with `observatory query 'PRAGMA integrity_check'`, and keep a backup (`observatory backup`)"
                                    ),
                                ))),
                                None => {
                                    // (a replaced generation's bytes are
                                    // not in the file any more)
                                    let why = if tracked.get(path.as_str()).is_some_and(|t| t.id == *id) {
                                        "the transcript is gone or has changed since"
                                    } else {
                                        "they are of an older generation of the file (it was replaced since)"
                                    };
                                    tx.send(Ok(Chunk::Damaged(format!(
                                        "{path}: the stored bytes [{start}, {end}) do not decompress ({e}), and {why}; their lines are left out of the tables. The database looks damaged: restore a copy made by `observatory backup`, or `observatory export` what is readable"
                                    ))))
                                }
                            },
                        };
                        if sent.is_err() {
                            return Ok(());
                        }
                    }
                }
                Ok(())
            };
            if let Err(e) = read() {
                let _ = tx.send(Err(e));
            }
        });
        // (a damaged dictionary fails every chunk: the first few are said)
        let mut said = 0;
        let mut say = |obs: &mut dyn Observer, message: &str| {
            said += 1;
            if said <= DAMAGED_SAID {
                obs.warning(message);
            }
        };
        for chunk in rx {
            let batch = match chunk? {
                Chunk::Read(b) => b,
                Chunk::Healed(b, plain, message) => {
                    say(obs, &message);
                    let (id, _) = &files[b.job];
                    let data = raw::Packer::new(None)
                        .and_then(|mut p| p.pack(&plain))
                        .context("compressing a chunk read again")?
                        .data;
                    conn.execute(
                        "UPDATE raw_chunks SET data = ?3, dict = NULL WHERE file_id = ?1 AND start_offset = ?2",
                        params![id, b.start_offset as i64, data],
                    )?;
                    done.healed += 1;
                    b
                }
                Chunk::Damaged(message) => {
                    say(obs, &message);
                    done.damaged += 1;
                    continue;
                }
            };
            let (id, path) = &files[batch.job];
            let file = FileRef {
                id: *id,
                display: path.clone(),
            };
            obs.advance(batch.bytes_read);
            unflushed += batch.bytes_read;
            writer.write_batch(&file, &batch)?;
            writer.notices.clear();
            // what is summed in memory goes to the database as often as an
            // ingest commits (memory stays flat)
            if unflushed >= COMMIT_BYTES {
                writer.flush()?;
                unflushed = 0;
            }
        }
        if said > DAMAGED_SAID {
            obs.warning(&format!(
                "... and {} more stored chunks that do not decompress (as above: {} read again from their transcripts in all, {} left out)",
                said - DAMAGED_SAID,
                done.healed,
                done.damaged
            ));
        }
        Ok(())
    });
    result?;
    conn.execute("DELETE FROM meta WHERE key = 'rebuild_pending'", [])?;
    // (for `status` to say, until a rebuild finds none)
    match done.damaged {
        0 => conn
            .execute("DELETE FROM meta WHERE key = 'raw_chunks_damaged'", [])
            .map(drop)?,
        n => Store::meta_set(conn, "raw_chunks_damaged", &n.to_string())?,
    }
    // the sums too, so that they are never read half done either
    writer.flush()?;
    crate::store::rollup::refresh(conn, true)?;
    crate::report::sessions::refresh(conn, true)?;
    crate::report::tools::refresh(conn)?;
    crate::report::hooks::refresh(conn)?;
    writer.commit()?;
    done.lines = writer.counts.lines_read;
    Ok(done)
}

/// A stored chunk as a rebuild reads it.
enum Chunk {
    Read(reader::Batch),
    /// It did not decompress; its bytes, read again from the transcript,
    /// and what to say.
    Healed(reader::Batch, Vec<u8>, String),
    /// It did not decompress, and the transcript no longer has it.
    Damaged(String),
}

/// Re-price every stored response when the effective price table changed
/// (new pricing.toml, an override, a new version), so old figures never mix
/// with new prices.
pub fn reprice_if_needed(conn: &Connection, prices: &PriceTable) -> rusqlite::Result<bool> {
    let fp = prices.fingerprint();
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'price_fingerprint'",
            [],
            |r| r.get(0),
        )
        .ok();
    if stored.as_deref() == Some(fp.as_str()) {
        return Ok(false);
    }
    reprice_all(conn, prices)?;
    Ok(true)
}

/// Re-price every stored response and record the table's fingerprint.
pub fn reprice_all(conn: &Connection, prices: &PriceTable) -> rusqlite::Result<()> {
    crate::store::immediate(conn, || {
        let rows: Vec<StoredResponse> = conn
            .prepare(&format!("SELECT {STORED_RESPONSE_COLUMNS} FROM responses"))?
            .query_map([], StoredResponse::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        for r in &rows {
            writer::price_response(conn, prices, r)?;
        }
        Store::meta_set(conn, "price_fingerprint", &prices.fingerprint())
    })?;
    crate::store::rollup::refresh(conn, true)?;
    crate::report::sessions::refresh(conn, true).map(|_| ())
}

/// Roots for tests: the named folders of `fixtures/`, and the public
/// corpus of `../shared` (linked as a root under `dir`) when it is here.
#[cfg(test)]
pub fn test_roots(dir: &Path, fixtures: &[&str]) -> Vec<Root> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots: Vec<Root> = fixtures
        .iter()
        .map(|n| Root::new(here.join("fixtures").join(n)))
        .collect();
    let public = here.join("../shared/corpus/public");
    if public.is_dir() {
        let root = dir.join("public");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&public, root.join("projects")).unwrap();
        roots.push(Root::new(root));
    } else {
        crate::errln!("../shared is not here: the fixtures only");
    }
    roots
}

/// A store in a new temp dir with `roots` read into it, for tests.
#[cfg(test)]
pub fn ingested_store(roots: &[Root]) -> (tempfile::TempDir, Store) {
    struct Quiet;
    impl Observer for Quiet {}
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("obs.db")).unwrap();
    let prices = PriceTable::builtin().unwrap();
    run(&mut store, roots, &prices, &Options::default(), &mut Quiet).unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session file found at `path` (its root: the folder it is in).
    fn session_found(path: &Path, stat: Stat) -> Found {
        Found {
            path: path.to_owned(),
            root: path.parent().unwrap().to_owned(),
            project_dir: None,
            kind: "session",
            stat,
            links: 1,
        }
    }

    /// An unchanged file is not read again, unless its held-back last line
    /// has been still for an hour: then it is read from the cursor (and the
    /// reader stores the line as it is).
    #[test]
    fn an_unchanged_file_is_read_again_only_for_a_stale_held_back_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"{\"type\":\"user\"}\n{\"type\":\"assis").unwrap();
        let plan_at = |mtime_ns: i64, held_back: u64| {
            let stat = Stat {
                mtime_ns,
                ..Stat::of(&std::fs::metadata(&path).unwrap())
            };
            let found = session_found(&path, stat);
            let tracked = Tracked {
                id: 7,
                generation: 0,
                stat,
                read_offset: stat.size - held_back,
                line_count: 1,
                fingerprint: reader::fnv1a(b""),
                fingerprint_len: 0,
                tail_len: 0,
                tail_digest: 0,
                never_read: false,
                unplaced: false,
            };
            plan(&found, Some(&tracked), &[], &mut |_| Ok(None))
                .unwrap()
                .map(|j| (j.file_id, j.start_offset, j.remaining))
        };
        let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap();
        let hour_ago = now_ns - reader::STALE_TAIL_NS - 1_000_000_000;
        assert_eq!(plan_at(now_ns, 14), None, "being written: wait");
        assert_eq!(plan_at(hour_ago, 0), None, "nothing held back");
        assert_eq!(plan_at(hour_ago, 14), Some((Some(7), 16, 14)));
    }

    /// A row made but never read (a run stopped after the dictionary's
    /// sample opened it) is read from the start under its own id, not
    /// taken for a file replaced (every such row became a "replaced
    /// generation" with an empty one kept).
    #[test]
    fn a_row_never_read_is_read_from_the_start_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, b"{\"type\":\"user\"}\n").unwrap();
        let stat = Stat::of(&std::fs::metadata(&path).unwrap());
        let found = session_found(&path, stat);
        // (as open_file_row leaves it: no stat, no fingerprint, no cursor)
        let row = |never_read| Tracked {
            id: 7,
            generation: 0,
            stat: Stat {
                dev: 0,
                ino: 0,
                size: 0,
                mtime_ns: 0,
            },
            read_offset: 0,
            line_count: 0,
            fingerprint: 0,
            fingerprint_len: 0,
            tail_len: 0,
            tail_digest: 0,
            never_read,
            unplaced: false,
        };
        let job = |t: &Tracked| {
            plan(&found, Some(t), &[], &mut |_| Ok(None))
                .unwrap()
                .map(|j| (j.file_id, j.supersedes, j.start_offset, j.remaining))
        };
        assert_eq!(job(&row(true)), Some((Some(7), None, 0, stat.size)));
        // (a row that was read, its first bytes not these: replaced)
        assert_eq!(job(&row(false)), Some((None, Some((7, 0)), 0, stat.size)));
    }

    /// A rebuild empties every derived table with foreign keys unchecked
    /// (so that SQLite can drop whole tables' pages instead of deleting
    /// row by row with every row id held in memory), and checks them
    /// again afterwards.
    #[test]
    fn a_rebuild_empties_the_derived_tables_and_checks_references_again() {
        struct Quiet;
        impl Observer for Quiet {}
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("obs.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO source_files(id, path, root, kind, first_seen_at) VALUES (1, '/x.jsonl', '/', 'session', 0);
                 INSERT INTO lines(id, file_id, line_no, byte_offset, byte_len, type, status) VALUES (1, 1, 1, 0, 9, 'user', 'record');
                 INSERT INTO message_rows(line_id, uuid) VALUES (1, 'u1');
                 INSERT INTO content_blocks(line_id, idx, type) VALUES (1, 0, 'text');",
            )
            .unwrap();
        let rows = |c: &Connection| -> i64 {
            DERIVED_TABLES
                .iter()
                .map(|t| {
                    c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .unwrap()
                })
                .sum()
        };
        // (and a new database's notes to sum every thread's tool calls and
        // hook runs)
        assert_eq!(rows(&store.conn), 5);
        let prices = PriceTable::builtin().unwrap();
        assert_eq!(rebuild(&mut store, &prices, &mut Quiet).unwrap().lines, 0);
        assert_eq!(rows(&store.conn), 0);
        let checked: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(checked, 1);
        // (and a reference that does not hold is refused again)
        let dangling = store
            .conn
            .execute("INSERT INTO lines(file_id, line_no, byte_offset, byte_len, status) VALUES (99, 1, 0, 1, 'record')", []);
        assert!(dangling.is_err());
    }

    #[test]
    fn the_cursor_must_stand_at_a_line_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let at = |content: &[u8], offset: u64| -> bool {
            std::fs::write(&path, content).unwrap();
            let f = File::open(&path).unwrap();
            at_line_end(&f, offset, content.len() as u64).unwrap()
        };
        assert!(at(b"", 0));
        assert!(at(b"{}\n{}", 3), "after a newline");
        assert!(
            at(b"{}", 2),
            "an object read before its newline, nothing after"
        );
        assert!(
            !at(b"{}{}\n", 2),
            "... then the next object on its line: one line, read again"
        );
        assert!(at(b"{}\n", 2), "... then its newline");
        assert!(at(b"{}\r\n", 3), "... read with its \\r (CRLF)");
        assert!(at(b"{} \n", 3), "... with a blank after it");
        assert!(!at(br#"{"a":"bc"}"#, 5), "inside a line");
        assert!(
            !at(b"{\"a\":\"b}c\"}\n", 8),
            "a brace inside a string, then text"
        );
    }

    /// Readers see the old tables until a rebuild commits the new ones
    /// (they saw them emptied, then half filled, during `ingest --full`),
    /// and no rebuild asked for (they saw the flag, and said so).
    #[test]
    fn readers_see_the_old_tables_until_a_rebuild_commits() {
        // (and whether a rebuild is asked for: none is)
        fn figures(c: &Connection) -> (i64, i64, i64, i64) {
            c.query_row(
                "SELECT (SELECT count(*) FROM response_rows), (SELECT count(*) FROM message_rows),
                        (SELECT coalesce(sum(requests), 0) FROM cost_rollup),
                        (SELECT count(*) FROM meta WHERE key = 'rebuild_pending')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        }
        /// Looks at the database from another connection at every batch.
        struct Peek {
            db: PathBuf,
            seen: Vec<(i64, i64, i64, i64)>,
        }
        impl Observer for Peek {
            fn advance(&mut self, _bytes: u64) {
                let reader = Store::open_read_only(&self.db).unwrap();
                self.seen.push(figures(&reader.conn));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("obs.db");
        let mut store = Store::open(&db).unwrap();
        let prices = PriceTable::builtin().unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let roots: Vec<Root> = ["basic", "reports", "ops"]
            .iter()
            .map(|n| Root::new(fixtures.join(n)))
            .collect();
        let mut peek = Peek {
            db,
            seen: Vec::new(),
        };
        run(&mut store, &roots, &prices, &Options::default(), &mut peek).unwrap();
        let before = figures(&store.conn);
        assert!(
            before.0 > 0 && before.1 > 0 && before.2 == before.0 && before.3 == 0,
            "{before:?}"
        );
        peek.seen.clear();
        rebuild(&mut store, &prices, &mut peek).unwrap();
        assert!(
            peek.seen.len() >= 3,
            "one look per stored chunk: {:?}",
            peek.seen
        );
        assert!(
            peek.seen.iter().all(|s| *s == before),
            "{before:?} vs {:?}",
            peek.seen
        );
        assert_eq!(figures(&store.conn), before);
    }

    /// After a rebuild the WAL is folded in and emptied, and a file that
    /// came out with more than a tenth of its pages free is rewritten.
    #[test]
    fn a_rebuild_gives_its_wal_and_freed_pages_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("obs.db")).unwrap();
        let c = &store.conn;
        let wal = || std::fs::metadata(dir.path().join("obs.db-wal")).map_or(0, |m| m.len());
        let pragma = |p: &str| -> i64 {
            c.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
                .unwrap()
        };
        let fill = |n: i64| {
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO meta(key, value) SELECT 'k' || i, printf('%.500c', 'x') FROM n",
                [n],
            )
            .unwrap();
        };
        // a few pages freed out of many: only the WAL goes
        fill(2000);
        c.execute("DELETE FROM meta WHERE key BETWEEN 'k1000' AND 'k1099'", [])
            .unwrap();
        assert!(wal() > 0);
        compact_after_rebuild(c).unwrap();
        assert_eq!(wal(), 0);
        assert!(pragma("freelist_count") > 0, "not worth a rewrite");
        // most of the file freed: rewritten
        c.execute("DELETE FROM meta WHERE key > 'k2'", []).unwrap();
        let (pages, free) = (pragma("page_count"), pragma("freelist_count"));
        assert!(free * 10 > pages);
        compact_after_rebuild(c).unwrap();
        assert_eq!(pragma("freelist_count"), 0);
        assert!(pragma("page_count") <= pages - free);
        assert_eq!(wal(), 0);
    }
}
