//! `observatory watch --json` as a child process on a temp root: appends
//! (whole, split, bursts), new session files and subagent folders, a
//! replaced file, Ctrl-C, a closed pipe, and lines stored by other processes
//! (`ingest`, a report's own ingest, the status line) and seen by two
//! watchers. Waits are bounded (they end as soon as the event arrives).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{Env, count, strings};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

struct Watch {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
    /// where its stderr goes
    log: std::path::PathBuf,
}

impl Watch {
    fn start(env: &Env, extra: &[&str]) -> Watch {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = env.dir.path().join(format!("watch-{n}.stderr"));
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
            .env_clear()
            .envs(env.vars())
            .args(["watch", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut w = Watch {
            child,
            events: rx,
            seen: Vec::new(),
            log,
        };
        w.until(|e| e["event"] == "ready");
        w
    }

    /// Wait until an event matching `f` arrives; returns it.
    fn until(&mut self, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if f(&e) {
                        return e;
                    }
                }
                Err(_) => panic!("no matching event within {WAIT:?}; seen: {:#?}", self.seen),
            }
        }
    }

    /// What it wrote on stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// How many of the events seen so far match `f`.
    fn count(&self, f: impl Fn(&Value) -> bool) -> usize {
        self.seen.iter().filter(|e| f(e)).count()
    }

    /// Append a line to `file` and wait for its event: whatever was stored
    /// before it has been emitted by then (events come in the order their
    /// lines were stored), repeats included.
    fn settle(&mut self, file: &Path, uuid: &str) {
        append(
            file,
            &format!("{}\n", user_line(uuid, "sess-settle", "end")),
        );
        self.until(|e| e["uuid"] == uuid);
    }

    /// Send the watch process a signal (`STOP`, `CONT`).
    fn signal(&self, name: &str) {
        let status = StdCommand::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// No event arrives for `d`.
    fn quiet_for(&mut self, d: Duration) {
        if let Ok(e) = self.events.recv_timeout(d) {
            panic!("unexpected event {e}");
        }
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        StdCommand::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "watch exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "watch did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn user_line(uuid: &str, session: &str, text: &str) -> String {
    format!(
        r#"{{"type":"user","uuid":"{uuid}","sessionId":"{session}","timestamp":"2026-03-05T10:00:00.000Z","cwd":"/home/u/app","message":{{"role":"user","content":"{text}"}}}}"#
    )
}

/// While another process holds the ingest lock (an ingest stopped with
/// Ctrl-Z holds it for as long as it is stopped), `watch` stops on SIGTERM
/// (it waited for the lock, deaf to signals), and a report that waits more
/// than a second says on stderr what it waits for (it waited without a
/// word), then goes on once the lock is free.
#[test]
fn waiting_for_another_ingest_is_said_and_watch_stops_meanwhile() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env.obs_home().join("observatory.db.lock"))
        .unwrap();
    lock.lock().unwrap();
    let said = "waiting for another observatory process to finish storing new lines into";

    let log = env.dir.path().join("blocked-watch.stderr");
    let mut watch = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
        .env_clear()
        .envs(env.vars())
        .args(["watch", "--json"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    StdCommand::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = watch.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "watch did not stop on SIGTERM while waiting"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(stderr.contains(said), "{stderr}");

    let report = env
        .std_cmd()
        .args(["cost", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    lock.unlock().unwrap();
    let out = report.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(said).count(), 1, "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["total"]["requests"].as_u64().unwrap() > 0, "{v}");
}

/// One pass of the watcher that stores more than one commit's worth (an
/// append of ~22 MB: the ingest commits every 16 MiB, and each commit
/// trims the log to its own events and the 10,000 before them) prints the
/// events of every commit: before, those of its first commit were trimmed
/// by its second before the watcher read them, and it said `missed`.
/// The database deleted while watch runs: watch stops (exit 1), naming it,
/// rather than store what comes next into a file no path names (tour-s33b
/// M3: it went on printing events, and they were gone when it ended).
#[test]
fn a_database_deleted_while_watching_stops_watch() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = env.db_path().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = w.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "watch went on: {}", w.stderr());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "{}", w.stderr());
    let err = w.stderr();
    assert!(
        err.contains(&format!(
            "{} was deleted or replaced",
            env.db_path().display()
        )),
        "{err}"
    );
}

#[test]
fn a_pass_that_commits_more_than_once_loses_no_event() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-app/sess-big-0009.jsonl");
    let n = 20_000;
    let filler = "y".repeat(1000);
    let lines: String = (0..n)
        .map(|i| {
            format!(
                "{}\n",
                json!({"type": "assistant", "uuid": format!("big-{i}"), "sessionId": "sess-big-0009",
                    "timestamp": "2026-03-05T11:00:00.000Z", "cwd": "/home/u/app",
                    "message": {"id": format!("msg_big_{i}"), "model": "claude-sonnet-4-5-20250929",
                        "role": "assistant", "content": [{"type": "text", "text": filler}],
                        "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}})
            )
        })
        .collect();
    assert!(lines.len() > 20 << 20, "more than one commit's worth");
    append(&f, &lines);
    w.until(|e| e["event"] == "response" && e["message_id"] == format!("msg_big_{}", n - 1));
    w.settle(&f, "big-settle");
    let responses = w.count(|e| {
        e["event"] == "response"
            && e["message_id"]
                .as_str()
                .is_some_and(|m| m.starts_with("msg_big_"))
    });
    assert_eq!(responses, n);
    assert_eq!(w.count(|e| e["event"] == "missed"), 0);
    assert!(!w.stderr().contains("gone from the log"), "{}", w.stderr());
    w.stop();
}

/// Ctrl-C during the catch-up (a backlog read before watching starts):
/// what was read is committed, `watch` exits 0 without announcing `ready`,
/// and the next ingest reads on from there, every line stored once
/// (tour-s35 F1: it read the whole backlog first, then said `ready`).
#[test]
fn ctrl_c_during_the_catch_up_stops_it_without_ready() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let base = count(&env.db(), "SELECT count(*) FROM lines");
    let filler = "z".repeat(1000);
    let (files, per_file) = (8, 7_000);
    for f in 0..files {
        let session = format!("sess-backlog-{f}");
        let lines: String = (0..per_file)
            .map(|i| {
                format!(
                    "{}\n",
                    json!({"type": "assistant", "uuid": format!("bl-{f}-{i}"), "sessionId": session,
                        "timestamp": "2026-03-05T11:00:00.000Z", "cwd": "/home/u/app",
                        "message": {"id": format!("msg_bl_{f}_{i}"), "model": "claude-sonnet-4-5-20250929",
                            "role": "assistant", "content": [{"type": "text", "text": filler}],
                            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}})
                )
            })
            .collect();
        std::fs::write(
            env.projects().join(format!("-home-u-app/{session}.jsonl")),
            lines,
        )
        .unwrap();
    }
    let total = base + files * per_file;
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
        .env_clear()
        .envs(env.vars())
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // (Ctrl-C once the catch-up's first commit is in)
    let deadline = Instant::now() + WAIT;
    let at_signal = loop {
        let n = count(&env.db(), "SELECT count(*) FROM lines");
        if n > base || child.try_wait().unwrap().is_some() {
            break n;
        }
        assert!(Instant::now() < deadline, "the catch-up stored nothing");
        std::thread::sleep(Duration::from_millis(5));
    };
    StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    if at_signal == total {
        eprintln!("the catch-up was over before Ctrl-C: nothing to check");
        return;
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains(r#""event":"ready""#),
        "ready after Ctrl-C: {stdout}"
    );
    let stopped = count(&env.db(), "SELECT count(*) FROM lines");
    assert!(stopped < total, "stopped at {stopped} of {total} lines");
    env.ingest();
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), total);
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM responses WHERE message_id LIKE 'msg_bl_%'"
        ),
        files * per_file
    );
}

