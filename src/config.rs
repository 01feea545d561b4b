//! Config file + environment + flags + TTY -> one `Settings`, built once.
//! Nothing else reads environment variables or checks the terminal.
//!
//! Each setting is taken from the first of: a flag, an environment variable,
//! the config file, the built-in default. The file is `--config FILE`, else
//! `OBSERVATORY_CONFIG`, else `config.toml` in the config dir
//! (`$OBSERVATORY_HOME`, else `~/.config/observatory/` on Linux). A key the
//! file should not have, or a value of the wrong type, is a warning naming
//! the file and line, and the rest of the file still applies; a file that is
//! not TOML is an error.

use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::cli::{ColorChoice, GlobalArgs};
use crate::paths::{self, Root};
use crate::report::WeekStart;
use crate::report::cost::Group;

/// The keys a config file may hold, in the order `config show` lists them.
pub const KEYS: &[&str] = &[
    "roots",
    "db",
    "pricing",
    "timezone",
    "week_start",
    "color",
    "money_decimals",
    "cost.group_by",
    "budget.warn_at",
    "watch.poll_interval_ms",
];

/// The environment variable that sets a key: `OBSERVATORY_` and the key in
/// capitals, dots as underscores (`cost.group_by` -> `OBSERVATORY_COST_GROUP_BY`).
pub fn env_var(key: &str) -> String {
    format!("OBSERVATORY_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File { path: PathBuf, line: usize },
    Env(String),
    Flag(&'static str),
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File { .. } => "file",
            Source::Env(_) => "env",
            Source::Flag(_) => "flag",
        }
    }

    /// For people: `default`, `/path/config.toml:3`, `env OBSERVATORY_DB`,
    /// `flag --db`.
    pub fn describe(&self) -> String {
        match self {
            Source::Default => "default".into(),
            Source::File { path, line } => format!("{}:{line}", path.display()),
            Source::Env(v) => format!("env {v}"),
            Source::Flag(f) => format!("flag {f}"),
        }
    }

    /// For `config show --json`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("source".into(), json!(self.kind()));
        match self {
            Source::Default => {}
            Source::File { path, line } => {
                m.insert("file".into(), path_json(path));
                m.insert("line".into(), json!(line));
            }
            Source::Env(v) => {
                m.insert("env".into(), json!(v));
            }
            Source::Flag(f) => {
                m.insert("flag".into(), json!(f));
            }
        }
        Value::Object(m)
    }
}

/// One effective setting, for `config show`.
#[derive(Debug, Clone)]
pub struct Origin {
    pub key: &'static str,
    pub value: Value,
    pub source: Source,
}

/// The config file observatory reads, and why that one.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// `--config`, `OBSERVATORY_CONFIG`, `OBSERVATORY_HOME` or the default.
    pub source: Source,
    pub exists: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: PathBuf,
    pub roots: Vec<Root>,
    /// `--pricing`, `OBSERVATORY_PRICING`, `pricing` in the config file,
    /// else `pricing.toml` in the config dir if it exists.
    pub pricing_override: Option<PathBuf>,
    /// The same without `--pricing`: the table stored costs are kept in
    /// (a `--pricing` flag prices only its own command's output).
    pub stored_pricing: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
    /// Draw a progress bar (stderr is a terminal, not --json or -q).
    pub progress: bool,
    /// stdout is a terminal (live views redraw; otherwise scripts read it).
    pub stdout_tty: bool,
    /// stdin is a terminal (nothing is piped in: `statusline` reads nothing).
    pub stdin_tty: bool,
    /// Claude Code's settings.json: in the first `--claude-dir`, else the
    /// first `CLAUDE_CONFIG_DIR` entry, else `~/.claude/` (None without a
    /// home).
    pub claude_settings: Option<PathBuf>,
    /// The first `--claude-dir`, when one is given (where
    /// `claude_settings` is).
    pub claude_dir_given: Option<PathBuf>,
    /// The default `--tz` of every command (checked: `Zone::parse` accepts it).
    pub tz: String,
    /// First day of the week for `cost --by-week` and weekly budgets.
    pub week_start: WeekStart,
    /// Colour on stdout / stderr: the choice applied to each stream's TTY.
    pub color_stdout: bool,
    pub color_stderr: bool,
    /// Decimals shown for money for people (JSON and CSV stay exact).
    pub money_decimals: u32,
    /// `cost` groupings when no `--by-*` flag is given.
    pub cost_group_by: Vec<Group>,
    /// `budget set --warn-at` default.
    pub budget_warn_at: u8,
    /// How often `watch` looks for changes when it has to poll.
    pub poll_interval_ms: u64,
    pub config_file: ConfigFile,
    /// Every setting, its value and where it came from.
    pub origins: Vec<Origin>,
    /// Problems in the config file or the environment (already located).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Where the setting `key` came from (the keys of `origins`).
    pub fn source_of(&self, key: &str) -> Option<&Source> {
        self.origins
            .iter()
            .find(|o| o.key == key)
            .map(|o| &o.source)
    }
}

