use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::sessions::short_model;
use super::{at_json, clip, clip_middle, count, duration, money, tokens, usd_json, when};
use crate::cli::ShowArgs;
use crate::config::Settings;
use crate::output::{self, table};
use crate::report::Zone;
use crate::report::show::{self, Event, EventKind, ShowReport, Turn};
use crate::{out, outln};

pub fn run(args: &ShowArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let zone = super::zone(args.tz.as_deref(), settings)?;
    let prices = super::price_table(settings)?;
    let (mut store, report) =
        super::fresh_report(settings, &prices, args.no_ingest, true, |conn| {
            let id = super::resolve_session(conn, &args.session)?;
            let mut report =
                show::run(conn, &id).with_context(|| format!("reading session {id}"))?;
            // (every field: prompts whole, not the table's 160 characters)
            if settings.json || args.csv {
                show::with_whole_prompts(conn, &mut report);
            }
            Ok(report)
        })?;
    // (figures in hand: a --pricing what-if lets go before printing)
    store.end_what_if();
    if settings.json {
        let mut top = Map::new();
        top.insert("session_id".into(), json!(report.session_id));
        top.insert("project".into(), json!(report.project));
        top.insert("title".into(), json!(report.title));
        top.insert(
            "turns".into(),
            Value::Array(report.turns.iter().map(turn_json).collect()),
        );
        top.insert("total".into(), totals_json(&report));
        top.insert("tz".into(), json!(zone.name()));
        output::print_json_rows(
            Value::Object(top),
            "events",
            report.events.iter().map(event_json),
        )?;
    } else if args.csv {
        out!("{}", csv(&report));
    } else {
        human(&report, &zone, output::terminal_width(settings.stdout_tty))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn event_json(e: &Event) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(e.kind.key()));
    m.insert("at".into(), at_json(e.at));
    m.insert("turn".into(), json!(e.turn));
    m.insert("agent_id".into(), json!(e.agent_id));
    let mut put = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    match &e.kind {
        EventKind::Prompt { text } => {
            put("text", json!(text));
            put("command", json!(text.as_deref().and_then(command)));
        }
        EventKind::Response {
            model,
            input_tokens,
            output_tokens,
            cache_creation_tokens,
            cache_read_tokens,
            cost_picousd,
            stop_reason,
        } => {
            put("model", json!(model));
            put("input_tokens", json!(input_tokens));
            put("output_tokens", json!(output_tokens));
            put("cache_creation_tokens", json!(cache_creation_tokens));
            put("cache_read_tokens", json!(cache_read_tokens));
            put(
                "total_tokens",
                json!(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens),
            );
            put("cost_usd", usd_json(cost_picousd.map(i128::from)));
            put("stop_reason", json!(stop_reason));
        }
        EventKind::ToolCall {
            tool_use_id,
            tool,
            mcp_server,
            input_summary,
            duration_ms,
            is_error,
            subagent_id,
        } => {
            put("tool_use_id", json!(tool_use_id));
            put("tool", json!(tool));
            put("mcp_server", json!(mcp_server));
            put("input_summary", json!(input_summary));
            put("duration_ms", json!(duration_ms));
            put("is_error", json!(is_error));
            put("subagent_id", json!(subagent_id));
        }
        EventKind::Hook(h) => {
            put("event", json!(h.event.as_deref()));
            put("name", json!(h.name.as_deref()));
            put("command", json!(h.command.as_deref()));
            put("tool_use_id", json!(h.tool_use_id));
            put("outcome", json!(h.outcome.key()));
            put("raw_outcome", json!(&*h.raw_outcome));
            put("is_run", json!(h.is_run));
            put("errors", json!(h.errors));
            put("prevented_continuation", json!(h.prevented));
            put("duration_ms", json!(h.duration_ms));
            put("output", json!(h.output));
        }
        EventKind::Subagent {
            thread,
            task_tool_use_id,
            description,
            agent_type,
            tool_calls,
        } => {
            let f = &thread.figures;
            put("task_tool_use_id", json!(task_tool_use_id));
            put("description", json!(description));
            put("agent_type", json!(agent_type));
            put("title", json!(thread.title));
            put("started_at", at_json(thread.first_at));
            put("ended_at", at_json(thread.last_at));
            put("duration_ms", json!(thread.duration_ms()));
            put("responses", json!(f.responses));
            put("tool_calls", json!(f.tool_calls));
            put("tool_errors", json!(f.tool_errors));
            put("models", json!(f.models));
            put("input_tokens", json!(f.input_tokens));
            put("output_tokens", json!(f.output_tokens));
            put("cache_creation_tokens", json!(f.cache_creation_tokens));
            put("cache_read_tokens", json!(f.cache_read_tokens));
            put("total_tokens", json!(f.total_tokens()));
            put("cost_usd", usd_json(f.cost()));
            put(
                "tools",
                Value::Array(
                    tool_calls
                        .iter()
                        .map(|c| {
                            json!({
                                "tool_use_id": c.tool_use_id,
                                "tool": c.tool,
                                "input_summary": c.input_summary,
                                "started_at": at_json(c.started_at),
                                "duration_ms": c.duration_ms,
                                "is_error": c.is_error,
                            })
                        })
                        .collect(),
                ),
            );
        }
        EventKind::Compaction {
            trigger,
            pre_tokens,
        } => {
            put("trigger", json!(trigger));
            put("pre_tokens", json!(pre_tokens));
        }
        EventKind::Queue { operation, content } => {
            put("operation", json!(operation));
            put("content", json!(content));
        }
        EventKind::ApiError {
            status,
            error,
            message,
            retry_in_ms,
            retry_attempt,
            max_retries,
        } => {
            put("status", json!(status));
            put("error", json!(error));
            put("message", json!(message));
            put("retry_in_ms", json!(retry_in_ms));
            put("retry_attempt", json!(retry_attempt));
            put("max_retries", json!(max_retries));
        }
    }
    Value::Object(m)
}

