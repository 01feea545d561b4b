//! `sessions`, `show`, `tools`, `hooks` and `blocks` on the hand-made
//! fixtures, against answers worked out by hand (fixtures/README.md lists
//! what each fixture holds).
//!
//! Costs (Sonnet 4.5: $3 in, $15 out per MTok; the basic fixture's are in
//! tests/cost.rs):
//!   reports/ sess-blocks-a001: msg_r1 1000 in 2000 out = 0.003 + 0.030 = 0.033
//!                              msg_r2 1000 in 1000 out = 0.003 + 0.015 = 0.018
//!                              msg_r3 2000 in 1000 out = 0.006 + 0.015 = 0.021
//!                              msg_r4 1000 in    0 out = 0.003              -> 0.075
//!            sess-blocks-b002: msg_r5 10000 in 2000 out = 0.03 + 0.03  = 0.06
//!                              msg_r6  5000 in 4000 out = 0.015 + 0.06 = 0.075 -> 0.135

mod common;

use common::{Env, count};
use serde_json::{Value, json};

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

fn ids(v: &Value) -> Vec<&str> {
    rows(v)
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------- sessions

#[test]
fn sessions_on_the_basic_fixture() {
    let env = Env::with_fixture("basic");
    let v = run_json(&env, &["sessions", "--tz", "UTC"]);
    // newest first: the resumed session (2026-03-02) before the main one
    assert_eq!(ids(&v), vec!["sess-resume-0002", "sess-main-0001"]);
    let main = &rows(&v)[1];
    assert_eq!(main["project"], "/home/u/app");
    assert_eq!(main["title"], "Parser fix", "custom-title wins");
    assert_eq!(main["started_at"], "2026-03-01T10:00:00.000Z");
    // the legacy agent file of this session wrote its line at 11:00
    assert_eq!(main["ended_at"], "2026-03-01T11:00:00.000Z");
    assert_eq!(main["duration_ms"], 3_600_000);
    assert_eq!(main["has_main_thread"], true);
    // u1 only: u2, u3, u5 are tool results, u4 a compact summary; the
    // subagent's "Find callers" is not a user prompt of the session
    assert_eq!(main["user_prompts"], 1);
    // msg_A, B, C, G (main) + msg_E, msg_F (subagents); <synthetic> is not one
    assert_eq!(main["responses"], 6);
    assert_eq!(main["tool_calls"], 4);
    assert_eq!(main["tool_errors"], 1);
    assert_eq!(main["subagents"], 2);
    assert_eq!(main["compactions"], 1);
    assert_eq!(
        main["models"],
        json!([
            "claude-3-5-haiku-20241022",
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929"
        ])
    );
    // 10+15+3+20+30+7 in, 40+80+7+60+25+9 out, 1000+500 writes,
    // 2000+3000+3500+4000+1500 reads
    assert_eq!(main["input_tokens"], 85);
    assert_eq!(main["output_tokens"], 221);
    assert_eq!(main["cache_creation_tokens"], 1500);
    assert_eq!(main["cache_read_tokens"], 14000);
    assert_eq!(main["total_tokens"], 15806);
    // = cost --by-session for it: 0.0349956 - msg_D's 0.0012
    assert_eq!(main["cost_usd"], "0.0337956");
    let subs = main["subagent_sessions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["agent_id"], "a1b2c3d");
    assert_eq!(subs[0]["session_id"], "sess-main-0001");
    assert_eq!(subs[0]["parent_session_id"], "sess-main-0001");
    assert_eq!(subs[0]["title"], "Find callers", "its first prompt");
    assert_eq!(subs[0]["started_at"], "2026-03-01T10:02:01.000Z");
    assert_eq!(subs[0]["duration_ms"], 19_000);
    assert_eq!(subs[0]["user_prompts"], 1);
    assert_eq!(subs[0]["responses"], 1);
    assert_eq!(subs[0]["tool_calls"], 1);
    assert_eq!(subs[0]["cost_usd"], "0.000305");
    assert_eq!(subs[1]["agent_id"], "c8d9b115");
    assert_eq!(subs[1]["title"], Value::Null);
    assert_eq!(subs[1]["duration_ms"], 0);
    assert_eq!(subs[1]["cost_usd"], "0.0000416");

    let resume = &rows(&v)[0];
    assert_eq!(resume["title"], "continue please", "first prompt");
    assert_eq!(resume["duration_ms"], 9_000);
    assert_eq!(resume["user_prompts"], 1);
    // msg_B's copy belongs to the session that wrote it first
    assert_eq!(resume["responses"], 1);
    assert_eq!(resume["tool_calls"], 0);
    assert_eq!(resume["cost_usd"], "0.0012");
    assert_eq!(resume["subagent_sessions"], json!([]));

    assert_eq!(v["total"]["sessions"], 2);
    assert_eq!(v["total"]["subagents"], 2);
    assert_eq!(v["total"]["user_prompts"], 2);
    assert_eq!(v["total"]["responses"], 7);
    assert_eq!(v["total"]["cost_usd"], "0.0349956");
    assert_eq!(v["sort"], "start");
    assert_eq!(v["tz"], "UTC");
}

/// Workflow agents (`<session>/subagents/workflows/<run>/agent-<id>.jsonl`)
/// write `sessionId: "<session>#agent-<id>"` (`../shared`'s
/// daaain__claude-code-log/fixtures/workflow_basic): they are the session's
/// subagents, in its figures, and go with it when it is forgotten. A
/// database that stored them as sessions of their own is rebuilt on its
/// upgrade.
#[test]
fn workflow_agents_are_their_sessions_subagents() {
    let env = Env::new();
    let dir = env.projects().join("-home-u-wf");
    let run = dir.join("sess-wf-0001/subagents/workflows/wf_1");
    std::fs::create_dir_all(&run).unwrap();
    let line = |session: &str,
                agent: Option<&str>,
                uuid: &str,
                at: &str,
                usage: Option<(u32, u32)>| {
        let mut v = json!({"type": "user", "uuid": uuid, "sessionId": session, "cwd": "/home/u/wf",
            "version": "2.1.120", "timestamp": at, "isSidechain": agent.is_some(),
            "message": {"role": "user", "content": "map the loader"}});
        if let Some((input, output)) = usage {
            v["type"] = json!("assistant");
            v["message"] = json!({"id": format!("msg_{uuid}"), "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929", "stop_reason": "end_turn",
                "content": [{"type": "text", "text": "done"}],
                "usage": {"input_tokens": input, "output_tokens": output}});
        }
        if let Some(agent) = agent {
            v["agentId"] = json!(agent);
        }
        format!("{v}\n")
    };
    std::fs::write(
        dir.join("sess-wf-0001.jsonl"),
        line(
            "sess-wf-0001",
            None,
            "p-u1",
            "2026-06-04T10:00:00.000Z",
            None,
        ) + &line(
            "sess-wf-0001",
            None,
            "p-a1",
            "2026-06-04T10:00:02.000Z",
            Some((100, 50)),
        ),
    )
    .unwrap();
    std::fs::write(
        run.join("agent-w1.jsonl"),
        line(
            "sess-wf-0001#agent-w1",
            Some("w1"),
            "w1-u1",
            "2026-06-04T10:00:03.000Z",
            None,
        ) + &line(
            "sess-wf-0001#agent-w1",
            Some("w1"),
            "w1-a1",
            "2026-06-04T10:00:05.000Z",
            Some((200, 100)),
        ),
    )
    .unwrap();
    // (a line that names no agentId: the one in its sessionId)
    std::fs::write(
        run.join("agent-w2.jsonl"),
        line(
            "sess-wf-0001#agent-w2",
            None,
            "w2-a1",
            "2026-06-04T10:00:06.000Z",
            Some((10, 10)),
        ),
    )
    .unwrap();
    std::fs::write(
        run.join("journal.jsonl"),
        "{\"type\": \"started\", \"key\": \"v2:h0\", \"agentId\": \"w1\"}\n",
    )
    .unwrap();
    // Sonnet 4.5, $3 / $15 per MTok: 100 + 50, 200 + 100, 10 + 10 tokens
    let check = |env: &Env| {
        let v = run_json(env, &["sessions", "--tz", "UTC"]);
        assert_eq!(ids(&v), vec!["sess-wf-0001"]);
        let s = &rows(&v)[0];
        assert_eq!(s["responses"], 3);
        assert_eq!(s["cost_usd"], "0.00333");
        assert_eq!(s["subagents"], 2);
        let agents: Vec<&Value> = s["subagent_sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["agent_id"])
            .collect();
        assert_eq!(agents, [&json!("w1"), &json!("w2")]);
        assert_eq!(v["total"]["cost_usd"], "0.00333");
    };
    check(&env);

    // stored by a version before schema 24: the agents' threads named as
    // sessions of their own
    let db = env.db();
    db.execute_batch(
        "UPDATE threads SET session_id = session_id || '#agent-' || agent_id WHERE agent_id IS NOT NULL;
         UPDATE sessions SET session_id = session_id || '#agent-' || agent_id,
                parent_session_id = session_id || '#agent-' || agent_id
          WHERE agent_id != '';
         DROP INDEX source_files_walked;
         ALTER TABLE source_files DROP COLUMN gone;
         DROP TRIGGER cost_totals_insert; DROP TRIGGER cost_totals_update;
         DROP TRIGGER cost_totals_delete; DROP TABLE cost_totals;
         DROP TRIGGER tool_figures_call_insert; DROP TRIGGER tool_figures_call_update;
         DROP TRIGGER tool_figures_call_delete; DROP TABLE tool_figures; DROP TABLE tool_figures_dirty;
         DROP TRIGGER hook_figures_run_insert; DROP TRIGGER hook_figures_run_update;
         DROP TRIGGER hook_figures_run_delete; DROP TABLE hook_figures; DROP TABLE hook_figures_dirty;
         PRAGMA user_version = 23;",
    )
    .unwrap();
    drop(db);
    check(&env);

    let v = run_json(&env, &["forget", "--session", "sess-wf-0001", "--yes"]);
    assert_eq!(v["sessions"], 1, "{v}");
    assert_eq!(v["subagents"], 2, "{v}");
    assert_eq!(v["responses"], 3, "{v}");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM threads"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM response_rows"), 0);
}

/// The figures ingest keeps per thread (thread_figures) are what summing
/// the tables gives: after ingests that read the fixture a line at a time
/// (a response merged across ingests, tool results after their calls, a
/// copy in a resumed session), they match a cold ingest of the whole
/// fixture, and the report's own sum while a session is pending.
#[test]
fn kept_session_figures_match_a_fresh_sum_after_ingests_line_by_line() {
    let whole = Env::with_fixture("basic");
    let expected = run_json(&whole, &["sessions", "--tz", "UTC"]);

    let env = Env::with_fixture("basic");
    let files: Vec<(std::path::PathBuf, Vec<String>)> = walkdir::WalkDir::new(env.projects())
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, "").unwrap();
            (p, text.lines().map(|l| format!("{l}\n")).collect())
        })
        .collect();
    assert!(
        files.iter().any(|(_, l)| l.len() > 10),
        "a long session file"
    );
    env.ingest();
    // file by file, in the order a cold ingest reads them (which copy of a
    // tool call is read first decides its session)
    let report = || run_json(&env, &["sessions", "--tz", "UTC", "--no-ingest"]);
    let mut kept = Value::Null;
    for (path, lines) in &files {
        for (n, line) in lines.iter().enumerate() {
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
            env.ingest();
            let db = env.db();
            assert_eq!(count(&db, "SELECT count(*) FROM thread_figures_dirty"), 0);
            kept = report();
            // a pending session makes the report sum the tables itself
            db.execute("INSERT INTO thread_figures_dirty VALUES ('pending')", [])
                .unwrap();
            let summed = report();
            db.execute("DELETE FROM thread_figures_dirty", []).unwrap();
            assert_eq!(kept, summed, "after line {} of {}", n + 1, path.display());
        }
    }
    assert_eq!(count(&env.db(), "SELECT count(*) FROM thread_figures"), 4);
    assert_eq!(kept, expected);
}

