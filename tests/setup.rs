//! `observatory setup claude-code` on temp settings files (missing, empty,
//! existing hooks, an existing status line, invalid JSON), and the
//! generated completions, man page and help.

mod common;

use std::path::{Path, PathBuf};

use common::Env;
use serde_json::{Value, json};

fn snippet() -> Value {
    json!({
        "statusLine": {"type": "command", "command": "observatory statusline"},
        "hooks": {"SessionEnd": [{"hooks": [{"type": "command", "command": "observatory ingest -q"}]}]}
    })
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Backups written beside `settings` (`<name>.bak-*`).
fn backups(settings: &Path) -> Vec<PathBuf> {
    let name = settings.file_name().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<PathBuf> = std::fs::read_dir(settings.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.bak-"))
        })
        .collect();
    v.sort();
    v
}

fn apply(env: &Env, settings: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    env.cmd()
        .args(["setup", "claude-code", "--apply", "--settings"])
        .arg(settings)
        .args(extra)
        .assert()
}

#[test]
fn prints_the_snippet_without_apply() {
    let env = Env::new();
    // `observatory` on PATH, as Claude Code will run it
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin!("observatory"),
        bin.join("observatory"),
    )
    .unwrap();
    let out = env
        .cmd()
        .env("PATH", &bin)
        .args(["setup", "claude-code"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, snippet());
    // the default file: settings.json in the first CLAUDE_CONFIG_DIR entry
    let stderr = String::from_utf8_lossy(&out.stderr);
    let default = env.claude.join("settings.json");
    assert!(stderr.contains(&default.display().to_string()), "{stderr}");
    assert!(!default.exists(), "printing writes nothing");
    assert!(!stderr.contains("warning"), "{stderr}");
    // not on PATH: Claude Code would not find it, said
    let out = env
        .cmd()
        .env("PATH", env.dir.path())
        .args(["setup", "claude-code"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("is not on your PATH"), "{stderr}");
    // a database given by --db is not the one the commands will use: said
    let out = env
        .cmd()
        .args(["setup", "claude-code", "--db"])
        .arg(env.dir.path().join("mine.db"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(
        stderr.contains("mine.db (from flag --db)") && stderr.contains("set `db` there"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_is_created_and_a_second_run_changes_nothing() {
    let env = Env::new();
    let settings = env.dir.path().join("new/dir/settings.json");
    apply(&env, &settings, &[]).success();
    assert_eq!(read_json(&settings), snippet());
    assert!(backups(&settings).is_empty(), "nothing to back up");
    let before = std::fs::read(&settings).unwrap();
    let out = apply(&env, &settings, &[]).success().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to change"));
    assert_eq!(std::fs::read(&settings).unwrap(), before);
    assert!(backups(&settings).is_empty());
}

/// `--apply --json` says what it did as JSON (it printed its sentences,
/// the flag taken and ignored): the file, whether it changed, what, and
/// the backup of the previous file.
#[test]
fn apply_with_json_says_what_it_did() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    let json_of = |a: assert_cmd::assert::Assert| -> Value {
        serde_json::from_slice(&a.success().get_output().stdout).unwrap()
    };
    let v = json_of(apply(&env, &settings, &["--json"]));
    assert_eq!(v["settings"], settings.to_str().unwrap());
    assert_eq!((&v["changed"], &v["backup"]), (&json!(true), &Value::Null));
    assert!(!v["changes"].as_array().unwrap().is_empty(), "{v}");
    let v = json_of(apply(&env, &settings, &["--json"]));
    assert_eq!((&v["changed"], &v["changes"]), (&json!(false), &json!([])));
    std::fs::write(&settings, "{\"model\": \"opus\"}").unwrap();
    let v = json_of(apply(&env, &settings, &["--json"]));
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["backup"].as_str().map(PathBuf::from),
        backups(&settings).first().cloned()
    );
}

#[test]
fn the_default_file_is_in_the_first_claude_config_dir() {
    let env = Env::new();
    env.cmd()
        .args(["setup", "claude-code", "--apply"])
        .assert()
        .success();
    assert_eq!(read_json(&env.claude.join("settings.json")), snippet());
    // without CLAUDE_CONFIG_DIR: ~/.claude/settings.json
    env.cmd()
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["setup", "claude-code", "--apply"])
        .assert()
        .success();
    assert_eq!(
        read_json(&env.home().join(".claude/settings.json")),
        snippet()
    );
}

/// A Claude config dir named with --claude-dir (as every other command
/// takes it) is where its settings are: it was ignored, and
/// ~/.claude/settings.json edited.
#[test]
fn the_claude_dir_named_is_where_its_settings_are() {
    let env = Env::new();
    let other = env.dir.path().join("other-claude");
    std::fs::create_dir_all(&other).unwrap();
    env.cmd()
        .args(["setup", "claude-code", "--apply", "--claude-dir"])
        .arg(&other)
        .assert()
        .success();
    assert_eq!(read_json(&other.join("settings.json")), snippet());
    assert!(!env.claude.join("settings.json").exists());
    assert!(!env.home().join(".claude/settings.json").exists());
    // without --apply, the command it suggests edits that same file
    let out = env
        .cmd()
        .args(["setup", "claude-code", "--claude-dir"])
        .arg(&other)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!(
            "Merge this into {} (or run `observatory setup claude-code --apply --claude-dir {}`)",
            other.join("settings.json").display(),
            other.display()
        )),
        "{stderr}"
    );
    // one that is no folder is a typo, not a folder to make
    let typo = env.dir.path().join("other-claud");
    let out = env
        .cmd()
        .args(["setup", "claude-code", "--apply", "--claude-dir"])
        .arg(&typo)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("(from --claude-dir) is not a folder"),
        "{stderr}"
    );
    assert!(!typo.exists());
}

