//! Forgetting sessions for good: which sessions and files go, deleting
//! their rows from every table that holds them (found through
//! `sqlite_master` and the table pragmas, not a hand list), leaving a
//! tombstone per file, and scrubbing the deleted bytes out of the database
//! file and its WAL.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, params};

use super::{FileSessions, StoredFile, Table};
use crate::store::Store;
use crate::transcript::session_of;

/// Tables `forget` never deletes from by key: user settings, facts about the
/// database, the file rows it keeps as tombstones, the cost rollup and the
/// thread figures (sums with no line of text, emptied and re-summed by the
/// rebuild forget runs next), the lines counted per type (numbers only: a
/// deleted line makes the next ingest count them again), the folder
/// listings (names only, as the kept file rows), and the raw-chunk
/// dictionaries (one sampled from a forgotten file is retired first:
/// `store::raw::retire`).
/// Projects left with no session or response are dropped separately.
const KEPT_TABLES: &[&str] = &[
    "meta",
    "budgets",
    "projects",
    "source_files",
    "forgotten_files",
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
    "scan_dirs",
    "raw_dicts",
];

/// Which sessions to forget (every criterion given must hold).
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    /// Sessions whose project path contains this.
    pub project: Option<String>,
    /// This session id (resolved).
    pub session: Option<String>,
    /// Sessions whose last activity is before this instant (epoch ms).
    pub before_ms: Option<i64>,
    /// Only the replaced generations of the picked sessions' files (of
    /// every file, when no session is picked); the sessions stay.
    pub replaced: bool,
}

impl Criteria {
    fn picks_sessions(&self) -> bool {
        self.project.is_some() || self.session.is_some() || self.before_ms.is_some()
    }
}

/// One session to forget, with its subagents.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub session_id: String,
    pub project: Option<String>,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    pub subagents: u64,
    pub responses: u64,
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
}

/// A file whose lines are forgotten.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub file: StoredFile,
    pub lines: u64,
}

/// What a forget deletes, worked out before anything is deleted.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub sessions: Vec<SessionInfo>,
    pub files: Vec<FileInfo>,
    pub lines: u64,
    /// Transcript bytes stored for those files (uncompressed).
    pub raw_bytes: u64,
    pub responses: u64,
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
    /// Files that stay but hold lines of these sessions (Claude Code copies
    /// lines into the file of a resumed or continued session): path and
    /// the forgotten sessions they hold.
    pub shared_files: Vec<(String, Vec<String>)>,
    /// Files named after a forgotten session that stay whole because they
    /// hold lines of sessions that stay and that no other kept file holds
    /// (deleting them would forget those sessions too): path and those
    /// sessions.
    pub kept_for_others: Vec<(String, Vec<String>)>,
    /// table -> the WHERE clause that picks its doomed rows
    deletes: Vec<(String, String)>,
    /// (table, column) that reference projects
    project_refs: Vec<(String, String)>,
    /// `Criteria::replaced`: the files are replaced generations, and no
    /// session goes.
    replaced: bool,
    /// With `replaced`: the sessions those generations hold lines of, whose
    /// watch events (which quote their lines) go.
    replaced_sessions: BTreeSet<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty() && self.files.is_empty()
    }

    /// Generations only: the sessions stay.
    pub fn replaced_only(&self) -> bool {
        self.replaced
    }

    /// The transcript files: `files` has a row per generation of each
    /// (a file read again from its start after it was rewritten).
    pub fn paths(&self) -> u64 {
        self.distinct_paths().len() as u64
    }

    /// The transcript files' paths, each once, sorted.
    pub fn distinct_paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.files.iter().map(|f| f.file.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        paths
    }

    /// Every response of the forgotten sessions has no price.
    pub fn unpriced_all(&self) -> bool {
        self.responses > 0 && self.unpriced_responses >= self.responses
    }

    pub fn subagents(&self) -> u64 {
        self.sessions.iter().map(|s| s.subagents).sum()
    }
}

