//! Command-line surface (clap derive). No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 error, 2 usage error; `budget check`: 3 a warn level reached (with --fail-on-warn), 4 a budget over its limit.

Settings come from flags, then OBSERVATORY_* environment variables, then the config file (config.toml in the config dir; see `observatory config show`), then the defaults.

Transcripts are read from ~/.config/claude and ~/.claude, unless --claude-dir, CLAUDE_CONFIG_DIR or OBSERVATORY_ROOTS (config: `roots`) name other folders.

Environment:
  CLAUDE_CONFIG_DIR   Claude config dirs to read, comma-separated
  OBSERVATORY_DB      database file (default: observatory.db in the data dir)
  OBSERVATORY_HOME    moves the config and data dirs (not the transcripts)
  OBSERVATORY_CONFIG  the config file to read
  OBSERVATORY_ROOTS   transcript roots, comma-separated (wins over the above)
  OBSERVATORY_<KEY>   any config key, e.g. OBSERVATORY_TIMEZONE
  NO_COLOR            no colour (--color and OBSERVATORY_COLOR win over it)";

/// Keep every Claude Code transcript in one local SQLite database, and see
/// what your sessions did and cost.
#[derive(Debug, Parser)]
#[command(name = "observatory", version, about, after_help = AFTER_HELP, max_term_width = 100, args_override_self = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Database file [env: OBSERVATORY_DB]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Claude config dir to read transcripts from (repeatable; overrides
    /// CLAUDE_CONFIG_DIR, OBSERVATORY_ROOTS and the config's `roots`)
    #[arg(long = "claude-dir", global = true, value_name = "DIR")]
    pub claude_dirs: Vec<PathBuf>,
    /// Price table that overrides or extends the built-in one
    #[arg(long, global = true, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bar, no warnings on stderr (errors still print)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Config file to read [env: OBSERVATORY_CONFIG; default: config.toml in the config dir]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Colour on the terminal: auto (when it is one, and NO_COLOR is unset), always, never
    #[arg(long, global = true, value_name = "WHEN", value_enum)]
    pub color: Option<ColorChoice>,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the output is a terminal and NO_COLOR is not set
    Auto,
    /// Always colour (even in a pipe, even with NO_COLOR)
    Always,
    /// Never colour
    Never,
}

