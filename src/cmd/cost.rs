use std::process::ExitCode;

use crate::out;
use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::cli::CostArgs;
use crate::config::Settings;
use crate::output::{self, table};
use crate::report::cost::{self, CostQuery, CostReport, Group, Sums};
use crate::report::usd;

pub fn run(args: &CostArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let flags = [
        (args.by_day, Group::Day),
        (args.by_week, Group::Week),
        (args.by_month, Group::Month),
        (args.by_project, Group::Project),
        (args.by_session, Group::Session),
        (args.by_branch, Group::Branch),
        (args.by_agent, Group::Agent),
        (args.by_model, Group::Model),
    ];
    let mut groups: Vec<Group> = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, g)| *g)
        .collect();
    if groups.is_empty() && !args.total {
        // no --by-* flag: `cost.group_by` from the config (none by default)
        groups = settings.cost_group_by.clone();
    }
    if args.chart {
        if args.csv || settings.json {
            return Err(super::usage(
                "--chart draws bars for people: it does not combine with --json or --csv",
            ));
        }
        let periods = [Group::Day, Group::Week, Group::Month];
        let mut g = groups.clone();
        g.sort();
        g.dedup();
        if g.len() != 1 || !periods.contains(&g[0]) {
            return Err(super::usage(output::chart::GROUPS_ERROR));
        }
    }
    let prices = super::price_table(settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let q = CostQuery {
        groups,
        range,
        project: args.filter.project.clone(),
        session: None,
        model: args.model.clone(),
        week_start: settings.week_start,
    };
    // (a report the rollup answers takes a few ms: not worth a thread)
    let early = !cost::rollup_answers(&q, &zone);
    let (mut store, report) =
        super::fresh_report(settings, &prices, args.no_ingest, early, |conn| {
            // (one session, as show names it: a typo is an error, not $0.00)
            let session = super::resolve_session_arg(conn, args.session.as_deref())?;
            let q = CostQuery {
                session,
                ..q.clone()
            };
            // (fast responses of a model the table has no fast price for:
            // priced at standard rates, which likely under-counts them)
            let fast = cost::fast_responses(conn, &q, |m| prices.no_fast_price(m))?;
            Ok((cost::run(conn, &q, &zone)?, fast))
        })?;
    let (report, fast_unpriced) = report;
    // (figures in hand: a --pricing what-if lets go before printing)
    store.end_what_if();
    if !settings.quiet && report.total.requests == 0 {
        // (nothing to show: say if a filter is why)
        super::warn_unmatched(&store.conn, q.project.as_deref(), q.model.as_deref(), "")?;
    }
    if !settings.quiet {
        for (model, n) in &report.unpriced_models {
            if prices.resolve(model).is_some() {
                // priced, yet no cost: it did not fit (absurd token counts)
                output::style::warn(format_args!(
                    "model {model:?} has a price, but {} of it {} no cost: it overflows 64-bit \
                     picoUSD (token counts far beyond any real response), or {} priced before \
                     the model had a price (`observatory reprice`). Their tokens are counted, \
                     their cost is not.",
                    super::count(*n, "response", "responses"),
                    if *n == 1 { "has" } else { "have" },
                    if *n == 1 { "it was" } else { "they were" }
                ));
                continue;
            }
            output::style::warn(format_args!(
                "no price for model {model:?} ({}): its tokens are counted, its cost is not. \
                 Add it to a pricing.toml (see `observatory pricing`).",
                super::count(*n, "response", "responses")
            ));
        }
        for (model, n) in &fast_unpriced {
            output::style::warn(format_args!(
                "{} of model {model:?} {} priced at standard rates: the price table has no \
                 fast price for it, so {} likely under-counted. Add one to a pricing.toml \
                 (see `observatory pricing`).",
                super::count(*n, "fast-mode response", "fast-mode responses"),
                if *n == 1 { "is" } else { "are" },
                if *n == 1 {
                    "its cost is"
                } else {
                    "their cost is"
                }
            ));
        }
    }
    if settings.json {
        let mut top = Map::new();
        top.insert("total".into(), Value::Object(sums_json(&report.total)));
        top.insert(
            "unpriced_models".into(),
            json!(report.unpriced_models.keys().collect::<Vec<_>>()),
        );
        top.insert(
            "fast_without_fast_price".into(),
            json!(
                fast_unpriced
                    .iter()
                    .map(|(m, n)| json!({"model": m, "responses": n}))
                    .collect::<Vec<_>>()
            ),
        );
        top.insert("tz".into(), json!(zone.name()));
        top.insert("since".into(), since);
        top.insert("until".into(), until);
        output::print_json_rows(Value::Object(top), "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report, &q.groups));
    } else if args.chart {
        let width = output::terminal_width(settings.stdout_tty).unwrap_or(80);
        let chart = output::chart::cost_chart(&report, &q.groups, width, |c| super::money(Some(c)))
            .map_err(anyhow::Error::msg)?;
        out!("{}", chart);
        let t = &report.total;
        if t.cost().is_some() && t.unpriced_requests() > 0 {
            out!(
                "{}",
                super::unpriced_note(t.unpriced_requests(), Some(width))
            );
        }
    } else {
        let width = output::terminal_width(settings.stdout_tty);
        out!("{}", human(&report, &q.groups, width));
    }
    super::budget::warn_crossed(&store.conn, &zone, settings);
    Ok(ExitCode::SUCCESS)
}

fn sums_json(s: &Sums) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("requests".into(), json!(s.requests));
    m.insert("input_tokens".into(), json!(s.input_tokens));
    m.insert("output_tokens".into(), json!(s.output_tokens));
    m.insert(
        "cache_creation_5m_tokens".into(),
        json!(s.cache_creation_5m_tokens),
    );
    m.insert(
        "cache_creation_1h_tokens".into(),
        json!(s.cache_creation_1h_tokens),
    );
    m.insert("cache_read_tokens".into(), json!(s.cache_read_tokens));
    m.insert("web_search_requests".into(), json!(s.web_search_requests));
    m.insert(
        "cost_usd".into(),
        json!(s.cost().map(|c| usd(c).to_string())),
    );
    m.insert("unpriced_requests".into(), json!(s.unpriced_requests()));
    m
}

