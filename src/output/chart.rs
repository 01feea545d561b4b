//! Horizontal bar charts for the terminal (`cost --by-day --chart`): one
//! line per period, `label  ████████▍      $12.34`, bars in eighths of a
//! character, scaled so the largest value fills the bar column.

use crate::report::cost::{CostReport, Group};

/// Full block, then 1/8 to 7/8 blocks.
const FULL: char = '█';
const PARTS: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// One bar: its label, its value (None: no value, no bar) and the text
/// printed after it.
pub struct Bar {
    pub label: String,
    pub value: Option<i128>,
    pub text: String,
}

/// `bars` (periods in order) with a $0 bar for each period between two of
/// them that had no cost: a time chart without them drew a gap of months
/// as two neighbouring bars. Labels are `YYYY-MM-DD` (a day, a week's
/// first day) or `YYYY-MM`; one that is not (no date) stays as it is.
fn with_empty_periods(bars: Vec<Bar>, period: Group, money: &impl Fn(i128) -> String) -> Vec<Bar> {
    use chrono::{Days, Months, NaiveDate};
    let date = |label: &str| match period {
        Group::Month => NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d").ok(),
        _ => NaiveDate::parse_from_str(label, "%Y-%m-%d").ok(),
    };
    let next = |d: NaiveDate| match period {
        Group::Day => d.checked_add_days(Days::new(1)),
        Group::Week => d.checked_add_days(Days::new(7)),
        _ => d.checked_add_months(Months::new(1)),
    };
    let label = |d: NaiveDate| match period {
        Group::Month => d.format("%Y-%m").to_string(),
        _ => d.format("%Y-%m-%d").to_string(),
    };
    let mut out: Vec<Bar> = Vec::with_capacity(bars.len());
    let mut last: Option<NaiveDate> = None;
    for b in bars {
        let this = date(&b.label);
        if let (Some(mut at), Some(end)) = (last.and_then(next), this) {
            // (a few years of days at most: the range's own rows bound it)
            while at < end && out.len() < 100_000 {
                out.push(Bar {
                    label: label(at),
                    value: Some(0),
                    text: money(0),
                });
                let Some(n) = next(at) else { break };
                at = n;
            }
        }
        last = this.or(last);
        out.push(b);
    }
    out
}

/// A bar `value / max` of `cells` characters long, in eighths.
fn bar(value: i128, max: i128, cells: usize) -> String {
    if value <= 0 || max <= 0 {
        return String::new();
    }
    let total = cells as i128 * 8;
    // rounded to the nearest eighth; a value above zero always shows
    let eighths = ((value * total + max / 2) / max).clamp(1, total) as usize;
    let mut s: String = std::iter::repeat_n(FULL, eighths / 8).collect();
    if let Some(part) = (eighths % 8).checked_sub(1) {
        s.push(PARTS[part]);
    }
    s
}

/// Render the bars to fit in `width` columns (the bar column is at least
/// 10 wide, so very narrow terminals wrap rather than lose the bars).
pub fn render(bars: &[Bar], width: usize) -> String {
    let label_w = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let text_w = bars
        .iter()
        .map(|b| b.text.chars().count())
        .max()
        .unwrap_or(0);
    let cells = width.saturating_sub(label_w + text_w + 2).max(10);
    let max = bars.iter().filter_map(|b| b.value).max().unwrap_or(0);
    let mut out = String::new();
    for b in bars {
        let drawn = b.value.map(|v| bar(v, max, cells)).unwrap_or_default();
        let pad = cells - drawn.chars().count();
        out.push_str(&format!(
            "{:<label_w$} {drawn}{} {:>text_w$}\n",
            b.label,
            " ".repeat(pad),
            b.text
        ));
    }
    out
}

/// Why `cost --chart` refuses other groupings.
pub const GROUPS_ERROR: &str = "--chart draws one bar per period: use it with exactly one of --by-day, --by-week or --by-month, and no other --by-*";

