use std::process::ExitCode;

use crate::outln;
use anyhow::{Context, Result};

use crate::cli::IngestArgs;
use crate::config::Settings;
use crate::ingest::{self, Options, Summary};
use crate::output::{self, progress::IngestProgress};
use crate::store::Store;

pub fn run(args: &IngestArgs, settings: &Settings) -> Result<ExitCode> {
    let prices = super::storing_price_table(settings, "ingest")?;
    // Folders the user named (--claude-dir, CLAUDE_CONFIG_DIR...) with no
    // projects/ in any: a mistake a script must be able to see (exit 1).
    // The default folders missing is a machine without Claude Code: exit 0.
    let none_found = !settings.roots.iter().any(|r| r.projects.is_some());
    let named = super::roots_named(settings);
    // (with a database here, the ingest still runs: an upgrade may have
    // left its tables to rebuild from the stored raw lines)
    if none_found && !args.full && !settings.db.exists() {
        if named {
            // (-q: the error alone, naming the folders)
            if settings.quiet {
                crate::errln!("{}", none_in_named(settings));
            } else {
                where_we_looked(settings, true);
            }
        } else if !settings.quiet {
            where_we_looked(settings, false);
        }
        if settings.json {
            output::print_json(&Summary::default())?;
        }
        return Ok(if named {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let mut store = super::writable_store(settings)?;
    warn_store(&store, settings);
    let mut progress = IngestProgress::new(settings.progress, settings.quiet, true);
    let summary = ingest::run(
        &mut store,
        &settings.roots,
        &prices,
        &Options {
            full: args.full,
            explicit: true,
            ..Default::default()
        },
        &mut progress,
    )
    .with_context(|| format!("ingest into {} failed", settings.db.display()));
    progress.finish();
    let mut summary = match summary {
        Err(e) if crate::store::first_load_marked(&settings.db) => {
            // (a first load that failed: its database removed now, not at
            // the next open, so that a full disk gets its space back)
            drop(store);
            return Err(match crate::store::remove_failed_first_load(&settings.db) {
                Ok(Some(bytes)) => e.context(format!(
                    "the first load's incomplete database was removed ({}; it held nothing the transcripts do not)",
                    crate::output::human_bytes(bytes)
                )),
                _ => e,
            });
        }
        other => other?,
    };
    if summary.files_read > 0 || summary.rebuilt_lines > 0 {
        store.checkpoint_on_close();
    } else {
        // (one a report's ingest left)
        store.fold_big_wal();
    }
    // (a last line held back by an earlier run, a report's, is still held
    // back: counted here too, in the text and the JSON alike; of files
    // still there: a deleted file's line will never end)
    summary.held_back_lines = store
        .conn
        .prepare("SELECT path FROM source_files WHERE superseded = 0 AND held_back_bytes > 0")?
        .query_map([], |r| r.get::<_, String>(0))?
        .filter(|p| {
            p.as_ref()
                .is_ok_and(|p| !crate::paths::is_gone(&crate::paths::from_stored(p)))
        })
        .count() as u64;
    if settings.json {
        output::print_json(&summary)?;
    } else if !settings.quiet {
        print_summary(&summary, settings)?;
    }
    // (every file failed: a file with nothing new is not one that failed,
    // or a run after one that read the rest would fail where it passed)
    // (a file read up to a line too long to hold was read)
    if summary.files_seen > 0 && summary.files_unread() >= summary.files_seen {
        crate::errln!(
            "error: none of the {} transcript files could be read",
            summary.files_seen
        );
        return Ok(ExitCode::FAILURE);
    }
    // (lines left out of the tables: the database is damaged)
    if summary.raw_chunks_damaged > 0 {
        crate::errln!(
            "{} {} of stored lines could not be read, nor read again from their transcripts (gone or changed): \
             their lines are left out of the tables (named above)",
            output::style::error_prefix(),
            super::count(summary.raw_chunks_damaged, "chunk", "chunks")
        );
        return Ok(ExitCode::FAILURE);
    }
    // (a rebuild from the stored lines may have run: the folders named are
    // still a mistake to fix)
    if none_found && named {
        crate::errln!("{}", none_in_named(settings));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The error when none of the folders the user named holds transcripts.
fn none_in_named(settings: &Settings) -> String {
    format!(
        "error: {} {}",
        super::no_transcripts_in(settings),
        super::POINT_AT_THEM
    )
}

/// No transcripts: where we looked, why each folder had none, what to do
/// (an error when the folders were named: exit 1).
fn where_we_looked(settings: &Settings, error: bool) {
    if error {
        crate::errln!(
            "{} no Claude Code transcripts found. Looked in:",
            output::style::error_prefix()
        );
    } else {
        crate::errln!("No Claude Code transcripts found. Looked in:");
    }
    for r in &settings.roots {
        crate::errln!(
            "  {} ({})",
            r.given.display(),
            crate::paths::why_nothing(&r.given)
        );
    }
    crate::errln!("{}", super::POINT_AT_THEM);
}

pub fn warn_store(store: &Store, settings: &Settings) {
    if !settings.quiet {
        for w in &store.warnings {
            output::style::warn(w);
        }
    }
}

fn print_summary(s: &Summary, settings: &Settings) -> Result<()> {
    use output::thousands;
    if s.rebuilt_lines > 0 {
        outln!(
            "Rebuilt every table from {} stored lines.",
            thousands(s.rebuilt_lines)
        );
    }
    let with_projects = settings
        .roots
        .iter()
        .filter(|r| r.projects.is_some())
        .count() as u64;
    if s.files_seen == 0 && with_projects == 0 {
        // (each folder's reason was said above; a database was here, so
        // the run went on: "under 0 projects/ folders" said nothing)
        outln!(
            "No transcript files: no folder looked in has a projects/ folder ({} ms).",
            s.elapsed_ms
        );
    } else if s.files_seen == 0 {
        outln!(
            "No transcript files under {} ({} ms).",
            super::count(with_projects, "projects/ folder", "projects/ folders"),
            s.elapsed_ms
        );
    } else if s.files_read == 0 && s.files_unread() >= s.files_seen {
        outln!("Read nothing ({} ms).", s.elapsed_ms);
    } else if s.files_read == 0 && s.files_unread() > 0 {
        // (the files that could not be read are counted, as in the JSON's
        // files_seen; one read up to a line too long was read)
        outln!(
            "Nothing new in {} of {} ({} ms).",
            thousands(s.files_seen - s.files_unread()),
            super::count(s.files_seen, "transcript file", "transcript files"),
            s.elapsed_ms
        );
    } else if s.files_read == 0 {
        outln!(
            "Nothing new in {} ({} ms).",
            super::count(s.files_seen, "transcript file", "transcript files"),
            s.elapsed_ms
        );
    } else {
        outln!(
            "Read {} from {} of {}: {}, {} ({} ms).",
            output::human_bytes(s.bytes_read),
            thousands(s.files_read),
            super::count(s.files_seen, "file", "files"),
            super::count(s.lines_read, "line", "lines"),
            super::count(s.responses_new, "new API response", "new API responses"),
            s.elapsed_ms
        );
    }
    let mut notes = Vec::new();
    if s.malformed_lines > 0 {
        notes.push(format!(
            "{} malformed (kept raw)",
            thousands(s.malformed_lines)
        ));
    }
    if s.held_back_lines > 0 {
        notes.push(format!(
            "{} held back until complete",
            thousands(s.held_back_lines)
        ));
    }
    if !s.unknown_types.is_empty() {
        // ("(none)", as stored, reads as "no unknown types" here)
        let names: Vec<&str> = s
            .unknown_types
            .keys()
            .map(|t| match t.as_str() {
                crate::transcript::NO_TYPE => "(lines with no type)",
                "" => "\"\"",
                t => t,
            })
            .collect();
        let names = crate::output::table::visible(&names.join(", "));
        notes.push(format!("unknown types kept: {names}"));
    }
    if s.files_unread() > 0 {
        notes.push(format!(
            "{} could not be read",
            super::count(s.files_unread(), "file", "files")
        ));
    }
    if s.files_cut_short > 0 {
        notes.push(format!(
            "{} read only up to a line too long to hold",
            super::count(s.files_cut_short, "file", "files")
        ));
    }
    if s.files_replaced > 0 {
        notes.push(format!(
            "{} rewritten or cut shorter since the last read, read again from the start (the old lines kept: `observatory forget --replaced` drops them)",
            super::count(s.files_replaced, "file", "files")
        ));
    }
    if s.files_changed_while_read > 0 {
        notes.push(format!(
            "{} changed while read (read again next time)",
            super::count(s.files_changed_while_read, "file", "files")
        ));
    }
    if !notes.is_empty() {
        outln!("  {}", notes.join("; "));
    }
    outln!("Database: {}", settings.db.display());
    Ok(())
}
