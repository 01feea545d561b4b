//! `export`, `backup` and `forget` on the hand-made fixtures (and the public
//! corpus when `../shared` is here): exported files are the ingested bytes,
//! a backup is the database, and a forgotten session is gone from every
//! byte of the database, for good.
//!
//! data/ (fixtures/README.md): sess-vault-0005 (/home/u/vault, 2026-02-01,
//! 4 lines) and its subagent v1e2 (2 lines) hold the fake key
//! sk-obs-TEST-5ecr3t-9d2f7a61; msg_V1 $0.00105, msg_V2 $0.0009, msg_V3
//! $0.0005. sess-keep-0006 (/home/u/keep, 2026-03-15): msg_K1 $0.0105, then
//! an incomplete last line (held back).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Env, count, dump, fails};
use serde_json::{Value, json};

const SECRET: &[u8] = b"sk-obs-TEST-5ecr3t-9d2f7a61";
const VAULT: &str = "sess-vault-0005";

fn run_json(env: &Env, args: &[&str]) -> Value {
    let out = env.cmd().args(args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?}", out.get_output()))
}

/// Run and expect success; return stdout.
fn stdout(env: &Env, args: &[&str]) -> String {
    let out = env.cmd().args(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

/// Every `*.jsonl` file and subagent sidecar (`agent-*.meta.json`) under
/// `dir`, by path relative to it.
fn jsonl_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).follow_links(true) {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy();
        let sidecar = name.starts_with("agent-") && name.ends_with(".meta.json");
        if e.file_type().is_file() && (name.ends_with(".jsonl") || sidecar) {
            let rel = e.path().strip_prefix(dir).unwrap().to_owned();
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// What ingest reads of a file: every complete line, and a last line
/// without a newline only when it is a whole JSON object (else it is held
/// back until the file grows).
fn readable_part(bytes: &[u8]) -> &[u8] {
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let tail = &bytes[complete..];
    let whole = !tail.iter().all(u8::is_ascii_whitespace)
        && serde_json::from_slice::<serde_json::Map<String, Value>>(tail).is_ok();
    if whole { bytes } else { &bytes[..complete] }
}

/// Export everything into `<tmp>/<name>` and compare each file with its
/// original under `projects/`.
fn assert_round_trip(env: &Env, projects: &Path, name: &str) -> Value {
    let out = env.dir.path().join(name);
    let v = run_json(env, &["export", "--out", out.to_str().unwrap()]);
    let originals = jsonl_files(projects);
    let exported = jsonl_files(&out.join("projects"));
    assert_eq!(
        exported.keys().collect::<Vec<_>>(),
        originals.keys().collect::<Vec<_>>(),
        "the same files, at the same places"
    );
    let mut bytes = 0;
    for (rel, original) in &originals {
        let want = readable_part(original);
        assert!(
            exported[rel] == want,
            "{}: {} bytes exported, {} expected",
            rel.display(),
            exported[rel].len(),
            want.len()
        );
        bytes += want.len() as u64;
    }
    assert_eq!(v["files"], originals.len() as u64, "{v}");
    assert_eq!(v["bytes"], bytes, "{v}");
    v
}

/// Is `needle` anywhere in the file (absent file: no)?
fn file_holds(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The secret in the database file, its WAL or its shared memory file.
fn db_files_hold(env: &Env, needle: &[u8]) -> Vec<String> {
    let db = env.db_path();
    [
        db.clone(),
        with_suffix(&db, "-wal"),
        with_suffix(&db, "-shm"),
    ]
    .iter()
    .filter(|p| file_holds(p, needle))
    .map(|p| p.display().to_string())
    .collect()
}

/// The secret in any stored raw chunk, decompressed.
fn raw_chunks_hold(env: &Env, needle: &[u8]) -> bool {
    let db = env.db();
    let mut st = db.prepare("SELECT data FROM raw_chunks").unwrap();
    let chunks: Vec<Vec<u8>> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    chunks.iter().any(|c| {
        let b = zstd::stream::decode_all(&c[..]).unwrap();
        b.windows(needle.len()).any(|w| w == needle)
    })
}

fn all_counts(db: &rusqlite::Connection) -> BTreeMap<String, i64> {
    let tables = common::strings(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    );
    tables
        .into_iter()
        .map(|t| {
            let n = count(db, &format!("SELECT count(*) FROM \"{t}\""));
            (t, n)
        })
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

// ------------------------------------------------------------------ export

#[test]
fn export_gives_back_every_fixture_file_byte_for_byte() {
    for name in ["basic", "malformed", "reports", "ops", "data"] {
        let env = Env::with_fixture(name);
        env.ingest();
        let v = assert_round_trip(&env, &env.projects(), "out");
        assert_eq!(v["skipped_superseded"], 0);
        assert_eq!(v["skipped_forgotten"], 0);
        let rows = v["rows"].as_array().unwrap();
        assert!(
            rows.iter()
                .all(|r| r["current"] == true && r["start_offset"] == 0)
        );
    }
}

/// A stored chunk that is not even a blob (text, after a stray UPDATE or
/// a damaged record) is damage like any other: export names its file and
/// writes the rest, a rebuild heals it from the transcript (both stopped
/// at "Invalid type").
#[test]
fn a_stored_chunk_that_is_not_a_blob_is_damage() {
    let env = Env::with_fixture("data");
    env.ingest();
    let original = std::fs::read(env.projects().join("-home-u-keep/sess-keep-0006.jsonl")).unwrap();
    assert_eq!(keep_chunks_as_text(&env), 1);
    let out_dir = env.dir.path().join("out");
    let out = env
        .cmd()
        .args(["export", "--out"])
        .arg(&out_dir)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("sess-keep-0006.jsonl: not written: the stored bytes of ")
            && err.contains("do not decompress"),
        "{err}"
    );
    let s = run_json(&env, &["ingest", "--full"]);
    assert_rebuilt(&s, 1, 0);
    // (its cut last line is held back: not stored, not written)
    let stored = original.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(exported_keep(&env), original[..stored]);
}

/// A file whose stored bytes are damaged is named and left out; every
/// other file is written, byte for byte, and the run exits 1.
#[test]
fn export_writes_every_file_but_a_damaged_one_and_exits_1() {
    let env = Env::with_fixture("data");
    env.ingest();
    let db = env.db();
    // the first file of the list (sorted by path) damaged: the rest come after it
    let (id, path): (i64, String) = db
        .query_row(
            "SELECT id, path FROM source_files ORDER BY path LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute(
        "UPDATE raw_chunks SET data = x'28b52ffd0badc0de' WHERE file_id = ?1",
        [id],
    )
    .unwrap();
    drop(db);
    let out_dir = env.dir.path().join("out");
    let out = env
        .cmd()
        .args(["export", "--json", "--out"])
        .arg(&out_dir)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let name = Path::new(&path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        err.contains(&format!(
            "{name}: not written: the stored bytes of {path} at offset 0 do not decompress"
        )) && err.contains("1 file not written: their stored bytes are damaged"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let written = jsonl_files(&out_dir);
    let source = jsonl_files(&env.claude);
    assert_eq!(v["damaged"], 1, "{v}");
    assert_eq!(v["files"], source.len() - 1, "{v}");
    assert_eq!(written.len(), source.len() - 1);
    for (rel, bytes) in &written {
        assert_eq!(bytes, &source[rel], "{rel:?}");
    }
}

#[test]
fn export_never_writes_into_the_transcripts_it_reads_even_with_force() {
    let env = Env::with_fixture("data");
    env.ingest();
    let keep = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    let before = std::fs::read(&keep).unwrap();
    let claude = env.claude.to_str().unwrap().to_owned();
    let inside = env.projects().join("-home-u-keep/new-folder");
    // the root itself, its projects/ folder, a folder inside (not there
    // yet), and the root written with a `..` in it
    let dotted = env.projects().join("../projects");
    for out in [
        claude.as_str(),
        env.projects().to_str().unwrap(),
        inside.to_str().unwrap(),
        dotted.to_str().unwrap(),
    ] {
        let o = env
            .cmd()
            .args(["export", "--force", "--out", out])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{out}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("where observatory reads transcripts from"),
            "{out}: {err}"
        );
        assert!(err.contains("nothing was written"), "{err}");
    }
    // another root, given as its projects/ folder: this root's files
    // would land in it from the folder above it
    let other = env.dir.path().join("other");
    std::fs::create_dir_all(other.join("projects")).unwrap();
    let both = format!("{claude},{}", other.join("projects").display());
    let o = env
        .cmd()
        .env("CLAUDE_CONFIG_DIR", &both)
        .args(["export", "--force", "--out", other.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{o:?}");
    assert!(
        std::fs::read_dir(other.join("projects"))
            .unwrap()
            .next()
            .is_none()
    );
    // the ways around a check of --out alone: a `..` after a folder that
    // is not there yet (run from the root's parent), a `projects` symlink
    // inside --out, and a root the database was filled from but this run
    // is not given
    let refused = |o: std::process::Output, how: &str| {
        assert!(!o.status.success(), "{how}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(
            err.contains("where observatory reads transcripts from"),
            "{how}: {err}"
        );
    };
    let run = |dir: &std::path::Path, out: &str, roots: &str| {
        env.cmd()
            .current_dir(dir)
            .env("CLAUDE_CONFIG_DIR", roots)
            .args(["export", "--force", "--out", out])
            .output()
            .unwrap()
    };
    let parent = env.claude.parent().unwrap();
    let name = env.claude.file_name().unwrap().to_str().unwrap();
    refused(run(parent, &format!("nothere/../{name}"), &claude), "`..`");
    assert!(!parent.join("nothere").exists());
    let linked = env.dir.path().join("linked");
    std::fs::create_dir(&linked).unwrap();
    std::os::unix::fs::symlink(env.projects(), linked.join("projects")).unwrap();
    refused(run(parent, linked.to_str().unwrap(), &claude), "symlink");
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("projects")).unwrap();
    refused(
        run(parent, &claude, elsewhere.to_str().unwrap()),
        "a stored root",
    );
    assert_eq!(
        std::fs::read(&keep).unwrap(),
        before,
        "a transcript was overwritten"
    );
    assert!(!inside.exists());
    // beside the root is fine, and so is a folder in the config dir that
    // is not projects/
    for out in [env.dir.path().join("copy"), env.claude.join("exports")] {
        env.cmd()
            .args(["export", "--out", out.to_str().unwrap()])
            .assert()
            .success();
    }
}

/// Damage every stored chunk of the data fixture's sess-keep-0006 (a
/// zstd frame header, then junk); returns how many.
fn damage_keep_chunks(env: &Env) -> usize {
    env.db()
        .execute(
            "UPDATE raw_chunks SET data = x'28b52ffd0badc0de' WHERE file_id = (SELECT id FROM source_files WHERE path LIKE '%sess-keep-0006.jsonl')",
            [],
        )
        .unwrap()
}

/// The data fixture ingested with sess-keep-0006's cut last line stored as
/// it is (the file still for two hours): the env and that file.
fn keep_stored_with_its_cut_line() -> (Env, PathBuf) {
    let env = Env::with_fixture("data");
    let file = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    common::last_changed_ago(&file, 7_200);
    assert_eq!(env.ingest()["malformed_lines"], 1);
    (env, file)
}

/// Flip a byte in the middle of every stored chunk of sess-keep-0006 (its
/// frame's header and checksum intact); returns how many.
fn flip_a_byte_of_keep_chunks(env: &Env) -> usize {
    let db = env.db();
    let chunks: Vec<(i64, Vec<u8>)> = db
        .prepare(
            "SELECT c.id, c.data FROM raw_chunks c JOIN source_files f ON f.id = c.file_id
             WHERE f.path LIKE '%sess-keep-0006.jsonl'",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, mut data) in chunks.iter().cloned() {
        let mid = data.len() / 2;
        data[mid] ^= 0x5a;
        db.execute(
            "UPDATE raw_chunks SET data = ?2 WHERE id = ?1",
            rusqlite::params![id, data],
        )
        .unwrap();
    }
    chunks.len()
}

/// Store every chunk of sess-keep-0006 as text, not a blob; returns how
/// many.
fn keep_chunks_as_text(env: &Env) -> usize {
    env.db()
        .execute(
            "UPDATE raw_chunks SET data = 'not a blob' WHERE file_id = (SELECT id FROM source_files WHERE path LIKE '%sess-keep-0006.jsonl')",
            [],
        )
        .unwrap()
}

/// What `export` gives back of sess-keep-0006.
fn exported_keep(env: &Env) -> Vec<u8> {
    let out = env.dir.path().join(format!("out-{}", rand_name()));
    run_json(env, &["export", "--out", out.to_str().unwrap()]);
    std::fs::read(out.join("projects/-home-u-keep/sess-keep-0006.jsonl")).unwrap()
}

/// An ingest's summary read `lines` lines (`malformed` of them), and the
/// file was read on in place: no generation replaced, and the database
/// holds just those malformed lines.
fn assert_read_in_place(env: &Env, s: &Value, lines: u64, malformed: u64) {
    assert_eq!(
        (&s["lines_read"], &s["malformed_lines"]),
        (&json!(lines), &json!(malformed)),
        "{s}"
    );
    let status = run_json(env, &["status"]);
    assert_eq!(
        (&status["files_superseded"], &status["malformed_lines"]),
        (&json!(0), &json!(malformed)),
        "{status}"
    );
}

/// `ingest --full --json`, which must exit `code`: its summary and stderr.
fn full_rebuild(env: &Env, code: i32) -> (Value, String) {
    let out = env
        .cmd()
        .args(["ingest", "--full", "--json"])
        .assert()
        .code(code);
    let s: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    (
        s,
        String::from_utf8_lossy(&out.get_output().stderr).to_string(),
    )
}

/// A rebuild's summary: chunks healed from their transcript, and left out.
fn assert_rebuilt(s: &Value, healed: u64, damaged: u64) {
    assert_eq!(
        (&s["raw_chunks_healed"], &s["raw_chunks_damaged"]),
        (&json!(healed), &json!(damaged)),
        "{s}"
    );
}

#[test]
fn a_cut_last_line_of_a_file_still_for_an_hour_is_kept_and_exported() {
    let env = Env::with_fixture("data");
    // the session stopped in the middle of a line 40 days ago
    let file = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    let original = std::fs::read(&file).unwrap();
    assert!(!original.ends_with(b"\n"));
    common::last_changed_ago(&file, 40 * 86_400);
    let s = env.ingest();
    assert_eq!(s["held_back_lines"], 0, "{s}");
    assert_eq!(s["malformed_lines"], 1, "{s}");
    let status = run_json(&env, &["status"]);
    assert_eq!(status["held_back_lines"], 0, "{status}");
    // gone from disk (Claude Code's cleanup), every byte is still there
    std::fs::remove_file(&file).unwrap();
    env.ingest();
    assert_eq!(exported_keep(&env), original);
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let error: String = conn
        .query_row(
            "SELECT error FROM lines WHERE status = 'malformed' AND line_no = 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(error.contains("unchanged for over an hour"), "{error}");
    // a rebuild from the stored bytes says it alike
    drop(conn);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let again: String = conn
        .query_row(
            "SELECT error FROM lines WHERE status = 'malformed' AND line_no = 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(again, error);
}

#[test]
fn a_file_that_grows_after_its_cut_line_was_stored_is_read_on_from_that_line() {
    // the cut line stored with the lines before it, in one chunk, or alone
    // (held back first, then stored once still for an hour)
    for alone in [false, true] {
        grows_after_its_cut_line(alone);
    }
}

fn grows_after_its_cut_line(alone: bool) {
    let env = Env::with_fixture("data");
    let file = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    let cut = std::fs::read(&file).unwrap();
    let line_start = cut.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    if alone {
        assert_eq!(env.ingest()["held_back_lines"], 1);
    }
    common::last_changed_ago(&file, 7_200);
    assert_eq!(env.ingest()["malformed_lines"], 1);
    let chunks = "SELECT count(*) FROM raw_chunks c JOIN source_files f ON f.id = c.file_id WHERE f.path LIKE '%sess-keep-0006.jsonl'";
    assert_eq!(count(&env.db(), chunks), if alone { 2 } else { 1 });
    let cost = || run_json(&env, &["cost", "--no-ingest"])["total"]["cost_usd"].clone();
    let before = cost();
    // the session goes on in the same file: first part of the rest of the
    // line (being written: nothing read, the cut line stays stored as it
    // was), then the line is finished, then one more line
    let mut partial = cut.clone();
    partial.extend_from_slice(b"ease no");
    std::fs::write(&file, &partial).unwrap();
    let s = env.ingest();
    assert_eq!(
        (&s["files_read"], &s["lines_read"]),
        (&json!(0), &json!(0)),
        "{s}"
    );
    assert_eq!(run_json(&env, &["status"])["malformed_lines"], 1);
    assert_eq!(exported_keep(&env), cut);
    if alone {
        // still an hour again: the longer cut line replaces the shorter
        common::last_changed_ago(&file, 7_200);
        let s = env.ingest();
        assert_eq!(
            (&s["lines_read"], &s["malformed_lines"]),
            (&json!(1), &json!(1)),
            "{s}"
        );
        assert_eq!(exported_keep(&env), partial);
    }
    let mut grown = cut.clone();
    grown.extend_from_slice(b"ease notes?\"}}\n");
    let next = r#"{"type":"user","uuid":"k-u9","sessionId":"sess-keep-0006","timestamp":"2026-03-15T10:09:00.000Z","message":{"role":"user","content":"later"}}"#;
    grown.extend_from_slice(format!("{next}\n").as_bytes());
    std::fs::write(&file, &grown).unwrap();
    let s = env.ingest();
    // read on from the cut line's start, in place: no new generation
    assert_eq!(s["bytes_read"], (grown.len() - line_start) as u64, "{s}");
    assert_read_in_place(&env, &s, 2, 0);
    // the finished line takes the cut one's place, as a record
    let lines = || -> Vec<(i64, i64, String)> {
        env.db()
            .prepare("SELECT line_no, byte_offset, status FROM lines l JOIN source_files f ON f.id = l.file_id WHERE f.path LIKE '%sess-keep-0006.jsonl' ORDER BY line_no")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let after = lines();
    assert_eq!(after.len(), 4, "{after:?}");
    assert_eq!(after[2], (3, line_start as i64, "record".to_owned()));
    assert_eq!(after[3].0, 4);
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE uuid IN ('k-u2', 'k-u9')"
        ),
        2
    );
    assert_eq!(cost(), before, "responses are counted once");
    // every byte once: export gives the file back, a rebuild the same rows
    assert_eq!(exported_keep(&env), grown);
    env.cmd()
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(lines(), after);
}

/// The chunk that holds a cut line does not decompress (a damaged
/// database) when the line is continued: the ingest goes on (other files'
/// lines are stored), and `ingest --full` heals the chunk from the file.
/// So too when the damage is in the chunk's middle (its checksum intact):
/// the chunk keeps its frame, now said to end where the cut line starts,
/// and the checksum is taken over the bytes the frame held (it was left
/// out, "changed since"); and when the chunk is not even a blob (the
/// ingest stopped at "Invalid type").
#[test]
fn a_cut_line_in_a_damaged_chunk_does_not_stop_ingest() {
    for damage in [
        damage_keep_chunks,
        flip_a_byte_of_keep_chunks,
        keep_chunks_as_text,
    ] {
        a_cut_line_in_a_damaged_chunk(damage);
    }
}

fn a_cut_line_in_a_damaged_chunk(damage: fn(&Env) -> usize) {
    let (env, file) = keep_stored_with_its_cut_line();
    assert_eq!(damage(&env), 1);
    let mut grown = std::fs::read(&file).unwrap();
    grown.extend_from_slice(b"ease notes?\"}}\n");
    std::fs::write(&file, &grown).unwrap();
    let other = env.projects().join("-home-u-keep/sess-other-0009.jsonl");
    let line = r#"{"type":"user","uuid":"o-1","sessionId":"sess-other-0009","timestamp":"2026-03-16T10:00:00.000Z","message":{"role":"user","content":"hello"}}"#;
    std::fs::write(&other, format!("{line}\n")).unwrap();
    let s = env.ingest();
    assert_eq!(
        (&s["lines_read"], &s["files_read"]),
        (&json!(2), &json!(2)),
        "{s}"
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE uuid IN ('k-u2', 'o-1')"
        ),
        2
    );
    // the damaged bytes before the line: read again from the file
    let s = run_json(&env, &["ingest", "--full"]);
    assert_rebuilt(&s, 1, 0);
    assert_eq!(exported_keep(&env), grown);
}

/// A damaged chunk that ends in a cut line stored as it was is healed
/// from its file like any other (the cursor follows no line end there).
#[test]
fn a_damaged_chunk_ending_in_a_cut_line_is_healed() {
    let (env, _) = keep_stored_with_its_cut_line();
    let lines = count(&env.db(), "SELECT count(*) FROM lines");
    assert_eq!(damage_keep_chunks(&env), 1);
    let s = run_json(&env, &["ingest", "--full"]);
    assert_rebuilt(&s, 1, 0);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines);
}

#[test]
fn a_cut_line_ended_by_nothing_stays_malformed_and_is_read_on_in_place() {
    let (env, file) = keep_stored_with_its_cut_line();
    // a newline ends the cut line as it was, then one more line (and a
    // chunk before the cut line's own, merged or not, is cut where it starts)
    let mut grown = std::fs::read(&file).unwrap();
    grown.extend_from_slice(b"\n{\"type\":\"summary\",\"summary\":\"later\",\"leafUuid\":\"x\"}\n");
    std::fs::write(&file, &grown).unwrap();
    let s = env.ingest();
    assert_read_in_place(&env, &s, 2, 1);
    assert_eq!(exported_keep(&env), grown);
}

#[test]
fn a_forgotten_cut_line_finished_in_a_copy_stays_forgotten() {
    let env = Env::with_fixture("data");
    let file = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    let cut = std::fs::read(&file).unwrap();
    common::last_changed_ago(&file, 7_200);
    assert_eq!(env.ingest()["malformed_lines"], 1);
    env.cmd()
        .args(["forget", "--session", "sess-keep-0006", "--yes", "-q"])
        .assert()
        .success();
    // a copy elsewhere, in which the cut line was finished and one more
    // line written
    let copy = env.projects().join("-home-u-keep-copy");
    std::fs::create_dir_all(&copy).unwrap();
    let mut grown = cut.clone();
    grown.extend_from_slice(b"ease notes?\"}}\n");
    let next = r#"{"type":"user","uuid":"k-u9","sessionId":"sess-keep-0006","timestamp":"2026-03-15T10:09:00.000Z","message":{"role":"user","content":"later"}}"#;
    grown.extend_from_slice(format!("{next}\n").as_bytes());
    std::fs::write(copy.join("sess-keep-0006.jsonl"), &grown).unwrap();
    let s = env.ingest();
    // only the new line: the finished tail of the forgotten line is not read
    assert_eq!(s["lines_read"], 1, "{s}");
    assert_eq!(s["malformed_lines"], 0, "{s}");
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE uuid = 'k-u2'"
        ),
        0
    );
}

#[test]
fn export_leaves_out_a_held_back_last_line_and_layout_follows_the_root() {
    let env = Env::with_fixture("data");
    let s = env.ingest();
    assert_eq!(s["held_back_lines"], 1);
    let out = env.dir.path().join("out");
    let v = run_json(&env, &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(v["files"], 3);
    let keep = out.join("projects/-home-u-keep/sess-keep-0006.jsonl");
    let original = std::fs::read(env.projects().join("-home-u-keep/sess-keep-0006.jsonl")).unwrap();
    let exported = std::fs::read(&keep).unwrap();
    // exactly the two complete lines, not the incomplete third one
    assert_eq!(exported.iter().filter(|b| **b == b'\n').count(), 2);
    assert!(exported.ends_with(b"\n"));
    assert_eq!(exported[..], original[..exported.len()]);
    assert!(original.len() > exported.len());
    // the subagent at its place, files 0600
    let sub = out.join("projects/-home-u-vault/sess-vault-0005/subagents/agent-v1e2.jsonl");
    assert!(sub.is_file());
    assert_eq!(mode(&keep), 0o600);
    assert_eq!(mode(&sub), 0o600);
    let rows = v["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["file"] == "projects/-home-u-keep/sess-keep-0006.jsonl")
        .unwrap();
    assert_eq!(row["bytes"], exported.len() as u64);
    assert!(
        row["source"]
            .as_str()
            .unwrap()
            .ends_with("sess-keep-0006.jsonl")
    );

    // once the line is finished, a new ingest and export give all of it
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env.projects().join("-home-u-keep/sess-keep-0006.jsonl"))
        .unwrap();
    f.write_all(b"ease notes\"}}\n").unwrap();
    drop(f);
    env.ingest();
    assert_round_trip(&env, &env.projects(), "out2");
}

#[test]
fn odd_file_names_and_linked_project_folders_come_back_where_they_were() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::with_fixture("basic");
    let session = std::fs::read(env.projects().join("-home-u-app/sess-main-0001.jsonl")).unwrap();
    // two names that differ only in bytes that are not UTF-8 (stored lossily,
    // both were one path: every ingest failed on a UNIQUE constraint)
    let odd = env.projects().join("-home-u-odd");
    std::fs::create_dir_all(&odd).unwrap();
    for name in [&b"\xff.jsonl"[..], b"\xfe.jsonl", b"\xef\xbf\xbd.jsonl"] {
        std::fs::write(odd.join(std::ffi::OsStr::from_bytes(name)), &session).unwrap();
    }
    // a name of 255 bytes, the most Linux allows (export's temporary name
    // beside it, `.NAME.PID.part`, was too long: the export stopped)
    std::fs::write(odd.join(format!("{}.jsonl", "a".repeat(249))), &session).unwrap();
    // a project folder that is a symlink to a folder of another name
    let real = env.dir.path().join("disk2/real");
    std::fs::create_dir_all(real.join("sess-linked/subagents")).unwrap();
    std::fs::write(real.join("sess-linked.jsonl"), &session).unwrap();
    std::fs::write(real.join("sess-linked/subagents/agent-l1.jsonl"), &session).unwrap();
    std::os::unix::fs::symlink(&real, env.projects().join("-home-u-linked")).unwrap();
    let s = env.ingest();
    assert_eq!(s["files_failed"], 0, "{s}");
    let files = count(&env.db(), "SELECT count(*) FROM source_files");
    assert_eq!(files, jsonl_files(&env.projects()).len() as i64);
    assert_round_trip(&env, &env.projects(), "out");
    // and a second run finds each of them unchanged
    let again = env.ingest();
    assert_eq!(again["files_read"], 0, "{again}");
}

#[test]
fn export_round_trips_the_public_corpus() {
    let shared = require_shared!();
    let env = Env::new();
    std::fs::remove_dir(env.projects()).unwrap();
    std::os::unix::fs::symlink(shared.join("corpus/public"), env.projects()).unwrap();
    env.ingest();
    let v = assert_round_trip(&env, &shared.join("corpus/public"), "out");
    assert!(v["files"].as_u64().unwrap() > 200, "{}", v["files"]);
}

#[test]
fn export_filters_pick_whole_files() {
    let env = Env::with_fixture("data");
    env.ingest();
    let files = |args: &[&str]| -> Vec<String> {
        let out = env.dir.path().join(format!("f{}", rand_name()));
        let mut all = vec!["export", "--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        let v = run_json(&env, &all);
        let mut names: Vec<String> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["file"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let vault = vec![
        "projects/-home-u-vault/sess-vault-0005.jsonl".to_owned(),
        "projects/-home-u-vault/sess-vault-0005/subagents/agent-v1e2.jsonl".to_owned(),
    ];
    let keep = vec!["projects/-home-u-keep/sess-keep-0006.jsonl".to_owned()];
    assert_eq!(files(&["--session", VAULT]), vault);
    assert_eq!(files(&["--session", "sess-v"]), vault, "a unique prefix");
    assert_eq!(files(&["--project", "U/VAULT"]), vault);
    assert_eq!(files(&["--project", "keep"]), keep);
    assert_eq!(files(&["--since", "2026-03-01", "--tz", "UTC"]), keep);
    assert_eq!(files(&["--until", "2026-02-28", "--tz", "UTC"]), vault);
    // 2026-02-01 09:01 UTC is still January 31 in UTC-10
    assert_eq!(
        files(&[
            "--since",
            "2026-02-01",
            "--until",
            "2026-02-01",
            "--tz=-10:00"
        ]),
        Vec::<String>::new()
    );
    assert_eq!(
        files(&["--project", "keep", "--session", VAULT]),
        Vec::<String>::new()
    );
    // nothing to write: said so, and no folder made
    let none = env.dir.path().join("none");
    let out = env
        .cmd()
        .args(["export", "--project", "no-such-project", "--out"])
        .arg(&none)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("nothing written") && !none.exists(), "{text}");
    let err = fails(&env, &["export", "--out", "x", "--session", "sess-"], 1);
    assert!(err.contains("more than one session"), "{err}");
    let err = fails(&env, &["export", "--out", "x", "--session", "nope"], 1);
    assert!(err.contains("no session id starts with"), "{err}");
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn export_never_overwrites_without_force() {
    let env = Env::with_fixture("data");
    env.ingest();
    let out = env.dir.path().join("out");
    let o = out.to_str().unwrap();
    run_json(&env, &["export", "--out", o]);
    let file = out.join("projects/-home-u-keep/sess-keep-0006.jsonl");
    std::fs::write(&file, b"mine\n").unwrap();
    let err = fails(&env, &["export", "--out", o], 1);
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(err.contains("sess-"), "names the file: {err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"mine\n", "nothing written");
    let v = run_json(&env, &["export", "--out", o, "--force"]);
    assert_eq!(v["files"], 3);
    // (the stored lines: the transcript up to its last newline, its
    // incomplete last line held back)
    let original = std::fs::read(env.projects().join("-home-u-keep/sess-keep-0006.jsonl")).unwrap();
    let whole = original.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    assert_eq!(std::fs::read(&file).unwrap(), original[..whole]);
    // no temporary files left behind
    let leftovers: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // a missing database is an error, not an empty export
    let err = fails(
        &env,
        &["export", "--out", o, "--db", "/nonexistent/obs.db"],
        1,
    );
    assert!(err.contains("no database here yet"), "{err}");
}

#[test]
fn export_writes_older_generations_only_when_asked() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let legacy = env.projects().join("-home-u-app/agent-c8d9b115.jsonl");
    let old = std::fs::read(&legacy).unwrap();
    // replaced by another file: read again from the start, a new generation
    let new =
        b"{\"type\": \"summary\", \"summary\": \"Replaced\", \"leafUuid\": \"l-a1\"}\n".to_vec();
    std::fs::write(&legacy, &new).unwrap();
    env.ingest();
    let out = env.dir.path().join("out");
    let v = run_json(&env, &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(v["skipped_superseded"], 1);
    assert_eq!(
        std::fs::read(out.join("projects/-home-u-app/agent-c8d9b115.jsonl")).unwrap(),
        new
    );
    // another session's export skipped no older version of its own files
    let other = env.dir.path().join("other");
    let v = run_json(
        &env,
        &[
            "export",
            "--out",
            other.to_str().unwrap(),
            "--session",
            "sess-resume-0002",
        ],
    );
    assert_eq!(v["skipped_superseded"], 0, "{v}");
    assert_eq!(v["files"], 1, "{v}");
    assert!(
        !out.join("projects/-home-u-app/agent-c8d9b115.gen0.jsonl")
            .exists()
    );
    let out = env.dir.path().join("all");
    let v = run_json(
        &env,
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--all-generations",
        ],
    );
    assert_eq!(v["skipped_superseded"], 0);
    assert_eq!(
        std::fs::read(out.join("projects/-home-u-app/agent-c8d9b115.gen0.jsonl")).unwrap(),
        old
    );
    assert_eq!(
        std::fs::read(out.join("projects/-home-u-app/agent-c8d9b115.jsonl")).unwrap(),
        new
    );
    let gen0 = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["generation"] == 0 && r["current"] == false)
        .unwrap();
    assert_eq!(
        gen0["file"],
        "projects/-home-u-app/agent-c8d9b115.gen0.jsonl"
    );
}

// ------------------------------------------------------------------ backup

/// Run `args` while a first load is under way (its marker, and the ingest
/// lock held), check that it waits, then end the load (marker, then lock)
/// and return what the command printed once it went on.
fn run_beside_a_first_load(env: &Env, args: &[&str]) -> std::process::Output {
    let marker = env.obs_home().join("observatory.db.first-load");
    std::fs::write(&marker, b"").unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.obs_home().join("observatory.db.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut child = env
        .std_cmd()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // (it says it waits, and is still waiting when we let it go on)
    let stderr = common::Stderr::of(&mut child);
    stderr.wait_for("waiting for the first ingest");
    assert!(child.try_wait().unwrap().is_none(), "{args:?} did not wait");
    std::fs::remove_file(&marker).unwrap();
    drop(lock);
    let done = child.wait_with_output().unwrap();
    let err = stderr.all.join().unwrap();
    assert!(done.status.success(), "{args:?}: {done:?} {err}");
    std::process::Output {
        stderr: err.into_bytes(),
        ..done
    }
}

#[test]
fn backup_waits_for_a_first_load_to_end() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let out = env.dir.path().join("copy.db");
    run_beside_a_first_load(&env, &["backup", out.to_str().unwrap()]);
    let copy = rusqlite::Connection::open(&out).unwrap();
    assert!(
        count(
            &copy,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'responses_at'"
        ) == 1
    );
    assert_eq!(count(&copy, "SELECT count(*) FROM responses"), 7);
}

/// A second ingest or a report started during a first load waits for it
/// instead of switching the database back to WAL under it (which failed
/// the load with "database is locked" and left its marker, so that the
/// next command emptied the database); a status line does not wait.
#[test]
fn commands_wait_for_a_first_load_to_end() {
    let env = Env::with_fixture("basic");
    env.ingest();
    for args in [
        &["ingest", "--json"][..],
        &["cost", "--no-ingest", "--json"],
        &["sessions", "--json"],
    ] {
        let done = run_beside_a_first_load(&env, args);
        let v: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
        if args[0] == "cost" {
            assert_eq!(v["total"]["requests"], 7, "{v}");
        }
    }
    assert_eq!(count(&env.db(), "SELECT count(*) FROM responses"), 7);
    // a status line during the load: at once, and without figures
    let marker = env.obs_home().join("observatory.db.first-load");
    std::fs::write(&marker, b"").unwrap();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env.obs_home().join("observatory.db.lock"))
        .unwrap();
    lock.lock().unwrap();
    let input = serde_json::json!({
        "session_id": "sess-main-0001",
        "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
    });
    let out = env
        .cmd()
        .arg("statusline")
        .write_stdin(input.to_string())
        .timeout(std::time::Duration::from_secs(5))
        .assert()
        .success();
    let line = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(line.contains("Sonnet 4.5") && !line.contains('$'), "{line}");
    // status and query do not show a load's incomplete tables as figures:
    // under way, they say so; a load that did not finish (marker, no
    // lock) is said to start over at the next ingest, not to be damaged
    let err = fails(&env, &["status"], 1);
    assert!(err.contains("its first ingest is under way"), "{err}");
    lock.unlock().unwrap();
    // nor do the commands that do not ingest (`--no-ingest` reports,
    // export, backup), which opened it and so started it over: an empty
    // database written by a command told only to read
    let elsewhere = env.dir.path().join("elsewhere");
    let elsewhere = elsewhere.to_str().unwrap();
    let backup = format!("{elsewhere}.db");
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["query", "SELECT 1"],
        &["cost", "--no-ingest"],
        &["tools", "--no-ingest", "--json"],
        &["export", "--out", elsewhere],
        &["backup", &backup],
        &["budget", "list"],
    ] {
        let err = fails(&env, args, 1);
        assert!(
            err.contains("the first ingest into it did not finish")
                && err.contains("the next `observatory ingest` starts the database over"),
            "{args:?}: {err}"
        );
    }
    // a status line told not to ingest shows no figures and leaves it
    let out = env
        .cmd()
        .args(["statusline", "--no-ingest"])
        .write_stdin(input.to_string())
        .assert()
        .success();
    let line = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(line.contains("Sonnet 4.5") && !line.contains('$'), "{line}");
    assert!(marker.exists());
    assert_eq!(count(&env.db(), "SELECT count(*) FROM responses"), 7);
    std::fs::remove_file(&marker).unwrap();
    run_json(&env, &["status"]);
}

/// A backup killed mid-copy leaves `.NAME.PID.part` (and SQLite's
/// journal of it): a hidden copy of transcript content that nothing else
/// removes, nor `forget`. The next backup to that name removes those of
/// processes no longer running, says so, and leaves a running one's.
#[test]
fn backup_removes_partial_copies_left_by_killed_backups() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let dir = env.dir.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // (a pid no process has: above the kernel's pid_max)
    let dead = dir.join(".b.db.99999999.part");
    let dead_journal = dir.join(".b.db.99999999.part-journal");
    let live = dir.join(format!(".b.db.{}.part", std::process::id()));
    let other = dir.join(".other.db.99999999.part");
    for f in [&dead, &dead_journal, &live, &other] {
        std::fs::write(f, b"partial").unwrap();
    }
    let out = env
        .cmd()
        .arg("backup")
        .arg(dir.join("b.db"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("removed 1 partial copy left in")
            && stderr.contains("by backups that were killed"),
        "{stderr}"
    );
    assert!(!dead.exists() && !dead_journal.exists());
    assert!(live.exists(), "a running backup's copy stays");
    assert!(other.exists(), "another name's stays");
    assert!(dir.join("b.db").exists());
    // a folder that is not there yet is made, private
    let new = env.dir.path().join("new/backups");
    env.cmd()
        .arg("backup")
        .arg(new.join("b.db"))
        .assert()
        .success();
    assert!(new.join("b.db").is_file());
    assert_eq!(mode(&new), 0o700);
    // folders made for a backup that then fails go with it (here: a name
    // the file system takes, whose partial copy's longer name it does
    // not); one that was there stays
    let long = format!("{}.db", "b".repeat(250));
    let out = env
        .cmd()
        .arg("backup")
        .arg(env.dir.path().join("typo/nested").join(&long))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("cannot create"), "{stderr}");
    assert!(!env.dir.path().join("typo").exists());
    env.cmd()
        .arg("backup")
        .arg(new.join("more").join(&long))
        .assert()
        .code(1);
    // and those made above a folder that cannot be made
    let out = env
        .cmd()
        .arg("backup")
        .arg(
            env.dir
                .path()
                .join("typo/more")
                .join("d".repeat(300))
                .join("b.db"),
        )
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("cannot create the folder"), "{stderr}");
    assert!(!env.dir.path().join("typo").exists());
    assert!(!new.join("more").exists() && new.join("b.db").is_file());
}

#[test]
fn backup_is_the_database_even_while_others_read_and_write() {
    let env = Env::with_fixture("basic");
    env.ingest();
    common::copy_dir(&common::fixtures().join("data"), &env.claude);
    env.ingest();

    // a reader in the middle of a transaction, and a writer that has not committed
    let reader = env.db();
    reader.execute_batch("BEGIN").unwrap();
    let seen = count(&reader, "SELECT count(*) FROM responses");
    let writer = env.db();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE;
             INSERT INTO budgets(period, amount_picousd, warn_at_percent, created_at) VALUES ('day', 1, 80, 0);",
        )
        .unwrap();

    let file = env.dir.path().join("backup.db");
    let v = run_json(&env, &["backup", file.to_str().unwrap()]);
    assert_eq!(v["file"], file.to_str().unwrap());
    assert_eq!(v["bytes"], std::fs::metadata(&file).unwrap().len());
    assert_eq!(mode(&file), 0o600);
    writer.execute_batch("ROLLBACK").unwrap();
    reader.execute_batch("COMMIT").unwrap();

    let copy = rusqlite::Connection::open(&file).unwrap();
    let source = env.db();
    assert_eq!(all_counts(&copy), all_counts(&source));
    assert_eq!(count(&copy, "SELECT count(*) FROM responses"), seen);
    assert_eq!(
        count(&copy, "SELECT count(*) FROM budgets"),
        0,
        "uncommitted rows are not copied"
    );
    assert_eq!(dump(&copy), dump(&source));
    assert_eq!(
        count(&copy, "SELECT sum(cost_picousd) FROM responses"),
        count(&source, "SELECT sum(cost_picousd) FROM responses")
    );
    assert_eq!(
        count(&copy, "PRAGMA user_version"),
        count(&source, "PRAGMA user_version")
    );
    assert_eq!(
        copy.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    drop(copy);

    // other commands take it with --db
    let f = file.to_str().unwrap();
    let from_copy = run_json(
        &env,
        &[
            "--db",
            f,
            "cost",
            "--by-model",
            "--no-ingest",
            "--tz",
            "UTC",
        ],
    );
    let from_source = run_json(&env, &["cost", "--by-model", "--no-ingest", "--tz", "UTC"]);
    assert_eq!(from_copy, from_source);
    let status = run_json(&env, &["--db", f, "status"]);
    assert_eq!(status["schema_version"], v["schema_version"]);

    // an existing file is refused, unless --force
    let err = fails(&env, &["backup", f], 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    run_json(&env, &["backup", f, "--force"]);
    assert_eq!(mode(&file), 0o600);
    let err = fails(
        &env,
        &["backup", env.db_path().to_str().unwrap(), "--force"],
        1,
    );
    assert!(err.contains("the database itself"), "{err}");
    // nor the files beside it (replacing the WAL would lose what it holds)
    for suffix in ["-wal", ".lock"] {
        let beside = format!("{}{suffix}", env.db_path().display());
        if !std::path::Path::new(&beside).exists() {
            std::fs::write(&beside, "").unwrap();
        }
        let err = fails(&env, &["backup", &beside, "--force"], 1);
        assert!(err.contains(&format!("own {suffix} file")), "{err}");
    }
    // a folder that cannot be made (a file stands where it would go)
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under = file.join("x.db");
    let err = fails(&env, &["backup", under.to_str().unwrap()], 1);
    assert!(err.contains("cannot create the folder"), "{err}");
    // a FIFO, a link, a socket or a device is never replaced, --force or
    // not (a FIFO and /dev/full were replaced by regular files)
    let fifo = env.dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let link = env.dir.path().join("link.db");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    // (a device is refused by the same test; not tried here, where a
    // regression would replace one on the machine)
    let socket = env.dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let before = std::fs::read(&file).unwrap();
    for (path, what) in [
        (&fifo, "a FIFO"),
        (&link, "a symbolic link"),
        (&socket, "a socket"),
    ] {
        let err = fails(&env, &["backup", path.to_str().unwrap(), "--force"], 1);
        assert!(
            err.contains(what) && err.contains("nothing was written"),
            "{err}"
        );
    }
    let t = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&t(&fifo)));
    assert!(t(&link).is_symlink());
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&t(&socket)));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the link's file untouched"
    );
    // a folder: the name suggested is not the database's own
    let err = fails(&env, &["backup", env.obs_home().to_str().unwrap()], 1);
    assert!(
        err.contains("is a folder") && err.contains("observatory-"),
        "{err}"
    );
    assert!(!err.contains(&env.db_path().display().to_string()), "{err}");
}

