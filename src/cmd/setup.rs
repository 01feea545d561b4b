//! `observatory setup claude-code`: the settings.json snippet that makes
//! Claude Code run `observatory statusline` for its status line and
//! `observatory ingest -q` when a session ends; `--apply` merges it in.
//!
//! The merge keeps the file as it was everywhere it does not change it: the
//! top-level keys (and those under `hooks`) keep their order, and every value
//! we do not touch is written back byte for byte (serde_json's `RawValue`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::cli::{SetupArgs, SetupTarget};
use crate::config::Settings;
use crate::outln;

pub const STATUS_COMMAND: &str = "observatory statusline";

const STATUS_VALUE: &str = r#"{
  "type": "command",
  "command": "observatory statusline"
}"#;

const HOOK_ENTRY: &str = r#"{
  "hooks": [
    {
      "type": "command",
      "command": "observatory ingest -q"
    }
  ]
}"#;

/// What `setup claude-code` prints (and `--apply` merges).
pub const SNIPPET: &str = r#"{
  "statusLine": {
    "type": "command",
    "command": "observatory statusline"
  },
  "hooks": {
    "SessionEnd": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "observatory ingest -q"
          }
        ]
      }
    ]
  }
}"#;

pub fn run(args: &SetupArgs, settings: &Settings) -> Result<ExitCode> {
    match args.target {
        SetupTarget::ClaudeCode => claude_code(args, settings),
    }
}

