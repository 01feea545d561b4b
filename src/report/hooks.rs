//! `observatory hooks`: hook runs per event and command, from `hook_runs`.
//!
//! `hook_runs` holds rows from every era, and one execution can leave two
//! rows: a `started` row (progress `hook_progress`, or 1.0.x "Running ..."
//! text) and a result row (an attachment, a stop-hook summary entry, or 1.0.x
//! result text). [`load_runs`] turns the rows into runs:
//!
//! - A `started` row is dropped when a result row of the same session, tool
//!   use id and event exists with the same command (or the start names no
//!   command); a start left alone is a run with no result (`Outcome::NoResult`).
//! - A hook attachment that is not a result (`success`, an error, a
//!   continuation stopped, a cancel) is a note, no run: the context an
//!   event's hooks gave the model (`additional_context`), a message they
//!   showed, a permission decision, and kinds not yet known. Claude Code
//!   writes those beside each hook's own result (another tool use id, no
//!   command). A note pairs with no start, counts in no report's runs, and
//!   is an event of its own in `show`.
//! - `success`: success. `blocking_error`: blocking
//!   error. `stopped_continuation`: prevented continuation. Any other outcome
//!   with "error" in it (`non_blocking_error`, `error`,
//!   `error_during_execution`): non-blocking error. Anything else: no result.
//! - A `stop_hook_summary` lists the Stop hooks it ran (`ran` rows) and, on
//!   its seq-0 row, an error count and whether continuation was prevented.
//!   With no errors and no prevention, every listed hook succeeded. With one
//!   listed hook, the errors (blocking: they kept Claude from stopping) and
//!   the prevention are that hook's. With several, the transcript does not
//!   say which hook failed: the listed hooks are runs with no result, and
//!   the errors and prevention go to a row with no command (not a run).
//! - Since 2.1.x a Stop hook also leaves an attachment result with the
//!   summary's tool use id: a listed hook with such a result (same command)
//!   is that run, not a second one, and the summary's errors and prevention
//!   are first put down to those results; only the rest is attributed as
//!   above, among the listed hooks without one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::{HashMap, HashSet};

use rusqlite::Connection;

use super::{TimeRange, percentile, project_matches};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    NonBlockingError,
    BlockingError,
    Prevented,
    NoResult,
    /// What an event's hooks gave beside their results (context for the
    /// model, a message, a decision): no run.
    Note,
}

impl Outcome {
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::NonBlockingError => "non_blocking_error",
            Outcome::BlockingError => "blocking_error",
            Outcome::Prevented => "prevented_continuation",
            Outcome::NoResult => "no_result",
            Outcome::Note => "note",
        }
    }

    /// What a stop-hook summary that failed says: errors (they kept Claude
    /// from stopping: blocking), else a prevented continuation.
    fn of_summary(errors: i64) -> Outcome {
        if errors > 0 {
            Outcome::BlockingError
        } else {
            Outcome::Prevented
        }
    }

    /// An error (blocking or not): what a run's error count counts.
    fn is_error(self) -> bool {
        matches!(self, Outcome::NonBlockingError | Outcome::BlockingError)
    }

    pub fn is_failure(self) -> bool {
        self.is_error() || self == Outcome::Prevented
    }

    fn of(raw: &str) -> Outcome {
        match raw {
            "success" => Outcome::Success,
            "blocking_error" => Outcome::BlockingError,
            "stopped_continuation" | "prevented_continuation" => Outcome::Prevented,
            r if r.contains("error") => Outcome::NonBlockingError,
            _ => Outcome::NoResult,
        }
    }
}

/// One hook execution (or, with `is_run` false, the unattributed errors of
/// a stop-hook summary).
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub line_id: i64,
    pub seq: i64,
    /// Its row's thread (`hook_run_rows.thread`).
    pub thread: Option<i64>,
    pub session_id: Option<Arc<str>>,
    pub agent_id: Option<Arc<str>>,
    pub project: Option<Arc<str>>,
    pub at: Option<i64>,
    pub event: Option<Arc<str>>,
    pub name: Option<Arc<str>>,
    pub command: Option<Arc<str>>,
    pub tool_use_id: Option<String>,
    /// As stored (`success`, `ran`, `started`, ...).
    pub raw_outcome: Arc<str>,
    pub outcome: Outcome,
    pub is_run: bool,
    /// Errors this row stands for (1 for an error run; a summary's count).
    pub errors: u64,
    pub prevented: bool,
    pub duration_ms: Option<i64>,
    pub output: Option<String>,
}

/// A hook row as pairing holds it: every row of a session at once (the
/// 600 MB single-session benchmark file's 64,000), so kept small: its
/// thread's ids by reference, texts that repeat shared, the others boxed.
struct Raw<'t> {
    line_id: i64,
    seq: i64,
    thread: Option<i64>,
    /// Its thread's session, agent and project.
    ids: Option<&'t Shared>,
    at: Option<i64>,
    source: Arc<str>,
    event: Option<Arc<str>>,
    name: Option<Arc<str>>,
    command: Option<Arc<str>>,
    tool_use_id: Option<Box<str>>,
    outcome: Arc<str>,
    duration_ms: Option<i64>,
    output: Option<Box<str>>,
    error_count: Option<i64>,
    /// A summary that prevented continuation.
    prevented: bool,
}

/// Whether a hook row (its source and outcome as stored) is a note, no
/// run: an attachment that is no result.
pub fn is_note(source: &str, outcome: &str) -> bool {
    source == "attachment"
        && !(outcome == "success"
            || outcome == "started"
            || outcome.contains("error")
            || outcome.contains("continuation")
            || outcome.contains("cancel"))
}

/// Each thread's session, agent and project, shared by its runs.
type Shared = (Option<Arc<str>>, Option<Arc<str>>, Option<Arc<str>>);

/// Every thread's (or one session's) ids and project, read once.
fn shared_threads(
    conn: &Connection,
    session: Option<&str>,
) -> rusqlite::Result<HashMap<i64, Shared>> {
    Ok(super::threads(conn, session, true)?
        .into_iter()
        .map(|(id, t)| {
            let shared = |s: Option<String>| s.map(Arc::from);
            (
                id,
                (shared(t.session_id), shared(t.agent_id), shared(t.project)),
            )
        })
        .collect())
}

/// Hook runs, in time order, optionally of one session only.
pub fn load_runs(conn: &Connection, session: Option<&str>) -> rusqlite::Result<Vec<HookRun>> {
    let threads = shared_threads(conn, session)?;
    let mut raws = read_rows(conn, &threads, of_session(session), session)?;
    time_order(&mut raws);
    Ok(pair(raws))
}