/// `--session` given a session's whole id follows that session alone,
/// even when another's id starts with it (tour-s35 F6: `s1` followed
/// `s154` too, and said to give more of the id, which there was not).
#[test]
fn a_whole_session_id_follows_that_session_alone() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-ids");
    for s in ["s1", "s154"] {
        std::fs::write(
            dir.join(format!("{s}.jsonl")),
            format!("{}\n", user_line(&format!("{s}-0"), s, "hello")),
        )
        .unwrap();
    }
    env.ingest();
    let mut w = Watch::start(&env, &["--session", "s1"]);
    append(
        &dir.join("s154.jsonl"),
        &format!("{}\n", user_line("s154-1", "s154", "other")),
    );
    for n in 1..=2 {
        let uuid = format!("s1-{n}");
        append(
            &dir.join("s1.jsonl"),
            &format!("{}\n", user_line(&uuid, "s1", "mine")),
        );
        w.until(|e| e["uuid"] == uuid);
    }
    assert_eq!(w.count(|e| e["session_id"] == "s154"), 0, "{:#?}", w.seen);
    assert!(!w.stderr().contains("start with"), "{}", w.stderr());
    w.stop();
}

/// `--session` given an id no session has yet follows the sessions that
/// begin with it, until the one of that whole id begins: that one alone
/// from then on (review-s35 L6: `s154`, begun first, was followed on).
#[test]
fn a_whole_session_id_begun_later_is_followed_alone_from_then_on() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-later");
    env.ingest();
    let mut w = Watch::start(&env, &["--session", "s1"]);
    let line = |uuid: &str, s: &str| format!("{}\n", user_line(uuid, s, "hello"));
    // (s1's file is read after s154's, in a pass that sees both: its
    // event, waited for, comes after s154's)
    let s1 = dir.join("z-s1.jsonl");
    append(&dir.join("s154.jsonl"), &line("s154-0", "s154"));
    w.until(|e| e["uuid"] == "s154-0");
    append(&s1, &line("s1-0", "s1"));
    w.until(|e| e["uuid"] == "s1-0");
    append(&dir.join("s154.jsonl"), &line("s154-1", "s154"));
    append(&s1, &line("s1-1", "s1"));
    w.until(|e| e["uuid"] == "s1-1");
    assert_eq!(w.count(|e| e["uuid"] == "s154-1"), 0, "{:#?}", w.seen);
    // (and said, as s154 was when it began)
    let said = w.stderr();
    assert!(said.contains("session s154 began"), "{said}");
    assert!(
        said.contains("session s1 began: watching it alone from now on (not the 1 other"),
        "{said}"
    );
    w.stop();
}

/// `watch` leaves the hook runs it stores noted, not summed again (each
/// re-sum re-pairs the whole session's hooks: review-s35 M1); the next
/// `hooks` sums them in its own ingest and reports what pairing every row
/// gives.
#[test]
fn watch_leaves_hook_sums_to_the_next_report() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let noted = || count(&env.db(), "SELECT count(*) FROM hook_figures_dirty");
    assert_eq!(noted(), 0);
    let mut w = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-web/sess-blocks-a001.jsonl");
    let hook = json!({"type": "attachment", "uuid": "wh-1", "sessionId": "sess-blocks-a001",
        "cwd": "/home/u/web", "timestamp": "2026-03-10T13:20:00.000Z",
        "attachment": {"type": "hook_success", "hookName": "PostToolUse:Bash", "hookEvent": "PostToolUse",
            "toolUseID": "toolu_wh", "content": "", "exitCode": 0, "command": "fmt.sh", "durationMs": 45}});
    append(&f, &format!("{hook}\n"));
    w.until(|e| e["event"] == "hook");
    assert!(noted() > 0, "the watch pass summed the hooks");
    w.stop();
    let out = env.cmd().args(["hooks", "--json"]).assert().success();
    let summed: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(noted(), 0, "the report's ingest summed them");
    let db = env.db();
    db.execute("INSERT INTO hook_figures_dirty(thread) VALUES (-1)", [])
        .unwrap();
    drop(db);
    let out = env
        .cmd()
        .args(["hooks", "--json", "--no-ingest"])
        .assert()
        .success();
    let paired: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summed, paired);
    let fmt = summed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["command"] == "fmt.sh")
        .unwrap();
    assert_eq!(fmt["runs"], 3, "{summed}");
}