// ------------------------------------------------------------------ forget

#[test]
fn forget_removes_every_byte_of_a_session_for_good() {
    let env = Env::with_fixture("data");
    env.ingest();
    assert!(
        !db_files_hold(&env, SECRET).is_empty(),
        "the fixture's secret should be in the database before"
    );
    assert!(raw_chunks_hold(&env, SECRET));

    let v = run_json(&env, &["forget", "--session", "sess-vault", "--yes"]);
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["forgotten"], true);
    assert_eq!(v["sessions"], 1);
    assert_eq!(v["subagents"], 1);
    assert_eq!(v["files"], 2);
    assert_eq!(v["lines"], 6);
    assert_eq!(v["responses"], 3);
    assert_eq!(v["cost_usd"], "0.00245");
    assert_eq!(v["rows"][0]["session_id"], VAULT);
    assert_eq!(v["rows"][0]["project"], "/home/u/vault");
    assert_eq!(v["wal_truncated"], true);
    assert_eq!(v["projects_deleted"], 1);

    let gone = |when: &str| {
        assert_eq!(db_files_hold(&env, SECRET), Vec::<String>::new(), "{when}");
        assert!(!raw_chunks_hold(&env, SECRET), "{when}");
        let db = env.db();
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM sessions WHERE session_id = 'sess-vault-0005'"
            ),
            0,
            "{when}"
        );
        assert_eq!(count(&db, "SELECT count(*) FROM responses"), 1, "{when}");
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM projects WHERE path = '/home/u/vault'"
            ),
            0,
            "{when}"
        );
        assert_eq!(count(&db, "SELECT count(*) FROM lines"), 2, "{when}");
        assert_eq!(
            count(&db, "SELECT count(*) FROM forgotten_files"),
            2,
            "{when}"
        );
        assert_eq!(count(&db, "SELECT count(*) FROM source_files"), 3, "{when}");
    };
    gone("after forget");
    let cost = run_json(&env, &["cost", "--no-ingest", "--tz", "UTC"]);
    assert_eq!(cost["total"]["cost_usd"], "0.0105");

    // the transcripts are still on disk: ingest does not read them again
    let s = env.ingest();
    assert_eq!(s["lines_read"], 0, "{s}");
    gone("after ingest");
    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["rebuilt_lines"], 2, "{s}");
    gone("after ingest --full");

    // a copy of the forgotten file elsewhere is recognised too
    let copy = env.projects().join("-home-u-copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(
        env.projects().join("-home-u-vault/sess-vault-0005.jsonl"),
        copy.join("sess-vault-0005.jsonl"),
    )
    .unwrap();
    let s = env.ingest();
    assert_eq!(s["lines_read"], 0, "{s}");
    assert_eq!(db_files_hold(&env, SECRET), Vec::<String>::new());

    // lines appended later are new activity: read
    let line = br#"{"parentUuid": "v-a2", "isSidechain": false, "cwd": "/home/u/vault", "sessionId": "sess-vault-0005", "uuid": "v-u3", "timestamp": "2026-04-01T08:00:00.000Z", "type": "user", "message": {"role": "user", "content": "Rotate the key"}}"#;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env.projects().join("-home-u-vault/sess-vault-0005.jsonl"))
        .unwrap();
    f.write_all(line).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let s = env.ingest();
    assert_eq!(s["lines_read"], 1, "{s}");
    let db = env.db();
    assert_eq!(
        count(
            &db,
            "SELECT lines FROM sessions WHERE session_id = 'sess-vault-0005'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT line_no FROM lines WHERE file_id = (SELECT id FROM source_files WHERE path LIKE '%-home-u-vault/sess-vault-0005.jsonl')"
        ),
        5,
        "line numbers continue after the forgotten ones"
    );
    drop(db);
    run_json(&env, &["ingest", "--full"]);
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM messages WHERE session_id = 'sess-vault-0005'"
        ),
        1
    );
    assert!(!raw_chunks_hold(&env, SECRET));
    // export writes what is left of it: the new line alone
    let out = env.dir.path().join("out");
    let v = run_json(
        &env,
        &["export", "--out", out.to_str().unwrap(), "--session", VAULT],
    );
    assert_eq!(v["files"], 1);
    assert!(v["rows"][0]["start_offset"].as_u64().unwrap() > 0);
    let mut want = line.to_vec();
    want.push(b'\n');
    assert_eq!(
        std::fs::read(out.join("projects/-home-u-vault/sess-vault-0005.jsonl")).unwrap(),
        want
    );
}