impl ColorChoice {
    pub fn name(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read new transcript lines into the database
    #[command(after_help = "Examples:
  observatory ingest
  observatory ingest --json | jq .responses_new
  observatory ingest --full    # re-derive every table from the stored raw lines")]
    Ingest(IngestArgs),
    /// Show what the database holds
    #[command(after_help = "Examples:
  observatory status
  observatory status --json | jq .records_by_type")]
    Status(StatusArgs),
    /// Token use and cost, exact to the last digit, grouped as you ask
    #[command(after_help = "Examples:
  observatory cost --by-model
  observatory cost --by-day --since 7d --tz Europe/Paris
  observatory cost --by-project --json | jq '.rows[] | {project, cost_usd}'
  observatory cost --by-model --csv > cost.csv

Without a --by-* flag, `cost.group_by` in the config groups the rows (one total when it is not set); --total always prints the one total.")]
    Cost(CostArgs),
    /// Sessions, newest first: title, duration, prompts, tools, subagents, cost
    #[command(after_help = "Examples:
  observatory sessions --since 7d
  observatory sessions --sort cost --limit 10
  observatory sessions --json | jq '.rows[] | {session_id, title, cost_usd}'")]
    Sessions(SessionsArgs),
    /// One session as a timeline: prompts, responses, tool calls, hooks, subagents, turns
    #[command(after_help = "Examples:
  observatory show 3f2a          # a unique prefix of the session id is enough
  observatory show 3f2a9c1e --tz UTC
  observatory show 3f2a --json | jq '.turns[] | {turn, duration_ms, cost_usd}'")]
    Show(ShowArgs),
    /// Tool calls per tool and MCP server: errors, error rate, p50/p95 duration
    #[command(after_help = "Examples:
  observatory tools --since 30d
  observatory tools --by-project --project myapp
  observatory tools --json | jq '.rows[] | select(.errors > 0)'")]
    Tools(ToolsArgs),
    /// Hook runs per event and command: successes, errors, blocks, p50/p95 duration
    #[command(after_help = "Examples:
  observatory hooks
  observatory hooks --json | jq '.rows[] | select(.blocking_errors > 0)'")]
    Hooks(HooksArgs),
    /// 5-hour usage blocks: tokens, cost, burn rate, and where the active one is heading
    #[command(after_help = "Examples:
  observatory blocks --since 7d
  observatory blocks --active
  observatory blocks --json | jq '.rows[] | select(.active)'")]
    Blocks(BlocksArgs),
    /// Files read, edited and written by Claude Code's file tools, most touched first
    #[command(after_help = "Examples:
  observatory files --since 7d --limit 20
  observatory files --json | jq '.rows[] | select(.edits > 0) | .path'")]
    Files(FilesArgs),
    /// Slash commands and skills used, with counts
    #[command(after_help = "Examples:
  observatory commands --since 30d
  observatory commands --json | jq '.rows[] | select(.kind == \"skill\")'")]
    Commands(CommandsArgs),
    /// Read-only SQL over the database (see `observatory schema`; views v_responses,
    /// v_tool_calls, v_hook_runs, v_messages, v_daily_cost)
    #[command(after_help = "Examples:
  observatory query \"SELECT day, sum(cost_picousd) FROM v_daily_cost GROUP BY 1\"
  observatory query --json \"SELECT * FROM v_daily_cost\" | jq -c '.rows[]'
  echo 'SELECT count(*) AS n FROM tool_calls' | observatory query -

Only SELECT (and reading PRAGMAs) is allowed: writes, ATTACH, PRAGMA writes and load_extension are refused (exit 1). --json prints {\"columns\": [...], \"rows\": [{column: value}]}: integers and reals as numbers, text as strings, NULL as null, blobs as hex strings.")]
    Query(QueryArgs),
    /// Spending limits per day, week or month: set, list, rm, check
    #[command(after_help = "Examples:
  observatory budget set --daily 20
  observatory budget set --monthly 300 --project myapp --warn-at 90
  observatory budget list
  observatory budget check --fail-on-warn || echo 'over budget'
  observatory budget rm 2

`budget check` exit codes: 0 no budget over its limit (warn levels crossed are printed on stderr), 3 with --fail-on-warn when one is at or over its warn level, 4 when one is over its limit, 1 error, 2 usage error.")]
    Budget(BudgetArgs),
    /// Follow running sessions live: a view for people, NDJSON events for scripts
    #[command(after_help = "Examples:
  observatory watch                       # live view (Ctrl-C to stop)
  observatory watch --json | jq -c 'select(.event == \"response\") | .cost_usd'
  observatory watch --project myapp --replay --json > events.ndjson

Events (one JSON object per line, flushed per line): ready, session_start, message, response, response_update, tool_call, tool_result, hook, progress, queue_operation, compaction, malformed_line, budget (a budget reaching its warn level or going over its limit), missed (events gone from the log before this watcher read them). Every event has event; all but ready, budget, malformed_line and missed also have session_id, agent_id, project and timestamp (null where a line has none).")]
    Watch(WatchArgs),
    /// Write the stored transcripts back as JSONL files, byte for byte as they were read
    #[command(after_help = "Examples:
  observatory export --out ~/claude-archive
  observatory export --out /tmp/s --session 3f2a
  observatory export --out /tmp/march --since 2026-03-01 --until 2026-03-31

Each file goes to DIR/<its path under its transcript root>: DIR/projects/<project dir>/<session>.jsonl, subagents under DIR/projects/<project dir>/<session>/subagents/. A file holds exactly the bytes that were read: every complete line, byte for byte; an incomplete last line that ingest held back (no newline yet) is not in the database and not written. Run `observatory ingest` first for the newest lines: export writes what the database holds, and works after Claude Code deleted the transcripts.

Filters pick whole files, never parts: --project and --session the files of matching sessions (with their subagents), --since/--until the files with a line timestamped in that range (days in --tz). Only the current generation of each file is written; --all-generations also writes older ones (a file that shrank or was replaced, read again from the start) as NAME.gen<N>.jsonl beside it. A file forgotten with `observatory forget` is not written (only lines appended to it after the forget are, and they start mid-file). Files are created 0600. An existing file is never overwritten without --force (nothing is written then), and a --out that would put a file into a folder observatory reads transcripts from is refused, --force or not.")]
    Export(ExportArgs),
    /// Copy the database to a file, consistent even while other commands run
    #[command(after_help = "Examples:
  observatory backup ~/backups/observatory-$(date +%F).db
  observatory backup /tmp/obs.db --force
  observatory --db /tmp/obs.db cost --no-ingest   # a backup is a database

The copy is SQLite's VACUUM INTO: one consistent snapshot, taken while ingest, watch or reports go on, compacted, created 0600 (it holds your transcripts). An existing FILE is refused unless --force (it is then replaced in one rename, only once the copy is complete).")]
    Backup(BackupArgs),
    /// Delete sessions for good: their lines, raw bytes and every row made from them
    #[command(after_help = "Examples:
  observatory forget --session 3f2a --dry-run
  observatory forget --project secret-client
  observatory forget --before 2025-01-01 --yes

Criteria combine (a session must match all). A session goes with its subagents and its transcript files: its own file, the files under its folder, and any file all of whose lines are its own (or other forgotten sessions'). Their lines, raw bytes and every row made from them are deleted, projects left without sessions too; the tables are then re-derived from the raw lines that stay (as `ingest --full`), and the database is rewritten (VACUUM, WAL checkpointed and truncated) so the deleted bytes are gone from its files. Budgets are kept. A line Claude Code copied into another session's file (a resumed session) stays with that file: forget that session too to remove it.

--before DAY forgets whole sessions whose last activity is before the start of DAY (in --tz); sessions without any timestamp are kept.

Forgotten files that are still on disk are remembered (a tombstone: path, cursor, digests; none of their content), so `ingest` does not read them again, nor a copy of them elsewhere. Lines appended to such a file later are new activity: they are read.

It reads new transcript lines first (unless --no-ingest), so that lines written before the forget are forgotten too. Without --yes, forget shows what it will delete and asks; without a terminal to ask on it refuses (exit 2). Exit codes: 0 done (or nothing to forget), 1 error or declined, 2 usage error.")]
    Forget(ForgetArgs),
    /// Show the price table in effect (built-in plus your overrides)
    #[command(after_help = "Examples:
  observatory pricing
  observatory pricing --json | jq '.entries[] | select(.id | contains(\"opus\"))'
  observatory pricing --check   # exit 1 if a model in the database has no price")]
    Pricing(PricingArgs),
    /// Re-price every stored response with the price table in effect
    #[command(after_help = "Examples:
  observatory reprice   # after editing pricing.toml (reports re-price anyway)")]
    Reprice(NeverIngests),
    /// Print the database schema (schema.sql: every table, with comments)
    #[command(after_help = "Examples:
  observatory schema | less
  observatory schema | grep -A 30 'CREATE TABLE responses'")]
    Schema(NeverIngests),
    /// One short line for Claude Code's status line (reads its JSON on stdin)
    #[command(after_help = "Examples:
  observatory statusline < session.json
  observatory statusline --format '{model} {session_cost} | {block_left} left'
  observatory setup claude-code --apply      # make Claude Code run it

Claude Code pipes a JSON object about the session on stdin (session_id, transcript_path, model, workspace, cost). The command reads only what is new in that transcript and its subagents' transcripts beside it (skipped while another ingest runs: it never waits), then prints one line. Whatever stdin holds it exits 0: with bad or empty stdin or no database it prints the model name (or \"observatory\"), and with no transcript what is stored; only a bad flag of its own (--tz Mars) is a usage error, exit 2.

Fields for --format ({{ and }} print braces; other text is kept as written):
  {model}            model name as Claude Code shows it (Opus 4.6)
  {model_id}         model id (claude-opus-4-6)
  {project}          project folder name
  {session}          first 8 characters of the session id
  {session_cost}     this session's cost, subagents included
  {cc_session_cost}  the session cost Claude Code itself reports
  {today_cost}       cost of all sessions today (days cut in --tz)
  {block_cost}       cost of the 5-hour block running now ($0.00 when none)
  {block_left}       time left in that block (2h 05m; - when none)
  {block_end}        when it ends (HH:MM in --tz)
  {block_projected}  its cost at its end at the current rate
  {burn_rate}        its cost per hour so far ($3.20/h; - under a minute)

Default: \"{model} · {session_cost} session · {today_cost} today · {block_cost} block ({block_left} left) · {burn_rate}\", or \"{model} · {session_cost} session · {today_cost} today · no active block\" when no block is running.")]
    Statusline(StatuslineArgs),
    /// Wire observatory into Claude Code: status line and a SessionEnd ingest hook
    #[command(after_help = "Examples:
  observatory setup claude-code          # print the settings.json snippet
  observatory setup claude-code --apply  # merge it into ~/.claude/settings.json
  observatory setup claude-code --apply --settings .claude/settings.json --force

