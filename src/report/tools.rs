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
    fn add(&mut self, c: &Call) {
        self.calls += 1;
        match c.is_error {
            Some(true) => self.errors += 1,
            Some(false) => {}
            None => self.no_result += 1,
        }
        if let Some(d) = c.duration_ms {
            self.durations.push(d);
        }
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

struct Call {
    /// Interned session id.
    session: Option<u32>,
    is_error: Option<bool>,
    duration_ms: Option<i64>,
}

pub fn run(conn: &Connection, q: &ToolsQuery) -> rusqlite::Result<ToolsReport> {
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
    let mut st = conn.prepare(&format!(
        "SELECT c.name, c.mcp_server, c.thread, c.started_at,
                CASE WHEN c.result_line_id IS NOT NULL THEN coalesce(c.is_error, 0) != 0 END,
                c.duration_ms
         FROM tool_call_rows c WHERE c.use_line_id IS NOT NULL{}",
        ThreadKeys::kept_clause(&only, "c.thread")
    ))?;
    // (project id, tool or server id) -> figures
    type Key = (Option<i64>, u32);
    let mut tools: HashMap<Key, Acc> = HashMap::new();
    let mut servers: HashMap<Key, Acc> = HashMap::new();
    let mut total = Acc::default();
    let mut rows = st.query(rusqlite::params_from_iter(&only))?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| text_ref(r, i);
        let started_at: Option<i64> = r.get(3)?;
        let thread = threads.of(r.get(2)?);
        if !thread.kept || !q.range.contains(started_at) {
            continue;
        }
        let c = Call {
            session: thread.session,
            // (None: no result yet)
            is_error: r.get::<_, Option<bool>>(4)?,
            duration_ms: r.get::<_, Option<i64>>(5)?.filter(|d| *d >= 0),
        };
        let project = if q.by_project {
            thread.project_id
        } else {
            None
        };
        let name = strings.id(text(0)?.unwrap_or("?"));
        let server = text(1)?.map(|s| strings.id(s));
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