/// What a config file said, each value with its line.
#[derive(Debug, Default)]
struct FileValues {
    roots: Option<At<Vec<PathBuf>>>,
    db: Option<At<PathBuf>>,
    pricing: Option<At<PathBuf>>,
    timezone: Option<At<String>>,
    week_start: Option<At<WeekStart>>,
    color: Option<At<ColorChoice>>,
    money_decimals: Option<At<u32>>,
    cost_group_by: Option<At<Vec<Group>>>,
    budget_warn_at: Option<At<u8>>,
    poll_interval_ms: Option<At<u64>>,
}

#[derive(Debug)]
struct At<T> {
    value: T,
    line: usize,
}

/// The config file could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{}:{line}: the config file is not valid TOML: {message}\n  fix that line, or move the file away to use the defaults",
        path.display()
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    // (the OS's reason in the message, not also as a source: said once)
    #[error("cannot read the config file {} ({error}); {hint}", path.display())]
    Unreadable {
        path: PathBuf,
        hint: String,
        error: std::io::Error,
    },
    #[error(
        "{var} is not valid UTF-8, and observatory reads the paths it names as text (it would name another folder): unset it, or set it to a path that is (a path of other bytes can be given by flag: --claude-dir, --db, --config, --pricing)"
    )]
    NotText { var: &'static str },
}

/// The environment variables that name paths, each with the flag that
/// wins over it, if any: one in use whose value is not UTF-8 is refused
/// (read with its bad bytes replaced, it named another folder: a new
/// database made there, or transcripts "not found").
fn path_variables(g: &GlobalArgs) -> [(&'static str, bool); 7] {
    let roots = g.claude_dirs.is_empty();
    [
        ("HOME", true),
        ("OBSERVATORY_HOME", true),
        ("OBSERVATORY_PRICING", true),
        ("CLAUDE_CONFIG_DIR", roots),
        ("OBSERVATORY_ROOTS", roots),
        ("OBSERVATORY_DB", g.db.is_none()),
        ("OBSERVATORY_CONFIG", g.config.is_none()),
    ]
}

/// The process's view of the world: flags, environment, terminals.
pub struct Inputs<'a> {
    pub flags: &'a GlobalArgs,
    /// An environment variable, None when unset or empty.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    pub stdin_tty: bool,
}

impl Settings {
    /// Resolve from the real environment and terminals.
    pub fn resolve(g: &GlobalArgs) -> Result<Settings, ConfigError> {
        if let Some((var, _)) = path_variables(g)
            .into_iter()
            .find(|(v, used)| *used && std::env::var_os(v).is_some_and(|x| x.to_str().is_none()))
        {
            return Err(ConfigError::NotText { var });
        }
        Settings::resolve_with(&real_inputs(g), true)
    }

    /// Resolve without reading the config file (when it is broken and the
    /// command must run anyway).
    pub fn resolve_without_file(g: &GlobalArgs) -> Settings {
        Settings::build(&real_inputs(g), FileValues::default(), Vec::new())
    }

    pub fn resolve_with(inp: &Inputs<'_>, read_file: bool) -> Result<Settings, ConfigError> {
        let mut warnings = Vec::new();
        let file = if read_file {
            let home = (inp.env)("HOME").map(PathBuf::from);
            let obs_home = (inp.env)("OBSERVATORY_HOME").map(PathBuf::from);
            let config_file = locate(inp.flags, inp.env, &paths::dirs(obs_home.as_deref()));
            read_config(&config_file, home.as_deref(), &mut warnings)?
        } else {
            FileValues::default()
        };
        Ok(Settings::build(inp, file, warnings))
    }

