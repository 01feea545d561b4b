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
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// `println!` to stdout that returns an error instead of panicking.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::emit("\n")? };
    ($($t:tt)*) => { $crate::output::emit(&format!("{}\n", format_args!($($t)*)))? };
}

/// `print!` to stdout that returns an error instead of panicking.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::output::emit(&format!($($t)*))? };
}

/// Print a value as pretty JSON on stdout, with a final newline.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    emit(&text)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
