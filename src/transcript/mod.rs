//! Transcript lines: bytes in, records out. Knows nothing of storage.
//!
//! A physical line is blank (only spaces, `\t`, `\r`, `\v`, `\f`), malformed
//! (not UTF-8, not exactly one JSON value, not an object, or nested deeper
//! than 128), or a record. A record whose fields have unexpected types is
//! still a record: the odd fields are ignored and named in `warnings`.

pub mod lenient;
pub mod line;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime};

use lenient::{Field, Num, Str};
use line::{Content, Line};

/// Token counts above this are kept but flagged.
pub const ABSURD_TOKENS: u64 = 1_000_000_000_000;

/// Token counts above this count as 0: no response has them, and kept they
/// could overflow the database's 64-bit sums (9,223 of them would).
pub const MAX_TOKENS: u64 = 1_000_000_000_000_000;

/// 9000-01-01T00:00:00Z in ms: a line's time from then on is taken as none.
const YEAR_9000_MS: i64 = 221_845_392_000_000;

/// Longest text kept for previews (prompts, hook output, summaries).
const PREVIEW_CHARS: usize = 160;

/// Line types that observatory models; any other `type` is kept as an
/// `unknown` record.
pub const KNOWN_TYPES: &[&str] = &[
    "user",
    "assistant",
    "system",
    "progress",
    "attachment",
    "queue-operation",
    "summary",
    "file-history-snapshot",
    "permission-mode",
    "last-prompt",
    "custom-title",
    "ai-title",
    "tag",
    "agent-name",
    "agent-color",
    "mode",
    "pr-link",
    "frame-link",
    "worktree-state",
    "relocated",
    AGENT_META,
];

/// The type a subagent's sidecar (`agent-<id>.meta.json`: one object with
/// `agentType`, and no `type`) is counted under.
pub const AGENT_META: &str = "agent-meta";

/// The session and agent of a subagent's sidecar, from its path
/// (`…/<session>/subagents/[workflows/<run>/]agent-<id>.meta.json`): the
/// folder above the nearest `subagents`, and the file's name between
/// `agent-` and `.meta.json`.
pub fn sidecar_ids(path: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    let session = parts
        .iter()
        .rposition(|p| *p == "subagents")
        .and_then(|i| i.checked_sub(1))
        .map(|i| parts[i])
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let agent = parts
        .last()
        .and_then(|n| n.strip_prefix("agent-"))
        .and_then(|n| n.strip_suffix(".meta.json"))
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    (session, agent)
}

/// What a line type with no string `type` is counted under.
pub const NO_TYPE: &str = "(none)";

#[derive(Debug)]
pub enum Parsed {
    Blank,
    Malformed(String),
    Record(Box<Record>),
}

/// One transcript line, owned, with the fields the store models.
#[derive(Debug, Default)]
pub struct Record {
    /// `type`, or `(none)`.
    pub line_type: String,
    pub known: bool,
    pub env: Envelope,
    pub body: Body,
    /// Fields that were present with an unexpected type, and other oddities.
    pub warnings: Vec<String>,
}

/// The fields conversation lines share.
#[derive(Debug, Default, Clone)]
pub struct Envelope {
    pub uuid: Option<String>,
    pub parent_uuid: Option<String>,
    pub logical_parent_uuid: Option<String>,
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub version: Option<String>,
    pub slug: Option<String>,
    pub subtype: Option<String>,
    pub permission_mode: Option<String>,
    pub tool_use_id: Option<String>,
    pub parent_tool_use_id: Option<String>,
    pub is_sidechain: bool,
    pub is_meta: bool,
    pub is_compact_summary: bool,
}

#[derive(Debug, Default)]
pub enum Body {
    Message(Box<MessageBody>),
    System(Box<SystemBody>),
    Progress(Box<ProgressBody>),
    Attachment(Box<AttachmentBody>),
    Queue {
        operation: String,
        content_preview: Option<String>,
        content_bytes: usize,
    },
    Summary {
        summary: Option<String>,
        leaf_uuid: Option<String>,
    },
    Snapshot {
        message_id: Option<String>,
        snapshot_message_id: Option<String>,
        is_update: bool,
        files: usize,
        snapshot_at: Option<i64>,
    },
    /// Session metadata lines (`custom-title`, `ai-title`, `permission-mode`...):
    /// the value of their main field, if it is a string.
    Meta {
        value: Option<String>,
    },
    /// A subagent's sidecar: its type, its description, the tool_use that
    /// spawned it.
    AgentMeta {
        agent_type: Option<String>,
        description: Option<String>,
        spawned_by: Option<String>,
    },
    #[default]
    Other,
}

#[derive(Debug, Default)]
pub struct MessageBody {
    pub role: Option<String>,
    pub message_id: Option<String>,
    pub model: Option<String>,
    pub stop_reason: Option<String>,
    /// Present when `message.usage` is an object.
    pub usage: Option<UsageFigures>,
    pub blocks: Vec<BlockRecord>,
    /// The text of a plain prompt (string content, or the first text block).
    pub text_preview: Option<String>,
    /// Some text in the content (a string, or a block's) is not blank.
    pub has_text: bool,
    pub is_api_error: bool,
    pub api_error_status: Option<i64>,
    pub error: Option<String>,
    /// From `toolUseResult` of a Task/Agent result: the subagent it ran.
    pub result_agent_id: Option<String>,
}