fn turn_cost(t: &Turn) -> Option<i128> {
    (t.responses == 0 || t.unpriced_responses < t.responses).then_some(t.cost_picousd)
}

fn turn_json(t: &Turn) -> Value {
    json!({
        "turn": t.turn,
        "prompt": t.prompt,
        "command": t.prompt.as_deref().and_then(command),
        "started_at": at_json(t.started_at),
        "ended_at": at_json(t.ended_at),
        "duration_ms": t.duration_ms(),
        "responses": t.responses,
        "tool_calls": t.tool_calls,
        "tool_errors": t.tool_errors,
        "cost_usd": usd_json(turn_cost(t)),
        "unpriced_responses": t.unpriced_responses,
    })
}

fn totals_json(r: &ShowReport) -> Value {
    let t = &r.totals;
    let f = &t.figures;
    json!({
        "started_at": at_json(t.first_at),
        "ended_at": at_json(t.last_at),
        "duration_ms": t.first_at.zip(t.last_at).map(|(a, b)| b - a),
        "turns": t.turns,
        "user_prompts": f.prompts,
        "responses": f.responses,
        "tool_calls": f.tool_calls,
        "tool_errors": f.tool_errors,
        "subagents": t.subagents,
        "compactions": f.compactions,
        "hook_runs": t.hook_runs,
        "hook_failures": t.hook_failures,
        "queue_operations": t.queue_operations,
        "api_errors": t.api_errors,
        "models": f.models,
        "input_tokens": f.input_tokens,
        "output_tokens": f.output_tokens,
        "cache_creation_tokens": f.cache_creation_tokens,
        "cache_read_tokens": f.cache_read_tokens,
        "total_tokens": f.total_tokens(),
        "cost_usd": usd_json(f.cost()),
        "unpriced_responses": f.unpriced_responses,
    })
}

/// Text cut to `n` characters on a terminal (`clip`); whole in a pipe, a
/// file or CSV (`terminal` false).
fn cut(text: &str, n: usize, terminal: bool) -> String {
    if terminal {
        clip(text, n)
    } else {
        text.to_owned()
    }
}

/// What a hook note (no run) says, by its kind.
pub fn note(kind: &str) -> String {
    match kind {
        "additional_context" => "context added for the model".into(),
        "system_message" => "message shown to the user".into(),
        other => other.replace('_', " "),
    }
}