--apply writes a timestamped backup beside the file first (settings.json.bak-YYYYMMDD-HHMMSS), keeps every existing hook and setting, and changes nothing when run twice. A different status line already set is kept (exit 1) unless --force; a file that is not valid JSON is refused and left untouched (exit 1).")]
    Setup(SetupArgs),
    /// The settings in effect and where each came from; where the config file is
    #[command(after_help = "Examples:
  observatory config show
  observatory config show --json | jq '.values.timezone'
  observatory config path
  $EDITOR \"$(observatory config path)\"

Precedence, first wins: a flag, an OBSERVATORY_* environment variable, the config file, the default. The README's Configuration section documents every key.")]
    Config(ConfigArgs),
    /// Print a shell completion script
    #[command(after_help = "Examples:
  echo 'source <(observatory completions bash)' >> ~/.bashrc
  observatory completions zsh > ~/.zfunc/_observatory   # fpath+=~/.zfunc
  observatory completions fish > ~/.config/fish/completions/observatory.fish")]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or a command's
    #[command(after_help = "Examples:
  observatory man | man -l -
  observatory man forget | man -l -
  observatory man --out-dir ~/.local/share/man/man1   # install every page")]
    Man(ManArgs),
}

/// A word of `man COMMAND`: taken as it is (`man` says which words name
/// no page), offering every command's name to shell completion.
#[derive(Debug, Clone)]
struct CommandWord;