/// The session ids every criterion picks.
fn pick_sessions(conn: &Connection, c: &Criteria) -> Result<BTreeSet<String>> {
    let mut ids: BTreeSet<String> = conn
        .prepare("SELECT DISTINCT session_id FROM sessions")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if let Some(p) = &c.project {
        let in_project = super::project_sessions(conn, p)?;
        ids.retain(|s| in_project.contains(s));
    }
    if let Some(s) = &c.session {
        ids.retain(|x| x == s);
    }
    if let Some(before) = c.before_ms {
        let old: BTreeSet<String> = conn
            .prepare(
                "SELECT session_id FROM sessions GROUP BY session_id HAVING max(last_at) < ?1",
            )?
            .query_map([before], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.retain(|s| old.contains(s));
    }
    Ok(ids)
}

/// A file goes with its sessions: when its path names a forgotten session,
/// or when every session its lines carry is forgotten. A file that also
/// holds lines of sessions that stay is kept whole.
fn doomed(s: &FileSessions, ids: &BTreeSet<String>) -> bool {
    s.path.as_ref().is_some_and(|p| ids.contains(p))
        || (!s.lines.is_empty() && s.lines.iter().all(|x| ids.contains(x)))
}

/// Work out what forgetting the sessions `c` picks would delete.
pub fn plan(conn: &Connection, c: &Criteria) -> Result<Plan> {
    let tables = super::tables(conn).context("reading the database's tables")?;
    let (deletes, project_refs) = delete_clauses(&tables)?;
    let ids = pick_sessions(conn, c).context("finding the sessions to forget")?;
    if c.replaced {
        return plan_replaced(conn, c, &ids, deletes, project_refs);
    }

    let mut sessions: BTreeMap<String, SessionInfo> = BTreeMap::new();
    {
        let mut st = conn.prepare(
            "SELECT s.session_id,
                    coalesce(max(CASE WHEN s.agent_id = '' THEN p.path END), min(p.path)),
                    min(s.first_at), max(s.last_at), sum(s.agent_id <> '')
             FROM sessions s LEFT JOIN projects p ON p.id = s.project_id
             GROUP BY s.session_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(SessionInfo {
                session_id: r.get(0)?,
                project: r.get(1)?,
                first_at: r.get(2)?,
                last_at: r.get(3)?,
                subagents: r.get::<_, i64>(4)? as u64,
                ..Default::default()
            })
        })?;
        for row in rows {
            let s = row?;
            if ids.contains(&s.session_id) {
                sessions.insert(s.session_id.clone(), s);
            }
        }
    }
    {
        let mut st = conn.prepare(
            "SELECT session_id, count(*), sum(cost_picousd / 1000000000000),
               sum(cost_picousd % 1000000000000), sum(cost_picousd IS NULL)
             FROM responses WHERE session_id IS NOT NULL GROUP BY session_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                crate::report::split_sum(r.get(2)?, r.get(3)?),
                r.get::<_, i64>(4)?,
            ))
        })?;
        for row in rows {
            let (id, n, cost, unpriced) = row?;
            if let Some(s) = sessions.get_mut(&id) {
                s.responses = n as u64;
                s.cost_picousd = cost;
                s.unpriced_responses = unpriced as u64;
            }
        }
    }

    let files = super::stored_files(conn).context("reading the tracked files")?;
    let owners = super::file_sessions(conn, &files).context("finding each file's sessions")?;
    let line_counts = line_counts(conn, "1")?;
    let mut plan = Plan {
        deletes,
        project_refs,
        ..Default::default()
    };
    let kept_ids = kept_session_ids(conn)?;
    let mut unpacker = crate::store::raw::Unpacker::default();
    let mut kept = Vec::new();
    let mut going = Vec::new();
    for f in files {
        let mut owner = owners.get(&f.id).cloned().unwrap_or_default();
        let read_whole = owner.lines.is_empty() && !doomed(&owner, &ids) && f.chunks > 0;
        if read_whole {
            // (a file whose every line is a copy of lines stored from
            // another file has no rows of its own: a project folder copied
            // beside itself, `s1 copy.jsonl`. Its lines say whose they
            // are; kept, it would give the session back once the original
            // went)
            owner.lines = line_sessions(conn, &f, kept_ids.as_ref(), &mut unpacker, None)?;
        }
        if doomed(&owner, &ids) {
            if !forgotten_already(&f) {
                going.push((f, owner));
            }
        } else {
            kept.push((f, owner, read_whole, false));
        }
    }
    // A file named after a forgotten session may also hold lines of
    // sessions that stay (Claude Code can write several sessions into one
    // file). Where a file that stays holds lines of them too (the copies a
    // resumed session carries, the session's own file), they lose nothing;
    // else the file stays whole, and the plan says why.
    let elsewhere: BTreeSet<String> = kept
        .iter()
        .flat_map(|(_, owner, _, _)| owner.all().cloned())
        .collect();
    for (f, owner) in going {
        let only_here: Vec<String> = owner
            .lines
            .iter()
            .filter(|s| !ids.contains(*s) && !elsewhere.contains(*s))
            .cloned()
            .collect();
        if !only_here.is_empty() {
            // (one entry per path: a file's generations are kept together)
            match plan.kept_for_others.iter_mut().find(|(p, _)| *p == f.path) {
                Some((_, ids)) => {
                    ids.extend(only_here);
                    ids.sort_unstable();
                    ids.dedup();
                }
                None => plan.kept_for_others.push((f.path.clone(), only_here)),
            }
            // (its sessions are not thereby "elsewhere": another file of
            // theirs that goes may hold other lines of them, as two
            // generations of one path do)
            kept.push((f, owner, false, true));
            continue;
        }
        let lines = line_counts.get(&f.id).copied().unwrap_or(0);
        plan.lines += lines;
        plan.raw_bytes += f.stored_bytes;
        plan.files.push(FileInfo { file: f, lines });
    }
    // Files that stay but hold lines of these sessions (Claude Code copies
    // a session's lines into the file of the one resuming it): every line
    // they hold, read from their raw bytes (a copied line is modelled in
    // one file only, the first read)
    for (f, owner, read_whole, for_others) in kept {
        // (said apart, in `kept_for_others`)
        if for_others {
            continue;
        }
        let mut sessions = owner.lines;
        // (a file read whole above has every session of its lines already)
        if f.chunks > 0 && !ids.is_empty() && !read_whole {
            sessions.extend(line_sessions(
                conn,
                &f,
                kept_ids.as_ref(),
                &mut unpacker,
                Some(&ids),
            )?);
        }
        let held: Vec<String> = sessions.into_iter().filter(|s| ids.contains(s)).collect();
        if !held.is_empty() {
            plan.shared_files.push((f.path.clone(), held));
        }
    }
    plan.sessions = sessions.into_values().collect();
    plan.responses = plan.sessions.iter().map(|s| s.responses).sum();
    plan.cost_picousd = plan.sessions.iter().map(|s| s.cost_picousd).sum();
    plan.unpriced_responses = plan.sessions.iter().map(|s| s.unpriced_responses).sum();
    Ok(plan)
}

