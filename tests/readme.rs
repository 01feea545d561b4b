//! The README cannot rot: its commands run here, on the sample data.
//!
//! **`console_blocks_run_as_shown`** runs every ```` ```console ```` block of
//! README.md, in file order, as one shell session: each `$ ` line (with
//! lines after a trailing `\` as its continuation) goes to `sh -c`, and
//! what the next command sees (exported variables, the working directory)
//! is what the last one left. The session starts in a temp dir:
//!
//! - the working directory holds a copy of `fixtures/`, so
//!   `$PWD/fixtures/...` resolves as it does from the repository root, and
//!   nothing is written into the checkout;
//! - `HOME`, `OBSERVATORY_HOME`, `XDG_*_HOME` and `CLAUDE_CONFIG_DIR` point
//!   into it (tests/common `Env`), every other `OBSERVATORY_*` variable is
//!   cleared, `NO_COLOR=1`, `TMPDIR` is in it (so `mktemp -d` is too), and
//!   `TZ=Pacific/Chatham` (UTC+12:45/+13:45), so output that depends on the
//!   local zone differs from UTC and shows up: the README must pin it;
//! - `PATH` starts with a folder holding only this build's `observatory`.
//!
//! Each command must exit 0, or N when its line ends with `# exit N` (a
//! shell comment, so the line still pastes). Its stdout and stderr, written
//! to one file in the order they came, must equal the lines that follow it
//! in the block (up to the next `$ ` line), after these normalisations, on
//! both sides, and no others:
//!
//! 1. trailing whitespace is dropped from each line (tables pad their last
//!    column; editors strip it), and so are trailing blank lines;
//! 2. a path whose component is a `mktemp -d` name (`tmp.` and 6 to 12
//!    letters or digits) becomes `$TMP`, plus what follows it
//!    (`/tmp/tmp.JgU8gEGw9T/observatory.db` -> `$TMP/observatory.db`);
//! 3. an elapsed time in parentheses, `(<digits> ms)`, becomes `(N ms)`;
//! 4. a database size after a `.db` path, `.db (167.9 kB)`, becomes
//!    `.db (SIZE)`.
//!
//! "Now" is not normalised: the samples are dated 2026-03 (before "today"),
//! so "today" costs $0.00 and no 5-hour block is active. A command that
//! needs `jq` or `timeout` when it is not installed is skipped (said on
//! stderr; nothing is installed). A command gets 60 s, then fails.
//!
//! `watch` never ends by itself: the README runs it as `timeout
//! --preserve-status 2 observatory watch --json --replay` on a fresh
//! database, so it prints a known, finite list of events and exits 0 on
//! SIGTERM. It is the one step that depends on time: a machine stalled for
//! 2 s before the catch-up ingest (about 10 ms) ends would fail it.
//!
//! ```` ```text ```` blocks (the gen-corpus `cost` sample under "A first
//! look", a status line) are not run, nor are `json` and `toml` blocks.
//!
//! **`sh_block_commands_parse`**: the `observatory ...` commands of the
//! ```` ```sh ```` blocks (install, setup, completions...) are not run, since
//! they would write into the user's files. Each is run with `--help`
//! appended instead: clap rejects an unknown subcommand, an unknown flag,
//! a missing flag value or a value outside a `ValueEnum` before it looks at
//! `--help` (exit 2), so a rename shows up, while nothing is read or
//! written. It does not check values parsed after clap (dates, SQL).
//!
//! **`inline_commands_name_real_flags`**: every inline code span that
//! starts with `observatory ` (the tables' synopses, such as
//! ``observatory budget set --daily\|--weekly\|--monthly USD [--project P]``)
//! names a subcommand that exists, and each `--flag` / `-q` in it is listed
//! in that subcommand's `--help`. Flags named in prose outside such a span
//! are not checked.

#![cfg(unix)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;

const README: &str = include_str!("../README.md");
const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(60);
/// Tools a README command may use that a machine may lack.
const OPTIONAL_TOOLS: &[&str] = &["jq", "timeout"];

// ------------------------------------------------------------ the README