    /// Layer flags, environment and the file's values over the defaults.
    fn build(inp: &Inputs<'_>, file: FileValues, mut warnings: Vec<String>) -> Settings {
        let g = inp.flags;
        let env = inp.env;
        let home = env("HOME").map(PathBuf::from);
        let obs_home = env("OBSERVATORY_HOME").map(PathBuf::from);
        let dirs = paths::dirs(obs_home.as_deref());
        let config_file = locate(g, env, &dirs);
        let file_src = |line: usize| Source::File {
            path: config_file.path.clone(),
            line,
        };
        let mut origins = Vec::new();

        // roots: --claude-dir > OBSERVATORY_ROOTS > CLAUDE_CONFIG_DIR > file > default
        let claude_config_dir = env("CLAUDE_CONFIG_DIR");
        // (a list of nothing but commas and spaces is as if unset: said)
        for var in ["OBSERVATORY_ROOTS", "CLAUDE_CONFIG_DIR"] {
            if let Some(raw) = env(var).filter(|l| !l.is_empty() && is_blank_list(l)) {
                warnings.push(format!("{var}={raw:?} names no folder; ignored"));
            }
        }
        let (given, src) = if !g.claude_dirs.is_empty() {
            (g.claude_dirs.clone(), Source::Flag("--claude-dir"))
        } else if let Some(list) = env("OBSERVATORY_ROOTS").filter(|l| !is_blank_list(l)) {
            (
                paths::split_list(&list, home.as_deref()),
                Source::Env("OBSERVATORY_ROOTS".into()),
            )
        } else if let Some(list) = claude_config_dir.as_deref().filter(|l| !is_blank_list(l)) {
            (
                paths::split_list(list, home.as_deref()),
                Source::Env("CLAUDE_CONFIG_DIR".into()),
            )
        } else if let Some(at) = file.roots {
            (at.value, file_src(at.line))
        } else {
            (paths::default_roots(home.as_deref()), Source::Default)
        };
        let roots = paths::roots_from(given);
        origins.push(Origin {
            key: "roots",
            value: Value::Array(roots.iter().map(|r| path_json(&r.given)).collect()),
            source: src,
        });

        // db: --db > OBSERVATORY_DB > file > data dir
        let (db, src) = if let Some(p) = &g.db {
            (p.clone(), Source::Flag("--db"))
        } else if let Some(p) = env("OBSERVATORY_DB") {
            (
                paths::expand_tilde(&p, home.as_deref()),
                Source::Env("OBSERVATORY_DB".into()),
            )
        } else if let Some(at) = file.db {
            (at.value, file_src(at.line))
        } else {
            let src = if obs_home.is_some() {
                Source::Env("OBSERVATORY_HOME".into())
            } else {
                Source::Default
            };
            (paths::db_path(None, None, &dirs), src)
        };
        origins.push(Origin {
            key: "db",
            value: path_json(&db),
            source: src,
        });

        // pricing: --pricing > OBSERVATORY_PRICING > file > pricing.toml in the config dir
        let (stored_pricing, stored_src) = if let Some(p) = env("OBSERVATORY_PRICING") {
            (
                Some(paths::expand_tilde(&p, home.as_deref())),
                Source::Env("OBSERVATORY_PRICING".into()),
            )
        } else if let Some(at) = file.pricing {
            (Some(at.value), file_src(at.line))
        } else {
            let p = dirs.config.join("pricing.toml");
            (p.is_file().then_some(p), Source::Default)
        };
        let (pricing_override, src) = match &g.pricing {
            Some(p) => (Some(p.clone()), Source::Flag("--pricing")),
            None => (stored_pricing.clone(), stored_src),
        };
        origins.push(Origin {
            key: "pricing",
            value: pricing_override.as_deref().map_or(Value::Null, path_json),
            source: src,
        });

        let mut layered = Layered {
            env,
            warnings: &mut warnings,
            origins: &mut origins,
            file_path: &config_file.path,
        };
        let tz = layered.pick("timezone", None, file.timezone, "local".to_string(), |s| {
            check_zone(s).map(|()| s.trim().to_string())
        });
        let week_start = layered.pick(
            "week_start",
            None,
            file.week_start,
            WeekStart::Monday,
            parse_week_start,
        );
        let color = resolve_color(&mut layered, g.color, file.color);
        let money_decimals = layered.pick(
            "money_decimals",
            None,
            file.money_decimals,
            2,
            parse_decimals,
        );
        let cost_group_by =
            layered.pick("cost.group_by", None, file.cost_group_by, Vec::new(), |s| {
                parse_groups(s.split(',').map(str::trim).filter(|x| !x.is_empty()))
            });
        let budget_warn_at = layered.pick("budget.warn_at", None, file.budget_warn_at, 80, |s| {
            parse_warn_at(parse_int(s)?)
        });
        let poll_interval_ms = layered.pick(
            "watch.poll_interval_ms",
            None,
            file.poll_interval_ms,
            1000,
            |s| parse_poll(parse_int(s)?),
        );

        let term_dumb = env("TERM").is_some_and(|t| t == "dumb");
        let on = |tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !term_dumb,
        };
        // (a Claude config dir named with --claude-dir is where its settings
        // are too)
        let claude_settings = match g.claude_dirs.first() {
            Some(dir) => Some(settings_in(dir)),
            None => claude_settings_path(claude_config_dir.as_deref(), home.as_deref()),
        };
        Settings {
            db,
            roots,
            pricing_override,
            stored_pricing,
            json: g.json,
            quiet: g.quiet,
            progress: !g.json && !g.quiet && inp.stderr_tty,
            stdout_tty: inp.stdout_tty,
            stdin_tty: inp.stdin_tty,
            claude_settings,
            claude_dir_given: g.claude_dirs.first().cloned(),
            tz,
            week_start,
            color_stdout: on(inp.stdout_tty),
            color_stderr: on(inp.stderr_tty),
            money_decimals,
            cost_group_by,
            budget_warn_at,
            poll_interval_ms,
            config_file,
            origins,
            warnings,
        }
    }
}

