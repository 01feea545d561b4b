//! Writing: parsed batches -> rows, one transaction at a time, each file's
//! cursor committed with the rows read from it.

use foldhash::{HashMap, HashMapExt, HashSet};
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::discover;
use super::reader::{Batch, Cursor};
use super::watch_log;
use crate::pricing::{PriceTable, Usage};
use crate::store::raw::{Packer, Unpacker};
use crate::store::uuid::UuidKey;
use crate::transcript::{BlockRecord, Body, Envelope, MessageBody, Parsed, Record, UsageFigures};

/// The file a batch belongs to, as the writer needs it.
#[derive(Debug, Clone)]
pub struct FileRef {
    pub id: i64,
    pub display: String,
}

/// What one ingest run did (the `ingest --json` counters that come from rows).
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub lines_read: u64,
    pub records_by_type: std::collections::BTreeMap<String, u64>,
    pub unknown_types: std::collections::BTreeMap<String, u64>,
    pub malformed_lines: u64,
    pub responses_new: u64,
    pub responses_updated: u64,
    pub warnings: u64,
    pub raw_chunks_merged: u64,
}

/// A located problem for the user (file, line, what).
#[derive(Debug, Clone)]
pub struct Notice {
    pub file: String,
    pub line: u64,
    pub message: String,
    /// An incomplete last line waiting for its newline: normal while Claude
    /// Code is writing, so `watch` does not report it.
    pub held_back: bool,
}

#[derive(Default, Clone)]
struct ResponseAgg {
    message_id: Option<String>,
    model: Option<String>,
    session_id: Option<String>,
    agent_id: Option<String>,
    git_branch: Option<String>,
    first_line_id: Option<i64>,
    at: Option<i64>,
    figures: UsageFigures,
    is_final: bool,
    stop_reason: Option<String>,
    line_count: i64,
    /// The id of the line that started this aggregate: a flush inserts in
    /// read order, so row ids do not depend on where commits fall.
    read_order: i64,
}

#[derive(Default)]
struct SessionAgg {
    first_at: Option<i64>,
    last_at: Option<i64>,
    version: Option<(Option<i64>, String)>,
    git_branch: Option<(Option<i64>, String)>,
    slug: Option<String>,
    custom_title: Option<Option<String>>,
    ai_title: Option<String>,
    tag: Option<Option<String>>,
    /// The earliest prompt (its time, its text).
    first_prompt: Option<(Option<i64>, String)>,
    /// The earliest line's cwd (its time, the cwd).
    cwd: Option<(Option<i64>, String)>,
    lines: i64,
    /// As ResponseAgg::read_order (new projects get their ids in this order).
    read_order: i64,
}

pub struct Writer<'c> {
    conn: &'c Connection,
    prices: &'c PriceTable,
    pub counts: Counts,
    pub notices: Vec<Notice>,
    responses: HashMap<String, ResponseAgg>,
    /// Rollup (bucket, thread) pairs of the responses inserted since the
    /// last flush (thread 0: none; updates and deletes are noted by
    /// triggers).
    dirty_rollup: HashSet<(i64, i64)>,
    /// Sessions whose thread figures a line since the last flush may have
    /// changed (updated and deleted responses are noted by triggers).
    dirty_sessions: HashSet<String>,
    /// session id -> agent id -> figures (nested so that a line looks its
    /// session up by &str, without allocating a key)
    sessions: HashMap<String, HashMap<String, SessionAgg>>,
    projects: HashMap<String, i64>,
    /// A session's project and the time of the line it is from.
    session_projects: HashMap<String, (Option<i64>, Option<i64>)>,
    in_tx: bool,
    /// Live events (watch) are built only when one of these is on. Into
    /// the watch log, in the transaction that stores their rows: they wait
    /// in `to_log` until `commit`, as text (a 40,000-line ingest with a
    /// watcher live peaked at 108 MB so, at 230 MB with them held as
    /// `Value`s; 74 MB with no watcher).
    pub log_events: bool,
    to_log: Vec<watch_log::Entry>,
    /// For the caller, in `kept`.
    pub keep_events: bool,
    pub kept: Vec<Value>,
    /// Sessions known to exist (watch: to tell a session's start).
    known_sessions: HashSet<(String, String)>,
    threads: Threads,
    /// Files that got a small raw chunk after earlier ones (an append):
    /// their trailing small chunks may be worth merging (`merge_raw_tails`).
    raw_tails: std::collections::BTreeSet<i64>,
    /// file id -> the `sessionId`s its lines since the last flush carry
    /// (for `file_session_ids`)
    file_session_ids: HashMap<i64, HashSet<String>>,
    /// The last message rows stored with a canonical uuid, newest last:
    /// (file id, uuid, line id). A line whose parent is among them (same
    /// file) stores the distance in line ids instead of the parent's uuid.
    recent: std::collections::VecDeque<(i64, [u8; 16], i64)>,
    /// The line being modelled takes the message over from a later copy
    /// (`yield_to_earlier`): its events are not emitted again.
    took_over: bool,
    /// The writer turned foreign keys off: dropping it turns them on.
    restore_foreign_keys: bool,
    /// The file of the batch being written.
    file_id: i64,
    hot: Hot<'c>,
}

/// Which line's cache writes a response keeps: its 5m and 1h writes are
/// one split of one count, taken together from the line that wrote the
/// most, and of equal counts from the one with more 1h writes (a line
/// without `usage.cache_creation` counts them all as 5m: a line with it
/// says better). The figures' own maximums would count the same writes
/// as both (`ingest`, and the stored row's merge in SQL, compare alike).
fn cache_split_key(m5: u64, h1: u64) -> (u128, u64) {
    (u128::from(m5) + u128::from(h1), h1)
}

