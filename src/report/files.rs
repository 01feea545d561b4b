//! `observatory files`: what Claude Code's file tools touched, per path,
//! from `tool_calls` (one row per tool_use id, so a call copied into a
//! resumed session counts once).
//!
//! Read is a read, Write a write, Edit / MultiEdit / NotebookEdit an edit.
//! Every call counts, failed ones included (`errors` says how many failed).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{TimeRange, project_matches, session_matches};

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
    sessions: BTreeSet<String>,
}

impl Acc {
    fn add(&mut self, kind: Kind, is_error: bool, session: Option<&str>, at: Option<i64>) {
        match kind {
            Kind::Read => self.row.reads += 1,
            Kind::Edit => self.row.edits += 1,
            Kind::Write => self.row.writes += 1,
        }
        if is_error {
            self.row.errors += 1;
        }
        if let Some(s) = session {
            self.sessions.insert(s.to_owned());
        }
        if at.is_some() {
            self.row.last_touched_at = self.row.last_touched_at.max(at);
        }
    }

    fn finish(mut self) -> FileRow {
        self.row.sessions = self.sessions.len() as u64;
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
    let mut st = conn.prepare(
        "SELECT t.name, t.file_path, t.session_id, t.started_at, coalesce(t.is_error, 0), p.path
         FROM tool_calls t
         LEFT JOIN sessions s ON s.session_id = t.session_id AND s.agent_id = coalesce(t.agent_id, '')
         LEFT JOIN projects p ON p.id = s.project_id
         WHERE t.file_path IS NOT NULL AND t.file_path <> ''
           AND t.name IN ('Read', 'Edit', 'MultiEdit', 'NotebookEdit', 'Write')",
    )?;
    let mut rows = st.query([])?;
    let mut files: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let Some(kind) = kind(&name) else { continue };
        let path: String = r.get(1)?;
        let session: Option<String> = r.get(2)?;
        let at: Option<i64> = r.get(3)?;
        let is_error = r.get::<_, i64>(4)? != 0;
        let project: Option<String> = r.get(5)?;
        if !q.range.contains(at)
            || !project_matches(project.as_deref(), q.project.as_deref())
            || !session_matches(session.as_deref(), q.session.as_deref())
        {
            continue;
        }
        let acc = files.entry(path.clone()).or_insert_with(|| Acc {
            row: FileRow {
                path,
                ..FileRow::default()
            },
            ..Acc::default()
        });
        acc.add(kind, is_error, session.as_deref(), at);
        total.add(kind, is_error, session.as_deref(), at);
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
