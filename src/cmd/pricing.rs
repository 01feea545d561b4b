use std::process::ExitCode;

use crate::{out, outln};
use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::PricingArgs;
use crate::config::Settings;
use crate::output::{self, table};
use crate::pricing::{EntryInfo, PriceTable};
use crate::store::Store;

pub fn run(args: &PricingArgs, settings: &Settings) -> Result<ExitCode> {
    let prices = super::price_table(settings)?;
    if args.check {
        return check(&prices, settings);
    }
    let entries = prices.entries();
    let g = prices.globals();
    if settings.json {
        output::print_json(&json!({
            "fingerprint": prices.fingerprint(),
            "override_file": settings.pricing_override.as_ref().map(|p| p.display().to_string()),
            "globals": {
                "web_search_usd_per_request": g.web_search_usd_per_request.to_string(),
                "us_only_multiplier": g.us_only_multiplier.to_string(),
                "us_only_from": g.us_only_from.to_string(),
                "regional_multiplier": g.regional_multiplier.to_string(),
            },
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let columns = [
        table::text("Model"),
        table::num("Input"),
        table::num("Output"),
        table::num("5m write"),
        table::num("1h write"),
        table::num("Read"),
        table::text("Also"),
    ];
    let mut rows = Vec::new();
    for e in &entries {
        for (i, r) in e.rates.iter().enumerate() {
            let mut also = Vec::new();
            if i == 0 {
                if !e.fast.is_empty() {
                    also.push("fast".to_owned());
                }
                if !e.long_context.is_empty() {
                    also.push("long context".to_owned());
                }
                if e.regional {
                    also.push(format!("regional x{}", g.regional_multiplier.normalize()));
                }
                if e.us_only {
                    also.push(format!("US-only x{}", g.us_only_multiplier.normalize()));
                }
                if e.origin != crate::pricing::BUILTIN_ORIGIN {
                    also.push(format!("from {}", e.origin));
                }
            }
            // (a rate from a date on: under its model, as "from DATE")
            let from = r.from.map(|d| format!("from {d}"));
            rows.push(vec![
                match (i, from) {
                    (0, None) => e.id.clone(),
                    (0, Some(from)) => format!("{} {from}", e.id),
                    (_, from) => format!("  {}", from.unwrap_or_default()),
                },
                r.input.normalize().to_string(),
                r.output.normalize().to_string(),
                r.cache_write_5m.normalize().to_string(),
                r.cache_write_1h.normalize().to_string(),
                r.cache_read.normalize().to_string(),
                also.join(", "),
            ]);
        }
    }
    let width = output::terminal_width(settings.stdout_tty);
    let heading = format!(
        "Prices in USD per million tokens; web search ${} per request; US-only x{} from {}; regional x{} for Bedrock's regional ids (us.anthropic.…){}.",
        g.web_search_usd_per_request.normalize(),
        g.us_only_multiplier.normalize(),
        g.us_only_from,
        g.regional_multiplier.normalize(),
        match &settings.pricing_override {
            Some(file) => format!(" (with {})", file.display()),
            None => String::new(),
        }
    );
    outln!("{}", output::wrap(&heading, width));
    // cut: what else applies (to 12), the model (to 20);
    // left out: what else applies (`--json` has it)
    out!(
        "{}",
        table::fit(&columns, &rows, &[], width, &[(6, 12), (0, 20)], &[6])
    );
    outln!();
    outln!(
        "{}",
        output::wrap(
            "`observatory pricing --json` shows aliases, fast, long-context and US-only details.",
            width
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn d<T: ToString>(x: Option<T>) -> Value {
    json!(x.map(|d| d.to_string()))
}

fn entry_json(e: &EntryInfo) -> Value {
    json!({
        "id": e.id,
        "aliases": e.aliases,
        "origin": e.origin,
        "us_only": e.us_only,
        "regional": e.regional,
        "rates": e.rates.iter().map(|r| json!({
            "from": d(r.from), "until": d(r.until),
            "input": r.input.to_string(), "output": r.output.to_string(),
            "cache_write_5m": r.cache_write_5m.to_string(), "cache_write_1h": r.cache_write_1h.to_string(),
            "cache_read": r.cache_read.to_string(),
        })).collect::<Vec<_>>(),
        "fast": e.fast.iter().map(|f| json!({
            "from": d(f.from), "until": d(f.until), "input": f.input.to_string(), "output": f.output.to_string(),
        })).collect::<Vec<_>>(),
        "long_context": e.long_context.iter().map(|l| json!({
            "threshold": l.threshold, "from": d(l.from), "until": d(l.until),
            "input_multiplier": l.input_multiplier.to_string(), "output_multiplier": l.output_multiplier.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// Models in the database with no price in the table in effect, and
/// responses of priced models stored without a cost (it overflows, or they
/// were priced before their model had a price): what `cost`'s footnote on
/// responses left out sends people here to see.
/// No database yet at observatory's own place: no model lacks a price
/// (exit 1 says one does). One given with --db (or OBSERVATORY_DB, or the
/// config) must exist: a typo is not an empty database.
fn check(prices: &PriceTable, settings: &Settings) -> Result<ExitCode> {
    // (model, responses, responses with a cost, fast responses)
    let given = super::given_db_source(settings).is_some();
    // (an empty file at observatory's own place is no database yet either)
    let store = match Store::open_read_only(&settings.db) {
        Err(crate::store::StoreError::Missing { .. }) if !given => None,
        other => Some(other?),
    };
    let models: Vec<(String, i64, i64, i64)> = if let Some(store) = store {
        let mut st = store.conn.prepare(
            "SELECT model, count(*), count(cost_picousd), coalesce(sum(fast), 0)
                 FROM response_rows GROUP BY model ORDER BY model",
        )?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?
    } else {
        Vec::new()
    };
    let (priced, missing): (Vec<_>, Vec<_>) = models
        .iter()
        .partition(|(m, _, _, _)| prices.resolve(m).is_some());
    // (the stored costs are the stored table's: a --pricing what-if's
    // prices say nothing of them)
    let what_if = super::pricing_flag(settings);
    let uncosted: Vec<(&String, i64)> = priced
        .iter()
        .filter(|(_, n, costed, _)| n > costed && !what_if)
        .map(|(m, n, costed, _)| (m, n - costed))
        .collect();
    // (fast responses of a model the table has no fast price for: billed
    // at standard rates, which under-counts them)
    let fast_unpriced: Vec<(&String, i64)> = priced
        .iter()
        .filter(|(m, _, _, fast)| *fast > 0 && prices.no_fast_price(m))
        .map(|(m, _, _, fast)| (m, *fast))
        .collect();
    if settings.json {
        // (`unpriced_models` as `cost --json` has it: names)
        output::print_json(&json!({
            "models_seen": models.len(),
            "unpriced_models": missing.iter().map(|(m, _, _, _)| m).collect::<Vec<_>>(),
            "unpriced_responses": missing.iter().map(|(_, n, _, _)| n).sum::<i64>(),
            "uncosted_responses": uncosted
                .iter()
                .map(|(m, n)| json!({"model": m, "responses": n}))
                .collect::<Vec<_>>(),
            "fast_without_fast_price": fast_unpriced
                .iter()
                .map(|(m, n)| json!({"model": m, "responses": n}))
                .collect::<Vec<_>>(),
        }))?;
    } else if models.is_empty() {
        outln!("No responses in the database yet: nothing to check.");
    } else {
        if missing.is_empty() {
            outln!(
                "Every model in the database has a price ({}).",
                super::count(models.len() as u64, "model", "models")
            );
        } else {
            outln!("No price for:");
            for (m, n, _, _) in &missing {
                outln!(
                    "  {} ({})",
                    crate::output::table::visible(m),
                    super::count(*n as u64, "response", "responses")
                );
            }
            outln!(
                "Add them to a pricing.toml (--pricing FILE, or pricing.toml in the config dir)."
            );
        }
        let list = |title: &str, models: &[(&String, i64)]| -> Result<()> {
            if !models.is_empty() {
                outln!("{title}");
            }
            for (m, n) in models {
                outln!(
                    "  {} ({})",
                    crate::output::table::visible(m),
                    super::count(*n as u64, "response", "responses")
                );
            }
            Ok(())
        };
        list(
            "Priced, but stored without a cost (it overflows 64-bit picoUSD: token counts far beyond any real response; or priced before the model had a price: `observatory reprice`):",
            &uncosted,
        )?;
        list(
            "Fast-mode responses of models with no fast-mode price in the table (billed at standard rates, so likely under-counted; add a [[models.ID.fast]] period to a pricing.toml):",
            &fast_unpriced,
        )?;
    }
    Ok(
        if missing.is_empty() && uncosted.is_empty() && fast_unpriced.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// `observatory reprice`: re-price every stored response now.
pub fn reprice(settings: &Settings) -> Result<ExitCode> {
    // (the one command whose name says re-price: taking the flag and
    // storing with another table would do what it was not asked)
    // (the same file written another way is the same table)
    let same = |a: &Option<std::path::PathBuf>, b: &Option<std::path::PathBuf>| match (a, b) {
        (Some(a), Some(b)) => {
            a == b
                || matches!(
                    (std::fs::canonicalize(a), std::fs::canonicalize(b)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        (a, b) => a == b,
    };
    if !same(&settings.pricing_override, &settings.stored_pricing) {
        return Err(super::usage(
            "--pricing prices a report's output only; `observatory reprice` stores costs with the price table in effect: set it as pricing.toml in the config dir, OBSERVATORY_PRICING or the config file's `pricing`, then run reprice",
        ));
    }
    let prices = super::stored_price_table(settings)?;
    super::check_db_folder(settings)?;
    // (nothing to re-price in a database that is not there: not made)
    if !settings.db.exists() {
        return Err(crate::store::StoreError::Missing {
            path: settings.db.clone(),
        }
        .into());
    }
    let store = super::writable_store(settings)?;
    crate::ingest::reprice_all(&store.conn, &prices)?;
    let (n, unpriced): (i64, i64) = store.conn.query_row(
        "SELECT count(*), count(*) - count(cost_picousd) FROM response_rows",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if settings.json {
        output::print_json(&serde_json::json!({
            "repriced_responses": n,
            "unpriced_responses": unpriced,
            "price_fingerprint": prices.fingerprint(),
        }))?;
    } else if !settings.quiet {
        outln!(
            "Re-priced {}.",
            super::count(n as u64, "response", "responses")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_entry_renders() {
        let p = PriceTable::builtin().unwrap();
        for e in p.entries() {
            let v = entry_json(&e);
            assert!(
                v["rates"].as_array().is_some_and(|r| !r.is_empty()),
                "{}",
                e.id
            );
        }
    }
}
