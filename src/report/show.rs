//! `observatory show SESSION`: one session as a timeline.
//!
//! Events of the main thread: user prompts, API responses, tool calls. Each
//! subagent is one event (at its first line) with its own responses, tokens,
//! cost and tool calls, linked to the Task/Agent call that started it
//! (`tool_calls.subagent_id`). Hook runs, compactions, queue operations and
//! API errors of every thread of the session are events too (tagged with
//! their agent id). Events are in time order (events without a time last).
//!
//! A turn starts at a user prompt; events before the first prompt are turn
//! 0. The queue operations right before a prompt are its turn's (Claude
//! Code 2.0 enqueues and dequeues each prompt just before writing it), and
//! so is a manual compaction right before a `/compact` prompt, with its
//! PreCompact and SessionStart hooks (Claude Code writes the compaction,
//! then the command that asked for it). A
//! turn's time runs from its prompt to the end of its last event (a tool
//! call's result, a subagent's last line) but for queue operations, the
//! user's typing, which would stretch it over the idle time after it (a
//! turn of nothing else takes theirs). Its cost is its responses' and its
//! subagents'.

use foldhash::HashMap;
use rusqlite::Connection;

use super::hooks::{self, HookRun};
use super::sessions::{self, Figures, Thread};

/// What a session id or prefix names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    One(String),
    Unknown,
    /// Sorted; at most 20 listed.
    Ambiguous(Vec<String>),
}