/// Lines per file, of the files `which` (an SQL condition on `lines`) picks.
fn line_counts(conn: &Connection, which: &str) -> rusqlite::Result<HashMap<i64, u64>> {
    // (counted here: GROUP BY sorts every line's file id first, in memory,
    // ~150 MB for 2.7 million lines)
    let mut out: HashMap<i64, u64> = HashMap::new();
    let mut st = conn.prepare(&format!("SELECT file_id FROM lines WHERE {which}"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        *out.entry(r.get(0)?).or_default() += 1;
    }
    Ok(out)
}

/// A file forgotten before that has nothing new since: nothing to forget.
fn forgotten_already(f: &StoredFile) -> bool {
    f.forgotten
        .as_ref()
        .is_some_and(|t| t.read_offset == f.read_offset && f.chunks == 0)
}

/// Each file's session ids as the ingest keeps them (`file_session_ids`),
/// or None while a rebuild is pending: the table is filled by it (after an
/// upgrade to schema 22, or a forget), so until then the raw lines are read.
fn kept_session_ids(conn: &Connection) -> Result<Option<HashMap<i64, BTreeSet<String>>>> {
    let pending: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'rebuild_pending')",
        [],
        |r| r.get(0),
    )?;
    if pending {
        return Ok(None);
    }
    let mut out: HashMap<i64, BTreeSet<String>> = HashMap::new();
    let mut st = conn.prepare("SELECT file_id, session_id FROM file_session_ids")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().insert(r.get(1)?);
    }
    Ok(Some(out))
}

/// The session ids the stored lines of `file` carry (of them, those in
/// `only`): from `kept` when there is one, else read from the raw lines.
fn line_sessions(
    conn: &Connection,
    file: &StoredFile,
    kept: Option<&HashMap<i64, BTreeSet<String>>>,
    unpacker: &mut crate::store::raw::Unpacker,
    only: Option<&BTreeSet<String>>,
) -> Result<BTreeSet<String>> {
    let Some(kept) = kept else {
        return raw_sessions(conn, file, unpacker, only);
    };
    let Some(ids) = kept.get(&file.id) else {
        return Ok(BTreeSet::new());
    };
    Ok(match only {
        Some(only) => ids.intersection(only).cloned().collect(),
        None => ids.clone(),
    })
}

