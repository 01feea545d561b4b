//! `observatory commands`: slash commands and skills, with counts.
//!
//! A slash command is a user message (or a `local_command` system line)
//! whose text holds `<command-name>/x</command-name>`: the stored preview
//! (first 160 characters) is enough, as Claude Code writes the tag first or
//! right after a short `<command-message>`; a preview cut before the tag
//! ends (a long `<command-message>`) is read whole from its stored line.
//! Messages are stored once per
//! uuid, so a prompt copied into a resumed session counts once. A skill is a
//! `Skill` tool call (one per tool_use id) not answered with an error (an
//! unknown skill's name, a typo, was never used); its name is the call's
//! `skill` input.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::{TimeRange, project_matches, session_matches};

#[derive(Debug, Clone, Default)]
pub struct CommandsQuery {
    pub range: TimeRange,
    pub project: Option<String>,
    /// Only this session (its full id), with its subagents.
    pub session: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    SlashCommand,
    Skill,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::SlashCommand => "slash_command",
            Kind::Skill => "skill",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    pub kind: Kind,
    /// Slash commands with their leading `/` (added when the transcript
    /// left it out); skills as named (`?` when the call named none).
    pub name: String,
    pub count: u64,
    pub sessions: u64,
    /// The latest use (epoch ms), if any use has a time.
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct CommandsReport {
    /// Most used first, then slash commands before skills, then by name.
    pub rows: Vec<CommandRow>,
    pub slash_commands: u64,
    pub skills: u64,
}

/// The command named in a `<command-name>` tag, normalised to `/name`.
pub fn command_name(text: &str) -> Option<String> {
    const OPEN: &str = "<command-name>";
    const CLOSE: &str = "</command-name>";
    let start = text.find(OPEN)? + OPEN.len();
    let len = text[start..].find(CLOSE)?;
    let name = text[start..start + len].trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return None;
    }
    Some(if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    })
}

/// The command a prompt is: only a prompt that is the tags (one that
/// mentions them is words, as `as_typed` reads it too).
pub fn prompt_command(text: &str) -> Option<String> {
    let t = text.trim_start();
    if !(t.starts_with("<command-message>") || t.starts_with("<command-name>")) {
        return None;
    }
    command_name(text)
}

/// A slash command's prompt as the user typed it (`/review 42`), from the
/// tags Claude Code stores it as (`<command-message>…</command-message>
/// <command-name>/review</command-name><command-args>42</command-args>`);
/// None for any other prompt.
pub fn as_typed(text: &str) -> Option<String> {
    let name = prompt_command(text)?;
    let args = text
        .find("<command-args>")
        .map(|i| &text[i + "<command-args>".len()..])
        .map(|rest| match rest.find("</command-args>") {
            Some(end) => rest[..end].trim().to_owned(),
            // (a stored preview cut short in the arguments or their closing
            // tag: what is left of the tag goes, and the cut is said)
            None => {
                let body = rest.trim_end_matches('…');
                let open_tag = body
                    .rfind('<')
                    .filter(|&i| "</command-args>".starts_with(&body[i..]));
                let kept = open_tag.map_or(rest, |i| &body[..i]);
                let kept = kept.trim().trim_end_matches('…').trim_end();
                if kept.is_empty() || !text.ends_with('…') {
                    kept.to_owned()
                } else {
                    format!("{kept}…")
                }
            }
        })
        .filter(|a| !a.is_empty());
    Some(match args {
        Some(a) => format!("{name} {a}"),
        None => name,
    })
}

#[derive(Default)]
struct Acc {
    count: u64,
    sessions: BTreeSet<String>,
    last: Option<i64>,
}

/// (kind, text: the preview or the skill name, session, at, project,
/// line) of every use: a message or `local_command` line whose preview holds
/// the tag or is a cut `<command-message>`, and every `Skill` call that did
/// not fail. The
/// messages are read from `message_rows` through the partial index
/// `messages_commands`, whose condition the first term repeats word for
/// word: SQLite uses a partial index only then, and otherwise scans every
/// line.
const USES: &str =
    "SELECT 0, m.text_preview, t.session_id, l.at, p.path, m.line_id
         FROM message_rows m
         JOIN lines l ON l.id = m.line_id
         LEFT JOIN threads t ON t.id = m.thread
         LEFT JOIN sessions s ON s.session_id = t.session_id AND s.agent_id = coalesce(t.agent_id, '')
         LEFT JOIN projects p ON p.id = s.project_id
         WHERE (m.text_preview LIKE '%<command-name>%' OR m.text_preview LIKE '<command-message>%')
           AND l.type = 'user' AND m.is_compact_summary = 0
           AND (m.text_preview LIKE '%<command-name>%' OR m.text_preview LIKE '<command-message>%…')
         UNION ALL
         SELECT 0, e.content_preview, e.session_id, e.at, p.path, e.line_id
         FROM system_events e
         LEFT JOIN sessions s ON s.session_id = e.session_id AND s.agent_id = coalesce(e.agent_id, '')
         LEFT JOIN projects p ON p.id = s.project_id
         WHERE e.subtype = 'local_command'
           AND (e.content_preview LIKE '%<command-name>%' OR e.content_preview LIKE '<command-message>%…')
         UNION ALL
         SELECT 1, t.input_summary, t.session_id, t.started_at, p.path, NULL
         FROM tool_calls t
         LEFT JOIN sessions s ON s.session_id = t.session_id AND s.agent_id = coalesce(t.agent_id, '')
         LEFT JOIN projects p ON p.id = s.project_id
         WHERE t.name = 'Skill' AND coalesce(t.is_error, 0) = 0";