#[test]
fn live_events_for_appends_new_sessions_subagents_and_replaced_files() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let dir = env.projects().join("-home-u-app");
    let f = dir.join("sess-resume-0002.jsonl");

    // a whole line
    append(
        &f,
        &format!("{}\n", user_line("w-1", "sess-resume-0002", "one")),
    );
    let e = w.until(|e| e["event"] == "message");
    assert_eq!(
        (e["uuid"].as_str(), e["session_id"].as_str()),
        (Some("w-1"), Some("sess-resume-0002"))
    );
    assert_eq!(e["project"], "/home/u/app");

    // a line split across two writes: nothing until its newline
    let line = user_line("w-2", "sess-resume-0002", "two");
    let (a, b) = line.split_at(30);
    append(&f, a);
    w.quiet_for(Duration::from_millis(600));
    append(&f, &format!("{b}\n"));
    assert_eq!(w.until(|e| e["event"] == "message")["uuid"], "w-2");

    // a response, then a later line of it with more output
    append(
        &f,
        r#"{"type":"assistant","uuid":"w-3","sessionId":"sess-resume-0002","timestamp":"2026-03-05T10:00:01.000Z","cwd":"/home/u/app","message":{"id":"msg_live","model":"claude-opus-4-6","usage":{"input_tokens":5,"output_tokens":2}}}
"#,
    );
    let r = w.until(|e| e["event"] == "response");
    assert_eq!(
        (r["message_id"].as_str(), r["output_tokens"].as_u64()),
        (Some("msg_live"), Some(2))
    );
    // 5 x $5 + 2 x $25 per MTok = 75e-6
    assert_eq!(r["cost_usd"], "0.000075");
    append(
        &f,
        r#"{"type":"assistant","uuid":"w-4","sessionId":"sess-resume-0002","timestamp":"2026-03-05T10:00:02.000Z","cwd":"/home/u/app","message":{"id":"msg_live","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":30}}}
"#,
    );
    let u = w.until(|e| e["event"] == "response_update");
    assert_eq!(u["output_tokens"], 30);
    // 5 x $5 + 30 x $25 per MTok
    assert_eq!(u["cost_usd"], "0.000775");
    // a line that changes the cost alone (the fast flag, the same figures):
    // 6x, 5 x $30 + 30 x $150 per MTok
    append(
        &f,
        r#"{"type":"assistant","uuid":"w-5","sessionId":"sess-resume-0002","timestamp":"2026-03-05T10:00:02.000Z","cwd":"/home/u/app","message":{"id":"msg_live","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":30,"speed":"fast"}}}
"#,
    );
    let u = w.until(|e| e["event"] == "response_update" && e["cost_usd"] != "0.000775");
    assert_eq!(
        (&u["output_tokens"], &u["cost_usd"]),
        (&json!(30), &json!("0.00465"))
    );

    // a new session file in a new project folder
    let newdir = env.projects().join("-srv-other");
    std::fs::create_dir_all(&newdir).unwrap();
    append(
        &newdir.join("sess-new-0009.jsonl"),
        &format!("{}\n", user_line("n-1", "sess-new-0009", "hi")),
    );
    let s = w.until(|e| e["event"] == "session_start");
    assert_eq!(s["session_id"], "sess-new-0009");
    w.until(|e| e["uuid"] == "n-1");

    // a subagent folder that appears later
    let sub = newdir.join("sess-new-0009/subagents");
    std::fs::create_dir_all(&sub).unwrap();
    append(
        &sub.join("agent-feed01.jsonl"),
        r#"{"type":"user","uuid":"s-1","sessionId":"sess-new-0009","agentId":"feed01","isSidechain":true,"timestamp":"2026-03-05T10:01:00.000Z","message":{"role":"user","content":"task"}}
"#,
    );
    let s = w.until(|e| e["event"] == "session_start" && e["agent_id"] == "feed01");
    assert_eq!(s["session_id"], "sess-new-0009");

    // truncate and replace a file: its new content is read from the start
    let tmp = dir.join("replace.tmp");
    std::fs::write(
        &tmp,
        format!("{}\n", user_line("r-new", "sess-resume-0002", "fresh")),
    )
    .unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    w.until(|e| e["uuid"] == "r-new");

    // a burst of 2,000 lines
    let burst: String = (0..2000)
        .map(|i| format!("{}\n", user_line(&format!("b-{i}"), "sess-burst", "x")))
        .collect();
    append(&dir.join("sess-burst.jsonl"), &burst);
    w.until(|e| e["uuid"] == "b-1999");
    let burst_seen = w
        .seen
        .iter()
        .filter(|e| e["uuid"].as_str().is_some_and(|u| u.starts_with("b-")))
        .count();
    assert_eq!(burst_seen, 2000);

    w.stop();
    let db = env.db();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE session_id = 'sess-burst'"
        ),
        2000
    );
    assert_eq!(
        count(
            &db,
            "SELECT output_tokens FROM responses WHERE key = 'msg_live'"
        ),
        30
    );
}

/// `watch --json | head -1`: a watch whose first line (`ready`) is read
/// by a reader that then goes away; its stderr is piped.
fn watch_read_ready_and_leave(env: &Env) -> Child {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
        .env_clear()
        .envs(env.vars())
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("ready"), "{first}");
    child
}

