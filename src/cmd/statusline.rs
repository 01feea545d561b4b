//! `observatory statusline`: Claude Code runs it for its status line, with a
//! JSON object about the session on stdin, several times a second while it
//! works. It reads only that session's transcript and its subagents'
//! (only what was appended, and only when no other ingest is running: it
//! never waits for the lock), then prints one line from indexed queries.
//! Whatever goes wrong (bad or empty stdin, no database, a locked or
//! broken database, a panic), it prints a neutral line and exits 0: a
//! status line never shows an error.

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::config::DbConfig;
use serde_json::Value;

use super::sessions::short_model;
use super::{money, money_part, project_name};
use crate::cli::StatuslineArgs;
use crate::config::Settings;
use crate::ingest::{self, IngestLock, Observer, Options};
use crate::output;
use crate::output::table::visible;
use crate::report::statusline::{self, StatusQuery, StatusReport};
use crate::report::{self, Zone};
use crate::store::Store;

/// The line when a block is running (and no `--format` was given).
pub const DEFAULT_FORMAT: &str = "{model} · {session_cost} session · {today_cost} today · {block_cost} block ({block_left} left) · {burn_rate}";
/// The same, in a block too young for a burn rate (under a minute).
const DEFAULT_FORMAT_NO_RATE: &str = "{model} · {session_cost} session · {today_cost} today · {block_cost} block ({block_left} left)";
/// The line when no block is running (and no `--format` was given).
pub const DEFAULT_FORMAT_IDLE: &str =
    "{model} · {session_cost} session · {today_cost} today · no active block";

/// Of a long backlog (a long session seen for the first time), one call
/// reads about this much (~50 ms, holding the ingest lock) and leaves the
/// rest for the next ones: the figures catch up over a few refreshes.
/// Shared by the session's files with something new, at most
/// `MAX_BACKLOG_BYTES / MIN_PART_BYTES` of them a call.
pub const MAX_BACKLOG_BYTES: u64 = 4 << 20;
const MIN_PART_BYTES: u64 = 256 << 10;
/// How long a write may wait for another writer before we give up on it.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);
/// Claude Code's JSON is a few hundred bytes: read no more than this.
const MAX_STDIN_BYTES: u64 = 1 << 20;

/// What we use from Claude Code's JSON (every field optional).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Input {
    pub session_id: Option<String>,
    pub transcript_path: Option<PathBuf>,
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    pub project_dir: Option<String>,
    /// Claude Code's own estimate of the session's cost, in picoUSD, from
    /// the number's shortest decimal form (serde_json holds it as a float:
    /// that form gives back the digits sent, for fewer than 16 significant
    /// ones), then rounded as every figure is, not as a float rounds.
    pub cost_picousd: Option<i128>,
}

