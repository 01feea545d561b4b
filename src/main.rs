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

use clap::Parser;

use cli::{Cli, Command};
use config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&cli.global);
    match &cli.command {
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
        Command::Reprice => cmd::pricing::reprice(&settings),
        Command::Schema => {
            output::emit(store::SCHEMA_SQL)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Statusline(args) => cmd::statusline::run(args, &settings),
        Command::Setup(args) => cmd::setup::run(args, &settings),
        Command::Completions(args) => cmd::completions::completions(args),
        Command::Man => cmd::completions::man(),
    }
}
