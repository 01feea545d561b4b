//! `observatory statusline` on the stdin samples in fixtures/statusline/,
//! with exact output: it reads only the session's transcript, never waits
//! for the ingest lock, and always exits 0 with one line.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Env, count, fixtures};

const AT: &str = "2026-03-10T23:30:00Z";
const A001: &str = "-home-u-web/sess-blocks-a001.jsonl";

/// A stdin sample, with `@PROJECTS@` pointing at this test's transcripts.
fn sample(env: &Env, name: &str) -> Vec<u8> {
    let text = std::fs::read(fixtures().join("statusline").join(name)).unwrap();
    let projects = env.projects().to_string_lossy().into_owned();
    String::from_utf8_lossy(&text)
        .replace("@PROJECTS@", &projects)
        .into_bytes()
}

/// Run `statusline` at AT in UTC; check exit 0 and one line; return it
/// and stderr.
fn status(env: &Env, stdin: &[u8], extra: &[&str]) -> (String, String) {
    let out = env
        .cmd()
        .args(["statusline", "--now", AT, "--tz", "UTC"])
        .args(extra)
        .write_stdin(stdin.to_vec())
        // (a status line that waits, on a lock or anything else, fails
        // here instead of hanging the test)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    (
        stdout.trim_end_matches('\n').to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An empty database, then the `reports` transcripts copied in (not read).
fn env_with_unread_transcripts() -> Env {
    let env = Env::new();
    env.ingest();
    common::copy_dir(&fixtures().join("reports"), &env.claude);
    env
}

fn files_read(env: &Env) -> i64 {
    count(&env.db(), "SELECT count(*) FROM source_files")
}

#[test]
fn valid_stdin_reads_only_that_transcript_then_prints_the_line() {
    let env = env_with_unread_transcripts();
    let stdin = sample(&env, "valid.json");
    let (line, stderr) = status(&env, &stdin, &[]);
    // a001 alone: $0.075; its last response is at 13:00, so no block runs
    assert_eq!(
        line,
        "Sonnet 4.5 · $0.08 session · $0.08 today · no active block"
    );
    assert_eq!(stderr, "");
    assert_eq!(files_read(&env), 1, "only the session's transcript is read");
    let path: String = env
        .db()
        .query_row("SELECT path FROM source_files", [], |r| r.get(0))
        .unwrap();
    assert!(path.ends_with(A001), "{path}");
    // the rest arrives with an ingest: b002's two responses run a block
    env.ingest();
    let (line, _) = status(&env, &stdin, &[]);
    assert_eq!(
        line,
        "Sonnet 4.5 · $0.08 session · $0.21 today · $0.14 block (3h 30m left) · $0.14/h"
    );
    // every field
    let (line, _) = status(
        &env,
        &stdin,
        &[
            "--format",
            "{model}|{model_id}|{project}|{session}|{session_cost}|{cc_session_cost}|{today_cost}|\
             {block_cost}|{block_left}|{block_end}|{block_projected}|{burn_rate}|{nope}|{{x}}",
        ],
    );
    assert_eq!(
        line,
        "Sonnet 4.5|claude-sonnet-4-5-20250929|web|sess-blo|$0.08|$0.08|$0.21|\
         $0.14|3h 30m|03:00|$0.61|$0.14/h|{nope}|{x}"
    );
    // a field that is not one is kept, and said on stderr (not with -q)
    assert!(
        status(&env, &stdin, &["--format", "{nope}"])
            .1
            .starts_with("warning: --format has no field {nope}"),
    );
    assert_eq!(status(&env, &stdin, &["--format", "{nope}", "-q"]).1, "");
}

#[test]
fn appended_lines_are_read_incrementally() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let (line, _) = status(&env, &stdin, &["--format", "{session_cost} {today_cost}"]);
    assert_eq!(line, "$0.08 $0.21");
    let lines_before = count(&env.db(), "SELECT count(*) FROM lines");
    // a new response in a001: 1M input tokens of Sonnet 4.5, over the
    // long-context threshold on that date: $3/M x 2 = $6.00
    let path = env.projects().join(A001);
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().rfind(|l| l.contains("\"msg_r4\"")).unwrap();
    let new = last
        .replace("msg_r4", "msg_r9")
        .replace("\"a-a4\"", "\"a-a9\"")
        .replace("2026-03-10T13:00:00.000Z", "2026-03-10T23:10:00.000Z")
        .replace("\"input_tokens\": 1000", "\"input_tokens\": 1000000");
    std::fs::write(&path, format!("{text}{new}\n")).unwrap();
    let (line, _) = status(&env, &stdin, &["--format", "{session_cost} {today_cost}"]);
    assert_eq!(line, "$6.08 $6.21");
    assert_eq!(
        count(&env.db(), "SELECT count(*) FROM lines"),
        lines_before + 1
    );
    // nothing new: nothing read, same line
    let (line, _) = status(&env, &stdin, &["--format", "{session_cost} {today_cost}"]);
    assert_eq!(line, "$6.08 $6.21");
    assert_eq!(
        count(&env.db(), "SELECT count(*) FROM lines"),
        lines_before + 1
    );
}

