//! `observatory cost` and `pricing` on the basic fixture, against costs
//! computed by hand (fixtures/README.md lists the responses).
//!
//! Rates ($/MTok): Sonnet 4.5 in 3, out 15, 5m 3.75, 1h 6, read 0.30;
//! Haiku 4.5 in 1, out 5, read 0.10; Opus 4.6 in 5, out 25, 5m 6.25, read 0.50;
//! Claude 3.5 Haiku in 0.80, out 4. Web search $0.01.
//!   msg_A sonnet-4.5  10 in, 40 out, 1000 5m, 2000 read  = 30+600+3750+600      = $0.00498
//!   msg_B sonnet-4.5  15 in, 80 out, 500 1h, 3000 read, 2 searches
//!                                             = 45+1200+3000+900 = 5145e-6 + 0.02 = $0.025145
//!   msg_C sonnet-4.5  3 in, 7 out, 3500 read                = 9+105+1050     = $0.001164
//!   msg_G sonnet-4.5  20 in, 60 out, 4000 read              = 60+900+1200    = $0.00216
//!   msg_E haiku-4.5   30 in, 25 out, 1500 read              = 30+125+150     = $0.000305
//!   msg_D opus-4.6    5 in, 12 out, 100 5m, 500 read        = 25+300+625+250 = $0.0012
//!   msg_F 3.5-haiku   7 in, 9 out                           = 5.6+36         = $0.0000416
//!   Sonnet 4.5 = $0.033449; total = $0.0349956

mod common;

use std::io::Write;

use common::Env;
use serde_json::{Value, json};

fn cost_json(env: &Env, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .arg("cost")
        .args(args)
        .arg("--json")
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

/// A by-day report's (day, cost_usd) per row.
fn day_costs(v: &Value) -> Vec<(Value, Value)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["day"].clone(), r["cost_usd"].clone()))
        .collect()
}

/// An assistant line of session `sess-fast` (project /home/u/fast): a
/// fast-mode response of `input` input tokens.
fn fast_line(uuid: &str, msg: &str, model: &str, at: &str, input: u64) -> String {
    json!({"type": "assistant", "uuid": uuid, "sessionId": "sess-fast", "timestamp": at,
        "cwd": "/home/u/fast", "message": {"id": msg, "model": model, "role": "assistant",
        "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": input, "output_tokens": 0, "speed": "fast"}}})
    .to_string()
}

fn by_model(v: &Value) -> Vec<(String, Value, Value, u64)> {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_owned(),
                r["priced_as"].clone(),
                r["cost_usd"].clone(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn cost_by_model_is_exact() {
    let env = Env::with_fixture("basic");
    let v = cost_json(&env, &["--by-model"]);
    assert_eq!(
        by_model(&v),
        vec![
            (
                "claude-3-5-haiku-20241022".into(),
                json!("claude-3-5-haiku-20241022"),
                json!("0.0000416"),
                1
            ),
            (
                "claude-haiku-4-5-20251001".into(),
                json!("claude-haiku-4-5-20251001"),
                json!("0.000305"),
                1
            ),
            (
                "claude-opus-4-6".into(),
                json!("claude-opus-4-6"),
                json!("0.0012"),
                1
            ),
            (
                "claude-sonnet-4-5-20250929".into(),
                json!("claude-sonnet-4-5-20250929"),
                json!("0.033449"),
                4
            ),
        ]
    );
    assert_eq!(v["total"]["cost_usd"], "0.0349956");
    assert_eq!(v["total"]["requests"], 7);
    assert_eq!(v["total"]["web_search_requests"], 2);
    assert_eq!(v["total"]["cache_creation_1h_tokens"], 500);
    assert_eq!(v["total"]["cache_creation_5m_tokens"], 1100);
    assert_eq!(v["unpriced_models"], json!([]));
}

#[test]
fn days_are_cut_in_the_requested_zone() {
    let env = Env::with_fixture("basic");
    // +13:59: 2026-03-01T10:01Z is already 2026-03-02 there, so msg_G, E, F
    // move to the next day with msg_D.
    let v = cost_json(&env, &["--by-day", "--tz", "+13:59"]);
    let days = day_costs(&v);
    assert_eq!(
        days,
        vec![
            (json!("2026-03-01"), json!("0.031289")),
            (json!("2026-03-02"), json!("0.0037066"))
        ]
    );
    // the same offset as the local zone, from a `TZ` written by hand (no
    // IANA zone has it): the same days (its days were cut at quarter hours)
    let out = env
        .cmd()
        .env("TZ", "XYZ-13:59")
        .args(["cost", "--by-day", "--json", "--no-ingest"])
        .assert()
        .success();
    let local: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(local["rows"], v["rows"], "{local}");
    assert!(out.get_output().stderr.is_empty());
    let v = cost_json(&env, &["--by-day", "--tz", "UTC"]);
    let days = day_costs(&v);
    assert_eq!(
        days,
        vec![
            (json!("2026-03-01"), json!("0.0337956")),
            (json!("2026-03-02"), json!("0.0012"))
        ]
    );
    // --since/--until are whole days in the zone
    let v = cost_json(
        &env,
        &["--since", "2026-03-02", "--tz", "UTC", "--no-ingest"],
    );
    assert_eq!(v["total"]["cost_usd"], "0.0012");
    let v = cost_json(
        &env,
        &["--until", "2026-03-01", "--tz", "UTC", "--no-ingest"],
    );
    assert_eq!(v["total"]["cost_usd"], "0.0337956");
}

/// A `TZ` that names no zone (a typo, a zone this system lacks) makes the
/// local zone UTC, as the C library does: the days are UTC's, the JSON says
/// "UTC", and a warning says why (not with -q, not for a real zone).
#[test]
fn a_tz_that_names_no_zone_is_utc_and_says_so() {
    let env = Env::with_fixture("basic");
    let utc = cost_json(&env, &["--by-day", "--tz", "UTC"]);
    let run = |tz: &str, quiet: bool| {
        let mut cmd = env.cmd();
        cmd.env("TZ", tz)
            .args(["cost", "--by-day", "--json", "--no-ingest"]);
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd.assert().success();
        let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        (
            v,
            String::from_utf8_lossy(&out.get_output().stderr).to_string(),
        )
    };
    let (v, err) = run("Europe/Pariss", false);
    assert_eq!(v["rows"], utc["rows"], "{v}");
    assert_eq!(v["tz"], "UTC", "{v}");
    assert_eq!(
        err.trim_end(),
        "warning: TZ=\"Europe/Pariss\" names no time zone this system knows, so days are cut in UTC; \
         set TZ to an IANA name (Europe/Paris) or pass --tz"
    );
    assert_eq!(run("Europe/Pariss", true).1, "");
    // an offset alone is no POSIX rule (`--tz` takes one, TZ does not),
    // and a file in the zoneinfo folder that is no zone is none either:
    // the C library and chrono read them as UTC (tour-s34 F1: no warning,
    // and the JSON said "local")
    for tz in [
        "+05:30",
        "-05:30",
        "zone.tab",
        "Pacific/Chatham ",
        "zoneinfo/Pacific/Chatham",
    ] {
        let (v, err) = run(tz, false);
        assert_eq!(
            (&v["rows"], &v["tz"]),
            (&utc["rows"], &json!("UTC")),
            "TZ={tz}"
        );
        assert!(err.contains("names no time zone"), "TZ={tz}: {err}");
    }
    // a zone, a POSIX rule, a zoneinfo file's path: no warning
    for tz in [
        "Pacific/Chatham",
        "XYZ-13:59",
        "<+1345>-13:45",
        ":/usr/share/zoneinfo/Pacific/Chatham",
    ] {
        let (v, err) = run(tz, false);
        assert_eq!(err, "", "TZ={tz}");
        assert_ne!(v["rows"], utc["rows"], "TZ={tz}: {v}");
    }
    assert_eq!(run("Pacific/Chatham", false).0["tz"], "Pacific/Chatham");
}

#[test]
fn groupings_combine_and_totals_are_sums_of_rows() {
    let env = Env::with_fixture("basic");
    for groups in [
        vec!["--by-agent"],
        vec!["--by-session"],
        vec!["--by-project", "--by-month"],
        vec!["--by-branch", "--by-model"],
        vec!["--by-week", "--by-agent", "--by-model"],
    ] {
        let v = cost_json(&env, &groups);
        let sum: rust_decimal::Decimal = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["cost_usd"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
            })
            .sum();
        assert_eq!(sum.normalize().to_string(), "0.0349956", "{groups:?}");
    }
    let v = cost_json(&env, &["--by-agent"]);
    let agents: Vec<(Value, Value)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["agent"].clone(), r["cost_usd"].clone()))
        .collect();
    // subagents: msg_E (a1b2c3d) and msg_F (legacy c8d9b115)
    assert_eq!(
        agents,
        vec![
            (json!("main"), json!("0.034649")),
            (json!("subagent"), json!("0.0003466"))
        ]
    );
}

