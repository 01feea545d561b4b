//! `observatory tools`: calls, errors and durations per tool (and per MCP
//! server), from `tool_calls` (one row per tool_use id, so a call copied
//! into a resumed session counts once).
//!
//! Durations are `finished_at - started_at` of calls that have both;
//! p50/p95 are nearest-rank percentiles computed here, not in SQL.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use rusqlite::Connection;

use super::{IdSet, Interner, ThreadKeys, TimeRange, percentile, text_ref};

#[derive(Debug, Clone, Default)]
pub struct ToolsQuery {
    pub range: TimeRange,
    pub project: Option<String>,
    /// Only this session (its full id), with its subagents.
    pub session: Option<String>,
    pub by_project: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolRow {
    /// With `by_project`; None when the call's session has no project.
    pub project: Option<String>,
    /// The tool name (`?` when the transcript gave none); for MCP server
    /// rows, the server.
    pub tool: String,
    pub mcp_server: Option<String>,
    pub calls: u64,
    pub errors: u64,
    /// Calls whose result was never written (interrupted, or still running).
    pub no_result: u64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub sessions: u64,
}

impl ToolRow {
    /// errors / calls; None without calls (no rate, as no percentile).
    pub fn error_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.errors as f64 / self.calls as f64)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ToolsReport {
    /// Per tool (and project), most calls first.
    pub rows: Vec<ToolRow>,
    /// Per MCP server (and project), most calls first; `tool` is the server.
    pub mcp_servers: Vec<ToolRow>,
    pub total: ToolRow,
}

#[derive(Default)]
struct Acc {
    mcp_server: Option<String>,
    calls: u64,
    errors: u64,
    no_result: u64,
    durations: Vec<i64>,
    /// Interned session ids.
    sessions: IdSet,
}

impl Acc {
    fn add(&mut self, c: &Calls<'_>) {
        self.calls += c.calls;
        self.errors += c.errors;
        self.no_result += c.no_result;
        self.durations.extend_from_slice(c.durations);
        if let Some(s) = c.session {
            self.sessions.insert(s);
        }
    }

    fn row(mut self, project: Option<String>, tool: String) -> ToolRow {
        ToolRow {
            project,
            tool,
            mcp_server: self.mcp_server,
            calls: self.calls,
            errors: self.errors,
            no_result: self.no_result,
            p50_ms: percentile(&mut self.durations, 50),
            p95_ms: percentile(&mut self.durations, 95),
            sessions: self.sessions.count,
        }
    }
}

/// Calls of one tool in one session: one call as scanned, or a thread's
/// calls as `tool_figures` sums them.
struct Calls<'a> {
    /// Interned session id.
    session: Option<u32>,
    calls: u64,
    errors: u64,
    no_result: u64,
    durations: &'a [i64],
}

/// What `tools` reads of each call (those with a use: the `tool_calls`
/// view's): its name, MCP server, thread, start, whether it failed (NULL:
/// no result yet) and duration.
const CALL_COLUMNS: &str = "SELECT c.name, c.mcp_server, c.thread, c.started_at,
        CASE WHEN c.result_line_id IS NOT NULL THEN coalesce(c.is_error, 0) != 0 END,
        c.duration_ms
    FROM tool_call_rows c WHERE c.use_line_id IS NOT NULL";

/// A call's name, server, thread, start and figures (`call_of`).
type CallRow<'r> = (
    &'r str,
    Option<&'r str>,
    Option<i64>,
    Option<i64>,
    Calls<'r>,
);

/// One call of a `CALL_COLUMNS` row: its name ('?' when none), server,
/// thread, start, and its figures (a negative duration, clocks out of
/// order, is none).
fn call_of<'r>(
    r: &'r rusqlite::Row<'_>,
    duration: &'r mut Option<i64>,
) -> rusqlite::Result<CallRow<'r>> {
    let is_error = r.get::<_, Option<bool>>(4)?;
    *duration = r.get::<_, Option<i64>>(5)?.filter(|d| *d >= 0);
    let calls = Calls {
        session: None,
        calls: 1,
        errors: u64::from(is_error == Some(true)),
        no_result: u64::from(is_error.is_none()),
        durations: duration.as_slice(),
    };
    Ok((
        text_ref(r, 0)?.unwrap_or("?"),
        text_ref(r, 1)?,
        r.get(2)?,
        r.get(3)?,
        calls,
    ))
}

