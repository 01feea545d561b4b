//! `observatory watch`: a catch-up ingest, then every change to the
//! transcripts goes through the same ingest path; each stored row becomes an
//! event: NDJSON for scripts, a redrawn view for people.

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use crate::cli::WatchArgs;
use crate::config::Settings;
use crate::ingest::watch_log::{self, Watching};
use crate::ingest::{self, IngestLock, Observer, Options, writer::Notice};
use crate::output::{self, table};
use crate::report::budget::Status;
use crate::report::{self, WeekStart, Zone};
use crate::watch::{Change, ChangeSource};

/// Events kept for the view's tail.
const TAIL: usize = 12;

/// Ingest warnings while watching go to stderr (never into the NDJSON):
/// a problem every pass meets again once, and at most
/// `NOTICES_PER_FILE` located ones per file.
struct Warnings {
    quiet: bool,
    said: HashSet<String>,
    per_file: HashMap<String, usize>,
}

use output::progress::NOTICES_PER_FILE;

impl Observer for Warnings {
    fn notice(&mut self, n: &Notice) {
        if self.quiet || n.held_back {
            return;
        }
        let seen = self.per_file.entry(n.file.clone()).or_default();
        *seen += 1;
        match *seen {
            k if k <= NOTICES_PER_FILE => {
                output::style::warn(format_args!("{}:{}: {}", n.file, n.line, n.message))
            }
            k if k == NOTICES_PER_FILE + 1 => output::style::warn(format_args!(
                "{}: more warnings like these are not shown (each line is stored as read)",
                n.file
            )),
            _ => {}
        }
    }
    fn warning(&mut self, message: &str) {
        if !self.quiet {
            output::style::warn(message);
        }
    }
    fn recurring(&mut self, message: &str) {
        if self.said.insert(message.to_owned()) {
            self.warning(message);
        }
    }
}