/// SQLite's sum() of 64-bit integers stops at 2^63 picoUSD (about $9.2
/// million); the reports sum whole dollars and the picodollar rest apart,
/// and have no such limit: three Opus 4.6 responses of 900 billion input
/// tokens each ($5 per million, no long-context tier on 2026-05-01) cost
/// $4.5 million each, $13.5 million together.
#[test]
fn totals_past_nine_million_dollars_are_exact() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-big");
    let text: String = (1..=3)
        .map(|i| {
            format!(
                r#"{{"type":"assistant","uuid":"big-{i}","sessionId":"sess-big","timestamp":"2026-05-01T10:00:0{i}.000Z","cwd":"/home/u/big","message":{{"id":"msg_big{i}","model":"claude-opus-4-6","role":"assistant","content":[{{"type":"text","text":"ok"}}],"stop_reason":"end_turn","usage":{{"input_tokens":900000000000,"output_tokens":0}}}}}}
"#
            )
        })
        .collect();
    std::fs::write(dir.join("sess-big.jsonl"), text).unwrap();
    env.ingest();
    let v = cost_json(&env, &[]);
    assert_eq!(v["total"]["cost_usd"], "13500000", "{v}");
    assert_eq!(v["total"]["input_tokens"], 2_700_000_000_000u64);
    let v = cost_json(&env, &["--by-session", "--by-model"]);
    assert_eq!(v["rows"][0]["cost_usd"], "13500000", "{v}");
    for args in [&["sessions", "--json"][..], &["blocks", "--json"]] {
        let out = env.cmd().args(args).assert().success();
        let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let cost = if args[0] == "sessions" {
            &v["total"]["cost_usd"]
        } else {
            &v["rows"][0]["cost_usd"]
        };
        assert_eq!(cost, "13500000", "{args:?}: {v}");
    }
    let table = String::from_utf8_lossy(
        &env.cmd()
            .args(["cost", "--no-ingest"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .to_string();
    assert!(table.contains("$13,500,000.00"), "{table}");
}

/// `pricing --check --json`, which fails (exit 1): what it names.
fn failed_check_json(env: &Env) -> Value {
    let out = env
        .cmd()
        .args(["pricing", "--check", "--json"])
        .assert()
        .code(1);
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn a_cost_that_overflows_is_not_called_a_missing_price() {
    let env = Env::with_fixture("basic");
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    // a priced model, a count kept (under 10^15), a cost that does not fit
    // 64-bit picoUSD; and a count past 10^15, counted as 0
    let line = |id: &str, tokens: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"x-{id}","sessionId":"sess-resume-0002","timestamp":"2026-03-02T10:00:00.000Z","cwd":"/home/u/app","message":{{"id":"msg_{id}","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{{"input_tokens":{tokens},"output_tokens":1}}}}}}"#
        )
    };
    let before: Value = serde_json::from_slice(
        &env.cmd()
            .args(["cost", "--json", "-q"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    common::append(
        &f,
        format!(
            "{}\n{}\n",
            line("big", "500000000000000"),
            line("huge", "18446744073709551615")
        )
        .as_bytes(),
    );
    let out = env.cmd().args(["cost", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("overflows 64-bit picoUSD"), "{stderr}");
    assert!(!stderr.contains("no price for model"), "{stderr}");
    assert!(
        stderr.contains("over 10^15, not a token count; counted as 0"),
        "{stderr}"
    );
    let t = &v["total"];
    assert_eq!(t["unpriced_requests"], 1, "{t}");
    let old = before["total"]["input_tokens"].as_u64().unwrap();
    assert_eq!(t["input_tokens"], old + 500_000_000_000_000, "{t}");
    // the one counted as 0 is priced: 1 Sonnet 4.5 output token ($15 per
    // million) more than the fixture's $0.0349956
    assert_eq!(before["total"]["cost_usd"], "0.0349956");
    assert_eq!(t["cost_usd"], "0.0350106", "{t}");
    let sum: i64 = env
        .db()
        .query_row("SELECT sum(input_tokens) FROM responses", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sum as u64, old + 500_000_000_000_000, "SQL agrees");
    // the table's footnote sends people to `pricing --check`, which names
    // the response priced but without a cost (and fails, as for a missing
    // price)
    let table = env.cmd().args(["cost", "--by-model"]).assert().success();
    let table = String::from_utf8_lossy(&table.get_output().stdout).to_string();
    assert!(table.contains("`observatory pricing --check`"), "{table}");
    let out = env.cmd().args(["pricing", "--check"]).assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("Every model in the database has a price"),
        "{text}"
    );
    assert!(
        text.contains("Priced, but stored without a cost")
            && text.contains("  claude-sonnet-4-5-20250929 (1 response)"),
        "{text}"
    );
    let c = failed_check_json(&env);
    assert_eq!(c["unpriced_models"], json!([]));
    assert_eq!(
        c["uncosted_responses"],
        json!([{"model": "claude-sonnet-4-5-20250929", "responses": 1}])
    );
}

#[test]
fn an_unknown_model_is_never_zero() {
    let env = Env::with_fixture("basic");
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let line = r#"{"type":"assistant","uuid":"x-1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T10:00:00.000Z","cwd":"/home/u/app","message":{"id":"msg_X","model":"grok-4.5","stop_reason":"end_turn","usage":{"input_tokens":100,"output_tokens":50}}}"#;
    common::append(&f, format!("{line}\n").as_bytes());
    let out = env
        .cmd()
        .args(["cost", "--by-model", "--json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("no price for model \"grok-4.5\" (1 response):"),
        "{stderr}"
    );
    let grok = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "grok-4.5")
        .unwrap();
    assert_eq!(grok["cost_usd"], Value::Null);
    assert_eq!(grok["priced_as"], Value::Null);
    assert_eq!(grok["input_tokens"], 100);
    assert_eq!(v["unpriced_models"], json!(["grok-4.5"]));
    assert_eq!(
        v["total"]["cost_usd"], "0.0349956",
        "the total is the sum of the priced rows"
    );
    assert_eq!(v["total"]["unpriced_requests"], 1);
    // the table marks it
    let out = env.cmd().args(["cost", "--by-model"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("unpriced"));
    // pricing --check fails and names it
    let out = env.cmd().args(["pricing", "--check"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("grok-4.5"));
    // its JSON names them as cost --json does
    let c = failed_check_json(&env);
    assert_eq!(c["unpriced_models"], v["unpriced_models"]);
    assert_eq!(c["unpriced_responses"], 1);
    // no database yet: nothing lacks a price (and none is made)
    let fresh = Env::new();
    let out = fresh
        .cmd()
        .args(["pricing", "--check", "--json"])
        .assert()
        .success();
    let c: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(c["unpriced_models"], json!([]));
    assert!(!fresh.db_path().exists());
    // but a database named by --db must be there
    let typo = fresh.dir.path().join("obs.dbb");
    let out = fresh
        .cmd()
        .args(["pricing", "--check", "--db"])
        .arg(&typo)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("obs.dbb") && err.contains("no database here yet"),
        "{err}"
    );
}

#[test]
fn json_says_the_days_and_the_zone_it_cut_them_in() {
    let env = Env::with_fixture("basic");
    let today = common::steady_now().date_naive();
    let v = cost_json(&env, &["--since", "7d", "--tz", "utc"]);
    assert_eq!(v["tz"], "UTC");
    assert_eq!(
        v["since"],
        (today - chrono::Duration::days(6))
            .format("%Y-%m-%d")
            .to_string(),
        "{v}"
    );
    assert_eq!(v["until"], Value::Null);
    let out = env
        .cmd()
        .args([
            "sessions",
            "--json",
            "--until",
            "2026-03-01",
            "--since",
            "20260228",
        ])
        .env("TZ", "America/New_York")
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        [&v["tz"], &v["since"], &v["until"]],
        ["America/New_York", "2026-02-28", "2026-03-01"]
    );
}

#[test]
fn a_range_without_responses_costs_exactly_zero() {
    // (a status line's "today" before the first response of the day)
    let env = Env::with_fixture("basic");
    let v = cost_json(&env, &["--since", "2030-01-01"]);
    // (one row without a grouping, as with responses: a script's .rows[0])
    assert_eq!(v["rows"], json!([v["total"]]));
    assert_eq!(v["total"]["requests"], 0);
    assert_eq!(v["total"]["cost_usd"], "0", "no responses cost 0, not null");
    let out = env
        .cmd()
        .args(["cost", "--since", "2030-01-01", "--csv"])
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        csv.lines().collect::<Vec<_>>()[1..],
        ["0,0,0,0,0,0,0,0,0"],
        "one line, the total: {csv}"
    );
    let out = env
        .cmd()
        .args(["cost", "--since", "2030-01-01"])
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        table.contains("$0.00") && !table.contains("unpriced"),
        "{table}"
    );
}

#[test]
fn a_price_override_reprices_stored_responses_and_back() {
    let env = Env::with_fixture("basic");
    assert_eq!(
        cost_json(&env, &["--model", "claude-opus-4-6"])["total"]["cost_usd"],
        "0.0012"
    );
    let file = env.dir.path().join("my-prices.toml");
    std::fs::write(
        &file,
        "[models.claude-opus-4-6]\n[[models.claude-opus-4-6.rates]]\ninput = \"10\"\noutput = \"50\"\ncache_write_5m = \"12.5\"\ncache_write_1h = \"20\"\ncache_read = \"1\"\n",
    )
    .unwrap();
    // 5*10 + 12*50 + 100*12.5 + 500*1 = 50+600+1250+500 = 2400e-6
    let out = env
        .cmd()
        .args(["cost", "--model", "claude-opus-4-6", "--json", "--pricing"])
        .arg(&file)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["total"]["cost_usd"], "0.0024");
    // the flag priced that report only: the stored costs (what `query` and
    // the status line read) are still the table's in effect without it
    let stored_opus = |env: &Env| -> (String, String) {
        let out = env
            .cmd()
            .args([
                "query",
                "--csv",
                "SELECT sum(cost_usd) AS usd FROM v_responses WHERE model = 'claude-opus-4-6'",
            ])
            .assert()
            .success();
        let o = out.get_output();
        (
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    assert_eq!(
        stored_opus(&env),
        ("usd\r\n0.0012\r\n".into(), String::new())
    );
    for args in [
        &["sessions"][..],
        &["show", "sess-main-0001"],
        &["blocks"],
        &["tools"],
    ] {
        env.cmd()
            .args(args)
            .arg("--pricing")
            .arg(&file)
            .assert()
            .success();
    }
    assert_eq!(stored_opus(&env).0, "usd\r\n0.0012\r\n");
    assert_eq!(
        cost_json(&env, &["--model", "claude-opus-4-6"])["total"]["cost_usd"],
        "0.0012"
    );
    // the override in the config dir is picked up without a flag; `query`
    // (which only reads) says when the stored costs are from another table
    std::fs::copy(&file, env.obs_home().join("pricing.toml")).unwrap();
    let (csv, err) = stored_opus(&env);
    assert_eq!(csv, "usd\r\n0.0012\r\n");
    assert!(err.contains("another price table"), "{err}");
    assert_eq!(
        cost_json(&env, &["--model", "claude-opus-4-6"])["total"]["cost_usd"],
        "0.0024"
    );
    assert_eq!(
        stored_opus(&env),
        ("usd\r\n0.0024\r\n".into(), String::new())
    );
    // a broken pricing.toml in the config dir does not stop a report given
    // a good --pricing (it only prices with that file)
    let good = env.dir.path().join("good.toml");
    std::fs::copy(env.obs_home().join("pricing.toml"), &good).unwrap();
    std::fs::write(env.obs_home().join("pricing.toml"), "[models.x\n").unwrap();
    let out = env
        .cmd()
        .args(["cost", "--model", "claude-opus-4-6", "--json", "--pricing"])
        .arg(&good)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["total"]["cost_usd"], "0.0024");
    // reports with no money in them read no price file when they store
    // nothing; what prices (a report's own ingest, cost) still refuses
    for report in ["tools", "hooks", "files", "commands"] {
        env.cmd().args([report, "--no-ingest"]).assert().success();
        env.cmd().args([report]).assert().code(1);
    }
    // ... and touch no stored cost (not re-priced with the built-in table)
    assert_eq!(
        stored_opus(&env),
        ("usd\r\n0.0024\r\n".into(), String::new())
    );
    env.cmd().args(["cost", "--no-ingest"]).assert().code(1);
    std::fs::copy(&good, env.obs_home().join("pricing.toml")).unwrap();
    // reprice with --pricing would store with another table than asked:
    // refused as a usage error, saying where the table is set
    let out = env
        .cmd()
        .args(["reprice", "--pricing"])
        .arg(&good)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("OBSERVATORY_PRICING"), "{err}");
    // the file in effect, written another way, is that table: taken
    env.cmd()
        .args(["reprice", "-q", "--pricing"])
        .arg(env.obs_home().join(".").join("pricing.toml"))
        .assert()
        .success();
    // reprice says what it did, as JSON when asked
    let out = env.cmd().args(["reprice", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stored = env
        .db()
        .query_row("SELECT count(*) FROM response_rows", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    assert_eq!(v["repriced_responses"], stored, "{v}");
    assert_eq!(v["unpriced_responses"], 0, "{v}");
    assert!(v["price_fingerprint"].is_string(), "{v}");
}

#[test]
fn schema_json_gives_the_version_and_the_sql() {
    let env = Env::new();
    let out = env.cmd().args(["schema", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["schema_version"], 33, "{v}");
    let plain = env.cmd().arg("schema").assert().success();
    assert_eq!(
        v["sql"].as_str().unwrap().as_bytes(),
        plain.get_output().stdout
    );
}

#[test]
fn a_bad_price_file_stops_everything_and_names_file_line_and_key() {
    let env = Env::with_fixture("basic");
    let file = env.dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[models.claude-opus-4-6]\n[[models.claude-opus-4-6.rates]]\ninput = \"ten\"\noutput = \"50\"\ncache_write_5m = \"12.5\"\ncache_write_1h = \"20\"\ncache_read = \"1\"\n",
    )
    .unwrap();
    let named = |out: &assert_cmd::assert::Assert, name: &str| {
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains(&format!("{name}:3")) && stderr.contains("input"),
            "{stderr}"
        );
    };
    // given to a report
    let out = env
        .cmd()
        .args(["cost", "--by-model", "--pricing"])
        .arg(&file)
        .assert()
        .code(1);
    named(&out, "bad.toml");
    // in effect (the config dir's pricing.toml): ingest and reports stop
    std::fs::create_dir_all(env.obs_home()).unwrap();
    std::fs::copy(&file, env.obs_home().join("pricing.toml")).unwrap();
    for cmd in [&["ingest"][..], &["cost", "--by-model"]] {
        let out = env.cmd().args(cmd).assert().code(1);
        named(&out, "pricing.toml");
    }
    assert!(
        !env.db_path().exists(),
        "nothing was ingested with a half-read table"
    );
    // a command that stores says --pricing is not for it, and stores with
    // the table in effect
    std::fs::remove_file(env.obs_home().join("pricing.toml")).unwrap();
    let out = env
        .cmd()
        .args(["ingest", "--pricing"])
        .arg(&file)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("--pricing prices a report's output only"),
        "{stderr}"
    );
    assert_eq!(
        cost_json(&env, &["--model", "claude-opus-4-6"])["total"]["cost_usd"],
        "0.0012"
    );
    // as do the status line (it stores and shows stored costs) and query
    // (it reads them), which took the flag without a word
    for args in [
        &["query", "SELECT sum(cost_picousd) FROM responses"][..],
        &["statusline"],
    ] {
        let out = env
            .cmd()
            .args(args)
            .arg("--pricing")
            .arg(&file)
            .write_stdin("{}")
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains(&format!("`observatory {}", args[0]))
                && stderr.contains("--pricing prices a report's output only"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn csv_and_table_outputs() {
    let env = Env::with_fixture("basic");
    let out = env
        .cmd()
        .args(["cost", "--by-model", "--csv"])
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("model,priced_as,requests,input_tokens"),
        "{csv}"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().any(|l| l.starts_with("claude-sonnet-4-5-20250929,claude-sonnet-4-5-20250929,4,48,187,1000,500,12500,2,0.033449,0")), "{csv}");
    let out = env.cmd().args(["cost", "--by-model"]).assert().success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        table.contains("Total") && table.contains("$0.03"),
        "{table}"
    );
    env.cmd().args(["cost", "--csv", "--json"]).assert().code(2);
    env.cmd().args(["cost", "--since", "soon"]).assert().code(2);
    // a negative span gets the days' own words, not "unexpected argument"
    for (args, said) in [
        (
            &["cost", "--since", "-3d"][..],
            "\"-3d\" is not a span of 1 to 100,000 days",
        ),
        (
            &["sessions", "--until", "-2w"],
            "\"-2w\" is not a span of 1 to 100,000 days",
        ),
        (
            &["forget", "--before", "-1d", "--dry-run"],
            "\"-1d\" is not a span",
        ),
        (
            &["cost", "--since", "--json"],
            "--json is a flag, not a day",
        ),
    ] {
        let out = env.cmd().args(args).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(said), "{args:?}: {err}");
    }
    env.cmd()
        .args(["cost", "--tz", "Mars/Olympus"])
        .assert()
        .code(2);
}

#[test]
fn pricing_lists_the_table() {
    let env = Env::new();
    let out = env.cmd().args(["pricing", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ids: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    for id in [
        "claude-opus-4-6",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5-2",
        "claude-3-haiku-20240307",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
    assert_eq!(v["globals"]["web_search_usd_per_request"], "0.01");
    // Bedrock's regional surcharge: on Sonnet 4.5 and later, not Sonnet 4
    assert_eq!(v["globals"]["regional_multiplier"], "1.1");
    let regional = |id: &str| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))["regional"]
            .clone()
    };
    assert_eq!(regional("claude-sonnet-4-5-20250929"), true);
    assert_eq!(regional("claude-sonnet-4-20250514"), false);
    let out = env.cmd().arg("pricing").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("regional x1.1 for Bedrock's regional ids"),
        "{text}"
    );
    let line = |id: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id}: {text}"))
            .to_owned()
    };
    assert!(line("claude-haiku-4-5-20251001").ends_with("regional x1.1"));
    assert!(!line("claude-sonnet-4-20250514").contains("regional"));
}

