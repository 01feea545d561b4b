//! `observatory ingest` and `status` end to end, on hand-made fixtures with
//! known answers (see fixtures/README.md for what each file holds).

// Row tuples read straight from SQL are clearer inline than as aliases.
#![allow(clippy::type_complexity)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use common::{Env, assert_accounting, assert_references, count, dump, fails, strings};
use serde_json::json;

#[test]
fn basic_fixture_counts_every_line_and_dedups_responses() {
    let env = Env::with_fixture("basic");
    let s = env.ingest();
    assert_accounting(&s);
    assert_eq!(s["files_seen"], 5, "notes.txt is not a transcript: {s}");
    assert_eq!(s["files_read"], 5);
    assert_eq!(s["lines_read"], 33);
    assert_eq!(s["malformed_lines"], 0);
    assert_eq!(s["held_back_lines"], 0);
    assert_eq!(
        s["records_by_type"],
        json!({"assistant": 12, "user": 9, "permission-mode": 1, "progress": 1, "attachment": 2, "system": 3,
               "queue-operation": 2, "custom-title": 1, "file-history-snapshot": 1, "brand-new-type": 1})
    );
    assert_eq!(s["unknown_types"], json!({"brand-new-type": 1}));
    // msg_A (split, + a sidechain replay), B (+ a resume copy), C (never final), D, E, F, G;
    // the <synthetic> line is not a response.
    assert_eq!(s["responses_new"], 7);

    let db = env.db();
    assert_references(&db);
    let resp = |key: &str| -> (
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        String,
        Option<String>,
    ) {
        db.query_row(
            "SELECT model, input_tokens, output_tokens, cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
                    web_search_requests, final, line_count, session_id, agent_id FROM responses WHERE key = ?1",
            [key],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            },
        )
        .unwrap()
    };
    // split response: max output over its lines, one row for three lines in two files
    let a = resp("msg_A");
    assert_eq!(
        (a.1, a.2, a.3, a.4, a.5, a.7, a.8),
        (10, 40, 1000, 0, 2000, 1, 3)
    );
    assert_eq!(
        (a.9.as_str(), a.10.as_deref()),
        ("sess-main-0001", None),
        "dated by its earliest line (main)"
    );
    // 1h split, web search, no requestId, copied into the resumed session: once
    let b = resp("msg_B");
    assert_eq!(
        (b.1, b.2, b.3, b.4, b.5, b.6, b.8),
        (15, 80, 0, 500, 3000, 2, 2)
    );
    assert_eq!(b.9, "sess-main-0001");
    // never finalized: the snapshot figure, flagged
    let c = resp("msg_C");
    assert_eq!((c.2, c.7, c.8), (7, 0, 2));
    assert_eq!(resp("msg_E").10.as_deref(), Some("a1b2c3d"));
    assert_eq!(resp("msg_F").0, "claude-3-5-haiku-20241022");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM responses WHERE model = '<synthetic>'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE model = '<synthetic>'"
        ),
        1
    );

    // every line kept; copies of a uuid stored once as messages
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33);
    assert_eq!(count(&db, "SELECT count(*) FROM messages"), 25);
    // tool calls joined to results, durations from the timestamps
    let tools: Vec<(String, String, Option<i64>, Option<i64>, Option<String>, Option<String>)> = db
        .prepare("SELECT tool_use_id, name, is_error, duration_ms, file_path, subagent_id FROM tool_calls ORDER BY tool_use_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tools,
        vec![
            (
                "toolu_edit1".into(),
                "Edit".into(),
                Some(1),
                Some(1250),
                Some("/home/u/app/src/parser.rs".into()),
                None
            ),
            (
                "toolu_grep1".into(),
                "Grep".into(),
                Some(0),
                Some(1000),
                None,
                None
            ),
            (
                "toolu_read1".into(),
                "Read".into(),
                Some(0),
                Some(2500),
                Some("/home/u/app/src/parser.rs".into()),
                None
            ),
            (
                "toolu_task1".into(),
                "Task".into(),
                Some(0),
                Some(30000),
                None,
                Some("a1b2c3d".into())
            ),
        ]
    );
    // hooks from progress, attachments and the stop summary
    let hooks: Vec<(String, String, Option<String>, Option<i64>)> = db
        .prepare(
            "SELECT source, outcome, command, duration_ms FROM hook_runs ORDER BY line_id, seq",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        hooks,
        vec![
            (
                "progress".into(),
                "started".into(),
                Some("callback".into()),
                None
            ),
            (
                "attachment".into(),
                "success".into(),
                Some("lint.sh".into()),
                Some(42)
            ),
            (
                "attachment".into(),
                "non_blocking_error".into(),
                Some("fmt.sh".into()),
                Some(7)
            ),
            ("stop_hook_summary".into(), "summary".into(), None, None),
            (
                "stop_hook_summary".into(),
                "ran".into(),
                Some("notify.sh".into()),
                Some(120)
            ),
            (
                "stop_hook_summary".into(),
                "ran".into(),
                Some("gate.sh".into()),
                Some(30)
            ),
        ]
    );
    assert_eq!(
        count(
            &db,
            "SELECT error_count * 10 + prevented_continuation FROM hook_runs WHERE outcome = 'summary'"
        ),
        11
    );
    // sessions: main, its two agents, the resumed one; project from cwd
    assert_eq!(count(&db, "SELECT count(*) FROM sessions"), 4);
    let (title, prompt, project): (String, String, String) = db
        .query_row(
            "SELECT custom_title, first_prompt, p.path FROM sessions s JOIN projects p ON p.id = s.project_id
             WHERE session_id = 'sess-main-0001' AND agent_id = ''",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (title.as_str(), prompt.as_str(), project.as_str()),
        ("Parser fix", "Fix the bug in parser.rs", "/home/u/app")
    );
    assert_eq!(
        count(
            &db,
            "SELECT compact_pre_tokens FROM system_events WHERE subtype = 'compact_boundary'"
        ),
        120_000
    );
    assert_eq!(count(&db, "SELECT count(*) FROM queue_operations"), 2);
    assert_eq!(count(&db, "SELECT files_tracked FROM file_snapshots"), 1);
}

#[test]
fn second_run_reads_nothing_and_changes_nothing() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let before = dump(&env.db());
    let s = env.ingest();
    assert_eq!(
        (
            s["files_read"].as_u64(),
            s["bytes_read"].as_u64(),
            s["lines_read"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(s["responses_new"], 0);
    assert_eq!(dump(&env.db()), before);
}

#[test]
fn overlapping_roots_and_a_second_copy_of_the_data_give_the_same_tables() {
    let single = Env::with_fixture("basic");
    single.ingest();
    let twice = Env::with_fixture("basic");
    // the same root named as a config dir and as its projects/ dir
    let list = format!("{},{}", twice.claude.display(), twice.projects().display());
    let out = twice
        .cmd()
        .env("CLAUDE_CONFIG_DIR", list)
        .args(["ingest", "--json"])
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["files_seen"], 5);
    assert_eq!(dump(&single.db()), dump(&twice.db()));
}

#[test]
fn appended_lines_are_the_only_ones_read() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let extra = concat!(
        r#"{"type":"user","uuid":"r-u2","parentUuid":"r-a1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:01:00.000Z","cwd":"/home/u/app","message":{"role":"user","content":"thanks"}}"#,
        "\n",
        r#"{"type":"assistant","uuid":"r-a2","parentUuid":"r-u2","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:01:02.000Z","cwd":"/home/u/app","message":{"id":"msg_H","model":"claude-opus-4-6","stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":4}}}"#,
        "\n"
    );
    common::append(&f, extra.as_bytes());
    let s = env.ingest();
    assert_eq!(s["files_read"], 1);
    assert_eq!(s["bytes_read"], extra.len());
    assert_eq!(s["lines_read"], 2);
    assert_eq!(s["responses_new"], 1);
    let db = env.db();
    assert_eq!(
        count(
            &db,
            "SELECT max(line_no) FROM lines l JOIN source_files f ON f.id = l.file_id WHERE f.path LIKE '%sess-resume-0002.jsonl'"
        ),
        6
    );
}

#[test]
fn a_newline_that_ends_a_line_read_without_it_starts_no_line() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let f = dir.join("s-open.jsonl");
    let rec = |uuid: &str| {
        format!(
            r#"{{"type":"user","uuid":"{uuid}","sessionId":"s-open","timestamp":"2026-03-02T09:00:00.000Z","message":{{"role":"user","content":"hi"}}}}"#
        )
    };
    // a complete object without its newline: read as line 1
    std::fs::write(&f, rec("o-1")).unwrap();
    env.ingest();
    // its newline arrives, then a bad line 2 and a good line 3
    let more = format!("\n{{bad\n{}\n", rec("o-3"));
    common::append(&f, more.as_bytes());
    let out = env.cmd().arg("ingest").assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("s-open.jsonl:2: malformed line"),
        "{stderr}"
    );
    let numbers = || {
        strings(
            &env.db(),
            "SELECT line_no || ':' || coalesce(status, '') FROM lines ORDER BY byte_offset",
        )
    };
    assert_eq!(numbers(), ["1:record", "2:malformed", "3:record"]);
    // a rebuild from the stored raw bytes numbers them the same
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(numbers(), ["1:record", "2:malformed", "3:record"]);
    // and the next append goes on from line 4
    common::append(&f, b"{bad again\n");
    let out = env.cmd().arg("ingest").assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("s-open.jsonl:4: malformed line"),
        "{stderr}"
    );
}

/// A user prompt line of its own session (`s-<uuid>`).
fn user_prompt(uuid: &str) -> String {
    format!(
        r#"{{"type":"user","uuid":"{uuid}","sessionId":"s-{uuid}","timestamp":"2026-03-02T09:00:00.000Z","message":{{"role":"user","content":"hi"}}}}"#
    )
}

/// Blanks written after a last line read whole before its newline (a `\r`
/// of a CRLF line end, a space) belong to that line: its newline, when it
/// comes, starts no line, and the file is read on, not again as a new
/// generation (review s27: a `\r` left still for an hour was counted as a
/// line, every later line numbered one too high; a space made a new
/// generation).
#[test]
fn blanks_after_a_line_read_without_its_newline_are_part_of_it() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let rec = user_prompt;
    let many = " ".repeat(5000);
    for (name, blank, still) in [
        ("cr-still", "\r", true),
        ("space-still", " ", true),
        ("space", " ", false),
        ("tab-cr", "\t\r", false),
        ("many", many.as_str(), false),
    ] {
        let f = dir.join(format!("{name}.jsonl"));
        std::fs::write(&f, rec(&format!("{name}-1"))).unwrap();
        env.ingest();
        common::append(&f, blank.as_bytes());
        if still {
            common::last_changed_ago(&f, 7200);
        }
        env.ingest();
        common::append(
            &f,
            format!("\n{}\n{{bad\n", rec(&format!("{name}-2"))).as_bytes(),
        );
        env.ingest();
        let numbers = || {
            strings(
                &env.db(),
                &format!(
                    "SELECT l.line_no || ':' || l.status FROM lines l JOIN source_files f ON f.id = l.file_id
                     WHERE f.path LIKE '%/{name}.jsonl' ORDER BY l.byte_offset"
                ),
            )
        };
        assert_eq!(numbers(), ["1:record", "2:record", "3:malformed"], "{name}");
        let files = strings(
            &env.db(),
            &format!(
                "SELECT generation || ':' || line_count FROM source_files WHERE path LIKE '%/{name}.jsonl'"
            ),
        );
        assert_eq!(files, ["0:3"], "{name}");
    }
    // a rebuild from the stored raw bytes numbers them the same
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    let all = strings(
        &env.db(),
        "SELECT CAST(l.line_no AS TEXT) FROM lines l ORDER BY l.file_id, l.byte_offset",
    );
    assert_eq!(all, ["1", "2", "3"].repeat(5));
    // a last line stored cut (still for an hour) that ends in a blank, then
    // continued by blanks and its newline: read again, no longer "cut"
    let f = dir.join("cut.jsonl");
    std::fs::write(&f, format!("{}\n{{\"type\": \"user\", ", rec("cut-1"))).unwrap();
    common::last_changed_ago(&f, 7200);
    env.ingest();
    let errors = || {
        strings(
            &env.db(),
            "SELECT l.line_no || ':' || l.status || ':' || coalesce(l.error, '') FROM lines l
             JOIN source_files f ON f.id = l.file_id WHERE f.path LIKE '%/cut.jsonl' ORDER BY l.byte_offset",
        )
    };
    let before = errors();
    assert!(
        before[1].contains("unchanged for over an hour"),
        "{before:?}"
    );
    common::append(&f, format!("  \n{}\n", rec("cut-3")).as_bytes());
    env.ingest();
    let after = errors();
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after[1].starts_with("2:malformed:"), "{after:?}");
    assert!(
        !after[1].contains("unchanged for over an hour"),
        "{after:?}"
    );
    assert!(after[2].starts_with("3:record"), "{after:?}");
}

/// A last line of blanks without its newline, stored as it was once the
/// file had been still for an hour, then written on: the file is read on
/// from that line's start, not again from its start as a new generation
/// (tour-s33a F2: every line was stored twice, the first generation kept
/// as replaced). Line numbers, the stored bytes and a rebuild agree with a
/// fresh ingest of the file.
#[test]
fn a_still_tail_of_blanks_written_on_is_read_on_not_again() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let rec = user_prompt;
    // (name, what the file starts as, what is written on, its lines then)
    let cases = [
        (
            "spaces",
            format!("{}\n   ", rec("a-1")),
            format!("{}\n", rec("a-2")),
            vec!["1:record", "2:record"],
        ),
        (
            "tab-cr",
            format!("{}\n\t\r", rec("b-1")),
            format!("{}\n", rec("b-2")),
            vec!["1:record", "2:record"],
        ),
        (
            "many-blanks",
            format!("{}\n{}", rec("e-1"), " ".repeat(10_000)),
            format!("{}\n", rec("e-2")),
            vec!["1:record", "2:record"],
        ),
        (
            "only-blanks",
            "  ".to_owned(),
            format!("{}\n", rec("c-2")),
            vec!["1:record"],
        ),
        (
            "newline-first",
            format!("{}\n ", rec("d-1")),
            format!("\n{}\n", rec("d-2")),
            vec!["1:record", "3:record"],
        ),
    ];
    for (name, start, more, lines) in &cases {
        let f = dir.join(format!("{name}.jsonl"));
        std::fs::write(&f, start).unwrap();
        common::last_changed_ago(&f, 7200);
        env.ingest();
        env.ingest();
        common::append(&f, more.as_bytes());
        let s = env.ingest();
        assert_eq!(s["files_replaced"], 0, "{name}: {s}");
        let got = strings(
            &env.db(),
            &format!(
                "SELECT l.line_no || ':' || l.status FROM lines l JOIN source_files f ON f.id = l.file_id
                 WHERE f.path LIKE '%/{name}.jsonl' ORDER BY l.byte_offset"
            ),
        );
        assert_eq!(&got, lines, "{name}");
        let rows = strings(
            &env.db(),
            &format!(
                "SELECT generation || ':' || read_offset FROM source_files WHERE path LIKE '%/{name}.jsonl'"
            ),
        );
        assert_eq!(rows, [format!("0:{}", start.len() + more.len())], "{name}");
    }
    let out = env.dir.path().join("out");
    env.cmd()
        .args(["export", "--out"])
        .arg(&out)
        .assert()
        .success();
    for (name, start, more, _) in &cases {
        let back = std::fs::read(out.join(format!("projects/-home-u-p/{name}.jsonl"))).unwrap();
        assert_eq!(back, format!("{start}{more}").into_bytes(), "{name}");
    }
    // what a fresh ingest of the files, and a rebuild, store
    let lines = |env: &Env| {
        strings(
            &env.db(),
            "SELECT substr(f.path, length(rtrim(f.path, replace(f.path, '/', ''))) + 1)
                    || ':' || l.line_no || ':' || l.byte_offset || ':' || l.byte_len || ':' || l.status
             FROM lines l JOIN source_files f ON f.id = l.file_id ORDER BY 1",
        )
    };
    let fresh = Env::new();
    common::copy_dir(&env.projects(), &fresh.projects());
    fresh.ingest();
    let stored = lines(&env);
    assert_eq!(stored, lines(&fresh));
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(lines(&env), stored);
}