/// A subagent's response line of session a001 at 23:10 on AT's day: 1M
/// input tokens of Sonnet 4.5 over the long-context threshold, $6.00.
fn subagent_response(id: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("reports/projects").join(A001)).unwrap();
    let last = text.lines().rfind(|l| l.contains("\"msg_r4\"")).unwrap();
    last.replace("msg_r4", &format!("msg_{id}"))
        .replace("\"a-a4\"", &format!("\"{id}-1\""))
        .replace(
            "\"isSidechain\": false",
            &format!("\"isSidechain\": true, \"agentId\": \"{id}\""),
        )
        .replace("2026-03-10T13:00:00.000Z", "2026-03-10T23:10:00.000Z")
        .replace("\"input_tokens\": 1000", "\"input_tokens\": 1000000")
}

#[test]
fn a_sessions_subagent_transcripts_are_read_with_it() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let format = ["--format", "{session_cost} {today_cost}"];
    assert_eq!(status(&env, &stdin, &format).0, "$0.08 $0.21");
    // a subagent runs and writes its transcript; the main one is unchanged
    let subagents = env
        .projects()
        .join("-home-u-web/sess-blocks-a001/subagents");
    std::fs::create_dir_all(subagents.join("workflows/wf1")).unwrap();
    std::fs::write(
        subagents.join("agent-ab12.jsonl"),
        format!("{}\n", subagent_response("ab12")),
    )
    .unwrap();
    assert_eq!(status(&env, &stdin, &format).0, "$6.08 $6.21");
    // a workflow's agent, two folders down; a subagent's sidecar is left
    // to ingest (the status line reads transcripts only)
    std::fs::write(
        subagents.join("workflows/wf1/agent-cd34.jsonl"),
        format!("{}\n", subagent_response("cd34")),
    )
    .unwrap();
    std::fs::write(subagents.join("agent-ab12.meta.json"), "{}").unwrap();
    assert_eq!(status(&env, &stdin, &format).0, "$12.08 $12.21");
    let stored = |like: &str| {
        count(
            &env.db(),
            &format!("SELECT count(*) FROM source_files WHERE path LIKE '%{like}'"),
        )
    };
    assert_eq!(stored("/subagents/agent-ab12.jsonl"), 1);
    assert_eq!(stored("/wf1/agent-cd34.jsonl"), 1);
    assert_eq!(stored(".meta.json"), 0);
    // and recorded as ingest records them: subagents of the session
    let agents: i64 = count(
        &env.db(),
        "SELECT count(*) FROM sessions WHERE session_id = 'sess-blocks-a001' AND agent_id IN ('ab12', 'cd34')",
    );
    assert_eq!(agents, 2);
}

