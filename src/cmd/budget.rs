//! `observatory budget set|list|rm|check`. set, list and rm never read
//! transcripts; check reads new lines first unless --no-ingest.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value, json};

use crate::cli::{BudgetArgs, BudgetCheckArgs, BudgetCommand, BudgetRmArgs, BudgetSetArgs};
use crate::config::Settings;
use crate::output::style::{self, Style};
use crate::output::{self, table};
use crate::report::budget::{self, Budget, BudgetStatus, Period, Status};
use crate::report::{WeekStart, Zone, now_ms, rfc3339, usd};
use crate::store::Store;
use crate::{out, outln};

/// `budget check`: a budget at or over its warn level (with --fail-on-warn).
pub const EXIT_WARN: u8 = 3;
/// `budget check`: a budget over its limit.
pub const EXIT_OVER: u8 = 4;

pub fn run(args: &BudgetArgs, settings: &Settings) -> Result<ExitCode> {
    match &args.command {
        BudgetCommand::Set(a) => set(a, settings),
        BudgetCommand::List(_) => list(settings),
        BudgetCommand::Rm(a) => rm(a, settings),
        BudgetCommand::Check(a) => check(a, settings),
    }
}

/// The store `list` reads; without a database, an empty one in memory
/// (listing makes no file, as no other command that only reads does).
fn open(settings: &Settings) -> Result<Store> {
    super::check_db_folder(settings)?;
    if !settings.db.exists() {
        return Ok(Store::empty_in_memory(&settings.db)?);
    }
    super::refuse_abandoned_first_load(settings)?;
    let store = Store::open(&settings.db)?;
    super::ingest::warn_store(&store, settings);
    Ok(store)
}

/// The store for `set` and `rm`: a database that cannot be written is said
/// so (and what to do), not left to SQLite's words at the first write.
fn open_to_write(settings: &Settings) -> Result<Store> {
    let store = super::writable_store(settings)?;
    super::ingest::warn_store(&store, settings);
    Ok(store)
}