#[test]
fn a_day_boundary_in_the_zone_splits_a_session() {
    let env = Env::with_fixture("basic");
    env.ingest();
    // sess-main-0001 runs 10:00Z-11:00Z on 2026-03-01. In +13:59 that is
    // 23:59 on March 1 to 00:59 on March 2: it belongs to both days.
    let s = |args: &[&str]| {
        let v = run_json(&env, args);
        ids(&v).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let plus = ["--tz", "+13:59", "--no-ingest"];
    let utc = ["--tz", "UTC", "--no-ingest"];
    fn q<'a>(day: &[&'a str], tz: &[&'a str]) -> Vec<&'a str> {
        [&["sessions"][..], day, tz].concat()
    }
    assert_eq!(
        s(&q(&["--since", "2026-03-02"], &plus)),
        vec!["sess-resume-0002", "sess-main-0001"]
    );
    assert_eq!(
        s(&q(&["--until", "2026-03-01"], &plus)),
        vec!["sess-main-0001"]
    );
    // in UTC it is all on March 1
    assert_eq!(
        s(&q(&["--since", "2026-03-02"], &utc)),
        vec!["sess-resume-0002"]
    );
    assert_eq!(
        s(&q(&["--until", "2026-03-01"], &utc)),
        vec!["sess-main-0001"]
    );
    // the table shows local times
    let t = stdout(&env, &["sessions", "--tz", "+13:59", "--no-ingest"]);
    assert!(t.contains("2026-03-01 23:59"), "{t}");
    let t = stdout(&env, &["sessions", "--tz", "UTC", "--no-ingest"]);
    assert!(
        t.contains("2026-03-01 10:00") && t.contains("Parser fix"),
        "{t}"
    );
    assert!(t.contains("└ a1b2c3d"), "subagents are nested: {t}");
}

#[test]
fn sessions_titles_sorting_limits_and_paris_midnight() {
    let env = Env::with_fixture("reports");
    let v = run_json(&env, &["sessions", "--tz", "UTC"]);
    assert_eq!(ids(&v), vec!["sess-blocks-b002", "sess-blocks-a001"]);
    let (b, a) = (&rows(&v)[0], &rows(&v)[1]);
    assert_eq!(a["title"], "Blocks and tools", "ai-title");
    assert_eq!(
        b["title"], "Fixing the midnight bug",
        "a summary whose leaf is in the session beats the first prompt"
    );
    // 08:10:00 -> 13:00:03
    assert_eq!(a["duration_ms"], 17_403_000);
    // prompts: 3 (the isMeta line, the tool results and the compact
    // summary are not prompts)
    assert_eq!(a["user_prompts"], 3);
    assert_eq!(a["responses"], 4, "the rate-limit <synthetic> line is not");
    assert_eq!(a["tool_calls"], 12);
    assert_eq!(a["tool_errors"], 3);
    assert_eq!(a["compactions"], 1);
    assert_eq!(a["cost_usd"], "0.075");
    assert_eq!(b["duration_ms"], 3_610_000);
    assert_eq!(b["cost_usd"], "0.135");
    assert_eq!(v["total"]["cost_usd"], "0.21");

    let order = |sort: &str| {
        let v = run_json(&env, &["sessions", "--sort", sort, "--no-ingest"]);
        ids(&v).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(order("cost"), vec!["sess-blocks-b002", "sess-blocks-a001"]);
    assert_eq!(
        order("duration"),
        vec!["sess-blocks-a001", "sess-blocks-b002"]
    );
    assert_eq!(order("start"), vec!["sess-blocks-b002", "sess-blocks-a001"]);
    let v = run_json(&env, &["sessions", "--sort", "duration", "--limit", "1"]);
    assert_eq!(ids(&v), vec!["sess-blocks-a001"]);
    let t = stdout(&env, &["sessions", "--limit", "1", "--no-ingest"]);
    assert!(
        t.contains(" 1 session ") && !t.contains("1 sessions"),
        "{t}"
    );
    assert!(!t.contains("Rows are whole sessions"), "{t}");
    // with a range, the table says its rows are not cut to it
    let t = stdout(&env, &["sessions", "--since", "2026-03-10", "--no-ingest"]);
    assert!(
        t.contains(
            "Rows are whole sessions that touch the range (`cost` counts only what is in it)."
        ),
        "{t}"
    );
    assert_eq!(
        v["total"]["cost_usd"], "0.075",
        "totals are of the rows shown"
    );
    assert_eq!(v["limit"], 1);

    // Paris is UTC+1 in March: session b runs 23:30 on March 10 to 00:30 on
    // March 11 there
    let paris = |day: &[&str]| {
        let args = [&["sessions", "--tz", "Europe/Paris"][..], day].concat();
        let v = run_json(&env, &args);
        ids(&v).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(paris(&["--since", "2026-03-11"]), vec!["sess-blocks-b002"]);
    assert_eq!(
        paris(&["--until", "2026-03-10"]),
        vec!["sess-blocks-b002", "sess-blocks-a001"]
    );
    let v = run_json(&env, &["sessions", "--tz", "UTC", "--since", "2026-03-11"]);
    assert_eq!(rows(&v).len(), 0);
    assert_eq!(v["total"]["sessions"], 0);
    assert_eq!(v["total"]["cost_usd"], "0");
    let v = run_json(&env, &["sessions", "--project", "nowhere"]);
    assert_eq!(rows(&v).len(), 0);
    let v = run_json(&env, &["sessions", "--project", "U/WEB"]);
    assert_eq!(rows(&v).len(), 2, "--project is case-insensitive like cost");

    let csv = stdout(&env, &["sessions", "--csv", "--sort", "cost"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("session_id,agent_id,parent_session_id,project,title,started_at"));
    assert!(
        lines[1].starts_with(
            "sess-blocks-b002,,,/home/u/web,Fixing the midnight bug,2026-03-10T22:30:00.000Z"
        ),
        "{csv}"
    );
    assert!(lines[1].ends_with(",0.135,0"), "{csv}");
    assert_eq!(lines.len(), 3);
}

// -------------------------------------------------------------------- show

fn show(env: &Env, id: &str) -> Value {
    run_json(env, &["show", id, "--tz", "UTC"])
}

fn events<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn show_a_session_as_a_timeline() {
    let env = Env::with_fixture("reports");
    let v = show(&env, "sess-blocks-a");
    assert_eq!(v["session_id"], "sess-blocks-a001");
    assert_eq!(v["title"], "Blocks and tools");
    assert_eq!(v["project"], "/home/u/web");
    let all = v["events"].as_array().unwrap();
    // 3 prompts, 4 responses, 12 tool calls, 4 hook runs (the fmt.sh
    // progress start pairs with its result), 2 API errors, 2 queue
    // operations, 1 compaction
    assert_eq!(all.len(), 28);
    let kinds: Vec<&str> = all.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..3], &["prompt", "response", "tool_call"]);
    // times never go backwards
    let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let prompts = events(&v, "prompt");
    assert_eq!(prompts.len(), 3);
    assert_eq!(prompts[0]["text"], "run the tests");
    assert_eq!(prompts[0]["at"], "2026-03-10T08:10:00.000Z");
    assert_eq!(prompts[2]["turn"], 3);

    let r = events(&v, "response");
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(r[0]["input_tokens"], 1000);
    assert_eq!(r[0]["output_tokens"], 2000);
    assert_eq!(r[0]["total_tokens"], 3000);
    assert_eq!(r[0]["cost_usd"], "0.033");
    assert_eq!(r[0]["stop_reason"], "tool_use");
    assert_eq!(r[3]["at"], "2026-03-10T13:00:00.000Z");
    assert_eq!(r[3]["turn"], 3);

    let tools = events(&v, "tool_call");
    assert_eq!(tools.len(), 12);
    // the ten Bash calls start together; shortest first
    assert_eq!(tools[0]["tool"], "Bash");
    assert_eq!(tools[0]["tool_use_id"], "toolu_b1");
    assert_eq!(tools[0]["input_summary"], "cargo test part1");
    assert_eq!(tools[0]["duration_ms"], 100);
    assert_eq!(tools[0]["is_error"], false);
    assert_eq!(tools[2]["is_error"], true, "part3 failed");
    let mcp = tools
        .iter()
        .find(|t| t["tool_use_id"] == "toolu_m2")
        .unwrap();
    assert_eq!(mcp["mcp_server"], "github");
    assert_eq!(mcp["duration_ms"], 3000);
    assert_eq!(mcp["is_error"], true);
    assert_eq!(mcp["turn"], 2);

    let hooks = events(&v, "hook");
    let outcomes: Vec<(&str, &str)> = hooks
        .iter()
        .map(|h| {
            (
                h["command"].as_str().unwrap(),
                h["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("fmt.sh", "success"),
            ("fmt.sh", "success"),
            ("check.sh", "blocking_error"),
            ("guard.sh", "blocking_error"),
        ]
    );
    assert_eq!(hooks[2]["output"], "tests failing");
    assert_eq!(hooks[2]["duration_ms"], 500);

    let errs = events(&v, "api_error");
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0]["retry_in_ms"], 2000);
    assert_eq!(errs[0]["retry_attempt"], 1);
    assert_eq!(errs[0]["max_retries"], 10);
    assert_eq!(errs[1]["status"], 429);
    assert_eq!(errs[1]["error"], "rate_limit");
    assert_eq!(errs[1]["message"], "API Error: 429 rate limited");

    let q = events(&v, "queue");
    assert_eq!(
        (q[0]["operation"].clone(), q[0]["content"].clone()),
        (json!("enqueue"), json!("and docs"))
    );
    let c = events(&v, "compaction");
    assert_eq!(
        (c[0]["trigger"].clone(), c[0]["pre_tokens"].clone()),
        (json!("auto"), json!(150000))
    );

    // turns: from the prompt to the end of the turn's last event
    let turns: Vec<(u64, u64, u64, u64, u64, Value)> = v["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["turn"].as_u64().unwrap(),
                t["duration_ms"].as_u64().unwrap(),
                t["responses"].as_u64().unwrap(),
                t["tool_calls"].as_u64().unwrap(),
                t["tool_errors"].as_u64().unwrap(),
                t["cost_usd"].clone(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        vec![
            // 08:10:00 -> the stop-hook summary at 08:11:01
            (1, 61_000, 2, 10, 2, json!("0.051")),
            // 09:10:00 -> the rate-limit message at 09:10:20
            (2, 20_000, 1, 2, 1, json!("0.021")),
            // 12:59:50 -> the compaction at 13:00:03
            (3, 13_000, 1, 0, 0, json!("0.003")),
        ]
    );

    let t = &v["total"];
    assert_eq!(t["turns"], 3);
    assert_eq!(t["user_prompts"], 3);
    assert_eq!(t["responses"], 4);
    assert_eq!(t["tool_calls"], 12);
    assert_eq!(t["tool_errors"], 3);
    assert_eq!(t["hook_runs"], 4);
    assert_eq!(t["hook_failures"], 2);
    assert_eq!(t["api_errors"], 2);
    assert_eq!(t["queue_operations"], 2);
    assert_eq!(t["compactions"], 1);
    assert_eq!(t["subagents"], 0);
    assert_eq!(t["duration_ms"], 17_403_000);
    assert_eq!(t["total_tokens"], 9000);
    assert_eq!(t["cost_usd"], "0.075");

    let table = stdout(&env, &["show", "sess-blocks-a001", "--tz", "UTC"]);
    for want in ["“run the tests”", "✗ error", "retry 1/10", "03-10 12:59:50"] {
        assert!(table.contains(want), "{want}: {table}");
    }
    let csv = stdout(&env, &["show", "sess-blocks-a001", "--csv"]);
    assert!(csv.starts_with("at,turn,agent_id,kind,detail,duration_ms,total_tokens,cost_usd,"));
    // every field of every event, a column each (it was the table's words
    // alone: is_error, the model id, the tokens, a hook's outcome only in
    // a `detail` made for people)
    assert_eq!(csv_rows(&csv).len(), 29);
    assert_csv_is_the_json(&csv, all);
}

/// `show --csv` has each of `events`' fields in a column of that name
/// (`models` space-separated, as `sessions --csv` and `blocks --csv` write
/// it; a list of objects, even an empty one, as its JSON).
fn assert_csv_is_the_json(csv: &str, events: &[Value]) {
    let rows = csv_rows(csv);
    assert_eq!(rows.len(), events.len() + 1);
    let header = &rows[0];
    for (e, row) in events.iter().zip(&rows[1..]) {
        assert_eq!(row.len(), header.len());
        for (k, want) in e.as_object().unwrap() {
            let at = header.iter().position(|h| h == k);
            let at = at.unwrap_or_else(|| panic!("no column {k}: {header:?}"));
            let want = match want {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Array(a) if k == "models" => {
                    let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                    names.join(" ")
                }
                other => other.to_string(),
            };
            assert_eq!(row[at], want, "{k} of {e}");
        }
    }
}

/// RFC 4180 rows (quoted fields may hold commas, quotes and line breaks).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn show_counts_a_session_stored_twice_once() {
    // a user's backup copy of a project folder, beside it under projects/
    let env = Env::with_fixture("reports");
    let before = show(&env, "sess-blocks-a001");
    let copy = env.projects().join("-home-u-web-bak");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(
        env.projects().join("-home-u-web/sess-blocks-a001.jsonl"),
        copy.join("sess-blocks-a001.jsonl"),
    )
    .unwrap();
    let after = show(&env, "sess-blocks-a001");
    assert_eq!(after["total"]["queue_operations"], 2);
    assert_eq!(after["events"], before["events"]);
    assert_eq!(after["total"], before["total"]);
    // two operations of one file at the same millisecond stay two
    let twice = r#"{"type": "queue-operation", "operation": "dequeue", "timestamp": "2026-03-10T13:00:02.000Z", "sessionId": "sess-blocks-a001"}"#;
    let file = env.projects().join("-home-u-web/sess-blocks-a001.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!("{twice}\n"));
    std::fs::write(&file, text).unwrap();
    assert_eq!(
        show(&env, "sess-blocks-a001")["total"]["queue_operations"],
        3
    );
}

/// An event with no time goes where its file puts it: an untimed response
/// after its prompt is that prompt's turn's, an untimed prompt after a timed
/// response starts the next turn (review s26: both went to the last turn).
#[test]
fn show_places_an_untimed_line_where_its_file_puts_it() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-t");
    let prompt = |uuid: &str, at: Option<&str>, text: &str| {
        let at = at.map_or(String::new(), |t| format!(r#""timestamp":"{t}","#));
        format!(
            r#"{{"type":"user","uuid":"{uuid}","sessionId":"s-untimed",{at}"cwd":"/home/u/t","message":{{"role":"user","content":"{text}"}}}}"#
        )
    };
    let reply = |uuid: &str, at: Option<&str>, id: &str| {
        let at = at.map_or(String::new(), |t| format!(r#""timestamp":"{t}","#));
        format!(
            r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"s-untimed",{at}"cwd":"/home/u/t","message":{{"id":"{id}","model":"claude-sonnet-4-5-20250929","role":"assistant","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":10,"output_tokens":5}}}}}}"#
        )
    };
    let lines = [
        prompt("p1", Some("2026-03-01T10:00:00Z"), "first"),
        reply("r1", Some("2026-03-01T10:00:05Z"), "msg_r1"),
        prompt("p2", Some("2026-03-01T11:00:00Z"), "second"),
        reply("r2", None, "msg_r2"),
        reply("r3", Some("2026-03-01T11:00:05Z"), "msg_r3"),
        prompt("p3", None, "third"),
    ];
    std::fs::write(dir.join("s-untimed.jsonl"), lines.join("\n") + "\n").unwrap();
    env.ingest();
    let v = show(&env, "s-untimed");
    let order: Vec<(String, Value, Value)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["at"].clone(),
                e["turn"].clone(),
            )
        })
        .collect();
    let at = |t: &str| json!(format!("2026-03-01T{t}.000Z"));
    let expected = [
        ("prompt", at("10:00:00"), 1),
        ("response", at("10:00:05"), 1),
        ("prompt", at("11:00:00"), 2),
        ("response", Value::Null, 2),
        ("response", at("11:00:05"), 2),
        ("prompt", Value::Null, 3),
    ]
    .map(|(k, a, t)| (k.to_owned(), a, json!(t)));
    assert_eq!(order, expected, "{v}");
    let turns = v["turns"].as_array().unwrap();
    let responses: Vec<&Value> = turns.iter().map(|t| &t["responses"]).collect();
    assert_eq!(responses, [&json!(1), &json!(2), &json!(0)], "{v}");
}

