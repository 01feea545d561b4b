//! The config file, its precedence under environment variables and flags,
//! `config show` / `config path`, located warnings and errors, and colour.
//!
//! fixtures/basic (UTC): 6 responses on 2026-03-01 (a Sunday), 1 on
//! 2026-03-02 (a Monday); 33 lines.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Env;
use serde_json::Value;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `config show --json`, with extra env vars and args.
fn show(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> Value {
    let mut c = env.cmd();
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c
        .args(args)
        .args(["config", "show", "--json"])
        .assert()
        .success();
    json_of(out.get_output())
}

fn source(v: &Value, key: &str) -> (String, Value) {
    let e = &v["values"][key];
    (e["source"].as_str().unwrap().to_owned(), e["value"].clone())
}

#[test]
fn the_harness_never_reads_a_real_config() {
    let env = Env::new();
    let out = env.cmd().args(["config", "path"]).assert().success();
    let path = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_owned();
    assert_eq!(Path::new(&path), env.config_path());
    assert!(Path::new(&path).starts_with(env.dir.path()));
    let v = show(&env, &[], &[]);
    assert_eq!(v["config_file"]["exists"], false);
    assert_eq!(v["config_file"]["from"]["env"], "OBSERVATORY_HOME");
    assert_eq!(v["warnings"], serde_json::json!([]));
    for key in [
        "pricing",
        "timezone",
        "week_start",
        "money_decimals",
        "cost.group_by",
        "budget.warn_at",
        "watch.poll_interval_ms",
    ] {
        assert_eq!(source(&v, key).0, "default", "{key}: {v}");
    }
    // NO_COLOR=1 from the harness
    assert_eq!(source(&v, "color"), ("env".into(), "never".into()));
    // without OBSERVATORY_HOME, the XDG config dir inside the temp dir
    let out = env
        .cmd()
        .env_remove("OBSERVATORY_HOME")
        .args(["config", "path"])
        .assert()
        .success();
    let path = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_owned();
    assert!(Path::new(&path).starts_with(env.dir.path()), "{path}");
    assert!(path.ends_with("observatory/config.toml"), "{path}");
}

#[test]
fn db_timezone_and_roots_file_then_env_then_flag() {
    let env = Env::with_fixture("basic");
    let cfg = env.write_config(&format!(
        "# observatory config\nroots = [{:?}]\ndb = \"from-file.db\"\ntimezone = \"Asia/Tokyo\"\n",
        env.claude.display().to_string()
    ));
    let cfg_s = cfg.display().to_string();

    // the file (CLAUDE_CONFIG_DIR unset so the file's roots are used)
    let file_db = env.obs_home().join("from-file.db");
    let mut c = env.cmd();
    c.env_remove("CLAUDE_CONFIG_DIR");
    let v = json_of(
        c.args(["config", "show", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    assert_eq!(v["config_file"]["exists"], true);
    assert_eq!(v["values"]["db"]["file"], cfg_s.as_str());
    assert_eq!(v["values"]["db"]["line"], 3);
    assert_eq!(
        source(&v, "db"),
        ("file".into(), file_db.display().to_string().into())
    );
    assert_eq!(v["values"]["timezone"]["line"], 4);
    assert_eq!(source(&v, "timezone").1, "Asia/Tokyo");
    assert_eq!(v["values"]["roots"]["line"], 2);
    assert_eq!(
        source(&v, "roots"),
        ("file".into(), serde_json::json!([env.claude]))
    );
    // ...and it is what the commands use: the roots are read, into that db
    let out = env
        .cmd()
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["ingest", "--json"])
        .assert()
        .success();
    assert_eq!(json_of(out.get_output())["lines_read"], 33);
    assert!(file_db.is_file());
    assert!(!env.db_path().exists());
    let cost = |vars: &[(&str, &str)], args: &[&str]| -> Value {
        let mut c = env.cmd();
        c.env_remove("CLAUDE_CONFIG_DIR");
        for (k, v) in vars {
            c.env(k, v);
        }
        json_of(
            c.args(["cost", "--no-ingest", "--json"])
                .args(args)
                .assert()
                .success()
                .get_output(),
        )
    };
    let v = cost(&[], &[]);
    assert_eq!(v["tz"], "Asia/Tokyo");
    assert_eq!(v["total"]["requests"], 7);

    // the environment beats the file
    let env_db = env.dir.path().join("from-env.db");
    let other_root = env.dir.path().join("other");
    std::fs::create_dir_all(other_root.join("projects")).unwrap();
    let vars = [
        ("OBSERVATORY_DB", env_db.to_str().unwrap()),
        ("OBSERVATORY_TIMEZONE", "UTC"),
        ("OBSERVATORY_ROOTS", other_root.to_str().unwrap()),
    ];
    let v = show(&env, &vars, &[]);
    assert_eq!(
        source(&v, "db"),
        ("env".into(), env_db.display().to_string().into())
    );
    assert_eq!(v["values"]["db"]["env"], "OBSERVATORY_DB");
    assert_eq!(source(&v, "timezone"), ("env".into(), "UTC".into()));
    assert_eq!(
        source(&v, "roots"),
        ("env".into(), serde_json::json!([other_root]))
    );
    assert_eq!(v["values"]["roots"]["env"], "OBSERVATORY_ROOTS");
    // CLAUDE_CONFIG_DIR (the harness sets it) also beats the file's roots
    let v = show(&env, &[], &[]);
    assert_eq!(v["values"]["roots"]["env"], "CLAUDE_CONFIG_DIR");
    let v = cost(&vars, &[]);
    assert_eq!(v["tz"], "UTC");
    assert_eq!(v["total"]["requests"], 0, "no db yet at the env's path");
    // (--no-ingest makes no database: the warning names the env's path)
    let mut c = env.cmd();
    c.env_remove("CLAUDE_CONFIG_DIR").envs(vars);
    let out = c.args(["cost", "--no-ingest"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains(&format!("no database at {}", env_db.display())),
        "{stderr}"
    );
    assert!(!env_db.exists());

    // flags beat both
    let flag_db = env.dir.path().join("from-flag.db");
    let v = show(
        &env,
        &vars,
        &[
            "--db",
            flag_db.to_str().unwrap(),
            "--claude-dir",
            env.claude.to_str().unwrap(),
        ],
    );
    assert_eq!(
        source(&v, "db"),
        ("flag".into(), flag_db.display().to_string().into())
    );
    assert_eq!(v["values"]["db"]["flag"], "--db");
    assert_eq!(v["values"]["roots"]["flag"], "--claude-dir");
    let v = cost(
        &vars,
        &["--db", file_db.to_str().unwrap(), "--tz", "Europe/Paris"],
    );
    assert_eq!(v["tz"], "Europe/Paris");
    assert_eq!(v["total"]["requests"], 7);
}

#[test]
fn config_show_json_says_where_each_value_came_from() {
    let env = Env::new();
    let cfg = env.write_config(
        "week_start = \"sunday\"\n\n[budget]\nwarn_at = 90\n\n[watch]\npoll_interval_ms = 250\n",
    );
    let pricing = env.dir.path().join("p.toml");
    std::fs::write(&pricing, "").unwrap();
    let v = show(
        &env,
        &[
            ("OBSERVATORY_MONEY_DECIMALS", "3"),
            ("OBSERVATORY_COST_GROUP_BY", "model,day"),
        ],
        &["--pricing", pricing.to_str().unwrap(), "--color", "always"],
    );
    let cfg = cfg.display().to_string();
    let e = &v["values"];
    assert_eq!(
        e["week_start"],
        serde_json::json!({"value": "sunday", "source": "file", "file": cfg, "line": 1})
    );
    assert_eq!(
        e["budget.warn_at"],
        serde_json::json!({"value": 90, "source": "file", "file": cfg, "line": 4})
    );
    assert_eq!(e["watch.poll_interval_ms"]["line"], 7);
    assert_eq!(
        e["money_decimals"],
        serde_json::json!({"value": 3, "source": "env", "env": "OBSERVATORY_MONEY_DECIMALS"})
    );
    assert_eq!(
        e["cost.group_by"]["value"],
        serde_json::json!(["model", "day"])
    );
    assert_eq!(
        e["pricing"],
        serde_json::json!({"value": pricing, "source": "flag", "flag": "--pricing"})
    );
    assert_eq!(
        e["color"],
        serde_json::json!({"value": "always", "source": "flag", "flag": "--color"})
    );
    assert_eq!(
        e["timezone"],
        serde_json::json!({"value": "local", "source": "default"})
    );
    // people get the same, one line per key
    let out = env.cmd().args(["config", "show"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(&format!("{cfg}:4")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("timezone") && l.contains("default")),
        "{text}"
    );
}

#[test]
fn config_values_change_what_commands_do() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let weeks = |env: &Env| -> Vec<(String, u64)> {
        let out = env
            .cmd()
            .args(["cost", "--no-ingest", "--tz", "UTC", "--json"])
            .assert()
            .success();
        let v = json_of(out.get_output());
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["week"].as_str().unwrap().to_owned(),
                    r["requests"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // cost.group_by applies when no --by-* flag is given; weeks from Monday
    env.write_config("[cost]\ngroup_by = \"week\"\n");
    assert_eq!(
        weeks(&env),
        vec![("2026-02-23".into(), 6), ("2026-03-02".into(), 1)]
    );
    // week_start = sunday: one week from Sunday 2026-03-01
    env.write_config("week_start = \"sunday\"\n[cost]\ngroup_by = [\"week\"]\n");
    assert_eq!(weeks(&env), vec![("2026-03-01".into(), 7)]);
    // a --by-* flag replaces the configured grouping
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "--by-model", "--json"])
        .assert()
        .success();
    let v = json_of(out.get_output());
    assert!(v["rows"][0].get("week").is_none() && v["rows"][0].get("model").is_some());
    // --total ignores it: one line, the total, for a script
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "--total", "--csv"])
        .assert()
        .success();
    let csv = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(csv.lines().count(), 2, "header and the total:\n{csv}");
    assert!(
        csv.lines().next().unwrap().starts_with("requests,"),
        "{csv}"
    );
    assert!(csv.lines().nth(1).unwrap().starts_with("7,"), "{csv}");
    env.cmd()
        .args(["cost", "--total", "--by-day"])
        .assert()
        .code(2);

    // money_decimals: tables only; JSON stays exact
    env.write_config("money_decimals = 4\n");
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "--by-day", "--tz", "UTC"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("$0.0350"), "{text}");
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "--json"])
        .assert()
        .success();
    let exact = json_of(out.get_output())["total"]["cost_usd"].clone();
    assert_eq!(exact, "0.0349956");
    // whole dollars in tables, but a budget's limit is not rounded
    env.write_config("money_decimals = 0\n");
    let out = env
        .cmd()
        .args(["budget", "set", "--daily", "12.50"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("$12.50") && !text.contains("$13"), "{text}");
    env.cmd().args(["budget", "rm", "1"]).assert().success();

    // budget.warn_at: the default of `budget set --warn-at`
    env.write_config("[budget]\nwarn_at = 95\n");
    let out = env
        .cmd()
        .args(["budget", "set", "--daily", "5", "--json"])
        .assert()
        .success();
    assert_eq!(json_of(out.get_output())["warn_at_percent"], 95);
    let out = env
        .cmd()
        .args(["budget", "set", "--daily", "5", "--warn-at", "50", "--json"])
        .assert()
        .success();
    assert_eq!(json_of(out.get_output())["warn_at_percent"], 50);
}

