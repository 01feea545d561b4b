//! `files`, `commands`, `query`, `budget` and `cost --chart` on the
//! hand-made fixtures, against answers worked out by hand
//! (fixtures/README.md lists what each fixture holds).
//!
//! ops/ (all Sonnet 4.5, UTC):
//!   sess-ops-c001 (/home/u/ops, 2026-03-05):
//!     toolu_o1 Read  src/main.rs        08:00:05
//!     toolu_o2 Read  README.md (error)  08:00:05
//!     toolu_o3 Edit  src/main.rs        08:00:10
//!     toolu_o4 MultiEdit src/lib.rs     08:00:10
//!     toolu_o5 Write src/new.rs         08:00:20
//!     toolu_o6 NotebookEdit nb.ipynb    08:00:20
//!     toolu_o7 Skill pdf                08:00:20
//!     toolu_o8 Read  src/main.rs        08:06:05
//!     toolu_o9 Skill pdf, toolu_o10 Skill xlsx, toolu_o11 Bash (no file) 08:06:05
//!     prompts: /review 08:00:00 (after a <command-message>), /model 08:05:00
//!     (tag first), /review 08:06:00, and a prompt that names the tag
//!     without closing it (not a command)
//!   sess-ops-d002 (/home/u/tools, 2026-03-06): a resumed copy of o-u6 (the
//!     second /review: same uuid, stored once), /review 10:00:00 (in a text
//!     block), toolu_p1 Read /home/u/ops/src/main.rs and toolu_p2 Edit
//!     /home/u/tools/x.rs at 10:00:05, toolu_p3 Skill pdf at 10:01:00
//!
//! So, per path: main.rs reads o1 o8 p1 = 3, edits o3 = 1, 2 sessions, last
//! 2026-03-06T10:00:05; x.rs 1 edit; README.md 1 read, 1 error; lib.rs 1
//! edit (MultiEdit); nb.ipynb 1 edit (NotebookEdit); new.rs 1 write.
//! Totals: 4 reads (o1 o2 o8 p1), 4 edits (o3 o4 o6 p2), 1 write, 1 error, 6 paths, 2 sessions.
//! Commands: /review 3 (2 sessions), /model 1; skills pdf 3 (2 sessions),
//! xlsx 1.

mod common;

use common::{Env, count, fails};
use serde_json::{Value, json};
use std::process::Stdio;

fn run_json(env: &Env, args: &[&str]) -> Value {
    let out = env.cmd().args(args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?}", out.get_output()))
}

