//! Faults: crashes, concurrent processes, a full disk, odd files. Each
//! ends with the same tables as one clean ingest.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::{Env, count};
use rusqlite::Connection;

/// What must survive any fault: row counts, per-model token and cost
/// totals, and every response row (surrogate ids replaced by what they
/// point at).
fn fingerprint(db: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    for t in [
        "lines",
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
        "sessions",
        "projects",
        "raw_chunks",
    ] {
        out.push(format!(
            "{t}: {}",
            count(db, &format!("SELECT count(*) FROM {t}"))
        ));
    }
    let mut st = db
        .prepare(
            "SELECT r.key, r.model, r.session_id, coalesce(r.agent_id, ''), coalesce(p.path, ''), r.first_line_id, coalesce(r.at, -1),
                    r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens, r.cache_read_tokens,
                    r.web_search_requests, r.fast, r.us_only, r.final, r.line_count, coalesce(r.cost_picousd, -1)
             FROM responses r LEFT JOIN projects p ON p.id = r.project_id ORDER BY r.key",
        )
        .unwrap();
    let n = st.column_count();
    let rows = st
        .query_map([], |r| {
            let mut s = String::new();
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                s.push_str(&format!("{v:?}|"));
            }
            Ok(s)
        })
        .unwrap();
    for r in rows {
        out.push(r.unwrap());
    }
    let mut st = db
        .prepare("SELECT model, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cost_picousd) FROM responses GROUP BY model")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?
            ))
        })
        .unwrap();
    for r in rows {
        out.push(r.unwrap());
    }
    out
}

fn gen_corpus(shared: &Path, out: &Path, size: &str) {
    let ok = StdCommand::new(shared.join("tools/gen-corpus"))
        .arg("--out")
        .arg(out)
        .args([
            "--size",
            size,
            "--seed",
            "3",
            "--files",
            "40",
            "--projects",
            "4",
            "--malformed-rate",
            "0.001",
        ])
        .stderr(Stdio::null())
        .status()
        .expect("gen-corpus")
        .success();
    assert!(ok);
}

/// A complete `ingest -q` of `corpus` into `db`.
fn ingest_into(env: &Env, corpus: &Path, db: &Path) {
    env.cmd()
        .env("CLAUDE_CONFIG_DIR", corpus)
        .args(["ingest", "-q", "--db"])
        .arg(db)
        .assert()
        .success();
}

fn integrity_ok(db: &Path) {
    let c = Connection::open(db).unwrap();
    let r: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok");
}

#[test]
fn sigkill_at_20_points_then_resume_equals_one_clean_ingest() {
    let shared = require_shared!();
    kill_and_resume(&shared, "12M", 20);
}

/// 40 MB: the whole run is a first load (no journal, indexes built at the
/// end) that samples a dictionary from its files first; a kill leaves the
/// first-load marker and the next run starts the database over.
#[test]
fn sigkill_in_a_first_load_and_its_dictionary_then_resume_equals_one_clean_ingest() {
    let shared = require_shared!();
    kill_and_resume(&shared, "40M", 12);
}