pub fn run(conn: &Connection, q: &ToolsQuery) -> rusqlite::Result<ToolsReport> {
    // (whether the sums are whole, the threads and the sums: one snapshot)
    let _snapshot = match conn.is_autocommit() {
        true => Some(conn.unchecked_transaction()?),
        false => None,
    };
    let paths: HashMap<i64, String> = conn
        .prepare("SELECT id, path FROM projects")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut strings = Interner::default();
    // (each call's session and project are its thread's, matched once per
    // thread)
    let threads = ThreadKeys::load(
        conn,
        q.session.as_deref(),
        q.project.as_deref(),
        q.by_project,
        &mut strings,
    )?;
    let only = threads.few_kept(conn)?;
    // (project id, tool or server id) -> figures
    type Key = (Option<i64>, u32);
    let mut tools: HashMap<Key, Acc> = HashMap::new();
    let mut servers: HashMap<Key, Acc> = HashMap::new();
    let mut total = Acc::default();
    let mut tally = |thread: Option<i64>, name: &str, server: Option<&str>, mut c: Calls<'_>| {
        let thread = threads.of(thread);
        if !thread.kept {
            return;
        }
        c.session = thread.session;
        let project = if q.by_project {
            thread.project_id
        } else {
            None
        };
        let name = strings.id(name);
        let server = server.map(|s| strings.id(s));
        let acc = tools.entry((project, name)).or_default();
        if acc.mcp_server.is_none()
            && let Some(s) = server
        {
            acc.mcp_server = Some(strings.names[s as usize].clone());
        }
        acc.add(&c);
        if let Some(server) = server {
            let acc = servers.entry((project, server)).or_default();
            if acc.mcp_server.is_none() {
                acc.mcp_server = Some(strings.names[server as usize].clone());
            }
            acc.add(&c);
        }
        total.add(&c);
    };
    if q.range.from_ms.is_none()
        && q.range.to_ms.is_none()
        && super::summed(conn, "tool_figures_dirty")?
    {
        let mut st = conn.prepare(&format!(
            "SELECT f.name, f.mcp_server, f.thread, f.calls, f.errors, f.no_result, f.durations
             FROM tool_figures f WHERE 1{}",
            ThreadKeys::kept_clause(&only, "f.thread")
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(&only))?;
        let mut durations = Vec::new();
        while let Some(r) = rows.next()? {
            let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
            durations.clear();
            super::unpack_durations(r.get_ref(6)?.as_blob()?, &mut durations);
            let calls = Calls {
                session: None,
                calls: n(3)?,
                errors: n(4)?,
                no_result: n(5)?,
                durations: &durations,
            };
            let thread: i64 = r.get(2)?;
            let name = text_ref(r, 0)?.unwrap_or("?");
            tally(
                (thread != 0).then_some(thread),
                name,
                text_ref(r, 1)?,
                calls,
            );
        }
    } else {
        let mut st = conn.prepare(&format!(
            "{CALL_COLUMNS}{}",
            ThreadKeys::kept_clause(&only, "c.thread")
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(&only))?;
        while let Some(r) = rows.next()? {
            let mut duration = None;
            let (name, server, thread, started_at, calls) = call_of(r, &mut duration)?;
            if q.range.contains(started_at) {
                tally(thread, name, server, calls);
            }
        }
    }
    let name = |(project, id): Key| {
        (
            project.and_then(|p| paths.get(&p).cloned()),
            strings.names[id as usize].clone(),
        )
    };
    let tools: BTreeMap<(Option<String>, String), Acc> =
        tools.into_iter().map(|(k, a)| (name(k), a)).collect();
    let servers: BTreeMap<(Option<String>, String), Acc> =
        servers.into_iter().map(|(k, a)| (name(k), a)).collect();
    type Key2 = (Option<String>, String);
    let finish = |m: BTreeMap<Key2, Acc>| {
        let mut rows: Vec<ToolRow> = m
            .into_iter()
            .map(|((project, tool), acc)| acc.row(project, tool))
            .collect();
        rows.sort_by(|a, b| {
            a.project
                .cmp(&b.project)
                .then(b.calls.cmp(&a.calls))
                .then(a.tool.cmp(&b.tool))
        });
        rows
    };
    Ok(ToolsReport {
        rows: finish(tools),
        mcp_servers: finish(servers),
        total: total.row(None, "Total".into()),
    })
}

/// Above this many noted threads, `refresh` sums every call in one scan
/// instead of one thread at a time.
const FULL_ABOVE: usize = 300;

/// Sum again the calls of the threads noted in `tool_figures_dirty` (all
/// of them when -1 or many are noted), in one write transaction, and clear
/// the notes. Returns how many threads were noted.
pub fn refresh(conn: &Connection) -> rusqlite::Result<usize> {
    super::resum_noted(conn, "tool_figures_dirty", |noted| {
        // (thread, name) -> (server, calls, errors, no result, durations)
        type Sums = BTreeMap<(i64, String), (Option<String>, Acc)>;
        let mut sums: Sums = BTreeMap::new();
        let mut add = |sql: &str, thread: Option<i64>| -> rusqlite::Result<()> {
            let mut st = conn.prepare_cached(sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(thread))?;
            while let Some(r) = rows.next()? {
                let mut duration = None;
                let (name, server, thread, _, calls) = call_of(r, &mut duration)?;
                let (first, acc) = sums
                    .entry((thread.unwrap_or(0), name.to_owned()))
                    .or_default();
                if first.is_none() {
                    *first = server.map(str::to_owned);
                }
                acc.add(&calls);
            }
            Ok(())
        };
        if noted.len() > FULL_ABOVE || noted.contains(&-1) {
            conn.execute("DELETE FROM tool_figures", [])?;
            add(CALL_COLUMNS, None)?;
        } else {
            for &t in noted {
                conn.execute("DELETE FROM tool_figures WHERE thread = ?1", [t])?;
                match t {
                    0 => add(&format!("{CALL_COLUMNS} AND c.thread IS NULL"), None)?,
                    t => add(&format!("{CALL_COLUMNS} AND c.thread = ?1"), Some(t))?,
                }
            }
        }
        let mut insert = conn.prepare_cached(
            "INSERT INTO tool_figures(thread, name, mcp_server, calls, errors, no_result, durations)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut packed = Vec::new();
        for ((thread, name), (server, acc)) in &sums {
            packed.clear();
            super::pack_durations(&acc.durations, &mut packed);
            insert.execute(rusqlite::params![
                thread,
                name,
                server,
                acc.calls as i64,
                acc.errors as i64,
                acc.no_result as i64,
                packed
            ])?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread another writer notes while `refresh` waits for the write
    /// lock (two ingests that do not share a lock: one database reached
    /// through two paths) is summed, not cleared unsummed (review-s34 3:
    /// the notes were read before the lock was taken).
    #[test]
    fn a_note_made_while_refresh_waits_for_the_lock_is_summed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let store = crate::store::Store::open(&path).unwrap();
        let c1 = &store.conn;
        let call = |c: &Connection, id: &str, name: &str, thread: i64| {
            c.execute(
                "INSERT INTO tool_call_rows(tool_use_id, name, thread, use_line_id, started_at)
                 VALUES (?1, ?2, ?3, ?3, 1000)",
                rusqlite::params![id, name, thread],
            )
            .unwrap();
        };
        c1.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO threads(id, session_id) VALUES (1, 'a'), (2, 'b');",
        )
        .unwrap();
        call(c1, "t1", "Bash", 1);
        refresh(c1).unwrap();
        assert!(crate::report::summed(c1, "tool_figures_dirty").unwrap());
        call(c1, "t2", "Bash", 1);
        // the other writer holds the write lock, notes thread 2 and commits
        // while refresh waits
        let c2 = Connection::open(&path).unwrap();
        c2.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")
            .unwrap();
        call(&c2, "t3", "Read", 2);
        let other = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            c2.execute_batch("COMMIT").unwrap();
        });
        refresh(c1).unwrap();
        other.join().unwrap();
        let sums = run(c1, &ToolsQuery::default()).unwrap();
        assert!(crate::report::summed(c1, "tool_figures_dirty").unwrap());
        assert_eq!(sums.total.calls, 3, "{:?}", sums.rows);
    }
}
