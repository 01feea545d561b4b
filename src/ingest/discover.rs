//! Finding transcript files: every `*.jsonl` under each root's `projects/`,
//! at any depth, symlinks followed (loops reported, not followed twice).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::paths::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Canonical path: the file's identity across roots.
    pub path: PathBuf,
    pub root: PathBuf,
    /// The first folder under `projects/` (Claude Code's encoded cwd).
    pub project_dir: Option<String>,
    pub kind: &'static str,
}

/// Walk the roots. Problems (unreadable folders, symlink loops, roots
/// without `projects/`) are returned as messages; they never stop the walk.
pub fn discover(roots: &[Root]) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for root in roots {
        let Some(projects) = &root.projects else {
            warnings.push(format!(
                "{}: no projects/ folder here; nothing to read from this root",
                root.given.display()
            ));
            continue;
        };
        let walker = WalkDir::new(projects)
            .follow_links(true)
            .sort_by_file_name();
        // Canonical paths without a readlink per path component per file:
        // the projects folder is resolved once, and only what lies under a
        // symlink is resolved on its own.
        let canonical_projects = std::fs::canonicalize(projects).ok();
        let mut linked_dirs: Vec<PathBuf> = Vec::new();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let what = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    if e.loop_ancestor().is_some() {
                        warnings.push(format!("{what}: symlink loop; skipped"));
                    } else {
                        warnings.push(format!("{what}: cannot read ({}); skipped", io_reason(&e)));
                    }
                    continue;
                }
            };
            if entry.file_type().is_dir() && entry.path_is_symlink() {
                linked_dirs.push(entry.path().to_owned());
            }
            if !entry.file_type().is_file()
                || !entry.file_name().to_string_lossy().ends_with(".jsonl")
            {
                continue;
            }
            let rel = entry.path().strip_prefix(projects).ok();
            let plain = !entry.path_is_symlink()
                && !linked_dirs.iter().any(|d| entry.path().starts_with(d));
            let resolved = match (&canonical_projects, rel) {
                (Some(c), Some(rel)) if plain => Ok(c.join(rel)),
                _ => std::fs::canonicalize(entry.path()),
            };
            let path = match resolved {
                Ok(p) => p,
                Err(e) => {
                    warnings.push(format!("{}: {e}; skipped", entry.path().display()));
                    continue;
                }
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            let rel = entry.path().strip_prefix(projects).unwrap_or(entry.path());
            found.push(Found {
                kind: kind_of(rel),
                project_dir: first_component(rel),
                root: root.given.clone(),
                path,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    (found, warnings)
}

fn io_reason(e: &walkdir::Error) -> String {
    e.io_error()
        .map(|io| io.to_string())
        .unwrap_or_else(|| e.to_string())
}

fn first_component(rel: &Path) -> Option<String> {
    let mut comps = rel.components();
    let first = comps.next()?;
    // a file directly under projects/ has no project folder
    comps.next()?;
    Some(first.as_os_str().to_string_lossy().into_owned())
}

/// What a file is, from its place in the tree.
pub fn kind_of(rel: &Path) -> &'static str {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let in_subagents = rel.components().any(|c| c.as_os_str() == "subagents");
    if name == "journal.jsonl" {
        "journal"
    } else if in_subagents {
        "subagent"
    } else if name.starts_with("agent-") {
        "legacy_agent"
    } else if rel.components().count() == 2 {
        "session"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind_of(Path::new("p/0ca5.jsonl")), "session");
        assert_eq!(
            kind_of(Path::new("p/0ca5/subagents/agent-a1.jsonl")),
            "subagent"
        );
        assert_eq!(
            kind_of(Path::new("p/0ca5/subagents/workflows/wf1/agent-a1.jsonl")),
            "subagent"
        );
        assert_eq!(
            kind_of(Path::new("p/0ca5/subagents/workflows/wf1/journal.jsonl")),
            "journal"
        );
        assert_eq!(kind_of(Path::new("p/agent-c8d9b115.jsonl")), "legacy_agent");
        assert_eq!(kind_of(Path::new("p/deep/er/x.jsonl")), "other");
    }

    #[test]
    fn walks_all_depths_dedups_links_and_survives_loops() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects");
        std::fs::create_dir_all(p.join("proj/s1/subagents")).unwrap();
        std::fs::write(p.join("proj/s1.jsonl"), "{}\n").unwrap();
        std::fs::write(p.join("proj/s1/subagents/agent-x.jsonl"), "{}\n").unwrap();
        std::fs::write(p.join("proj/notes.txt"), "no").unwrap();
        std::os::unix::fs::symlink(p.join("proj"), p.join("proj/s1/loop")).unwrap();
        std::os::unix::fs::symlink(p.join("proj/s1.jsonl"), p.join("proj/alias.jsonl")).unwrap();
        let roots = vec![Root::new(d.path().to_owned()), Root::new(p.clone())];
        let (found, warnings) = discover(&roots);
        let names: Vec<_> = found
            .iter()
            .map(|f| f.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), 2, "{found:?}");
        assert!(
            warnings.iter().any(|w| w.contains("symlink loop")),
            "{warnings:?}"
        );
        assert_eq!(found[0].project_dir.as_deref(), Some("proj"));
    }

    #[test]
    fn paths_are_canonical_through_linked_folders() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects");
        let outside = d.path().join("elsewhere/real");
        std::fs::create_dir_all(p.join("plain")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(p.join("plain/a.jsonl"), "{}\n").unwrap();
        std::fs::write(outside.join("b.jsonl"), "{}\n").unwrap();
        std::os::unix::fs::symlink(&outside, p.join("linked")).unwrap();
        // the root itself reached through a symlink
        std::os::unix::fs::symlink(d.path(), d.path().join("alias-root")).unwrap();
        let (found, _) = discover(&[Root::new(d.path().join("alias-root"))]);
        let paths: Vec<_> = found.iter().map(|f| f.path.clone()).collect();
        let mut expected = vec![
            std::fs::canonicalize(outside.join("b.jsonl")).unwrap(),
            std::fs::canonicalize(p.join("plain/a.jsonl")).unwrap(),
        ];
        expected.sort();
        assert_eq!(paths, expected);
        assert_eq!(found[0].project_dir.as_deref(), Some("linked"));
    }
}
