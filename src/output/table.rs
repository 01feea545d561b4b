//! Tables for people (comfy-table) and CSV for spreadsheets, from the same
//! header + rows so the two cannot drift.

use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table, TableStyle,
};

use super::style::{self, Style};

/// Lines above and below, a rule under the header, none between rows.
const STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('─').junction('─'))
    .header_separator(LineStyle::none().fill('─').junction('─'))
    .bottom_border(LineStyle::none().fill('─').junction('─'));

/// A column: its title, whether its cells are numbers (right-aligned),
/// and what a cell cut to fit (`fit`) keeps.
#[derive(Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub numeric: bool,
    pub keeps: Keeps,
}

/// What a cell cut to fit keeps: its start (names, words), its end
/// (paths: the last folders) or both (a tool and its file: `Read /a/…/main.rs`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keeps {
    Start,
    End,
    Both,
}

pub const fn text(title: &'static str) -> Column {
    Column {
        title,
        numeric: false,
        keeps: Keeps::Start,
    }
}

pub const fn num(title: &'static str) -> Column {
    Column {
        title,
        numeric: true,
        keeps: Keeps::Start,
    }
}

/// A text column of paths: cut to fit, a cell keeps its end (`…/app`).
pub const fn path(title: &'static str) -> Column {
    Column {
        keeps: Keeps::End,
        ..text(title)
    }
}

/// A text column whose cells start and end with what matters (a tool and
/// its file): cut to fit, a cell keeps both ends.
pub const fn both_ends(title: &'static str) -> Column {
    Column {
        keeps: Keeps::Both,
        ..text(title)
    }
}

/// The narrowest a cut column gets, whatever its narrowest in `fit`'s
/// `shrink`, when the table would not fit otherwise.
const FLOOR: usize = 6;

/// [`render`] at most `width` columns wide, for a terminal: first the
/// columns in `drop` are left out, in that order, while the table would not
/// fit even with the text columns in `shrink` (column, narrowest width) cut
/// to their narrowest; then those are cut (`…`), in that order, as far as
/// needed (past their narrowest, down to [`FLOOR`], if nothing else is
/// left to give up). A table that fits, or no width (not a terminal), is
/// rendered as it is.
pub fn fit(
    columns: &[Column],
    rows: &[Vec<String>],
    footer: &[Vec<String>],
    width: Option<usize>,
    shrink: &[(usize, usize)],
    drop: &[usize],
) -> String {
    fit_styled(columns, rows, footer, width, shrink, drop, |_, _, _| None)
}