/// `"statusLine": null` is no status line, `"hooks": null` no hooks: set,
/// in their places.
#[test]
fn a_null_status_line_is_none() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    std::fs::write(
        &settings,
        "{\"statusLine\": null, \"model\": \"opus\", \"hooks\": null}\n",
    )
    .unwrap();
    apply(&env, &settings, &[]).success();
    let v = read_json(&settings);
    assert_eq!(v["statusLine"], snippet()["statusLine"]);
    assert_eq!(v["hooks"], snippet()["hooks"]);
    assert_eq!(v["model"], "opus");
    // (in its place: before "model", as it was)
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(
        text.find("\"statusLine\"") < text.find("\"model\""),
        "{text}"
    );
}

#[test]
fn an_empty_file_is_filled_after_a_backup() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    std::fs::write(&settings, "").unwrap();
    apply(&env, &settings, &[]).success();
    assert_eq!(read_json(&settings), snippet());
    let b = backups(&settings);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(std::fs::read(&b[0]).unwrap(), b"");
}

#[test]
fn existing_hooks_and_settings_are_kept() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    let original = r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(cargo test:*)"]},
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}],
    "SessionEnd": [{"matcher": "clear", "hooks": [{"type": "command", "command": "echo bye"}]}]
  }
}
"#;
    std::fs::write(&settings, original).unwrap();
    apply(&env, &settings, &[]).success();
    let v = read_json(&settings);
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"], json!({"allow": ["Bash(cargo test:*)"]}));
    assert_eq!(
        v["hooks"]["PreToolUse"],
        json!([{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}])
    );
    assert_eq!(
        v["hooks"]["SessionEnd"],
        json!([
            {"matcher": "clear", "hooks": [{"type": "command", "command": "echo bye"}]},
            {"hooks": [{"type": "command", "command": "observatory ingest -q"}]}
        ])
    );
    assert_eq!(v["statusLine"], snippet()["statusLine"]);
    // the untouched parts are byte for byte as written, in their order
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(
        text.starts_with(
            "{\n  \"model\": \"opus\",\n  \"permissions\": {\"allow\": [\"Bash(cargo test:*)\"]},\n  \"hooks\": {\n    \"PreToolUse\": [{\"matcher\": \"Bash\""
        ),
        "{text}"
    );
    let b = backups(&settings);
    assert_eq!(b.len(), 1);
    assert_eq!(std::fs::read_to_string(&b[0]).unwrap(), original);
    // twice: nothing changes, no second backup
    apply(&env, &settings, &[]).success();
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), text);
    assert_eq!(backups(&settings).len(), 1);
}