#[test]
fn subagents_beside_a_transcript_reached_through_a_link_are_read() {
    let env = Env::new();
    env.ingest();
    // the project's folder is a link to a folder outside the root
    let real = env.dir.path().join("real-project");
    std::fs::create_dir_all(real.join("sess-blocks-a001/subagents")).unwrap();
    std::fs::copy(
        fixtures().join("reports/projects").join(A001),
        real.join("sess-blocks-a001.jsonl"),
    )
    .unwrap();
    std::fs::write(
        real.join("sess-blocks-a001/subagents/agent-ab12.jsonl"),
        format!("{}\n", subagent_response("ab12")),
    )
    .unwrap();
    std::os::unix::fs::symlink(&real, env.projects().join("-home-u-web")).unwrap();
    let stdin = sample(&env, "valid.json");
    let (line, _) = status(&env, &stdin, &["--format", "{session_cost}"]);
    assert_eq!(
        line, "$6.08",
        "the subagent's $6.00 with the session's $0.08"
    );
    // recorded as ingest records them: under the root, in the project
    let rows = |env: &Env| -> Vec<(String, String, String)> {
        env.db()
            .prepare(
                "SELECT root, coalesce(project_dir, '-'), kind FROM source_files ORDER BY path",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = rows(&env);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before
            .iter()
            .all(|r| Path::new(&r.0) == env.claude && r.1 == "-home-u-web"),
        "{before:?}"
    );
    assert_eq!(before[1].2, "subagent", "{before:?}");
    env.ingest();
    assert_eq!(
        rows(&env),
        before,
        "an ingest finds nothing new and records nothing else"
    );
}

/// A transcript the status line names by a hard link to a file tracked
/// at another path is read there, as the walk reads it: no second row,
/// no line stored twice.
#[test]
fn a_transcript_named_by_a_hard_link_is_read_where_it_is_tracked() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let link = env
        .projects()
        .join("-home-u-web/sess-blocks-a001-kept.jsonl");
    std::fs::hard_link(env.projects().join(A001), &link).unwrap();
    common::append(&link, format!("{}\n", subagent_response("ef56")).as_bytes());
    let stdin = String::from_utf8(sample(&env, "valid.json"))
        .unwrap()
        .replace("sess-blocks-a001.jsonl", "sess-blocks-a001-kept.jsonl");
    let (line, _) = status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
    assert_eq!(line, "$6.08", "the appended $6.00 with the session's $0.08");
    let db = env.db();
    let rows: i64 = db
        .query_row(
            "SELECT count(*) FROM source_files WHERE path LIKE '%-kept.jsonl'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    let stored: i64 = db
        .query_row(
            "SELECT count(*) FROM lines l JOIN source_files f ON f.id = l.file_id
             WHERE f.path LIKE '%sess-blocks-a001.jsonl'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let on_disk = std::fs::read_to_string(&link).unwrap().lines().count() as i64;
    assert_eq!(stored, on_disk);
    drop(db);
    // both names tracked (as a run before hard links were told apart left
    // them): the status line given either reads under the one the walk
    // reads, the first in path order (review-s34 1: given that one, it
    // read under the other, and every line was stored twice)
    let (first, second) = (
        link.to_string_lossy().into_owned(),
        env.projects().join(A001).to_string_lossy().into_owned(),
    );
    assert!(first < second);
    env.db()
        .execute(
            "INSERT INTO source_files(path, root, project_dir, kind, dev, ino, size, mtime_ns,
                    read_offset, line_count, fingerprint_len, fingerprint, first_seen_at,
                    last_read_at, tail_len, tail_digest)
             SELECT ?1, root, project_dir, kind, dev, ino, size, mtime_ns, read_offset,
                    line_count, fingerprint_len, fingerprint, first_seen_at, last_read_at,
                    tail_len, tail_digest
             FROM source_files WHERE path = ?2",
            [&first, &second],
        )
        .unwrap();
    let stdin = String::from_utf8(sample(&env, "valid.json")).unwrap();
    for (n, name) in ["sess-blocks-a001-kept.jsonl", "sess-blocks-a001.jsonl"]
        .into_iter()
        .enumerate()
    {
        let line = subagent_response(&format!("gh{n}"));
        common::append(&link, format!("{line}\n").as_bytes());
        let stdin = stdin.replace("sess-blocks-a001.jsonl", name);
        status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
        env.ingest();
    }
    // every physical line stored once, between the two rows
    let stored: i64 = env
        .db()
        .query_row(
            "SELECT count(*) FROM lines l JOIN source_files f ON f.id = l.file_id
             WHERE f.path IN (?1, ?2)",
            [&first, &second],
            |r| r.get(0),
        )
        .unwrap();
    let on_disk = std::fs::read_to_string(&link).unwrap().lines().count() as i64;
    assert_eq!(stored, on_disk);
}

#[test]
fn many_subagents_share_one_calls_budget_and_catch_up_over_calls() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let subagents = env
        .projects()
        .join("-home-u-web/sess-blocks-a001/subagents");
    std::fs::create_dir_all(&subagents).unwrap();
    // 20 subagents of ~300 KiB each (6 MiB in all)
    let mut total = 0u64;
    for a in 0..20 {
        let id = format!("ag{a:02}");
        let one = subagent_response(&id);
        let mut text = String::new();
        for n in 0..(300 * 1024 / one.len() + 1) {
            text.push_str(
                &one.replace(&format!("msg_{id}"), &format!("msg_{id}_{n}"))
                    .replace(&format!("\"{id}-1\""), &format!("\"{id}-{n}\"")),
            );
            text.push('\n');
        }
        total += text.len() as u64;
        std::fs::write(subagents.join(format!("agent-{id}.jsonl")), text).unwrap();
    }
    let read = || {
        count(
            &env.db(),
            "SELECT coalesce(sum(read_offset), 0) FROM source_files WHERE path LIKE '%/subagents/%'",
        ) as u64
    };
    status(&env, &stdin, &[]);
    let first = read();
    assert!(
        first > 3 << 20 && first <= 4 << 20,
        "one call reads about 4 MiB of the 6: {first}"
    );
    assert!(
        count(&env.db(), "SELECT count(*) FROM lines") > 0,
        "what it read is stored"
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM source_files WHERE path LIKE '%/subagents/%'"
        ),
        16,
        "at most 16 files a call"
    );
    for _ in 0..4 {
        status(&env, &stdin, &[]);
    }
    assert_eq!(read(), total, "all read after a few calls");
}