#[test]
fn watch_polls_at_the_configured_interval() {
    let env = Env::new();
    env.write_config("[watch]\npoll_interval_ms = 250\n");
    let mut child = env
        .std_cmd()
        .env("CLAUDE_CONFIG_DIR", env.dir.path().join("nowhere"))
        .args(["watch", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let done = line.contains("polling every");
            seen.push(line);
            if done {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("polling every 250 ms")),
        "{seen:?}"
    );
}

/// `roots` that names no folder (an empty list, or empty names only: an
/// empty name would be the config file's own folder) is a warning naming
/// the file, line and key, and the defaults are read, as for an
/// OBSERVATORY_ROOTS of commas (tour-s35 F3: taken silently; errors then
/// named no folder); an empty name beside others is said and left out,
/// the others read (review-s35 M3).
#[test]
fn roots_that_name_no_folder_are_said_and_ignored() {
    let env = Env::new();
    let cfg = env.write_config("roots = [\"/somewhere\", \" \", \"/else\"]\n");
    // (`config show` with the file's roots: CLAUDE_CONFIG_DIR unset)
    let from_file = || {
        let out = env
            .cmd()
            .env_remove("CLAUDE_CONFIG_DIR")
            .args(["config", "show", "--json"])
            .assert()
            .success();
        json_of(out.get_output())
    };
    let v = show(&env, &[], &[]);
    let v2 = from_file();
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        v2["warnings"][0],
        format!(
            "{}:1: `roots` holds an empty name, which names no folder; left out",
            cfg.display()
        )
    );
    assert_eq!(
        source(&v2, "roots"),
        ("file".into(), serde_json::json!(["/somewhere", "/else"]))
    );
    for (roots, why) in [
        ("[]", "names no folder"),
        ("[\"\"]", "names no folder"),
        ("[\"\", \" \"]", "names no folder"),
    ] {
        let cfg = env.write_config(&format!("timezone = \"UTC\"\nroots = {roots}\n"));
        let v = from_file();
        let want = format!("{}:2: `roots` {why}", cfg.display());
        assert!(
            v["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(&want)),
            "{roots}: {v}"
        );
        assert_eq!(source(&v, "roots").0, "default", "{roots}: {v}");
    }
}

#[test]
fn unknown_keys_and_wrong_types_warn_with_file_and_line() {
    let env = Env::with_fixture("basic");
    let cfg = env.write_config(
        "timezone = \"UTC\"\ntimezon = \"Europe/Paris\"\nmoney_decimals = \"two\"\n[cost]\ngroup_by = [\"model\", 3]\n[budget]\nwarn_at = 90\nwarn = 1\n",
    );
    let cfg = cfg.display().to_string();
    let out = env.cmd().args(["cost", "--json"]).assert().success();
    let stderr = stderr_of(out.get_output());
    for want in [
        format!("warning: {cfg}:2: unknown key `timezon`"),
        format!("warning: {cfg}:3: `money_decimals` must be a whole number, not a string"),
        format!("warning: {cfg}:5: `cost.group_by` must be a list of strings"),
        format!("warning: {cfg}:8: unknown key `budget.warn`"),
    ] {
        assert!(stderr.contains(&want), "{want}\n{stderr}");
    }
    // the rest of the file applies
    let v = json_of(out.get_output());
    assert_eq!(v["tz"], "UTC");
    assert!(v["rows"][0].get("model").is_none(), "no grouping: {v}");
    let shown = show(&env, &[], &[]);
    assert_eq!(source(&shown, "budget.warn_at").1, 90);
    assert_eq!(shown["warnings"].as_array().unwrap().len(), 4);
    // -q silences the warnings
    let out = env.cmd().args(["cost", "-q", "--json"]).assert().success();
    assert_eq!(stderr_of(out.get_output()), "");
    // a value of the right type but not a valid one: named, ignored
    env.write_config("timezone = \"Mars/Olympus\"\nweek_start = \"friday\"\n");
    let out = env
        .cmd()
        .args(["cost", "--json", "--no-ingest"])
        .assert()
        .success();
    let stderr = stderr_of(out.get_output());
    assert!(
        stderr.contains(&format!("{cfg}:1: `timezone` unknown time zone")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{cfg}:2: `week_start` must be monday or sunday")),
        "{stderr}"
    );
    // an env value that does not parse names the variable
    let out = env
        .cmd()
        .env("OBSERVATORY_BUDGET_WARN_AT", "lots")
        .args(["config", "show"])
        .assert()
        .success();
    assert!(
        stderr_of(out.get_output())
            .contains("OBSERVATORY_BUDGET_WARN_AT=\"lots\": must be a whole number"),
        "{}",
        stderr_of(out.get_output())
    );
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout
            .contains("3 problems in the config file or the environment (see the warnings above)."),
        "{stdout}"
    );
    // -q silences the warnings, and the count does not point at them
    let out = env
        .cmd()
        .env("OBSERVATORY_BUDGET_WARN_AT", "lots")
        .args(["-q", "config", "show"])
        .assert()
        .success();
    assert_eq!(stderr_of(out.get_output()), "");
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains(
            "3 problems in the config file or the environment (without -q, warnings name them)."
        ),
        "{stdout}"
    );
}