impl clap::builder::TypedValueParser for CommandWord {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        // (each command, and a nested one joined to its parent, `budget-set`:
        // a word that names a page on its own)
        fn names(c: &clap::Command, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
            for sub in c.get_subcommands().filter(|s| s.get_name() != "help") {
                let name = format!("{prefix}{}", sub.get_name());
                names(sub, &format!("{name}-"), out);
                out.insert(name);
            }
        }
        let mut out = std::collections::BTreeSet::new();
        names(&<Cli as clap::CommandFactory>::command(), "", &mut out);
        Some(Box::new(
            out.into_iter().map(clap::builder::PossibleValue::new),
        ))
    }
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command's page (observatory-COMMAND(1)) instead of the main one:
    /// `forget`, `budget set` or `budget-set`
    #[arg(value_name = "COMMAND", value_parser = CommandWord, hide_possible_values = true)]
    pub command: Vec<String>,
    /// Write every page (observatory.1 and one per command) into DIR, e.g.
    /// ~/.local/share/man/man1, instead of printing one
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Every setting in effect, with where it came from (default, file:line, env VAR, flag)
    Show(NeverIngests),
    /// Print the config file's path (whether or not it exists)
    Path(NeverIngests),
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Re-derive every table from the stored raw lines (compressing those
    /// stored without the raw-line dictionary with it), then read the files
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

/// `--no-ingest` taken (and not shown) by commands that never read
/// transcripts, so that a script can pass it to every command it runs.
#[derive(Debug, Args, Clone, Copy)]
pub struct NeverIngests {
    #[arg(long = "no-ingest", hide = true)]
    pub no_ingest: bool,
}

/// Time and project filters shared by the reports.
#[derive(Debug, Args, Clone)]
pub struct FilterArgs {
    /// First day to include: YYYY-MM-DD, YYYYMMDD, today, yesterday, or a span like 7d / 2w
    #[arg(long, value_name = "DAY", allow_hyphen_values = true, value_parser = day_text)]
    pub since: Option<String>,
    /// Last day to include (same forms as --since)
    #[arg(long, value_name = "DAY", allow_hyphen_values = true, value_parser = day_text)]
    pub until: Option<String>,
    /// Only projects whose path, or transcript folder name, contains this
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, value_parser = project_text)]
    pub project: Option<String>,
    /// Time zone days are cut in: local, UTC, an IANA name (Europe/Paris) or an offset (+05:30)
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// One row per model (the id as the transcript wrote it)
    #[arg(long)]
    pub by_model: bool,
    /// One row per day (in --tz)
    #[arg(long)]
    pub by_day: bool,
    /// One row per week, from its first day (Monday, or `week_start` in the config; in --tz)
    #[arg(long)]
    pub by_week: bool,
    /// One row per month (in --tz)
    #[arg(long)]
    pub by_month: bool,
    /// One row per project (working directory)
    #[arg(long)]
    pub by_project: bool,
    /// One row per session
    #[arg(long)]
    pub by_session: bool,
    /// One row per git branch
    #[arg(long)]
    pub by_branch: bool,
    /// Main thread vs subagents
    #[arg(long)]
    pub by_agent: bool,
    /// One total, whatever `cost.group_by` in the config says (for scripts)
    #[arg(long, conflicts_with_all = ["by_model", "by_day", "by_week", "by_month", "by_project", "by_session", "by_branch", "by_agent"])]
    pub total: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only this model (id as written, pricing entry, or prefix: claude-opus; claude-sonnet-4-5 takes its dated ids only; claude- may be left out: opus-4-6)
    #[arg(long, value_name = "MODEL", value_parser = model_text)]
    pub model: Option<String>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
    /// Draw the cost per period as horizontal bars (with --by-day, --by-week or --by-month)
    #[arg(long)]
    pub chart: bool,
}