/// A path in `config show --json`, as text (a name that is not UTF-8 with
/// its bad bytes replaced: serde refuses it as a path).
fn path_json(p: &Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

fn real_inputs(g: &GlobalArgs) -> Inputs<'_> {
    Inputs {
        flags: g,
        env: &|k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        },
        stdout_tty: std::io::stdout().is_terminal(),
        stderr_tty: std::io::stderr().is_terminal(),
        stdin_tty: std::io::stdin().is_terminal(),
    }
}

/// The config file: `--config`, else `OBSERVATORY_CONFIG`, else
/// `config.toml` in the config dir (which `OBSERVATORY_HOME` moves).
pub fn locate(
    g: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
    dirs: &paths::Dirs,
) -> ConfigFile {
    let (path, source) = if let Some(p) = &g.config {
        (p.clone(), Source::Flag("--config"))
    } else if let Some(p) = env("OBSERVATORY_CONFIG") {
        let home = env("HOME").map(PathBuf::from);
        (
            paths::expand_tilde(&p, home.as_deref()),
            Source::Env("OBSERVATORY_CONFIG".into()),
        )
    } else if env("OBSERVATORY_HOME").is_some() {
        (
            dirs.config.join("config.toml"),
            Source::Env("OBSERVATORY_HOME".into()),
        )
    } else {
        (dirs.config.join("config.toml"), Source::Default)
    };
    let exists = path.is_file();
    ConfigFile {
        path,
        source,
        exists,
    }
}

/// Where the config file is, from the real environment (for `config path`,
/// which must work even when the file is broken).
pub fn locate_from_env(g: &GlobalArgs) -> ConfigFile {
    let inputs = real_inputs(g);
    let obs_home = (inputs.env)("OBSERVATORY_HOME").map(PathBuf::from);
    locate(g, inputs.env, &paths::dirs(obs_home.as_deref()))
}

/// Applies env > file > default for one key, recording where the value came
/// from and warning about env values that do not parse.
struct Layered<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    warnings: &'a mut Vec<String>,
    origins: &'a mut Vec<Origin>,
    file_path: &'a Path,
}

impl Layered<'_> {
    fn pick<T: Clone + ToJson>(
        &mut self,
        key: &'static str,
        flag: Option<(T, &'static str)>,
        file: Option<At<T>>,
        default: T,
        parse_env: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let var = env_var(key);
        let from_env = (self.env)(&var).and_then(|raw| match parse_env(&raw) {
            Ok(v) => Some(v),
            Err(why) => {
                self.warnings.push(format!("{var}={raw:?}: {why}; ignored"));
                None
            }
        });
        let (value, source) = if let Some((v, f)) = flag {
            (v, Source::Flag(f))
        } else if let Some(v) = from_env {
            (v, Source::Env(var))
        } else if let Some(at) = file {
            (
                at.value,
                Source::File {
                    path: self.file_path.to_owned(),
                    line: at.line,
                },
            )
        } else {
            (default, Source::Default)
        };
        self.origins.push(Origin {
            key,
            value: value.to_json(),
            source,
        });
        value
    }
}

/// `--color` > `OBSERVATORY_COLOR` > `color` in the file > auto; auto
/// is never when `NO_COLOR` is set (non-empty), always when
/// `CLICOLOR_FORCE` is (and not `0`), else per terminal. As no-color.org
/// asks, an explicit choice (flag or config file) beats `NO_COLOR`.
fn resolve_color(
    layered: &mut Layered<'_>,
    flag: Option<ColorChoice>,
    file: Option<At<ColorChoice>>,
) -> ColorChoice {
    let flag = flag.filter(|c| *c != ColorChoice::Auto);
    let choice = layered.pick(
        "color",
        flag.map(|c| (c, "--color")),
        file,
        ColorChoice::Auto,
        parse_color,
    );
    if choice != ColorChoice::Auto {
        return choice;
    }
    let env = layered.env;
    let (choice, var) = if env("NO_COLOR").is_some() {
        (ColorChoice::Never, "NO_COLOR")
    } else if env("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        (ColorChoice::Always, "CLICOLOR_FORCE")
    } else {
        return ColorChoice::Auto;
    };
    if let Some(o) = layered.origins.iter_mut().find(|o| o.key == "color") {
        o.value = choice.to_json();
        o.source = Source::Env(var.into());
    }
    choice
}

trait ToJson {
    fn to_json(&self) -> Value;
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        json!(self)
    }
}
impl ToJson for u32 {
    fn to_json(&self) -> Value {
        json!(self)
    }
}
impl ToJson for u8 {
    fn to_json(&self) -> Value {
        json!(self)
    }
}
impl ToJson for u64 {
    fn to_json(&self) -> Value {
        json!(self)
    }
}
impl ToJson for WeekStart {
    fn to_json(&self) -> Value {
        json!(self.name())
    }
}
impl ToJson for ColorChoice {
    fn to_json(&self) -> Value {
        json!(self.name())
    }
}
impl ToJson for Vec<Group> {
    fn to_json(&self) -> Value {
        json!(self.iter().map(|g| group_name(*g)).collect::<Vec<_>>())
    }
}