#[test]
fn show_links_subagents_to_their_task_call() {
    let env = Env::with_fixture("basic");
    let v = show(&env, "sess-m");
    assert_eq!(v["session_id"], "sess-main-0001");
    let task = events(&v, "tool_call")
        .into_iter()
        .find(|t| t["tool"] == "Task")
        .unwrap()
        .clone();
    assert_eq!(task["subagent_id"], "a1b2c3d");
    assert_eq!(task["duration_ms"], 30_000);
    let subs = events(&v, "subagent");
    assert_eq!(subs.len(), 2);
    let csv = stdout(&env, &["show", "sess-m", "--csv"]);
    assert_csv_is_the_json(&csv, v["events"].as_array().unwrap());
    // a subagent's models as `sessions --csv` writes them (tour-s34 F8)
    let models_of = |rows: &[Vec<String>], agent: usize| -> String {
        let col = rows[0].iter().position(|h| h == "models").unwrap();
        let row = rows.iter().find(|r| r[agent] == "a1b2c3d").unwrap();
        row[col].clone()
    };
    let sessions = csv_rows(&stdout(&env, &["sessions", "--csv"]));
    let in_show = models_of(&csv_rows(&csv), 2);
    assert_eq!(in_show, models_of(&sessions, 1));
    assert_eq!(in_show, "claude-haiku-4-5-20251001");
    let s = subs[0];
    assert_eq!(s["agent_id"], "a1b2c3d");
    assert_eq!(s["task_tool_use_id"], "toolu_task1");
    assert_eq!(s["description"], "explore");
    assert_eq!(s["started_at"], "2026-03-01T10:02:01.000Z");
    assert_eq!(s["duration_ms"], 19_000);
    assert_eq!(s["responses"], 1);
    assert_eq!(s["cost_usd"], "0.000305");
    assert_eq!(s["tool_calls"], 1);
    assert_eq!(s["tools"][0]["tool_use_id"], "toolu_grep1");
    assert_eq!(s["tools"][0]["duration_ms"], 1000);
    assert_eq!(s["tools"][0]["is_error"], false);
    // the legacy warmup agent has no Task call
    assert_eq!(subs[1]["agent_id"], "c8d9b115");
    assert_eq!(subs[1]["task_tool_use_id"], Value::Null);
    // a description is quoted; no description or title is no label
    let shown = stdout(&env, &["show", "sess-m"]);
    assert!(shown.contains("a1b2c3d “explore”: 1 response"), "{shown}");
    assert!(
        shown.contains("c8d9b115 (no Task call): 1 response"),
        "{shown}"
    );
    // only the main thread's responses and calls are events of their own
    assert_eq!(events(&v, "response").len(), 4);
    assert_eq!(events(&v, "tool_call").len(), 3);
    // the stop-hook summary lists two hooks and one error: not attributed
    let hooks = events(&v, "hook");
    let stop: Vec<(Value, Value, Value)> = hooks
        .iter()
        .filter(|h| h["event"] == "Stop")
        .map(|h| {
            (
                h["command"].clone(),
                h["outcome"].clone(),
                h["is_run"].clone(),
            )
        })
        .collect();
    assert_eq!(
        stop,
        vec![
            (Value::Null, json!("blocking_error"), json!(false)),
            (json!("notify.sh"), json!("no_result"), json!(true)),
            (json!("gate.sh"), json!("no_result"), json!(true)),
        ]
    );
    let t = &v["total"];
    assert_eq!(t["responses"], 6);
    assert_eq!(t["tool_calls"], 4);
    assert_eq!(t["subagents"], 2);
    assert_eq!(t["queue_operations"], 2);
    assert_eq!(t["cost_usd"], "0.0337956");
    // one prompt: one turn, which carries every cost of the session
    assert_eq!(v["turns"].as_array().unwrap().len(), 1);
    assert_eq!(v["turns"][0]["cost_usd"], "0.0337956");
    assert_eq!(v["turns"][0]["responses"], 6);
}

#[test]
fn show_refuses_unknown_and_ambiguous_prefixes() {
    let env = Env::with_fixture("basic");
    let out = env.cmd().args(["show", "sess-"]).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("more than one session")
            && err.contains("sess-main-0001")
            && err.contains("sess-resume-0002"),
        "{err}"
    );
    assert!(out.get_output().stdout.is_empty());
    let out = env
        .cmd()
        .args(["show", "nope", "--no-ingest"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no session id starts with \"nope\""), "{err}");
    // a subagent's id (as `sessions` lists it) names its session
    let out = env.cmd().args(["show", "a1b2c3"]).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("\"a1b2c3\" is a subagent of session sess-main-0001")
            && err.contains("`observatory show sess-main-0001`"),
        "{err}"
    );
    // an exact id works even when it prefixes nothing else
    assert_eq!(
        show(&env, "sess-resume-0002")["total"]["cost_usd"],
        "0.0012"
    );
    // "%" is not a wildcard
    env.cmd()
        .args(["show", "%", "--no-ingest"])
        .assert()
        .code(1);
    env.cmd().args(["show"]).assert().code(2);
    // an empty id is a usage error too, as an empty query is
    env.cmd()
        .args(["show", " ", "--no-ingest"])
        .assert()
        .code(2);
}

// ------------------------------------------------------------------- tools

fn find<'a>(v: &'a Value, key: &str, name: &str) -> &'a Value {
    rows(v)
        .iter()
        .find(|r| r[key] == name)
        .unwrap_or_else(|| panic!("no {key} {name}: {v}"))
}

