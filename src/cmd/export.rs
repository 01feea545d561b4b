//! `observatory export --out DIR`: the stored transcripts back as files,
//! byte for byte as they were read, at their place under their root.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{DirBuilder, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use serde_json::json;

use crate::cli::{ExportArgs, FilterArgs};
use crate::config::Settings;
use crate::data::{self, StoredFile};
use crate::outln;
use crate::output::{self, human_bytes, thousands};
use crate::store::raw::Unpacker;
use crate::store::{Store, StoreError};

/// One file to write.
struct Target {
    file: StoredFile,
    /// Relative to the export folder.
    rel: PathBuf,
}

pub fn run(args: &ExportArgs, settings: &Settings) -> Result<ExitCode> {
    let filter = FilterArgs {
        since: args.since.clone(),
        until: args.until.clone(),
        project: args.project.clone(),
        tz: args.tz.clone(),
    };
    let (_, range) = super::resolve_filter(&filter, settings)?;
    let store = open_existing(settings)?;
    let conn = &store.conn;
    if !settings.quiet {
        super::warn_unmatched(conn, args.project.as_deref(), None, "")?;
    }
    // One snapshot for the whole export: an ingest running meanwhile adds
    // chunks and moves cursors, and neither must show halfway.
    conn.execute_batch("BEGIN")?;

    let mut files = data::stored_files(conn)
        .with_context(|| format!("reading the tracked files of {}", settings.db.display()))?;
    // (the roots this run reads, and those every stored file was read from)
    let read_roots: Vec<PathBuf> = settings
        .roots
        .iter()
        .map(|r| r.given.clone())
        .chain(
            files
                .iter()
                .map(|f| f.root.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(crate::paths::from_stored),
        )
        .collect();
    if args.project.is_some() || args.session.is_some() {
        let wanted = wanted_sessions(conn, args)?;
        let theirs = data::files_of_sessions(conn, &files, &wanted)
            .context("finding the sessions' files")?;
        files.retain(|f| theirs.contains(&f.id));
    }
    if range.from_ms.is_some() || range.to_ms.is_some() {
        let active = files_active_in(conn, range.from_ms, range.to_ms)?;
        files.retain(|f| active.contains(&f.id));
    }
    // (a row made for a file that went before it was read holds nothing:
    // there is no transcript to give back)
    files.retain(|f| f.read || f.forgotten.is_some());
    // (counted among the files the filters keep)
    let superseded = files.iter().filter(|f| f.superseded).count();
    if !args.all_generations {
        files.retain(|f| !f.superseded);
    }
    let before = files.len();
    files.retain(|f| f.forgotten.is_none() || f.chunks > 0);
    let skipped_forgotten = before - files.len();
    let targets = targets(files);

    let out_dir = &args.out;
    if out_dir.exists() && !out_dir.is_dir() {
        bail!("{} is not a folder; give --out a folder", out_dir.display());
    }
    // (even with --force: the copies would replace the transcripts being
    // read, a line Claude Code is writing and bytes not read yet with them,
    // or land among them as more transcripts)
    if let Some(folder) = transcript_folder_written(out_dir, &targets, &read_roots) {
        bail!(
            "exporting to {} would write into {}, where observatory reads transcripts from: it would overwrite them or add to them; export to another folder (nothing was written)",
            out_dir.display(),
            folder.display()
        );
    }
    if !args.force {
        let existing: Vec<PathBuf> = targets
            .iter()
            .map(|t| out_dir.join(&t.rel))
            .filter(|p| p.symlink_metadata().is_ok())
            .collect();
        if let Some(first) = existing.first() {
            let more = match existing.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            bail!(
                "{} already exists{more}; pass --force to overwrite, or export to another folder (nothing was written)",
                first.display()
            );
        }
    }

    let mut rows = Vec::new();
    let mut bytes = 0u64;
    let mut unpacker = Unpacker::default();
    // (a file whose stored bytes are damaged is named and left out; the
    // others are written, and the run exits 1)
    let mut damaged = 0usize;
    for t in &targets {
        let path = out_dir.join(&t.rel);
        let n = match write_one(conn, &t.file, &path, &mut unpacker) {
            Ok(n) => n,
            Err(e) if data::export::is_damage(&e) => {
                damaged += 1;
                let why = e.root_cause().to_string();
                // (an older copy there, with --force, is left as it was)
                let old = if path.exists() {
                    " (the file there is an older copy, left as it was)"
                } else {
                    ""
                };
                output::style::warn(format_args!("{}: not written{old}: {why}", path.display()));
                rows.push(json!({
                    "file": t.rel.to_string_lossy(),
                    "source": t.file.path,
                    "error": why,
                }));
                continue;
            }
            Err(e) => return Err(e),
        };
        bytes += n;
        rows.push(json!({
            "file": t.rel.to_string_lossy(),
            "source": t.file.path,
            "bytes": n,
            "generation": t.file.generation,
            "current": !t.file.superseded,
            "start_offset": t.file.expected_start(),
        }));
    }
    let skipped_superseded = if args.all_generations { 0 } else { superseded };
    let written = targets.len() - damaged;
    // (said last, after what was written)
    let outcome = || {
        if damaged == 0 {
            return ExitCode::SUCCESS;
        }
        let others = if written > 0 { "; the others are" } else { "" };
        crate::errln!(
            "{} {} not written: their stored bytes are damaged (named above){others}. \
             A copy made by `observatory backup` may hold them, or Claude Code's own folders while it keeps them",
            output::style::error_prefix(),
            super::count(damaged as u64, "file", "files")
        );
        ExitCode::FAILURE
    };
    if settings.json {
        let top = json!({
            "out": out_dir.to_string_lossy(),
            "files": written,
            "bytes": bytes,
            "damaged": damaged,
            "skipped_superseded": skipped_superseded,
            "skipped_forgotten": skipped_forgotten,
        });
        output::print_json_rows(top, "rows", rows.into_iter())?;
        return Ok(outcome());
    }
    if !settings.quiet {
        if targets.is_empty() {
            // (no folder made for nothing)
            outln!("No stored file to write: nothing written.");
        } else if written == 0 {
            outln!("Nothing written.");
        } else {
            outln!(
                "Wrote {} ({}, {} bytes) to {}.",
                super::count(written as u64, "file", "files"),
                human_bytes(bytes),
                thousands(bytes),
                out_dir.display()
            );
        }
        if skipped_superseded > 0 {
            outln!(
                "{} not written (written with --all-generations).",
                super::count(
                    skipped_superseded as u64,
                    "older generation of a file",
                    "older generations of files"
                )
            );
        }
        if skipped_forgotten > 0 {
            outln!(
                "{} not written (`observatory forget` deleted the lines).",
                super::count(
                    skipped_forgotten as u64,
                    "forgotten file",
                    "forgotten files"
                )
            );
        }
    }
    Ok(outcome())
}

/// The store, if there is one (export never creates a database).
pub fn open_existing(settings: &Settings) -> Result<Store> {
    if !settings.db.exists() {
        return Err(StoreError::Missing {
            path: settings.db.clone(),
        }
        .into());
    }
    super::refuse_abandoned_first_load(settings)?;
    // (both only read it: a copy kept read-only, an archive, is read as it
    // is. A file known to be read-only is not opened for writing: that would
    // leave WAL files beside it.)
    let store = match Store::check_writable(&settings.db).and_then(|()| Store::open(&settings.db)) {
        Err(StoreError::ReadOnly { .. }) => super::reading_store(settings)?,
        store => store?,
    };
    super::ingest::warn_store(&store, settings);
    Ok(store)
}

/// The transcript folder (a `projects/` folder observatory reads: one of
/// `roots`) that one of `targets` would be written into from `dir`, if
/// any, as written in `roots`. Paths are compared as the OS resolves them
/// when the files are written (`resolved`).
fn transcript_folder_written(dir: &Path, targets: &[Target], roots: &[PathBuf]) -> Option<PathBuf> {
    let read: Vec<(PathBuf, PathBuf)> = roots
        .iter()
        .map(|r| {
            let projects = crate::paths::projects_folder(r);
            let absolute = std::path::absolute(&projects).unwrap_or_else(|_| projects.clone());
            (resolved(Path::new("/"), &absolute), projects)
        })
        .collect();
    let dir = resolved(
        Path::new("/"),
        &std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
    );
    targets.iter().find_map(|t| {
        let written = resolved(&dir, &t.rel);
        read.iter()
            .find(|(p, _)| written.starts_with(p))
            .map(|(_, shown)| shown.clone())
    })
}

/// `path` (absolute, or relative to `base`, itself resolved) as the OS
/// resolves it: a symlink is followed where one exists, `..` goes to the
/// parent of what came before (a folder export creates is a real one), `.`
/// stays.
fn resolved(base: &Path, path: &Path) -> PathBuf {
    let mut at = base.to_owned();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => at = PathBuf::from(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(name) => {
                at.push(name);
                if let Ok(real) = std::fs::canonicalize(&at) {
                    at = real;
                }
            }
        }
    }
    at
}

