//! The ingest observer for people: a progress bar on stderr (hidden under
//! --json, -q or a non-terminal stderr) and located warnings printed through
//! it: at most `NOTICES_PER_FILE` per file (a file of random bytes would
//! print one per line), and, in a report's own ingest, the problems that
//! every run meets again (a symlink loop, an unreadable folder) as one line
//! naming the first.

use std::collections::BTreeMap;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::Observer;
use crate::ingest::writer::Notice;

pub struct IngestProgress {
    bar: ProgressBar,
    /// Draw the bar once there is enough to read (stderr is a terminal).
    draw: bool,
    quiet: bool,
    /// `observatory ingest` itself: every warning is printed.
    explicit: bool,
    /// Notices per file so far.
    notices: BTreeMap<String, usize>,
    /// The file of the last notice: files are read one after another, so
    /// its "more like these" line is said when the next file's notice
    /// comes, not after every file.
    last_file: Option<String>,
    /// Recurring warnings a report's own ingest did not print: the first,
    /// and how many.
    held: Option<(String, usize)>,
}

/// A file's first notices are printed; the rest are counted, and said in
/// one line at the end.
pub const NOTICES_PER_FILE: usize = 10;

/// Below this many bytes to read, no bar: a report's own ingest of a few
/// new lines would only flash one.
const DRAW_FROM_BYTES: u64 = 1 << 20;

impl IngestProgress {
    /// `explicit`: `observatory ingest` itself, not a report's own ingest.
    pub fn new(draw: bool, quiet: bool, explicit: bool) -> IngestProgress {
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template("{spinner} ingesting {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        IngestProgress {
            bar,
            draw,
            quiet,
            explicit,
            notices: BTreeMap::new(),
            last_file: None,
            held: None,
        }
    }

    /// `warning: {msg}` on stderr, the bar cleared meanwhile; `msg`'s
    /// control characters (a file name's) shown, not sent.
    fn say(&self, msg: &str) {
        if !self.quiet {
            self.bar.suspend(|| {
                crate::errln!(
                    "{} {}",
                    super::style::warning_prefix(),
                    super::style::shown(msg)
                )
            });
        }
    }

    /// Say how many of `file`'s notices were not printed, once: later ones
    /// are counted again from there.
    fn say_more(&mut self, file: &str) {
        let Some(n) = self.notices.get_mut(file) else {
            return;
        };
        if *n > NOTICES_PER_FILE {
            let more = *n - NOTICES_PER_FILE;
            *n = NOTICES_PER_FILE;
            self.say(&format!(
                "{file}: {more} more warnings like these (not shown; each line is stored as read)"
            ));
        }
    }

    /// Clear the bar, and say what was not printed.
    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
        let files: Vec<String> = self.notices.keys().cloned().collect();
        for file in files {
            self.say_more(&file);
        }
        if let Some((first, n)) = &self.held {
            let more = match n - 1 {
                0 => String::new(),
                m => format!(" (and {m} more like it)"),
            };
            self.say(&format!(
                "{first}{more}; `observatory ingest` lists {}",
                if *n == 1 { "it" } else { "them" }
            ));
        }
    }
}

impl Observer for IngestProgress {
    fn start(&mut self, total_bytes: u64) {
        if self.draw && total_bytes >= DRAW_FROM_BYTES {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_length(total_bytes);
        self.bar.set_position(0);
    }
    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn notice(&mut self, n: &Notice) {
        // (a last line still being written is how a transcript looks while
        // Claude Code writes it: `ingest` says so, a report does not)
        if n.held_back && !self.explicit {
            return;
        }
        if let Some(last) = self.last_file.take()
            && last != n.file
        {
            self.say_more(&last);
        }
        self.last_file = Some(n.file.clone());
        let seen = self.notices.entry(n.file.clone()).or_default();
        *seen += 1;
        if *seen > NOTICES_PER_FILE {
            return;
        }
        self.say(&format!("{}:{}: {}", n.file, n.line, n.message));
    }
    fn warning(&mut self, message: &str) {
        self.say(message);
    }
    fn recurring(&mut self, message: &str) {
        if self.explicit {
            self.warning(message);
        } else {
            let held = self.held.get_or_insert_with(|| (message.to_owned(), 0));
            held.1 += 1;
        }
    }
}
