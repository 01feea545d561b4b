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
    if let Some(dir) = &args.out_dir {
        // (every page the main one names, observatory-COMMAND(1) for each
        // command and each of theirs: what `man observatory-forget` finds)
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("writing the man pages into {}", dir.display()))?;
        let pages = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        n.starts_with("observatory") && n.ends_with(".1")
                    })
                    .count()
            })
            .unwrap_or(0);
        crate::errln!("Wrote {pages} man pages into {}.", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    // (as --out-dir writes them: no page for `help`, which no page names)
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    // `budget set` or `budget-set`: the page observatory-budget-set(1)
    let words: Vec<&str> = args.command.iter().flat_map(|w| w.split('-')).collect();
    let mut page = top;
    let mut name = String::from("observatory");
    for word in &words {
        let Some(sub) = page.find_subcommand(word).cloned() else {
            let names: Vec<&str> = page
                .get_subcommands()
                .map(clap::Command::get_name)
                .collect();
            return Err(super::usage(format!(
                "no command {:?} in `{}`; its commands: {}",
                words.join(" "),
                name.replace('-', " "),
                names.join(", ")
            )));
        };
        name = format!("{name}-{}", sub.get_name());
        page = sub;
    }
    if !words.is_empty() {
        // (the page's footer names the command by its name: a
        // 'static str in clap, made once in this short-lived process)
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        page = page
            .name(leaked)
            .display_name(name.clone())
            .bin_name(name.replace('-', " "))
            .version(env!("CARGO_PKG_VERSION"));
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .context("rendering the man page")?;
    output::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