pub fn run(args: &WatchArgs, settings: &Settings) -> Result<ExitCode> {
    let prices = super::storing_price_table(settings, "watch")?;
    // (a wrong --tz is refused before the database is made or upgraded)
    let zone = super::zone(args.tz.as_deref(), settings)?;
    let mut store = super::writable_store(settings)?;
    // (unchecked for the whole run, as each pass's writer would leave them:
    // turned off and on at every pass, they made SQLite compile every
    // statement again, twice a pass, ~a fifth of watch's CPU)
    store.conn.pragma_update(None, "foreign_keys", false)?;
    super::ingest::warn_store(&store, settings);
    // (watch stops if the path names another file, or none: see below)
    let opened = crate::paths::file_at(&store.path);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C / SIGTERM: finish the current pass (its transaction and
        // cursors), then exit 0.
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot install the Ctrl-C handler")?;
    }
    // (a terminal that cannot move its cursor, TERM=dumb as in an editor's
    // shell, gets the events, not escapes it would print as they are)
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let ndjson = settings.json || !settings.stdout_tty || dumb;
    let mut view = View::new(args, ndjson, zone, settings.week_start);
    let mut warn = Warnings {
        quiet: settings.quiet,
        said: HashSet::new(),
        per_file: HashMap::new(),
    };
    let opts = Options {
        events: args.replay,
        stop: Some(stop.clone()),
        defer_hook_sums: true,
        ..Default::default()
    };
    // (Ctrl-C or SIGTERM while another process holds it: nothing read yet)
    let Some(lock) = IngestLock::acquire_unless(&store.path, &stop)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let first = ingest::run_held(
        &mut store,
        &lock,
        &settings.roots,
        &prices,
        &opts,
        &mut warn,
    )
    .with_context(|| format!("catch-up ingest into {}", store.path.display()))?;
    // (stopped during the catch-up: what it stored is committed; no
    // `ready` for a watch that is ending)
    if stop.load(Ordering::SeqCst) {
        return Ok(ExitCode::SUCCESS);
    }
    // Announced after the catch-up, with the ingest lock still held: every
    // ingest after ours logs its events for us, and ours logged them only
    // if other watchers were running: a lone watcher's catch-up makes no
    // events it would skip (a first watch over a 40,000-line backlog was
    // ready after 1.0 s when announced before the catch-up, 0.6 s so).
    let _watching = Watching::announce(&store.path)?;
    let mut log = Log {
        last: watch_log::last_id(&store.conn)?,
        quiet: settings.quiet,
    };
    drop(lock);
    if let Some(want) = args.session.as_deref() {
        // (a typo would watch nothing, silently; a session not begun yet is
        // what one may well be waiting for)
        let matching: Vec<String> = store
            .conn
            .prepare(
                "SELECT DISTINCT session_id FROM sessions
                 WHERE substr(session_id, 1, length(?1)) = ?1 ORDER BY session_id",
            )?
            .query_map([want], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // (an id given whole is that session alone, as in every other
        // command, even where other ids start with it: tour-s35 F6)
        view.session_exact = matching.iter().any(|m| m == want);
        let known = &matching[..matching.len().min(4)];
        match known.len() {
            _ if settings.quiet || view.session_exact => {}
            0 => crate::output::style::warn(format_args!(
                "no session id starts with {want:?} yet: watching for one (see `observatory sessions`)"
            )),
            1 => {}
            n => crate::output::style::warn(format_args!(
                "{} sessions start with {want:?} ({}{}): watching them all; give more of the id for one",
                if n > 3 {
                    "more than 3".to_owned()
                } else {
                    n.to_string()
                },
                known[..n.min(3)].join(", "),
                if n > 3 { ", …" } else { "" }
            )),
        }
        if !settings.quiet && !view.session_exact {
            view.sessions_seen = Some(matching.into_iter().collect());
        }
    }
    if let Some(want) = args.project.as_deref()
        && !settings.quiet
    {
        // (as for --session; matched as the view matches)
        if !crate::report::cost::project_exists(&store.conn, want)? {
            crate::output::style::warn(format_args!(
                "no project path contains {want:?} yet: watching for one (see `observatory sessions`)"
            ));
        }
    }
    if args.replay {
        let events = first.events.into_iter().map(|e| {
            let text = serde_json::to_string(&e)?;
            Ok((e, text))
        });
        view.events(&store.conn, events.collect::<Result<_>>()?)?;
    }
    // From now on events come from the log, whoever stored their lines
    // (this process or another).
    let opts = Options {
        defer_hook_sums: true,
        ..Default::default()
    };
    let poll_ms = args
        .poll_interval_ms
        .unwrap_or(settings.poll_interval_ms)
        .max(10);
    let mut roots = settings.roots.clone();
    let mut source = ChangeSource::new(&roots, Duration::from_millis(poll_ms));
    let mut roots_seen = Instant::now();
    if let Some(why) = &source.polling_because
        && !settings.quiet
    {
        crate::errln!("watch: {why}; polling every {poll_ms} ms");
    }
    view.ready(&store.conn)?;
    let mut last_draw = Instant::now();
    // A change not read yet: another process held the ingest lock.
    let mut pending = Change::Nothing;
    // (a closed pipe ends it as a failed write would, without waiting for
    // the next event to write)
    while !stop.load(Ordering::SeqCst) && !output::stdout_gone() {
        let change = match source.wait(Duration::from_millis(200)) {
            // a deleted file has nothing to read
            Change::Files(f) => {
                let f: Vec<_> = f.into_iter().filter(|f| f.is_file()).collect();
                if f.is_empty() {
                    Change::Nothing
                } else {
                    Change::Files(f)
                }
            }
            c => c,
        };
        pending = pending.and(change);
        // A root's projects/ folder made since (Claude Code's first run, or
        // a new config dir), or one replaced (moved away and made again:
        // the OS watcher follows the old one): watched from now on, and read.
        if roots_seen.elapsed() >= Duration::from_secs(1) {
            roots_seen = Instant::now();
            // The database deleted (or replaced: a backup moved over it)
            // while watching: what is stored from now on would go into a
            // file no path names, and be gone when watch ends.
            if crate::paths::file_at(&store.path) != opened {
                anyhow::bail!(
                    "{} was deleted or replaced while watch ran: watch stops, as what it \
                     stored now would go into the file it has open, which no path names. \
                     Run `observatory watch` (or `ingest`) again: it reads the transcripts \
                     into the database at that path",
                    store.path.display()
                );
            }
            let now: Vec<_> = roots.iter().map(crate::paths::Root::refreshed).collect();
            if now != roots || source.replaced() {
                roots = now;
                source = ChangeSource::new(&roots, Duration::from_millis(poll_ms));
                pending = pending.and(Change::Everything);
            }
        }
        let mut changed = false;
        if pending != Change::Nothing
            // Never wait for another ingest: what it stores is in the log,
            // and the change is read on a later wake-up.
            && let Some(lock) = IngestLock::try_acquire(&store.path)?
        {
            // (a pass that commits more than once emits each commit's
            // events as it commits: a later commit of the same pass may
            // trim them from the log)
            let mut pass = Pass {
                warn: &mut warn,
                log: &mut log,
                view: &mut view,
                failed: None,
            };
            match std::mem::replace(&mut pending, Change::Nothing) {
                Change::Files(files) => {
                    // Only the files the watcher named: no walk of the
                    // roots, no stat of every tracked file.
                    ingest::run_files(&mut store, &lock, &roots, &files, &prices, &opts, &mut pass)
                }
                _ => ingest::run_held(&mut store, &lock, &roots, &prices, &opts, &mut pass),
            }
            .with_context(|| format!("ingesting new lines into {}", store.path.display()))?;
            if let Some(e) = pass.failed {
                return Err(e);
            }
            changed = true;
        }
        changed |= emit_logged(&store.conn, &mut log, &mut view)?;
        if changed || last_draw.elapsed() >= Duration::from_secs(1) {
            view.draw(&store.conn)?;
            last_draw = Instant::now();
        }
    }
    view.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Print the events logged since the last read (and the budgets, when a
/// response changed); true if there were any.
fn emit_logged(conn: &Connection, log: &mut Log, view: &mut View) -> Result<bool> {
    let events = log.read(conn)?;
    let priced = events.iter().any(|(e, _)| {
        matches!(
            e.get("event").and_then(Value::as_str),
            Some("response" | "response_update")
        )
    });
    let any = !events.is_empty();
    view.events(conn, events)?;
    if priced {
        view.budgets(conn)?;
    }
    Ok(any)
}

/// The observer of one of the watcher's own ingests: its warnings as
/// `Warnings` says them, and the events of each commit printed as it
/// commits.
struct Pass<'a> {
    warn: &'a mut Warnings,
    log: &'a mut Log,
    view: &'a mut View,
    /// What stopped the printing (a closed pipe): returned after the pass.
    failed: Option<anyhow::Error>,
}

impl Observer for Pass<'_> {
    fn notice(&mut self, n: &Notice) {
        self.warn.notice(n);
    }
    fn warning(&mut self, message: &str) {
        self.warn.warning(message);
    }
    fn recurring(&mut self, message: &str) {
        self.warn.recurring(message);
    }
    fn committed(&mut self, conn: &Connection) {
        if self.failed.is_none()
            && let Err(e) = emit_logged(conn, self.log, self.view)
        {
            self.failed = Some(e);
        }
    }
}

/// Where this watcher is in the event log.
struct Log {
    /// The largest id emitted (or skipped at the start).
    last: i64,
    quiet: bool,
}

impl Log {
    /// The events logged since the last read, in the order they were
    /// stored, parsed and as logged. Ids are consecutive: a gap is events
    /// trimmed (`KEEP`) or forgotten before this watcher read them, and is
    /// said on stderr.
    fn read(&mut self, conn: &Connection) -> Result<Vec<(Value, String)>> {
        let rows = watch_log::since(conn, self.last).context("reading the watch log")?;
        let mut events = Vec::with_capacity(rows.len());
        for (id, text) in rows {
            if id > self.last + 1 {
                let missed = id - self.last - 1;
                if !self.quiet {
                    output::style::warn(format_args!(
                        "watch: {} gone from the log before they were read (each ingest keeps its own and the {} before them; a forget removes a session's)",
                        super::count(missed.max(0) as u64, "event was", "events were"),
                        watch_log::KEEP
                    ));
                }
                // (for scripts too, in the stream: whatever they sum is short)
                let e = serde_json::json!({"event": "missed", "events": missed});
                let text = e.to_string();
                events.push((e, text));
            }
            self.last = id;
            let e = serde_json::from_str(&text).context("an event in the watch log")?;
            events.push((e, text));
        }
        Ok(events)
    }
}

struct View {
    ndjson: bool,
    session: Option<String>,
    /// `session` is an existing session's whole id: that one alone.
    session_exact: bool,
    project: Option<String>,
    tail: std::collections::VecDeque<String>,
    zone: Zone,
    week_start: WeekStart,
    /// Budgets at or over their warn level: the view's warning lines.
    /// The budgets crossed: their sentence, and its short form (figures
    /// first) for a narrow terminal.
    crossed: Vec<(String, String)>,
    /// Each budget's last status and period, so NDJSON says a crossing once.
    budget_state: HashMap<i64, (Status, NaiveDate)>,
    /// With `--session PREFIX` (not quiet): the sessions it matched so far,
    /// so that one that begins later is named on stderr once.
    sessions_seen: Option<HashSet<String>>,
    /// A frame was drawn: the next ones overwrite it in place.
    drawn: bool,
}

impl View {
    /// A session `--session` keeps (any, without it).
    fn session_wanted(&self, id: &str) -> bool {
        match &self.session {
            None => true,
            Some(s) if self.session_exact => id == s,
            Some(s) => id.starts_with(s.as_str()),
        }
    }

    fn new(args: &WatchArgs, ndjson: bool, zone: Zone, week_start: WeekStart) -> View {
        View {
            ndjson,
            session: args.session.clone(),
            session_exact: false,
            project: args.project.clone(),
            tail: Default::default(),
            zone,
            week_start,
            crossed: Vec::new(),
            budget_state: HashMap::new(),
            sessions_seen: None,
            drawn: false,
        }
    }

    /// Re-check the budgets (after new responses): the view shows a warning
    /// line per crossed budget; NDJSON gets a `budget` event when a budget's
    /// status changes within its period (including the first check).
    fn budgets(&mut self, conn: &Connection) -> Result<()> {
        let crossed =
            match super::budget::crossed(conn, &self.zone, self.week_start, report::now_ms()) {
                Ok(c) => c,
                Err(e) => {
                    let line = format!("could not check budgets: {e:#}");
                    self.crossed = vec![(line.clone(), line)];
                    return Ok(());
                }
            };
        let mut seen = HashMap::new();
        for (s, line) in &crossed {
            let state = (s.status, s.start);
            seen.insert(s.budget.id, state);
            if self.ndjson && self.budget_state.get(&s.budget.id) != Some(&state) {
                let mut e = super::budget::status_json(s);
                e["event"] = "budget".into();
                e["message"] = line.clone().into();
                output::emit(&format!("{}\n", serde_json::to_string(&e)?))?;
            }
        }
        self.budget_state = seen;
        self.crossed = crossed
            .into_iter()
            .map(|(s, line)| {
                let short = super::budget::crossed_short(&s).unwrap_or_else(|| line.clone());
                (line, short)
            })
            .collect();
        Ok(())
    }

    /// `folder`: the transcript folder of the event's session, when the
    /// event names no project (nor does its session yet: its first lines
    /// named no working directory), for `--project` to match.
    fn wanted(&self, e: &Value, folder: Option<&str>) -> bool {
        let field = |k: &str| e.get(k).and_then(Value::as_str);
        if field("event") == Some("missed") {
            return true; // (of any session: said whatever the filters)
        }
        if self.session.is_some() && !field("session_id").is_some_and(|id| self.session_wanted(id))
        {
            return false;
        }
        if let Some(p) = &self.project {
            let matches = match (field("project"), folder) {
                (None, Some(folder)) => crate::report::folder_matches(folder, p),
                (project, _) => crate::report::project_matches(project, Some(p)),
            };
            if !matches {
                return false;
            }
        }
        true
    }

    /// Show events (each parsed, and as its NDJSON line without the
    /// newline). An event of a line without a working directory (a queue
    /// operation, a session's title line) is given its session's project.
    fn events(&mut self, conn: &Connection, events: Vec<(Value, String)>) -> Result<()> {
        for (mut e, mut line) in events {
            let mut folder = None;
            if e.get("project").is_some_and(Value::is_null)
                && let Some(sid) = e.get("session_id").and_then(Value::as_str)
            {
                match session_project(conn, sid)? {
                    Some(project) => {
                        e["project"] = project.into();
                        line = serde_json::to_string(&e)?;
                    }
                    None if self.project.is_some() => folder = session_folder(conn, sid)?,
                    None => {}
                }
            }
            // (a session whose whole id was given, begun since the start:
            // that session alone from here on, as had it been there then;
            // review-s35 L6)
            if !self.session_exact
                && let Some(id) = self.session.as_deref()
                && e.get("session_id").and_then(Value::as_str) == Some(id)
            {
                self.session_exact = true;
                // (said unless -q, as the sessions followed until now were)
                if let Some(seen) = self.sessions_seen.take() {
                    let others = seen.len();
                    output::style::warn(format_args!(
                        "watch: session {id} began: watching it alone from now on{}",
                        match others {
                            0 => String::new(),
                            1 => " (not the 1 other whose id starts with it)".into(),
                            n => format!(" (not the {n} others whose ids start with it)"),
                        }
                    ));
                }
            }
            if !self.wanted(&e, folder.as_deref()) {
                continue;
            }
            if let (Some(seen), Some(prefix)) = (&mut self.sessions_seen, &self.session)
                && let Some(id) = e.get("session_id").and_then(Value::as_str)
                && seen.insert(id.to_owned())
            {
                output::style::warn(format_args!(
                    "watch: session {id} began (its id starts with {prefix:?}): watching it"
                ));
            }
            if self.ndjson {
                line.push('\n');
                output::emit(&line)?;
            } else if !is_empty_message(&e) {
                self.tail.push_back(describe(&e, &self.zone));
                while self.tail.len() > TAIL {
                    self.tail.pop_front();
                }
            }
        }
        Ok(())
    }

    /// The catch-up is done: `ready` first (a script may wait for that
    /// line), then the budgets already crossed; the view draws them.
    fn ready(&mut self, conn: &Connection) -> Result<()> {
        if self.ndjson {
            output::emit("{\"event\":\"ready\"}\n")?;
            self.budgets(conn)
        } else {
            self.budgets(conn)?;
            self.draw(conn)
        }
    }

    fn close(&mut self) -> Result<()> {
        if !self.ndjson {
            output::emit("\n")?;
        }
        Ok(())
    }

    /// Redraw the whole view in place (cursor home, clear below).
    fn draw(&mut self, conn: &Connection) -> Result<()> {
        if self.ndjson {
            return Ok(());
        }
        let now = report::now_ms();
        let today_start = self.zone.start_of(self.zone.date(now));
        // (with --project, today's cost and the block are the project's,
        // as the sessions below are: tour-s38 M2)
        let today = match &self.project {
            None => today_text(conn, today_start)?,
            Some(p) => {
                let q = report::cost::CostQuery {
                    groups: Vec::new(),
                    range: report::TimeRange {
                        from_ms: Some(today_start),
                        ..Default::default()
                    },
                    project: Some(p.clone()),
                    session: None,
                    model: None,
                    week_start: self.week_start,
                };
                let total = report::cost::run(conn, &q, &self.zone)?.total;
                super::money_part(total.cost(), total.unpriced_requests())
            }
        };
        // (the account's block: read near now only; with --project, the
        // project's share of the account's block, which needs them all)
        let block = match &self.project {
            None => report::statusline::active_block(conn, now)?,
            Some(p) => {
                let q = report::blocks::BlocksQuery {
                    range: Default::default(),
                    project: Some(p.clone()),
                    active_only: true,
                };
                report::blocks::run(conn, &q, now)?
                    .rows
                    .into_iter()
                    .find(|b| b.active)
            }
        };
        let block_text = match block {
            Some(b) => format!(
                "block {} ({} left{})",
                super::money_part(
                    (b.unpriced_responses < b.responses).then_some(b.cost_picousd),
                    b.unpriced_responses
                ),
                super::statusline::left(b.end_at - now),
                b.burn_rate_picousd_per_hour
                    .map(|r| format!(", {}/h", super::cost::dollars(r)))
                    .unwrap_or_default()
            ),
            None => "no active block".into(),
        };
        // (the terminal's size now: a resize shows at the next redraw)
        let (width, height) = match output::terminal_size() {
            (w, Some(h)) => (w.max(40), h.max(1)),
            (w, None) => (w.max(40), usize::MAX),
        };
        let head = head_line(
            &self.zone.format(now, "%H:%M:%S"),
            &today,
            &block_text,
            width,
        );
        let rows = active_sessions(conn, now, self)?;
        let tail: Vec<&str> = self.tail.iter().map(String::as_str).collect();
        let out = fit_frame(&head, &self.crossed, &rows, &tail, width, height);
        output::emit(&redraw(&out, !std::mem::replace(&mut self.drawn, true)))?;
        Ok(())
    }
}

/// The escapes that show `frame` in place of the last one: the screen
/// cleared once (`first`), then each line overwritten from the top, the
/// rest of each line and of the screen erased. Clearing the whole screen at
/// every redraw (once a second) made tmux and VTE terminals copy every
/// frame into their scrollback, pushing the user's history out in a minute.
fn redraw(frame: &str, first: bool) -> String {
    let mut out = String::with_capacity(frame.len() + 256);
    out.push_str(if first { "\x1b[H\x1b[2J" } else { "\x1b[H" });
    for line in frame.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(l) => {
                out.push_str(l);
                out.push_str("\x1b[K\n");
            }
            None => {
                out.push_str(line);
                out.push_str("\x1b[K");
            }
        }
    }
    out.push_str("\x1b[J");
    out
}