/// (event, detail, duration, tokens, cost) for people: on a `terminal`
/// the parts of a detail cut to a length each (the table then cuts the
/// detail in the middle to fit: a tool's input is left to it, so that a
/// path keeps its file name); else whole.
fn describe(e: &Event, terminal: bool) -> (String, String, String, String, String) {
    let none = String::new;
    let who = |s: String| match &e.agent_id {
        Some(a) => format!("[{}] {s}", cut(a, 10, terminal)),
        None => s,
    };
    match &e.kind {
        EventKind::Prompt { text } => (
            "prompt".into(),
            format!(
                "“{}”",
                cut(&as_typed(text.as_deref().unwrap_or("")), 70, terminal)
            ),
            none(),
            none(),
            none(),
        ),
        EventKind::Response {
            model,
            input_tokens,
            output_tokens,
            cache_creation_tokens,
            cache_read_tokens,
            cost_picousd,
            stop_reason,
        } => (
            "response".into(),
            match stop_reason {
                Some(s) => format!("{} ({s})", short_model(model)),
                None => short_model(model),
            },
            none(),
            tokens(input_tokens + output_tokens + cache_creation_tokens + cache_read_tokens),
            money(cost_picousd.map(i128::from)),
        ),
        EventKind::ToolCall {
            tool,
            input_summary,
            duration_ms,
            is_error,
            subagent_id,
            ..
        } => {
            let mut d = format!(
                "{} {}",
                tool.as_deref().unwrap_or("?"),
                input_summary.as_deref().unwrap_or("")
            );
            match is_error {
                Some(true) => d.push_str("  ✗ error"),
                None => d.push_str("  (no result)"),
                Some(false) => {}
            }
            if let Some(s) = subagent_id {
                d.push_str(&format!("  → subagent {s}"));
            }
            ("tool".into(), d, duration(*duration_ms), none(), none())
        }
        EventKind::Hook(h) if h.outcome == crate::report::hooks::Outcome::Note => (
            "hook".into(),
            who(format!(
                "{} {}",
                h.event.as_deref().unwrap_or("?"),
                note(&h.raw_outcome)
            )),
            none(),
            none(),
            none(),
        ),
        EventKind::Hook(h) => {
            let mut d = format!(
                "{} {} → {}",
                h.event.as_deref().unwrap_or("?"),
                {
                    let c = h.command.as_deref().or(h.name.as_deref()).unwrap_or("-");
                    if terminal {
                        clip_middle(c, 40)
                    } else {
                        c.to_owned()
                    }
                },
                if h.is_run {
                    h.outcome.key().replace('_', " ")
                } else {
                    format!("{} error(s), hook not named", h.errors)
                }
            );
            if h.prevented && h.outcome != crate::report::hooks::Outcome::Prevented {
                d.push_str(", prevented continuation");
            }
            if h.outcome.is_failure()
                && let Some(o) = &h.output
            {
                d.push_str(&format!(": {}", cut(o, 50, terminal)));
            }
            (
                "hook".into(),
                who(d),
                duration(h.duration_ms),
                none(),
                none(),
            )
        }
        EventKind::Subagent {
            thread,
            description,
            agent_type,
            tool_calls,
            task_tool_use_id,
        } => {
            let f = &thread.figures;
            // (quoted: a description or title; none is no label, not "-")
            let blank = |s: &&str| s.trim().is_empty();
            let said = (description.as_deref().filter(|s| !blank(s)))
                .or(thread.title.as_deref().filter(|s| !blank(s)));
            let said = said.map(|s| format!(" “{}”", cut(s, 40, terminal)));
            let label = match (agent_type, said) {
                (Some(t), Some(said)) => format!(" {t}{said}"),
                (Some(t), None) => format!(" {t}"),
                (None, said) => said.unwrap_or_default(),
            };
            let link = if task_tool_use_id.is_some() {
                ""
            } else {
                " (no Task call)"
            };
            (
                "subagent".into(),
                format!(
                    "{}{label}{link}: {}, {} ({})",
                    thread.agent_id,
                    count(f.responses, "response", "responses"),
                    count(tool_calls.len() as u64, "tool call", "tool calls"),
                    count(f.tool_errors, "error", "errors")
                ),
                duration(thread.duration_ms()),
                tokens(f.total_tokens()),
                money(f.cost()),
            )
        }
        EventKind::Compaction {
            trigger,
            pre_tokens,
        } => (
            "compaction".into(),
            who(format!(
                "{}{}",
                trigger.as_deref().unwrap_or("?"),
                pre_tokens
                    .map(|t| format!(", {} tokens before", tokens(t.max(0) as u64)))
                    .unwrap_or_default()
            )),
            none(),
            none(),
            none(),
        ),
        EventKind::Queue { operation, content } => (
            "queue".into(),
            match content {
                Some(c) => format!("{operation} “{}”", cut(c, 60, terminal)),
                None => operation.clone(),
            },
            none(),
            none(),
            none(),
        ),
        EventKind::ApiError {
            status,
            error,
            message,
            retry_in_ms,
            retry_attempt,
            max_retries,
        } => {
            let mut d = String::new();
            if let Some(s) = status {
                d.push_str(&format!("{s} "));
            }
            if let Some(e) = error {
                d.push_str(&format!("{e} "));
            }
            if let Some(m) = message {
                d.push_str(&cut(m, 60, terminal));
            }
            if let Some(a) = retry_attempt {
                d.push_str(&format!(
                    "  retry {a}{} in {}",
                    max_retries.map(|m| format!("/{m}")).unwrap_or_default(),
                    duration(*retry_in_ms)
                ));
            }
            (
                "api error".into(),
                who(d.trim().to_owned()),
                none(),
                none(),
                none(),
            )
        }
    }
}