#[test]
fn replay_filters_and_a_closed_pipe() {
    let env = Env::with_fixture("basic");
    // --replay emits the catch-up; --session narrows it
    let w = Watch::start(&env, &["--replay", "--session", "sess-resume"]);
    assert!(
        w.seen
            .iter()
            .all(|e| e["event"] == "ready" || e["session_id"] == "sess-resume-0002"),
        "{:#?}",
        w.seen
    );
    assert!(
        w.seen
            .iter()
            .any(|e| e["event"] == "response" && e["message_id"] == "msg_D")
    );
    assert!(!w.stderr().contains("no session id"), "{}", w.stderr());
    assert!(!w.stderr().contains("watching them all"), "{}", w.stderr());
    w.stop();
    // a prefix of several sessions: watched, and said which; one that
    // begins later is named when it does, once
    let mut w = Watch::start(&env, &["--session", "sess-"]);
    assert!(
        w.stderr().contains(
            "sessions start with \"sess-\" (sess-main-0001, sess-resume-0002): watching them all"
        ),
        "{}",
        w.stderr()
    );
    let later = env.projects().join("-home-u-app/sess-later-0011.jsonl");
    for uuid in ["later-1", "later-2"] {
        append(
            &later,
            &format!("{}\n", user_line(uuid, "sess-later-0011", "hi")),
        );
        w.until(|e| e["uuid"] == uuid);
    }
    let said = w.stderr();
    assert_eq!(
        said.matches(
            "watch: session sess-later-0011 began (its id starts with \"sess-\"): watching it"
        )
        .count(),
        1,
        "{said}"
    );
    assert!(!said.contains("session sess-main-0001 began"), "{said}");
    w.stop();
    // a session it does not know (yet): said, and it goes on watching
    let w = Watch::start(&env, &["--session", "zzz-nope"]);
    assert!(
        w.stderr()
            .contains("no session id starts with \"zzz-nope\" yet"),
        "{}",
        w.stderr()
    );
    w.stop();
    // so with a project: a part of a path, either case, or said
    let w = Watch::start(&env, &["--project", "HOME/U/AP"]);
    assert!(!w.stderr().contains("no project path"), "{}", w.stderr());
    w.stop();
    let w = Watch::start(&env, &["--project", "zzz-nope"]);
    assert!(
        w.stderr()
            .contains("no project path contains \"zzz-nope\" yet: watching for one"),
        "{}",
        w.stderr()
    );
    w.stop();

    // `watch --json | head -1`: the reader goes away; watch exits 0, quietly
    let mut child = watch_read_ready_and_leave(&env);
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        append(
            &f,
            &format!(
                "{}\n",
                user_line(
                    &format!("p-{}", deadline.elapsed().as_nanos()),
                    "sess-resume-0002",
                    "x"
                )
            ),
        );
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "watch kept running after its reader left"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status} {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

/// `watch --json | head -1` with nothing new to say: the reader has gone,
/// and watch exits 0 on its own, without an event to write that would
/// fail (before, it ran until the next line Claude Code wrote).
#[test]
fn a_watch_whose_reader_left_exits_while_nothing_is_written() {
    let env = Env::with_fixture("basic");
    let mut child = watch_read_ready_and_leave(&env);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("watch kept running after its reader left, with nothing to write");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// Each kind of event, with the fields the README's table gives it, from
/// the `reports` fixture (worked out in fixtures/README.md); with
/// `--project`, also those of lines without a working directory (a queue
/// operation, a session whose first line is its title), which carry their
/// session's project.
#[test]
fn every_kind_of_event_with_its_fields() {
    let env = Env::with_fixture("reports");
    let w = Watch::start(&env, &["--replay", "--project", "/home/u/web"]);
    let one = |kind: &str, key: &str, value: Value| -> Value {
        let found: Vec<&Value> = w
            .seen
            .iter()
            .filter(|e| e["event"] == kind && e[key] == value)
            .collect();
        assert_eq!(found.len(), 1, "{kind} {key}={value}: {:#?}", w.seen);
        found[0].clone()
    };
    let r = one("tool_result", "tool_use_id", json!("toolu_b3"));
    assert_eq!(
        (
            &r["tool"],
            &r["is_error"],
            &r["duration_ms"],
            &r["subagent_id"]
        ),
        (&json!("Bash"), &json!(true), &json!(300), &Value::Null)
    );
    assert_eq!(r["session_id"], "sess-blocks-a001");
    let h = one("hook", "command", json!("guard.sh"));
    assert_eq!(
        (&h["hook_event"], &h["outcome"], &h["output"], &h["source"]),
        (
            &json!("PreToolUse"),
            &json!("blocking_error"),
            &json!("denied: gh issue"),
            &json!("attachment")
        )
    );
    assert_eq!(h["tool_use_id"], "toolu_m2");
    let p = one("progress", "uuid", json!("a-h1"));
    assert_eq!(
        (&p["kind"], &p["tool_use_id"], &p["parent_tool_use_id"]),
        (
            &json!("hook_progress"),
            &json!("toolu_b1"),
            &json!("toolu_b1")
        )
    );
    let c = one("compaction", "uuid", json!("a-s2"));
    assert_eq!(
        (&c["trigger"], &c["pre_tokens"]),
        (&json!("auto"), &json!(150000))
    );
    let q = one("queue_operation", "operation", json!("enqueue"));
    assert_eq!(q["content"], "and docs");
    assert_eq!(q["timestamp"], "2026-03-10T13:00:01.000Z");
    // (a queue operation names no folder: its session's project)
    assert_eq!(q["project"], "/home/u/web");
    let d = one("queue_operation", "operation", json!("dequeue"));
    assert_eq!(d["content"], Value::Null);
    // a001 begins with its title line (no cwd, no time): announced too
    let s = one("session_start", "session_id", json!("sess-blocks-a001"));
    assert_eq!(
        (&s["project"], &s["timestamp"]),
        (&json!("/home/u/web"), &Value::Null)
    );
    one("session_start", "session_id", json!("sess-blocks-b002"));
    // every message event has the same keys, null where a line has none
    // (system lines had no role, model, is_meta or is_api_error keys)
    let keys = |e: &Value| -> Vec<String> { e.as_object().unwrap().keys().cloned().collect() };
    let messages: Vec<&Value> = w.seen.iter().filter(|e| e["event"] == "message").collect();
    let system = messages
        .iter()
        .find(|e| e["type"] == "system")
        .expect("a system line");
    let user = messages
        .iter()
        .find(|e| e["type"] == "user")
        .expect("a user line");
    assert_eq!(keys(system), keys(user));
    assert_eq!(
        (&system["role"], &user["subtype"]),
        (&Value::Null, &Value::Null)
    );
    assert!(messages.iter().all(|e| keys(e) == keys(user)));
    assert_eq!(w.count(|e| e["event"] == "tool_result"), 12);
    assert_eq!(w.count(|e| e["event"] == "hook"), 6);
    assert_eq!(w.count(|e| e["event"] == "queue_operation"), 2);
    w.stop();

    // a line that is not a JSON object: its file and line, in no session
    let env = Env::with_fixture("malformed");
    let w = Watch::start(&env, &["--replay"]);
    let file = env.projects().join("-home-u-junk/sess-junk-0004.jsonl");
    let bad: Vec<(Value, Value)> = w
        .seen
        .iter()
        .filter(|e| e["event"] == "malformed_line")
        .map(|e| (e["file"].clone(), e["line"].clone()))
        .collect();
    let want: Vec<(Value, Value)> = [2, 3, 4, 5, 6, 9]
        .into_iter()
        .map(|n| (json!(file.to_str().unwrap()), json!(n)))
        .collect();
    assert_eq!(bad, want);
    let e = w.seen.iter().find(|e| e["line"] == 6).unwrap();
    assert_eq!(e["error"], "not a JSON object (a JSON array)");
    assert!(e.get("session_id").is_none(), "{e}");
    w.stop();
    // (--session passes none of them)
    let w = Watch::start(&env, &["--replay", "--session", "sess-junk"]);
    assert_eq!(
        w.count(|e| e["event"] == "malformed_line"),
        0,
        "{:#?}",
        w.seen
    );
    w.stop();
}

/// A new session's first lines name no working directory (queue
/// operations), and no line of it does yet: `--project` still shows them,
/// by the folder its transcript is in.
#[test]
fn a_new_session_whose_first_lines_name_no_folder_passes_its_project() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &["--project", "/home/u/app"]);
    let f = env.projects().join("-home-u-app/sess-new-0009.jsonl");
    append(
        &f,
        "{\"type\":\"queue-operation\",\"operation\":\"enqueue\",\"timestamp\":\"2026-03-05T10:00:00.000Z\",\"sessionId\":\"sess-new-0009\",\"content\":\"hi\"}\n",
    );
    let q = w.until(|e| e["event"] == "queue_operation");
    assert_eq!(
        (&q["session_id"], &q["content"]),
        (&json!("sess-new-0009"), &json!("hi"))
    );
    assert_eq!(
        w.count(|e| e["event"] == "session_start" && e["session_id"] == "sess-new-0009"),
        1,
        "{:#?}",
        w.seen
    );
    // (another project's new session is not shown)
    std::fs::create_dir_all(env.projects().join("-home-u-other")).unwrap();
    append(
        &env.projects().join("-home-u-other/sess-else-0010.jsonl"),
        "{\"type\":\"queue-operation\",\"operation\":\"enqueue\",\"timestamp\":\"2026-03-05T10:00:00.000Z\",\"sessionId\":\"sess-else-0010\",\"content\":\"no\"}\n",
    );
    w.settle(
        &env.projects().join("-home-u-app/sess-settle.jsonl"),
        "st-1",
    );
    assert_eq!(
        w.count(|e| e["session_id"] == "sess-else-0010"),
        0,
        "{:#?}",
        w.seen
    );
    append(
        &f,
        &format!("{}\n", user_line("n-u1", "sess-new-0009", "go")),
    );
    w.until(|e| e["uuid"] == "n-u1");
    w.stop();
}