/// The view: its head lines, the crossed budgets, the active sessions,
/// the recent events and the footer, at most `width` columns and `height`
/// lines, the cursor's after the last line end included (a taller frame
/// would scroll at every redraw): fewer events first, then fewer sessions
/// ("… and N more"), then the budgets in one line, then what does not fit
/// at the bottom.
fn fit_frame(
    head: &str,
    crossed: &[(String, String)],
    rows: &[Vec<String>],
    tail: &[&str],
    width: usize,
    height: usize,
) -> String {
    let head: String = head
        .lines()
        .map(|l| output::short_to(l, width - 1) + "\n")
        .collect();
    let budgets = |all: bool| -> String {
        let mut out = String::new();
        if all {
            // (the sentence, or where it does not fit, its figures first:
            // cut, it lost the money)
            for (line, short) in crossed {
                let line = if output::fits(line, width - 3) {
                    line
                } else {
                    short
                };
                out.push_str(&format!("! {}\n", output::short_to(line, width - 3)));
            }
        } else {
            let n = crossed.len();
            out.push_str(&output::short_to(
                &format!("! {n} budgets at their warn level or over: `observatory budget check`"),
                width - 1,
            ));
            out.push('\n');
        }
        if !crossed.is_empty() {
            out.push('\n');
        }
        out
    };
    // (`stop_line`: "Ctrl-C to stop"; without it, no events' header either
    // when no event is shown)
    let frame = |sessions: usize, events: usize, all_budgets: bool, stop_line: bool| -> String {
        let mut out = head.clone();
        out.push_str(&budgets(all_budgets));
        if rows.is_empty() {
            out.push_str(&output::wrap(
                "No session active in the last 30 minutes.",
                Some(width - 1),
            ));
            out.push('\n');
        } else {
            let cols = [
                table::text("Project"),
                table::text("Session"),
                table::text("Model"),
                table::text("Started"),
                table::text("Last"),
                table::num("Tokens"),
                table::num("Cost"),
                table::num("$/h 10m"),
            ];
            let shown = &rows[..sessions.min(rows.len())];
            out.push_str(&table::fit(
                &cols,
                shown,
                &[],
                Some(width),
                // (the title names a session here: the project is cut
                // first, and Started and $/h go before a title is cut
                // under 20 columns)
                &[(0, 10), (1, 20), (2, 6)],
                &[7, 3, 2, 5],
            ));
            out.push('\n');
            if shown.len() < rows.len() {
                out.push_str(&format!("… and {} more\n", rows.len() - shown.len()));
            }
        }
        if stop_line || events > 0 {
            out.push_str("\nRecent events\n");
        }
        for line in &tail[tail.len() - events.min(tail.len())..] {
            out.push_str(&output::short_to(line, width - 1));
            out.push('\n');
        }
        if stop_line {
            out.push_str("\nCtrl-C to stop\n");
        }
        out
    };
    let (mut sessions, mut events, mut all_budgets) = (rows.len(), tail.len(), true);
    let mut stop_line = true;
    let mut out = frame(sessions, events, all_budgets, stop_line);
    // (what is left to give up, in order: events down to the last 3, the
    // live part; sessions down to one; the "Ctrl-C to stop" line; those 3
    // events, and their header with the last; the budgets in one line: the
    // head, the time and today's cost, which a terminal would scroll off
    // first, is never given up. A frame that still does not fit is as
    // short as it gets.)
    let kept_events = tail.len().min(3);
    while out.lines().count() >= height {
        if events > kept_events {
            events -= 1;
        } else if sessions > 1 {
            sessions -= 1;
        } else if stop_line {
            stop_line = false;
        } else if events > 0 {
            events -= 1;
        } else if all_budgets && crossed.len() > 1 {
            all_budgets = false;
        } else {
            // (as short as it gets, and still too tall: cut at the bottom,
            // where the terminal would have lost the head at the top, to
            // every line of the screen, the last without a line end, which
            // would scroll; and a table's rule or a blank line at the
            // bottom, which says nothing, goes)
            let mut lines: Vec<&str> = out.lines().take(height).collect();
            while lines.len() > 1
                && !lines
                    .last()
                    .is_some_and(|l| l.chars().any(char::is_alphanumeric))
            {
                lines.pop();
            }
            return lines.join("\n");
        }
        out = frame(sessions, events, all_budgets, stop_line);
    }
    out
}