/// A last line read whole before its newline, then continued on the same
/// line by another object: one physical line, as a fresh ingest of the file
/// reads it (one malformed line), not two lines (trial-s19-bad #3: the
/// incremental database had 3 rows for 2 physical lines, the third at a
/// byte that starts no line). The file is read again as a new generation;
/// the response read from the replaced one stays, as any replaced
/// generation's rows do (it was written; the file no longer says so).
#[test]
fn an_object_appended_on_the_last_lines_line_reads_as_a_fresh_ingest_does() {
    let user = r#"{"type":"user","uuid":"c-u1","sessionId":"sess-c","timestamp":"2026-03-01T10:00:00.000Z","cwd":"/home/u/c","message":{"role":"user","content":"hi"}}"#;
    let reply = |n: u32| {
        format!(
            r#"{{"type":"assistant","uuid":"c-a{n}","sessionId":"sess-c","timestamp":"2026-03-01T10:00:0{n}.000Z","cwd":"/home/u/c","message":{{"id":"msg_c{n}","model":"claude-sonnet-4-5-20250929","role":"assistant","content":[{{"type":"text","text":"ok"}}],"usage":{{"input_tokens":10,"output_tokens":5}}}}}}"#
        )
    };
    let summary = |env: &Env| {
        let db = env.db();
        (
            strings(
                &db,
                "SELECT l.line_no || ' ' || l.status FROM lines l
                 JOIN source_files f ON f.id = l.file_id AND f.superseded = 0 ORDER BY l.line_no",
            ),
            count(&db, "SELECT count(*) FROM responses"),
        )
    };
    let incremental = Env::new();
    let dir = incremental.project_dir("-home-u-c");
    let file = dir.join("sess-c.jsonl");
    std::fs::write(&file, format!("{user}\n{}", reply(1))).unwrap();
    incremental.ingest();
    assert_eq!(
        summary(&incremental).1,
        1,
        "a whole last object is read at once"
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(format!("{}\n", reply(2)).as_bytes()).unwrap();
    incremental.ingest();
    let fresh = Env::new();
    common::copy_dir(&incremental.projects(), &fresh.projects());
    fresh.ingest();
    let lines = vec!["1 record".to_owned(), "2 malformed".to_owned()];
    assert_eq!(summary(&fresh), (lines.clone(), 0));
    assert_eq!(summary(&incremental), (lines, 1));
    let replaced = count(
        &incremental.db(),
        "SELECT count(*) FROM source_files WHERE superseded = 1",
    );
    assert_eq!(replaced, 1, "read again as a new generation");
}

/// A file that grows while it is read is read up to the size it had when
/// it was opened, and the rest by the next run: a writer that appends
/// faster than the ingest reads kept it reading for as long as it wrote
/// (tour-s33b M2: an unthrottled writer, still reading after 60 s).
#[test]
fn a_file_growing_while_read_is_read_to_its_size_when_opened() {
    use std::sync::atomic::{AtomicBool, Ordering};
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("skipped: no /proc/<pid>/fd here to tell when the ingest has the file open");
        return;
    }
    let env = Env::new();
    let dir = env.project_dir("-home-u-grow");
    let f = dir.join("sess-grow-0001.jsonl");
    let line = format!(
        "{}\n",
        r#"{"type":"user","uuid":"u","sessionId":"sess-grow-0001","timestamp":"2026-03-01T10:00:00.000Z","cwd":"/home/u/grow","message":{"role":"user","content":"the same prompt, again and again, to make a file that takes a while to read"}}"#
    );
    let block = line.repeat((1 << 20) / line.len());
    let blocks_at_start = 32;
    std::fs::write(&f, block.repeat(blocks_at_start)).unwrap();
    let ingest = env
        .std_cmd()
        .args(["ingest", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // (appending as fast as it can from when the ingest has the file open,
    // up to 128 blocks more, until it ends)
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let (done, f, block) = (done.clone(), f.canonicalize().unwrap(), block.clone());
        let fds = format!("/proc/{}/fd", ingest.id());
        std::thread::spawn(move || {
            let open = || {
                std::fs::read_dir(&fds)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == f))
            };
            while !open() && !done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            let mut out = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
            let mut added = 0;
            while added < 128 && !done.load(Ordering::Relaxed) {
                out.write_all(block.as_bytes()).unwrap();
                added += 1;
            }
            added
        })
    };
    let out = ingest.wait_with_output().unwrap();
    done.store(true, Ordering::Relaxed);
    let added = writer.join().unwrap();
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let read = s["bytes_read"].as_u64().unwrap();
    let at_start = (blocks_at_start * block.len()) as u64;
    // (the file as opened: what was there, and at most what the writer
    // got in between the open and the size's look)
    assert!(
        read < at_start + 16 * block.len() as u64,
        "{read} bytes read of {at_start} there when the run began ({added} blocks appended): {s}"
    );
    // the rest, by the next run: every line once
    let lines = std::fs::read(&f)
        .unwrap()
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    env.ingest();
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines as i64);
}

#[test]
fn a_partial_line_waits_for_its_newline() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let line = r#"{"type":"user","uuid":"r-u9","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:02:00.000Z","message":{"role":"user","content":"half\nway"}}"#;
    // (cut right after an escape's backslash, as a write in progress may be:
    // reading it panicked before the nineteenth session)
    let (head, tail) = line.split_at(line.find('\\').unwrap() + 1);
    common::append(&f, head.as_bytes());
    let s = env.ingest();
    assert_eq!(
        (s["lines_read"].as_u64(), s["held_back_lines"].as_u64()),
        (Some(0), Some(1))
    );
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(st["held_back_lines"], 1);
    common::append(&f, format!("{tail}\n").as_bytes());
    let s = env.ingest();
    assert_eq!(
        (s["lines_read"].as_u64(), s["held_back_lines"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE uuid = 'r-u9'"
        ),
        1
    );
    // a report run while Claude Code writes a line says nothing of it (it
    // is how a transcript looks then); `status` counts it
    common::append(&f, head.replace("r-u9", "r-u10").as_bytes());
    let out = env.cmd().arg("cost").assert().success();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stderr), "");
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(st["held_back_lines"], 1);
    // and `ingest` says it is held back, though the report read it first
    let out = env.cmd().arg("ingest").assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(said.contains("1 held back until complete"), "{said}");
    // (the JSON counts it too, as status does: it said 0, this run having
    // read nothing)
    let s = env.ingest();
    assert_eq!(
        (s["lines_read"].as_u64(), s["held_back_lines"].as_u64()),
        (Some(0), Some(1))
    );
    // (a deleted file's line will never end: not said again)
    std::fs::remove_file(&f).unwrap();
    let out = env.cmd().arg("ingest").assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!said.contains("held back"), "{said}");
}

/// A transcript found at a new path, gone from its old one, with the bytes
/// it had (a project folder renamed, or moved to another disk and linked
/// back), is the same file: its row takes the new path and it is read on
/// from its cursor, not stored a second time. A copy whose original stays
/// is a file of its own.
#[test]
fn a_moved_transcript_is_read_on_from_where_it_was() {
    for how in ["renamed", "moved and linked back", "copied"] {
        let env = Env::with_fixture("basic");
        let first = env.ingest();
        let db = env.db();
        let (lines, chunks) = (
            count(&db, "SELECT count(*) FROM lines"),
            count(&db, "SELECT count(*) FROM raw_chunks"),
        );
        drop(db);
        let app = env.projects().join("-home-u-app");
        let moved = match how {
            "renamed" => {
                let to = env.projects().join("-home-u-app-renamed");
                std::fs::rename(&app, &to).unwrap();
                to
            }
            "moved and linked back" => {
                let to = env.dir.path().join("disk2/app");
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::rename(&app, &to).unwrap();
                std::os::unix::fs::symlink(&to, &app).unwrap();
                to
            }
            _ => {
                let to = env.projects().join("-home-u-app-copy");
                common::copy_dir(&app, &to);
                to
            }
        };
        // the session grew meanwhile
        let f = moved.join("sess-resume-0002.jsonl");
        let line = r#"{"type":"user","uuid":"mv-1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:05:00.000Z","message":{"role":"user","content":"and after the move"}}"#;
        common::append(&f, format!("{line}\n").as_bytes());
        let s = env.ingest();
        let db = env.db();
        // (the folder's files with lines; its empty one, sess-empty-0003,
        // is nothing to follow: a new row)
        let files = count(
            &db,
            "SELECT count(*) FROM source_files WHERE read_offset > 0",
        );
        let had = first["files_seen"].as_i64().unwrap() - 1;
        if how == "copied" {
            // (read whole, as files of their own: the copies (every line of
            // the fixture is in that folder) and the new line)
            assert_eq!(files, had + 4, "{how}");
            assert_eq!(s["lines_read"], lines + 1, "{how}: {s}");
            continue;
        }
        assert_eq!(
            (&s["lines_read"], &s["bytes_read"]),
            (&json!(1), &json!(line.len() + 1)),
            "{how}: {s}"
        );
        assert_eq!(files, had, "{how}");
        assert_eq!(count(&db, "SELECT count(*) FROM lines"), lines + 1, "{how}");
        assert_eq!(
            count(&db, "SELECT count(*) FROM raw_chunks"),
            chunks + 1,
            "{how}"
        );
        let path: String = db
            .query_row(
                "SELECT path FROM source_files WHERE path LIKE '%sess-resume-0002.jsonl'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            std::path::Path::new(&path),
            f.canonicalize().unwrap(),
            "{how}"
        );
        // nothing is gone: every file is where it is now (the moved row is
        // not marked gone either: the next run reads it with the others)
        assert_eq!(
            count(
                &db,
                "SELECT gone FROM source_files WHERE path LIKE '%sess-resume-0002.jsonl' AND superseded = 0"
            ),
            0,
            "{how}"
        );
        let out = env.cmd().args(["status", "--json"]).assert().success();
        let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert_eq!(st["files_gone"], 0, "{how}");
        assert_exported_once(&env, &f, how);
    }
}

/// A folder's transcripts hard-linked into another folder (a project
/// kept from Claude Code's cleanup with `cp -al`) are one file each under
/// two paths: read once, under the path already tracked (or, new, the
/// first in path order), as a file reached through a symlink is; a line
/// appended through either name is read once.
#[test]
fn a_hard_linked_transcript_is_read_once() {
    let link_folder = |env: &Env| {
        let app = env.projects().join("-home-u-app");
        // (sorts before the folder it copies: found first)
        let kept = env.projects().join("-home-u-aaa-kept");
        std::fs::create_dir_all(&kept).unwrap();
        for e in std::fs::read_dir(&app).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::hard_link(e.path(), kept.join(e.file_name())).unwrap();
            }
        }
        kept
    };
    let counts = |env: &Env| {
        let db = env.db();
        (
            count(&db, "SELECT count(*) FROM lines"),
            count(&db, "SELECT count(*) FROM raw_chunks"),
            count(&db, "SELECT count(*) FROM source_files"),
        )
    };
    let env = Env::with_fixture("basic");
    env.ingest();
    let before = counts(&env);
    let kept = link_folder(&env);
    let s = env.ingest();
    assert_eq!(
        (&s["files_read"], &s["lines_read"]),
        (&json!(0), &json!(0)),
        "{s}"
    );
    assert_eq!(counts(&env), before);
    let line = r#"{"type":"user","uuid":"hl-1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:05:00.000Z","message":{"role":"user","content":"written through the link"}}"#;
    common::append(
        kept.join("sess-resume-0002.jsonl"),
        format!("{line}\n").as_bytes(),
    );
    let s = env.ingest();
    assert_eq!(
        (&s["files_read"], &s["lines_read"]),
        (&json!(1), &json!(1)),
        "{s}"
    );
    assert_eq!(
        counts(&env),
        (before.0 + 1, before.1 + 1, before.2),
        "one line more, under the path tracked"
    );
    // both names there before the first ingest: the same tables as one
    let fresh = Env::with_fixture("basic");
    let single = Env::with_fixture("basic");
    link_folder(&fresh);
    fresh.ingest();
    single.ingest();
    assert_eq!(counts(&fresh), counts(&single));

    // both names tracked (as a run before hard links were told apart left
    // them): the name left out is set aside as a replaced generation, and
    // once the name read is deleted (Claude Code's cleanup) the other is
    // read on from where it stopped (review-s34 2: from its own, older
    // cursor, storing every line since again)
    let env = Env::with_fixture("basic");
    env.ingest();
    let kept = link_folder(&env);
    let app = env.projects().join("-home-u-app");
    let db = env.db();
    for name in ["sess-resume-0002.jsonl", "sess-main-0001.jsonl"] {
        db.execute(
            "INSERT INTO source_files(path, root, project_dir, kind, dev, ino, size, mtime_ns,
                    read_offset, line_count, fingerprint_len, fingerprint, first_seen_at,
                    last_read_at, tail_len, tail_digest)
             SELECT ?1, root, '-home-u-aaa-kept', kind, dev, ino, size, mtime_ns, read_offset,
                    line_count, fingerprint_len, fingerprint, first_seen_at, last_read_at,
                    tail_len, tail_digest
             FROM source_files WHERE path = ?2",
            [
                kept.join(name).to_string_lossy(),
                app.join(name).to_string_lossy(),
            ],
        )
        .unwrap();
    }
    drop(db);
    let f = app.join("sess-resume-0002.jsonl");
    common::append(&f, format!("{line}\n").as_bytes());
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "read once, under one name: {s}");
    std::fs::remove_dir_all(&kept).unwrap();
    let more = line.replace("hl-1", "hl-2");
    common::append(&f, format!("{more}\n").as_bytes());
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "only the new line: {s}");
    let current = strings(
        &env.db(),
        "SELECT path FROM source_files WHERE superseded = 0 AND path LIKE '%/sess-resume-0002.jsonl'",
    );
    assert_eq!(current, [f.to_string_lossy()]);
}

/// A transcript Claude Code deleted is marked gone, and a run reads the rows
/// of the files it finds, not every row kept (a year of deleted transcripts
/// made every report read tens of thousands). Found again, it is unmarked
/// and read as any tracked file: restored from a backup and grown since,
/// on from its cursor; an older, shorter copy restored, as a new
/// generation. Its lines are stored once and exported as the file is now.
#[test]
fn a_deleted_transcript_found_again_is_read_as_the_file_it_was() {
    for how in ["grown since", "an older copy"] {
        let env = Env::with_fixture("basic");
        env.ingest();
        let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
        let kept = std::fs::read(&f).unwrap();
        let gone = |db: &rusqlite::Connection| {
            strings(
                db,
                "SELECT path FROM source_files WHERE gone = 1 AND superseded = 0",
            )
        };
        assert_eq!(gone(&env.db()), Vec::<String>::new(), "{how}");
        let lines = count(&env.db(), "SELECT count(*) FROM lines");

        std::fs::remove_file(&f).unwrap();
        let s = env.ingest();
        assert_eq!(s["lines_read"], 0, "{how}: {s}");
        let db = env.db();
        let marked = gone(&db);
        assert_eq!(marked.len(), 1, "{how}: {marked:?}");
        assert!(marked[0].ends_with("sess-resume-0002.jsonl"), "{marked:?}");
        assert_eq!(count(&db, "SELECT count(*) FROM lines"), lines, "{how}");
        drop(db);

        // (a new inode either way)
        let (read, replaced) = if how == "grown since" {
            std::fs::write(&f, &kept).unwrap();
            let line = r#"{"type":"user","uuid":"back-1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:06:00.000Z","message":{"role":"user","content":"after the restore"}}"#;
            common::append(&f, format!("{line}\n").as_bytes());
            (1, 0)
        } else {
            let first_two: usize = kept
                .split_inclusive(|b| *b == b'\n')
                .take(2)
                .map(<[u8]>::len)
                .sum();
            std::fs::write(&f, &kept[..first_two]).unwrap();
            (2, 1)
        };
        let s = env.ingest();
        assert_eq!(
            (&s["lines_read"], &s["files_replaced"]),
            (&json!(read), &json!(replaced)),
            "{how}: {s}"
        );
        let db = env.db();
        assert_eq!(gone(&db), Vec::<String>::new(), "{how}");
        assert_eq!(
            count(&db, "SELECT count(*) FROM lines"),
            lines + read,
            "{how}"
        );
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM source_files WHERE path LIKE '%sess-resume-0002.jsonl' AND superseded = 0"
            ),
            1,
            "{how}"
        );
        drop(db);
        assert_exported_once(&env, &f, how);
    }
}

/// Two config dirs ingested in turn (two Claude Code profiles, each with
/// its own hook): a run marks gone only the files it looked for, under the
/// roots it walked. The other dir's files stay unmarked (marking them all
/// at each switch, and looking them all up again at the next, made every
/// switch ~2x slower than before schema 28), and a file deleted under the
/// root walked is marked.
#[test]
fn only_files_under_the_roots_walked_are_marked_gone() {
    let env = Env::with_fixture("basic");
    let b = env.dir.path().join("b");
    common::copy_dir(&common::fixtures().join("reports"), &b);
    let ingest_b = || {
        env.cmd()
            .args(["ingest", "-q", "--claude-dir"])
            .arg(&b)
            .assert()
            .success();
    };
    let gone = || strings(&env.db(), "SELECT path FROM source_files WHERE gone = 1");
    env.ingest();
    ingest_b();
    assert_eq!(gone(), Vec::<String>::new());
    env.ingest();
    assert_eq!(gone(), Vec::<String>::new());
    let f = b.join("projects/-home-u-web/sess-blocks-a001.jsonl");
    let path = f.canonicalize().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(&f).unwrap();
    ingest_b();
    assert_eq!(gone(), [path]);
    env.ingest();
    assert_eq!(gone().len(), 1);
}