/// An exact session id, else the one session whose id starts with `prefix`.
pub fn resolve(conn: &Connection, prefix: &str) -> rusqlite::Result<Resolved> {
    let exact: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sessions WHERE session_id = ?1)",
        [prefix],
        |r| r.get(0),
    )?;
    if exact {
        return Ok(Resolved::One(prefix.to_owned()));
    }
    let mut st = conn.prepare(
        "SELECT DISTINCT session_id FROM sessions WHERE substr(session_id, 1, length(?1)) = ?1
         ORDER BY session_id LIMIT 21",
    )?;
    let ids: Vec<String> = st
        .query_map([prefix], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(match ids.len() {
        0 => Resolved::Unknown,
        1 => Resolved::One(ids.into_iter().next().unwrap_or_default()),
        _ => Resolved::Ambiguous(ids),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubagentTool {
    pub tool_use_id: String,
    pub tool: Option<String>,
    pub input_summary: Option<String>,
    pub started_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub is_error: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Prompt {
        text: Option<String>,
    },
    Response {
        model: String,
        input_tokens: u64,
        output_tokens: u64,
        cache_creation_tokens: u64,
        cache_read_tokens: u64,
        cost_picousd: Option<i64>,
        stop_reason: Option<String>,
    },
    ToolCall {
        tool_use_id: String,
        tool: Option<String>,
        mcp_server: Option<String>,
        input_summary: Option<String>,
        duration_ms: Option<i64>,
        /// None: no result was written.
        is_error: Option<bool>,
        subagent_id: Option<String>,
    },
    Hook(HookRun),
    Subagent {
        thread: Box<Thread>,
        /// The Task/Agent call that started it, if known (from the call's
        /// result, else from the subagent's sidecar file).
        task_tool_use_id: Option<String>,
        description: Option<String>,
        /// Its type (`Explore`, `general-purpose`...), from its sidecar.
        agent_type: Option<String>,
        tool_calls: Vec<SubagentTool>,
    },
    Compaction {
        trigger: Option<String>,
        pre_tokens: Option<i64>,
    },
    Queue {
        operation: String,
        content: Option<String>,
    },
    ApiError {
        status: Option<i64>,
        error: Option<String>,
        message: Option<String>,
        retry_in_ms: Option<i64>,
        retry_attempt: Option<i64>,
        max_retries: Option<i64>,
    },
}

impl EventKind {
    pub fn key(&self) -> &'static str {
        match self {
            EventKind::Prompt { .. } => "prompt",
            EventKind::Response { .. } => "response",
            EventKind::ToolCall { .. } => "tool_call",
            EventKind::Hook(_) => "hook",
            EventKind::Subagent { .. } => "subagent",
            EventKind::Compaction { .. } => "compaction",
            EventKind::Queue { .. } => "queue",
            EventKind::ApiError { .. } => "api_error",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            EventKind::Prompt { .. } => 0,
            EventKind::Compaction { .. } => 1,
            EventKind::Response { .. } => 2,
            EventKind::ApiError { .. } => 3,
            EventKind::ToolCall { .. } => 4,
            EventKind::Subagent { .. } => 5,
            EventKind::Hook(_) => 6,
            EventKind::Queue { .. } => 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: Option<i64>,
    /// 0 before the first prompt.
    pub turn: usize,
    /// None for the main thread.
    pub agent_id: Option<String>,
    pub kind: EventKind,
    line_id: i64,
}

impl Event {
    /// When the event was over (a call's result, a subagent's last line).
    pub fn end_at(&self) -> Option<i64> {
        match &self.kind {
            EventKind::ToolCall {
                duration_ms: Some(d),
                ..
            } => self.at.map(|a| a + d.max(&0)),
            EventKind::Subagent { thread, .. } => thread.last_at.max(self.at),
            _ => self.at,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    pub turn: usize,
    pub prompt: Option<String>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub responses: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
}

impl Turn {
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.ended_at? - self.started_at?)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// The whole session, subagents included (prompts: main thread).
    pub figures: Figures,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    pub turns: u64,
    pub subagents: u64,
    pub hook_runs: u64,
    pub hook_failures: u64,
    pub queue_operations: u64,
    pub api_errors: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShowReport {
    pub session_id: String,
    pub project: Option<String>,
    pub title: Option<String>,
    pub events: Vec<Event>,
    pub turns: Vec<Turn>,
    pub totals: Totals,
}

fn main_thread(col: &str) -> String {
    format!("coalesce({col}, '') = ''")
}

pub fn run(conn: &Connection, session_id: &str) -> rusqlite::Result<ShowReport> {
    let threads = sessions::load_threads(conn, Some(session_id))?;
    let row = sessions::group(threads)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut events: Vec<Event> = Vec::new();
    let ev = |at, agent_id: Option<String>, line_id, kind| Event {
        at,
        turn: 0,
        agent_id: agent_id.filter(|a: &String| !a.is_empty()),
        kind,
        line_id,
    };

    let mut st = conn.prepare(&format!(
        "SELECT m.line_id, m.at, m.text_preview FROM messages m
         WHERE m.session_id = ?1 AND {} AND m.is_prompt = 1",
        main_thread("m.agent_id")
    ))?;
    let mut rows = st.query([session_id])?;
    while let Some(r) = rows.next()? {
        events.push(ev(
            r.get(1)?,
            None,
            r.get(0)?,
            EventKind::Prompt { text: r.get(2)? },
        ));
    }

    let mut st = conn.prepare(&format!(
        "SELECT coalesce(r.first_line_id, 0), r.at, r.model, r.input_tokens, r.output_tokens,
                r.cache_creation_5m_tokens + r.cache_creation_1h_tokens, r.cache_read_tokens,
                r.cost_picousd, r.stop_reason
         FROM responses r WHERE r.session_id = ?1 AND {}",
        main_thread("r.agent_id")
    ))?;
    let mut rows = st.query([session_id])?;
    while let Some(r) = rows.next()? {
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let kind = EventKind::Response {
            model: r.get(2)?,
            input_tokens: n(3)?,
            output_tokens: n(4)?,
            cache_creation_tokens: n(5)?,
            cache_read_tokens: n(6)?,
            cost_picousd: r.get(7)?,
            stop_reason: r.get(8)?,
        };
        events.push(ev(r.get(1)?, None, r.get(0)?, kind));
    }

    // tool calls of every thread: the main thread's are events, the
    // subagents' go into their subagent event
    let mut st = conn.prepare(
        "SELECT t.tool_use_id, coalesce(t.agent_id, ''), coalesce(t.use_line_id, 0), t.started_at,
                t.name, t.mcp_server, t.input_summary, t.duration_ms, t.result_line_id IS NOT NULL,
                t.is_error, t.subagent_id
         FROM tool_calls t WHERE t.session_id = ?1 ORDER BY t.started_at, t.use_line_id",
    )?;
    let mut rows = st.query([session_id])?;
    let mut sub_tools: Vec<(String, SubagentTool)> = Vec::new();
    let mut task_calls: Vec<(String, String, Option<String>)> = Vec::new();
    while let Some(r) = rows.next()? {
        let agent: String = r.get(1)?;
        let has_result: bool = r.get(8)?;
        let is_error = has_result.then_some(r.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0);
        let tool_use_id: String = r.get(0)?;
        let duration_ms = r.get::<_, Option<i64>>(7)?.filter(|d| *d >= 0);
        if agent.is_empty() {
            let subagent_id: Option<String> = r.get(10)?;
            if let Some(s) = &subagent_id {
                task_calls.push((s.clone(), tool_use_id.clone(), r.get(6)?));
            }
            let kind = EventKind::ToolCall {
                tool_use_id,
                tool: r.get(4)?,
                mcp_server: r.get(5)?,
                input_summary: r.get(6)?,
                duration_ms,
                is_error,
                subagent_id,
            };
            events.push(ev(r.get(3)?, None, r.get(2)?, kind));
        } else {
            sub_tools.push((
                agent,
                SubagentTool {
                    tool_use_id,
                    tool: r.get(4)?,
                    input_summary: r.get(6)?,
                    started_at: r.get(3)?,
                    duration_ms,
                    is_error,
                },
            ));
        }
    }

    // (agent id -> type, description, spawning tool_use, from the sidecars;
    // none in a database read as it is, of a schema before 26)
    type Sidecar = (Option<String>, Option<String>, Option<String>);
    let has_sidecars: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'subagent_meta')",
        [],
        |r| r.get(0),
    )?;
    let sidecars: HashMap<String, Sidecar> = if has_sidecars {
        conn.prepare(
            "SELECT agent_id, agent_type, description, tool_use_id FROM subagent_meta
             WHERE session_id = ?1 AND agent_id IS NOT NULL ORDER BY line_id",
        )?
        .query_map([session_id], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?
        .collect::<rusqlite::Result<_>>()?
    } else {
        HashMap::default()
    };
    for t in &row.subagents {
        let task = task_calls.iter().find(|(a, _, _)| *a == t.agent_id);
        let sidecar = sidecars.get(&t.agent_id);
        let kind = EventKind::Subagent {
            thread: Box::new(t.clone()),
            task_tool_use_id: task
                .map(|(_, id, _)| id.clone())
                .or_else(|| sidecar.and_then(|s| s.2.clone())),
            description: task
                .and_then(|(_, _, d)| d.clone())
                .or_else(|| sidecar.and_then(|s| s.1.clone())),
            agent_type: sidecar.and_then(|s| s.0.clone()),
            tool_calls: sub_tools
                .iter()
                .filter(|(a, _)| *a == t.agent_id)
                .map(|(_, c)| c.clone())
                .collect(),
        };
        events.push(ev(t.first_at, Some(t.agent_id.clone()), i64::MAX, kind));
    }

    for h in hooks::load_runs(conn, Some(session_id))? {
        events.push(ev(
            h.at,
            h.agent_id.as_deref().map(str::to_owned),
            h.line_id,
            EventKind::Hook(h),
        ));
    }

    let mut st = conn.prepare(
        "SELECT e.line_id, e.at, e.agent_id, e.subtype, e.compact_trigger, e.compact_pre_tokens,
                e.content_preview, e.retry_in_ms, e.retry_attempt, e.max_retries
         FROM system_events e WHERE e.session_id = ?1 AND e.subtype = 'compact_boundary'
         UNION ALL
         SELECT e.line_id, e.at, e.agent_id, e.subtype, e.compact_trigger, e.compact_pre_tokens,
                e.content_preview, e.retry_in_ms, e.retry_attempt, e.max_retries
         FROM system_events e WHERE e.session_id = ?1 AND e.subtype = 'api_error'",
    )?;
    let mut rows = st.query([session_id])?;
    while let Some(r) = rows.next()? {
        let subtype: String = r.get(3)?;
        let kind = if subtype == "compact_boundary" {
            EventKind::Compaction {
                trigger: r.get(4)?,
                pre_tokens: r.get(5)?,
            }
        } else {
            EventKind::ApiError {
                status: None,
                error: None,
                message: r.get(6)?,
                retry_in_ms: r.get(7)?,
                retry_attempt: r.get(8)?,
                max_retries: r.get(9)?,
            }
        };
        events.push(ev(r.get(1)?, r.get(2)?, r.get(0)?, kind));
    }

    let mut st = conn.prepare(
        "SELECT m.line_id, m.at, m.agent_id, m.api_error_status, m.error, m.text_preview
         FROM messages m WHERE m.session_id = ?1 AND m.is_api_error = 1",
    )?;
    let mut rows = st.query([session_id])?;
    while let Some(r) = rows.next()? {
        let kind = EventKind::ApiError {
            status: r.get(3)?,
            error: r.get(4)?,
            message: r.get(5)?,
            retry_in_ms: None,
            retry_attempt: None,
            max_retries: None,
        };
        events.push(ev(r.get(1)?, r.get(2)?, r.get(0)?, kind));
    }

    // (a queue line has no uuid to tell a copy by, as messages do: the same
    // line stored twice, from a copied file or one read again as a new
    // generation, is one operation; two at the same millisecond are two
    // lines of their file)
    let mut st = conn.prepare(
        "SELECT min(q.line_id), q.at, q.operation, q.content_preview
         FROM queue_operations q JOIN lines l ON l.id = q.line_id
         WHERE q.session_id = ?1
         GROUP BY q.at, q.operation, q.content_preview, q.content_bytes, l.line_no",
    )?;
    let mut rows = st.query([session_id])?;
    while let Some(r) = rows.next()? {
        let kind = EventKind::Queue {
            operation: r.get(2)?,
            content: r.get(3)?,
        };
        events.push(ev(r.get(1)?, None, r.get(0)?, kind));
    }

    let mut events = time_order(events);
    let turns = number_turns(&mut events);
    let mut totals = Totals {
        figures: row.figures.clone(),
        first_at: row.first_at,
        last_at: row.last_at,
        // (the prompted turns, and turn 0, what came before the first
        // prompt, when it holds work: a session of subagents alone had 0
        // turns (tour-s35 F7), but a SessionStart hook's note is no turn
        // (review-s35 M2))
        turns: turns.iter().filter(|t| t.turn > 0).count() as u64
            + u64::from(events.iter().any(|e| {
                e.turn == 0
                    && matches!(
                        e.kind,
                        EventKind::Response { .. }
                            | EventKind::ToolCall { .. }
                            | EventKind::Subagent { .. }
                    )
            })),
        subagents: row.subagents.len() as u64,
        ..Default::default()
    };
    for e in &events {
        match &e.kind {
            EventKind::Hook(h) => {
                totals.hook_runs += u64::from(h.is_run);
                totals.hook_failures += u64::from(h.outcome.is_failure());
            }
            EventKind::Queue { .. } => totals.queue_operations += 1,
            EventKind::ApiError { .. } => totals.api_errors += 1,
            _ => {}
        }
    }
    Ok(ShowReport {
        session_id: row.session_id,
        project: row.project,
        title: row.title,
        events,
        turns,
        totals,
    })
}

/// Each prompt's whole text (and its turn's), read back from its stored
/// line, where the report has the first 160 characters (`--json`,
/// `--csv`). A line that cannot be read back (damaged) keeps those.
pub fn with_whole_prompts(conn: &Connection, report: &mut ShowReport) {
    let mut reader = crate::store::raw::LineReader::default();
    let mut prompts = report.turns.iter_mut().filter(|t| t.turn > 0);
    for e in &mut report.events {
        let EventKind::Prompt { text } = &mut e.kind else {
            continue;
        };
        let turn = prompts.next();
        let whole = reader
            .line(conn, e.line_id)
            .ok()
            .flatten()
            .and_then(|line| crate::transcript::whole_text(&line));
        if let Some(whole) = whole {
            if let Some(t) = turn {
                t.prompt = Some(whole.clone());
            }
            *text = Some(whole);
        }
    }
}

/// Give each event its turn and sum the turns.
/// Events in time order. One with no time goes where its file puts it:
/// right after the events of the nearest earlier timed line of its thread
/// (Claude Code times its lines; a hand-made or damaged line may not), and
/// last only when no earlier line of its thread has a time.
fn time_order(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| e.line_id);
    // (the time each event is placed at, in line order)
    let mut last_timed: HashMap<Option<String>, i64> = HashMap::default();
    let mut placed: Vec<(Option<i64>, Event)> = events
        .into_iter()
        .map(|e| {
            let at = match e.at {
                Some(at) => {
                    match last_timed.get_mut(&e.agent_id) {
                        Some(last) => *last = at,
                        None => {
                            last_timed.insert(e.agent_id.clone(), at);
                        }
                    }
                    Some(at)
                }
                None => last_timed.get(&e.agent_id).copied(),
            };
            (at, e)
        })
        .collect();
    placed.sort_by(|(pa, a), (pb, b)| {
        (
            pa.is_none(),
            pa,
            a.at.is_none(),
            a.kind.rank(),
            a.line_id,
            a.end_at(),
        )
            .cmp(&(
                pb.is_none(),
                pb,
                b.at.is_none(),
                b.kind.rank(),
                b.line_id,
                b.end_at(),
            ))
    });
    placed.into_iter().map(|(_, e)| e).collect()
}

fn number_turns(events: &mut [Event]) -> Vec<Turn> {
    // The queue operations right before a prompt are its turn's, and a
    // manual compaction right before a `/compact` (else it would stretch
    // the turn before over the idle time until the user asked for it),
    // with its hooks: `PreCompact` before it, `SessionStart` (its source
    // `compact`) after it. Read backwards: what follows.
    #[derive(PartialEq)]
    enum Next {
        Other,
        Prompt,
        /// A `/compact` prompt (the SessionStart hooks since, pending: they
        /// are its only with a manual compaction before them).
        Compact(Vec<usize>),
        /// A manual compaction, then `/compact`.
        Compacted,
    }
    let mut next = Next::Other;
    let mut before_prompt = vec![false; events.len()];
    for (i, e) in events.iter().enumerate().rev() {
        let hook_event = match &e.kind {
            EventKind::Hook(h) => h.event.as_deref(),
            _ => None,
        };
        match (&e.kind, &mut next) {
            (EventKind::Prompt { text }, _) => {
                let command = text.as_deref().and_then(super::commands::prompt_command);
                next = match command.as_deref() {
                    Some("/compact") => Next::Compact(Vec::new()),
                    _ => Next::Prompt,
                };
            }
            (EventKind::Queue { .. }, n) => before_prompt[i] = *n != Next::Other,
            (EventKind::Hook(_), Next::Compact(pending)) if hook_event == Some("SessionStart") => {
                pending.push(i);
            }
            (EventKind::Compaction { trigger, .. }, Next::Compact(pending))
                if trigger.as_deref() == Some("manual") =>
            {
                for &p in pending.iter() {
                    before_prompt[p] = true;
                }
                before_prompt[i] = true;
                next = Next::Compacted;
            }
            (EventKind::Hook(_), Next::Compacted) if hook_event == Some("PreCompact") => {
                before_prompt[i] = true;
            }
            _ => next = Next::Other,
        }
    }
    let mut turns: Vec<Turn> = Vec::new();
    // (each turn's other queue operations' first and last times: its time
    // when no other event of it has one)
    let mut queued: Vec<(Option<i64>, Option<i64>)> = Vec::new();
    let mut prompts = 0;
    for (i, e) in events.iter_mut().enumerate() {
        if before_prompt[i] {
            e.turn = prompts + 1;
            continue;
        }
        if let EventKind::Prompt { text } = &e.kind {
            prompts += 1;
            turns.push(Turn {
                turn: prompts,
                prompt: text.clone(),
                started_at: e.at,
                ..Default::default()
            });
        } else if turns.is_empty() {
            turns.push(Turn {
                turn: 0,
                ..Default::default()
            });
        }
        let Some(t) = turns.last_mut() else { continue };
        e.turn = t.turn;
        if matches!(e.kind, EventKind::Queue { .. }) {
            queued.resize(turns.len(), (None, None));
            let q = &mut queued[turns.len() - 1];
            q.0 = q.0.or(e.at);
            q.1 = q.1.max(e.at);
            continue;
        }
        t.started_at = t.started_at.or(e.at);
        t.ended_at = t.ended_at.max(e.end_at());
        match &e.kind {
            EventKind::Response { cost_picousd, .. } => {
                t.responses += 1;
                match cost_picousd {
                    Some(c) => t.cost_picousd += i128::from(*c),
                    None => t.unpriced_responses += 1,
                }
            }
            EventKind::ToolCall { is_error, .. } => {
                t.tool_calls += 1;
                t.tool_errors += u64::from(*is_error == Some(true));
            }
            EventKind::Subagent { thread, .. } => {
                let f = &thread.figures;
                t.responses += f.responses;
                t.tool_calls += f.tool_calls;
                t.tool_errors += f.tool_errors;
                t.cost_picousd += f.cost_picousd;
                t.unpriced_responses += f.unpriced_responses;
            }
            _ => {}
        }
    }
    for (t, (first, last)) in turns.iter_mut().zip(queued) {
        if t.started_at.is_none() {
            (t.started_at, t.ended_at) = (first, last);
        }
    }
    turns
}