#[test]
fn tools_error_rates_and_percentiles() {
    let env = Env::with_fixture("reports");
    let v = run_json(&env, &["tools"]);
    let names: Vec<&str> = rows(&v)
        .iter()
        .map(|r| r["tool"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Bash",
            "Read",
            "mcp__github__create_issue",
            "mcp__github__list_issues"
        ]
    );
    // Bash: durations 100, 200, ..., 1000 ms; calls 3 and 7 failed.
    // Nearest rank: p50 = the 5th of 10 = 500, p95 = the 10th = 1000.
    let bash = find(&v, "tool", "Bash");
    assert_eq!(bash["calls"], 10);
    assert_eq!(bash["errors"], 2);
    assert_eq!(bash["error_rate"], 0.2);
    assert_eq!(bash["p50_ms"], 500);
    assert_eq!(bash["p95_ms"], 1000);
    assert_eq!(bash["sessions"], 1);
    assert_eq!(bash["mcp_server"], Value::Null);
    assert_eq!(bash["no_result"], 0);
    // Read never got its result
    let read = find(&v, "tool", "Read");
    assert_eq!(
        (
            read["calls"].clone(),
            read["no_result"].clone(),
            read["p50_ms"].clone()
        ),
        (json!(1), json!(1), Value::Null)
    );
    let list = find(&v, "tool", "mcp__github__list_issues");
    assert_eq!(list["mcp_server"], "github");
    assert_eq!(list["error_rate"], 1.0);
    let servers = v["mcp_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let gh = &servers[0];
    assert_eq!(gh["mcp_server"], "github");
    assert_eq!(gh["calls"], 2);
    assert_eq!(gh["errors"], 1);
    assert_eq!(gh["error_rate"], 0.5);
    // 2000 and 3000: p50 rank 1, p95 rank 2
    assert_eq!(gh["p50_ms"], 2000);
    assert_eq!(gh["p95_ms"], 3000);
    // all 12 durations: p50 rank 6 = 600, p95 rank 12 = 3000; 3/13 errors
    let t = &v["total"];
    assert_eq!(t["calls"], 13);
    assert_eq!(t["errors"], 3);
    assert_eq!(t["error_rate"], 0.2308);
    assert_eq!(t["p50_ms"], 600);
    assert_eq!(t["p95_ms"], 3000);
    assert_eq!(t["sessions"], 2);
    assert_eq!(v["percentiles"], "nearest-rank");

    let v = run_json(&env, &["tools", "--by-project", "--no-ingest"]);
    assert!(rows(&v).iter().all(|r| r["project"] == "/home/u/web"));
    let v = run_json(&env, &["tools", "--since", "2026-03-11", "--tz", "UTC"]);
    assert_eq!(rows(&v).len(), 0);
    // no calls: no rate (it was 0.0, beside null percentiles)
    let t = &v["total"];
    assert_eq!(
        (&t["calls"], &t["error_rate"], &t["p50_ms"]),
        (&json!(0), &Value::Null, &Value::Null)
    );
    // 22:30Z-23:30Z is March 11 in Tokyo: only Read
    let v = run_json(
        &env,
        &["tools", "--since", "2026-03-11", "--tz", "Asia/Tokyo"],
    );
    assert_eq!(find(&v, "tool", "Read")["calls"], 1);
    assert_eq!(rows(&v).len(), 1);

    let csv = stdout(&env, &["tools", "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "kind,tool,mcp_server,calls,errors,error_rate,no_result,p50_ms,p95_ms,sessions"
    );
    assert_eq!(lines[1], "tool,Bash,,10,2,0.2,0,500,1000,1");
    assert_eq!(lines[5], "mcp_server,,github,2,1,0.5,0,2000,3000,1");
    let table = stdout(&env, &["tools"]);
    assert!(
        table.contains("20.0%") && table.contains("MCP server"),
        "{table}"
    );
    // the table shows the calls without a result too (Read's 1 of 1)
    let read = table.lines().find(|l| l.starts_with(" Read ")).unwrap();
    let cells: Vec<&str> = read.split_whitespace().collect();
    assert!(table.contains(" No result "), "{table}");
    assert_eq!(cells[1..5], ["1", "0", "0.0%", "1"], "{table}");
}

/// The reports and basic fixtures, and the public corpus when `../shared`
/// is here (said when it is not), each in an Env of its own.
fn reports_basic_and_public() -> Vec<Env> {
    let mut envs = vec![Env::with_fixture("reports"), Env::with_fixture("basic")];
    match common::shared().map(|s| s.join("corpus/public")) {
        Some(public) => {
            let env = Env::new();
            std::fs::remove_dir(env.projects()).unwrap();
            std::os::unix::fs::symlink(public, env.projects()).unwrap();
            envs.push(env);
        }
        None => eprintln!("the public corpus is left out: ../shared is not here"),
    }
    envs
}

/// `tools` with no time range reads `tool_figures` (schema 30: the calls
/// summed per thread and tool) while nothing is noted since the ingest
/// summed them, and every call otherwise: both give the same report, for
/// every grouping and filter, through an ingest that completes a call and
/// adds one, a `forget` and a rebuild; a change to tool_figures by hand is
/// not read, and the next ingest sums it again.
#[test]
fn tools_read_from_the_sums_per_thread_is_the_report_of_every_call() {
    let envs = reports_basic_and_public();
    let noted = |env: &Env| count(&env.db(), "SELECT count(*) FROM tool_figures_dirty");
    // the report from the sums, then from every call (the sums noted stale)
    let both = |env: &Env, args: &[&str]| {
        let summed = run_json(env, &[&["tools"], args].concat());
        assert_eq!(
            noted(env),
            0,
            "{args:?}: the ingest summed every noted thread"
        );
        env.db()
            .execute("INSERT INTO tool_figures_dirty(thread) VALUES (-1)", [])
            .unwrap();
        let scanned = run_json(env, &[&["tools", "--no-ingest"], args].concat());
        // (the sums were whole: the next ingest sums only what it notes)
        env.db()
            .execute("DELETE FROM tool_figures_dirty WHERE thread = -1", [])
            .unwrap();
        (summed, scanned)
    };
    let check = |env: &Env, when: &str| {
        let session: String = env
            .db()
            .query_row(
                "SELECT t.session_id FROM tool_call_rows c JOIN threads t ON t.id = c.thread
                 GROUP BY t.session_id ORDER BY count(*) DESC, t.session_id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let cases: [&[&str]; 5] = [
            &[],
            &["--by-project"],
            &["--project", "u"],
            &["--session", &session],
            &["--session", &session, "--by-project"],
        ];
        for args in cases {
            let (summed, scanned) = both(env, args);
            assert_eq!(summed, scanned, "{when} {args:?}");
        }
        assert!(
            count(&env.db(), "SELECT count(*) FROM tool_figures") > 0,
            "{when}"
        );
    };
    for env in &envs {
        env.ingest();
        check(env, "ingested");
    }
    // the reports fixture: a call's result and a new call, read in a
    // second ingest
    let env = &envs[0];
    let before = run_json(env, &["tools"]);
    let f = env.projects().join("-home-u-web/sess-blocks-b002.jsonl");
    let text = std::fs::read_to_string(&f).unwrap();
    let read = text
        .lines()
        .find(|l| l.contains(r#""name": "Read""#))
        .unwrap();
    let use_id = read
        .split(r#""type": "tool_use", "id": ""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let result = format!(
        r#"{{"type":"user","uuid":"tf-1","sessionId":"sess-blocks-b002","timestamp":"2026-03-10T23:40:00.000Z","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"{use_id}","content":"ok"}}]}}}}"#
    );
    let new_call = r#"{"type":"assistant","uuid":"tf-2","sessionId":"sess-blocks-a001","timestamp":"2026-03-10T23:41:00.000Z","message":{"id":"msg_tf2","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","id":"toolu_tf2","name":"Grep","input":{"pattern":"x"}}],"usage":{"input_tokens":1,"output_tokens":1}}}"#;
    // (the new call in the other session: the result alone notes its
    // thread, through the update of its call)
    common::append(&f, format!("{result}\n").as_bytes());
    let other = env.projects().join("-home-u-web/sess-blocks-a001.jsonl");
    common::append(&other, format!("{new_call}\n").as_bytes());
    check(env, "appended");
    let after = run_json(env, &["tools"]);
    assert_ne!(after, before, "the appended lines changed the report");
    assert_eq!(find(&after, "tool", "Read")["no_result"], 0);
    assert_eq!(find(&after, "tool", "Grep")["calls"], 1);
    // by hand: a row changed is not read; the next ingest sums it again
    let db = env.db();
    db.execute(
        "UPDATE tool_figures SET calls = calls + 5 WHERE name = 'Bash'",
        [],
    )
    .unwrap();
    drop(db);
    assert_eq!(run_json(env, &["tools", "--no-ingest"]), after);
    assert_eq!(run_json(env, &["tools"]), after);
    assert_eq!(noted(env), 0);
    // forget a session, then a rebuild
    env.cmd()
        .args(["forget", "--session", "sess-blocks-a001", "--yes"])
        .assert()
        .success();
    check(env, "forgotten");
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    check(env, "rebuilt");
}

/// `hooks` with no time range reads `hook_figures` (schema 31: the runs
/// summed per thread, event and command) while nothing is noted since the
/// ingest summed them, and pairs every hook row otherwise: both give the
/// same report, for every filter, through ingests that add a start and
/// then its result from another thread of the session (runs pair within a
/// session: the start's thread, not noted, is summed again), a `forget`
/// and a rebuild; a change to hook_figures by hand is not read, and the
/// next ingest sums it again.
#[test]
fn hooks_read_from_the_sums_per_thread_are_the_report_of_every_run() {
    let envs = reports_basic_and_public();
    let noted = |env: &Env| count(&env.db(), "SELECT count(*) FROM hook_figures_dirty");
    let check = |env: &Env, when: &str| -> Value {
        // (the session with the most hook rows, if any is left)
        let session: Option<String> = env
            .db()
            .query_row(
                "SELECT t.session_id FROM hook_run_rows h JOIN threads t ON t.id = h.thread
                 GROUP BY t.session_id ORDER BY count(*) DESC, t.session_id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok();
        let mut cases: Vec<Vec<&str>> =
            vec![vec![], vec!["--project", "u"], vec!["--project", "nowhere"]];
        cases.extend(session.iter().map(|s| vec!["--session", s.as_str()]));
        let mut all = Value::Null;
        for args in &cases {
            let summed = run_json(env, &[&["hooks"], &args[..]].concat());
            assert_eq!(noted(env), 0, "{when} {args:?}: the ingest summed all");
            env.db()
                .execute("INSERT INTO hook_figures_dirty(thread) VALUES (-1)", [])
                .unwrap();
            let paired = run_json(env, &[&["hooks", "--no-ingest"], &args[..]].concat());
            // (the sums were whole: the next ingest sums only what it notes)
            env.db()
                .execute("DELETE FROM hook_figures_dirty WHERE thread = -1", [])
                .unwrap();
            assert_eq!(summed, paired, "{when} {args:?}");
            if args.is_empty() {
                all = summed;
            }
        }
        assert_eq!(
            count(&env.db(), "SELECT count(*) FROM hook_figures") > 0,
            count(&env.db(), "SELECT count(*) FROM hook_run_rows") > 0,
            "{when}"
        );
        all
    };
    for env in &envs {
        env.ingest();
        check(env, "ingested");
    }
    let env = &envs[0];
    let fmt = |v: &Value| find_hook(v, "PostToolUse", "fmt.sh").clone();
    let before = fmt(&check(env, "again"));
    assert_eq!(
        (&before["runs"], &before["no_result"]),
        (&json!(2), &json!(0))
    );
    // a start with no result yet: a run without one, in the main thread
    let main = env.projects().join("-home-u-web/sess-blocks-a001.jsonl");
    let line = |uuid: &str, agent: &str, at: &str, rest: &str| {
        format!(
            r#"{{"uuid":"{uuid}","sessionId":"sess-blocks-a001",{agent}"cwd":"/home/u/web","timestamp":"2026-03-10T{at}Z",{rest}}}"#
        ) + "\n"
    };
    common::append(
        &main,
        line(
            "hf-1",
            "",
            "13:10:00.000",
            r#""type":"progress","toolUseID":"toolu_hf","parentToolUseID":"toolu_hf","data":{"type":"hook_progress","hookEvent":"PostToolUse","hookName":"PostToolUse:Bash","command":"fmt.sh"}"#,
        ),
    );
    let started = fmt(&check(env, "started"));
    assert_eq!(
        (&started["runs"], &started["no_result"]),
        (&json!(3), &json!(1))
    );
    // its result, and a failure, from a subagent's transcript: the start
    // pairs with the result and is no run of its own
    let agent = env
        .projects()
        .join("-home-u-web/sess-blocks-a001/subagents/agent-hf.jsonl");
    std::fs::create_dir_all(agent.parent().unwrap()).unwrap();
    let success = r#""type":"attachment","isSidechain":true,"attachment":{"type":"hook_success","hookName":"PostToolUse:Bash","hookEvent":"PostToolUse","toolUseID":"toolu_hf","content":"","exitCode":0,"command":"fmt.sh","durationMs":70}"#;
    let failure = r#""type":"attachment","isSidechain":true,"attachment":{"type":"hook_non_blocking_error","hookName":"PostToolUse:Bash","hookEvent":"PostToolUse","toolUseID":"toolu_hf2","stderr":"fmt: bad file","exitCode":1,"command":"fmt.sh","durationMs":90}"#;
    std::fs::write(
        &agent,
        line("hf-2", r#""agentId":"hf","#, "13:10:01.000", success)
            + &line("hf-3", r#""agentId":"hf","#, "13:11:00.000", failure),
    )
    .unwrap();
    let paired = fmt(&check(env, "paired"));
    assert_eq!(
        (
            &paired["runs"],
            &paired["no_result"],
            &paired["non_blocking_errors"],
            &paired["last_failure"]
        ),
        (&json!(4), &json!(0), &json!(1), &json!("fmt: bad file")),
        "{paired}"
    );
    // a hook row of no thread (a line naming no session): noted as 0, the
    // re-sum pairs everything again
    let loose = env.projects().join("-home-u-web/loose.jsonl");
    let row = json!({"type": "attachment", "uuid": "hf-4", "cwd": "/home/u/web",
        "timestamp": "2026-03-10T13:12:00.000Z",
        "attachment": {"type": "hook_non_blocking_error", "hookName": "PostToolUse:Bash",
            "hookEvent": "PostToolUse", "toolUseID": "toolu_hf4", "stderr": "no session",
            "exitCode": 1, "command": "fmt.sh", "durationMs": 20}});
    std::fs::write(&loose, format!("{row}\n")).unwrap();
    let loose_run = fmt(&check(env, "no thread"));
    assert_eq!(
        (&loose_run["runs"], &loose_run["last_failure"]),
        (&json!(5), &json!("no session")),
        "{loose_run}"
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM hook_figures WHERE thread = 0"
        ),
        1
    );
    // by hand: a row changed is not read; the next ingest sums it again
    let after = run_json(env, &["hooks"]);
    env.db()
        .execute("UPDATE hook_figures SET runs = runs + 5", [])
        .unwrap();
    assert_eq!(run_json(env, &["hooks", "--no-ingest"]), after);
    assert_eq!(run_json(env, &["hooks"]), after);
    assert_eq!(noted(env), 0);
    env.cmd()
        .args(["forget", "--session", "sess-blocks-a001", "--yes"])
        .assert()
        .success();
    // (the fixture's hooks are all that session's: only the run of no
    // thread is left)
    let left = check(env, "forgotten");
    assert_eq!(left["total"]["runs"], 1, "{left}");
    assert_eq!(fmt(&left)["last_failure"], "no session", "{left}");
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    check(env, "rebuilt");
}

fn find_hook<'a>(v: &'a Value, event: &str, command: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == event && r["command"] == command)
        .unwrap_or_else(|| panic!("no {event} {command} row in {v}"))
}

/// A user line with nothing typed (no `content`, an empty list, a message
/// that is no object, no message at all, blank text, a block of no type)
/// is no prompt (an image alone is one): it neither counts
/// in `sessions` nor opens a turn in `show` (tour-s35 F4: each was an
/// empty "" prompt). A database that stored one as a prompt (schema 31)
/// is rebuilt from its raw lines by the next ingest.
#[test]
fn user_lines_with_nothing_typed_are_no_prompts() {
    let env = Env::new();
    let dir = env.project_dir("-e");
    let line = |uuid: &str, at: &str, rest: &str| {
        format!(
            r#"{{"type":"user","sessionId":"cl-1","uuid":"{uuid}","timestamp":"2026-03-01T10:00:{at}.000Z","cwd":"/e",{rest}}}"#
        ) + "\n"
    };
    let text = [
        line(
            "c1",
            "00",
            r#""message":{"role":"user","content":"real prompt"}"#,
        ),
        line(
            "c2",
            "05",
            r#""toolUseResult":"File created","message":{"role":"user"}"#,
        ),
        line("c3", "06", r#""message":"error""#),
        line("c4", "07", r#""message":{"role":"user","content":[]}"#),
        line("c5", "08", r#""isMeta":false"#),
        line(
            "c6",
            "09",
            r#""message":{"role":"user","content":[{"type":"text","text":"second"}]}"#,
        ),
        // (review-s35 L1: blank text, an empty text block, a block of no type)
        line("c7", "10", r#""message":{"role":"user","content":""}"#),
        line("c8", "11", r#""message":{"role":"user","content":"  \n "}"#),
        line(
            "c9",
            "12",
            r#""message":{"role":"user","content":[{"type":"text","text":""}]}"#,
        ),
        line("c10", "13", r#""message":{"role":"user","content":[null]}"#),
        // (an image alone is a prompt)
        line(
            "c11",
            "14",
            r#""message":{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}"#,
        ),
    ]
    .concat();
    std::fs::write(dir.join("cl-1.jsonl"), text).unwrap();
    env.ingest();
    let prompts = |env: &Env| {
        let sessions = run_json(env, &["sessions", "--no-ingest"]);
        let show = run_json(env, &["show", "cl-1", "--no-ingest"]);
        (
            sessions["rows"][0]["user_prompts"].clone(),
            show["total"]["user_prompts"].clone(),
        )
    };
    assert_eq!(prompts(&env), (json!(3), json!(3)));
    // an ordinary database (every prompt typed, an image one too) is not
    // rebuilt by the upgrade
    env.db().execute_batch("PRAGMA user_version = 31").unwrap();
    assert_eq!(env.ingest()["rebuilt_lines"], 0);
    // as schema 31 stored them: every user line a prompt
    let db = env.db();
    db.execute_batch(
        "UPDATE message_rows SET is_prompt = 1
          WHERE line_id IN (SELECT id FROM lines WHERE type = 'user');
         PRAGMA user_version = 31;",
    )
    .unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM message_rows WHERE is_prompt = 1"),
        11
    );
    drop(db);
    let summary = env.ingest();
    assert_eq!(summary["rebuilt_lines"], 11, "{summary}");
    assert_eq!(prompts(&env), (json!(3), json!(3)));
}

/// A failed Stop hook whose summary has no stop reason: the failure's
/// text is the first of `hookErrors` (tour-s35 F5: the last failure was
/// blank), for one listed hook and for several (the unnamed row); a stop
/// reason, when there is one, still goes first.
#[test]
fn a_stop_hook_failure_without_a_stop_reason_keeps_its_error_text() {
    let env = Env::new();
    let dir = env.project_dir("-h");
    let summary = |uuid: &str, session: &str, at: &str, commands: &[&str], reason: &str| {
        let infos: Vec<Value> = commands
            .iter()
            .map(|c| json!({"command": c, "durationMs": 10}))
            .collect();
        json!({"type": "system", "subtype": "stop_hook_summary", "sessionId": session,
            "uuid": uuid, "timestamp": format!("2026-03-01T10:00:{at}.000Z"), "cwd": "/h",
            "hookCount": commands.len(), "hookInfos": infos,
            "hookErrors": [{"not": "text"}, "", "check.sh: 3 tests failed"],
            "preventedContinuation": false, "stopReason": reason, "toolUseID": format!("stop-{uuid}")})
        .to_string()
            + "\n"
    };
    std::fs::write(
        dir.join("se-1.jsonl"),
        summary("e1", "se-1", "02", &["check.sh"], ""),
    )
    .unwrap();
    std::fs::write(
        dir.join("se-2.jsonl"),
        summary("e2", "se-2", "03", &["a.sh", "b.sh"], "")
            + &summary("e3", "se-2", "01", &["c.sh"], "tests failing"),
    )
    .unwrap();
    env.ingest();
    let v = run_json(&env, &["hooks"]);
    let failure = |command: Option<&str>| {
        let row = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["command"] == json!(command))
            .unwrap_or_else(|| panic!("no {command:?} row in {v}"));
        row["last_failure"].clone()
    };
    assert_eq!(failure(Some("check.sh")), "check.sh: 3 tests failed");
    assert_eq!(failure(None), "check.sh: 3 tests failed");
    assert_eq!(failure(Some("c.sh")), "tests failing");
    let show = run_json(&env, &["show", "se-1", "--no-ingest"]);
    assert!(
        show.to_string().contains("check.sh: 3 tests failed"),
        "{show}"
    );
}

/// `show --json`'s `total.turns` counts turn 0 (what came before the first
/// prompt) when it holds work, a response here (tour-s35 F7: it left turn
/// 0 out, and a session of subagent work alone had 0 turns), and not when
/// it holds a hook's note alone (review-s35 M2).
#[test]
fn shows_total_turns_count_the_turns_it_lists() {
    let env = Env::new();
    let dir = env.project_dir("-t");
    let response = |uuid: &str, at: &str| {
        json!({"type": "assistant", "sessionId": "tz-1", "uuid": uuid, "cwd": "/t",
            "timestamp": format!("2026-03-01T10:00:{at}.000Z"),
            "message": {"id": format!("msg_{uuid}"), "model": "claude-sonnet-4-5-20250929",
                "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}})
        .to_string()
            + "\n"
    };
    let prompt = json!({"type": "user", "sessionId": "tz-1", "uuid": "p1", "cwd": "/t",
        "timestamp": "2026-03-01T10:00:05.000Z", "message": {"role": "user", "content": "go on"}})
    .to_string()
        + "\n";
    std::fs::write(
        dir.join("tz-1.jsonl"),
        response("r0", "00") + &prompt + &response("r1", "06"),
    )
    .unwrap();
    env.ingest();
    let v = run_json(&env, &["show", "tz-1"]);
    let numbers = |v: &Value| -> Vec<Value> {
        v["turns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["turn"].clone())
            .collect()
    };
    assert_eq!(numbers(&v), [json!(0), json!(1)], "{v}");
    assert_eq!(v["total"]["turns"], 2, "{v}");
    assert_eq!(v["total"]["user_prompts"], 1, "{v}");
    // a turn 0 of a SessionStart hook's note alone is listed, and is no
    // turn of work (review-s35 M2)
    let note = json!({"type": "attachment", "sessionId": "tz-2", "uuid": "n0", "cwd": "/t",
        "timestamp": "2026-03-01T11:00:00.000Z",
        "attachment": {"type": "hook_additional_context", "hookName": "SessionStart:startup",
            "hookEvent": "SessionStart", "toolUseID": "SessionStart", "content": ["branch main"]}})
    .to_string()
        + "\n";
    let prompt = prompt
        .replace("tz-1", "tz-2")
        .replace("10:00:05", "11:00:05")
        .replace(r#""p1""#, r#""p2""#);
    let response = response("r2", "06")
        .replace("tz-1", "tz-2")
        .replace("T10:", "T11:");
    std::fs::write(dir.join("tz-2.jsonl"), note + &prompt + &response).unwrap();
    env.ingest();
    let v = run_json(&env, &["show", "tz-2"]);
    assert_eq!(numbers(&v), [json!(0), json!(1)], "{v}");
    assert_eq!(v["total"]["turns"], 1, "{v}");
}

#[test]
fn tools_on_the_basic_fixture_count_each_call_once() {
    let env = Env::with_fixture("basic");
    let v = run_json(&env, &["tools"]);
    // toolu_edit1 is copied into the resumed session: still one call
    let edit = find(&v, "tool", "Edit");
    assert_eq!(
        (
            edit["calls"].clone(),
            edit["errors"].clone(),
            edit["error_rate"].clone()
        ),
        (json!(1), json!(1), json!(1.0))
    );
    assert_eq!(edit["p50_ms"], 1250);
    assert_eq!(find(&v, "tool", "Task")["p95_ms"], 30_000);
    // 1000, 1250, 2500, 30000: p50 rank 2, p95 rank 4
    assert_eq!(v["total"]["calls"], 4);
    assert_eq!(v["total"]["error_rate"], 0.25);
    assert_eq!(v["total"]["p50_ms"], 1250);
    assert_eq!(v["total"]["p95_ms"], 30_000);
    assert_eq!(v["mcp_servers"], json!([]));
}

// ------------------------------------------------------------------- hooks

#[test]
fn hooks_per_event_and_command() {
    let env = Env::with_fixture("basic");
    let v = run_json(&env, &["hooks"]);
    type Counts = (Value, Value, u64, u64, u64, u64, u64, u64);
    let got: Vec<Counts> = rows(&v)
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (
                r["event"].clone(),
                r["command"].clone(),
                n("runs"),
                n("successes"),
                n("non_blocking_errors"),
                n("blocking_errors"),
                n("prevented_continuations"),
                n("no_result"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("PostToolUse"), json!("fmt.sh"), 1, 0, 1, 0, 0, 0),
            (json!("PostToolUse"), json!("lint.sh"), 1, 1, 0, 0, 0, 0),
            // a progress start with no result (callbacks never write one)
            (json!("PreToolUse"), json!("callback"), 1, 0, 0, 0, 0, 1),
            // the stop-hook summary: 1 error and a prevented continuation
            // among two hooks, which one is not written
            (json!("Stop"), Value::Null, 0, 0, 0, 1, 1, 0),
            (json!("Stop"), json!("gate.sh"), 1, 0, 0, 0, 0, 1),
            (json!("Stop"), json!("notify.sh"), 1, 0, 0, 0, 0, 1),
        ]
    );
    let fmt = &rows(&v)[0];
    assert_eq!(fmt["last_failure"], "formatter crashed");
    assert_eq!(fmt["last_failure_at"], "2026-03-01T10:00:10.300Z");
    assert_eq!(
        (fmt["p50_ms"].clone(), fmt["p95_ms"].clone()),
        (json!(7), json!(7))
    );
    assert_eq!(rows(&v)[3]["last_failure"], "gate said no");
    assert_eq!(rows(&v)[5]["p50_ms"], 120);
    // durations 42, 7, 120, 30: p50 rank 2 = 30, p95 rank 4 = 120
    let t = &v["total"];
    assert_eq!(t["runs"], 5);
    assert_eq!(t["p50_ms"], 30);
    assert_eq!(t["p95_ms"], 120);
}

#[test]
fn hooks_blocking_errors_and_a_named_stop_hook() {
    let env = Env::with_fixture("reports");
    let v = run_json(&env, &["hooks"]);
    assert_eq!(rows(&v).len(), 3);
    let fmt = find(&v, "command", "fmt.sh");
    // a progress start + its success is one run; 40 and 60 ms
    assert_eq!(
        (fmt["runs"].clone(), fmt["successes"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(
        (fmt["p50_ms"].clone(), fmt["p95_ms"].clone()),
        (json!(40), json!(60))
    );
    assert_eq!(fmt["last_failure"], Value::Null);
    let guard = find(&v, "command", "guard.sh");
    assert_eq!(guard["event"], "PreToolUse");
    assert_eq!(guard["blocking_errors"], 1);
    assert_eq!(guard["last_failure"], "denied: gh issue");
    // a summary that lists one hook: its error is that hook's
    let check = find(&v, "command", "check.sh");
    assert_eq!(check["event"], "Stop");
    assert_eq!(
        (
            check["runs"].clone(),
            check["blocking_errors"].clone(),
            check["prevented_continuations"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );
    assert_eq!(check["last_failure"], "tests failing");
    assert_eq!(check["p50_ms"], 500);
    let v = run_json(&env, &["hooks", "--until", "2026-03-09", "--tz", "UTC"]);
    assert_eq!(rows(&v).len(), 0);
    assert_eq!(v["total"]["runs"], 0);
    let csv = stdout(&env, &["hooks", "--csv"]);
    assert!(csv.starts_with("event,command,runs,successes,non_blocking_errors,blocking_errors,prevented_continuations,no_result,p50_ms,p95_ms,last_failure_at,last_failure\r\n"));
    assert!(
        csv.contains("PreToolUse,guard.sh,1,0,0,1,0,0,,,2026-03-10T09:10:05.500Z,denied: gh issue"),
        "{csv}"
    );
    assert!(stdout(&env, &["hooks"]).contains("denied: gh issue"));
}

#[test]
fn a_stop_hook_written_twice_by_claude_code_2_1_is_one_run() {
    // 2.1.114: the hook's attachment result, then the stop-hook summary
    // listing the same hook (same toolUseID and command); for a subagent
    // the attachment says SubagentStop and the summary nothing but Stop
    let env = Env::new();
    let dir = env.project_dir("-p");
    let attachment = |uuid: &str, tool: &str, event: &str, kind: &str, ms: &str| {
        format!(
            r#"{{"parentUuid":null,"attachment":{{"type":"{kind}","hookName":"{event}","toolUseID":"{tool}","hookEvent":"{event}","stderr":"boom","stdout":"","exitCode":1,"command":"./check.sh","durationMs":50}},"type":"attachment","uuid":"{uuid}","timestamp":"2026-04-18T13:34:{ms}.781Z","cwd":"/p","sessionId":"e1","version":"2.1.114"}}"#
        )
    };
    let summary = |uuid: &str, tool: &str, errors: &str, ms: &str| {
        format!(
            r#"{{"parentUuid":null,"type":"system","subtype":"stop_hook_summary","hookCount":1,"hookInfos":[{{"command":"./check.sh","durationMs":50}}],"hookErrors":[{errors}],"preventedContinuation":false,"stopReason":"","hasOutput":true,"level":"suggestion","timestamp":"2026-04-18T13:34:{ms}.782Z","uuid":"{uuid}","toolUseID":"{tool}","cwd":"/p","sessionId":"e1","version":"2.1.114"}}"#
        )
    };
    let lines = [
        attachment("u1", "t1", "Stop", "hook_non_blocking_error", "10"),
        summary(
            "u2",
            "t1",
            r#""Failed with non-blocking status code 1: boom""#,
            "10",
        ),
        attachment("u3", "t2", "SubagentStop", "hook_success", "20"),
        summary("u4", "t2", "", "20"),
    ];
    std::fs::write(dir.join("e1.jsonl"), lines.join("\n") + "\n").unwrap();
    let v = run_json(&env, &["hooks"]);
    let got: Vec<(Value, Value, Value, Value, Value)> = rows(&v)
        .iter()
        .map(|r| {
            (
                r["event"].clone(),
                r["runs"].clone(),
                r["successes"].clone(),
                r["non_blocking_errors"].clone(),
                r["blocking_errors"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("Stop"), json!(1), json!(0), json!(1), json!(0)),
            (
                json!("SubagentStop"),
                json!(1),
                json!(1),
                json!(0),
                json!(0)
            ),
        ]
    );
    let shown = stdout(&env, &["show", "e1"]);
    assert!(shown.contains("2 hook runs (1 failed)"), "{shown}");
}

#[test]
fn a_turn_ends_with_its_work_not_with_the_next_prompts_queue() {
    // 2.0.37 (as in daaain's coderabbit-review-helper session): each
    // prompt is enqueued and dequeued a few ms before its line; a warmup
    // subagent days before the first prompt is turn 0's
    let env = Env::new();
    let dir = env.projects().join("-p");
    std::fs::create_dir_all(dir.join("q1/subagents")).unwrap();
    let queue = |op: &str, at: &str, text: &str| match op {
        "enqueue" => format!(
            r#"{{"type":"queue-operation","operation":"enqueue","timestamp":"{at}","content":[{{"type":"text","text":"{text}"}}],"sessionId":"q1"}}"#
        ),
        _ => format!(
            r#"{{"type":"queue-operation","operation":"dequeue","timestamp":"{at}","sessionId":"q1"}}"#
        ),
    };
    let prompt = |uuid: &str, at: &str, text: &str| {
        format!(
            r#"{{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/p","sessionId":"q1","version":"2.0.37","type":"user","message":{{"role":"user","content":[{{"type":"text","text":"{text}"}}]}},"uuid":"{uuid}","timestamp":"{at}"}}"#
        )
    };
    let response = |uuid: &str, parent: &str, at: &str| {
        format!(
            r#"{{"parentUuid":"{parent}","isSidechain":false,"userType":"external","cwd":"/p","sessionId":"q1","version":"2.0.37","type":"assistant","message":{{"id":"msg_{uuid}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"done"}}],"stop_reason":"end_turn","usage":{{"input_tokens":10,"output_tokens":5}}}},"uuid":"{uuid}","timestamp":"{at}"}}"#
        )
    };
    let lines = [
        queue("enqueue", "2025-11-17T11:23:23.498Z", "first"),
        queue("dequeue", "2025-11-17T11:23:23.504Z", ""),
        prompt("p1", "2025-11-17T11:23:23.510Z", "first"),
        response("r1", "p1", "2025-11-17T11:23:53.510Z"),
        queue("enqueue", "2025-11-17T11:34:50.214Z", "second"),
        queue("dequeue", "2025-11-17T11:34:50.214Z", ""),
        prompt("p2", "2025-11-17T11:34:50.220Z", "second"),
        response("r2", "p2", "2025-11-17T11:35:00.220Z"),
        // typed while nothing ran, never sent: turn 2's, not its time
        queue("enqueue", "2025-11-17T12:00:00.000Z", "third"),
    ];
    std::fs::write(dir.join("q1.jsonl"), lines.join("\n") + "\n").unwrap();
    let warmup = r#"{"parentUuid":null,"isSidechain":true,"userType":"external","cwd":"/p","sessionId":"q1","version":"2.0.37","agentId":"w1","type":"assistant","message":{"id":"msg_w1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5}},"uuid":"w1","timestamp":"2025-11-14T17:21:06.000Z"}"#;
    std::fs::write(
        dir.join("q1/subagents/agent-w1.jsonl"),
        format!("{warmup}\n"),
    )
    .unwrap();
    let v = show(&env, "q1");
    let turns: Vec<(Value, Value, Value)> = v["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["turn"].clone(),
                t["started_at"].clone(),
                t["duration_ms"].clone(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        vec![
            (json!(0), json!("2025-11-14T17:21:06.000Z"), json!(0)),
            (json!(1), json!("2025-11-17T11:23:23.510Z"), json!(30_000)),
            (json!(2), json!("2025-11-17T11:34:50.220Z"), json!(10_000)),
        ]
    );
    assert_eq!(v["total"]["queue_operations"], 5);
    let queue_turns: Vec<Value> = events(&v, "queue")
        .iter()
        .map(|e| e["turn"].clone())
        .collect();
    assert_eq!(queue_turns, [1, 1, 2, 2, 2]);

    // no warmup: no turn 0, its prompt's queue operations are turn 1's
    let q2: Vec<String> = lines[..4]
        .iter()
        .map(|l| {
            // (another session: its own ids)
            l.replace("\"q1\"", "\"q2\"")
                .replace("p1\"", "q2-p1\"")
                .replace("r1\"", "q2-r1\"")
        })
        .collect();
    std::fs::write(dir.join("q2.jsonl"), q2.join("\n") + "\n").unwrap();
    let v = show(&env, "q2");
    let turns: Vec<(Value, Value)> = v["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["turn"].clone(), t["duration_ms"].clone()))
        .collect();
    assert_eq!(turns, vec![(json!(1), json!(30_000))]);
}

#[test]
fn a_hook_note_is_no_run() {
    // 2.1.114 (as in daaain's real_projects): each hook's hook_success,
    // then one hook_additional_context for the event (another toolUseID,
    // no command): the context the hooks gave the model, not a run; so are
    // the other attachments that are no result (a message shown, a
    // permission decision)
    let env = Env::new();
    let dir = env.project_dir("-p");
    let line = |uuid: &str, s: u32, attachment: String| {
        format!(
            r#"{{"parentUuid":null,"isSidechain":false,"attachment":{attachment},"type":"attachment","uuid":"{uuid}","timestamp":"2026-04-18T13:10:{s:02}.686Z","cwd":"/p","sessionId":"c1","version":"2.1.114"}}"#
        )
    };
    let success = |uuid: &str, tool: &str, event: &str, command: &str, s: u32| {
        line(
            uuid,
            s,
            format!(
                r#"{{"type":"hook_success","hookName":"{event}:startup","toolUseID":"{tool}","hookEvent":"{event}","content":"","stdout":"{{\"hookSpecificOutput\": {{\"additionalContext\": \"ctx\"}}}}\n","stderr":"","exitCode":0,"command":"{command}","durationMs":1203}}"#
            ),
        )
    };
    let note = |uuid: &str, kind: &str, tool: &str, event: &str, s: u32| {
        line(
            uuid,
            s,
            format!(
                r#"{{"type":"hook_{kind}","content":["ctx"],"hookName":"{event}","toolUseID":"{tool}","hookEvent":"{event}"}}"#
            ),
        )
    };
    // a start naming no command, with a note of its tool use id and event:
    // it pairs with no note (it had no result)
    let start = r#"{"parentUuid":null,"isSidechain":false,"type":"progress","data":{"type":"hook_progress","hookEvent":"UserPromptSubmit","hookName":"UserPromptSubmit"},"toolUseID":"UserPromptSubmit","parentToolUseID":"UserPromptSubmit","uuid":"p1","timestamp":"2026-04-18T13:10:08.000Z","cwd":"/p","sessionId":"c1","version":"2.1.114"}"#;
    let lines = [
        success("u1", "9f1c", "SessionStart", "./start.sh", 1),
        success("u2", "9f1d", "SessionStart", "./notes.sh", 1),
        note(
            "u3",
            "additional_context",
            "SessionStart",
            "SessionStart",
            1,
        ),
        note("u4", "system_message", "SessionStart", "SessionStart", 1),
        start.to_owned(),
        success("u5", "9f1e", "UserPromptSubmit", "./busy.sh", 9),
        note(
            "u6",
            "additional_context",
            "UserPromptSubmit",
            "UserPromptSubmit",
            9,
        ),
        success("u7", "toolu_1", "PreToolUse", "./guard.sh", 20),
        note("u8", "permission_decision", "toolu_1", "PreToolUse", 20),
    ];
    std::fs::write(dir.join("c1.jsonl"), lines.join("\n") + "\n").unwrap();
    let v = run_json(&env, &["hooks"]);
    let got: Vec<(Value, Value, Value, Value)> = rows(&v)
        .iter()
        .map(|r| {
            (
                r["event"].clone(),
                r["command"].clone(),
                r["runs"].clone(),
                r["no_result"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("PreToolUse"), json!("./guard.sh"), json!(1), json!(0)),
            (
                json!("SessionStart"),
                json!("./notes.sh"),
                json!(1),
                json!(0)
            ),
            (
                json!("SessionStart"),
                json!("./start.sh"),
                json!(1),
                json!(0)
            ),
            (json!("UserPromptSubmit"), Value::Null, json!(1), json!(1)),
            (
                json!("UserPromptSubmit"),
                json!("./busy.sh"),
                json!(1),
                json!(0)
            ),
        ]
    );
    assert_eq!(v["total"]["runs"], 5);
    assert_eq!(v["total"]["successes"], 4);
    let shown = stdout(&env, &["show", "c1"]);
    assert!(shown.contains("5 hook runs"), "{shown}");
    for said in [
        "SessionStart context added for the model",
        "SessionStart message shown to the user",
        "PreToolUse permission decision",
    ] {
        assert!(shown.contains(said), "{said}: {shown}");
    }
    let timeline = show(&env, "c1");
    let notes: Vec<(Value, Value)> = events(&timeline, "hook")
        .into_iter()
        .filter(|e| e["command"].is_null() && e["raw_outcome"] != "started")
        .map(|e| (e["raw_outcome"].clone(), e["is_run"].clone()))
        .collect();
    assert_eq!(
        notes,
        vec![
            (json!("additional_context"), json!(false)),
            (json!("system_message"), json!(false)),
            (json!("additional_context"), json!(false)),
            (json!("permission_decision"), json!(false)),
        ]
    );
    assert!(
        events(&timeline, "hook")
            .iter()
            .all(|e| (e["outcome"] == "note") == (e["is_run"] == false)),
        "{timeline}"
    );
}

fn line_of(uuid: &str, model: &str, min: u32, input: u64) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"{uuid}","parentUuid":null,"cwd":"/home/u/p","sessionId":"s1","timestamp":"2026-03-01T10:0{min}:00Z","message":{{"id":"m-{uuid}","model":"{model}","content":[],"stop_reason":"end_turn","usage":{{"input_tokens":{input},"output_tokens":10}}}}}}"#
    )
}

#[test]
fn sums_that_leave_out_unpriced_responses_are_marked() {
    let env = Env::new();
    let dir = env.project_dir("-p");
    let f = dir.join("s1.jsonl");
    std::fs::write(
        &f,
        [
            line_of("a1", "claude-opus-6", 0, 2_000_000),
            line_of("a2", "claude-haiku-4-5-20251001", 1, 100_000),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let note = "* leaves out 1 response without a cost";
    for report in [
        &["sessions"][..],
        &["blocks"],
        &["cost"],
        &["cost", "--by-day", "--chart"],
    ] {
        let text = stdout(&env, report);
        // haiku: 100,000 in x $1 + 10 out x $5 per MTok = $0.10005
        assert!(
            text.contains("$0.10*") && text.contains(note),
            "{report:?}: {text}"
        );
    }
    let out = env
        .cmd()
        .arg("statusline")
        .write_stdin(format!(
            r#"{{"session_id":"s1","transcript_path":"{}"}}"#,
            f.display()
        ))
        .assert()
        .success();
    let line = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(line.contains("$0.10* session"), "{line}");
    // CSV says it in a column of its own
    for report in ["sessions", "blocks"] {
        let csv = stdout(&env, &[report, "--csv"]);
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = header
            .iter()
            .position(|h| *h == "unpriced_responses")
            .unwrap_or_else(|| panic!("{report}: {csv}"));
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(row[at], "1", "{report}: {csv}");
    }
    // all priced: no mark, no note
    let env = Env::new();
    let dir = env.project_dir("-p");
    std::fs::write(
        dir.join("s1.jsonl"),
        line_of("a2", "claude-haiku-4-5-20251001", 1, 100_000) + "\n",
    )
    .unwrap();
    for report in ["sessions", "blocks"] {
        let text = stdout(&env, &[report]);
        assert!(
            text.contains("$0.10") && !text.contains('*'),
            "{report}: {text}"
        );
    }
}

// ------------------------------------------------------------------ blocks

#[test]
fn blocks_are_five_hours_from_the_floored_hour() {
    let env = Env::with_fixture("reports");
    let v = run_json(&env, &["blocks", "--tz", "UTC"]);
    let got: Vec<(Value, Value, u64, u64, Value, Value)> = rows(&v)
        .iter()
        .map(|b| {
            (
                b["start_at"].clone(),
                b["end_at"].clone(),
                b["responses"].as_u64().unwrap(),
                b["total_tokens"].as_u64().unwrap(),
                b["cost_usd"].clone(),
                b["burn_rate_usd_per_hour"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            // msg_r1 08:10:05, r2 08:11:00, r3 09:10:05: 08:00-13:00,
            // $0.072 over exactly one hour of activity
            (
                json!("2026-03-10T08:00:00.000Z"),
                json!("2026-03-10T13:00:00.000Z"),
                3,
                8000,
                json!("0.072"),
                json!("0.072")
            ),
            // msg_r4 at exactly 13:00:00.000 starts the next block; alone, no rate
            (
                json!("2026-03-10T13:00:00.000Z"),
                json!("2026-03-10T18:00:00.000Z"),
                1,
                1000,
                json!("0.003"),
                Value::Null
            ),
            // after a gap of more than 5 h: 22:30:10 floors to 22:00
            (
                json!("2026-03-10T22:00:00.000Z"),
                json!("2026-03-11T03:00:00.000Z"),
                2,
                21000,
                json!("0.135"),
                json!("0.135")
            ),
        ]
    );
    // a total as every other report has, the rows' own sums to the digit
    assert_eq!(
        v["total"],
        json!({"blocks": 3, "responses": 6, "input_tokens": 20000, "output_tokens": 10000,
               "cache_creation_tokens": 0, "cache_read_tokens": 0, "total_tokens": 30000,
               "cost_usd": "0.21", "unpriced_responses": 0}),
        "{v}"
    );
    let t = stdout(&env, &["blocks", "--tz", "UTC"]);
    let total = t
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .unwrap();
    assert!(total.contains("30.0k") && total.contains("$0.21"), "{t}");
    let b = &rows(&v)[0];
    assert_eq!(b["active"], false);
    assert_eq!(b["first_response_at"], "2026-03-10T08:10:05.000Z");
    assert_eq!(b["last_response_at"], "2026-03-10T09:10:05.000Z");
    assert_eq!(b["active_ms"], 3_600_000);
    assert_eq!(b["projected_cost_usd"], Value::Null);
    assert_eq!(b["models"], json!(["claude-sonnet-4-5-20250929"]));
    assert_eq!(b["input_tokens"], 4000);
    assert_eq!(b["output_tokens"], 4000);
    // blocks keep their edges under a range: the last one overlaps March 11
    let v = run_json(&env, &["blocks", "--since", "2026-03-11", "--tz", "UTC"]);
    assert_eq!(rows(&v).len(), 1);
    assert_eq!(rows(&v)[0]["start_at"], "2026-03-10T22:00:00.000Z");
    // these are long over
    let v = run_json(&env, &["blocks", "--active"]);
    assert_eq!(rows(&v).len(), 0);
    assert_eq!(
        (&v["total"]["blocks"], &v["total"]["cost_usd"]),
        (&json!(0), &json!("0"))
    );
    // (said in one line, with no empty table above it)
    let t = stdout(&env, &["blocks", "--active"]);
    assert_eq!(t, "No active block: the next response starts one.\n", "{t}");
    let t = stdout(&env, &["blocks", "--tz", "Europe/Paris"]);
    assert!(
        t.contains("2026-03-10 23:00")
            && t.contains("No active block: the last one ended 2026-03-11 04:00;"),
        "{t}"
    );
    // filters that leave no block say so, not just that none is active
    let t = stdout(&env, &["blocks", "--since", "2026-04-01"]);
    assert_eq!(t, "No block matches these filters.\n", "{t}");
    let t = stdout(&env, &["blocks", "--since", "2026-03-10", "--tz", "UTC"]);
    assert!(t.contains("No active block among these."), "{t}");
    let csv = stdout(&env, &["blocks", "--csv"]);
    assert!(csv.contains("2026-03-10T13:00:00.000Z,2026-03-10T18:00:00.000Z,false,1,1000,0,0,0,1000,0.003,,,claude-sonnet-4-5-20250929,0,2026-03-10T13:00:00.000Z,2026-03-10T13:00:00.000Z,0,\r\n"), "{csv}");

    // a response without a time is in no block: said, as `cost` counts it
    assert_eq!(v["untimed_responses"], 0);
    let f = env.projects().join("-home-u-web/sess-blocks-b002.jsonl");
    let mut text = std::fs::read_to_string(&f).unwrap();
    text.push_str(r#"{"type":"assistant","uuid":"b-x9","sessionId":"sess-blocks-b002","cwd":"/home/u/web","message":{"id":"msg_untimed","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"?"}],"usage":{"input_tokens":1000,"output_tokens":0}}}"#);
    text.push('\n');
    std::fs::write(&f, text).unwrap();
    let v = run_json(&env, &["blocks"]);
    assert_eq!(v["untimed_responses"], 1, "{v}");
    assert_eq!(rows(&v).len(), 3);
    let t = stdout(&env, &["blocks", "--no-ingest"]);
    assert!(
        t.contains("1 response without a time is in no block (`cost` counts it)."),
        "{t}"
    );
    // (a range has no untimed responses in it; a project that matches
    // nothing has none)
    let v = run_json(&env, &["blocks", "--since", "2026-03-01"]);
    assert_eq!(v["untimed_responses"], Value::Null, "{v}");
    let v = run_json(&env, &["blocks", "--project", "nothing-here"]);
    assert_eq!(v["untimed_responses"], 0, "{v}");
    // a response dated ahead (a clock set wrong) makes a block that has
    // not ended: the last one that has is still the March one
    let mut text = std::fs::read_to_string(&f).unwrap();
    text.push_str(r#"{"type":"assistant","uuid":"b-x10","sessionId":"sess-blocks-b002","cwd":"/home/u/web","timestamp":"2099-01-01T10:00:00.000Z","message":{"id":"msg_ahead","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"?"}],"usage":{"input_tokens":1000,"output_tokens":0}}}"#);
    text.push('\n');
    std::fs::write(&f, text).unwrap();
    let t = stdout(&env, &["blocks", "--tz", "UTC"]);
    assert!(
        t.contains("2099-01-01 10:00")
            && t.contains("No active block: the last one ended 2026-03-11 03:00;"),
        "{t}"
    );
}

#[test]
fn every_report_refuses_csv_with_json() {
    let env = Env::with_fixture("basic");
    for cmd in [
        vec!["sessions"],
        vec!["show", "sess-main-0001"],
        vec!["tools"],
        vec!["hooks"],
        vec!["blocks"],
    ] {
        env.cmd()
            .args(&cmd)
            .args(["--csv", "--json", "--no-ingest"])
            .assert()
            .code(2);
        env.cmd().args(&cmd).arg("--help").assert().success();
    }
    env.cmd()
        .args(["sessions", "--tz", "Mars/Olympus"])
        .assert()
        .code(2);
    // commands with no JSON to give refuse --json rather than ignore it
    for cmd in [vec!["statusline"], vec!["man"], vec!["completions", "bash"]] {
        let out = env
            .cmd()
            .args(&cmd)
            .arg("--json")
            .write_stdin("{}")
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.starts_with("error: --json does not apply"), "{err}");
        assert!(out.get_output().stdout.is_empty());
    }
}

// ------------------------------------------------------------------ corpus

#[test]
fn every_report_runs_on_the_public_corpus() {
    let shared = require_shared!();
    let env = Env::new();
    std::fs::remove_dir(env.projects()).unwrap();
    std::os::unix::fs::symlink(shared.join("corpus/public"), env.projects()).unwrap();
    env.ingest();
    for args in [
        vec!["sessions"],
        vec!["sessions", "--sort", "cost", "--csv"],
        vec!["sessions", "--sort", "duration", "--limit", "5"],
        vec!["tools"],
        vec!["tools", "--by-project", "--csv"],
        vec!["hooks"],
        vec!["hooks", "--csv"],
        vec!["blocks"],
        vec!["blocks", "--csv"],
    ] {
        let out = env
            .cmd()
            .args(&args)
            .args(["--no-ingest", "--tz", "UTC"])
            .assert()
            .success();
        assert!(!out.get_output().stdout.is_empty(), "{args:?}");
    }
    let sessions = run_json(&env, &["sessions", "--no-ingest"]);
    assert!(rows(&sessions).len() > 50, "{}", rows(&sessions).len());
    let tools = run_json(&env, &["tools", "--no-ingest"]);
    let calls: u64 = rows(&tools)
        .iter()
        .map(|r| r["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, tools["total"]["calls"].as_u64().unwrap());
    let hooks = run_json(&env, &["hooks", "--no-ingest"]);
    let runs: u64 = rows(&hooks)
        .iter()
        .map(|r| r["runs"].as_u64().unwrap())
        .sum();
    assert!(runs > 0);
    assert_eq!(runs, hooks["total"]["runs"].as_u64().unwrap());
    let blocks = run_json(&env, &["blocks", "--no-ingest"]);
    // blocks never overlap and last 5 hours
    let at = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let edges: Vec<(i64, i64)> = rows(&blocks)
        .iter()
        .map(|b| (at(&b["start_at"]), at(&b["end_at"])))
        .collect();
    assert!(edges.len() > 10, "{edges:?}");
    assert!(
        edges.iter().all(|(s, e)| e - s == 5 * 3_600_000),
        "{edges:?}"
    );
    assert!(edges.windows(2).all(|w| w[0].1 <= w[1].0), "{edges:?}");
    // a CSV has a line per JSON row, after its header
    for args in [&["tools", "--by-project"][..], &["hooks"], &["blocks"]] {
        let v = run_json(&env, &[args, &["--no-ingest", "--tz", "UTC"]].concat());
        let csv = stdout(
            &env,
            &[args, &["--csv", "--no-ingest", "--tz", "UTC"]].concat(),
        );
        assert_eq!(csv.lines().count(), rows(&v).len() + 1, "{args:?}");
    }
    // every session shows, and its totals agree with its sessions row
    for row in rows(&sessions) {
        let id = row["session_id"].as_str().unwrap();
        let v = run_json(&env, &["show", id, "--no-ingest"]);
        assert_eq!(v["session_id"], id);
        for k in ["responses", "tool_calls", "cost_usd", "user_prompts"] {
            assert_eq!(v["total"][k], row[k], "{id} {k}");
        }
    }
}

#[test]
fn no_ingest_without_a_database_reports_nothing_and_makes_no_file() {
    let env = Env::with_fixture("basic");
    for args in [
        &["sessions", "--no-ingest"][..],
        &["cost", "--by-model", "--no-ingest"],
        &["tools", "--no-ingest"],
    ] {
        let out = env.cmd().args(args).arg("--json").assert().success();
        let out = out.get_output();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no database at") && stderr.contains("observatory ingest"),
            "{args:?}: {stderr}"
        );
        assert!(!env.db_path().exists(), "{args:?} made {:?}", env.db_path());
        assert!(
            !env.obs_home().exists() || std::fs::read_dir(env.obs_home()).unwrap().next().is_none()
        );
        // nothing in it: the fixture's sessions are not read
        let text = v.to_string();
        assert!(
            !text.contains("sess-main") && !text.contains("claude-"),
            "{args:?}: {text}"
        );
    }
    // an empty file is no database yet either: left as it is
    std::fs::create_dir_all(env.obs_home()).unwrap();
    std::fs::write(env.db_path(), "").unwrap();
    for args in [&["cost", "--no-ingest"][..], &["sessions", "--no-ingest"]] {
        let out = env.cmd().args(args).assert().success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(stderr.contains("no database at"), "{args:?}: {stderr}");
        assert_eq!(
            std::fs::metadata(env.db_path()).unwrap().len(),
            0,
            "{args:?}"
        );
        assert_eq!(
            std::fs::read_dir(env.obs_home()).unwrap().count(),
            1,
            "{args:?}: nothing beside it"
        );
    }
    // and once ingested, the same report sees them
    env.ingest();
    let v = run_json(&env, &["sessions", "--no-ingest"]);
    assert!(!rows(&v).is_empty(), "{v}");
}

#[test]
fn prompts_are_what_the_user_typed() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let user = |uuid: &str, minute: u32, extra: &str, content: &str| {
        format!(
            r#"{{"type":"user","uuid":"{uuid}","sessionId":"s-prompts","timestamp":"2026-03-05T10:{minute:02}:00.000Z","cwd":"/home/u/p","isSidechain":{extra},"message":{{"role":"user","content":{content}}}}}"#
        )
    };
    let lines = [
        user("p1", 0, "false", r#""fix the parser""#),
        user(
            "i1",
            1,
            "false",
            r#"[{"type":"text","text":"[Request interrupted by user for tool use]"}]"#,
        ),
        user(
            "c1",
            2,
            "false",
            r#""<command-name>/model</command-name>\n<command-args></command-args>""#,
        ),
        user(
            "o1",
            3,
            "false",
            r#""<local-command-stdout>Set model to opus</local-command-stdout>""#,
        ),
        user(
            "t1",
            4,
            "false",
            r#""<task-notification><task-id>x</task-id><status>completed</status></task-notification>""#,
        ),
        // a 1.0.x subagent's task, written into the main file
        user("s1", 5, "true", r#""Examine the package.json""#),
        user("p2", 6, "false", r#""now add tests""#),
    ];
    std::fs::write(dir.join("s-prompts.jsonl"), lines.join("\n") + "\n").unwrap();
    let v = run_json(&env, &["sessions"]);
    let row = &rows(&v)[0];
    // the two typed prompts and the /model command the user typed
    assert_eq!(row["user_prompts"], 3, "{row}");
    assert_eq!(row["title"], "fix the parser", "{row}");
    let v = show(&env, "s-prompts");
    let prompts: Vec<&str> = events(&v, "prompt")
        .iter()
        .map(|e| e["text"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(prompts.len(), 3, "{prompts:?}");
    assert!(
        prompts
            .iter()
            .all(|t| !t.contains("interrupted") && !t.contains("package.json"))
    );
}

/// `--project` also takes the name of a project's transcript folder, as
/// `ls ~/.claude/projects` shows it (`-home-u-web`, a leading `-` and all,
/// or its tail `-u-web`),
/// in every report and in forget; a flag after `--project` is refused, not
/// taken as the text.
#[test]
fn project_matches_a_transcript_folder_name_too() {
    let env = Env::with_fixture("basic");
    for more in ["reports", "ops"] {
        common::copy_dir(
            &common::fixtures().join(more).join("projects"),
            &env.projects(),
        );
    }
    // a session in /home/u/.dotfiles (folder -home-u--dotfiles)
    let dot = env.projects().join("-home-u--dotfiles");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::write(
        dot.join("sess-dot-0009.jsonl"),
        r#"{"type":"user","uuid":"dot-u1","sessionId":"sess-dot-0009","timestamp":"2026-03-05T10:00:00.000Z","cwd":"/home/u/.dotfiles","message":{"role":"user","content":"tidy my zshrc"}}
"#,
    )
    .unwrap();
    env.ingest();
    let report_of = |report: &str, project: &str| {
        let mut v = run_json(&env, &[report, "--project", project, "--no-ingest"]);
        v.as_object_mut().unwrap().remove("now"); // (blocks: the time it ran)
        v
    };
    for report in [
        "cost", "sessions", "tools", "hooks", "blocks", "files", "commands",
    ] {
        let none = report_of(report, "nomatch");
        let ops = report_of(report, "/home/u/ops");
        let web = report_of(report, "/home/u/web");
        assert!(
            ops != none || web != none,
            "{report}: the fixtures have rows"
        );
        for (by_path, name) in [(&ops, "ops"), (&web, "web")] {
            for folder in [
                format!("-home-u-{name}"),
                format!("-HOME-U-{name}"),
                format!("-u-{name}"),
            ] {
                let v = report_of(report, &folder);
                assert_eq!(&v, by_path, "{report} --project {folder}");
            }
        }
    }
    let v = run_json(
        &env,
        &["sessions", "--project", "-home-u-app", "--no-ingest"],
    );
    assert!(
        rows(&v).iter().all(|r| r["project"] == "/home/u/app") && !rows(&v).is_empty(),
        "{v}"
    );
    let plan = stdout(&env, &["forget", "--project", "-home-u-web", "--dry-run"]);
    assert!(plan.contains("2 sessions"), "{plan}");
    // only a text in a folder name's form is matched as one: `u-web` (no
    // leading `-`) is part of no path, and a lone `-` is no folder (a
    // forget with it would have taken every project)
    for text in ["u-web", "-"] {
        let v = run_json(&env, &["sessions", "--project", text, "--no-ingest"]);
        assert!(rows(&v).is_empty(), "{text}: {v}");
        let out = env
            .cmd()
            .args(["forget", "--project", text, "--dry-run"])
            .assert()
            .success();
        let said = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(said.contains("no stored session matches"), "{text}: {said}");
    }
    // (a folder's tail that only looks like a flag is text: `--dotfiles`
    // for /home/u/.dotfiles, `-x` for a /home/u/x there is none of)
    let v = run_json(
        &env,
        &["sessions", "--project", "--dotfiles", "--no-ingest"],
    );
    let ids: Vec<&Value> = rows(&v).iter().map(|r| &r["session_id"]).collect();
    assert_eq!(ids, [&json!("sess-dot-0009")], "{v}");
    let out = env
        .cmd()
        .args(["sessions", "--project", "-x", "--no-ingest"])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(said.contains(r#"--project "-x" matches nothing"#), "{said}");
    for flag in ["--json", "-q", "--tz=UTC"] {
        let out = env
            .cmd()
            .args(["sessions", "--project", flag])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(&format!("{flag} is a flag, not a project")),
            "{err}"
        );
    }
}

/// In a pipe `hooks` prints each command whole (two that differ only in
/// the middle stay apart; a terminal still cuts it in the middle to fit).
#[test]
fn hooks_print_commands_whole_in_a_pipe() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-hk");
    let root = "\"${CLAUDE_PLUGIN_ROOT}/plugins/very-long-plugin-name/scripts";
    let line = |uuid: &str, tool: &str, script: &str| {
        json!({"type": "attachment", "uuid": uuid, "sessionId": "sess-hk", "cwd": "/home/u/hk",
            "timestamp": "2026-03-01T10:00:05.600Z",
            "attachment": {"type": "hook_success", "hookName": "PostToolUse:Read",
                "hookEvent": "PostToolUse", "toolUseID": tool, "content": "", "stdout": "ok",
                "stderr": "", "exitCode": 0, "command": format!("{root}/{script}.cmd\" actor busy"),
                "durationMs": 42}})
        .to_string()
    };
    let text = [
        line("h1", "toolu_1", "clmail"),
        line("h2", "toolu_2", "clpost"),
    ]
    .join("\n");
    std::fs::write(dir.join("sess-hk.jsonl"), text + "\n").unwrap();
    let out = env.cmd().args(["hooks"]).assert().success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for script in ["clmail", "clpost"] {
        let whole = format!("{root}/{script}.cmd\" actor busy");
        assert!(table.contains(&whole), "{whole}\n{table}");
    }
}