/// `export` writes transcript `f` once, byte for byte as it is now.
fn assert_exported_once(env: &Env, f: &std::path::Path, how: &str) {
    let exported: Vec<_> = export_files(env, &env.dir.path().join("out"))
        .into_iter()
        .filter(|e| Some(e.file_name()) == f.file_name())
        .collect();
    assert_eq!(exported.len(), 1, "{how}: {exported:?}");
    assert_eq!(
        std::fs::read(exported[0].path()).unwrap(),
        std::fs::read(f).unwrap(),
        "{how}"
    );
}

/// `export --out OUT`, then every file it wrote.
fn export_files(env: &Env, out: &std::path::Path) -> Vec<walkdir::DirEntry> {
    env.cmd()
        .args(["export", "--out"])
        .arg(out)
        .assert()
        .success();
    walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .collect()
}

/// What is not a move: a gone file whose row has no digest of the bytes
/// before its cursor (from before schema 13, not read since) and a new file
/// that starts as it did but not with those bytes, as stored (a session
/// that copies another's opening lines), stay two files. What is: a forgotten file whose later lines are kept, moved;
/// a moved transcript a status line names before any ingest walks.
#[test]
fn a_move_is_followed_only_when_the_file_goes_on_from_its_cursor() {
    let dir_of = |env: &Env| env.projects().join("-home-u-m");
    let line = |session: &str, uuid: &str, text: &str| {
        format!(
            r#"{{"type":"user","uuid":"{uuid}","sessionId":"{session}","timestamp":"2026-03-05T10:00:00.000Z","cwd":"/home/u/m","message":{{"role":"user","content":"{text}"}}}}"#
        ) + "\n"
    };
    let pad = "x".repeat(2500);
    // (a) the tail's digest unknown: a new file sharing the first 4 KiB but
    // not the stored bytes before the cursor is its own
    let env = Env::new();
    std::fs::create_dir_all(dir_of(&env)).unwrap();
    let head = line("s-old", "o1", &pad) + &line("s-old", "o2", &pad);
    std::fs::write(
        dir_of(&env).join("s-old.jsonl"),
        head.clone() + &line("s-old", "o3", "end"),
    )
    .unwrap();
    env.ingest();
    env.db()
        .execute("UPDATE source_files SET tail_len = 0, tail_digest = 0", [])
        .unwrap();
    std::fs::remove_file(dir_of(&env).join("s-old.jsonl")).unwrap();
    std::fs::write(
        dir_of(&env).join("s-new.jsonl"),
        head + &line("s-new", "n3", "mine"),
    )
    .unwrap();
    env.ingest();
    let db = env.db();
    assert_eq!(
        strings(
            &db,
            "SELECT path FROM source_files WHERE superseded = 0 ORDER BY id"
        )
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect::<Vec<_>>(),
        ["s-old.jsonl", "s-new.jsonl"]
    );
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 6);
    drop(db);

    // (b) a forgotten file whose later lines are kept, then moved
    let env = Env::new();
    std::fs::create_dir_all(dir_of(&env)).unwrap();
    let f = dir_of(&env).join("s-f.jsonl");
    std::fs::write(
        &f,
        line("s-f", "f1", "forget me") + &line("s-f", "f2", "me too"),
    )
    .unwrap();
    env.ingest();
    env.cmd()
        .args(["forget", "--session", "s-f", "--yes", "-q"])
        .assert()
        .success();
    let later = line("s-f", "f3", "later") + &line("s-f", "f4", "later still");
    common::append(&f, later.as_bytes());
    env.ingest();
    std::fs::rename(dir_of(&env), env.projects().join("-home-u-m2")).unwrap();
    let s = env.ingest();
    assert_eq!(s["lines_read"], 0, "{s}");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM source_files"), 1);
    drop(db);

    // (c) a status line names the moved transcript first
    let env = Env::with_fixture("basic");
    env.ingest();
    let lines = count(&env.db(), "SELECT count(*) FROM lines");
    let files = count(&env.db(), "SELECT count(*) FROM source_files");
    std::fs::rename(
        env.projects().join("-home-u-app"),
        env.projects().join("-home-u-app2"),
    )
    .unwrap();
    let moved = env.projects().join("-home-u-app2/sess-resume-0002.jsonl");
    env.cmd()
        .args(["statusline", "--tz", "UTC"])
        .write_stdin(format!(
            r#"{{"session_id":"sess-resume-0002","transcript_path":"{}","model":{{"display_name":"Sonnet 4.5"}}}}"#,
            moved.display()
        ))
        .assert()
        .success();
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM source_files"), files);
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), lines);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE path LIKE '%-home-u-app2/sess-resume-0002.jsonl'"
        ),
        1
    );
}

#[test]
fn truncated_or_replaced_files_are_read_again_from_the_start_and_old_lines_are_kept() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let f = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    // replace via rename, with other content that is shorter
    let other = r#"{"type":"user","uuid":"new-1","sessionId":"sess-resume-0002","timestamp":"2026-03-04T09:00:00.000Z","message":{"role":"user","content":"fresh start"}}"#;
    let tmp = env.projects().join("-home-u-app/tmp.part");
    std::fs::write(&tmp, format!("{other}\n")).unwrap();
    std::fs::rename(&tmp, &f).unwrap();
    let s = env.ingest();
    assert_eq!(s["files_read"], 1);
    assert_eq!(s["files_replaced"], 1);
    assert_eq!(s["lines_read"], 1);
    let db = env.db();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE superseded = 1"
        ),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM lines"),
        34,
        "the replaced generation's lines stay"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM responses"),
        7,
        "nothing counted twice"
    );
    // `status` counts the files as they are now, the replaced generation's
    // 4 lines (its assistant lines among them) apart
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (&st["lines"], &st["lines_replaced"]),
        (&json!(30), &json!(4))
    );
    for ty in ["user", "assistant"] {
        let all = count(
            &db,
            &format!("SELECT count(*) FROM lines WHERE type = '{ty}'"),
        );
        assert_eq!(st["records_by_type"][ty], all - 2, "{ty}: {st}");
    }
    let out = env.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("Lines           30 (+4 in replaced generations)"),
        "{text}"
    );
    // truncate to zero: a new generation with nothing in it, said by the
    // run that reads it (it was read again without a word)
    std::fs::write(&f, "").unwrap();
    let out = env.cmd().arg("ingest").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("1 file rewritten or cut shorter since the last read, read again from the start (the old lines kept: `observatory forget --replaced` drops them)"),
        "{text}"
    );
    let s = env.ingest();
    assert_eq!(
        (&s["lines_read"], &s["files_replaced"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE superseded = 1"
        ),
        2
    );
    assert_references(&db);
    // a re-run adds nothing
    let before = dump(&db);
    env.ingest();
    assert_eq!(dump(&db), before);
}

/// Write `text` over the file `f` (same inode) and ingest: no line is
/// malformed. The database, for the caller's checks.
fn rewrite_in_place(env: &Env, f: &std::path::Path, text: &str) -> rusqlite::Connection {
    std::fs::write(f, text).unwrap();
    let s = env.ingest();
    assert_eq!(s["malformed_lines"], 0, "{s}");
    env.db()
}

#[test]
fn a_rewrite_that_keeps_the_first_bytes_and_grows_is_read_from_the_start() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-app");
    let f = dir.join("sess-r.jsonl");
    let prompt = format!(
        r#"{{"type":"user","uuid":"u0","sessionId":"sess-r","timestamp":"2026-03-01T09:59:00.000Z","message":{{"role":"user","content":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let answer = |n: usize, id: &str, tokens: u64| {
        format!(
            r#"{{"type":"assistant","uuid":"a{n}","parentUuid":"u0","sessionId":"sess-r","timestamp":"2026-03-01T10:00:0{n}.000Z","message":{{"id":"{id}","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{{"input_tokens":{tokens},"output_tokens":{tokens}}}}}}}"#
        )
    };
    std::fs::write(
        &f,
        format!(
            "{prompt}\n{}\n{}\n",
            answer(1, "m1", 100),
            answer(2, "m2", 100)
        ),
    )
    .unwrap();
    env.ingest();
    // the same first 4 KiB (and more), then other lines, longer in all
    let rewritten = format!(
        "{prompt}\n{}\n{}\n{}\n",
        answer(1, "m1", 100),
        answer(3, "m3_with_a_much_longer_message_id", 7777),
        answer(4, "m4", 1)
    );
    let db = rewrite_in_place(&env, &f, &rewritten);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE superseded = 1"
        ),
        1,
        "a new generation"
    );
    let ids = strings(&db, "SELECT message_id FROM responses ORDER BY message_id");
    assert_eq!(ids, ["m1", "m2", "m3_with_a_much_longer_message_id", "m4"]);
    // appending to it is still an append
    let mut h = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    h.write_all(format!("{}\n", answer(5, "m5", 5)).as_bytes())
        .unwrap();
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "{s}");
}

#[test]
fn a_rewrite_with_a_line_end_at_the_old_cursor_is_read_from_the_start() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-app");
    let f = dir.join("sess-g.jsonl");
    let line = |uuid: &str, id: &str, tokens: u64, pad: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"sess-g","timestamp":"2026-03-01T10:00:00.000Z","message":{{"id":"{id}","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"{pad}"}}],"stop_reason":"end_turn","usage":{{"input_tokens":{tokens},"output_tokens":1}}}}}}"#
        ) + "\n"
    };
    let old: Vec<String> = (1..=12)
        .map(|i| {
            line(
                &format!("a{i}"),
                &format!("m{i}"),
                100,
                &"hello ".repeat(40),
            )
        })
        .collect();
    std::fs::write(&f, old.concat()).unwrap();
    env.ingest();
    // lines 11 and 12 become one line of exactly their length (so a line
    // ends at the old cursor, and the first 4 KiB are the same), then one
    // more line: a rewrite in place, not an append
    let kept = old[..10].concat();
    let span = old[10].len() + old[11].len();
    assert!(kept.len() > 4096);
    // a 50,000-token response padded to `span` bytes, newline included
    let spanning = |uuid: &str, id: &str, span: usize| {
        let bare = line(uuid, id, 50_000, "").len();
        line(uuid, id, 50_000, &"p".repeat(span - bare))
    };
    let joined = spanning("c1", "k1", span);
    assert_eq!(joined.len(), span);
    let rewritten = format!("{kept}{joined}{}", line("c2", "k2", 50_000, ""));
    let db = rewrite_in_place(&env, &f, &rewritten);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE superseded = 1"
        ),
        1,
        "a new generation"
    );
    let ids = strings(
        &db,
        "SELECT message_id FROM responses WHERE message_id LIKE 'k%' ORDER BY message_id",
    );
    assert_eq!(ids, ["k1", "k2"]);
    // and an append to the new generation is an append
    let mut h = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    h.write_all(line("c3", "k3", 1, "").as_bytes()).unwrap();
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "{s}");
    // after a read of one appended line, the digest still covers the 4 KiB
    // before the cursor: a rewrite of the lines before that one is caught
    let content = std::fs::read_to_string(&f).unwrap();
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let n = lines.len();
    let span = lines[n - 3].len() + lines[n - 2].len();
    let joined = spanning("d1", "j1", span);
    let rewritten = format!(
        "{}{joined}{}{}",
        lines[..n - 3].concat(),
        lines[n - 1],
        line("d2", "j2", 1, "")
    );
    std::fs::write(&f, rewritten).unwrap();
    env.ingest();
    let ids = strings(
        &db,
        "SELECT message_id FROM responses WHERE message_id LIKE 'j%' ORDER BY message_id",
    );
    assert_eq!(ids, ["j1", "j2"], "the rewritten line is read");
    // a row from before schema 13 (no tail digest) still appends, and gets one
    db.execute("UPDATE source_files SET tail_len = 0, tail_digest = 0", [])
        .unwrap();
    h.write_all(line("c4", "k4", 1, "").as_bytes()).unwrap();
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "{s}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM source_files WHERE superseded = 0 AND tail_len > 0"
        ),
        1
    );
}

#[test]
fn full_rebuild_needs_only_the_stored_raw_lines() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let before = dump(&env.db());
    // Claude Code cleans up: every transcript is gone
    std::fs::remove_dir_all(env.projects()).unwrap();
    std::fs::create_dir_all(env.projects()).unwrap();
    let out = env
        .cmd()
        .args(["ingest", "--full", "--json"])
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["rebuilt_lines"], 33);
    assert_eq!(dump(&env.db()), before);
    assert_references(&env.db());
}

/// A file name's control characters (an escape sequence, a newline) are
/// shown in warnings, not acted on: a name that cleared the screen or split
/// a warning over lines reached stderr raw (tour-s33b L1), where tables
/// showed such text escaped.
#[test]
fn a_file_names_escapes_are_shown_in_warnings_not_sent() {
    let env = Env::new();
    let dir = env.project_dir("-ansi\x1b[31mRED\x1b[0m");
    std::fs::write(dir.join("\x1b[2J\x1b[Hclear\nme.jsonl"), "not json\n").unwrap();
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["malformed_lines"], 1, "{s}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    assert!(
        stderr.contains("-ansi␛[31mRED␛[0m/␛[2J␛[Hclear↵me.jsonl:1: malformed line"),
        "{stderr:?}"
    );
    // a report holds the walk's warnings (a dangling link) for one line
    // at its end: shown there too (review-s33 F2)
    std::os::unix::fs::symlink(
        env.dir.path().join("nowhere"),
        dir.join("\x1b]0;title\x07gone.jsonl"),
    )
    .unwrap();
    let out = env.cmd().arg("cost").assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("␛]0;title␇gone.jsonl"), "{stderr:?}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    // (the name itself is stored as it is)
    let path: String = env
        .db()
        .query_row("SELECT path FROM source_files", [], |r| r.get(0))
        .unwrap();
    assert!(path.ends_with("\x1b[2J\x1b[Hclear\nme.jsonl"), "{path:?}");
}

#[test]
fn malformed_lines_are_kept_counted_and_named() {
    let env = Env::with_fixture("malformed");
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_accounting(&s);
    // 11 physical lines: 2 blank, 6 malformed, 3 records (the last has no newline)
    assert_eq!(s["lines_read"], 9);
    assert_eq!(s["malformed_lines"], 6);
    assert_eq!(s["records_by_type"], json!({"user": 3}));
    assert_eq!(s["held_back_lines"], 0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for line in [2, 3, 4, 5, 6, 9] {
        assert!(
            stderr.contains(&format!("sess-junk-0004.jsonl:{line}: malformed line")),
            "line {line} not named in:\n{stderr}"
        );
    }
    let db = env.db();
    let rows: Vec<(i64, i64, String)> = db
        .prepare("SELECT line_no, byte_offset, error FROM lines WHERE status = 'malformed' ORDER BY line_no")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 9]
    );
    assert!(rows[3].2.contains("UTF-8"), "{rows:?}");
    assert!(rows[4].2.contains("not a JSON object"), "{rows:?}");
    assert!(rows[5].2.contains("recursion"), "{rows:?}");
    assert!(
        rows[0].2.starts_with("not valid JSON: ") && rows[0].2.contains("cut short?"),
        "{rows:?}"
    );
    // status counts them and gives the query that lists them, which works
    let out = env.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let query = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("(which and why: observatory query \"")
        })
        .and_then(|q| q.strip_suffix("\")"))
        .unwrap_or_else(|| panic!("no query in {text}"));
    let out = env
        .cmd()
        .args(["query", "--json", query])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(6), "{v}");
    // given a database with --db, the query names it (as one shell word)
    let other = env.dir.path().join("my dbs/-it's.db");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(env.db_path(), &other).unwrap();
    std::fs::rename(env.db_path(), env.dir.path().join("moved.db")).unwrap();
    let out = env
        .cmd()
        .arg("status")
        .arg("--db")
        .arg(&other)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("(which and why: "))
        .unwrap_or_else(|| panic!("no query in {text}"));
    let command = line.trim().strip_prefix("(which and why: ").unwrap();
    let command = command.strip_suffix(')').unwrap();
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} --json"))
        // (this test's environment only: nothing of the real one)
        .env_clear()
        .envs(env.vars())
        .env(
            "PATH",
            format!(
                "{}:{}",
                env!("CARGO_BIN_EXE_observatory")
                    .rsplit_once('/')
                    .unwrap()
                    .0,
                std::env::var("PATH").unwrap()
            ),
        )
        .env("OBSERVATORY_HOME", env.dir.path().join("nowhere"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sh.stdout)
        .unwrap_or_else(|e| panic!("{e}: {command}: {}", String::from_utf8_lossy(&sh.stderr)));
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(6), "{v}");
    // the raw bytes are all there, CRLF and NULs included
    let raw: Vec<u8> = db
        .query_row("SELECT data FROM raw_chunks", [], |r| r.get(0))
        .unwrap();
    let raw = zstd::stream::decode_all(&raw[..]).unwrap();
    let original = std::fs::read(env.projects().join("-home-u-junk/sess-junk-0004.jsonl")).unwrap();
    assert_eq!(raw, original);
    // each line's bytes, without its line end (`\n` or `\r\n`)
    let mut st = db
        .prepare("SELECT line_no, byte_offset, byte_len FROM lines ORDER BY line_no")
        .unwrap();
    let stored: Vec<(i64, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut offset = 0;
    let mut expected = Vec::new();
    for (i, line) in original.split_inclusive(|&b| b == b'\n').enumerate() {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if !body.iter().all(u8::is_ascii_whitespace) {
            expected.push((i as i64 + 1, offset as i64, body.len() as i64));
        }
        offset += line.len();
    }
    assert_eq!(stored, expected);
}

