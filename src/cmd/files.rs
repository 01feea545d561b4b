use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::when;
use crate::cli::FilesArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::files::{self, FileRow, FilesQuery, FilesReport};
use crate::report::{Zone, rfc3339};

pub fn run(args: &FilesArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let (store, report) = super::moneyless_report(settings, args.no_ingest, |conn| {
        let session = super::resolve_session_arg(conn, args.session.as_deref())?;
        let q = FilesQuery {
            range: range.clone(),
            project: args.filter.project.clone(),
            session,
            limit: args.limit,
        };
        files::run(conn, &q).context("reading file tool calls")
    })?;
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let mut total = row_json(&report.total);
        if let Value::Object(m) = &mut total {
            m.remove("path");
            m.remove("last_touched_at");
            m.insert("paths".into(), json!(report.paths));
        }
        let top = json!({
            "total": total,
            "limit": args.limit,
            "tz": zone.name(),
            "since": since,
            "until": until,
        });
        output::print_json_rows(top, "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report));
    } else {
        let width = output::terminal_width(settings.stdout_tty);
        out!("{}", human(&report, &zone, width));
    }
    Ok(ExitCode::SUCCESS)
}

fn row_json(r: &FileRow) -> Value {
    let mut m = Map::new();
    m.insert("path".into(), json!(r.path));
    m.insert("reads".into(), json!(r.reads));
    m.insert("edits".into(), json!(r.edits));
    m.insert("writes".into(), json!(r.writes));
    m.insert("errors".into(), json!(r.errors));
    m.insert("sessions".into(), json!(r.sessions));
    m.insert(
        "last_touched_at".into(),
        json!(r.last_touched_at.map(rfc3339)),
    );
    Value::Object(m)
}

/// The end of a long path (its file name matters most): `…/src/main.rs`.
fn clip_left(s: &str, n: usize) -> String {
    if crate::output::fits(s, n) {
        return s.to_owned();
    }
    format!("…{}", crate::output::tail_columns(s, n.saturating_sub(1)))
}

/// The files table; in a terminal `width` wide, paths cut (keeping their
/// end) and the columns least needed left out as far as it takes.
fn human(report: &FilesReport, zone: &Zone, width: Option<usize>) -> String {
    use crate::output::thousands as n;
    let columns = [
        table::path("Path"),
        table::num("Reads"),
        table::num("Edits"),
        table::num("Writes"),
        table::num("Errors"),
        table::num("Sessions"),
        table::text("Last touched"),
    ];
    let cells = |r: &FileRow, path: String, last: String| {
        vec![
            path,
            n(r.reads),
            n(r.edits),
            n(r.writes),
            n(r.errors),
            n(r.sessions),
            last,
        ]
    };
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| cells(r, clip_left(&r.path, 60), when(zone, r.last_touched_at)))
        .collect();
    let files = super::count(report.paths, "file", "files");
    let label = if report.rows.len() as u64 == report.paths {
        format!("Total ({files})")
    } else {
        format!("Total ({files}, {} shown)", n(report.rows.len() as u64))
    };
    let total = cells(
        &report.total,
        label,
        when(zone, report.total.last_touched_at),
    );
    // cut: the path (to 20); left out: sessions, last touched, errors
    let mut out = table::fit(&columns, &rows, &[total], width, &[(0, 20)], &[5, 6, 4]);
    out.push('\n');
    out
}

fn csv(report: &FilesReport) -> String {
    let header = [
        "path",
        "reads",
        "edits",
        "writes",
        "errors",
        "sessions",
        "last_touched_at",
    ];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.path.clone(),
                r.reads.to_string(),
                r.edits.to_string(),
                r.writes.to_string(),
                r.errors.to_string(),
                r.sessions.to_string(),
                r.last_touched_at.map(rfc3339).unwrap_or_default(),
            ]
        })
        .collect();
    table::csv(&header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_keep_their_end() {
        assert_eq!(clip_left("/a/b.rs", 10), "/a/b.rs");
        assert_eq!(clip_left("/home/u/app/src/main.rs", 12), "…src/main.rs");
        // columns, not chars: wide names are cut by what they take on screen
        assert_eq!(clip_left("/home/u/文書/報告書.md", 10), "…報告書.md");
        assert_eq!(clip_left("/a/🇯🇵🇯🇵.txt", 8), "…🇯🇵.txt");
    }
}