#[test]
fn a_different_status_line_is_kept_unless_forced() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    let original = r#"{"statusLine": {"type": "command", "command": "ccusage statusline"}}"#;
    std::fs::write(&settings, original).unwrap();
    let out = apply(&env, &settings, &[]).code(1).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ccusage statusline") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);
    assert!(backups(&settings).is_empty());
    apply(&env, &settings, &["--force"]).success();
    assert_eq!(read_json(&settings), snippet());
    let b = backups(&settings);
    assert_eq!(b.len(), 1);
    assert_eq!(std::fs::read_to_string(&b[0]).unwrap(), original);
}

#[test]
fn our_own_status_line_with_a_format_is_kept() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    let mine = json!({"statusLine": {"type": "command", "command": "observatory statusline --format '{model} {today_cost}'", "padding": 0}});
    std::fs::write(&settings, mine.to_string()).unwrap();
    apply(&env, &settings, &[]).success();
    let v = read_json(&settings);
    assert_eq!(v["statusLine"], mine["statusLine"]);
    assert_eq!(v["hooks"], snippet()["hooks"]);
}

#[test]
fn invalid_json_is_refused_and_left_untouched() {
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    for bad in [
        "{\"model\": \"opus\",}",
        "{not json",
        "[1, 2]",
        "{\"hooks\": [1]}",
        // JSON.parse keeps the last of two keys: editing the first would do nothing
        "{\"hooks\": {\"SessionEnd\": []}, \"hooks\": {\"Stop\": []}}",
        "{\"hooks\": {\"Stop\": [], \"Stop\": []}}",
    ] {
        std::fs::write(&settings, bad).unwrap();
        let out = apply(&env, &settings, &["--force"])
            .code(1)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("untouched"), "{bad}: {stderr}");
        assert_eq!(std::fs::read_to_string(&settings).unwrap(), bad);
        assert!(backups(&settings).is_empty(), "{bad}");
    }
    // valid JSON that is no object, a byte-order mark, a key written
    // twice (a snippet pasted by hand beside the file's own): said as such
    for (bad, says) in [
        ("[1, 2]", "valid JSON, but not an object"),
        ("null", "valid JSON, but not an object"),
        ("\u{feff}{\"model\": \"opus\"}", "byte-order mark"),
        (
            "{\n  \"hooks\": {\"Stop\": []},\n  \"hooks\": {\"SessionEnd\": []}\n}\n",
            "the key \"hooks\" appears twice (Claude Code reads only the last): merge the two into one",
        ),
    ] {
        std::fs::write(&settings, bad).unwrap();
        let out = apply(&env, &settings, &[]).code(1).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(says) && !stderr.contains("not valid JSON"),
            "{bad}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&settings).unwrap(), bad);
    }
}

/// A settings file made read-only is left as it is, and said (it was
/// replaced by rename, read-only again, without a word); once writable,
/// --apply goes on.
#[test]
fn a_read_only_settings_file_is_left_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let settings = env.dir.path().join("settings.json");
    let mine = "{\"model\": \"opus\"}";
    std::fs::write(&settings, mine).unwrap();
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = apply(&env, &settings, &[]).code(1).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is read-only, so setup leaves it as it is"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), mine);
    assert!(backups(&settings).is_empty());
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o644)).unwrap();
    apply(&env, &settings, &[]).success();
    assert_eq!(read_json(&settings)["model"], "opus");
}