/// How `sessions` orders its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SessionSort {
    /// Newest first
    #[default]
    Start,
    /// Most expensive first
    Cost,
    /// Longest first
    Duration,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix), with its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Order of the rows
    #[arg(long, value_enum, default_value_t = SessionSort::Start)]
    pub sort: SessionSort,
    /// Show at most N sessions (after sorting)
    #[arg(long, value_name = "N", value_parser = limit_count)]
    pub limit: Option<usize>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout (one line per session and per subagent)
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id, or a prefix of it that names one session
    #[arg(value_name = "SESSION")]
    pub session: String,
    /// Time zone times are shown in: local, UTC, an IANA name (Europe/Paris) or an offset (+05:30)
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout (one line per event)
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix), with its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// One row per project and tool
    #[arg(long)]
    pub by_project: bool,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout (tools, then MCP servers)
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix), with its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct BlocksArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only the block that is running now (if any)
    #[arg(long)]
    pub active: bool,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix), with its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Show at most N files (the most touched)
    #[arg(long, value_name = "N", value_parser = limit_count)]
    pub limit: Option<usize>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct CommandsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only this session (id or prefix), with its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// One SQL statement; `-` reads it from stdin
    #[arg(value_name = "SQL")]
    pub sql: String,
    /// CSV on stdout
    #[arg(long)]
    pub csv: bool,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
pub struct BudgetArgs {
    #[command(subcommand)]
    pub command: BudgetCommand,
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Add a budget: a limit on the cost of one day, week (from `week_start`, Monday by default) or month
    Set(BudgetSetArgs),
    /// List the budgets
    List(NeverIngests),
    /// Remove a budget by its id (see `budget list`)
    Rm(BudgetRmArgs),
    /// Spend against each budget in its current period; exit 3 (with
    /// --fail-on-warn) at a warn level, 4 over a limit
    Check(BudgetCheckArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("period").required(true).args(["daily", "weekly", "monthly"])))]
