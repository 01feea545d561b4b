//! `observatory sessions`: one row per session, its subagents nested.
//!
//! A session row covers the whole session: its main thread and every
//! subagent transcript of the same session id, so its responses, tool calls,
//! tokens and cost match `cost --by-session`. User prompts count the main
//! thread only (a subagent's "prompt" is the Task call that started it).
//! Subagent rows are that subagent alone. A session shows when its span
//! (first to last line, subagents included) touches `--since/--until`.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet};
use rusqlite::Connection;

use super::{Interner, TimeRange, project_matches, text_ref};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Newest first.
    #[default]
    Start,
    /// Most expensive first.
    Cost,
    /// Longest first.
    Duration,
}

#[derive(Debug, Clone, Default)]
pub struct SessionsQuery {
    pub range: TimeRange,
    pub project: Option<String>,
    /// Only this session (its full id).
    pub session: Option<String>,
    pub sort: SortKey,
    pub limit: Option<usize>,
}

/// What a thread (or a session, or all of them) did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub prompts: u64,
    pub responses: u64,
    pub tool_calls: u64,
    pub tool_errors: u64,
    pub compactions: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
    pub models: BTreeSet<String>,
}

impl Figures {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_creation_tokens)
            .saturating_add(self.cache_read_tokens)
    }

    /// None when there are responses and none of them has a price.
    pub fn cost(&self) -> Option<i128> {
        (self.responses == 0 || self.unpriced_responses < self.responses)
            .then_some(self.cost_picousd)
    }

    /// Everything but the prompts.
    fn add_work(&mut self, o: &Figures) {
        self.responses += o.responses;
        self.tool_calls += o.tool_calls;
        self.tool_errors += o.tool_errors;
        self.compactions += o.compactions;
        self.input_tokens = self.input_tokens.saturating_add(o.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(o.output_tokens);
        self.cache_creation_tokens = self
            .cache_creation_tokens
            .saturating_add(o.cache_creation_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(o.cache_read_tokens);
        self.cost_picousd += o.cost_picousd;
        self.unpriced_responses += o.unpriced_responses;
        self.models.extend(o.models.iter().cloned());
    }
}

/// One transcript thread: a session's main thread (agent_id '') or one
/// subagent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub session_id: String,
    pub agent_id: String,
    pub parent_session_id: Option<String>,
    pub project: Option<String>,
    pub title: Option<String>,
    pub first_prompt: Option<String>,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    pub figures: Figures,
}

impl Thread {
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.last_at? - self.first_at?)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionRow {
    pub session_id: String,
    pub project: Option<String>,
    pub title: Option<String>,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    /// False when only subagent transcripts of this session were found.
    pub has_main_thread: bool,
    /// The whole session (prompts: main thread only).
    pub figures: Figures,
    /// Oldest first.
    pub subagents: Vec<Thread>,
}

impl SessionRow {
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.last_at? - self.first_at?)
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionsReport {
    pub rows: Vec<SessionRow>,
    /// Over the rows shown.
    pub total: Figures,
}

type Key = (String, String);

