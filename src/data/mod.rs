//! Your data, your way: the stored transcript files as they were read
//! (`export`), and forgetting sessions for good (`forget`). Reads and writes
//! the store; never prints.
//!
//! Both work on whole files. A file belongs to the sessions its lines carry
//! (every table with a `line_id` and a `session_id` says which) and to the
//! session its path names (`<project dir>/<session>.jsonl`, and everything
//! under `<project dir>/<session>/`, such as its subagents).

pub mod export;
pub mod forget;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rusqlite::Connection;

/// What `forget` left of a file (a `forgotten_files` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub forgotten_at: i64,
    /// Bytes [0, read_offset) were forgotten.
    pub read_offset: u64,
    pub line_count: u64,
    /// FNV-1a 64 of their first 4 KiB, and of all of them, when known.
    pub head_digest: Option<u64>,
    pub digest: Option<u64>,
}

/// One `source_files` row (one generation of one file) and what is stored
/// of it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: i64,
    /// Canonical path, as read.
    pub path: String,
    /// The transcript root it was found under.
    pub root: String,
    pub project_dir: Option<String>,
    pub generation: i64,
    pub superseded: bool,
    /// End of the last complete line read.
    pub read_offset: u64,
    pub line_count: u64,
    /// Where its stored raw bytes start (0, or the offset of a forget), and
    /// how many are stored.
    pub stored_from: u64,
    pub stored_bytes: u64,
    pub chunks: u64,
    pub forgotten: Option<Tombstone>,
    /// Whether a run has read it (its cursor set). A row is made before
    /// its file is read (for the dictionary's sample): one whose file went
    /// before that, or whose run stopped first, holds nothing.
    pub read: bool,
}

impl StoredFile {
    /// The offset its stored bytes must start at: 0, or where a forget
    /// stopped.
    pub fn expected_start(&self) -> u64 {
        self.forgotten.as_ref().map_or(0, |t| t.read_offset)
    }
}

/// Every file the store has read (every generation), oldest row first.
pub fn stored_files(conn: &Connection) -> rusqlite::Result<Vec<StoredFile>> {
    let mut stored: HashMap<i64, (u64, u64, u64)> = HashMap::new();
    {
        let mut st = conn.prepare(
            "SELECT file_id, min(start_offset), sum(end_offset - start_offset), count(*)
             FROM raw_chunks GROUP BY file_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })?;
        for row in rows {
            let (id, from, bytes, n) = row?;
            stored.insert(id, (from, bytes, n));
        }
    }
    let mut st = conn.prepare(
        "SELECT f.id, f.path, f.root, f.project_dir, f.generation, f.superseded, f.read_offset, f.line_count,
                t.forgotten_at, t.read_offset, t.line_count, t.head_digest, t.digest,
                f.last_read_at IS NOT NULL
         FROM source_files f LEFT JOIN forgotten_files t ON t.file_id = f.id
         ORDER BY f.id",
    )?;
    let rows = st.query_map([], |r| {
        let id: i64 = r.get(0)?;
        let forgotten = match r.get::<_, Option<i64>>(8)? {
            Some(at) => Some(Tombstone {
                forgotten_at: at,
                read_offset: r.get::<_, i64>(9)? as u64,
                line_count: r.get::<_, i64>(10)? as u64,
                head_digest: r.get::<_, Option<i64>>(11)?.map(|d| d as u64),
                digest: r.get::<_, Option<i64>>(12)?.map(|d| d as u64),
            }),
            None => None,
        };
        let (from, bytes, chunks) = stored.get(&id).copied().unwrap_or_default();
        Ok(StoredFile {
            id,
            path: r.get(1)?,
            root: r.get(2)?,
            project_dir: r.get(3)?,
            generation: r.get(4)?,
            superseded: r.get::<_, i64>(5)? != 0,
            read_offset: r.get::<_, i64>(6)? as u64,
            line_count: r.get::<_, i64>(7)? as u64,
            stored_from: if chunks > 0 {
                from
            } else {
                forgotten.as_ref().map_or(0, |t: &Tombstone| t.read_offset)
            },
            stored_bytes: bytes,
            chunks,
            forgotten,
            read: r.get(13)?,
        })
    })?;
    rows.collect()
}