/// The session ids the stored lines of `file` carry (`sessionId`), read
/// from its raw bytes a chunk at a time; with `only`, just those of them,
/// found by the text `"sessionId"` and the string after it, not parsed
/// (fast over every kept file; a line quoting such a key in its content may
/// add a session: this only names files).
fn raw_sessions(
    conn: &Connection,
    file: &StoredFile,
    unpacker: &mut crate::store::raw::Unpacker,
    only: Option<&BTreeSet<String>>,
) -> Result<BTreeSet<String>> {
    // (a subagent's sidecar names no session: its path does, as the ingest
    // read it)
    if crate::ingest::discover::is_sidecar_path(&file.path) && file.line_count > 0 {
        let (session, _) = crate::transcript::sidecar_ids(&file.path);
        return Ok(session
            .filter(|s| only.is_none_or(|o| o.contains(s)))
            .into_iter()
            .collect());
    }
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(rename = "sessionId")]
        session_id: Option<String>,
    }
    /// Whole lines as they arrive, the part of one past a chunk's end kept.
    struct Lines<F: FnMut(&[u8])> {
        rest: Vec<u8>,
        each: F,
    }
    impl<F: FnMut(&[u8])> std::io::Write for Lines<F> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut at = 0;
            for end in memchr::memchr_iter(b'\n', buf) {
                if self.rest.is_empty() {
                    (self.each)(&buf[at..end]);
                } else {
                    self.rest.extend_from_slice(&buf[at..end]);
                    (self.each)(&std::mem::take(&mut self.rest));
                }
                at = end + 1;
            }
            self.rest.extend_from_slice(&buf[at..]);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let key = memchr::memmem::Finder::new(b"\"sessionId\"");
    let mut found = BTreeSet::new();
    let mut lines = Lines {
        rest: Vec::new(),
        each: |line: &[u8]| match only {
            Some(only) => {
                for at in key.find_iter(line) {
                    let rest = &line[at + 11..];
                    let rest = rest.trim_ascii_start();
                    let Some(rest) = rest.strip_prefix(b":") else {
                        continue;
                    };
                    let Some(rest) = rest.trim_ascii_start().strip_prefix(b"\"") else {
                        continue;
                    };
                    let Some(end) = memchr::memchr(b'"', rest) else {
                        continue;
                    };
                    if let Ok(id) = std::str::from_utf8(&rest[..end]).map(session_of)
                        && only.contains(id)
                    {
                        found.insert(id.to_owned());
                    }
                }
            }
            None => {
                if let Some(s) = serde_json::from_slice::<Line>(line)
                    .ok()
                    .and_then(|l| l.session_id)
                    .filter(|s| !s.is_empty())
                {
                    found.insert(session_of(&s).to_owned());
                }
            }
        },
    };
    // (bytes that cannot be read say nothing: the file stays, as before)
    if super::export::write_file(conn, file, &mut lines, unpacker).is_err() {
        return Ok(BTreeSet::new());
    }
    // (a last line stored without its newline)
    let last = std::mem::take(&mut lines.rest);
    (lines.each)(&last);
    drop(lines);
    Ok(found)
}

/// `plan` for `Criteria::replaced`: the replaced generations of the files
/// of the sessions in `ids` (of every file, when no criterion picks
/// sessions), and no session.
fn plan_replaced(
    conn: &Connection,
    c: &Criteria,
    ids: &BTreeSet<String>,
    deletes: Vec<(String, String)>,
    project_refs: Vec<(String, String)>,
) -> Result<Plan> {
    let files = super::stored_files(conn).context("reading the tracked files")?;
    let owners = super::file_sessions(conn, &files).context("finding each file's sessions")?;
    let line_counts = line_counts(
        conn,
        "file_id IN (SELECT id FROM source_files WHERE superseded = 1)",
    )?;
    let mut plan = Plan {
        deletes,
        project_refs,
        replaced: true,
        ..Default::default()
    };
    for f in files.into_iter().filter(|f| f.superseded) {
        let theirs = !c.picks_sessions()
            || owners
                .get(&f.id)
                .is_some_and(|o| o.all().any(|s| ids.contains(s)));
        if theirs && !forgotten_already(&f) {
            if let Some(o) = owners.get(&f.id) {
                plan.replaced_sessions.extend(o.all().cloned());
            }
            let lines = line_counts.get(&f.id).copied().unwrap_or(0);
            plan.lines += lines;
            plan.raw_bytes += f.stored_bytes;
            plan.files.push(FileInfo { file: f, lines });
        }
    }
    Ok(plan)
}

