use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::{clip, duration, project_name};
use crate::cli::ToolsArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::tools::{self, ToolRow, ToolsQuery};

pub fn run(args: &ToolsArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let (store, report) = super::moneyless_report(settings, args.no_ingest, |conn| {
        let session = super::resolve_session_arg(conn, args.session.as_deref())?;
        let q = ToolsQuery {
            range: range.clone(),
            project: args.filter.project.clone(),
            session,
            by_project: args.by_project,
        };
        tools::run(conn, &q).context("reading tool calls")
    })?;
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let rows = |v: &[ToolRow], server: bool| -> Value {
            Value::Array(
                v.iter()
                    .map(|r| row_json(r, args.by_project, server))
                    .collect(),
            )
        };
        let mut total = row_json(&report.total, false, false);
        if let Value::Object(m) = &mut total {
            m.remove("tool");
            m.remove("mcp_server");
        }
        let top = json!({
            "rows": rows(&report.rows, false),
            "mcp_servers": rows(&report.mcp_servers, true),
            "total": total,
            "percentiles": "nearest-rank",
            "tz": zone.name(),
            "since": since,
            "until": until,
        });
        output::print_json(&top)?;
    } else if args.csv {
        out!("{}", csv(&report, args.by_project));
    } else {
        let width = output::terminal_width(settings.stdout_tty);
        out!("{}", human(&report, args.by_project, width));
    }
    Ok(ExitCode::SUCCESS)
}

/// errors / calls, to 4 decimals (a ratio, not money); None without
/// calls.
fn rate(r: &ToolRow) -> Option<f64> {
    r.error_rate().map(|x| (x * 10_000.0).round() / 10_000.0)
}

fn row_json(r: &ToolRow, by_project: bool, server: bool) -> Value {
    let mut m = Map::new();
    if by_project {
        m.insert("project".into(), json!(r.project));
    }
    if !server {
        m.insert("tool".into(), json!(r.tool));
    }
    m.insert("mcp_server".into(), json!(r.mcp_server));
    m.insert("calls".into(), json!(r.calls));
    m.insert("errors".into(), json!(r.errors));
    m.insert("error_rate".into(), json!(rate(r)));
    m.insert("no_result".into(), json!(r.no_result));
    m.insert("p50_ms".into(), json!(r.p50_ms));
    m.insert("p95_ms".into(), json!(r.p95_ms));
    m.insert("sessions".into(), json!(r.sessions));
    Value::Object(m)
}

fn percent(r: &ToolRow) -> String {
    r.error_rate()
        .map_or_else(|| "-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn cells(r: &ToolRow, by_project: bool, name: String) -> Vec<String> {
    use crate::output::thousands as n;
    let mut v = Vec::new();
    if by_project {
        v.push(project_name(r.project.as_deref()));
    }
    v.extend([
        name,
        n(r.calls),
        n(r.errors),
        percent(r),
        n(r.no_result),
        duration(r.p50_ms),
        duration(r.p95_ms),
        n(r.sessions),
    ]);
    v
}

/// The tools table; in a terminal `width` wide, names cut and the
/// columns least needed left out as far as it takes.
fn human(report: &tools::ToolsReport, by_project: bool, width: Option<usize>) -> String {
    let columns = |first: &'static str| {
        let mut c = Vec::new();
        if by_project {
            c.push(table::path("Project"));
        }
        c.extend([
            table::text(first),
            table::num("Calls"),
            table::num("Errors"),
            table::num("Error rate"),
            table::num("No result"),
            table::num("p50"),
            table::num("p95"),
            table::num("Sessions"),
        ]);
        c
    };
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| cells(r, by_project, clip(&r.tool, 48)))
        .collect();
    let mut total = cells(&report.total, by_project, "Total".into());
    if by_project {
        total.swap(0, 1);
    }
    // cut: the tool (to 16), the project (to 12); left out: sessions, no
    // result, p95, error rate
    let p = usize::from(by_project);
    let shrink = [(p, 16), (0, 12)];
    let shrink = &shrink[..1 + p];
    let drop = [p + 7, p + 4, p + 6, p + 3];
    let mut out = table::fit(&columns("Tool"), &rows, &[total], width, shrink, &drop);
    out.push('\n');
    if !report.mcp_servers.is_empty() {
        let rows: Vec<Vec<String>> = report
            .mcp_servers
            .iter()
            .map(|r| cells(r, by_project, clip(&r.tool, 48)))
            .collect();
        out.push('\n');
        out.push_str(&table::fit(
            &columns("MCP server"),
            &rows,
            &[],
            width,
            shrink,
            &drop,
        ));
        out.push('\n');
    }
    out.push_str(&crate::output::wrap(
        "p50/p95: nearest-rank percentiles of call durations (tool_use to tool_result)",
        width,
    ));
    out.push('\n');
    out
}

fn csv(report: &tools::ToolsReport, by_project: bool) -> String {
    let mut header = vec!["kind"];
    if by_project {
        header.push("project");
    }
    header.extend([
        "tool",
        "mcp_server",
        "calls",
        "errors",
        "error_rate",
        "no_result",
        "p50_ms",
        "p95_ms",
        "sessions",
    ]);
    let line = |kind: &str, r: &ToolRow, tool: &str| {
        let mut v = vec![kind.to_owned()];
        if by_project {
            v.push(r.project.clone().unwrap_or_default());
        }
        let o = |x: Option<i64>| x.map(|d| d.to_string()).unwrap_or_default();
        v.extend([
            tool.to_owned(),
            r.mcp_server.clone().unwrap_or_default(),
            r.calls.to_string(),
            r.errors.to_string(),
            rate(r).map(|x| x.to_string()).unwrap_or_default(),
            r.no_result.to_string(),
            o(r.p50_ms),
            o(r.p95_ms),
            r.sessions.to_string(),
        ]);
        v
    };
    let mut rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| line("tool", r, &r.tool))
        .collect();
    rows.extend(report.mcp_servers.iter().map(|r| line("mcp_server", r, "")));
    table::csv(&header, &rows)
}
