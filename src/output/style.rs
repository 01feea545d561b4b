//! How things look for people: colour (per stream) and how many decimals
//! money shows. Decided once by `config` (flags, env, config file, TTYs)
//! and installed here by `main` before any command runs; the rest of the
//! code asks, never decides. JSON and CSV are never styled and always exact.

use std::fmt::Display;
use std::sync::OnceLock;

/// The display choices in force for this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Colour on stdout (tables).
    pub color_stdout: bool,
    /// Colour on stderr (`error:` / `warning:` prefixes).
    pub color_stderr: bool,
    /// Decimals shown for money in tables, charts and messages.
    pub money_decimals: u32,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            color_stdout: false,
            color_stderr: false,
            money_decimals: 2,
        }
    }
}

static DISPLAY: OnceLock<Look> = OnceLock::new();

/// Install the display choices (once; later calls are ignored).
pub fn install(d: Look) {
    let _ = DISPLAY.set(d);
}

/// The display choices in force (the defaults until `install`: no colour,
/// two decimals).
pub fn current() -> Look {
    DISPLAY.get().copied().unwrap_or_default()
}

/// An ANSI style, used sparingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Errors, budgets over their limit.
    Red,
    /// Warnings, budgets at their warn level.
    Yellow,
}

impl Style {
    fn codes(self) -> (&'static str, &'static str) {
        match self {
            Style::Red => ("\x1b[1;31m", "\x1b[0m"),
            Style::Yellow => ("\x1b[1;33m", "\x1b[0m"),
        }
    }
}

/// `text` in `style` when `on`, else as is.
pub fn paint(text: &str, style: Style, on: bool) -> String {
    if !on {
        return text.to_owned();
    }
    let (start, end) = style.codes();
    format!("{start}{text}{end}")
}

/// `error:` for stderr, red when stderr has colour.
pub fn error_prefix() -> String {
    paint("error:", Style::Red, current().color_stderr)
}

/// `warning:` for stderr, yellow when stderr has colour.
pub fn warning_prefix() -> String {
    paint("warning:", Style::Yellow, current().color_stderr)
}

/// Print `warning: {msg}` on stderr.
pub fn warn(msg: impl Display) {
    crate::errln!("{} {}", warning_prefix(), shown(&msg.to_string()));
}

/// A message as stderr shows it: a control character in it (a file name
/// holding an escape sequence, a newline) shown, not acted on, as tables
/// show them (`table::visible`).
pub fn shown(msg: &str) -> std::borrow::Cow<'_, str> {
    if msg
        .chars()
        .any(|c| c.is_control() || super::table::is_bidi_control(c))
    {
        std::borrow::Cow::Owned(super::table::visible(msg))
    } else {
        std::borrow::Cow::Borrowed(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_only_when_on() {
        assert_eq!(paint("x", Style::Red, false), "x");
        assert_eq!(paint("x", Style::Red, true), "\x1b[1;31mx\x1b[0m");
        // nothing installed in unit tests: plain text
        assert_eq!(warning_prefix(), "warning:");
    }
}