/// The filter over `h` for the rows of one session (`?1`), or of all.
fn of_session(session: Option<&str>) -> &'static str {
    match session {
        Some(_) => "h.thread IN (SELECT id FROM threads WHERE session_id = ?1)",
        None => "1",
    }
}

const SELECT_ROWS: &str = "SELECT h.line_id, h.seq, h.thread, h.at, h.source, h.event, h.name,
        h.command, h.tool_use_id, h.outcome, h.duration_ms, h.output, h.error_count,
        h.prevented_continuation
    FROM hook_run_rows h";

/// The hook rows `filter` (SQL over `h`, with `param` as ?1 if any)
/// selects.
fn read_rows<'t>(
    conn: &Connection,
    threads: &'t HashMap<i64, Shared>,
    filter: &str,
    param: Option<&str>,
) -> rusqlite::Result<Vec<Raw<'t>>> {
    let mut st = conn.prepare(&format!("{SELECT_ROWS} WHERE {filter}"))?;
    let mut rows = st.query(rusqlite::params_from_iter(param.iter()))?;
    let mut reader = RowReader::new(threads);
    let mut raws = Vec::new();
    while let Some(r) = rows.next()? {
        raws.push(reader.raw(r)?);
    }
    Ok(raws)
}

/// Time order, runs without a time last: what pairing needs. (Sorted
/// here: SQLite's sorter over every run's text was half of `hooks` on the
/// 1 GiB corpus.)
fn time_order(raws: &mut [Raw<'_>]) {
    raws.sort_unstable_by_key(|r| (r.at.is_none(), r.at, r.line_id, r.seq));
}

/// Rows of `SELECT_ROWS` as `Raw`s, each thread's ids and project shared,
/// and the texts that repeat (sources, outcomes, events, names, commands)
/// kept once.
struct RowReader<'t> {
    threads: &'t HashMap<i64, Shared>,
    known: HashSet<Arc<str>>,
}

impl<'t> RowReader<'t> {
    fn new(threads: &'t HashMap<i64, Shared>) -> RowReader<'t> {
        RowReader {
            threads,
            known: HashSet::default(),
        }
    }

    fn intern(&mut self, r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Arc<str>>> {
        let Some(text) = r.get_ref(i)?.as_str_or_null()? else {
            return Ok(None);
        };
        Ok(Some(match self.known.get(text) {
            Some(k) => Arc::clone(k),
            None => {
                let k: Arc<str> = Arc::from(text);
                self.known.insert(Arc::clone(&k));
                k
            }
        }))
    }

    fn raw(&mut self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw<'t>> {
        let thread: Option<i64> = r.get(2)?;
        let boxed = |i: usize| -> rusqlite::Result<Option<Box<str>>> {
            Ok(r.get::<_, Option<String>>(i)?.map(String::into_boxed_str))
        };
        Ok(Raw {
            line_id: r.get(0)?,
            seq: r.get(1)?,
            thread,
            ids: thread.and_then(|t| self.threads.get(&t)),
            at: r.get(3)?,
            source: self.intern(r, 4)?.unwrap_or_else(|| Arc::from("")),
            event: self.intern(r, 5)?,
            name: self.intern(r, 6)?,
            command: self.intern(r, 7)?,
            tool_use_id: boxed(8)?,
            outcome: self.intern(r, 9)?.unwrap_or_else(|| Arc::from("")),
            duration_ms: r.get(10)?,
            output: boxed(11)?,
            error_count: r.get(12)?,
            prevented: r.get::<_, Option<i64>>(13)?.unwrap_or(0) != 0,
        })
    }
}

/// (session, tool use id, and an event or a command)
type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

impl Raw<'_> {
    fn session_id(&self) -> Option<&str> {
        self.ids.and_then(|ids| ids.0.as_deref())
    }

    fn is_note(&self) -> bool {
        is_note(&self.source, &self.outcome)
    }

    /// What a start pairs with: its session, tool use and event.
    fn result_key(&self) -> Key<'_> {
        (
            self.session_id(),
            self.tool_use_id.as_deref(),
            self.event.as_deref(),
        )
    }

    /// One hook of one tool use: its session, tool use and command.
    fn hook_key(&self) -> Key<'_> {
        (
            self.session_id(),
            self.tool_use_id.as_deref(),
            self.command.as_deref(),
        )
    }
}

fn pair(raws: Vec<Raw<'_>>) -> Vec<HookRun> {
    let mut runs = Vec::with_capacity(raws.len());
    pair_each(raws, |r| runs.push(r));
    runs
}