fn stdout(env: &Env, args: &[&str]) -> String {
    let out = env.cmd().args(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().expect("rows")
}

// ------------------------------------------------------------------- files

#[test]
fn files_count_reads_edits_and_writes() {
    let env = Env::with_fixture("ops");
    let v = run_json(&env, &["files", "--tz", "UTC"]);
    let paths: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    // most operations first; ties: latest touch first, then path
    assert_eq!(
        paths,
        vec![
            "/home/u/ops/src/main.rs",
            "/home/u/tools/x.rs",
            "/home/u/ops/nb.ipynb",
            "/home/u/ops/src/new.rs",
            "/home/u/ops/src/lib.rs",
            "/home/u/ops/README.md",
        ]
    );
    let main = &rows(&v)[0];
    assert_eq!(main["reads"], 3);
    assert_eq!(main["edits"], 1);
    assert_eq!(main["writes"], 0);
    assert_eq!(main["errors"], 0);
    assert_eq!(main["sessions"], 2);
    assert_eq!(main["last_touched_at"], "2026-03-06T10:00:05.000Z");
    let by_path = |p: &str| rows(&v).iter().find(|r| r["path"] == p).unwrap().clone();
    let nb = by_path("/home/u/ops/nb.ipynb");
    assert_eq!(
        (nb["reads"].as_u64(), nb["edits"].as_u64()),
        (Some(0), Some(1))
    );
    let lib = by_path("/home/u/ops/src/lib.rs");
    assert_eq!(lib["edits"], 1, "MultiEdit is an edit");
    let new = by_path("/home/u/ops/src/new.rs");
    assert_eq!(
        (new["writes"].as_u64(), new["edits"].as_u64()),
        (Some(1), Some(0))
    );
    let readme = by_path("/home/u/ops/README.md");
    assert_eq!(readme["reads"], 1);
    assert_eq!(readme["errors"], 1);
    assert_eq!(readme["sessions"], 1);
    assert_eq!(readme["last_touched_at"], "2026-03-05T08:00:05.000Z");
    assert_eq!(
        v["total"],
        json!({"paths": 6, "reads": 4, "edits": 4, "writes": 1, "errors": 1, "sessions": 2})
    );
    assert_eq!(v["limit"], Value::Null);
    assert_eq!(v["tz"], "UTC");

    // --project: only /home/u/ops's sessions (p1 read main.rs from /home/u/tools)
    let v = run_json(&env, &["files", "--project", "u/ops", "--no-ingest"]);
    assert_eq!(rows(&v).len(), 5);
    assert_eq!(rows(&v)[0]["path"], "/home/u/ops/src/main.rs");
    assert_eq!(rows(&v)[0]["reads"], 2);
    assert_eq!(rows(&v)[0]["sessions"], 1);
    assert_eq!(v["total"]["paths"], 5);

    // --limit cuts the rows, not the totals
    let v = run_json(&env, &["files", "--limit", "2", "--no-ingest"]);
    assert_eq!(rows(&v).len(), 2);
    assert_eq!(v["limit"], 2);
    assert_eq!(v["total"]["paths"], 6);

    // --since in a zone: 2026-03-06 in UTC holds only p1 and p2
    let v = run_json(
        &env,
        &[
            "files",
            "--since",
            "2026-03-06",
            "--tz",
            "UTC",
            "--no-ingest",
        ],
    );
    assert_eq!(rows(&v).len(), 2);
    assert_eq!(v["total"]["reads"], 1);
    assert_eq!(v["total"]["edits"], 1);
    // in Tokyo (UTC+9) 2026-03-05 08:06 is already 17:06 on the 5th, and
    // d002's calls fall on the 6th at 19:00: --until 2026-03-05 keeps c001
    let v = run_json(
        &env,
        &[
            "files",
            "--until",
            "2026-03-05",
            "--tz",
            "Asia/Tokyo",
            "--no-ingest",
        ],
    );
    assert_eq!(v["total"]["reads"], 3);
    assert_eq!(v["total"]["sessions"], 1);

    let csv = stdout(&env, &["files", "--csv", "--no-ingest"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("path,reads,edits,writes,errors,sessions,last_touched_at")
    );
    assert_eq!(
        lines.next(),
        Some("/home/u/ops/src/main.rs,3,1,0,0,2,2026-03-06T10:00:05.000Z")
    );
    let table = stdout(&env, &["files", "--no-ingest", "--tz", "UTC"]);
    assert!(table.contains("Total (6 files)"), "{table}");
    assert!(table.contains("2026-03-06 10:00"), "{table}");
}

// ---------------------------------------------------------------- commands

#[test]
fn commands_count_slash_commands_and_skills() {
    let env = Env::with_fixture("ops");
    // (a prompt that asks about the tags is words, not a /review: the
    // counts below are the fixture's)
    let asks = json!({"type": "user", "uuid": "q-1", "sessionId": "sess-ops-q003", "cwd": "/home/u/ops",
        "timestamp": "2026-03-05T09:00:00.000Z",
        "message": {"role": "user", "content": "why does my transcript say <command-name>/review</command-name>? explain"}});
    // (nor is a skill Claude asked for that does not exist: tour-s37 F6)
    let typo = json!({"type": "assistant", "uuid": "q-2", "sessionId": "sess-ops-q003", "cwd": "/home/u/ops",
        "timestamp": "2026-03-05T09:00:05.000Z",
        "message": {"id": "msg_q2", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_q2", "name": "Skill", "input": {"skill": "nope"}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}}});
    let refused = json!({"type": "user", "uuid": "q-3", "sessionId": "sess-ops-q003", "cwd": "/home/u/ops",
        "timestamp": "2026-03-05T09:00:06.000Z",
        "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_q2",
            "is_error": true, "content": "<tool_use_error>Unknown skill: nope</tool_use_error>"}]}});
    std::fs::write(
        env.projects().join("-home-u-ops/sess-ops-q003.jsonl"),
        format!("{asks}\n{typo}\n{refused}\n"),
    )
    .unwrap();
    let v = run_json(&env, &["commands", "--tz", "UTC"]);
    assert_eq!(
        rows(&v),
        &vec![
            json!({"kind": "slash_command", "name": "/review", "count": 3, "sessions": 2,
                   "last_used_at": "2026-03-06T10:00:00.000Z"}),
            json!({"kind": "skill", "name": "pdf", "count": 3, "sessions": 2,
                   "last_used_at": "2026-03-06T10:01:00.000Z"}),
            json!({"kind": "slash_command", "name": "/model", "count": 1, "sessions": 1,
                   "last_used_at": "2026-03-05T08:05:00.000Z"}),
            json!({"kind": "skill", "name": "xlsx", "count": 1, "sessions": 1,
                   "last_used_at": "2026-03-05T08:06:05.000Z"}),
        ]
    );
    assert_eq!(v["total"], json!({"slash_commands": 4, "skills": 4}));
    // the table's total names the distinct commands and skills, and counts
    // their uses
    let table = stdout(&env, &["commands", "--no-ingest"]);
    let total = table.lines().find(|l| l.trim_start().starts_with("Total"));
    let words: Vec<&str> = total.unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        words,
        ["Total", "2", "commands,", "2", "skills", "8"],
        "{table}"
    );
    // a session opened by a slash command is titled as it was typed, in
    // `sessions` and in `show`'s timeline, not as the tags it is stored as
    let v = run_json(&env, &["sessions", "--no-ingest"]);
    let title = |id: &str| {
        rows(&v)
            .iter()
            .find(|r| r["session_id"] == id)
            .map(|r| r["title"].clone())
    };
    assert_eq!(title("sess-ops-c001"), Some(json!("/review src")));
    assert_eq!(title("sess-ops-d002"), Some(json!("/review")));
    let out = env
        .cmd()
        .args(["show", "sess-ops-c001", "--no-ingest"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("“/review src”"), "{table}");
    assert!(!table.contains("<command-message>"), "{table}");
    // `show --json` keeps the text as written and says the command typed
    let v = run_json(&env, &["show", "sess-ops-c001", "--no-ingest"]);
    let prompts: Vec<(bool, &Value)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "prompt")
        .map(|e| {
            (
                e["text"].as_str().unwrap().contains("<command-name>"),
                &e["command"],
            )
        })
        .collect();
    assert_eq!(
        prompts,
        [
            (true, &json!("/review src")),
            (true, &json!("/model")),
            (true, &json!("/review")),
            (true, &Value::Null),
        ]
    );
    assert_eq!(v["turns"][0]["command"], "/review src");

    let v = run_json(
        &env,
        &[
            "commands",
            "--since",
            "2026-03-06",
            "--tz",
            "UTC",
            "--no-ingest",
        ],
    );
    // the resumed copy of o-u6 is stored once, with c001's time
    assert_eq!(
        rows(&v)
            .iter()
            .map(|r| (r["name"].as_str().unwrap(), r["count"].as_u64().unwrap()))
            .collect::<Vec<_>>(),
        vec![("/review", 1), ("pdf", 1)]
    );
    let csv = stdout(&env, &["commands", "--csv", "--no-ingest"]);
    assert!(csv.starts_with("kind,name,count,sessions,last_used_at\r\nslash_command,/review,3,2,"));
    let table = stdout(&env, &["commands", "--no-ingest"]);
    assert!(
        table.contains("/review") && table.contains("xlsx"),
        "{table}"
    );
}

/// A `<command-message>` longer than the stored preview pushes the tag out
/// of it: the command is read from the whole line, for a prompt and for a
/// `local_command` system line; a cut preview with no tag in its line is
/// not a command.
#[test]
fn commands_read_a_tag_past_the_preview_from_the_line() {
    let env = Env::with_fixture("ops");
    let long = "the deploy skill is checking every service and its health, ".repeat(4);
    let line = |json: Value| format!("{json}\n");
    let lines = [
        line(
            json!({"type": "user", "uuid": "l-1", "sessionId": "sess-ops-l004", "cwd": "/home/u/ops",
            "timestamp": "2026-03-07T09:00:00.000Z",
            "message": {"role": "user", "content": format!(
                "<command-message>{long}</command-message>\n<command-name>/deploy</command-name>\n<command-args>prod</command-args>")}}),
        ),
        line(
            json!({"type": "system", "subtype": "local_command", "uuid": "l-2", "sessionId": "sess-ops-l004",
            "cwd": "/home/u/ops", "timestamp": "2026-03-07T09:01:00.000Z", "level": "info",
            "content": format!("<command-message>{long}</command-message>\n<command-name>/cost</command-name>")}),
        ),
        line(
            json!({"type": "user", "uuid": "l-3", "sessionId": "sess-ops-l004", "cwd": "/home/u/ops",
            "timestamp": "2026-03-07T09:02:00.000Z",
            "message": {"role": "user", "content": format!("<command-message>{long}</command-message> and no tag")}}),
        ),
    ];
    std::fs::write(
        env.projects().join("-home-u-ops/sess-ops-l004.jsonl"),
        lines.concat(),
    )
    .unwrap();
    let v = run_json(
        &env,
        &["commands", "--session", "sess-ops-l004", "--tz", "UTC"],
    );
    assert_eq!(
        rows(&v),
        &vec![
            json!({"kind": "slash_command", "name": "/cost", "count": 1, "sessions": 1,
                   "last_used_at": "2026-03-07T09:01:00.000Z"}),
            json!({"kind": "slash_command", "name": "/deploy", "count": 1, "sessions": 1,
                   "last_used_at": "2026-03-07T09:00:00.000Z"}),
        ]
    );
    assert_eq!(v["total"], json!({"slash_commands": 2, "skills": 0}));
}

// ------------------------------------------------------------------- query

#[test]
fn query_refuses_every_kind_of_write() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let refused = |sql: &str, says: &str| {
        let err = fails(&env, &["query", sql], 1);
        assert!(
            err.contains("refused") && err.contains(says),
            "{sql}: {err}"
        );
    };
    refused("INSERT INTO projects(path) VALUES ('/x')", "INSERT");
    refused("UPDATE response_rows SET cost_picousd = 0", "UPDATE");
    refused("DELETE FROM response_rows", "DELETE");
    refused("ATTACH DATABASE '/tmp/other.db' AS other", "ATTACH");
    refused("SELECT load_extension('/tmp/evil.so')", "load_extension");
    refused("PRAGMA query_only = OFF", "PRAGMA query_only");
    refused("PRAGMA user_version = 99", "PRAGMA user_version");
    refused("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode");
    // a pragma that acts refuses with or without a value, and points at neither
    for sql in ["PRAGMA wal_checkpoint", "PRAGMA wal_checkpoint(TRUNCATE)"] {
        let err = fails(&env, &["query", sql], 1);
        assert!(
            err.contains("it changes the database") && !err.contains("without a value"),
            "{sql}: {err}"
        );
    }
    refused("CREATE TABLE t(x)", "CREATE");
    refused("DROP VIEW v_responses", "DROP");
    // a mistake is SQLite's own words, where it is
    let err = fails(&env, &["query", "SELEC 1"], 1);
    assert!(
        err.contains("near \"SELEC\": syntax error (at character 1)"),
        "{err}"
    );
    let err = fails(&env, &["query", "SELECT * FROM nope"], 1);
    assert!(
        err.contains("no such table: nope") && !err.contains("Error code"),
        "{err}"
    );
    // nothing changed
    let db = env.db();
    assert_eq!(common::count(&db, "SELECT count(*) FROM responses"), 6);
    assert_eq!(
        common::count(&db, "SELECT count(*) FROM responses WHERE cost_picousd = 0"),
        0
    );
    // reading pragmas are fine, and the version is what it was
    let version = common::count(&db, "PRAGMA user_version");
    let v = run_json(&env, &["query", "PRAGMA user_version"]);
    assert_eq!(v["rows"], json!([{"user_version": version}]));
}

#[test]
fn query_reads_the_views_as_json() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let v = run_json(
        &env,
        &[
            "query",
            "SELECT message_id, project, at, at_utc, day, input_tokens, output_tokens, total_tokens, \
             cost_picousd, cost_usd FROM v_responses ORDER BY at LIMIT 1",
        ],
    );
    assert_eq!(
        v["columns"],
        json!([
            "message_id",
            "project",
            "at",
            "at_utc",
            "day",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cost_picousd",
            "cost_usd"
        ])
    );
    // msg_r1: 1,000 in, 2,000 out = $0.033
    assert_eq!(
        v["rows"],
        json!([{"message_id": "msg_r1", "project": "/home/u/web", "at": 1_773_130_205_000_i64,
                "at_utc": "2026-03-10T08:10:05.000Z", "day": "2026-03-10",
                "input_tokens": 1000, "output_tokens": 2000, "total_tokens": 3000,
                "cost_picousd": 33_000_000_000_i64, "cost_usd": "0.033"}])
    );
    // every view's cost_usd is the exact decimal of cost_picousd
    let v = run_json(
        &env,
        &[
            "query",
            "SELECT day, model, requests, input_tokens, output_tokens, unpriced_requests, cost_picousd, cost_usd FROM v_daily_cost",
        ],
    );
    // 1000+1000+2000+1000+10000+5000 in, 2000+1000+1000+0+2000+4000 out, $0.21
    assert_eq!(
        v["rows"],
        json!([{"day": "2026-03-10", "model": "claude-sonnet-4-5-20250929", "requests": 6,
                "input_tokens": 20000, "output_tokens": 10000, "unpriced_requests": 0,
                "cost_picousd": 210_000_000_000_i64, "cost_usd": "0.21"}])
    );
    // 13 calls, 3 errors (b3, b7, list_issues); toolu_r1 has no result
    let v = run_json(
        &env,
        &[
            "query",
            "SELECT count(*) AS calls, sum(is_error) AS errors, sum(NOT has_result) AS no_result, \
                    min(project) AS project FROM v_tool_calls",
        ],
    );
    assert_eq!(
        v["rows"],
        json!([{"calls": 13, "errors": 3, "no_result": 1, "project": "/home/u/web"}])
    );
    let v = run_json(
        &env,
        &[
            "query",
            "SELECT command, outcome, at_utc FROM v_hook_runs WHERE outcome = 'blocking_error'",
        ],
    );
    assert_eq!(rows(&v).len(), 1);
    assert_eq!(rows(&v)[0]["command"], "guard.sh");
    assert!(
        rows(&v)[0]["at_utc"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-10T09:10:")
    );
    // NULL, reals and blobs
    let v = run_json(
        &env,
        &[
            "query",
            "SELECT NULL AS n, 0.5 AS r, x'CAFE' AS b, 'a' AS t",
        ],
    );
    assert_eq!(
        v["rows"],
        json!([{"n": null, "r": 0.5, "b": "cafe", "t": "a"}])
    );
}

