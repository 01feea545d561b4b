//! Knowing when transcripts change: an OS watcher (notify) on every root's
//! `projects/`, recursive so new projects, sessions and subagent folders are
//! seen without a restart, debounced; or polling where the OS watcher is not
//! available. What changed is found by the ingest pass itself (cursors), so
//! a missed or merged event never loses a line.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::paths::Root;

/// Events closer together than this are one change.
const DEBOUNCE: Duration = Duration::from_millis(15);

pub struct ChangeSource {
    rx: Option<Receiver<notify::Result<notify::Event>>>,
    // Kept alive for as long as we watch.
    _watcher: Option<RecommendedWatcher>,
    poll: Duration,
    next_poll: Instant,
    /// Why we poll instead of watching, if we do.
    pub polling_because: Option<String>,
}

impl ChangeSource {
    pub fn new(roots: &[Root], poll: Duration) -> ChangeSource {
        let dirs: Vec<PathBuf> = roots.iter().filter_map(|r| r.projects.clone()).collect();
        let mut source = ChangeSource {
            rx: None,
            _watcher: None,
            poll,
            next_poll: Instant::now() + poll,
            polling_because: None,
        };
        if dirs.is_empty() {
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

    /// Wait up to `timeout` for a change. True if transcripts may have
    /// changed (a watcher event, or a poll tick when polling).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let Some(rx) = &self.rx else {
            let now = Instant::now();
            if now >= self.next_poll {
                self.next_poll = now + self.poll;
                return true;
            }
            std::thread::sleep(timeout.min(self.next_poll - now));
            return false;
        };
        let mut changed = false;
        let deadline = Instant::now() + timeout;
        loop {
            let wait = if changed {
                DEBOUNCE
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            match rx.recv_timeout(wait) {
                Ok(Ok(event)) => changed |= relevant(&event),
                // An overflowed or failed watch: rescan to be safe.
                Ok(Err(_)) => changed = true,
                Err(RecvTimeoutError::Timeout) => return changed,
                Err(RecvTimeoutError::Disconnected) => {
                    self.rx = None;
                    self.polling_because = Some("the OS file watcher stopped".into());
                    return true;
                }
            }
        }
    }
}

/// Transcript files and folders matter; Claude Code's other files
/// (tool-results/*.txt, *.meta.json) do not.
fn relevant(e: &notify::Event) -> bool {
    if matches!(e.kind, EventKind::Access(_)) {
        return false;
    }
    let folder_change = matches!(
        e.kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(notify::event::ModifyKind::Name(_))
    ) && e.paths.iter().any(|p| p.extension().is_none());
    folder_change
        || e.paths
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "jsonl"))
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
        assert!(!src.wait(Duration::from_millis(50)));
        std::fs::write(projects.join("p/notes.txt"), "x").unwrap();
        assert!(
            !src.wait(Duration::from_millis(200)),
            "a .txt file is not a transcript"
        );
        std::fs::write(projects.join("p/s.jsonl"), "{}\n").unwrap();
        assert!(src.wait(Duration::from_secs(5)));
        // a session folder that appears later, and a file in it
        std::fs::create_dir_all(projects.join("p/s/subagents")).unwrap();
        std::fs::write(projects.join("p/s/subagents/agent-a.jsonl"), "{}\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = false;
        while !seen && Instant::now() < deadline {
            seen = src.wait(Duration::from_millis(200));
        }
        assert!(seen);
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
            ticked = src.wait(Duration::from_millis(10));
        }
        assert!(ticked);
    }
}