/// A table of the store, as `sqlite_master` and its pragmas describe it.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    /// (column, table it references)
    pub references: Vec<(String, String)>,
}

impl Table {
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

/// Every table of the database (SQLite's own left out), by name.
pub fn tables(conn: &Connection) -> rusqlite::Result<Vec<Table>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for name in names {
        let columns = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([&name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let references = conn
            .prepare("SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?1)")?
            .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        out.push(Table {
            name,
            columns,
            references,
        });
    }
    Ok(out)
}

/// The sessions a file belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSessions {
    /// Session ids its stored lines carry (as modelled: a line Claude Code
    /// copied from another file, stored once with the original, is not
    /// counted here).
    pub lines: BTreeSet<String>,
    /// The session its path names, if any.
    pub path: Option<String>,
}

impl FileSessions {
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.lines.iter().chain(self.path.iter())
    }
}

/// The sessions of every file, by file id.
pub fn file_sessions(
    conn: &Connection,
    files: &[StoredFile],
) -> rusqlite::Result<HashMap<i64, FileSessions>> {
    let mut out: HashMap<i64, FileSessions> = files
        .iter()
        .map(|f| {
            let s = FileSessions {
                lines: BTreeSet::new(),
                path: path_session(&f.path, f.project_dir.as_deref()),
            };
            (f.id, s)
        })
        .collect();
    for sql in session_row_queries(conn, "l.file_id, SESSION", "1")? {
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (file, session) = row?;
            out.entry(file).or_default().lines.insert(session);
        }
    }
    Ok(out)
}

/// The files `file_sessions` gives one of `wanted` (a modelled row of it,
/// or its path names it), found through those sessions' rows alone: an
/// export of one session reads its rows, not every table's.
pub fn files_of_sessions(
    conn: &Connection,
    files: &[StoredFile],
    wanted: &BTreeSet<String>,
) -> rusqlite::Result<HashSet<i64>> {
    let mut out: HashSet<i64> = files
        .iter()
        .filter(|f| {
            path_session(&f.path, f.project_dir.as_deref()).is_some_and(|s| wanted.contains(&s))
        })
        .map(|f| f.id)
        .collect();
    let json = serde_json::to_string(wanted).expect("a set of strings is JSON");
    for sql in session_row_queries(
        conn,
        "l.file_id",
        "SESSION IN (SELECT value FROM json_each(?1))",
    )? {
        let mut st = conn.prepare(&sql)?;
        for file in st.query_map([&json], |r| r.get::<_, i64>(0))? {
            out.insert(file?);
        }
    }
    Ok(out)
}

/// For each table of modelled rows, `SELECT DISTINCT <columns>` of its
/// rows whose session (`SESSION` in both texts) meets `filter`, with `l`
/// their line (the *_rows tables name their session through their thread).
fn session_row_queries(
    conn: &Connection,
    columns: &str,
    filter: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tables(conn)? {
        if t.name == "lines" || !t.has("line_id") {
            continue;
        }
        let (join, session) = if t.has("session_id") {
            ("", "t.session_id")
        } else if t.has("thread") {
            ("JOIN threads th ON th.id = t.thread", "th.session_id")
        } else {
            continue;
        };
        out.push(format!(
            "SELECT DISTINCT {} FROM \"{}\" t {join} JOIN lines l ON l.id = t.line_id
             WHERE {session} IS NOT NULL AND {}",
            columns.replace("SESSION", session),
            t.name,
            filter.replace("SESSION", session),
        ));
    }
    Ok(out)
}

/// The session a transcript path under `<project dir>/` names: a file
/// under `<id>/subagents/` (its subagents, their workflows), else the file
/// `<id>.jsonl` itself; at any depth, as the walk reads them (a folder of
/// project folders copied under `projects/`).
pub fn path_session(path: &str, project_dir: Option<&str>) -> Option<String> {
    let dir = project_dir?;
    let comps: Vec<&str> = Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let i = comps.iter().rposition(|c| *c == dir)?;
    let (file, folders) = comps[i + 1..].split_last()?;
    let id = match folders.iter().position(|c| *c == "subagents") {
        Some(k) if k > 0 => folders[k - 1],
        _ => file.strip_suffix(".jsonl")?,
    };
    (!id.is_empty()).then(|| id.to_owned())
}