/// The cost of the responses since `since` as the head shows it: `*`
/// when some have no price, `-` when none has one ($0.00 with none).
fn today_text(conn: &Connection, since: i64) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT sum(cost_picousd / 1000000000000), sum(cost_picousd % 1000000000000),
                count(*) - count(cost_picousd)
         FROM responses WHERE at >= ?1",
        [since],
        |r| {
            let unpriced = r.get::<_, i64>(2)?.max(0) as u64;
            // (a sum of no priced cost is NULL)
            let priced = r.get::<_, Option<i64>>(0)?.is_some() || unpriced == 0;
            let cost = report::split_sum(r.get(0)?, r.get(1)?);
            Ok(super::money_part(priced.then_some(cost), unpriced))
        },
    )
}

/// Sessions with activity in the last 30 minutes, busiest first.
fn active_sessions(conn: &Connection, now: i64, view: &View) -> Result<Vec<Vec<String>>> {
    let mut st = conn.prepare(
        "SELECT s.session_id, coalesce(p.path, ''), coalesce(nullif(s.custom_title, ''), nullif(s.ai_title, '')), s.last_at,
                (SELECT r.model FROM responses r WHERE r.session_id = s.session_id ORDER BY r.at DESC LIMIT 1),
                (SELECT coalesce(sum(r.input_tokens + r.output_tokens + r.cache_creation_5m_tokens + r.cache_creation_1h_tokens + r.cache_read_tokens), 0)
                   FROM responses r WHERE r.session_id = s.session_id),
                (SELECT sum(r.cost_picousd / 1000000000000) FROM responses r WHERE r.session_id = s.session_id),
                (SELECT sum(r.cost_picousd % 1000000000000) FROM responses r WHERE r.session_id = s.session_id),
                (SELECT count(*) - count(r.cost_picousd) FROM responses r WHERE r.session_id = s.session_id),
                (SELECT sum(r.cost_picousd / 1000000000000) FROM responses r WHERE r.session_id = s.session_id AND r.at >= ?2),
                (SELECT sum(r.cost_picousd % 1000000000000) FROM responses r WHERE r.session_id = s.session_id AND r.at >= ?2),
                s.first_at, s.first_prompt, s.slug
         FROM sessions s LEFT JOIN projects p ON p.id = s.project_id
         WHERE s.agent_id = '' AND s.last_at >= ?1
         ORDER BY s.last_at DESC LIMIT 100",
    )?;
    let rows = st.query_map([now - 30 * 60_000, now - 10 * 60_000], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            // (its title, else its first prompt as typed, else its slug,
            // else its id's first 8 characters; `sessions` also reads
            // summaries)
            r.get::<_, Option<String>>(2)?
                .or_else(|| {
                    r.get::<_, Option<String>>(12).ok().flatten().map(|p| {
                        let p = crate::report::commands::as_typed(&p).unwrap_or(p);
                        p.split_whitespace().collect::<Vec<_>>().join(" ")
                    })
                })
                .filter(|t| !t.is_empty())
                .or_else(|| r.get::<_, Option<String>>(13).ok().flatten())
                .unwrap_or_default(),
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
            report::split_sum(r.get(6)?, r.get(7)?),
            r.get::<_, i64>(8)?.max(0) as u64,
            // (a sum of no priced cost is NULL)
            r.get::<_, Option<i64>>(6)?.is_some(),
            report::split_sum(r.get(9)?, r.get(10)?),
            r.get::<_, Option<i64>>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, project, title, last, models, tokens, cost, unpriced, priced, recent, first) =
            row?;
        if !view.session_wanted(&id)
            || view
                .project
                .as_ref()
                .is_some_and(|p| !crate::report::project_matches(Some(&project), Some(p)))
        {
            continue;
        }
        let name = project.rsplit('/').next().unwrap_or("").to_owned();
        let session = if title.is_empty() {
            id.chars().take(8).collect()
        } else {
            title
        };
        out.push(vec![
            name,
            session,
            short_model(&models.unwrap_or_default()),
            // (a session started on another day shows that day instead)
            first
                .map(|t| {
                    if view.zone.date(t) == view.zone.date(now) {
                        view.zone.format(t, "%H:%M")
                    } else {
                        view.zone.format(t, "%m-%d")
                    }
                })
                .unwrap_or_default(),
            view.zone.format(last, "%H:%M"),
            output::thousands(tokens.max(0) as u64),
            // (`*`: some responses have no price; `-`: none has one)
            super::money_part(priced.then_some(cost), unpriced),
            super::money_part(priced.then_some(recent * 6), unpriced),
        ]);
    }
    Ok(out)
}

