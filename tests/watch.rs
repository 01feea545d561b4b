//! `observatory watch --json` as a child process on a temp root: appends
//! (whole, split, bursts), new session files and subagent folders, a
//! replaced file, Ctrl-C, a closed pipe, and a concurrent `ingest`. Waits are
//! bounded (they end as soon as the event arrives).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{Env, count};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

struct Watch {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Watch {
    fn start(env: &Env, extra: &[&str]) -> Watch {
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
            .env_clear()
            .env("HOME", env.home())
            .env("OBSERVATORY_HOME", env.obs_home())
            .env("CLAUDE_CONFIG_DIR", &env.claude)
            .args(["watch", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
    w.stop();

    // `watch --json | head -1`: the reader goes away; watch exits 0, quietly
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
        .env_clear()
        .env("HOME", env.home())
        .env("OBSERVATORY_HOME", env.obs_home())
        .env("CLAUDE_CONFIG_DIR", &env.claude)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("ready"));
    drop(out);
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
    // watch reports only the lines it stored itself: never one twice
    std::thread::sleep(Duration::from_millis(500));
    while let Ok(e) = w.events.try_recv() {
        w.seen.push(e);
    }
    let mut mine: Vec<&str> = w
        .seen
        .iter()
        .filter_map(|e| e["uuid"].as_str())
        .filter(|u| u.starts_with("c-"))
        .collect();
    let n = mine.len();
    mine.sort();
    mine.dedup();
    assert_eq!(mine.len(), n, "an event was emitted twice");
    w.stop();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33 + 40);
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

/// A response priced now, so that it falls in today's budget period.
fn priced_now(uuid: &str, msg: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"sess-budget-0001","timestamp":"{now}","cwd":"/home/u/app","message":{{"id":"{msg}","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{{"input_tokens":1000,"output_tokens":1000}}}}}}
"#
    )
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
        .args(["budget", "set", "--daily", "0.05", "--warn-at", "50"])
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
}