/// `cost` and `blocks` read the per-15-minute rollup when it is up to date
/// and the responses themselves otherwise: both give the same report, to the
/// digit, for every grouping, filter and zone (including one whose days do
/// not start on a quarter hour, which always reads the responses).
#[test]
fn rollup_and_responses_give_the_same_reports() {
    for fixture in ["basic", "reports"] {
        let env = Env::with_fixture(fixture);
        env.ingest();
        if fixture == "basic" {
            // a later line of a stored response (msg_C) in a second ingest:
            // the row is updated, its bucket re-summed
            let f = env.projects().join("-home-u-app/sess-main-0001.jsonl");
            let mut file = std::fs::OpenOptions::new().append(true).open(f).unwrap();
            writeln!(
                file,
                r#"{{"type":"assistant","uuid":"late-c","sessionId":"sess-main-0001","timestamp":"2026-03-01T10:20:00.000Z","cwd":"/home/u/app","message":{{"id":"msg_C","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":3,"output_tokens":9,"cache_read_input_tokens":3500}}}}}}"#
            )
            .unwrap();
            let s = env.ingest();
            assert_eq!(s["responses_updated"], 1, "{s}");
        }
        let db = env.db();
        let fresh: i64 = db
            .query_row("SELECT count(*) FROM cost_rollup_dirty", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fresh, 0, "ingest leaves the rollup up to date");
        let rollup_rows: i64 = db
            .query_row("SELECT count(*) FROM cost_rollup", [], |r| r.get(0))
            .unwrap();
        assert!(rollup_rows > 0);
        let cases: &[&[&str]] = &[
            &["--by-model"],
            &[],
            &["--by-day", "--tz", "UTC"],
            &["--by-day", "--tz", "Asia/Kolkata"],
            &["--by-week", "--by-model", "--tz", "America/New_York"],
            &["--by-month", "--by-project"],
            &["--by-agent", "--by-branch"],
            &[
                "--by-model",
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-01",
                "--tz",
                "UTC",
            ],
            &["--by-model", "--project", "app"],
            &["--by-model", "--model", "claude-sonnet-4-5"],
            &["--by-day", "--tz", "+13:59"],
            &["--by-session"],
            &["--by-session", "--by-agent", "--by-day", "--tz", "UTC"],
            &[
                "--by-session",
                "--by-model",
                "--since",
                "2026-03-01",
                "--tz",
                "UTC",
            ],
        ];
        // (one session, with its subagents)
        let session: &[&str] = match fixture {
            "basic" => &["--session", "sess-main-0001", "--by-model", "--by-agent"],
            _ => &["--session", "sess-blocks-b002", "--by-day", "--tz", "UTC"],
        };
        let cases: Vec<&[&str]> = cases.iter().copied().chain([session]).collect();
        let mut with_rollup = Vec::new();
        for args in &cases {
            let mut a = args.to_vec();
            a.push("--no-ingest");
            with_rollup.push(cost_json(&env, &a));
        }
        let blocks = |env: &Env| -> Value {
            let out = env
                .cmd()
                .args(["blocks", "--json", "--no-ingest"])
                .assert()
                .success();
            let mut v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
            v["now"] = Value::Null; // the one field that differs between runs
            v
        };
        let blocks_rollup = blocks(&env);
        assert!(!blocks_rollup["rows"].as_array().unwrap().is_empty());
        // a pending bucket: readers must not trust the rollup
        db.execute(
            "INSERT INTO cost_rollup_dirty(bucket, thread) VALUES (0, 0)",
            [],
        )
        .unwrap();
        for (args, expected) in cases.iter().zip(&with_rollup) {
            let mut a = args.to_vec();
            a.push("--no-ingest");
            let got = cost_json(&env, &a);
            assert_eq!(&got, expected, "{fixture}: cost {args:?}");
        }
        assert_eq!(blocks(&env), blocks_rollup, "{fixture}: blocks");
        // and the next ingest re-sums it
        env.ingest();
        let dirty: i64 = db
            .query_row("SELECT count(*) FROM cost_rollup_dirty", [], |r| r.get(0))
            .unwrap();
        assert_eq!(dirty, 0);
        // (the fast path really reads the rollup: a wrong rollup shows, once
        // noted as checked again; a change removes that note)
        db.execute_batch(
            "UPDATE cost_rollup SET input_tokens = input_tokens + 1
             WHERE rowid = (SELECT min(rowid) FROM cost_rollup);
             INSERT INTO meta(key, value) SELECT 'rollup_checked_count', sum(requests) FROM cost_rollup;",
        )
        .unwrap();
        let skewed = cost_json(&env, &["--by-model", "--no-ingest"]);
        let total = |v: &Value, k: &str| v["total"][k].as_u64().unwrap();
        assert_eq!(
            total(&skewed, "input_tokens"),
            total(&with_rollup[0], "input_tokens") + 1
        );
        // A response stored by anything but the ingest writer (which notes
        // the buckets it inserts into) is seen: readers count it, and the
        // next ingest re-sums the whole rollup.
        let store_by_hand = |key: &str, at: i64, input_tokens: i64| {
            db.execute(
                "INSERT INTO response_rows(key, model, at, input_tokens, output_tokens, cache_creation_5m_tokens,
                    cache_creation_1h_tokens, cache_read_tokens, web_search_requests, web_fetch_requests,
                    fast, us_only, final, line_count)
                 VALUES (?1, 'claude-sonnet-4-5', ?2, ?3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1)",
                rusqlite::params![key, at, input_tokens],
            )
            .unwrap();
        };
        // (responses counted, requests in the rollup)
        let counts = || -> (i64, i64) {
            db.query_row(
                "SELECT (SELECT count(*) FROM responses), (SELECT sum(requests) FROM cost_rollup)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        store_by_hand("by-hand", 1772323200000, 1000);
        for when in ["before the next ingest", "after it"] {
            // (a report's own ingest stores nothing here and leaves the
            // rollup as it is: the report sees the counts differ and reads
            // the responses; `observatory ingest` re-sums)
            for args in [&["--by-model", "--no-ingest"][..], &["--by-model"]] {
                let got = cost_json(&env, args);
                assert_eq!(
                    (total(&got, "requests"), total(&got, "input_tokens")),
                    (
                        total(&with_rollup[0], "requests") + 1,
                        total(&with_rollup[0], "input_tokens") + 1000
                    ),
                    "{fixture}: {when}, {args:?}"
                );
            }
            env.ingest();
        }
        let (counted, in_rollup) = counts();
        assert_eq!(counted, in_rollup, "{fixture}: the rollup was re-summed");
        if fixture == "basic" {
            // the same when that ingest also stores a new response of its own
            // (its bucket is noted, the hand-made one's is not)
            store_by_hand("by-hand-2", 1772409600000, 5);
            let f = env.projects().join("-home-u-app/sess-main-0001.jsonl");
            let mut file = std::fs::OpenOptions::new().append(true).open(f).unwrap();
            writeln!(
                file,
                r#"{{"type":"assistant","uuid":"new-z","sessionId":"sess-main-0001","timestamp":"2026-03-01T10:40:00.000Z","cwd":"/home/u/app","message":{{"id":"msg_Z","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{{"input_tokens":7,"output_tokens":1}}}}}}"#
            )
            .unwrap();
            assert_eq!(env.ingest()["responses_new"], 1);
            let (counted, in_rollup) = counts();
            assert_eq!(
                counted, in_rollup,
                "hand-made and ingested responses both summed"
            );
        }
    }
}

/// `cost_totals` (schema 29), which `cost` and `cost --by-model` read when
/// no filter is given, is the rollup summed per model and pricing entry
/// after every change to the rollup (an ingest, a later line of a stored
/// response, a new pricing entry, a forgotten session, a price change, a
/// rebuild), and a report read from it is the report the responses give.
#[test]
fn cost_totals_follow_the_rollup() {
    let env = Env::with_fixture("basic");
    type Sums = (String, String, Vec<i64>, i128);
    let sums = |sql: &str| -> Vec<Sums> {
        let db = env.db();
        let mut st = db.prepare(sql).unwrap();
        st.query_map([], |r| {
            let counts = (2..10).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
            let (dollars, rest): (i64, i64) = (r.get(10)?, r.get(11)?);
            let cost = i128::from(dollars) * 1_000_000_000_000 + i128::from(rest);
            Ok((r.get(0)?, r.get(1)?, counts, cost))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    const COUNTS: &str = "requests, priced_requests, input_tokens, output_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, web_search_requests";
    let check = |when: &str| -> Vec<Sums> {
        let totals = sums(&format!(
            "SELECT model, priced_as, {COUNTS}, cost_dollars, cost_rest_picousd
             FROM cost_totals ORDER BY model, priced_as"
        ));
        let summed = COUNTS
            .split(',')
            .map(|c| format!("sum({})", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rollup = sums(&format!(
            "SELECT model, coalesce(priced_as, ''), {summed}, sum(cost_dollars), sum(cost_rest_picousd)
             FROM cost_rollup GROUP BY 1, 2 ORDER BY 1, 2"
        ));
        assert_eq!(totals, rollup, "{when}");
        assert!(!totals.is_empty(), "{when}");
        let reports =
            || [&["--by-model", "--no-ingest"][..], &["--no-ingest"]].map(|a| cost_json(&env, a));
        let from_totals = reports();
        // (a pending bucket: the reports read the responses)
        let db = env.db();
        db.execute("INSERT INTO cost_rollup_dirty VALUES (0, 0)", [])
            .unwrap();
        let from_responses = reports();
        db.execute("DELETE FROM cost_rollup_dirty", []).unwrap();
        assert_eq!(from_totals, from_responses, "{when}");
        totals
    };
    env.ingest();
    check("the first ingest");
    let main = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    common::append(
        &main,
        concat!(
            r#"{"type":"assistant","uuid":"late-c","sessionId":"sess-main-0001","timestamp":"2026-03-01T10:20:00.000Z","cwd":"/home/u/app","message":{"id":"msg_C","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":3,"output_tokens":9,"cache_read_input_tokens":3500}}}"#,
            "\n",
            r#"{"type":"assistant","uuid":"x-2","sessionId":"sess-main-0001","timestamp":"2026-03-02T10:00:00.000Z","cwd":"/home/u/app","message":{"id":"msg_Y","model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","stop_reason":"end_turn","usage":{"input_tokens":1000,"output_tokens":100}}}"#,
            "\n"
        )
        .as_bytes(),
    );
    let s = env.ingest();
    assert_eq!(
        (s["responses_updated"].as_u64(), s["responses_new"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let priced = check("a response updated, one priced as its entry");
    assert!(
        priced.iter().any(|(_, as_, _, _)| !as_.is_empty()),
        "{priced:?}"
    );
    env.cmd()
        .args(["forget", "--session", "sess-resume-0002", "--yes", "-q"])
        .assert()
        .success();
    let forgotten = check("a session forgotten");
    assert_ne!(forgotten, priced);
    // Sonnet 4.5's output at $16 instead of $15: the next ingest re-prices
    let table = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pricing.toml"))
        .unwrap()
        .replace(
            r#"output = "15"           # M-sonnet-4-5, P-FEB26"#,
            r#"output = "16""#,
        );
    std::fs::write(env.obs_home().join("pricing.toml"), table).unwrap();
    env.ingest();
    let repriced = check("re-priced");
    assert_ne!(repriced, forgotten);
    let by_model = cost_json(&env, &["--by-model", "--no-ingest"]);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(check("rebuilt"), repriced);
    // changed by hand (a row added, a row's figures moved): not trusted,
    // and the next ingest sums them again from the rollup (they kept the
    // change for good: review-s33 F1)
    env.db()
        .execute_batch(
            "INSERT INTO cost_totals VALUES ('ghost-model', '', 5, 5, 1, 1, 1, 1, 1, 0, 1000, 0);
             UPDATE cost_totals SET requests = requests + 1, cost_dollars = cost_dollars + 1000
             WHERE model = (SELECT min(model) FROM cost_totals);",
        )
        .unwrap();
    assert_eq!(cost_json(&env, &["--by-model", "--no-ingest"]), by_model);
    env.ingest();
    assert_eq!(check("changed by hand, then an ingest"), repriced);
}

/// A report trusts the rollup only while nothing changed since an ingest
/// found it complete: a rollup row deleted by hand is seen, the report reads
/// the responses, and the next ingest re-sums.
#[test]
fn a_rollup_changed_by_hand_is_not_trusted() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let want = cost_json(&env, &["--by-model", "--no-ingest"]);
    env.db()
        .execute(
            "DELETE FROM cost_rollup WHERE rowid = (SELECT min(rowid) FROM cost_rollup)",
            [],
        )
        .unwrap();
    assert_eq!(
        cost_json(&env, &["--by-model", "--no-ingest"]),
        want,
        "read from the responses"
    );
    env.ingest();
    let (responses, in_rollup): (i64, i64) = env
        .db()
        .query_row(
            "SELECT (SELECT count(*) FROM response_rows), (SELECT sum(requests) FROM cost_rollup)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(responses, in_rollup, "the rollup was re-summed");
    assert_eq!(cost_json(&env, &["--by-model", "--no-ingest"]), want);
    // a change that leaves the counts as they were (a cost, by hand) is
    // seen too, and a report's own ingest sums the rollup again
    let rollup_cost = || -> i64 {
        env.db()
            .query_row("SELECT sum(cost_dollars) FROM cost_rollup", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let summed = rollup_cost();
    env.db()
        .execute(
            "UPDATE cost_rollup SET cost_dollars = cost_dollars + 1000
             WHERE rowid = (SELECT min(rowid) FROM cost_rollup)",
            [],
        )
        .unwrap();
    assert_eq!(
        cost_json(&env, &["--by-model", "--no-ingest"]),
        want,
        "read from the responses"
    );
    assert_eq!(cost_json(&env, &["--by-model"]), want);
    assert_eq!(rollup_cost(), summed, "summed again by the report's ingest");
}

/// response_rows keeps priced_as only when the pricing entry is not the
/// model itself (0009); responses and the cost report show it either way.
#[test]
fn a_platform_model_id_is_priced_as_its_entry() {
    let env = Env::with_fixture("basic");
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let line = r#"{"type":"assistant","uuid":"x-2","sessionId":"sess-resume-0002","timestamp":"2026-03-02T10:00:00.000Z","cwd":"/home/u/app","message":{"id":"msg_Y","model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","stop_reason":"end_turn","usage":{"input_tokens":1000,"output_tokens":100}}}"#;
    common::append(&f, format!("{line}\n").as_bytes());
    let v = cost_json(&env, &["--by-model"]);
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
        .unwrap();
    assert_eq!(row["priced_as"], "claude-sonnet-4-5-20250929");
    // $3 in, $15 out per million: 0.003 + 0.0015, x1.1 at Bedrock's
    // regional endpoint (`us.`)
    assert_eq!(row["cost_usd"], "0.00495");
    let db = env.db();
    let stored: Vec<(String, Option<String>, Option<String>)> = db
        .prepare(
            "SELECT r.key, r.priced_as, v.priced_as FROM response_rows r
             JOIN responses v ON v.id = r.id ORDER BY r.key",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored.len(), 8);
    for (key, kept, shown) in stored {
        if key == "msg_Y" {
            assert_eq!(kept.as_deref(), Some("claude-sonnet-4-5-20250929"));
        } else {
            assert_eq!(kept, None, "{key}: the model's own entry");
        }
        assert!(shown.is_some(), "{key}");
    }
    assert_eq!(
        common::count(
            &db,
            "SELECT count(*) FROM responses WHERE priced_as = model"
        ),
        7
    );
}

#[test]
fn filters_that_match_nothing_are_said_not_shown_as_zero() {
    let env = Env::with_fixture("basic");
    env.ingest();
    // a session is named as show names it: unknown and ambiguous are errors
    let out = env
        .cmd()
        .args(["cost", "--session", "nope"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no session id starts with \"nope\""), "{err}");
    let out = env
        .cmd()
        .args(["cost", "--session", "sess"])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("names more than one session"), "{err}");
    let v = cost_json(&env, &["--session", "sess-main"]);
    assert_eq!(v["total"]["requests"], 6, "{v}");
    // a session whose id extends that one's is another session: an exact
    // id names only its own
    let longer = env.projects().join("-home-u-app/sess-main-0001b.jsonl");
    let line = r#"{"type":"assistant","uuid":"longer-1","sessionId":"sess-main-0001b","timestamp":"2026-03-03T10:00:00.000Z","cwd":"/home/u/app","message":{"id":"msg_longer","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5}}}"#;
    std::fs::write(&longer, format!("{line}\n")).unwrap();
    let v = cost_json(&env, &["--session", "sess-main-0001"]);
    assert_eq!(v["total"]["requests"], 6, "{v}");
    let v = cost_json(&env, &["--session", "sess-main-0001b"]);
    assert_eq!(v["total"]["requests"], 1, "{v}");
    std::fs::remove_file(&longer).unwrap();
    // a project or model that matches nothing: $0, and a warning says why
    for (flag, text) in [("--project", "nomatch"), ("--model", "gpt-9")] {
        let out = env.cmd().args(["cost", flag, text]).assert().success();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(&format!("{flag} \"{text}\" matches nothing")),
            "{err}"
        );
    }
    // every report says it of --project, and not of one that matches
    for report in ["sessions", "tools", "hooks", "blocks", "files", "commands"] {
        let out = env
            .cmd()
            .args([report, "--project", "nomatch", "--json"])
            .assert()
            .success();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains("--project \"nomatch\" matches nothing"),
            "{report}: {err}"
        );
        let out = env
            .cmd()
            .args([report, "--project", "app", "--json"])
            .assert()
            .success();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!err.contains("matches nothing"), "{report}: {err}");
    }
    // one that matches, in a range without responses: no such warning
    let out = env
        .cmd()
        .args(["cost", "--model", "claude-opus", "--since", "2030-01-01"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("matches nothing"), "{err}");
}

#[test]
fn a_negative_offset_is_a_zone_not_a_flag() {
    let env = Env::with_fixture("basic");
    let days = |tz: &[&str]| -> Vec<String> {
        let v = cost_json(&env, &[&["--by-day"][..], tz].concat());
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["day"].as_str().unwrap().to_owned())
            .collect()
    };
    // the same responses cut 24 hours apart: written with or without `=`
    assert_eq!(days(&["--tz", "-12:00"]), ["2026-02-28", "2026-03-01"]);
    assert_eq!(days(&["--tz=-12:00"]), ["2026-02-28", "2026-03-01"]);
    assert_eq!(days(&["--tz", "+12:00"]), ["2026-03-01", "2026-03-02"]);
}

#[test]
fn a_response_whose_lines_give_cache_writes_with_and_without_the_breakdown_counts_them_once() {
    // one response (msg_C), 5,000 cache writes: one line gives only the
    // total (counted as 5m), the other the 5m/1h breakdown (all 1h).
    // Sonnet 4.5: 10 in, 50 out, 5,000 1h = 30 + 750 + 30,000 = $0.03078
    let line = |uuid: &str, second: u32, usage: &str, stop: &str| {
        format!(
            r#"{{"type":"assistant","sessionId":"c0000000-0000-4000-8000-00000000000c","cwd":"/home/u/p","uuid":"{uuid}","timestamp":"2026-01-10T10:00:0{second}.000Z","message":{{"model":"claude-sonnet-4-5-20250929","id":"msg_C","role":"assistant","content":[{{"type":"text","text":"a"}}],"stop_reason":{stop},"usage":{{"input_tokens":10,"cache_creation_input_tokens":5000,"cache_read_input_tokens":0,{usage}}}}}}}"#
        )
    };
    let total_only = line("l1", 0, r#""output_tokens":1"#, "null");
    let breakdown = line(
        "l2",
        1,
        r#""output_tokens":50,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":5000}"#,
        r#""end_turn""#,
    );
    let expect = |env: &Env, how: &str| {
        let t = cost_json(env, &["-q"])["total"].clone();
        assert_eq!(
            (
                &t["cache_creation_5m_tokens"],
                &t["cache_creation_1h_tokens"],
                &t["cost_usd"]
            ),
            (&json!(0), &json!(5000), &json!("0.03078")),
            "{how}: {t}"
        );
    };
    for (first, second) in [(&total_only, &breakdown), (&breakdown, &total_only)] {
        // both lines in one read (merged in memory) ...
        let env = Env::new();
        let dir = env.project_dir("-home-u-p");
        let f = dir.join("c0000000-0000-4000-8000-00000000000c.jsonl");
        std::fs::write(&f, format!("{first}\n{second}\n")).unwrap();
        expect(&env, "one read");
        // ... and one line per read (merged into the stored row)
        let env = Env::new();
        let dir = env.project_dir("-home-u-p");
        let f = dir.join("c0000000-0000-4000-8000-00000000000c.jsonl");
        std::fs::write(&f, format!("{first}\n")).unwrap();
        env.ingest();
        let mut file = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
        writeln!(file, "{second}").unwrap();
        expect(&env, "two reads");
    }
}

/// Schema 20 sums the rollup per session: a schema 19 database's rollup has
/// no sessions. Upgraded, it is emptied (reports read the responses) and
/// the next ingest sums it again: the reports stay the same throughout.
#[test]
fn the_schema_20_upgrade_sums_the_rollup_again_per_session() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let cases: [&[&str]; 3] = [
        &["--by-session", "--by-model"],
        &["--session", "sess-main-0001", "--by-day", "--tz", "UTC"],
        &["--by-model"],
    ];
    let report = |extra: &[&str]| -> Vec<Value> {
        cases
            .iter()
            .map(|a| cost_json(&env, &[a, extra].concat()))
            .collect()
    };
    let expected = report(&["--no-ingest"]);
    let db = env.db();
    // as schema 19 left it: no session in the rollup, and fresh (nor
    // schema 21's line counts and rollup triggers, nor schema 22's table,
    // nor schema 23's rollup notes by thread)
    db.execute_batch(
        "DROP TRIGGER cost_totals_insert; DROP TRIGGER cost_totals_update;
         DROP TRIGGER cost_totals_delete; DROP TABLE cost_totals;
         DROP TRIGGER tool_figures_call_insert; DROP TRIGGER tool_figures_call_update;
         DROP TRIGGER tool_figures_call_delete; DROP TABLE tool_figures; DROP TABLE tool_figures_dirty;
         DROP TRIGGER hook_figures_run_insert; DROP TRIGGER hook_figures_run_update;
         DROP TRIGGER hook_figures_run_delete; DROP TABLE hook_figures; DROP TABLE hook_figures_dirty;
         DROP TRIGGER line_counts_line_delete; DROP TRIGGER line_counts_line_update;
         DROP TRIGGER line_counts_file_replaced; DROP TABLE line_counts;
         DROP TRIGGER cost_rollup_changed_insert; DROP TRIGGER cost_rollup_changed_update;
         DROP TRIGGER cost_rollup_changed_delete;
         DROP INDEX messages_api_errors; DROP INDEX messages_commands;
         DROP INDEX system_events_api_errors; DROP INDEX hook_runs_thread;
         DROP INDEX cost_rollup_bucket; CREATE INDEX cost_rollup_bucket ON cost_rollup(bucket);
         DROP INDEX responses_thread; CREATE INDEX responses_thread ON response_rows(thread);
         DROP TRIGGER responses_rollup_update; DROP TRIGGER responses_rollup_delete;
         DROP TRIGGER threads_rollup_delete; DROP TRIGGER threads_rollup_update;
         DROP TABLE cost_rollup_dirty;
         CREATE TABLE cost_rollup_dirty (
             bucket INTEGER PRIMARY KEY
         );
         CREATE TRIGGER responses_rollup_update AFTER UPDATE ON response_rows BEGIN
             INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
                 WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
             INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(NEW.at / 900000, -1)
                 WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(NEW.at / 900000, -1));
         END;
         CREATE TRIGGER responses_rollup_delete AFTER DELETE ON response_rows BEGIN
             INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
                 WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
         END;
         ALTER TABLE cost_rollup DROP COLUMN session_id;
         DROP TABLE file_session_ids;
         DROP INDEX source_files_walked;
         ALTER TABLE source_files DROP COLUMN gone;
         PRAGMA user_version = 19;",
    )
    .unwrap();
    let rollup = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert!(rollup("SELECT count(*) FROM cost_rollup") > 0);
    // the upgrade, without an ingest: the responses are read
    assert_eq!(report(&["--no-ingest"]), expected);
    assert_eq!(rollup("PRAGMA user_version"), 33);
    assert_eq!(rollup("SELECT count(*) FROM cost_rollup"), 0);
    // the next ingest sums it again, per session
    assert_eq!(report(&[]), expected);
    assert_eq!(
        rollup("SELECT sum(requests) FROM cost_rollup WHERE session_id = 'sess-main-0001'"),
        rollup("SELECT count(*) FROM responses WHERE session_id = 'sess-main-0001'")
    );
    assert!(rollup("SELECT count(*) FROM responses WHERE session_id = 'sess-main-0001'") > 0);
}

/// A flag given twice takes its last value, as in most CLIs (a wrapper
/// that appends `--json` or `--tz` to what it was given broke: "cannot be
/// used multiple times", exit 2); a repeatable one (`--claude-dir`) adds.
#[test]
fn a_flag_given_twice_takes_its_last_value() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let once = cost_json(&env, &["--by-day", "--tz", "Pacific/Kiritimati"]);
    let twice = cost_json(
        &env,
        &[
            "--json",
            "--by-day",
            "--tz",
            "UTC",
            "--tz",
            "Pacific/Kiritimati",
        ],
    );
    assert_eq!(once, twice);
    assert_ne!(once, cost_json(&env, &["--by-day", "--tz", "UTC"]));
}

/// A fast-mode response of a model the table has no fast price for (the
/// reference: Fable 5.2 has fast mode, its price unknown) is billed at
/// standard rates, as the README says; `pricing --check` names it (exit 1)
/// instead of "every model has a price", and `cost` warns of those it
/// sums. A model with a fast price, or a fast period that ended, is not
/// named.
#[test]
fn pricing_check_names_fast_responses_without_a_fast_price() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-fast");
    let line =
        |uuid: &str, msg: &str, model: &str, at: &str| fast_line(uuid, msg, model, at, 1_000_000);
    let text = [
        line(
            "f-1",
            "msg_f1",
            "claude-fable-5-2",
            "2026-11-15T10:00:00.000Z",
        ),
        line(
            "f-2",
            "msg_f2",
            "claude-opus-4-6",
            "2026-03-05T10:00:00.000Z",
        ),
    ]
    .join("\n");
    std::fs::write(dir.join("sess-fast.jsonl"), text + "\n").unwrap();
    let v = cost_json(&env, &["--by-model"]);
    // billed at Fable 5.2's standard $8 per MTok input (Opus 4.6 fast past
    // 200K tokens: $60)
    assert_eq!(v["total"]["cost_usd"], "68", "{v}");
    // and `cost` says so, of the responses it sums
    let fable = json!([{"model": "claude-fable-5-2", "responses": 1}]);
    assert_eq!(v["fast_without_fast_price"], fable, "{v}");
    let out = env.cmd().args(["cost", "--no-ingest"]).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(
            "warning: 1 fast-mode response of model \"claude-fable-5-2\" is priced at standard rates"
        ),
        "{err}"
    );
    for narrower in [
        &["--model", "claude-opus"][..],
        &["--until", "2026-11-14", "--tz", "UTC"],
        &["--project", "no-such-project"],
    ] {
        let v = cost_json(&env, narrower);
        assert_eq!(v["fast_without_fast_price"], json!([]), "{narrower:?}: {v}");
    }
    for wider in [
        &["--since", "2026-11-15", "--tz", "UTC"][..],
        &[
            "--since",
            "2026-11-15",
            "--until",
            "2026-11-15",
            "--tz",
            "UTC",
        ],
    ] {
        assert_eq!(
            cost_json(&env, wider)["fast_without_fast_price"],
            fable,
            "{wider:?}"
        );
    }
    let out = env.cmd().args(["pricing", "--check"]).assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("no fast-mode price") && text.contains("claude-fable-5-2 (1 response)"),
        "{text}"
    );
    assert!(!text.contains("claude-opus-4-6 ("), "{text}");
    let c = failed_check_json(&env);
    assert_eq!(
        c["fast_without_fast_price"],
        json!([{"model": "claude-fable-5-2", "responses": 1}])
    );
}

/// Opus 4.6's fast-mode launch discount ran "until 2026-02-16 23:59 PT":
/// a fast response at 07:59 UTC on the 17th (23:59 on the 16th in Pacific
/// standard time) is billed at the discounted rates, one at 08:00 UTC at
/// the full ones, and `pricing --json` shows the period's end as written.
#[test]
fn opus_4_6_fast_discount_ends_at_midnight_pacific_not_utc() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-fast");
    // (100K fast input tokens: under the long-context tier's 200K)
    let line =
        |uuid: &str, msg: &str, at: &str| fast_line(uuid, msg, "claude-opus-4-6", at, 100_000);
    let text = [
        line("f-1", "msg_f1", "2026-02-17T07:59:59.999Z"),
        line("f-2", "msg_f2", "2026-02-17T08:00:00.000Z"),
    ]
    .join("\n");
    std::fs::write(dir.join("sess-fast.jsonl"), text + "\n").unwrap();
    // at $15 per MTok (the discount), then at $30
    let v = cost_json(&env, &["--by-day", "--tz", "America/Los_Angeles"]);
    let days = day_costs(&v);
    assert_eq!(
        days,
        [
            (json!("2026-02-16"), json!("1.5")),
            (json!("2026-02-17"), json!("3"))
        ],
        "{v}"
    );
    assert_eq!(v["total"]["cost_usd"], "4.5", "{v}");

    let out = env.cmd().args(["pricing", "--json"]).assert().success();
    let p: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let opus = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "claude-opus-4-6")
        .unwrap();
    assert_eq!(
        opus["fast"][0]["until"], "2026-02-16T23:59:59-08:00",
        "{opus}"
    );
    assert_eq!(
        opus["fast"][1]["from"], "2026-02-17T00:00:00-08:00",
        "{opus}"
    );
}
