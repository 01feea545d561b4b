//! Finding transcript files: every `*.jsonl` under each root's `projects/`,
//! at any depth, symlinks followed (loops reported, not followed twice),
//! and subagents' sidecars (`agent-<id>.meta.json`, one JSON object each,
//! read as a one-line transcript).
//!
//! Listing ~1,400 folders is most of what a report's "anything new?" check
//! costs, so each folder's listing is kept (`scan_dirs`) and reused while
//! the folder's mtime stays what it was: adding, removing or renaming an
//! entry changes it; appending to a file does not, and every file is
//! stat'ed on every walk anyway. A listing is trusted only if the folder's
//! mtime was at least `RACY_NS` older than the listing itself, so a change
//! in the same clock tick as the listing cannot hide behind an equal mtime.

use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use foldhash::{HashMap, HashSet};
use rusqlite::Connection;

use crate::paths::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Canonical path: the file's identity across roots.
    pub path: PathBuf,
    pub root: PathBuf,
    /// The first folder under `projects/` (Claude Code's encoded cwd).
    pub project_dir: Option<String>,
    pub kind: &'static str,
    /// The file as it was when found.
    pub stat: Stat,
    /// How many names the file has (`st_nlink`): more than one, and
    /// another path found may be the same file (`ingest::fold_hard_links`).
    pub links: u64,
}

/// What tells a file changed without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
}

impl Stat {
    pub fn of(m: &Metadata) -> Stat {
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime_ns: mtime_ns(m),
        }
    }
}

/// A file's mtime in Unix epoch nanoseconds (as `source_files` keeps it),
/// held at the ends of i64 (years 1677 and 2262) past them.
pub fn mtime_ns(m: &Metadata) -> i64 {
    m.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(m.mtime_nsec())
}

/// A listing is reused only if the folder's mtime is this much older than
/// the listing (mtime granularity is 2 s on the coarsest filesystems).
const RACY_NS: i64 = 2_000_000_000;

/// Entry kinds in a stored listing.
const DIR: u8 = b'd';
const FILE: u8 = b'f';
const LINK: u8 = b'l';

/// One folder as last listed: the entries that matter (folders, symlinks,
/// `*.jsonl` files and sidecars), each a kind byte and its name, '/'-terminated (a
/// name holds neither '/' nor NUL), sorted by name.
#[derive(Debug, Clone)]
struct Listing {
    mtime_ns: i64,
    listed_at_ns: i64,
    entries: Vec<u8>,
}

/// A listing's entries, each a kind byte and a name (see `Listing`).
fn each_entry(entries: &[u8]) -> impl Iterator<Item = &[u8]> {
    entries.split(|b| *b == b'/').filter(|e| !e.is_empty())
}

/// The folder listings of the last walk (table `scan_dirs`), and what this
/// walk changed in them.
#[derive(Debug, Default)]
pub struct Listings {
    stored: HashMap<Vec<u8>, Listing>,
    relisted: Vec<(Vec<u8>, Listing)>,
    visited: HashSet<Vec<u8>>,
}

impl Listings {
    pub fn load(conn: &Connection) -> rusqlite::Result<Listings> {
        let mut st = conn.prepare("SELECT path, mtime_ns, listed_at_ns, entries FROM scan_dirs")?;
        let stored = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    Listing {
                        mtime_ns: r.get(1)?,
                        listed_at_ns: r.get(2)?,
                        entries: r.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Listings {
            stored,
            ..Default::default()
        })
    }

    /// Store what this walk listed anew and drop the folders it no longer
    /// reached. Writes nothing when nothing changed.
    pub fn save(&self, conn: &Connection) -> rusqlite::Result<()> {
        let gone: Vec<&Vec<u8>> = self
            .stored
            .keys()
            .filter(|k| !self.visited.contains(*k))
            .collect();
        if self.relisted.is_empty() && gone.is_empty() {
            return Ok(());
        }
        let tx = conn.unchecked_transaction()?;
        {
            let mut put = tx.prepare(
                "INSERT OR REPLACE INTO scan_dirs (path, mtime_ns, listed_at_ns, entries)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (path, l) in &self.relisted {
                put.execute(rusqlite::params![
                    path,
                    l.mtime_ns,
                    l.listed_at_ns,
                    l.entries
                ])?;
            }
            let mut del = tx.prepare("DELETE FROM scan_dirs WHERE path = ?1")?;
            for path in gone {
                del.execute([path])?;
            }
        }
        tx.commit()
    }