#[test]
fn subagents_waiting_for_a_line_end_do_not_keep_the_others_waiting() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let subagents = env
        .projects()
        .join("-home-u-web/sess-blocks-a001/subagents");
    std::fs::create_dir_all(&subagents).unwrap();
    // 16 subagents whose last line is still being written, sorted first
    for a in 0..16 {
        let id = format!("a{a:02}");
        std::fs::write(
            subagents.join(format!("agent-{id}.jsonl")),
            &subagent_response(&id)[..100],
        )
        .unwrap();
    }
    std::fs::write(
        subagents.join("agent-z99.jsonl"),
        format!("{}\n", subagent_response("z99")),
    )
    .unwrap();
    let format = ["--format", "{session_cost}"];
    // (the first call takes 16 files of the 17; the next one the last)
    status(&env, &stdin, &format);
    assert_eq!(status(&env, &stdin, &format).0, "$6.08");
}

#[test]
fn partial_stdin_reports_what_is_stored() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let (line, stderr) = status(&env, &sample(&env, "partial.json"), &[]);
    // no display name: the model id, shortened; b002 is $0.135
    assert_eq!(
        line,
        "sonnet-4-5 · $0.14 session · $0.21 today · $0.14 block (3h 30m left) · $0.14/h"
    );
    assert_eq!(stderr, "");
    let (line, _) = status(
        &env,
        br#"{"transcript_path": null, "model": {}}"#,
        &["--format", "{model} {session} {session_cost} {project}"],
    );
    // (the model falls back to `observatory`, as the neutral line does)
    assert_eq!(line, "observatory - - -");
}

/// The fields show control and bidi characters as tables do (ESC as ␛, a
/// direction override as �): text from stdin never drives the terminal,
/// while escapes written in --format are the user's own colours.
#[test]
fn control_characters_in_fields_are_shown_not_sent() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = br#"{"model": {"display_name": "\u001b[31mRED\u202e"}, "workspace": {"current_dir": "/w/p\u001b[2Jx"}}"#;
    let (line, _) = status(
        &env,
        stdin,
        &["--format", "\u{1b}[1m{model}\u{1b}[0m {project}"],
    );
    assert_eq!(line, "\u{1b}[1m␛[31mRED�\u{1b}[0m p␛[2Jx");
    // the neutral line too (no transcript, no session: the model alone)
    let (line, _) = status(&env, stdin, &[]);
    assert!(
        !line.contains('\u{1b}') && line.starts_with("␛[31mRED�"),
        "{line:?}"
    );
}

#[test]
fn garbage_and_empty_stdin_print_a_neutral_line() {
    let env = Env::with_fixture("reports");
    env.ingest();
    for name in ["garbage.json", "empty.json"] {
        let (line, stderr) = status(&env, &sample(&env, name), &[]);
        assert_eq!(line, "observatory", "{name}");
        assert_eq!(stderr, "", "{name}");
    }
    for junk in [&b"[1, 2]"[..], b"null", b"\xff\xfe\x00", b"\"text\""] {
        let (line, _) = status(&env, junk, &[]);
        assert_eq!(line, "observatory");
    }
}