#[test]
fn forget_reads_new_lines_first_so_they_are_forgotten_too() {
    let env = Env::with_fixture("data");
    env.ingest();
    // written before the forget, never ingested
    let line = br#"{"parentUuid": "v-a2", "isSidechain": false, "cwd": "/home/u/vault", "sessionId": "sess-vault-0005", "uuid": "v-u9", "timestamp": "2026-02-01T09:30:00.000Z", "type": "user", "message": {"role": "user", "content": "Also use sk-obs-TEST-late-4e1d"}}"#;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env.projects().join("-home-u-vault/sess-vault-0005.jsonl"))
        .unwrap();
    f.write_all(line).unwrap();
    f.write_all(b"\n").unwrap();
    drop(f);
    let v = run_json(&env, &["forget", "--session", VAULT, "--yes"]);
    assert_eq!(v["lines"], 7);
    let s = env.ingest();
    assert_eq!(s["lines_read"], 0, "{s}");
    assert_eq!(
        db_files_hold(&env, b"sk-obs-TEST-late-4e1d"),
        Vec::<String>::new()
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM sessions WHERE session_id = 'sess-vault-0005'"
        ),
        0
    );
}

/// A file rewritten in place is stored as two generations: `forget`'s plan
/// counts it as one transcript file and says the generations (it said "2
/// transcript files" for one).
#[test]
fn forget_counts_a_rewritten_file_once_with_its_generations() {
    let env = Env::with_fixture("data");
    env.ingest();
    let f = env.projects().join("-home-u-vault/sess-vault-0005.jsonl");
    let text = std::fs::read_to_string(&f).unwrap();
    // (its first line gone: other first bytes, read again from the start)
    std::fs::write(&f, text.split_once('\n').unwrap().1).unwrap();
    env.ingest();
    let v = run_json(&env, &["forget", "--project", "vault", "--dry-run"]);
    assert_eq!(
        (&v["files"], v["forgotten_files"].as_array().unwrap().len()),
        (&json!(2), 3),
        "{v}"
    );
    let text = stdout(&env, &["forget", "--project", "vault", "--dry-run"]);
    assert!(
        text.contains("2 transcript files (")
            && text.contains(", 3 generations as they were rewritten, "),
        "{text}"
    );
}