/// A header line, `label` padded to 10 columns then `value`; in a
/// terminal too narrow for both (a session id at 40 columns), the value on
/// the next line, indented: an id is not cut (tour-s35 F8).
fn labelled(label: &str, value: &str, width: Option<usize>) -> String {
    let line = format!("{label:<10}{value}");
    match width {
        Some(w) if !crate::output::fits(&line, w) => format!("{label}\n  {value}"),
        _ => line,
    }
}

/// The timeline for people; in a terminal `width` wide, the details cut
/// and the columns least needed left out as far as it takes.
fn human(r: &ShowReport, zone: &Zone, width: Option<usize>) -> Result<()> {
    use crate::output::thousands as n;
    let t = &r.totals;
    let f = &t.figures;
    outln!(
        "{}",
        labelled("Session", &table::visible(&r.session_id), width)
    );
    if let Some(title) = &r.title {
        // (one line: cut to the terminal, else at 100)
        let room = width.map_or(100, |w| w.saturating_sub(11).max(20));
        outln!("Title     {}", clip(title, room));
    }
    let project = table::visible(r.project.as_deref().unwrap_or("-"));
    outln!("{}", labelled("Project", &project, width));
    let time = format!(
        "Time      {} → {} ({}, {})",
        when(zone, t.first_at),
        when(zone, t.last_at),
        duration(t.first_at.zip(t.last_at).map(|(a, b)| b - a)),
        zone.name()
    );
    outln!("{}", crate::output::wrap(&time, width));
    let day = |ms: Option<i64>| ms.map_or_else(|| "-".into(), |m| zone.format(m, "%m-%d %H:%M:%S"));
    let columns = [
        table::text("Time"),
        table::num("Turn"),
        table::text("Event"),
        table::both_ends("Detail"),
        table::num("Duration"),
        table::num("Tokens"),
        table::num("Cost"),
    ];
    let mut rows = Vec::new();
    for e in &r.events {
        let (kind, detail, dur, tok, cost) = describe(e, width.is_some());
        rows.push(vec![
            day(e.at),
            e.turn.to_string(),
            kind,
            detail,
            dur,
            tok,
            cost,
        ]);
        if let EventKind::Subagent { tool_calls, .. } = &e.kind {
            for c in tool_calls {
                let mut d = format!(
                    "  └ {} {}",
                    c.tool.as_deref().unwrap_or("?"),
                    c.input_summary.as_deref().unwrap_or("")
                );
                match c.is_error {
                    Some(true) => d.push_str("  ✗ error"),
                    None => d.push_str("  (no result)"),
                    Some(false) => {}
                }
                rows.push(vec![
                    day(c.started_at),
                    e.turn.to_string(),
                    "tool".into(),
                    d,
                    duration(c.duration_ms),
                    String::new(),
                    String::new(),
                ]);
            }
        }
    }
    // cut: the detail (to 30); left out: tokens, turn, duration, and
    // below ~48 columns the cost (the turns' table below has it)
    out!(
        "{}\n\n",
        table::fit(&columns, &rows, &[], width, &[(3, 30)], &[5, 1, 4, 6])
    );
    let columns = [
        table::num("Turn"),
        table::text("Started"),
        table::text("Prompt"),
        table::num("Duration"),
        table::num("Responses"),
        table::num("Tools"),
        table::num("Errors"),
        table::num("Cost"),
    ];
    let rows: Vec<Vec<String>> = r
        .turns
        .iter()
        .map(|t| {
            vec![
                t.turn.to_string(),
                day(t.started_at),
                match t.prompt.as_deref() {
                    Some(p) if !p.is_empty() => cut(&as_typed(p), 50, width.is_some()),
                    _ if t.turn == 0 => "(before the first prompt)".into(),
                    // (a pasted image alone, say)
                    _ => "(no text)".into(),
                },
                duration(t.duration_ms()),
                n(t.responses),
                n(t.tool_calls),
                n(t.tool_errors),
                money(turn_cost(t)),
            ]
        })
        .collect();
    // cut: the prompt (to 24); left out: errors, responses, duration, start
    out!(
        "{}\n\n",
        table::fit(&columns, &rows, &[], width, &[(2, 24)], &[6, 4, 3, 1])
    );
    let counts = [
        count(f.prompts, "prompt", "prompts"),
        count(f.responses, "response", "responses"),
        format!(
            "{} ({})",
            count(f.tool_calls, "tool call", "tool calls"),
            count(f.tool_errors, "error", "errors")
        ),
        count(t.subagents, "subagent", "subagents"),
        count(f.compactions, "compaction", "compactions"),
        format!(
            "{} ({} failed)",
            count(t.hook_runs, "hook run", "hook runs"),
            n(t.hook_failures)
        ),
        count(t.queue_operations, "queue operation", "queue operations"),
        count(t.api_errors, "API error", "API errors"),
    ];
    outln!("{}", output::wrap(&counts.join(", "), width));
    let tokens = format!(
        "{} tokens ({} in, {} out, {} cache write, {} cache read), cost {}{}",
        n(f.total_tokens()),
        n(f.input_tokens),
        n(f.output_tokens),
        n(f.cache_creation_tokens),
        n(f.cache_read_tokens),
        money(f.cost()),
        if f.unpriced_responses > 0 {
            format!(
                " ({} with no price not counted)",
                super::count(f.unpriced_responses, "response", "responses")
            )
        } else {
            String::new()
        }
    );
    outln!("{}", output::wrap(&tokens, width));
    Ok(())
}

