//! The ingest observer for people: a progress bar on stderr (hidden under
//! --json, -q or a non-terminal stderr) and located warnings printed through
//! it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::Observer;
use crate::ingest::writer::Notice;

pub struct IngestProgress {
    bar: ProgressBar,
    /// Draw the bar once there is enough to read (stderr is a terminal).
    draw: bool,
    quiet: bool,
    notices: usize,
}

/// Below this many bytes to read, no bar: a report's own ingest of a few
/// new lines would only flash one.
const DRAW_FROM_BYTES: u64 = 1 << 20;

impl IngestProgress {
    pub fn new(draw: bool, quiet: bool) -> IngestProgress {
        let bar = ProgressBar::hidden();
        bar.set_style(
            ProgressStyle::with_template("{spinner} ingesting {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        IngestProgress {
            bar,
            draw,
            quiet,
            notices: 0,
        }
    }

    fn say(&self, msg: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{msg}"));
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
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
        self.notices += 1;
        self.say(&format!(
            "{} {}:{}: {}",
            super::style::warning_prefix(),
            n.file,
            n.line,
            n.message
        ));
    }
    fn warning(&mut self, message: &str) {
        self.say(&format!("{} {message}", super::style::warning_prefix()));
    }
}