#[test]
fn watch_and_ingest_together_store_each_line_once() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let mut last = String::new();
    for i in 0..40 {
        last = format!("c-{i}");
        append(
            &f,
            &format!("{}\n", user_line(&last, "sess-main-0001", "concurrent")),
        );
        if i % 10 == 0 {
            env.cmd().args(["ingest", "-q"]).assert().success();
        }
    }
    env.cmd().args(["ingest", "-q"]).assert().success();
    // every line is in the database exactly once, whoever stored it
    let db = env.db();
    let deadline = Instant::now() + WAIT;
    while count(&db, "SELECT count(*) FROM messages WHERE uuid LIKE 'c-%'") < 40 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    // watch reports every line once, whoever stored it
    w.settle(&f, "settle-1");
    for i in 0..40 {
        let uuid = format!("c-{i}");
        assert_eq!(w.count(|e| e["uuid"] == uuid.as_str()), 1, "{uuid}");
    }
    w.stop();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33 + 40 + 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM messages WHERE uuid LIKE 'c-%'"),
        40
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM messages WHERE uuid = '{last}'")
        ),
        1
    );
}

fn response_line(uuid: &str, session: &str, msg: &str) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"{session}","timestamp":"2026-03-05T10:00:03.000Z","cwd":"/home/u/app","requestId":"req_{msg}","message":{{"id":"{msg}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"done"}}],"stop_reason":"end_turn","usage":{{"input_tokens":100,"output_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#
    )
}

/// The trial that found the bug: a line appended while watch cannot read
/// it (stopped) is stored by another process first (`cost`'s own ingest).
/// watch still reports it, once, from the event log.
#[test]
fn a_line_another_process_stored_first_is_reported_once() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    w.signal("STOP");
    append(
        &f,
        &format!(
            "{}\n{}\n",
            user_line("o-1", "sess-resume-0002", "and now?"),
            response_line("o-2", "sess-resume-0002", "msg_other")
        ),
    );
    env.cmd().args(["cost", "-q"]).assert().success();
    let db = env.db();
    assert_eq!(
        count(&db, "SELECT count(*) FROM messages WHERE uuid = 'o-1'"),
        1,
        "cost stored the lines"
    );
    w.signal("CONT");
    let r = w.until(|e| e["event"] == "response" && e["message_id"] == "msg_other");
    assert_eq!(r["session_id"], "sess-resume-0002");
    assert_eq!(r["project"], "/home/u/app");
    assert_eq!(r["output_tokens"], 100);
    // 100 x $3 + 100 x $15 per MTok
    assert_eq!(r["cost_usd"], "0.0018");
    w.settle(&f, "settle-1");
    assert_eq!(w.count(|e| e["uuid"] == "o-1"), 1);
    assert_eq!(
        w.count(|e| e["event"] == "message" && e["uuid"] == "o-2"),
        1
    );
    assert_eq!(w.count(|e| e["message_id"] == "msg_other"), 1);
    w.stop();
}

