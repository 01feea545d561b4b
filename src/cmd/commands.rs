use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{clip, when};
use crate::cli::CommandsArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::commands::{self, CommandRow, CommandsQuery, CommandsReport};
use crate::report::{Zone, rfc3339};

pub fn run(args: &CommandsArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let (store, report) = super::moneyless_report(settings, args.no_ingest, |conn| {
        let session = super::resolve_session_arg(conn, args.session.as_deref())?;
        let q = CommandsQuery {
            range: range.clone(),
            project: args.filter.project.clone(),
            session,
        };
        commands::run(conn, &q).context("reading slash commands and skills")
    })?;
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let top = json!({
            "total": {"slash_commands": report.slash_commands, "skills": report.skills},
            "tz": zone.name(),
            "since": since,
            "until": until,
        });
        output::print_json_rows(top, "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report));
    } else {
        out!(
            "{}",
            human(&report, &zone, output::terminal_width(settings.stdout_tty))
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn row_json(r: &CommandRow) -> Value {
    json!({
        "kind": r.kind.key(),
        "name": r.name,
        "count": r.count,
        "sessions": r.sessions,
        "last_used_at": r.last_used_at.map(rfc3339),
    })
}

fn kind_title(r: &CommandRow) -> &'static str {
    match r.kind {
        commands::Kind::SlashCommand => "command",
        commands::Kind::Skill => "skill",
    }
}

/// The table; in a terminal `width` wide, the names cut and the columns
/// least needed left out as far as it takes.
fn human(report: &CommandsReport, zone: &Zone, width: Option<usize>) -> String {
    use crate::output::thousands as n;
    let columns = [
        table::text("Kind"),
        table::text("Name"),
        table::num("Count"),
        table::num("Sessions"),
        table::text("Last used"),
    ];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                kind_title(r).into(),
                clip(&r.name, 48),
                n(r.count),
                n(r.sessions),
                when(zone, r.last_used_at),
            ]
        })
        .collect();
    // (the names, as `files` counts its paths; Count sums the uses)
    let names = |kind| report.rows.iter().filter(|r| r.kind == kind).count() as u64;
    let total = vec![
        "Total".into(),
        format!(
            "{}, {}",
            super::count(names(commands::Kind::SlashCommand), "command", "commands"),
            super::count(names(commands::Kind::Skill), "skill", "skills")
        ),
        n(report.slash_commands + report.skills),
        String::new(),
        String::new(),
    ];
    // cut: the names (to 16); left out: sessions, then when last used
    let mut out = table::fit(&columns, &rows, &[total], width, &[(1, 16)], &[3, 4]);
    out.push('\n');
    out
}

fn csv(report: &CommandsReport) -> String {
    let header = ["kind", "name", "count", "sessions", "last_used_at"];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.kind.key().into(),
                r.name.clone(),
                r.count.to_string(),
                r.sessions.to_string(),
                r.last_used_at.map(rfc3339).unwrap_or_default(),
            ]
        })
        .collect();
    table::csv(&header, &rows)
}