/// Whatever its stdin, the status line exits 0; its own flags wrong are a
/// usage error (exit 2, said on stderr), as for every command: a wrong
/// `--tz` was taken for the machine's zone without a word, so "today"
/// was cut in another zone.
#[test]
fn a_wrong_flag_of_its_own_is_a_usage_error() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    for (args, says) in [
        (&["--tz", "Mars"][..], "unknown time zone \"Mars\""),
        (&["--tz", "+25:00"], "+25:00"),
        (
            &["--now", "yesterday"],
            "--now yesterday: not an RFC 3339 time",
        ),
    ] {
        let out = env
            .cmd()
            .arg("statusline")
            .args(args)
            .write_stdin(stdin.clone())
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.get_output().stdout.is_empty());
    }
    let (line, _) = status(&env, &stdin, &["--tz", "Asia/Tokyo"]);
    assert!(line.starts_with("Sonnet 4.5"), "{line}");
}

/// A database an upgrade left to rebuild (fixtures/db-v1: the basic fixture
/// stored by the first release) has empty tables until an ingest rebuilds
/// them: the status line says what to run rather than show $0.00 (it did,
/// at every call, until some other command ingested).
#[test]
fn a_database_awaiting_its_rebuild_says_to_ingest() {
    let env = Env::with_fixture("basic");
    env.with_db_v1();
    let transcript = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let stdin = serde_json::json!({"session_id": "sess-main-0001",
        "transcript_path": transcript, "model": {"display_name": "Opus"}})
    .to_string();
    for _ in 0..2 {
        let (line, _) = status(&env, stdin.as_bytes(), &[]);
        assert_eq!(line, "Opus · `observatory ingest` to finish upgrading");
    }
    // while an ingest (or `forget`) holds the lock, the rebuild is under way
    let lock = hold_ingest_lock(&env);
    let (line, _) = status(&env, stdin.as_bytes(), &[]);
    assert_eq!(line, "Opus · the database is being rebuilt");
    drop(lock);
    env.ingest();
    let (line, _) = status(&env, stdin.as_bytes(), &[]);
    assert!(line.starts_with("Opus · $0.0"), "{line}");
    assert!(!line.contains("$0.00 session"), "{line}");
}

#[test]
fn no_database_prints_the_model_and_creates_nothing() {
    let env = Env::with_fixture("reports");
    let stdin = sample(&env, "valid.json");
    let (line, stderr) = status(&env, &stdin, &[]);
    assert_eq!(line, "Sonnet 4.5");
    assert_eq!(stderr, "");
    assert!(
        !env.db_path().exists(),
        "statusline must not create the database"
    );
}

#[test]
fn a_transcript_that_is_not_there_still_gets_the_stored_figures() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let full = "Sonnet 4.5 · $0.08 session · $0.21 today · $0.14 block (3h 30m left) · $0.14/h";
    // deleted (or moved) after it was read: its stored cost stays
    std::fs::remove_file(env.projects().join(A001)).unwrap();
    assert_eq!(status(&env, &stdin, &[]).0, full);
    // a new session whose transcript is not written yet, and a folder
    let other = |path: &Path| {
        format!(
            r#"{{"session_id": "new-one", "transcript_path": {}, "model": {{"display_name": "Sonnet 4.5"}}}}"#,
            serde_json::to_string(&path.to_string_lossy()).unwrap()
        )
    };
    let new = other(&env.projects().join("-home-u-web/new-one.jsonl"));
    let (line, stderr) = status(
        &env,
        new.as_bytes(),
        &["--format", "{session_cost} {today_cost} {block_cost}"],
    );
    assert_eq!(line, "$0.00 $0.21 $0.14");
    assert_eq!(stderr, "");
    let folder = other(&env.projects());
    assert_eq!(
        status(&env, folder.as_bytes(), &["--format", "{today_cost}"]).0,
        "$0.21"
    );
}

/// A price table changed since the costs were stored: the status line
/// re-prices them first, as every report does, with or without a
/// transcript to read (without one it kept the old prices until a report
/// ran).
#[test]
fn the_status_line_re_prices_after_a_price_change() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let format = ["--format", "{session_cost} {today_cost}"];
    let stdin = br#"{"session_id": "sess-blocks-a001"}"#;
    assert_eq!(status(&env, stdin, &format).0, "$0.08 $0.21");
    // Sonnet 4.5 at ten times its prices
    env.write_config("");
    std::fs::write(
        env.obs_home().join("pricing.toml"),
        "[models.claude-sonnet-4-5-20250929]\n[[models.claude-sonnet-4-5-20250929.rates]]\ninput = \"30\"\noutput = \"150\"\ncache_write_5m = \"37.5\"\ncache_write_1h = \"60\"\ncache_read = \"3\"\n",
    )
    .unwrap();
    assert_eq!(status(&env, stdin, &format).0, "$0.75 $2.10");
    // (a report agrees)
    let out = env
        .cmd()
        .args([
            "cost",
            "--session",
            "sess-blocks-a001",
            "--json",
            "--no-ingest",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["cost_usd"], "0.75");
}