/// The figures of one response line, by the ingest rules.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UsageFigures {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_5m_tokens: u64,
    pub cache_creation_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub web_search_requests: u64,
    pub web_fetch_requests: u64,
    pub fast: bool,
    pub us_only: bool,
}

#[derive(Debug, Default, Clone)]
pub struct BlockRecord {
    pub kind: String,
    pub tool_use_id: Option<String>,
    pub tool_name: Option<String>,
    /// One line saying what a tool call was asked to do.
    pub input_summary: Option<String>,
    /// The file a Read/Edit/Write/MultiEdit/NotebookEdit call touched.
    pub file_path: Option<String>,
    pub text_bytes: usize,
    pub is_error: Option<bool>,
}

#[derive(Debug, Default)]
pub struct SystemBody {
    pub level: Option<String>,
    pub content_preview: Option<String>,
    pub compact_trigger: Option<String>,
    pub compact_pre_tokens: Option<i64>,
    pub duration_ms: Option<i64>,
    pub message_count: Option<i64>,
    pub retry_in_ms: Option<i64>,
    pub retry_attempt: Option<i64>,
    pub max_retries: Option<i64>,
    pub hook_infos: Vec<(Option<String>, Option<i64>)>,
    pub hook_errors: usize,
    /// The first of `hookErrors` that is a text (shortened): what failed,
    /// when `stopReason` does not say.
    pub hook_error: Option<String>,
    pub prevented_continuation: bool,
    pub stop_reason: Option<String>,
}

#[derive(Debug, Default)]
pub struct ProgressBody {
    pub kind: Option<String>,
    pub hook_event: Option<String>,
    pub hook_name: Option<String>,
    pub command: Option<String>,
    pub agent_id: Option<String>,
    pub status: Option<String>,
    pub server_name: Option<String>,
    pub tool_name: Option<String>,
    pub elapsed_ms: Option<i64>,
}

#[derive(Debug, Default)]
pub struct AttachmentBody {
    pub kind: Option<String>,
    pub hook_name: Option<String>,
    pub hook_event: Option<String>,
    pub tool_use_id: Option<String>,
    pub exit_code: Option<i64>,
    pub command: Option<String>,
    pub duration_ms: Option<i64>,
    /// stderr, or the blocking error text, shortened.
    pub output_preview: Option<String>,
}

/// True if the line holds only spaces, `\t`, `\r`, `\v` or `\f` (or nothing).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c))
}

/// A line as [`parse_line`] reads it, at byte `offset` of its file: the
/// file's first line may start with a UTF-8 byte-order mark (an editor
/// saved the transcript with one), read past with a warning (its bytes are
/// stored as they are); anywhere else a byte-order mark is not JSON.
pub fn parse_line_at(bytes: &[u8], offset: u64) -> Parsed {
    if offset == 0
        && let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf")
    {
        let mut parsed = parse_line(rest);
        match &mut parsed {
            Parsed::Record(r) => r.warnings.push(BOM_READ_PAST.into()),
            // (the mark alone, or with blanks: no blank line, its bytes are
            // a line's, and one that says why it holds no record)
            Parsed::Blank => return Parsed::Malformed(BOM_ALONE.into()),
            _ => {}
        }
        return parsed;
    }
    parse_line(bytes)
}

const BOM_ALONE: &str = "the file's first line is a UTF-8 byte-order mark (EF BB BF; saved by an editor?) and nothing else: no record";

const BOM_READ_PAST: &str =
    "the file starts with a UTF-8 byte-order mark (EF BB BF; saved by an editor?): read past it";

/// Classify and decode one physical line (without its `\n`).
pub fn parse_line(bytes: &[u8]) -> Parsed {
    if is_blank(bytes) {
        return Parsed::Blank;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Parsed::Malformed(format!(
                "invalid UTF-8 at byte {} of the line{}",
                e.valid_up_to(),
                not_utf8_text(bytes).unwrap_or("")
            ));
        }
    };
    if !text.trim_start_matches([' ', '\t', '\r']).starts_with('{') {
        // serde would read an array into the struct: only objects are records
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => Parsed::Malformed(format!("not a JSON object (a JSON {})", json_kind(&v))),
            Err(e) => Parsed::Malformed(not_json(&e, text)),
        };
    }
    if too_deep(bytes) {
        return Parsed::Malformed(format!(
            "recursion limit exceeded (nested {MAX_DEPTH} levels deep or more)"
        ));
    }
    match serde_json::from_str::<Line>(text) {
        Ok(line) => Parsed::Record(Box::new(Record::from_line(line))),
        Err(typed_err) => match without_lone_surrogates(text) {
            // JSON allows `\ud83d` alone (JavaScript writes one when a string
            // is cut inside an emoji); serde_json does not: read it as text.
            Some(repaired) => match parse_line(repaired.as_bytes()) {
                Parsed::Record(mut r) => {
                    r.warnings.push(LONE_SURROGATE.into());
                    Parsed::Record(r)
                }
                other => other,
            },
            None => fallback(text, typed_err),
        },
    }
}

