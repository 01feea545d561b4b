//! Flags + environment + TTY -> one `Settings`, built once. Nothing else
//! reads environment variables or checks the terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// stdin is a terminal (nothing is piped in: `statusline` reads nothing).
    pub stdin_tty: bool,
    /// Claude Code's settings.json: in the first `CLAUDE_CONFIG_DIR` entry,
    /// else `~/.claude/` (None without a home).
    pub claude_settings: Option<PathBuf>,
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
        let claude_settings = claude_settings_path(claude_config_dir.as_deref(), home.as_deref());
        Settings {
            db,
            roots,
            pricing_override,
            json: g.json,
            quiet: g.quiet,
            progress: !g.json && !g.quiet && std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
            stdin_tty: std::io::stdin().is_terminal(),
            claude_settings,
        }
    }
}

/// `settings.json` in the first `CLAUDE_CONFIG_DIR` entry (an entry may be
/// the `projects/` dir itself: its parent then), else in `~/.claude`.
fn claude_settings_path(claude_config_dir: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    let first = claude_config_dir
        .into_iter()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .find(|s| !s.is_empty());
    let dir = match (first, home) {
        (Some(d), home) => {
            let d = match (d.strip_prefix("~/"), home) {
                (Some(rest), Some(h)) => h.join(rest),
                _ => PathBuf::from(d),
            };
            if d.file_name().is_some_and(|n| n == "projects") {
                d.parent().map(Path::to_owned).unwrap_or(d)
            } else {
                d
            }
        }
        (None, Some(h)) => h.join(".claude"),
        (None, None) => return None,
    };
    Some(dir.join("settings.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
