//! Where things live: transcript roots, the database, the config dir.
//! Pure functions of their inputs; `config` feeds them the environment.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// A file's bytes, refused unless it is a regular file (or, with `pipe`,
/// a pipe: `--pricing <(...)`): opened without blocking and then looked at,
/// so a FIFO no one writes to reads as empty rather than waiting, and a
/// device or a socket named where a file belongs is an error; a folder is
/// `IsADirectory`.
fn read_bytes(path: &Path, pipe: bool) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let refuse = |kind: std::fs::FileType| -> std::io::Result<()> {
        if kind.is_dir() {
            return Err(std::io::ErrorKind::IsADirectory.into());
        }
        if kind.is_file() || (pipe && kind.is_fifo()) {
            return Ok(());
        }
        let what = if pipe {
            "not a regular file or a pipe (a socket or a device)"
        } else {
            "not a regular file (a FIFO, a socket or a device)"
        };
        Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, what))
    };
    // (a socket cannot be opened at all: said before trying)
    if let Ok(meta) = std::fs::metadata(path) {
        refuse(meta.file_type())?;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    refuse(f.metadata()?.file_type())?;
    // (its type known: read as any file is, a pipe until its writer ends)
    // SAFETY: fcntl on a descriptor this File owns, flags only.
    unsafe {
        let flags = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A regular file's bytes ([`read_bytes`]): one to be written back.
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    read_bytes(path, false)
}

/// An input's text ([`read_bytes`]): a regular file or a pipe.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path, true)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Marks a stored path that is not UTF-8 (see `stored`).
const NOT_UTF8: &str = "bytes:";

/// A path as the database stores it (`source_files.path`, `.root`): as it is
/// when it is UTF-8; otherwise `bytes:` and the path with `\` doubled and
/// each byte that is not valid UTF-8 as `\xNN`. A transcript's stored path
/// is absolute (it starts with `/`), so the two forms never meet, and two
/// names that differ only in such bytes stay two files.
pub fn stored(p: &Path) -> Cow<'_, str> {
    if let Some(s) = p.to_str() {
        return Cow::Borrowed(s);
    }
    let mut out = String::from(NOT_UTF8);
    for chunk in p.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    Cow::Owned(out)
}

/// Whether a transcript is no longer on disk (deleted, moved; a symlink
/// to nothing too, and a path that now names a folder or a device: no
/// transcript there, which a walk passes over). A file this user may not
/// read is still there.
pub fn is_gone(p: &Path) -> bool {
    use std::io::ErrorKind::{NotADirectory, NotFound};
    match std::fs::metadata(p) {
        Ok(m) => !m.is_file(),
        Err(e) => matches!(e.kind(), NotFound | NotADirectory),
    }
}

/// The file `p` names now, as (device, inode), following symlinks; None
/// when it names none: a reader compares it with what it opened, to tell
/// the file deleted or replaced (another moved over it) since.
pub fn file_at(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// The path `stored` made `s` from.
pub fn from_stored(s: &str) -> PathBuf {
    let Some(escaped) = s.strip_prefix(NOT_UTF8) else {
        return PathBuf::from(s);
    };
    let b = escaped.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], b.get(i + 1), hex) {
            (b'\\', Some(b'\\'), _) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x'), Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// A transcript root and the `projects/` folder under it (if there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// As given (a Claude config dir, or a `projects/` dir itself).
    pub given: PathBuf,
    /// The `projects/` folder to scan, if it exists.
    pub projects: Option<PathBuf>,
}

impl Root {
    pub fn new(given: PathBuf) -> Root {
        let projects = if given.join("projects").is_dir() {
            Some(given.join("projects"))
        } else if given.file_name().is_some_and(|n| n == "projects") && given.is_dir() {
            Some(given.clone())
        } else {
            None
        };
        Root { given, projects }
    }

    /// Looked at again if it had no `projects/` folder (one made since is
    /// found: Claude Code run for the first time while `watch` runs).
    pub fn refreshed(&self) -> Root {
        match self.projects {
            Some(_) => self.clone(),
            None => Root::new(self.given.clone()),
        }
    }
}

/// The `projects/` folder of a root given as a Claude config dir or as
/// that folder itself (whether it exists or not).
pub fn projects_folder(root: &Path) -> PathBuf {
    if root.file_name().is_some_and(|n| n == "projects") {
        root.to_owned()
    } else {
        root.join("projects")
    }
}

/// Why a root gives nothing to read, for people.
pub fn why_nothing(root: &Path) -> String {
    let denied = |p: &Path| {
        std::fs::symlink_metadata(p)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
    };
    if denied(root) || denied(&root.join("projects")) {
        return "cannot be read (permission denied)".into();
    }
    // (a project's own folder, `projects/-home-u-app`, or a folder in one:
    // too deep; its config dir is the one above projects/)
    let config_dir = std::fs::canonicalize(root).ok().and_then(|r| {
        let project = r.ancestors().find(|a| {
            a.file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(b"-"))
                && a.parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "projects")
        })?;
        Some(project.parent()?.parent()?.to_owned())
    });
    match (root.is_dir(), root.exists(), root.join("projects").exists()) {
        (false, false, _) => "does not exist".into(),
        (false, true, _) => "is not a folder".into(),
        (true, _, true) => "its projects is not a folder but a file".into(),
        (true, _, false) => match config_dir {
            Some(c) => format!(
                "no projects/ folder: it is in a project's folder; name the Claude config dir, {}",
                c.display()
            ),
            None => "no projects/ folder".into(),
        },
    }
}