/// A row of a forgotten session's thread (its main thread or a subagent).
const FORGOTTEN_THREAD: &str = "\"thread\" IN (SELECT id FROM threads WHERE session_id IN (SELECT session_id FROM temp.forget_sessions))";

/// For every table but the kept ones, the rows to delete: those of a
/// forgotten line (`line_id`, or any column that references `lines` or
/// `messages`), of a forgotten file (`file_id`, or a reference to
/// `source_files`), or of a forgotten session (`session_id`). A table with
/// none of these is refused: forget cannot tell which of its rows to
/// delete, and deleting too little is not an option.
#[allow(clippy::type_complexity)]
fn delete_clauses(tables: &[Table]) -> Result<(Vec<(String, String)>, Vec<(String, String)>)> {
    let mut deletes = Vec::new();
    let mut project_refs = Vec::new();
    for t in tables {
        for (col, to) in &t.references {
            if to == "projects" {
                project_refs.push((t.name.clone(), col.clone()));
            }
        }
        if KEPT_TABLES.contains(&t.name.as_str()) {
            continue;
        }
        let mut line_cols: BTreeSet<&str> = BTreeSet::new();
        let mut file_cols: BTreeSet<&str> = BTreeSet::new();
        if t.has("line_id") {
            line_cols.insert("line_id");
        }
        if t.has("file_id") {
            file_cols.insert("file_id");
        }
        for (col, to) in &t.references {
            match to.as_str() {
                "lines" | "message_rows" => {
                    line_cols.insert(col);
                }
                "source_files" => {
                    file_cols.insert(col);
                }
                _ => {}
            }
        }
        let mut conds: Vec<String> = Vec::new();
        for c in &line_cols {
            conds.push(format!("\"{c}\" IN (SELECT id FROM temp.forget_lines)"));
        }
        // (a row of a message that goes by its session, not its line: a
        // resumed session's file holds copies of the forgotten session's
        // lines with its session id; they go before the message rows)
        for (col, to) in &t.references {
            if to == "message_rows" {
                conds.push(format!(
                    "\"{col}\" IN (SELECT line_id FROM message_rows WHERE {FORGOTTEN_THREAD})"
                ));
            }
        }
        for c in &file_cols {
            conds.push(format!("\"{c}\" IN (SELECT id FROM temp.forget_files)"));
        }
        if t.has("session_id") {
            conds
                .push("\"session_id\" IN (SELECT session_id FROM temp.forget_sessions)".to_owned());
        }
        if t.has("thread") {
            conds.push(FORGOTTEN_THREAD.to_owned());
        }
        if conds.is_empty() {
            bail!(
                "table {} has no line_id, file_id, session_id or thread column, so forget cannot tell which of its rows to delete; nothing was deleted (a bug: please report it)",
                t.name
            );
        }
        deletes.push((t.name.clone(), conds.join(" OR ")));
    }
    // the rows that name a thread by id go before the thread, and those
    // that name a message row before the message rows
    deletes.sort_by_key(|(t, _)| (t == "threads", t == "message_rows"));
    Ok((deletes, project_refs))
}

/// What `delete` did.
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    /// Rows deleted per table.
    pub rows: BTreeMap<String, u64>,
    /// Dictionaries sampled from a forgotten file, replaced.
    pub dictionaries: crate::store::raw::Retired,
    pub projects: u64,
}