/// `claude-sonnet-4-5-20250929` -> `sonnet-4-5`.
fn short_model(m: &str) -> String {
    let m = m.strip_prefix("claude-").unwrap_or(m);
    match m.rsplit_once('-') {
        Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
            head.to_owned()
        }
        _ => m.to_owned(),
    }
}

/// The view's first lines: the time, today's cost and the block's, in one
/// line as wide as the terminal allows, without the name when narrower,
/// on two lines when narrower still (the money is never cut).
fn head_line(time: &str, today: &str, block: &str, width: usize) -> String {
    let full = format!("observatory watch · {time} · today {today} · {block}");
    if output::fits(&full, width - 1) {
        return full + "\n\n";
    }
    let short = format!("{time} · today {today} · {block}");
    if output::fits(&short, width - 1) {
        return short + "\n\n";
    }
    format!("{time} · today {today}\n{block}\n\n")
}

/// The project path of session `sid`, if it has one yet (every thread of a
/// session has its project).
fn session_project(conn: &Connection, sid: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT p.path FROM sessions s JOIN projects p ON p.id = s.project_id
         WHERE s.session_id = ?1 LIMIT 1",
    )?
    .query_row([sid], |r| r.get(0))
    .optional()
}

/// The folder under `projects/` that holds session `sid`'s transcript.
fn session_folder(conn: &Connection, sid: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT project_dir FROM source_files
         WHERE superseded = 0 AND substr(path, -(length(?1) + 7)) = '/' || ?1 || '.jsonl'
         LIMIT 1",
    )?
    .query_row([sid], |r| r.get(0))
    .optional()
    .map(Option::flatten)
}