/// A `$ ` command of a console block and the output shown under it.
struct Shown {
    /// 1-based README line of the `$ `.
    line: usize,
    command: String,
    exit: i32,
    /// (README line, text) of each output line.
    output: Vec<(usize, String)>,
}

/// Fenced blocks whose info string is `lang`: (line of the first content
/// line, content lines).
fn blocks(lang: &str) -> Vec<(usize, Vec<&'static str>)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    let mut fenced = false;
    for (i, l) in README.lines().enumerate() {
        if let Some(info) = l.strip_prefix("```") {
            if fenced {
                if let Some(b) = current.take() {
                    out.push(b);
                }
            } else if info.trim() == lang {
                current = Some((i + 2, Vec::new()));
            }
            fenced = !fenced;
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(l);
        }
    }
    out
}

/// Logical lines of a block: a command line ending in `\` continues on
/// the next (first README line, text with the newlines kept). In a console
/// block only `$ ` lines are commands; output lines never continue.
fn logical_lines(first: usize, lines: &[&str], console: bool) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, l) in lines.iter().enumerate() {
        let command = if open {
            let last = out.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(l);
            true
        } else {
            out.push((first + i, (*l).to_owned()));
            !console || l.starts_with("$ ")
        };
        open = command && l.ends_with('\\');
    }
    out
}

fn console_commands() -> Vec<Shown> {
    let mut shown: Vec<Shown> = Vec::new();
    for (first, lines) in blocks("console") {
        let mut in_block: Vec<Shown> = Vec::new();
        for (line, text) in logical_lines(first, &lines, true) {
            if let Some(command) = text.strip_prefix("$ ") {
                in_block.push(Shown {
                    line,
                    exit: exit_marker(command),
                    command: command.to_owned(),
                    output: Vec::new(),
                });
            } else {
                let cmd = in_block.last_mut().unwrap_or_else(|| {
                    panic!("README.md:{line}: a console block must start with a `$ ` line")
                });
                cmd.output.push((line, text));
            }
        }
        shown.extend(in_block);
    }
    shown
}

/// `# exit N` at the end of a command: the exit code it must have.
fn exit_marker(command: &str) -> i32 {
    let last = command.lines().last().unwrap_or("");
    match last.rsplit_once("# exit ") {
        Some((_, n)) => n
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("bad `# exit` marker in `{command}`")),
        None => 0,
    }
}

// ------------------------------------------------------- normalisation

