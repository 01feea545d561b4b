//! Test harness: one temp dir per test with its own HOME, OBSERVATORY_HOME,
//! XDG dirs and transcript root, so no test sees a real home, real
//! transcripts or the developer's own config.toml: every `OBSERVATORY_*`
//! variable (OBSERVATORY_CONFIG too) is cleared, the config file is
//! `$OBSERVATORY_HOME/config.toml` inside the temp dir, and colour
//! variables are neutralised (NO_COLOR=1, CLICOLOR_FORCE unset).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rusqlite::Connection;
use tempfile::TempDir;

pub struct Env {
    pub dir: TempDir,
    /// The Claude config dir given to observatory (holds projects/).
    pub claude: PathBuf,
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `../shared` beside the repo, if this checkout has it.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    p.is_dir().then_some(p)
}

/// Skip (with a printed reason) when `../shared` is absent.
#[macro_export]
macro_rules! require_shared {
    () => {
        match common::shared() {
            Some(p) => p,
            None => {
                eprintln!(
                    "skipped: ../shared is not here (it exists in CI, not in a user's clone)"
                );
                return;
            }
        }
    };
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let claude = dir.path().join("claude");
        std::fs::create_dir_all(claude.join("projects")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Env { dir, claude }
    }

    /// A new Env whose transcript root holds a copy of `fixtures/<name>`.
    pub fn with_fixture(name: &str) -> Env {
        let env = Env::new();
        copy_dir(&fixtures().join(name), &env.claude);
        env
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn obs_home(&self) -> PathBuf {
        self.dir.path().join("obs")
    }

    pub fn db_path(&self) -> PathBuf {
        self.obs_home().join("observatory.db")
    }

    /// Put fixtures/db-v1 (the basic fixture ingested by the first
    /// release, schema 1) where this environment's database goes.
    pub fn with_db_v1(&self) {
        std::fs::create_dir_all(self.obs_home()).unwrap();
        std::fs::copy(fixtures().join("db-v1/observatory.db"), self.db_path()).unwrap();
    }

    pub fn projects(&self) -> PathBuf {
        self.claude.join("projects")
    }

    /// A transcript folder under `projects/` (made, with its parents).
    pub fn project_dir(&self, folder: &str) -> PathBuf {
        let dir = self.projects().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Where observatory reads its config file in this test
    /// (`$OBSERVATORY_HOME/config.toml`).
    pub fn config_path(&self) -> PathBuf {
        self.obs_home().join("config.toml")
    }

    /// Write this test's config file.
    pub fn write_config(&self, text: &str) -> PathBuf {
        std::fs::create_dir_all(self.obs_home()).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
        self.config_path()
    }

    /// The isolated environment every observatory child gets.
    pub fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("HOME", self.home()),
            ("OBSERVATORY_HOME", self.obs_home()),
            ("CLAUDE_CONFIG_DIR", self.claude.clone()),
            ("XDG_CONFIG_HOME", self.dir.path().join("xdg/config")),
            ("XDG_DATA_HOME", self.dir.path().join("xdg/data")),
            ("XDG_CACHE_HOME", self.dir.path().join("xdg/cache")),
            ("NO_COLOR", PathBuf::from("1")),
            // (days are cut in the machine's zone without --tz: every test
            // sees the same days wherever it runs; a test that wants another
            // zone sets TZ or --tz itself)
            ("TZ", PathBuf::from("UTC")),
        ]
    }

    /// The observatory binary with this test's environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin!("observatory"));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("OBSERVATORY_") || k.starts_with("CLICOLOR") {
                c.env_remove(k.as_ref());
            }
        }
        for (k, v) in self.vars() {
            c.env(k, v);
        }
        c
    }

    /// The binary as a plain `std::process::Command` with nothing but this
    /// test's environment (and PATH).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("observatory"));
        c.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            c.env("PATH", path);
        }
        for (k, v) in self.vars() {
            c.env(k, v);
        }
        c
    }

    /// Run `observatory ingest --json` and parse its summary.
    pub fn ingest(&self) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["ingest", "--json"])
            .assert()
            .success()
            .get_output()
            .clone();
        serde_json::from_slice(&out.stdout).expect("ingest --json prints JSON")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("open db")
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Run and expect a failure with this exit code; return stderr.
pub fn fails(env: &Env, args: &[&str], code: i32) -> String {
    let out = env.cmd().args(args).assert().code(code);
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every foreign key holds (ingest writes with them unchecked).
pub fn assert_references(conn: &Connection) {
    let bad = strings(
        conn,
        "SELECT \"table\" || ' row ' || rowid || ' -> ' || parent FROM pragma_foreign_key_check",
    );
    assert!(bad.is_empty(), "dangling references: {bad:?}");
}

/// The first column of every row of `sql`, as text.
pub fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every derived table (its view), dumped row by row, to compare two
/// databases.
pub fn dump(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let tables = [
        "lines",
        "projects",
        "sessions",
        "messages",
        "content_blocks",
        "responses",
        "tool_calls",
        "hook_runs",
        "progress_events",
        "attachments",
        "queue_operations",
        "system_events",
        "summaries",
        "file_snapshots",
        "session_metadata",
    ];
    let mut out = BTreeMap::new();
    for t in tables {
        let mut st = conn
            .prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2"))
            .unwrap();
        let n = st.column_count();
        let rows: Vec<String> = st
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!("{v:?}|"));
                }
                Ok(s)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.insert(t.to_owned(), rows);
    }
    out
}