/// The session ids `--project` and `--session` pick (both must hold).
fn wanted_sessions(conn: &Connection, args: &ExportArgs) -> Result<BTreeSet<String>> {
    let mut wanted: Option<BTreeSet<String>> = None;
    if let Some(p) = &args.project {
        wanted = Some(data::project_sessions(conn, p).context("finding the project's sessions")?);
    }
    if let Some(s) = &args.session {
        let id = super::resolve_session(conn, s)?;
        wanted = Some(match wanted {
            Some(w) => w.into_iter().filter(|x| *x == id).collect(),
            None => BTreeSet::from([id]),
        });
    }
    Ok(wanted.unwrap_or_default())
}

/// Files with a line timestamped in [from, to).
fn files_active_in(conn: &Connection, from: Option<i64>, to: Option<i64>) -> Result<HashSet<i64>> {
    // (a subagent's sidecar has no time: it goes with its session)
    let mut st = conn.prepare(
        "WITH active(file_id) AS (
           SELECT DISTINCT file_id FROM lines
           WHERE at IS NOT NULL AND (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2))
         SELECT file_id FROM active
         UNION
         SELECT s.file_id FROM file_session_ids s JOIN source_files f ON f.id = s.file_id
         WHERE f.kind = 'agent_meta' AND s.session_id IN (
           SELECT session_id FROM file_session_ids WHERE file_id IN (SELECT file_id FROM active))",
    )?;
    let ids = st
        .query_map([from, to], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .context("finding the files active in the range")?;
    Ok(ids)
}

