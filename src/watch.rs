//! Knowing when transcripts change: an OS watcher (notify) on every root's
//! `projects/`, recursive so new projects, sessions and subagent folders are
//! seen without a restart, debounced; or polling where the OS watcher is not
//! available. The watcher names the transcripts that changed, so an append
//! reads that file alone; anything less precise (a folder appeared, the
//! watcher overflowed, a poll tick, a periodic safety pass) asks for a full
//! pass. Either way the cursors decide what is new, so a missed or merged
//! event never loses a line.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::paths::Root;

/// Events closer together than this are one change.
const DEBOUNCE: Duration = Duration::from_millis(5);
/// A full pass at least this often, even when the watcher reports only
/// single files or nothing (a safety net for events the OS dropped
/// silently: a network or overlay mount).
const FULL_PASS_EVERY: Duration = Duration::from_secs(60);

/// What `wait` saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Nothing,
    /// These transcript files changed (appended, created, replaced).
    Files(Vec<PathBuf>),
    /// Something else changed: look at every root.
    Everything,
}

impl Change {
    /// Both changes, as one.
    pub fn and(self, other: Change) -> Change {
        match (self, other) {
            (Change::Nothing, c) | (c, Change::Nothing) => c,
            (Change::Files(mut a), Change::Files(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Change::Files(a)
            }
            _ => Change::Everything,
        }
    }
}

pub struct ChangeSource {
    rx: Option<Receiver<notify::Result<notify::Event>>>,
    // Kept alive for as long as we watch.
    _watcher: Option<RecommendedWatcher>,
    poll: Duration,
    next_poll: Instant,
    next_full: Instant,
    /// The `projects/` folders watched, and what each was when the watch
    /// began (None: not there).
    watched: Vec<(PathBuf, Option<Identity>)>,
    /// Why we poll instead of watching, if we do.
    pub polling_because: Option<String>,
}

/// A folder's device, inode and birth time (a folder removed and made
/// again may get its inode back: `rm -rf projects && mkdir projects` on
/// ext4; where the file system keeps no birth time, device and inode).
type Identity = (u64, u64, Option<std::time::SystemTime>);

/// A folder's identity, if it is there.
fn identity(p: &std::path::Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.created().ok()))
}

impl ChangeSource {
    pub fn new(roots: &[Root], poll: Duration) -> ChangeSource {
        let known: Vec<PathBuf> = roots.iter().filter_map(|r| r.projects.clone()).collect();
        let watched: Vec<(PathBuf, Option<Identity>)> =
            known.iter().map(|d| (d.clone(), identity(d))).collect();
        // (one gone since it was found is not watched, nor polled for: the
        // identity check sees it come back, and a new watch follows)
        let dirs: Vec<PathBuf> = watched
            .iter()
            .filter(|(_, id)| id.is_some())
            .map(|(d, _)| d.clone())
            .collect();
        let mut source = ChangeSource {
            rx: None,
            _watcher: None,
            poll,
            next_poll: Instant::now() + poll,
            next_full: Instant::now() + FULL_PASS_EVERY,
            watched,
            polling_because: None,
        };
        if known.is_empty() {
            source.polling_because = Some("no projects/ folder exists yet".into());
            return source;
        }
        let (tx, rx) = channel();
        let watcher = notify::recommended_watcher(move |e| {
            let _ = tx.send(e);
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                source.polling_because = Some(format!("the OS file watcher is unavailable ({e})"));
                return source;
            }
        };
        for d in &dirs {
            if let Err(e) = watcher.watch(d, RecursiveMode::Recursive) {
                source.polling_because = Some(format!("cannot watch {} ({e})", d.display()));
                return source;
            }
        }
        source.rx = Some(rx);
        source._watcher = Some(watcher);
        source
    }

    /// Whether a watched `projects/` folder was replaced (moved away and
    /// made again, restored from a backup) or went since the watch began:
    /// the OS watcher follows the old folder, so a new watch is due.
    pub fn replaced(&self) -> bool {
        self.watched.iter().any(|(d, was)| identity(d) != *was)
    }

    /// Wait up to `timeout` for a change: a watcher event (then up to
    /// DEBOUNCE more for the rest of a burst), or a poll tick when polling.
    pub fn wait(&mut self, timeout: Duration) -> Change {
        let Some(rx) = &self.rx else {
            let now = Instant::now();
            if now >= self.next_poll {
                self.next_poll = now + self.poll;
                return Change::Everything;
            }
            std::thread::sleep(timeout.min(self.next_poll - now));
            return Change::Nothing;
        };
        let mut files = BTreeSet::new();
        let mut everything = false;
        let mut changed = false;
        let deadline = Instant::now() + timeout;
        loop {
            let wait = if changed {
                DEBOUNCE
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            match rx.recv_timeout(wait) {
                Ok(Ok(event)) => match classify(&event) {
                    Seen::Nothing => {}
                    Seen::Files => {
                        changed = true;
                        files.extend(event.paths.into_iter().filter(|p| is_transcript(p)));
                    }
                    Seen::Folder => (changed, everything) = (true, true),
                },
                // An overflowed or failed watch: rescan to be safe.
                Ok(Err(_)) => (changed, everything) = (true, true),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    self.rx = None;
                    self.polling_because = Some("the OS file watcher stopped".into());
                    return Change::Everything;
                }
            }
        }
        let now = Instant::now();
        if everything || now >= self.next_full {
            self.next_full = now + FULL_PASS_EVERY;
            return Change::Everything;
        }
        if !changed {
            return Change::Nothing;
        }
        Change::Files(files.into_iter().collect())
    }
}