/// A response's final figures copied into another session's file (a
/// resumed session) update it where it belongs: the event names the
/// session and project it is stored under, and passes a `--session` filter
/// for it (it named the copying file's session).
#[test]
fn an_update_from_another_sessions_copy_names_the_session_the_response_belongs_to() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &["--session", "sess-resume-0002"]);
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let first = response_line("c-1", "sess-resume-0002", "msg_copied")
        .replace(r#""stop_reason":"end_turn""#, r#""stop_reason":null"#);
    append(&f, &format!("{first}\n"));
    let r = w.until(|e| e["event"] == "response" && e["message_id"] == "msg_copied");
    assert_eq!(r["output_tokens"], 100);
    let other = env.projects().join("-srv-other/sess-other-0010.jsonl");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let copy = response_line("c-2", "sess-other-0010", "msg_copied")
        .replace("/home/u/app", "/srv/other")
        .replace("10:00:03.000Z", "11:00:00.000Z")
        .replace(r#""output_tokens":100"#, r#""output_tokens":900"#);
    append(&other, &format!("{copy}\n"));
    let u = w.until(|e| e["event"] == "response_update" && e["message_id"] == "msg_copied");
    assert_eq!(
        (
            &u["session_id"],
            &u["agent_id"],
            &u["project"],
            &u["output_tokens"]
        ),
        (
            &json!("sess-resume-0002"),
            &Value::Null,
            &json!("/home/u/app"),
            &json!(900)
        ),
        "{u}"
    );
    // 100 x $3 + 900 x $15 per MTok, as stored
    assert_eq!(u["cost_usd"], "0.0138");
    let db = env.db();
    assert_eq!(
        strings(
            &db,
            "SELECT session_id FROM responses WHERE message_id = 'msg_copied'"
        ),
        vec!["sess-resume-0002"]
    );
    w.stop();
}

/// A resumed session's copy arrives before its original (transcripts
/// copied in): the original takes the line over (its session, its time),
/// and its events are not told again (review-s38 F2: the message, its tool
/// call and hook run came twice, once per session).
#[test]
fn an_original_read_after_its_copy_is_not_told_again() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let dir = env.projects().join("-home-u-app");
    let line = |session: &str, at: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"a0000000-0000-4000-8000-0000000000c1","sessionId":"{session}","timestamp":"2026-03-05T{at}.000Z","cwd":"/home/u/app","message":{{"id":"msg_c1","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"tool_use","id":"toolu_c1","name":"Bash","input":{{}}}}],"stop_reason":"tool_use","usage":{{"input_tokens":10,"output_tokens":5}}}}}}"#
        ) + "\n"
    };
    append(
        &dir.join("sess-copy-c1.jsonl"),
        &line("sess-copy-c1", "11:30:00"),
    );
    w.until(|e| e["event"] == "tool_call" && e["tool_use_id"] == "toolu_c1");
    append(
        &dir.join("sess-orig-c1.jsonl"),
        &line("sess-orig-c1", "10:00:00"),
    );
    w.settle(&dir.join("sess-orig-c1.jsonl"), "settle-c1");
    let told = |kind: &str| {
        w.count(|e| {
            e["event"] == kind
                && (e["uuid"] == "a0000000-0000-4000-8000-0000000000c1"
                    || e["tool_use_id"] == "toolu_c1")
        })
    };
    assert_eq!(
        (told("message"), told("tool_call")),
        (1, 1),
        "{:#?}",
        w.seen
    );
    // (stored as the original's)
    assert_eq!(
        strings(
            &env.db(),
            "SELECT session_id FROM messages WHERE message_id = 'msg_c1'
             UNION ALL SELECT session_id FROM tool_calls WHERE tool_use_id = 'toolu_c1'"
        ),
        ["sess-orig-c1", "sess-orig-c1"]
    );
    w.stop();
}

/// The user's trial: the status line ingests its transcript after every
/// line (as Claude Code runs it), racing watch for each: every response is
/// reported once, whichever process stored it.
#[test]
fn lines_the_status_line_stores_are_reported_once() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let stdin = serde_json::json!({
        "hook_event_name": "Status",
        "session_id": "sess-resume-0002",
        "transcript_path": f,
        "cwd": "/home/u/app",
        "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": "/home/u/app", "project_dir": "/home/u/app"},
        "version": "2.1.120"
    })
    .to_string();
    for i in 0..20 {
        append(
            &f,
            &format!(
                "{}\n",
                response_line(
                    &format!("sl-{i}"),
                    "sess-resume-0002",
                    &format!("msg_sl{i}")
                )
            ),
        );
        env.cmd()
            .arg("statusline")
            .write_stdin(stdin.clone())
            .assert()
            .success();
    }
    w.until(|e| e["event"] == "response" && e["message_id"] == "msg_sl19");
    w.settle(&f, "settle-1");
    for i in 0..20 {
        let id = format!("msg_sl{i}");
        assert_eq!(
            w.count(|e| e["event"] == "response" && e["message_id"] == id.as_str()),
            1,
            "{id}"
        );
    }
    w.stop();
}

/// Two watchers: each reports every line once, those either of them
/// stored and those `ingest` stored.
#[test]
fn two_watchers_both_report_every_line() {
    let env = Env::with_fixture("basic");
    let mut a = Watch::start(&env, &[]);
    let mut b = Watch::start(&env, &[]);
    let f = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    for i in 0..10 {
        append(
            &f,
            &format!("{}\n", user_line(&format!("t-{i}"), "sess-main-0001", "x")),
        );
        if i % 3 == 0 {
            env.cmd().args(["ingest", "-q"]).assert().success();
        }
    }
    append(
        &f,
        &format!("{}\n", response_line("t-r", "sess-main-0001", "msg_two")),
    );
    for w in [&mut a, &mut b] {
        w.until(|e| e["event"] == "response" && e["message_id"] == "msg_two");
    }
    a.settle(&f, "settle-a");
    b.until(|e| e["uuid"] == "settle-a");
    for w in [&a, &b] {
        for i in 0..10 {
            let uuid = format!("t-{i}");
            assert_eq!(w.count(|e| e["uuid"] == uuid.as_str()), 1, "{uuid}");
        }
        assert_eq!(w.count(|e| e["message_id"] == "msg_two"), 1);
    }
    a.stop();
    b.stop();
}

/// Events are logged only while a watcher runs (and holds its lock), from
/// the end of its catch-up (which it alone would read).
#[test]
fn events_are_logged_only_while_a_watcher_runs() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let db = env.db();
    let logged = || count(&env.db(), "SELECT count(*) FROM watch_events");
    assert_eq!(logged(), 0, "no watcher: nothing logged");
    let f = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    append(
        &f,
        &format!("{}\n", user_line("l-0", "sess-main-0001", "before")),
    );
    let mut w = Watch::start(&env, &[]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM messages WHERE uuid = 'l-0'"),
        1
    );
    assert_eq!(logged(), 0, "a lone watcher's catch-up logs nothing");
    w.signal("STOP");
    append(
        &f,
        &format!("{}\n", user_line("l-1", "sess-main-0001", "watched")),
    );
    env.cmd().args(["ingest", "-q"]).assert().success();
    assert_eq!(logged(), 1);
    w.signal("CONT");
    w.until(|e| e["uuid"] == "l-1");
    w.stop();
    append(
        &f,
        &format!("{}\n", user_line("l-2", "sess-main-0001", "unwatched")),
    );
    env.cmd().args(["ingest", "-q"]).assert().success();
    assert_eq!(
        count(&db, "SELECT count(*) FROM messages WHERE uuid = 'l-2'"),
        1
    );
    assert_eq!(logged(), 1, "the watcher is gone: nothing more logged");
}