/// Where each file goes: its path under its root; an older generation as
/// NAME.gen<N>.jsonl; a second file with the same place (the same path
/// under two roots) as NAME.file<ID>.jsonl.
fn targets(files: Vec<StoredFile>) -> Vec<Target> {
    let mut taken: HashMap<PathBuf, usize> = HashMap::new();
    let mut out = Vec::with_capacity(files.len());
    // current generations first, so they keep the plain names
    let (current, older): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| !f.superseded);
    for f in current.into_iter().chain(older) {
        let mut rel = data::relative_path(&f);
        if f.superseded {
            rel = with_suffix(&rel, &format!("gen{}", f.generation));
        }
        if taken.contains_key(&rel) {
            rel = with_suffix(&rel, &format!("file{}", f.id));
        }
        *taken.entry(rel.clone()).or_default() += 1;
        out.push(Target { file: f, rel });
    }
    out
}

/// `a/b.jsonl` + `gen1` -> `a/b.gen1.jsonl` (`a/b` -> `a/b.gen1`).
fn with_suffix(rel: &Path, suffix: &str) -> PathBuf {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let new = match [".meta.json", ".jsonl"]
        .into_iter()
        .find_map(|ext| Some((name.strip_suffix(ext)?, ext)))
    {
        Some((stem, ext)) => format!("{stem}.{suffix}{ext}"),
        None => format!("{name}.{suffix}"),
    };
    rel.with_file_name(new)
}