/// A message event with no text (an assistant line of tool calls only,
/// which have their own events): left out of the view's tail.
fn is_empty_message(e: &Value) -> bool {
    e.get("event").and_then(Value::as_str) == Some("message")
        && e.get("text")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
}

/// One line of the view's event tail.
fn describe(e: &Value, zone: &Zone) -> String {
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
    let at = e
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(crate::transcript::parse_timestamp)
        .map(|t| zone.format(t, "%H:%M:%S"))
        .unwrap_or_else(|| "--:--:--".into());
    let what = match s("event") {
        "message" => format!("{} {}", s("type"), short(s("text"))),
        // (the model as the sessions table names it: a narrow view kept
        // the full id and cut the money after it)
        "response" | "response_update" => format!(
            "{} {} out {} {}",
            s("event"),
            short_model(s("model")),
            e.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
            // (the event's exact decimal, shown as all money is to people)
            e.get("cost_usd")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<rust_decimal::Decimal>().ok())
                .and_then(|c| {
                    use rust_decimal::prelude::ToPrimitive;
                    (c * rust_decimal::Decimal::from(1_000_000_000_000_i64)).to_i128()
                })
                .map(|c| super::money(Some(c)))
                .unwrap_or_else(|| "unpriced".into())
        ),
        "tool_call" => format!("tool {} {}", s("tool"), short(s("input_summary"))),
        "tool_result" => format!(
            "done {} {}ms{}",
            s("tool"),
            e.get("duration_ms").and_then(Value::as_i64).unwrap_or(0),
            if e.get("is_error").and_then(Value::as_bool) == Some(true) {
                " ERROR"
            } else {
                ""
            }
        ),
        "hook" if crate::report::hooks::is_note(s("source"), s("outcome")) => format!(
            "hook {} {}",
            s("hook_event"),
            super::show::note(s("outcome"))
        ),
        "hook" => format!("hook {} {} {}", s("hook_event"), s("command"), s("outcome")),
        "compaction" => format!("compaction {}", s("trigger")),
        "queue_operation" => format!("queue {} {}", s("operation"), short(s("content"))),
        "session_start" => "session started".into(),
        "missed" => format!(
            "{} events missed (gone from the log before they were read)",
            e.get("events").and_then(Value::as_i64).unwrap_or(0)
        ),
        "malformed_line" => format!(
            "malformed line {}:{}",
            s("file"),
            e.get("line").and_then(Value::as_u64).unwrap_or(0)
        ),
        other => other.to_owned(),
    };
    // (cut to the terminal when drawn; every field of it is a transcript's
    // text, a hook's command or a model id as much as a prompt: on one
    // line, without escapes or controls, which would act on the terminal)
    crate::output::table::visible(&short(&format!(
        "{at} {} {what}",
        s("session_id").chars().take(8).collect::<String>()
    )))
}