/// Cold ingests of a `size` corpus killed (SIGKILL) at `points` moments
/// spread over a clean run's progress (the database and its WAL grown to
/// 1/2n, 3/2n, ... of the clean database's size: the same moments however
/// fast the machine), each then resumed by a plain `ingest`:
/// every one must end with the clean run's tables, an intact file, no
/// first-load marker, and every dictionary naming the files it was
/// sampled from.
fn kill_and_resume(shared: &Path, size: &str, points: u32) {
    let env = Env::new();
    let corpus = env.dir.path().join("corpus");
    gen_corpus(shared, &corpus, size);
    // the clean reference, whose size the kills are spread over
    let clean = env.dir.path().join("clean.db");
    ingest_into(&env, &corpus, &clean);
    let full_size = std::fs::metadata(&clean).unwrap().len();
    let clean_conn = Connection::open(&clean).unwrap();
    let reference = fingerprint(&clean_conn);
    let dicts = count(&clean_conn, "SELECT count(*) FROM raw_dicts");
    let first_load = size != "12M";
    assert_eq!(
        dicts,
        i64::from(first_load),
        "a dictionary from 32 MiB read"
    );
    let mut killed_mid_run = 0;
    let mut killed_in_first_load = 0;
    for i in 0..points {
        let db = env.dir.path().join(format!("crash-{i}.db"));
        let marker = env.dir.path().join(format!("crash-{i}.db.first-load"));
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"));
        cmd.env_clear()
            .env("HOME", env.home())
            .env("OBSERVATORY_HOME", env.obs_home())
            .env("CLAUDE_CONFIG_DIR", &corpus)
            .args(["ingest", "-q", "--db"])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut proc = cmd.spawn().unwrap();
        let at = full_size * u64::from(2 * i + 1) / u64::from(2 * points);
        let written = || {
            ["", "-wal"]
                .iter()
                .map(|s| {
                    let mut p = db.clone().into_os_string();
                    p.push(s);
                    std::fs::metadata(p).map_or(0, |m| m.len())
                })
                .sum::<u64>()
        };
        while proc.try_wait().unwrap().is_none() && written() < at {
            std::thread::sleep(Duration::from_millis(2));
        }
        if proc.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        proc.kill().ok(); // SIGKILL
        proc.wait().unwrap();
        if marker.exists() {
            // (no journal in a first load: the file may be damaged, and is
            // not read; the next run starts it over)
            killed_in_first_load += 1;
        } else {
            integrity_ok(&db);
        }
        ingest_into(&env, &corpus, &db);
        assert!(
            !marker.exists(),
            "kill point {i}: the marker outlived a resume"
        );
        integrity_ok(&db);
        let conn = Connection::open(&db).unwrap();
        assert_eq!(fingerprint(&conn), reference, "kill point {i} ({at} bytes)");
        assert_eq!(
            count(&conn, "SELECT count(*) FROM raw_dicts"),
            dicts,
            "kill point {i}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM raw_dicts d
                 WHERE NOT EXISTS (SELECT 1 FROM raw_dict_sources s WHERE s.dict_id = d.id)"
            ),
            0,
            "kill point {i}: a dictionary with no record of its sources"
        );
    }
    assert!(
        killed_mid_run >= points / 2,
        "only {killed_mid_run} of {points} kills landed mid-run"
    );
    if first_load {
        assert!(
            killed_in_first_load >= points / 2,
            "only {killed_in_first_load} of {points} kills landed in the first load"
        );
    }
}

#[test]
fn concurrent_ingests_and_readers_agree_with_one_clean_ingest() {
    let shared = require_shared!();
    let env = Env::new();
    let corpus = env.dir.path().join("corpus");
    gen_corpus(&shared, &corpus, "8M");
    let clean = env.dir.path().join("clean.db");
    ingest_into(&env, &corpus, &clean);
    let reference = fingerprint(&Connection::open(&clean).unwrap());

    let db = env.dir.path().join("shared.db");
    let spawn = |args: &[&str]| {
        StdCommand::new(assert_cmd::cargo::cargo_bin!("observatory"))
            .env_clear()
            .env("HOME", env.home())
            .env("OBSERVATORY_HOME", env.obs_home())
            .env("CLAUDE_CONFIG_DIR", &corpus)
            .args(args)
            .arg("--db")
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn(&["ingest", "-q"]);
    let b = spawn(&["ingest", "-q"]);
    // readers while the writers run, from the moment the database is
    // there: never "database is locked"
    let since = Instant::now();
    while !db.exists() {
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "no database after 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut readers = Vec::new();
    for _ in 0..5 {
        readers.push(spawn(&["cost", "--no-ingest", "--by-model", "--json"]));
        std::thread::sleep(Duration::from_millis(40));
    }
    for p in [a, b].into_iter().chain(readers) {
        let out = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    assert_eq!(fingerprint(&Connection::open(&db).unwrap()), reference);
}

/// This shell can limit the size of the files a process writes (`ulimit
/// -f`); said when not (the tests that need it skip).
fn file_size_limit_settable() -> bool {
    let can = StdCommand::new("sh")
        .args(["-c", "ulimit -f 100"])
        .status()
        .is_ok_and(|s| s.success());
    if !can {
        eprintln!("skipped: this shell cannot set RLIMIT_FSIZE");
    }
    can
}

/// observatory with `args`, whose files may grow to `kib` KiB at most
/// (`ulimit -f` counts 1 KiB blocks); SIGXFSZ is ignored, so that a write
/// past it fails with EFBIG, as on a full disk.
fn with_file_size_limit(kib: u32, args: &[&str]) -> StdCommand {
    let mut c = StdCommand::new("sh");
    c.args([
        "-c",
        &format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""),
    ])
    .arg(assert_cmd::cargo::cargo_bin!("observatory"))
    .args(args);
    c
}

#[test]
fn a_full_disk_fails_cleanly_and_the_next_run_finishes() {
    let shared = require_shared!();
    if !file_size_limit_settable() {
        return;
    }
    let env = Env::new();
    let corpus = env.dir.path().join("corpus");
    gen_corpus(&shared, &corpus, "8M");
    let clean = env.dir.path().join("clean.db");
    ingest_into(&env, &corpus, &clean);
    let reference = fingerprint(&Connection::open(&clean).unwrap());

    let db = env.dir.path().join("full.db");
    let out = with_file_size_limit(1024, &["ingest", "-q", "--db"])
        .arg(&db)
        .env_clear()
        .env("HOME", env.home())
        .env("OBSERVATORY_HOME", env.obs_home())
        .env("CLAUDE_CONFIG_DIR", &corpus)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error:") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(stderr.contains("check the disk (is it full?)"), "{stderr}");
    integrity_ok(&db);
    ingest_into(&env, &corpus, &db);
    assert_eq!(fingerprint(&Connection::open(&db).unwrap()), reference);
}

/// A first load (16 MiB or more into an empty database, without a journal)
/// that fails on a full disk removes its incomplete database, which on
/// that disk is what fills it, rather than leave it for the next open to
/// remove (tour-s33b M4); the next run loads everything.
#[test]
fn a_first_load_that_fills_the_disk_removes_its_database() {
    if !file_size_limit_settable() {
        return;
    }
    let env = Env::new();
    let dir = env.project_dir("-home-u-big");
    let line = format!(
        "{}\n",
        r#"{"type":"user","uuid":"u","sessionId":"sess-big-0001","timestamp":"2026-03-01T10:00:00.000Z","cwd":"/home/u/big","message":{"role":"user","content":"a prompt long enough that a few hundred thousand of them make a first load"}}"#
    );
    let lines = (20 << 20) / line.len();
    std::fs::write(dir.join("sess-big-0001.jsonl"), line.repeat(lines)).unwrap();
    let db = env.db_path();
    let out = with_file_size_limit(4096, &["ingest", "-q"])
        .env_clear()
        .envs(env.vars())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the first load's incomplete database was removed ("),
        "{stderr}"
    );
    for suffix in ["", "-wal", "-shm", ".first-load"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        assert!(!Path::new(&p).exists(), "{p:?} left: {stderr}");
    }
    let s = env.ingest();
    assert_eq!(s["first_load"], true, "{s}");
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines as i64);
}