/// Write one file: into a temporary name beside it (0600), then renamed
/// into place, so a failure never leaves half a file under the real name.
fn write_one(
    conn: &Connection,
    file: &StoredFile,
    path: &Path,
    unpacker: &mut Unpacker,
) -> Result<u64> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    let (f, tmp) = temporary_file(dir)?;
    let result = (|| -> Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let n = data::export::write_file(conn, file, &mut w, unpacker)
            .with_context(|| format!("writing {}", path.display()))?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new file of ours (0600) in `dir`, to be renamed into place: made
/// with O_EXCL under a short name of our own, so that nothing already
/// there is written through (a symlink planted at a guessable name sent
/// transcript bytes into its target) and a name near the 255-byte limit
/// still has room (`.NAME.PID.part` did not: the export stopped).
fn temporary_file(dir: &Path) -> Result<(std::fs::File, PathBuf)> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".observatory-export.{}.{n}.part",
            std::process::id()
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1_000_000 => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", tmp.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, path: &str, root: &str, generation: i64, superseded: bool) -> StoredFile {
        StoredFile {
            id,
            path: path.into(),
            root: root.into(),
            project_dir: Some("-a".into()),
            generation,
            superseded,
            read_offset: 0,
            line_count: 0,
            stored_from: 0,
            stored_bytes: 0,
            chunks: 0,
            forgotten: None,
            read: true,
        }
    }

    #[test]
    fn each_file_gets_its_own_place() {
        let t = targets(vec![
            stored(1, "/r1/projects/-a/s.jsonl", "/r1", 0, true),
            stored(2, "/r1/projects/-a/s.jsonl", "/r1", 1, false),
            // the same place under another root
            stored(3, "/r2/projects/-a/s.jsonl", "/r2", 0, false),
        ]);
        let places: Vec<(i64, String)> = t
            .iter()
            .map(|t| (t.file.id, t.rel.display().to_string()))
            .collect();
        assert_eq!(
            places,
            vec![
                (2, "projects/-a/s.jsonl".to_owned()),
                (3, "projects/-a/s.file3.jsonl".to_owned()),
                (1, "projects/-a/s.gen0.jsonl".to_owned()),
            ]
        );
    }

    #[test]
    fn suffixes_go_before_the_extension() {
        assert_eq!(
            with_suffix(Path::new("projects/a/s.jsonl"), "gen1"),
            PathBuf::from("projects/a/s.gen1.jsonl")
        );
        assert_eq!(
            with_suffix(Path::new("x"), "file3"),
            PathBuf::from("x.file3")
        );
        assert_eq!(
            with_suffix(Path::new("p/s/subagents/agent-a1.meta.json"), "gen0"),
            PathBuf::from("p/s/subagents/agent-a1.gen0.meta.json")
        );
    }

    /// Nothing found at the temporary name is written through: a symlink
    /// planted there (its name is guessable: the pid) is passed over, and
    /// its target keeps its bytes.
    #[test]
    fn a_temporary_file_never_writes_through_what_is_at_its_name() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"mine").unwrap();
        let pid = std::process::id();
        for n in 0..64 {
            let at = d.path().join(format!(".observatory-export.{pid}.{n}.part"));
            std::os::unix::fs::symlink(&victim, at).unwrap();
        }
        let (mut f, tmp) = temporary_file(d.path()).unwrap();
        f.write_all(b"transcript").unwrap();
        assert!(!tmp.symlink_metadata().unwrap().is_symlink());
        assert_eq!(std::fs::read(&tmp).unwrap(), b"transcript");
        assert_eq!(std::fs::read(&victim).unwrap(), b"mine");
    }
}