const LONE_SURROGATE: &str =
    "a lone UTF-16 surrogate escape (\\uD800-\\uDFFF) read as the text of the escape";

/// `text` with every `\uXXXX` escape of a lone UTF-16 surrogate (one not
/// part of a high-low pair) turned into the six characters it is written
/// with (`\\uXXXX`): two different ones stay two different strings (two
/// ids cut differently are not made one). None if there is none.
pub fn without_lone_surrogates(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = b.get(at..at + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out: Option<String> = None;
    let mut copied = 0; // text[..copied] is in `out` (once it exists)
    let mut i = 0;
    // (`i` may pass the end by one: a line whose last byte is a `\`)
    while let Some(off) = b.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let at = i + off;
        let lone = match unit(at) {
            Some(0xD800..=0xDBFF) => {
                if matches!(unit(at + 6), Some(0xDC00..=0xDFFF)) {
                    i = at + 12; // a pair
                    continue;
                }
                true
            }
            Some(0xDC00..=0xDFFF) => true,
            _ => false,
        };
        if lone {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..at]);
            o.push('\\'); // (then the escape itself, as text)
            copied = at;
            i = at + 6;
        } else {
            i = at + 2; // any other escape, `\\` included
        }
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some(o)
}

/// serde_json's nesting limit; skipped values are not checked by serde, so
/// `too_deep` applies it to the whole line.
pub const MAX_DEPTH: usize = 128;