#[test]
fn events_gone_before_a_watcher_read_them_are_counted_in_the_stream() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    w.signal("STOP");
    // an event logged for a session that is then forgotten (its events go
    // with it), then one of another session
    let resumed = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    append(
        &resumed,
        &format!("{}\n", user_line("g-1", "sess-resume-0002", "soon gone")),
    );
    env.cmd().args(["ingest", "-q"]).assert().success();
    env.cmd()
        .args([
            "forget",
            "--session",
            "sess-resume-0002",
            "--yes",
            "-q",
            "--no-ingest",
        ])
        .assert()
        .success();
    let main = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    append(
        &main,
        &format!("{}\n", user_line("g-2", "sess-main-0001", "kept")),
    );
    env.cmd().args(["ingest", "-q"]).assert().success();
    w.signal("CONT");
    let missed = w.until(|e| e["event"] == "missed");
    assert_eq!(missed["events"], 1, "{missed}");
    w.until(|e| e["uuid"] == "g-2");
    assert!(w.stderr().contains("1 event was gone"), "{}", w.stderr());
    w.stop();
}

/// A response priced now, so that it falls in today's budget period.
fn priced_now(uuid: &str, msg: &str) -> String {
    let now = common::steady_now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"sess-budget-0001","timestamp":"{now}","cwd":"/home/u/app","message":{{"id":"{msg}","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{{"input_tokens":1000,"output_tokens":1000}}}}}}
"#
    )
}

#[test]
fn a_problem_every_pass_meets_is_said_once_and_a_junk_file_ten_times() {
    let env = Env::with_fixture("basic");
    let dir = env.projects().join("-home-u-app");
    std::os::unix::fs::symlink(dir.join("loop-b"), dir.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop-a"), dir.join("loop-b")).unwrap();
    let mut w = Watch::start(&env, &[]);
    let file = dir.join("sess-live-0001.jsonl");
    for i in 0..4 {
        // (a new folder makes the pass walk every root again)
        std::fs::create_dir(env.projects().join(format!("-home-u-new{i}"))).unwrap();
        w.settle(&file, &format!("settle-{i}"));
    }
    let junk: String = (0..25).map(|i| format!("junk {i}\n")).collect();
    append(&dir.join("junk.jsonl"), &junk);
    w.settle(&file, "settle-last");
    let err = w.stderr();
    assert_eq!(err.matches("loop-a").count(), 1, "{err}");
    assert_eq!(err.matches("loop-b").count(), 1, "{err}");
    assert_eq!(
        err.matches("junk.jsonl:").count(),
        11,
        "ten and a line that says so: {err}"
    );
    assert!(
        err.contains("junk.jsonl: more warnings like these are not shown"),
        "{err}"
    );
    w.stop();
}

#[test]
fn a_projects_folder_made_while_watching_is_read_and_a_missing_root_said_once() {
    // one root watched (its projects/ is there), one without projects/ yet,
    // one that never appears (its warning is said once)
    let env = Env::with_fixture("basic");
    let second = env.dir.path().join("claude-second");
    std::fs::create_dir(&second).unwrap();
    let typo = env.dir.path().join("claude-typo");
    let roots = format!(
        "{},{},{}",
        env.claude.display(),
        second.display(),
        typo.display()
    );
    let log = env.dir.path().join("first-run.stderr");
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
        .env_clear()
        .env("HOME", env.home())
        .env("OBSERVATORY_HOME", env.obs_home())
        .env("CLAUDE_CONFIG_DIR", &roots)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx
                .send(serde_json::from_str::<Value>(&line).unwrap())
                .is_err()
            {
                break;
            }
        }
    });
    let next = |f: &dyn Fn(&Value) -> bool| loop {
        let e = rx.recv_timeout(WAIT).expect("no matching event");
        if f(&e) {
            return e;
        }
    };
    next(&|e| e["event"] == "ready");
    // Claude Code's first run: projects/, a project folder, a session
    std::thread::sleep(Duration::from_millis(300));
    let dir = second.join("projects/-home-u-app");
    std::fs::create_dir_all(&dir).unwrap();
    append(
        &dir.join("sess-first.jsonl"),
        &format!("{}\n", user_line("first-1", "sess-first", "hello")),
    );
    next(&|e| e["uuid"] == "first-1");
    // and then watched as any root: an append is seen
    append(
        &dir.join("sess-first.jsonl"),
        &format!("{}\n", user_line("first-2", "sess-first", "again")),
    );
    next(&|e| e["uuid"] == "first-2");
    StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        err.matches("claude-typo: does not exist").count(),
        1,
        "{err}"
    );
    assert!(!err.contains("not a folder but a file"), "{err}");
}

#[test]
fn a_crossed_budget_is_announced_once_per_change() {
    let env = Env::with_fixture("basic");
    // Each response below costs $0.005 + $0.025 = $0.03 (Opus 4.6 list).
    env.cmd()
        .args(["budget", "set", "--daily", "0.02"])
        .assert()
        .success();
    env.cmd()
        .args([
            "budget",
            "set",
            "--daily",
            "0.05",
            "--warn-at",
            "50",
            "--project",
            "app",
        ])
        .assert()
        .success();
    let mut w = Watch::start(&env, &[]);
    let file = env
        .projects()
        .join("-home-u-app")
        .join("sess-budget-0001.jsonl");
    append(&file, &priced_now("b-1", "msg_b1"));
    let over = w.until(|e| e["event"] == "budget" && e["id"] == 1);
    assert_eq!(over["status"], "over");
    assert_eq!(over["spent_usd"], "0.03");
    assert!(
        over["message"]
            .as_str()
            .unwrap()
            .contains("is over its limit"),
        "{over}"
    );
    let warn = w.until(|e| e["event"] == "budget" && e["id"] == 2);
    assert_eq!(warn["status"], "warn");

    // A second response: budget 2 goes over (a new event), budget 1 stays
    // over (no repeat).
    let before = w.seen.len();
    append(&file, &priced_now("b-2", "msg_b2"));
    let over2 = w.until(|e| e["event"] == "budget" && e["id"] == 2);
    assert_eq!(over2["status"], "over");
    assert_eq!(over2["spent_usd"], "0.06");
    w.quiet_for(Duration::from_millis(400));
    let repeats = w.seen[before..]
        .iter()
        .filter(|e| e["event"] == "budget" && e["id"] == 1)
        .count();
    assert_eq!(repeats, 0, "budget 1 announced again: {:#?}", w.seen);
    w.stop();

    // A watch started with both already over: `ready` first (scripts wait
    // for it), then each budget once.
    let mut w = Watch::start(&env, &[]);
    assert_eq!(w.seen.len(), 1, "{:#?}", w.seen);
    let first = w.until(|e| e["event"] == "budget");
    let second = w.until(|e| e["event"] == "budget");
    let mut ids = [first["id"].as_i64(), second["id"].as_i64()];
    ids.sort();
    assert_eq!(ids, [Some(1), Some(2)]);
    w.stop();

    // --tz: the periods are the zone's days (watch had no --tz: only the
    // config's timezone set it). 26 hours apart, the two always differ.
    for (tz, hours) in [("+14:00", 14), ("-12:00", -12)] {
        let mut w = Watch::start(&env, &["--tz", tz]);
        let e = w.until(|e| e["event"] == "budget" && e["id"] == 1);
        let today = (chrono::Utc::now() + chrono::Duration::hours(hours)).date_naive();
        assert_eq!(e["period_start"], today.to_string(), "{tz}: {e}");
        w.stop();
    }
}