/// `pair`, each run handed to `f` as it is made: a session's runs never
/// exist all at once beside its rows (the 600 MB single-session benchmark
/// file holds 64,000 hook rows: ~9 MiB more at the end of a first load).
fn pair_each(raws: Vec<Raw<'_>>, mut f: impl FnMut(HookRun)) {
    // result rows by (session, tool use, event) -> their commands, in time
    // order; each pairs with one start (non-tool hooks reuse ids such as
    // "SessionStart": two starts and one result are one run without one)
    let mut results: HashMap<Key, Vec<Option<&str>>> = HashMap::default();
    // stop-hook summaries: line -> number of hooks listed
    let mut listed: HashMap<i64, usize> = HashMap::default();
    let mut summaries: HashMap<i64, (i64, bool)> = HashMap::default();
    // and their stop reasons
    let mut outputs: HashMap<i64, Option<&str>> = HashMap::default();
    for r in &raws {
        match &*r.outcome {
            _ if r.is_note() => {}
            "started" => {}
            "summary" => {
                summaries.insert(r.line_id, (r.error_count.unwrap_or(0), r.prevented));
                outputs.insert(r.line_id, r.output.as_deref());
            }
            _ => {
                if &*r.source == "stop_hook_summary" {
                    *listed.entry(r.line_id).or_default() += 1;
                }
                if r.tool_use_id.is_some() {
                    results
                        .entry(r.result_key())
                        .or_default()
                        .push(r.command.as_deref());
                }
            }
        }
    }
    // Since 2.1.x a Stop hook's result is an attachment, and the summary
    // that follows lists the same hook (same tool use id and command): the
    // attachment is the run, the summary's entry only confirms it, and only
    // what the attachments do not account for is left to the summary.
    // (by session and tool use id only: a summary's rows say `Stop` for
    // SubagentStop hooks too)
    // (one map by session, tool use id and command: a map per tool use
    // was ~40 bytes more for each)
    let mut attached: HashMap<Key, Outcome> = HashMap::default();
    for r in raws.iter().filter(|r| {
        &*r.source == "attachment"
            && &*r.outcome != "started"
            && !r.is_note()
            && r.tool_use_id.is_some()
    }) {
        attached.insert(r.hook_key(), Outcome::of(&r.outcome));
    }
    let confirmation = |r: &Raw| -> Option<Outcome> {
        if &*r.source != "stop_hook_summary" || &*r.outcome != "ran" {
            return None;
        }
        attached.get(&r.hook_key()).copied()
    };
    // per summary line: (hooks confirmed, errors among them, a blocking one)
    let mut confirmed: HashMap<i64, (usize, i64, bool)> = HashMap::default();
    // the attachment that is the only hook a summary lists: what the
    // summary says beyond it is that run's (as for a lone listed hook)
    let mut sole: HashMap<Key, i64> = HashMap::default();
    for r in &raws {
        if let Some(outcome) = confirmation(r) {
            if listed.get(&r.line_id) == Some(&1) {
                sole.insert(r.hook_key(), r.line_id);
            }
            let c = confirmed.entry(r.line_id).or_default();
            c.0 += 1;
            c.1 += i64::from(outcome.is_error());
            c.2 |= matches!(outcome, Outcome::BlockingError | Outcome::Prevented);
        }
    }
    // what a summary says that its confirmed hooks do not: (errors,
    // prevented, hooks listed)
    let unexplained = |line_id: i64| -> (i64, bool, usize) {
        let (errors, prevented) = summaries.get(&line_id).copied().unwrap_or((0, false));
        let n = listed.get(&line_id).copied().unwrap_or(0);
        let (c, c_errors, c_blocking) = confirmed.get(&line_id).copied().unwrap_or_default();
        ((errors - c_errors).max(0), prevented && !c_blocking, n - c)
    };
    // What each row is (decided while the maps borrow the rows; the rows
    // are then moved into the runs, not copied).
    struct Decision {
        row: usize,
        outcome: Outcome,
        is_run: bool,
        errors: u64,
        prevented: bool,
        /// Some: the run's output instead of the row's (boxed: rare).
        output: Option<Box<Option<String>>>,
    }
    let mut runs: Vec<Decision> = Vec::with_capacity(raws.len());
    for (row, r) in raws.iter().enumerate() {
        let base = |outcome: Outcome, is_run: bool, errors: u64, prevented: bool| Decision {
            row,
            outcome,
            is_run,
            errors,
            prevented,
            output: None,
        };
        match &*r.outcome {
            _ if r.is_note() => runs.push(base(Outcome::Note, false, 0, false)),
            "started" => {
                let matched = r.tool_use_id.is_some()
                    && results.get_mut(&r.result_key()).is_some_and(|cmds| {
                        let pairs = cmds
                            .iter()
                            .position(|c| r.command.is_none() || *c == r.command.as_deref());
                        pairs.map(|i| cmds.remove(i)).is_some()
                    });
                if !matched {
                    runs.push(base(Outcome::NoResult, true, 0, false));
                }
            }
            "summary" => {
                let (errors, prevented, n) = unexplained(r.line_id);
                let lone = listed.get(&r.line_id) == Some(&1);
                if (errors > 0 || prevented) && n != 1 && !lone {
                    let outcome = Outcome::of_summary(errors);
                    runs.push(base(outcome, false, errors.max(0) as u64, prevented));
                }
            }
            "ran" if confirmation(r).is_some() => {}
            "ran" => {
                let (errors, prevented, n) = unexplained(r.line_id);
                let run = if errors == 0 && !prevented {
                    base(Outcome::Success, true, 0, false)
                } else if n == 1 {
                    let outcome = Outcome::of_summary(errors);
                    let mut run = base(outcome, true, errors.max(0) as u64, prevented);
                    // the summary's stop reason is this hook's message
                    let output = outputs.get(&r.line_id).and_then(|o| o.map(str::to_owned));
                    run.output = Some(Box::new(output));
                    run
                } else {
                    base(Outcome::NoResult, true, 0, false)
                };
                runs.push(run);
            }
            raw => {
                let mut outcome = Outcome::of(raw);
                let mut errors = u64::from(outcome.is_error());
                let mut output = None;
                let mut prevents = outcome == Outcome::Prevented;
                // the only hook of a summary that says more (errors, or it
                // prevented continuation): as a lone listed hook would be
                if &*r.source == "attachment"
                    && let Some(&line) = sole.get(&r.hook_key())
                {
                    let (more, prevented, _) = unexplained(line);
                    if more > 0 {
                        outcome = Outcome::BlockingError;
                        errors += more as u64;
                    } else if prevented && !outcome.is_failure() {
                        outcome = Outcome::Prevented;
                    }
                    if more > 0 || prevented {
                        output = Some(outputs.get(&line).and_then(|o| o.map(str::to_owned)));
                    }
                    prevents |= prevented;
                }
                let mut run = base(outcome, true, errors, prevents);
                if output.as_ref().is_some_and(Option::is_some) {
                    run.output = output.map(Box::new);
                }
                runs.push(run);
            }
        }
    }
    let mut decided = runs.into_iter().peekable();
    for (row, r) in raws.into_iter().enumerate() {
        let Some(d) = decided.next_if(|d| d.row == row) else {
            continue;
        };
        let (session_id, agent_id, project) = r.ids.cloned().unwrap_or_default();
        f(HookRun {
            line_id: r.line_id,
            seq: r.seq,
            thread: r.thread,
            session_id,
            agent_id: agent_id.filter(|a| !a.is_empty()),
            project,
            at: r.at,
            event: r.event,
            name: r.name,
            command: r.command,
            tool_use_id: r.tool_use_id.map(String::from),
            raw_outcome: r.outcome,
            outcome: d.outcome,
            is_run: d.is_run,
            errors: d.errors,
            prevented: d.prevented,
            duration_ms: r.duration_ms,
            output: match d.output {
                Some(output) => *output,
                None => r.output.map(String::from),
            },
        });
    }
}

