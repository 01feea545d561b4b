//! Command-line surface (clap derive). No I/O here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes: 0 ok, 1 error, 2 usage error.

Environment:
  CLAUDE_CONFIG_DIR   comma-separated Claude config dirs to read (default: ~/.config/claude and ~/.claude)
  OBSERVATORY_DB      database path (default: observatory.db in the data dir)
  OBSERVATORY_HOME    moves observatory's config and data dirs (never the transcript roots)";

/// Keep every Claude Code transcript in one local SQLite database, and see
/// what your sessions did and cost.
#[derive(Debug, Parser)]
#[command(name = "observatory", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database file [env: OBSERVATORY_DB]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Claude config dir to read transcripts from (repeatable; overrides CLAUDE_CONFIG_DIR)
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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read new transcript lines into the database
    #[command(after_help = "Examples:
  observatory ingest
  observatory ingest --json | jq .responses_new
  observatory ingest --full      # re-derive every table from the stored raw lines")]
    Ingest(IngestArgs),
    /// Show what the database holds
    #[command(after_help = "Examples:
  observatory status
  observatory status --json | jq .records_by_type")]
    Status(StatusArgs),
    /// Print the database schema (schema.sql: every table, with comments)
    #[command(after_help = "Examples:
  observatory schema | less
  observatory schema | grep -A 30 'CREATE TABLE responses'")]
    Schema,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Re-derive every table from the stored raw lines, then read the files
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
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
}