/// Where a file goes under an export folder: its path relative to its
/// transcript root (`projects/<project dir>/...`), as Claude Code laid it
/// out.
pub fn relative_path(f: &StoredFile) -> PathBuf {
    let path = &crate::paths::from_stored(&f.path);
    let root = &crate::paths::from_stored(&f.root);
    let projects = crate::paths::projects_folder(root);
    let canonical = std::fs::canonicalize(&projects).ok();
    for p in std::iter::once(&projects).chain(canonical.as_ref()) {
        if let Ok(rel) = path.strip_prefix(p)
            && rel.components().all(|c| matches!(c, Component::Normal(_)))
            && rel.components().next().is_some()
        {
            return Path::new("projects").join(rel);
        }
    }
    // The root moved or was reached through a symlink: cut at the project
    // folder's name.
    let comps: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    if let Some(dir) = &f.project_dir
        && let Some(i) = comps.iter().rposition(|c| *c == dir.as_str())
        && i + 1 < comps.len()
    {
        let mut out = PathBuf::from("projects");
        for c in &comps[i..] {
            out.push(c);
        }
        return out;
    }
    // A project folder that is a symlink: the canonical path is its
    // target's, under another name. The file goes under the name it had in
    // projects/ (with its session folder, for a subagent).
    if let Some(dir) = &f.project_dir
        && let Some(last) = comps.len().checked_sub(1)
    {
        // (<session>/subagents/<file>: only right above the file)
        let from = match comps.iter().rposition(|c| *c == "subagents") {
            Some(j) if j > 0 && j + 2 == comps.len() => j - 1,
            _ => last,
        };
        let mut out = Path::new("projects").join(dir);
        for c in &comps[from..] {
            out.push(c);
        }
        return out;
    }
    PathBuf::from(
        comps
            .last()
            .copied()
            .unwrap_or_else(|| "unnamed.jsonl".as_ref()),
    )
}

/// Session ids of the projects `--project text` matches
/// (`report::project_matches`).
pub fn project_sessions(conn: &Connection, text: &str) -> rusqlite::Result<BTreeSet<String>> {
    let ids = crate::report::matching_projects_json(conn, text)?;
    conn.prepare(
        "SELECT DISTINCT session_id FROM sessions
         WHERE project_id IN (SELECT value FROM json_each(?1))",
    )?
    .query_map([ids], |r| r.get(0))?
    .collect()
}

