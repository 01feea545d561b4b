//! `observatory completions SHELL` and `observatory man`: generated from the
//! clap definition, so they never drift from the real flags.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::output;

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "observatory", &mut buf);
    output::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: &crate::cli::ManArgs) -> Result<ExitCode> {
    let top = Cli::command();
    let page = match &args.command {
        None => top,
        // (the page the main one names: observatory-forget(1))
        Some(name) => {
            let Some(sub) = top.find_subcommand(name) else {
                let names: Vec<&str> = top
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .filter(|n| *n != "help")
                    .collect();
                return Err(super::usage(format!(
                    "no command {name:?}; the commands: {}",
                    names.join(", ")
                )));
            };
            sub.clone()
                .display_name(format!("observatory-{}", sub.get_name()))
                .bin_name(format!("observatory {}", sub.get_name()))
        }
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .context("rendering the man page")?;
    output::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
