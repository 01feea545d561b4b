//! `observatory forget`: delete sessions for good (rows, lines, raw bytes),
//! keep a tombstone per file so ingest does not read them again, and scrub
//! the deleted bytes out of the database files.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{at_json, count, money, usd_json, when};
use crate::cli::ForgetArgs;
use crate::config::Settings;
use crate::data::forget::{self, Criteria, Plan};
use crate::ingest::IngestLock;
use crate::output::progress::IngestProgress;
use crate::output::{self, human_bytes, thousands};
use crate::pricing::PriceTable;
use crate::report::{self, Zone};
use crate::store::{Store, StoreError};

/// Exit code when forget would need a confirmation it cannot ask for.
const EXIT_USAGE: u8 = 2;

/// Sessions listed by name before "... and N more".
const LISTED: usize = 20;

/// A criterion given at most once: forget deletes, and a second `--project`
/// taken as the last one (as other flags are) would forget other sessions
/// than the user meant, who may mean both.
fn once<'a>(values: &'a [String], flag: &str) -> Result<Option<&'a String>> {
    match values {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, second, ..] => Err(super::usage(format!(
            "{flag} given more than once ({first:?}, {second:?}): forget takes one; run it once for each"
        ))),
    }
}

pub fn run(args: &ForgetArgs, settings: &Settings) -> Result<ExitCode> {
    let project = once(&args.projects, "--project")?;
    let session = once(&args.sessions, "--session")?;
    let before = once(&args.befores, "--before")?;
    let zone = super::zone(args.tz.as_deref(), settings)?;
    let before_ms = match before {
        Some(day) => {
            let d = report::parse_day(day, zone.date(report::now_ms())).map_err(super::usage)?;
            Some(zone.start_of(d))
        }
        None => None,
    };
    // (the stored costs' table: forget writes, and a --pricing flag prices
    // only a report)
    let prices = super::stored_price_table(settings)?;
    if !settings.db.exists() {
        return Err(StoreError::Missing {
            path: settings.db.clone(),
        }
        .into());
    }
    // New lines first: left unread, they would come back as "appended
    // after the forget" at the next ingest.
    let mut store = super::fresh_store(settings, &prices, args.no_ingest)?;
    // No ingest or watch writes while we decide and delete. (A dry run on
    // a database nobody can write here has no writer to wait for, and
    // often no room for the lock file.)
    let _lock = if args.dry_run && store.is_read_only() {
        None
    } else {
        Some(IngestLock::acquire(&store.path)?)
    };
    if store.meta_get("rebuild_pending")?.is_some() && !store.is_read_only() {
        // an interrupted rebuild: finish it, or we would decide on half the rows
        rebuild(&mut store, &prices, settings)?;
    }
    if !args.dry_run && store.meta_get(crate::store::COMPACT_PENDING)?.is_some() {
        // an earlier forget deleted, then stopped (killed, or the disk
        // full) before rewriting the file: do it now
        if !settings.quiet {
            crate::errln!(
                "compacting {}: an earlier forget stopped before it...",
                settings.db.display()
            );
        }
        compact(&store, settings)?;
    }
    let session = super::resolve_session_arg(&store.conn, session.map(String::as_str))?;
    let criteria = Criteria {
        project: project.cloned(),
        session,
        before_ms,
        replaced: args.replaced,
    };
    let plan = forget::plan(&store.conn, &criteria)
        .with_context(|| format!("working out what to forget in {}", settings.db.display()))?;

    if plan.is_empty() {
        if settings.json {
            output::print_json(&plan_json(&plan, args.dry_run, None))?;
        } else if !settings.quiet && plan.replaced_only() {
            crate::errln!(
                "Nothing to forget: no replaced generation of a matching file is stored."
            );
        } else if !settings.quiet {
            crate::errln!("Nothing to forget: no stored session matches.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // (every file of the picked sessions stays, kept for sessions that
    // stay: a deletion would change nothing they could see)
    if plan.files.is_empty() && !plan.kept_for_others.is_empty() {
        if settings.json {
            output::print_json(&plan_json(&plan, args.dry_run, None))?;
        } else if !settings.quiet {
            let mut note = Vec::new();
            kept_note(&plan, &mut note)?;
            crate::err!(
                "Nothing to forget: every file of {} stays.\n{}",
                if plan.sessions.len() == 1 {
                    "this session"
                } else {
                    "these sessions"
                },
                String::from_utf8_lossy(&note)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        if settings.json {
            output::print_json(&plan_json(&plan, true, None))?;
        } else {
            output::emit(&describe(&plan, &zone))?;
            output::emit("Nothing was deleted (--dry-run).\n")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !settings.stdin_tty {
            crate::err!("{}", describe(&plan, &zone));
            crate::errln!(
                "error: forget deletes these for good and there is no terminal to confirm on: pass --yes to go ahead (or --dry-run to only look); nothing was deleted"
            );
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        if !confirm(&plan, &zone)? {
            crate::errln!("Nothing was deleted.");
            return Ok(ExitCode::FAILURE);
        }
    }

    let size_before = db_size(&settings.db);
    let counted_before = counted(&store.conn)?;
    let deleted = forget::delete(&store.conn, &plan)
        .with_context(|| format!("deleting from {}", settings.db.display()))?;
    // The WAL still holds pages of the deleted rows: empty it now, not
    // only after the rebuild.
    crate::store::checkpoint(&store.conn).context("checkpointing the WAL")?;
    rebuild(&mut store, &prices, settings)?;
    // (what left the totals: a response Claude Code copied into a file
    // that stays still counts; never below nothing)
    let counted_after = counted(&store.conn)?;
    let removed = (
        (counted_before.0 - counted_after.0).max(0) as u64,
        (counted_before.1 - counted_after.1).max(0),
    );
    let scrubbed = compact(&store, settings)?;
    let size_after = db_size(&settings.db);
    let rows_deleted: u64 = deleted.rows.values().sum();
    if settings.json {
        let done = json!({
            "db_bytes_before": size_before,
            "db_bytes_after": size_after,
            "wal_truncated": scrubbed.wal_truncated,
            "rows_deleted": deleted.rows,
            "projects_deleted": deleted.projects,
            "dictionaries_deleted": deleted.dictionaries.deleted,
            "dictionary_made": deleted.dictionaries.made.is_some(),
            "raw_chunks_recompressed": deleted.dictionaries.repacked,
            "raw_chunks_damaged": deleted.dictionaries.damaged,
            "responses_removed": removed.0,
            "cost_usd_removed": usd_json(Some(removed.1)),
        });
        output::print_json(&plan_json(&plan, false, Some(done)))?;
    } else if !settings.quiet && plan.replaced_only() {
        output::emit(&format!(
            "Forgot {} of {}: {}, {} ({}) out of the totals; {} deleted.\n",
            count(
                plan.files.len() as u64,
                "replaced generation",
                "replaced generations"
            ),
            count(plan.paths(), "file", "files"),
            count(plan.lines, "line", "lines"),
            count(removed.0, "response", "responses"),
            sum_money(removed.1, removed.0, plan.unpriced_all()),
            count(rows_deleted, "row", "rows"),
        ))?;
        output::emit(&rewritten(&settings.db, size_before, size_after))?;
    } else if !settings.quiet {
        output::emit(&format!(
            "Forgot {} ({}): {}, {}, {} ({}); {} deleted.\n",
            count(plan.sessions.len() as u64, "session", "sessions"),
            count(plan.subagents(), "subagent", "subagents"),
            count(plan.paths(), "file", "files"),
            count(plan.lines, "line", "lines"),
            count(removed.0, "response", "responses"),
            sum_money(removed.1, removed.0, plan.unpriced_all()),
            count(rows_deleted, "row", "rows"),
        ))?;
        let stayed = (
            plan.responses.saturating_sub(removed.0),
            (plan.cost_picousd - removed.1).max(0),
        );
        if stayed.0 > 0 {
            output::emit(&format!(
                "{} of theirs ({}) still {} in the totals: files that stay hold {}{}.\n",
                count(stayed.0, "response", "responses"),
                sum_money(stayed.1, stayed.0, plan.unpriced_all()),
                if stayed.0 == 1 { "counts" } else { "count" },
                if stayed.0 == 1 { "it" } else { "them" },
                if plan.shared_files.is_empty() && plan.kept_for_others.is_empty() {
                    ""
                } else {
                    " (below)"
                },
            ))?;
        }
        let dicts = deleted.dictionaries;
        if dicts.deleted > 0 {
            output::emit(&format!(
                "The raw-line dictionary held lines of them: {} of other files re-compressed {}.\n",
                count(dicts.repacked, "chunk", "chunks"),
                match dicts.made {
                    Some(_) => "with a new one, sampled from the lines kept",
                    None => "without one (too few lines kept to sample a new one)",
                }
            ))?;
        }
        output::emit(&rewritten(&settings.db, size_before, size_after))?;
        kept_note(&plan, &mut std::io::stdout().lock())?;
        shared_note(&plan, &mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The line saying the database was rewritten.
fn rewritten(db: &std::path::Path, before: u64, after: u64) -> String {
    format!(
        "Database {}: {} -> {}, rewritten so the deleted bytes are gone from it.\n",
        db.display(),
        human_bytes(before),
        human_bytes(after)
    )
}

/// The responses counted in the totals, and their cost in picoUSD.
fn counted(conn: &rusqlite::Connection) -> Result<(i64, i128)> {
    let sql = format!(
        "SELECT count(*), {} FROM responses",
        report::picousd_sum_sql("cost_picousd")
    );
    Ok(conn.query_row(&sql, [], |r| {
        Ok((
            r.get(0)?,
            report::total_sum(r.get(1)?, r.get(2)?, r.get(3)?),
        ))
    })?)
}

/// Re-derive every table from the raw lines (as `ingest --full`).
fn rebuild(store: &mut Store, prices: &PriceTable, settings: &Settings) -> Result<()> {
    let mut progress = IngestProgress::new(settings.progress, settings.quiet, true);
    let rebuilt = crate::ingest::rebuild(store, prices, &mut progress);
    progress.finish();
    rebuilt.with_context(|| {
        format!(
            "re-deriving the tables of {} from the raw lines (the deletion, if any, is done; `observatory ingest` re-derives them, and the next `observatory forget`, even of nothing, rewrites the file)",
            settings.db.display()
        )
    })?;
    Ok(())
}

/// The cost of `responses` responses for people: `unpriced` when every one
/// of them is (not `$0.00`, which reads as free).
fn sum_money(picousd: i128, responses: u64, all_unpriced: bool) -> String {
    if responses > 0 && all_unpriced {
        "unpriced".to_owned()
    } else {
        money(Some(picousd))
    }
}

/// Ask on the terminal; true to go ahead.
fn confirm(plan: &Plan, zone: &Zone) -> Result<bool> {
    let mut err = std::io::stderr().lock();
    write!(err, "{}", describe(plan, zone))?;
    write!(
        err,
        "Forget {} for good? This cannot be undone. [y/N] ",
        if plan.replaced_only() {
            count(
                plan.files.len() as u64,
                "replaced generation",
                "replaced generations",
            )
        } else {
            count(plan.sessions.len() as u64, "session", "sessions")
        }
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    let a = answer.trim().to_ascii_lowercase();
    Ok(a == "y" || a == "yes")
}

/// What will go, for people.
fn describe(plan: &Plan, zone: &Zone) -> String {
    let mut s = String::new();
    if plan.replaced_only() {
        s.push_str(&format!(
            "{} of {} ({} of raw lines, {}): earlier versions of transcripts rewritten or edited in place; the sessions stay, as their files are now:\n",
            count(plan.files.len() as u64, "replaced generation", "replaced generations"),
            count(plan.paths(), "transcript file", "transcript files"),
            human_bytes(plan.raw_bytes),
            count(plan.lines, "line", "lines"),
        ));
        let paths = plan.distinct_paths();
        for p in paths.iter().take(LISTED) {
            s.push_str(&format!("  {}\n", super::shown_path(p)));
        }
        if paths.len() > LISTED {
            s.push_str(&format!("  ... and {} more\n", paths.len() - LISTED));
        }
        s.push_str("A response in them that the files as they are now do not also hold leaves the totals (how many is said when done).\n");
        return s;
    }
    let first = plan.sessions.iter().filter_map(|x| x.first_at).min();
    let last = plan.sessions.iter().filter_map(|x| x.last_at).max();
    let span = match (first, last) {
        (Some(f), Some(l)) => format!(", {} to {}", when(zone, Some(f)), when(zone, Some(l))),
        _ => String::new(),
    };
    s.push_str(&format!(
        "{} ({}){span}:\n",
        count(plan.sessions.len() as u64, "session", "sessions"),
        count(plan.subagents(), "subagent", "subagents")
    ));
    for x in plan.sessions.iter().take(LISTED) {
        s.push_str(&format!(
            "  {}  {}  {}  {}  {}\n",
            x.session_id,
            x.project.as_deref().unwrap_or("-"),
            when(zone, x.last_at),
            count(x.responses, "response", "responses"),
            sum_money(
                x.cost_picousd,
                x.responses,
                x.unpriced_responses >= x.responses
            )
        ));
    }
    if plan.sessions.len() > LISTED {
        s.push_str(&format!(
            "  ... and {} more\n",
            plan.sessions.len() - LISTED
        ));
    }
    let unpriced = if plan.unpriced_all() {
        String::new()
    } else if plan.unpriced_responses > 0 {
        format!(", {} of them unpriced", thousands(plan.unpriced_responses))
    } else {
        String::new()
    };
    let generations = if plan.files.len() as u64 > plan.paths() {
        format!(
            ", {} as they were rewritten",
            count(plan.files.len() as u64, "generation", "generations")
        )
    } else {
        String::new()
    };
    s.push_str(&format!(
        "{} ({} of raw lines{generations}, {}), {} ({}{unpriced}).\n",
        count(plan.paths(), "transcript file", "transcript files"),
        human_bytes(plan.raw_bytes),
        count(plan.lines, "line", "lines"),
        count(plan.responses, "API response", "API responses"),
        sum_money(plan.cost_picousd, plan.responses, plan.unpriced_all()),
    ));
    // (the files that go though their names are not the sessions': copies
    // of their lines, a subagent's; said, so that none goes unseen)
    let ids: std::collections::BTreeSet<&str> = plan
        .sessions
        .iter()
        .map(|x| x.session_id.as_str())
        .collect();
    let mut others: Vec<&str> = plan
        .files
        .iter()
        .filter(|f| {
            crate::data::path_session(&f.file.path, f.file.project_dir.as_deref())
                .is_none_or(|s| !ids.contains(s.as_str()))
        })
        .map(|f| f.file.path.as_str())
        .collect();
    others.sort_unstable();
    others.dedup();
    if !others.is_empty() {
        s.push_str(
            "Among them, files not named after these sessions, whose lines are all theirs:\n",
        );
        for p in others.iter().take(LISTED) {
            s.push_str(&format!("  {}\n", super::shown_path(p)));
        }
        if others.len() > LISTED {
            s.push_str(&format!("  ... and {} more\n", others.len() - LISTED));
        }
    }
    let mut note = Vec::new();
    let _ = kept_note(plan, &mut note);
    let _ = shared_note(plan, &mut note);
    s.push_str(&String::from_utf8_lossy(&note));
    s
}

/// The sessions a list of (file, sessions) names, each once, sorted.
fn distinct_sessions(files: &[(String, Vec<String>)]) -> Vec<&str> {
    let mut ids: Vec<&str> = files
        .iter()
        .flat_map(|(_, ids)| ids.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Files named after the forgotten sessions that stay whole: they hold
/// the only lines of sessions that stay.
fn kept_note(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    if plan.kept_for_others.is_empty() {
        return Ok(());
    }
    let others = distinct_sessions(&plan.kept_for_others);
    let one = plan.kept_for_others.len() == 1;
    writeln!(
        out,
        "Kept whole: {} named after these sessions also {} the only lines of {} that {} ({}); deleting {} would forget {} too, so the lines of these sessions in {} still show in `sessions` and `show`. Forget {} as well to remove {}:",
        count(plan.kept_for_others.len() as u64, "file", "files"),
        if one { "holds" } else { "hold" },
        if others.len() == 1 {
            "a session"
        } else {
            "sessions"
        },
        if others.len() == 1 { "stays" } else { "stay" },
        others.join(", "),
        if one { "it" } else { "them" },
        if others.len() == 1 { "it" } else { "them" },
        if one { "it" } else { "them" },
        if others.len() == 1 {
            "that session"
        } else {
            "those sessions"
        },
        if one { "it" } else { "them" },
    )?;
    for (path, _) in plan.kept_for_others.iter().take(LISTED) {
        writeln!(out, "  {}", super::shown_path(path))?;
    }
    if plan.kept_for_others.len() > LISTED {
        writeln!(
            out,
            "  ... and {} more",
            plan.kept_for_others.len() - LISTED
        )?;
    }
    Ok(())
}

/// Files that stay but hold lines of the forgotten sessions.
fn shared_note(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    if plan.shared_files.is_empty() {
        return Ok(());
    }
    let visible = distinct_sessions(&plan.shared_files);
    writeln!(
        out,
        "Kept: {} of other sessions also {} lines of these sessions (Claude Code copies lines into resumed sessions), so {} still {} in `sessions` and `show` with those lines; forget the sessions of {} too to remove them:",
        count(plan.shared_files.len() as u64, "file", "files"),
        if plan.shared_files.len() == 1 {
            "holds"
        } else {
            "hold"
        },
        visible.join(", "),
        if visible.len() == 1 { "shows" } else { "show" },
        if plan.shared_files.len() == 1 {
            "that file"
        } else {
            "those files"
        }
    )?;
    for (path, _) in plan.shared_files.iter().take(LISTED) {
        writeln!(out, "  {}", super::shown_path(path))?;
    }
    Ok(())
}

fn plan_json(plan: &Plan, dry_run: bool, done: Option<Value>) -> Value {
    let rows: Vec<Value> = plan
        .sessions
        .iter()
        .map(|s| {
            json!({
                "session_id": s.session_id,
                "project": s.project,
                "first_at": at_json(s.first_at),
                "last_at": at_json(s.last_at),
                "subagents": s.subagents,
                "responses": s.responses,
                "cost_usd": usd_json(Some(s.cost_picousd)),
                "unpriced_responses": s.unpriced_responses,
            })
        })
        .collect();
    let files: Vec<Value> = plan
        .files
        .iter()
        .map(|f| json!({"path": f.file.path, "lines": f.lines, "raw_bytes": f.file.stored_bytes}))
        .collect();
    let files_json = |files: &[(String, Vec<String>)]| -> Vec<Value> {
        files
            .iter()
            .map(|(p, ids)| json!({"file": p, "session_ids": ids}))
            .collect()
    };
    let shared = files_json(&plan.shared_files);
    let kept_for_others = files_json(&plan.kept_for_others);
    let mut v = json!({
        "dry_run": dry_run,
        "forgotten": done.is_some(),
        "replaced_only": plan.replaced_only(),
        "sessions": plan.sessions.len(),
        "subagents": plan.subagents(),
        "files": plan.paths(),
        "lines": plan.lines,
        "raw_bytes": plan.raw_bytes,
        "responses": plan.responses,
        "cost_usd": usd_json(Some(plan.cost_picousd)),
        "unpriced_responses": plan.unpriced_responses,
        "rows": rows,
        "forgotten_files": files,
        "shared_files": shared,
        "kept_for_others": kept_for_others,
        "db_bytes_before": null,
        "db_bytes_after": null,
        "wal_truncated": null,
        "rows_deleted": {},
        "projects_deleted": 0,
        "dictionaries_deleted": 0,
        "dictionary_made": false,
        "raw_chunks_recompressed": 0,
        "responses_removed": null,
        "cost_usd_removed": null,
    });
    if let (Some(Value::Object(done)), Value::Object(m)) = (done, &mut v) {
        m.extend(done);
    }
    if plan.replaced_only() {
        // (no session goes: what leaves the totals is known once done,
        // `*_removed`)
        for k in ["responses", "cost_usd", "unpriced_responses"] {
            v[k] = Value::Null;
        }
    }
    v
}

/// The database's bytes on disk: its file and its WAL.
fn db_size(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_owned(), std::path::PathBuf::from(wal)]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Rewrite the database without the deleted rows' pages (and empty the
/// WAL), which clears the deletion's mark.
fn compact(store: &Store, settings: &Settings) -> Result<crate::store::Scrubbed> {
    let scrubbed = crate::store::scrub(&store.conn).with_context(|| {
        format!(
            "compacting {} (the deletion is done; the next `observatory forget` compacts it, even one that forgets nothing, such as `observatory forget --project NONE --yes`)",
            settings.db.display()
        )
    })?;
    if !scrubbed.wal_truncated && !settings.quiet {
        crate::errln!(
            "warning: another process kept reading {}: its -wal file could not be emptied and may still hold deleted bytes until the next checkpoint",
            settings.db.display()
        );
    }
    Ok(scrubbed)
}