#[test]
fn forget_refuses_without_yes_and_no_terminal_and_dry_run_deletes_nothing() {
    let env = Env::with_fixture("data");
    env.ingest();
    let before = dump(&env.db());
    let counts = all_counts(&env.db());

    let err = fails(&env, &["forget", "--session", VAULT], 2);
    assert!(err.contains("--yes"), "{err}");
    assert!(err.contains("nothing was deleted"), "{err}");
    assert!(err.contains(VAULT), "shows what would go: {err}");
    assert_eq!(dump(&env.db()), before);

    let v = run_json(&env, &["forget", "--project", "vault", "--dry-run"]);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["forgotten"], false);
    assert_eq!(v["sessions"], 1);
    assert_eq!(v["files"], 2);
    assert_eq!(v["responses"], 3);
    assert_eq!(v["cost_usd"], "0.00245");
    assert_eq!(v["forgotten_files"].as_array().unwrap().len(), 2);
    let main = v["forgotten_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .ends_with("/sess-vault-0005.jsonl")
        })
        .unwrap();
    assert_eq!(main["lines"], 4);
    let text = stdout(&env, &["forget", "--project", "vault", "--dry-run"]);
    assert!(
        text.contains(VAULT) && text.contains("Nothing was deleted"),
        "{text}"
    );
    assert_eq!(dump(&env.db()), before);
    assert_eq!(all_counts(&env.db()), counts);
    assert!(!db_files_hold(&env, SECRET).is_empty());

    // a criterion given twice is refused (other flags take their last
    // value; here that would forget other sessions than meant)
    let err = fails(
        &env,
        &["forget", "--project", "keep", "--project", "vault", "--yes"],
        2,
    );
    assert!(err.contains("--project given more than once"), "{err}");
    assert_eq!(all_counts(&env.db()), counts);
    // an empty --project would match every project: refused
    for empty in ["", "  "] {
        let err = fails(&env, &["forget", "--project", empty, "--yes"], 2);
        assert!(
            err.contains("--project <TEXT>': it needs some text"),
            "{err}"
        );
    }
    assert_eq!(all_counts(&env.db()), counts);

    // nothing matches: nothing to do, exit 0
    let v = run_json(&env, &["forget", "--project", "no-such-project", "--yes"]);
    assert_eq!(v["sessions"], 0);
    assert_eq!(all_counts(&env.db()), counts);
}