#[test]
fn a_broken_database_prints_the_model_and_exits_0() {
    let env = Env::with_fixture("reports");
    std::fs::create_dir_all(env.obs_home()).unwrap();
    std::fs::write(env.db_path(), b"this is not a database, it is text").unwrap();
    let (line, stderr) = status(&env, &sample(&env, "valid.json"), &[]);
    assert_eq!(line, "Sonnet 4.5");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (line, stderr) = status(&env, &sample(&env, "valid.json"), &["-q"]);
    assert_eq!(line, "Sonnet 4.5");
    assert_eq!(stderr, "");
}

/// The database's ingest lock, held as an ingest holds it, until dropped.
fn hold_ingest_lock(env: &Env) -> std::fs::File {
    let mut lock_name = env.db_path().into_os_string();
    lock_name.push(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(Path::new(&lock_name))
        .unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn a_held_ingest_lock_skips_the_ingest_without_waiting() {
    let env = env_with_unread_transcripts();
    let lock = hold_ingest_lock(&env);
    let stdin = sample(&env, "valid.json");
    // (it would wait for ever, the lock being held: `status` times it out)
    let (line, stderr) = status(&env, &stdin, &[]);
    assert_eq!(
        line,
        "Sonnet 4.5 · $0.00 session · $0.00 today · no active block"
    );
    assert_eq!(stderr, "");
    assert_eq!(files_read(&env), 0, "nothing read while the lock is held");
    drop(lock);
    let (line, _) = status(&env, &stdin, &[]);
    assert_eq!(
        line,
        "Sonnet 4.5 · $0.08 session · $0.08 today · no active block"
    );
    assert_eq!(files_read(&env), 1);
}

#[test]
fn a_transcript_outside_every_root_is_still_read() {
    let env = Env::new();
    env.ingest();
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(
        fixtures().join("reports/projects").join(A001),
        elsewhere.join("sess-blocks-a001.jsonl"),
    )
    .unwrap();
    // (its subagents' files are left to ingest: under no root, they could
    // not be recorded as ingest records them)
    std::fs::create_dir_all(elsewhere.join("sess-blocks-a001/subagents")).unwrap();
    std::fs::write(
        elsewhere.join("sess-blocks-a001/subagents/agent-ab12.jsonl"),
        format!("{}\n", subagent_response("ab12")),
    )
    .unwrap();
    let stdin = format!(
        r#"{{"session_id": "sess-blocks-a001", "transcript_path": "{}", "model": {{"display_name": "Sonnet 4.5"}}}}"#,
        elsewhere.join("sess-blocks-a001.jsonl").display()
    );
    let (line, _) = status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
    assert_eq!(line, "$0.08");
    let (root, project_dir): (String, Option<String>) = env
        .db()
        .query_row("SELECT root, project_dir FROM source_files", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(Path::new(&root), elsewhere.canonicalize().unwrap());
    assert_eq!(project_dir, None);
    // a file that is not a transcript is not read (nor kept)
    let secret = elsewhere.join("secret.txt");
    std::fs::write(&secret, "password: hunter2\n").unwrap();
    let stdin = format!(
        r#"{{"session_id": "sess-blocks-a001", "transcript_path": "{}", "model": {{"display_name": "Sonnet 4.5"}}}}"#,
        secret.display()
    );
    let (line, _) = status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
    assert_eq!(line, "$0.08");
    assert_eq!(files_read(&env), 1);
}

/// A transcript the status line read from a folder under no root, found
/// by a walk since (its config dir given): its row takes the root, project
/// folder and kind the walk finds, and `export` writes it into its
/// project's folder, not flat.
#[test]
fn a_transcript_read_outside_the_roots_is_placed_once_a_walk_finds_it() {
    let env = Env::new();
    env.ingest();
    let other = env.dir.path().join("other");
    let file = other.join("projects").join(A001);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(fixtures().join("reports/projects").join(A001), &file).unwrap();
    let stdin = format!(
        r#"{{"session_id": "sess-blocks-a001", "transcript_path": "{}", "model": {{"display_name": "Sonnet 4.5"}}}}"#,
        file.display()
    );
    let (line, _) = status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
    assert_eq!(line, "$0.08");
    // (rewritten since, shorter: a second generation, read the same way)
    let text = std::fs::read_to_string(&file).unwrap();
    let first_two: String = text.split_inclusive('\n').take(2).collect();
    std::fs::write(&file, &first_two).unwrap();
    status(&env, stdin.as_bytes(), &[]);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM source_files"), 2);
    let row = |env: &Env| -> (String, Option<String>, String) {
        env.db()
            .query_row(
                "SELECT root, project_dir, kind FROM source_files WHERE superseded = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    };
    let canonical = |p: &Path| p.canonicalize().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        row(&env),
        (canonical(file.parent().unwrap()), None, "other".into())
    );
    let out = env
        .cmd()
        .args(["ingest", "--json", "--claude-dir"])
        .arg(&other)
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["lines_read"], 0, "{s}");
    assert_eq!(
        row(&env),
        (
            canonical(&other),
            Some("-home-u-web".into()),
            "session".into()
        )
    );
    // (every generation)
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM source_files WHERE project_dir IS NULL"
        ),
        0
    );
    let exported = env.dir.path().join("out");
    env.cmd()
        .args(["export", "--all-generations", "--out"])
        .arg(&exported)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(exported.join("projects").join(A001)).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let written: Vec<_> = std::fs::read_dir(&exported)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(written, ["projects"], "nothing written flat");
}

#[test]
fn a_transcript_under_a_root_is_recorded_as_ingest_records_it() {
    let env = env_with_unread_transcripts();
    status(&env, &sample(&env, "valid.json"), &[]);
    let row = |env: &Env| -> (String, String, Option<String>, String) {
        env.db()
            .query_row(
                "SELECT path, root, project_dir, kind FROM source_files WHERE path LIKE '%a001%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    };
    let by_statusline = row(&env);
    assert_eq!(by_statusline.2.as_deref(), Some("-home-u-web"));
    assert_eq!(by_statusline.3, "session");
    let other = Env::with_fixture("reports");
    other.ingest();
    let by_ingest = row(&other);
    assert_eq!(
        (&by_statusline.2, &by_statusline.3),
        (&by_ingest.2, &by_ingest.3)
    );
    // and a later ingest continues the same row instead of reading it again
    let s = env.ingest();
    assert_eq!(s["files_read"], 1, "{s}");
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM source_files WHERE superseded = 0"
        ),
        2
    );
}

#[test]
fn a_block_too_young_for_a_rate_and_a_stdin_without_model() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-new");
    let f = dir.join("sess-young.jsonl");
    // one response at 23:00:10; at 23:00:30 its block is 30 s old: no rate
    std::fs::write(
        &f,
        r#"{"type":"assistant","uuid":"y1","sessionId":"sess-young","timestamp":"2026-03-10T23:00:10.000Z","cwd":"/home/u/new","message":{"id":"msg_y1","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{"input_tokens":1000,"output_tokens":1000}}}
"#,
    )
    .unwrap();
    env.ingest();
    let stdin = format!(
        r#"{{"session_id": "sess-young", "transcript_path": "{}"}}"#,
        f.display()
    );
    let line = |extra: &[&str]| -> String {
        let out = env
            .cmd()
            .args(["statusline", "--now", "2026-03-10T23:00:30Z", "--tz", "UTC"])
            .args(extra)
            .write_stdin(stdin.clone())
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .trim_end()
            .to_owned()
    };
    assert_eq!(
        line(&[]),
        "observatory · $0.02 session · $0.02 today · $0.02 block (4h 59m left)"
    );
    assert_eq!(line(&["--format", "{burn_rate}"]), "-");
}