#[test]
fn no_transcripts_says_where_it_looked() {
    let env = Env::new();
    let missing = env.dir.path().join("no-such-dir");
    // a folder named by the user: exit 1
    let out = env
        .cmd()
        .env("CLAUDE_CONFIG_DIR", &missing)
        .arg("ingest")
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert!(stderr.contains("--claude-dir"), "{stderr}");
    // default roots under an empty HOME are named too (exit 0)
    let out = env
        .cmd()
        .env_remove("CLAUDE_CONFIG_DIR")
        .arg("ingest")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(".claude") && stderr.contains(".config/claude"),
        "{stderr}"
    );
}

#[test]
fn empty_projects_dir_is_fine() {
    let env = Env::new();
    let s = env.ingest();
    assert_eq!(
        (s["files_seen"].as_u64(), s["lines_read"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn database_is_private_and_versions_are_checked() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let mode = std::fs::metadata(env.db_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(env.obs_home())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    // a wider mode gets a warning
    std::fs::set_permissions(env.db_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.cmd().arg("ingest").assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("chmod 600"));
    // a newer schema is refused with a clear message
    env.db().pragma_update(None, "user_version", 999).unwrap();
    let out = env.cmd().arg("ingest").assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("newer observatory") && stderr.contains("999"),
        "{stderr}"
    );
    let out = env.cmd().arg("status").assert().failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("newer observatory"));
}

/// A database readable by other users is warned of by `status` too (where
/// a user looks at it; it said nothing), as by the reports; an empty file is
/// no database yet for the commands that only read (`status` made one in
/// it, and `query` blamed the SQL: "no such table").
#[test]
fn status_warns_of_a_readable_database_and_an_empty_file_is_none_yet() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::with_fixture("basic");
    env.ingest();
    let db = env.db_path();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["status"][..], &["cost", "--no-ingest"]] {
        let out = env.cmd().args(args).assert().success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains(
                "is readable by other users (mode 644); transcripts hold secrets: chmod 600 it"
            ),
            "{args:?}: {stderr}"
        );
    }
    let empty = env.dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let db = ["--db", empty.to_str().unwrap()];
    for args in [
        &["status", db[0], db[1]][..],
        &["query", "SELECT count(*) FROM sessions", db[0], db[1]],
    ] {
        let stderr = fails(&env, args, 1);
        assert!(
            stderr.contains("no database here yet; run `observatory ingest` first"),
            "{args:?}: {stderr}"
        );
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "{args:?}");
    }
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let env = Env::with_fixture("basic");
    let bogus = env.dir.path().join("bogus.db");
    std::fs::write(
        &bogus,
        "hello, I am a text file and certainly not SQLite. ".repeat(40),
    )
    .unwrap();
    // (every command that opens it, reading or writing: status and query
    // once said only SQLite's "file is not a database")
    let db = bogus.to_str().unwrap();
    let runs: [&[&str]; 5] = [
        &["ingest", "--db", db],
        &["status", "--db", db],
        &["query", "SELECT 1", "--db", db],
        &["cost", "--no-ingest", "--db", db],
        &["export", "--out", "x", "--db", db],
    ];
    for args in runs {
        let stderr = fails(&env, args, 1);
        assert!(
            stderr.contains("not an observatory database"),
            "{args:?}: {stderr}"
        );
        // (a damaged header reads the same: the way back is named)
        assert!(
            stderr.contains("restore a copy made by `observatory backup`"),
            "{args:?}: {stderr}"
        );
    }
}

/// Another program's SQLite file given as --db is refused, in one line, and
/// left byte for byte as it was (it was taken over: observatory's tables
/// added and the file switched to WAL; or, with a table of the same name,
/// refused with the whole migration's SQL, the header changed anyway).
#[test]
fn another_programs_sqlite_database_is_left_alone() {
    let env = Env::with_fixture("basic");
    for (name, sql) in [
        (
            "notes.db",
            "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);",
        ),
        (
            "app.db",
            "CREATE TABLE sessions(id); INSERT INTO sessions VALUES (1);",
        ),
        ("negative.db", "PRAGMA user_version = -3;"),
        // (no tables, but a schema version or an application id: another
        // program's new file, not an empty one of ours)
        ("versioned.db", "PRAGMA user_version = 7;"),
        ("newer.db", "PRAGMA user_version = 99;"),
        ("app-id.db", "PRAGMA application_id = 1234;"),
    ] {
        let path = env.dir.path().join(name);
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(sql).unwrap();
        drop(c);
        let before = std::fs::read(&path).unwrap();
        for args in [&["ingest"][..], &["status"], &["cost", "--no-ingest"]] {
            let out = env.cmd().args(args).arg("--db").arg(&path).assert().code(1);
            let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
            assert!(
                stderr.contains("is another program's SQLite database")
                    && stderr.lines().count() == 1,
                "{name} {args:?}: {stderr}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), before, "{name} {args:?}");
        }
    }
}

/// A transcript an editor saved with a UTF-8 byte-order mark: its first
/// line is read past the mark (with a warning naming it), not lost as
/// malformed; its bytes are stored and exported as they are; a rebuild
/// reads it the same way; and a mark anywhere else is still no JSON.
#[test]
fn a_byte_order_mark_at_the_start_of_a_file_is_read_past() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-bom");
    let line = |n: u32| {
        format!(
            r#"{{"type":"user","uuid":"bom-{n}","sessionId":"sess-bom","timestamp":"2026-03-01T10:0{n}:00.000Z","cwd":"/home/u/bom","message":{{"role":"user","content":"prompt {n}"}}}}"#
        )
    };
    let bytes = format!("\u{feff}{}\n{}\n\u{feff}{}\n", line(1), line(2), line(3));
    std::fs::write(dir.join("sess-bom.jsonl"), &bytes).unwrap();
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(s["lines_read"], 3, "{s}");
    assert_eq!(
        s["malformed_lines"], 1,
        "the third line's mark is not at the file's start"
    );
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("sess-bom.jsonl:1: the file starts with a UTF-8 byte-order mark"),
        "{stderr}"
    );
    let prompts = || {
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE is_prompt = 1 AND session_id = 'sess-bom'",
        )
    };
    assert_eq!(prompts(), 2);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(prompts(), 2);
    let out = env.dir.path().join("export");
    env.cmd()
        .args(["export", "--out"])
        .arg(&out)
        .assert()
        .success();
    let back = std::fs::read(out.join("projects/-home-u-bom/sess-bom.jsonl")).unwrap();
    assert_eq!(back, bytes.as_bytes());
}

#[test]
fn a_last_line_without_its_newline_is_measured_without_its_cr_as_a_rebuild_does() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-cr");
    let line = r#"{"type":"user","uuid":"cr-1","sessionId":"sess-cr","timestamp":"2026-03-01T10:00:00.000Z","message":{"role":"user","content":"hi"}}"#;
    std::fs::write(dir.join("sess-cr.jsonl"), format!("{line}\r\n{line}\r")).unwrap();
    let lens = || -> Vec<i64> {
        env.db()
            .prepare("SELECT byte_len FROM lines ORDER BY line_no")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    env.ingest();
    assert_eq!(lens(), [line.len() as i64; 2]);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(lens(), [line.len() as i64; 2]);
}

#[test]
fn a_database_with_damaged_pages_is_named_with_the_way_back() {
    let env = Env::with_fixture("basic");
    env.ingest();
    // every page but the first (the header and the schema) overwritten
    let mut bytes = std::fs::read(env.db_path()).unwrap();
    assert!(bytes.len() > 3 * 4096);
    bytes[4096..].fill(0xab);
    std::fs::write(env.db_path(), bytes).unwrap();
    for args in [
        &["status"][..],
        &["cost", "--no-ingest"],
        &["query", "SELECT count(*) FROM lines"],
        &["ingest"],
    ] {
        let out = env.cmd().args(args).assert().code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let db = env.db_path().display().to_string();
        assert!(
            err.contains(&format!("{db}: database disk image is malformed (the file is damaged: restore a copy made by `observatory backup`"))
                && !err.contains("Error code 11")
                && !err.contains("in the SQL"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_root_that_is_not_there_is_said_so() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let gone = env.dir.path().join("not-there");
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    for (root, why) in [(&gone, "does not exist"), (&file, "is not a folder")] {
        let out = env
            .cmd()
            .arg("ingest")
            .arg("--claude-dir")
            .arg(root)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr);
        assert!(
            err.contains(&format!("{}: {why}; nothing to read", root.display())),
            "{err}"
        );
    }
}

#[test]
fn a_damaged_database_is_said_once_with_what_to_do() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let db = env.db_path();
    let half = std::fs::metadata(&db).unwrap().len() / 2;
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(half)
        .unwrap();
    for args in [&["cost", "--no-ingest"][..], &["status"]] {
        let out = env.cmd().args(args).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert_eq!(
            stderr.matches("malformed").count(),
            1,
            "{args:?}: SQLite's words once: {stderr}"
        );
        assert!(!stderr.contains("Error code"), "{stderr}");
        assert!(stderr.contains("observatory backup"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_folder_given_as_the_database_is_named() {
    let env = Env::with_fixture("basic");
    let folder = env.dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for args in [&["ingest"][..], &["status"], &["cost", "--no-ingest"]] {
        let out = env
            .cmd()
            .args(args)
            .arg("--db")
            .arg(&folder)
            .assert()
            .failure();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains("is a folder, not a database file") && !stderr.contains("I/O error"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        0,
        "nothing written into it"
    );
}

#[test]
fn status_reports_counts_per_type() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(st["lines"], 33);
    assert_eq!(st["files_tracked"], 5);
    assert_eq!(st["records_by_type"]["assistant"], 12);
    assert_eq!(st["unknown_types"], json!({"brand-new-type": 1}));
    assert_eq!(st["responses"], 7);
    assert_eq!(st["schema_version"], 33);
    // two sessions, as `sessions` lists them, and the two subagents one ran
    assert_eq!((&st["sessions"], &st["subagents"]), (&json!(2), &json!(2)));
    assert_eq!(st["sessions_without_main"], 0);
    // a session known only from a subagent transcript is one more, as in
    // `sessions`
    let orphan = env
        .projects()
        .join("-home-u-orphan/sess-gone-0009/subagents");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(
        orphan.join("agent-a1.jsonl"),
        r#"{"type":"user","uuid":"o1","sessionId":"sess-gone-0009","agentId":"a1","isSidechain":true,"timestamp":"2026-03-01T10:00:00.000Z","message":{"role":"user","content":"go"}}"#.to_owned() + "\n",
    )
    .unwrap();
    env.ingest();
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (
            &st["sessions"],
            &st["sessions_without_main"],
            &st["subagents"]
        ),
        (&json!(3), &json!(1), &json!(3))
    );
    let out = env.cmd().args(["sessions", "--json"]).assert().success();
    let listed: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(listed["rows"].as_array().unwrap().len(), 3);
    let out = env.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("brand-new-type") && text.contains("unknown type, kept"),
        "{text}"
    );
    assert!(
        text.contains("Sessions        3, 1 of them without a main transcript (+3 subagent runs)"),
        "{text}"
    );
    assert_eq!(st["files_gone"], 0);
    assert!(text.contains("Files tracked   6\n"), "{text}");
    // Claude Code's cleanup deletes two transcripts: still tracked, their
    // lines kept, and said
    std::fs::remove_dir_all(env.projects().join("-home-u-orphan")).unwrap();
    // (and a folder made where the other was: no transcript there either,
    // which status counted as still on disk: tour-s33b L6)
    let resume = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    std::fs::remove_file(&resume).unwrap();
    std::fs::create_dir(&resume).unwrap();
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (&st["files_tracked"], &st["files_gone"]),
        (&json!(6), &json!(2))
    );
    assert_eq!(st["lines"], 34);
    let out = env.cmd().arg("status").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("Files tracked   6 (2 no longer on disk: their lines are kept here)\n"),
        "{text}"
    );
}

/// `status` reads its counts per type from the table the ingest keeps
/// (`line_counts`), and they are what counting every line gives, after
/// each way the lines change: new lines (a malformed one, one of a type
/// not modelled), a file replaced by a new generation (its lines counted
/// apart), a session forgotten (status right after it counts the lines
/// themselves), a rebuild. After each ingest the kept counts are current
/// and equal a count of the lines.
#[test]
fn status_counts_kept_by_the_ingest_match_every_line() {
    let env = Env::with_fixture("basic");
    let app = env.projects().join("-home-u-app");
    let check = |step: &str, kept: bool| {
        let db = env.db();
        let truth = strings(
            &db,
            "SELECT f.superseded || ' ' || coalesce(l.type, '') || ' ' || l.status || ' ' || count(*)
             FROM lines l JOIN source_files f ON f.id = l.file_id
             GROUP BY f.superseded, coalesce(l.type, ''), l.status ORDER BY 1",
        );
        let current = count(
            &db,
            "SELECT coalesce(max(id), 0) IS (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'line_counts_through') FROM lines",
        );
        assert_eq!(current, i64::from(kept), "{step}: counts current");
        if kept {
            let stored = strings(
                &db,
                "SELECT replaced || ' ' || type || ' ' || status || ' ' || lines
                 FROM line_counts WHERE lines > 0 ORDER BY 1",
            );
            assert_eq!(stored, truth, "{step}");
        }
        let out = env.cmd().args(["status", "--json"]).assert().success();
        let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let n = |sql: &str| json!(count(&db, sql));
        assert_eq!(
            st["lines"],
            n(
                "SELECT count(*) FROM lines WHERE file_id IN (SELECT id FROM source_files WHERE superseded = 0)"
            ),
            "{step}: {st}"
        );
        assert_eq!(
            st["lines_replaced"],
            n(
                "SELECT count(*) FROM lines WHERE file_id IN (SELECT id FROM source_files WHERE superseded = 1)"
            ),
            "{step}: {st}"
        );
        assert_eq!(
            st["malformed_lines"],
            n(
                "SELECT count(*) FROM lines WHERE status = 'malformed' AND file_id IN (SELECT id FROM source_files WHERE superseded = 0)"
            ),
            "{step}: {st}"
        );
        let unknown: serde_json::Map<String, serde_json::Value> = strings(
            &db,
            "SELECT type || ' ' || count(*) FROM lines WHERE status = 'unknown'
             AND file_id IN (SELECT id FROM source_files WHERE superseded = 0) GROUP BY type",
        )
        .iter()
        .map(|row| {
            let (ty, n) = row.rsplit_once(' ').unwrap();
            (ty.to_owned(), json!(n.parse::<i64>().unwrap()))
        })
        .collect();
        assert_eq!(
            st["unknown_types"],
            serde_json::Value::Object(unknown),
            "{step}: {st}"
        );
        for ty in strings(
            &db,
            "SELECT DISTINCT type FROM lines WHERE type IS NOT NULL",
        ) {
            let sql = format!(
                "SELECT count(*) FROM lines WHERE type = '{ty}' AND status != 'malformed'
                 AND file_id IN (SELECT id FROM source_files WHERE superseded = 0)"
            );
            let expected = count(&db, &sql);
            let shown = st["records_by_type"][ty.as_str()].as_i64().unwrap_or(0);
            assert_eq!(shown, expected, "{step}: {ty}: {st}");
        }
        truth
    };
    env.ingest();
    let first = check("first ingest", true);
    common::append(
        app.join("sess-main-0001.jsonl"),
        concat!(
            "{not json\n",
            r#"{"type":"brand-new-type","timestamp":"2026-03-01T11:00:00.000Z"}"#,
            "\n",
            r#"{"type":"user","uuid":"u-new-1","sessionId":"sess-main-0001","timestamp":"2026-03-01T11:00:01.000Z","message":{"role":"user","content":"more"}}"#,
            "\n"
        ),
    );
    env.ingest();
    let appended = check("appended", true);
    assert_ne!(appended, first);
    // a last line without its newline, left so for over an hour, is stored
    // as it is (malformed); completed, it is read again in place, its row
    // deleted and written again under the same id
    let main = app.join("sess-main-0001.jsonl");
    common::append(
        &main,
        r#"{"type":"user","uuid":"u-cut-1","sessionId":"sess-main-0001","timestamp":"2026-03-01T11:00:02.000Z","message":{"role":"user","content":"cut"#,
    );
    common::last_changed_ago(&main, 3 * 3600);
    env.ingest();
    let cut = check("stored cut", true);
    assert!(
        cut.iter().any(|g| g.starts_with("0  malformed 2")),
        "{cut:?}"
    );
    let last = "SELECT coalesce(max(id), 0) FROM lines";
    let cut_id = count(&env.db(), last);
    common::append(&main, "\"}}\n");
    env.ingest();
    let recut = check("read again whole", true);
    assert_eq!(
        count(&env.db(), last),
        cut_id,
        "the completed line kept its id"
    );
    assert_eq!(
        strings(
            &env.db(),
            &format!("SELECT type FROM lines WHERE id = {cut_id}")
        ),
        ["user"]
    );
    assert!(
        recut.iter().any(|g| g.starts_with("0  malformed 1")),
        "{recut:?}"
    );
    // a new generation: the file rewritten with other first bytes
    std::fs::write(
        app.join("sess-resume-0002.jsonl"),
        r#"{"type":"user","uuid":"r-new-1","sessionId":"sess-resume-0002","timestamp":"2026-03-02T09:00:00.000Z","message":{"role":"user","content":"again"}}"#.to_owned() + "\n",
    )
    .unwrap();
    env.ingest();
    check("replaced", true);
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(st["lines_replaced"].as_i64().unwrap() > 0, "{st}");
    env.cmd()
        .args(["forget", "--session", "sess-resume-0002", "--yes", "-q"])
        .assert()
        .success();
    check("forgotten, before an ingest", false);
    env.ingest();
    check("forgotten, after an ingest", true);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    check("rebuilt", true);
    // (the rebuild empties `lines` with its delete trigger lifted, and puts
    // it back)
    let triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'line_counts_%' ORDER BY 1";
    assert_eq!(
        strings(&env.db(), triggers),
        [
            "line_counts_file_replaced",
            "line_counts_line_delete",
            "line_counts_line_update"
        ]
    );
    // status reads the kept counts while they are current (changed by hand
    // here, they show), and counts the lines once a line changed
    let users = |env: &Env| {
        let out = env.cmd().args(["status", "--json"]).assert().success();
        let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        st["records_by_type"]["user"].as_i64().unwrap()
    };
    let before = users(&env);
    env.db()
        .execute_batch(
            "UPDATE line_counts SET lines = lines + 1000 WHERE type = 'user' AND replaced = 0",
        )
        .unwrap();
    assert_eq!(users(&env), before + 1000);
    env.db()
        .execute_batch("UPDATE lines SET error = 'x' WHERE id = (SELECT min(id) FROM lines)")
        .unwrap();
    assert_eq!(users(&env), before);
    check("a line changed", false);
}

/// An ingest whose stderr nobody reads any more (`ingest 2>&1 | head`, a
/// hook runner that stopped reading) stores every line all the same, and
/// exits 0: its warnings are lost, not the run (it panicked on its first
/// warning, storing nothing).
#[test]
fn an_ingest_with_a_closed_stderr_stores_everything() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let env = Env::with_fixture("malformed");
    let status = env
        .std_cmd()
        .arg("ingest")
        .stdout(std::process::Stdio::null())
        .stderr(writer)
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let told = Env::with_fixture("malformed");
    let summary = told.ingest();
    assert!(
        summary["malformed_lines"].as_i64().unwrap() > 0,
        "{summary}"
    );
    let lines = "SELECT status || ' ' || line_no FROM lines ORDER BY file_id, line_no";
    assert_eq!(strings(&env.db(), lines), strings(&told.db(), lines));
    assert!(count(&env.db(), "SELECT count(*) FROM lines") > 0);
}

