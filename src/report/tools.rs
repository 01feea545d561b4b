//! `observatory tools`: calls, errors and durations per tool (and per MCP
//! server), from `tool_calls` (one row per tool_use id, so a call copied
//! into a resumed session counts once).
//!
//! Durations are `finished_at - started_at` of calls that have both;
//! p50/p95 are nearest-rank percentiles computed here, not in SQL.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{TimeRange, percentile, project_matches};

#[derive(Debug, Clone, Default)]
pub struct ToolsQuery {
    pub range: TimeRange,
    pub project: Option<String>,
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
    /// errors / calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
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
    sessions: BTreeSet<String>,
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
        if let Some(s) = &c.session_id {
            self.sessions.insert(s.clone());
        }
    }

    fn row(mut self, project: Option<String>, tool: String) -> ToolRow {
        self.durations.sort_unstable();
        ToolRow {
            project,
            tool,
            mcp_server: self.mcp_server,
            calls: self.calls,
            errors: self.errors,
            no_result: self.no_result,
            p50_ms: percentile(&self.durations, 50),
            p95_ms: percentile(&self.durations, 95),
            sessions: self.sessions.len() as u64,
        }
    }
}

struct Call {
    name: Option<String>,
    mcp_server: Option<String>,
    session_id: Option<String>,
    project: Option<String>,
    started_at: Option<i64>,
    is_error: Option<bool>,
    duration_ms: Option<i64>,
}

pub fn run(conn: &Connection, q: &ToolsQuery) -> rusqlite::Result<ToolsReport> {
    let mut st = conn.prepare(
        "SELECT t.name, t.mcp_server, t.session_id, p.path, t.started_at, t.result_line_id IS NOT NULL,
                t.is_error, t.duration_ms
         FROM tool_calls t
         LEFT JOIN sessions s ON s.session_id = t.session_id AND s.agent_id = coalesce(t.agent_id, '')
         LEFT JOIN projects p ON p.id = s.project_id",
    )?;
    let calls = st.query_map([], |r| {
        let has_result: bool = r.get(5)?;
        let is_error: Option<i64> = r.get(6)?;
        Ok(Call {
            name: r.get(0)?,
            mcp_server: r.get(1)?,
            session_id: r.get(2)?,
            project: r.get(3)?,
            started_at: r.get(4)?,
            is_error: has_result.then_some(is_error.unwrap_or(0) != 0),
            duration_ms: r.get::<_, Option<i64>>(7)?.filter(|d| *d >= 0),
        })
    })?;
    type Key = (Option<String>, String);
    let mut tools: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut servers: BTreeMap<Key, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for c in calls {
        let c = c?;
        if !q.range.contains(c.started_at)
            || !project_matches(c.project.as_deref(), q.project.as_deref())
        {
            continue;
        }
        let project = if q.by_project {
            c.project.clone()
        } else {
            None
        };
        let name = c.name.clone().unwrap_or_else(|| "?".into());
        let acc = tools.entry((project.clone(), name)).or_default();
        acc.mcp_server = c.mcp_server.clone();
        acc.add(&c);
        if let Some(server) = &c.mcp_server {
            let acc = servers.entry((project, server.clone())).or_default();
            acc.mcp_server = Some(server.clone());
            acc.add(&c);
        }
        total.add(&c);
    }
    let finish = |m: BTreeMap<Key, Acc>| {
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
