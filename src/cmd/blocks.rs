use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::sessions::short_models;
use super::{at_json, duration, money_part, tokens, usd_csv, usd_json};
use crate::cli::BlocksArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::blocks::{self, BlockRow, BlocksQuery};
use crate::report::{self, Zone};

pub fn run(args: &BlocksArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let prices = super::price_table(settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let q = BlocksQuery {
        range,
        project: args.filter.project.clone(),
        active_only: args.active,
    };
    let (mut store, (now, report, untimed)) =
        super::fresh_report(settings, &prices, args.no_ingest, true, |conn| {
            let now = report::now_ms();
            let report = blocks::run(conn, &q, now).context("reading responses")?;
            // (with a range no report counts them)
            let untimed = if q.range.from_ms.is_none() && q.range.to_ms.is_none() {
                Some(
                    blocks::untimed_responses(conn, q.project.as_deref())
                        .context("reading responses")?,
                )
            } else {
                None
            };
            Ok((now, report, untimed))
        })?;
    // (figures in hand: a --pricing what-if lets go before printing)
    store.end_what_if();
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let top = json!({
            "now": at_json(Some(now)),
            "block_hours": 5,
            "tz": zone.name(),
            "since": since,
            "until": until,
            "untimed_responses": untimed,
            "total": total_json(&report.rows),
        });
        output::print_json_rows(top, "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report.rows));
    } else {
        let filtered = q.project.is_some() || q.range.from_ms.is_some() || q.range.to_ms.is_some();
        let width = output::terminal_width(settings.stdout_tty);
        out!("{}", human(&report.rows, &zone, now, filtered, width));
        if let Some(n) = untimed.filter(|n| *n > 0) {
            let line = format!(
                "{} without a time {} in no block (`cost` counts {}).",
                super::count(n, "response", "responses"),
                if n == 1 { "is" } else { "are" },
                if n == 1 { "it" } else { "them" },
            );
            out!("{}\n", output::wrap(&line, width));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// None when there are responses and none of them has a price (as
/// sessions' `Figures::cost`: no response at all is "0").
fn cost(b: &BlockRow) -> Option<i128> {
    (b.responses == 0 || b.unpriced_responses < b.responses).then_some(b.cost_picousd)
}

/// The blocks' sums, as one row: exact, so `cost_usd` is the rows' own
/// to the last digit (null when there are responses and none has a price).
fn total(rows: &[BlockRow]) -> BlockRow {
    let mut t = BlockRow::default();
    for b in rows {
        t.responses += b.responses;
        t.input_tokens = t.input_tokens.saturating_add(b.input_tokens);
        t.output_tokens = t.output_tokens.saturating_add(b.output_tokens);
        t.cache_creation_tokens = t
            .cache_creation_tokens
            .saturating_add(b.cache_creation_tokens);
        t.cache_read_tokens = t.cache_read_tokens.saturating_add(b.cache_read_tokens);
        t.cost_picousd += b.cost_picousd;
        t.unpriced_responses += b.unpriced_responses;
    }
    t
}

fn total_json(rows: &[BlockRow]) -> Value {
    let t = total(rows);
    json!({
        "blocks": rows.len(),
        "responses": t.responses,
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cache_creation_tokens": t.cache_creation_tokens,
        "cache_read_tokens": t.cache_read_tokens,
        "total_tokens": t.total_tokens(),
        "cost_usd": usd_json(cost(&t)),
        "unpriced_responses": t.unpriced_responses,
    })
}

fn row_json(b: &BlockRow) -> Value {
    json!({
        "start_at": at_json(Some(b.start_at)),
        "end_at": at_json(Some(b.end_at)),
        "first_response_at": at_json(Some(b.first_at)),
        "last_response_at": at_json(Some(b.last_at)),
        "active": b.active,
        "responses": b.responses,
        "models": b.models,
        "input_tokens": b.input_tokens,
        "output_tokens": b.output_tokens,
        "cache_creation_tokens": b.cache_creation_tokens,
        "cache_read_tokens": b.cache_read_tokens,
        "total_tokens": b.total_tokens(),
        "cost_usd": usd_json(cost(b)),
        "unpriced_responses": b.unpriced_responses,
        "active_ms": b.active_ms,
        "burn_rate_usd_per_hour": usd_json(b.burn_rate_picousd_per_hour),
        "projected_cost_usd": usd_json(b.projected_cost_picousd),
        "projected_total_tokens": b.projected_tokens,
    })
}

/// The blocks table; in a terminal `width` wide, the models cut and the
/// columns least needed left out as far as it takes.
fn human(rows: &[BlockRow], zone: &Zone, now: i64, filtered: bool, width: Option<usize>) -> String {
    use crate::output::thousands as n;
    let columns = [
        table::text("Start"),
        table::text("End"),
        table::text(""),
        table::num("Responses"),
        table::num("Tokens"),
        table::num("Cost"),
        table::num("$/hour"),
        table::text("Models"),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|b| {
            vec![
                zone.format(b.start_at, "%Y-%m-%d %H:%M"),
                // (the day too when it is another one)
                if zone.date(b.end_at) == zone.date(b.start_at) {
                    zone.format(b.end_at, "%H:%M")
                } else {
                    zone.format(b.end_at, "%m-%d %H:%M")
                },
                if b.active {
                    "ACTIVE".into()
                } else {
                    String::new()
                },
                n(b.responses),
                tokens(b.total_tokens()),
                money_part(cost(b), b.unpriced_responses),
                money_part(b.burn_rate_picousd_per_hour, b.unpriced_responses),
                short_models(&b.models).join(", "),
            ]
        })
        .collect();
    // (no block: no empty table frame above the line that says so)
    let mut out = String::new();
    if !body.is_empty() {
        // cut: the models (to 10); left out: models, responses, $/hour,
        // and below ~55 columns the tokens, below ~48 the end (five hours
        // after the start but for the active one, marked as such)
        let t = total(rows);
        // (the count of blocks only in JSON: in the unnamed column, never
        // dropped, it would widen the table past 40 columns)
        let footer = vec![
            "Total".into(),
            String::new(),
            String::new(),
            n(t.responses),
            tokens(t.total_tokens()),
            money_part(cost(&t), t.unpriced_responses),
            String::new(),
            String::new(),
        ];
        out.push_str(&table::fit(
            &columns,
            &body,
            &[footer],
            width,
            &[(7, 10)],
            &[7, 3, 6, 4, 1],
        ));
        out.push('\n');
    }
    let unpriced: u64 = rows.iter().map(|b| b.unpriced_responses).sum();
    if unpriced > 0 {
        out.push_str(&super::unpriced_note(unpriced, width));
    }
    match rows.iter().find(|b| b.active) {
        Some(b) => {
            let so_far = format!(
                "Active block: {} so far, {} left (ends {})",
                money_part(cost(b), b.unpriced_responses),
                duration(Some(b.end_at - now)),
                zone.format(b.end_at, "%H:%M"),
            );
            let rate = match (b.burn_rate_picousd_per_hour, b.projected_tokens) {
                (Some(rate), Some(t)) => format!(
                    "; at {}/hour it ends near {} and {} tokens",
                    money_part(Some(rate), b.unpriced_responses),
                    money_part(b.projected_cost_picousd, b.unpriced_responses),
                    tokens(t)
                ),
                // (no priced response: tokens only)
                (None, Some(t)) => format!("; at this rate it ends near {} tokens", tokens(t)),
                _ => "; under a minute of activity: no rate yet".into(),
            };
            out.push_str(&crate::output::wrap(&format!("{so_far}{rate}."), width));
            out.push('\n');
        }
        // (filters may have left the active block out: say only what is known)
        None if filtered && rows.is_empty() => {
            out.push_str("No block matches these filters.\n");
        }
        None if filtered => out.push_str("No active block among these.\n"),
        // (a block ends 5 hours after the hour it started in: one with a
        // response minutes ago may have ended)
        None => {
            // (a block dated ahead, by a clock set wrong, has not ended)
            let line = match rows.iter().map(|b| b.end_at).filter(|e| *e <= now).max() {
                Some(end) => format!(
                    "No active block: the last one ended {}; the next response starts one.",
                    zone.format(end, "%Y-%m-%d %H:%M")
                ),
                None => "No active block: the next response starts one.".into(),
            };
            out.push_str(&crate::output::wrap(&line, width));
            out.push('\n');
        }
    }
    out
}

fn csv(rows: &[BlockRow]) -> String {
    let header = [
        "start_at",
        "end_at",
        "active",
        "responses",
        "input_tokens",
        "output_tokens",
        "cache_creation_tokens",
        "cache_read_tokens",
        "total_tokens",
        "cost_usd",
        "burn_rate_usd_per_hour",
        "projected_cost_usd",
        "models",
        "unpriced_responses",
        "first_response_at",
        "last_response_at",
        "active_ms",
        "projected_total_tokens",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|b| {
            vec![
                report::rfc3339(b.start_at),
                report::rfc3339(b.end_at),
                b.active.to_string(),
                b.responses.to_string(),
                b.input_tokens.to_string(),
                b.output_tokens.to_string(),
                b.cache_creation_tokens.to_string(),
                b.cache_read_tokens.to_string(),
                b.total_tokens().to_string(),
                usd_csv(cost(b)),
                usd_csv(b.burn_rate_picousd_per_hour),
                usd_csv(b.projected_cost_picousd),
                b.models.iter().cloned().collect::<Vec<_>>().join(" "),
                b.unpriced_responses.to_string(),
                report::rfc3339(b.first_at),
                report::rfc3339(b.last_at),
                b.active_ms.to_string(),
                b.projected_tokens
                    .map_or_else(String::new, |t| t.to_string()),
            ]
        })
        .collect();
    table::csv(&header, &body)
}