/// A line at `new` is before one at `old`, as a response's first line is
/// told: a time beats none (two without one: the first read stays).
fn earlier(new: Option<i64>, old: Option<i64>) -> bool {
    match (new, old) {
        (Some(new), Some(old)) => new < old,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `value`, of a line at `at`, into `slot` if that line is `earlier` than
/// the one the slot holds (or it holds none): the earliest line's, whatever
/// the order the files are read in.
fn keep_earliest(slot: &mut Option<(Option<i64>, String)>, at: Option<i64>, value: &str) {
    if slot.as_ref().is_none_or(|(held, _)| earlier(at, *held)) {
        *slot = Some((at, value.to_owned()));
    }
}

/// Claude Code's own commands that say nothing of the work (`/clear`,
/// `/model`, `/context`, ...): a session is titled by them only when it has
/// no other prompt.
const HOUSEKEEPING: &[&str] = &[
    "/add-dir",
    "/agents",
    "/bug",
    "/clear",
    "/compact",
    "/config",
    "/context",
    "/cost",
    "/doctor",
    "/exit",
    "/export",
    "/fast",
    "/help",
    "/hooks",
    "/ide",
    "/login",
    "/logout",
    "/mcp",
    "/memory",
    "/model",
    "/output-style",
    "/permissions",
    "/plugin",
    "/privacy-settings",
    "/quit",
    "/release-notes",
    "/resume",
    "/rewind",
    "/status",
    "/statusline",
    "/terminal-setup",
    "/theme",
    "/todos",
    "/upgrade",
    "/usage",
    "/vim",
];

/// Added to a housekeeping command's time as the session's first prompt
/// (`sessions.first_prompt_at`): ~31,700 years, past any time a line can
/// have (from the year 9000 a time is taken as none).
const HOUSEKEEPING_LATER: i64 = 1_000_000_000_000_000;

/// A prompt that is one of the `HOUSEKEEPING` commands, as Claude Code
/// stores a slash command (`<command-name>/clear</command-name>...`).
fn is_housekeeping(text: &str) -> bool {
    crate::report::commands::as_typed(text).is_some_and(|typed| {
        let name = typed.split_whitespace().next().unwrap_or("");
        HOUSEKEEPING.contains(&name)
    })
}

/// A user line with content of its own: not a tool's result, nor a
/// compaction's summary, nor a line with nothing typed: no message, no
/// content, an empty list, blank text, blocks of no type (tour-s35 F4,
/// review-s35 L1). Text that is not blank, or a block of another kind (an
/// image, a document), is content.
fn is_user_text(r: &Record, m: Option<&MessageBody>) -> bool {
    let typed = |m: &MessageBody| {
        m.has_text
            || m.blocks.iter().any(|b| {
                !matches!(
                    b.kind.as_str(),
                    "text" | "tool_result" | crate::transcript::NO_TYPE
                )
            })
    };
    r.line_type == "user"
        && !r.env.is_compact_summary
        && m.is_some_and(|m| typed(m) && !m.blocks.iter().any(|b| b.kind == "tool_result"))
}

/// A prompt: what the user typed. Not a meta line, not a 1.0.x subagent's
/// line in the main file (a sidechain without an agent id), nor a note
/// Claude Code wrote as a user line (an interruption, a command's output).
fn is_prompt(r: &Record, m: Option<&MessageBody>) -> bool {
    let env = &r.env;
    let inline_subagent = env.is_sidechain && env.agent_id.is_none();
    let note = || {
        m.is_some_and(|m| {
            m.text_preview
                .as_deref()
                .is_some_and(crate::transcript::is_claude_code_note)
        })
    };
    is_user_text(r, m) && !env.is_meta && !inline_subagent && !note()
}

/// A content block that calls a tool (the client's or the server's).
fn is_tool_use(kind: &str) -> bool {
    matches!(kind, "tool_use" | "server_tool_use")
}

/// What tells a copy of a line from a different line with the same uuid
/// (`message_rows.content_key`, schema 15): 15 bits of FNV-1a over what a
/// line says, but for its time: its type and subtype, message id, text
/// preview, the tool use ids it names (its blocks', its `toolUseID`), a
/// system line's text, a progress or attachment line's kind. A resumed
/// session re-writes earlier lines into its own file with their uuids
/// and all of these (assistant lines with a new time, user lines with
/// their text as blocks): the same key, so the copy is left out (INSERT
/// OR IGNORE on the unique (uuid, content_key)). Hand-made and other
/// tools' transcripts reuse uuids for different lines: another key, a
/// message of its own, whatever the order the files are read in. Lines
/// that differ in nothing of these (an attachment re-emitted later) are
/// one. 15 bits keep the key a 2-byte integer; two different lines with
/// one uuid take each other for a copy 1 time in 32,768 (before schema
/// 15, every time). What goes into the key is part of the schema: change
/// it only with a migration that rebuilds (the test
/// `content_keys_are_stable` pins a few).
fn content_key(r: &Record, preview: Option<&str>) -> i64 {
    use crate::ingest::reader::{FNV_START, fnv1a_more};
    // (a separator, and None apart from "")
    let add = |h: u64, part: Option<&str>| {
        let h = fnv1a_more(h, if part.is_some() { &[0x00] } else { &[0xff] });
        fnv1a_more(h, part.unwrap_or("").as_bytes())
    };
    let env = &r.env;
    let mut h = fnv1a_more(FNV_START, r.line_type.as_bytes());
    for part in [env.subtype.as_deref(), env.tool_use_id.as_deref(), preview] {
        h = add(h, part);
    }
    match &r.body {
        Body::Message(m) => {
            h = add(h, m.message_id.as_deref());
            for id in m.blocks.iter().filter_map(|b| b.tool_use_id.as_deref()) {
                h = add(h, Some(id));
            }
        }
        Body::System(s) => h = add(h, s.content_preview.as_deref()),
        Body::Progress(p) => {
            h = add(h, p.kind.as_deref());
            h = add(h, p.tool_name.as_deref());
        }
        Body::Attachment(a) => {
            for part in [
                a.kind.as_deref(),
                a.tool_use_id.as_deref(),
                a.hook_name.as_deref(),
            ] {
                h = add(h, part);
            }
        }
        _ => {}
    }
    (h & 0x7fff) as i64
}

/// A raw chunk spanning fewer bytes than this is small: zstd finds little
/// to share in one status line's or watch round's few lines (3-line chunks
/// of a transcript: 0.38 of their size, against 0.20 for a whole file).
const SMALL_CHUNK: i64 = 256 << 10;

/// This many small chunks in a row at the end of a file are merged into
/// one: each byte is compressed again only a few times (the merged chunk
/// grows past SMALL_CHUNK after a few merges and is left alone).
const MERGE_RUN: usize = 8;

/// A row's thread: the id of its (session id, agent id) pair in `threads`;
/// None for a line with neither.
type ThreadId = Option<i64>;

/// The `threads` rows the writer has met, as (session id, agent id) -> id
/// and back (a few thousand at most; looked up in the table when first met:
/// loading them all cost a watch round ~1.5 ms). The rows the writer
/// stores name their thread by id.
#[derive(Default)]
struct Threads {
    /// session id -> (agent id, thread id); nested so that a line looks its
    /// thread up by &str, without allocating a key
    by_session: HashMap<String, Vec<(Option<String>, i64)>>,
    /// lines with an agent id but no session id
    no_session: Vec<(Option<String>, i64)>,
    sessions: HashMap<i64, Option<String>>,
}

impl Threads {
    fn add(&mut self, id: i64, session: Option<String>, agent: Option<String>) {
        match &session {
            Some(s) => self
                .by_session
                .entry(s.clone())
                .or_default()
                .push((agent, id)),
            None => self.no_session.push((agent, id)),
        }
        self.sessions.insert(id, session);
    }

    fn get(&self, session: Option<&str>, agent: Option<&str>) -> Option<i64> {
        let agents = match session {
            Some(s) => self.by_session.get(s)?,
            None => &self.no_session,
        };
        agents
            .iter()
            .find(|(a, _)| a.as_deref() == agent)
            .map(|&(_, id)| id)
    }
}

/// The statements run for nearly every line, prepared once: a
/// `prepare_cached` lookup hashes the whole SQL text on every call.
struct Hot<'c> {
    line: rusqlite::Statement<'c>,
    message: rusqlite::Statement<'c>,
    block: rusqlite::Statement<'c>,
}

const INSERT_LINE: &str = "INSERT INTO lines(file_id, line_no, byte_offset, byte_len, type, status, error, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const INSERT_MESSAGE: &str = "INSERT OR IGNORE INTO message_rows(line_id, uuid, parent_uuid, parent_gap, logical_parent_uuid, thread, subtype,
                 is_sidechain, is_meta, is_compact_summary, is_prompt, message_id, model, stop_reason, text_preview,
                 is_api_error, api_error_status, error, content_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// How many of the last stored messages a line's parent is looked for in
/// (it is nearly always the one before).
const RECENT_MESSAGES: usize = 16;
/// The largest `parent_gap` stored (schema 33): a parent further back is
/// named by its uuid, so the messages that name a line by distance are
/// among the next MAX_PARENT_GAP line ids (`yield_to_earlier` looks there).
/// Real transcripts' gaps are at most ~140 (the public corpus); a move
/// scans the range (at 1024, a resumed file of 20,000 lines read before
/// its original took ~40% more CPU than at 256).
const MAX_PARENT_GAP: i64 = 256;
const INSERT_BLOCK: &str = "INSERT INTO content_blocks(line_id, idx, type, tool_use_id, tool_name, text_bytes, is_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

fn b(v: bool) -> i64 {
    i64::from(v)
}

impl<'c> Writer<'c> {
    /// Foreign keys are not checked while the writer lives (a lookup per
    /// row, ~6% of a cold ingest's CPU): every reference it writes is to a
    /// row it wrote first (tests run `foreign_key_check` after ingests).
    /// Dropping the writer turns them back on if it turned them off (a
    /// change of the setting makes SQLite compile every statement again:
    /// `watch`, a writer per pass, keeps them off for its whole run).
    pub fn new(conn: &'c Connection, prices: &'c PriceTable) -> rusqlite::Result<Writer<'c>> {
        let checked: bool = conn
            .prepare_cached("PRAGMA foreign_keys")?
            .query_row([], |r| r.get(0))?;
        if checked {
            conn.pragma_update(None, "foreign_keys", false)?;
        }
        let mut projects = HashMap::new();
        {
            let mut st = conn.prepare("SELECT path, id FROM projects")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (p, id) = row?;
                projects.insert(p, id);
            }
        }
        let hot = Hot {
            line: conn.prepare(INSERT_LINE)?,
            message: conn.prepare(INSERT_MESSAGE)?,
            block: conn.prepare(INSERT_BLOCK)?,
        };
        Ok(Writer {
            hot,
            conn,
            prices,
            counts: Counts::default(),
            notices: Vec::new(),
            responses: HashMap::new(),
            dirty_rollup: Default::default(),
            dirty_sessions: Default::default(),
            sessions: HashMap::new(),
            projects,
            session_projects: HashMap::new(),
            in_tx: false,
            log_events: false,
            to_log: Vec::new(),
            keep_events: false,
            kept: Vec::new(),
            known_sessions: Default::default(),
            threads: Threads::default(),
            raw_tails: Default::default(),
            file_session_ids: HashMap::new(),
            recent: Default::default(),
            took_over: false,
            restore_foreign_keys: checked,
            file_id: 0,
        })
    }

    /// Make an event, if events are wanted. `fields` makes its own fields
    /// (an object), only then: a cold ingest wants none (and built them for
    /// 260k lines when they were made first).
    fn emit(&mut self, kind: &str, env: Option<&Envelope>, fields: impl FnOnce() -> Value) {
        // (a line that takes the message over from a copy read first was
        // told of then, as the copy: not twice)
        if !self.wants_events() || self.took_over {
            return;
        }
        let mut m = Map::new();
        m.insert("event".into(), json!(kind));
        if let Some(env) = env {
            m.insert("session_id".into(), json!(env.session_id));
            m.insert("agent_id".into(), json!(env.agent_id));
            m.insert("project".into(), json!(env.cwd));
            m.insert(
                "timestamp".into(),
                json!(env.timestamp_ms.map(crate::transcript::format_timestamp)),
            );
        }
        if let Value::Object(f) = fields() {
            m.extend(f);
        }
        let e = Value::Object(m);
        if self.log_events {
            self.to_log.push(watch_log::Entry::of(&e));
        }
        if self.keep_events {
            self.kept.push(e);
        }
    }

    fn wants_events(&self) -> bool {
        self.log_events || self.keep_events
    }

    /// Emit `session_start` before the first line of a session not yet stored.
    fn session_start_event(&mut self, env: &Envelope) -> rusqlite::Result<()> {
        let Some(sid) = env.session_id.clone() else {
            return Ok(());
        };
        let key = (sid, env.agent_id.clone().unwrap_or_default());
        if self.known_sessions.contains(&key) {
            return Ok(());
        }
        let stored: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM sessions WHERE session_id = ?1 AND agent_id = ?2")?
            .query_row([&key.0, &key.1], |r| r.get(0))
            .optional()?;
        let fresh = stored.is_none()
            && !self
                .sessions
                .get(&key.0)
                .is_some_and(|a| a.contains_key(&key.1));
        self.known_sessions.insert(key);
        if fresh {
            self.emit("session_start", Some(env), || json!({"slug": env.slug}));
        }
        Ok(())
    }

    /// Go on in the transaction the caller began (a rebuild empties the
    /// tables and fills them again in one, so readers never see them half
    /// full); `commit` ends it.
    pub fn continue_transaction(&mut self) {
        self.in_tx = true;
    }

    pub fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Merge the trailing small raw chunks of the files appended to, once
    /// MERGE_RUN of them are in a row: the bytes of the merged chunks,
    /// concatenated, compressed as one chunk in their place.
    pub fn merge_raw_tails(&mut self) -> rusqlite::Result<()> {
        let files = std::mem::take(&mut self.raw_tails);
        if files.is_empty() {
            return Ok(());
        }
        self.begin()?;
        // (made at the first merge: most watch rounds have none)
        let mut unpacker: Option<Unpacker> = None;
        for file_id in files {
            let mut run: Vec<(i64, i64, i64)> = {
                let mut st = self.conn.prepare_cached(
                    "SELECT start_offset, end_offset, first_line FROM raw_chunks
                     WHERE file_id = ?1 ORDER BY start_offset DESC LIMIT ?2",
                )?;
                let rows = st.query_map(params![file_id, MERGE_RUN as i64 * 4], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                let mut run = Vec::new();
                for row in rows {
                    let (start, end, first) = row?;
                    let adjacent = run.last().is_none_or(|&(next, _, _)| next == end);
                    if end - start >= SMALL_CHUNK || !adjacent {
                        break;
                    }
                    run.push((start, end, first));
                }
                run
            };
            if run.len() < MERGE_RUN {
                continue;
            }
            // The run's bytes, newest first. A chunk that ends without a
            // newline ended with a complete object at the end of the file
            // as then read: merged, it would run into the next chunk's
            // first line, so the run stops after it. (So does a chunk that
            // does not decompress: it is left for export to report.)
            let mut parts: Vec<Vec<u8>> = Vec::with_capacity(run.len());
            {
                let mut st = self.conn.prepare_cached(
                    "SELECT dict, data FROM raw_chunks WHERE file_id = ?1 AND start_offset = ?2",
                )?;
                for &(start, end, _) in &run {
                    let unpacker = unpacker.get_or_insert_with(Unpacker::default);
                    let plain: Option<Vec<u8>> = st.query_row(params![file_id, start], |r| {
                        Ok(unpacker
                            .unpack(
                                self.conn,
                                r.get(0)?,
                                crate::store::raw::stored_frame(r.get_ref(1)?),
                                (end - start) as usize,
                            )
                            .ok())
                    })?;
                    let Some(plain) = plain else {
                        break;
                    };
                    if !parts.is_empty() && !plain.ends_with(b"\n") {
                        break;
                    }
                    parts.push(plain);
                }
            }
            run.truncate(parts.len());
            if run.len() < MERGE_RUN {
                continue;
            }
            let (start, first_line) = (run[run.len() - 1].0, run[run.len() - 1].2);
            let end = run[0].1;
            let bytes: Vec<u8> = parts.into_iter().rev().flatten().collect();
            // (merged chunks are small: compressed without a dictionary)
            let data = Packer::new(None)
                .and_then(|mut p| p.pack(&bytes))
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
                .data;
            self.conn
                .prepare_cached("DELETE FROM raw_chunks WHERE file_id = ?1 AND start_offset >= ?2")?
                .execute(params![file_id, start])?;
            self.conn
                .prepare_cached(
                    "INSERT INTO raw_chunks(file_id, start_offset, end_offset, first_line, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![file_id, start, end, first_line, data])?;
            self.counts.raw_chunks_merged += run.len() as u64;
        }
        Ok(())
    }

    /// A file's last line stored cut (see `ingest::plan`) has been
    /// continued: its row goes (a tail of blanks has none), and the stored
    /// bytes end where it starts (the chunk that holds it is cut there), so
    /// that the whole line, read again from `at`, takes its place with the
    /// same line number.
    pub fn recut(&mut self, file_id: i64, line_id: Option<i64>, at: u64) -> rusqlite::Result<()> {
        self.begin()?;
        if let Some(line_id) = line_id {
            self.conn
                .prepare_cached("DELETE FROM lines WHERE id = ?1")?
                .execute([line_id])?;
        }
        let at = at as i64;
        let holding: Option<(i64, i64, Option<i64>, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT start_offset, end_offset, dict, data FROM raw_chunks
                 WHERE file_id = ?1 AND start_offset < ?2 AND end_offset > ?2",
            )?
            .query_row(params![file_id, at], |r| {
                let data = crate::store::raw::stored_frame(r.get_ref(3)?).to_vec();
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, data))
            })
            .optional()?;
        self.conn
            .prepare_cached("DELETE FROM raw_chunks WHERE file_id = ?1 AND start_offset >= ?2")?
            .execute(params![file_id, at])?;
        if let Some((start, end, dict, data)) = holding {
            let cut = Unpacker::default()
                .unpack(self.conn, dict, &data, (end - start) as usize)
                .and_then(|plain| Packer::new(None)?.pack(&plain[..(at - start) as usize]));
            match cut {
                Ok(packed) => self
                    .conn
                    .prepare_cached(
                        "UPDATE raw_chunks SET end_offset = ?3, data = ?4, dict = NULL WHERE file_id = ?1 AND start_offset = ?2",
                    )?
                    .execute(params![file_id, start, at, packed.data])?,
                // A chunk that does not decompress (a damaged database)
                // stays as it is, said to end where the line starts: the
                // file's chunks still follow one another, and `ingest
                // --full` reads it again from the transcript, or says
                // which bytes are lost. (Failing here would stop every
                // ingest, of every file, for good.)
                Err(e) if crate::store::raw::is_damage(&e) => self
                    .conn
                    .prepare_cached(
                        "UPDATE raw_chunks SET end_offset = ?3 WHERE file_id = ?1 AND start_offset = ?2",
                    )?
                    .execute(params![file_id, start, at])?,
                // (SQLite failing to read its dictionary: the ingest fails,
                // and the next one tries again)
                Err(e) => return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))),
            };
        }
        Ok(())
    }

    /// Flush the aggregates, log the transaction's events, and commit.
    pub fn commit(&mut self) -> rusqlite::Result<()> {
        if self.in_tx {
            self.flush()?;
            watch_log::append(self.conn, &self.to_log)?;
            self.to_log.clear();
            self.conn.execute_batch("COMMIT")?;
            self.in_tx = false;
        }
        Ok(())
    }

    /// Store one batch: raw bytes, lines, typed rows, and the file cursor.
    pub fn write_batch(&mut self, file: &FileRef, batch: &Batch) -> rusqlite::Result<()> {
        self.begin()?;
        self.file_id = file.id;
        if let (Some(raw), Some(c)) = (&batch.raw, &batch.cursor) {
            self.conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO raw_chunks(file_id, start_offset, end_offset, first_line, data, dict) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    file.id,
                    batch.start_offset as i64,
                    c.read_offset as i64,
                    batch.first_line as i64,
                    raw.data,
                    raw.dict
                ])?;
            if batch.start_offset > 0 && ((c.read_offset - batch.start_offset) as i64) < SMALL_CHUNK
            {
                self.raw_tails.insert(file.id);
            }
        }
        for item in &batch.items {
            self.write_item(file, item.line_no, item.offset, item.len, &item.parsed)?;
        }
        if let Some(c) = &batch.cursor {
            self.set_cursor(file.id, c)?;
        }
        Ok(())
    }

    fn set_cursor(&self, file_id: i64, c: &Cursor) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE source_files SET read_offset = ?2, line_count = ?3, size = ?4, mtime_ns = ?5, dev = ?6, ino = ?7,
                 fingerprint = ?8, fingerprint_len = ?9, held_back_bytes = ?10, last_read_at = ?11,
                 tail_len = ?12, tail_digest = ?13
                 WHERE id = ?1",
            )?
            .execute(params![
                file_id,
                c.read_offset as i64,
                c.line_count as i64,
                c.size as i64,
                c.mtime_ns,
                c.dev as i64,
                c.ino as i64,
                c.fingerprint as i64,
                c.fingerprint_len as i64,
                c.held_back_bytes as i64,
                chrono::Utc::now().timestamp_millis(),
                c.tail_len as i64,
                c.tail_digest as i64,
            ])?;
        Ok(())
    }

    fn write_item(
        &mut self,
        file: &FileRef,
        line_no: u64,
        offset: u64,
        len: u64,
        parsed: &Parsed,
    ) -> rusqlite::Result<()> {
        self.counts.lines_read += 1;
        let record = match parsed {
            Parsed::Blank => return Ok(()),
            Parsed::Malformed(error) => {
                self.counts.malformed_lines += 1;
                self.conn
                    .prepare_cached(
                        "INSERT INTO lines(file_id, line_no, byte_offset, byte_len, type, status, error, at) VALUES (?1, ?2, ?3, ?4, NULL, 'malformed', ?5, NULL)",
                    )?
                    .execute(params![file.id, line_no as i64, offset as i64, len as i64, error])?;
                self.emit(
                    "malformed_line",
                    None,
                    || json!({"file": file.display, "line": line_no, "error": error}),
                );
                self.notices.push(Notice {
                    file: file.display.clone(),
                    line: line_no,
                    message: format!("malformed line ({error}); kept raw, skipped"),
                    held_back: false,
                });
                return Ok(());
            }
            Parsed::Record(r) => r,
        };
        match self.counts.records_by_type.get_mut(&record.line_type) {
            Some(n) => *n += 1,
            None => {
                self.counts
                    .records_by_type
                    .insert(record.line_type.clone(), 1);
            }
        }
        if !record.known {
            *self
                .counts
                .unknown_types
                .entry(record.line_type.clone())
                .or_default() += 1;
        }
        for w in &record.warnings {
            self.counts.warnings += 1;
            self.notices.push(Notice {
                file: file.display.clone(),
                line: line_no,
                message: w.clone(),
                held_back: false,
            });
        }
        let warnings = if record.warnings.is_empty() {
            None
        } else {
            Some(record.warnings.join("; "))
        };
        let status = if record.known { "record" } else { "unknown" };
        self.hot.line.execute(params![
            file.id,
            line_no as i64,
            offset as i64,
            len as i64,
            record.line_type,
            status,
            warnings,
            record.env.timestamp_ms
        ])?;
        let line_id = self.conn.last_insert_rowid();
        // (a subagent's sidecar names no session: its path does; such a
        // line in a transcript is its own line's)
        let sidecar = match &record.body {
            Body::AgentMeta { .. } if discover::is_sidecar_path(&file.display) => {
                Some(crate::transcript::sidecar_ids(&file.display))
            }
            Body::AgentMeta { .. } => {
                Some((record.env.session_id.clone(), record.env.agent_id.clone()))
            }
            _ => None,
        };
        let session = match &sidecar {
            Some((session, _)) => session.as_deref(),
            None => record.env.session_id.as_deref(),
        };
        if let Some(sid) = session {
            let ids = self.file_session_ids.entry(file.id).or_default();
            if !ids.contains(sid) {
                ids.insert(sid.to_owned());
            }
        }
        if let (
            Some((session, agent)),
            Body::AgentMeta {
                agent_type,
                description,
                spawned_by,
            },
        ) = (&sidecar, &record.body)
        {
            self.conn
                .prepare_cached(
                    "INSERT INTO subagent_meta(line_id, session_id, agent_id, agent_type, description, tool_use_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![line_id, session, agent, agent_type, description, spawned_by])?;
        }
        self.model_record(line_id, record)
    }

    fn model_record(&mut self, line_id: i64, r: &Record) -> rusqlite::Result<()> {
        let env = &r.env;
        if self.wants_events() {
            self.session_start_event(env)?;
        }
        self.note_session(line_id, r);
        match &r.body {
            Body::Message(m) => {
                if let Some(u) = m.usage
                    && r.line_type == "assistant"
                    && m.model.as_deref() != Some("<synthetic>")
                {
                    self.add_response(line_id, env, m, u);
                }
                if let Some(thread) = self.insert_message(line_id, r, Some(m))? {
                    self.emit("message", Some(env), || {
                        json!({"type": r.line_type, "uuid": env.uuid, "role": m.role, "model": m.model,
                            "text": m.text_preview, "is_meta": env.is_meta, "is_api_error": m.is_api_error,
                            "subtype": null})
                    });
                    self.insert_blocks(line_id, env, m, thread)?;
                    if self.took_over {
                        // (from a later copy: the results it gave its calls
                        // too, as a copy takes them, see `copied_calls`)
                        self.copied_calls(line_id, env, m)?;
                    }
                } else {
                    self.copied_calls(line_id, env, m)?;
                }
            }
            Body::System(s) => {
                if let Some(thread) = self.insert_message(line_id, r, None)? {
                    self.conn
                        .prepare_cached(
                            "INSERT INTO system_event_rows(line_id, thread, at, subtype, level, content_preview, compact_trigger,
                             compact_pre_tokens, duration_ms, message_count, retry_in_ms, retry_attempt, max_retries)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                        )?
                        .execute(params![
                            line_id,
                            thread,
                            env.timestamp_ms,
                            env.subtype,
                            s.level,
                            s.content_preview,
                            s.compact_trigger,
                            s.compact_pre_tokens,
                            s.duration_ms,
                            s.message_count,
                            s.retry_in_ms,
                            s.retry_attempt,
                            s.max_retries
                        ])?;
                    if env.subtype.as_deref() == Some("compact_boundary") {
                        self.emit("compaction", Some(env), || {
                            json!({"uuid": env.uuid, "trigger": s.compact_trigger, "pre_tokens": s.compact_pre_tokens})
                        });
                    } else {
                        self.emit("message", Some(env), || {
                            // (the keys of every message event: null where a
                            // system line has none)
                            json!({"type": "system", "subtype": env.subtype, "uuid": env.uuid, "text": s.content_preview,
                                "role": null, "model": null, "is_meta": env.is_meta, "is_api_error": null})
                        });
                    }
                    self.system_hooks(line_id, env, thread, s)?;
                }
            }
            Body::Progress(p) => {
                if let Some(thread) = self.insert_message(line_id, r, None)? {
                    self.conn
                        .prepare_cached(
                            "INSERT INTO progress_event_rows(line_id, thread, at, kind, tool_use_id, parent_tool_use_id,
                             data_agent_id, status, server_name, tool_name, elapsed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        )?
                        .execute(params![
                            line_id,
                            thread,
                            env.timestamp_ms,
                            p.kind,
                            env.tool_use_id,
                            env.parent_tool_use_id,
                            p.agent_id,
                            p.status,
                            p.server_name,
                            p.tool_name,
                            p.elapsed_ms
                        ])?;
                    self.emit("progress", Some(env), || {
                        json!({"uuid": env.uuid, "kind": p.kind, "tool_use_id": env.tool_use_id,
                            "parent_tool_use_id": env.parent_tool_use_id, "status": p.status})
                    });
                    if p.kind.as_deref() == Some("hook_progress") {
                        let hook = HookRow {
                            source: "progress",
                            event: p.hook_event.as_deref(),
                            name: p.hook_name.as_deref(),
                            command: p.command.as_deref(),
                            tool_use_id: env.tool_use_id.as_deref(),
                            outcome: "started",
                            ..Default::default()
                        };
                        self.insert_hook(line_id, 0, env, thread, &hook)?;
                    }
                }
            }
            Body::Attachment(a) => {
                if let Some(thread) = self.insert_message(line_id, r, None)? {
                    self.conn
                        .prepare_cached("INSERT INTO attachment_rows(line_id, thread, at, type) VALUES (?1, ?2, ?3, ?4)")?
                        .execute(params![line_id, thread, env.timestamp_ms, a.kind])?;
                    if let Some(outcome) = a.kind.as_deref().and_then(|k| k.strip_prefix("hook_")) {
                        let hook = HookRow {
                            source: "attachment",
                            event: a.hook_event.as_deref(),
                            name: a.hook_name.as_deref(),
                            command: a.command.as_deref(),
                            tool_use_id: a.tool_use_id.as_deref(),
                            outcome,
                            exit_code: a.exit_code,
                            duration_ms: a.duration_ms,
                            output: a.output_preview.as_deref(),
                            ..Default::default()
                        };
                        self.insert_hook(line_id, 0, env, thread, &hook)?;
                    }
                }
            }
            Body::Queue {
                operation,
                content_preview,
                content_bytes,
            } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO queue_operations(line_id, session_id, at, operation, content_preview, content_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        line_id,
                        env.session_id,
                        env.timestamp_ms,
                        operation,
                        content_preview,
                        *content_bytes as i64
                    ])?;
                self.emit(
                    "queue_operation",
                    Some(env),
                    || json!({"operation": operation, "content": content_preview}),
                );
            }
            Body::Summary { summary, leaf_uuid } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO summaries(line_id, summary, leaf_uuid) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![
                        line_id,
                        summary,
                        UuidKey::new(leaf_uuid.as_deref())
                    ])?;
            }
            Body::Snapshot {
                message_id,
                snapshot_message_id,
                is_update,
                files,
                snapshot_at,
            } => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO file_snapshots(line_id, message_id, snapshot_message_id, is_update, files_tracked, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        line_id,
                        message_id,
                        snapshot_message_id,
                        b(*is_update),
                        *files as i64,
                        snapshot_at.or(env.timestamp_ms)
                    ])?;
            }
            Body::Meta { value } => {
                self.conn
                    .prepare_cached("INSERT INTO session_metadata(line_id, session_id, type, value) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![line_id, env.session_id, r.line_type, value])?;
            }
            // (stored by write_item, which knows the file's path)
            Body::AgentMeta { .. } | Body::Other => {}
        }
        self.took_over = false;
        Ok(())
    }

    /// Insert the message row and give its thread (for the line's other
    /// rows); None if a line with this uuid and content is already stored
    /// at the same time or earlier (a copy in a resumed session), in which
    /// case its typed rows are skipped too. A stored one that is later
    /// gives the message up to this line (`yield_to_earlier`).
    fn insert_message(
        &mut self,
        line_id: i64,
        r: &Record,
        m: Option<&MessageBody>,
    ) -> rusqlite::Result<Option<ThreadId>> {
        let env = &r.env;
        let user_text = is_user_text(r, m);
        let is_prompt = is_prompt(r, m);
        let is_api_error = m.is_some_and(|m| m.is_api_error);
        // previews only where a report reads them: prompts (and slash
        // commands, which may be meta lines) and API errors
        let preview = if user_text || is_api_error {
            m.and_then(|m| m.text_preview.as_deref())
        } else {
            None
        };
        let thread = self.thread(env.session_id.as_deref(), env.agent_id.as_deref())?;
        let uuid = UuidKey::new(env.uuid.as_deref());
        let parent = UuidKey::new(env.parent_uuid.as_deref());
        let gap = match env.parent_uuid {
            Some(_) => self.parent_gap(line_id, &parent)?,
            None => None,
        };
        let key = content_key(r, preview);
        let row = params![
            line_id,
            uuid,
            if gap.is_some() { None } else { Some(&parent) },
            gap,
            UuidKey::new(env.logical_parent_uuid.as_deref()),
            thread,
            env.subtype,
            b(env.is_sidechain),
            b(env.is_meta),
            b(env.is_compact_summary),
            b(is_prompt),
            m.and_then(|m| m.message_id.as_deref()),
            m.and_then(|m| m.model.as_deref()),
            m.and_then(|m| m.stop_reason.as_deref()),
            preview,
            b(is_api_error),
            m.and_then(|m| m.api_error_status),
            m.and_then(|m| m.error.as_deref()),
            key,
        ];
        let mut n = self.hot.message.execute(row)?;
        self.took_over = n == 0 && self.yield_to_earlier(&uuid, key, env.timestamp_ms)?;
        if self.took_over {
            n = self.hot.message.execute(row)?;
        }
        if n == 1
            && let Some(&u) = uuid.bytes()
        {
            if self.recent.len() == RECENT_MESSAGES {
                self.recent.pop_front();
            }
            self.recent.push_back((self.file_id, u, line_id));
        }
        Ok((n == 1).then_some(thread))
    }

    /// The line stored as the message of this uuid and content key, if it
    /// is later than a line at `at` (a resumed session's copy read before
    /// its original: Claude Code re-writes the lines it copies with the
    /// resume's time, and assistant lines with the new session's id),
    /// stops being the message: its typed rows go, the messages that named
    /// it as parent by distance name its uuid, its session's figures are
    /// summed again, and the caller stores the earlier line in its place.
    /// So the message, with its session, time and typed rows, is the
    /// earliest copy's whatever the order the files are read in, as a
    /// response and a tool call are. True if so.
    fn yield_to_earlier(
        &mut self,
        uuid: &UuidKey<'_>,
        key: i64,
        at: Option<i64>,
    ) -> rusqlite::Result<bool> {
        let stored = self
            .conn
            .prepare_cached(
                "SELECT m.line_id, (SELECT at FROM lines WHERE id = m.line_id), m.thread, m.uuid
                 FROM message_rows m WHERE m.uuid = ?1 AND m.content_key = ?2",
            )?
            .query_row(params![uuid, key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, rusqlite::types::Value>(3)?,
                ))
            })
            .optional()?;
        let Some((old, old_at, thread, stored_uuid)) = stored else {
            return Ok(false);
        };
        if !earlier(at, old_at) {
            return Ok(false);
        }
        // (every table `model_record` fills for a line that is a message;
        // its tool calls are taken over by the earlier line's blocks)
        for sql in [
            "DELETE FROM content_blocks WHERE line_id = ?1",
            "DELETE FROM system_event_rows WHERE line_id = ?1",
            "DELETE FROM progress_event_rows WHERE line_id = ?1",
            "DELETE FROM attachment_rows WHERE line_id = ?1",
            "DELETE FROM hook_run_rows WHERE line_id = ?1",
            "DELETE FROM message_rows WHERE line_id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([old])?;
        }
        self.recent.retain(|&(_, _, id)| id != old);
        // (the messages that named it by distance: among the next
        // MAX_PARENT_GAP line ids)
        self.conn
            .prepare_cached(
                "UPDATE message_rows SET parent_uuid = ?2, parent_gap = NULL
                 WHERE line_id > ?1 AND line_id <= ?1 + ?3 AND line_id - parent_gap = ?1",
            )?
            .execute(params![old, stored_uuid, MAX_PARENT_GAP])?;
        self.thread_changed_id(thread)?;
        Ok(true)
    }

    /// A tool_use block's call (returned: its MCP server, if any): a row
    /// of its own, or one stored already (its result came first, or the
    /// line is a copy in another file). A stored call takes this use when
    /// it has none, or when this one is `earlier`: a resumed session
    /// re-writes the calls it copies with its own session and the resume's
    /// time, and the call stays the first session's, at its first time,
    /// whatever the order the files are read in. The sessions the call
    /// moves between are noted. (The plain insert first: RETURNING on every
    /// call cost ~2% of a cold ingest's instructions.)
    fn tool_use<'b>(
        &mut self,
        id: &str,
        blk: &'b BlockRecord,
        thread: ThreadId,
        line_id: i64,
        at: Option<i64>,
    ) -> rusqlite::Result<Option<&'b str>> {
        let server = blk
            .tool_name
            .as_deref()
            .and_then(|n| n.strip_prefix("mcp__"))
            .and_then(|rest| rest.split("__").next());
        let values = params![
            id,
            blk.tool_name,
            server,
            blk.input_summary,
            blk.file_path,
            thread,
            line_id,
            at
        ];
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO tool_call_rows(tool_use_id, name, mcp_server, input_summary, file_path, thread, use_line_id, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(tool_use_id) DO NOTHING",
            )?
            .execute(values)?
            == 1;
        if inserted {
            return Ok(server);
        }
        let stored = self
            .conn
            .prepare_cached(
                "SELECT thread, use_line_id IS NULL, started_at FROM tool_call_rows WHERE tool_use_id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })
            .optional()?;
        let Some((before, no_use, started)) = stored else {
            return Ok(server);
        };
        if !no_use && !earlier(at, started) {
            return Ok(server);
        }
        // (a result read first gave the call its session: kept)
        let owner = self
            .conn
            .prepare_cached(
                "UPDATE tool_call_rows SET name = ?2, mcp_server = ?3, input_summary = ?4, file_path = ?5,
                   thread = CASE WHEN use_line_id IS NULL THEN coalesce(thread, ?6) ELSE ?6 END,
                   use_line_id = ?7, started_at = ?8
                 WHERE tool_use_id = ?1
                 RETURNING thread",
            )?
            .query_row(values, |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten();
        self.thread_changed_id(before)?;
        self.thread_changed_id(owner)?;
        Ok(server)
    }

    /// A copy of a stored line (a resumed session's) takes over the calls
    /// it names where it is the earlier: their use (see `tool_use`), their
    /// result.
    fn copied_calls(
        &mut self,
        line_id: i64,
        env: &Envelope,
        m: &MessageBody,
    ) -> rusqlite::Result<()> {
        // (known: insert_message looked it up)
        let thread = self.thread(env.session_id.as_deref(), env.agent_id.as_deref())?;
        for blk in &m.blocks {
            let Some(id) = blk.tool_use_id.as_deref() else {
                continue;
            };
            if is_tool_use(&blk.kind) {
                self.tool_use(id, blk, thread, line_id, env.timestamp_ms)?;
            } else if blk.kind == "tool_result" {
                let owner = self
                    .conn
                    .prepare_cached(
                        "UPDATE tool_call_rows SET result_line_id = ?2, finished_at = ?3, is_error = ?4
                         WHERE tool_use_id = ?1 AND ?3 < coalesce(finished_at, ?3 + 1)
                         RETURNING thread",
                    )?
                    .query_row(
                        params![
                            id,
                            line_id,
                            env.timestamp_ms,
                            b(blk.is_error.unwrap_or(false))
                        ],
                        |r| r.get::<_, Option<i64>>(0),
                    )
                    .optional()?
                    .flatten();
                // (its error counts in the owner's figures)
                self.thread_changed_id(owner)?;
            }
        }
        Ok(())
    }

    /// The distance in line ids to the parent's message row, if it is an
    /// earlier message of the same file at most MAX_PARENT_GAP back (a
    /// recent one, else looked up: a parent that is not a canonical uuid is
    /// always looked up).
    fn parent_gap(&self, line_id: i64, parent: &UuidKey<'_>) -> rusqlite::Result<Option<i64>> {
        let file_id = self.file_id;
        if let Some((_, _, id)) = self
            .recent
            .iter()
            .rev()
            .find(|(f, u, _)| *f == file_id && parent.bytes() == Some(u))
        {
            return Ok(Some(line_id - id).filter(|gap| *gap <= MAX_PARENT_GAP));
        }
        // (the range and the file compared here, not in SQL: SQLite
        // compiles a statement again whenever a value it could have planned
        // with (a filter beside the index's) is bound anew, and this runs
        // for every copied line; a uuid has a row or two)
        let mut st = self.conn.prepare_cached(
            "SELECT m.line_id, (SELECT file_id FROM lines WHERE id = m.line_id) FROM message_rows m
             WHERE m.uuid = ?1",
        )?;
        let mut rows = st.query(params![parent])?;
        let mut nearest = None;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if id < line_id
                && line_id - id <= MAX_PARENT_GAP
                && row.get::<_, Option<i64>>(1)? == Some(file_id)
            {
                nearest = nearest.max(Some(id));
            }
        }
        Ok(nearest.map(|id| line_id - id))
    }

    fn insert_blocks(
        &mut self,
        line_id: i64,
        env: &Envelope,
        m: &MessageBody,
        thread: ThreadId,
    ) -> rusqlite::Result<()> {
        for (idx, blk) in m.blocks.iter().enumerate() {
            self.hot.block.execute(params![
                line_id,
                idx as i64,
                blk.kind,
                blk.tool_use_id,
                blk.tool_name,
                blk.text_bytes as i64,
                blk.is_error.map(b)
            ])?;
            let Some(id) = blk.tool_use_id.as_deref() else {
                continue;
            };
            match blk.kind.as_str() {
                kind if is_tool_use(kind) => {
                    let server = self.tool_use(id, blk, thread, line_id, env.timestamp_ms)?;
                    self.emit("tool_call", Some(env), || {
                        json!({"tool_use_id": id, "tool": blk.tool_name, "mcp_server": server, "input_summary": blk.input_summary})
                    });
                }
                "tool_result" => {
                    let done = self
                        .conn
                        .prepare_cached(
                            "INSERT INTO tool_call_rows(tool_use_id, thread, result_line_id, finished_at, is_error, subagent_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                             ON CONFLICT(tool_use_id) DO UPDATE SET result_line_id = excluded.result_line_id,
                               finished_at = excluded.finished_at, is_error = excluded.is_error,
                               subagent_id = coalesce(excluded.subagent_id, subagent_id)
                             WHERE result_line_id IS NULL
                             RETURNING name, duration_ms, thread, use_line_id IS NOT NULL",
                        )?
                        .query_row(
                            params![
                                id,
                                thread,
                                line_id,
                                env.timestamp_ms,
                                b(blk.is_error.unwrap_or(false)),
                                m.result_agent_id
                            ],
                            |r| {
                                Ok((
                                    r.get::<_, Option<String>>(0)?,
                                    // (a use written after its result is
                                    // a resumed session's copy: its time
                                    // is the resume's, no duration)
                                    r.get::<_, Option<i64>>(1)?.filter(|d| *d >= 0),
                                    r.get::<_, Option<i64>>(2)?,
                                    r.get::<_, bool>(3)?,
                                ))
                            },
                        )
                        .optional()?;
                    if let Some((tool, duration_ms, owner, has_use)) = done {
                        // (a copy of the call in another session may own it)
                        self.thread_changed_id(owner)?;
                        // (a result without its use is no call, yet)
                        if !has_use {
                            continue;
                        }
                        self.emit("tool_result", Some(env), || {
                            json!({"tool_use_id": id, "tool": tool, "is_error": blk.is_error.unwrap_or(false),
                                "duration_ms": duration_ms, "subagent_id": m.result_agent_id})
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn system_hooks(
        &mut self,
        line_id: i64,
        env: &Envelope,
        thread: ThreadId,
        s: &crate::transcript::SystemBody,
    ) -> rusqlite::Result<()> {
        match env.subtype.as_deref() {
            Some("stop_hook_summary") => {
                let summary = HookRow {
                    source: "stop_hook_summary",
                    event: Some("Stop"),
                    tool_use_id: env.tool_use_id.as_deref(),
                    outcome: "summary",
                    error_count: Some(s.hook_errors as i64),
                    prevented_continuation: Some(s.prevented_continuation),
                    // (what kept Claude going; else what the first hook
                    // that failed said)
                    output: s
                        .stop_reason
                        .as_deref()
                        .filter(|x| !x.is_empty())
                        .or(s.hook_error.as_deref()),
                    ..Default::default()
                };
                self.insert_hook(line_id, 0, env, thread, &summary)?;
                for (i, (command, duration)) in s.hook_infos.iter().enumerate() {
                    let row = HookRow {
                        source: "stop_hook_summary",
                        event: Some("Stop"),
                        command: command.as_deref(),
                        tool_use_id: env.tool_use_id.as_deref(),
                        outcome: "ran",
                        duration_ms: *duration,
                        ..Default::default()
                    };
                    self.insert_hook(line_id, i as i64 + 1, env, thread, &row)?;
                }
            }
            None => {
                if let Some(text) = s.content_preview.as_deref()
                    && let Some(h) = legacy_hook_text(text)
                {
                    let row = HookRow {
                        source: "system_text",
                        event: h.name.split(':').next(),
                        name: Some(h.name.as_str()),
                        command: h.command.as_deref(),
                        tool_use_id: env.tool_use_id.as_deref(),
                        outcome: h.outcome,
                        output: h.output.as_deref(),
                        ..Default::default()
                    };
                    self.insert_hook(line_id, 0, env, thread, &row)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn insert_hook(
        &mut self,
        line_id: i64,
        seq: i64,
        env: &Envelope,
        thread: ThreadId,
        h: &HookRow<'_>,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO hook_run_rows(line_id, seq, thread, at, source, event, name, command, tool_use_id, outcome,
                 exit_code, duration_ms, output, error_count, prevented_continuation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                line_id,
                seq,
                thread,
                env.timestamp_ms,
                h.source,
                h.event,
                h.name,
                h.command,
                h.tool_use_id,
                h.outcome,
                h.exit_code,
                h.duration_ms,
                h.output,
                h.error_count,
                h.prevented_continuation.map(b)
            ])?;
        self.emit("hook", Some(env), || {
            json!({"source": h.source, "hook_event": h.event, "name": h.name, "command": h.command,
                "tool_use_id": h.tool_use_id, "outcome": h.outcome, "exit_code": h.exit_code,
                "duration_ms": h.duration_ms, "output": h.output, "seq": seq})
        });
        Ok(())
    }

    fn add_response(&mut self, line_id: i64, env: &Envelope, m: &MessageBody, u: UsageFigures) {
        let key: std::borrow::Cow<'_, str> = match (&m.message_id, &env.uuid) {
            (Some(id), _) | (None, Some(id)) => id.as_str().into(),
            (None, None) => format!("line:{line_id}").into(),
        };
        if !self.responses.contains_key(key.as_ref()) {
            let agg = ResponseAgg {
                read_order: line_id,
                ..Default::default()
            };
            self.responses.insert(key.clone().into_owned(), agg);
        }
        let Some(agg) = self.responses.get_mut(key.as_ref()) else {
            return;
        };
        let earlier = earlier(env.timestamp_ms, agg.at) || agg.first_line_id.is_none();
        // (the model too is the earliest line's that names one: copies of
        // a response in other files could name another, and the order the
        // files are read in must not choose)
        let model = m.model.as_ref().filter(|s| !s.trim().is_empty());
        if earlier {
            agg.at = env.timestamp_ms.or(agg.at);
            agg.session_id = env.session_id.clone();
            agg.agent_id = env.agent_id.clone();
            agg.git_branch = env.git_branch.clone().filter(|b| !b.is_empty());
            agg.first_line_id = Some(line_id);
            if model.is_some() {
                agg.model = model.cloned();
            }
        }
        if agg.message_id.is_none() {
            agg.message_id = m.message_id.clone();
        }
        if agg.model.is_none() {
            agg.model = model.cloned();
        }
        let f = &mut agg.figures;
        f.input_tokens = f.input_tokens.max(u.input_tokens);
        f.output_tokens = f.output_tokens.max(u.output_tokens);
        if cache_split_key(u.cache_creation_5m_tokens, u.cache_creation_1h_tokens)
            > cache_split_key(f.cache_creation_5m_tokens, f.cache_creation_1h_tokens)
        {
            f.cache_creation_5m_tokens = u.cache_creation_5m_tokens;
            f.cache_creation_1h_tokens = u.cache_creation_1h_tokens;
        }
        f.cache_read_tokens = f.cache_read_tokens.max(u.cache_read_tokens);
        f.web_search_requests = f.web_search_requests.max(u.web_search_requests);
        f.web_fetch_requests = f.web_fetch_requests.max(u.web_fetch_requests);
        f.fast |= u.fast;
        f.us_only |= u.us_only;
        if let Some(sr) = m.stop_reason.as_deref() {
            agg.is_final = true;
            agg.stop_reason = Some(sr.to_owned());
        }
        agg.line_count += 1;
    }

    fn note_session(&mut self, line_id: i64, r: &Record) {
        let env = &r.env;
        let Some(sid) = env.session_id.as_deref() else {
            return;
        };
        let aid = env.agent_id.as_deref().unwrap_or_default();
        if !self.sessions.get(sid).is_some_and(|a| a.contains_key(aid)) {
            self.sessions.entry(sid.to_owned()).or_default().insert(
                aid.to_owned(),
                SessionAgg {
                    read_order: line_id,
                    ..Default::default()
                },
            );
        }
        let Some(s) = self.sessions.get_mut(sid).and_then(|a| a.get_mut(aid)) else {
            return;
        };
        s.lines += 1;
        if let Some(t) = env.timestamp_ms {
            s.first_at = Some(s.first_at.map_or(t, |f| f.min(t)));
            s.last_at = Some(s.last_at.map_or(t, |l| l.max(t)));
        }
        let latest = |slot: &mut Option<(Option<i64>, String)>, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                let newer = match slot {
                    None => true,
                    Some((at, _)) => env.timestamp_ms >= *at,
                };
                if newer {
                    match slot {
                        Some((at, same)) if same == v => *at = env.timestamp_ms,
                        _ => *slot = Some((env.timestamp_ms, v.clone())),
                    }
                }
            }
        };
        latest(&mut s.version, &env.version);
        latest(&mut s.git_branch, &env.git_branch);
        if s.slug.is_none() {
            s.slug = env.slug.clone();
        }
        if let Some(cwd) = env.cwd.as_deref().filter(|c| !c.is_empty()) {
            keep_earliest(&mut s.cwd, env.timestamp_ms, cwd);
        }
        match (&r.body, r.line_type.as_str()) {
            (Body::Meta { value }, "custom-title") => {
                s.custom_title = Some(value.clone().filter(|v| !v.is_empty()))
            }
            (Body::Meta { value: Some(v) }, "ai-title") => s.ai_title = Some(v.clone()),
            (Body::Meta { value }, "tag") => s.tag = Some(value.clone().filter(|v| !v.is_empty())),
            (Body::Message(m), "user") if is_prompt(r, Some(m)) => {
                if let Some(text) = &m.text_preview {
                    // (a housekeeping command titles a session only when
                    // nothing else does: taken as later than any prompt,
                    // any other with a time wins over it, here and in the
                    // stored row; the earliest of them when only they are)
                    let at = env.timestamp_ms.map(|t| {
                        if is_housekeeping(text) {
                            t + HOUSEKEEPING_LATER
                        } else {
                            t
                        }
                    });
                    keep_earliest(&mut s.first_prompt, at, text);
                }
            }
            _ => {}
        }
    }

    fn project_id(&mut self, cwd: &str) -> rusqlite::Result<i64> {
        if let Some(id) = self.projects.get(cwd) {
            return Ok(*id);
        }
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO projects(path) VALUES (?1)")?
            .execute([cwd])?;
        let id: i64 = self
            .conn
            .prepare_cached("SELECT id FROM projects WHERE path = ?1")?
            .query_row([cwd], |r| r.get(0))?;
        self.projects.insert(cwd.to_owned(), id);
        Ok(id)
    }

    /// The project of a session (see `settle_projects`).
    fn session_project(&mut self, session_id: &str) -> rusqlite::Result<Option<i64>> {
        Ok(self.stored_project(session_id)?.0)
    }

    /// A session's project, and the time of the line it is from (every row
    /// of the session, its subagents' too, has the same).
    fn stored_project(&mut self, session_id: &str) -> rusqlite::Result<(Option<i64>, Option<i64>)> {
        if let Some(p) = self.session_projects.get(session_id) {
            return Ok(*p);
        }
        let p = self
            .conn
            .prepare_cached(
                "SELECT project_id, project_at FROM sessions WHERE session_id = ?1 AND project_id IS NOT NULL LIMIT 1",
            )?
            .query_row([session_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some(p) = p {
            self.session_projects.insert(session_id.to_owned(), p);
        }
        Ok(p.unwrap_or_default())
    }

    /// The projects of the sessions of this flush: a session's is that of
    /// its earliest line with a cwd, stored or among these, whatever the
    /// order the files are read in (the first read decided: a session
    /// whose lines name two folders changed project, and its cost with it,
    /// between a fresh database and an incremental one). A session that
    /// changes project takes its stored rows and responses with it.
    fn settle_projects(
        &mut self,
        sessions: &[((String, String), SessionAgg)],
    ) -> rusqlite::Result<()> {
        // (in the order the sessions were read: new projects get their ids so)
        let mut earliest: Vec<(&str, (Option<i64>, &str))> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for ((sid, _), s) in sessions {
            if let Some((at, cwd)) = &s.cwd {
                match index.get(sid.as_str()) {
                    Some(&i) if earlier(*at, earliest[i].1.0) => earliest[i].1 = (*at, cwd),
                    Some(_) => {}
                    None => {
                        index.insert(sid, earliest.len());
                        earliest.push((sid, (*at, cwd)));
                    }
                }
            }
        }
        for (sid, (at, cwd)) in earliest {
            let (stored, stored_at) = self.stored_project(sid)?;
            if stored.is_some() && !earlier(at, stored_at) {
                continue;
            }
            let id = self.project_id(cwd)?;
            self.session_projects.insert(sid.to_owned(), (Some(id), at));
            if stored == Some(id) {
                // (the same folder, from an earlier line)
                self.conn
                    .prepare_cached("UPDATE sessions SET project_at = ?2 WHERE session_id = ?1")?
                    .execute(params![sid, at])?;
                continue;
            }
            // (rows stored before this flush, of a session read in parts,
            // move; a new one's have nothing to move: no scan, which in a
            // first load, its indexes not built yet, is of every response)
            let stored_rows = stored.is_some()
                || self
                    .conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM sessions WHERE session_id = ?1)")?
                    .query_row([sid], |r| r.get::<_, bool>(0))?;
            if !stored_rows {
                continue;
            }
            self.conn
                .prepare_cached(
                    "UPDATE sessions SET project_id = ?2, project_at = ?3 WHERE session_id = ?1",
                )?
                .execute(params![sid, id, at])?;
            self.conn
                .prepare_cached(
                    "UPDATE response_rows SET project_id = ?2
                     WHERE thread IN (SELECT id FROM threads WHERE session_id = ?1) AND project_id IS NOT ?2",
                )?
                .execute(params![sid, id])?;
        }
        Ok(())
    }

    /// Store a response whose key is not stored yet, priced here: one
    /// INSERT. None (nothing written) if the key is already stored.
    fn insert_new_response(
        &mut self,
        key: &str,
        r: &ResponseAgg,
        model: &str,
        thread: Option<i64>,
        project: Option<i64>,
    ) -> rusqlite::Result<Option<(StoredResponse, Option<i64>)>> {
        let f = &r.figures;
        // as stored: SQLite integers are i64 (StoredResponse::from_row)
        let stored = |v: u64| (v as i64).max(0) as u64;
        let usage = Usage {
            input_tokens: stored(f.input_tokens),
            output_tokens: stored(f.output_tokens),
            cache_creation_5m_tokens: stored(f.cache_creation_5m_tokens),
            cache_creation_1h_tokens: stored(f.cache_creation_1h_tokens),
            cache_read_tokens: stored(f.cache_read_tokens),
            web_search_requests: stored(f.web_search_requests),
            fast: f.fast,
            us_only: f.us_only,
        };
        let cost = self.prices.cost(model, r.at, &usage);
        let priced = [
            int(cost.as_ref().map(|c| c.picousd)),
            text(stored_priced_as(cost.as_ref(), model)),
        ];
        let n = self
            .conn
            .prepare_cached(response_insert!(
                ", cost_picousd, priced_as) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 ?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT(key) DO NOTHING"
            ))?
            .execute(rusqlite::params_from_iter(
                response_values(key, r, model, thread, project)
                    .iter()
                    .chain(&priced),
            ))?;
        if n == 0 {
            return Ok(None);
        }
        self.dirty_rollup
            .insert((crate::store::rollup::bucket_of(r.at), thread.unwrap_or(0)));
        let row = StoredResponse {
            id: self.conn.last_insert_rowid(),
            model: model.to_owned(),
            at: r.at,
            usage,
            line_count: r.line_count,
        };
        Ok(Some((row, cost.map(|c| c.picousd))))
    }

    /// Merge a response into its stored row (a later line of it, or a copy
    /// in another file) and price it again from the merged figures. Returns
    /// the row, its cost, and (for events) what was stored before.
    #[allow(clippy::type_complexity)]
    fn merge_response(
        &mut self,
        key: &str,
        r: &ResponseAgg,
        model: &str,
        thread: Option<i64>,
        project: Option<i64>,
    ) -> rusqlite::Result<(StoredResponse, Option<i64>, Option<ResponseSeen>)> {
        let before: Option<ResponseSeen> = if self.wants_events() {
            self.conn
                .prepare_cached(
                    "SELECT input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
                            cache_read_tokens, web_search_requests, model, cost_picousd
                     FROM response_rows WHERE key = ?1",
                )?
                .query_row([key], |r| {
                    Ok((
                        [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })
                .optional()?
        } else {
            None
        };
        let row = self
            .conn
            .prepare_cached(response_insert!(
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
                 ON CONFLICT(key) DO UPDATE SET
                   model = CASE WHEN excluded.model <> '?' AND (model = '?' OR excluded.at < coalesce(at, excluded.at + 1))
                       THEN excluded.model ELSE model END,
                   thread = CASE WHEN excluded.at < coalesce(at, excluded.at + 1) THEN excluded.thread ELSE thread END,
                   git_branch = CASE WHEN excluded.at < coalesce(at, excluded.at + 1) THEN excluded.git_branch ELSE git_branch END,
                   project_id = CASE WHEN excluded.at < coalesce(at, excluded.at + 1) THEN excluded.project_id ELSE project_id END,
                   first_line_id = CASE WHEN excluded.at < coalesce(at, excluded.at + 1) THEN excluded.first_line_id ELSE first_line_id END,
                   at = CASE WHEN excluded.at < coalesce(at, excluded.at + 1) THEN excluded.at ELSE at END,
                   input_tokens = max(input_tokens, excluded.input_tokens),
                   output_tokens = max(output_tokens, excluded.output_tokens),
                   cache_creation_5m_tokens = CASE WHEN (excluded.cache_creation_5m_tokens + excluded.cache_creation_1h_tokens, excluded.cache_creation_1h_tokens)
                       > (cache_creation_5m_tokens + cache_creation_1h_tokens, cache_creation_1h_tokens)
                       THEN excluded.cache_creation_5m_tokens ELSE cache_creation_5m_tokens END,
                   cache_creation_1h_tokens = CASE WHEN (excluded.cache_creation_5m_tokens + excluded.cache_creation_1h_tokens, excluded.cache_creation_1h_tokens)
                       > (cache_creation_5m_tokens + cache_creation_1h_tokens, cache_creation_1h_tokens)
                       THEN excluded.cache_creation_1h_tokens ELSE cache_creation_1h_tokens END,
                   cache_read_tokens = max(cache_read_tokens, excluded.cache_read_tokens),
                   web_search_requests = max(web_search_requests, excluded.web_search_requests),
                   web_fetch_requests = max(web_fetch_requests, excluded.web_fetch_requests),
                   fast = max(fast, excluded.fast),
                   us_only = max(us_only, excluded.us_only),
                   final = max(final, excluded.final),
                   stop_reason = coalesce(excluded.stop_reason, stop_reason),
                   line_count = line_count + excluded.line_count
                 RETURNING id, model, at, input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
                   cache_read_tokens, web_search_requests, fast, us_only, line_count"
            ))?
            .query_row(
                rusqlite::params_from_iter(response_values(key, r, model, thread, project).iter()),
                StoredResponse::from_row,
            )?;
        let cost = price_response(self.conn, self.prices, &row)?;
        Ok((row, cost, before))
    }

    /// The id of the thread (session id, agent id), stored now if new; None
    /// for a line with neither.
    fn thread(&mut self, session: Option<&str>, agent: Option<&str>) -> rusqlite::Result<ThreadId> {
        if session.is_none() && agent.is_none() {
            return Ok(None);
        }
        if let Some(id) = self.threads.get(session, agent) {
            return Ok(Some(id));
        }
        let stored: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM threads WHERE session_id IS ?1 AND agent_id IS ?2")?
            .query_row(params![session, agent], |r| r.get(0))
            .optional()?;
        let id = match stored {
            Some(id) => id,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO threads(session_id, agent_id) VALUES (?1, ?2)")?
                    .execute(params![session, agent])?;
                self.conn.last_insert_rowid()
            }
        };
        self.threads
            .add(id, session.map(str::to_owned), agent.map(str::to_owned));
        Ok(Some(id))
    }

    /// The session of a thread id read back from a row.
    fn thread_changed_id(&mut self, thread: ThreadId) -> rusqlite::Result<()> {
        let Some(t) = thread else { return Ok(()) };
        let session = match self.threads.sessions.get(&t) {
            Some(s) => s.clone(),
            None => {
                let s: Option<String> = self
                    .conn
                    .prepare_cached("SELECT session_id FROM threads WHERE id = ?1")?
                    .query_row([t], |r| r.get(0))
                    .optional()?
                    .flatten();
                self.threads.sessions.insert(t, s.clone());
                s
            }
        };
        if let Some(sid) = session {
            self.dirty_sessions.insert(sid);
        }
        Ok(())
    }

    fn thread_changed(&mut self, session_id: String) {
        self.dirty_sessions.insert(session_id);
    }

    /// Write what is summed in memory (sessions, threads) into the open
    /// transaction; `commit` does it too.
    pub fn flush(&mut self) -> rusqlite::Result<()> {
        if !self.file_session_ids.is_empty() {
            let mut st = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO file_session_ids(file_id, session_id) VALUES (?1, ?2)",
            )?;
            for (file, ids) in self.file_session_ids.drain() {
                for id in ids {
                    st.execute(params![file, id])?;
                }
            }
        }
        let mut sessions: Vec<_> = self
            .sessions
            .drain()
            .flat_map(|(sid, agents)| {
                agents
                    .into_iter()
                    .map(move |(aid, s)| ((sid.clone(), aid), s))
            })
            .collect();
        sessions.sort_by_key(|(_, s)| s.read_order);
        for ((sid, _), _) in &sessions {
            self.thread_changed(sid.clone());
        }
        self.settle_projects(&sessions)?;
        for ((sid, aid), s) in sessions {
            let (project, project_at) = self.stored_project(&sid)?;
            let parent = if aid.is_empty() {
                None
            } else {
                Some(sid.as_str())
            };
            let (custom_set, custom) = match &s.custom_title {
                Some(v) => (1, v.clone()),
                None => (0, None),
            };
            let (tag_set, tag) = match &s.tag {
                Some(v) => (1, v.clone()),
                None => (0, None),
            };
            self.conn
                .prepare_cached(
                    "INSERT INTO sessions(session_id, agent_id, parent_session_id, project_id, first_at, last_at, version, git_branch, slug,
                       custom_title, ai_title, tag, first_prompt, lines, first_prompt_at, project_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?17, ?18)
                     ON CONFLICT(session_id, agent_id) DO UPDATE SET
                       project_id = coalesce(excluded.project_id, project_id),
                       project_at = CASE WHEN excluded.project_id IS NOT NULL THEN excluded.project_at ELSE project_at END,
                       first_at = min(coalesce(first_at, excluded.first_at), coalesce(excluded.first_at, first_at)),
                       last_at = max(coalesce(last_at, excluded.last_at), coalesce(excluded.last_at, last_at)),
                       version = coalesce(excluded.version, version),
                       git_branch = coalesce(excluded.git_branch, git_branch),
                       slug = coalesce(slug, excluded.slug),
                       custom_title = CASE WHEN ?15 THEN excluded.custom_title ELSE custom_title END,
                       ai_title = coalesce(excluded.ai_title, ai_title),
                       tag = CASE WHEN ?16 THEN excluded.tag ELSE tag END,
                       first_prompt = CASE WHEN excluded.first_prompt IS NOT NULL AND (first_prompt IS NULL OR (excluded.first_prompt_at IS NOT NULL
                         AND excluded.first_prompt_at < coalesce(first_prompt_at, excluded.first_prompt_at + 1)))
                         THEN excluded.first_prompt ELSE first_prompt END,
                       first_prompt_at = CASE WHEN excluded.first_prompt IS NOT NULL AND (first_prompt IS NULL OR (excluded.first_prompt_at IS NOT NULL
                         AND excluded.first_prompt_at < coalesce(first_prompt_at, excluded.first_prompt_at + 1)))
                         THEN excluded.first_prompt_at ELSE first_prompt_at END,
                       lines = lines + excluded.lines",
                )?
                .execute(params![
                    sid,
                    aid,
                    parent,
                    project,
                    s.first_at,
                    s.last_at,
                    s.version.map(|v| v.1),
                    s.git_branch.map(|v| v.1),
                    s.slug,
                    custom,
                    s.ai_title,
                    tag,
                    s.first_prompt.as_ref().map(|p| &p.1),
                    s.lines,
                    custom_set,
                    tag_set,
                    s.first_prompt.as_ref().and_then(|p| p.0),
                    project_at
                ])?;
        }
        let mut responses: Vec<_> = self.responses.drain().collect();
        responses.sort_by_key(|(_, r)| r.read_order);
        for (key, r) in responses {
            let project = match &r.session_id {
                Some(sid) => self.session_project(sid)?,
                None => None,
            };
            let model = r.model.clone().unwrap_or_else(|| "?".to_owned());
            let thread = self.thread(r.session_id.as_deref(), r.agent_id.as_deref())?;
            // A key not stored yet (nearly every key in a cold ingest): one
            // INSERT with the cost computed here. A stored key is merged
            // and priced again from the merged figures.
            let (row, cost, before) =
                match self.insert_new_response(&key, &r, &model, thread, project)? {
                    Some((row, cost)) => (row, cost, None),
                    None => self.merge_response(&key, &r, &model, thread, project)?,
                };
            if row.line_count == r.line_count {
                self.counts.responses_new += 1;
            } else {
                self.counts.responses_updated += 1;
            }
            if self.wants_events() {
                let u = &row.usage;
                let now = [
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_creation_5m_tokens,
                    u.cache_creation_1h_tokens,
                    u.cache_read_tokens,
                    u.web_search_requests,
                ]
                .map(|v| v as i64);
                // (a later line or another file's copy may change the
                // cost alone: the fast flag, the US-only flag, an earlier
                // time across a price change, the model)
                let kind = match before {
                    None => "response",
                    Some(old) if old != (now, row.model.clone(), cost) => "response_update",
                    Some(_) => continue,
                };
                // (the session, agent and project it belongs to as stored:
                // an update from another file's copy stays its first line's)
                let (session_id, agent_id, path) = self
                    .conn
                    .prepare_cached(
                        "SELECT t.session_id, t.agent_id, p.path FROM response_rows r
                         LEFT JOIN threads t ON t.id = r.thread
                         LEFT JOIN projects p ON p.id = r.project_id WHERE r.id = ?1",
                    )?
                    .query_row([row.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                let env = Envelope {
                    session_id,
                    agent_id,
                    timestamp_ms: row.at,
                    cwd: path,
                    ..Default::default()
                };
                self.emit(kind, Some(&env), || {
                    json!({
                        "message_id": r.message_id, "model": row.model,
                        "input_tokens": now[0], "output_tokens": now[1], "cache_creation_5m_tokens": now[2],
                        "cache_creation_1h_tokens": now[3], "cache_read_tokens": now[4], "web_search_requests": now[5],
                        "cost_usd": cost.map(|c| crate::pricing::usd(i128::from(c)).to_string()),
                    })
                });
            }
        }
        let mut changed: Vec<String> = self.dirty_sessions.drain().collect();
        changed.sort_unstable();
        for sid in changed {
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO thread_figures_dirty(session_id) VALUES (?1)",
                )?
                .execute([sid])?;
        }
        let mut pairs: Vec<(i64, i64)> = self.dirty_rollup.drain().collect();
        pairs.sort_unstable();
        for pair in pairs {
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO cost_rollup_dirty(bucket, thread) VALUES (?1, ?2)",
                )?
                .execute(pair)?;
        }
        Ok(())
    }
}

/// `INSERT INTO response_rows(<the 20 columns response_values binds>` followed
/// by `$rest` (more columns, VALUES, the conflict rule): one column list for
/// the plain insert and the merge.
macro_rules! response_insert {
    ($rest:literal) => {
        concat!(
            "INSERT INTO response_rows(key, message_keyed, model, thread, project_id, first_line_id, at,
               input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
               web_search_requests, web_fetch_requests, fast, us_only, final, stop_reason, line_count, git_branch",
            $rest
        )
    };
}
use response_insert;

/// A response's values for the columns of `response_insert!`, in order.
fn response_values<'a>(
    key: &'a str,
    r: &'a ResponseAgg,
    model: &'a str,
    thread: Option<i64>,
    project: Option<i64>,
) -> [ToSqlOutput<'a>; 20] {
    let f = &r.figures;
    let n = |v: u64| ToSqlOutput::from(v as i64);
    [
        ToSqlOutput::from(key),
        ToSqlOutput::from(i64::from(r.message_id.as_deref() == Some(key))),
        ToSqlOutput::from(model),
        int(thread),
        int(project),
        int(r.first_line_id),
        int(r.at),
        n(f.input_tokens),
        n(f.output_tokens),
        n(f.cache_creation_5m_tokens),
        n(f.cache_creation_1h_tokens),
        n(f.cache_read_tokens),
        n(f.web_search_requests),
        n(f.web_fetch_requests),
        ToSqlOutput::from(b(f.fast)),
        ToSqlOutput::from(b(f.us_only)),
        ToSqlOutput::from(b(r.is_final)),
        text(r.stop_reason.as_deref()),
        ToSqlOutput::from(r.line_count),
        text(r.git_branch.as_deref()),
    ]
}

fn text(v: Option<&str>) -> ToSqlOutput<'_> {
    v.map_or(
        ToSqlOutput::Owned(rusqlite::types::Value::Null),
        ToSqlOutput::from,
    )
}

fn int(v: Option<i64>) -> ToSqlOutput<'static> {
    v.map_or(
        ToSqlOutput::Owned(rusqlite::types::Value::Null),
        ToSqlOutput::from,
    )
}

impl Drop for Writer<'_> {
    /// An uncommitted transaction (a failed ingest) is rolled back.
    fn drop(&mut self) {
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if self.restore_foreign_keys {
            let _ = self.conn.pragma_update(None, "foreign_keys", true);
        }
    }
}

#[derive(Default)]
struct HookRow<'a> {
    source: &'a str,
    event: Option<&'a str>,
    name: Option<&'a str>,
    command: Option<&'a str>,
    tool_use_id: Option<&'a str>,
    outcome: &'a str,
    exit_code: Option<i64>,
    duration_ms: Option<i64>,
    output: Option<&'a str>,
    error_count: Option<i64>,
    prevented_continuation: Option<bool>,
}

/// A stored response as a watcher saw it: its six figures (input, output,
/// 5m and 1h writes, reads, web searches), model and cost (picoUSD).
type ResponseSeen = ([i64; 6], String, Option<i64>);

/// A response as stored: what pricing needs.
pub struct StoredResponse {
    pub id: i64,
    pub model: String,
    pub at: Option<i64>,
    pub usage: Usage,
    pub line_count: i64,
}

impl StoredResponse {
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredResponse> {
        let u = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        Ok(StoredResponse {
            id: r.get(0)?,
            model: r.get(1)?,
            at: r.get(2)?,
            usage: Usage {
                input_tokens: u(3)?,
                output_tokens: u(4)?,
                cache_creation_5m_tokens: u(5)?,
                cache_creation_1h_tokens: u(6)?,
                cache_read_tokens: u(7)?,
                web_search_requests: u(8)?,
                fast: r.get::<_, i64>(9)? != 0,
                us_only: r.get::<_, i64>(10)? != 0,
            },
            line_count: r.get(11)?,
        })
    }
}

/// The columns `StoredResponse::from_row` reads, for SELECTs.
pub const STORED_RESPONSE_COLUMNS: &str = "id, model, at, input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens,
    cache_read_tokens, web_search_requests, fast, us_only, line_count";

/// Compute and store one response's cost (NULL when its model has no price);
/// returns it in picoUSD.
pub fn price_response(
    conn: &Connection,
    prices: &PriceTable,
    r: &StoredResponse,
) -> rusqlite::Result<Option<i64>> {
    let cost = prices.cost(&r.model, r.at, &r.usage);
    conn.prepare_cached(
        "UPDATE response_rows SET cost_picousd = ?2, priced_as = ?3 WHERE id = ?1",
    )?
    .execute(params![
        r.id,
        cost.as_ref().map(|c| c.picousd),
        stored_priced_as(cost.as_ref(), &r.model)
    ])?;
    Ok(cost.map(|c| c.picousd))
}

/// response_rows.priced_as: the pricing entry, NULL when it is the model
/// itself (the responses view shows the model then).
fn stored_priced_as<'a>(cost: Option<&'a crate::pricing::Cost>, model: &str) -> Option<&'a str> {
    cost.map(|c| c.priced_as.as_str()).filter(|p| *p != model)
}