    /// Folders listed by this walk (not taken from the stored listings).
    #[cfg(test)]
    fn relisted(&self) -> usize {
        self.relisted.len()
    }

    /// The stored listing of `path`, if the folder provably did not change.
    fn reusable(&self, path: &[u8], mtime_ns: i64) -> Option<Vec<u8>> {
        let l = self.stored.get(path)?;
        (l.mtime_ns == mtime_ns && l.mtime_ns < l.listed_at_ns - RACY_NS).then(|| l.entries.clone())
    }
}

/// Walk the roots, reusing `listings` where folders did not change.
/// Problems (unreadable folders, symlink loops) are returned as messages;
/// they never stop the walk. Roots without `projects/` are skipped
/// (`run` says so).
pub fn discover(roots: &[Root], listings: &mut Listings) -> (Vec<Found>, Vec<String>) {
    walk_roots(roots, listings, true)
}

/// `discover`, each `projects/` folder's entries shared out between two
/// threads when `shared` (else walked in turn on this one).
fn walk_roots(roots: &[Root], listings: &mut Listings, shared: bool) -> (Vec<Found>, Vec<String>) {
    let mut walk = Walk {
        listings,
        relisted: Vec::new(),
        visited: Vec::new(),
        found: Vec::new(),
        warnings: Vec::new(),
        ancestors: Vec::new(),
        root: None,
        now_ns: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
    };
    for root in roots {
        let Some(projects) = &root.projects else {
            continue;
        };
        // Canonical paths without a readlink per path component per file:
        // the projects folder is resolved once, and only what lies behind a
        // symlink is resolved on its own.
        let resolved =
            std::fs::canonicalize(projects).and_then(|c| Ok((std::fs::metadata(&c)?, c)));
        let (meta, canonical) = match resolved {
            Ok(x) => x,
            Err(e) => {
                walk.warnings.push(unreadable(projects, &e));
                continue;
            }
        };
        walk.root = Some(root);
        match shared {
            true => walk.projects(projects, &canonical, &meta),
            false => walk.dir(projects, &canonical, &meta, &Place::default()),
        }
    }
    let Walk {
        mut found,
        warnings,
        relisted,
        visited,
        ..
    } = walk;
    listings.relisted.extend(relisted);
    listings.visited.extend(visited);
    // A file reached twice (through a symlink) counts once, as first
    // reached: the sort is stable.
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|later, first| later.path == first.path);
    (found, warnings)
}

/// Why `path` (a folder, or any entry under one) could not be read, and
/// what to do: a folder this user may not read, a symlink to nothing.
fn unreadable(path: &Path, e: &std::io::Error) -> String {
    let p = path.display();
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "{p}: permission denied: make it readable by this user (chmod u+rx, or run as its owner); skipped, and tried again on every run"
        ),
        std::io::ErrorKind::NotFound => match std::fs::read_link(path) {
            Ok(target) => format!(
                "{p}: a symlink to {}, which does not exist; skipped",
                target.display()
            ),
            Err(_) => format!("{p}: cannot read ({e}); skipped"),
        },
        _ => format!("{p}: cannot read ({e}); skipped"),
    }
}

struct Walk<'a> {
    listings: &'a Listings,
    /// What this walk listed anew, and every folder it reached (for
    /// `Listings`, when the walk ends).
    relisted: Vec<(Vec<u8>, Listing)>,
    visited: Vec<Vec<u8>>,
    found: Vec<Found>,
    warnings: Vec<String>,
    /// (dev, ino) of the folders above the current one: a symlink to one of
    /// them is a loop.
    ancestors: Vec<(u64, u64)>,
    root: Option<&'a Root>,
    now_ns: i64,
}

/// Where a folder lies under `projects/`, as walked: what `kind_of` and
/// `Found::project_dir` would otherwise parse out of every file's path.
#[derive(Debug, Clone, Default)]
struct Place {
    /// Folders below `projects/` (0: `projects/` itself).
    depth: usize,
    /// The first of them (Claude Code's encoded cwd).
    project: Option<String>,
    /// One of them is named `subagents`.
    in_subagents: bool,
}

impl Place {
    fn child(&self, name: &OsStr) -> Place {
        Place {
            depth: self.depth + 1,
            project: match &self.project {
                None => Some(name.to_string_lossy().into_owned()),
                p => p.clone(),
            },
            in_subagents: self.in_subagents || name == "subagents",
        }
    }
}