/// A comma-separated list of folders (`CLAUDE_CONFIG_DIR`,
/// `OBSERVATORY_ROOTS`): entries trimmed, empty ones dropped, `~/` expanded.
pub fn split_list(list: &str, home: Option<&Path>) -> Vec<PathBuf> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| expand_tilde(s, home))
        .collect()
}

/// `~/.config/claude` and `~/.claude`, those that exist; both when neither
/// does, so the user is told where we looked.
pub fn default_roots(home: Option<&Path>) -> Vec<PathBuf> {
    let Some(home) = home else { return Vec::new() };
    let candidates = vec![home.join(".config/claude"), home.join(".claude")];
    let existing: Vec<PathBuf> = candidates.iter().filter(|p| p.is_dir()).cloned().collect();
    if existing.is_empty() {
        candidates
    } else {
        existing
    }
}

/// The roots to read, duplicates dropped, in the order given. Which list
/// is used (`--claude-dir`, `OBSERVATORY_ROOTS`, `CLAUDE_CONFIG_DIR`, the
/// config file, [`default_roots`]) is decided by `config`.
pub fn roots_from(given: Vec<PathBuf>) -> Vec<Root> {
    let mut out: Vec<Root> = Vec::new();
    for g in given {
        if !out.iter().any(|r| r.given == g) {
            out.push(Root::new(g));
        }
    }
    out
}

/// `~/x` -> `$HOME/x`; anything else as is.
pub fn expand_tilde(s: &str, home: Option<&Path>) -> PathBuf {
    match (s.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ if s == "~" => home.map_or_else(|| PathBuf::from(s), Path::to_owned),
        _ => PathBuf::from(s),
    }
}

/// Config and data folders. `OBSERVATORY_HOME` moves both (never the
/// transcript roots).
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

pub fn dirs(observatory_home: Option<&Path>) -> Dirs {
    if let Some(h) = observatory_home {
        return Dirs {
            config: h.to_owned(),
            data: h.to_owned(),
        };
    }
    match directories::ProjectDirs::from("", "", "observatory") {
        Some(p) => Dirs {
            config: p.config_dir().to_owned(),
            data: p.data_dir().to_owned(),
        },
        None => Dirs {
            config: PathBuf::from("."),
            data: PathBuf::from("."),
        },
    }
}

/// The database: `--db`, else `OBSERVATORY_DB`, else `observatory.db` in the
/// data dir (which `OBSERVATORY_HOME` moves).
pub fn db_path(flag: Option<&Path>, env_db: Option<&Path>, dirs: &Dirs) -> PathBuf {
    flag.or(env_db)
        .map(Path::to_owned)
        .unwrap_or_else(|| dirs.data.join("observatory.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_paths_keep_every_byte() {
        let path = |b: &[u8]| PathBuf::from(OsString::from_vec(b.to_vec()));
        let utf8 = path("/c/projects/p/café \\xff.jsonl".as_bytes());
        assert_eq!(stored(&utf8), "/c/projects/p/café \\xff.jsonl");
        let names: Vec<PathBuf> = [
            &b"/c/projects/p/\xff.jsonl"[..],
            b"/c/projects/p/\xfe.jsonl",
            b"/c/projects/p/\\x\xff\\.jsonl",
            b"/c/projects/p\xc3/caf\xc3\xa9\xff.jsonl",
        ]
        .iter()
        .map(|b| path(b))
        .collect();
        let kept: Vec<String> = names.iter().map(|p| stored(p).into_owned()).collect();
        assert_eq!(kept[0], "bytes:/c/projects/p/\\xff.jsonl");
        assert_eq!(kept[2], "bytes:/c/projects/p/\\\\x\\xff\\\\.jsonl");
        for (p, k) in names.iter().zip(&kept) {
            assert_eq!(&from_stored(k), p, "{k}");
        }
        let mut unique = kept.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(
            from_stored("/plain/path.jsonl"),
            PathBuf::from("/plain/path.jsonl")
        );
    }

    #[test]
    fn roots_precedence_and_list_parsing() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        std::fs::create_dir_all(h.join(".claude/projects")).unwrap();
        let transcript_roots = |flags: &[PathBuf], env: Option<&str>, home: Option<&Path>| {
            roots_from(if !flags.is_empty() {
                flags.to_vec()
            } else if let Some(l) = env {
                split_list(l, home)
            } else {
                default_roots(home)
            })
        };
        // default: only the existing one
        let r = transcript_roots(&[], None, Some(h));
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].projects.as_deref(),
            Some(h.join(".claude/projects").as_path())
        );
        // env list, with spaces, a projects dir itself, and a duplicate
        let env = format!(
            " {0}/.claude , {0}/.claude/projects,{0}/.claude ",
            h.display()
        );
        let r = transcript_roots(&[], Some(&env), Some(h));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.projects.is_some()));
        // flags win over env
        let r = transcript_roots(&[h.join("nowhere")], Some(&env), Some(h));
        assert_eq!(
            r,
            vec![Root {
                given: h.join("nowhere"),
                projects: None
            }]
        );
        // nothing exists: both defaults are named
        let empty = tempfile::tempdir().unwrap();
        let r = transcript_roots(&[], None, Some(empty.path()));
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.projects.is_none()));
    }

    #[test]
    fn db_precedence() {
        let d = dirs(Some(Path::new("/h")));
        assert_eq!(db_path(None, None, &d), PathBuf::from("/h/observatory.db"));
        assert_eq!(
            db_path(None, Some(Path::new("/e.db")), &d),
            PathBuf::from("/e.db")
        );
        assert_eq!(
            db_path(Some(Path::new("/f.db")), Some(Path::new("/e.db")), &d),
            PathBuf::from("/f.db")
        );
    }
}