/// Every thread with its figures, optionally of one session id only.
pub fn load_threads(
    conn: &Connection,
    session: Option<&str>,
) -> rusqlite::Result<BTreeMap<Key, Thread>> {
    let mut threads: BTreeMap<Key, Thread> = BTreeMap::new();
    let only = |col: &str| only_session(session, col);
    let params = rusqlite::params_from_iter(session.iter());

    let sql = format!(
        "SELECT s.session_id, s.agent_id, s.parent_session_id, p.path, s.first_at, s.last_at,
                coalesce(nullif(s.custom_title, ''), nullif(s.ai_title, '')), s.first_prompt
         FROM sessions s LEFT JOIN projects p ON p.id = s.project_id WHERE 1{}",
        only("s.session_id")
    );
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query(params.clone())?;
    while let Some(r) = rows.next()? {
        let t = Thread {
            session_id: r.get(0)?,
            agent_id: r.get(1)?,
            parent_session_id: r.get(2)?,
            project: r.get(3)?,
            first_at: r.get(4)?,
            last_at: r.get(5)?,
            title: r.get(6)?,
            first_prompt: r.get::<_, Option<String>>(7)?.filter(|p| !p.is_empty()),
            figures: Figures::default(),
        };
        threads.insert((t.session_id.clone(), t.agent_id.clone()), t);
    }

    // summaries: a title for the conversation whose leaf is in the thread
    // (a response's leaf is in its response's thread, its earliest line's:
    // the message row is the first copy read, and a resumed session's copy
    // of an assistant line has the resumed session's id)
    let sql = format!(
        "SELECT coalesce(rt.session_id, m.session_id),
                CASE WHEN rt.id IS NOT NULL THEN coalesce(rt.agent_id, '') ELSE coalesce(m.agent_id, '') END,
                sm.summary
         FROM summaries sm
         JOIN messages m ON m.uuid = sm.leaf_uuid
         LEFT JOIN response_rows r ON r.key = m.message_id AND r.message_keyed = 1
         LEFT JOIN threads rt ON rt.id = r.thread
         WHERE coalesce(rt.session_id, m.session_id) IS NOT NULL AND sm.summary IS NOT NULL AND sm.summary != ''{}
         ORDER BY sm.line_id",
        only("coalesce(rt.session_id, m.session_id)")
    );
    let mut summaries: BTreeMap<Key, String> = BTreeMap::new();
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query(params)?;
    while let Some(r) = rows.next()? {
        summaries.insert((r.get(0)?, r.get(1)?), r.get(2)?);
    }

    let work = match session {
        None => match stored_work(conn)? {
            Some(work) => work,
            None => sum_work(conn, None)?,
        },
        Some(_) => sum_work(conn, session)?,
    };
    for ((sid, aid), f) in work {
        thread(&mut threads, sid, aid).figures = f;
    }

    // title: custom-title, ai-title, summary, first prompt
    for (key, t) in threads.iter_mut() {
        if t.title.is_none() {
            // (a slash command as typed, not as the tags it is stored as)
            t.title = summaries.get(key).cloned().or_else(|| {
                t.first_prompt
                    .as_deref()
                    .map(|p| super::commands::as_typed(p).unwrap_or_else(|| p.to_owned()))
            });
        }
    }
    Ok(threads)
}

/// ` AND {col} = ?1` when the queries are about one session (bound to it).
fn only_session(session: Option<&str>, col: &str) -> String {
    session.map_or_else(String::new, |_| format!(" AND {col} = ?1"))
}