/// `watch` that cannot store what it read (a full disk) stops with an error
/// naming the database, as `ingest`'s does (tour-s33b L5: it named none).
#[test]
fn watch_on_a_full_disk_names_the_database() {
    if !file_size_limit_settable() {
        return;
    }
    let env = Env::with_fixture("basic");
    env.ingest();
    let mut watch = with_file_size_limit(4096, &["watch", "--json"])
        .env_clear()
        .envs(env.vars())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let line = format!(
        "{}\n",
        r#"{"type":"user","uuid":"u","sessionId":"sess-big-0001","timestamp":"2026-03-01T10:00:00.000Z","cwd":"/home/u/big","message":{"role":"user","content":"a prompt long enough that some tens of thousands of them fill the database"}}"#
    );
    let dir = env.project_dir("-home-u-big");
    std::fs::write(
        dir.join("sess-big-0001.jsonl"),
        line.repeat((12 << 20) / line.len()),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while watch.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "watch went on");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = watch.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ingesting new lines into {}",
            env.db_path().display()
        )),
        "{stderr}"
    );
}

#[test]
fn odd_files_in_the_tree_never_stop_the_run() {
    let env = Env::with_fixture("basic");
    let dir = env.projects().join("-home-u-app");
    // a dangling symlink, a directory named like a transcript, a symlink loop
    std::os::unix::fs::symlink(dir.join("gone.jsonl.target"), dir.join("gone.jsonl")).unwrap();
    std::fs::create_dir_all(dir.join("dir.jsonl")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["lines_read"], 33);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!(
            "gone.jsonl: a symlink to {}, which does not exist; skipped",
            dir.join("gone.jsonl.target").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("symlink loop"), "{stderr}");
    // and --json counts them: the dangling link and the loop (the folder
    // named like a transcript is passed over without a word)
    assert_eq!(s["paths_skipped"], 2, "{s}");
    // a deleted transcript keeps its lines
    std::fs::remove_file(dir.join("sess-resume-0002.jsonl")).unwrap();
    env.ingest();
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), 33);
}