// ------------------------------------------------------------ values

fn is_blank_list(s: &str) -> bool {
    s.split(',').all(|x| x.trim().is_empty())
}

fn check_zone(s: &str) -> Result<(), String> {
    crate::report::Zone::parse(s).map(|_| ())
}

fn parse_week_start(s: &str) -> Result<WeekStart, String> {
    WeekStart::parse(s).ok_or_else(|| "must be monday or sunday".to_string())
}

fn parse_color(s: &str) -> Result<ColorChoice, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(ColorChoice::Auto),
        "always" => Ok(ColorChoice::Always),
        "never" => Ok(ColorChoice::Never),
        _ => Err("must be auto, always or never".into()),
    }
}

fn parse_int(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| "must be a whole number".to_string())
}

pub const MAX_MONEY_DECIMALS: u32 = 10;

fn parse_decimals(s: &str) -> Result<u32, String> {
    check_decimals(parse_int(s)?)
}

fn check_decimals(n: i64) -> Result<u32, String> {
    u32::try_from(n)
        .ok()
        .filter(|d| *d <= MAX_MONEY_DECIMALS)
        .ok_or_else(|| format!("must be between 0 and {MAX_MONEY_DECIMALS}"))
}

fn parse_warn_at(n: i64) -> Result<u8, String> {
    u8::try_from(n)
        .ok()
        .filter(|p| (1..=100).contains(p))
        .ok_or_else(|| "must be a percentage between 1 and 100".to_string())
}

fn parse_poll(n: i64) -> Result<u64, String> {
    u64::try_from(n)
        .ok()
        .filter(|ms| (10..=3_600_000).contains(ms))
        .ok_or_else(|| "must be between 10 and 3600000 (milliseconds)".to_string())
}

/// `cost --by-*` names: day, week, month, project, session, branch, agent,
/// model (and `session_id`, `git_branch` as the JSON calls them); `none`
/// alone means no grouping.
pub fn parse_group(s: &str) -> Option<Group> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "day" => Group::Day,
        "week" => Group::Week,
        "month" => Group::Month,
        "project" => Group::Project,
        "session" | "session_id" => Group::Session,
        "branch" | "git_branch" => Group::Branch,
        "agent" => Group::Agent,
        "model" => Group::Model,
        _ => return None,
    })
}

fn group_name(g: Group) -> &'static str {
    match g {
        Group::Session => "session",
        Group::Branch => "branch",
        other => other.key(),
    }
}

fn parse_groups<'s>(names: impl Iterator<Item = &'s str>) -> Result<Vec<Group>, String> {
    let mut out = Vec::new();
    for n in names {
        if n.trim().eq_ignore_ascii_case("none") {
            continue;
        }
        match parse_group(n) {
            Some(g) if !out.contains(&g) => out.push(g),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{n:?} is not a grouping: use day, week, month, project, session, branch, agent or model (or none)"
                ));
            }
        }
    }
    Ok(out)
}

// ------------------------------------------------------------ the file

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn read_config(
    file: &ConfigFile,
    home: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<FileValues, ConfigError> {
    // a file named with --config or OBSERVATORY_CONFIG must exist
    let explicit = match &file.source {
        Source::Default => false,
        Source::Env(v) => v != "OBSERVATORY_HOME",
        _ => true,
    };
    let text = match crate::paths::read_text(&file.path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(FileValues::default());
        }
        Err(error) => {
            let folder = file.path.parent().filter(|p| p.is_file());
            return Err(ConfigError::Unreadable {
                path: file.path.clone(),
                hint: match (folder, &file.source) {
                    (Some(f), Source::Env(v)) if v == "OBSERVATORY_HOME" => {
                        format!(
                            "{} is a file, not a folder: point {v} at a folder",
                            f.display()
                        )
                    }
                    (Some(f), _) => format!("{} is a file, not a folder", f.display()),
                    _ if explicit => "check --config / OBSERVATORY_CONFIG".into(),
                    _ => "fix its permissions or move it away".into(),
                },
                error,
            });
        }
    };
    parse_config(&text, &file.path, home, warnings)
}