/// A forget stopped after its deletion committed but before the file was
/// rewritten (killed, or the disk full) leaves the rows gone and the file
/// at its old size, with free pages; its error said to run forget again,
/// which found "Nothing to forget" and left the file so. The next forget,
/// whatever it matches, rewrites it first; a dry run does not.
#[test]
fn a_forget_stopped_before_compacting_is_compacted_by_the_next() {
    let env = Env::with_fixture("data");
    env.ingest();
    run_json(&env, &["forget", "--session", VAULT, "--yes"]);
    let pending = "SELECT count(*) FROM meta WHERE key = 'compact_pending'";
    assert_eq!(count(&env.db(), pending), 0, "a forget that ends clears it");
    // the state such a forget leaves: its mark, and the deleted rows'
    // pages free in the file
    {
        let conn = rusqlite::Connection::open(env.obs_home().join("observatory.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE gone(b BLOB); INSERT INTO gone VALUES (zeroblob(2000000));
             DROP TABLE gone; INSERT INTO meta(key, value) VALUES ('compact_pending', '1');
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    let free = "SELECT freelist_count FROM pragma_freelist_count";
    assert!(count(&env.db(), free) > 400);
    // (stderr of a forget that matches nothing)
    let forget_none = |how: &str| -> String {
        let out = env
            .cmd()
            .args(["forget", "--project", "no-such-project", how])
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    let err = forget_none("--dry-run");
    assert!(!err.contains("compacting"), "{err}");
    assert!(count(&env.db(), free) > 400, "a dry run writes nothing");
    let mut counts = all_counts(&env.db());
    *counts.get_mut("meta").unwrap() -= 1; // (the mark, which goes)
    let err = forget_none("--yes");
    assert!(
        err.contains("an earlier forget stopped before it") && err.contains("Nothing to forget"),
        "{err}"
    );
    assert_eq!(count(&env.db(), free), 0);
    assert_eq!(count(&env.db(), pending), 0);
    assert_eq!(all_counts(&env.db()), counts, "nothing else changed");
    let err = forget_none("--yes");
    assert!(!err.contains("compacting"), "once: {err}");
}

#[test]
fn forget_before_a_day_takes_whole_sessions_by_their_last_activity() {
    let env = Env::with_fixture("data");
    env.ingest();
    // the vault session's last line is at 2026-02-01 09:01:04 UTC
    let v = run_json(
        &env,
        &[
            "forget",
            "--before",
            "2026-02-01",
            "--tz",
            "UTC",
            "--dry-run",
        ],
    );
    assert_eq!(v["sessions"], 0);
    // in UTC-10, 2026-02-01 starts at 10:00 UTC: after the vault's last activity
    let v = run_json(
        &env,
        &[
            "forget",
            "--before",
            "2026-02-01",
            "--tz=-10:00",
            "--dry-run",
        ],
    );
    assert_eq!(v["sessions"], 1);
    assert_eq!(v["rows"][0]["session_id"], VAULT);
    let v = run_json(
        &env,
        &["forget", "--before", "20260316", "--tz", "UTC", "--dry-run"],
    );
    assert_eq!(v["sessions"], 2);
    // criteria combine
    let v = run_json(
        &env,
        &[
            "forget",
            "--before",
            "2026-03-16",
            "--project",
            "keep",
            "--tz",
            "UTC",
            "--yes",
        ],
    );
    assert_eq!(v["sessions"], 1);
    assert_eq!(v["rows"][0]["session_id"], "sess-keep-0006");
    let db = env.db();
    assert_eq!(
        count(&db, "SELECT count(DISTINCT session_id) FROM sessions"),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM projects"), 1);
    let err = fails(&env, &["forget", "--before", "someday", "--yes"], 2);
    assert!(err.contains("cannot read"), "{err}");
}

/// A prompt and its answer (one priced response) of `session`, as Claude
/// Code writes them.
fn exchange(session: &str, n: u32, at: &str, cwd: &str) -> String {
    exchange_with(session, n, at, cwd, "claude-sonnet-4-5-20250929")
}

fn exchange_with(session: &str, n: u32, at: &str, cwd: &str, model: &str) -> String {
    let user = json!({"type": "user", "sessionId": session, "uuid": format!("u-{session}-{n}"),
        "parentUuid": null, "timestamp": format!("{at}:00.000Z"), "cwd": cwd, "isSidechain": false,
        "userType": "external", "version": "2.1.20",
        "message": {"role": "user", "content": format!("prompt {n} of {session}")}});
    let answer = json!({"type": "assistant", "sessionId": session, "uuid": format!("a-{session}-{n}"),
        "parentUuid": format!("u-{session}-{n}"), "timestamp": format!("{at}:01.000Z"), "cwd": cwd,
        "isSidechain": false, "userType": "external", "version": "2.1.20", "requestId": format!("req_{session}_{n}"),
        "message": {"id": format!("msg_{session}_{n}"), "type": "message", "role": "assistant",
            "model": model, "content": [{"type": "text", "text": "done"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000, "output_tokens": 100, "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0}}});
    format!("{user}\n{answer}\n")
}

/// Claude Code can write lines of several sessions into one file: forget
/// of the session the file is named after keeps the file whole when
/// another session's only lines are in it (and says so), instead of
/// forgetting a session nobody picked; a session's own files are known by
/// their names one folder deeper too (a folder of project folders).
#[test]
fn forget_never_takes_a_session_that_was_not_picked() {
    let env = Env::new();
    let fx = env.projects().join("-home-u-fx");
    std::fs::create_dir_all(&fx).unwrap();
    let shared_file = fx.join("sess-A.jsonl");
    std::fs::write(
        &shared_file,
        exchange("sess-A", 1, "2026-05-10T10:00", "/home/u/fx")
            + &exchange("sess-X", 1, "2026-05-10T11:00", "/home/u/fx"),
    )
    .unwrap();
    let old = env.projects().join("archive/-home-u-old");
    std::fs::create_dir_all(old.join("sess-B/subagents")).unwrap();
    std::fs::write(
        old.join("sess-B.jsonl"),
        exchange("sess-B", 1, "2026-05-11T10:00", "/home/u/old"),
    )
    .unwrap();
    std::fs::write(
        old.join("sess-B/subagents/agent-b1.jsonl"),
        exchange("sess-B", 2, "2026-05-11T10:05", "/home/u/old"),
    )
    .unwrap();
    env.ingest();
    let x_cost = |env: &Env| {
        count(
            &env.db(),
            "SELECT count(*) FROM responses WHERE session_id = 'sess-X' AND cost_picousd > 0",
        )
    };
    assert_eq!(x_cost(&env), 1);

    // the plan keeps the file and names the session it keeps it for
    let plan = run_json(&env, &["forget", "--session", "sess-A", "--dry-run"]);
    assert_eq!(plan["forgotten_files"], json!([]), "{plan}");
    assert_eq!(
        plan["kept_for_others"],
        json!([{"file": shared_file.canonicalize().unwrap(), "session_ids": ["sess-X"]}]),
        "{plan}"
    );
    // (nothing of sess-A goes either: every file of it stays, and forget
    // says so instead of claiming to forget it)
    let out = env
        .cmd()
        .args(["forget", "--session", "sess-A", "--yes"])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        said.contains("Nothing to forget: every file of this session stays."),
        "{said}"
    );
    assert!(said.contains("Kept whole: 1 file named after these sessions also holds the only lines of a session that stays (sess-X)"), "{said}");
    assert!(out.get_output().stdout.is_empty());
    let done = run_json(&env, &["forget", "--session", "sess-A", "--yes"]);
    assert_eq!(done["forgotten"], false);
    assert_eq!(done["kept_for_others"], plan["kept_for_others"]);
    assert!(shared_file.exists());
    assert_eq!(x_cost(&env), 1);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM forgotten_files"), 0);
    // rewritten, the file's two generations each hold lines of sess-X that
    // no other file holds: both stay (one entry, its path)
    std::fs::write(
        &shared_file,
        exchange("sess-A", 9, "2026-05-12T10:00", "/home/u/fx")
            + &exchange("sess-X", 2, "2026-05-12T11:00", "/home/u/fx"),
    )
    .unwrap();
    env.ingest();
    assert_eq!(x_cost(&env), 2);
    let again = run_json(&env, &["forget", "--session", "sess-A", "--dry-run"]);
    assert_eq!(again["forgotten_files"], json!([]), "{again}");
    assert_eq!(again["kept_for_others"], plan["kept_for_others"], "{again}");
    // a file of sess-A's alone goes; the shared one stays, and the plan says why
    std::fs::create_dir_all(fx.join("sess-A/subagents")).unwrap();
    std::fs::write(
        fx.join("sess-A/subagents/agent-a1.jsonl"),
        exchange("sess-A", 2, "2026-05-10T10:05", "/home/u/fx"),
    )
    .unwrap();
    env.ingest();
    let text = stdout(&env, &["forget", "--session", "sess-A", "--dry-run"]);
    assert!(text.contains("1 transcript file ("), "{text}");
    assert!(text.contains("Kept whole: 1 file named after these sessions also holds the only lines of a session that stays (sess-X)"), "{text}");
    let done = run_json(&env, &["forget", "--session", "sess-A", "--yes"]);
    assert_eq!(done["forgotten"], true);
    assert_eq!(done["kept_for_others"], plan["kept_for_others"]);
    assert!(shared_file.exists());
    assert_eq!(x_cost(&env), 2);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM forgotten_files"), 1);
    // both picked: the file goes, both generations
    run_json(&env, &["forget", "--project", "/home/u/fx", "--yes"]);
    assert_eq!(x_cost(&env), 0);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM forgotten_files"), 3);

    // one folder deeper, sess-B's transcript and its subagent's are its own
    let plan = run_json(&env, &["forget", "--session", "sess-B", "--dry-run"]);
    let mut files: Vec<String> = plan["forgotten_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{plan}");
    assert!(
        files[0].ends_with("archive/-home-u-old/sess-B.jsonl"),
        "{files:?}"
    );
    assert!(
        files[1].ends_with("sess-B/subagents/agent-b1.jsonl"),
        "{files:?}"
    );
    let text = stdout(&env, &["forget", "--session", "sess-B", "--dry-run"]);
    assert!(!text.contains("not named after these sessions"), "{text}");

    // responses with no price are said to be unpriced, not $0.00 (free)
    std::fs::write(
        fx.join("sess-U.jsonl"),
        exchange_with(
            "sess-U",
            1,
            "2026-05-12T10:00",
            "/home/u/fx",
            "claude-imaginary-9",
        ),
    )
    .unwrap();
    let text = stdout(&env, &["forget", "--session", "sess-U", "--dry-run"]);
    assert!(text.contains("  1 response  unpriced\n"), "{text}");
    assert!(text.contains("1 API response (unpriced)."), "{text}");
    assert!(!text.contains("$0.00"), "{text}");
}

#[test]
fn forget_keeps_budgets_and_other_sessions_and_a_rebuild_changes_nothing() {
    let env = Env::with_fixture("basic");
    env.ingest();
    common::copy_dir(&common::fixtures().join("data"), &env.claude);
    env.ingest();
    env.cmd()
        .args(["budget", "set", "--daily", "5"])
        .assert()
        .success();
    let v = run_json(&env, &["forget", "--session", "sess-main-0001", "--yes"]);
    // the main file, its subagent, and the legacy agent file whose lines are its own
    let mut paths: Vec<String> = v["forgotten_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            p[p.find("/projects/").unwrap() + 10..].to_owned()
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "-home-u-app/agent-c8d9b115.jsonl",
            "-home-u-app/sess-main-0001.jsonl",
            "-home-u-app/sess-main-0001/subagents/agent-a1b2c3d.jsonl",
        ]
    );
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM budgets"), 1);
    // the other sessions are whole
    for s in ["sess-resume-0002", "sess-vault-0005", "sess-keep-0006"] {
        assert!(
            count(
                &db,
                &format!("SELECT count(*) FROM sessions WHERE session_id = '{s}'")
            ) > 0,
            "{s}"
        );
    }
    // nothing of the forgotten files is left: not the subagent's prompt...
    assert!(!file_holds(&env.db_path(), b"Find callers"));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM responses WHERE message_id IN ('msg_A', 'msg_C', 'msg_E', 'msg_F', 'msg_G')"
        ),
        0
    );
    // ...and what the resumed session's own file holds is its own: msg_B, copied
    // into it, now counts there
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM responses WHERE message_id = 'msg_B' AND session_id = 'sess-resume-0002'"
        ),
        1
    );
    // the resumed session's file holds a copy of the forgotten session's first
    // line (with its session id): it stays with that file, and forget says so
    let shared = v["shared_files"].as_array().unwrap();
    assert_eq!(shared.len(), 1, "{v}");
    assert!(
        shared[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("sess-resume-0002.jsonl")
    );
    assert_eq!(
        shared[0]["session_ids"],
        serde_json::json!(["sess-main-0001"])
    );
    assert_eq!(
        count(
            &db,
            "SELECT sum(lines) FROM sessions WHERE session_id = 'sess-main-0001'"
        ),
        1
    );
    // the tables are what the raw lines left give: a rebuild changes nothing
    let before = dump(&db);
    drop(db);
    run_json(&env, &["ingest", "--full"]);
    assert_eq!(dump(&env.db()), before);
    // and the still-present files are not read again
    let s = env.ingest();
    assert_eq!(s["lines_read"], 0, "{s}");
}

#[test]
fn data_commands_explain_themselves() {
    let env = Env::new();
    for cmd in ["export", "backup", "forget"] {
        let text = stdout(&env, &[cmd, "--help"]);
        assert!(text.contains("Examples:"), "{cmd}: {text}");
        assert!(
            text.contains(&format!("observatory {cmd}")),
            "{cmd}: {text}"
        );
    }
    let text = stdout(&env, &["forget", "--help"]);
    assert!(
        text.contains("--yes") && text.contains("appended"),
        "{text}"
    );
    // without a database there is nothing to forget, export or back up
    for args in [
        vec!["forget", "--session", "x", "--yes"],
        vec!["backup", "/tmp/never-written.db"],
    ] {
        let err = fails(&env, &args, 1);
        assert!(err.contains("no database here yet"), "{args:?}: {err}");
    }
    assert!(!env.db_path().exists(), "no database was created");
}

/// A file read a few lines at a time (a status line's or watch's ingest
/// after each turn) gets a small raw chunk per read; MERGE_RUN (8) of them
/// in a row at the end of the file are merged into one. The stored bytes
/// still give the file back byte for byte, a rebuild from them gives the
/// same rows, and the merged chunk is far smaller than its parts were.
#[test]
fn small_raw_chunks_of_an_appended_file_are_merged() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let session = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let chunks = |env: &Env| {
        count(
            &env.db(),
            "SELECT count(*) FROM raw_chunks r JOIN source_files f ON f.id = r.file_id
             WHERE f.path LIKE '%/sess-main-0001.jsonl' AND f.superseded = 0",
        )
    };
    assert_eq!(chunks(&env), 1);
    let first_read = std::fs::read(&session).unwrap();
    let mut merged = 0;
    for i in 0..12 {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&session)
            .unwrap();
        for k in 0..3 {
            writeln!(
                f,
                r#"{{"type":"user","uuid":"add-{i}-{k}","parentUuid":null,"sessionId":"sess-main-0001","timestamp":"2026-03-01T12:{i:02}:{k:02}.000Z","message":{{"role":"user","content":"Another look at parser.rs, round {i}, line {k}: the tokenizer still splits on the wrong delimiter"}}}}"#
            )
            .unwrap();
        }
        drop(f);
        let s = env.ingest();
        merged += s["raw_chunks_merged"].as_u64().unwrap();
        if i < 6 {
            assert_eq!(s["raw_chunks_merged"], 0, "{s}");
        }
    }
    // the file as first read (small too) and 7 appends merged at the 7th;
    // 5 small chunks since
    assert_eq!(merged, 8);
    assert_eq!(chunks(&env), 1 + 5);
    let (data, span): (Vec<u8>, i64) = env
        .db()
        .query_row(
            "SELECT r.data, r.end_offset - r.start_offset FROM raw_chunks r JOIN source_files f ON f.id = r.file_id
             WHERE f.path LIKE '%/sess-main-0001.jsonl' AND f.superseded = 0 ORDER BY r.start_offset LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let plain = zstd::stream::decode_all(&data[..]).unwrap();
    assert_eq!(plain.len() as i64, span);
    assert_eq!(plain[..first_read.len()], first_read[..]);
    let appended: Vec<&[u8]> = plain[first_read.len()..]
        .split_inclusive(|b| *b == b'\n')
        .collect();
    assert_eq!(appended.len(), 7 * 3);
    // (2,372 bytes merged against 3,624 as 8 chunks)
    let apart: usize = zstd::bulk::compress(&first_read, 3).unwrap().len()
        + appended
            .chunks(3)
            .map(|c| zstd::bulk::compress(&c.concat(), 3).unwrap().len())
            .sum::<usize>();
    assert!(
        data.len() * 3 < apart * 2,
        "{} bytes merged, {apart} apart",
        data.len()
    );
    assert_round_trip(&env, &env.projects(), "out");
    // (a rebuild reads file by file: the same rows, other ids)
    let reports = |env: &Env| {
        let lines = count(&env.db(), "SELECT count(*) FROM lines");
        let sessions = run_json(env, &["sessions", "--no-ingest"]);
        (lines, sessions)
    };
    let before = reports(&env);
    assert_eq!(before.0, 69);
    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["rebuilt_lines"], 69);
    assert_eq!(reports(&env), before);
}

/// The path of a new session file `<session>.jsonl` under a project, and
/// its i-th line: a user prompt (no newline).
fn prompt_lines(env: &Env, session: &str) -> (PathBuf, impl Fn(usize) -> String) {
    let dir = env.project_dir("-home-u-app");
    let session = session.to_owned();
    let path = dir.join(format!("{session}.jsonl"));
    let line = move |i: usize| {
        format!(
            r#"{{"type":"user","uuid":"{session}-{i}","parentUuid":null,"sessionId":"{session}","timestamp":"2026-03-01T12:00:{i:02}.000Z","message":{{"role":"user","content":"line {i}"}}}}"#
        )
    };
    (path, line)
}

/// A chunk that ended with a complete object and no newline (the end of
/// the file as then read) is never merged with the next one: the lines
/// would run together. The chunks after it are. (Its newline comes with
/// the next append: an object right after it on its line would make the
/// file read again as a new generation, one malformed line there.)
#[test]
fn a_chunk_without_a_final_newline_stays_apart() {
    let env = Env::new();
    let (path, line) = prompt_lines(&env, "sess-nl-0007");
    std::fs::write(&path, line(0)).unwrap(); // (no newline)
    assert_eq!(env.ingest()["lines_read"], 1);
    let mut merged = 0;
    for i in 1..=9 {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        if i == 1 {
            writeln!(f).unwrap(); // (line 0's newline)
        }
        writeln!(f, "{}", line(i)).unwrap();
        drop(f);
        merged += env.ingest()["raw_chunks_merged"].as_u64().unwrap();
    }
    assert_eq!(merged, 8, "lines 1-8, not line 0");
    assert_eq!(count(&env.db(), "SELECT count(*) FROM raw_chunks"), 3);
    assert_round_trip(&env, &env.projects(), "out");
    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["rebuilt_lines"], 10);
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM lines WHERE status = 'record'"
        ),
        10
    );
}