#[test]
fn status_before_any_ingest_says_what_to_do() {
    let env = Env::new();
    let out = env.cmd().arg("status").assert().failure();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("observatory ingest"));
}

#[test]
fn wrong_flag_is_a_usage_error() {
    let env = Env::new();
    env.cmd()
        .args(["ingest", "--no-such-flag"])
        .assert()
        .code(2);
}

/// fixtures/db-v1: the basic fixture ingested by the first release (schema
/// 1). Opening it migrates the schema, and the next ingest rebuilds every
/// table from the stored raw lines: the figures come back even when the
/// transcripts are gone (Claude Code's 30-day cleanup).
#[test]
fn an_upgrade_is_rebuilt_with_no_transcript_folder_left() {
    let old_db = |env: &Env| {
        std::fs::remove_dir_all(env.projects()).unwrap();
        env.with_db_v1();
    };
    // a report: its ingest rebuilds (it showed $0 and no responses)
    let env = Env::new();
    old_db(&env);
    let out = env
        .cmd()
        .args(["cost", "--by-model", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["total"]["requests"], 7, "{v}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("rebuilding every table"), "{stderr}");
    // `ingest` too (it stopped at "no transcripts found"); the folder named
    // still has no projects/: said, exit 1
    let env = Env::new();
    old_db(&env);
    let out = env.cmd().args(["ingest", "--json"]).assert().code(1);
    let summary: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(summary["rebuilt_lines"], 33, "{summary}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("error: no Claude Code transcripts in "),
        "{stderr}"
    );
    // `status` upgrades it too (it failed on a table the old schema lacks)
    let env = Env::new();
    old_db(&env);
    let out = env.cmd().args(["status", "--json"]).assert().success();
    let st: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(st["schema_version"], 33, "{st}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("awaits a rebuild"), "{stderr}");
    // and --no-ingest says why its figures are missing
    let env = Env::new();
    old_db(&env);
    let out = env.cmd().args(["cost", "--no-ingest"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("awaits a rebuild"), "{stderr}");
}

/// The transcripts of an upgraded database, found at another path (a
/// folder moved, ~/.claude moved): recognised as the files it read, and
/// read on from their cursors. Its rows know no digest of the bytes before
/// their cursors (schema 13 added it): past the first 4 KiB those are
/// compared with the stored bytes (sess-main-0001, 11,214 bytes, was read
/// again whole, and exported twice).
#[test]
fn an_upgraded_database_knows_its_transcripts_at_a_new_path() {
    let env = Env::with_fixture("basic");
    env.with_db_v1();
    let summary = env.ingest();
    assert_eq!(summary["rebuilt_lines"], 33, "{summary}");
    assert_eq!(summary["lines_read"], 0, "{summary}");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33);
    let main = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM source_files WHERE path = '{}' AND superseded = 0",
                main.display()
            )
        ),
        1
    );
    // an append to it is read as one
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&main)
        .unwrap();
    writeln!(
        f,
        r#"{{"type":"user","uuid":"u-after-upgrade","parentUuid":null,"sessionId":"sess-main-0001","timestamp":"2026-03-01T12:00:00Z","cwd":"/home/u/app","message":{{"role":"user","content":"one more"}}}}"#
    )
    .unwrap();
    let summary = env.ingest();
    assert_eq!(summary["lines_read"], 1, "{summary}");
    let exported: Vec<String> = export_files(&env, &env.dir.path().join("export"))
        .into_iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sess-main-0001"))
        .collect();
    assert_eq!(exported, ["sess-main-0001.jsonl"]);

    // the same with one byte before its cursor changed (past its first
    // 4 KiB): another file, read whole, the stored one kept
    let env = Env::with_fixture("basic");
    env.with_db_v1();
    let main = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let mut bytes = std::fs::read(&main).unwrap();
    let at = bytes.len()
        - 100
        - bytes[..bytes.len() - 100]
            .iter()
            .rev()
            .position(|b| *b == b'e')
            .unwrap()
        - 1;
    assert!(at > 4096, "{at}");
    bytes[at] = b'x';
    std::fs::write(&main, &bytes).unwrap();
    let summary = env.ingest();
    assert_eq!(summary["lines_read"], 24, "{summary}");
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), 57);
}

#[test]
fn a_schema_1_database_is_upgraded_and_rebuilt_from_its_raw_lines() {
    let env = Env::new();
    env.with_db_v1();
    let summary = env.ingest();
    assert_eq!(summary["rebuilt_lines"], 33, "{summary}");
    let out = env
        .cmd()
        .args(["cost", "--by-model", "--no-ingest", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["total"]["cost_usd"], "0.0349956");
    assert_eq!(v["total"]["requests"], 7);
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), 33);
    assert_eq!(count(&db, "PRAGMA user_version"), 33);
    // (the migrations run with foreign keys unchecked) every reference holds
    assert_references(&db);
    // the new columns are filled by the rebuild
    assert!(count(&db, "SELECT count(*) FROM messages WHERE is_prompt = 1") > 0);
    // (0008) every message names its session through its thread
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM messages WHERE session_id IS NULL"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(DISTINCT session_id) FROM messages"),
        count(&db, "SELECT count(DISTINCT session_id) FROM threads")
    );
    assert!(
        count(
            &db,
            "SELECT count(*) FROM responses WHERE git_branch IS NOT NULL"
        ) > 0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM meta WHERE key = 'rebuild_pending'"
        ),
        0
    );
    // (0009 copied raw_chunks into a rowid table) the stored bytes give
    // back every file that release read, exactly
    let out = env.dir.path().join("export");
    env.cmd()
        .args(["export", "--out", out.to_str().unwrap()])
        .assert()
        .success();
    let mut n = 0;
    for e in walkdir::WalkDir::new(&out) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&out).unwrap();
            let want = std::fs::read(common::fixtures().join("basic").join(rel)).unwrap();
            assert_eq!(std::fs::read(e.path()).unwrap(), want, "{}", rel.display());
            n += 1;
        }
    }
    assert_eq!(n, 5);
}

/// A report's small ingest leaves its commits in the `-wal` (no checkpoint
/// and fsync when it closes); everything committed there is read; an
/// `observatory ingest` that reads something folds the WAL back in.
#[test]
fn reports_leave_their_commits_in_the_wal_and_ingest_folds_it_in() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let wal = env.obs_home().join("observatory.db-wal");
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len(), 0, "an ingest that read files leaves no WAL");
    let session = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let add = |id: &str, minute: u32| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&session)
            .unwrap();
        writeln!(
            f,
            r#"{{"type":"assistant","uuid":"wal-{id}","sessionId":"sess-main-0001","timestamp":"2026-03-01T11:{minute:02}:00.000Z","cwd":"/home/u/app","message":{{"id":"msg_wal_{id}","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{{"input_tokens":4,"output_tokens":2}}}}}}"#
        )
        .unwrap();
    };
    add("1", 1);
    let out = env.cmd().args(["cost", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["total"]["requests"], 8);
    assert!(wal_len() > 0, "the report's commit stays in the WAL");
    let ro = rusqlite::Connection::open_with_flags(
        env.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    assert_eq!(count(&ro, "SELECT count(*) FROM responses"), 8);
    drop(ro);
    add("2", 2);
    assert_eq!(env.ingest()["responses_new"], 1);
    assert_eq!(wal_len(), 0, "ingest folded the WAL into the database");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM responses"), 9);
    assert_references(&db);
}

/// A report with nothing new to read writes nothing (a status line polling
/// every few seconds adds no WAL frames); `observatory ingest` records that
/// it ran even when nothing was new.
#[test]
fn a_report_with_nothing_new_writes_nothing() {
    let env = Env::with_fixture("basic");
    // folders last changed an hour ago: their listings are trusted at once
    // (a folder changed in the last 2 s is listed again, and its listing
    // stored, on every walk)
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for dir in walkdir::WalkDir::new(env.projects()) {
        let dir = dir.unwrap();
        if dir.file_type().is_dir() {
            std::fs::File::open(dir.path())
                .unwrap()
                .set_modified(an_hour_ago)
                .unwrap();
        }
    }
    env.ingest();
    let wal = env.obs_home().join("observatory.db-wal");
    let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let last_ingest = || -> String {
        env.db()
            .query_row(
                "SELECT value FROM meta WHERE key = 'last_ingest_at'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let first = last_ingest();
    for report in [
        &["cost", "--json"][..],
        &["blocks", "--json"],
        &["sessions", "--json"],
    ] {
        env.cmd().args(report).assert().success();
        assert_eq!(wal_len(), 0, "{report:?} wrote to the database");
    }
    assert_eq!(last_ingest(), first);
    assert_eq!(env.ingest()["files_read"], 0);
    assert_ne!(last_ingest(), first, "ingest records that it ran");
}

/// One session file of at least `bytes`: prompts and priced responses, each
/// line unique. Returns its lines.
fn big_session(bytes: usize) -> Vec<String> {
    let pad = "lorem ipsum ".repeat(30);
    let mut lines = Vec::new();
    let (mut size, mut n, mut parent) = (0, 0u64, serde_json::Value::Null);
    while size < bytes {
        let at = format!(
            "2026-03-03T{:02}:{:02}:{:02}.000Z",
            n / 3600 % 24,
            n / 60 % 60,
            n % 60
        );
        let (u, a) = (format!("big-u-{n:08}"), format!("big-a-{n:08}"));
        for line in [
            json!({"type": "user", "uuid": u, "parentUuid": parent, "sessionId": "sess-big-0009",
                   "timestamp": at, "cwd": "/home/u/big",
                   "message": {"role": "user", "content": format!("question {n}: {pad}")}}),
            json!({"type": "assistant", "uuid": a, "parentUuid": u, "sessionId": "sess-big-0009",
                   "timestamp": at, "cwd": "/home/u/big",
                   "message": {"id": format!("msg_big_{n}"), "role": "assistant",
                               "model": "claude-sonnet-4-5-20250929",
                               "content": [{"type": "text", "text": pad}],
                               "usage": {"input_tokens": 10 + n % 7, "output_tokens": 20,
                                         "cache_read_input_tokens": 100}}}),
        ] {
            let text = format!("{line}\n");
            size += text.len();
            lines.push(text);
        }
        parent = json!(a);
        n += 1;
    }
    lines
}

fn env_project(env: &Env) -> std::path::PathBuf {
    env.projects().join("-home-u-app")
}

/// A first ingest of more than 16 MB into an empty database loads it
/// without the WAL and builds its indexes at the end; it ends in WAL mode,
/// with no marker left, the full schema, and exactly the rows (ids
/// included) the same transcripts give when read in two steps.
#[test]
fn a_first_load_stores_what_an_ingest_in_steps_stores() {
    let lines = big_session(17 << 20);
    // (read first in both: the rows get the same ids)
    let big = |env: &Env| env.projects().join("-home-u-app/0big-0009.jsonl");

    let at_once = Env::with_fixture("basic");
    std::fs::write(big(&at_once), lines.concat()).unwrap();
    let s = at_once.ingest();
    assert_eq!(s["first_load"], true, "{s}");
    assert_accounting(&s);

    let in_steps = Env::new();
    std::fs::create_dir_all(env_project(&in_steps)).unwrap();
    std::fs::write(big(&in_steps), lines[..10].concat()).unwrap();
    assert_eq!(in_steps.ingest()["first_load"], false);
    std::fs::write(big(&in_steps), lines.concat()).unwrap();
    common::copy_dir(
        &common::fixtures().join("basic"),
        in_steps.projects().parent().unwrap(),
    );
    assert_eq!(in_steps.ingest()["first_load"], false, "not empty any more");

    let db = at_once.db();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(
        !at_once
            .obs_home()
            .join("observatory.db.first-load")
            .exists()
    );
    assert_references(&db);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM responses WHERE session_id = 'sess-big-0009'"
        ),
        lines.len() as i64 / 2
    );
    // the indexes dropped for the load are back, as the schema has them
    let schema =
        "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY name";
    assert_eq!(strings(&db, schema), strings(&in_steps.db(), schema));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'responses_at'"
        ),
        1
    );
    // parents stored the same way too: as a distance in line ids when the
    // parent is an earlier message of the same file (a first load finds
    // them without the uuid index)
    let parents = "SELECT line_id || ' ' || coalesce(parent_gap, '-') || ' ' || quote(parent_uuid)
                   FROM message_rows ORDER BY line_id";
    let (gaps, step_gaps) = (strings(&db, parents), strings(&in_steps.db(), parents));
    let first = gaps.iter().zip(&step_gaps).position(|(a, b)| a != b);
    assert!(
        gaps.len() == step_gaps.len() && first.is_none(),
        "{} vs {} rows; first difference: {:?}",
        gaps.len(),
        step_gaps.len(),
        first.map(|i| (&gaps[i], &step_gaps[i]))
    );
    assert!(
        count(
            &db,
            "SELECT count(*) FROM message_rows WHERE parent_gap > 0"
        ) > 10_000
    );
    // (rows are inserted in read order: the same ids, whatever the commits)
    let (a, b) = (dump(&db), dump(&in_steps.db()));
    for (table, rows) in &a {
        let other = &b[table];
        let first = rows.iter().zip(other).position(|(x, y)| x != y);
        assert!(
            rows.len() == other.len() && first.is_none(),
            "{table}: {} vs {} rows, first difference at {first:?}: {:?} / {:?}",
            rows.len(),
            other.len(),
            first.map(|i| &rows[i]),
            first.map(|i| &other[i])
        );
    }
}

