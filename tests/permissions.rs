//! Permissions: a database (or its folder) this user cannot write, and a
//! transcript folder it cannot read.
//!
//! root ignores file modes, so when the tests run as root (CI, containers)
//! observatory runs as `nobody` (uid/gid 65534) through `setpriv`, on a temp
//! dir handed to that user; when neither works the test is skipped with a
//! printed reason.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command as StdCommand, Output};

use common::Env;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

const NOBODY: u32 = 65534;

/// How observatory is run so that file modes apply to it.
enum Runner {
    /// We are not root: modes apply to us.
    Direct,
    /// We are root: run it as nobody.
    AsNobody,
}

/// The effective uid of this process (the owner of a file it creates).
fn euid(dir: &Path) -> u32 {
    let probe = dir.join(".euid-probe");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    uid
}

impl Runner {
    /// Set up `env` for running as someone file modes apply to, or None
    /// (with the reason printed) when this machine cannot.
    fn new(env: &Env) -> Option<Runner> {
        if euid(env.dir.path()) != 0 {
            return Some(Runner::Direct);
        }
        // root: hand the temp dir to nobody and check setpriv can run us
        chown_tree(env.dir.path(), NOBODY);
        std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = assert_cmd::cargo::cargo_bin!("observatory");
        let ok = StdCommand::new("setpriv")
            .args(setpriv_args())
            .arg(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!(
                "skipped: running as root, and `setpriv` cannot run {} as uid {NOBODY} (is setpriv installed, and the binary's path readable by others?)",
                bin.display()
            );
            return None;
        }
        Some(Runner::AsNobody)
    }

    /// observatory with the test's isolated environment.
    fn run(&self, env: &Env, args: &[&str]) -> Output {
        self.command(env, args).output().expect("run observatory")
    }