/// A stored chunk that no longer decompresses (a damaged database) stops
/// a run of small chunks: the ingest goes on, the chunks after it are
/// merged once there are 8 of them, and it stays as it was.
#[test]
fn a_damaged_chunk_is_left_alone_and_ingest_goes_on() {
    let env = Env::new();
    let (path, line) = prompt_lines(&env, "sess-dmg-0008");
    let mut merged = Vec::new();
    for i in 0..=10 {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{}", line(i)).unwrap();
        drop(f);
        merged.push(env.ingest()["raw_chunks_merged"].as_u64().unwrap());
        if i == 3 {
            // the chunk of line 2
            let n = env
                .db()
                .execute(
                    "UPDATE raw_chunks SET data = x'0badc0de' WHERE start_offset = (SELECT start_offset FROM raw_chunks ORDER BY start_offset LIMIT 1 OFFSET 2)",
                    [],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
    }
    // lines 3-10 merged at line 10 (without the damage: lines 0-7 at 7)
    assert_eq!(merged, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM raw_chunks"), 4);
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM raw_chunks WHERE data = x'0badc0de'"
        ),
        1
    );
}

// -------------------------------------------------------------- dictionary

/// `files` sessions of about `bytes` each in project -home-u-lib, as
/// sessions that read the same source files: each prompt's tool result is
/// one of 3,000 texts of 1 KB (letters no compressor can shorten alone),
/// and carries its session's secret. Returns (session id, path, secret).
fn reading_sessions(env: &Env, files: u64, bytes: usize) -> Vec<(String, PathBuf, String)> {
    let text = |k: u64| -> String {
        let mut x = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (b'a' + (x % 26) as u8) as char
            })
            .collect()
    };
    let dir = env.project_dir("-home-u-lib");
    let mut out = Vec::new();
    for f in 0..files {
        let session = format!("sess-lib-{f:04}");
        let secret = format!("sk-lib-{f}-q7Zx93");
        let mut body = String::new();
        let mut n = 0u64;
        while body.len() < bytes {
            let k = (f * 7_919 + n * 104_729) % 3_000;
            let at = format!(
                "2026-05-0{}T10:{:02}:{:02}.000Z",
                f % 9 + 1,
                n / 60 % 60,
                n % 60
            );
            let user = serde_json::json!({"type": "user", "uuid": format!("{session}-u{n}"),
                "sessionId": session, "timestamp": at, "cwd": "/home/u/lib",
                "message": {"role": "user", "content": [{"type": "tool_result",
                    "tool_use_id": format!("toolu_{f}_{n}"), "content": format!("{secret} {}", text(k))}]}});
            let assistant = serde_json::json!({"type": "assistant", "uuid": format!("{session}-a{n}"),
                "parentUuid": format!("{session}-u{n}"), "sessionId": session, "timestamp": at,
                "cwd": "/home/u/lib",
                "message": {"id": format!("msg_lib_{f}_{n}"), "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": "Read it."}],
                    "usage": {"input_tokens": 12, "output_tokens": 30}}});
            body.push_str(&format!("{user}\n{assistant}\n"));
            n += 1;
        }
        let path = dir.join(format!("{session}.jsonl"));
        std::fs::write(&path, body).unwrap();
        out.push((session, path, secret));
    }
    out
}

/// The dictionary and every chunk, decompressed: (dictionary content, chunk bytes).
fn stored_plain(env: &Env) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let db = env.db();
    let dicts: BTreeMap<i64, Vec<u8>> = db
        .prepare("SELECT id, data FROM raw_dicts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, Vec<u8>>(1)?)))
        .unwrap()
        .map(|r| {
            let (id, data) = r.unwrap();
            (id, zstd::stream::decode_all(&data[..]).unwrap())
        })
        .collect();
    let chunks: Vec<(Option<i64>, i64, Vec<u8>)> = db
        .prepare("SELECT dict, end_offset - start_offset, data FROM raw_chunks")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plain = chunks
        .iter()
        .map(|(dict, len, data)| {
            let mut d = match dict {
                Some(id) => zstd::bulk::Decompressor::with_dictionary(&dicts[id]).unwrap(),
                None => zstd::bulk::Decompressor::new().unwrap(),
            };
            d.decompress(data, *len as usize).unwrap()
        })
        .collect();
    (dicts.into_values().collect(), plain)
}

/// A rebuild gives back the tables the ingest made, after a dictionary was
/// sampled from some of the files (every other one of 130): it reads the
/// files in the order of their ids, and the sampled files were given theirs
/// first, so a rebuild read them first and whatever the first line read
/// decides (a row's id, a session's first line) came out otherwise.
#[test]
fn a_rebuild_after_a_dictionary_was_sampled_gives_back_the_same_tables() {
    let env = Env::new();
    reading_sessions(&env, 130, 256 << 10);
    let s = env.ingest();
    assert_eq!(s["first_load"], true, "{s}");
    let db = env.db();
    let sampled = count(&db, "SELECT count(*) FROM raw_dict_sources");
    assert!((1..130).contains(&sampled), "{sampled}");
    let before = dump(&db);
    drop(db);
    run_json(&env, &["ingest", "--full"]);
    assert!(
        dump(&env.db()) == before,
        "ingest --full changed the tables"
    );
}

/// A first ingest of 32 MiB or more samples a dictionary from the files it
/// reads and compresses every chunk with it: fewer bytes than without, and
/// export gives every file back. Forgetting a session sampled into it
/// replaces the dictionary with one sampled from the other files' stored
/// lines and re-compresses their chunks with it: the session's secret is
/// nowhere, and the other files still export.
#[test]
fn a_dictionary_compresses_the_raw_lines_and_is_replaced_when_a_sampled_file_is_forgotten() {
    let env = Env::with_fixture("data");
    let sessions = reading_sessions(&env, 12, 3 << 20);
    let s = env.ingest();
    assert_eq!(s["first_load"], true, "{s}");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_chunks WHERE dict IS NULL"),
        0
    );
    // every big file was sampled (fewer than 64 files: a share of each)
    let sampled = count(
        &db,
        "SELECT count(*) FROM raw_dict_sources d JOIN source_files f ON f.id = d.file_id WHERE f.path LIKE '%-home-u-lib%'",
    );
    assert_eq!(sampled, 12);
    let stored: i64 = count(
        &db,
        "SELECT (SELECT sum(length(data)) FROM raw_chunks) + (SELECT sum(length(data)) FROM raw_dicts)",
    );
    let (dicts, plain) = stored_plain(&env);
    assert!(
        dicts[0].len() > 3 << 20 && dicts[0].len() <= 4 << 20,
        "{}",
        dicts[0].len()
    );
    let alone: usize = plain
        .iter()
        .map(|p| zstd::bulk::compress(p, 3).unwrap().len())
        .sum();
    assert!(
        (stored as usize) < alone * 9 / 10,
        "{stored} bytes stored with the dictionary, {alone} compressed without"
    );
    let lines = count(&db, "SELECT count(*) FROM lines");
    drop(db);
    assert_round_trip(&env, &env.projects(), "out-dict");
    // a rebuild reads every line back through the dictionary
    let r = run_json(&env, &["ingest", "--full"]);
    assert_eq!(r["rebuilt_lines"], lines, "{r}");

    // forget a session whose file was sampled
    let (gone, path, secret) = &sessions[3];
    let v = run_json(&env, &["forget", "--session", gone, "--yes"]);
    assert_eq!(v["dictionaries_deleted"], 1, "{v}");
    assert_eq!(v["dictionary_made"], true, "{v}");
    let chunks = v["raw_chunks_recompressed"].as_u64().unwrap();
    let db = env.db();
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_chunks") as u64,
        chunks,
        "every chunk left used the old dictionary: {v}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts WHERE id = 1"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM raw_chunks WHERE dict IS NOT (SELECT id FROM raw_dicts)"
        ),
        0
    );
    // the new one is sampled from the other files' lines
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM raw_dict_sources d JOIN source_files f ON f.id = d.file_id WHERE f.path LIKE '%-home-u-lib%'"
        ),
        11
    );
    drop(db);
    let (dicts, plain) = stored_plain(&env);
    let holds = |b: &[u8], s: &str| b.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(!dicts.iter().chain(&plain).any(|b| holds(b, secret)));
    let (_, _, kept) = &sessions[4];
    assert!(holds(&dicts[0], kept) && plain.iter().any(|p| holds(p, kept)));
    assert_eq!(db_files_hold(&env, secret.as_bytes()), Vec::<String>::new());
    // the others come back whole
    std::fs::rename(path, env.dir.path().join("forgotten.jsonl")).unwrap();
    assert_round_trip(&env, &env.projects(), "out-after");
}

/// The data fixture and 12 sessions of 3 MiB, stored in two runs of
/// 18 MiB: neither makes a dictionary.
fn stored_without_a_dictionary(env: &Env) {
    let sessions = reading_sessions(env, 12, 3 << 20);
    let away = env.dir.path().join("away");
    std::fs::create_dir_all(&away).unwrap();
    for (_, path, _) in &sessions[6..] {
        std::fs::rename(path, away.join(path.file_name().unwrap())).unwrap();
    }
    env.ingest();
    for (_, path, _) in &sessions[6..] {
        std::fs::rename(away.join(path.file_name().unwrap()), path).unwrap();
    }
    env.ingest();
}

/// Chunks stored without a dictionary (runs under 32 MiB each, as a
/// database from before schema 10 holds) are compressed with one by
/// `ingest --full`, sampled from the stored lines; every file still
/// exports byte for byte, and the tables come out the same.
#[test]
fn ingest_full_compresses_the_chunks_stored_without_a_dictionary() {
    let env = Env::with_fixture("data");
    stored_without_a_dictionary(&env);
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 0);
    let chunks = count(&db, "SELECT count(*) FROM raw_chunks");
    let before = count(&db, "SELECT sum(length(data)) FROM raw_chunks");
    let derived = |db: &rusqlite::Connection| {
        let mut t = all_counts(db);
        t.retain(|name, _| !name.starts_with("raw_dict"));
        t
    };
    let tables = derived(&db);
    drop(db);

    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["raw_chunks_recompressed"], chunks, "{s}");
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM raw_chunks WHERE dict IS NULL"),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT file_id) FROM raw_dict_sources d JOIN source_files f ON f.id = d.file_id WHERE f.path LIKE '%-home-u-lib%'"
        ),
        12
    );
    let after = count(
        &db,
        "SELECT (SELECT sum(length(data)) FROM raw_chunks) + (SELECT sum(length(data)) FROM raw_dicts)",
    );
    assert!(
        after < before * 9 / 10,
        "{after} bytes after, {before} before"
    );
    assert_eq!(derived(&db), tables);
    drop(db);
    assert_round_trip(&env, &env.projects(), "out-full");
    // nothing left to do the next time
    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["raw_chunks_recompressed"], 0, "{s}");
}

/// Forgetting a file the dictionary was sampled from re-compresses the
/// other files' chunks; one that does not decompress is left as it was,
/// without the dictionary (which goes all the same), and the rebuild that
/// follows heals it from its transcript (forget stopped: nothing could be
/// forgotten).
#[test]
fn forget_goes_on_past_a_damaged_chunk_the_dictionary_held() {
    let env = Env::with_fixture("data");
    let sessions = reading_sessions(&env, 12, 3 << 20);
    env.ingest();
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM raw_chunks WHERE dict IS NULL"
        ),
        0
    );
    assert_eq!(damage_keep_chunks(&env), 1);
    let (gone, _, _) = &sessions[3];
    let forget = || {
        env.cmd()
            .args(["forget", "--json", "--yes", "--session", gone])
            .assert()
    };
    let out = forget().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (&v["dictionaries_deleted"], &v["raw_chunks_damaged"]),
        (&json!(1), &json!(1)),
        "{v}"
    );
    // (the rebuild after the deletion reads it again from its transcript)
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("sess-keep-0006.jsonl: the stored bytes [0, ")
            && err.contains("read again from the transcript"),
        "{err}"
    );
    assert_eq!(
        count(
            &env.db(),
            "SELECT count(*) FROM raw_chunks WHERE dict IS NOT NULL AND dict NOT IN (SELECT id FROM raw_dicts)"
        ),
        0
    );
    let original = std::fs::read(env.projects().join("-home-u-keep/sess-keep-0006.jsonl")).unwrap();
    assert_eq!(exported_keep(&env), readable_part(&original));
}