/// FNV-1a 64 continued over more bytes (start from `FNV_START`): the same
/// hash ingest fingerprints files with.
pub fn fnv1a_update(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_its_session() {
        let p = |path: &str| path_session(path, Some("-home-u-app"));
        assert_eq!(
            p("/r/projects/-home-u-app/sess-1.jsonl").as_deref(),
            Some("sess-1")
        );
        assert_eq!(
            p("/r/projects/-home-u-app/sess-1/subagents/agent-a.jsonl").as_deref(),
            Some("sess-1")
        );
        assert_eq!(
            p("/r/projects/-home-u-app/agent-c8.jsonl").as_deref(),
            Some("agent-c8")
        );
        assert_eq!(
            p("/r/projects/-home-u-app/sess-1/subagents/workflows/wf_1/agent-b.jsonl").as_deref(),
            Some("sess-1")
        );
        // one folder deeper: a folder of project folders under projects/
        let deeper = |path: &str| path_session(path, Some("archive"));
        assert_eq!(
            deeper("/r/projects/archive/-home-u-app/sess-2.jsonl").as_deref(),
            Some("sess-2")
        );
        assert_eq!(
            deeper("/r/projects/archive/-home-u-app/sess-2/subagents/agent-a.jsonl").as_deref(),
            Some("sess-2")
        );
        assert_eq!(p("/r/projects/-home-u-app"), None);
        assert_eq!(p("/r/projects/other/x.jsonl"), None);
        assert_eq!(path_session("/r/x.jsonl", None), None);
    }

    #[test]
    fn fnv_continues() {
        let whole = fnv1a_update(FNV_START, b"hello world");
        let parts = fnv1a_update(fnv1a_update(FNV_START, b"hello "), b"world");
        assert_eq!(whole, parts);
        assert_eq!(whole, crate::ingest::reader::fnv1a(b"hello world"));
    }

    fn file(path: &str, root: &str, dir: Option<&str>) -> StoredFile {
        StoredFile {
            id: 1,
            path: path.into(),
            root: root.into(),
            project_dir: dir.map(Into::into),
            generation: 0,
            superseded: false,
            read_offset: 0,
            line_count: 0,
            stored_from: 0,
            stored_bytes: 0,
            chunks: 0,
            forgotten: None,
            read: true,
        }
    }

    #[test]
    fn relative_paths_follow_the_root() {
        let rel = |f: StoredFile| relative_path(&f).display().to_string();
        assert_eq!(
            rel(file(
                "/nowhere/c/projects/-a/s/subagents/agent-x.jsonl",
                "/nowhere/c",
                Some("-a")
            )),
            "projects/-a/s/subagents/agent-x.jsonl"
        );
        assert_eq!(
            rel(file(
                "/nowhere/c/projects/-a/s.jsonl",
                "/nowhere/c/projects",
                Some("-a")
            )),
            "projects/-a/s.jsonl"
        );
        // reached through a symlink: the canonical path is elsewhere
        assert_eq!(
            rel(file("/elsewhere/-a/s.jsonl", "/nowhere/c", Some("-a"))),
            "projects/-a/s.jsonl"
        );
        assert_eq!(
            rel(file("/tmp/x/loose.jsonl", "/tmp/x", None)),
            "loose.jsonl"
        );
        // a project folder that is a symlink to a folder of another name
        assert_eq!(
            rel(file("/disk2/real/s8.jsonl", "/nowhere/c", Some("linked"))),
            "projects/linked/s8.jsonl"
        );
        assert_eq!(
            rel(file(
                "/disk2/real/s8/subagents/agent-a.jsonl",
                "/nowhere/c",
                Some("linked")
            )),
            "projects/linked/s8/subagents/agent-a.jsonl"
        );
        // a folder named subagents higher up is not the session's
        assert_eq!(
            rel(file(
                "/data/subagents/real/s8.jsonl",
                "/nowhere/c",
                Some("linked")
            )),
            "projects/linked/s8.jsonl"
        );
    }

    /// The files `files_of_sessions` finds for a set of sessions are those
    /// `file_sessions` gives one of them, for every session of the
    /// fixtures (and the public corpus, when here) and for all at once.
    #[test]
    fn files_of_sessions_agrees_with_file_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = ["basic", "data", "malformed", "ops", "reports", "statusline"];
        let roots = crate::ingest::test_roots(dir.path(), &fixtures);
        let (_db_dir, store) = crate::ingest::ingested_store(&roots);
        let conn = &store.conn;
        let files = stored_files(conn).unwrap();
        let owners = file_sessions(conn, &files).unwrap();
        let all: BTreeSet<String> = owners.values().flat_map(|o| o.all().cloned()).collect();
        assert!(all.len() >= 10, "{all:?}");
        let mut sets: Vec<BTreeSet<String>> =
            all.iter().map(|s| BTreeSet::from([s.clone()])).collect();
        sets.push(all.clone());
        sets.push(BTreeSet::from(["no-such-session".to_owned()]));
        let mut with_rows_elsewhere = 0;
        for wanted in sets {
            let want: HashSet<i64> = owners
                .iter()
                .filter(|(_, o)| o.all().any(|s| wanted.contains(s)))
                .map(|(id, _)| *id)
                .collect();
            let by_path: HashSet<i64> = owners
                .iter()
                .filter(|(_, o)| o.path.as_ref().is_some_and(|s| wanted.contains(s)))
                .map(|(id, _)| *id)
                .collect();
            with_rows_elsewhere += usize::from(!want.is_subset(&by_path));
            assert_eq!(
                files_of_sessions(conn, &files, &wanted).unwrap(),
                want,
                "{wanted:?}"
            );
        }
        // (sessions with rows in files their paths do not name: resumed
        // copies, subagents)
        assert!(with_rows_elsewhere > 0);
    }
}
