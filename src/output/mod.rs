//! Rendering for people (tables, progress) and scripts (JSON). The only
//! place besides `cmd/` that touches the terminal.

pub mod chart;
pub mod progress;
pub mod style;
pub mod table;

use std::io::Write;

use serde::Serialize;

/// Write text to stdout; a closed pipe (`| head`) comes back as an error
/// that `main` turns into a quiet exit 0.
pub fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(on_stdout)
}

/// A failed write to stdout, saying so (`> /dev/full`: "No space left on
/// device" alone sent people to look at the database); of the same kind,
/// so that a closed pipe still ends a run quietly.
fn on_stdout(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("writing to stdout: {e}"))
}

/// Nobody will read stdout any more: it is a pipe whose reader has gone
/// (`watch --json | head -1` after `head` exits) or a terminal that hung
/// up. Asked without writing: a watcher that prints nothing for hours
/// would otherwise learn it only at its next event.
pub fn stdout_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, not kept past the call; a zero timeout.
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// `println!` to stdout that returns an error instead of panicking.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::emit("\n")? };
    ($($t:tt)*) => { $crate::output::emit(&format!("{}\n", format_args!($($t)*)))? };
}

/// `crate::errln!` that never panics: a closed or broken stderr (`2>&1 | head`,
/// a hook runner that stops reading) loses the message, not the run (an
/// ingest that panicked on its first warning stored nothing).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `crate::err!` that never panics (see `errln!`).
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}

/// `print!` to stdout that returns an error instead of panicking.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::output::emit(&format!($($t)*))? };
}

/// Print a value as pretty JSON on stdout, with a final newline.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    write_json(&mut out, value)
        .and_then(|()| out.flush())
        .map_err(on_stdout)?;
    Ok(())
}

/// Stdout through a 64 KiB buffer, for output written as it is made (a
/// query's rows as SQLite steps to them): a failed write is said to be
/// stdout's (`on_stdout`), so a closed pipe still ends the run quietly.
/// Flush it at the end: what is left in the buffer when it is dropped is
/// written without a word if that fails.
pub struct StdoutWriter(std::io::BufWriter<std::io::StdoutLock<'static>>);

pub fn stdout_writer() -> StdoutWriter {
    StdoutWriter(std::io::BufWriter::with_capacity(
        64 << 10,
        std::io::stdout().lock(),
    ))
}

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(on_stdout)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(on_stdout)
    }
}

fn write_json<T: Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Print `top` (an object) as pretty JSON with `key` added, its value the
/// sequence `rows` yields, each element made, written and dropped in turn:
/// thousands of rows never exist at once (on these machines, fresh memory
/// costs more than the rows' serialization). Keys stay in sorted order.
pub fn print_json_rows<I>(top: serde_json::Value, key: &str, rows: I) -> anyhow::Result<()>
where
    I: Iterator,
    I::Item: Serialize,
{
    print_json(&with_rows(top, key, rows)?)
}

/// `top` with `key` added as the sequence `rows` yields, serialized as it
/// is made (once).
fn with_rows<I>(
    top: serde_json::Value,
    key: &str,
    rows: I,
) -> anyhow::Result<impl Serialize + use<'_, I>>
where
    I: Iterator,
    I::Item: Serialize,
{
    use serde::ser::{SerializeMap, Serializer};
    use std::cell::Cell;

    struct Seq<I>(Cell<Option<I>>);
    impl<I: Iterator<Item: Serialize>> Serialize for Seq<I> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.take().into_iter().flatten())
        }
    }
    struct Doc<'a, I> {
        top: serde_json::Map<String, serde_json::Value>,
        key: &'a str,
        rows: Seq<I>,
    }
    impl<I: Iterator<Item: Serialize>> Serialize for Doc<'_, I> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.top.len() + 1))?;
            let mut rows = Some(&self.rows);
            for (k, v) in &self.top {
                if let Some(r) = rows.filter(|_| self.key < k.as_str()) {
                    m.serialize_entry(self.key, r)?;
                    rows = None;
                }
                m.serialize_entry(k, v)?;
            }
            if let Some(r) = rows {
                m.serialize_entry(self.key, r)?;
            }
            m.end()
        }
    }
    let serde_json::Value::Object(top) = top else {
        anyhow::bail!("print_json_rows: the top level is not an object");
    };
    Ok(Doc {
        top,
        key,
        rows: Seq(Cell::new(Some(rows))),
    })
}