impl<'a> Walk<'a> {
    /// `path` as walked, `canonical` its resolved path, `meta` its metadata
    /// (symlinks followed), `place` where it lies under `projects/`.
    fn dir(&mut self, path: &Path, canonical: &Path, meta: &Metadata, place: &Place) {
        let Some(entries) = self.enter(path, meta) else {
            return;
        };
        for entry in each_entry(&entries) {
            self.entry(path, canonical, place, entry);
        }
        self.ancestors.pop();
    }

    /// `projects/` itself, as `dir` walks it, its entries (the project
    /// folders) shared out between this thread and one more: a walk is
    /// mostly stat calls (~12 ms for the benchmark's 4,614 entries), and a
    /// report's check for new lines waits for it. The found files, warnings
    /// and listings come out in the order one thread walking them in turn
    /// gives.
    fn projects(&mut self, path: &Path, canonical: &Path, meta: &Metadata) {
        let Some(entries) = self.enter(path, meta) else {
            return;
        };
        let entries: Vec<&[u8]> = each_entry(&entries).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let this = &*self;
        // (each entry walked on its own: its part of the walk, by its index)
        let work = || {
            let mut parts = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(entry) = entries.get(i) else {
                    return parts;
                };
                let mut part = this.fork();
                part.entry(path, canonical, &Place::default(), entry);
                parts.push((i, part));
            }
        };
        let mut parts = std::thread::scope(|scope| {
            // (no second thread to be had: this one walks them all)
            let other = (entries.len() > 1)
                .then(|| {
                    // (the main thread's stack size: the walk recurses
                    // once per folder level)
                    std::thread::Builder::new()
                        .stack_size(8 << 20)
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .flatten();
            let mut parts = work();
            if let Some(other) = other {
                match other.join() {
                    Ok(theirs) => parts.extend(theirs),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            parts
        });
        parts.sort_unstable_by_key(|(i, _)| *i);
        for (_, part) in parts {
            self.found.extend(part.found);
            self.warnings.extend(part.warnings);
            self.relisted.extend(part.relisted);
            self.visited.extend(part.visited);
        }
        self.ancestors.pop();
    }

    /// A walk of a folder's entry, from where this one stands, with nothing
    /// found yet.
    fn fork(&self) -> Walk<'a> {
        Walk {
            listings: self.listings,
            relisted: Vec::new(),
            visited: Vec::new(),
            found: Vec::new(),
            warnings: Vec::new(),
            ancestors: self.ancestors.clone(),
            root: self.root,
            now_ns: self.now_ns,
        }
    }

    /// Step into the folder at `path`: its entries (see `Listing`), or None
    /// when it cannot be read or is its own ancestor (said in a warning).
    /// It stays on `ancestors` until the caller pops it.
    fn enter(&mut self, path: &Path, meta: &Metadata) -> Option<Vec<u8>> {
        let id = (meta.dev(), meta.ino());
        if self.ancestors.contains(&id) {
            self.warnings
                .push(format!("{}: symlink loop; skipped", path.display()));
            return None;
        }
        let key = path.as_os_str().as_bytes().to_vec();
        let mtime = mtime_ns(meta);
        let entries = match self.listings.reusable(&key, mtime) {
            Some(e) => e,
            None => match list(path) {
                Ok(entries) => {
                    let listing = Listing {
                        mtime_ns: mtime,
                        listed_at_ns: self.now_ns,
                        entries: entries.clone(),
                    };
                    self.relisted.push((key.clone(), listing));
                    entries
                }
                Err(e) => {
                    self.warnings.push(unreadable(path, &e));
                    return None;
                }
            },
        };
        self.visited.push(key);
        self.ancestors.push(id);
        Some(entries)
    }

    /// One entry of the folder at `path` (`canonical` resolved, at
    /// `place`): a kind byte and a name.
    fn entry(&mut self, path: &Path, canonical: &Path, place: &Place, entry: &[u8]) {
        let (kind, name) = (entry[0], OsStr::from_bytes(&entry[1..]));
        let child = path.join(name);
        let meta = match std::fs::metadata(&child) {
            Ok(m) => m,
            // removed since the listing: nothing to read
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && kind != LINK => return,
            Err(e) => {
                self.warnings.push(unreadable(&child, &e));
                return;
            }
        };
        let canonical_child = if kind == LINK {
            match std::fs::canonicalize(&child) {
                Ok(c) => c,
                Err(e) => {
                    self.warnings
                        .push(format!("{}: {e}; skipped", child.display()));
                    return;
                }
            }
        } else {
            canonical.join(name)
        };
        if meta.is_dir() {
            self.dir(&child, &canonical_child, &meta, &place.child(name));
        } else if meta.is_file()
            && is_transcript(name)
            // (a sidecar names its session by the folder above
            // `subagents`: one elsewhere has none)
            && (place.in_subagents || !is_sidecar(name.as_bytes()))
        {
            self.file(name, canonical_child, &meta, place);
        }
    }

    /// A transcript named `name` in the folder at `place`.
    fn file(&mut self, name: &OsStr, canonical: PathBuf, meta: &Metadata, place: &Place) {
        let Some(root) = self.root else {
            return;
        };
        self.found.push(Found {
            kind: kind(&name.to_string_lossy(), place.depth + 1, place.in_subagents),
            project_dir: place.project.clone(),
            root: root.given.clone(),
            path: canonical,
            stat: Stat::of(meta),
            links: meta.nlink(),
        });
    }
}

/// A file discovery reads: `*.jsonl`, or a subagent's sidecar.
pub fn is_transcript(name: &OsStr) -> bool {
    let name = name.as_bytes();
    name.ends_with(b".jsonl") || is_sidecar(name)
}

/// The kind of a subagent's sidecar.
pub const AGENT_META: &str = "agent_meta";

/// A subagent's sidecar: `agent-<id>.meta.json` (a file's name).
pub fn is_sidecar(name: &[u8]) -> bool {
    name.starts_with(b"agent-") && name.ends_with(b".meta.json")
}

/// Whether the file at `path` (as stored) is named as a subagent's sidecar.
pub fn is_sidecar_path(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| is_sidecar(name.as_bytes()))
}

/// The entries of a folder that can hold transcripts, sorted by name.
fn list(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut entries: Vec<(u8, std::ffi::OsString)> = Vec::new();
    for e in std::fs::read_dir(path)? {
        let e = e?;
        let t = e.file_type()?;
        let name = e.file_name();
        let kind = if t.is_symlink() {
            LINK
        } else if t.is_dir() {
            DIR
        } else if t.is_file() && is_transcript(&name) {
            FILE
        } else {
            continue;
        };
        entries.push((kind, name));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Vec::new();
    for (kind, name) in entries {
        out.push(kind);
        out.extend_from_slice(name.as_bytes());
        out.push(b'/');
    }
    Ok(out)
}

/// What a file is, from its path under `projects/`.
pub fn kind_of(rel: &Path) -> &'static str {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let in_subagents = rel.components().any(|c| c.as_os_str() == "subagents");
    kind(&name, rel.components().count(), in_subagents)
}

/// What a file is: its name, how many path components it has under
/// `projects/` (2: directly in a project folder), whether a folder above
/// it is `subagents`.
fn kind(name: &str, components: usize, in_subagents: bool) -> &'static str {
    if name == "journal.jsonl" {
        "journal"
    } else if is_sidecar(name.as_bytes()) {
        AGENT_META
    } else if in_subagents {
        "subagent"
    } else if name.starts_with("agent-") {
        "legacy_agent"
    } else if components == 2 {
        "session"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An mtime past what i64 nanoseconds hold (a file stamped 2300: a bad
    /// clock, an archive) is held at the end, not wrapped to a time long
    /// past: such a file is not taken for one still for an hour (its
    /// incomplete last line stored cut at once).
    #[test]
    fn an_mtime_past_2262_is_held_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let f = std::fs::File::create(&path).unwrap();
        let year_2300 = std::time::Duration::from_secs(10_413_792_000);
        if f.set_modified(std::time::UNIX_EPOCH + year_2300).is_err() {
            eprintln!("skipped: this filesystem keeps no mtime past 2262");
            return;
        }
        let m = std::fs::metadata(&path).unwrap();
        if m.mtime() < 10_413_792_000 {
            eprintln!("skipped: this filesystem cut the mtime to {}", m.mtime());
            return;
        }
        assert_eq!(mtime_ns(&m), i64::MAX);
        assert!(!super::super::reader::is_stale(mtime_ns(&m)));
    }

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
        assert_eq!(
            kind_of(Path::new("p/0ca5/subagents/agent-a1.meta.json")),
            "agent_meta"
        );
    }