/// A zone that is no zone is a usage error, said before anything is made
/// (the database was created, or upgraded, first).
#[test]
fn a_wrong_tz_is_refused_before_the_database_is_made() {
    let env = Env::with_fixture("basic");
    let out = env
        .cmd()
        .args(["watch", "--json", "--tz", "Mars/Olympus"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("Mars/Olympus"), "{err}");
    assert!(!env.db_path().exists());
}

#[test]
fn a_poll_interval_out_of_range_is_refused_as_in_the_config() {
    let env = Env::new();
    for ms in ["0", "9", "3600001"] {
        let out = env
            .cmd()
            .args(["watch", "--poll-interval-ms", ms])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains("10..=3600000"), "{err}");
    }
}

/// In a terminal that cannot move its cursor (`TERM=dumb`: an editor's
/// shell), `watch` prints the events as it does to a pipe, not the live
/// view's escapes (which such a terminal shows as they are).
#[test]
fn a_dumb_terminal_gets_the_events_not_the_view() {
    let env = Env::with_fixture("basic");
    let run = |term: &str| -> Option<String> {
        let out = watch_in_terminal(&env, "--replay", &[("TERM", term)])?;
        Some(out.replace('\r', ""))
    };
    let Some(dumb) = run("dumb") else { return };
    assert!(!dumb.contains('\u{1b}'), "{dumb:?}");
    let events: Vec<Value> = dumb
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(events.iter().any(|e| e["event"] == "ready"), "{dumb}");
    assert!(events.iter().any(|e| e["event"] == "response"), "{dumb}");
    // (a terminal that can: the view)
    assert!(run("xterm").unwrap().contains("\u{1b}[H"));
}

/// What `watch ARGS` prints in 2 s in a terminal (util-linux `script`),
/// with `vars` set; None, said, where `script` is not here.
fn watch_in_terminal(env: &Env, args: &str, vars: &[(&str, &str)]) -> Option<String> {
    let here = StdCommand::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        eprintln!("skipped: util-linux `script` (to give watch a terminal) is not here");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin!("observatory")
        .display()
        .to_string();
    let shell = format!("exec timeout --preserve-status -s INT 2 '{bin}' watch {args}");
    let out = StdCommand::new("script")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.vars())
        .envs(vars.iter().copied())
        .args(["-qec", &shell, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

/// With `--project`, the view's head gives that project's cost today and
/// its share of the block, as its sessions table does (tour-s38 M2: the
/// block was the project's and today's cost every project's, on one line).
#[test]
fn the_views_head_is_the_projects_with_project() {
    let env = Env::new();
    let now = common::steady_now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    // (opus-4-6, 1,000 tokens in and out: $0.03 each)
    let response = |uuid: &str, session: &str, project: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"{session}","timestamp":"{now}","cwd":"/home/u/{project}","message":{{"id":"msg_{uuid}","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{{"input_tokens":1000,"output_tokens":1000}}}}}}
"#
        )
    };
    for (project, n) in [("alpha", 2), ("beta", 1)] {
        let lines: String = (0..n)
            .map(|i| {
                response(
                    &format!("{project}-{i}"),
                    &format!("sess-{project}"),
                    project,
                )
            })
            .collect();
        let dir = env.project_dir(&format!("-home-u-{project}"));
        std::fs::write(dir.join(format!("sess-{project}.jsonl")), lines).unwrap();
    }
    env.ingest();
    let head = |args: &str| -> Option<String> {
        let screen = watch_in_terminal(&env, args, &[("TERM", "xterm"), ("COLUMNS", "160")])?;
        let line = screen.lines().find(|l| l.contains("today $"));
        Some(line.unwrap_or_else(|| panic!("{screen:?}")).to_owned())
    };
    let Some(all) = head("") else { return };
    assert!(all.contains("today $0.09 · block $0.09 "), "{all}");
    let alpha = head("--project alpha").unwrap();
    assert!(alpha.contains("today $0.06 · block $0.06 "), "{alpha}");
}

/// A `projects/` folder replaced while `watch` runs (moved away and made
/// again, or removed and made again) is watched anew: appends to a session
/// written into the new folder are shown as they come, not at the next
/// minute's safety pass (the OS watcher kept following the old folder).
#[test]
fn a_projects_folder_replaced_while_watching_is_watched_anew() {
    let env = Env::with_fixture("basic");
    let mut w = Watch::start(&env, &[]);
    let projects = env.projects();
    let write = |file: &Path, uuid: &str| {
        append(file, &format!("{}\n", user_line(uuid, "sess-new", "hello")));
    };
    std::fs::rename(&projects, env.claude.join("projects.old")).unwrap();
    std::fs::create_dir_all(projects.join("-home-u-new")).unwrap();
    let file = projects.join("-home-u-new/sess-new.jsonl");
    write(&file, "new-1");
    w.until(|e| e["uuid"] == "new-1");
    // (the file's first line may come with a full pass; this append only
    // with a watch on the new folder)
    std::thread::sleep(Duration::from_millis(1500));
    write(&file, "new-2");
    w.until(|e| e["uuid"] == "new-2");
    // removed and made again (the inode may come back)
    std::fs::remove_dir_all(&projects).unwrap();
    std::fs::create_dir_all(projects.join("-home-u-new")).unwrap();
    write(&file, "new-3");
    w.until(|e| e["uuid"] == "new-3");
    std::thread::sleep(Duration::from_millis(1500));
    write(&file, "new-4");
    w.until(|e| e["uuid"] == "new-4");
    w.stop();
}