pub fn run(conn: &Connection, q: &CommandsQuery) -> rusqlite::Result<CommandsReport> {
    let mut st = conn.prepare(USES)?;
    let mut rows = st.query([])?;
    let mut lines = crate::store::raw::LineReader::default();
    let mut acc: BTreeMap<(Kind, String), Acc> = BTreeMap::new();
    let mut report = CommandsReport::default();
    while let Some(r) = rows.next()? {
        let skill = r.get::<_, i64>(0)? == 1;
        let text: Option<String> = r.get(1)?;
        let session: Option<String> = r.get(2)?;
        let at: Option<i64> = r.get(3)?;
        let project: Option<String> = r.get(4)?;
        let line_id: Option<i64> = r.get(5)?;
        if !q.range.contains(at)
            || !project_matches(project.as_deref(), q.project.as_deref())
            || !session_matches(session.as_deref(), q.session.as_deref())
        {
            continue;
        }
        let key = if skill {
            report.skills += 1;
            let name = text
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "?".into());
            (Kind::Skill, name)
        } else {
            let text = text.unwrap_or_default();
            // (a preview cut before the tag's end: the line's whole text,
            // or nothing if the line cannot be read back)
            let name = match prompt_command(&text) {
                None if text.ends_with('…') => line_id
                    .and_then(|id| lines.line(conn, id).ok().flatten())
                    .and_then(|line| crate::transcript::whole_text(&line))
                    .as_deref()
                    .and_then(prompt_command),
                name => name,
            };
            let Some(name) = name else {
                continue;
            };
            report.slash_commands += 1;
            (Kind::SlashCommand, name)
        };
        let a = acc.entry(key).or_default();
        a.count += 1;
        if let Some(s) = session {
            a.sessions.insert(s);
        }
        if at.is_some() {
            a.last = a.last.max(at);
        }
    }
    report.rows = acc
        .into_iter()
        .map(|((kind, name), a)| CommandRow {
            kind,
            name,
            count: a.count,
            sessions: a.sessions.len() as u64,
            last_used_at: a.last,
        })
        .collect();
    report.rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.kind.cmp(&b.kind))
            .then(a.name.cmp(&b.name))
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_from_tags() {
        let cases = [
            (
                "<command-message>init is analyzing your codebase…</command-message>\n<command-name>/init</command-name>",
                Some("/init"),
            ),
            (
                "<command-name>/model</command-name>\n  <command-message>model</command-message>",
                Some("/model"),
            ),
            (
                "<command-name>test-command</command-name>",
                Some("/test-command"),
            ),
            ("<command-name> /clear </command-name>", Some("/clear")),
            ("<command-name>/cut", None),
            ("<command-name></command-name>", None),
            ("just a prompt about <command-name>", None),
        ];
        for (text, want) in cases {
            assert_eq!(command_name(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn a_command_prompt_reads_as_typed() {
        let review = "<command-message>review is running…</command-message>\n<command-name>/review</command-name>\n<command-args>42 --strict</command-args>";
        assert_eq!(as_typed(review).as_deref(), Some("/review 42 --strict"));
        let bare = "<command-message>init is analyzing your codebase…</command-message>\n<command-name>/init</command-name>\n<command-args></command-args>";
        assert_eq!(as_typed(bare).as_deref(), Some("/init"));
        assert_eq!(as_typed("fix the build"), None);
        let asks = "why does my transcript say <command-name>/review</command-name>?";
        assert_eq!(as_typed(asks), None);
        // a preview cut in the closing tag, or in the arguments
        let cut = "<command-message>review is running…</command-message>\n<command-name>/review</command-name>\n<command-args>the parser and its rules</command…";
        assert_eq!(
            as_typed(cut).as_deref(),
            Some("/review the parser and its rules…")
        );
        let cut = "<command-name>/review</command-name>\n<command-args>the parser and i…";
        assert_eq!(as_typed(cut).as_deref(), Some("/review the parser and i…"));
        let cut = "<command-name>/review</command-name>\n<command-args>…";
        assert_eq!(as_typed(cut).as_deref(), Some("/review"));
        // (a '<' of the arguments' own is theirs)
        let cut =
            "<command-name>/review</command-name>\n<command-args>check that a<b holds in the sort…";
        assert_eq!(
            as_typed(cut).as_deref(),
            Some("/review check that a<b holds in the sort…")
        );
    }

    /// The messages are found through their partial index, not by a scan of
    /// every line (~160 ms on the benchmark database when the index's
    /// condition and the query's parted).
    #[test]
    fn uses_are_found_through_the_commands_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {USES}")).unwrap();
        let plan: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter().any(|d| d.contains("INDEX messages_commands")),
            "{plan:#?}"
        );
        assert!(!plan.iter().any(|d| d == "SCAN l"), "{plan:#?}");
    }
}