struct LegacyHook {
    name: String,
    command: Option<String>,
    outcome: &'static str,
    output: Option<String>,
}

/// 1.0.x wrote hook runs as system text: "Running \e[1mPostToolUse:Edit\e[22m..."
/// then "\e[1mPostToolUse:Edit\e[22m [cmd] completed successfully: ...".
fn legacy_hook_text(text: &str) -> Option<LegacyHook> {
    let plain = strip_ansi(text);
    if let Some(rest) = plain.strip_prefix("Running ") {
        let name = rest.trim_end_matches('.').trim();
        if name.contains(':') || is_hook_event(name) {
            return Some(LegacyHook {
                name: name.to_owned(),
                command: None,
                outcome: "started",
                output: None,
            });
        }
        return None;
    }
    let (name, rest) = plain.split_once(" [")?;
    if !(name.contains(':') || is_hook_event(name)) || name.contains(' ') {
        return None;
    }
    let (command, after) = rest.split_once("] ")?;
    let outcome = if after.starts_with("completed successfully") {
        "success"
    } else if after.contains("blocking") && !after.contains("non-blocking") {
        "blocking_error"
    } else if after.starts_with("failed") || after.contains("error") {
        "non_blocking_error"
    } else {
        return None;
    };
    Some(LegacyHook {
        name: name.to_owned(),
        command: Some(command.to_owned()),
        outcome,
        output: after.split_once(": ").map(|(_, o)| o.to_owned()),
    })
}