/// True if arrays/objects nest deeper than `MAX_DEPTH` (outside strings).
fn too_deep(bytes: &[u8]) -> bool {
    // Cheap bound first: fewer openers than the limit cannot nest past it.
    let openers = memchr::memchr2_iter(b'[', b'{', bytes).count();
    if openers < MAX_DEPTH {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth >= MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// The typed decode failed: tell a malformed line from a valid object that
/// the typed model could not take (which is still a record).
fn fallback(text: &str, typed_err: serde_json::Error) -> Parsed {
    match serde_json::from_str::<serde_json::Value>(text) {
        // A key twice in one object: JavaScript's JSON.parse (Claude Code's
        // reader) takes the last, and so does a Value: read it from that.
        // (Not again if it fails all the same: then the fields are odd too.)
        Ok(v @ serde_json::Value::Object(_))
            if typed_err.to_string().starts_with("duplicate field") =>
        {
            let once = serde_json::to_string(&v).unwrap_or_default();
            match serde_json::from_str::<Line>(&once) {
                Ok(line) => {
                    let mut r = Record::from_line(line);
                    r.warnings.push(format!(
                        "a key given twice in one object ({typed_err}): the last one read, as JavaScript does"
                    ));
                    Parsed::Record(Box::new(r))
                }
                Err(_) => fallback_record(v, typed_err),
            }
        }
        Ok(v @ serde_json::Value::Object(_)) => fallback_record(v, typed_err),
        Ok(other) => Parsed::Malformed(format!("not a JSON object (a JSON {})", json_kind(&other))),
        Err(e) => Parsed::Malformed(not_json(&e, text)),
    }
}

/// A valid object the typed model could not take: a record of its type,
/// none of its fields modelled.
fn fallback_record(v: serde_json::Value, typed_err: serde_json::Error) -> Parsed {
    match v {
        serde_json::Value::Object(map) => {
            let (line_type, known) = match map.get("type") {
                Some(serde_json::Value::String(t)) => {
                    (t.clone(), KNOWN_TYPES.contains(&t.as_str()))
                }
                _ => (NO_TYPE.to_owned(), false),
            };
            Parsed::Record(Box::new(Record {
                line_type,
                known,
                warnings: vec![format!("fields not modelled ({typed_err})")],
                ..Default::default()
            }))
        }
        other => Parsed::Malformed(format!("not a JSON object (a JSON {})", json_kind(&other))),
    }
}

/// What a line is if it is no UTF-8 text at all (a transcript saved by an
/// editor as UTF-16, a compressed file named `.jsonl`), said after why it
/// is malformed.
fn not_utf8_text(b: &[u8]) -> Option<&'static str> {
    const UTF16: &str = "; the file looks like UTF-16 text (saved by an editor as \"Unicode\"?): Claude Code writes UTF-8; convert it (iconv -f UTF-16 -t UTF-8) or move it out of projects/";
    match b {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => Some(UTF16),
        // (text every other byte: a NUL run before a record, which a crash
        // leaves, is not this)
        [a, 0, b, 0, ..] | [0, a, 0, b, ..] if *a != 0 && *b != 0 => Some(UTF16),
        [0x1f, 0x8b, ..] => {
            Some("; the file looks gzip-compressed: decompress it, or move it out of projects/")
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => {
            Some("; the file looks zstd-compressed: decompress it, or move it out of projects/")
        }
        _ => None,
    }
}

/// Why a line is not JSON, in words for people: where in the line, and what
/// it most likely is (serde_json's own words, without its "line 1").
fn not_json(e: &serde_json::Error, text: &str) -> String {
    let what = e.to_string();
    let what = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(head, _)| head);
    let hint = match e.classify() {
        _ if let Some(h) = not_utf8_text(text.as_bytes()) => h,
        _ if e.column() == 1 && text.starts_with('\u{feff}') => {
            "; the line starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow (saved by an editor?)"
        }
        serde_json::error::Category::Eof => "; the line ends before the JSON does (cut short?)",
        // (a bare CR between objects: old Mac line ends, every line one)
        _ if what == "trailing characters" && text.contains("}\r{") => {
            "; a bare CR (\\r) parts JSON objects here: a file whose lines end in \\r alone (old Mac line ends) reads as one line, where Claude Code ends them in \\n; if this is one, convert it (tr '\\r' '\\n') or move it out of projects/"
        }
        _ if what == "trailing characters" => "; more follows the JSON object (two on one line?)",
        _ => "",
    };
    // (serde_json's column is the 1-based byte: said as the byte offset,
    // as the UTF-8 error says it)
    format!(
        "not valid JSON: {what} at byte {} of the line{hint}",
        e.column().saturating_sub(1)
    )
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Parse an ISO-8601 time (ms or µs, `Z` or an offset) to Unix milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The inverse of `parse_timestamp`: RFC 3339 UTC with milliseconds.
pub fn format_timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A workflow agent's `sessionId` (`<session>#agent-<id>`, its lines in
/// `<session>/subagents/workflows/<run>/agent-<id>.jsonl`) split into its
/// session and agent; None for any other id.
pub fn workflow_agent(session_id: &str) -> Option<(&str, &str)> {
    session_id
        .split_once("#agent-")
        .filter(|(session, agent)| !session.is_empty() && !agent.is_empty())
}

/// A line's session: its `sessionId`, a workflow agent's session for one.
pub fn session_of(session_id: &str) -> &str {
    workflow_agent(session_id).map_or(session_id, |(session, _)| session)
}

/// Text Claude Code writes into a user line itself, not the user: an
/// interruption, a local command's or `!` shell's output, a background
/// task's or a teammate's message.
pub fn is_claude_code_note(text: &str) -> bool {
    const NOTES: [&str; 8] = [
        "[Request interrupted by user",
        "<local-command-stdout>",
        "<local-command-stderr>",
        "<local-command-caveat>",
        "<bash-stdout>",
        "<bash-stderr>",
        "<task-notification>",
        "<teammate-message>",
    ];
    let text = text.trim_start();
    NOTES.iter().any(|n| match n.strip_suffix('>') {
        // a tag, also with attributes: `<teammate-message teammate_id="alice">`
        Some(open) => text.strip_prefix(open).is_some_and(|rest| {
            rest.starts_with('>') || rest.starts_with(|c: char| c.is_ascii_whitespace())
        }),
        None => text.starts_with(n),
    })
}

/// A text block Claude Code adds to a prompt as context: what the IDE had
/// open or selected, its diagnostics, a system reminder.
fn is_context(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("<ide_") || text.starts_with("<system-reminder>")
}

/// Shorten text for previews, on a char boundary.
pub fn preview(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(PREVIEW_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Collects the names of fields that had an unexpected type.
struct Warn(Vec<String>);

impl Warn {
    fn str(&mut self, name: &str, f: Str<'_>) -> Option<String> {
        match f {
            Field::Got(v) => Some(v.into_owned()),
            Field::WrongType => {
                self.0.push(format!("`{name}` is not a string"));
                None
            }
            _ => None,
        }
    }
    fn flag(&mut self, name: &str, f: Field<bool>) -> bool {
        if f.is_wrong() {
            self.0.push(format!("`{name}` is not a boolean"));
        }
        f.get().unwrap_or(false)
    }
    fn opt_flag(&mut self, name: &str, f: Field<bool>) -> Option<bool> {
        if f.is_wrong() {
            self.0.push(format!("`{name}` is not a boolean"));
        }
        f.get()
    }
    fn int(&mut self, name: &str, f: Field<Num>) -> Option<i64> {
        if f.is_wrong() {
            self.0.push(format!("`{name}` is not a number"));
        }
        f.get().map(Num::int)
    }
    fn count(&mut self, name: &str, f: Field<Num>) -> u64 {
        match f {
            Field::Got(n) => {
                let v = n.count();
                // (a count is a whole number from 0 up: say what was done
                // with one that is not, as for one of the wrong type)
                match n {
                    Num::I(i) if i < 0 => self
                        .0
                        .push(format!("`{name}` is {i}, below 0; counted as 0")),
                    Num::F(x) if x < 0.0 => self
                        .0
                        .push(format!("`{name}` is {x}, below 0; counted as 0")),
                    Num::F(x) if x.fract() != 0.0 => self.0.push(format!(
                        "`{name}` is {x}, not a whole number; counted as {v}"
                    )),
                    _ => {}
                }
                if v > MAX_TOKENS {
                    // (a float like 1e30, or past u64 (read as a float): said
                    // as read, not as the u64 it saturated to)
                    let shown = match n {
                        Num::F(x) => format!("{x:e}"),
                        _ => v.to_string(),
                    };
                    self.0.push(format!(
                        "`{name}` is {shown}, over 10^15, not a token count; counted as 0"
                    ));
                    return 0;
                }
                if v > ABSURD_TOKENS {
                    self.0
                        .push(format!("`{name}` is {v}, over 10^12; kept as is"));
                }
                v
            }
            Field::WrongType => {
                self.0
                    .push(format!("`{name}` is not a number; counted as 0"));
                0
            }
            _ => 0,
        }
    }
}

fn opt(s: Str<'_>) -> Option<String> {
    s.get().map(Cow::into_owned)
}

impl Record {
    fn from_line(l: Line<'_>) -> Record {
        let mut w = Warn(Vec::new());
        let (line_type, known) = match l.kind {
            Field::Got(t) => {
                let known = KNOWN_TYPES.contains(&t.as_ref());
                (t.into_owned(), known)
            }
            Field::WrongType => {
                w.0.push("`type` is not a string".into());
                (NO_TYPE.to_owned(), false)
            }
            _ if !matches!(l.agent_type, Field::Missing) => (AGENT_META.to_owned(), true),
            _ => (NO_TYPE.to_owned(), false),
        };
        let timestamp_ms = match w.str("timestamp", l.timestamp) {
            Some(t) => match parse_timestamp(&t) {
                // (before 1970: no real transcript has one, and the
                // database's day and bucket arithmetic starts there)
                Some(ms) if ms < 0 => {
                    w.0.push(format!(
                        "`timestamp` {t:?} is before 1970; taken as no time"
                    ));
                    None
                }
                // (from the year 9000: a block or a day after it would be
                // past 9999, which RFC 3339 cannot write)
                Some(ms) if ms >= YEAR_9000_MS => {
                    w.0.push(format!(
                        "`timestamp` {t:?} is in the year 9000 or later; taken as no time"
                    ));
                    None
                }
                Some(ms) => Some(ms),
                None => {
                    w.0.push(format!(
                        "`timestamp` {t:?} is not an RFC 3339 time (such as 2026-03-01T10:00:00.000Z)"
                    ));
                    None
                }
            },
            None => None,
        };
        let uuid = w.str("uuid", l.uuid).filter(|s| !s.is_empty());
        let parent_uuid = w.str("parentUuid", l.parent_uuid);
        let logical_parent_uuid = w.str("logicalParentUuid", l.logical_parent_uuid);
        let session_id = w.str("sessionId", l.session_id).filter(|s| !s.is_empty());
        let agent_id = w.str("agentId", l.agent_id).filter(|s| !s.is_empty());
        // (a workflow agent's `<session>#agent-<id>`: that session's agent)
        let (session_id, agent_id) = match session_id.as_deref().and_then(workflow_agent) {
            Some((session, agent)) => (
                Some(session.to_owned()),
                agent_id.or_else(|| Some(agent.to_owned())),
            ),
            None => (session_id, agent_id),
        };
        let env = Envelope {
            uuid,
            parent_uuid,
            logical_parent_uuid,
            session_id,
            agent_id,
            timestamp_ms,
            cwd: w.str("cwd", l.cwd),
            git_branch: w.str("gitBranch", l.git_branch),
            version: w.str("version", l.version),
            slug: w.str("slug", l.slug),
            subtype: w.str("subtype", l.subtype),
            permission_mode: w.str("permissionMode", l.permission_mode.clone()),
            tool_use_id: w.str("toolUseID", l.tool_use_id),
            parent_tool_use_id: w.str("parentToolUseID", l.parent_tool_use_id),
            is_sidechain: w.flag("isSidechain", l.is_sidechain),
            is_meta: w.flag("isMeta", l.is_meta),
            is_compact_summary: w.flag("isCompactSummary", l.is_compact_summary),
        };
        let body = match line_type.as_str() {
            "user" | "assistant" => message_body(
                &mut w,
                l.message,
                l.is_api_error_message,
                l.api_error_status,
                l.error,
                l.tool_use_result,
            ),
            "system" => {
                let cm = l.compact_metadata.into_inner().unwrap_or_default();
                Body::System(Box::new(SystemBody {
                    level: opt(l.level),
                    content_preview: match l.content {
                        Content::Text(t) => Some(preview(&t)),
                        _ => None,
                    },
                    compact_trigger: opt(cm.trigger),
                    compact_pre_tokens: w.int("compactMetadata.preTokens", cm.pre_tokens),
                    duration_ms: w.int("durationMs", l.duration_ms),
                    message_count: w.int("messageCount", l.message_count),
                    retry_in_ms: w.int("retryInMs", l.retry_in_ms),
                    retry_attempt: w.int("retryAttempt", l.retry_attempt),
                    max_retries: w.int("maxRetries", l.max_retries),
                    hook_infos: l
                        .hook_infos
                        .0
                        .get()
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(Obj::into_inner)
                        .map(|h| (opt(h.command), h.duration_ms.get().map(Num::int)))
                        .collect(),
                    hook_errors: l.hook_errors.items().len(),
                    hook_error: l.hook_errors.items().iter().find_map(|e| match e {
                        Field::Got(t) if !t.trim().is_empty() => Some(preview(t)),
                        _ => None,
                    }),
                    prevented_continuation: w
                        .flag("preventedContinuation", l.prevented_continuation),
                    stop_reason: opt(l.stop_reason),
                }))
            }
            "progress" => {
                let d = l.data.into_inner().unwrap_or_default();
                let elapsed_ms = d.elapsed_time_ms.get().map(Num::int).or_else(|| {
                    d.elapsed_time_seconds
                        .get()
                        .map(|s| s.int().saturating_mul(1000))
                });
                Body::Progress(Box::new(ProgressBody {
                    kind: opt(d.kind),
                    hook_event: opt(d.hook_event),
                    hook_name: opt(d.hook_name),
                    command: opt(d.command),
                    agent_id: opt(d.agent_id),
                    status: opt(d.status),
                    server_name: opt(d.server_name),
                    tool_name: opt(d.tool_name),
                    elapsed_ms,
                }))
            }
            "attachment" => {
                let a = l.attachment.into_inner().unwrap_or_default();
                let be = a.blocking_error.into_inner();
                let (be_text, be_cmd) = match be {
                    Some(b) => (opt(b.blocking_error), opt(b.command)),
                    None => (None, None),
                };
                let stderr = opt(a.stderr).filter(|s| !s.trim().is_empty());
                let stdout = opt(a.stdout).filter(|s| !s.trim().is_empty());
                Body::Attachment(Box::new(AttachmentBody {
                    kind: opt(a.kind),
                    hook_name: opt(a.hook_name),
                    hook_event: opt(a.hook_event),
                    tool_use_id: opt(a.tool_use_id),
                    exit_code: a.exit_code.get().map(Num::int),
                    command: opt(a.command).or(be_cmd),
                    duration_ms: a.duration_ms.get().map(Num::int),
                    output_preview: be_text.or(stderr).or(stdout).map(|s| preview(&s)),
                }))
            }
            "queue-operation" => {
                let (content_preview, content_bytes) = content_text(&l.content);
                Body::Queue {
                    operation: w.str("operation", l.operation).unwrap_or_default(),
                    content_preview,
                    content_bytes,
                }
            }
            "summary" => Body::Summary {
                summary: w.str("summary", l.summary),
                leaf_uuid: w.str("leafUuid", l.leaf_uuid),
            },
            "file-history-snapshot" => {
                let snap = l.snapshot.into_inner().unwrap_or_default();
                Body::Snapshot {
                    message_id: w.str("messageId", l.message_id),
                    snapshot_message_id: opt(snap.message_id),
                    is_update: w.flag("isSnapshotUpdate", l.is_snapshot_update),
                    files: snap.tracked_file_backups.0,
                    snapshot_at: snap
                        .timestamp
                        .get()
                        .and_then(|t| parse_timestamp(&t))
                        .filter(|&ms| ms >= 0),
                }
            }
            "permission-mode" => Body::Meta {
                value: env.permission_mode.clone(),
            },
            "custom-title" => Body::Meta {
                value: opt(l.custom_title),
            },
            "ai-title" => Body::Meta {
                value: opt(l.ai_title),
            },
            "tag" => Body::Meta { value: opt(l.tag) },
            "last-prompt" => Body::Meta {
                value: opt(l.last_prompt).map(|s| preview(&s)),
            },
            "mode" => Body::Meta { value: opt(l.mode) },
            "agent-name" => Body::Meta {
                value: opt(l.agent_name),
            },
            "agent-color" => Body::Meta {
                value: opt(l.agent_color),
            },
            // (what each links to or moves to: the PR, the frame, the
            // worktree, the new working directory)
            "pr-link" => Body::Meta {
                value: opt(l.pr_url),
            },
            "frame-link" => Body::Meta {
                value: opt(l.frame_url),
            },
            "relocated" => Body::Meta {
                value: opt(l.relocated_cwd),
            },
            "worktree-state" => Body::Meta {
                value: l
                    .worktree_session
                    .0
                    .get()
                    .and_then(|w| opt(w.worktree_path)),
            },
            AGENT_META => Body::AgentMeta {
                agent_type: w.str("agentType", l.agent_type),
                description: w.str("description", l.description),
                spawned_by: w.str("toolUseId", l.spawned_by),
            },
            _ => Body::Other,
        };
        Record {
            line_type,
            known,
            env,
            body,
            warnings: w.0,
        }
    }

    /// The `message` body of a user/assistant line, if any.
    #[cfg(test)]
    pub fn message(&self) -> Option<&MessageBody> {
        match &self.body {
            Body::Message(m) => Some(m),
            _ => None,
        }
    }
}

use lenient::Obj;

/// Text of a string-or-blocks content: preview and total text bytes.
fn content_text(c: &Content<'_>) -> (Option<String>, usize) {
    content_text_as(c, preview)
}

/// The whole text of a message line's content, where `text_preview` has
/// its first 160 characters (the same block: the first the user wrote), or
/// of a system line's text, where `content_preview` has them; None if the
/// line is neither.
pub fn whole_text(line: &[u8]) -> Option<String> {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let text = std::str::from_utf8(line).ok()?;
    let from = |text: &str| -> Option<String> {
        let line: Line = serde_json::from_str(text).ok()?;
        match line.message.into_inner() {
            Some(m) => content_text_as(&m.content, |t| t.trim().to_owned()).0,
            None => match line.content {
                Content::Text(t) => Some(t.trim().to_owned()),
                _ => None,
            },
        }
    };
    // (read as `parse_line` reads it: a lone surrogate as its escape's
    // text, a key given twice as its last value)
    from(text)
        .or_else(|| without_lone_surrogates(text).and_then(|t| from(&t)))
        .or_else(|| {
            from(
                &serde_json::from_str::<serde_json::Value>(text)
                    .ok()?
                    .to_string(),
            )
        })
}

fn content_text_as(c: &Content<'_>, preview: impl Fn(&str) -> String) -> (Option<String>, usize) {
    match c {
        Content::Text(t) => (Some(preview(t)), t.len()),
        Content::Blocks(blocks) => {
            // (the first block the user wrote: an IDE's context or a
            // reminder goes before the prompt, as blocks of their own)
            let mut first = None;
            let mut context = None;
            let mut bytes = 0;
            for b in blocks {
                if let Some(t) = b.text.as_ref() {
                    bytes += t.len();
                    if first.is_none() {
                        if is_context(t) {
                            context.get_or_insert_with(|| preview(t));
                        } else {
                            first = Some(preview(t));
                        }
                    }
                }
            }
            (first.or(context), bytes)
        }
        _ => (None, 0),
    }
}

fn message_body(
    w: &mut Warn,
    message: Obj<line::Message<'_>>,
    is_api_error: Field<bool>,
    api_error_status: Field<Num>,
    error: Str<'_>,
    tool_use_result: Obj<line::ToolUseResult<'_>>,
) -> Body {
    if message.is_wrong() {
        w.0.push("`message` is not an object".into());
    }
    let m = message.into_inner().unwrap_or_default();
    let usage = match m.usage {
        Obj(Field::Got(u)) => Some(usage_figures(w, u)),
        Obj(Field::WrongType) => {
            w.0.push("`message.usage` is not an object; not counted".into());
            None
        }
        _ => None,
    };
    let (text_preview, _) = content_text(&m.content);
    let has_text = match &m.content {
        Content::Text(t) => !t.trim().is_empty(),
        Content::Blocks(bs) => bs
            .iter()
            .any(|b| b.text.as_ref().is_some_and(|t| !t.trim().is_empty())),
        _ => false,
    };
    let blocks = match m.content {
        Content::Blocks(bs) => bs
            .into_iter()
            .enumerate()
            .map(|(i, b)| block_record(w, i, b))
            .collect(),
        Content::Text(t) => vec![BlockRecord {
            kind: "text".into(),
            text_bytes: t.len(),
            ..Default::default()
        }],
        _ => Vec::new(),
    };
    let result_agent_id = tool_use_result
        .into_inner()
        .and_then(|r| opt(r.agent_id))
        .filter(|s| !s.is_empty());
    Body::Message(Box::new(MessageBody {
        role: opt(m.role),
        message_id: w.str("message.id", m.id).filter(|s| !s.is_empty()),
        model: w.str("message.model", m.model),
        stop_reason: opt(m.stop_reason),
        usage,
        blocks,
        text_preview,
        has_text,
        is_api_error: is_api_error.get().unwrap_or(false),
        api_error_status: api_error_status.get().map(Num::int),
        error: opt(error),
        result_agent_id,
    }))
}

fn usage_figures(w: &mut Warn, u: line::Usage<'_>) -> UsageFigures {
    let cc = u.cache_creation;
    // (a split with no number in it, nulls or other keys only, says nothing:
    // the total is counted)
    let split_given =
        matches!(cc.ephemeral_5m, Field::Got(_)) || matches!(cc.ephemeral_1h, Field::Got(_));
    let (m5, h1) = if cc.is_object && split_given {
        let split = (
            w.count(
                "usage.cache_creation.ephemeral_5m_input_tokens",
                cc.ephemeral_5m,
            ),
            w.count(
                "usage.cache_creation.ephemeral_1h_input_tokens",
                cc.ephemeral_1h,
            ),
        );
        // (the split is what is billed; a total that disagrees is said)
        if let Field::Got(n) = u.cache_creation_input_tokens {
            let (total, sum) = (n.count(), split.0.saturating_add(split.1));
            if total != sum {
                w.0.push(format!(
                    "`usage.cache_creation_input_tokens` is {total}, but `usage.cache_creation` splits {sum} into 5m and 1h writes; the split is counted"
                ));
            }
        }
        split
    } else {
        (
            w.count(
                "usage.cache_creation_input_tokens",
                u.cache_creation_input_tokens,
            ),
            0,
        )
    };
    let stu = u.server_tool_use.into_inner().unwrap_or_default();
    UsageFigures {
        input_tokens: w.count("usage.input_tokens", u.input_tokens),
        output_tokens: w.count("usage.output_tokens", u.output_tokens),
        cache_creation_5m_tokens: m5,
        cache_creation_1h_tokens: h1,
        cache_read_tokens: w.count("usage.cache_read_input_tokens", u.cache_read_input_tokens),
        web_search_requests: w.count(
            "usage.server_tool_use.web_search_requests",
            stu.web_search_requests,
        ),
        web_fetch_requests: w.count(
            "usage.server_tool_use.web_fetch_requests",
            stu.web_fetch_requests,
        ),
        fast: u.speed.as_ref().is_some_and(|s| s == "fast"),
        us_only: u.inference_geo.as_ref().is_some_and(|s| s == "us"),
    }
}

/// TodoWrite's list in a few words: how many items, how many done, and
/// the one in progress.
fn todo_summary(todos: &[lenient::Obj<line::Todo<'_>>]) -> Option<String> {
    fn is(t: &line::Todo<'_>, status: &str) -> bool {
        t.status.as_ref().is_some_and(|s| s == status)
    }
    let items: Vec<&line::Todo<'_>> = todos.iter().filter_map(|t| t.0.as_ref()).collect();
    if items.is_empty() {
        return None;
    }
    let done = items.iter().filter(|t| is(t, "completed")).count();
    let n = items.len();
    let mut out = format!("{n} todo{}, {done} done", if n == 1 { "" } else { "s" });
    if let Some(now) = items.iter().find(|t| is(t, "in_progress"))
        && let Some(c) = now.content.as_ref()
    {
        out.push_str(&format!("; now: {c}"));
    }
    Some(out)
}

/// Tools whose `file_path` (or `notebook_path`) names the file they touch.
const FILE_TOOLS: &[&str] = &["Read", "Edit", "Write", "MultiEdit", "NotebookEdit"];

fn block_record(w: &mut Warn, idx: usize, b: line::Block<'_>) -> BlockRecord {
    let kind = opt(b.kind).unwrap_or_else(|| NO_TYPE.to_owned());
    let tool_name = opt(b.name);
    let (input_summary, file_path) = match b.input.into_inner() {
        Some(i) => {
            let file = opt(i.file_path).or_else(|| opt(i.notebook_path));
            let summary = file
                .clone()
                .or_else(|| opt(i.command))
                .or_else(|| opt(i.pattern))
                .or_else(|| opt(i.url))
                .or_else(|| opt(i.query))
                .or_else(|| opt(i.skill))
                .or_else(|| opt(i.description))
                .or_else(|| opt(i.subagent_type))
                .or_else(|| opt(i.path))
                .or_else(|| todo_summary(i.todos.items()))
                .or_else(|| {
                    let q = i.questions.items().first()?.0.as_ref()?;
                    opt(q.question.clone())
                })
                .or_else(|| opt(i.question))
                .or_else(|| opt(i.plan))
                .or_else(|| opt(i.subject))
                .or_else(
                    || match (opt(i.to).or_else(|| opt(i.recipient)), opt(i.summary)) {
                        (Some(to), Some(s)) => Some(format!("to {to}: {s}")),
                        (to, s) => to.map(|t| format!("to {t}")).or(s),
                    },
                )
                .or_else(|| opt(i.bash_id))
                .or_else(|| opt(i.shell_id))
                .or_else(|| {
                    let id = opt(i.task_id).or_else(|| opt(i.task_id_snake))?;
                    let task = format!("task {id}");
                    Some(match opt(i.status) {
                        Some(st) => format!("{task}: {st}"),
                        None => task,
                    })
                })
                .map(|s| preview(&s));
            let is_file_tool = tool_name
                .as_deref()
                .is_some_and(|n| FILE_TOOLS.contains(&n));
            (summary, if is_file_tool { file } else { None })
        }
        None => (None, None),
    };
    let text_bytes = b.text.as_ref().map_or(0, |t| t.len())
        + b.thinking.bytes
        + b.content.bytes
        + b.source.bytes;
    BlockRecord {
        kind,
        tool_use_id: opt(b.id).or_else(|| opt(b.tool_use_id)),
        tool_name,
        input_summary,
        file_path,
        text_bytes,
        is_error: w.opt_flag(&format!("message.content[{idx}].is_error"), b.is_error),
    }
}

#[cfg(test)]
mod tests;