#[test]
fn a_fifo_named_where_a_file_belongs_is_refused_or_read_never_waited_for() {
    // (opened to read or to write, a FIFO waits for the other end: every
    // command named one hung, the status line too)
    let env = Env::with_fixture("basic");
    let fifo = env.dir.path().join("fifo");
    let made = StdCommand::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available here");
        return;
    }
    let fifo = fifo.to_str().unwrap();
    // a database, and a settings file setup would write back, must be files
    let runs: [&[&str]; 6] = [
        &["status", "--db", fifo],
        &["ingest", "--db", fifo],
        &["cost", "--no-ingest", "--db", fifo],
        &["query", "--db", fifo, "SELECT 1"],
        &["backup", "--db", fifo, "b.db"],
        &["setup", "claude-code", "--apply", "--settings", fifo],
    ];
    for args in runs {
        let out = env
            .cmd()
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains(fifo)
                && stderr.contains("not a regular file (a FIFO, a socket or a device)"),
            "{args:?}: {stderr}"
        );
    }
    // a config or a price table is read from a pipe, and a FIFO no one
    // writes to reads as empty
    for args in [
        &["cost", "--config", fifo][..],
        &["cost", "--pricing", fifo],
    ] {
        env.cmd()
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
            .success();
    }
    let out = env
        .cmd()
        .args(["statusline", "--config", fifo])
        .write_stdin("{}")
        .timeout(Duration::from_secs(10))
        .assert()
        .success();
    assert!(!out.get_output().stdout.is_empty());
    // a device is no file to read settings from
    let out = env
        .cmd()
        .args(["cost", "--pricing", "/dev/zero"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("not a regular file or a pipe (a socket or a device)"),
        "{stderr}"
    );
    // `--pricing <(...)`, as a shell passes it
    let prices = "[models.claude-opus-4-6]\n[[models.claude-opus-4-6.rates]]\ninput = \"10\"\noutput = \"50\"\ncache_write_5m = \"12.5\"\ncache_write_1h = \"20\"\ncache_read = \"1\"\n";
    let bash = StdCommand::new("bash").arg("--version").output();
    if bash.is_err() {
        eprintln!("skipped the <(...) case: bash is not available here");
        return;
    }
    let program = assert_cmd::cargo::cargo_bin!("observatory");
    let mut cmd = StdCommand::new("bash");
    cmd.env_clear().envs(env.vars()).env("PRICES", prices);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.arg("-c").arg(format!(
        "{:?} cost --model claude-opus-4-6 --json --pricing <(printf %s \"$PRICES\")",
        program.display().to_string()
    ));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 5*10 + 12*50 + 100*12.5 + 500*1 = 2400e-6
    assert_eq!(v["total"]["cost_usd"], "0.0024", "{v}");
}