/// A marker left by a first load that never finished (the machine stopped)
/// makes the next open start the database over, and say so; while an
/// ingest holds the lock (the load is still running) it waits, touching
/// nothing (before the nineteenth session it read on, and switched the
/// database back to WAL under the load).
#[test]
fn an_unfinished_first_load_starts_the_database_over() {
    let env = Env::with_fixture("basic");
    let first = env.ingest();
    let lines = count(&env.db(), "SELECT count(*) FROM lines");
    let marker = env.obs_home().join("observatory.db.first-load");
    std::fs::write(&marker, "").unwrap();

    // an ingest holds the lock: the marker is its own, the report waits
    let lock = std::fs::File::open(env.obs_home().join("observatory.db.lock")).unwrap();
    lock.lock().unwrap();
    let mut child = env
        .std_cmd()
        .args(["cost", "--no-ingest", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = common::Stderr::of(&mut child);
    err.wait_for("waiting for the first ingest");
    assert!(marker.exists());
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines);
    // the load dies (its marker stays): the report starts the database
    // over, and says why its figures are empty
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = err.all.join().unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["requests"], 0, "{v}");
    assert!(!marker.exists());

    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let again: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        again["files_read"], first["files_read"],
        "every file read again"
    );
    assert!(!marker.exists());
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines);
}

/// Real transcripts use canonical UUIDs, which messages keeps as 16 bytes:
/// the fixtures rewritten with canonical uuids (one per distinct id) give the
/// same messages, copies stored once, the same session titles (a summary's
/// leafUuid joined to a message) and the same costs, and v_messages shows
/// the uuids as written.
#[test]
fn canonical_uuids_behave_like_any_other_id() {
    fn rewrite(env: &Env, canonical: bool) -> Vec<String> {
        let mut ids: std::collections::BTreeMap<String, String> = Default::default();
        let mut files = vec![];
        let mut stack = vec![env.projects()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "jsonl") {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            let text = std::fs::read(&f).unwrap();
            let mut out = Vec::new();
            for line in text.split_inclusive(|&b| b == b'\n') {
                let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(line) else {
                    out.extend_from_slice(line); // malformed lines stay as they are
                    continue;
                };
                for key in ["uuid", "parentUuid", "logicalParentUuid", "leafUuid"] {
                    let Some(s) = v.get(key).and_then(|s| s.as_str()).map(str::to_owned) else {
                        continue;
                    };
                    let n = ids.len();
                    let id = ids.entry(s.clone()).or_insert_with(|| {
                        if canonical {
                            format!("{:08x}-4b1d-4c2e-9a3f-{:012x}", n * 7919, n)
                        } else {
                            s
                        }
                    });
                    v[key] = json!(id);
                }
                out.extend_from_slice(serde_json::to_string(&v).unwrap().as_bytes());
                out.push(b'\n');
            }
            std::fs::write(&f, out).unwrap();
        }
        ids.into_values().collect()
    }
    let mut seen = vec![];
    for canonical in [false, true] {
        let env = Env::with_fixture("reports");
        copy_dir_into(&env, "basic");
        let ids = rewrite(&env, canonical);
        let s = env.ingest();
        assert_accounting(&s);
        let db = env.db();
        let blobs = count(
            &db,
            "SELECT count(*) FROM messages WHERE typeof(uuid) = 'blob'",
        );
        let messages = count(&db, "SELECT count(*) FROM messages");
        assert_eq!(blobs, if canonical { messages } else { 0 });
        let shown: std::collections::BTreeSet<String> = strings(&db, "SELECT uuid FROM v_messages")
            .into_iter()
            .collect();
        assert!(shown.iter().all(|u| ids.contains(u)), "{shown:?}");
        let run = |args: &[&str]| -> serde_json::Value {
            let out = env.cmd().args(args).assert().success();
            serde_json::from_slice(&out.get_output().stdout).unwrap()
        };
        let sessions = run(&[
            "sessions",
            "--limit",
            "1000",
            "--tz",
            "UTC",
            "--no-ingest",
            "--json",
        ]);
        let cost = run(&["cost", "--by-model", "--no-ingest", "--json"]);
        seen.push((messages, shown.len(), sessions, cost));
    }
    assert!(seen[0].0 > 30, "the fixtures hold messages");
    assert!(
        seen[0].2.to_string().contains("Fixing the midnight bug"),
        "a summary's title reaches its session: {}",
        seen[0].2
    );
    assert_eq!(seen[0], seen[1]);
}

fn copy_dir_into(env: &Env, fixture: &str) {
    common::copy_dir(
        &common::fixtures().join(fixture),
        &env.home().join("../claude"),
    );
}

/// The messages and responses views show what the lines wrote, although
/// message_rows keeps a parent in the same file by its distance in lines
/// and the line's type and time only in lines (0009): both ways of keeping
/// a parent are exercised (a resumed session's first line names a parent in
/// another file).
#[test]
fn messages_show_each_lines_parent_type_and_time() {
    for fixture in ["basic", "data", "reports", "ops"] {
        let env = Env::with_fixture(fixture);
        env.ingest();
        let db = env.db();
        common::assert_messages_match_lines(&env.projects(), &db);
        if fixture == "basic" {
            assert!(
                count(
                    &db,
                    "SELECT count(*) FROM message_rows WHERE parent_gap IS NOT NULL"
                ) > 10
            );
        }
    }
}

/// The summary a person reads counts in words that agree with the number.
#[test]
fn the_ingest_summary_says_one_line_not_one_lines() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-one");
    std::fs::write(
        dir.join("sess-one.jsonl"),
        r#"{"type":"assistant","uuid":"o-1","sessionId":"sess-one","timestamp":"2026-03-01T10:00:00.000Z","cwd":"/home/u/one","message":{"id":"msg_one","model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}}
"#,
    )
    .unwrap();
    let out = env.cmd().arg("ingest").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains(" from 1 of 1 file: 1 line, 1 new API response ("),
        "{text}"
    );
    let out = env.cmd().arg("ingest").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("Nothing new in 1 transcript file ("),
        "{text}"
    );
}

#[test]
fn the_ingest_summary_names_lines_with_no_type_in_words() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-odd");
    std::fs::write(
        dir.join("sess-odd.jsonl"),
        "{\"sessionId\":\"sess-odd\",\"note\":\"no type here\"}\n{\"type\":\"brand-new\",\"sessionId\":\"sess-odd\"}\n",
    )
    .unwrap();
    let out = env.cmd().arg("ingest").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("unknown types kept: (lines with no type), brand-new"),
        "{text}"
    );
}

#[test]
fn a_report_that_creates_a_database_at_a_given_path_says_so() {
    let env = Env::with_fixture("basic");
    let typo = env.dir.path().join("typo/obs.db");
    // a given path in a folder that does not exist is refused, folder not made
    for args in [
        &["cost"][..],
        &["ingest"],
        &["budget", "list"],
        &["reprice"],
    ] {
        let out = env
            .cmd()
            .env("OBSERVATORY_DB", &typo)
            .args(args)
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains("typo of the database") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
    assert!(!typo.parent().unwrap().exists());
    std::fs::create_dir(typo.parent().unwrap()).unwrap();
    // nothing to re-price where no database is: said, none made
    let out = env
        .cmd()
        .env("OBSERVATORY_DB", &typo)
        .arg("reprice")
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no database here yet"), "{err}");
    assert!(!typo.exists());
    let out = env
        .cmd()
        .env("OBSERVATORY_DB", &typo)
        .args(["cost"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no database at")
            && err.contains("env OBSERVATORY_DB")
            && err.contains("creating it"),
        "{err}"
    );
    // once it exists, and at the default place, nothing is said
    for args in [&["cost", "--db", typo.to_str().unwrap()][..], &["cost"]] {
        let out = env.cmd().args(args).assert().success();
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!err.contains("no database at"), "{args:?}: {err}");
    }
}

#[test]
fn an_ingest_with_nothing_to_read_says_where_it_looked_and_why() {
    let env = Env::new();
    let d = env.dir.path();
    std::fs::create_dir_all(d.join("no-projects")).unwrap();
    std::fs::write(d.join("a-file"), "x").unwrap();
    std::fs::create_dir_all(d.join("projects-is-a-file")).unwrap();
    std::fs::write(d.join("projects-is-a-file/projects"), "x").unwrap();
    std::fs::create_dir_all(d.join("cfg/projects/-home-u-app")).unwrap();
    let mut cmd = env.cmd();
    cmd.arg("ingest");
    let roots = [
        "no-projects",
        "a-file",
        "projects-is-a-file",
        "missing",
        "cfg/projects/-home-u-app",
    ];
    for root in roots {
        cmd.arg("--claude-dir").arg(d.join(root));
    }
    // folders the user named, none with transcripts: a script sees exit 1
    let out = cmd.assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.starts_with("error: no Claude Code transcripts found. Looked in:"),
        "{err}"
    );
    for (root, why) in [
        ("no-projects", "no projects/ folder".to_owned()),
        ("a-file", "is not a folder".to_owned()),
        (
            "projects-is-a-file",
            "its projects is not a folder but a file".to_owned(),
        ),
        ("missing", "does not exist".to_owned()),
        (
            "cfg/projects/-home-u-app",
            format!(
                "no projects/ folder: it is in a project's folder; name the Claude config dir, {}",
                d.join("cfg").canonicalize().unwrap().display()
            ),
        ),
    ] {
        assert!(err.contains(&format!("{root} ({why})")), "{root}: {err}");
    }
    // given relative to the config dir, or a folder deeper in a project:
    // the config dir is still named
    std::fs::create_dir_all(d.join("cfg/projects/-home-u-app/sess-1")).unwrap();
    for root in ["projects/-home-u-app", "projects/-home-u-app/sess-1"] {
        let out = env
            .cmd()
            .current_dir(d.join("cfg"))
            .args(["ingest", "--claude-dir", root])
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(&format!(
                "name the Claude config dir, {})",
                d.join("cfg").canonicalize().unwrap().display()
            )),
            "{root}: {err}"
        );
    }
    // the same with a database there: read nothing, still exit 1, and
    // with -q the error alone names the folder; --full too
    env.cmd().arg("ingest").assert().success();
    for args in [&["ingest"][..], &["ingest", "-q"], &["ingest", "--full"]] {
        let out = env
            .cmd()
            .args(args)
            .arg("--claude-dir")
            .arg(d.join("missing"))
            .assert()
            .code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.contains(&format!(
                "error: no Claude Code transcripts in {} (does not exist)",
                d.join("missing").display()
            )),
            "{args:?}: {err}"
        );
    }
    // -q with no database: the one error line
    let out = env
        .cmd()
        .args(["ingest", "-q", "--db"])
        .arg(d.join("none.db"))
        .arg("--claude-dir")
        .arg(d.join("missing"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no Claude Code transcripts in "),
        "{err}"
    );
    assert!(!d.join("none.db").exists());
    // the default folders missing is a machine without Claude Code: exit 0
    let out = env
        .std_cmd()
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("HOME", d.join("empty-home"))
        .env("OBSERVATORY_DB", d.join("fresh.db"))
        .arg("ingest")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty-home/.claude (does not exist)"),
        "{out:?}"
    );
    // a report says it too (its figures would be $0 with no word why), of
    // a root that is not there as ingest says it
    let out = env
        .cmd()
        .args(["cost", "--claude-dir"])
        .arg(d.join("no-projects"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no Claude Code transcripts found (")
            && err.contains("no-projects has no projects/ folder)"),
        "{err}"
    );
    // ... and refuses a folder named that is not there (a typo), as ingest
    // does, -q or not: a script's `cost --json` said $0 with exit 0
    for quiet in [false, true] {
        let mut cmd = env.cmd();
        cmd.args(["cost", "--json", "--claude-dir"])
            .arg(d.join("not-there"));
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd.assert().code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            err.starts_with("error: no Claude Code transcripts in ")
                && err.contains("not-there (does not exist)")
                && err.contains("--no-ingest"),
            "{err}"
        );
        assert!(out.get_output().stdout.is_empty());
    }
    env.cmd()
        .args(["cost", "--no-ingest", "--claude-dir"])
        .arg(d.join("not-there"))
        .assert()
        .success();
    // an empty projects/ folder: the summary says so
    let out = env.cmd().arg("ingest").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.starts_with("No transcript files under 1 projects/ folder"),
        "{text}"
    );
    // none of the folders looked in has one (a list of nothing but commas
    // falls back to the default folders, not there), with a database here
    let out = env
        .cmd()
        .env("CLAUDE_CONFIG_DIR", ",,")
        .arg("ingest")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.starts_with("No transcript files: no folder looked in has a projects/ folder"),
        "{text}"
    );
}

/// Three lines of one session: a prompt asking for `tool`, the
/// assistant's call of it (response `msg`) and its result, with fixed
/// uuids (as hand-made and other tools' transcripts have).
fn uuid_pair(session: &str, tool: &str, msg: &str, minute: u32) -> String {
    format!(
        concat!(
            r#"{{"type":"user","sessionId":"{s}","cwd":"/home/u/p","uuid":"11111111-1111-4111-8111-111111111111","timestamp":"2026-10-10T10:{m:02}:00.000Z","message":{{"role":"user","content":"please run {t}"}}}}"#,
            "\n",
            r#"{{"type":"assistant","sessionId":"{s}","cwd":"/home/u/p","uuid":"22222222-2222-4222-8222-222222222222","parentUuid":"11111111-1111-4111-8111-111111111111","timestamp":"2026-10-10T10:{m:02}:01.000Z","message":{{"model":"claude-sonnet-4-5-20250929","id":"{id}","role":"assistant","content":[{{"type":"tool_use","id":"toolu_{t}","name":"{t}","input":{{}}}}],"stop_reason":"tool_use","usage":{{"input_tokens":100,"output_tokens":10}}}}}}"#,
            "\n",
            r#"{{"type":"user","sessionId":"{s}","cwd":"/home/u/p","uuid":"33333333-3333-4333-8333-333333333333","parentUuid":"22222222-2222-4222-8222-222222222222","timestamp":"2026-10-10T10:{m:02}:02.000Z","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_{t}","content":"done"}}]}}}}"#,
            "\n"
        ),
        s = session,
        t = tool,
        id = msg,
        m = minute
    )
}

/// Lines of other tools' and hand-made transcripts reuse uuids across
/// sessions: each different line is a message of its own (its prompt, its
/// tool call), whatever the order the files are read in, while a copy of
/// one of them (a resumed session's) is still left out. (A line that
/// shared a stored uuid was dropped: which session lost its prompt and
/// tool call depended on the order.)
#[test]
fn different_lines_that_share_a_uuid_are_messages_of_their_own_in_any_order() {
    let a = "a0000000-0000-4000-8000-00000000000a";
    let b = "b0000000-0000-4000-8000-00000000000b";
    let c = "c0000000-0000-4000-8000-00000000000c";
    // (all at the same minute: their times do not tell them apart)
    let file = |s: &str| match s {
        s if s == a => uuid_pair(a, "Bash", "msg_a", 0),
        s if s == b => uuid_pair(b, "Grep", "msg_b", 0),
        // c resumes a: its lines copied, with a's session and message id
        _ => uuid_pair(a, "Bash", "msg_a", 0),
    };
    let tables = |env: &Env| {
        let db = env.db();
        (
            strings(
                &db,
                "SELECT session_id || ' ' || sum(is_prompt) FROM messages GROUP BY session_id ORDER BY 1",
            ),
            strings(
                &db,
                "SELECT session_id || ' ' || name || ' ' || (result_line_id IS NOT NULL) FROM tool_calls ORDER BY 1",
            ),
            count(&db, "SELECT count(*) FROM message_rows"),
        )
    };
    for order in [[a, b, c], [b, c, a], [c, a, b], [c, b, a]] {
        let env = Env::new();
        let dir = env.project_dir("-home-u-p");
        for s in order {
            std::fs::write(dir.join(format!("{s}.jsonl")), file(s)).unwrap();
            // (one file per run: the next meets the others' rows stored)
            env.ingest();
        }
        let got = tables(&env);
        assert_eq!(
            got,
            (
                vec![format!("{a} 1"), format!("{b} 1")],
                vec![format!("{a} Bash 1"), format!("{b} Grep 1")],
                6
            ),
            "read {order:?}"
        );
        // every line is there with its own uuid
        assert_eq!(
            count(
                &env.db(),
                "SELECT count(*) FROM v_messages WHERE uuid = '11111111-1111-4111-8111-111111111111'"
            ),
            2
        );
        // and a rebuild gives the same
        env.cmd().args(["ingest", "--full"]).assert().success();
        assert_eq!(tables(&env), got, "rebuilt, read {order:?}");
    }
}