/// Bytes for people: 1.2 MB, 3.4 GB (decimal units).
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` as a terminal lays it out: its grapheme clusters (a letter with
/// its accents, an emoji with its modifiers or joined ones, a flag) and the
/// columns each takes (wide characters and emoji two). Text is cut between
/// these, never inside one.
pub fn cells(s: &str) -> impl DoubleEndedIterator<Item = (&str, usize)> {
    use unicode_segmentation::UnicodeSegmentation;
    use unicode_width::UnicodeWidthStr;
    s.graphemes(true).map(|g| (g, g.width()))
}

/// Printable ASCII only: one byte, one cell, one column each (most of what
/// tables show; segmenting it cost `sessions` a third of its time).
fn plain_ascii(s: &str) -> bool {
    s.bytes().all(|b| (b' '..=b'~').contains(&b))
}

/// How many columns `s` takes (as `cells` counts them): what tests check
/// cut text against.
#[cfg(test)]
pub fn columns(s: &str) -> usize {
    if plain_ascii(s) {
        return s.len();
    }
    cells(s).map(|(_, w)| w).sum()
}

/// Whether `s` fits in `cols` columns (reading no further than it must:
/// a long text is cut after its first cells).
pub fn fits(s: &str, cols: usize) -> bool {
    if plain_ascii(s) {
        return s.len() <= cols;
    }
    let mut used = 0;
    cells(s).all(|(_, w)| {
        used += w;
        used <= cols
    })
}

/// The width of the terminal stdout is, if it is one (at least 20): a
/// positive `COLUMNS` from the environment, else the terminal's size, else
/// (a terminal that reports none, or 0 columns: `script`, a container's
/// `exec -t` before its first resize) 80. None for a pipe or a file:
/// tables keep every column, prose stays on one line, charts take 80.
pub fn terminal_width(stdout_tty: bool) -> Option<usize> {
    stdout_tty.then(|| terminal_size().0.max(20))
}

/// The terminal's columns and rows as `terminal_width` tells them (rows:
/// `LINES`, else the terminal's, else none).
pub fn terminal_size() -> (usize, Option<usize>) {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    // (None for a size of 0 columns or rows)
    let told = ::terminal_size::terminal_size().map(|(w, h)| (usize::from(w.0), usize::from(h.0)));
    let cols = env("COLUMNS").or(told.map(|t| t.0)).unwrap_or(80);
    let rows = env("LINES").or(told.map(|t| t.1));
    (cols, rows)
}

/// `text` wrapped at spaces to lines of at most `width` columns (a word
/// longer than that on a line of its own), the lines after the first
/// indented by two spaces; no width (not a terminal): as it is.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    use unicode_width::UnicodeWidthStr;
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut used = 0;
    for word in text.split(' ') {
        let w = word.width();
        if used > 0 && used + 1 + w > width {
            out.push_str("\n  ");
            used = 2;
        } else if used > 0 {
            out.push(' ');
            used += 1;
        }
        out.push_str(word);
        used += w;
    }
    out
}

/// `s` in at most `n` + 1 terminal columns: cut (`…` after the first `n`
/// columns) when wider. Wide characters (CJK, emoji) count two.
pub fn short_to(s: &str, n: usize) -> String {
    if plain_ascii(s) {
        return match s.get(..n) {
            Some(head) if s.len() > n + 1 => format!("{head}…"),
            _ => s.to_owned(),
        };
    }
    // (in one pass over the cells, as `fits` and then `head_columns` would
    // cut it: where the first n columns end, and whether more than n + 1
    // follow; segmenting titles twice was a tenth of `sessions`)
    let (mut used, mut end) = (0, 0);
    for (cell, w) in cells(s) {
        used += w;
        if used <= n {
            end = cell.as_ptr() as usize - s.as_ptr() as usize + cell.len();
        } else if used > n + 1 {
            return format!("{}…", &s[..end]);
        }
    }
    s.to_owned()
}

/// The longest start of `s` that fits in `cols` columns.
pub fn head_columns(s: &str, cols: usize) -> &str {
    if plain_ascii(s) {
        return &s[..cols.min(s.len())];
    }
    let mut used = 0;
    let mut end = 0;
    for (cell, w) in cells(s) {
        if used + w > cols {
            break;
        }
        used += w;
        end = cell.as_ptr() as usize - s.as_ptr() as usize + cell.len();
    }
    &s[..end]
}

/// The longest end of `s` that fits in `cols` columns.
pub fn tail_columns(s: &str, cols: usize) -> &str {
    if plain_ascii(s) {
        return &s[s.len() - cols.min(s.len())..];
    }
    let mut used = 0;
    let mut start = s.len();
    for (cell, w) in cells(s).rev() {
        if used + w > cols {
            break;
        }
        used += w;
        start = cell.as_ptr() as usize - s.as_ptr() as usize;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_is_wrapped_to_the_terminal_only() {
        let text = "9 prompts, 109 responses, 123 tool calls (5 errors), 1 subagent";
        assert_eq!(wrap(text, None), text);
        assert_eq!(wrap(text, Some(200)), text);
        let out = wrap(text, Some(30));
        assert_eq!(
            out,
            "9 prompts, 109 responses, 123\n  tool calls (5 errors), 1\n  subagent"
        );
        assert!(out.lines().all(|l| l.len() <= 30));
        assert_eq!(out.replace("\n  ", " "), text, "nothing lost");
        // a word wider than the line stands alone
        assert_eq!(wrap("a bbbbbbbb c", Some(4)), "a\n  bbbbbbbb\n  c");
        assert_eq!(wrap("日本語 日本語", Some(8)), "日本語\n  日本語");
    }

    #[test]
    fn text_is_cut_between_what_the_terminal_shows_as_one() {
        // e + combining acute; a wide character; a family joined by ZWJ
        let s = "ae\u{301}日👨\u{200d}👩z";
        let c: Vec<(&str, usize)> = cells(s).collect();
        assert_eq!(
            c,
            [
                ("a", 1),
                ("e\u{301}", 1),
                ("日", 2),
                ("👨\u{200d}👩", 2),
                ("z", 1)
            ]
        );
        assert_eq!(columns(s), 7);
        // emoji presentation (⚠️), a flag, a skin tone: two columns, whole
        for e in ["\u{26a0}\u{fe0f}", "🇫🇷", "👍🏽"] {
            assert_eq!(cells(e).collect::<Vec<_>>(), [(e, 2)], "{e}");
            let row = e.repeat(60);
            assert_eq!(columns(&row), 120);
            assert_eq!(head_columns(&row, 5), e.repeat(2));
        }
        assert_eq!(head_columns(s, 2), "ae\u{301}");
        assert_eq!(head_columns(s, 3), "ae\u{301}", "the wide one does not fit");
        assert_eq!(tail_columns(s, 3), "👨\u{200d}👩z");
        assert_eq!(tail_columns(s, 2), "z");
        assert_eq!(head_columns(s, 99), s);
        assert!(fits(s, 7) && !fits(s, 6));
    }

    /// `short_to` cuts in one pass where `fits` and then `head_columns`
    /// would: wide characters, emoji with modifiers, flags, combining and
    /// zero-width characters, at every width.
    #[test]
    fn short_to_cuts_as_fits_then_head_columns_would() {
        let texts = [
            "",
            "a",
            "abcdefgh",
            "naïve café",
            "日本語のテキスト",
            "a👍🏽b👨‍👩‍👧c",
            "e\u{301}e\u{301}e\u{301}e\u{301}",
            "x\u{200b}y\u{200b}z",
            "🇫🇷🇩🇪 flags",
            "→ ✓ done, 一行",
        ];
        for s in texts {
            for n in 0..14 {
                let two_passes = if fits(s, n + 1) {
                    s.to_owned()
                } else {
                    format!("{}…", head_columns(s, n))
                };
                assert_eq!(short_to(s, n), two_passes, "{s:?} in {n}");
            }
        }
    }

    #[test]
    fn plain_ascii_is_measured_as_the_segmenter_would() {
        for s in [
            "",
            "a",
            "fix the parser ~ {x} [y]",
            "x".repeat(300).as_str(),
        ] {
            assert!(plain_ascii(s));
            assert_eq!(columns(s), cells(s).map(|(_, w)| w).sum::<usize>());
            assert!(fits(s, s.len()) && (s.is_empty() || !fits(s, s.len() - 1)));
            for n in [0, 1, 5, 299, 301] {
                let head = cells(s).take_while({
                    let mut used = 0;
                    move |(_, w)| {
                        used += w;
                        used <= n
                    }
                });
                assert_eq!(
                    head_columns(s, n).len(),
                    head.map(|(c, _)| c.len()).sum::<usize>()
                );
                assert_eq!(tail_columns(s, n).len(), n.min(s.len()));
            }
        }
        // a tab, a newline, DEL or anything past ASCII takes the long way
        for s in ["a\tb", "a\nb", "a\u{7f}", "café"] {
            assert!(!plain_ascii(s), "{s:?}");
        }
    }
    use serde_json::json;

    #[test]
    fn streamed_rows_print_as_the_whole_tree_would() {
        let rows = || (1..=3).map(|i| json!({"n": i, "name": format!("row {i}")}));
        // the key first, among the others, and last in sorted order
        for key in ["a_rows", "m_rows", "z_rows"] {
            let top = json!({"b": 1, "tz": "UTC", "total": {"n": 6}});
            let mut whole = top.clone();
            whole[key] = rows().collect();
            let mut expected = Vec::new();
            write_json(&mut expected, &whole).unwrap();
            let mut streamed = Vec::new();
            write_json(&mut streamed, &with_rows(top, key, rows()).unwrap()).unwrap();
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
        let mut empty = Vec::new();
        let no_rows = with_rows(json!({}), "rows", std::iter::empty::<u8>()).unwrap();
        write_json(&mut empty, &no_rows).unwrap();
        assert_eq!(empty, b"{\n  \"rows\": []\n}\n");
        assert!(with_rows(json!([1]), "rows", rows()).is_err());
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