    /// `run`, with `stdin` written to it.
    fn run_with_stdin(&self, env: &Env, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command(env, args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run observatory");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().expect("run observatory")
    }

    fn command(&self, env: &Env, args: &[&str]) -> StdCommand {
        let mut c = match self {
            Runner::Direct => env.std_cmd(),
            Runner::AsNobody => {
                let mut c = StdCommand::new("setpriv");
                c.args(setpriv_args())
                    .arg(assert_cmd::cargo::cargo_bin!("observatory"))
                    .env_clear();
                if let Some(path) = std::env::var_os("PATH") {
                    c.env("PATH", path);
                }
                for (k, v) in env.vars() {
                    c.env(k, v);
                }
                c
            }
        };
        c.args(args);
        c
    }

    /// Files the test makes must belong to whoever runs observatory.
    fn own(&self, path: &Path) {
        if let Runner::AsNobody = self {
            chown_tree(path, NOBODY);
        }
    }
}

fn setpriv_args() -> [String; 3] {
    [
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".into(),
    ]
}

fn chown_tree(root: &Path, id: u32) {
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        std::os::unix::fs::lchown(e.path(), Some(id), Some(id)).unwrap();
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{o:?}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"))
}

fn integrity_ok(db: &Path) {
    // read-only and immutable: checking must not touch the folder either
    let uri = format!("file:{}?immutable=1", db.display());
    let c = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let r: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok");
}

/// A refused write: exit 1, `error:` naming the path and what to do, no panic.
fn refused(o: &Output, path: &Path) {
    let stderr = stderr_of(o);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(&format!("{} cannot be written", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("chmod u+w"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Reads still work: `cost --no-ingest` and `query` see the 7 responses
/// and `lines` stored lines.
fn reads_work(run: &Runner, env: &Env, lines: i64) {
    let v = json_of(&run.run(env, &["cost", "--no-ingest", "--json", "-q"]));
    assert_eq!(v["total"]["requests"], 7);
    let v = json_of(&run.run(env, &["query", "--json", "SELECT count(*) AS n FROM lines"]));
    assert_eq!(v["rows"][0]["n"], lines);
    let o = run.run(env, &["status"]);
    assert!(o.status.success(), "{o:?}");
    // a dry run of forget only reads: no lock file needed
    let o = run.run(
        env,
        &[
            "forget",
            "--dry-run",
            "--no-ingest",
            "--before",
            "2030-01-01",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Nothing was deleted"),
        "{o:?}"
    );
    // export and backup only read it too (an archive kept read-only)
    let free = |stem: &str| {
        (0..)
            .map(|i| env.dir.path().join(format!("{stem}-{i}")))
            .find(|p| !p.exists())
            .unwrap()
    };
    let out = free("export");
    let v = json_of(&run.run(env, &["export", "--out", out.to_str().unwrap(), "--json"]));
    assert_eq!(v["files"], 5, "{v}");
    let copy = free("backup");
    let v = json_of(&run.run(env, &["backup", copy.to_str().unwrap(), "--json"]));
    assert_eq!(v["schema_version"], 33, "{v}");
    integrity_ok(&copy);
    let copied = Connection::open(&copy).unwrap();
    assert_eq!(common::count(&copied, "SELECT count(*) FROM lines"), lines);
}

#[test]
fn a_read_only_database_refuses_writes_clearly_and_still_serves_reads() {
    let env = Env::with_fixture("basic");
    let Some(run) = Runner::new(&env) else {
        return;
    };
    assert!(run.run(&env, &["ingest", "-q"]).status.success());
    let db = env.db_path();
    let folder = env.obs_home();
    // one more line to read, so that ingest has something to write
    let session = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    let mut text = std::fs::read_to_string(&session).unwrap();
    text.push_str(
        "{\"type\":\"user\",\"uuid\":\"perm-1\",\"sessionId\":\"sess-resume-0002\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\n",
    );
    std::fs::write(&session, text).unwrap();
    run.own(&session);

    // 1. the file is read-only (0400)
    chmod(&db, 0o400);
    refused(&run.run(&env, &["ingest"]), &db);
    // (commands that only write say it in the same words)
    refused(&run.run(&env, &["reprice"]), &db);
    refused(&run.run(&env, &["budget", "set", "--daily", "5"]), &db);
    refused(&run.run(&env, &["budget", "rm", "1"]), &db);
    let o = run.run(&env, &["cost"]);
    refused(&o, &db);
    assert!(stderr_of(&o).contains("--no-ingest"), "{o:?}");
    // a --pricing what-if prices in the database, in a transaction it
    // rolls back: not here, said so
    let what_if = env.dir.path().join("what-if.toml");
    std::fs::write(
        &what_if,
        "[models.claude-sonnet-4-5-20250929]\n[[models.claude-sonnet-4-5-20250929.rates]]\ninput = \"6\"\noutput = \"30\"\ncache_write_5m = \"7.5\"\ncache_write_1h = \"12\"\ncache_read = \"0.6\"\n",
    )
    .unwrap();
    run.own(&what_if);
    let o = run.run(
        &env,
        &[
            "cost",
            "--no-ingest",
            "--pricing",
            what_if.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stderr_of(&o).contains("cannot price this report with --pricing")
            && stderr_of(&o).contains("run it without --pricing to see the stored costs"),
        "{o:?}"
    );
    reads_work(&run, &env, 33);
    integrity_ok(&db);
    // reading left nothing read-only behind: once writable, ingest works
    for f in ["observatory.db-wal", "observatory.db-shm"] {
        assert!(!folder.join(f).exists(), "{f} left behind");
    }

    // 2. the file is writable but its folder is not (0500): SQLite cannot
    //    create the WAL files beside it
    chmod(&db, 0o600);
    chmod(&folder, 0o500);
    refused(&run.run(&env, &["ingest"]), &db);
    reads_work(&run, &env, 33);
    integrity_ok(&db);

    // 3. made writable again, the next ingest reads the new line
    chmod(&folder, 0o700);
    let v = json_of(&run.run(&env, &["ingest", "--json"]));
    assert_eq!(v["lines_read"], 1);
    integrity_ok(&db);
}

/// A database of an older schema (fixtures/db-v1, schema 1) that this user
/// cannot write: every command that reads it says it cannot be upgraded
/// there and what to do, instead of SQLite's "no such table" (reports with
/// --no-ingest, which `cost`'s refusal suggested) or a hint that cannot work.
#[test]
fn a_read_only_database_of_an_older_schema_says_so_for_every_report() {
    let env = Env::with_fixture("basic");
    let Some(run) = Runner::new(&env) else {
        return;
    };
    let db = env.db_path();
    std::fs::create_dir_all(env.obs_home()).unwrap();
    std::fs::copy(common::fixtures().join("db-v1/observatory.db"), &db).unwrap();
    run.own(&env.obs_home());
    // (the file itself read-only: make it writable; writable in a read-only
    // folder: the folder is named as what to fix, as ingest names it)
    let older = |o: &Output, folder: bool| {
        let stderr = stderr_of(o);
        assert_eq!(
            stderr.contains(&format!(
                "{} cannot be written: it or its folder is read-only",
                db.display()
            )),
            folder,
            "{stderr}"
        );
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        assert!(
            stderr.contains(&format!(
                "{} was written by an older observatory (schema 1) and cannot be upgraded here",
                db.display()
            )) && stderr.contains("chmod u+w")
                && !stderr.contains("no such table")
                && !stderr.contains("--no-ingest"),
            "{stderr}"
        );
    };
    // the file read-only, then (writable) its folder
    for (file, folder) in [(0o400, 0o700), (0o600, 0o500)] {
        chmod(&db, file);
        chmod(&env.obs_home(), folder);
        let f = folder == 0o500;
        older(&run.run(&env, &["cost"]), f);
        for report in [
            "cost", "sessions", "tools", "blocks", "hooks", "files", "commands",
        ] {
            older(&run.run(&env, &[report, "--no-ingest"]), f);
        }
        older(&run.run(&env, &["show", "--no-ingest", "sess"]), f);
        older(&run.run(&env, &["status"]), f);
    }
    chmod(&env.obs_home(), 0o700);
    chmod(&db, 0o600);
    assert_eq!(
        common::count(&Connection::open(&db).unwrap(), "PRAGMA user_version"),
        1,
        "left as it was"
    );
}

/// A folder this user cannot write and no database in it yet: refused in
/// the same words as a read-only database (it said "Permission denied"
/// twice, with nothing to do).
#[test]
fn a_read_only_folder_without_a_database_is_refused_clearly() {
    let env = Env::with_fixture("basic");
    let Some(run) = Runner::new(&env) else {
        return;
    };
    let folder = env.obs_home();
    std::fs::create_dir_all(&folder).unwrap();
    run.own(&folder);
    chmod(&folder, 0o500);
    refused(&run.run(&env, &["ingest"]), &env.db_path());
    assert!(!env.db_path().exists());
    // a path given, for a report: refused in those words alone, not first
    // said to be made there (tour-s33b L8: "no database at …: creating
    // it", then "cannot be written")
    let given = folder.join("new.db");
    let o = run.run(&env, &["cost", "--db", given.to_str().unwrap()]);
    refused(&o, &given);
    assert!(!stderr_of(&o).contains("creating it"), "{}", stderr_of(&o));
    assert!(!given.exists());
}

/// A database readable by others is warned of to its owner alone: another
/// user reading it cannot chmod it (nobody was told "chmod 600 it").
#[test]
fn only_the_owner_is_told_to_chmod_the_database() {
    let env = Env::with_fixture("basic");
    let out = env.cmd().args(["ingest", "-q"]).output().unwrap();
    assert!(out.status.success());
    let Some(run) = Runner::new(&env) else {
        return;
    };
    let db = env.db_path();
    let Runner::AsNobody = run else {
        eprintln!("skipped: not root, so no other user's database to read here");
        return;
    };
    // (Runner::new handed the tree to nobody: the database is root's again)
    std::os::unix::fs::lchown(&db, Some(0), Some(0)).unwrap();
    chmod(&db, 0o644);
    let o = run.run(&env, &["status"]);
    assert!(o.status.success(), "{}", stderr_of(&o));
    assert!(
        !stderr_of(&o).contains("readable by other users"),
        "{}",
        stderr_of(&o)
    );
    let o = env.cmd().args(["status"]).output().unwrap();
    assert!(
        stderr_of(&o).contains("readable by other users"),
        "{}",
        stderr_of(&o)
    );
}

/// `setup --apply` on a settings file in a folder this user cannot write:
/// refused saying what to do, the file as it was (a bare "Permission
/// denied" about the backup before).
#[test]
fn setup_in_a_read_only_folder_says_what_to_do() {
    let env = Env::new();
    let Some(run) = Runner::new(&env) else {
        return;
    };
    let folder = env.dir.path().join("claude-settings");
    std::fs::create_dir_all(&folder).unwrap();
    let settings = folder.join("settings.json");
    std::fs::write(&settings, "{\"model\": \"opus\"}\n").unwrap();
    run.own(&folder);
    chmod(&folder, 0o555);
    let out = run.run(
        &env,
        &[
            "setup",
            "claude-code",
            "--apply",
            "--settings",
            settings.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("its folder does not let this user write or replace it")
            && stderr.contains("so setup leaves")
            && stderr.contains("make it writable"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\"model\": \"opus\"}\n"
    );
}

/// The status line on a read-only database after a price change shows
/// the stored costs, quietly (it printed SQLite's "attempt to write a
/// readonly database" at every call: the re-price could never be stored).
#[test]
fn the_status_line_on_a_read_only_database_after_a_price_change_is_quiet() {
    let env = Env::with_fixture("basic");
    let Some(run) = Runner::new(&env) else {
        return;
    };
    assert!(run.run(&env, &["ingest", "-q"]).status.success());
    let pricing = env.obs_home().join("pricing.toml");
    std::fs::write(
        &pricing,
        "[models.claude-sonnet-4-5-20250929]\n[[models.claude-sonnet-4-5-20250929.rates]]\ninput = \"30\"\noutput = \"150\"\ncache_write_5m = \"37.5\"\ncache_write_1h = \"60\"\ncache_read = \"3\"\n",
    )
    .unwrap();
    run.own(&pricing);
    chmod(&env.db_path(), 0o400);
    // without a transcript, and with one that has nothing new
    let transcript = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let with_path =
        serde_json::json!({"session_id": "sess-main-0001", "transcript_path": transcript});
    for stdin in [
        r#"{"session_id": "sess-main-0001"}"#.to_owned(),
        with_path.to_string(),
    ] {
        let o = run.run_with_stdin(
            &env,
            &["statusline", "--format", "{session_cost}"],
            stdin.as_bytes(),
        );
        assert!(o.status.success(), "{o:?}");
        assert_eq!(stderr_of(&o), "", "{stdin}");
        assert!(String::from_utf8_lossy(&o.stdout).starts_with('$'), "{o:?}");
    }
}

#[test]
fn an_unreadable_folder_in_the_roots_is_named_and_the_rest_is_read() {
    let env = Env::with_fixture("basic");
    let secret = env.projects().join("-home-u-secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(
        secret.join("s.jsonl"),
        "{\"type\":\"user\",\"uuid\":\"sec-1\",\"sessionId\":\"sec\",\"message\":{\"role\":\"user\",\"content\":\"hidden\"}}\n",
    )
    .unwrap();
    let Some(run) = Runner::new(&env) else {
        return;
    };
    chmod(&secret, 0o000);
    let o = run.run(&env, &["ingest", "--json"]);
    chmod(&secret, 0o755); // so the temp dir can be removed whatever happens
    let v = json_of(&o);
    let stderr = stderr_of(&o);
    assert!(
        stderr.contains(&format!(
            "warning: {}: permission denied: make it readable by this user (chmod u+rx",
            secret.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(v["lines_read"], 33, "everything else is read");
    assert_eq!(v["files_failed"], 0);
    // a root that cannot be read is said to be that, not to lack projects/
    chmod(&secret, 0o000);
    let o = run.run(&env, &["ingest", "--claude-dir", secret.to_str().unwrap()]);
    chmod(&secret, 0o755);
    assert!(
        stderr_of(&o).contains("cannot be read (permission denied)"),
        "{}",
        stderr_of(&o)
    );
    // readable again: the next run reads it
    let v = json_of(&run.run(&env, &["ingest", "--json"]));
    assert_eq!(v["lines_read"], 1);
}

#[test]
fn an_unreadable_file_fails_the_run_only_when_no_file_can_be_read() {
    let env = Env::with_fixture("basic");
    let Some(run) = Runner::new(&env) else {
        return;
    };
    let locked = env.projects().join("-home-u-app/sess-resume-0002.jsonl");
    chmod(&locked, 0o000);
    let first = run.run(&env, &["ingest", "--json"]);
    // the others are read, the locked one is named, and the run passes
    assert!(first.status.success(), "{first:?}");
    let v = json_of(&first);
    assert_eq!(v["files_failed"], 1, "{v}");
    assert!(v["files_read"].as_u64().unwrap() > 0, "{v}");
    // named with what to do, not "the rest is read next time"
    assert!(
        stderr_of(&first).contains(&format!(
            "{}: permission denied: make it readable by this user",
            locked.display()
        )),
        "{}",
        stderr_of(&first)
    );
    let files: Vec<_> = walkdir::WalkDir::new(env.projects())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    // nothing changed: the readable files have nothing new, which is no
    // failure, so the run passes again (it said "none could be read"),
    // and the summary counts the files that had nothing new, of all the
    // files seen (as the JSON's files_seen: the count left the failed one
    // out, and changed from run to run)
    let again = run.run(&env, &["ingest"]);
    assert!(again.status.success(), "{again:?}");
    assert!(!stderr_of(&again).contains("none of the"), "{again:?}");
    let summary = String::from_utf8_lossy(&again.stdout).to_string();
    let seen = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
        .count();
    assert!(
        summary.contains(&format!(
            "Nothing new in {} of {seen} transcript files (",
            seen - 1
        )) && summary.contains("1 file could not be read"),
        "{summary}"
    );
    // a file already read that grew, then lost its permissions: the same
    // words (it fails when its first bytes are checked, before the read)
    let grown = env.projects().join("-home-u-app/sess-main-0001.jsonl");
    let mut text = std::fs::read_to_string(&grown).unwrap();
    text.push_str("{\"type\":\"user\",\"uuid\":\"grew-1\",\"sessionId\":\"sess-main-0001\",\"message\":{\"role\":\"user\",\"content\":\"more\"}}\n");
    std::fs::write(&grown, text).unwrap();
    chmod(&grown, 0o000);
    let o = run.run(&env, &["ingest"]);
    chmod(&grown, 0o644);
    assert!(
        stderr_of(&o).contains(&format!(
            "{}: permission denied: make it readable by this user",
            grown.display()
        )),
        "{}",
        stderr_of(&o)
    );
    assert!(json_of(&run.run(&env, &["ingest", "--json"]))["lines_read"] == 1);
    // a report says it once, and sends the user to ingest
    let report = run.run(&env, &["cost"]);
    assert!(report.status.success(), "{report:?}");
    assert_eq!(
        stderr_of(&report).matches("permission denied").count(),
        1,
        "{}",
        stderr_of(&report)
    );
    assert!(stderr_of(&report).contains("`observatory ingest` lists it"));
    // every file unreadable: that fails
    for f in &files {
        chmod(f, 0o000);
    }
    let db = env.dir.path().join("other.db");
    let all = run.run(&env, &["ingest", "--db", db.to_str().unwrap()]);
    for f in &files {
        chmod(f, 0o644);
    }
    assert!(!all.status.success(), "{all:?}");
    assert!(stderr_of(&all).contains("none of the"), "{all:?}");
    assert!(
        String::from_utf8_lossy(&all.stdout).contains("Read nothing ("),
        "{all:?}"
    );
}