#[derive(Debug, Clone, Default)]
pub struct HooksQuery {
    pub range: TimeRange,
    pub project: Option<String>,
    /// Only this session (its full id), with its subagents.
    pub session: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookRow {
    pub event: Option<String>,
    pub command: Option<String>,
    pub runs: u64,
    pub successes: u64,
    pub non_blocking_errors: u64,
    pub blocking_errors: u64,
    pub prevented_continuations: u64,
    pub no_result: u64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub last_failure_at: Option<i64>,
    pub last_failure: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HooksReport {
    pub rows: Vec<HookRow>,
    pub total: HookRow,
}

/// About this many hook rows are read and paired at a time: whole
/// sessions (runs pair only within one), so that memory is a batch's, not
/// the whole history's.
const BATCH_ROWS: u64 = 16_384;

/// One row per (event, command), ordered by event then command.
pub fn run(conn: &Connection, q: &HooksQuery) -> rusqlite::Result<HooksReport> {
    run_reading(conn, q, None)
}

fn run_reading(
    conn: &Connection,
    q: &HooksQuery,
    reading: Option<Reading>,
) -> rusqlite::Result<HooksReport> {
    // (whether the sums are whole, the threads and the sums: one snapshot)
    let _snapshot = match conn.is_autocommit() {
        true => Some(conn.unchecked_transaction()?),
        false => None,
    };
    let mut groups: BTreeMap<EventCommand, Group> = BTreeMap::new();
    let mut total = Group::default();
    let timeless = q.range.from_ms.is_none() && q.range.to_ms.is_none();
    if reading.is_none() && timeless && super::summed(conn, "hook_figures_dirty")? {
        let mut strings = super::Interner::default();
        let threads = super::ThreadKeys::load(
            conn,
            q.session.as_deref(),
            q.project.as_deref(),
            false,
            &mut strings,
        )?;
        let only = threads.few_kept(conn)?;
        let mut st = conn.prepare(&format!(
            "SELECT {FIGURE_COLUMNS} FROM hook_figures f WHERE 1{}",
            super::ThreadKeys::kept_clause(&only, "f.thread")
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(&only))?;
        while let Some(r) = rows.next()? {
            let thread: i64 = r.get(0)?;
            if !threads.of((thread != 0).then_some(thread)).kept {
                continue;
            }
            let kept = Group::stored(r)?;
            let text = |i: usize| -> rusqlite::Result<Option<Arc<str>>> {
                Ok(r.get::<_, Option<String>>(i)?.map(Arc::from))
            };
            let key = (text(1)?, text(2)?);
            total.merge(&kept);
            groups.entry(key).or_default().merge(&kept);
        }
    } else {
        each_run(conn, q, reading, |r| {
            if r.outcome == Outcome::Note {
                return;
            }
            let key = (r.event.clone(), r.command.clone());
            groups.entry(key).or_default().note(&r);
            total.note(&r);
        })?;
    }
    Ok(HooksReport {
        rows: groups
            .into_iter()
            .map(|((event, command), group)| group.row(event, command))
            .collect(),
        total: total.row(None, None),
    })
}

type EventCommand = (Option<Arc<str>>, Option<Arc<str>>);

/// What the report adds up of a group's runs: the counts, the durations
/// for the percentiles, the last failure.
#[derive(Default)]
struct Group {
    row: HookRow,
    durations: Vec<i64>,
    failure: LastFailure,
}

/// `hook_figures`' columns, as `Group::stored` reads them.
const FIGURE_COLUMNS: &str = "f.thread, f.event, f.command, f.runs, f.successes,
    f.non_blocking_errors, f.blocking_errors, f.prevented_continuations, f.no_result,
    f.durations, f.failure_timed, f.failure_at, f.failure_text_at, f.failure_text_line,
    f.failure_text_seq, f.failure_text";

impl Group {
    fn note(&mut self, r: &HookRun) {
        add(&mut self.row, r);
        if r.outcome.is_failure() {
            self.failure.note(r);
        }
        if r.is_run
            && let Some(d) = r.duration_ms
        {
            self.durations.push(d);
        }
    }

    /// Another group's runs counted in this one.
    fn merge(&mut self, other: &Group) {
        let (row, o) = (&mut self.row, &other.row);
        row.runs += o.runs;
        row.successes += o.successes;
        row.non_blocking_errors += o.non_blocking_errors;
        row.blocking_errors += o.blocking_errors;
        row.prevented_continuations += o.prevented_continuations;
        row.no_result += o.no_result;
        self.durations.extend_from_slice(&other.durations);
        self.failure.merge(&other.failure);
    }

    /// A `hook_figures` row (read with `FIGURE_COLUMNS`).
    fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let mut durations = Vec::new();
        super::unpack_durations(r.get_ref(9)?.as_blob()?, &mut durations);
        let text_line: Option<i64> = r.get(13)?;
        Ok(Group {
            row: HookRow {
                runs: n(3)?,
                successes: n(4)?,
                non_blocking_errors: n(5)?,
                blocking_errors: n(6)?,
                prevented_continuations: n(7)?,
                no_result: n(8)?,
                ..HookRow::default()
            },
            durations,
            failure: LastFailure {
                timed: r.get::<_, i64>(10)? != 0,
                at: r.get(11)?,
                text_of: match text_line {
                    Some(line) => {
                        Some((r.get(12)?, line, r.get::<_, Option<i64>>(14)?.unwrap_or(0)))
                    }
                    None => None,
                },
                text: r.get(15)?,
            },
        })
    }

    fn row(mut self, event: Option<Arc<str>>, command: Option<Arc<str>>) -> HookRow {
        let mut row = self.row;
        row.event = event.as_deref().map(str::to_owned);
        row.command = command.as_deref().map(str::to_owned);
        row.p50_ms = percentile(&mut self.durations, 50);
        row.p95_ms = percentile(&mut self.durations, 95);
        (row.last_failure_at, row.last_failure) = (self.failure.at, self.failure.text);
        row
    }
}

/// Above this many noted threads, `refresh` pairs and sums every hook row
/// in one scan instead of the noted threads' sessions alone.
const FULL_ABOVE: usize = 300;

/// Sum again the runs of the sessions of the threads noted in
/// `hook_figures_dirty` (runs pair within a session: every thread of each
/// is summed again), or of everything when -1, a row without a thread
/// (0), a thread no longer known or many are noted, in one write
/// transaction, and clear the notes. Returns how many threads were noted.
pub fn refresh(conn: &Connection) -> rusqlite::Result<usize> {
    super::resum_noted(conn, "hook_figures_dirty", |noted| {
        // (the noted threads' sessions' threads alone, with no project:
        // loading every thread with its project was most of a small re-sum)
        let noted_ids = serde_json::Value::from(noted.to_vec()).to_string();
        let threads: HashMap<i64, Shared> = conn
            .prepare(
                "SELECT id, session_id, agent_id FROM threads WHERE session_id IN
                   (SELECT session_id FROM threads WHERE id IN (SELECT value FROM json_each(?1)))",
            )?
            .query_map([&noted_ids], |r| {
                let shared = |i: usize| -> rusqlite::Result<Option<Arc<str>>> {
                    Ok(r.get::<_, Option<String>>(i)?.map(Arc::from))
                };
                Ok((r.get(0)?, (shared(1)?, shared(2)?, None)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let session_of = |t: &i64| threads.get(t).and_then(|s| s.0.as_deref());
        let mut sums: BTreeMap<(i64, EventCommand), Group> = BTreeMap::new();
        let mut sum = |r: HookRun| {
            if r.outcome != Outcome::Note {
                let key = (r.thread.unwrap_or(0), (r.event.clone(), r.command.clone()));
                sums.entry(key).or_default().note(&r);
            }
        };
        if noted.len() > FULL_ABOVE || noted.iter().any(|t| session_of(t).is_none()) {
            conn.execute("DELETE FROM hook_figures", [])?;
            each_run(conn, &HooksQuery::default(), Some(Reading::Scan), sum)?;
        } else {
            // (`threads` holds the noted sessions' threads: all re-paired)
            let ids: Vec<i64> = threads.keys().copied().collect();
            let ids = serde_json::Value::from(ids).to_string();
            let these = "thread IN (SELECT value FROM json_each(?1))";
            conn.execute(&format!("DELETE FROM hook_figures WHERE {these}"), [&ids])?;
            let mut raws = read_rows(conn, &threads, &format!("h.{these}"), Some(&ids))?;
            time_order(&mut raws);
            pair_each(raws, &mut sum);
        }
        let mut insert = conn.prepare_cached(
            "INSERT INTO hook_figures(thread, event, command, runs, successes,
                 non_blocking_errors, blocking_errors, prevented_continuations, no_result,
                 durations, failure_timed, failure_at, failure_text_at, failure_text_line,
                 failure_text_seq, failure_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        let mut packed = Vec::new();
        for ((thread, (event, command)), g) in &sums {
            packed.clear();
            super::pack_durations(&g.durations, &mut packed);
            let (row, f) = (&g.row, &g.failure);
            let n = |v: u64| v as i64;
            insert.execute(rusqlite::params![
                thread,
                event.as_deref(),
                command.as_deref(),
                n(row.runs),
                n(row.successes),
                n(row.non_blocking_errors),
                n(row.blocking_errors),
                n(row.prevented_continuations),
                n(row.no_result),
                packed,
                f.timed,
                f.at,
                f.text_of.and_then(|k| k.0),
                f.text_of.map(|k| k.1),
                f.text_of.map(|k| k.2),
                f.text,
            ])?;
        }
        Ok(())
    })
}

/// How `each_run` reads the rows of the sessions it keeps.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Through `hook_runs_thread`, about this many rows at a time: for a
    /// few sessions.
    Batches(u64),
    /// One scan of the table, each session handed on once all its rows are
    /// in: for most of them (no index lookup per row).
    Scan,
}

/// Every run the report counts (in `q`'s range and project), read and
/// paired a session at a time (runs pair only within one): `reading`, or
/// else a scan when the sessions kept hold most rows.
fn each_run(
    conn: &Connection,
    q: &HooksQuery,
    reading: Option<Reading>,
    mut f: impl FnMut(HookRun),
) -> rusqlite::Result<()> {
    let threads = shared_threads(conn, q.session.as_deref())?;
    // (the row counts and the rows from one snapshot: a count holds)
    let _snapshot = match conn.is_autocommit() {
        true => Some(conn.unchecked_transaction()?),
        false => None,
    };
    let (sessions, all_rows) = kept_sessions(conn, &threads, q)?;
    let kept_rows: u64 = sessions.iter().map(|(_, span)| span.rows).sum();
    let reading = reading.unwrap_or(if kept_rows * 2 >= all_rows && q.session.is_none() {
        Reading::Scan
    } else {
        Reading::Batches(BATCH_ROWS)
    });
    let mut hand_on = |mut raws: Vec<Raw>| {
        time_order(&mut raws);
        pair_each(raws, |r| {
            if q.range.contains(r.at) && project_matches(r.project.as_deref(), q.project.as_deref())
            {
                f(r);
            }
        });
    };
    match reading {
        Reading::Batches(rows) => {
            for filter in batch_filters(sessions, rows) {
                hand_on(read_rows(conn, &threads, &filter, None)?);
            }
        }
        Reading::Scan => {
            // session -> (its rows, those read so far)
            let mut open: HashMap<Option<Arc<str>>, (u64, Vec<Raw>)> = sessions
                .into_iter()
                .map(|(session, span)| (session, (span.rows, Vec::new())))
                .collect();
            let mut st = conn.prepare(SELECT_ROWS)?;
            let mut rows = st.query([])?;
            let mut reader = RowReader::new(&threads);
            while let Some(r) = rows.next()? {
                let session = r
                    .get::<_, Option<i64>>(2)?
                    .and_then(|t| threads.get(&t)?.0.clone());
                let Some((all, raws)) = open.get_mut(&session) else {
                    continue;
                };
                if raws.is_empty() {
                    // (exactly: doubling would hold up to twice a big
                    // session's rows)
                    raws.reserve_exact(usize::try_from(*all).unwrap_or(0));
                }
                raws.push(reader.raw(r)?);
                if raws.len() as u64 >= *all
                    && let Some((_, raws)) = open.remove(&session)
                {
                    hand_on(raws);
                }
            }
            // (none, as the counts were read in the same snapshot)
            for (_, raws) in open.into_values().filter(|(_, raws)| !raws.is_empty()) {
                hand_on(raws);
            }
        }
    }
    Ok(())
}

/// A session's hook rows: how many, their first and last times, whether
/// any has none, and their threads.
#[derive(Default)]
struct Span {
    rows: u64,
    first: Option<i64>,
    last: Option<i64>,
    untimed: bool,
    threads: BTreeSet<Option<i64>>,
}

/// The sessions whose runs the report counts (`?1` in the query: the
/// `--session`), and how many hook rows there are in all. A session none
/// of whose threads is in `--project`, or none of whose rows is in the
/// range, is left out (its runs would all be). Rows of no known thread, or
/// of a thread with no session, are one session's: the None one, as
/// pairing sees them.
type Sessions = Vec<(Option<Arc<str>>, Span)>;
fn kept_sessions(
    conn: &Connection,
    threads: &HashMap<i64, Shared>,
    q: &HooksQuery,
) -> rusqlite::Result<(Sessions, u64)> {
    let filter = of_session(q.session.as_deref());
    let mut spans: BTreeMap<Option<Arc<str>>, Span> = BTreeMap::new();
    let mut all_rows = 0;
    // (without a range the rows' times do not matter: each thread's count
    // comes from `hook_runs_thread` alone, not from every row)
    let timeless = q.range.from_ms.is_none() && q.range.to_ms.is_none();
    let sql = if timeless {
        format!(
            "SELECT h.thread, NULL, count(*) FROM hook_run_rows h WHERE {filter} GROUP BY h.thread"
        )
    } else {
        format!("SELECT h.thread, h.at, 1 FROM hook_run_rows h WHERE {filter}")
    };
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(q.session.iter()))?;
    while let Some(r) = rows.next()? {
        let (thread, at): (Option<i64>, Option<i64>) = (r.get(0)?, r.get(1)?);
        let n = r.get::<_, i64>(2)? as u64;
        let session = thread.and_then(|t| threads.get(&t)?.0.clone());
        let span = spans.entry(session).or_default();
        span.rows += n;
        all_rows += n;
        match at {
            Some(t) => {
                span.first = Some(span.first.map_or(t, |f| f.min(t)));
                span.last = Some(span.last.map_or(t, |l| l.max(t)));
            }
            None => span.untimed = true,
        }
        span.threads.insert(thread);
    }
    let in_project = |t: &Option<i64>| {
        let project = t.and_then(|t| threads.get(&t)?.2.clone());
        project_matches(project.as_deref(), q.project.as_deref())
    };
    let kept = spans
        .into_iter()
        .filter(|(_, span)| {
            let timed = span.first.is_some() && q.range.overlaps(span.first, span.last);
            (timed || (span.untimed && q.range.contains(None)))
                && span.threads.iter().any(in_project)
        })
        .collect();
    Ok((kept, all_rows))
}

/// `sessions` in batches of about `batch_rows` hook rows, as filters over
/// `h` (whole sessions: a batch holds all of each one's threads).
fn batch_filters(sessions: Sessions, batch_rows: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch: Vec<Option<i64>> = Vec::new();
    let mut rows = 0;
    let mut flush = |batch: &mut Vec<Option<i64>>| {
        let null = batch.contains(&None);
        let ids: Vec<String> = batch.iter().flatten().map(i64::to_string).collect();
        let listed = format!("h.thread IN ({})", ids.join(", "));
        out.push(if null {
            format!("(h.thread IS NULL OR {listed})")
        } else {
            listed
        });
        batch.clear();
    };
    for (_, span) in sessions {
        batch.extend(span.threads);
        rows += span.rows;
        if rows >= batch_rows {
            flush(&mut batch);
            rows = 0;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch);
    }
    out
}

/// A group's last failure, whatever order its runs come in: the time of
/// the latest, and the message of the latest that has one (runs with a
/// time before runs without: these count only when no run has one).
#[derive(Default, Clone)]
struct LastFailure {
    timed: bool,
    at: Option<i64>,
    text_of: Option<(Option<i64>, i64, i64)>,
    text: Option<String>,
}

impl LastFailure {
    /// Another group's last failure taken into this one's, as if its
    /// failures had been noted here.
    fn merge(&mut self, other: &LastFailure) {
        if self.timed && !other.timed {
            return;
        }
        if other.timed && !self.timed {
            self.clone_from(other);
            return;
        }
        self.at = self.at.max(other.at);
        if other.text_of.is_some() && self.text_of.is_none_or(|k| other.text_of > Some(k)) {
            self.text_of = other.text_of;
            self.text.clone_from(&other.text);
        }
    }

    fn note(&mut self, r: &HookRun) {
        let timed = r.at.is_some();
        if self.timed && !timed {
            return;
        }
        if timed && !self.timed {
            *self = LastFailure {
                timed,
                ..LastFailure::default()
            };
        }
        self.at = self.at.max(r.at);
        let key = (r.at, r.line_id, r.seq);
        if let Some(text) = &r.output
            && self.text_of.is_none_or(|k| key > k)
        {
            self.text_of = Some(key);
            self.text = Some(text.clone());
        }
    }
}

fn add(row: &mut HookRow, r: &HookRun) {
    if r.is_run {
        row.runs += 1;
        match r.outcome {
            Outcome::Success => row.successes += 1,
            Outcome::NoResult => row.no_result += 1,
            _ => {}
        }
    }
    match r.outcome {
        Outcome::BlockingError => row.blocking_errors += r.errors,
        Outcome::NonBlockingError => row.non_blocking_errors += r.errors,
        _ => {}
    }
    if r.prevented {
        row.prevented_continuations += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read a session at a time, in batches, or in one scan: the runs
    /// every run read at once gives, for every filter (on the fixtures, and
    /// the public corpus when here).
    #[test]
    fn batches_of_sessions_give_the_report_of_all_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let roots = crate::ingest::test_roots(dir.path(), &["basic", "reports", "ops"]);
        let (_db_dir, store) = crate::ingest::ingested_store(&roots);
        let conn = &store.conn;
        let sessions: i64 = conn
            .query_row(
                "SELECT count(DISTINCT t.session_id) FROM hook_run_rows h JOIN threads t ON t.id = h.thread",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // (the fixtures have two; the public corpus, when here, more)
        assert!(sessions >= 2, "{sessions} sessions with hooks");
        let zone = super::super::Zone::Named(chrono_tz::UTC);
        let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let queries = [
            HooksQuery::default(),
            HooksQuery {
                project: Some("app".into()),
                ..HooksQuery::default()
            },
            HooksQuery {
                range: TimeRange::new(day("2026-03-01"), day("2026-03-01"), &zone),
                ..HooksQuery::default()
            },
            HooksQuery {
                session: Some("sess-main-0001".into()),
                ..HooksQuery::default()
            },
        ];
        // ranges that cut a session (sess-blocks-a001's hooks: 08:10, 08:11
        // and 09:10 on 2026-03-10): it is read, and only its runs inside count
        let nine = chrono::DateTime::parse_from_rfc3339("2026-03-10T09:00:00Z")
            .unwrap()
            .timestamp_millis();
        let cut = |from_ms: Option<i64>, to_ms: Option<i64>| HooksQuery {
            range: TimeRange {
                from_ms,
                to_ms,
                ..TimeRange::default()
            },
            ..HooksQuery::default()
        };
        let queries = [
            &queries[..],
            &[cut(Some(nine), None), cut(None, Some(nine))],
        ]
        .concat();
        // (what the report counted before batches: every run, then filtered)
        let key = |r: &HookRun| (r.line_id, r.seq);
        for q in &queries {
            let mut expected: Vec<HookRun> = load_runs(conn, q.session.as_deref())
                .unwrap()
                .into_iter()
                .filter(|r| {
                    q.range.contains(r.at)
                        && project_matches(r.project.as_deref(), q.project.as_deref())
                })
                .collect();
            expected.sort_by_key(key);
            assert!(!expected.is_empty(), "{q:?}");
            let readings = [
                Reading::Batches(1),
                Reading::Batches(3),
                Reading::Batches(u64::MAX),
                Reading::Scan,
            ];
            for reading in readings {
                let mut got = Vec::new();
                each_run(conn, q, Some(reading), |r| got.push(r)).unwrap();
                got.sort_by_key(key);
                assert_eq!(got, expected, "{q:?}, {reading:?}");
            }
            let whole = run_reading(conn, q, Some(Reading::Scan)).unwrap();
            assert_eq!(
                run_reading(conn, q, Some(Reading::Batches(1))).unwrap(),
                whole,
                "{q:?}"
            );
            assert_eq!(run(conn, q).unwrap(), whole, "{q:?}");
        }
        let all = run(conn, &queries[0]).unwrap();
        assert!(all.rows.len() >= 3 && all.total.runs > 0, "{all:?}");
        assert!(all.total.last_failure_at.is_some(), "{all:?}");
    }

    /// A session's runs are read in one batch: a start in one of its
    /// threads pairs with its result in another, however small the batches.
    #[test]
    fn a_batch_holds_whole_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("obs.db")).unwrap();
        let conn = &store.conn;
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO threads(id, session_id, agent_id) VALUES
               (1, 's1', NULL), (2, 's1', 'a1'), (3, 's2', NULL);
             INSERT INTO hook_run_rows(line_id, seq, thread, at, source, event, command, tool_use_id, outcome, duration_ms) VALUES
               (10, 0, 1, 1000, 'progress', 'PreToolUse', 'gate.sh', 'toolu_1', 'started', NULL),
               (11, 0, 2, 1500, 'attachment', 'PreToolUse', 'gate.sh', 'toolu_1', 'blocking_error', 40),
               (12, 0, 3, 2000, 'progress', 'PreToolUse', 'gate.sh', 'toolu_2', 'started', NULL),
               (13, 0, NULL, 2500, 'attachment', 'PreToolUse', 'gate.sh', 'toolu_2', 'success', 7);",
        )
        .unwrap();
        let q = HooksQuery::default();
        let whole = run_reading(conn, &q, Some(Reading::Batches(u64::MAX))).unwrap();
        // s1: one run (its start paired); s2: a start with no result; the
        // row of no thread: a success
        assert_eq!(whole.total.runs, 3, "{whole:?}");
        assert_eq!(
            (
                whole.total.blocking_errors,
                whole.total.no_result,
                whole.total.successes
            ),
            (1, 1, 1)
        );
        assert_eq!(
            run_reading(conn, &q, Some(Reading::Batches(1))).unwrap(),
            whole
        );
        assert_eq!(run_reading(conn, &q, Some(Reading::Scan)).unwrap(), whole);
    }

    /// A run that failed (blocking), at line `line_id`.
    fn failed_run(line_id: i64, at: Option<i64>, output: Option<&str>) -> HookRun {
        HookRun {
            line_id,
            seq: 0,
            thread: None,
            session_id: None,
            agent_id: None,
            project: None,
            at,
            event: None,
            name: None,
            command: None,
            tool_use_id: None,
            raw_outcome: Arc::from("blocking_error"),
            outcome: Outcome::BlockingError,
            is_run: true,
            errors: 1,
            prevented: false,
            duration_ms: None,
            output: output.map(str::to_owned),
        }
    }

    /// A group's last failure does not depend on the order runs come in.
    #[test]
    fn the_last_failure_is_the_same_in_any_order() {
        let run = failed_run;
        let runs = [
            run(1, Some(10), Some("first")),
            run(2, Some(30), Some("latest with a message")),
            run(3, Some(40), None),
            run(4, None, Some("untimed")),
            run(5, Some(30), None),
        ];
        let mut orders = vec![
            vec![0, 1, 2, 3, 4],
            vec![4, 3, 2, 1, 0],
            vec![3, 0, 4, 2, 1],
        ];
        orders.push(vec![2, 4, 1, 3, 0]);
        for order in orders {
            let mut f = LastFailure::default();
            for i in &order {
                f.note(&runs[*i]);
            }
            assert_eq!(f.at, Some(40), "{order:?}");
            assert_eq!(
                f.text.as_deref(),
                Some("latest with a message"),
                "{order:?}"
            );
        }
        // an untimed run's message gives way to timed runs without one
        for order in [[0, 1], [1, 0]] {
            let pair = [run(8, None, Some("untimed")), run(9, Some(5), None)];
            let mut f = LastFailure::default();
            for i in order {
                f.note(&pair[i]);
            }
            assert_eq!((f.at, f.text.as_deref()), (Some(5), None), "{order:?}");
        }
        // with no run timed, the untimed ones count
        let mut f = LastFailure::default();
        f.note(&run(7, None, Some("b")));
        f.note(&run(6, None, Some("a")));
        assert_eq!((f.at, f.text.as_deref()), (None, Some("b")));
    }

    /// Kept sums merge each thread's last failure (`hook_figures`): the
    /// runs noted in two groups and merged give what noting them all in one
    /// gives, for every split, either way round.
    #[test]
    fn last_failures_merged_are_those_of_all_the_runs() {
        let run = failed_run;
        let runs = [
            run(1, Some(10), Some("first")),
            run(2, Some(30), Some("latest with a message")),
            run(3, Some(40), None),
            run(4, None, Some("untimed")),
            run(5, None, None),
            run(6, Some(30), Some("same time, later line")),
            run(7, None, Some("untimed, later line")),
        ];
        // (and with no timed run that has a message: the untimed ones'
        // messages still do not count)
        let silent = [
            run(3, Some(40), None),
            run(4, None, Some("untimed")),
            run(5, Some(20), None),
        ];
        let state = |f: &LastFailure| (f.timed, f.at, f.text_of, f.text.clone());
        for runs in [&runs[..], &silent[..]] {
            for mask in 0u32..(1 << runs.len()) {
                let (mut a, mut b, mut all) = (
                    LastFailure::default(),
                    LastFailure::default(),
                    LastFailure::default(),
                );
                for (i, r) in runs.iter().enumerate() {
                    let f: &mut LastFailure = if mask & (1 << i) != 0 { &mut a } else { &mut b };
                    f.note(r);
                    all.note(r);
                }
                let mut ab = a.clone();
                ab.merge(&b);
                let mut ba = b;
                ba.merge(&a);
                assert_eq!(state(&ab), state(&all), "{mask:b}");
                assert_eq!(state(&ba), state(&all), "{mask:b}");
            }
        }
    }

    fn raw(
        line_id: i64,
        seq: i64,
        source: &str,
        event: &str,
        cmd: Option<&str>,
        tool: &str,
        outcome: &str,
    ) -> Raw<'static> {
        static IDS: std::sync::LazyLock<Shared> =
            std::sync::LazyLock::new(|| (Some("s".into()), None, None));
        Raw {
            line_id,
            seq,
            thread: None,
            ids: Some(&IDS),
            at: Some(line_id),
            source: source.into(),
            event: Some(event.into()),
            name: None,
            command: cmd.map(Into::into),
            tool_use_id: Some(tool.into()),
            outcome: outcome.into(),
            duration_ms: None,
            output: None,
            error_count: None,
            prevented: false,
        }
    }

    #[test]
    fn starts_pair_with_their_results() {
        let runs = pair(vec![
            raw(
                1,
                0,
                "progress",
                "PostToolUse",
                Some("a.sh"),
                "t1",
                "started",
            ),
            raw(
                2,
                0,
                "attachment",
                "PostToolUse",
                Some("a.sh"),
                "t1",
                "success",
            ),
            // a start with no command pairs with any result of its tool use
            raw(3, 0, "system_text", "PostToolUse", None, "t2", "started"),
            raw(
                4,
                0,
                "system_text",
                "PostToolUse",
                Some("b.sh"),
                "t2",
                "non_blocking_error",
            ),
            // a start of another command stays, with no result
            raw(
                5,
                0,
                "progress",
                "PostToolUse",
                Some("callback"),
                "t1",
                "started",
            ),
        ]);
        let got: Vec<(i64, Outcome)> = runs.iter().map(|r| (r.line_id, r.outcome)).collect();
        assert_eq!(
            got,
            vec![
                (2, Outcome::Success),
                (4, Outcome::NonBlockingError),
                (5, Outcome::NoResult)
            ]
        );
        // non-tool hooks reuse an id ("SessionStart"): each result pairs
        // with one start, and a second start with none has no result
        let start = |line| {
            raw(
                line,
                0,
                "progress",
                "SessionStart",
                Some("init.sh"),
                "SessionStart",
                "started",
            )
        };
        let runs = pair(vec![
            start(1),
            raw(
                2,
                0,
                "attachment",
                "SessionStart",
                Some("init.sh"),
                "SessionStart",
                "success",
            ),
            start(3),
        ]);
        let got: Vec<(i64, Outcome)> = runs.iter().map(|r| (r.line_id, r.outcome)).collect();
        assert_eq!(got, vec![(2, Outcome::Success), (3, Outcome::NoResult)]);
    }

    #[test]
    fn stop_summaries_attribute_what_they_can() {
        let summary = |line, errors, prevented| {
            let mut r = raw(line, 0, "stop_hook_summary", "Stop", None, "x", "summary");
            r.error_count = Some(errors);
            r.prevented = prevented != 0;
            r.output = Some("no".into());
            r
        };
        // clean: every hook succeeded
        let runs = pair(vec![
            summary(1, 0, 0),
            raw(1, 1, "stop_hook_summary", "Stop", Some("a"), "x", "ran"),
        ]);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].outcome, Outcome::Success);
        // one hook: it is the one that failed
        let runs = pair(vec![
            summary(1, 1, 1),
            raw(1, 1, "stop_hook_summary", "Stop", Some("a"), "x", "ran"),
        ]);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            (
                runs[0].outcome,
                runs[0].prevented,
                runs[0].output.as_deref()
            ),
            (Outcome::BlockingError, true, Some("no"))
        );
        // two hooks: unattributed
        let runs = pair(vec![
            summary(1, 1, 1),
            raw(1, 1, "stop_hook_summary", "Stop", Some("a"), "x", "ran"),
            raw(1, 2, "stop_hook_summary", "Stop", Some("b"), "x", "ran"),
        ]);
        let got: Vec<(Option<&str>, Outcome, bool)> = runs
            .iter()
            .map(|r| (r.command.as_deref(), r.outcome, r.is_run))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, Outcome::BlockingError, false),
                (Some("a"), Outcome::NoResult, true),
                (Some("b"), Outcome::NoResult, true)
            ]
        );
    }

    #[test]
    fn a_stop_hook_with_an_attachment_result_is_one_run() {
        let summary = |line, errors, prevented| {
            let mut r = raw(line, 0, "stop_hook_summary", "Stop", None, "x", "summary");
            r.error_count = Some(errors);
            r.prevented = prevented != 0;
            r
        };
        let outcomes = |runs: &[HookRun]| -> Vec<(Option<String>, Outcome, bool, u64)> {
            runs.iter()
                .map(|r| {
                    (
                        r.command.as_deref().map(str::to_owned),
                        r.outcome,
                        r.is_run,
                        r.errors,
                    )
                })
                .collect()
        };
        // 2.1.114: hook `a`'s attachment (of `event`, with `outcome`), then
        // the summary (`errors`, `prevented`) listing the same hook
        let lone = |event: &str, outcome: &str, errors, prevented| {
            pair(vec![
                raw(1, 0, "attachment", event, Some("a"), "x", outcome),
                summary(2, errors, prevented),
                raw(2, 1, "stop_hook_summary", "Stop", Some("a"), "x", "ran"),
            ])
        };
        // (a summary says Stop for a SubagentStop hook too)
        let runs = lone("SubagentStop", "success", 0, 0);
        assert_eq!(
            outcomes(&runs),
            vec![(Some("a".into()), Outcome::Success, true, 0)]
        );
        // a non-blocking failure stays one non-blocking error
        let runs = lone("Stop", "non_blocking_error", 1, 0);
        assert_eq!(
            outcomes(&runs),
            vec![(Some("a".into()), Outcome::NonBlockingError, true, 1)]
        );
        // a lone hook that exits 0 with {"continue": false}: a success
        // attachment, a summary that says continuation was prevented
        let runs = lone("Stop", "success", 0, 1);
        assert_eq!(
            outcomes(&runs),
            vec![(Some("a".into()), Outcome::Prevented, true, 0)]
        );
        assert!(runs[0].prevented);
        // a listed hook without its attachment (another command, another
        // tool use) is attributed as before, with what is left
        let runs = pair(vec![
            raw(
                1,
                0,
                "attachment",
                "Stop",
                Some("a"),
                "x",
                "non_blocking_error",
            ),
            summary(2, 2, 1),
            raw(2, 1, "stop_hook_summary", "Stop", Some("a"), "x", "ran"),
            raw(2, 2, "stop_hook_summary", "Stop", Some("b"), "x", "ran"),
            raw(3, 0, "attachment", "Stop", Some("c"), "y", "success"),
        ]);
        assert_eq!(
            outcomes(&runs),
            vec![
                (Some("a".into()), Outcome::NonBlockingError, true, 1),
                (Some("b".into()), Outcome::BlockingError, true, 1),
                (Some("c".into()), Outcome::Success, true, 0)
            ]
        );
    }
}
