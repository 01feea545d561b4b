use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{at_json, clip, clip_middle, duration, one_line};
use crate::cli::HooksArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::hooks::{self, HookRow, HooksQuery};

pub fn run(args: &HooksArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let (store, report) = super::moneyless_report(settings, args.no_ingest, |conn| {
        let session = super::resolve_session_arg(conn, args.session.as_deref())?;
        let q = HooksQuery {
            range: range.clone(),
            project: args.filter.project.clone(),
            session,
        };
        hooks::run(conn, &q).context("reading hook runs")
    })?;
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let mut total = row_json(&report.total);
        if let Value::Object(m) = &mut total {
            m.remove("event");
            m.remove("command");
        }
        let top = json!({
            "total": total,
            "percentiles": "nearest-rank",
            "tz": zone.name(),
            "since": since,
            "until": until,
        });
        output::print_json_rows(top, "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report.rows));
    } else {
        let width = output::terminal_width(settings.stdout_tty);
        out!("{}", human(&report.rows, &report.total, width));
    }
    Ok(ExitCode::SUCCESS)
}

fn row_json(r: &HookRow) -> Value {
    json!({
        "event": r.event,
        "command": r.command,
        "runs": r.runs,
        "successes": r.successes,
        "non_blocking_errors": r.non_blocking_errors,
        "blocking_errors": r.blocking_errors,
        "prevented_continuations": r.prevented_continuations,
        "no_result": r.no_result,
        "p50_ms": r.p50_ms,
        "p95_ms": r.p95_ms,
        "last_failure_at": at_json(r.last_failure_at),
        "last_failure": r.last_failure,
    })
}

/// The hooks table; in a terminal `width` wide, the text cut and the
/// columns least needed left out as far as it takes.
fn human(rows: &[HookRow], total: &HookRow, width: Option<usize>) -> String {
    use crate::output::thousands as n;
    let columns = [
        table::text("Event"),
        table::text("Command"),
        table::num("Runs"),
        table::num("OK"),
        table::num("Errors"),
        table::num("Blocking"),
        table::num("Prevented"),
        table::num("No result"),
        table::num("p50"),
        table::num("p95"),
        table::text("Last failure"),
    ];
    let cells = |r: &HookRow, event: String, command: String| {
        vec![
            event,
            command,
            n(r.runs),
            n(r.successes),
            n(r.non_blocking_errors),
            n(r.blocking_errors),
            n(r.prevented_continuations),
            n(r.no_result),
            duration(r.p50_ms),
            duration(r.p95_ms),
            match width {
                Some(_) => clip(r.last_failure.as_deref().unwrap_or(""), 40),
                None => one_line(r.last_failure.as_deref().unwrap_or("")),
            },
        ]
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cells(
                r,
                r.event.clone().unwrap_or_else(|| "-".into()),
                match &r.command {
                    // (in a pipe whole: two commands may differ anywhere)
                    Some(c) if width.is_none() => one_line(c),
                    Some(c) => clip_middle(c, 50),
                    None if r.runs == 0 => "(stop hooks, not named)".into(),
                    None => "-".into(),
                },
            )
        })
        .collect();
    let mut t = cells(total, "Total".into(), String::new());
    t[10] = String::new();
    // cut: the last failure (to 12), the command (to 16); left out: no
    // result, prevented, p95, OK, p50, last failure, then the non-blocking
    // errors and last the blocking ones (a hook that failed shows as long
    // as a count of its failures fits: at 80 columns both do)
    let mut out = table::fit(
        &columns,
        &body,
        &[t],
        width,
        &[(10, 12), (1, 16)],
        &[7, 6, 9, 3, 8, 10, 4, 5],
    );
    out.push('\n');
    out.push_str(&crate::output::wrap(
        "Errors: non-blocking. p50/p95: nearest-rank percentiles of the runs' durations.",
        width,
    ));
    out.push('\n');
    out
}

fn csv(rows: &[HookRow]) -> String {
    let header = [
        "event",
        "command",
        "runs",
        "successes",
        "non_blocking_errors",
        "blocking_errors",
        "prevented_continuations",
        "no_result",
        "p50_ms",
        "p95_ms",
        "last_failure_at",
        "last_failure",
    ];
    let o = |x: Option<i64>| x.map(|d| d.to_string()).unwrap_or_default();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.event.clone().unwrap_or_default(),
                r.command.clone().unwrap_or_default(),
                r.runs.to_string(),
                r.successes.to_string(),
                r.non_blocking_errors.to_string(),
                r.blocking_errors.to_string(),
                r.prevented_continuations.to_string(),
                r.no_result.to_string(),
                o(r.p50_ms),
                o(r.p95_ms),
                r.last_failure_at
                    .map(crate::report::rfc3339)
                    .unwrap_or_default(),
                r.last_failure.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table::csv(&header, &body)
}