// ------------------------------------------------- completions, man, help

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = env
            .cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in ["ingest", "cost", "statusline", "setup", "completions"] {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    env.cmd().args(["completions", "tcsh"]).assert().code(2);
    // `observatory man <TAB>` offers the commands' names, nested ones too
    let out = env.cmd().args(["completions", "bash"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let man = text
        .split("observatory__subcmd__man)")
        .nth(1)
        .and_then(|b| b.lines().find(|l| l.trim_start().starts_with("opts=")))
        .unwrap_or_else(|| panic!("no man case in {text}"));
    for name in [
        "forget",
        "statusline",
        "budget",
        "budget-set",
        "config-path",
    ] {
        assert!(man.contains(&format!(" {name} ")), "{man}");
    }
    // (no word that names no page alone)
    for word in [" set ", " list ", " path "] {
        assert!(!man.contains(word), "{man}");
    }
}

#[test]
fn the_man_page_is_roff_naming_the_subcommands() {
    let env = Env::new();
    let out = env.cmd().arg("man").assert().success().get_output().clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(".ie") || text.contains(".TH observatory"),
        "{text}"
    );
    for sub in ["ingest", "cost", "statusline", "setup", "man"] {
        assert!(text.contains(sub), "man page lacks {sub}");
    }
    // each page it names can be printed: `man forget` is observatory-forget(1)
    assert!(text.contains("observatory\\-forget(1)"), "{text}");
    let out = env.cmd().args(["man", "forget"]).assert().success();
    let page = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        page.contains(".TH observatory-forget 1")
            && page.contains("\\fBobservatory forget\\fR")
            && page.contains("\\-\\-dry\\-run"),
        "{page}"
    );
    // and so on down: the budget page names observatory-budget-set(1)
    for words in [&["budget", "set"][..], &["budget-set"]] {
        let out = env.cmd().arg("man").args(words).assert().success();
        let page = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            page.contains(&format!(
                ".TH observatory-budget-set 1  \"observatory-budget-set {version}\""
            )),
            "{page}"
        );
    }
    let out = env.cmd().args(["man", "nope"]).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no command \"nope\"") && err.contains("forget"),
        "{err}"
    );
    // --out-dir writes every page, so that each one a page names is there
    // (installing the main page alone left observatory-forget(1) and the
    // others, and the named observatory-help(1), nowhere)
    let dir = env.dir.path().join("man1");
    env.cmd()
        .args(["man", "--out-dir"])
        .arg(&dir)
        .assert()
        .success();
    let page = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.1")));
    for name in [
        "observatory",
        "observatory-forget",
        "observatory-budget-set",
    ] {
        assert!(page(name).is_ok(), "{name}.1 missing");
    }
    for text in [
        page("observatory").unwrap(),
        text,
        page("observatory-budget").unwrap(),
    ] {
        // (roff writes each `-` as `\-`: "observatory\-forget(1)")
        for named in text.split("observatory\\-").skip(1) {
            let Some((name, _)) = named.split_once("(1)") else {
                continue;
            };
            let name = name.replace("\\-", "-");
            if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                let file = format!("observatory-{name}");
                assert!(page(&file).is_ok(), "{file}.1 named but not written");
            }
        }
    }
}

#[test]
fn every_subcommand_help_has_a_description_and_examples() {
    let env = Env::new();
    let out = env
        .cmd()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let top = String::from_utf8(out.stdout).unwrap();
    let subs: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // a subcommand's line is indented 2; wrapped descriptions more
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| *s != "help")
        .map(str::to_owned)
        .collect();
    assert!(subs.len() > 10, "{subs:?}");
    for sub in subs {
        let out = env
            .cmd()
            .args([sub.as_str(), "--help"])
            .assert()
            .success()
            .get_output()
            .clone();
        let help = String::from_utf8(out.stdout).unwrap();
        let first = help.lines().next().unwrap_or("");
        assert!(!first.starts_with("Usage"), "{sub}: no description");
        assert!(help.contains("Examples:"), "{sub}: no examples");
        assert!(help.contains("observatory "), "{sub}");
    }
}

#[test]
fn a_symlinked_settings_file_is_written_through_even_before_its_target_exists() {
    let env = Env::new();
    let dots = env.dir.path().join("dotfiles");
    std::fs::create_dir_all(&dots).unwrap();
    // one link to a file that exists, one (relative) to one that does not yet
    std::fs::write(dots.join("a.json"), "{\"model\": \"opus\"}\n").unwrap();
    for (link, target) in [
        ("a-settings.json", "dotfiles/a.json"),
        ("b-settings.json", "dotfiles/b.json"),
    ] {
        let link = env.dir.path().join(link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        apply(&env, &link, &[]).success();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} is still a link",
            link.display()
        );
        let written = read_json(&env.dir.path().join(target));
        assert_eq!(written["statusLine"], snippet()["statusLine"], "{target}");
    }
    assert_eq!(read_json(&dots.join("a.json"))["model"], "opus");
}