fn normalise(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| mask_sizes(&mask_elapsed(&mask_mktemp(l.trim_end()))))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Rule 2: `.../tmp.XXXXXXXXXX` (a `mktemp -d` dir) -> `$TMP`.
fn mask_mktemp(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("/tmp.") {
        let name_start = at + "/tmp.".len();
        let name_len = rest[name_start..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count();
        let ends_there = rest[name_start + name_len..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if !(6..=12).contains(&name_len) || !ends_there {
            out.push_str(&rest[..name_start]);
            rest = &rest[name_start..];
            continue;
        }
        // the path starts at the first `/` of this run of path characters
        let is_path_char = |c: char| !c.is_whitespace() && !"\"'`=,;:()[]{}<>".contains(c);
        let token_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_path_char(c))
            .last()
            .map_or(at, |(i, _)| i);
        let path_start = rest[token_start..=at]
            .find('/')
            .map_or(at, |i| token_start + i);
        out.push_str(&rest[..path_start]);
        out.push_str("$TMP");
        rest = &rest[name_start + name_len..];
    }
    out.push_str(rest);
    out
}

/// Rule 3: `(123 ms)` -> `(N ms)`.
fn mask_elapsed(line: &str) -> String {
    mask_between(
        line,
        "(",
        " ms)",
        |s| s.chars().all(|c| c.is_ascii_digit()),
        "N",
    )
}

/// Rule 4: `.db (155.6 kB)` -> `.db (SIZE)`.
fn mask_sizes(line: &str) -> String {
    mask_between(
        line,
        ".db (",
        ")",
        |s| {
            s.split_once(' ').is_some_and(|(n, unit)| {
                n.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                    && ["B", "kB", "MB", "GB", "TB"].contains(&unit)
            })
        },
        "SIZE",
    )
}

/// Replace what lies between `open` and `close` by `with` where `accept`
/// takes it.
fn mask_between(
    line: &str,
    open: &str,
    close: &str,
    accept: impl Fn(&str) -> bool,
    with: &str,
) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(open) {
        let inner_start = at + open.len();
        out.push_str(&rest[..inner_start]);
        rest = &rest[inner_start..];
        if let Some(end) = rest.find(close)
            && !rest[..end].is_empty()
            && accept(&rest[..end])
        {
            out.push_str(with);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------- a diff

/// A line diff (longest common subsequence): `-` lines are the README's,
/// with their line numbers, `+` lines what the command printed.
fn diff(expected: &[(usize, String)], got: &[String]) -> String {
    let (n, m) = (expected.len(), got.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i].1 == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i].1 == got[j] {
            let _ = writeln!(out, "   README.md:{:<5}   {}", expected[i].0, got[j]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "   {:<15} + {}", "(printed)", got[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "   README.md:{:<5} - {}", expected[i].0, expected[i].1);
            i += 1;
        }
    }
    out
}

// ------------------------------------------------------------- running

fn on_path(tool: &str, path: &str) -> bool {
    std::env::split_paths(path).any(|d| d.join(tool).is_file())
}

/// The programs a command line starts (the first word of each part
/// between `|`, `&&`, `||`, `;`), roughly: enough to find `jq`.
fn programs(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = true;
    for t in words(command) {
        match t {
            Word::Op(op) if ["|", "||", "&&", ";", "&"].contains(&op.as_str()) => start = true,
            Word::Op(_) => start = false,
            Word::Text(w) if start && !w.contains('=') => {
                out.push(w);
                start = false;
            }
            Word::Text(_) => {}
        }
    }
    out
}

/// A fresh session: the temp dirs, the environment and the working dir.
struct Session {
    /// Holds the temp dir (removed on drop).
    _env: Env,
    vars: Vec<(String, String)>,
    cwd: PathBuf,
    scratch: PathBuf,
}

impl Session {
    fn new() -> Session {
        let env = Env::new();
        let root = env.dir.path().to_owned();
        let bin = root.join("bin");
        let cwd = root.join("work");
        let tmp = root.join("tmp");
        let scratch = root.join("scratch");
        for d in [&bin, &cwd, &tmp, &scratch] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::os::unix::fs::symlink(
            assert_cmd::cargo::cargo_bin!("observatory"),
            bin.join("observatory"),
        )
        .unwrap();
        common::copy_dir(&common::fixtures(), &cwd.join("fixtures"));
        let path = std::env::var("PATH").unwrap_or_default();
        let mut vars: Vec<(String, String)> = env
            .vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_string_lossy().into_owned()))
            .collect();
        vars.push(("PATH".into(), format!("{}:{path}", bin.display())));
        vars.push(("TMPDIR".into(), tmp.to_string_lossy().into_owned()));
        vars.push(("TZ".into(), "Pacific/Chatham".into()));
        Session {
            _env: env,
            vars,
            cwd,
            scratch,
        }
    }

    fn var(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Run one command line through `sh -c`; keep the environment and the
    /// working directory it leaves. Returns (exit code, stdout + stderr).
    fn run(&mut self, command: &str) -> (i32, String) {
        let out_file = self.scratch.join("out");
        let env_file = self.scratch.join("env");
        let _ = std::fs::remove_file(&env_file);
        let script = format!(
            "{command}\n__readme_status=$?\nenv -0 > '{}'\nexit $__readme_status\n",
            env_file.display()
        );
        let out = std::fs::File::create(&out_file).unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("sh");
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > COMMAND_TIME_LIMIT {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                panic!(
                    "`{command}` did not finish in {COMMAND_TIME_LIMIT:?} (a `watch` needs \
                     `timeout` in front of it)"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Ok(dump) = std::fs::read(&env_file) {
            self.vars.clear();
            for entry in dump.split(|&b| b == 0).filter(|e| !e.is_empty()) {
                let entry = String::from_utf8_lossy(entry);
                let Some((k, v)) = entry.split_once('=') else {
                    continue;
                };
                match k {
                    "PWD" => self.cwd = PathBuf::from(v),
                    "OLDPWD" | "SHLVL" | "_" => {}
                    _ => self.vars.push((k.to_owned(), v.to_owned())),
                }
            }
        }
        let code = status.code().unwrap_or(-1);
        let printed = String::from_utf8_lossy(&std::fs::read(&out_file).unwrap()).into_owned();
        (code, printed)
    }
}

#[test]
fn console_blocks_run_as_shown() {
    let shown = console_commands();
    assert!(
        shown.len() >= 10,
        "the tour's console blocks were not found ({} commands)",
        shown.len()
    );
    let mut session = Session::new();
    let mut failures = Vec::new();
    for cmd in &shown {
        let missing: Vec<String> = programs(&cmd.command)
            .into_iter()
            .filter(|p| OPTIONAL_TOOLS.contains(&p.as_str()) && !on_path(p, session.var("PATH")))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "skipped README.md:{}: `{}` needs {} (not installed here)",
                cmd.line,
                cmd.command,
                missing.join(", ")
            );
            continue;
        }
        let (code, printed) = session.run(&cmd.command);
        let got = normalise(&printed);
        let expected_text: Vec<String> = normalise(
            &cmd.output
                .iter()
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let expected: Vec<(usize, String)> = cmd
            .output
            .iter()
            .map(|(n, _)| *n)
            .zip(expected_text)
            .collect();
        let same_output = expected.iter().map(|(_, l)| l).eq(got.iter());
        if code == cmd.exit && same_output {
            continue;
        }
        let mut msg = format!("README.md:{}: $ {}\n", cmd.line, cmd.command);
        if code != cmd.exit {
            let _ = writeln!(
                msg,
                "  exit code: the README says {} (`# exit N` to change it), it exited {code}",
                cmd.exit
            );
        }
        if !same_output {
            let _ = writeln!(
                msg,
                "  output differs (after normalisation; `-` the README, `+` printed):\n{}",
                diff(&expected, &got)
            );
            let _ = writeln!(msg, "  printed, as is (to paste into the README):");
            for l in printed.lines() {
                let _ = writeln!(msg, "{}", l.trim_end());
            }
        }
        failures.push(msg);
    }
    assert!(
        failures.is_empty(),
        "\n{} README command(s) no longer do what README.md shows. Update the README \
         (or the code), then run `cargo test --release --test readme`:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// --------------------------------------------------------- shell words

#[derive(Debug, PartialEq)]
enum Word {
    Text(String),
    /// `|`, `||`, `&&`, `;`, `&`, or a redirection (`>`, `>>`, `<`, `2>`).
    Op(String),
}

/// Split a command line as sh would, roughly: quotes, backslashes,
/// backslash-newline, operators, and a `#` comment at the start of a word.
/// Variables and `~` stay as written.
fn words(line: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let flush = |cur: &mut String, in_word: &mut bool, out: &mut Vec<Word>| {
        if *in_word {
            out.push(Word::Text(std::mem::take(cur)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\n') => {}
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => cur.push('\\'),
                        },
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(e) => {
                    in_word = true;
                    cur.push(e);
                }
                None => {}
            },
            '#' if !in_word => break,
            c if c.is_whitespace() => flush(&mut cur, &mut in_word, &mut out),
            '|' | '&' | ';' | '>' | '<' => {
                // `2>`: the digit belongs to the redirection
                let fd = in_word && cur == "2" && c == '>';
                if fd {
                    cur.clear();
                    in_word = false;
                }
                flush(&mut cur, &mut in_word, &mut out);
                let mut op = c.to_string();
                if let Some(&n) = chars.peek()
                    && (n == c && c != ';' || c == '>' && n == '&')
                {
                    op.push(n);
                    chars.next();
                }
                out.push(Word::Op(op));
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    flush(&mut cur, &mut in_word, &mut out);
    out
}

/// The arguments of every `observatory` run in a command line (also
/// `cargo run ... -- ARGS`): up to the first operator or redirection.
fn observatory_args(line: &str) -> Vec<Vec<String>> {
    let mut runs = Vec::new();
    let mut segment: Vec<String> = Vec::new();
    let mut segments = Vec::new();
    let mut redirected = false;
    for w in words(line) {
        match w {
            Word::Op(op) if ["|", "||", "&&", ";", "&"].contains(&op.as_str()) => {
                segments.push(std::mem::take(&mut segment));
                redirected = false;
            }
            Word::Op(_) => redirected = true,
            Word::Text(_) if redirected => redirected = false, // the redirection's target
            Word::Text(t) => segment.push(t),
        }
    }
    segments.push(segment);
    for seg in segments {
        // leading `NAME=value` assignments
        let seg: Vec<String> = seg
            .into_iter()
            .skip_while(|w| w.split_once('=').is_some_and(|(k, _)| is_name(k)))
            .collect();
        match seg.first().map(String::as_str) {
            Some("observatory") => runs.push(seg[1..].to_vec()),
            Some("cargo") if seg.get(1).is_some_and(|w| w == "run") => {
                if let Some(dash) = seg.iter().position(|w| w == "--") {
                    runs.push(seg[dash + 1..].to_vec());
                }
            }
            _ => {}
        }
    }
    runs
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn help_env_cmd(env: &Env, args: &[String]) -> std::process::Output {
    env.std_cmd()
        .args(args)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn sh_block_commands_parse() {
    let env = Env::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (first, lines) in blocks("sh") {
        for (line, text) in logical_lines(first, &lines, false) {
            for args in observatory_args(&text) {
                checked += 1;
                let out = help_env_cmd(&env, &args);
                if !out.status.success() {
                    failures.push(format!(
                        "README.md:{line}: `observatory {}` does not parse (exit {:?}):\n{}",
                        args.join(" "),
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands found in sh blocks");
    assert!(
        failures.is_empty(),
        "\nREADME.md shows commands the CLI no longer takes:\n\n{}",
        failures.join("\n")
    );
}

/// The flags (`--long`, `-x`) a text lists.
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| match w.strip_prefix("--") {
            Some(long) => long.starts_with(|c: char| c.is_ascii_lowercase()),
            None => {
                w.len() == 2
                    && w.starts_with('-')
                    && w[1..].starts_with(|c: char| c.is_ascii_alphabetic())
            }
        })
        .map(str::to_owned)
        .collect()
}

/// Inline code spans outside fenced blocks: (README line, content). A run
/// of n backticks opens a span that the next run of exactly n closes,
/// within one paragraph; line breaks inside become spaces.
fn code_spans() -> Vec<(usize, String)> {
    let mut text = String::new();
    let mut fenced = false;
    for l in README.lines() {
        if l.starts_with("```") {
            fenced = !fenced;
            text.push('\n');
            continue;
        }
        if !fenced {
            text.push_str(l);
        }
        text.push('\n');
    }
    let b = text.as_bytes();
    let run_at = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run_at(i);
        let start = i + n;
        let mut j = start;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'\n' && b.get(j + 1) == Some(&b'\n') {
                break; // end of the paragraph
            }
            if b[j] == b'`' {
                let m = run_at(j);
                if m == n {
                    close = Some(j);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                let line = text[..i].matches('\n').count() + 1;
                spans.push((line, text[start..end].replace('\n', " ").trim().to_owned()));
                i = end + n;
            }
            None => i = start,
        }
    }
    spans
}

#[test]
fn inline_commands_name_real_flags() {
    let env = Env::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (line, span) in code_spans() {
        let Some(rest) = span.strip_prefix("observatory ") else {
            continue;
        };
        checked += 1;
        // the subcommand: the lowercase words before the first flag,
        // placeholder, bracket or quote (global flags may come first)
        let mut path: Vec<String> = Vec::new();
        let mut tokens = rest.split_whitespace().peekable();
        while let Some(t) = tokens.next() {
            if t.starts_with('-') {
                if !path.is_empty() {
                    break;
                }
                // a global flag's placeholder value
                if tokens
                    .peek()
                    .is_some_and(|v| v.chars().all(|c| c.is_ascii_uppercase()))
                {
                    tokens.next();
                }
            } else if t.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                path.push(t.to_owned());
            } else {
                break;
            }
        }
        let out = help_env_cmd(&env, &path);
        let help = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            failures.push(format!(
                "README.md:{line}: `observatory {rest}`: no subcommand `{}`:\n{}",
                path.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let known = flags_in(&help);
        let unknown: Vec<String> = flags_in(rest)
            .into_iter()
            .filter(|f| !known.contains(f))
            .collect();
        if !unknown.is_empty() {
            failures.push(format!(
                "README.md:{line}: `observatory {rest}`: `observatory {} --help` lists no {}",
                path.join(" "),
                unknown.join(", ")
            ));
        }
    }
    assert!(checked >= 20, "only {checked} inline commands found");
    assert!(
        failures.is_empty(),
        "\nREADME.md names subcommands or flags the CLI does not have:\n\n{}",
        failures.join("\n")
    );
}

// ------------------------------------------------ the helpers' own tests

#[test]
fn normalisation_rules() {
    assert_eq!(
        normalise("Database: /tmp/tmp.JgU8gEGw9T/observatory.db  \n\n"),
        ["Database: $TMP/observatory.db"]
    );
    assert_eq!(
        mask_mktemp("to /tmp/.tmpAb12Cd/tmp/tmp.x9Y8z7W6v5/archive."),
        "to $TMP/archive."
    );
    assert_eq!(
        mask_mktemp(r#""out": "/var/folders/x/T/tmp.Ab12Cd34/a""#),
        r#""out": "$TMP/a""#
    );
    // not a mktemp name: too short, or more letters after
    assert_eq!(mask_mktemp("/a/tmp.ab/c"), "/a/tmp.ab/c");
    assert_eq!(
        mask_mktemp("x /tmp.abcdefghijklmnop"),
        "x /tmp.abcdefghijklmnop"
    );
    assert_eq!(
        mask_elapsed("13 new API responses (10 ms). (x ms) (12ms)"),
        "13 new API responses (N ms). (x ms) (12ms)"
    );
    assert_eq!(
        mask_sizes("Backed up a.db to b.db (167.9 kB). c.db (x)"),
        "Backed up a.db to b.db (SIZE). c.db (x)"
    );
    assert_eq!(exit_marker("observatory show sess   # exit 1"), 1);
    assert_eq!(exit_marker("observatory show sess"), 0);
}

#[test]
fn shell_words_and_observatory_runs() {
    let runs = |l: &str| observatory_args(l);
    assert_eq!(
        runs("observatory watch --json | jq -c 'select(.event == \"x\")'"),
        [["watch", "--json"]]
    );
    assert_eq!(
        runs("observatory completions zsh  > ~/.zfunc/_observatory      # fpath+=~/.zfunc"),
        [["completions", "zsh"]]
    );
    assert_eq!(
        runs("observatory man > a.1   # or: observatory man | man -l -"),
        [["man"]]
    );
    assert_eq!(
        runs("observatory query \"select a, b from t\" 2>/dev/null && observatory status"),
        vec![vec!["query", "select a, b from t"], vec!["status"]]
    );
    assert_eq!(runs("cargo run --release -- ingest"), [["ingest"]]);
    assert_eq!(
        runs("X=1 observatory statusline --format '{model} {{x}}'"),
        [["statusline", "--format", "{model} {{x}}"]]
    );
    let block = ["$ a \\", "  b", "out \\", "more"];
    assert_eq!(
        logical_lines(10, &block, true),
        [
            (10, "$ a \\\n  b".into()),
            (12, "out \\".into()),
            (13, "more".into())
        ]
    );
    assert_eq!(
        logical_lines(10, &block[2..], false),
        [(10, "out \\\nmore".into())]
    );
    assert!(on_path("sh", &std::env::var("PATH").unwrap()));
    assert!(!on_path("jq", "/nonexistent"));
    assert_eq!(
        programs("timeout 2 observatory watch \\\n  --json | jq -c ."),
        ["timeout", "jq"]
    );
    assert_eq!(
        flags_in("observatory budget set --daily\\|--weekly USD [--warn-at 80] [-q] x-y"),
        ["--daily", "--warn-at", "--weekly", "-q"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