/// sum(records_by_type) + malformed_lines == lines_read
pub fn assert_accounting(summary: &serde_json::Value) {
    let by_type: u64 = summary["records_by_type"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        by_type + summary["malformed_lines"].as_u64().unwrap(),
        summary["lines_read"].as_u64().unwrap(),
        "accounting invariant broken: {summary}"
    );
}

/// A message as written or stored: parent uuid, type, time.
type Node = (Option<String>, String, Option<i64>);

/// Every stored message shows its line's uuid, parent uuid, type and time,
/// and every response its message id, as the transcripts under `root`
/// wrote them (the rows keep some of these by reference: 0009). Of a uuid
/// written more than once, the earliest line (of lines at one time, the
/// first by file path, then line) is one of the messages with it (copies
/// are one message, the earliest copy; different lines one each).
pub fn assert_messages_match_lines(root: &Path, conn: &Connection) {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    // uuid -> (parent, type, time) as first written; message ids
    let mut lines: BTreeMap<String, Node> = BTreeMap::new();
    let mut message_ids = std::collections::BTreeSet::new();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap_or_default().lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (Some(uuid), Some(kind)) = (v["uuid"].as_str(), v["type"].as_str()) else {
                continue;
            };
            if !["user", "assistant", "system", "progress", "attachment"].contains(&kind) {
                continue;
            }
            let at = v["timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis());
            let parent = v["parentUuid"].as_str().map(str::to_owned);
            let node = (parent, kind.to_owned(), at);
            // (the earliest: a time before none, of two at one time the
            // first read)
            match lines.get_mut(uuid) {
                Some(held) if at.is_some_and(|at| held.2.is_none_or(|h| at < h)) => *held = node,
                Some(_) => {}
                None => {
                    lines.insert(uuid.to_owned(), node);
                }
            }
            if let Some(id) = v["message"]["id"].as_str()
                && kind == "assistant"
                && v["message"]["usage"].is_object()
                && v["message"]["model"] != "<synthetic>"
            {
                message_ids.insert(id.to_owned());
            }
        }
    }
    let mut st = conn
        .prepare("SELECT uuid, parent_uuid, type, at FROM v_messages")
        .unwrap();
    // (different lines with one uuid, as hand-made transcripts have, are a
    // message each: the earliest written is one of them)
    let mut stored: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    let mut rows = st.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        stored.entry(r.get(0).unwrap()).or_default().push((
            r.get(1).unwrap(),
            r.get(2).unwrap(),
            r.get(3).unwrap(),
        ));
    }
    assert!(!stored.is_empty());
    let mut checked = 0;
    for (uuid, rows) in &stored {
        if let Some(written) = lines.get(uuid) {
            assert!(
                rows.contains(written),
                "message {uuid}: {rows:?}, written {written:?}"
            );
            checked += 1;
        }
    }
    assert!(
        checked * 10 >= stored.len() * 9,
        "{checked} of {}",
        stored.len()
    );
    let keyed: std::collections::BTreeSet<String> = strings(
        conn,
        "SELECT message_id FROM responses WHERE message_id IS NOT NULL",
    )
    .into_iter()
    .collect();
    assert_eq!(keyed, message_ids);
    assert!(!keyed.is_empty());
}

/// Now, for a test about "today" (a budget's day, `--since 7d`): a test run
/// in the last 30 seconds of a UTC day waits for the next one (the commands
/// it runs would find today's response in another day), and one run in a
/// day's first 2 seconds waits for them to pass (so that a second ago is
/// today too). The harness pins TZ=UTC, so days are UTC days.
pub fn steady_now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let start = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let wait = if now - start < chrono::Duration::seconds(2) {
        start + chrono::Duration::seconds(2) - now
    } else if start + chrono::Duration::days(1) - now < chrono::Duration::seconds(30) {
        start + chrono::Duration::days(1) + chrono::Duration::seconds(2) - now
    } else {
        chrono::Duration::zero()
    };
    std::thread::sleep(wait.to_std().unwrap_or_default());
    chrono::Utc::now()
}

/// A child's stderr, line by line as it comes (`lines`), and all of it once
/// the child is done (`all`, joined).
pub struct Stderr {
    pub lines: std::sync::mpsc::Receiver<String>,
    pub all: std::thread::JoinHandle<String>,
}

impl Stderr {
    pub fn of(child: &mut std::process::Child) -> Stderr {
        use std::io::BufRead;
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr piped");
        let all = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap();
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        Stderr { lines, all }
    }

    /// Wait (20 s at most) for a line that contains `text`.
    pub fn wait_for(&self, text: &str) {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?} on stderr within 20 s"),
            }
        }
    }
}

/// Set `file`'s mtime `secs` seconds back (a session that stopped then).
pub fn last_changed_ago(file: &Path, secs: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(then).unwrap();
}

/// Append `bytes` to the file at `path`, as Claude Code appends lines.
pub fn append(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes.as_ref())
        .unwrap();
}