/// Append `n` new responses to the a001 transcript, copies of its last
/// one (ids `msg_{tag}{i}`), each padded to ~2.6 KB.
fn append_padded_responses(path: &Path, tag: &str, n: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let last = text.lines().rfind(|l| l.contains("\"msg_r4\"")).unwrap();
    let pad = "x".repeat(2500);
    let mut more = text.clone();
    for i in 0..n {
        more.push_str(
            &last
                .replace("msg_r4", &format!("msg_{tag}{i}"))
                .replace("\"a-a4\"", &format!("\"{tag}-{i}\""))
                .replacen('{', &format!("{{\"padding\": \"{pad}\", "), 1),
        );
        more.push('\n');
    }
    std::fs::write(path, more).unwrap();
}

/// A part of a long backlog is not a big ingest: no first load, no
/// dictionary sampled from the one session (both are sized by what the
/// run reads, not by what is unread).
#[test]
fn a_part_of_a_huge_backlog_makes_no_dictionary() {
    let env = env_with_unread_transcripts();
    let stdin = sample(&env, "valid.json");
    let path = env.projects().join(A001);
    append_padded_responses(&path, "huge", 13_500);
    assert!(std::fs::metadata(&path).unwrap().len() > 33 << 20);
    status(&env, &stdin, &["--format", "{session_cost}"]);
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 0);
    let read = count(&db, "SELECT count(*) FROM lines");
    assert!(read > 0 && read < 3_000, "{read} lines read in one call");
}

