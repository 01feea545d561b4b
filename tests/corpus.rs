//! Real and generated transcripts from `../shared` (present in CI, absent in
//! a user's clone: then these tests print why and pass without checking).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as StdCommand;

use common::{Env, assert_accounting, assert_references, count, dump};

#[test]
fn public_corpus_ingests_with_the_invariant_and_idempotence() {
    let shared = require_shared!();
    let env = Env::new();
    std::fs::remove_dir(env.projects()).unwrap();
    std::os::unix::fs::symlink(shared.join("corpus/public"), env.projects()).unwrap();
    let out = env.cmd().args(["ingest", "--json"]).assert().success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_accounting(&s);
    assert!(s["files_seen"].as_u64().unwrap() > 200, "{s}");
    assert!(s["responses_new"].as_u64().unwrap() > 900, "{s}");
    // every physical non-blank line has a row
    let db = env.db();
    assert_eq!(
        count(&db, "SELECT count(*) FROM lines") as u64,
        s["lines_read"].as_u64().unwrap()
    );
    // the ingest writes with foreign keys unchecked: every reference holds
    assert_references(&db);
    common::assert_messages_match_lines(&shared.join("corpus/public"), &db);
    let before = dump(&db);
    let again = env.ingest();
    assert_eq!(
        (again["bytes_read"].as_u64(), again["lines_read"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(dump(&db), before);
    // the stored bytes give every file back exactly
    let mut st = db
        .prepare("SELECT f.path, group_concat(hex(c.data), ',') FROM source_files f JOIN raw_chunks c ON c.file_id = f.id GROUP BY f.id")
        .unwrap();
    let files: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (path, hexes) in files {
        let mut bytes = Vec::new();
        for h in hexes.split(',') {
            let compressed: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            bytes.extend(zstd::stream::decode_all(&compressed[..]).unwrap());
        }
        let original = std::fs::read(&path).unwrap();
        // a held-back incomplete last line is not stored
        assert!(original.starts_with(&bytes), "{path}");
        assert!(original.len() - bytes.len() < 4096, "{path}");
    }
}

/// Per-model totals in gen-corpus's manifest equal ours.
#[test]
fn generated_corpus_matches_the_manifest() {
    let shared = require_shared!();
    let env = Env::new();
    let out_dir = env.dir.path().join("gen");
    let status = StdCommand::new(shared.join("tools/gen-corpus"))
        .args(["--out"])
        .arg(&out_dir)
        .args([
            "--size",
            "20M",
            "--seed",
            "7",
            "--malformed-rate",
            "0.001",
            "--files",
            "60",
            "--projects",
            "6",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run gen-corpus");
    assert!(status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("manifest.json")).unwrap()).unwrap();
    let out = env
        .cmd()
        .env("CLAUDE_CONFIG_DIR", &out_dir)
        .args(["ingest", "--json", "-q"])
        .assert()
        .success();
    let s: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_accounting(&s);
    assert_eq!(s["responses_new"], manifest["responses"]);
    assert_eq!(s["malformed_lines"], manifest["malformed_lines"]);
    assert_eq!(s["lines_read"], manifest["lines"]);
    assert_eq!(s["records_by_type"], manifest["lines_by_type"]);
    let db = env.db();
    let mut ours = BTreeMap::new();
    let mut st = db
        .prepare(
            "SELECT model, count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_tokens),
                    sum(cache_creation_1h_tokens), sum(cache_read_tokens), sum(web_search_requests)
             FROM responses GROUP BY model",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| {
            let names = [
                "requests",
                "input_tokens",
                "output_tokens",
                "cache_creation_5m_tokens",
                "cache_creation_1h_tokens",
                "cache_read_tokens",
                "web_search_requests",
            ];
            let mut m = serde_json::Map::new();
            for (i, n) in names.iter().enumerate() {
                m.insert(
                    (*n).to_owned(),
                    serde_json::Value::from(r.get::<_, i64>(i + 1)?),
                );
            }
            Ok((r.get::<_, String>(0)?, serde_json::Value::Object(m)))
        })
        .unwrap();
    for row in rows {
        let (model, v) = row.unwrap();
        ours.insert(model, v);
    }
    let theirs: BTreeMap<String, serde_json::Value> = manifest["models"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(ours, theirs);
    // total == sum of rows, exactly, for every grouping
    for group in [
        "--by-model",
        "--by-day",
        "--by-week",
        "--by-month",
        "--by-project",
        "--by-session",
        "--by-branch",
        "--by-agent",
    ] {
        let out = env
            .cmd()
            .args([
                "cost",
                group,
                "--json",
                "--no-ingest",
                "--tz",
                "America/New_York",
            ])
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let rows = v["rows"].as_array().unwrap();
        assert!(!rows.is_empty());
        let sum: rust_decimal::Decimal = rows
            .iter()
            .filter_map(|r| r["cost_usd"].as_str())
            .map(|c| c.parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        let total: rust_decimal::Decimal =
            v["total"]["cost_usd"].as_str().unwrap().parse().unwrap();
        assert_eq!(sum, total, "{group}");
        let requests: u64 = rows.iter().map(|r| r["requests"].as_u64().unwrap()).sum();
        assert_eq!(requests, manifest["responses"].as_u64().unwrap(), "{group}");
    }
    // a rebuild from the raw lines lands on the same tables
    let before = dump(&db);
    env.cmd()
        .env("CLAUDE_CONFIG_DIR", &out_dir)
        .args(["ingest", "--full", "-q"])
        .assert()
        .success();
    assert_eq!(dump(&db), before);
    assert!(Path::new(&out_dir).exists());
}