/// Delete what `plan` says, in one transaction, and leave a tombstone per
/// file. Deleted cells are overwritten (secure_delete); the tables are
/// flagged for a rebuild (`ingest::rebuild`), which the caller runs next
/// (an interrupted one is finished by the next ingest).
pub fn delete(conn: &Connection, plan: &Plan) -> Result<Deleted> {
    // The tombstones' digests, from the bytes before they go.
    let mut digests: Vec<Option<(u64, u64)>> = Vec::with_capacity(plan.files.len());
    let mut unpacker = crate::store::raw::Unpacker::default();
    for f in &plan.files {
        digests.push(super::export::digests(conn, &f.file, &mut unpacker)?);
    }
    // Foreign keys are checked once at the end (foreign_key_check), not
    // row by row: deleting a line would scan every table that may point at
    // it, and some of those columns have no index.
    conn.pragma_update(None, "foreign_keys", false)?;
    conn.pragma_update(None, "secure_delete", true)?;
    let result = conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(anyhow::Error::from)
        .and_then(|()| delete_in_tx(conn, plan, &digests));
    let result = match result {
        Ok(d) => conn.execute_batch("COMMIT").map(|()| d).map_err(Into::into),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    };
    let restored = conn
        .pragma_update(None, "secure_delete", false)
        .and_then(|()| conn.pragma_update(None, "foreign_keys", true));
    let d = result?;
    restored?;
    Ok(d)
}

fn broken_references(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })
}

