//! `observatory files`: what Claude Code's file tools touched, per path,
//! from `tool_calls` (one row per tool_use id, so a call copied into a
//! resumed session counts once).
//!
//! Read is a read, Write a write, Edit / MultiEdit / NotebookEdit an edit.
//! Every call counts, failed ones included (`errors` says how many failed).

use foldhash::{HashMap, HashMapExt};
use rusqlite::Connection;

use super::{IdSet, Interner, ThreadKeys, TimeRange};

#[derive(Debug, Clone, Default)]
pub struct FilesQuery {
    pub range: TimeRange,
    pub project: Option<String>,
    /// Only this session (its full id), with its subagents.
    pub session: Option<String>,
    /// At most this many rows, after sorting.
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRow {
    /// As the tool call gave it (`file_path`, or `notebook_path`).
    pub path: String,
    pub reads: u64,
    /// Edit, MultiEdit and NotebookEdit calls.
    pub edits: u64,
    pub writes: u64,
    /// Calls whose result was an error.
    pub errors: u64,
    pub sessions: u64,
    /// The latest call's start (epoch ms), if any call has a time.
    pub last_touched_at: Option<i64>,
}

impl FileRow {
    pub fn operations(&self) -> u64 {
        self.reads + self.edits + self.writes
    }
}

#[derive(Debug, Clone, Default)]
pub struct FilesReport {
    /// Most operations first, then the most recently touched, then by path.
    pub rows: Vec<FileRow>,
    /// Sums over every matching path (not only the rows shown); `path` is
    /// empty, `sessions` counts distinct sessions.
    pub total: FileRow,
    /// Distinct paths before `limit`.
    pub paths: u64,
}

#[derive(Default)]
struct Acc {
    row: FileRow,
    /// The sessions' interned ids (see `ThreadKeys`).
    sessions: IdSet,
}

impl Acc {
    fn add(&mut self, kind: Kind, is_error: bool, session: Option<u32>, at: Option<i64>) {
        match kind {
            Kind::Read => self.row.reads += 1,
            Kind::Edit => self.row.edits += 1,
            Kind::Write => self.row.writes += 1,
        }
        if is_error {
            self.row.errors += 1;
        }
        if let Some(s) = session {
            self.sessions.insert(s);
        }
        if at.is_some() {
            self.row.last_touched_at = self.row.last_touched_at.max(at);
        }
    }

    fn finish(mut self) -> FileRow {
        self.row.sessions = self.sessions.count;
        self.row
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Read,
    Edit,
    Write,
}

fn kind(tool: &str) -> Option<Kind> {
    match tool {
        "Read" => Some(Kind::Read),
        "Edit" | "MultiEdit" | "NotebookEdit" => Some(Kind::Edit),
        "Write" => Some(Kind::Write),
        _ => None,
    }
}

pub fn run(conn: &Connection, q: &FilesQuery) -> rusqlite::Result<FilesReport> {
    // (each call's session and project are its thread's, matched once per
    // thread: `files` 70 -> 31 ms on the 1 GiB benchmark database)
    let threads = ThreadKeys::load(
        conn,
        q.session.as_deref(),
        q.project.as_deref(),
        false,
        &mut Interner::default(),
    )?;
    // (the calls `tool_calls` shows: those with a tool_use line)
    let only = threads.few_kept(conn)?;
    let mut st = conn.prepare(&format!(
        "SELECT name, file_path, thread, started_at, coalesce(is_error, 0)
         FROM tool_call_rows
         WHERE use_line_id IS NOT NULL AND file_path IS NOT NULL AND file_path <> ''
           AND name IN ('Read', 'Edit', 'MultiEdit', 'NotebookEdit', 'Write'){}",
        ThreadKeys::kept_clause(&only, "thread")
    ))?;
    let mut rows = st.query(rusqlite::params_from_iter(&only))?;
    let mut files: HashMap<String, Acc> = HashMap::new();
    let mut total = Acc::default();
    while let Some(r) = rows.next()? {
        let Some(kind) = kind(r.get_ref(0)?.as_str()?) else {
            continue;
        };
        let thread = threads.of(r.get(2)?);
        let at: Option<i64> = r.get(3)?;
        if !thread.kept || !q.range.contains(at) {
            continue;
        }
        let is_error = r.get::<_, i64>(4)? != 0;
        let path = r.get_ref(1)?.as_str()?;
        let acc = match files.get_mut(path) {
            Some(acc) => acc,
            None => files.entry(path.to_owned()).or_insert_with(|| Acc {
                row: FileRow {
                    path: path.to_owned(),
                    ..FileRow::default()
                },
                ..Acc::default()
            }),
        };
        acc.add(kind, is_error, thread.session, at);
        total.add(kind, is_error, thread.session, at);
    }
    let paths = files.len() as u64;
    let mut out: Vec<FileRow> = files.into_values().map(Acc::finish).collect();
    out.sort_by(|a, b| {
        b.operations()
            .cmp(&a.operations())
            .then(b.last_touched_at.cmp(&a.last_touched_at))
            .then(a.path.cmp(&b.path))
    });
    if let Some(n) = q.limit {
        out.truncate(n);
    }
    Ok(FilesReport {
        rows: out,
        total: total.finish(),
        paths,
    })
}