fn set(a: &BudgetSetArgs, settings: &Settings) -> Result<ExitCode> {
    let (period, amount) = match (&a.daily, &a.weekly, &a.monthly) {
        (Some(v), None, None) => (Period::Day, v),
        (None, Some(v), None) => (Period::Week, v),
        (None, None, Some(v)) => (Period::Month, v),
        _ => bail!("give one of --daily, --weekly or --monthly"),
    };
    let amount = budget::parse_usd(amount).map_err(super::usage)?;
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let (project, model) = (nonempty(&a.project), nonempty(&a.model));
    let warn_at = i64::from(a.warn_at.unwrap_or(settings.budget_warn_at));
    let store = open_to_write(settings)?;
    // one budget per period, project and model (either case, as they
    // match): setting it again changes it
    // (its amount, and its warn level if given)
    let existing: Option<i64> = store
        .conn
        .query_row(
            "SELECT id FROM budgets WHERE period = ?1 AND lower(project) IS lower(?2) AND lower(model) IS lower(?3)
             ORDER BY id LIMIT 1",
            rusqlite::params![period.key(), project, model],
            |r| r.get(0),
        )
        .optional()?;
    let saved = match existing {
        Some(id) => store
            .conn
            .execute(
                "UPDATE budgets SET amount_picousd = ?2, warn_at_percent = coalesce(?3, warn_at_percent)
                 WHERE id = ?1",
                rusqlite::params![id, amount, a.warn_at.map(i64::from)],
            )
            .map(|_| id),
        None => store
            .conn
            .execute(
                "INSERT INTO budgets(period, amount_picousd, project, model, warn_at_percent, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![period.key(), amount, project, model, warn_at, now_ms()],
            )
            .map(|_| store.conn.last_insert_rowid()),
    };
    let id = saved.with_context(|| format!("saving the budget in {}", settings.db.display()))?;
    let b = find(&store.conn, id)?.ok_or_else(|| anyhow!("budget {id} vanished"))?;
    if !settings.quiet {
        // (a typo would make a budget that counts nothing, silently)
        super::warn_unmatched(
            &store.conn,
            project.as_deref(),
            model.as_deref(),
            ": the budget counts nothing until it does",
        )?;
    }
    if settings.json {
        let mut v = budget_json(&b);
        v["changed"] = existing.is_some().into();
        output::print_json(&v)?;
    } else {
        let changed = if existing.is_some() { " (changed)" } else { "" };
        outln!(
            "budget {}: {}{changed}",
            b.id,
            describe(&b, settings.week_start)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn find(conn: &Connection, id: i64) -> Result<Option<Budget>> {
    Ok(budget::list(conn)
        .context("reading budgets")?
        .into_iter()
        .find(|b| b.id == id))
}

fn list(settings: &Settings) -> Result<ExitCode> {
    let store = open(settings)?;
    let budgets = budget::list(&store.conn).context("reading budgets")?;
    if settings.json {
        let rows: Vec<Value> = budgets.iter().map(budget_json).collect();
        output::print_json(&json!({ "rows": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if budgets.is_empty() {
        outln!("no budgets (add one with `observatory budget set --daily 20`)");
        return Ok(ExitCode::SUCCESS);
    }
    let columns = [
        table::num("ID"),
        table::text("Period"),
        table::num("Limit"),
        table::text("Project"),
        table::text("Model"),
        table::num("Warn at"),
    ];
    let rows: Vec<Vec<String>> = budgets
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.period.key().into(),
                limit(b),
                b.project.clone().unwrap_or_else(|| "(all)".into()),
                b.model.clone().unwrap_or_else(|| "(all)".into()),
                format!("{}%", b.warn_at_percent),
            ]
        })
        .collect();
    // cut: the project (to 10) and model (to 10); left out: warn at
    let width = output::terminal_width(settings.stdout_tty);
    // (as wide as its top rule: the header's lines hold colour codes)
    let fits = |table: &str| {
        use unicode_width::UnicodeWidthStr;
        width.is_none_or(|w| table.lines().next().is_none_or(|rule| rule.width() <= w))
    };
    let table = table::fit(&columns, &rows, &[], width, &[(3, 10), (4, 10)], &[5]);
    if fits(&table) {
        out!("{table}\n");
        return Ok(ExitCode::SUCCESS);
    }
    // (too narrow even so: the period goes with the limit, `$20.00/day`,
    // `/wk`, `/mo`, and the project and model are cut further)
    let columns = [
        table::num("ID"),
        table::num("Limit"),
        table::text("Project"),
        table::text("Model"),
        table::num("Warn at"),
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .zip(&budgets)
        .map(|(mut r, b)| {
            r.remove(1);
            let per = match b.period {
                Period::Day => "day",
                Period::Week => "wk",
                Period::Month => "mo",
            };
            r[1] = format!("{}/{per}", r[1]);
            r
        })
        .collect();
    out!(
        "{}\n",
        table::fit(&columns, &rows, &[], width, &[(2, 6), (3, 6)], &[4])
    );
    Ok(ExitCode::SUCCESS)
}

fn rm(a: &BudgetRmArgs, settings: &Settings) -> Result<ExitCode> {
    let store = open_to_write(settings)?;
    let n = store
        .conn
        .execute("DELETE FROM budgets WHERE id = ?1", [a.id])
        .with_context(|| format!("removing budget {} from {}", a.id, settings.db.display()))?;
    if n == 0 {
        bail!("no budget with id {} (see `observatory budget list`)", a.id);
    }
    if settings.json {
        output::print_json(&json!({ "removed": a.id }))?;
    } else {
        outln!("removed budget {}", a.id);
    }
    Ok(ExitCode::SUCCESS)
}

fn check(a: &BudgetCheckArgs, settings: &Settings) -> Result<ExitCode> {
    let zone = super::zone(a.tz.as_deref(), settings)?;
    let prices = super::price_table(settings)?;
    let mut store = super::fresh_store(settings, &prices, a.no_ingest)?;
    let now = now_ms();
    let statuses = statuses(&store.conn, &zone, settings.week_start, now)?;
    // (figures in hand: a --pricing what-if lets go before printing)
    store.end_what_if();
    let worst = statuses
        .iter()
        .map(|s| s.status)
        .max()
        .unwrap_or(Status::Ok);
    let code = match worst {
        Status::Over => EXIT_OVER,
        Status::Warn if a.fail_on_warn => EXIT_WARN,
        _ => 0,
    };
    warn_lines(&statuses, settings);
    if settings.json {
        let rows: Vec<Value> = statuses.iter().map(status_json).collect();
        output::print_json(&json!({
            "rows": rows,
            "status": worst.key(),
            "exit_code": code,
            "tz": zone.name(),
            "checked_at": rfc3339(now),
        }))?;
    } else if statuses.is_empty() {
        outln!("no budgets (add one with `observatory budget set --daily 20`)");
    } else {
        out!(
            "{}",
            human(&statuses, output::terminal_width(settings.stdout_tty))
        );
    }
    Ok(ExitCode::from(code))
}

fn statuses(
    conn: &Connection,
    zone: &Zone,
    week_start: WeekStart,
    now: i64,
) -> Result<Vec<BudgetStatus>> {
    let budgets = budget::list(conn).context("reading budgets")?;
    budget::check(conn, &budgets, zone, week_start, now).context("adding up spend for the budgets")
}

/// For `cost`: a warning line on stderr for each budget at or over its
/// warn level in its current period (in `zone`). Never fails the report.
pub fn warn_crossed(conn: &Connection, zone: &Zone, settings: &Settings) {
    if settings.quiet {
        return;
    }
    match statuses(conn, zone, settings.week_start, now_ms()) {
        Ok(s) => warn_lines(&s, settings),
        Err(e) => style::warn(format!("could not check budgets: {e:#}")),
    }
}

/// The budgets at or over their warn level now, each with one sentence for
/// people (`cost` prints them on stderr, `watch` in its view).
pub fn crossed(
    conn: &Connection,
    zone: &Zone,
    week_start: WeekStart,
    now: i64,
) -> Result<Vec<(BudgetStatus, String)>> {
    Ok(statuses(conn, zone, week_start, now)?
        .into_iter()
        .filter_map(|s| {
            let line = crossed_line(&s, false)?;
            Some((s, line))
        })
        .collect())
}

fn warn_lines(statuses: &[BudgetStatus], settings: &Settings) {
    if settings.quiet {
        return;
    }
    let on = style::current().color_stderr;
    for line in statuses.iter().filter_map(|s| crossed_line(s, on)) {
        crate::errln!("{} {line}", style::warning_prefix());
    }
}

/// "budget 1 (daily) is over its limit: $12 of $10 spent (120%) on ...",
/// or None under the warn level; `color`: paint the verdict.
fn crossed_line(s: &BudgetStatus, color: bool) -> Option<String> {
    let b = &s.budget;
    let what = match s.status {
        Status::Ok => return None,
        Status::Warn => style::paint(
            &format!("reached its {}% warn level", b.warn_at_percent),
            Style::Yellow,
            color,
        ),
        Status::Over => style::paint("is over its limit", Style::Red, color),
    };
    Some(format!(
        "budget {} ({}) {what}: {} of {} spent ({}) {}",
        b.id,
        scope(b),
        spent_text(s),
        limit(b),
        used_percent(s),
        period_words(s),
    ))
}

/// [`crossed_line`] for a narrow view, its figures first: "budget 1 over:
/// $12 of $10 (120%)"; None under the warn level.
pub fn crossed_short(s: &BudgetStatus) -> Option<String> {
    // (the percentage says warn or over: without the word, a 40-column
    // view keeps it whole)
    if s.status == Status::Ok {
        return None;
    }
    Some(format!(
        "budget {}: {} of {} ({})",
        s.budget.id,
        spent_text(s),
        limit(&s.budget),
        used_percent(s),
    ))
}

/// The spend for people: to as many decimals as the limit has, and more
/// where it would round to the limit ("$0.009 of $0.01", not "$0.01 of $0.01").
fn spent_text(s: &BudgetStatus) -> String {
    super::cost::dollars_dp(s.spent_picousd, spent_dp(s))
}

/// The decimals `spent_text` gives a spend.
fn spent_dp(s: &BudgetStatus) -> u32 {
    let amount = i128::from(s.budget.amount_picousd);
    let mut dp = usd(amount)
        .normalize()
        .scale()
        .max(style::current().money_decimals)
        .max(2);
    while dp < 12
        && s.spent_picousd != amount
        && super::cost::dollars_dp(s.spent_picousd, dp) == super::cost::dollars_dp(amount, dp)
    {
        dp += 1;
    }
    dp
}

fn period_words(s: &BudgetStatus) -> String {
    match s.budget.period {
        Period::Day => format!("on {}", s.start),
        Period::Week => format!("in the week of {}", s.start),
        Period::Month => format!("in {}", s.start.format("%Y-%m")),
    }
}

/// The limit for people: to the cent, or exact when it has finer digits.
fn limit(b: &Budget) -> String {
    let amount = i128::from(b.amount_picousd);
    // (to the cent whatever `money_decimals` says, or to its last digit:
    // a limit is not rounded)
    let dp = usd(amount).normalize().scale().max(2);
    super::cost::dollars_dp(amount, dp)
}

fn scope(b: &Budget) -> String {
    let per = match b.period {
        Period::Day => "daily",
        Period::Week => "weekly",
        Period::Month => "monthly",
    };
    let mut s = per.to_owned();
    if let Some(p) = &b.project {
        s.push_str(&format!(", project {p:?}"));
    }
    if let Some(m) = &b.model {
        s.push_str(&format!(", model {m:?}"));
    }
    s
}

fn describe(b: &Budget, week_start: WeekStart) -> String {
    let week = format!("week ({})", week_start.span_words());
    let per = match b.period {
        Period::Day => "day",
        Period::Week => week.as_str(),
        Period::Month => "month",
    };
    format!(
        "{} per {per}, {}, {}, warn at {}%",
        limit(b),
        b.project.as_deref().map_or_else(
            || "all projects".into(),
            |p| format!("projects matching {p:?}")
        ),
        b.model
            .as_deref()
            .map_or_else(|| "all models".into(), |m| format!("model {m:?}")),
        b.warn_at_percent
    )
}

fn budget_json(b: &Budget) -> Value {
    json!({
        "id": b.id,
        "period": b.period.key(),
        "limit_usd": usd(i128::from(b.amount_picousd)).to_string(),
        "project": b.project,
        "model": b.model,
        "warn_at_percent": b.warn_at_percent,
        "created_at": rfc3339(b.created_at),
    })
}

pub fn status_json(s: &BudgetStatus) -> Value {
    let b = &s.budget;
    let remaining = i128::from(b.amount_picousd) - s.spent_picousd;
    json!({
        "id": b.id,
        "period": b.period.key(),
        "period_start": s.start.to_string(),
        "period_end": s.end.to_string(),
        "project": b.project,
        "model": b.model,
        "limit_usd": usd(i128::from(b.amount_picousd)).to_string(),
        "spent_usd": usd(s.spent_picousd).to_string(),
        "remaining_usd": usd(remaining).to_string(),
        // (rounded down, as the table shows it: 99.996 is not 100 yet)
        "used_percent": used_hundredths(s) as f64 / 100.0,
        "warn_at_percent": b.warn_at_percent,
        "requests": s.requests,
        "unpriced_requests": s.unpriced_requests,
        "status": s.status.key(),
    })
}

/// The budgets' table; in a terminal `width` wide, the budget and period
/// cut and the columns least needed left out as far as it takes.
fn human(statuses: &[BudgetStatus], width: Option<usize>) -> String {
    let columns = [
        table::num("ID"),
        table::text("Budget"),
        table::text("Period"),
        table::num("Spent"),
        table::num("Limit"),
        table::num("Used"),
        table::num("Warn at"),
        table::text("Status"),
    ];
    // (one number of decimals down the column: the most any row needs)
    let dp = statuses.iter().map(spent_dp).max().unwrap_or(2);
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let b = &s.budget;
            let period = if s.start == s.end {
                s.start.to_string()
            } else {
                format!("{} to {}", s.start, s.end)
            };
            let spent = super::cost::dollars_dp(s.spent_picousd, dp);
            let spent = if s.unpriced_requests > 0 {
                format!("{spent}*")
            } else {
                spent
            };
            vec![
                b.id.to_string(),
                scope(b),
                period,
                spent,
                limit(b),
                used_percent(s),
                format!("{}%", b.warn_at_percent),
                match s.status {
                    Status::Ok => "ok".into(),
                    Status::Warn => "WARN".into(),
                    Status::Over => "OVER".into(),
                },
            ]
        })
        .collect();
    let status_col = columns.len() - 1;
    // cut: the budget (to 12), the period (to 10); left out: warn at,
    // used, limit
    let style = |i: usize, j: usize, _: &str| {
        if j != status_col {
            return None;
        }
        match statuses.get(i).map(|s| s.status) {
            Some(Status::Over) => Some(Style::Red),
            Some(Status::Warn) => Some(Style::Yellow),
            _ => None,
        }
    };
    let mut out = table::fit_styled(
        &columns,
        &rows,
        &[],
        width,
        &[(1, 12), (2, 10)],
        &[6, 5, 4],
        style,
    );
    out.push('\n');
    if statuses.iter().any(|s| s.unpriced_requests > 0) {
        out.push_str(
            "* excludes responses of models with no price (see `observatory pricing --check`)\n",
        );
    }
    out
}

/// Percent of the limit used, in hundredths, rounded down (exact).
fn used_hundredths(s: &BudgetStatus) -> i128 {
    used_in(s, 10_000)
}

/// spent / limit in units of 1/`per` of the limit, rounded down (exact
/// integers: in f64 a spend of over 2^53 picodollars, ~$9,007, is rounded,
/// and 99.999...% could read 100%).
fn used_in(s: &BudgetStatus, per: i128) -> i128 {
    let limit = i128::from(s.budget.amount_picousd).max(1);
    (s.spent_picousd * per).div_euclid(limit)
}

/// A share of a budget for people: `120%`, `112.5%` (one decimal when
/// there is one), the same in the table and the warnings; rounded down, so
/// that a budget not yet over never reads 100%.
fn used_percent(s: &BudgetStatus) -> String {
    percent_of_tenths(used_in(s, 1000))
}

fn percent_of_tenths(tenths: i128) -> String {
    let (whole, tenth) = (tenths.div_euclid(10), tenths.rem_euclid(10));
    if tenth == 0 {
        format!("{whole}%")
    } else {
        format!("{whole}.{tenth}%")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn used_percent_shows_a_decimal_only_when_there_is_one() {
        use super::percent_of_tenths as p;
        assert_eq!(p(1500), "150%");
        assert_eq!(p(1125), "112.5%");
        assert_eq!(p(999), "99.9%");
        assert_eq!(p(800), "80%");
        assert_eq!(p(5), "0.5%");
        assert_eq!(p(0), "0%");
    }

    #[test]
    fn a_crossed_budgets_short_line_keeps_its_percent_in_40_columns() {
        use super::*;
        let usd = 1_000_000_000_000_i64;
        let budget = Budget {
            id: 1,
            period: Period::Month,
            amount_picousd: usd,
            project: None,
            model: None,
            warn_at_percent: 80,
            created_at: 0,
        };
        let s = BudgetStatus {
            spent_picousd: i128::from(usd) * 213_205 / 10_000,
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            requests: 1,
            unpriced_requests: 0,
            status: Status::Over,
            budget,
        };
        let short = crossed_short(&s).unwrap();
        assert_eq!(short, "budget 1: $21.32 of $1.00 (2132%)");
        // watch writes it after "! " in 40 columns, one kept free
        assert!(short.len() + 2 < 40, "{short}");
        let ok = BudgetStatus {
            spent_picousd: 0,
            status: Status::Ok,
            ..s
        };
        assert_eq!(crossed_short(&ok), None);
    }

    #[test]
    fn json_percent_and_limit_are_not_rounded_up() {
        use super::*;
        let usd = 1_000_000_000_000_i64;
        let budget = Budget {
            id: 1,
            period: Period::Day,
            amount_picousd: 100 * usd,
            project: None,
            model: None,
            warn_at_percent: 80,
            created_at: 0,
        };
        let status = |spent: i128| BudgetStatus {
            spent_picousd: spent,
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            requests: 1,
            unpriced_requests: 0,
            status: budget::status_of(spent, budget.amount_picousd, 80),
            budget: budget.clone(),
        };
        // $99.996 of $100: 99.99% and warn, not 100% and warn
        let s = status(99_996 * i128::from(usd) / 1000);
        assert_eq!(status_json(&s)["used_percent"], 99.99);
        assert_eq!(status_json(&s)["status"], "warn");
        assert_eq!(
            status_json(&status(i128::from(usd) / 3))["used_percent"],
            0.33
        );
        // the table's percentage is exact too, also past 2^53 picodollars:
        // a picodollar short of $10,000 is 99.9%, not 100% (as in f64)
        let big = Budget {
            amount_picousd: 10_000 * usd,
            ..budget.clone()
        };
        let s = BudgetStatus {
            budget: big,
            ..status(i128::from(10_000 * usd) - 1)
        };
        assert_eq!(used_percent(&s), "99.9%");
        assert_eq!(
            used_percent(&status(99_996 * i128::from(usd) / 1000)),
            "99.9%"
        );
        assert_eq!(used_percent(&status(i128::from(usd) * 3 / 10)), "0.3%");
        // a limit is shown to the cent whatever money_decimals says
        let b = Budget {
            amount_picousd: 12 * usd + usd / 2,
            ..budget.clone()
        };
        assert_eq!(limit(&b), "$12.50");
        // a small limit and spend near it are not rounded into each other
        let tiny = |limit_picousd: i64, spent: i128| {
            let budget = Budget {
                amount_picousd: limit_picousd,
                ..budget.clone()
            };
            let s = BudgetStatus {
                status: budget::status_of(spent, limit_picousd, 80),
                budget,
                ..status(spent)
            };
            crossed_line(&s, false).unwrap()
        };
        let cent = usd / 100;
        let line = tiny(cent, i128::from(cent) * 918 / 1000);
        assert!(line.contains(": $0.009 of $0.01 spent (91.8%)"), "{line}");
        let line = tiny(usd / 10_000, i128::from(usd) * 8272 / 100_000);
        assert!(line.contains(": $0.0827 of $0.0001 spent"), "{line}");
        let line = tiny(25 * cent, i128::from(30 * cent));
        assert!(line.contains(": $0.30 of $0.25 spent (120%)"), "{line}");
    }
}
