use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::outln;
use anyhow::Result;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::config::Settings;
use crate::output::{self, thousands};
use crate::store::{Store, line_counts};

#[derive(Debug, Serialize)]
pub struct Status {
    pub db_path: String,
    pub db_bytes: u64,
    pub schema_version: i64,
    pub files_tracked: u64,
    /// Tracked files no longer at their path (Claude Code's 30-day
    /// cleanup, a move): their lines are kept here.
    pub files_gone: u64,
    pub files_superseded: u64,
    pub last_ingest_at: Option<String>,
    /// Lines of the files as they are now (`records_by_type`,
    /// `malformed_lines` likewise); `lines_replaced`: those of replaced
    /// generations, kept.
    pub lines: u64,
    pub lines_replaced: u64,
    pub records_by_type: BTreeMap<String, u64>,
    pub malformed_lines: u64,
    pub held_back_lines: u64,
    pub unknown_types: BTreeMap<String, u64>,
    pub raw_bytes: u64,
    pub raw_stored_bytes: u64,
    /// Stored chunks the last rebuild could not decompress nor read again
    /// from their transcripts: their lines are left out of the tables.
    pub raw_chunks_damaged: u64,
    /// Sessions, as `sessions` lists them (one per session id, with or
    /// without a main transcript); `subagents`: the subagent transcripts
    /// they ran.
    pub sessions: u64,
    /// Sessions known only from their subagents' transcripts (legacy
    /// `agent-*.jsonl`, or a main transcript that is gone).
    pub sessions_without_main: u64,
    pub subagents: u64,
    pub responses: u64,
}