#[test]
fn query_reads_stdin_and_prints_tables_and_csv() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let out = env
        .cmd()
        .args(["query", "-", "--csv"])
        .write_stdin("SELECT name, count(*) AS calls FROM v_tool_calls GROUP BY name ORDER BY calls DESC, name;\n")
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        csv,
        "name,calls\r\nBash,10\r\nRead,1\r\nmcp__github__create_issue,1\r\nmcp__github__list_issues,1\r\n"
    );
    let table = stdout(
        &env,
        &["query", "SELECT 'x' AS label, 42 AS n, NULL AS empty"],
    );
    assert!(
        table.contains("label") && table.contains("42") && table.contains("NULL"),
        "{table}"
    );
    let err = fails(&env, &["query", "SELECT * FROM no_such_table"], 1);
    assert!(err.contains("no_such_table"), "{err}");
    let err = fails(&env, &["query", "  ;  "], 2);
    assert!(err.contains("no SQL"), "{err}");
}

/// `--csv` and `--json` print each row as it is read: an endless query
/// read by `head -3` ends quietly (exit 0) when the reader goes, having
/// held no more than a buffer of rows; a table, which must hold every row,
/// refuses it with the streaming ways named.
#[test]
fn query_streams_csv_and_json_and_an_endless_query_ends_with_its_reader() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let env = Env::with_fixture("reports");
    env.ingest();
    let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, 'row ' || i AS label FROM n";
    for (flag, first) in [("--csv", "i,label"), ("--json", "{")] {
        let mut child = env
            .std_cmd()
            .args(["query", flag, endless])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // (read on a thread: a query that prints nothing until its end
        // would block the read for good)
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let head: Vec<String> = BufReader::new(stdout)
                .lines()
                .take(3)
                .map(Result::unwrap)
                .collect();
            let _ = tx.send(head); // (and the reader goes, as `head` does)
        });
        let Ok(head) = rx.recv_timeout(Duration::from_secs(60)) else {
            child.kill().unwrap();
            panic!("{flag}: no rows printed before the query's end");
        };
        assert_eq!(
            head.first().map(String::as_str),
            Some(first),
            "{flag}: {head:?}"
        );
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("{flag}: query went on after its reader had gone");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "{flag}: {status:?} {stderr}");
        assert_eq!(stderr, "", "{flag}");
    }
    let err = fails(&env, &["query", endless], 1);
    assert!(
        err.contains("would take more than 64 MiB to line up")
            && err.contains("add --csv or --json"),
        "{err}"
    );
}

#[test]
fn query_needs_a_database() {
    let env = Env::new();
    let err = fails(&env, &["query", "SELECT 1"], 1);
    assert!(err.contains("observatory ingest"), "{err}");
}

// ------------------------------------------------------------------ budget