/// `sessions --json`'s rows.
fn session_rows(env: &Env) -> Vec<serde_json::Value> {
    let out = env
        .cmd()
        .args(["sessions", "--json", "--no-ingest"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["rows"].as_array().unwrap().clone()
}

/// `sessions --json`: each session's id and tool calls.
fn tool_calls_per_session(env: &Env) -> Vec<(String, u64)> {
    session_rows(env)
        .iter()
        .map(|r| {
            (
                r["session_id"].as_str().unwrap().to_owned(),
                r["tool_calls"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A new environment that reads `files` (name, text) in one project folder,
/// one `ingest` per file in the order given: each run meets the rows of
/// the files before it stored.
fn ingest_in_turn(files: &[(&str, &String)]) -> Env {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    for (name, text) in files {
        std::fs::write(dir.join(format!("{name}.jsonl")), text).unwrap();
        env.ingest();
    }
    env
}

/// A resumed session's copies count once, and the copied call stays the
/// original session's, at its time, in either order the files are read
/// (the copy read first took it: the original session had no tool calls,
/// the resumed one a call at the resume's time, its duration negative).
#[test]
fn a_resumed_session_copying_a_line_with_its_uuid_does_not_count_it_twice() {
    let old = "c0000000-0000-4000-8000-00000000000c";
    let new = "d0000000-0000-4000-8000-00000000000d";
    let original = uuid_pair(old, "Bash", "msg_c", 0);
    // the resumed file re-writes the lines: the user line keeps its session
    // and time (its text as blocks), the others their ids, with the new
    // session and time (transcript-format §9)
    let copy = original.replace(
        r#""content":"please run Bash""#,
        r#""content":[{"type":"text","text":"please run Bash"}]"#,
    );
    let (user, rest) = copy.trim_end().split_once('\n').unwrap();
    let rest = rest
        .replace(old, new)
        .replace("10:00:01.000Z", "11:30:00.000Z")
        .replace("10:00:02.000Z", "11:30:01.000Z");
    let copy = format!("{user}\n{rest}\n");
    // (1.0.x: a summary of the original, its leaf the assistant line, at
    // the top of the resumed file)
    let summary = r#"{"type":"summary","summary":"Running Bash","leafUuid":"22222222-2222-4222-8222-222222222222"}"#;
    let copy = format!("{summary}\n{copy}");
    for order in [
        [(old, &original), (new, &copy)],
        [(new, &copy), (old, &original)],
    ] {
        let env = ingest_in_turn(&order);
        let db = env.db();
        assert_eq!(
            (
                count(&db, "SELECT count(*) FROM message_rows"),
                count(&db, "SELECT count(*) FROM message_rows WHERE is_prompt = 1"),
                count(
                    &db,
                    "SELECT count(*) FROM content_blocks WHERE type = 'tool_use'"
                ),
                count(
                    &db,
                    "SELECT count(*) FROM tool_calls WHERE result_line_id IS NOT NULL"
                ),
                count(&db, "SELECT count(*) FROM responses"),
            ),
            (3, 1, 1, 1, 1),
            "{}",
            order[0].0
        );
        // the call: the original's session, use and result times
        assert_eq!(
            strings(
                &db,
                "SELECT session_id || ' ' || started_at || ' ' || duration_ms FROM tool_calls"
            ),
            [format!("{old} 1791626401000 1000")],
            "{}",
            order[0].0
        );
        let calls = tool_calls_per_session(&env);
        assert!(calls.contains(&(old.to_owned(), 1)), "{calls:?}");
        assert!(calls.contains(&(new.to_owned(), 0)), "{calls:?}");
        // the summary titles the original, whose response its leaf is
        let rows = session_rows(&env);
        let titles: Vec<(&str, &serde_json::Value)> = rows
            .iter()
            .map(|r| (r["session_id"].as_str().unwrap(), &r["title"]))
            .collect();
        assert!(
            titles.contains(&(old, &json!("Running Bash"))),
            "{}: {titles:?}",
            order[0].0
        );
        assert!(
            !titles.contains(&(new, &json!("Running Bash"))),
            "{titles:?}"
        );
    }
    // the original never read (Claude Code deleted it first): the copy's
    // use is after its result, and the call has no duration (it had a
    // negative one)
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let result_first = copy.replace("11:30:01.000Z", "10:00:02.000Z");
    std::fs::write(dir.join(format!("{new}.jsonl")), result_first).unwrap();
    env.ingest();
    assert_eq!(
        strings(
            &env.db(),
            "SELECT name || ' ' || coalesce(duration_ms, 'none') FROM v_tool_calls"
        ),
        ["Bash none"]
    );
}

/// A 1.0.x resumed file copies the session it resumes: user lines as they
/// were, the others (an API error, a response, a hook's system line) with
/// the new session's id and the resume's time (here a tool result too,
/// keeping its session). Each line is the message of
/// its earliest copy, so the API error, the hook run and the lines' times
/// are the original session's whichever file is read first, in one run or
/// two, and after `ingest --full`; a new line of the resumed file whose
/// parent is a copy still names it. (The copy read first was the message:
/// the API error counted in the resumed session.)
#[test]
fn a_resumed_copy_read_before_its_original_gives_the_message_up_to_it() {
    let line = |kind: &str, uuid: &str, parent: &str, ts: &str, body: &str| {
        let parent = match parent {
            "" => "null".to_owned(),
            p => format!(r#""{p}""#),
        };
        format!(
            r#"{{"type":"{kind}","sessionId":"OLD","version":"1.0.56","cwd":"/home/u/p","uuid":"{uuid}","parentUuid":{parent},"timestamp":"2026-10-10T{ts}.000Z",{body}}}"#
        ) + "\n"
    };
    let said = |text: &str| format!(r#""message":{{"role":"user","content":"{text}"}}"#);
    let answer = |id: &str, model: &str, content: &str| {
        format!(
            r#""message":{{"id":"{id}","role":"assistant","model":"{model}","content":[{content}],"stop_reason":"end_turn","usage":{{"input_tokens":100,"output_tokens":10}}}}"#
        )
    };
    let u = |n: u8| format!("{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-00000000000{n}");
    let error = format!(
        r#""isApiErrorMessage":true,{}"#,
        answer(
            "msg_e1",
            "<synthetic>",
            r#"{"type":"text","text":"API Error: 529 Overloaded"}"#
        )
    );
    let hook = r#""content":"\u001b[1mPostToolUse:Bash\u001b[22m [make test] completed successfully","level":"info","toolUseID":"toolu_r1""#;
    let sonnet = "claude-sonnet-4-5-20250929";
    // (kind, uuid, parent, time, body)
    let lines = [
        ("user", u(1), String::new(), "10:00:00", said("run the tests")),
        ("assistant", u(2), u(1), "10:00:01", error),
        ("user", u(3), u(2), "10:01:00", said("try again")),
        (
            "assistant",
            u(4),
            u(3),
            "10:01:05",
            answer(
                "msg_r2",
                sonnet,
                r#"{"type":"tool_use","id":"toolu_r1","name":"Bash","input":{"command":"make test"}}"#,
            ),
        ),
        ("system", u(5), u(4), "10:01:06", hook.to_owned()),
        (
            "user",
            u(6),
            u(5),
            "10:01:07",
            r#""message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_r1","content":"ok"}]}"#.to_owned(),
        ),
        (
            "assistant",
            u(7),
            u(6),
            "10:01:10",
            answer("msg_r3", sonnet, r#"{"type":"text","text":"all passed"}"#),
        ),
    ];
    let original: String = lines
        .iter()
        .map(|(kind, uuid, parent, ts, body)| line(kind, uuid, parent, ts, body))
        .collect();
    let mut copy = r#"{"type":"summary","summary":"Running the tests","leafUuid":"77777777-0000-4000-8000-000000000007"}"#.to_owned() + "\n";
    for (i, (kind, uuid, parent, ts, body)) in lines.iter().enumerate() {
        copy += &match *kind {
            // (a tool result copied at the resume's time, as a line of
            // any kind may be: the call's result stays the original's)
            _ if uuid == &u(6) => line(kind, uuid, parent, &format!("11:30:0{i}"), body),
            "user" => line(
                kind,
                uuid,
                parent,
                ts,
                &body.replace(
                    r#""content":"run the tests""#,
                    r#""content":[{"type":"text","text":"run the tests"}]"#,
                ),
            ),
            _ => line(kind, uuid, parent, &format!("11:30:0{i}"), body).replace("OLD", "NEW"),
        };
    }
    copy += &line("user", &u(8), &u(7), "11:31:00", &said("now the docs")).replace("OLD", "NEW");
    copy += &line(
        "assistant",
        &u(9),
        &u(8),
        "11:31:05",
        &answer("msg_r4", sonnet, r#"{"type":"text","text":"done"}"#),
    )
    .replace("OLD", "NEW");

    let picture = |env: &Env| {
        let db = env.db();
        let api_errors = |session: &str| {
            let out = env
                .cmd()
                .args(["show", session, "--json", "--no-ingest"])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["total"]["api_errors"].as_u64().unwrap()
        };
        (
            strings(
                &db,
                "SELECT uuid || ' ' || coalesce(parent_uuid, '-') || ' ' || session_id || ' ' || at || ' ' || is_api_error
                 FROM v_messages ORDER BY uuid",
            ),
            strings(
                &db,
                "SELECT session_id || ' ' || count(*) FROM content_blocks b JOIN messages m USING (line_id)
                 GROUP BY session_id ORDER BY 1",
            ),
            strings(
                &db,
                "SELECT session_id || ' ' || at || ' ' || outcome FROM hook_runs
                 UNION ALL SELECT session_id || ' ' || at || ' system' FROM system_events
                 UNION ALL SELECT session_id || ' ' || started_at || ' ' || duration_ms FROM tool_calls
                 UNION ALL SELECT session_id || ' ' || at || ' ' || key FROM responses ORDER BY 1",
            ),
            (api_errors("OLD"), api_errors("NEW")),
        )
    };
    let at = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-10-10T{t}Z"))
            .unwrap()
            .timestamp_millis()
    };
    let mut want_messages: Vec<String> = lines
        .iter()
        .map(|(kind, uuid, parent, ts, _)| {
            let parent = if parent.is_empty() { "-" } else { parent };
            let error = i32::from(*kind == "assistant" && uuid == &u(2));
            format!("{uuid} {parent} OLD {} {error}", at(ts))
        })
        .collect();
    want_messages.push(format!("{} {} NEW {} 0", u(8), u(7), at("11:31:00")));
    want_messages.push(format!("{} {} NEW {} 0", u(9), u(8), at("11:31:05")));
    let mut want_rows = vec![
        format!("NEW {} msg_r4", at("11:31:05")),
        format!("OLD {} 2000", at("10:01:05")),
        format!("OLD {} msg_r2", at("10:01:05")),
        format!("OLD {} msg_r3", at("10:01:10")),
        format!("OLD {} success", at("10:01:06")),
        format!("OLD {} system", at("10:01:06")),
    ];
    want_rows.sort();
    let want = (
        want_messages,
        vec!["NEW 2".to_owned(), "OLD 6".to_owned()],
        want_rows,
        (1, 0),
    );
    // the copy's file named to sort first or last; read first or last
    for (old_file, new_file) in [("a-old", "b-new"), ("b-old", "a-new")] {
        for copy_first in [false, true] {
            let mut files = [(old_file, &original), (new_file, &copy)];
            if copy_first {
                files.reverse();
            }
            let env = ingest_in_turn(&files);
            let case = format!("{old_file} {new_file}, copy read first: {copy_first}");
            assert_eq!(picture(&env), want, "{case}");
            // (one run, in path order)
            env.cmd().args(["ingest", "--full"]).assert().success();
            assert_eq!(picture(&env), want, "{case}, rebuilt");
            assert_references(&env.db());
            // the upgrade from schema 32 rebuilds a database that holds
            // copies (which copy a stored line is, only its bytes tell):
            // such a one as it is, and one as schema 32 stored it, the last
            // copied response's message the copy's (its blocks gone with it)
            env.db().execute_batch("PRAGMA user_version = 32").unwrap();
            assert_eq!(env.ingest()["rebuilt_lines"], 17, "{case}");
            assert_eq!(picture(&env), want, "{case}, upgraded as it was");
            let line = |file: &str, no: u32| {
                format!(
                    "(SELECT l.id FROM lines l JOIN source_files f ON f.id = l.file_id
                      WHERE f.path LIKE '%/{file}.jsonl' AND l.line_no = {no})"
                )
            };
            let (original_line, copied_line) = (line(old_file, 7), line(new_file, 8));
            env.db()
                .execute_batch(&format!(
                    "DELETE FROM content_blocks WHERE line_id = {original_line};
                     UPDATE message_rows SET line_id = {copied_line},
                       thread = (SELECT id FROM threads WHERE session_id = 'NEW')
                      WHERE line_id = {original_line};
                     PRAGMA user_version = 32;"
                ))
                .unwrap();
            assert_ne!(picture(&env), want);
            let summary = env.ingest();
            assert_eq!(summary["rebuilt_lines"], 17, "{case}: {summary}");
            assert_eq!(picture(&env), want, "{case}, upgraded");
        }
    }
}

/// A copy of a tool result without a time, read first, gives the call's
/// result back to the original (timed) when it is read: a time beats none,
/// for the result as for the message (review-s38 F3: the call kept the
/// copy's result, no finish time and no duration, in one order only).
#[test]
fn a_timed_result_takes_its_call_back_from_a_timeless_copy() {
    let old = "e0000000-0000-4000-8000-00000000000e";
    let new = "f0000000-0000-4000-8000-00000000000f";
    let original = uuid_pair(old, "Bash", "msg_t", 0);
    let copy = original.replace(r#","timestamp":"2026-10-10T10:00:02.000Z""#, "");
    assert_ne!(copy, original);
    for order in [
        [(old, &original), (new, &copy)],
        [(new, &copy), (old, &original)],
    ] {
        let env = ingest_in_turn(&order);
        assert_eq!(
            strings(
                &env.db(),
                "SELECT coalesce(c.finished_at, 'none') || ' ' || coalesce(c.duration_ms, 'none') || ' ' || f.path
                 FROM tool_calls c JOIN lines l ON l.id = c.result_line_id
                 JOIN source_files f ON f.id = l.file_id"
            ),
            [format!(
                "1791626402000 1000 {}",
                env.project_dir("-home-u-p")
                    .join(format!("{old}.jsonl"))
                    .canonicalize()
                    .unwrap()
                    .display()
            )],
            "{} read first",
            order[0].0
        );
    }
}

/// A parent more than 256 line ids back is kept as its uuid, one nearer
/// as the distance (so the lines naming a line by distance are near it:
/// `yield_to_earlier`); the upgrade to schema 33 names such a far parent by
/// its uuid in a database that kept the distance. The messages view shows
/// the same parent either way.
#[test]
fn a_parent_far_back_is_kept_as_its_uuid() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let line = |kind: &str, uuid: &str, parent: &str, body: &str| {
        format!(
            r#"{{"type":"{kind}","sessionId":"s-far","cwd":"/home/u/p","uuid":"{uuid}","parentUuid":"{parent}","timestamp":"2026-10-10T10:00:00.000Z",{body}}}"#
        ) + "\n"
    };
    let prompt = r#""message":{"role":"user","content":"go"}"#;
    let (p, near, far) = (
        "aaaaaaaa-0000-4000-8000-000000000001",
        "aaaaaaaa-0000-4000-8000-000000000002",
        "aaaaaaaa-0000-4000-8000-000000000003",
    );
    let mut text =
        line("user", p, "", prompt).replace(r#""parentUuid":"""#, r#""parentUuid":null"#);
    text += &line("user", near, p, prompt);
    // (queue operations are lines, no messages: 300 line ids between)
    for _ in 0..300 {
        text += r#"{"type":"queue-operation","operation":"enqueue","sessionId":"s-far","timestamp":"2026-10-10T10:00:00.000Z","content":"x"}"#;
        text += "\n";
    }
    text += &line("user", far, p, prompt);
    std::fs::write(dir.join("s-far.jsonl"), text).unwrap();
    env.ingest();
    let stored = |env: &Env| {
        strings(
            &env.db(),
            "SELECT v.uuid || ' ' || v.parent_uuid || ' ' || coalesce(m.parent_gap, 'uuid')
             FROM v_messages v JOIN message_rows m USING (line_id) WHERE v.parent_uuid IS NOT NULL
             ORDER BY 1",
        )
    };
    let want = vec![format!("{near} {p} 1"), format!("{far} {p} uuid")];
    assert_eq!(stored(&env), want);
    // as schema 32 kept it: the distance
    env.db()
        .execute_batch(&format!(
            "UPDATE message_rows SET parent_uuid = NULL, parent_gap = 302
              WHERE line_id = (SELECT line_id FROM v_messages WHERE uuid = '{far}');
             PRAGMA user_version = 32;"
        ))
        .unwrap();
    assert_eq!(
        stored(&env),
        vec![format!("{near} {p} 1"), format!("{far} {p} 302")]
    );
    // (a database without copies is not rebuilt: the upgrade alone)
    assert_eq!(env.ingest()["rebuilt_lines"], 0);
    assert_eq!(stored(&env), want);
}

/// Which line of a response decides its model, and which prompt titles a
/// session, does not depend on the order the files are read in (nor on
/// `ingest --full`, which reads them in another): the earliest line's model
/// (a copy in another file named another: the first read decided, and the
/// cost with it), the earliest prompt, and only a prompt (a 1.0.x
/// subagent's line in the main folder, a sidechain, titled the session).
#[test]
fn a_responses_model_and_a_sessions_title_do_not_depend_on_the_read_order() {
    let line = |session: &str, uuid: &str, ts: &str, extra: &str, message: &str| {
        format!(
            r#"{{"type":"{}","uuid":"{uuid}","sessionId":"{session}","cwd":"/home/u/x","timestamp":"2026-06-01T{ts}.000Z"{extra},"message":{message}}}"#,
            if message.contains("usage") {
                "assistant"
            } else {
                "user"
            }
        ) + "\n"
    };
    let response = |model: &str| {
        format!(
            r#"{{"id":"msg_X","role":"assistant","model":"{model}","content":[{{"type":"text","text":"x"}}],"stop_reason":"end_turn","usage":{{"input_tokens":100000,"output_tokens":1000}}}}"#
        )
    };
    let prompt = |text: &str| format!(r#"{{"role":"user","content":"{text}"}}"#);
    let files = [
        // (sorted first: read first)
        (
            "agent-x.jsonl",
            line(
                "sess-t",
                "t0",
                "08:00:00",
                r#","isSidechain":true"#,
                &prompt("Run the test suite"),
            ),
        ),
        (
            "sess-a.jsonl",
            line(
                "sess-a",
                "a1",
                "10:00:00",
                "",
                &response("claude-sonnet-4-5-20250929"),
            ),
        ),
        (
            "sess-b.jsonl",
            line("sess-b", "b1", "10:00:05", "", &response("claude-opus-4-6")),
        ),
        (
            "sess-s.jsonl",
            line(
                "sess-t",
                "t2",
                "11:00:00",
                "",
                &prompt("and then the writer"),
            ),
        ),
        (
            "sess-t.jsonl",
            line("sess-t", "t1", "09:00:00", "", &prompt("fix the parser")),
        ),
        // a session whose lines name two folders: the earliest's is its
        // project, and its response's (it was the first read's)
        (
            "sess-p0.jsonl",
            (line("sess-p", "p1", "12:00:00", "", &prompt("later"))
                + &line(
                    "sess-p",
                    "p2",
                    "12:00:05",
                    "",
                    &response("claude-sonnet-4-5-20250929"),
                )
                .replace("msg_X", "msg_P"))
                .replace("/home/u/x", "/home/u/late"),
        ),
        (
            "sess-p1.jsonl",
            line("sess-p", "p0", "07:00:00", "", &prompt("early"))
                .replace("/home/u/x", "/home/u/early"),
        ),
        // a housekeeping command before the first prompt titles nothing;
        // a session of nothing else is titled by it
        (
            "sess-c.jsonl",
            line(
                "sess-t",
                "t3",
                "08:30:00",
                "",
                &prompt(
                    r"<command-name>/clear</command-name>\n<command-message>clear</command-message>\n<command-args></command-args>",
                ),
            ) + &line(
                "sess-h",
                "h1",
                "06:00:00",
                "",
                &prompt(
                    r"<command-name>/model</command-name>\n<command-message>model</command-message>\n<command-args>opus</command-args>",
                ),
            ),
        ),
        // (of such commands alone, the earliest, whichever is read first)
        (
            "sess-d.jsonl",
            line(
                "sess-h",
                "h2",
                "07:00:00",
                "",
                &prompt(
                    r"<command-name>/context</command-name>\n<command-message>context</command-message>\n<command-args></command-args>",
                ),
            ),
        ),
    ];
    let figures = |env: &Env| {
        let rows = |args: &[&str]| -> Vec<serde_json::Value> {
            let out = env
                .cmd()
                .args(args)
                .args(["--json", "--no-ingest"])
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            v["rows"].as_array().unwrap().clone()
        };
        let cost_by = |key: &str| -> Vec<String> {
            rows(&["cost", &format!("--by-{key}")])
                .iter()
                .map(|r| format!("{} {}", r[key], r["cost_usd"]))
                .collect()
        };
        let sessions = rows(&["sessions"]);
        let title_of = |id: &str| {
            sessions
                .iter()
                .find(|r| r["session_id"] == id)
                .map(|r| r["title"].clone())
        };
        let title = (title_of("sess-t"), title_of("sess-h"));
        (cost_by("model"), title, cost_by("project"))
    };
    let want = (
        vec![r#""claude-sonnet-4-5-20250929" "0.63""#.to_owned()],
        (Some(json!("fix the parser")), Some(json!("/model opus"))),
        vec![
            r#""/home/u/early" "0.315""#.to_owned(),
            r#""/home/u/x" "0.315""#.to_owned(),
        ],
    );
    let orders: [&[usize]; 4] = [
        &[0, 1, 2, 3, 4, 5, 6, 7, 8],
        &[2, 5, 3, 0, 1, 6, 4, 8, 7],
        &[4, 6, 2, 0, 3, 1, 5, 7, 8],
        &[8, 7, 4, 6, 2, 0, 3, 1, 5],
    ];
    for (n, order) in orders.iter().enumerate() {
        let env = Env::new();
        let dir = env.project_dir("-home-u-x");
        for &i in order.iter() {
            std::fs::write(dir.join(files[i].0), &files[i].1).unwrap();
            // (the first order: all at once; the others one file a run)
            if n > 0 {
                env.ingest();
            }
        }
        env.ingest();
        assert_eq!(figures(&env), want, "read {order:?}");
        env.cmd().args(["ingest", "--full"]).assert().success();
        assert_eq!(figures(&env), want, "rebuilt, read {order:?}");
    }
}

/// A tool_result whose tool_use is in no line read is no call: not in
/// `tools`, `sessions` or the views, with a date range or without (it was
/// a call of tool "?" only while no range was given); its use read later
/// makes it one.
#[test]
fn a_result_without_its_use_is_no_call_until_the_use_is_read() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let s = "e0000000-0000-4000-8000-00000000000e";
    let lines = uuid_pair(s, "Bash", "msg_e", 0);
    let (use_lines, result) = lines.trim_end().rsplit_once('\n').unwrap();
    let (prompt, assistant) = use_lines.split_once('\n').unwrap();
    std::fs::write(
        dir.join(format!("{s}.jsonl")),
        format!("{prompt}\n{result}\n"),
    )
    .unwrap();
    env.ingest();
    let total = |args: &[&str]| -> (u64, u64) {
        let out = env.cmd().args(args).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["total"]["calls"].as_u64().unwrap(),
            tool_calls_per_session(&env)[0].1,
        )
    };
    assert_eq!(total(&["tools", "--json"]), (0, 0));
    assert_eq!(total(&["tools", "--json", "--since", "2026-01-01"]), (0, 0));
    assert_eq!(count(&env.db(), "SELECT count(*) FROM v_tool_calls"), 0);
    // (kept, waiting for its use)
    assert_eq!(count(&env.db(), "SELECT count(*) FROM tool_call_rows"), 1);
    std::fs::write(
        dir.join(format!("{s}.jsonl")),
        format!("{prompt}\n{result}\n{assistant}\n"),
    )
    .unwrap();
    assert_eq!(total(&["tools", "--json"]), (1, 1));
    assert_eq!(total(&["tools", "--json", "--since", "2026-01-01"]), (1, 1));
}

/// A file whose read stops at a line too long to hold (here 257 MiB of
/// NULs with no newline, sparse: a preallocated file a crash left) is
/// named at every run and remembered with its stat: while it is unchanged
/// it is not read again (~256 MiB at every report's own ingest); once it
/// changes it is. The other files are read, and the run succeeds.
#[test]
fn a_file_with_a_line_too_long_is_named_each_run_and_read_again_only_once_changed() {
    use std::os::unix::fs::FileExt;
    let env = Env::with_fixture("basic");
    let path = env.projects().join("-home-u-app/sess-sparse.jsonl");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(257 << 20).unwrap();
    let run = || {
        let out = env.cmd().args(["ingest", "--json"]).assert().success();
        let out = out.get_output();
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (s, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (s, err) = run();
    assert_eq!(
        (&s["files_failed"], &s["lines_read"]),
        (&json!(1), &json!(33))
    );
    assert!(
        err.contains("sess-sparse.jsonl: line 1 (from byte 0) is longer than 256 MiB"),
        "{err}"
    );
    // a line written at its start, its stat kept as it was: not read
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    f.write_all_at(b"{\"type\":\"user\",\"sessionId\":\"sess-sparse\"}\n", 0)
        .unwrap();
    f.set_modified(mtime).unwrap();
    let (s, err) = run();
    assert_eq!(
        (&s["files_failed"], &s["lines_read"]),
        (&json!(1), &json!(0))
    );
    assert!(err.contains("is longer than 256 MiB"), "said again: {err}");
    // changed (its time): read again, the new first line with it
    f.set_modified(mtime + std::time::Duration::from_secs(1))
        .unwrap();
    let (s, err) = run();
    assert_eq!(
        (&s["files_failed"], &s["lines_read"]),
        (&json!(1), &json!(1))
    );
    assert!(
        err.contains("sess-sparse.jsonl: line 2 (from byte 42) is longer than 256 MiB"),
        "{err}"
    );
    // its first line stored: read up to the long one (before, no line was)
    assert_eq!(s["files_cut_short"], 1);
    let (s, _) = run();
    assert_eq!(
        (&s["files_failed"], &s["files_cut_short"], &s["lines_read"]),
        (&json!(1), &json!(1), &json!(0))
    );
    // the only transcript left: the run read it, up to there, so it does
    // not fail (it said "none of the 1 transcript files could be read",
    // exit 1, at every run)
    for e in walkdir::WalkDir::new(env.projects()) {
        let e = e.unwrap();
        if e.file_type().is_file() && e.path() != path {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let out = env.cmd().arg("ingest").assert().success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        said.contains("Nothing new in 1 transcript file (")
            && said.contains("1 file read only up to a line too long to hold"),
        "{said}"
    );
    // a file with no line before its long one was not read: that alone fails
    std::fs::File::create(&path)
        .unwrap()
        .set_len(257 << 20)
        .unwrap();
    let out = env.cmd().arg("ingest").assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("none of the 1 transcript files could be read")
            && !err.contains("its lines before are stored"),
        "{err}"
    );
    // ... and again, unchanged, though the file it replaced had lines (the
    // remembered file was judged by the old one's, and passed)
    let out = env.cmd().args(["ingest", "--json"]).assert().code(1);
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (&s["files_failed"], &s["files_cut_short"]),
        (&json!(1), &json!(0))
    );
}

/// A subagent's sidecar (`agent-<id>.meta.json`: one JSON object, no
/// newline, no `type`) is kept like a one-line transcript: counted as
/// `agent-meta` (not an unknown type), modelled in `subagent_meta` with the
/// session and agent its path names, shown by `show` (the type, and the
/// description and spawning call when no Task result names them), exported
/// byte for byte (with `--since` too, though it has no time: it goes with
/// its session), and forgotten with its session only.
#[test]
fn subagent_sidecars_are_kept_modelled_shown_exported_and_forgotten() {
    let env = Env::new();
    let proj = env.projects().join("-home-u-app");
    let user = |uuid: &str, session: &str, agent: Option<&str>, at: &str, text: &str| {
        let mut v = json!({"type": "user", "uuid": uuid, "sessionId": session, "timestamp": at,
            "cwd": "/home/u/app", "message": {"role": "user", "content": text}});
        if let Some(a) = agent {
            v["agentId"] = json!(a);
            v["isSidechain"] = json!(true);
        }
        v.to_string() + "\n"
    };
    let sidecar = r#"{"agentType":"Explore","description":"Find the bug","toolUseId":"toolu_01S"}"#;
    let session = |s: &str, day: &str| {
        let sub = proj.join(s).join("subagents");
        std::fs::create_dir_all(&sub).unwrap();
        let at = |t: &str| format!("{day}T{t}Z");
        std::fs::write(
            proj.join(format!("{s}.jsonl")),
            user(&format!("{s}-u1"), s, None, &at("10:00:00"), "hi"),
        )
        .unwrap();
        std::fs::write(
            sub.join("agent-a1.jsonl"),
            user(&format!("{s}-u2"), s, Some("a1"), &at("10:00:01"), "look"),
        )
        .unwrap();
        std::fs::write(sub.join("agent-a1.meta.json"), sidecar).unwrap();
    };
    session("sess-s1", "2026-03-01");
    session("sess-s2", "2026-03-05");

    let s = env.ingest();
    assert_accounting(&s);
    assert_eq!(s["files_read"], 6, "{s}");
    assert_eq!(s["records_by_type"], json!({"user": 4, "agent-meta": 2}));
    assert_eq!(s["unknown_types"], json!({}));
    let db = env.db();
    assert_references(&db);
    assert_eq!(
        strings(
            &db,
            "SELECT session_id || ' ' || agent_id || ' ' || agent_type || ' ' || description || ' ' || tool_use_id
             FROM subagent_meta ORDER BY session_id"
        ),
        [
            "sess-s1 a1 Explore Find the bug toolu_01S",
            "sess-s2 a1 Explore Find the bug toolu_01S"
        ]
    );
    assert_eq!(
        strings(
            &db,
            "SELECT DISTINCT kind FROM source_files WHERE path LIKE '%.meta.json'"
        ),
        ["agent_meta"]
    );

    let out = env
        .cmd()
        .args(["show", "sess-s1", "--json", "--no-ingest"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let sub = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "subagent")
        .expect("a subagent event");
    assert_eq!(
        (
            &sub["agent_type"],
            &sub["description"],
            &sub["task_tool_use_id"]
        ),
        (
            &json!("Explore"),
            &json!("Find the bug"),
            &json!("toolu_01S")
        ),
        "{sub}"
    );
    let out = env
        .cmd()
        .args(["show", "sess-s1", "--no-ingest"])
        .assert()
        .success();
    let shown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        shown.contains("a1 Explore “Find the bug”: 0 responses"),
        "{shown}"
    );

    let out_dir = env.dir.path().join("export");
    env.cmd()
        .args(["export", "--since", "2026-03-04", "--tz", "UTC", "--out"])
        .arg(&out_dir)
        .assert()
        .success();
    let exported = out_dir.join("projects/-home-u-app/sess-s2/subagents/agent-a1.meta.json");
    assert_eq!(std::fs::read_to_string(&exported).unwrap(), sidecar);
    assert!(
        !out_dir.join("projects/-home-u-app/sess-s1").exists(),
        "the other session's files stay out"
    );

    env.cmd()
        .args(["forget", "--session", "sess-s1", "--yes"])
        .assert()
        .success();
    let db = env.db();
    assert_eq!(
        strings(&db, "SELECT session_id FROM subagent_meta"),
        ["sess-s2"]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM lines l JOIN source_files f ON f.id = l.file_id WHERE f.path LIKE '%sess-s1%'"
        ),
        0
    );

    // the same bytes are many sessions' sidecars: a new session's is its
    // own, not the forgotten one's copy, nor (its session deleted from disk
    // as Claude Code's cleanup does) the deleted one moved
    session("sess-s3", "2026-03-06");
    env.ingest();
    std::fs::remove_dir_all(proj.join("sess-s2")).unwrap();
    std::fs::remove_file(proj.join("sess-s2.jsonl")).unwrap();
    session("sess-s9", "2026-03-07");
    env.ingest();
    let db = env.db();
    assert_eq!(
        strings(
            &db,
            "SELECT m.session_id || ' ' || (f.path LIKE '%/' || m.session_id || '/subagents/agent-a1.meta.json')
             FROM subagent_meta m JOIN lines l ON l.id = m.line_id JOIN source_files f ON f.id = l.file_id
             ORDER BY m.session_id"
        ),
        ["sess-s2 1", "sess-s3 1", "sess-s9 1"]
    );
}
