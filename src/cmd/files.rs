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
        .map(|r| cells(r, r.path.clone(), when(zone, r.last_touched_at)))
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

    /// A path is whole in a pipe (distinct files whose ends match are two
    /// rows, not the same row twice: tour-s35 F2, every path was cut to 60
    /// columns), and in a narrow terminal it is cut keeping its end, by
    /// the columns it takes.
    #[test]
    fn paths_are_whole_in_a_pipe_and_keep_their_end_when_cut() {
        let end = "directory/structure/for/the/component/library/src/index.ts";
        let (alice, bob) = (format!("/home/alice/a/{end}"), format!("/home/bob/b/{end}"));
        let wide = "/home/u/文書/とても長いフォルダの名前/その中のもう一つのフォルダ/報告書.md";
        let report = FilesReport {
            rows: [&alice, &bob, wide]
                .iter()
                .map(|p| FileRow {
                    path: p.to_string(),
                    reads: 1,
                    ..FileRow::default()
                })
                .collect(),
            total: FileRow::default(),
            paths: 3,
        };
        let zone = Zone::parse("UTC").unwrap();
        let piped = human(&report, &zone, None);
        for p in [&alice, &bob, wide] {
            assert!(piped.contains(p), "{piped}");
        }
        let cut = human(&report, &zone, Some(60));
        assert!(!cut.contains(&alice) && !cut.contains(wide), "{cut}");
        assert!(
            cut.contains("…") && cut.contains("src/index.ts") && cut.contains("報告書.md"),
            "{cut}"
        );
        assert!(cut.lines().all(|l| crate::output::fits(l, 60)), "{cut}");
    }
}