    /// The walk tells each file's kind and project folder from where it
    /// stands in the tree, as `kind_of` does from its path.
    #[test]
    fn the_walk_says_what_each_file_is() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects");
        let files = [
            ("top.jsonl", "other", None),
            ("proj/s1.jsonl", "session", Some("proj")),
            ("proj/agent-ab12.jsonl", "legacy_agent", Some("proj")),
            ("proj/s1/subagents/agent-x.jsonl", "subagent", Some("proj")),
            (
                "proj/s1/subagents/agent-x.meta.json",
                "agent_meta",
                Some("proj"),
            ),
            (
                "proj/s1/subagents/workflows/wf/journal.jsonl",
                "journal",
                Some("proj"),
            ),
            ("proj/deep/er/x.jsonl", "other", Some("proj")),
            ("subagents/s2.jsonl", "subagent", Some("subagents")),
            // (not found: a sidecar outside `subagents/`)
            ("proj/agent-x.meta.json", "", Some("proj")),
        ];
        for (rel, _, _) in files {
            let f = p.join(rel);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "{}\n").unwrap();
        }
        let (found, warnings) =
            discover(&[Root::new(d.path().to_owned())], &mut Listings::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        let canonical = std::fs::canonicalize(&p).unwrap();
        let mut got: Vec<(String, &str, Option<&str>)> = found
            .iter()
            .map(|f| {
                let rel = f.path.strip_prefix(&canonical).unwrap();
                assert_eq!(f.kind, kind_of(rel), "{rel:?}");
                (
                    rel.to_string_lossy().into_owned(),
                    f.kind,
                    f.project_dir.as_deref(),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, &str, Option<&str>)> = files
            .iter()
            .filter(|(_, k, _)| !k.is_empty())
            .map(|(r, k, p)| (r.to_string(), *k, *p))
            .collect();
        want.sort();
        assert_eq!(got, want);
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
        let (found, warnings) = discover(&roots, &mut Listings::default());
        assert_eq!(names(&found).len(), 2, "{found:?}");
        assert!(
            warnings.iter().any(|w| w.contains("symlink loop")),
            "{warnings:?}"
        );
        assert_eq!(found[0].project_dir.as_deref(), Some("proj"));
    }

    /// The walk shared between two threads finds what one walking the
    /// folders in turn finds, in the same order, the same way: a file
    /// reached through a symlink from another project folder too is the
    /// first-reached one's, and the warnings come in walking order.
    #[test]
    fn a_walk_shared_between_threads_is_the_walk_in_turn() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects");
        for i in 0..60 {
            let proj = p.join(format!("-home-u-p{i:02}"));
            std::fs::create_dir_all(proj.join("s/subagents")).unwrap();
            std::fs::write(proj.join("s.jsonl"), "{}\n").unwrap();
            std::fs::write(proj.join("s/subagents/agent-a.jsonl"), "{}\n").unwrap();
            // (reached from here and from its own folder: the one first
            // reached keeps it)
            let other = p.join(format!("-home-u-p{:02}/s.jsonl", (i + 31) % 60));
            std::os::unix::fs::symlink(&other, proj.join("linked.jsonl")).unwrap();
            if i % 7 == 0 {
                std::os::unix::fs::symlink(d.path().join("nowhere"), proj.join("gone.jsonl"))
                    .unwrap();
            }
        }
        let roots = [Root::new(d.path().to_owned())];
        let seen = |(found, warnings): (Vec<Found>, Vec<String>), listings: Listings| {
            let found: Vec<_> = found
                .into_iter()
                .map(|f| (f.path, f.project_dir, f.kind))
                .collect();
            let mut visited: Vec<_> = listings.visited.into_iter().collect();
            visited.sort();
            let relisted: Vec<_> = listings.relisted.into_iter().map(|(k, _)| k).collect();
            (found, warnings, visited, relisted)
        };
        let mut one = Listings::default();
        let in_turn = walk_roots(&roots, &mut one, false);
        let in_turn = seen(in_turn, one);
        assert_eq!(in_turn.0.len(), 120, "{:?}", in_turn.0);
        assert_eq!(in_turn.1.len(), 9, "{:?}", in_turn.1);
        // (p00's own file is reached first from p00: not from p29)
        assert_eq!(in_turn.0[0].1.as_deref(), Some("-home-u-p00"));
        for _ in 0..5 {
            let mut two = Listings::default();
            let shared = walk_roots(&roots, &mut two, true);
            assert_eq!(seen(shared, two), in_turn);
        }
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
        let (found, _) = discover(
            &[Root::new(d.path().join("alias-root"))],
            &mut Listings::default(),
        );
        let paths: Vec<_> = found.iter().map(|f| f.path.clone()).collect();
        let mut expected = vec![
            std::fs::canonicalize(outside.join("b.jsonl")).unwrap(),
            std::fs::canonicalize(p.join("plain/a.jsonl")).unwrap(),
        ];
        expected.sort();
        assert_eq!(paths, expected);
        assert_eq!(found[0].project_dir.as_deref(), Some("linked"));
    }

    /// Sets a folder's mtime (what a listing is matched on).
    fn set_mtime(dir: &Path, t: std::time::SystemTime) {
        std::fs::File::open(dir).unwrap().set_modified(t).unwrap();
    }

    fn names(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    fn listings_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../store/migrations/0005_scan_dirs.sql"))
            .unwrap();
        conn
    }

    /// A walk as ingest does it: the stored listings in, the new ones out.
    /// Returns the file names found and how many folders were listed.
    fn walk(conn: &Connection, roots: &[Root]) -> (Vec<String>, usize) {
        let mut listings = Listings::load(conn).unwrap();
        let (found, _) = discover(roots, &mut listings);
        listings.save(conn).unwrap();
        (names(&found), listings.relisted())
    }

    #[test]
    fn an_unchanged_folder_is_not_listed_again_and_a_changed_one_is() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("projects/proj");
        std::fs::create_dir_all(proj.join("s1/subagents")).unwrap();
        std::fs::write(proj.join("s1.jsonl"), "{}\n").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for dir in [
            "projects",
            "projects/proj",
            "projects/proj/s1",
            "projects/proj/s1/subagents",
        ] {
            set_mtime(&d.path().join(dir), old);
        }
        let roots = [Root::new(d.path().to_owned())];
        let db = listings_db();
        assert_eq!(walk(&db, &roots), (vec!["s1.jsonl".into()], 4));

        // nothing changed: no folder is listed, the file is still found
        assert_eq!(walk(&db, &roots), (vec!["s1.jsonl".into()], 0));

        // a new subagent transcript changes its folder's mtime: that folder
        // alone is listed again
        std::fs::write(proj.join("s1/subagents/agent-a.jsonl"), "{}\n").unwrap();
        // (as if that was a while ago: a recent mtime is never trusted)
        set_mtime(
            &proj.join("s1/subagents"),
            old + std::time::Duration::from_secs(60),
        );
        let both: Vec<String> = vec!["agent-a.jsonl".into(), "s1.jsonl".into()];
        assert_eq!(walk(&db, &roots), (both.clone(), 1));

        // the listing is what is reused: a file added behind an mtime put
        // back (which no real change does) stays unseen, proving the folder
        // was not listed
        std::fs::write(proj.join("hidden.jsonl"), "{}\n").unwrap();
        set_mtime(&proj, old);
        assert_eq!(walk(&db, &roots), (both, 0));
    }

    #[test]
    fn a_listing_as_recent_as_its_folder_is_not_trusted() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("projects/proj");
        std::fs::create_dir_all(&proj).unwrap();
        let roots = [Root::new(d.path().to_owned())];
        let db = listings_db();
        walk(&db, &roots);
        let listed_mtime = std::fs::metadata(&proj).unwrap().modified().unwrap();
        // a file created in the same clock tick as the listing leaves the
        // folder's mtime as it was
        std::fs::write(proj.join("s1.jsonl"), "{}\n").unwrap();
        set_mtime(&proj, listed_mtime);
        assert_eq!(walk(&db, &roots), (vec!["s1.jsonl".into()], 2));
    }

    #[test]
    fn folders_no_longer_reached_are_dropped_from_the_listings() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects");
        std::fs::create_dir_all(p.join("a")).unwrap();
        std::fs::create_dir_all(p.join("b")).unwrap();
        let roots = [Root::new(d.path().to_owned())];
        let conn = listings_db();
        walk(&conn, &roots);
        std::fs::remove_dir(p.join("b")).unwrap();
        walk(&conn, &roots);
        let stored: Vec<Vec<u8>> = conn
            .prepare("SELECT path FROM scan_dirs ORDER BY path")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<Vec<u8>> = [p.clone(), p.join("a")]
            .iter()
            .map(|x| x.as_os_str().as_bytes().to_vec())
            .collect();
        assert_eq!(stored, expected);
    }
}