/// What each thread did (of one session only, or all), summed from
/// messages, responses, tool_calls and system_events (their *_rows tables,
/// by thread id: the few thousand threads are read once into a map).
fn sum_work(conn: &Connection, session: Option<&str>) -> rusqlite::Result<HashMap<Key, Figures>> {
    let params = rusqlite::params_from_iter(session.iter());
    // ` AND {col} IN (the session's threads)` when about one session
    let only = |col: &str| {
        session.map_or_else(String::new, |_| {
            format!(" AND {col} IN (SELECT id FROM threads WHERE session_id = ?1)")
        })
    };
    // Responses and tool calls are summed here, not with SQL GROUP BY: the
    // sort over every row costs more than one scan into a hash map.
    let mut strings = Interner::default();
    // thread id -> (session id, agent id or ''), interned: a main thread's
    // NULL and '' agent ids are one key
    let mut keys: HashMap<i64, (u32, u32)> = HashMap::new();
    {
        let sql = format!(
            "SELECT id, session_id, coalesce(agent_id, '') FROM threads WHERE session_id IS NOT NULL{}",
            only_session(session, "session_id")
        );
        let mut st = conn.prepare_cached(&sql)?;
        let mut rows = st.query(params.clone())?;
        while let Some(r) = rows.next()? {
            let key = (
                strings.id(text_ref(r, 1)?.unwrap_or_default()),
                strings.id(text_ref(r, 2)?.unwrap_or_default()),
            );
            keys.insert(r.get(0)?, key);
        }
    }
    #[derive(Default)]
    struct Acc {
        f: Figures,
        models: HashSet<u32>,
    }
    let mut accs: HashMap<(u32, u32), Acc> = HashMap::new();
    let acc = |thread: Option<i64>| thread.and_then(|t| keys.get(&t)).copied();

    let sql = format!(
        "SELECT m.thread, count(*) FROM message_rows m
         WHERE m.is_prompt = 1 AND m.thread IS NOT NULL{}
         GROUP BY m.thread",
        only("m.thread")
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params.clone())?;
    while let Some(r) = rows.next()? {
        if let Some(key) = acc(r.get(0)?) {
            accs.entry(key).or_default().f.prompts += r.get::<_, i64>(1)?.max(0) as u64;
        }
    }

    let sql = format!(
        "SELECT r.thread, r.model, r.input_tokens, r.output_tokens,
                r.cache_creation_5m_tokens + r.cache_creation_1h_tokens, r.cache_read_tokens,
                r.cost_picousd
         FROM response_rows r{} WHERE r.thread IS NOT NULL{}",
        // every session: one scan beats 170k lookups through the index
        if session.is_none() {
            " NOT INDEXED"
        } else {
            ""
        },
        only("r.thread")
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params.clone())?;
    while let Some(r) = rows.next()? {
        let Some(key) = acc(r.get(0)?) else { continue };
        let n = |i: usize| -> rusqlite::Result<u64> {
            Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
        };
        let model = strings.id(text_ref(r, 1)?.unwrap_or_default());
        let a = accs.entry(key).or_default();
        a.models.insert(model);
        let f = &mut a.f;
        f.responses += 1;
        f.input_tokens = f.input_tokens.saturating_add(n(2)?);
        f.output_tokens = f.output_tokens.saturating_add(n(3)?);
        f.cache_creation_tokens = f.cache_creation_tokens.saturating_add(n(4)?);
        f.cache_read_tokens = f.cache_read_tokens.saturating_add(n(5)?);
        match r.get::<_, Option<i64>>(6)? {
            Some(c) => f.cost_picousd += i128::from(c),
            None => f.unpriced_responses += 1,
        }
    }
    let sql = format!(
        "SELECT c.thread, c.is_error = 1 FROM tool_call_rows c
         WHERE c.thread IS NOT NULL AND c.use_line_id IS NOT NULL{}",
        only("c.thread")
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params.clone())?;
    while let Some(r) = rows.next()? {
        let Some(key) = acc(r.get(0)?) else { continue };
        let f = &mut accs.entry(key).or_default().f;
        f.tool_calls += 1;
        f.tool_errors += u64::from(r.get::<_, Option<bool>>(1)?.unwrap_or(false));
    }
    let sql = format!(
        "SELECT e.thread, count(*) FROM system_event_rows e
         WHERE e.subtype = 'compact_boundary' AND e.thread IS NOT NULL{}
         GROUP BY e.thread",
        only("e.thread")
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params)?;
    while let Some(r) = rows.next()? {
        if let Some(key) = acc(r.get(0)?) {
            accs.entry(key).or_default().f.compactions += r.get::<_, i64>(1)?.max(0) as u64;
        }
    }

    let mut work: HashMap<Key, Figures> = HashMap::new();
    for ((sid, aid), mut a) in accs {
        a.f.models = a
            .models
            .iter()
            .map(|m| strings.names[*m as usize].clone())
            .collect();
        let key = (
            strings.names[sid as usize].clone(),
            strings.names[aid as usize].clone(),
        );
        let w = work.entry(key).or_default();
        w.add_work(&a.f);
        w.prompts += a.f.prompts; // (add_work leaves prompts out)
    }
    Ok(work)
}