#[test]
fn a_flood_of_warnings_is_cut_and_a_report_says_recurring_ones_in_one_line() {
    let env = Env::with_fixture("basic");
    let dir = env.projects().join("-home-u-app");
    std::os::unix::fs::symlink(dir.join("loop-b"), dir.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(dir.join("loop-a"), dir.join("loop-b")).unwrap();
    let junk: String = (0..30).map(|i| format!("not json {i}\n")).collect();
    std::fs::write(dir.join("junk.jsonl"), &junk).unwrap();
    std::fs::write(dir.join("junk2.jsonl"), &junk[..24]).unwrap();
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["malformed_lines"], 32, "every line is still stored");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.matches(": malformed line").count(), 12, "{stderr}");
    assert!(stderr.contains("junk.jsonl:10: malformed line"), "{stderr}");
    assert!(!stderr.contains("junk.jsonl:11:"), "{stderr}");
    // (said after the file's own warnings, before the next file's)
    let more = stderr
        .find("junk.jsonl: 20 more warnings like these")
        .unwrap_or_else(|| panic!("{stderr}"));
    let next = stderr
        .find("junk2.jsonl:1:")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(more < next, "{stderr}");
    assert_eq!(
        stderr.matches("more warnings like these").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("loop-").count(),
        2,
        "ingest names both: {stderr}"
    );
    // a report's own ingest meets the loops again: one line, naming one
    let out = env.cmd().args(["cost"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("warning: ")
            && stderr.matches("loop-").count() == 1
            && stderr.contains("(and 1 more like it); `observatory ingest` lists them"),
        "{stderr}"
    );
    // and ingest still names them
    let out = env.cmd().args(["ingest"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("loop-a") && stderr.contains("loop-b"),
        "{stderr}"
    );
}

#[test]
fn a_64_mb_line_and_absurd_token_counts_are_kept_with_located_messages() {
    let env = Env::new();
    let dir = env.project_dir("-big");
    let mut f = std::fs::File::create(dir.join("s.jsonl")).unwrap();
    let big = format!(
        r#"{{"type":"user","uuid":"big","sessionId":"S","message":{{"role":"user","content":"{}"}}}}"#,
        "x".repeat(64 << 20)
    );
    writeln!(f, "{big}").unwrap();
    writeln!(
        f,
        r#"{{"type":"assistant","uuid":"a","sessionId":"S","timestamp":"2026-05-01T00:00:00Z","message":{{"id":"m","model":"claude-opus-4-7","usage":{{"input_tokens":2000000000000,"output_tokens":"12","cache_read_input_tokens":-4}}}}}}"#
    )
    .unwrap();
    drop(f);
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["lines_read"], 2);
    assert_eq!(s["malformed_lines"], 0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("s.jsonl:2: `usage.input_tokens` is 2000000000000, over 10^12"),
        "{stderr}"
    );
    assert!(
        stderr.contains("s.jsonl:2: `usage.output_tokens` is not a number"),
        "{stderr}"
    );
    let db = env.db();
    assert_eq!(
        count(&db, "SELECT input_tokens FROM responses"),
        2_000_000_000_000
    );
    assert_eq!(
        count(
            &db,
            "SELECT output_tokens + cache_read_tokens FROM responses"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT byte_len FROM lines WHERE line_no = 1"),
        big.len() as i64
    );
}

#[test]
fn runs_with_no_network_at_all() {
    if !StdCommand::new("unshare")
        .args(["-n", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        eprintln!("skipped: unshare -n is not allowed here");
        return;
    }
    let env = Env::with_fixture("basic");
    let bin = assert_cmd::cargo::cargo_bin!("observatory");
    let mut costs = Vec::new();
    for args in [
        vec!["ingest", "--json"],
        vec!["cost", "--by-model", "--json"],
        vec!["status"],
        vec!["pricing"],
    ] {
        let out = StdCommand::new("unshare")
            .arg("-n")
            .arg(bin)
            .args(&args)
            .env_clear()
            .envs(env.vars())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "cost" {
            costs.push(out.stdout);
        }
    }
    // (and the figures are those of a run with a network)
    let with_network = env
        .cmd()
        .args(["cost", "--by-model", "--json"])
        .assert()
        .success();
    assert_eq!(costs, [with_network.get_output().stdout.clone()]);
    let v: serde_json::Value = serde_json::from_slice(&costs[0]).unwrap();
    assert_eq!(v["total"]["cost_usd"], "0.0349956");
}

/// A WAL left past the size commits fold it at (~40 MB, by a big ingest:
/// a report's, or one a process killed left) is folded and emptied when
/// the next ingest closes, a report's included, even with nothing new: left
/// behind, every command reads it whole to open the database. A report
/// with --no-ingest leaves it as it is (it writes nothing).
#[test]
fn a_big_wal_left_behind_is_folded_by_the_next_ingest() {
    use rusqlite::config::DbConfig;
    let env = Env::with_fixture("basic");
    env.ingest();
    let wal = env.db_path().with_extension("db-wal");
    let grow = || {
        let c = env.db();
        c.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .unwrap();
        c.execute_batch("PRAGMA wal_autocheckpoint = 0").unwrap();
        // (41 MiB of frames, gone from the tables again)
        c.execute(
            "INSERT INTO meta(key, value) VALUES ('ballast', zeroblob(41 << 20))",
            [],
        )
        .unwrap();
        c.execute("DELETE FROM meta WHERE key = 'ballast'", [])
            .unwrap();
        drop(c);
        let len = std::fs::metadata(&wal).unwrap().len();
        assert!(len > 40 << 20, "{len}");
    };
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    grow();
    env.cmd().args(["cost", "--no-ingest"]).assert().success();
    assert!(
        wal_len() > 40 << 20,
        "a report that writes nothing leaves it"
    );
    env.cmd().arg("cost").assert().success();
    assert_eq!(wal_len(), 0, "a report's ingest folds it");
    grow();
    env.cmd().arg("ingest").assert().success();
    assert_eq!(wal_len(), 0, "an ingest with nothing new folds it");
    let c = env.db();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// A report whose stdout cannot be written (`> /dev/full`) fails, saying
/// it was stdout: "No space left on device" alone sent people to look at
/// the database (tour-s34 F6). The status line too.
#[test]
fn a_full_stdout_is_named_as_stdout() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full on this system");
        return;
    };
    let env = Env::with_fixture("basic");
    env.ingest();
    for args in [
        &["cost", "--json"][..],
        &["cost"],
        &["sessions", "--csv"],
        &["statusline"],
    ] {
        let out = env
            .std_cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: writing to stdout: No space left on device"),
            "{args:?}: {stderr}"
        );
    }
}