enum Seen {
    Nothing,
    Files,
    Folder,
}

fn is_transcript(p: &std::path::Path) -> bool {
    p.file_name()
        .is_some_and(crate::ingest::discover::is_transcript)
}

/// Transcript files (subagents' sidecars too) and folders matter; Claude
/// Code's other files (tool-results/*.txt) do not. A folder created, removed or
/// renamed may hold transcripts the watcher never named.
fn classify(e: &notify::Event) -> Seen {
    if matches!(e.kind, EventKind::Access(_)) {
        return Seen::Nothing;
    }
    let structural = matches!(
        e.kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(notify::event::ModifyKind::Name(_))
    );
    if structural && e.paths.iter().any(|p| p.extension().is_none()) {
        Seen::Folder
    } else if e.paths.iter().any(|p| is_transcript(p)) {
        Seen::Files
    } else {
        Seen::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_appends_and_new_folders_and_ignores_other_files() {
        let d = tempfile::tempdir().unwrap();
        let projects = d.path().join("projects");
        std::fs::create_dir_all(projects.join("p")).unwrap();
        let mut src = ChangeSource::new(&[Root::new(d.path().to_owned())], Duration::from_secs(60));
        assert!(src.polling_because.is_none(), "{:?}", src.polling_because);
        assert_eq!(src.wait(Duration::from_millis(50)), Change::Nothing);
        std::fs::write(projects.join("p/notes.txt"), "x").unwrap();
        assert_eq!(
            src.wait(Duration::from_millis(200)),
            Change::Nothing,
            "a .txt file is not a transcript"
        );
        let file = projects.join("p/s.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        assert_eq!(src.wait(Duration::from_secs(5)), Change::Files(vec![file]));
        // a session folder that appears later, and a file in it: a full pass
        std::fs::create_dir_all(projects.join("p/s/subagents")).unwrap();
        std::fs::write(projects.join("p/s/subagents/agent-a.jsonl"), "{}\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Change::Nothing;
        while seen == Change::Nothing && Instant::now() < deadline {
            seen = src.wait(Duration::from_millis(200));
        }
        assert_eq!(seen, Change::Everything);
        // the safety pass comes when due even with no event at all (the OS
        // missed one, or watches a `projects/` since replaced)
        // (the events of the writes above drained first)
        let deadline = Instant::now() + Duration::from_secs(5);
        while src.wait(Duration::from_millis(100)) != Change::Nothing {
            assert!(Instant::now() < deadline, "events never stop");
        }
        src.next_full = Instant::now();
        assert_eq!(src.wait(Duration::from_millis(20)), Change::Everything);
    }

    /// A `projects/` folder moved away and made again is a new folder: the
    /// watch says so, and a new watch sees a session written into it.
    #[test]
    fn a_replaced_projects_folder_is_watched_anew() {
        let d = tempfile::tempdir().unwrap();
        let projects = d.path().join("projects");
        std::fs::create_dir_all(projects.join("p")).unwrap();
        let roots = [Root::new(d.path().to_owned())];
        let src = ChangeSource::new(&roots, Duration::from_secs(60));
        assert!(!src.replaced());
        std::fs::rename(&projects, d.path().join("projects.old")).unwrap();
        assert!(src.replaced(), "gone");
        std::fs::create_dir_all(projects.join("q")).unwrap();
        assert!(src.replaced(), "made again");
        let mut src = ChangeSource::new(&roots, Duration::from_secs(60));
        assert!(!src.replaced() && src.polling_because.is_none());
        let file = projects.join("q/s.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        assert_eq!(src.wait(Duration::from_secs(5)), Change::Files(vec![file]));
        // removed and made again (ext4 may give the inode back)
        std::fs::remove_dir_all(&projects).unwrap();
        std::fs::create_dir(&projects).unwrap();
        assert!(src.replaced(), "removed and made again");
        // while it is gone, the new watch watches what is there and neither
        // polls nor calls for full passes; it sees the folder come back
        std::fs::remove_dir_all(&projects).unwrap();
        let mut src = ChangeSource::new(&roots, Duration::from_millis(10));
        assert!(src.polling_because.is_none(), "{:?}", src.polling_because);
        assert_eq!(src.wait(Duration::from_millis(100)), Change::Nothing);
        assert!(!src.replaced());
        std::fs::create_dir(&projects).unwrap();
        assert!(src.replaced(), "back");
    }

    #[test]
    fn changes_add_up() {
        let files = |f: &[&str]| Change::Files(f.iter().map(PathBuf::from).collect());
        assert_eq!(Change::Nothing.and(Change::Nothing), Change::Nothing);
        assert_eq!(Change::Nothing.and(files(&["/a"])), files(&["/a"]));
        assert_eq!(
            files(&["/b", "/a"]).and(Change::Nothing),
            files(&["/b", "/a"])
        );
        assert_eq!(
            files(&["/b"]).and(files(&["/a", "/b"])),
            files(&["/a", "/b"])
        );
        assert_eq!(files(&["/a"]).and(Change::Everything), Change::Everything);
        assert_eq!(Change::Everything.and(Change::Nothing), Change::Everything);
    }

    #[test]
    fn polls_when_there_is_nothing_to_watch() {
        let d = tempfile::tempdir().unwrap();
        let mut src =
            ChangeSource::new(&[Root::new(d.path().to_owned())], Duration::from_millis(30));
        assert!(src.polling_because.is_some());
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut ticked = false;
        while !ticked && Instant::now() < deadline {
            ticked = src.wait(Duration::from_millis(10)) == Change::Everything;
        }
        assert!(ticked);
    }
}