fn delete_in_tx(conn: &Connection, plan: &Plan, digests: &[Option<(u64, u64)>]) -> Result<Deleted> {
    let broken_before = broken_references(conn)?;
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS forget_sessions(session_id TEXT PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS forget_files(id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE IF NOT EXISTS forget_lines(id INTEGER PRIMARY KEY);
         DELETE FROM temp.forget_sessions;
         DELETE FROM temp.forget_files;
         DELETE FROM temp.forget_lines;",
    )?;
    {
        let mut st = conn.prepare("INSERT INTO temp.forget_sessions(session_id) VALUES (?1)")?;
        for s in &plan.sessions {
            st.execute([&s.session_id])?;
        }
        let mut st = conn.prepare("INSERT INTO temp.forget_files(id) VALUES (?1)")?;
        for f in &plan.files {
            st.execute([f.file.id])?;
        }
    }
    conn.execute(
        "INSERT INTO temp.forget_lines(id) SELECT id FROM lines WHERE file_id IN (SELECT id FROM temp.forget_files)",
        [],
    )?;
    let mut deleted = Deleted {
        dictionaries: crate::store::raw::retire(conn)
            .context("replacing the dictionary sampled from a forgotten file")?,
        ..Default::default()
    };
    for (table, cond) in &plan.deletes {
        let n = conn
            .execute(&format!("DELETE FROM \"{table}\" WHERE {cond}"), [])
            .with_context(|| format!("deleting from {table}"))?;
        deleted.rows.insert(table.clone(), n as u64);
    }
    if !plan.replaced_sessions.is_empty() {
        // (the log of events quotes lines: a prompt, a command; those of
        // the sessions whose earlier versions go, go. A watcher running
        // says it missed them)
        let mut st = conn.prepare("DELETE FROM watch_events WHERE session_id = ?1")?;
        let mut n = 0;
        for s in &plan.replaced_sessions {
            n += st.execute([s])? as u64;
        }
        *deleted.rows.entry("watch_events".into()).or_default() += n;
    }
    let unused: Vec<String> = plan
        .project_refs
        .iter()
        .map(|(t, c)| format!("id NOT IN (SELECT \"{c}\" FROM \"{t}\" WHERE \"{c}\" IS NOT NULL)"))
        .collect();
    let sql = if unused.is_empty() {
        "DELETE FROM projects".to_owned()
    } else {
        format!("DELETE FROM projects WHERE {}", unused.join(" AND "))
    };
    deleted.projects = conn.execute(&sql, [])? as u64;
    let now = chrono::Utc::now().timestamp_millis();
    {
        let mut st = conn.prepare(
            "INSERT INTO forgotten_files(file_id, forgotten_at, read_offset, line_count, head_digest, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(file_id) DO UPDATE SET forgotten_at = excluded.forgotten_at,
               read_offset = excluded.read_offset, line_count = excluded.line_count,
               head_digest = excluded.head_digest, digest = excluded.digest",
        )?;
        for (f, d) in plan.files.iter().zip(digests) {
            st.execute(params![
                f.file.id,
                now,
                f.file.read_offset as i64,
                f.file.line_count as i64,
                d.map(|d| d.0 as i64),
                d.map(|d| d.1 as i64)
            ])?;
        }
    }
    Store::meta_set(conn, "rebuild_pending", "1")?;
    // (cleared once the file is rewritten: a forget stopped before that
    // leaves the next one to do it)
    Store::meta_set(conn, crate::store::COMPACT_PENDING, "1")?;
    if broken_references(conn)? > broken_before {
        let (table, parent): (String, String) = conn.query_row(
            "SELECT \"table\", parent FROM pragma_foreign_key_check LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        bail!(
            "forgetting would leave rows of {table} pointing at deleted {parent} rows; nothing was deleted (a bug: please report it)"
        );
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session ids the ingest keeps per file are those its raw lines
    /// carry (what forget read before schema 22), after an ingest and
    /// after a rebuild; while a rebuild is pending they are not used.
    #[test]
    fn kept_session_ids_are_those_of_the_raw_lines() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = ["basic", "data", "malformed", "ops", "reports", "statusline"];
        let roots = crate::ingest::test_roots(dir.path(), &fixtures);
        let (_db_dir, mut store) = crate::ingest::ingested_store(&roots);
        let check = |conn: &Connection| {
            let kept = kept_session_ids(conn).unwrap().expect("no rebuild pending");
            let files = super::super::stored_files(conn).unwrap();
            let mut unpacker = crate::store::raw::Unpacker::default();
            let mut with_ids = 0;
            for f in &files {
                let raw = raw_sessions(conn, f, &mut unpacker, None).unwrap();
                let ours = kept.get(&f.id).cloned().unwrap_or_default();
                assert_eq!(ours, raw, "{}", f.path);
                with_ids += usize::from(!raw.is_empty());
            }
            // (real-looking data: most files name their sessions)
            assert!(with_ids > files.len() / 2, "{with_ids} of {}", files.len());
            // a file of several sessions is among them
            assert!(kept.values().any(|s| s.len() > 1), "{kept:?}");
        };
        check(&store.conn);
        struct Quiet;
        impl crate::ingest::Observer for Quiet {}
        let prices = crate::pricing::PriceTable::builtin().unwrap();
        crate::ingest::rebuild(&mut store, &prices, &mut Quiet).unwrap();
        check(&store.conn);
        Store::meta_set(&store.conn, "rebuild_pending", "1").unwrap();
        assert!(kept_session_ids(&store.conn).unwrap().is_none());
    }

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        c
    }

    #[test]
    fn every_table_but_the_kept_ones_has_a_key_to_delete_by() {
        let c = db();
        let (deletes, refs) = delete_clauses(&super::super::tables(&c).unwrap()).unwrap();
        let tables: Vec<&str> = deletes.iter().map(|(t, _)| t.as_str()).collect();
        for t in [
            "lines",
            "raw_chunks",
            "sessions",
            "threads",
            "message_rows",
            "content_blocks",
            "response_rows",
            "tool_call_rows",
            "summaries",
        ] {
            assert!(tables.contains(&t), "{t} missing from {tables:?}");
        }
        for t in KEPT_TABLES {
            assert!(!tables.contains(t), "{t} must be kept");
        }
        let clause = |t: &str| deletes.iter().find(|(n, _)| n == t).unwrap().1.clone();
        // tool calls go by their session (through their thread) and by
        // either of their lines
        let tc = clause("tool_call_rows");
        assert!(
            tc.contains("use_line_id") && tc.contains("result_line_id") && tc.contains("thread"),
            "{tc}"
        );
        assert!(clause("response_rows").contains("first_line_id"));
        assert!(clause("content_blocks").contains("line_id"));
        // threads go last: the others find a session's rows through them
        assert_eq!(deletes.last().unwrap().0, "threads");
        assert!(clause("raw_chunks").contains("file_id"));
        assert!(refs.contains(&("sessions".into(), "project_id".into())));
        assert!(refs.contains(&("response_rows".into(), "project_id".into())));
    }

    #[test]
    fn a_table_forget_cannot_key_is_refused_before_anything_is_deleted() {
        let c = db();
        c.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
            .unwrap();
        let err = plan(&c, &Criteria::default()).unwrap_err().to_string();
        assert!(err.contains("notes"), "{err}");
        // a new table keyed by line is picked up without a code change
        let c = db();
        c.execute_batch(
            "CREATE TABLE line_notes (line_id INTEGER REFERENCES lines(id), text TEXT)",
        )
        .unwrap();
        let p = plan(&c, &Criteria::default()).unwrap();
        assert!(
            p.deletes
                .iter()
                .any(|(t, w)| t == "line_notes" && w.contains("line_id"))
        );
    }
}