/// Above this many pending sessions, `refresh` sums every thread in one
/// pass instead of one session at a time.
const FULL_ABOVE: usize = 300;

/// thread_figures holds every response: none was stored without noting
/// its session (a response with no session belongs to no thread). The
/// count reads the smallest index on response_rows; the NULLs are the
/// first entries of responses_thread.
const COUNTS_AGREE: &str = "(SELECT count(*) FROM response_rows)
    = (SELECT coalesce(sum(responses), 0) FROM thread_figures)
      + (SELECT count(*) FROM response_rows WHERE thread IS NULL)
      + (SELECT count(*) FROM response_rows
         WHERE thread IN (SELECT id FROM threads WHERE session_id IS NULL))";

/// The stored thread figures, or None while a session is pending.
fn stored_work(conn: &Connection) -> rusqlite::Result<Option<HashMap<Key, Figures>>> {
    let fresh: bool = conn.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM thread_figures_dirty) AND {COUNTS_AGREE}"),
        [],
        |r| r.get(0),
    )?;
    if !fresh {
        return Ok(None);
    }
    let mut st = conn.prepare(
        "SELECT session_id, agent_id, prompts, responses, unpriced_responses, tool_calls, tool_errors,
                compactions, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens,
                cost_dollars, cost_rest_picousd, models
         FROM thread_figures",
    )?;
    let mut rows = st.query([])?;
    let mut work = HashMap::new();
    while let Some(r) = rows.next()? {
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let models: Vec<String> = serde_json::from_str(&r.get::<_, String>(14)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e))
        })?;
        let f = Figures {
            prompts: n(2)?,
            responses: n(3)?,
            unpriced_responses: n(4)?,
            tool_calls: n(5)?,
            tool_errors: n(6)?,
            compactions: n(7)?,
            input_tokens: n(8)?,
            output_tokens: n(9)?,
            cache_creation_tokens: n(10)?,
            cache_read_tokens: n(11)?,
            cost_picousd: i128::from(r.get::<_, i64>(12)?) * PICO
                + i128::from(r.get::<_, i64>(13)?),
            models: models.into_iter().collect(),
        };
        work.insert((r.get(0)?, r.get(1)?), f);
    }
    Ok(Some(work))
}

const PICO: i128 = 1_000_000_000_000;

/// Re-sum the threads of the sessions ingest noted in thread_figures_dirty
/// (every thread when many are pending, or when the stored figures do not
/// account for every response: checked when `check_counts`, after
/// responses were stored), in one write transaction. Returns how many
/// sessions were pending.
pub fn refresh(conn: &Connection, check_counts: bool) -> rusqlite::Result<usize> {
    let noted: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM thread_figures_dirty)",
        [],
        |r| r.get(0),
    )?;
    if !noted
        && (!check_counts || conn.query_row(&format!("SELECT {COUNTS_AGREE}"), [], |r| r.get(0))?)
    {
        return Ok(0);
    }
    crate::store::immediate(conn, || {
        // (read with the write lock held: a session another writer notes
        // between a read before it and the DELETE below would lose its
        // note, and its figures would be trusted, stale)
        let pending: Vec<String> = conn
            .prepare("SELECT session_id FROM thread_figures_dirty")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if pending.is_empty() || pending.len() > FULL_ABOVE {
            conn.execute("DELETE FROM thread_figures", [])?;
            store_work(conn, sum_work(conn, None)?)?;
        } else {
            for sid in &pending {
                conn.prepare_cached("DELETE FROM thread_figures WHERE session_id = ?1")?
                    .execute([sid])?;
                store_work(conn, sum_work(conn, Some(sid))?)?;
            }
        }
        conn.execute("DELETE FROM thread_figures_dirty", [])?;
        Ok(pending.len())
    })
}

