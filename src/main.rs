//! observatory: every Claude Code transcript in one local SQLite database.

mod cli;
mod cmd;
mod config;
mod data;
mod ingest;
mod output;
mod paths;
mod pricing;
mod report;
mod store;
mod transcript;
mod watch;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, ConfigCommand};
use config::Settings;

fn main() -> ExitCode {
    let cli = parse_cli();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            crate::errln!("{} {err:#}", output::style::error_prefix());
            if err
                .chain()
                .any(|e| e.downcast_ref::<cmd::Usage>().is_some())
            {
                return ExitCode::from(2);
            }
            ExitCode::FAILURE
        }
    }
}

/// Parse the command line; clap's own help and usage errors follow
/// `--color` too (NO_COLOR and CLICOLOR_FORCE it reads by itself).
fn parse_cli() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut when = None;
    for (i, a) in args.iter().enumerate() {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if let Some(v) = a.strip_prefix("--color=") {
            when = Some(v.to_owned());
        } else if a == "--color" {
            when = args.get(i + 1).map(|v| v.to_string_lossy().into_owned());
        }
    }
    let choice = match when.as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    let matches = Cli::command().color(choice).get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let no_json = match &cli.command {
        Command::Completions(_) => Some("completions prints a shell script"),
        Command::Man(_) => Some("man prints the man page (roff)"),
        Command::Statusline(_) => Some(
            "statusline prints one line for Claude Code (`status --json` and `cost --json` are for scripts)",
        ),
        _ => None,
    };
    if let (true, Some(what)) = (cli.global.json, no_json) {
        return Err(cmd::usage(format!("--json does not apply: {what}")));
    }
    // Commands that need no settings run even when the config file is broken.
    match &cli.command {
        Command::Completions(args) => return cmd::completions::completions(args),
        Command::Man(args) => return cmd::completions::man(args),
        Command::Config(c) if matches!(c.command, ConfigCommand::Path(_)) => {
            return cmd::config::path(&config::locate_from_env(&cli.global), cli.global.json);
        }
        _ => {}
    }
    let settings = match Settings::resolve(&cli.global) {
        Ok(s) => s,
        // the status line always prints something: without the file then
        Err(e) if matches!(cli.command, Command::Statusline(_)) => {
            if !cli.global.quiet {
                crate::output::style::warn(e);
            }
            Settings::resolve_without_file(&cli.global)
        }
        Err(e) => {
            // colour for the error line, from the flag and the environment only
            let fallback = Settings::resolve_without_file(&cli.global);
            install_look(&fallback);
            return Err(e.into());
        }
    };
    install_look(&settings);
    if !settings.quiet {
        for w in &settings.warnings {
            output::style::warn(w);
        }
    }
    let ran = match &cli.command {
        Command::Ingest(args) => cmd::ingest::run(args, &settings),
        Command::Status(args) => cmd::status::run(args, &settings),
        Command::Cost(args) => cmd::cost::run(args, &settings),
        Command::Sessions(args) => cmd::sessions::run(args, &settings),
        Command::Show(args) => cmd::show::run(args, &settings),
        Command::Tools(args) => cmd::tools::run(args, &settings),
        Command::Hooks(args) => cmd::hooks::run(args, &settings),
        Command::Blocks(args) => cmd::blocks::run(args, &settings),
        Command::Files(args) => cmd::files::run(args, &settings),
        Command::Commands(args) => cmd::commands::run(args, &settings),
        Command::Query(args) => cmd::query::run(args, &settings),
        Command::Budget(args) => cmd::budget::run(args, &settings),
        Command::Watch(args) => cmd::watch::run(args, &settings),
        Command::Export(args) => cmd::export::run(args, &settings),
        Command::Backup(args) => cmd::backup::run(args, &settings),
        Command::Forget(args) => cmd::forget::run(args, &settings),
        Command::Pricing(args) => cmd::pricing::run(args, &settings),
        Command::Reprice(_) => cmd::pricing::reprice(&settings),
        Command::Schema(_) if settings.json => {
            output::print_json(&serde_json::json!({
                "schema_version": store::SCHEMA_VERSION,
                "sql": store::SCHEMA_SQL,
            }))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema(_) => {
            output::emit(store::SCHEMA_SQL)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Statusline(args) => cmd::statusline::run(args, &settings),
        Command::Setup(args) => cmd::setup::run(args, &settings),
        Command::Config(args) => cmd::config::run(args, &settings),
        Command::Completions(args) => cmd::completions::completions(args),
        Command::Man(args) => cmd::completions::man(args),
    };
    ran.map_err(|e| store::name_damage(e, &settings.db))
}

fn install_look(s: &Settings) {
    output::style::install(output::style::Look {
        color_stdout: s.color_stdout,
        color_stderr: s.color_stderr,
        money_decimals: s.money_decimals,
    });
}