fn row_json(r: &cost::CostRow) -> Value {
    let mut m = Map::new();
    for (g, v) in &r.keys {
        m.insert(g.key().into(), json!(v));
        if *g == Group::Model {
            m.insert("priced_as".into(), json!(r.priced_as));
        }
    }
    m.extend(sums_json(&r.sums));
    Value::Object(m)
}

fn group_title(g: Group) -> &'static str {
    match g {
        Group::Day => "Day",
        Group::Week => "Week of",
        Group::Month => "Month",
        Group::Project => "Project",
        Group::Session => "Session",
        Group::Branch => "Branch",
        Group::Agent => "Agent",
        Group::Model => "Model",
    }
}

fn sorted(groups: &[Group]) -> Vec<Group> {
    let mut g = groups.to_vec();
    g.sort();
    g.dedup();
    g
}

/// Dollars for people, with thousands separators, to the number of
/// decimals in force (`money_decimals`, 2 by default: $1,234.57).
pub fn dollars(picousd: i128) -> String {
    dollars_dp(picousd, output::style::current().money_decimals)
}

/// Dollars rounded (half away from zero) to `dp` decimals: $1,234.57.
pub fn dollars_dp(picousd: i128, dp: u32) -> String {
    let d = usd(picousd)
        .round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{d:.prec$}", prec = dp as usize);
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, format!(".{f}")),
        None => (s, String::new()),
    };
    let int: u64 = int.parse().unwrap_or(0);
    format!("{sign}${}{frac}", output::thousands(int))
}

/// (as other reports show money: `<$0.01` for a sum under half a cent)
fn cost_cell(s: &Sums) -> String {
    match s.cost() {
        None => "unpriced".into(),
        Some(c) if s.unpriced_requests() > 0 => super::money_part(Some(c), s.unpriced_requests()),
        Some(c) => super::money(Some(c)),
    }
}