pub struct BudgetSetArgs {
    /// Limit per day, in US dollars (e.g. 20 or 12.50)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub daily: Option<String>,
    /// Limit per week (from `week_start` in the config: Monday by default), in US dollars
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub weekly: Option<String>,
    /// Limit per calendar month, in US dollars
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub monthly: Option<String>,
    /// Only projects whose path, or transcript folder name, contains this
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, value_parser = project_text)]
    pub project: Option<String>,
    /// Only this model (id as written, pricing entry, or prefix: claude-opus; claude-sonnet-4-5 takes its dated ids only; claude- may be left out: opus-4-6)
    #[arg(long, value_name = "MODEL", value_parser = model_text)]
    pub model: Option<String>,
    /// Warn at this percentage of the limit (1-100) [default: `budget.warn_at` from the
    /// config, else 80]
    #[arg(long, value_name = "PERCENT",
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub warn_at: Option<u8>,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
pub struct BudgetRmArgs {
    /// The budget's id
    #[arg(value_name = "ID")]
    pub id: i64,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
pub struct BudgetCheckArgs {
    /// Exit 3 when a budget is at or over its warn level (not only 4 over its limit)
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Time zone days, weeks and months are cut in: local, UTC, an IANA name or an offset
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write into (created if needed)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only files with a line on or after this day: YYYY-MM-DD, YYYYMMDD, today, yesterday, 7d, 2w
    #[arg(long, value_name = "DAY", allow_hyphen_values = true, value_parser = day_text)]
    pub since: Option<String>,
    /// Only files with a line on or before this day (same forms as --since)
    #[arg(long, value_name = "DAY", allow_hyphen_values = true, value_parser = day_text)]
    pub until: Option<String>,
    /// Only the files of sessions whose project path, or transcript folder name, contains this
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, value_parser = project_text)]
    pub project: Option<String>,
    /// Only the files of this session (id or unique prefix) and its subagents
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Time zone days are cut in: local, UTC, an IANA name (Europe/Paris) or an offset (+05:30)
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Also write older generations of a file (it shrank or was replaced) as NAME.gen<N>.jsonl
    #[arg(long)]
    pub all_generations: bool,
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The copy to write
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["projects", "sessions", "befores", "replaced"])))]
pub struct ForgetArgs {
    // (the criteria are lists so that one given twice is refused, not
    // taken as its last value as other flags are: forget deletes)
    /// Sessions whose project path, or transcript folder name, contains this
    #[arg(long = "project", value_name = "TEXT", allow_hyphen_values = true, value_parser = project_text)]
    pub projects: Vec<String>,
    /// This session (id or unique prefix), with its subagents
    #[arg(long = "session", value_name = "ID")]
    pub sessions: Vec<String>,
    /// Sessions whose last activity is before this day: YYYY-MM-DD, YYYYMMDD, today, yesterday, 30d
    #[arg(long = "before", value_name = "DAY", allow_hyphen_values = true, value_parser = day_text)]
    pub befores: Vec<String>,
    /// Time zone --before's day starts in: local, UTC, an IANA name or an offset
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Only the replaced generations of those sessions' files (or of every
    /// file): a transcript's earlier versions, kept when it was rewritten or
    /// edited in place. The sessions stay, as their files are now
    #[arg(long)]
    pub replaced: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show what would be forgotten; delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not read new transcript lines first
    #[arg(long)]
    pub no_ingest: bool,
}

#[derive(Debug, Args)]
pub struct PricingArgs {
    /// List models in the database that have no price, responses of priced
    /// models stored without a cost, and fast responses of models with no fast
    /// price; exit 1 if there are any
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub never_ingests: NeverIngests,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Also emit events for what the catch-up ingest at start reads
    #[arg(long)]
    pub replay: bool,
    /// Only this session (id or prefix)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Only projects whose path, or transcript folder name, contains this
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, value_parser = project_text)]
    pub project: Option<String>,
    /// How often to look for changes where the OS file watcher is not available
    /// [default: `watch.poll_interval_ms` from the config, else 1000]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub poll_interval_ms: Option<u64>,
    /// Time zone the view's clock times and "today" (and budget periods) are in: local,
    /// UTC, an IANA name (Europe/Paris) or an offset (+05:30)
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatuslineArgs {
    /// The line to print: text with {field} placeholders (fields listed below)
    #[arg(long, value_name = "TEMPLATE")]
    pub format: Option<String>,
    /// Time zone "today" is cut in: local, UTC, an IANA name or an offset
    /// [default: `timezone` from the config, else local]
    #[arg(long, value_name = "ZONE", allow_hyphen_values = true)]
    pub tz: Option<String>,
    /// Do not read the transcript first (show what is stored)
    #[arg(long)]
    pub no_ingest: bool,
    /// The time to report at (RFC 3339), instead of now: for tests
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

/// What `setup` wires observatory into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SetupTarget {
    /// Claude Code's settings.json
    ClaudeCode,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// What to set up
    #[arg(value_enum, value_name = "TARGET")]
    pub target: SetupTarget,
    /// Merge the snippet into the settings file (after a backup) instead of printing it
    #[arg(long)]
    pub apply: bool,
    /// The settings file [default: settings.json in the first --claude-dir, else in the first CLAUDE_CONFIG_DIR entry, else ~/.claude/settings.json]
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Replace a different status line that is already set
    #[arg(long)]
    pub force: bool,
}

/// Shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `--project TEXT`: any text, also one starting with `-` (a transcript
/// folder name: `-home-me-app`, `--dotfiles` for `/home/me/.dotfiles`), but
/// not one of observatory's flags (`--json`, `-q`), which is refused rather
/// than taken as the text.
fn project_text(s: &str) -> Result<String, String> {
    if is_flag(s) {
        Err(format!(
            "{s} is a flag, not a project: give the text to match right after --project"
        ))
    } else if s.trim().is_empty() {
        // (every path contains "": a `--project "$UNSET"` would take all)
        Err("it needs some text of a project's path (an empty one would match every project; see `observatory sessions`)".into())
    } else {
        Ok(s.to_owned())
    }
}

/// A day as given (read later, against today in the report's zone): a
/// negative span gets the days' own message, a flag says it is one.
fn day_text(s: &str) -> Result<String, String> {
    if is_flag(s) {
        Err(format!(
            "{s} is a flag, not a day: give the day right after the option"
        ))
    } else {
        Ok(s.to_owned())
    }
}

/// The largest `--limit`: 2^53 - 1, the largest integer JSON readers such
/// as `jq` and JavaScript hold exactly (`--json` echoes the limit back).
const MAX_LIMIT: u64 = (1 << 53) - 1;

/// A `--limit`: a count of rows, echoed exactly by `--json`.
fn limit_count(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let too_large = || {
        format!(
            "too large: at most {MAX_LIMIT} (2^53 - 1, the largest count JSON readers hold exactly); leave --limit out for every row"
        )
    };
    let n: u64 = match s.parse() {
        Ok(n) if n <= MAX_LIMIT => n,
        Ok(_) => return Err(too_large()),
        Err(_) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(too_large());
        }
        Err(_) => return Err("not a count of rows: give a whole number such as 20".into()),
    };
    usize::try_from(n).map_err(|_| "more rows than this machine can count".into())
}

fn model_text(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("it needs a model id, pricing entry or prefix (an empty one would match every model; see `observatory cost --by-model`)".into())
    } else {
        Ok(s.to_owned())
    }
}