/// Read a config file's text. Syntax errors fail; every other problem is a
/// warning (pushed on `warnings`, located `path:line`) and that key is
/// ignored.
fn parse_config(
    text: &str,
    path: &Path,
    home: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<FileValues, ConfigError> {
    let root = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        path: path.to_owned(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = FileValues::default();
    let mut r = Reader {
        text,
        path,
        found: Vec::new(),
    };
    let path_value = |v: &str| -> PathBuf {
        let p = paths::expand_tilde(v, home);
        if p.is_relative() { base.join(p) } else { p }
    };
    for (key, value) in root.get_ref().iter() {
        let name: &str = key.get_ref();
        let line = line_of(text, key.span().start);
        match name {
            "roots" => {
                // (an empty name, which would be the config file's own
                // folder, is left out, said, as in an OBSERVATORY_ROOTS
                // with empty names; a list of none is ignored: tour-s35
                // F3, review-s35 M3)
                out.roots = r.list_of_strings(name, value).and_then(|(v, l)| {
                    let named: Vec<&String> = v.iter().filter(|s| !s.trim().is_empty()).collect();
                    if named.is_empty() {
                        r.warn(l, name, "names no folder");
                        return None;
                    }
                    if named.len() < v.len() {
                        r.said(
                            l,
                            name,
                            "holds an empty name, which names no folder; left out",
                        );
                    }
                    Some(At {
                        value: named.iter().map(|s| path_value(s)).collect(),
                        line: l,
                    })
                })
            }
            "db" => out.db = r.string(name, value).map(|(v, l)| at(path_value(&v), l)),
            "pricing" => out.pricing = r.string(name, value).map(|(v, l)| at(path_value(&v), l)),
            "timezone" => {
                out.timezone = r.string(name, value).and_then(|(v, l)| {
                    r.valid(name, l, check_zone(&v).map(|()| v.trim().to_string()))
                })
            }
            "week_start" => {
                out.week_start = r
                    .string(name, value)
                    .and_then(|(v, l)| r.valid(name, l, parse_week_start(&v)))
            }
            "color" => {
                out.color = r
                    .string(name, value)
                    .and_then(|(v, l)| r.valid(name, l, parse_color(&v)))
            }
            "money_decimals" => {
                out.money_decimals = r
                    .integer(name, value)
                    .and_then(|(v, l)| r.valid(name, l, check_decimals(v)))
            }
            "cost" | "budget" | "watch" => {
                let Some(table) = r.table(name, value) else {
                    continue;
                };
                for (k, v) in table.iter() {
                    let sub: &str = k.get_ref();
                    let full = format!("{name}.{sub}");
                    match full.as_str() {
                        "cost.group_by" => {
                            out.cost_group_by =
                                r.list_of_strings(&full, v).and_then(|(names, l)| {
                                    r.valid(
                                        &full,
                                        l,
                                        parse_groups(names.iter().map(String::as_str)),
                                    )
                                })
                        }
                        "budget.warn_at" => {
                            out.budget_warn_at = r
                                .integer(&full, v)
                                .and_then(|(n, l)| r.valid(&full, l, parse_warn_at(n)))
                        }
                        "watch.poll_interval_ms" => {
                            out.poll_interval_ms = r
                                .integer(&full, v)
                                .and_then(|(n, l)| r.valid(&full, l, parse_poll(n)))
                        }
                        _ => r.unknown(&full, line_of(text, k.span().start)),
                    }
                }
            }
            _ => r.unknown(name, line),
        }
    }
    // in the file's order (TOML tables are read sorted by key)
    r.found.sort_by_key(|(line, _)| *line);
    warnings.extend(r.found.into_iter().map(|(_, w)| w));
    Ok(out)
}

fn at<T>(value: T, line: usize) -> At<T> {
    At { value, line }
}

/// Reads typed values out of the file, warning (with file and line) about
/// the ones it cannot use.
struct Reader<'a> {
    text: &'a str,
    path: &'a Path,
    /// Warnings, with their lines.
    found: Vec<(usize, String)>,
}

impl Reader<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    fn warn(&mut self, line: usize, key: &str, message: &str) {
        self.said(line, key, &format!("{message}; ignored"));
    }

    /// A warning about `key` that says itself what becomes of it.
    fn said(&mut self, line: usize, key: &str, message: &str) {
        let w = format!("{}:{line}: `{key}` {message}", self.path.display());
        self.found.push((line, w));
    }

    fn unknown(&mut self, key: &str, line: usize) {
        self.found.push((
            line,
            format!(
                "{}:{line}: unknown key `{key}`; ignored (known keys: {})",
                self.path.display(),
                KEYS.join(", ")
            ),
        ));
    }

    fn wrong_type(&mut self, key: &str, value: &Spanned<DeValue<'_>>, want: &str) {
        let line = self.line(&value.span());
        self.warn(
            line,
            key,
            &format!("must be {want}, not {}", a_type(value.get_ref())),
        );
    }

    fn valid<T>(&mut self, key: &str, line: usize, r: Result<T, String>) -> Option<At<T>> {
        match r {
            Ok(value) => Some(At { value, line }),
            Err(why) => {
                self.warn(line, key, &why);
                None
            }
        }
    }

    fn string(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> Option<(String, usize)> {
        match value.get_ref() {
            DeValue::String(s) => Some((s.to_string(), self.line(&value.span()))),
            _ => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    fn integer(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> Option<(i64, usize)> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some((n, self.line(&value.span()))),
                Err(_) => {
                    let line = self.line(&value.span());
                    self.warn(line, key, "is too large");
                    None
                }
            },
            _ => {
                self.wrong_type(key, value, "a whole number");
                None
            }
        }
    }

    /// A list of strings; one string is a list of one.
    fn list_of_strings(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<(Vec<String>, usize)> {
        let line = self.line(&value.span());
        match value.get_ref() {
            DeValue::String(s) => Some((vec![s.to_string()], line)),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => {
                            let line = self.line(&item.span());
                            self.warn(
                                line,
                                key,
                                &format!(
                                    "must be a list of strings, not a list holding {}",
                                    a_type(other)
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some((out, line))
            }
            _ => {
                self.wrong_type(key, value, "a list of strings");
                None
            }
        }
    }

    fn table<'t, 'i>(
        &mut self,
        key: &str,
        value: &'t Spanned<DeValue<'i>>,
    ) -> Option<&'t DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(key, value, &format!("a table ([{key}])"));
                None
            }
        }
    }
}

fn a_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `settings.json` in a Claude config dir (or the `projects/` dir in one).
fn settings_in(dir: &Path) -> PathBuf {
    let dir = match dir.file_name() {
        Some(n) if n == "projects" => dir.parent().unwrap_or(dir),
        _ => dir,
    };
    dir.join("settings.json")
}

/// `settings.json` in the first `CLAUDE_CONFIG_DIR` entry (an entry may be
/// the `projects/` dir itself: its parent then), else in `~/.claude`.
fn claude_settings_path(claude_config_dir: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    let first = claude_config_dir
        .into_iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .find(|s| !s.is_empty());
    match (first, home) {
        (Some(d), home) => Some(settings_in(&paths::expand_tilde(d, home))),
        (None, Some(h)) => Some(h.join(".claude/settings.json")),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn claude_settings_location() {
        let h = Path::new("/h");
        let p = |env: Option<&str>| claude_settings_path(env, Some(h));
        assert_eq!(p(None), Some(PathBuf::from("/h/.claude/settings.json")));
        assert_eq!(
            p(Some(" , /a/cfg, /b")),
            Some(PathBuf::from("/a/cfg/settings.json"))
        );
        assert_eq!(
            p(Some("~/x/projects")),
            Some(PathBuf::from("/h/x/settings.json"))
        );
        assert_eq!(claude_settings_path(None, None), None);
    }

    fn flags() -> GlobalArgs {
        GlobalArgs {
            db: None,
            claude_dirs: Vec::new(),
            pricing: None,
            json: false,
            quiet: false,
            config: None,
            color: None,
        }
    }

    fn resolve(g: &GlobalArgs, vars: &[(&str, &str)], ttys: bool) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        Settings::resolve_with(
            &Inputs {
                flags: g,
                env: &env,
                stdout_tty: ttys,
                stderr_tty: ttys,
                stdin_tty: ttys,
            },
            true,
        )
    }

    fn source_of(s: &Settings, key: &str) -> String {
        s.source_of(key).unwrap().describe()
    }

    #[test]
    fn env_names_follow_the_keys() {
        assert_eq!(env_var("cost.group_by"), "OBSERVATORY_COST_GROUP_BY");
        assert_eq!(env_var("timezone"), "OBSERVATORY_TIMEZONE");
        assert_eq!(
            env_var("watch.poll_interval_ms"),
            "OBSERVATORY_WATCH_POLL_INTERVAL_MS"
        );
    }

    #[test]
    fn file_then_env_then_flag() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().display().to_string();
        std::fs::write(
            d.path().join("config.toml"),
            "# mine\ndb = \"file.db\"\ntimezone = \"Asia/Tokyo\"\nweek_start = \"sunday\"\n\n[cost]\ngroup_by = \"model\"\n",
        )
        .unwrap();
        let base = [("HOME", home.as_str()), ("OBSERVATORY_HOME", home.as_str())];
        let s = resolve(&flags(), &base, false).unwrap();
        assert_eq!(s.db, d.path().join("file.db"), "relative to the file");
        assert_eq!(s.tz, "Asia/Tokyo");
        assert_eq!(s.week_start, WeekStart::Sunday);
        assert_eq!(s.cost_group_by, vec![Group::Model]);
        let cfg = d.path().join("config.toml").display().to_string();
        assert_eq!(source_of(&s, "db"), format!("{cfg}:2"));
        assert_eq!(source_of(&s, "cost.group_by"), format!("{cfg}:7"));
        assert_eq!(source_of(&s, "money_decimals"), "default");

        let mut vars = base.to_vec();
        vars.push(("OBSERVATORY_DB", "/env.db"));
        vars.push(("OBSERVATORY_TIMEZONE", "UTC"));
        let s = resolve(&flags(), &vars, false).unwrap();
        assert_eq!(s.db, PathBuf::from("/env.db"));
        assert_eq!(s.tz, "UTC");
        assert_eq!(source_of(&s, "db"), "env OBSERVATORY_DB");

        let mut g = flags();
        g.db = Some(PathBuf::from("/flag.db"));
        let s = resolve(&g, &vars, false).unwrap();
        assert_eq!(s.db, PathBuf::from("/flag.db"));
        assert_eq!(source_of(&s, "db"), "flag --db");
    }

    #[test]
    fn bad_keys_and_values_warn_with_their_line_and_the_rest_applies() {
        let mut w = Vec::new();
        let text = "colour = \"never\"\nmoney_decimals = \"two\"\nweek_start = \"tuesday\"\n[budget]\nwarn_at = 90\nwarn = 1\n[watch]\npoll_interval_ms = 5\n";
        let v = parse_config(text, Path::new("/c.toml"), None, &mut w).unwrap();
        assert_eq!(
            v.budget_warn_at.as_ref().map(|a| (a.value, a.line)),
            Some((90, 5))
        );
        assert!(
            v.money_decimals.is_none() && v.week_start.is_none() && v.poll_interval_ms.is_none()
        );
        assert_eq!(w.len(), 5, "{w:#?}");
        assert!(
            w[0].starts_with("/c.toml:1: unknown key `colour`"),
            "{}",
            w[0]
        );
        assert!(
            w[1].starts_with("/c.toml:2: `money_decimals` must be a whole number, not a string"),
            "{}",
            w[1]
        );
        assert!(
            w[2].starts_with("/c.toml:3: `week_start` must be monday or sunday"),
            "{}",
            w[2]
        );
        assert!(
            w[3].starts_with("/c.toml:6: unknown key `budget.warn`"),
            "{}",
            w[3]
        );
        assert!(
            w[4].starts_with("/c.toml:8: `watch.poll_interval_ms` must be between"),
            "{}",
            w[4]
        );
    }

    #[test]
    fn invalid_toml_is_an_error_with_its_line() {
        let mut w = Vec::new();
        let e = parse_config(
            "db = \"x\"\n\ntimezone = \n",
            Path::new("/c.toml"),
            None,
            &mut w,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("/c.toml:3: the config file is not valid TOML"),
            "{msg}"
        );
    }

    #[test]
    fn colour_follows_flag_env_and_terminal() {
        let g = flags();
        assert!(resolve(&g, &[], true).unwrap().color_stdout);
        assert!(!resolve(&g, &[], false).unwrap().color_stdout);
        assert!(
            !resolve(&g, &[("NO_COLOR", "1")], true)
                .unwrap()
                .color_stdout
        );
        assert!(
            resolve(&g, &[("NO_COLOR", "")], true).unwrap().color_stdout,
            "empty NO_COLOR is unset"
        );
        assert!(!resolve(&g, &[("TERM", "dumb")], true).unwrap().color_stderr);
        assert!(
            resolve(&g, &[("CLICOLOR_FORCE", "1")], false)
                .unwrap()
                .color_stdout
        );
        let mut always = flags();
        always.color = Some(ColorChoice::Always);
        let s = resolve(&always, &[("NO_COLOR", "1")], false).unwrap();
        assert!(s.color_stdout && s.color_stderr);
        let mut never = flags();
        never.color = Some(ColorChoice::Never);
        assert!(
            !resolve(&never, &[("CLICOLOR_FORCE", "1")], true)
                .unwrap()
                .color_stderr
        );
        let mut auto = flags();
        auto.color = Some(ColorChoice::Auto);
        assert!(
            !resolve(&auto, &[("NO_COLOR", "1")], true)
                .unwrap()
                .color_stdout,
            "auto still honours NO_COLOR"
        );
    }

    #[test]
    fn env_values_that_do_not_parse_are_named() {
        let s = resolve(
            &flags(),
            &[
                ("OBSERVATORY_WEEK_START", "friday"),
                ("OBSERVATORY_COST_GROUP_BY", "model, day"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(s.week_start, WeekStart::Monday);
        assert_eq!(s.cost_group_by, vec![Group::Model, Group::Day]);
        assert!(
            s.warnings[0].starts_with("OBSERVATORY_WEEK_START=\"friday\""),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn a_root_list_of_only_commas_is_said_and_ignored() {
        let s = resolve(
            &flags(),
            &[("CLAUDE_CONFIG_DIR", " , "), ("HOME", "/h")],
            false,
        )
        .unwrap();
        assert_eq!(
            s.warnings,
            ["CLAUDE_CONFIG_DIR=\" , \" names no folder; ignored"]
        );
        let given: Vec<&Path> = s.roots.iter().map(|r| r.given.as_path()).collect();
        assert_eq!(
            given,
            [Path::new("/h/.config/claude"), Path::new("/h/.claude")]
        );
        let s = resolve(&flags(), &[("OBSERVATORY_ROOTS", ",")], false).unwrap();
        assert_eq!(
            s.warnings,
            ["OBSERVATORY_ROOTS=\",\" names no folder; ignored"]
        );
    }
}