/// The dictionary itself damaged: every chunk that used it is left without
/// it (it goes, holding lines of the forgotten file), and the rebuild that
/// follows reads them all again from their transcripts.
#[test]
fn forget_goes_on_past_a_damaged_dictionary() {
    let env = Env::with_fixture("data");
    let sessions = reading_sessions(&env, 12, 3 << 20);
    env.ingest();
    let db = env.db();
    db.execute("UPDATE raw_dicts SET data = x'28b52ffd0badc0de'", [])
        .unwrap();
    let (gone, path, _) = &sessions[3];
    let kept = count(
        &db,
        &format!(
            "SELECT count(*) FROM raw_chunks WHERE file_id != (SELECT id FROM source_files WHERE path LIKE '%{}')",
            path.file_name().unwrap().to_string_lossy()
        ),
    );
    drop(db);
    let out = env
        .cmd()
        .args(["forget", "--json", "--yes", "--session", gone])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (&v["dictionaries_deleted"], &v["raw_chunks_damaged"]),
        (&json!(1), &json!(kept)),
        "{v}"
    );
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("read again from their transcripts in all, 0 left out"),
        "{err}"
    );
    std::fs::rename(path, env.dir.path().join("forgotten.jsonl")).unwrap();
    assert_round_trip(&env, &env.projects(), "out-after");
}

/// A damaged chunk among those a rebuild compresses with a new dictionary
/// is left out of the sample and of the re-compression, then healed from
/// its transcript like any other (it stopped the whole `ingest --full`).
#[test]
fn ingest_full_heals_a_damaged_chunk_it_would_compress_with_a_dictionary() {
    let env = Env::with_fixture("data");
    stored_without_a_dictionary(&env);
    let db = env.db();
    let chunks = count(&db, "SELECT count(*) FROM raw_chunks");
    let lines = count(&db, "SELECT count(*) FROM lines");
    assert_eq!(damage_keep_chunks(&env), 1);
    drop(db);
    let s = run_json(&env, &["ingest", "--full"]);
    assert_eq!(s["raw_chunks_recompressed"], chunks - 1, "{s}");
    assert_rebuilt(&s, 1, 0);
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM raw_dicts"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), lines);
    drop(db);
    assert_round_trip(&env, &env.projects(), "healed");
}

/// A stored chunk that does not decompress (a damaged database) does not
/// stop a rebuild: while its transcript still has its bytes, they are read
/// from it and stored anew (the figures stay whole); once the transcript
/// is gone, its lines are left out with a warning naming the file and the
/// bytes, every other line is rebuilt, and the run exits 1.
#[test]
fn a_rebuild_heals_a_damaged_chunk_from_its_transcript_or_says_which_it_left_out() {
    let env = Env::with_fixture("data");
    env.ingest();
    let db = env.db();
    let lines = count(&db, "SELECT count(*) FROM lines");
    let cost = run_json(&env, &["cost", "--no-ingest"])["total"]["cost_usd"].clone();
    let (file, start, end, in_chunk): (String, i64, i64, i64) = db
        .query_row(
            "SELECT f.path, c.start_offset, c.end_offset,
                    (SELECT count(*) FROM lines l WHERE l.file_id = c.file_id
                       AND l.byte_offset >= c.start_offset AND l.byte_offset < c.end_offset)
             FROM raw_chunks c JOIN source_files f ON f.id = c.file_id
             WHERE f.path LIKE '%sess-keep-0006.jsonl'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert!(in_chunk > 0);
    let original = std::fs::read(&file).unwrap();
    let damage = || {
        env.db()
            .execute(
                "UPDATE raw_chunks SET data = x'28b52ffd0badc0de' WHERE start_offset = ?1 AND file_id = (SELECT id FROM source_files WHERE path = ?2)",
                rusqlite::params![start, file],
            )
            .unwrap()
    };
    drop(db);
    assert_eq!(damage(), 1);
    // the transcript is there: read again, stored anew, nothing lost
    let (s, err) = full_rebuild(&env, 0);
    assert_rebuilt(&s, 1, 0);
    assert!(
        err.contains(&file)
            && err.contains(&format!("[{start}, {end})"))
            && err.contains("read again from the transcript"),
        "{err}"
    );
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), lines);
    assert_eq!(
        run_json(&env, &["cost", "--no-ingest"])["total"]["cost_usd"],
        cost
    );
    // and the chunk is whole again: export gives the file back
    assert_round_trip(&env, &env.projects(), "healed");
    // the transcript gone: its lines are left out, said, exit 1
    assert_eq!(damage(), 1);
    std::fs::remove_file(&file).unwrap();
    let (s, err) = full_rebuild(&env, 1);
    assert_rebuilt(&s, 0, 1);
    assert!(
        err.contains(&file)
            && err.contains(&format!("[{start}, {end})"))
            && err.contains("the transcript is gone or has changed since")
            && err.contains("1 chunk of stored lines could not be read"),
        "{err}"
    );
    let db = env.db();
    assert_eq!(count(&db, "SELECT count(*) FROM lines"), lines - in_chunk);
    // (the chunk holds a response: healed above, its cost was kept)
    assert_ne!(
        run_json(&env, &["cost", "--no-ingest"])["total"]["cost_usd"],
        cost
    );
    common::assert_references(&db);
    drop(db);
    // status says so, until a rebuild finds the chunk whole again
    assert_eq!(run_json(&env, &["status"])["raw_chunks_damaged"], 1);
    let text = stdout(&env, &["status"]);
    assert!(
        text.contains("Damaged         1 stored chunk that the last rebuild from the stored lines"),
        "{text}"
    );
    // (and the way back: the status is narrow, so the words wrap)
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("with their transcripts back in place, `ingest --full` reads them again"),
        "{text}"
    );
    std::fs::write(&file, &original).unwrap();
    assert_rebuilt(&run_json(&env, &["ingest", "--full"]), 1, 0);
    assert_eq!(run_json(&env, &["status"])["raw_chunks_damaged"], 0);
    assert_eq!(
        run_json(&env, &["cost", "--no-ingest"])["total"]["cost_usd"],
        cost
    );
}

/// Every chunk damaged (as a damaged dictionary leaves them): the first
/// ten are named, the rest counted in one line; an older generation's
/// chunk says why it cannot be read again.
#[test]
fn a_rebuild_names_ten_damaged_chunks_and_counts_the_rest() {
    let env = Env::with_fixture("data");
    reading_sessions(&env, 12, 8 << 10);
    env.ingest();
    // one file replaced (other first bytes): its first generation is kept
    let keep = env.projects().join("-home-u-keep/sess-keep-0006.jsonl");
    let line = r#"{"type":"user","uuid":"n-1","sessionId":"sess-keep-0006","timestamp":"2026-03-16T10:00:00.000Z","message":{"role":"user","content":"new"}}"#;
    std::fs::write(&keep, format!("{line}\n")).unwrap();
    env.ingest();
    let db = env.db();
    let chunks = count(&db, "SELECT count(*) FROM raw_chunks");
    assert!(chunks > 12, "{chunks}");
    db.execute("UPDATE raw_chunks SET data = x'28b52ffd0badc0de'", [])
        .unwrap();
    drop(db);
    let (s, err) = full_rebuild(&env, 1);
    assert_rebuilt(&s, chunks as u64 - 1, 1);
    assert_eq!(
        err.matches("do not decompress (not a zstd frame)").count(),
        10,
        "{err}"
    );
    assert!(
        err.contains("sess-keep-0006.jsonl: the stored bytes [0, 937) do not decompress (not a zstd frame), and they are of an older generation of the file (it was replaced since)"),
        "{err}"
    );
    assert!(
        err.contains(&format!("... and {} more stored chunks that do not decompress (as above: {} read again from their transcripts in all, 1 left out)", chunks - 10, chunks - 1)),
        "{err}"
    );
}

#[test]
fn forget_says_which_sessions_stay_visible_through_copies() {
    let env = Env::with_fixture("basic");
    env.ingest();
    let text = stdout(&env, &["forget", "--session", "sess-main", "--yes"]);
    assert!(
        text.contains("so sess-main-0001 still shows in `sessions` and `show`")
            && text.contains("sess-resume-0002.jsonl"),
        "{text}"
    );
}

/// Two lines of session s1: a prompt and a $0.018 Sonnet 4.5 response
/// (1,000 tokens in at $3, 1,000 out at $15 per million).
fn s1_lines(session_of_response: &str, response_at: &str) -> String {
    let prompt = r#"{"type":"user","sessionId":"s1","uuid":"11111111-0000-4000-8000-000000000001","timestamp":"2026-12-01T10:00:00.000Z","cwd":"/w","message":{"role":"user","content":"secret prompt"}}"#;
    format!(
        r#"{prompt}
{{"type":"assistant","sessionId":"{session_of_response}","uuid":"11111111-0000-4000-8000-000000000002","timestamp":"{response_at}","cwd":"/w","message":{{"id":"msg_1","model":"claude-sonnet-4-5","role":"assistant","content":[{{"type":"text","text":"ok"}}],"stop_reason":"end_turn","usage":{{"input_tokens":1000,"output_tokens":1000}}}}}}
"#
    )
}

/// A file whose every line is a copy of lines stored from another file has
/// no rows of its own (its lines are stored once, with the original): a
/// project folder copied beside itself, `s1 copy.jsonl`. Forgetting the
/// session takes those files too; kept, they gave the whole session back
/// (prompt text and cost) once the original had gone.
#[test]
fn forget_takes_a_file_that_only_copies_the_session() {
    for how in ["folder copied", "file copied"] {
        let env = Env::new();
        let dir = env.project_dir("-w");
        std::fs::write(
            dir.join("s1.jsonl"),
            s1_lines("s1", "2026-12-01T10:00:05.000Z"),
        )
        .unwrap();
        env.ingest();
        if how == "file copied" {
            std::fs::copy(dir.join("s1.jsonl"), dir.join("s1 copy.jsonl")).unwrap();
        } else {
            common::copy_dir(&dir, &env.projects().join("-w-copy"));
        }
        env.ingest();
        // (the plan names a copy not named after the session)
        let plan = stdout(&env, &["forget", "--session", "s1", "--dry-run"]);
        assert_eq!(
            plan.contains(
                "Among them, files not named after these sessions, whose lines are all theirs:\n"
            ) && plan.contains("/s1 copy.jsonl\n"),
            how == "file copied",
            "{how}: {plan}"
        );
        let v = run_json(&env, &["forget", "--session", "s1", "--yes"]);
        assert_eq!(
            (&v["files"], &v["lines"]),
            (&json!(2), &json!(4)),
            "{how}: {v}"
        );
        assert_eq!(v["shared_files"], json!([]), "{how}: {v}");
        assert_eq!(
            (&v["responses_removed"], &v["cost_usd_removed"]),
            (&json!(1), &json!("0.018")),
            "{how}: {v}"
        );
        for _ in 0..2 {
            let s = run_json(&env, &["sessions"]);
            assert_eq!(s["rows"], json!([]), "{how}: {s}");
            let db = env.db();
            assert_eq!(count(&db, "SELECT count(*) FROM lines"), 0, "{how}");
            assert_eq!(count(&db, "SELECT count(*) FROM raw_chunks"), 0, "{how}");
            drop(db);
            // (and a rebuild does not bring it back)
            env.cmd()
                .args(["ingest", "--full", "-q"])
                .assert()
                .success();
        }
    }
}

/// Every file that stays but holds lines of a forgotten session is named,
/// in the plan as after: three files, one in another folder, that each copy
/// the session's lines and add their own (a copied line is modelled in one
/// of them only).
#[test]
fn forget_names_every_kept_file_holding_copies() {
    let env = Env::new();
    let dir = env.project_dir("-w");
    let s1 = s1_lines("s1", "2026-12-01T10:00:05.000Z");
    std::fs::write(dir.join("s1.jsonl"), &s1).unwrap();
    for (name, mine) in [("mixA", "a0"), ("mixB", "b0")] {
        let own = format!(
            r#"{{"type":"user","sessionId":"s2","uuid":"{mine}","timestamp":"2026-12-02T10:00:00.000Z","cwd":"/w","message":{{"role":"user","content":"{name}"}}}}"#
        );
        std::fs::write(dir.join(format!("{name}.jsonl")), format!("{s1}{own}\n")).unwrap();
    }
    // and one more in another folder (a folder copied, the session resumed
    // there)
    let x = env.projects().join("-x");
    std::fs::create_dir_all(&x).unwrap();
    std::fs::write(
        x.join("mixC.jsonl"),
        format!(
            r#"{s1}{{"type":"user","sessionId":"s3","uuid":"c0","timestamp":"2026-12-02T10:00:00.000Z","cwd":"/x","message":{{"role":"user","content":"mixC"}}}}
"#
        ),
    )
    .unwrap();
    env.ingest();
    let shared = |v: &Value| -> Vec<String> {
        v["shared_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = f["file"].as_str().unwrap();
                p.rsplit('/').next().unwrap().to_owned()
            })
            .collect()
    };
    let dry = run_json(&env, &["forget", "--session", "s1", "--dry-run"]);
    assert_eq!(
        shared(&dry),
        ["mixA.jsonl", "mixB.jsonl", "mixC.jsonl"],
        "{dry}"
    );
    let done = run_json(&env, &["forget", "--session", "s1", "--yes"]);
    assert_eq!(
        shared(&done),
        ["mixA.jsonl", "mixB.jsonl", "mixC.jsonl"],
        "{done}"
    );
}