/// An event's text on one line (control characters as spaces, ANSI
/// escapes dropped), in at most 200 columns: the frame cuts it to the
/// terminal.
fn short(s: &str) -> String {
    super::clip(s, 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every field of an event line is made safe for the terminal, not
    /// the prompt alone: a hook command holding escapes (the alternate
    /// screen, a hidden cursor) or line ends, a model id or a tool name
    /// with controls, a right-to-left override.
    #[test]
    fn event_lines_never_carry_escapes_or_line_ends() {
        let zone = Zone::parse("UTC").unwrap();
        let evil = "a\u{1b}[?25l\u{1b}[?1049hb\r\nc\u{7}\u{202e}d";
        for e in [
            json!({"event": "hook", "hook_event": "Stop", "command": evil, "outcome": "success"}),
            json!({"event": "response", "model": evil, "output_tokens": 1}),
            json!({"event": "tool_result", "tool": evil, "duration_ms": 1}),
            json!({"event": "compaction", "trigger": evil}),
            json!({"event": "malformed_line", "file": evil, "line": 2}),
            json!({"event": "message", "type": "user", "text": "x", "session_id": evil}),
        ] {
            let line = describe(&e, &zone);
            assert!(
                !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{e}: {line:?}"
            );
        }
    }

    /// A frame after the first overwrites the last in place (never the
    /// whole screen cleared, which terminals copy into their scrollback),
    /// erasing what the last one had beyond each line and below it.
    #[test]
    fn frames_after_the_first_overwrite_in_place() {
        let frame = "12:00:00 today $1.00\nsessions\n";
        let first = redraw(frame, true);
        assert!(first.starts_with("\x1b[H\x1b[2J"), "{first:?}");
        let next = redraw(frame, false);
        assert!(!next.contains("\x1b[2J"), "{next:?}");
        assert_eq!(
            next,
            "\x1b[H12:00:00 today $1.00\x1b[K\nsessions\x1b[K\n\x1b[J"
        );
    }

    #[test]
    fn event_text_is_one_short_line() {
        // a prompt with a CRLF, a tab and a colour escape: one line, plain
        let text = "fix the\r\nbuild\tplease \u{1b}[31mnow\u{1b}[0m";
        assert_eq!(short(text), "fix the build please now");
        let long = format!("{}👍🏽 and more", "x".repeat(198));
        assert_eq!(short(&long), format!("{}…", "x".repeat(198)));
        assert!(output::columns(&short(&"日本語".repeat(80))) <= 200);
    }

    #[test]
    fn the_days_cost_is_marked_when_some_responses_have_no_price() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        let store = |at: i64, cost: Option<i64>| {
            conn.execute(
                "INSERT INTO response_rows(key, model, at, input_tokens, output_tokens, cache_creation_5m_tokens,
                    cache_creation_1h_tokens, cache_read_tokens, web_search_requests, web_fetch_requests, fast,
                    us_only, final, line_count, cost_picousd)
                 VALUES ('k' || (SELECT count(*) FROM response_rows), 'm', ?1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, ?2)",
                rusqlite::params![at, cost],
            )
            .unwrap();
        };
        let day = 1_000_000;
        assert_eq!(today_text(&conn, day).unwrap(), "$0.00");
        store(day + 1, None);
        assert_eq!(today_text(&conn, day).unwrap(), "-");
        store(day + 2, Some(1_250_000_000_000));
        store(day + 3, Some(1_000_000_000_000));
        assert_eq!(today_text(&conn, day).unwrap(), "$2.25*");
        // (yesterday's unpriced response is not today's)
        assert_eq!(today_text(&conn, day + 2).unwrap(), "$2.25");
    }

    /// A session is named as `sessions` names it: its title, else its
    /// first prompt (a slash command as typed, on one line), else its
    /// slug, else the first 8 characters of its id.
    #[test]
    fn active_sessions_are_named_as_sessions_names_them() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        let now = 10_000_000_000;
        let add =
            |id: &str, ai: Option<&str>, prompt: Option<&str>, slug: Option<&str>, at: i64| {
                conn.execute(
                "INSERT INTO sessions(session_id, first_at, last_at, ai_title, first_prompt, slug)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
                rusqlite::params![id, at, ai, prompt, slug],
            )
            .unwrap();
            };
        add(
            "aaaaaaaa-1",
            Some("Fix the build"),
            Some("why"),
            None,
            now - 1,
        );
        add(
            "bbbbbbbb-2",
            None,
            Some("tidy\n  my zshrc"),
            Some("calm-otter"),
            now - 2,
        );
        add(
            "cccccccc-3",
            None,
            Some("<command-message>review</command-message>\n<command-name>/review</command-name>"),
            None,
            now - 3,
        );
        add("dddddddd-4", None, None, Some("calm-otter"), now - 4);
        add("eeeeeeee-5", Some(""), Some(""), None, now - 5);
        let view = View {
            ndjson: false,
            session: None,
            session_exact: false,
            project: None,
            tail: Default::default(),
            zone: Zone::parse("UTC").unwrap(),
            week_start: WeekStart::Monday,
            crossed: Vec::new(),
            budget_state: HashMap::new(),
            sessions_seen: None,
            drawn: false,
        };
        let names: Vec<String> = active_sessions(&conn, now, &view)
            .unwrap()
            .into_iter()
            .map(|row| row[1].clone())
            .collect();
        assert_eq!(
            names,
            [
                "Fix the build",
                "tidy my zshrc",
                "/review",
                "calm-otter",
                "eeeeeeee"
            ]
        );
    }

    #[test]
    fn short_models() {
        assert_eq!(short_model("claude-sonnet-4-5-20250929"), "sonnet-4-5");
        assert_eq!(short_model("claude-opus-4-7"), "opus-4-7");
        assert_eq!(short_model("grok-4.5"), "grok-4.5");
    }

    #[test]
    fn the_frame_fits_the_terminal() {
        let head = "observatory watch · 10:00:00 · today $1.00 · no active block\n\n";
        let rows: Vec<Vec<String>> = (0..7)
            .map(|i| {
                vec![
                    format!("project-{i}"),
                    format!("a rather long session title {i}"),
                    "sonnet-4-5".into(),
                    "09:00".into(),
                    "09:59".into(),
                    "1,234,567".into(),
                    "$12.34".into(),
                    "$1.00".into(),
                ]
            })
            .collect();
        let events: Vec<String> = (0..12)
            .map(|i| format!("09:59:{i:02} response {} tokens", "x".repeat(90)))
            .collect();
        let tail: Vec<&str> = events.iter().map(String::as_str).collect();
        let fits = |width: usize, height: usize| {
            let out = fit_frame(head, &[], &rows, &tail, width, height);
            assert!(out.lines().count() < height, "{height}:\n{out}");
            for line in out.lines() {
                assert!(output::columns(line) <= width, "{width}: {line}");
            }
            out
        };
        // a wide terminal: the titles whole; at 80 they are cut, but keep
        // 20 columns (they were cut to 7 before any other column)
        assert!(fits(160, 24).contains("a rather long session title 6"));
        assert!(!fits(80, 24).contains("a rather long session title 6"));
        assert!(fits(80, 24).contains("a rather long sess"));
        // a long project folder is cut before the titles that tell its
        // sessions apart
        let long: Vec<Vec<String>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone();
                r[0] = "frontend-application-with-a-very-long-name".into();
                r[1] = format!("task number {i} of the sprint");
                r
            })
            .collect();
        let out = fit_frame(head, &[], &long, &tail, 100, 30);
        assert!(
            (0..7).all(|i| out.contains(&format!("task number {i} "))),
            "{out}"
        );
        // 24 lines: all sessions, the newest events only
        let out = fits(80, 24);
        assert_eq!(out.matches("$12.34").count(), 7, "{out}");
        assert!(
            out.contains("09:59:11") && !out.contains("09:59:00"),
            "{out}"
        );
        // 15 lines, 40 columns: one session, the rest said, and the newest
        // events (the live part) as many as fit of 3
        let out = fits(40, 15);
        assert!(out.contains("… and 6 more\n"), "{out}");
        assert!(
            out.contains("09:59:11") && out.contains("09:59:10") && !out.contains("09:59:08"),
            "{out}"
        );
        // 18 lines: the 3 newest events, before more sessions
        let out = fits(80, 18);
        assert!(
            out.contains("09:59:09") && !out.contains("09:59:08"),
            "{out}"
        );
        // wide characters count two columns
        let wide = [format!("09:59:59 prompt {}", "日本語😀".repeat(30))];
        let out = fit_frame(head, &[], &rows[..1], &[wide[0].as_str()], 80, 40);
        for line in out.lines() {
            assert!(unicode_width::UnicodeWidthStr::width(line) <= 80, "{line}");
        }
        // no session: said in full, wrapped in a narrow terminal
        let out = fit_frame(head, &[], &[], &tail, 40, 30);
        assert!(out.contains("minutes."), "{out}");
        // room for everything: everything
        let out = fit_frame(head, &[], &rows, &tail, 80, usize::MAX);
        assert!(out.contains("09:59:00") && !out.contains("more\n"));
        // many crossed budgets on a short terminal: one line says them
        let crossed: Vec<(String, String)> = (1..=8)
            .map(|i| {
                (
                    format!("budget {i} (monthly, project \"/home/u/web\") is over its limit: $2.00 of $1.00 spent (200%) on 2026-03-01 to 2026-03-31"),
                    format!("budget {i}: $2.00 of $1.00 (200%)"),
                )
            })
            .collect();
        let out = fit_frame(head, &crossed, &rows, &tail, 140, 24);
        assert_eq!(out.matches("is over its limit").count(), 8, "{out}");
        // narrower: the figures first, not the sentence cut before them
        let out = fit_frame(head, &crossed, &rows, &tail, 50, 30);
        assert_eq!(out.matches(": $2.00 of $1.00 (200%)").count(), 8, "{out}");
        let out = fit_frame(head, &crossed, &rows, &tail, 80, 17);
        assert!(out.lines().count() < 17, "{out}");
        // from 40 columns and 15 lines up, every size fits, budgets said
        for width in (40..=80).step_by(3) {
            for height in 15..=30 {
                let out = fit_frame(head, &crossed, &rows, &tail, width, height);
                assert!(out.lines().count() < height, "{width}x{height}:\n{out}");
                for line in out.lines() {
                    assert!(output::columns(line) <= width, "{width}x{height}: {line}");
                }
                let lines: Vec<&str> = out.lines().collect();
                let last = lines.iter().rposition(|l| l.starts_with("! "));
                assert!(
                    last.is_some_and(|i| lines[i + 1].is_empty()),
                    "budget lines, then a blank one: {width}x{height}:\n{out}"
                );
            }
        }
        assert!(
            out.contains("! 8 budgets at their warn level or over") && !out.contains("budget 1 "),
            "{out}"
        );
        // shorter still: the chrome goes before the head (the time and
        // today's cost), which a terminal would scroll off first
        let out = fit_frame(head, &[], &rows, &tail, 60, 9);
        assert!(out.lines().count() < 9, "{out}");
        assert!(
            out.starts_with("observatory watch") && !out.contains("Ctrl-C"),
            "{out}"
        );
        assert!(
            !out.contains("Recent events"),
            "no event shown, no header: {out}"
        );
        let out = fit_frame(head, &[], &rows, &tail, 60, 12);
        assert!(out.lines().count() < 12 && !out.contains("Ctrl-C"), "{out}");
        assert!(
            out.contains("Recent events\n09:59:11"),
            "the last event: {out}"
        );
        // shorter than the shortest frame (a budget, two head lines at 40
        // columns): cut at the bottom, never scrolled (tour-s38 M1: the
        // head scrolled off at 100x10 with a budget, 40x9 without), down to
        // one line (review-s37 L4: a floor of 2, and the cut frame kept a
        // line end)
        let narrow_head = "observatory watch · 10:00:00 · today $1.00\nno active block\n\n";
        for (h, crossed) in [(head, &crossed[..1]), (narrow_head, &crossed[..0])] {
            for width in [40, 60, 100] {
                for height in 1..=14 {
                    let out = fit_frame(h, crossed, &rows, &tail, width, height);
                    // (the cursor's line after a last line end counts)
                    let used = out.lines().count() + usize::from(out.ends_with('\n'));
                    assert!(used <= height, "{width}x{height}:\n{out}");
                    assert!(
                        out.starts_with("observatory watch"),
                        "{width}x{height}:\n{out}"
                    );
                    // (cut, it ends on a line that says something; review-s37
                    // L4: on a rule of the table's)
                    if !out.ends_with('\n') {
                        assert!(
                            out.lines()
                                .last()
                                .is_some_and(|l| l.chars().any(char::is_alphanumeric)),
                            "{width}x{height}:\n{out}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tail_money_is_rounded_as_everywhere_for_people() {
        let e = json!({"event": "response", "session_id": "0123456789abcdef", "timestamp": "2026-03-01T10:00:00.000Z",
                       "model": "claude-sonnet-4-5", "output_tokens": 120, "cost_usd": "1.2355428"});
        let line = describe(&e, &Zone::parse("UTC").unwrap());
        assert!(
            line.ends_with("response sonnet-4-5 out 120 $1.24"),
            "{line}"
        );
        let e = json!({"event": "response", "session_id": "0123456789abcdef", "model": "x", "cost_usd": null});
        assert!(describe(&e, &Zone::parse("UTC").unwrap()).ends_with(" unpriced"));
    }

    #[test]
    fn a_message_without_text_is_not_in_the_tail() {
        let m = |text: Value| json!({"event": "message", "type": "assistant", "text": text});
        assert!(is_empty_message(&m(json!(""))) && is_empty_message(&m(Value::Null)));
        assert!(!is_empty_message(&m(json!("Reading the file"))));
        assert!(!is_empty_message(
            &json!({"event": "tool_call", "tool": "Bash"})
        ));
    }

    #[test]
    fn the_head_keeps_its_money_whole() {
        let block = "block $12.34 (2h10m left, $5.67/h)";
        let at = |w| head_line("21:36:04", "$123.45", block, w);
        assert!(at(120).starts_with("observatory watch · 21:36:04 · today $123.45 · block $12.34"));
        assert!(
            at(70).starts_with("21:36:04 · today $123.45 · block $12.34 (2h10m left, $5.67/h)\n")
        );
        assert_eq!(at(40), format!("21:36:04 · today $123.45\n{block}\n\n"));
    }

    #[test]
    fn tail_lines_take_the_terminal_width() {
        let e = json!({"event": "tool_call", "session_id": "0123456789abcdef", "timestamp": "2026-03-01T10:00:00.000Z",
                       "tool": "Bash", "input_summary": "x".repeat(300)});
        let line = describe(&e, &Zone::parse("UTC").unwrap());
        assert!(line.starts_with("10:00:00 01234567 tool Bash"), "{line}");
        assert!(!line.contains('\n') && line.chars().count() < 240, "{line}");
        for width in [40, 80, 160] {
            let out = fit_frame("head\n\n", &[], &[], &[line.as_str()], width, 40);
            let drawn = out.lines().find(|l| l.starts_with("10:00:00")).unwrap();
            assert_eq!(output::columns(drawn), width, "{drawn}");
        }
    }
}