/// A transcript with one response a second ago: Sonnet 4.5, 100,000 input
/// tokens = $0.30 (under the 200k long-context threshold).
fn env_spending_now() -> Env {
    let env = Env::new();
    let dir = env.project_dir("-home-u-now");
    let at = common::steady_now() - chrono::Duration::seconds(1);
    let ts = at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let line = json!({"parentUuid": null, "isSidechain": false, "cwd": "/home/u/now",
        "sessionId": "sess-now", "version": "2.1.120", "uuid": "n-a1", "timestamp": ts,
        "type": "assistant", "requestId": "req_n1",
        "message": {"model": "claude-sonnet-4-5-20250929", "id": "msg_n1", "type": "message",
            "role": "assistant", "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 100000, "output_tokens": 0,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}});
    std::fs::write(dir.join("sess-now.jsonl"), format!("{line}\n")).unwrap();
    env
}

#[test]
fn budget_set_list_rm() {
    let env = Env::new();
    // nothing set, no database: an empty list, and no file made for it
    assert_eq!(run_json(&env, &["budget", "list"]), json!({"rows": []}));
    assert!(!env.db_path().exists());
    let b = run_json(&env, &["budget", "set", "--daily", "12.50"]);
    assert_eq!(
        b,
        json!({"id": 1, "period": "day", "limit_usd": "12.5", "project": null, "model": null,
               "warn_at_percent": 80, "created_at": b["created_at"], "changed": false})
    );
    let b = run_json(
        &env,
        &[
            "budget",
            "set",
            "--monthly",
            "$300",
            "--project",
            "myapp",
            "--model",
            "claude-opus-4-6",
            "--warn-at",
            "90",
        ],
    );
    assert_eq!(b["id"], 2);
    assert_eq!(b["period"], "month");
    assert_eq!(b["limit_usd"], "300");
    assert_eq!(b["project"], "myapp");
    assert_eq!(b["model"], "claude-opus-4-6");
    assert_eq!(b["warn_at_percent"], 90);
    let v = run_json(&env, &["budget", "list"]);
    assert_eq!(rows(&v).len(), 2);
    assert_eq!(rows(&v)[1]["limit_usd"], "300");
    // a filter that matches nothing (yet) is said; the same budget set
    // again is changed, not doubled
    let out = env
        .cmd()
        .args(["budget", "set", "--daily", "20", "--model", "gpt-5"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("--model \"gpt-5\" matches nothing") && err.contains("counts nothing"),
        "{err}"
    );
    let again = run_json(
        &env,
        &["budget", "set", "--daily", "25", "--model", "gpt-5"],
    );
    assert_eq!(
        (&again["id"], &again["limit_usd"], &again["changed"]),
        (&json!(3), &json!("25"), &json!(true))
    );
    // its warn level stays unless given
    let again = run_json(
        &env,
        &[
            "budget",
            "set",
            "--monthly",
            "$301",
            "--project",
            "MyApp",
            "--model",
            "Claude-Opus-4-6",
        ],
    );
    // (the same budget in another case: project and model match either)
    assert_eq!(
        (&again["id"], &again["warn_at_percent"]),
        (&json!(2), &json!(90))
    );
    let v = run_json(&env, &["budget", "list"]);
    assert_eq!(rows(&v).len(), 3);
    run_json(&env, &["budget", "rm", "3"]);
    // the amount is stored exactly, in picoUSD
    assert_eq!(
        common::count(&env.db(), "SELECT amount_picousd FROM budgets WHERE id = 1"),
        12_500_000_000_000
    );
    // usage errors: no period, two periods, a bad warn level; amount errors exit 1
    fails(&env, &["budget", "set"], 2);
    fails(&env, &["budget", "set", "--daily", "1", "--weekly", "2"], 2);
    fails(
        &env,
        &["budget", "set", "--daily", "1", "--warn-at", "0"],
        2,
    );
    fails(
        &env,
        &["budget", "set", "--daily", "1", "--warn-at", "101"],
        2,
    );
    assert!(fails(&env, &["budget", "set", "--daily", "0"], 2).contains("more than $0"));
    assert!(fails(&env, &["budget", "set", "--weekly", "-5"], 2).contains("more than $0"));
    assert!(fails(&env, &["budget", "set", "--daily", "ten"], 2).contains("US dollars"));
    assert!(fails(&env, &["budget", "rm", "9"], 1).contains("no budget with id 9"));
    assert_eq!(
        run_json(&env, &["budget", "rm", "1"]),
        json!({"removed": 1})
    );
    let v = run_json(&env, &["budget", "list"]);
    assert_eq!(rows(&v).len(), 1);
    assert_eq!(rows(&v)[0]["id"], 2);
    // set/list/rm never read transcripts
    assert_eq!(
        common::count(&env.db(), "SELECT count(*) FROM source_files"),
        0
    );
}

/// `budget check`'s Spent column gives every row as many decimals as the
/// row that needs most (a limit of $10.005 needs three): the same spend
/// reads the same on every row, not $0.30 on one and $0.300 on the next.
#[test]
fn budget_check_spends_line_up() {
    let env = env_spending_now();
    for (period, amount) in [("--daily", "1"), ("--weekly", "10.005"), ("--monthly", "2")] {
        env.cmd()
            .args(["budget", "set", period, amount])
            .assert()
            .success();
    }
    let table = String::from_utf8_lossy(
        &env.cmd()
            .args(["budget", "check", "--tz", "UTC"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .to_string();
    let spends: Vec<&str> = table
        .lines()
        .filter(|l| l.contains(" ok"))
        .map(|l| l.split_whitespace().find(|w| w.starts_with('$')).unwrap())
        .collect();
    assert_eq!(spends, ["$0.300"; 3], "{table}");
}

/// A limit is shown to its last digit, and with the thousands grouped as
/// all money is, whether it stops at the cent or goes below it (the set
/// message, the list, the check).
#[test]
fn budget_limits_group_thousands_to_their_last_digit() {
    let env = env_spending_now();
    let said = |args: &[&str]| {
        String::from_utf8_lossy(&env.cmd().args(args).assert().success().get_output().stdout)
            .to_string()
    };
    let set = said(&["budget", "set", "--weekly", "1234567.891"]);
    assert!(set.contains("$1,234,567.891 per week"), "{set}");
    let set = said(&["budget", "set", "--monthly", "1234567"]);
    assert!(set.contains("$1,234,567.00 per month"), "{set}");
    for args in [&["budget", "list"][..], &["budget", "check", "--tz", "UTC"]] {
        let table = said(args);
        assert!(
            table.contains("$1,234,567.891") && table.contains("$1,234,567.00"),
            "{args:?}: {table}"
        );
    }
}

#[test]
fn budget_check_exit_codes() {
    let env = env_spending_now();
    // nothing set: exit 0
    let v = run_json(&env, &["budget", "check", "--tz", "UTC"]);
    assert_eq!(v["rows"], json!([]));
    assert_eq!(v["status"], "ok");

    // $0.30 of $1: ok, exit 0
    env.cmd()
        .args(["budget", "set", "--daily", "1"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["budget", "check", "--tz", "UTC", "--json", "--fail-on-warn"])
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let r = &rows(&v)[0];
    assert_eq!(r["spent_usd"], "0.3");
    assert_eq!(r["remaining_usd"], "0.7");
    assert_eq!(r["used_percent"], 30.0);
    assert_eq!(r["requests"], 1);
    assert_eq!(r["status"], "ok");
    assert_eq!(v["exit_code"], 0);
    assert!(out.get_output().stderr.is_empty());

    // $0.30 of $0.35 at 80%: a warn level (85.7%): 0, or 3 with --fail-on-warn
    env.cmd()
        .args(["budget", "set", "--weekly", "0.35"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["budget", "check", "--tz", "UTC", "--no-ingest"])
        .assert()
        .code(0);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("budget 2 (weekly) reached its 80% warn level"),
        "{err}"
    );
    let out = env
        .cmd()
        .args([
            "budget",
            "check",
            "--tz",
            "UTC",
            "--no-ingest",
            "--fail-on-warn",
            "--json",
        ])
        .assert()
        .code(3);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["status"], "warn");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(rows(&v)[1]["status"], "warn");
    assert_eq!(rows(&v)[1]["used_percent"], 85.71);

    // a model filter that matches nothing spends nothing
    env.cmd()
        .args([
            "budget",
            "set",
            "--daily",
            "0.01",
            "--model",
            "claude-opus-4-6",
        ])
        .assert()
        .success();
    env.cmd()
        .args([
            "budget",
            "check",
            "--tz",
            "UTC",
            "--no-ingest",
            "--fail-on-warn",
        ])
        .assert()
        .code(3);

    // $0.30 of $0.25: over its limit, exit 4 with or without --fail-on-warn
    env.cmd()
        .args(["budget", "set", "--monthly", "0.25", "--project", "u/now"])
        .assert()
        .success();
    let err = fails(&env, &["budget", "check", "--tz", "UTC", "--no-ingest"], 4);
    assert!(
        err.contains("budget 4 (monthly, project \"u/now\") is over its limit: $0.30 of $0.25"),
        "{err}"
    );
    fails(
        &env,
        &[
            "budget",
            "check",
            "--tz",
            "UTC",
            "--no-ingest",
            "--fail-on-warn",
        ],
        4,
    );
    let table = String::from_utf8_lossy(
        &env.cmd()
            .args(["budget", "check", "--tz", "UTC", "--no-ingest"])
            .assert()
            .code(4)
            .get_output()
            .stdout,
    )
    .to_string();
    assert!(table.contains("OVER") && table.contains("WARN"), "{table}");
    // another project's budget is not touched by this spend
    env.cmd().args(["budget", "rm", "4"]).assert().success();
    env.cmd()
        .args(["budget", "set", "--daily", "0.01", "--project", "elsewhere"])
        .assert()
        .success();
    env.cmd()
        .args(["budget", "check", "--tz", "UTC", "--no-ingest"])
        .assert()
        .code(0);

    // cost warns on stderr when a budget is crossed; -q silences it
    let out = env.cmd().args(["cost", "--no-ingest"]).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("warning: budget 2 (weekly) reached its 80% warn level"),
        "{err}"
    );
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "-q"])
        .assert()
        .success();
    assert!(out.get_output().stderr.is_empty());
}

// ------------------------------------------------------------------- chart

#[test]
fn cost_chart_draws_one_bar_per_period() {
    let env = Env::with_fixture("basic");
    // the basic fixture's days in UTC (tests/cost.rs): 2026-03-01 $0.0337956,
    // 2026-03-02 $0.0012
    let v = run_json(&env, &["cost", "--by-day", "--tz", "UTC"]);
    let days: Vec<(String, String)> = rows(&v)
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_owned(),
                r["cost_usd"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
    let chart = stdout(
        &env,
        &["cost", "--by-day", "--chart", "--tz", "UTC", "--no-ingest"],
    );
    let lines: Vec<&str> = chart.lines().collect();
    assert_eq!(lines.len(), 3, "{chart}");
    // not a terminal: 80 columns
    for l in &lines {
        assert_eq!(l.chars().count(), 80, "{l:?}");
    }
    assert!(lines[0].starts_with(&format!("{} █", days[0].0)), "{chart}");
    assert!(lines[0].ends_with("$0.03"), "{chart}");
    assert!(
        lines[1].starts_with(&days[1].0) && lines[1].ends_with("<$0.01"),
        "{chart}"
    );
    assert!(
        lines[2].starts_with("Total") && lines[2].ends_with("$0.03"),
        "{chart}"
    );
    // the largest day fills the bar column: 80 - 10 (label) - 6 (<$0.01) - 2
    let bar = |l: &str| l.chars().filter(|c| ('█'..='▏').contains(c)).count();
    assert_eq!(lines[0].chars().filter(|c| *c == '█').count(), 62);
    // 0.0012 / 0.0337956 of 62 cells = 2.20 cells: 2 full and a 2/8 block
    assert_eq!(bar(lines[1]), 3);
    assert!(lines[1].contains("██▎"), "{chart}");
    assert_eq!(bar(lines[2]), 0);

    let month = stdout(
        &env,
        &[
            "cost",
            "--by-month",
            "--chart",
            "--tz",
            "UTC",
            "--no-ingest",
        ],
    );
    assert!(month.starts_with("2026-03 "), "{month}");
    for bad in [
        vec!["cost", "--chart"],
        vec!["cost", "--by-day", "--by-model", "--chart"],
        vec!["cost", "--by-day", "--by-week", "--chart"],
        vec!["cost", "--by-day", "--chart", "--json"],
        vec!["cost", "--by-day", "--chart", "--csv"],
    ] {
        let err = fails(&env, &bad, 2);
        assert!(err.contains("--chart"), "{bad:?}: {err}");
    }
}

// ------------------------------------------------------------------ corpus

#[test]
fn files_commands_and_query_run_on_the_public_corpus() {
    let shared = require_shared!();
    let env = Env::new();
    std::os::unix::fs::symlink(shared.join("corpus/public"), env.projects().join("public"))
        .unwrap();
    env.ingest();
    let files = run_json(&env, &["files", "--no-ingest"]);
    let total = &files["total"];
    let calls = common::count(
        &env.db(),
        "SELECT count(*) FROM tool_calls WHERE file_path IS NOT NULL AND file_path <> '' \
         AND name IN ('Read', 'Edit', 'MultiEdit', 'NotebookEdit', 'Write')",
    );
    assert!(calls > 0, "the corpus has file tool calls");
    assert_eq!(
        total["reads"].as_i64().unwrap()
            + total["edits"].as_i64().unwrap()
            + total["writes"].as_i64().unwrap(),
        calls
    );
    let commands = run_json(&env, &["commands", "--no-ingest"]);
    let skills = common::count(
        &env.db(),
        "SELECT count(*) FROM tool_calls WHERE name = 'Skill'",
    );
    assert_eq!(commands["total"]["skills"].as_i64().unwrap(), skills);
    assert!(commands["total"]["slash_commands"].as_u64().unwrap() > 0);
    // each view has a row per row of what it shows
    for (view, of) in [
        ("v_responses", "SELECT count(*) FROM responses"),
        ("v_tool_calls", "SELECT count(*) FROM tool_calls"),
        ("v_hook_runs", "SELECT count(*) FROM hook_runs"),
    ] {
        let v = run_json(&env, &["query", &format!("SELECT * FROM {view}")]);
        assert!(!v["columns"].as_array().unwrap().is_empty(), "{view}");
        let n = common::count(&env.db(), of);
        assert!(n > 0, "{view}: the corpus has rows");
        assert_eq!(v["rows"].as_array().unwrap().len() as i64, n, "{view}");
    }
    // and the days' requests are every response
    let v = run_json(
        &env,
        &["query", "SELECT sum(requests) AS n FROM v_daily_cost"],
    );
    assert_eq!(
        v["rows"][0]["n"].as_i64().unwrap(),
        common::count(&env.db(), "SELECT count(*) FROM responses")
    );
    // the view's exact cost equals the cost report's total
    let cost = run_json(&env, &["cost", "--no-ingest"]);
    let v = run_json(
        &env,
        &["query", "SELECT sum(cost_picousd) AS p FROM v_responses"],
    );
    let p = v["rows"][0]["p"].as_i64().unwrap();
    let whole = p / 1_000_000_000_000;
    let frac = format!("{:012}", p % 1_000_000_000_000);
    let text = format!("{whole}.{}", frac.trim_end_matches('0'));
    assert_eq!(
        cost["total"]["cost_usd"].as_str().unwrap(),
        text.trim_end_matches('.')
    );
    // a CSV has a line per JSON row, after its header
    for (args, json) in [(["files"], &files), (["commands"], &commands)] {
        let csv = stdout(&env, &[&args[..], &["--no-ingest", "--csv"]].concat());
        let rows = json["rows"].as_array().unwrap().len();
        assert!(rows > 0, "{args:?}");
        assert_eq!(csv.lines().count(), rows + 1, "{args:?}: {csv}");
    }
}

/// A script can pass `--no-ingest` to every command that reads the
/// database: those that never read transcripts take it and do as without;
/// those whose job is to read them (or that read no database) refuse it.
#[test]
fn commands_that_never_ingest_take_no_ingest_and_do_the_same() {
    let env = Env::with_fixture("ops");
    env.ingest();
    env.cmd()
        .args(["budget", "set", "--daily", "5", "--no-ingest"])
        .assert()
        .success();
    // (a line none of them may read)
    let lines = count(&env.db(), "SELECT count(*) FROM lines");
    common::append(
        env.projects().join("-home-u-ops/sess-ops-c001.jsonl"),
        b"{\"type\":\"summary\",\"summary\":\"later\",\"leafUuid\":\"x\"}\n",
    );
    let out_dir = env.dir.path().join("exported");
    let runs: [&[&str]; 9] = [
        &["status"],
        &["query", "SELECT count(*) AS n FROM lines"],
        &["pricing"],
        &["export", "--out"],
        &["schema"],
        &["config", "show", "--json"],
        &["config", "path"],
        &["budget", "list", "--json"],
        &["reprice", "--json"],
    ];
    for args in runs {
        let run = |extra: &[&str]| {
            let mut cmd = env.cmd();
            cmd.args(args);
            if args[0] == "export" {
                cmd.arg(&out_dir).arg("--force");
            }
            let out = cmd.args(extra).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?} {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        assert_eq!(run(&[]), run(&["--no-ingest"]), "{args:?}");
        assert_eq!(
            count(&env.db(), "SELECT count(*) FROM lines"),
            lines,
            "{args:?} read a transcript"
        );
    }
    let copy = env.dir.path().join("copy.db");
    env.cmd()
        .arg("backup")
        .arg(&copy)
        .arg("--no-ingest")
        .assert()
        .success();
    assert!(copy.exists());
    env.cmd()
        .args(["budget", "rm", "1", "--no-ingest"])
        .assert()
        .success();
    assert_eq!(
        run_json(&env, &["budget", "list", "--no-ingest"])["rows"],
        json!([])
    );
    for args in [&["ingest"][..], &["watch"], &["man"]] {
        env.cmd().args(args).arg("--no-ingest").assert().code(2);
    }
}

/// util-linux `script` is here (to give a command a terminal); else says
/// the test is skipped.
fn has_script() -> bool {
    let here = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        eprintln!("skipped: util-linux `script` (to give the commands a terminal) is not here");
    }
    here
}

/// What `observatory ARGS --no-ingest --color never` prints to a
/// pseudo-terminal set up by `stty` (its carriage returns dropped), with
/// `vars` in its environment; asserts it succeeded.
fn in_terminal(env: &Env, stty: &str, vars: &[(&str, &str)], args: &str) -> String {
    in_terminal_coloured(env, stty, vars, args, "never")
}

/// [`in_terminal`] with `--color COLOR`.
fn in_terminal_coloured(
    env: &Env,
    stty: &str,
    vars: &[(&str, &str)],
    args: &str,
    color: &str,
) -> String {
    let bin = assert_cmd::cargo::cargo_bin!("observatory")
        .display()
        .to_string();
    let mut c = std::process::Command::new("script");
    c.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    for (k, v) in env.vars() {
        c.env(k, v);
    }
    c.envs(vars.iter().copied());
    let shell = format!("stty {stty}; exec '{bin}' {args} --no-ingest --color {color}");
    let out = c
        .args(["-qec", &shell, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap().replace('\r', "");
    assert!(out.status.success(), "{args} ({stty}): {text}");
    text
}

/// `budget list` in colour measures itself without its colour codes: in
/// 80 columns it keeps its Period column (the bold header counted as ~40
/// more columns sent it to the narrow layout, `$5.00/day`, at any width).
#[test]
fn budget_list_in_colour_is_narrowed_only_when_too_wide() {
    if !has_script() {
        return;
    }
    let env = Env::new();
    for args in [
        &[
            "budget",
            "set",
            "--monthly",
            "1234.5",
            "--project",
            "/home/u/some-project",
        ][..],
        &["budget", "set", "--daily", "5"],
    ] {
        env.cmd().args(args).assert().success();
    }
    let drawn = |cols: usize| {
        in_terminal_coloured(
            &env,
            &format!("cols {cols} rows 50"),
            &[],
            "budget list",
            "always",
        )
    };
    let wide = drawn(80);
    assert!(wide.contains("\x1b[") && wide.contains("Period"), "{wide}");
    assert!(
        wide.contains("$1,234.50") && !wide.contains("/mo"),
        "{wide}"
    );
    let narrow = drawn(40);
    assert!(
        narrow.contains("$1,234.50/mo") && !narrow.contains("Period"),
        "{narrow}"
    );
}

/// The widest line of `text`, in terminal columns.
fn widest(text: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    text.lines().map(|l| l.width()).max().unwrap_or(0)
}

/// Every table people read fits the terminal it is drawn in, down to 40
/// columns (the price table 60): under a pseudo-terminal (util-linux `script`) `stty cols N`
/// wide, no line any of these commands prints is wider (the terminal
/// would fold it and the table with it).
#[test]
fn every_table_fits_the_terminal() {
    use unicode_width::UnicodeWidthStr;
    if !has_script() {
        return;
    }
    let env = Env::with_fixture("basic");
    common::copy_dir(&common::fixtures().join("ops"), &env.claude);
    // (a model with no price: the notes under cost, sessions and blocks)
    let dir = env.project_dir("-home-u-next");
    let line = json!({"type": "assistant", "uuid": "n-1", "sessionId": "sess-next", "cwd": "/home/u/next",
        "timestamp": "2026-03-05T09:00:00.000Z",
        "message": {"id": "msg_n1", "model": "claude-next-9", "role": "assistant",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "output_tokens": 5}}});
    std::fs::write(dir.join("sess-next.jsonl"), format!("{line}\n")).unwrap();
    // (a long history: 400 blocks, $25 each, a five-figure total in the
    // blocks' Total row, and in cost's and sessions')
    let long: String = (0..400i64)
        .map(|i| {
            let at = chrono::DateTime::from_timestamp_millis(1_767_225_600_000 + i * 6 * 3_600_000)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let line = json!({"type": "assistant", "uuid": format!("l-{i}"), "sessionId": "sess-long",
                "cwd": "/home/u/next", "timestamp": at,
                "message": {"id": format!("msg_l{i}"), "model": "claude-opus-4-6", "role": "assistant",
                    "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                    "usage": {"input_tokens": 0, "output_tokens": 1_000_000}}});
            format!("{line}\n")
        })
        .collect();
    std::fs::write(dir.join("sess-long.jsonl"), long).unwrap();
    // (a session id as Claude Code makes them: 36 columns, with its label
    // past 40)
    let uuid = "ef958aa1-0e93-49f0-bb71-150f63befcd1";
    let line = json!({"type": "user", "uuid": "u-1", "sessionId": uuid, "cwd": "/home/u/next",
        "timestamp": "2026-03-05T10:00:00.000Z", "message": {"role": "user", "content": "hello"}});
    std::fs::write(dir.join(format!("{uuid}.jsonl")), format!("{line}\n")).unwrap();
    env.ingest();
    // (with a limit, project and model too wide for the budget table's
    // five columns at 40: its period goes with the limit)
    for args in [
        &["budget", "set", "--daily", "5"][..],
        &[
            "budget",
            "set",
            "--monthly",
            "1234.5",
            "--project",
            "/home/u/some-project",
        ],
        &[
            "budget",
            "set",
            "--weekly",
            "100",
            "--model",
            "claude-haiku-4-5",
        ],
    ] {
        env.cmd().args(args).assert().success();
    }
    let commands = [
        "sessions",
        "sessions --since 2026-03-01",
        "show sess-main-0001",
        "show ef958aa1-0e93-49f0-bb71-150f63befcd1",
        "tools",
        "hooks",
        "files",
        "commands",
        "blocks",
        "cost",
        "cost --by-model --by-project",
        "cost --by-day --chart",
        "budget list",
        "budget check",
        "config show",
    ];
    // (the price table's six columns of prices need 60)
    let at = |width: usize| {
        commands
            .iter()
            .chain(if width >= 60 { &["pricing"][..] } else { &[] })
    };
    for width in [40, 60, 80] {
        for args in at(width) {
            // (stdout: the tables and their notes; a warning on stderr is
            // a message, one line the terminal folds)
            let text = in_terminal(
                &env,
                &format!("cols {width} rows 50"),
                &[],
                &format!("{args} 2>/dev/null"),
            );
            assert!(text.lines().count() > 3, "{args} at {width}: {text}");
            for line in text.lines() {
                assert!(
                    line.width() <= width,
                    "`{args}` in {width} columns: a line {} wide:\n{line}\n{text}",
                    line.width()
                );
            }
        }
    }
}

/// `hooks` in a narrow terminal keeps the count of blocking failures as
/// long as a failure count fits (before, at 80 columns it showed the
/// non-blocking errors, 0, and left out the blocking ones: the reports
/// fixture's guard.sh and check.sh, which each failed blocking, read as
/// never failing).
#[test]
fn hooks_in_a_narrow_terminal_keep_the_blocking_failures() {
    if !has_script() {
        return;
    }
    let env = Env::with_fixture("reports");
    env.ingest();
    for width in [50, 60, 80] {
        let text = in_terminal(&env, &format!("cols {width} rows 50"), &[], "hooks");
        let header: Vec<&str> = text
            .lines()
            .find(|l| l.contains("Event"))
            .unwrap()
            .split_whitespace()
            .collect();
        let at = header.iter().position(|h| *h == "Blocking");
        let at = at.unwrap_or_else(|| panic!("no Blocking column at {width}:\n{text}"));
        for hook in ["guard.sh", "check.sh"] {
            let row: Vec<&str> = text
                .lines()
                .find(|l| l.contains(hook))
                .unwrap()
                .split_whitespace()
                .collect();
            assert_eq!(row[at], "1", "{hook} at {width}:\n{text}");
        }
    }
}

/// `show` cuts a detail only to fit a terminal, and there in the middle
/// (a path keeps its file name); in a pipe and in CSV a tool's input and a
/// prompt are whole (before, they were cut at 60 and 70 characters
/// everywhere: a long path lost its file name even on a wide terminal).
#[test]
fn show_cuts_details_only_to_fit_a_terminal() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-long");
    let path =
        "/home/u/long/workspace/a-rather-deep/folder/structure/of/the/project/src/main_module.rs";
    let prompt = format!(
        "please read the main module and {} then summarise it",
        "tell me more ".repeat(8)
    );
    let lines = [
        json!({"type": "user", "uuid": "l-1", "sessionId": "sess-long", "timestamp": "2026-03-01T10:00:00.000Z",
            "cwd": "/home/u/long", "message": {"role": "user", "content": prompt}}),
        json!({"type": "assistant", "uuid": "l-2", "parentUuid": "l-1", "sessionId": "sess-long",
            "timestamp": "2026-03-01T10:00:01.000Z", "cwd": "/home/u/long",
            "message": {"id": "msg_l1", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_l1", "name": "Read", "input": {"file_path": path}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("sess-long.jsonl"), text).unwrap();
    env.ingest();
    let piped = stdout(&env, &["show", "sess-long"]);
    assert!(piped.contains(&format!("Read {path}")), "{piped}");
    assert!(piped.contains(&format!("“{prompt}”")), "{piped}");
    let csv = stdout(&env, &["show", "sess-long", "--csv"]);
    assert!(csv.contains(&format!("Read {path}")), "{csv}");
    assert!(csv.contains(&prompt), "{csv}");
    if !has_script() {
        return;
    }
    let wide = in_terminal(&env, "cols 200 rows 50", &[], "show sess-long");
    assert!(wide.contains(&format!("Read {path}")), "{wide}");
    let narrow = in_terminal(&env, "cols 120 rows 50", &[], "show sess-long");
    let read = narrow.lines().find(|l| l.contains("Read ")).unwrap();
    assert!(
        read.contains("Read /home/") && read.contains("module.rs"),
        "{narrow}"
    );
    assert!(!read.contains(path), "{narrow}");
}

/// `tools` and `files` with `--session` (or a narrow `--project`) read the
/// kept threads' calls through the thread index once there are 32 times
/// as many threads: 40 sessions, session i reading its own file i % 4 + 1
/// times, the read of every fifth session failing. Each session's figures
/// are its own, and the whole project's (a scan of every call) their sum.
#[test]
fn tools_and_files_of_one_session_among_many() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-many");
    for i in 0..40u64 {
        let sid = format!("sess-many-{i:04}");
        let file = format!("/home/u/many/f{i}.rs");
        let mut text = String::new();
        let mut line = |v: Value| text.push_str(&format!("{v}\n"));
        line(
            json!({"type": "user", "uuid": format!("m{i}-u"), "sessionId": sid, "cwd": "/home/u/many",
            "timestamp": "2026-03-01T10:00:00.000Z", "message": {"role": "user", "content": "read it"}}),
        );
        for k in 0..(i % 4 + 1) {
            let id = format!("toolu_m{i}_{k}");
            line(
                json!({"type": "assistant", "uuid": format!("m{i}-a{k}"), "sessionId": sid,
                "cwd": "/home/u/many", "timestamp": format!("2026-03-01T10:00:{:02}.000Z", 2 * k + 1),
                "message": {"id": format!("msg_m{i}_{k}"), "model": "claude-sonnet-4-5-20250929",
                    "role": "assistant", "stop_reason": "tool_use",
                    "content": [{"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": file}}],
                    "usage": {"input_tokens": 10, "output_tokens": 5}}}),
            );
            line(
                json!({"type": "user", "uuid": format!("m{i}-r{k}"), "sessionId": sid,
                "cwd": "/home/u/many", "timestamp": format!("2026-03-01T10:00:{:02}.000Z", 2 * k + 2),
                "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id,
                    "content": "fn main() {}", "is_error": i % 5 == 0 && k == 0}]}}),
            );
        }
        std::fs::write(dir.join(format!("{sid}.jsonl")), text).unwrap();
    }
    env.ingest();
    let figures = |v: &Value| (v["total"]["calls"].clone(), v["total"]["errors"].clone());
    for i in [0u64, 7, 13, 39] {
        let sid = format!("sess-many-{i:04}");
        let v = run_json(&env, &["tools", "--session", &sid]);
        assert_eq!(
            figures(&v),
            (json!(i % 4 + 1), json!(u64::from(i % 5 == 0))),
            "{sid}: {v}"
        );
        let v = run_json(&env, &["files", "--session", &sid]);
        assert_eq!(rows(&v).len(), 1, "{sid}: {v}");
        assert_eq!(rows(&v)[0]["path"], format!("/home/u/many/f{i}.rs"));
        assert_eq!(rows(&v)[0]["reads"], i % 4 + 1, "{sid}: {v}");
    }
    let calls: u64 = (0..40).map(|i| i % 4 + 1).sum();
    let v = run_json(&env, &["tools", "--project", "u/many"]);
    assert_eq!(figures(&v), (json!(calls), json!(8)), "{v}");
    assert_eq!(
        rows(&run_json(&env, &["files", "--project", "u/many"])).len(),
        40
    );
}

/// `show`'s turns table labels a prompt without text (a pasted image
/// alone) "(no text)": only turn 0 is "(before the first prompt)".
#[test]
fn show_labels_a_prompt_without_text_as_such() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-img");
    let reply = |uuid: &str, parent: &str, id: &str, at: &str| {
        json!({"type": "assistant", "uuid": uuid, "parentUuid": parent, "sessionId": "sess-img",
            "timestamp": at, "cwd": "/home/u/img",
            "message": {"id": id, "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                "content": [{"type": "text", "text": "done"}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5}}})
    };
    let lines = [
        json!({"type": "user", "uuid": "i-1", "sessionId": "sess-img", "timestamp": "2026-03-01T10:00:00.000Z",
            "cwd": "/home/u/img", "message": {"role": "user", "content": "fix the layout"}}),
        reply("i-2", "i-1", "msg_i1", "2026-03-01T10:00:02.000Z"),
        json!({"type": "user", "uuid": "i-3", "parentUuid": "i-2", "sessionId": "sess-img",
            "timestamp": "2026-03-01T10:05:00.000Z", "cwd": "/home/u/img",
            "message": {"role": "user", "content": [{"type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}}),
        reply("i-4", "i-3", "msg_i2", "2026-03-01T10:05:03.000Z"),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("sess-img.jsonl"), text).unwrap();
    env.ingest();
    let v = run_json(&env, &["show", "sess-img"]);
    let turns = v["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2, "{v}");
    assert_eq!(turns[1]["turn"], 2, "{v}");
    let table = stdout(&env, &["show", "sess-img"]);
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("2 ") && l.contains("03-01 10:05:00"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("(no text)"), "{table}");
    assert!(!table.contains("(before the first prompt)"), "{table}");
}

/// A manual compaction is the turn of the `/compact` that asked for it
/// (Claude Code writes the compaction's lines first, then the command's),
/// with its PreCompact and SessionStart hooks: the turn before ends at its
/// last event, not when the user compacted minutes later. An automatic
/// one stays in the turn it came in.
#[test]
fn show_puts_a_manual_compaction_in_its_compact_commands_turn() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-cmp");
    let line = |uuid: &str, at: &str, rest: serde_json::Value| {
        let mut l = json!({"uuid": uuid, "sessionId": "sess-cmp", "timestamp": at,
            "cwd": "/home/u/cmp"});
        l.as_object_mut()
            .unwrap()
            .extend(rest.as_object().unwrap().clone());
        l
    };
    let user = |uuid: &str, at: &str, content: &str| {
        line(
            uuid,
            at,
            json!({"type": "user",
            "message": {"role": "user", "content": content}}),
        )
    };
    let reply = |uuid: &str, at: &str, id: &str| {
        line(
            uuid,
            at,
            json!({"type": "assistant",
            "message": {"id": id, "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                "content": [{"type": "text", "text": "done"}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 5}}}),
        )
    };
    let hook = |uuid: &str, at: &str, event: &str, command: &str| {
        line(
            uuid,
            at,
            json!({"type": "attachment",
            "attachment": {"type": "hook_success", "hookName": format!("{event}:compact"),
                "hookEvent": event, "toolUseID": format!("hook-{uuid}"), "content": "",
                "exitCode": 0, "command": command, "durationMs": 40}}),
        )
    };
    let boundary = |uuid: &str, at: &str, trigger: &str| {
        line(
            uuid,
            at,
            json!({"type": "system", "subtype": "compact_boundary",
            "content": "Conversation compacted", "level": "info",
            "compactMetadata": {"trigger": trigger, "preTokens": 120000}}),
        )
    };
    let lines = [
        user("c-1", "2026-03-01T10:00:00.000Z", "fix the parser"),
        reply("c-2", "2026-03-01T10:00:35.000Z", "msg_c1"),
        // five minutes later the user types /compact
        hook("c-h1", "2026-03-01T10:04:59.900Z", "PreCompact", "pre.sh"),
        boundary("c-3", "2026-03-01T10:05:00.000Z", "manual"),
        line(
            "c-4",
            "2026-03-01T10:05:00.100Z",
            json!({"type": "user", "isCompactSummary": true,
            "message": {"role": "user", "content": "This session is being continued from a previous conversation."}}),
        ),
        line(
            "c-5",
            "2026-03-01T10:05:00.200Z",
            json!({"type": "user", "isMeta": true,
            "message": {"role": "user", "content": "Caveat: The messages below were generated by the user while running local commands."}}),
        ),
        hook(
            "c-h2",
            "2026-03-01T10:05:00.250Z",
            "SessionStart",
            "start.sh",
        ),
        user(
            "c-6",
            "2026-03-01T10:05:00.300Z",
            "<command-name>/compact</command-name>\n<command-message>compact</command-message>\n<command-args></command-args>",
        ),
        user(
            "c-7",
            "2026-03-01T10:05:00.400Z",
            "<local-command-stdout>Compacted </local-command-stdout>",
        ),
        user("c-8", "2026-03-01T10:06:00.000Z", "now the tests"),
        boundary("c-9", "2026-03-01T10:06:10.000Z", "auto"),
        reply("c-10", "2026-03-01T10:06:20.000Z", "msg_c2"),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("sess-cmp.jsonl"), text).unwrap();
    env.ingest();
    let v = run_json(&env, &["show", "sess-cmp"]);
    let turns: Vec<(u64, Option<&str>, u64)> = v["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_u64().unwrap();
            (n("turn"), t["command"].as_str(), n("duration_ms"))
        })
        .collect();
    assert_eq!(
        turns,
        vec![
            (1, None, 35_000),
            (2, Some("/compact"), 0),
            (3, None, 20_000)
        ],
        "{v}"
    );
    // (each event of a kind: one of its fields, and its turn)
    let of_kind = |kind: &str, field: &str| -> Vec<(String, u64)> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| {
                (
                    e[field].as_str().unwrap().to_owned(),
                    e["turn"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let s = |pairs: Vec<(&str, u64)>| -> Vec<(String, u64)> {
        pairs.into_iter().map(|(a, t)| (a.to_owned(), t)).collect()
    };
    assert_eq!(
        of_kind("compaction", "at"),
        s(vec![
            ("2026-03-01T10:05:00.000Z", 2),
            ("2026-03-01T10:06:10.000Z", 3)
        ]),
        "{v}"
    );
    assert_eq!(
        of_kind("hook", "event"),
        s(vec![("PreCompact", 2), ("SessionStart", 2)]),
        "{v}"
    );
}

/// `show --json` and `--csv` give each prompt as written, read back from
/// its stored line (they had the table's first 160 characters, and a slash
/// command's arguments cut with them); the table keeps those 160.
#[test]
fn show_json_and_csv_give_prompts_whole() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-long");
    let prompt = format!(
        "look at this log:\n{}\nand tell me what failed",
        "error: the build failed at step N; ".repeat(12)
    );
    let args = format!("src/ {}", "--with-a-long-argument ".repeat(10));
    let args = args.trim();
    let slash = format!(
        "<command-message>review is running…</command-message>\n<command-name>/review</command-name>\n<command-args>{args}</command-args>"
    );
    let user = |uuid: &str, at: &str, content: &str| {
        json!({"type": "user", "uuid": uuid, "sessionId": "sess-whole", "timestamp": at,
            "cwd": "/home/u/long", "message": {"role": "user", "content": content}})
    };
    let lines = [
        user("w-1", "2026-03-01T10:00:00.000Z", &prompt),
        user("w-2", "2026-03-01T10:01:00.000Z", &slash),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("sess-whole.jsonl"), text).unwrap();
    env.ingest();
    let v: Value = serde_json::from_str(&stdout(&env, &["show", "sess-whole", "--json"])).unwrap();
    let events = v["events"].as_array().unwrap();
    assert_eq!(events[0]["text"], prompt.as_str());
    assert_eq!(events[1]["text"], slash.as_str());
    assert_eq!(events[1]["command"], format!("/review {args}"));
    assert_eq!(v["turns"][0]["prompt"], prompt.as_str());
    assert_eq!(v["turns"][1]["prompt"], slash.as_str());
    let csv = stdout(&env, &["show", "sess-whole", "--csv"]);
    assert!(csv.contains(&prompt), "{csv}");
    assert!(csv.contains(&format!("/review {args}")), "{csv}");
    let table = stdout(&env, &["show", "sess-whole"]);
    assert!(
        !table.contains("what failed") && table.contains('…'),
        "{table}"
    );
}

/// A terminal that reports no size (0 columns: `script` without one, a
/// container's `exec -t` before its first resize) is taken as 80 columns,
/// not as none (a `cost` table of its cost column alone); `COLUMNS` from
/// the environment, when set, is the width either way.
#[test]
fn a_terminal_without_a_size_is_80_columns_and_columns_is_the_width() {
    if !has_script() {
        return;
    }
    let env = Env::with_fixture("reports");
    env.ingest();
    let pipe = String::from_utf8(
        env.cmd()
            .args(["cost", "--by-model", "--no-ingest"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let headers = |text: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.contains("Cost"))
            .unwrap_or_else(|| panic!("no header in:\n{text}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert!(widest(&pipe) > 80 && widest(&pipe) <= 120, "{pipe}");
    let no_size = in_terminal(&env, "cols 0 rows 0", &[], "cost --by-model");
    let eighty = in_terminal(&env, "cols 80 rows 50", &[], "cost --by-model");
    assert_eq!(no_size, eighty);
    assert!(headers(&no_size).len() >= 5, "{no_size}");
    // COLUMNS narrower than the terminal (or than a terminal of no size)
    for stty in ["cols 0 rows 0", "cols 100 rows 50"] {
        let narrow = in_terminal(&env, stty, &[("COLUMNS", "40")], "cost --by-model");
        assert!(widest(&narrow) <= 40, "{stty}:\n{narrow}");
        assert!(headers(&narrow).len() < headers(&pipe).len(), "{narrow}");
    }
    // and wider: a terminal that says 40 columns, COLUMNS 120
    let wide = in_terminal(
        &env,
        "cols 40 rows 50",
        &[("COLUMNS", "120")],
        "cost --by-model",
    );
    assert_eq!(headers(&wide), headers(&pipe), "{wide}");
}

/// `sessions`, `tools`, `hooks`, `files` and `commands` take `--session` (an id or a
/// prefix, with its subagents), as `cost` does: the ops fixture's second
/// session alone, against the answers in the header of this file.
#[test]
fn reports_take_one_session() {
    let env = Env::with_fixture("ops");
    env.ingest();
    let d = "sess-ops-d";
    let v = run_json(&env, &["files", "--session", d]);
    let files: Vec<(&str, &Value, &Value)> = rows(&v)
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), &r["reads"], &r["edits"]))
        .collect();
    assert_eq!(
        files,
        [
            ("/home/u/ops/src/main.rs", &json!(1), &json!(0)),
            ("/home/u/tools/x.rs", &json!(0), &json!(1)),
        ]
    );
    // (the copied /review is the first session's: counted there)
    let v = run_json(&env, &["commands", "--session", d]);
    let names: Vec<(&str, &Value)> = rows(&v)
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), &r["count"]))
        .collect();
    assert_eq!(names, [("/review", &json!(1)), ("pdf", &json!(1))]);
    let v = run_json(&env, &["tools", "--session", d]);
    assert_eq!(v["total"]["calls"], 3, "{v}");
    let v = run_json(&env, &["sessions", "--session", d]);
    let ids: Vec<&Value> = rows(&v).iter().map(|r| &r["session_id"]).collect();
    assert_eq!(ids, [&json!("sess-ops-d002")]);
    assert_eq!(v["total"]["tool_calls"], 3, "{v}");
    assert_eq!(run_json(&env, &["tools"])["total"]["calls"], 14);
    let err = fails(&env, &["tools", "--session", "nope"], 1);
    assert!(err.contains("no session id starts with \"nope\""), "{err}");

    let env = Env::with_fixture("basic");
    env.ingest();
    let all = run_json(&env, &["hooks"]);
    let main = run_json(&env, &["hooks", "--session", "sess-main"]);
    assert_eq!(main["total"], all["total"]);
    assert!(main["total"]["runs"].as_u64().unwrap() > 0, "{main}");
    let resumed = run_json(&env, &["hooks", "--session", "sess-resume-0002"]);
    assert_eq!(resumed["total"]["runs"], 0, "{resumed}");
    // the subagents' calls are their session's
    let v = run_json(&env, &["tools", "--session", "sess-main-0001"]);
    assert_eq!(v["total"]["calls"], 4, "{v}");
}

/// `observatory ... | head`: a report whose reader goes away ends quietly
/// with exit 0 (no "Broken pipe" error, no panic), as `watch` does.
#[test]
fn a_report_whose_reader_goes_away_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let env = Env::with_fixture("basic");
    env.ingest();
    for args in [
        &[
            "query",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n",
            "--csv",
        ][..],
        &[
            "query",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n",
            "--json",
        ],
    ] {
        let mut child = env
            .std_cmd()
            .args(args)
            .arg("--no-ingest")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?}");
        drop(out);
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.code(), Some(0), "{args:?}: {done:?}");
        assert_eq!(String::from_utf8_lossy(&done.stderr), "", "{args:?}");
    }
}

/// A report reads the lines its own ingest has just stored, never what the
/// database held before (reports start reading on a second connection while
/// their ingest looks for new lines, and read again when it stored any):
/// each report, run once after the second half of a transcript was
/// appended, equals the same report on a database that read the whole
/// transcript at once, and differs from the report on the first half.
#[test]
fn every_report_reads_what_its_own_ingest_just_stored() {
    let reports: &[(&str, &[&str])] = &[
        ("basic", &["sessions"]),
        ("basic", &["cost", "--by-session"]),
        ("basic", &["cost", "--by-day", "--by-model"]),
        ("basic", &["tools"]),
        ("basic", &["hooks"]),
        ("basic", &["blocks"]),
        ("basic", &["show", "sess-main-0001"]),
        ("ops", &["files"]),
        ("ops", &["commands"]),
        // (days that do not start on a quarter hour: read from the
        // responses, early, not from the rollup)
        ("basic", &["cost", "--by-day", "--tz", "+13:59"]),
    ];
    let transcript = |fixture: &str| match fixture {
        "basic" => "-home-u-app/sess-main-0001.jsonl",
        _ => "-home-u-ops/sess-ops-c001.jsonl",
    };
    let report = |env: &Env, args: &[&str], extra: &[&str]| -> Value {
        let zone: &[&str] = if args.contains(&"--tz") {
            &[]
        } else {
            &["--tz", "UTC"]
        };
        let out = env
            .cmd()
            .args(args)
            .arg("--json")
            .args(zone)
            .args(extra)
            .assert()
            .success();
        let mut v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        // (blocks says when it ran)
        v.as_object_mut().unwrap().remove("now");
        v
    };
    for (fixture, args) in reports {
        let whole = Env::with_fixture(fixture);
        whole.ingest();
        let expected = report(&whole, args, &["--no-ingest"]);

        let env = Env::with_fixture(fixture);
        let path = env.projects().join(transcript(fixture));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let (first, rest) = lines.split_at(lines.len() / 2);
        std::fs::write(&path, first.concat()).unwrap();
        env.ingest();
        let before = report(&env, args, &["--no-ingest"]);
        assert_ne!(
            before, expected,
            "{args:?}: the second half changes nothing"
        );
        common::append(&path, rest.concat());
        assert_eq!(report(&env, args, &[]), expected, "{fixture}: {args:?}");
        // and the next run, with nothing new, reads the same
        assert_eq!(
            report(&env, args, &[]),
            expected,
            "{fixture}: {args:?} again"
        );
    }
}

/// A first load that did not finish leaves its marker: the next run's
/// ingest deletes that database and starts over. A report run then shows
/// the new database, never the old file (which its early reads could have
/// opened before the ingest deleted it).
#[test]
fn a_report_after_an_unfinished_first_load_shows_the_database_started_over() {
    let gone = "-home-u-app/sess-resume-0002.jsonl";
    let started_over = Env::with_fixture("basic");
    std::fs::remove_file(started_over.projects().join(gone)).unwrap();
    started_over.ingest();
    let reports: [&[&str]; 3] = [
        &["sessions", "--tz", "UTC"],
        &["cost", "--by-session", "--tz", "UTC"],
        // (read early: days that do not start on a quarter hour)
        &["cost", "--by-session", "--by-day", "--tz", "+13:59"],
    ];
    for args in reports {
        // each time the whole database, and then the marker
        let env = Env::with_fixture("basic");
        env.ingest();
        std::fs::remove_file(env.projects().join(gone)).unwrap();
        let report = |env: &Env, extra: &[&str]| -> Value {
            let out = env
                .cmd()
                .args(args)
                .arg("--json")
                .args(extra)
                .assert()
                .success();
            serde_json::from_slice(&out.get_output().stdout).unwrap()
        };
        let expected = report(&started_over, &["--no-ingest"]);
        assert_ne!(
            report(&env, &["--no-ingest"]),
            expected,
            "{args:?}: the old file differs"
        );
        let mut marker = env.db_path().into_os_string();
        marker.push(".first-load");
        std::fs::write(&marker, b"").unwrap();
        assert_eq!(report(&env, &[]), expected, "{args:?}");
        assert!(!std::path::Path::new(&marker).exists());
        let sessions = run_json(&env, &["sessions", "--no-ingest"]);
        assert_eq!(sessions["rows"].as_array().unwrap().len(), 1, "{args:?}");
    }
}

/// An empty `--project` or `--model` (a script's unset variable) would
/// match everything: every command refuses it, and a budget stays as set.
#[test]
fn empty_project_and_model_filters_are_refused() {
    let env = Env::with_fixture("ops");
    env.cmd()
        .args(["budget", "set", "--daily", "5"])
        .assert()
        .success();
    for args in [
        &["cost", "--project", ""][..],
        &["sessions", "--project", " "],
        &["export", "--out", "x", "--project", ""],
        &["forget", "--project", "", "--yes"],
        &["budget", "set", "--daily", "5", "--project", ""],
    ] {
        let err = fails(&env, args, 2);
        assert!(
            err.contains("an empty one would match every project"),
            "{args:?}: {err}"
        );
    }
    for args in [
        &["cost", "--model", ""][..],
        &["cost", "--by-model", "--model", " "],
        &["budget", "set", "--daily", "7", "--model", ""],
    ] {
        let err = fails(&env, args, 2);
        assert!(
            err.contains("an empty one would match every model"),
            "{args:?}: {err}"
        );
    }
    let v = run_json(&env, &["budget", "list"]);
    assert_eq!(rows(&v).len(), 1, "{v}");
    assert_eq!(rows(&v)[0]["limit_usd"], "5", "{v}");
    assert_eq!(rows(&v)[0]["model"], Value::Null, "{v}");
}