fn is_hook_event(s: &str) -> bool {
    matches!(
        s,
        "PreToolUse"
            | "PostToolUse"
            | "Stop"
            | "SubagentStop"
            | "SessionStart"
            | "SessionEnd"
            | "UserPromptSubmit"
            | "Notification"
            | "PreCompact"
    )
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c2 in chars.by_ref() {
                if c2.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of a line, with the preview `insert_message` stores (its
    /// text, for a user line that is not a tool result).
    fn key_of(line: &str) -> i64 {
        let Parsed::Record(r) = crate::transcript::parse_line(line.as_bytes()) else {
            panic!("not a record: {line}")
        };
        let preview = match &r.body {
            Body::Message(m) if r.line_type == "user" => m.text_preview.as_deref(),
            _ => None,
        };
        content_key(&r, preview)
    }

    #[test]
    fn content_keys_are_stable() {
        let user = r#"{"type":"user","uuid":"u1","sessionId":"s","timestamp":"2026-03-01T10:00:00.000Z","message":{"role":"user","content":"fix the parser"}}"#;
        // a resumed session's copy: the text as blocks, another session
        let copy = r#"{"type":"user","uuid":"u1","sessionId":"t","timestamp":"2026-03-01T10:00:00.000Z","message":{"role":"user","content":[{"type":"text","text":"fix the parser"}]}}"#;
        let result = |id: &str| {
            format!(
                r#"{{"type":"user","uuid":"u2","timestamp":"2026-03-01T10:00:01.000Z","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"{id}","content":"ok"}}]}}}}"#
            )
        };
        let assistant = |at: &str| {
            format!(
                r#"{{"type":"assistant","uuid":"a1","timestamp":"{at}","message":{{"id":"msg_1","role":"assistant","content":[{{"type":"tool_use","id":"toolu_1","name":"Bash","input":{{}}}}]}}}}"#
            )
        };
        let attachment = r#"{"type":"attachment","uuid":"h1","timestamp":"2026-03-01T10:00:02.000Z","attachment":{"type":"hook_success","hookName":"PostToolUse:Bash","toolUseID":"toolu_1"}}"#;
        let later = attachment.replace("10:00:02", "10:05:00");
        assert_eq!(key_of(user), key_of(copy));
        assert_eq!(
            key_of(&assistant("2026-03-01T10:00:01.000Z")),
            key_of(&assistant("2026-03-02T09:00:00.000Z"))
        );
        assert_eq!(key_of(attachment), key_of(&later));
        assert_ne!(key_of(&result("toolu_1")), key_of(&result("toolu_2")));
        assert_ne!(key_of(user), key_of(&user.replace("parser", "lexer")));
        // stored in every database: a change here is a migration that rebuilds
        assert_eq!(
            [
                key_of(user),
                key_of(&result("toolu_1")),
                key_of(&assistant("2026-03-01T10:00:01.000Z")),
                key_of(attachment)
            ],
            [28480, 22751, 8122, 10932]
        );
    }

    #[test]
    fn legacy_hook_lines() {
        let h = legacy_hook_text("Running \u{1b}[1mPostToolUse:Edit\u{1b}[22m...").unwrap();
        assert_eq!(
            (h.name.as_str(), h.outcome),
            ("PostToolUse:Edit", "started")
        );
        let h = legacy_hook_text("\u{1b}[1mPostToolUse:Edit\u{1b}[22m [uv run ruff format] completed successfully: 1 file left unchanged").unwrap();
        assert_eq!(h.command.as_deref(), Some("uv run ruff format"));
        assert_eq!(h.outcome, "success");
        assert_eq!(h.output.as_deref(), Some("1 file left unchanged"));
        assert!(legacy_hook_text("Claude Opus 4 limit reached, now using Sonnet 4").is_none());
        // "non-blocking" holds "blocking": not a blocking error
        let h = legacy_hook_text(
            "PostToolUse:Edit [./lint.sh] failed with non-blocking status code 1: lint failed",
        )
        .unwrap();
        assert_eq!(h.outcome, "non_blocking_error");
        assert_eq!(h.output.as_deref(), Some("lint failed"));
        let h = legacy_hook_text("PreToolUse:Bash [./guard.sh] blocking error: no rm -rf").unwrap();
        assert_eq!(h.outcome, "blocking_error");
    }
}