/// `--csv`'s columns after `at`, `turn`, `agent_id`, `kind` and `detail`
/// (the table's words): every field of `--json`'s events, one column each
/// (empty where an event has none), the same for every session. `models`
/// is space-separated, as in `sessions` and `blocks`; a subagent's `tools`
/// (objects) is its JSON, `[]` when it has none.
const CSV_FIELDS: [&str; 50] = [
    "duration_ms",
    "total_tokens",
    "cost_usd",
    "text",
    "command",
    "model",
    "stop_reason",
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "tool_use_id",
    "tool",
    "mcp_server",
    "input_summary",
    "is_error",
    "subagent_id",
    "event",
    "name",
    "outcome",
    "raw_outcome",
    "is_run",
    "errors",
    "prevented_continuation",
    "output",
    "task_tool_use_id",
    "description",
    "agent_type",
    "title",
    "started_at",
    "ended_at",
    "responses",
    "tool_calls",
    "tool_errors",
    "models",
    "tools",
    "trigger",
    "pre_tokens",
    "operation",
    "content",
    "status",
    "error",
    "message",
    "retry_in_ms",
    "retry_attempt",
    "max_retries",
    // (the first four, as `--json` has them too)
    "kind",
    "at",
    "turn",
    "agent_id",
];

fn csv(r: &ShowReport) -> String {
    let fields = &CSV_FIELDS[..CSV_FIELDS.len() - 4];
    let mut header = vec!["at", "turn", "agent_id", "kind", "detail"];
    header.extend(fields);
    // (by column: an empty list of objects stays `[]`)
    let cell = |k: &str, v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(names)) if k == "models" => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    };
    let rows: Vec<Vec<String>> = r
        .events
        .iter()
        .map(|e| {
            let (_, detail, _, _, _) = describe(e, false);
            let v = event_json(e);
            let mut row = vec![
                e.at.map(crate::report::rfc3339).unwrap_or_default(),
                e.turn.to_string(),
                e.agent_id.clone().unwrap_or_default(),
                e.kind.key().to_owned(),
                detail,
            ];
            row.extend(fields.iter().map(|k| cell(k, v.get(k))));
            row
        })
        .collect();
    table::csv(&header, &rows)
}

/// A prompt for people: a slash command as typed (`/review 42`).
fn as_typed(text: &str) -> String {
    command(text).unwrap_or_else(|| text.to_owned())
}

/// A slash command's prompt as it was typed (`/review src`): the text is
/// the tags Claude Code wrote for it.
fn command(text: &str) -> Option<String> {
    crate::report::commands::as_typed(text)
}