fn store_work(conn: &Connection, work: HashMap<Key, Figures>) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO thread_figures(session_id, agent_id, prompts, responses, unpriced_responses, tool_calls,
           tool_errors, compactions, input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens,
           cost_dollars, cost_rest_picousd, models)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    for ((sid, aid), f) in work {
        // (a sum of i64 costs: the whole dollars fit an i64 by far)
        let dollars = i64::try_from(f.cost_picousd / PICO).unwrap_or(i64::MAX);
        let rest = (f.cost_picousd % PICO) as i64;
        let models = serde_json::to_string(&f.models).unwrap_or_else(|_| "[]".into());
        st.execute(rusqlite::params![
            sid,
            aid,
            int(f.prompts),
            int(f.responses),
            int(f.unpriced_responses),
            int(f.tool_calls),
            int(f.tool_errors),
            int(f.compactions),
            int(f.input_tokens),
            int(f.output_tokens),
            int(f.cache_creation_tokens),
            int(f.cache_read_tokens),
            dollars,
            rest,
            models
        ])?;
    }
    Ok(())
}

fn thread(threads: &mut BTreeMap<Key, Thread>, sid: String, aid: String) -> &mut Thread {
    threads.entry((sid.clone(), aid.clone())).or_insert(Thread {
        session_id: sid,
        agent_id: aid,
        ..Default::default()
    })
}

/// Threads grouped into sessions (one per session id).
pub fn group(threads: BTreeMap<Key, Thread>) -> Vec<SessionRow> {
    let mut rows: BTreeMap<String, SessionRow> = BTreeMap::new();
    for ((sid, aid), t) in threads {
        let row = rows.entry(sid.clone()).or_insert_with(|| SessionRow {
            session_id: sid,
            ..Default::default()
        });
        row.first_at = min_opt(row.first_at, t.first_at);
        row.last_at = row.last_at.max(t.last_at);
        row.figures.add_work(&t.figures);
        if aid.is_empty() {
            row.has_main_thread = true;
            row.figures.prompts = t.figures.prompts;
            row.title = t.title.clone();
            row.project = t.project.clone().or(row.project.take());
        } else {
            if row.project.is_none() {
                row.project = t.project.clone();
            }
            row.subagents.push(t);
        }
    }
    let mut out: Vec<SessionRow> = rows.into_values().collect();
    for r in &mut out {
        r.subagents.sort_by(|a, b| {
            (a.first_at.is_none(), a.first_at, &a.agent_id).cmp(&(
                b.first_at.is_none(),
                b.first_at,
                &b.agent_id,
            ))
        });
    }
    out
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

pub fn run(conn: &Connection, q: &SessionsQuery) -> rusqlite::Result<SessionsReport> {
    let mut rows: Vec<SessionRow> = group(load_threads(conn, q.session.as_deref())?)
        .into_iter()
        .filter(|r| {
            q.range.overlaps(r.first_at, r.last_at)
                && project_matches(r.project.as_deref(), q.project.as_deref())
        })
        .collect();
    match q.sort {
        SortKey::Start => rows.sort_by(|a, b| {
            (b.first_at.is_some(), b.first_at, &a.session_id).cmp(&(
                a.first_at.is_some(),
                a.first_at,
                &b.session_id,
            ))
        }),
        SortKey::Cost => rows.sort_by(|a, b| {
            b.figures
                .cost_picousd
                .cmp(&a.figures.cost_picousd)
                .then(b.first_at.cmp(&a.first_at))
                .then(a.session_id.cmp(&b.session_id))
        }),
        SortKey::Duration => rows.sort_by(|a, b| {
            b.duration_ms()
                .cmp(&a.duration_ms())
                .then(b.first_at.cmp(&a.first_at))
                .then(a.session_id.cmp(&b.session_id))
        }),
    }
    if let Some(n) = q.limit {
        rows.truncate(n);
    }
    let mut total = Figures::default();
    for r in &rows {
        total.prompts += r.figures.prompts;
        total.add_work(&r.figures);
    }
    Ok(SessionsReport { rows, total })
}