/// [`fit`], with some cells coloured as in [`render_styled`]: `style(row,
/// column, text)` gets the column's index in `columns`, whichever are left
/// out.
pub fn fit_styled(
    columns: &[Column],
    rows: &[Vec<String>],
    footer: &[Vec<String>],
    width: Option<usize>,
    shrink: &[(usize, usize)],
    drop: &[usize],
    cell_style: impl Fn(usize, usize, &str) -> Option<Style>,
) -> String {
    use unicode_width::UnicodeWidthStr;
    let Some(width) = width else {
        return render_styled(columns, rows, footer, None, cell_style);
    };
    let mut widths: Vec<usize> = columns.iter().map(|c| c.title.width().max(1)).collect();
    for row in rows.iter().chain(footer) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let least = |i: usize| {
        let narrowest = shrink
            .iter()
            .find(|(c, _)| *c == i)
            .map_or(usize::MAX, |s| s.1);
        widths[i].min(narrowest.max(2))
    };
    // (each column has a space either side, and one between columns)
    let total = |keep: &[usize], w: &dyn Fn(usize) -> usize| {
        keep.iter()
            .map(|&i| w(i) + 3)
            .sum::<usize>()
            .saturating_sub(1)
    };
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    if total(&keep, &|i| widths[i]) <= width {
        return render_styled(columns, rows, footer, None, cell_style);
    }
    for col in drop {
        if total(&keep, &least) <= width {
            break;
        }
        keep.retain(|i| i != col);
    }
    let mut cut = widths.clone();
    for &(col, _) in shrink.iter().filter(|(c, _)| keep.contains(c)) {
        let over = total(&keep, &|i| cut[i]).saturating_sub(width);
        cut[col] = cut[col].saturating_sub(over).max(least(col));
    }
    // (narrower still, with all that could go gone: the same columns are
    // cut on, down to a few columns each, never under their title, which
    // is not cut)
    for &(col, _) in shrink.iter().filter(|(c, _)| keep.contains(c)) {
        let over = total(&keep, &|i| cut[i]).saturating_sub(width);
        let floor = FLOOR.min(widths[col]).max(columns[col].title.width());
        cut[col] = cut[col].saturating_sub(over).max(floor);
    }
    // (a footer's cell is a total's label, not a path: cut at its end)
    let pick = |rows: &[Vec<String>], body: bool| -> Vec<Vec<String>> {
        rows.iter()
            .map(|row| {
                keep.iter()
                    .map(|&i| {
                        let cell = row.get(i).map_or("", String::as_str);
                        let n = cut[i] - 1;
                        match columns[i].keeps {
                            _ if super::fits(cell, cut[i]) => cell.to_owned(),
                            Keeps::End if body => format!("…{}", super::tail_columns(cell, n)),
                            Keeps::Both if body => format!(
                                "{}…{}",
                                super::head_columns(cell, n - n / 2),
                                super::tail_columns(cell, n / 2)
                            ),
                            _ => super::short_to(cell, n),
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let kept: Vec<Column> = keep.iter().map(|&i| columns[i]).collect();
    render_styled(
        &kept,
        &pick(rows, true),
        &pick(footer, false),
        None,
        |i, j, text| cell_style(i, keep[j], text),
    )
}

/// Render rows as a table. `footer` rows (totals) come after a separator.
/// Headers are bold when stdout has colour (see `output::style`).
pub fn render(
    columns: &[Column],
    rows: &[Vec<String>],
    footer: &[Vec<String>],
    width: Option<u16>,
) -> String {
    render_styled(columns, rows, footer, width, |_, _, _| None)
}

/// [`render`], with some cells coloured: `style(row, column, text)` for
/// each body row (footer rows are never styled). Colour only when stdout
/// has it.
pub fn render_styled(
    columns: &[Column],
    rows: &[Vec<String>],
    footer: &[Vec<String>],
    width: Option<u16>,
    cell_style: impl Fn(usize, usize, &str) -> Option<Style>,
) -> String {
    // A cell is one line with no control character in it: a newline in a
    // path or a title would split its row in two, and an escape written in
    // a transcript (a model id, a cwd, a tool's coloured output) would
    // reach the terminal (CSV and JSON keep them as they are).
    let broken = |r: &Vec<String>| {
        r.iter()
            .any(|c| c.chars().any(|c| c.is_control() || is_bidi_control(c)))
    };
    if rows.iter().chain(footer).any(broken) {
        let one_line = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
            rows.iter()
                .map(|r| r.iter().map(|c| visible(c)).collect())
                .collect()
        };
        return render_styled(
            columns,
            &one_line(rows),
            &one_line(footer),
            width,
            cell_style,
        );
    }
    let color = style::current().color_stdout;
    if width.is_none()
        && !color
        && let Some(plain) = render_plain(columns, rows, footer)
    {
        return plain;
    }
    let mut t = Table::new();
    t.load_style(STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if color {
        t.set_header(
            columns
                .iter()
                .map(|c| Cell::new(c.title).add_attribute(Attribute::Bold)),
        );
    } else {
        t.set_header(columns.iter().map(|c| c.title));
    }
    match width {
        Some(w) => {
            t.set_width(w);
        }
        None => {
            t.force_no_tty();
        }
    }
    if color {
        t.enforce_styling();
    }
    for (i, row) in rows.iter().enumerate() {
        let cells = row.iter().enumerate().map(|(j, text)| {
            let cell = Cell::new(text);
            match cell_style(i, j, text).filter(|_| color) {
                Some(Style::Red) => cell.fg(Color::Red).add_attribute(Attribute::Bold),
                Some(Style::Yellow) => cell.fg(Color::Yellow).add_attribute(Attribute::Bold),
                None => cell,
            }
        });
        t.add_row(cells.collect::<Vec<Cell>>());
    }
    for row in footer {
        t.add_row(row.clone());
    }
    for (i, c) in columns.iter().enumerate() {
        if c.numeric
            && let Some(col) = t.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    without_trailing_blanks(&t.to_string())
}

/// comfy-table's drawing without the blanks that end its lines (as
/// render_plain draws them: a copied line, a diff, `grep '$0.06$'`).
fn without_trailing_blanks(drawn: &str) -> String {
    let mut out = String::with_capacity(drawn.len());
    for (i, line) in drawn.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line.trim_end_matches(' '));
    }
    out
}

/// `text` with its control characters shown, not acted on: a line end as
/// `↵` (a CRLF as one), a tab as a space, other C0 controls and DEL as
/// their control pictures (ESC as `␛`), C1 controls and the bidirectional
/// controls (a right-to-left override in a prompt would reorder the rest
/// of its row on the terminal) as `�`.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push('↵'),
            '\t' => out.push(' '),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('␡'),
            c if c.is_control() || is_bidi_control(c) => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

/// A bidirectional control: not a control character to Unicode (a format
/// character), but a right-to-left override reorders what follows it on
/// the terminal.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The table comfy-table makes when there is no width to fit and no
/// colour (output to a pipe or a file), made directly: comfy-table keeps
/// every cell several times over, which for 300,000 rows (`show` of a
/// 500 MB session) was 700 MB and most of the time. (Cells are on one
/// line: `render_styled` sees to it.)
fn render_plain(
    columns: &[Column],
    rows: &[Vec<String>],
    footer: &[Vec<String>],
) -> Option<String> {
    use unicode_width::UnicodeWidthStr;
    let body = || rows.iter().chain(footer);
    if body().any(|r| r.len() > columns.len()) {
        return None;
    }
    // (a column is at least one wide, even with nothing in it)
    let mut widths: Vec<usize> = columns.iter().map(|c| c.title.width().max(1)).collect();
    for row in body() {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    // each cell padded by a space either side, a space between columns
    if widths.iter().any(|&w| w > usize::from(u16::MAX)) {
        return None; // (comfy-table's limit)
    }
    let rule: String = "─".repeat(
        widths
            .iter()
            .map(|w| w + 3)
            .sum::<usize>()
            .saturating_sub(1),
    );
    let mut out = String::with_capacity((rows.len() + footer.len() + 4) * (rule.len() / 2 + 1));
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let cells = cells.chain(std::iter::repeat(""));
        for (i, ((w, c), cell)) in widths.iter().zip(columns).zip(cells).enumerate() {
            let pad = w - cell.width();
            out.push_str(if i == 0 { " " } else { "  " });
            if c.numeric {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
            out.push(' ');
        }
        // (no trailing blanks)
        out.truncate(out.trim_end_matches(' ').len());
        out.push('\n');
    };
    out.push_str(&rule);
    out.push('\n');
    line(&mut columns.iter().map(|c| c.title), &mut out);
    out.push_str(&rule);
    out.push('\n');
    for row in body() {
        line(&mut row.iter().map(String::as_str), &mut out);
    }
    out.push_str(&rule);
    Some(out)
}

/// RFC 4180 CSV: a header line, then one line per row.
pub fn csv(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = csv_line(columns.iter().copied());
    for r in rows {
        out.push_str(&csv_line(r.iter().map(String::as_str)));
    }
    out
}

/// One CSV line: the fields, each quoted when it holds a comma, a quote or
/// a line break, and CRLF.
pub fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = String::new();
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(field);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let out = csv(
            &["a", "b"],
            &[
                vec!["x,y".into(), "say \"hi\"".into()],
                vec!["1".into(), "2".into()],
            ],
        );
        assert_eq!(out, "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n1,2\r\n");
    }

    #[test]
    fn a_wide_table_is_fitted_to_the_terminal_cutting_then_leaving_out() {
        use unicode_width::UnicodeWidthStr;
        let columns = [text("Session"), text("Title"), num("Errors"), num("Cost")];
        let rows = vec![
            vec![
                "1c3d1a2c".into(),
                "fix the parser so that ünïcode titles are cut on a character".into(),
                "2".into(),
                "$0.32".into(),
            ],
            vec![
                "947b12a8".into(),
                "short".into(),
                "0".into(),
                "$0.03".into(),
            ],
        ];
        let footer = vec![vec![
            "2 sessions".into(),
            String::new(),
            "2".into(),
            "$0.35".into(),
        ]];
        let widest = |out: &str| out.lines().map(UnicodeWidthStr::width).max().unwrap();
        let full = fit(&columns, &rows, &footer, None, &[(1, 12)], &[2]);
        assert_eq!(
            full,
            render(&columns, &rows, &footer, None),
            "no width: as it is"
        );
        assert_eq!(
            fit(&columns, &rows, &footer, Some(200), &[(1, 12)], &[2]),
            full
        );
        // 60: the title is cut, every column kept
        let out = fit(&columns, &rows, &footer, Some(60), &[(1, 12)], &[2]);
        assert!(widest(&out) <= 60 && widest(&out) >= 58, "{out}");
        assert!(
            out.contains("Errors") && out.contains("fix the parser so"),
            "{out}"
        );
        assert!(out.contains('…') && out.contains("short "), "{out}");
        // 40: cut to its narrowest it still does not fit: Errors goes,
        // then the title gets what is left
        let out = fit(&columns, &rows, &footer, Some(40), &[(1, 12)], &[2]);
        assert!(widest(&out) <= 40, "{out}");
        assert!(!out.contains("Errors") && out.contains("$0.35") && out.contains("2 sessions"));
        assert!(out.contains("fix the pa"), "{out}");
        // narrower, Errors gone: the title is cut past its narrowest
        let out = fit(&columns, &rows, &footer, Some(30), &[(1, 12)], &[2]);
        assert!(widest(&out) <= 30 && out.contains(" fix th… "), "{out}");
        // narrower than the columns left: as narrow as it gets
        let out = fit(&columns, &rows, &footer, Some(10), &[(1, 12)], &[2]);
        assert!(out.contains("$0.32") && out.contains("1c3d1a2c"), "{out}");
        // a path column keeps its end (not its footer: a label)
        let paths = [path("Project"), num("Cost")];
        let rows = vec![vec!["/home/u/work/clients/app".into(), "$1".into()]];
        let total = vec![vec!["Total (3 projects)".into(), "$1".into()]];
        let out = fit(&paths, &rows, &total, Some(20), &[(0, 8)], &[]);
        assert!(out.contains(" …lients/app "), "{out}");
        assert!(out.contains(" Total (3 p… "), "{out}");
        assert!(widest(&out) <= 20, "{out}");
        // a tool and its file keep both ends
        let detail = [both_ends("Detail"), num("Cost")];
        let rows = vec![vec![
            "Read /home/u/work/app/src/main.rs".into(),
            "$1".into(),
        ]];
        let out = fit(&detail, &rows, &[], Some(24), &[(0, 8)], &[]);
        assert!(out.contains(" Read /h…main.rs "), "{out}");
    }

    #[test]
    fn a_newline_in_a_cell_does_not_split_its_row() {
        let out = render(
            &[text("Project"), num("N")],
            &[
                vec!["/home/u/a\nb".into(), "1".into()],
                vec!["c\r\nd".into(), "2".into()],
            ],
            &[vec!["total\r".into(), "3".into()]],
            Some(80),
        );
        assert_eq!(out.lines().count(), 3 + 2 + 1 + 1, "{out}");
        assert!(out.contains("/home/u/a↵b") && out.contains("c↵d") && out.contains("total↵"));
    }

    #[test]
    fn control_characters_in_a_cell_are_shown_not_sent_to_the_terminal() {
        let rows = [
            vec!["/home/u/\u{1b}[31mred".into(), "1".into()],
            vec!["claude-x\u{1b}]0;pwned\u{7}\u{1b}[2J".into(), "2".into()],
            vec!["a\tb\u{7f}\u{9b}c".into(), "3".into()],
            vec![
                "fix \u{202e}gnp.exe\u{202c} \u{2067}x\u{2069}".into(),
                "4".into(),
            ],
        ];
        for width in [None, Some(80)] {
            let out = render(&[text("Project"), num("N")], &rows, &[], width);
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
            assert!(out.contains("/home/u/␛[31mred"), "{out}");
            assert!(out.contains("claude-x␛]0;pwned␇␛[2J"), "{out}");
            assert!(out.contains("a b␡�c"), "{out}");
            assert!(out.contains("fix �gnp.exe� �x�"), "{out}");
            assert_eq!(out.lines().count(), 3 + 4 + 1, "{out}");
        }
    }

    /// A right-to-left override is no control character to Unicode (a
    /// format character): a row with nothing else to show is shown too.
    #[test]
    fn a_bidirectional_control_alone_is_shown_not_acted_on() {
        let rows = [vec!["Title \u{202e}evil \u{2066}x".into(), "1".into()]];
        for width in [None, Some(80)] {
            let out = render(&[text("Title"), num("N")], &rows, &[], width);
            assert!(!out.chars().any(is_bidi_control), "{out:?}");
            assert!(out.contains("Title �evil �x"), "{out}");
        }
    }

    /// What comfy-table makes of the same rows (`render`'s other path).
    fn comfy(columns: &[Column], rows: &[Vec<String>], footer: &[Vec<String>]) -> String {
        let mut t = Table::new();
        t.load_style(STYLE)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(columns.iter().map(|c| c.title))
            .force_no_tty();
        for row in rows.iter().chain(footer) {
            t.add_row(row.clone());
        }
        for (i, c) in columns.iter().enumerate() {
            if c.numeric {
                t.column_mut(i)
                    .unwrap()
                    .set_cell_alignment(CellAlignment::Right);
            }
        }
        without_trailing_blanks(&t.to_string())
    }

    #[test]
    fn plain_tables_are_what_comfy_table_makes() {
        let columns = [
            text("Session"),
            num("Cost"),
            text("Title"),
            num("N"),
            text(""),
        ];
        let cells = [
            "",
            "a",
            "1c3d1a2c",
            "$1,234.56",
            "café → naïve",
            "日本語のタイトル",
            "emoji 🦀 ok",
            "tab\there",
            "a very long title that goes on well past any terminal's width, on and on and on and on and on and on and on",
            "  spaced  ",
            "x",
        ];
        let mut seed = 7u64;
        let mut pick = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            cells[(seed >> 33) as usize % cells.len()].to_owned()
        };
        for n in [0, 1, 2, 5, 40] {
            let rows: Vec<Vec<String>> = (0..n).map(|_| (0..4).map(|_| pick()).collect()).collect();
            let footer: Vec<Vec<String>> = if n % 2 == 1 {
                vec![(0..4).map(|_| pick()).collect()]
            } else {
                vec![]
            };
            // (the last column, untitled, is empty: as `blocks` has one)
            let plain = render_plain(&columns, &rows, &footer).unwrap();
            assert_eq!(plain, comfy(&columns, &rows, &footer), "{n} rows");
            assert!(!plain.lines().any(|l| l.ends_with(' ')), "{plain}");
        }
        // rows shorter than the header, as comfy-table pads them
        let short = vec![vec!["only".to_owned()], vec!["a".into(), "$1".into()]];
        assert_eq!(
            render_plain(&columns, &short, &[]).unwrap(),
            comfy(&columns, &short, &[])
        );
        // a row longer than the header: comfy-table's
        assert!(render_plain(&columns[..1], &[vec!["a".into(), "b".into()]], &[]).is_none());
    }

    #[test]
    fn tables_right_align_numbers() {
        let t = render(
            &[text("model"), num("cost")],
            &[vec!["opus".into(), "$1.00".into()]],
            &[vec!["total".into(), "$10.00".into()]],
            Some(40),
        );
        let line = t.lines().find(|l| l.contains("opus")).unwrap();
        let total = t.lines().find(|l| l.contains("total")).unwrap();
        assert_eq!(
            line.find("$1.00").unwrap() + 5,
            total.find("$10.00").unwrap() + 6
        );
    }
}