/// A forgotten file whose later lines are kept, then deleted by Claude
/// Code, is a file status says is no longer on disk (its lines are kept);
/// one with nothing kept is not.
#[test]
fn status_counts_a_gone_file_by_the_lines_kept_of_it() {
    let env = Env::new();
    let dir = env.project_dir("-w");
    for s in ["s1", "s2"] {
        std::fs::write(
            dir.join(format!("{s}.jsonl")),
            s1_lines("s1", "2026-12-01T10:00:05.000Z").replace("s1", s),
        )
        .unwrap();
    }
    env.ingest();
    for s in ["s1", "s2"] {
        run_json(&env, &["forget", "--session", s, "--yes"]);
    }
    let later = r#"{"type":"user","sessionId":"s1","uuid":"later-1","timestamp":"2026-12-03T10:00:00.000Z","cwd":"/w","message":{"role":"user","content":"new activity"}}"#;
    common::append(dir.join("s1.jsonl"), format!("{later}\n").as_bytes());
    env.ingest();
    std::fs::remove_file(dir.join("s1.jsonl")).unwrap();
    std::fs::remove_file(dir.join("s2.jsonl")).unwrap();
    let status = run_json(&env, &["status"]);
    assert_eq!(
        (&status["files_gone"], &status["lines"]),
        (&json!(1), &json!(1)),
        "{status}"
    );
}

/// A response Claude Code copied into a resumed session's file (with that
/// session's id and the resume's time) stays counted, for the resumed
/// session: forget says so rather than count it as deleted.
#[test]
fn forget_says_what_left_the_totals() {
    let env = Env::new();
    let dir = env.project_dir("-w");
    std::fs::write(
        dir.join("s1.jsonl"),
        s1_lines("s1", "2026-12-01T10:00:05.000Z"),
    )
    .unwrap();
    std::fs::write(
        dir.join("s2.jsonl"),
        s1_lines("s2", "2026-12-03T09:00:00.000Z"),
    )
    .unwrap();
    env.ingest();
    let dry = run_json(&env, &["forget", "--session", "s1", "--dry-run"]);
    assert_eq!(
        (&dry["responses"], &dry["cost_usd"]),
        (&json!(1), &json!("0.018"))
    );
    assert_eq!(dry["responses_removed"], Value::Null);
    let text = stdout(&env, &["forget", "--session", "s1", "--yes"]);
    assert!(
        text.contains("1 file, 2 lines, 0 responses ($0.00); ")
            && text.contains("1 response of theirs ($0.02) still counts in the totals"),
        "{text}"
    );
    let cost = run_json(&env, &["cost", "--by-session"]);
    assert_eq!(cost["total"]["cost_usd"], "0.018");
    assert_eq!(cost["rows"][0]["session_id"], "s2", "{cost}");
}

/// A transcript edited in place (a secret redacted) is read again from its
/// start as a new generation, and the earlier one's lines stay (nothing is
/// lost): its prompt counts twice and its text stays the title. `forget
/// --replaced` drops the earlier versions, of one session's files or of
/// all, and what is left equals a fresh ingest of the files as they are.
#[test]
fn forget_replaced_drops_the_earlier_versions_of_edited_transcripts() {
    let env = Env::new();
    let dir = env.project_dir("-w");
    let secret = s1_lines("s1", "2026-12-01T10:00:05.000Z")
        .replace("secret prompt", "my password is hunter2");
    std::fs::write(dir.join("s1.jsonl"), &secret).unwrap();
    let other = secret
        .replace("\"s1\"", "\"s2\"")
        .replace("11111111-", "22222222-")
        .replace("msg_1", "msg_2");
    std::fs::write(dir.join("s2.jsonl"), &other).unwrap();
    env.ingest();
    for (f, text) in [("s1.jsonl", &secret), ("s2.jsonl", &other)] {
        std::fs::write(
            dir.join(f),
            text.replace("my password is hunter2", "[REDACTED]"),
        )
        .unwrap();
    }
    env.ingest();
    let titles = |env: &Env| -> Vec<(Value, Value)> {
        let v = run_json(env, &["sessions", "--no-ingest"]);
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["title"].clone(), r["user_prompts"].clone()))
            .collect()
    };
    assert_eq!(
        titles(&env),
        [
            (json!("my password is hunter2"), json!(2)),
            (json!("my password is hunter2"), json!(2))
        ]
    );
    // (a watcher that ran meanwhile logged the prompts, secret and all)
    for s in ["s1", "s2"] {
        env.db()
            .execute(
                "INSERT INTO watch_events(session_id, event) VALUES (?1, ?2)",
                [
                    s,
                    &format!(
                        r#"{{"event":"message","session_id":"{s}","text":"my password is hunter2"}}"#
                    ),
                ],
            )
            .unwrap();
    }
    // one session's files
    let dry = run_json(
        &env,
        &["forget", "--replaced", "--session", "s1", "--dry-run"],
    );
    assert_eq!(
        (
            &dry["replaced_only"],
            &dry["sessions"],
            &dry["files"],
            &dry["lines"],
            &dry["forgotten"]
        ),
        (&json!(true), &json!(0), &json!(1), &json!(2), &json!(false)),
        "{dry}"
    );
    // (what leaves the totals is known once done)
    assert_eq!(
        (&dry["responses"], &dry["cost_usd"]),
        (&Value::Null, &Value::Null)
    );
    let text = stdout(&env, &["forget", "--replaced", "--session", "s1", "--yes"]);
    assert!(
        text.starts_with("Forgot 1 replaced generation of 1 file: 2 lines, 0 responses ($0.00) out of the totals; "),
        "{text}"
    );
    assert_eq!(run_json(&env, &["status"])["files_superseded"], 1);
    assert_eq!(
        common::strings(&env.db(), "SELECT session_id FROM watch_events"),
        ["s2"]
    );
    // then every file's
    let v = run_json(&env, &["forget", "--replaced", "--yes"]);
    assert_eq!(
        (&v["files"], &v["responses_removed"]),
        (&json!(1), &json!(0)),
        "{v}"
    );
    assert_eq!(
        titles(&env),
        [
            (json!("[REDACTED]"), json!(1)),
            (json!("[REDACTED]"), json!(1))
        ]
    );
    let status = run_json(&env, &["status"]);
    assert_eq!(
        (&status["files_superseded"], &status["lines"]),
        (&json!(0), &json!(4))
    );
    // nothing of the secret is left in the database: no line or raw chunk
    // of a replaced generation (the chunks are compressed: a byte search
    // of the file finds only what is stored as text), nothing as text, and
    // nothing in what export gives back of every generation
    let db = env.db();
    for t in ["lines", "raw_chunks"] {
        assert_eq!(
            count(
                &db,
                &format!(
                    "SELECT count(*) FROM {t} WHERE file_id IN (SELECT id FROM source_files WHERE superseded = 1)"
                )
            ),
            0,
            "{t}"
        );
    }
    drop(db);
    for suffix in ["", "-wal"] {
        let mut p = env.db_path().into_os_string();
        p.push(suffix);
        let bytes = std::fs::read(&p).unwrap_or_default();
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"), "{p:?}");
    }
    let out = env.dir.path().join("exported");
    run_json(
        &env,
        &[
            "export",
            "--all-generations",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    for (path, bytes) in jsonl_files(&out) {
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"), "{path:?}");
        assert!(bytes.windows(10).any(|w| w == b"[REDACTED]"), "{path:?}");
    }
    // the same as a fresh ingest of the files as they are
    let fresh = env.dir.path().join("fresh");
    for args in [
        &["sessions", "--json"][..],
        &["cost", "--by-session", "--json"],
    ] {
        let here = env.cmd().args(args).arg("--no-ingest").assert().success();
        let there = env
            .cmd()
            .env("OBSERVATORY_HOME", &fresh)
            .args(args)
            .assert()
            .success();
        assert_eq!(
            String::from_utf8_lossy(&here.get_output().stdout),
            String::from_utf8_lossy(&there.get_output().stdout),
            "{args:?}"
        );
    }
    // and nothing is left to forget
    let out = env
        .cmd()
        .args(["forget", "--replaced", "--yes"])
        .assert()
        .success();
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .contains("Nothing to forget: no replaced generation of a matching file is stored."),
    );
}

/// A resumed session's file, read before the original's, holds copies of
/// the original's user lines with the original's session id (their
/// message rows are that session's, their content blocks on lines of the
/// kept file): forgetting the original went ahead with them too (it
/// refused: "rows of content_blocks pointing at deleted message_rows").
#[test]
fn forget_of_a_session_whose_lines_a_resumed_file_copied_first() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-p");
    let (old, new) = (
        "b0000000-0000-4000-8000-00000000000b",
        "a0000000-0000-4000-8000-00000000000a",
    );
    let line = |session: &str, uuid: &str, ts: &str, body: &str| {
        format!(
            r#"{{"type":"{}","sessionId":"{session}","cwd":"/home/u/p","uuid":"{uuid}","timestamp":"2026-03-01T{ts}.000Z","message":{body}}}"#,
            if body.contains("\"assistant\"") {
                "assistant"
            } else {
                "user"
            }
        )
    };
    let result = r#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}"#;
    let call = r#"{"role":"assistant","id":"msg_1","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":5}}"#;
    let original = [
        line(old, "u1", "10:00:00", r#"{"role":"user","content":"go"}"#),
        line(old, "a1", "10:00:01", call),
        line(old, "u2", "10:00:02", result),
    ];
    // the copies: user lines with their session and time, the assistant's
    // with the resumed session's, at the resume
    let resumed = [
        line(
            old,
            "u1",
            "10:00:00",
            r#"{"role":"user","content":[{"type":"text","text":"go"}]}"#,
        ),
        line(new, "a1", "12:00:00", call),
        line(old, "u2", "10:00:02", result),
        line(
            new,
            "u3",
            "12:01:00",
            r#"{"role":"user","content":"and more"}"#,
        ),
    ];
    std::fs::write(dir.join(format!("{old}.jsonl")), original.join("\n") + "\n").unwrap();
    std::fs::write(dir.join(format!("{new}.jsonl")), resumed.join("\n") + "\n").unwrap();
    env.ingest();
    let v = run_json(&env, &["forget", "--session", old, "--yes"]);
    assert_eq!(v["forgotten"], true, "{v}");
    // the original's file is gone; the resumed session keeps its prompt,
    // its response and the copied call
    let db = env.db();
    assert_eq!(
        common::strings(&db, "SELECT path FROM source_files f WHERE NOT EXISTS (SELECT 1 FROM forgotten_files g WHERE g.file_id = f.id)")
            .iter()
            .map(|p| p.ends_with(&format!("{new}.jsonl")))
            .collect::<Vec<_>>(),
        [true]
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM messages WHERE session_id = '{new}' AND is_prompt = 1")
        ),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM responses"), 1);
    common::assert_references(&db);
}

/// A chunk damaged in its middle (its frame's header and checksum intact)
/// is healed from its transcript only when the bytes there are still those
/// stored: a same-length edit in the middle of the file keeps its first
/// bytes, the bytes before its cursor and its line count, but not the
/// checksum the chunk ends with, and is not stored as if it were the
/// original.
#[test]
fn a_damaged_chunk_is_not_healed_from_a_transcript_edited_in_its_middle() {
    let env = Env::new();
    let dir = env.project_dir("-home-u-mid");
    let f = dir.join("sess-mid-0001.jsonl");
    let original: String = (0..60)
        .map(|i| {
            format!(
                "{{\"type\":\"user\",\"uuid\":\"m-{i:02}\",\"sessionId\":\"sess-mid-0001\",\"timestamp\":\"2026-03-01T10:{i:02}:00.000Z\",\"cwd\":\"/home/u/mid\",\"message\":{{\"role\":\"user\",\"content\":\"line {i:02} {}\"}}}}\n",
                "x".repeat(200)
            )
        })
        .collect();
    assert!(original.len() > 3 * 4096);
    std::fs::write(&f, &original).unwrap();
    env.ingest();
    let damage = || {
        // one byte in the middle of the (only) chunk's frame
        let db = env.db();
        let mut data: Vec<u8> = db
            .query_row("SELECT data FROM raw_chunks", [], |r| r.get(0))
            .unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0x5a;
        db.execute("UPDATE raw_chunks SET data = ?1", [data])
            .unwrap()
    };
    assert_eq!(damage(), 1);
    // line 30 (of 60), same length: the file's ends and line count hold
    let edited = original.replacen("line 30 xxx", "line 30 yyy", 1);
    assert_eq!(edited.len(), original.len());
    std::fs::write(&f, &edited).unwrap();
    let (s, err) = full_rebuild(&env, 1);
    assert_rebuilt(&s, 0, 1);
    assert!(
        err.contains("the transcript is gone or has changed since"),
        "{err}"
    );
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), 0);
    // the bytes as stored again: healed, every line back
    std::fs::write(&f, &original).unwrap();
    let (s, _) = full_rebuild(&env, 0);
    assert_rebuilt(&s, 1, 0);
    assert_eq!(count(&env.db(), "SELECT count(*) FROM lines"), 60);
    let out = env.dir.path().join("out-mid");
    run_json(&env, &["export", "--out", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("projects/-home-u-mid/sess-mid-0001.jsonl")).unwrap(),
        original
    );
}

/// A run makes a file's row before reading it (the dictionary's sample
/// opens rows for every file up to the last one sampled); a file deleted
/// or moved before the run reaches it leaves that row never read, holding
/// nothing. It is not a tracked file (status), and export writes no empty
/// transcript for it.
#[test]
fn a_file_gone_before_it_was_read_is_neither_tracked_nor_exported() {
    let env = Env::with_fixture("data");
    env.ingest();
    let tracked = run_json(&env, &["status"])["files_tracked"].clone();
    let gone = env.projects().join("-home-u-vault/moved-away.jsonl");
    let db = env.db();
    let root: String = db
        .query_row("SELECT root FROM source_files LIMIT 1", [], |r| r.get(0))
        .unwrap();
    // (the row as the dictionary's sample makes it: no cursor, never read)
    db.execute(
        "INSERT INTO source_files(path, root, project_dir, kind, generation, first_seen_at)
         VALUES (?1, ?2, '-home-u-vault', 'session', 0, 0)",
        [gone.to_str().unwrap(), &root],
    )
    .unwrap();
    drop(db);
    env.ingest();
    let s = run_json(&env, &["status"]);
    assert_eq!(s["files_tracked"], tracked, "{s}");
    assert_eq!(s["files_gone"], 0, "{s}");
    let v = assert_round_trip(&env, &env.projects(), "out");
    assert_eq!(v["skipped_forgotten"], 0, "{v}");
}
