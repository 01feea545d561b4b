//! Flags + environment + TTY -> one `Settings`, built once. Nothing else
//! reads environment variables or checks the terminal.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::paths::{self, Root};

#[derive(Debug, Clone)]
pub struct Settings {
    pub db: PathBuf,
    pub roots: Vec<Root>,
    /// `--pricing`, else `pricing.toml` in the config dir if it exists.
    pub pricing_override: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
    /// Draw a progress bar (stderr is a terminal, not --json or -q).
    pub progress: bool,
    /// stdout is a terminal (live views redraw; otherwise scripts read it).
    pub stdout_tty: bool,
}

impl Settings {
    pub fn resolve(g: &GlobalArgs) -> Settings {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let home = env("HOME").map(PathBuf::from);
        let obs_home = env("OBSERVATORY_HOME").map(PathBuf::from);
        let dirs = paths::dirs(obs_home.as_deref());
        let env_db = env("OBSERVATORY_DB").map(PathBuf::from);
        let db = paths::db_path(g.db.as_deref(), env_db.as_deref(), &dirs);
        let claude_config_dir = env("CLAUDE_CONFIG_DIR").map(|v| v.to_string_lossy().into_owned());
        let roots = paths::transcript_roots(
            &g.claude_dirs,
            claude_config_dir.as_deref(),
            home.as_deref(),
        );
        let pricing_override = g.pricing.clone().or_else(|| {
            let p = dirs.config.join("pricing.toml");
            p.is_file().then_some(p)
        });
        Settings {
            db,
            roots,
            pricing_override,
            json: g.json,
            quiet: g.quiet,
            progress: !g.json && !g.quiet && std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }
}