pub fn run(_args: &StatusArgs, settings: &Settings) -> Result<ExitCode> {
    super::refuse_unfinished_first_load(settings)?;
    let store = super::reading_store(settings)?;
    super::ingest::warn_store(&store, settings);
    if store.meta_get("rebuild_pending")?.is_some() {
        super::warn_pending_rebuild(settings);
    }
    let s = collect(&store)?;
    if settings.json {
        output::print_json(&s)?;
    } else {
        print_status(&s, &super::zone(None, settings)?, settings)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

pub fn collect(store: &Store) -> Result<Status> {
    let c = &store.conn;
    let count =
        |sql: &str| -> Result<u64> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
    let mut wal = store.path.as_os_str().to_owned();
    wal.push("-wal");
    let mut records_by_type = BTreeMap::new();
    let mut unknown_types = BTreeMap::new();
    let mut malformed = 0;
    let mut replaced = 0;
    // (the counts the ingest keeps, when they count every line; else every
    // line is read. A replaced generation's lines are counted apart: the
    // file as it is now has its own)
    let groups = match line_counts::current(c)? {
        Some(groups) => groups,
        None => line_counts::count(c, 0)?,
    };
    for g in groups {
        if g.replaced {
            replaced += g.lines;
            continue;
        }
        match g.status.as_str() {
            "malformed" => malformed += g.lines,
            "unknown" => {
                *unknown_types.entry(g.type_.clone()).or_default() += g.lines;
                *records_by_type.entry(g.type_).or_default() += g.lines;
            }
            _ => *records_by_type.entry(g.type_).or_default() += g.lines,
        }
    }
    Ok(Status {
        db_path: store.path.display().to_string(),
        db_bytes: file_len(&store.path) + file_len(std::path::Path::new(&wal)),
        schema_version: store.user_version()?,
        // (a row made before its file was read, whose file went first or
        // whose run stopped, holds nothing until a run reads it)
        files_tracked: count(
            "SELECT count(*) FROM source_files WHERE superseded = 0 AND last_read_at IS NOT NULL",
        )?,
        files_gone: files_gone(c)?,
        // (a forgotten generation's row is a tombstone: no line of it is kept)
        files_superseded: count(
            "SELECT count(*) FROM source_files f WHERE superseded = 1
               AND NOT EXISTS (SELECT 1 FROM forgotten_files g WHERE g.file_id = f.id)",
        )?,
        // (RFC 3339 with milliseconds and Z, as every other time in JSON;
        // older databases hold nanoseconds and +00:00)
        last_ingest_at: store.meta_get("last_ingest_at")?.map(|t| {
            crate::transcript::parse_timestamp(&t).map_or(t, crate::transcript::format_timestamp)
        }),
        lines: records_by_type.values().sum::<u64>() + malformed,
        lines_replaced: replaced,
        records_by_type,
        malformed_lines: malformed,
        held_back_lines: count(
            "SELECT count(*) FROM source_files WHERE superseded = 0 AND held_back_bytes > 0",
        )?,
        unknown_types,
        raw_bytes: count("SELECT coalesce(sum(end_offset - start_offset), 0) FROM raw_chunks")?,
        // (with the dictionaries the chunks are compressed with)
        raw_stored_bytes: count(
            "SELECT (SELECT coalesce(sum(length(data)), 0) FROM raw_chunks)
                  + (SELECT coalesce(sum(length(data)), 0) FROM raw_dicts)",
        )?,
        raw_chunks_damaged: store
            .meta_get("raw_chunks_damaged")?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        sessions: count("SELECT count(DISTINCT session_id) FROM sessions")?,
        sessions_without_main: count(
            "SELECT count(DISTINCT session_id) FROM sessions s WHERE NOT EXISTS
               (SELECT 1 FROM sessions m WHERE m.session_id = s.session_id AND m.agent_id = '')",
        )?,
        subagents: count("SELECT count(*) FROM sessions WHERE agent_id != ''")?,
        responses: count("SELECT count(*) FROM response_rows")?,
    })
}

/// Tracked files whose transcript is no longer on disk and whose lines
/// (some of them: a forgotten file's later ones) are kept.
fn files_gone(c: &rusqlite::Connection) -> Result<u64> {
    let mut st = c.prepare(
        "SELECT path FROM source_files f WHERE superseded = 0
           AND EXISTS (SELECT 1 FROM raw_chunks r WHERE r.file_id = f.id)",
    )?;
    let mut rows = st.query([])?;
    let mut gone = 0;
    while let Some(r) = rows.next()? {
        if crate::paths::is_gone(&crate::paths::from_stored(r.get_ref(0)?.as_str()?)) {
            gone += 1;
        }
    }
    Ok(gone)
}

fn print_status(s: &Status, zone: &crate::report::Zone, settings: &Settings) -> Result<()> {
    // (prose lines wrap to the terminal)
    let wrapped = |text: &str| output::wrap(text, output::terminal_width(settings.stdout_tty));
    outln!(
        "Database        {} ({})",
        s.db_path,
        output::human_bytes(s.db_bytes)
    );
    outln!("Schema version  {}", s.schema_version);
    outln!(
        "Files tracked   {}{}{}",
        thousands(s.files_tracked),
        if s.files_gone > 0 {
            format!(
                " ({} no longer on disk: {} kept here)",
                thousands(s.files_gone),
                if s.files_gone == 1 {
                    "its lines are"
                } else {
                    "their lines are"
                }
            )
        } else {
            String::new()
        },
        if s.files_superseded > 0 {
            format!(
                " (+{} kept)",
                super::count(
                    s.files_superseded,
                    "replaced generation",
                    "replaced generations"
                )
            )
        } else {
            String::new()
        }
    );
    let last = s.last_ingest_at.as_deref();
    outln!(
        "Last ingest     {}",
        match last.and_then(crate::transcript::parse_timestamp) {
            Some(ms) => format!("{} ({})", zone.format(ms, "%Y-%m-%d %H:%M:%S"), zone.name()),
            None => last.unwrap_or("never").to_owned(),
        }
    );
    outln!(
        "Raw bytes kept  {} (stored as {})",
        output::human_bytes(s.raw_bytes),
        output::human_bytes(s.raw_stored_bytes)
    );
    if s.raw_chunks_damaged > 0 {
        let damaged = format!(
            "Damaged         {} that the last rebuild from the stored lines (`ingest --full`, `forget`, an upgrade) could not read, nor read again from their transcripts: their lines are left out (`ingest --full` names them; with their transcripts back in place, `ingest --full` reads them again)",
            super::count(s.raw_chunks_damaged, "stored chunk", "stored chunks")
        );
        outln!("{}", wrapped(&damaged));
    }
    let sessions = format!(
        "Sessions        {}{}{}",
        thousands(s.sessions),
        if s.sessions_without_main > 0 {
            format!(
                ", {} of them without a main transcript",
                thousands(s.sessions_without_main)
            )
        } else {
            String::new()
        },
        if s.subagents > 0 {
            format!(" (+{} subagent runs)", thousands(s.subagents))
        } else {
            String::new()
        }
    );
    outln!("{}", wrapped(&sessions));
    outln!("API responses   {}", thousands(s.responses));
    outln!(
        "Lines           {}{}",
        thousands(s.lines),
        if s.lines_replaced > 0 {
            format!(
                " (+{} in replaced generations)",
                thousands(s.lines_replaced)
            )
        } else {
            String::new()
        }
    );
    for (t, n) in &s.records_by_type {
        let unknown = if s.unknown_types.contains_key(t) {
            "  (unknown type, kept)"
        } else {
            ""
        };
        // (a type as written: an empty one shown as "", control
        // characters made visible)
        let t = match t.as_str() {
            "" => "\"\"".to_owned(),
            t => crate::output::table::visible(t),
        };
        outln!("  {t:<24} {:>12}{unknown}", thousands(*n));
    }
    outln!("  {:<24} {:>12}", "malformed", thousands(s.malformed_lines));
    if s.malformed_lines > 0 {
        outln!("{}", malformed_hint(settings));
    }
    if s.held_back_lines > 0 {
        outln!(
            "Held back       {}",
            super::count(
                s.held_back_lines,
                "incomplete last line",
                "incomplete last lines"
            )
        );
    }
    Ok(())
}

/// Where the malformed lines are, and why: a query to copy (against the
/// database given with --db, if it was; the others come from the
/// environment or the config file, in effect for the copy too).
fn malformed_hint(settings: &Settings) -> String {
    let db = match settings.source_of("db") {
        // (`--db=`: a path may start with `-`; absolute: the copy may be
        // run from another folder)
        Some(crate::config::Source::Flag(_)) => {
            let db = std::path::absolute(&settings.db).unwrap_or_else(|_| settings.db.clone());
            format!("--db={} ", super::shell_word(&db))
        }
        _ => String::new(),
    };
    format!(
        "  (which and why: observatory query {db}\"SELECT f.path, l.line_no, l.error FROM lines l JOIN source_files f ON f.id = l.file_id WHERE l.status = 'malformed' AND f.superseded = 0\")"
    )
}