#[test]
fn invalid_toml_is_refused_with_its_file_and_line() {
    let env = Env::with_fixture("basic");
    let cfg = env.write_config("timezone = \"UTC\"\n\n[cost\ngroup_by = \"model\"\n");
    let cfg = cfg.display().to_string();
    for args in [vec!["cost"], vec!["config", "show"], vec!["ingest"]] {
        let out = env.cmd().args(&args).assert().code(1);
        let stderr = stderr_of(out.get_output());
        assert!(
            stderr.starts_with(&format!(
                "error: {cfg}:3: the config file is not valid TOML"
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("fix that line, or move the file away"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!env.db_path().exists(), "nothing ran");
    // the status line still prints its line (without the file), exit 0
    let out = env
        .cmd()
        .arg("statusline")
        .write_stdin("{}")
        .assert()
        .success();
    // (no model in its input, nothing read: the neutral line)
    assert_eq!(out.get_output().stdout, b"observatory\n");
    assert!(stderr_of(out.get_output()).contains(&format!("{cfg}:3")));
    // `config path` still says where the file is
    let out = env.cmd().args(["config", "path"]).assert().success();
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout).trim(),
        cfg
    );
}

#[test]
fn config_file_from_flag_or_env_must_exist() {
    let env = Env::with_fixture("basic");
    let mine = env.dir.path().join("mine.toml");
    std::fs::write(&mine, "timezone = \"Asia/Tokyo\"\n").unwrap();
    env.write_config("timezone = \"UTC\"\n");
    let tz = |c: &mut assert_cmd::Command| -> Value {
        let out = c.args(["config", "show", "--json"]).assert().success();
        json_of(out.get_output())["values"]["timezone"].clone()
    };
    assert_eq!(tz(&mut env.cmd())["value"], "UTC");
    let v = tz(env.cmd().env("OBSERVATORY_CONFIG", &mine));
    assert_eq!(v["value"], "Asia/Tokyo");
    assert_eq!(v["file"], mine.display().to_string());
    let other = env.dir.path().join("other.toml");
    std::fs::write(&other, "timezone = \"Europe/Paris\"\n").unwrap();
    let v = tz(env
        .cmd()
        .env("OBSERVATORY_CONFIG", &mine)
        .arg("--config")
        .arg(&other));
    assert_eq!(
        v["value"], "Europe/Paris",
        "--config beats OBSERVATORY_CONFIG"
    );
    let out = env
        .cmd()
        .args(["cost", "--config"])
        .arg(env.dir.path().join("missing.toml"))
        .assert()
        .code(1);
    let stderr = stderr_of(out.get_output());
    assert!(
        stderr.contains("cannot read the config file") && stderr.contains("missing.toml"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("os error 2").count(),
        1,
        "said once: {stderr}"
    );
    // OBSERVATORY_HOME naming a file: the fault named, not the config
    // file's permissions
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = env
        .cmd()
        .env("OBSERVATORY_HOME", &file)
        .arg("status")
        .assert()
        .code(1);
    let stderr = stderr_of(out.get_output());
    assert!(
        stderr.contains(&format!(
            "{} is a file, not a folder: point OBSERVATORY_HOME at a folder",
            file.display()
        )),
        "{stderr}"
    );
}

// ------------------------------------------------------------------ colour

fn has_ansi(b: &[u8]) -> bool {
    b.windows(2).any(|w| w == b"\x1b[")
}

#[test]
fn no_color_and_color_never_print_no_escapes_and_always_does() {
    let env = Env::with_fixture("basic");
    // a response today, so that a tiny daily budget is over its limit
    let today = env.projects().join("-today");
    std::fs::create_dir_all(&today).unwrap();
    let now = common::steady_now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    std::fs::write(
        today.join("s.jsonl"),
        format!(
            "{{\"type\":\"assistant\",\"uuid\":\"t1\",\"sessionId\":\"T\",\"timestamp\":\"{now}\",\"message\":{{\"id\":\"mt\",\"model\":\"claude-opus-4-6\",\"usage\":{{\"input_tokens\":100000,\"output_tokens\":10}}}}}}\n"
        ),
    )
    .unwrap();
    env.ingest();
    // an error on stderr, a table on stdout, a budget over its limit
    env.cmd()
        .args(["budget", "set", "--daily", "0.000001"])
        .assert()
        .success();
    let run = |vars: &[(&str, &str)], extra: &[&str]| {
        let go = |args: &[&str], code: i32| {
            let mut c = env.cmd();
            c.env_remove("NO_COLOR");
            for (k, v) in vars {
                c.env(k, v);
            }
            c.args(args)
                .args(extra)
                .assert()
                .code(code)
                .get_output()
                .clone()
        };
        vec![
            go(&["cost", "--no-ingest", "--by-model", "--tz", "UTC"], 0),
            go(&["cost", "--no-ingest", "--tz", "Mars/Olympus"], 2),
            go(&["budget", "check", "--no-ingest", "--tz", "UTC"], 4),
        ]
    };
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (&[("NO_COLOR", "1")], &[]),
        (&[], &["--color", "never"]),
        (&[("CLICOLOR_FORCE", "1")], &["--color", "never"]),
        // not a terminal (the test captures both streams): auto is plain
        (&[], &[]),
        (&[("NO_COLOR", "1")], &["--color", "auto"]),
    ];
    for (vars, extra) in cases {
        for out in run(vars, extra) {
            assert!(
                !has_ansi(&out.stdout) && !has_ansi(&out.stderr),
                "{vars:?} {extra:?}: {out:?}"
            );
        }
    }
    // --color always wins over NO_COLOR, in a pipe
    let outs = run(&[("NO_COLOR", "1")], &["--color", "always"]);
    assert!(has_ansi(&outs[0].stdout), "table headers: {:?}", outs[0]);
    assert!(
        String::from_utf8_lossy(&outs[1].stderr).starts_with("\x1b[1;31merror:\x1b[0m "),
        "{:?}",
        outs[1]
    );
    let budget = String::from_utf8_lossy(&outs[2].stdout).into_owned();
    assert!(
        budget.contains("\x1b[") && budget.contains("OVER"),
        "{budget}"
    );
    assert!(has_ansi(&outs[2].stderr), "{:?}", outs[2]);
    // JSON is never coloured
    let out = env
        .cmd()
        .args(["cost", "--no-ingest", "--json", "--color", "always"])
        .assert()
        .success();
    assert!(!has_ansi(&out.get_output().stdout));
    // CLICOLOR_FORCE alone forces it; color = "always" in the file too
    let outs = run(&[("CLICOLOR_FORCE", "1")], &[]);
    assert!(has_ansi(&outs[0].stdout));
    env.write_config("color = \"always\"\n");
    let outs = run(&[("NO_COLOR", "1")], &[]);
    assert!(
        has_ansi(&outs[0].stdout),
        "the file's explicit choice beats NO_COLOR"
    );
}

/// Paths whose names are not UTF-8 (Linux allows any bytes but `/` and
/// NUL): given by flag they are used as they are (every command panicked
/// turning them into `config show`'s JSON); in a variable, which
/// observatory reads as text, they are refused with the variable's name
/// (read with the bad bytes replaced, `OBSERVATORY_HOME` made a database
/// in another folder and `CLAUDE_CONFIG_DIR` "did not exist").
#[test]
fn paths_that_are_not_utf8_work_by_flag_and_are_refused_in_variables() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let env = Env::with_fixture("basic");
    let odd = |name: &[u8]| {
        let mut p = env.dir.path().as_os_str().to_owned().into_vec();
        p.push(b'/');
        p.extend_from_slice(name);
        std::path::PathBuf::from(OsString::from_vec(p))
    };
    let claude = odd(b"cl\xffaude");
    std::fs::rename(&env.claude, &claude).unwrap();
    let db = odd(b"d\xffb.db");
    // (the command with both paths by flag)
    let by_flag = |args: &[&str]| -> Value {
        let mut c = env.cmd();
        c.arg("--claude-dir").arg(&claude).arg("--db").arg(&db);
        json_of(c.args(args).assert().success().get_output())
    };
    assert_eq!(by_flag(&["cost", "--json"])["total"]["requests"], 7);
    assert!(db.exists());
    let v = by_flag(&["config", "show", "--json"]);
    assert!(
        v["values"]["db"]["value"]
            .as_str()
            .unwrap()
            .ends_with("/d\u{fffd}b.db"),
        "{v}"
    );
    for var in ["CLAUDE_CONFIG_DIR", "OBSERVATORY_HOME"] {
        let out = env
            .cmd()
            .env(var, odd(b"h\xfeome"))
            .args(["cost", "--json"])
            .assert()
            .code(1);
        let err = stderr_of(out.get_output());
        assert!(
            err.contains(&format!("{var} is not valid UTF-8")) && err.contains("unset it"),
            "{err}"
        );
        assert!(out.get_output().stdout.is_empty());
    }
    // (a variable a flag wins over is not read: not refused either)
    let mut c = env.cmd();
    c.env("CLAUDE_CONFIG_DIR", odd(b"h\xfeome"));
    c.arg("--claude-dir").arg(&claude).arg("--db").arg(&db);
    let out = c.args(["cost", "--json"]).assert().success();
    assert_eq!(json_of(out.get_output())["total"]["requests"], 7);
    let made: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('h'))
        .collect();
    assert_eq!(made, ["home"], "no folder made under another name");
}