impl Input {
    /// None unless the bytes are one JSON object.
    pub fn parse(bytes: &[u8]) -> Option<Input> {
        // (a lone surrogate escape, as in transcripts, is read as its text,
        // and a number past a float's range as null: either would refuse
        // the whole object, with the fields it holds that are fine)
        let v: Value = serde_json::from_slice(bytes).ok().or_else(|| {
            let text = std::str::from_utf8(bytes).ok()?;
            let text =
                crate::transcript::without_lone_surrogates(text).unwrap_or_else(|| text.to_owned());
            serde_json::from_str(&text)
                .ok()
                .or_else(|| serde_json::from_str(&without_huge_numbers(&text)?).ok())
        })?;
        let v = v.as_object()?;
        let s = |x: Option<&Value>| {
            x.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let model = v.get("model");
        let workspace = v.get("workspace");
        Some(Input {
            session_id: s(v.get("session_id")),
            transcript_path: s(v.get("transcript_path")).map(PathBuf::from),
            // older versions sent the model as a bare string
            model_id: s(model.and_then(|m| m.get("id"))).or_else(|| s(model)),
            model_name: s(model.and_then(|m| m.get("display_name"))),
            project_dir: s(workspace.and_then(|w| w.get("project_dir")))
                .or_else(|| s(workspace.and_then(|w| w.get("current_dir"))))
                .or_else(|| s(v.get("cwd"))),
            cost_picousd: v
                .get("cost")
                .and_then(|c| c.get("total_cost_usd"))
                .and_then(|c| match c {
                    Value::Number(n) => picousd(&n.to_string()),
                    _ => None,
                }),
        })
    }

    pub fn model(&self) -> Option<String> {
        self.model_name
            .clone()
            .or_else(|| self.model_id.as_deref().map(short_model))
    }
}

/// A JSON number's text (`0.4172`, `1e-7`) in picoUSD, exactly (to the
/// picodollar); None past i128 or when it is not a number.
fn picousd(number: &str) -> Option<i128> {
    let d = rust_decimal::Decimal::from_str_exact(number)
        .or_else(|_| rust_decimal::Decimal::from_scientific(number))
        .ok()?;
    let pico = d.checked_mul(rust_decimal::Decimal::from(1_000_000_000_000i64))?;
    i128::try_from(
        pico.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
    )
    .ok()
}

/// `text` (JSON) with each number serde_json refuses (`1e400`, past a
/// float's range) made `null`; None when there is none.
fn without_huge_numbers(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i, mut in_string, mut changed) = (0, 0, false, false);
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if c == b'"' {
            in_string = true;
            i += 1;
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            // (serde_json's own verdict: it refuses some that Rust's
            // parser takes, 1.7976931348623158e308 among them)
            let number = &text[start..i];
            if serde_json::from_str::<Value>(number).is_err() {
                out.push_str(&text[copied..start]);
                out.push_str("null");
                copied = i;
                changed = true;
            }
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    changed.then_some(out)
}

pub fn run(args: &StatuslineArgs, settings: &Settings) -> Result<ExitCode> {
    // (its own flags wrong is a usage error, said and exit 2, as for every
    // command: the status line is blank, and run by hand it says why;
    // what is read later never stops it)
    if let Some(tz) = &args.tz {
        Zone::parse(tz).map_err(super::usage)?;
    }
    if let Some(now) = &args.now {
        chrono::DateTime::parse_from_rfc3339(now).map_err(|e| {
            super::usage(format!(
                "--now {now}: not an RFC 3339 time ({e}), e.g. 2026-03-01T12:00:00Z"
            ))
        })?;
    }
    super::pricing_flag_unused(settings, "`observatory statusline` stores and shows costs");
    let mut bytes = Vec::new();
    if !settings.stdin_tty {
        // an unreadable stdin is an empty one
        read_stdin(
            &mut std::io::stdin().lock().take(MAX_STDIN_BYTES),
            &mut bytes,
        );
    }
    let input = Input::parse(&bytes);
    // A status line never shows a panic message: silence the hook, catch it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        status_line(args, settings, input.as_ref())
    }));
    std::panic::set_hook(hook);
    let line = match result {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            if !settings.quiet {
                crate::output::style::warn(format!("{e:#}"));
            }
            neutral(input.as_ref())
        }
        Err(_) => neutral(input.as_ref()),
    };
    output::emit(&format!("{line}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// The line when there is nothing to report: the model, else our name.
pub fn neutral(input: Option<&Input>) -> String {
    input
        .and_then(Input::model)
        .map_or_else(|| "observatory".into(), |m| visible(&m))
}

fn status_line(
    args: &StatuslineArgs,
    settings: &Settings,
    input: Option<&Input>,
) -> Result<String> {
    let Some(input) = input else {
        return Ok(neutral(None));
    };
    if !settings.db.is_file() {
        return Ok(neutral(Some(input)));
    }
    // (a transcript not written yet, moved or deleted: the stored figures
    // are still the session's, today's and the block's)
    let transcript = input.transcript_path.as_deref().filter(|t| t.is_file());
    // (a first load under way: opening would wait for it to finish; one
    // that did not finish: opening starts the database over, which a
    // status line told not to ingest leaves to a command that reads)
    if crate::store::first_load_marked(&settings.db)
        && (args.no_ingest || IngestLock::try_acquire(&settings.db)?.is_none())
    {
        return Ok(neutral(Some(input)));
    }
    let mut store = Store::open(&settings.db)?;
    store.conn.busy_timeout(BUSY_TIMEOUT)?;
    // (an upgrade left the tables to rebuild from the stored lines: too long
    // a wait for a status line, and until it is done every figure reads $0.
    // One under way (an ingest, or `forget`, holding the lock) is said so)
    if store.meta_get("rebuild_pending")?.is_some() {
        // (a lock that cannot be taken at all, in a folder this user cannot
        // write: not known to be under way)
        let under_way = IngestLock::try_acquire(&settings.db).is_ok_and(|l| l.is_none());
        return Ok(format!(
            "{} · {}",
            neutral(Some(input)),
            if under_way {
                "the database is being rebuilt"
            } else {
                "`observatory ingest` to finish upgrading"
            }
        ));
    }
    // Closing the last connection checkpoints the WAL and deletes it (two
    // fsyncs, then the next call creates it again): leave that to ingest,
    // watch and SQLite's automatic checkpoints.
    let _ = store
        .conn
        .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
    // (only a transcript: stdin could name any file, which would then be
    // kept in the database as malformed lines)
    if !args.no_ingest {
        let done = match transcript.filter(|t| t.extension().is_some_and(|e| e == "jsonl")) {
            Some(t) => ingest_transcript(&mut store, settings, t),
            // (nothing to read: the stored costs are still re-priced after
            // a price change, as by every report)
            None => reprice_unless_busy(&store, settings),
        };
        if let Err(e) = done
            && !settings.quiet
        {
            // what is stored is still worth showing
            crate::output::style::warn(format!("{e:#}"));
        }
    }
    let zone = Zone::parse(args.tz.as_deref().unwrap_or(&settings.tz)).unwrap_or(Zone::Local);
    let now = args
        .now
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(report::now_ms, |t| t.timestamp_millis());
    let today = zone.date(now);
    let q = StatusQuery {
        session_id: input.session_id.clone(),
        day_start_at: zone.start_of(today),
        day_end_at: today
            .succ_opt()
            .map_or(i64::MAX, |tomorrow| zone.start_of(tomorrow)),
    };
    let r = statusline::run(&store.conn, &q, now).context("reading the stored costs")?;
    let template = match &args.format {
        Some(f) => f.as_str(),
        None => match &r.block {
            Some(b) if b.burn_rate_picousd_per_hour.is_some() => DEFAULT_FORMAT,
            Some(_) => DEFAULT_FORMAT_NO_RATE,
            None => DEFAULT_FORMAT_IDLE,
        },
    };
    let unknown = std::cell::RefCell::new(Vec::new());
    let line = render(template, |name| {
        // (a field's text shows its control and bidi characters, as tables
        // do: what Claude Code sends, or a stored title, never drives the
        // terminal; escapes written in --format are the user's own)
        let value = field(name, input, &r, &zone, now).map(|v| visible(&v));
        let mut unknown = unknown.borrow_mut();
        if value.is_none() && !unknown.iter().any(|u| u == name) {
            unknown.push(name.to_owned());
        }
        value
    });
    if !settings.quiet {
        // (Claude Code shows stdout only: this is for whoever runs it by hand)
        for name in unknown.into_inner() {
            crate::output::style::warn(format!(
                "--format has no field {{{name}}}, so it is printed as written (fields: {})",
                FIELDS.join(", ")
            ));
        }
    }
    Ok(line)
}

/// The `--format` fields, as `field` knows them.
const FIELDS: &[&str] = &[
    "model",
    "model_id",
    "project",
    "session",
    "session_cost",
    "cc_session_cost",
    "today_cost",
    "block_cost",
    "block_left",
    "block_end",
    "block_projected",
    "burn_rate",
];

/// Re-price the stored costs if the price table changed, unless another
/// process is ingesting (it re-prices them itself; we never wait for it)
/// or the database is read-only (the stored costs are shown, as reports
/// show them).
fn reprice_unless_busy(store: &Store, settings: &Settings) -> Result<()> {
    let Some(_lock) = IngestLock::try_acquire(&store.path)? else {
        return Ok(());
    };
    reprice(&store.conn, &super::stored_price_table(settings)?)
}

/// Re-price the stored costs if the price table changed; on a read-only
/// database they are shown as they are, as reports show them.
fn reprice(conn: &rusqlite::Connection, prices: &crate::pricing::PriceTable) -> Result<()> {
    match ingest::reprice_if_needed(conn, prices) {
        Err(e) if super::is_read_only_error(&e) => Ok(()),
        done => done.map(|_| ()).map_err(Into::into),
    }
}

/// Read what is new in the session's transcript and its subagents' (a long
/// backlog a part at a time), unless another process is ingesting (we
/// never wait for it).
fn ingest_transcript(store: &mut Store, settings: &Settings, transcript: &Path) -> Result<()> {
    let Some(lock) = IngestLock::try_acquire(&store.path)? else {
        return Ok(());
    };
    let canonical = std::fs::canonicalize(transcript)
        .with_context(|| format!("cannot open {}", transcript.display()))?;
    // (subagents' files only beside a transcript under a root, as given or
    // resolved: elsewhere they could not be recorded as ingest records
    // them; found beside the path as given, a link's folder, and passed on
    // as found, so that they are recorded under the same root)
    let under_a_root = settings.roots.iter().any(|r| {
        r.projects.as_ref().is_some_and(|p| {
            transcript.starts_with(p)
                || std::fs::canonicalize(p).is_ok_and(|p| canonical.starts_with(p))
        })
    });
    let mut files = vec![transcript.to_owned()];
    if under_a_root {
        files.extend(subagent_files(transcript));
    }
    let mut pending = Vec::new();
    for (i, file) in files.into_iter().enumerate() {
        let found =
            std::fs::canonicalize(&file).and_then(|c| Ok((std::fs::metadata(&c)?.len(), c)));
        let (size, canonical) = match found {
            Ok(found) => found,
            // (a subagent's file that went away meanwhile is not an error)
            Err(_) if i > 0 => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", file.display())),
        };
        // (a size other than at the last read: appended lines, a partial
        // last line completed, the rest of a long backlog, a file that
        // shrank; one unchanged since, a partial last line held back
        // included, has nothing new, and takes no place among the files)
        let changed = match statusline::size_read(&store.conn, &crate::paths::stored(&canonical))? {
            Some(read) => read != size,
            None => size > 0,
        };
        if changed {
            pending.push(file);
        }
    }
    // (the stored costs' table; re-prices them if it changed, as ingest
    // does: pricing.toml edited since the last run)
    let prices = super::stored_price_table(settings)?;
    if pending.is_empty() {
        // nothing appended: skip the ingest writes
        return reprice(&store.conn, &prices);
    }
    // (the transcript first; the files beyond the 16th wait for a later call)
    pending.truncate((MAX_BACKLOG_BYTES / MIN_PART_BYTES) as usize);
    ingest::run_files(
        store,
        &lock,
        &settings.roots,
        &pending,
        &prices,
        &Options {
            max_bytes_per_file: Some(MAX_BACKLOG_BYTES / pending.len() as u64),
            defer_hook_sums: true,
            ..Default::default()
        },
        &mut Silent,
    )
    .with_context(|| format!("reading {}", transcript.display()))?;
    Ok(())
}

/// The subagents' transcripts of the session whose transcript is
/// `transcript`: the `.jsonl` files under `<session>/subagents/` beside it,
/// workflow agents one or two folders further down, sorted (files that are
/// symbolic links are left to `ingest`).
fn subagent_files(transcript: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth < 2 {
                walk(&path, depth + 1, out);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    if let Some(stem) = transcript.file_stem() {
        walk(
            &transcript.with_file_name(stem).join("subagents"),
            0,
            &mut files,
        );
    }
    files.sort();
    files
}

/// Ingest notices are not for a status line.
struct Silent;
impl Observer for Silent {}

/// One `{field}` of the template (None: not a field, kept as written).
fn field(name: &str, input: &Input, r: &StatusReport, zone: &Zone, now: i64) -> Option<String> {
    let block = r.block.as_ref();
    let dash = || "-".to_owned();
    Some(match name {
        "model" => neutral(Some(input)),
        "model_id" => input.model_id.clone().unwrap_or_else(dash),
        "project" => input
            .project_dir
            .as_deref()
            .map_or_else(dash, |p| project_name(Some(p))),
        "session" => input
            .session_id
            .as_deref()
            .map_or_else(dash, |s| s.chars().take(8).collect()),
        "session_cost" => r
            .session
            .map_or_else(dash, |s| money_part(s.cost(), s.unpriced_responses)),
        "cc_session_cost" => input
            .cost_picousd
            .filter(|c| *c >= 0)
            .map_or_else(dash, |c| money(Some(c))),
        "today_cost" => money_part(r.today.cost(), r.today.unpriced_responses),
        "block_cost" => block.map_or_else(
            || money(Some(0)),
            |b| {
                money_part(
                    (b.unpriced_responses < b.responses).then_some(b.cost_picousd),
                    b.unpriced_responses,
                )
            },
        ),
        "block_left" => block.map_or_else(dash, |b| left(b.end_at - now)),
        "block_end" => block.map_or_else(dash, |b| zone.format(b.end_at, "%H:%M")),
        "block_projected" => block
            .and_then(|b| b.projected_cost_picousd.map(|c| (c, b.unpriced_responses)))
            .map_or_else(dash, |(c, unpriced)| money_part(Some(c), unpriced)),
        "burn_rate" => block
            .and_then(|b| {
                b.burn_rate_picousd_per_hour
                    .map(|c| (c, b.unpriced_responses))
            })
            .map_or_else(dash, |(c, unpriced)| {
                format!("{}/h", money_part(Some(c), unpriced))
            }),
        _ => return None,
    })
}

/// Time left for people: `2h 05m`, `45m`, `<1m` (the status line's and
/// `watch`'s).
pub fn left(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    match m {
        0 => "<1m".into(),
        1..60 => format!("{m}m"),
        _ => format!("{}h {:02}m", m / 60, m % 60),
    }
}

/// Replace each `{name}` by `value(name)`; `{{` and `}}` are braces; a
/// name that is not a field stays as written.
pub fn render(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{')
            && let Some(end) = tail.find('}')
            && let Some(v) = value(&tail[1..end])
        {
            out.push_str(&v);
            rest = &tail[end + 1..];
            continue;
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Read what Claude Code sends until the end of stdin, or until it holds
/// one whole JSON value: a caller that sends it and keeps the pipe open (a
/// wrapper, a test by hand) does not keep the line waiting (tour-s34 F3).
fn read_stdin(stdin: &mut impl Read, bytes: &mut Vec<u8>) {
    let mut chunk = [0u8; 8192];
    loop {
        match stdin.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_past_a_floats_range_costs_its_field_not_the_input() {
        let input = Input::parse(
            br#"{"session_id":"s-1","model":{"display_name":"Opus"},"cost":{"total_cost_usd":1e400},
                 "other":[-2E+999, 1.5, "1e999 \" 3e999"]}"#,
        )
        .expect("the object is read");
        assert_eq!(
            (
                input.session_id.as_deref(),
                input.model_name.as_deref(),
                input.cost_picousd
            ),
            (Some("s-1"), Some("Opus"), None)
        );
        assert_eq!(
            without_huge_numbers(r#"{"a":"9e999","b":[1e999,-1E400,2],"c":"\"1e999"}"#).as_deref(),
            Some(r#"{"a":"9e999","b":[null,null,2],"c":"\"1e999"}"#)
        );
        assert_eq!(without_huge_numbers(r#"{"a":1e308}"#), None);
        assert!(serde_json::from_str::<Value>("1.7976931348623158e308").is_err());
        let edge = Input::parse(br#"{"session_id":"s-2","x":1.7976931348623158e308}"#);
        assert_eq!(edge.and_then(|i| i.session_id).as_deref(), Some("s-2"));
    }

    #[test]
    fn claude_codes_cost_is_read_exactly() {
        let cost = |json: &str| Input::parse(json.as_bytes()).unwrap().cost_picousd;
        assert_eq!(
            cost(r#"{"cost":{"total_cost_usd":0.4172}}"#),
            Some(417_200_000_000)
        );
        assert_eq!(cost(r#"{"cost":{"total_cost_usd":1e-7}}"#), Some(100_000));
        assert_eq!(
            cost(r#"{"cost":{"total_cost_usd":12}}"#),
            Some(12_000_000_000_000)
        );
        assert_eq!(cost(r#"{"cost":{"total_cost_usd":"12"}}"#), None);
        // (a float would print 0.125 as 0.12: it is 0.13 to the cent, as every figure)
        assert_eq!(money(cost(r#"{"cost":{"total_cost_usd":0.125}}"#)), "$0.13");
    }

    #[test]
    fn templates() {
        let v = |n: &str| (n == "a").then(|| "A".to_owned());
        assert_eq!(render("x {a} y", v), "x A y");
        assert_eq!(render("{{a}} {a}{a}", v), "{a} AA");
        assert_eq!(render("{b} {a", v), "{b} {a");
        assert_eq!(render("} { }", v), "} { }");
        assert_eq!(render("é{a}ü", v), "éAü");
    }

    #[test]
    fn the_readme_lists_the_fields_there_are() {
        let readme = include_str!("../../README.md");
        let mut listed: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `{"))
            .flat_map(|l| l.split(" |").next())
            .flat_map(|cell| cell.split(" / "))
            .filter_map(|f| f.trim().strip_prefix("`{").or(Some(f.trim())))
            .filter_map(|f| f.strip_suffix("}`"))
            .collect();
        listed.sort_unstable();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(listed, fields);
    }

    #[test]
    fn every_listed_field_is_one() {
        use chrono::FixedOffset;
        let r = StatusReport::default();
        let input = Input::default();
        for name in FIELDS {
            assert!(
                field(
                    name,
                    &input,
                    &r,
                    &Zone::Fixed(FixedOffset::east_opt(0).unwrap()),
                    0
                )
                .is_some(),
                "{name}"
            );
        }
        assert_eq!(field("nope", &input, &r, &Zone::Local, 0), None);
    }

    #[test]
    fn time_left() {
        assert_eq!(left(30_000), "<1m");
        assert_eq!(left(45 * 60_000 + 59_000), "45m");
        assert_eq!(left(125 * 60_000), "2h 05m");
        assert_eq!(left(-5), "<1m");
    }

    #[test]
    fn input_is_lenient() {
        assert_eq!(Input::parse(b""), None);
        assert_eq!(Input::parse(b"[1]"), None);
        assert_eq!(Input::parse(b"{\"model\": 3"), None);
        let cut = Input::parse(br#"{"model": {"display_name": "Opus \ud83d"}, "session_id": "s"}"#)
            .expect("a lone surrogate in stdin");
        assert_eq!(cut.model().as_deref(), Some(r"Opus \ud83d"));
        let i = Input::parse(br#"{"model": "claude-opus-4-6-20260101", "session_id": 7}"#).unwrap();
        assert_eq!(i.model().as_deref(), Some("opus-4-6"));
        assert_eq!(i.session_id, None);
        let i = Input::parse(br#"{"model": {"id": "x", "display_name": " Opus "}, "workspace": {"current_dir": "/a/b"}}"#).unwrap();
        assert_eq!(i.model().as_deref(), Some("Opus"));
        assert_eq!(i.project_dir.as_deref(), Some("/a/b"));
        assert_eq!(neutral(None), "observatory");
    }
}