fn claude_code(args: &SetupArgs, settings: &Settings) -> Result<ExitCode> {
    warn_db_not_in_commands(settings);
    if !settings.quiet && !on_path("observatory") {
        let this = std::env::current_exe()
            .map_or_else(|_| "observatory".into(), |p| p.display().to_string());
        crate::output::style::warn(format_args!(
            "`observatory` is not on your PATH, so Claude Code will not find it: install it \
             (`cargo install --path .` in its source folder) or write its full path in these \
             commands ({this} statusline)"
        ));
    }
    let path = match (&args.settings, &settings.claude_settings) {
        (Some(p), _) | (None, Some(p)) => p.clone(),
        (None, None) => {
            bail!("no home folder to find Claude Code's settings in: pass --settings FILE")
        }
    };
    // (a Claude config dir named with --claude-dir must be one: a typo is
    // not a folder to make)
    if args.settings.is_none()
        && let Some(dir) = &settings.claude_dir_given
        && !dir.is_dir()
    {
        bail!(
            "{} (from --claude-dir) is not a folder: name Claude Code's config folder, or pass --settings FILE",
            dir.display()
        );
    }
    if !args.apply {
        outln!("{SNIPPET}");
        if !settings.quiet {
            // (the command that edits this same file)
            let which = match (&args.settings, &settings.claude_dir_given) {
                (Some(f), _) => format!(" --settings {}", super::shell_word(f)),
                (None, Some(d)) => format!(" --claude-dir {}", super::shell_word(d)),
                (None, None) => String::new(),
            };
            crate::errln!(
                "Merge this into {} (or run `observatory setup claude-code --apply{which}`).",
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Write through a symlink (dotfile managers) rather than replace it,
    // also one whose target does not exist yet.
    let path = link_target(&path);
    let old = match crate::paths::read_file(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let text = match &old {
        Some(b) => std::str::from_utf8(b)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text; left untouched", path.display()))?,
        None => "",
    };
    let merged = match merge(text, args.force) {
        Ok(m) => m,
        Err(MergeError::Refused(msg)) => {
            crate::errln!("error: {}: {msg}", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    // (`--json`: what was done, for a script that sets up machines)
    let done = |changes: &[String], backup: Option<&Path>| -> Result<()> {
        crate::output::print_json(&serde_json::json!({
            "settings": path.to_string_lossy(),
            "changed": !changes.is_empty(),
            "changes": changes,
            "backup": backup.map(|b| b.to_string_lossy()),
        }))?;
        Ok(())
    };
    let Some(new_text) = merged.text else {
        if settings.json {
            done(&[], None)?;
        } else {
            outln!(
                "{} already runs observatory (status line and SessionEnd hook): nothing to change.",
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    // (a file made read-only is kept from tools that rewrite it: replacing
    // it by rename would pass over that without a word)
    if old.is_some() && std::fs::metadata(&path).is_ok_and(|m| m.permissions().readonly()) {
        crate::errln!(
            "error: {} is read-only, so setup leaves it as it is: make it writable (chmod u+w) and run this again, or add the snippet `observatory setup claude-code` prints by hand",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    // (its folder read-only: nothing was written, said as for the file)
    let folder_refused = |e: &anyhow::Error| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
        })
    };
    let written = (|| -> Result<Option<PathBuf>> {
        let backup = match &old {
            Some(bytes) => Some(write_backup(&path, bytes)?),
            None => None,
        };
        if let Err(e) = write_atomically(&path, new_text.as_bytes()) {
            // (the file as it was: its backup is not needed)
            if let Some(b) = &backup {
                let _ = std::fs::remove_file(b);
            }
            return Err(e);
        }
        Ok(backup)
    })();
    let backup = match written {
        Ok(backup) => backup,
        Err(e) if folder_refused(&e) => {
            crate::errln!(
                "error: {e:#}: its folder does not let this user write or replace it (read-only, or another user's file in a shared folder), so setup leaves {} as it is: make it writable and run this again, or add the snippet `observatory setup claude-code` prints by hand",
                path.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    };
    if settings.json {
        done(&merged.changes, backup.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Updated {}: {}.", path.display(), merged.changes.join("; "));
    if let Some(b) = backup {
        outln!("Backup of the previous file: {}", b.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands Claude Code runs name no database: they use
/// OBSERVATORY_DB / OBSERVATORY_HOME if Claude Code has them, else the
/// config file's `db`, else the default. One given here by `--db` is not
/// theirs.
/// An executable file named `name` in a folder of PATH.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

fn warn_db_not_in_commands(settings: &Settings) {
    use crate::config::Source;
    let Some(source) = settings.source_of("db") else {
        return;
    };
    if settings.quiet || !matches!(source, Source::Flag(_)) {
        return;
    }
    crate::output::style::warn(format_args!(
        "the database here is {} (from {}), but the commands Claude Code will run read `db` from \
         the config file ({}), else the default: set `db` there so they use this one",
        settings.db.display(),
        source.describe(),
        settings.config_file.path.display()
    ));
}

#[derive(Debug, PartialEq)]
pub enum MergeError {
    /// Not changed, with the reason (exit 1).
    Refused(String),
}

#[derive(Debug, PartialEq)]
pub struct Merged {
    /// The new file, or None when nothing needs to change.
    pub text: Option<String>,
    /// What changed, for people.
    pub changes: Vec<String>,
}

/// An object's members in file order, values as written.
struct Ordered(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(kv) = map.next_entry::<String, Box<RawValue>>()? {
                    // (JSON.parse keeps the last of two: editing the first
                    // would change nothing Claude Code reads)
                    if out.iter().any(|(k, _)| *k == kv.0) {
                        return Err(serde::de::Error::custom(format!(
                            "the key {:?} appears twice",
                            kv.0
                        )));
                    }
                    out.push(kv);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Merge the status line and the SessionEnd hook into a settings file's
/// text ("" for a missing or empty file).
pub fn merge(text: &str, force: bool) -> Result<Merged, MergeError> {
    let refuse = |m: String| MergeError::Refused(m);
    let mut top: Vec<(String, String)> = if text.trim().is_empty() {
        Vec::new()
    } else {
        let o: Ordered = serde_json::from_str(text).map_err(|e| {
            // (valid JSON that is no object, a byte-order mark: said as
            // what they are, not as JSON that does not parse)
            let what = if text.starts_with('\u{feff}') {
                "it starts with a byte-order mark (EF BB BF, saved by an editor?), which JSON does not allow".to_owned()
            } else if serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()) {
                // (an object our reading refused: a key written twice;
                // serde's position is past the second's value)
                let e = e.to_string();
                let said = e.split(" at line ").next().unwrap_or(&e).to_owned();
                format!("{said} (Claude Code reads only the last): merge the two into one")
            } else if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                "valid JSON, but not an object: Claude Code's settings are one `{...}`".to_owned()
            } else {
                format!("not valid JSON ({e})")
            };
            refuse(format!("{what}; fix it first, the file was left untouched"))
        })?;
        o.0.into_iter()
            .map(|(k, v)| (k, v.get().to_owned()))
            .collect()
    };
    let mut changes = Vec::new();
    let layout = Layout::of(text);

    // statusLine
    let status = layout.indent(STATUS_VALUE, 1);
    match top.iter_mut().find(|(k, _)| k == "statusLine") {
        None => {
            top.push(("statusLine".into(), status));
            changes.push("status line set".into());
        }
        // (null is no status line: set in its place)
        Some((_, raw)) if raw.trim() == "null" => {
            *raw = status;
            changes.push("status line set".into());
        }
        Some((_, raw)) => {
            let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
            let command = v
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim();
            if !is_ours(command, STATUS_COMMAND) {
                if !force {
                    let shown = if command.is_empty() {
                        raw.trim().to_owned()
                    } else {
                        format!("`{command}`")
                    };
                    return Err(refuse(format!(
                        "a status line is already set ({shown}); it was kept and nothing was changed. \
                         Run again with --force to replace it (a backup is written first)"
                    )));
                }
                *raw = status;
                changes.push(format!("status line replaced (was `{command}`)"));
            }
        }
    }

    // hooks.SessionEnd
    let session_end = |level| layout.array(&[layout.indent(HOOK_ENTRY, level + 1)], level);
    let hooks = layout.object(&[("SessionEnd".into(), session_end(2))], 1);
    match top.iter_mut().find(|(k, _)| k == "hooks") {
        None => {
            top.push(("hooks".into(), hooks));
            changes.push("SessionEnd hook added".into());
        }
        // (null is no hooks: set in its place)
        Some((_, raw)) if raw.trim() == "null" => {
            *raw = hooks;
            changes.push("SessionEnd hook added".into());
        }
        Some((_, raw)) => {
            let hooks: Ordered = serde_json::from_str(raw).map_err(|e| {
                refuse(match e.classify() {
                    serde_json::error::Category::Data if raw.trim_start().starts_with('{') => {
                        format!("\"hooks\": {e}; fix it first, the file was left untouched")
                    }
                    _ => "\"hooks\" is not a JSON object; left untouched".into(),
                })
            })?;
            let mut members: Vec<(String, String)> = hooks
                .0
                .into_iter()
                .map(|(k, v)| (k, v.get().to_owned()))
                .collect();
            let added = match members.iter_mut().find(|(k, _)| k == "SessionEnd") {
                None => {
                    members.push(("SessionEnd".into(), session_end(2)));
                    true
                }
                Some((_, raw)) => {
                    let list: Vec<Box<RawValue>> = serde_json::from_str(raw).map_err(|_| {
                        refuse(
                            "\"hooks\".\"SessionEnd\" is not a JSON array; left untouched".into(),
                        )
                    })?;
                    if has_hook(&list) {
                        false
                    } else {
                        let mut items: Vec<String> =
                            list.iter().map(|r| r.get().to_owned()).collect();
                        items.push(layout.indent(HOOK_ENTRY, 3));
                        *raw = layout.array(&items, 2);
                        true
                    }
                }
            };
            if added {
                *raw = layout.object(&members, 1);
                changes.push("SessionEnd hook added (other hooks kept)".into());
            }
        }
    }

    if changes.is_empty() {
        return Ok(Merged {
            text: None,
            changes,
        });
    }
    let mut text = layout.object(&top, 0);
    text.push_str(layout.newline);
    Ok(Merged {
        text: Some(text),
        changes,
    })
}

/// `observatory statusline --format ...` is ours; so is a full path to it.
fn is_ours(command: &str, ours: &str) -> bool {
    let (program, rest) = ours.split_once(' ').unwrap_or((ours, ""));
    let mut words = command.split_whitespace();
    let first = words.next().unwrap_or("");
    let name_matches = first == program || first.ends_with(&format!("/{program}"));
    let rest_words: Vec<&str> = rest.split_whitespace().collect();
    name_matches && words.take(rest_words.len()).eq(rest_words.iter().copied())
}

/// Some SessionEnd entry already runs `observatory ingest`.
fn has_hook(list: &[Box<RawValue>]) -> bool {
    list.iter()
        .filter_map(|r| serde_json::from_str::<Value>(r.get()).ok())
        .filter_map(|e| e.get("hooks").and_then(Value::as_array).cloned())
        .flatten()
        .filter_map(|h| h.get("command").and_then(Value::as_str).map(str::to_owned))
        .any(|c| is_ours(&c, "observatory ingest"))
}

/// How a settings file is laid out, so that what is added reads as the
/// rest: its line end (CRLF if it has one) and its indent (that of its
/// first indented member; two spaces for a new or one-line file).
struct Layout {
    newline: &'static str,
    unit: String,
}

impl Layout {
    fn of(text: &str) -> Layout {
        // (the shallowest indent of a line that is a member, `"key": ...`:
        // a blank line, or a nested one after a compact first line, is none)
        let unit = text
            .lines()
            .skip(1)
            .map(|l| {
                let body = l.trim_start_matches([' ', '\t']);
                (&l[..l.len() - body.len()], body)
            })
            .filter(|(pad, body)| !pad.is_empty() && body.starts_with('"'))
            .map(|(pad, _)| pad)
            .min_by_key(|pad| pad.len())
            .unwrap_or("  ");
        // (the line end most lines have)
        let crlf = text.matches("\r\n").count();
        Layout {
            newline: if crlf * 2 > text.matches('\n').count() {
                "\r\n"
            } else {
                "\n"
            },
            unit: unit.to_owned(),
        }
    }

    fn pad(&self, level: usize) -> String {
        self.unit.repeat(level)
    }

    /// One of the texts above (two spaces a level) written at nesting
    /// `level` in this layout.
    fn indent(&self, text: &str, level: usize) -> String {
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let body = l.trim_start_matches(' ');
                let depth = (l.len() - body.len()) / 2 + if i == 0 { 0 } else { level };
                format!("{}{body}", self.pad(depth))
            })
            .collect();
        lines.join(self.newline)
    }

    /// An array from items that are already JSON text.
    fn array(&self, items: &[String], level: usize) -> String {
        let pad = self.pad(level + 1);
        let body: Vec<String> = items.iter().map(|v| format!("{pad}{v}")).collect();
        let nl = self.newline;
        format!(
            "[{nl}{}{nl}{}]",
            body.join(&format!(",{nl}")),
            self.pad(level)
        )
    }

    /// An object from members whose values are already JSON text.
    fn object(&self, members: &[(String, String)], level: usize) -> String {
        if members.is_empty() {
            return "{}".into();
        }
        let pad = self.pad(level + 1);
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{pad}{}: {v}", Value::String(k.clone())))
            .collect();
        let nl = self.newline;
        format!(
            "{{{nl}{}{nl}{}}}",
            body.join(&format!(",{nl}")),
            self.pad(level)
        )
    }
}

/// `settings.json.bak-YYYYMMDD-HHMMSS` beside the file (never overwritten).
fn write_backup(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut n = 0;
    loop {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".bak-{stamp}"));
        if n > 0 {
            name.push(format!("-{n}"));
        }
        let candidate = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("cannot write the backup {}", candidate.display()))?;
                if let Ok(meta) = std::fs::metadata(path) {
                    let _ = std::fs::set_permissions(&candidate, meta.permissions());
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot write the backup {}", candidate.display()));
            }
        }
    }
}

/// The file a path names: itself, or where its symlinks lead (followed
/// by hand when the last target does not exist yet, which canonicalize
/// refuses). A loop, or more than 40 links, leaves the path as given.
fn link_target(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(next) = std::fs::read_link(&at) else {
            return at;
        };
        at = match at.parent() {
            Some(dir) => dir.join(next),
            None => next,
        };
    }
    path.to_path_buf()
}

/// Write beside the file, then rename over it: a crash never leaves half a
/// settings file. Keeps the old file's permissions.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".observatory-{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let result = (|| -> std::io::Result<()> {
        // (new, or an error: never written through a link left there)
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn the_snippet_is_what_merge_writes_into_nothing() {
        let m = merge("", false).unwrap();
        assert_eq!(parse(m.text.as_deref().unwrap()), parse(SNIPPET));
        assert_eq!(m.text.unwrap(), format!("{SNIPPET}\n"));
        // and merging it again changes nothing
        assert_eq!(merge(SNIPPET, false).unwrap().text, None);
    }

    #[test]
    fn keeps_order_and_untouched_values_as_written() {
        let before = "{\n  \"zeta\": [1,2,  3],\n  \"alpha\": {\"b\": 1, \"a\": 2}\n}\n";
        let after = merge(before, false).unwrap().text.unwrap();
        assert!(
            after.starts_with(
                "{\n  \"zeta\": [1,2,  3],\n  \"alpha\": {\"b\": 1, \"a\": 2},\n  \"statusLine\""
            ),
            "{after}"
        );
    }

    #[test]
    fn what_is_added_takes_the_files_line_ends_and_indent() {
        let before = "{\r\n    \"model\": \"opus\",\r\n    \"hooks\": {\r\n        \"Stop\": []\r\n    }\r\n}\r\n";
        let after = merge(before, false).unwrap().text.unwrap();
        assert_eq!(
            after.matches('\n').count(),
            after.matches("\r\n").count(),
            "{after:?}"
        );
        assert!(after.ends_with("}\r\n"), "{after:?}");
        assert!(
            after.contains("\r\n    \"statusLine\": {\r\n        \"type\": \"command\","),
            "{after:?}"
        );
        assert!(
            after.contains(
                "\r\n        \"SessionEnd\": [\r\n            {\r\n                \"hooks\": ["
            ),
            "{after:?}"
        );
        assert_eq!(
            parse(&after)["hooks"]["SessionEnd"],
            parse(SNIPPET)["hooks"]["SessionEnd"]
        );
        // tabs too; and a file in the default layout is written as before
        let tabs = merge("{\n\t\"model\": \"opus\"\n}\n", false)
            .unwrap()
            .text
            .unwrap();
        assert!(
            tabs.contains("\n\t\"statusLine\": {\n\t\t\"type\""),
            "{tabs:?}"
        );
        assert!(!tabs.contains("  "), "{tabs:?}");
        // odd files: a blank line, a compact first line, one stray CRLF
        let odd = |text: &str| {
            let l = Layout::of(text);
            (l.unit, l.newline)
        };
        assert_eq!(
            odd("{\n    \n  \"model\": \"opus\"\n}\n"),
            ("  ".into(), "\n")
        );
        assert_eq!(
            odd("{\"permissions\": {\n      \"allow\": []\n  },\n  \"model\": \"x\"\n}\n"),
            ("  ".into(), "\n")
        );
        assert_eq!(
            odd("{\r\n  \"model\": \"opus\",\n  \"x\": 1\n}\n"),
            ("  ".into(), "\n")
        );
        assert_eq!(odd("{\"model\":\"opus\"}\r\n"), ("  ".into(), "\r\n"));
    }

    #[test]
    fn recognises_our_commands() {
        assert!(is_ours("observatory statusline", STATUS_COMMAND));
        assert!(is_ours(
            "/usr/local/bin/observatory statusline --format '{model}'",
            STATUS_COMMAND
        ));
        assert!(!is_ours("ccusage statusline", STATUS_COMMAND));
        assert!(!is_ours("observatory", STATUS_COMMAND));
        assert!(is_ours("observatory ingest -q", "observatory ingest"));
        assert!(!is_ours("observatory-ingest", "observatory ingest"));
    }
}
