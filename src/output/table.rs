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

/// A column: its title and whether its cells are numbers (right-aligned).
pub struct Column {
    pub title: &'static str,
    pub numeric: bool,
}

pub const fn text(title: &'static str) -> Column {
    Column {
        title,
        numeric: false,
    }
}

pub const fn num(title: &'static str) -> Column {
    Column {
        title,
        numeric: true,
    }
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
    let color = style::current().color_stdout;
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
    t.to_string()
}

/// RFC 4180 CSV: a header line, then one line per row.
pub fn csv(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let v: Vec<String> = cells.map(csv_field).collect();
        out.push_str(&v.join(","));
        out.push_str("\r\n");
    };
    line(&mut columns.iter().copied(), &mut out);
    for r in rows {
        line(&mut r.iter().map(String::as_str), &mut out);
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
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