/// `s` is a flag of some observatory command (`--name`, `--name=…`, `-x`).
fn is_flag(s: &str) -> bool {
    fn walk(c: &clap::Command, s: &str) -> bool {
        c.get_arguments().any(|a| {
            let long = a.get_long().is_some_and(|l| {
                s.strip_prefix("--")
                    .is_some_and(|r| r == l || r.starts_with(&format!("{l}=")))
            });
            let short = a.get_short().is_some_and(|c| s == format!("-{c}"));
            long || short
        }) || c.get_subcommands().any(|sub| walk(sub, s))
    }
    s.starts_with('-')
        && (s == "--help" || s == "-h" || walk(&<Cli as clap::CommandFactory>::command(), s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Prose after the options is one line per paragraph, for clap to wrap
    /// to the terminal (lines broken by hand were broken again at 80
    /// columns, leaving a word alone on a line), and the lines that are
    /// kept as written (examples, the environment table) fit 80 columns.
    #[test]
    fn help_prose_is_left_to_clap_to_wrap() {
        let root = Cli::command();
        let commands = std::iter::once(&root).chain(root.get_subcommands());
        let mut wrong = Vec::new();
        for c in commands {
            let Some(text) = c.get_after_help().map(|t| t.to_string()) else {
                continue;
            };
            for para in text.split("\n\n") {
                let lines: Vec<&str> = para.lines().collect();
                if lines.iter().any(|l| l.starts_with("  ")) {
                    let long = lines.iter().filter(|l| l.chars().count() > 80);
                    wrong.extend(long.map(|l| format!("{}: too long: {l}", c.get_name())));
                } else if lines.len() > 1 {
                    wrong.push(format!("{}: broken by hand: {para}", c.get_name()));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn global_flags_go_anywhere() {
        let c = Cli::try_parse_from([
            "observatory",
            "ingest",
            "--json",
            "--claude-dir",
            "a",
            "--claude-dir",
            "b",
        ])
        .unwrap();
        assert!(c.global.json);
        assert_eq!(c.global.claude_dirs.len(), 2);
        assert!(Cli::try_parse_from(["observatory", "ingest", "--bogus"]).is_err());
    }

    #[test]
    fn a_limit_is_at_most_what_json_readers_hold_exactly() {
        let limit = |n: &str| match Cli::try_parse_from(["observatory", "files", "--limit", n]) {
            Ok(Cli {
                command: Command::Files(a),
                ..
            }) => Ok(a.limit),
            Ok(_) => unreachable!(),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(limit("9007199254740991"), Ok(Some(9007199254740991)));
        assert_eq!(limit("0"), Ok(Some(0)));
        for past in [
            "9007199254740992",
            "18446744073709551615",
            "18446744073709551616",
        ] {
            let e = limit(past).unwrap_err();
            assert!(e.contains("at most 9007199254740991 (2^53 - 1"), "{e}");
        }
        assert!(limit("ten").unwrap_err().contains("not a count of rows"));
        let e = Cli::try_parse_from(["observatory", "sessions", "--limit", "9007199254740993"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("2^53 - 1"), "{e}");
    }

    #[test]
    fn report_flags_parse() {
        let c = Cli::try_parse_from(["observatory", "sessions", "--sort", "cost", "--limit", "3"])
            .unwrap();
        match c.command {
            Command::Sessions(a) => {
                assert_eq!(a.sort, SessionSort::Cost);
                assert_eq!(a.limit, Some(3));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["observatory", "sessions", "--sort", "size"]).is_err());
        assert!(Cli::try_parse_from(["observatory", "show"]).is_err());
        assert!(
            Cli::try_parse_from(["observatory", "show", "abc", "--json", "--no-ingest"]).is_ok()
        );
        assert!(Cli::try_parse_from(["observatory", "blocks", "--active", "--tz", "UTC"]).is_ok());
    }

    #[test]
    fn config_and_color_flags_parse() {
        let c = Cli::try_parse_from([
            "observatory",
            "cost",
            "--color",
            "never",
            "--config",
            "/x.toml",
        ])
        .unwrap();
        assert_eq!(c.global.color, Some(ColorChoice::Never));
        assert_eq!(
            c.global.config.as_deref(),
            Some(std::path::Path::new("/x.toml"))
        );
        assert!(Cli::try_parse_from(["observatory", "cost", "--color", "pink"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["observatory", "config", "show", "--json"])
                .unwrap()
                .command,
            Command::Config(ConfigArgs {
                command: ConfigCommand::Show(_)
            })
        ));
    }

    #[test]
    fn data_flags_parse() {
        assert!(
            Cli::try_parse_from(["observatory", "export"]).is_err(),
            "--out is required"
        );
        match Cli::try_parse_from(["observatory", "export", "--out", "d", "--all-generations"])
            .unwrap()
            .command
        {
            Command::Export(a) => {
                assert_eq!(a.out, PathBuf::from("d"));
                assert!(a.all_generations);
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["observatory", "backup"]).is_err());
        assert!(
            Cli::try_parse_from(["observatory", "forget"]).is_err(),
            "forget needs a criterion"
        );
        assert!(Cli::try_parse_from(["observatory", "forget", "--yes"]).is_err());
        let c = Cli::try_parse_from([
            "observatory",
            "forget",
            "--project",
            "x",
            "--before",
            "30d",
            "-y",
            "--dry-run",
        ])
        .unwrap();
        match c.command {
            Command::Forget(a) => {
                assert_eq!(a.projects, ["x"]);
                assert_eq!(a.befores, ["30d"]);
                assert!(a.yes && a.dry_run);
            }
            other => panic!("{other:?}"),
        }
    }
}