/// The cost table; in a terminal `width` wide, the groups' text is cut
/// and the figures least needed are left out as far as it takes.
fn human(report: &CostReport, groups: &[Group], width: Option<usize>) -> String {
    use output::thousands as n;
    let groups = sorted(groups);
    let mut columns: Vec<table::Column> = groups
        .iter()
        .map(|g| match g {
            Group::Project => table::path(group_title(*g)),
            _ => table::text(group_title(*g)),
        })
        .collect();
    for t in [
        "Requests",
        "Input",
        "Output",
        "Cache write",
        "Cache read",
        "Cost",
    ] {
        columns.push(table::num(t));
    }
    let figures = |s: &Sums| {
        vec![
            n(s.requests),
            n(s.input_tokens),
            n(s.output_tokens),
            n(s.cache_creation_5m_tokens
                .saturating_add(s.cache_creation_1h_tokens)),
            n(s.cache_read_tokens),
            cost_cell(s),
        ]
    };
    let rows: Vec<Vec<String>> = if groups.is_empty() {
        Vec::new()
    } else {
        report
            .rows
            .iter()
            .map(|r| {
                let mut cells: Vec<String> = r
                    .keys
                    .iter()
                    .map(|(_, v)| v.clone().unwrap_or_else(|| "-".into()))
                    .collect();
                cells.extend(figures(&r.sums));
                cells
            })
            .collect()
    };
    let mut total: Vec<String> = vec![String::new(); groups.len().max(1)];
    total[0] = "Total".into();
    if groups.is_empty() {
        columns.insert(0, table::text(""));
    }
    total.extend(figures(&report.total));
    // cut: the groups (to 12); left out: requests, input, cache write,
    // cache read, output (the cost stays)
    let g = groups.len().max(1);
    let shrink: Vec<(usize, usize)> = (0..g).map(|i| (i, 12)).collect();
    let mut out = table::fit(
        &columns,
        &rows,
        &[total],
        width,
        &shrink,
        &[g, g + 1, g + 3, g + 4, g + 2],
    );
    out.push('\n');
    if report
        .rows
        .iter()
        .any(|r| r.sums.cost().is_some() && r.sums.unpriced_requests() > 0)
        || (report.total.unpriced_requests() > 0 && report.total.cost().is_some())
    {
        // (not "see the warning above": -q hides it)
        out.push_str(&super::unpriced_note(
            report.total.unpriced_requests(),
            width,
        ));
    }
    out
}

fn csv(report: &CostReport, groups: &[Group]) -> String {
    let groups = sorted(groups);
    let mut header: Vec<&str> = groups.iter().map(|g| g.key()).collect();
    if groups.contains(&Group::Model) {
        header.push("priced_as");
    }
    header.extend([
        "requests",
        "input_tokens",
        "output_tokens",
        "cache_creation_5m_tokens",
        "cache_creation_1h_tokens",
        "cache_read_tokens",
        "web_search_requests",
        "cost_usd",
        "unpriced_requests",
    ]);
    let figures = |s: &Sums| {
        vec![
            s.requests.to_string(),
            s.input_tokens.to_string(),
            s.output_tokens.to_string(),
            s.cache_creation_5m_tokens.to_string(),
            s.cache_creation_1h_tokens.to_string(),
            s.cache_read_tokens.to_string(),
            s.web_search_requests.to_string(),
            s.cost().map(|c| usd(c).to_string()).unwrap_or_default(),
            s.unpriced_requests().to_string(),
        ]
    };
    if groups.is_empty() {
        // one line, the total, even when nothing matched
        return table::csv(&header, &[figures(&report.total)]);
    }
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| {
            let mut cells: Vec<String> = r
                .keys
                .iter()
                .map(|(_, v)| v.clone().unwrap_or_default())
                .collect();
            if groups.contains(&Group::Model) {
                cells.push(r.priced_as.clone().unwrap_or_default());
            }
            cells.extend(figures(&r.sums));
            cells
        })
        .collect();
    table::csv(&header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_round_to_the_cent() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5_000_000_000), "$0.01", "half a cent rounds up");
        assert_eq!(dollars(4_999_999_999), "$0.00");
        assert_eq!(dollars(1_234_567_000_000_000), "$1,234.57");
        assert_eq!(dollars_dp(1_234_567_000_000_000, 0), "$1,235");
        assert_eq!(dollars_dp(1_234_567_000_000_000, 4), "$1,234.5670");
        assert_eq!(dollars_dp(-1_500_000_000_000, 0), "-$2");
    }
}