#[test]
fn a_long_backlog_is_read_a_part_per_call_until_it_is_all_in() {
    let env = env_with_unread_transcripts();
    let stdin = sample(&env, "valid.json");
    // ~10 MiB of new responses in a001, none of it read yet
    let path = env.projects().join(A001);
    append_padded_responses(&path, "bulk", 4000);
    assert!(std::fs::metadata(&path).unwrap().len() > 10 << 20);
    // each call reads a part (it once read nothing past 8 MiB, for ever)
    let fmt = ["--format", "{session_cost}"];
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (line, _) = status(&env, &stdin, &fmt);
        if seen.last() == Some(&line) {
            break;
        }
        seen.push(line);
    }
    assert!(seen.len() >= 3, "read in one go? {seen:?}");
    // and the last is all of it: a001's $0.075 and 4,000 copies of msg_r4
    // (1,000 Sonnet 4.5 input tokens, $0.003 each): $12.075
    assert_eq!(seen.last().unwrap(), "$12.08", "{seen:?}");
    // which is what a full ingest says
    let out = env
        .cmd()
        .args(["cost", "--session", "sess-blocks-a001", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let usd: rust_decimal::Decimal = v["total"]["cost_usd"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        seen.last().unwrap(),
        &format!(
            "${}",
            usd.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        ),
        "{seen:?}"
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM responses WHERE message_id LIKE 'msg_bulk%'"
        ),
        4000
    );
}

#[test]
fn a_database_awaiting_its_rebuild_is_not_added_to() {
    // an upgraded database (schema 1: the basic fixture), its transcripts
    // here, one line appended since
    let env = Env::with_fixture("basic");
    env.with_db_v1();
    let path = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(r#"{"type":"user","uuid":"sl-new","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:30:00.000Z","message":{"role":"user","content":"one more"}}"#);
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let stdin = format!(
        r#"{{"session_id": "sess-resume-0002", "transcript_path": "{}", "model": {{"display_name": "Sonnet 4.5"}}}}"#,
        path.display()
    );
    status(&env, stdin.as_bytes(), &["--format", "{session_cost}"]);
    // nothing read into tables about to be rebuilt
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM meta WHERE key = 'rebuild_pending'"
        ),
        1
    );
    drop(db);
    // the next ingest rebuilds, then reads the transcripts (under this
    // test's paths, new to the database) and the new line with them
    let s = env.ingest();
    assert_eq!(s["rebuilt_lines"], 33, "{s}");
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE uuid = 'sl-new'"
        ),
        1
    );
}

/// A caller that sends the session's JSON and keeps stdin open (a wrapper,
/// a test by hand) gets its line at once: the status line stops reading at
/// the end of one whole JSON value (tour-s34 F3: it waited for the end of
/// stdin, as long as the pipe stayed open).
#[test]
fn a_stdin_kept_open_after_its_json_gets_the_line_at_once() {
    let env = Env::with_fixture("reports");
    env.ingest();
    let stdin = sample(&env, "valid.json");
    let mut child = env
        .std_cmd()
        .args([
            "statusline",
            "--now",
            AT,
            "--tz",
            "UTC",
            "--format",
            "{session_cost}",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut pipe, &stdin).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the status line waited for stdin to close");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(pipe);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success());
    assert_eq!(out, "$0.08\n");
}
