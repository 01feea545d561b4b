//! `observatory config show|path`: the settings in effect and where each
//! came from; where the config file is. Never opens the database.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::cli::{ConfigArgs, ConfigCommand};
use crate::config::{ConfigFile, Settings};
use crate::output::{self, table};
use crate::{out, outln};

pub fn run(args: &ConfigArgs, settings: &Settings) -> Result<ExitCode> {
    match args.command {
        ConfigCommand::Show(_) => show(settings),
        ConfigCommand::Path(_) => path(&settings.config_file, settings.json),
    }
}

/// `config path` (also run before the file is read, so it works when the
/// file is broken).
pub fn path(file: &ConfigFile, json: bool) -> Result<ExitCode> {
    if json {
        output::print_json(&json!({
            "path": file.path,
            "exists": file.exists,
            "from": file.source.to_json(),
        }))?;
    } else {
        outln!("{}", file.path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn show(settings: &Settings) -> Result<ExitCode> {
    let file = &settings.config_file;
    if settings.json {
        let mut values = Map::new();
        for o in &settings.origins {
            let mut v = Map::new();
            v.insert("value".into(), o.value.clone());
            if let Value::Object(src) = o.source.to_json() {
                v.extend(src);
            }
            values.insert(o.key.into(), Value::Object(v));
        }
        output::print_json(&json!({
            "config_file": {
                "path": file.path,
                "exists": file.exists,
                "from": file.source.to_json(),
            },
            "values": values,
            "warnings": settings.warnings,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = output::terminal_width(settings.stdout_tty);
    let heading = format!(
        "Config file: {} ({}; {})",
        file.path.display(),
        if file.exists { "read" } else { "not found" },
        match &file.source {
            crate::config::Source::Default => "the default place".to_string(),
            other => format!("from {}", other.describe()),
        }
    );
    outln!("{}", output::wrap(&heading, width));
    let columns = [
        table::text("Key"),
        table::path("Value"),
        table::text("From"),
    ];
    let rows: Vec<Vec<String>> = settings
        .origins
        .iter()
        .map(|o| {
            vec![
                o.key.to_string(),
                human_value(&o.value),
                o.source.describe(),
            ]
        })
        .collect();
    // cut: the value (to 16, its end kept: a path), where it came from (to
    // 12), and below ~50 columns the key
    out!(
        "{}\n",
        table::fit(
            &columns,
            &rows,
            &[],
            width,
            &[(1, 16), (2, 12), (0, 16)],
            &[]
        )
    );
    if !settings.warnings.is_empty() {
        outln!(
            "{} in the config file or the environment ({}).",
            super::count(settings.warnings.len() as u64, "problem", "problems"),
            if settings.quiet {
                "without -q, warnings name them"
            } else {
                "see the warnings above"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn human_value(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(human_value).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