/// The chart of a `cost` report grouped by day, week or month alone;
/// `money` formats an amount for people.
pub fn cost_chart(
    report: &CostReport,
    groups: &[Group],
    width: usize,
    money: impl Fn(i128) -> String,
) -> Result<String, String> {
    let mut g = groups.to_vec();
    g.sort();
    g.dedup();
    if !matches!(g.as_slice(), [Group::Day] | [Group::Week] | [Group::Month]) {
        return Err(GROUPS_ERROR.into());
    }
    let bars: Vec<Bar> = report
        .rows
        .iter()
        .map(|r| {
            let cost = r.sums.cost();
            Bar {
                label: r
                    .keys
                    .first()
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_else(|| "(no date)".into()),
                value: cost,
                text: match cost {
                    None => "unpriced".into(),
                    Some(c) if r.sums.unpriced_requests() > 0 => format!("{}*", money(c)),
                    Some(c) => money(c),
                },
            }
        })
        .collect();
    if bars.is_empty() {
        return Ok("nothing to chart: no responses in this range\n".into());
    }
    let bars = with_empty_periods(bars, g[0], &money);
    // the total last, without a bar, its amount aligned with the others
    let mut bars = bars;
    let total = &report.total;
    bars.push(Bar {
        label: "Total".into(),
        value: None,
        text: match total.cost() {
            None => "unpriced".into(),
            Some(c) if total.unpriced_requests() > 0 => format!("{}*", money(c)),
            Some(c) => money(c),
        },
    });
    // (the note under the chart is the caller's: the table's own)
    Ok(render(&bars, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_width_in_eighths() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 16, 2), "▏", "1/16 of 2 cells is one eighth");
        assert_eq!(bar(3, 8, 1), "▍");
        assert_eq!(bar(1, 1_000_000, 4), "▏", "tiny but not zero shows");
        assert_eq!(bar(0, 10, 4), "");
        assert_eq!(bar(-3, 10, 4), "");
    }

    #[test]
    fn lines_fit_the_width() {
        let bars = vec![
            Bar {
                label: "2026-03-01".into(),
                value: Some(400),
                text: "$4.00".into(),
            },
            Bar {
                label: "2026-03-02".into(),
                value: Some(100),
                text: "$1.00".into(),
            },
            Bar {
                label: "2026-03-03".into(),
                value: None,
                text: "unpriced".into(),
            },
        ];
        let out = render(&bars, 40);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        for l in &lines {
            assert_eq!(l.chars().count(), 40, "{l:?}");
        }
        // label 10 + space + 20 cells + space + text 8
        let blocks = |l: &str| l.chars().filter(|c| *c == FULL).count();
        assert_eq!(blocks(lines[0]), 20);
        assert_eq!(blocks(lines[1]), 5);
        assert_eq!(blocks(lines[2]), 0);
        assert!(lines[0].ends_with("   $4.00"));
        assert!(lines[2].starts_with("2026-03-03 ") && lines[2].ends_with("unpriced"));
    }

    /// Periods without cost between two with some are drawn as $0 bars, in
    /// order; a label that is no date is left where it is.
    #[test]
    fn periods_without_cost_between_others_are_drawn_empty() {
        let bar = |label: &str, v: i128| Bar {
            label: label.into(),
            value: Some(v),
            text: format!("${v}"),
        };
        let money = |v: i128| format!("${v}");
        let labels =
            |bars: Vec<Bar>| -> Vec<String> { bars.into_iter().map(|b| b.label).collect() };
        let days = with_empty_periods(
            vec![bar("2026-02-27", 1), bar("2026-03-02", 2)],
            Group::Day,
            &money,
        );
        assert_eq!(
            labels(days),
            ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
        );
        let weeks = with_empty_periods(
            vec![bar("2026-03-02", 1), bar("2026-03-23", 2)],
            Group::Week,
            &money,
        );
        assert_eq!(
            labels(weeks),
            ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]
        );
        let months = with_empty_periods(
            vec![bar("2025-11", 1), bar("2026-02", 2), bar("(no date)", 3)],
            Group::Month,
            &money,
        );
        assert_eq!(
            labels(months),
            ["2025-11", "2025-12", "2026-01", "2026-02", "(no date)"]
        );
    }
}
