//! Budgets: limits on the cost of a day, a week (from `week_start`) or a
//! calendar month, cut in a time zone, optionally for one project (path
//! substring) or model (as `cost --model` matches it). This module reads
//! the `budgets` table and works out each budget's spend in its current
//! period; `cmd/budget.rs` writes the table.
//!
//! Spend is the exact sum of the priced responses in the period (the same
//! figure as `cost --since START --until END`); responses of models with no
//! price are counted apart, never as $0.

use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::Connection;
use rust_decimal::Decimal;

use super::cost::{self, CostQuery};
use super::{TimeRange, WeekStart, Zone};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn key(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// The first and last local dates of the period holding `today`.
    pub fn bounds(self, today: NaiveDate, week_start: WeekStart) -> (NaiveDate, NaiveDate) {
        match self {
            Period::Day => (today, today),
            Period::Week => {
                let start = week_start.first_day(today);
                (start, start + Duration::days(6))
            }
            Period::Month => {
                let start = today.with_day(1).unwrap_or(today);
                let next = if start.month() == 12 {
                    NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
                };
                let end = next.map_or(today, |n| n - Duration::days(1));
                (start, end)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub id: i64,
    pub period: Period,
    pub amount_picousd: i64,
    pub project: Option<String>,
    pub model: Option<String>,
    pub warn_at_percent: i64,
    pub created_at: i64,
}

/// A dollar amount as typed (`20`, `12.50`, `$0.75`) to exact picoUSD.
/// Must be more than 0 and not finer than a picodollar.
pub fn parse_usd(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let t = t.strip_prefix('$').unwrap_or(t);
    let bad =
        || format!("cannot read {s:?} as an amount of US dollars: use a number like 20 or 12.50");
    if t.starts_with('-') && Decimal::from_str(t).is_ok() {
        return Err(format!("a budget must be more than $0 (got {s:?})"));
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let d = Decimal::from_str(t).map_err(|_| bad())?;
    if d <= Decimal::ZERO {
        return Err(format!("a budget must be more than $0 (got {s:?})"));
    }
    let pico = d
        .checked_mul(Decimal::from(1_000_000_000_000_i64))
        .ok_or_else(|| format!("{s:?} is too large for a budget"))?;
    if !pico.fract().is_zero() {
        return Err(format!("{s:?} is finer than a picodollar (10^-12 USD)"));
    }
    i64::try_from(pico).map_err(|_| format!("{s:?} is too large for a budget"))
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Budget>> {
    let mut st = conn.prepare(
        "SELECT id, period, amount_picousd, project, model, warn_at_percent, created_at
         FROM budgets ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        let period: String = r.get(1)?;
        Ok(Budget {
            id: r.get(0)?,
            period: Period::parse(&period).unwrap_or(Period::Day),
            amount_picousd: r.get(2)?,
            project: r.get(3)?,
            model: r.get(4)?,
            warn_at_percent: r.get(5)?,
            created_at: r.get(6)?,
        })
    })?;
    rows.collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Under the warn level.
    Ok,
    /// At or over the warn level, not over the limit.
    Warn,
    /// Over the limit (spend > limit).
    Over,
}

impl Status {
    pub fn key(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Over => "over",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    pub budget: Budget,
    /// First and last local dates of the current period.
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Exact cost of the priced responses in the period.
    pub spent_picousd: i128,
    pub requests: u64,
    pub unpriced_requests: u64,
    pub status: Status,
}

/// Where spend stands against a limit and a warn level.
pub fn status_of(spent: i128, limit: i64, warn_at_percent: i64) -> Status {
    let limit = i128::from(limit);
    if spent > limit {
        Status::Over
    } else if spent * 100 >= limit * i128::from(warn_at_percent) {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Each budget's spend in the period holding `now_ms` (in `zone`; weeks
/// start on `week_start`).
pub fn check(
    conn: &Connection,
    budgets: &[Budget],
    zone: &Zone,
    week_start: WeekStart,
    now_ms: i64,
) -> rusqlite::Result<Vec<BudgetStatus>> {
    let today = zone.date(now_ms);
    let mut out = Vec::with_capacity(budgets.len());
    for b in budgets {
        let (start, end) = b.period.bounds(today, week_start);
        let q = CostQuery {
            groups: Vec::new(),
            range: TimeRange::new(Some(start), Some(end), zone),
            project: b.project.clone(),
            session: None,
            model: b.model.clone(),
            week_start,
        };
        let report = cost::run(conn, &q, zone)?;
        let spent = report.total.cost_picousd;
        out.push(BudgetStatus {
            budget: b.clone(),
            start,
            end,
            spent_picousd: spent,
            requests: report.total.requests,
            unpriced_requests: report.total.unpriced_requests(),
            status: status_of(spent, b.amount_picousd, b.warn_at_percent),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_usd("20"), Ok(20_000_000_000_000));
        assert_eq!(parse_usd("12.50"), Ok(12_500_000_000_000));
        assert_eq!(parse_usd("$0.000000000001"), Ok(1));
        // 0.1 + 0.2 style amounts stay exact (never f64)
        assert_eq!(parse_usd("0.3"), Ok(300_000_000_000));
        for bad in [
            "0",
            "-5",
            "abc",
            "",
            "1e3",
            "0.0000000000001",
            "99999999999",
        ] {
            assert!(parse_usd(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods() {
        // a Wednesday at the end of February in a non-leap year
        let today = d("2026-02-25");
        assert_eq!(Period::Day.bounds(today, WeekStart::Monday), (today, today));
        assert_eq!(
            Period::Week.bounds(today, WeekStart::Monday),
            (d("2026-02-23"), d("2026-03-01"))
        );
        assert_eq!(
            Period::Month.bounds(today, WeekStart::Monday),
            (d("2026-02-01"), d("2026-02-28"))
        );
        assert_eq!(
            Period::Month.bounds(d("2026-12-31"), WeekStart::Monday),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert_eq!(
            Period::Month.bounds(d("2028-02-01"), WeekStart::Monday),
            (d("2028-02-01"), d("2028-02-29"))
        );
        // a Monday starts its own week; a Sunday ends it
        assert_eq!(
            Period::Week.bounds(d("2026-03-02"), WeekStart::Monday).0,
            d("2026-03-02")
        );
        assert_eq!(
            Period::Week.bounds(d("2026-03-01"), WeekStart::Monday).0,
            d("2026-02-23")
        );
    }

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    /// Spend is cut at the period's edges in the budget's zone: two
    /// responses either side of midnight UTC on a month end.
    #[test]
    fn spend_across_a_month_end_and_in_a_zone() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        conn.execute_batch("INSERT INTO projects VALUES (1, '/home/u/app')")
            .unwrap();
        // $1 at 2026-02-28T23:30Z, $2 at 2026-03-01T00:30Z, $4 on 2026-02-20
        for (i, (at, cost)) in [
            ("2026-02-28T23:30:00Z", 1_000_000_000_000_i64),
            ("2026-03-01T00:30:00Z", 2_000_000_000_000),
            ("2026-02-20T12:00:00Z", 4_000_000_000_000),
        ]
        .iter()
        .enumerate()
        {
            conn.execute(
                "INSERT INTO response_rows(key, model, project_id, at, input_tokens, output_tokens,
                    cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens,
                    web_search_requests, web_fetch_requests, fast, us_only, final, line_count,
                    cost_picousd)
                 VALUES (?1, 'claude-sonnet-4-5', 1, ?2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, ?3)",
                rusqlite::params![format!("k{i}"), ms(at), cost],
            )
            .unwrap();
        }
        let budget = |id, period| Budget {
            id,
            period,
            amount_picousd: 2_500_000_000_000,
            project: None,
            model: None,
            warn_at_percent: 80,
            created_at: 0,
        };
        let budgets = [
            budget(1, Period::Day),
            budget(2, Period::Week),
            budget(3, Period::Month),
        ];
        let spent = |zone: &str, now: &str| -> Vec<(i128, Status)> {
            check(
                &conn,
                &budgets,
                &Zone::parse(zone).unwrap(),
                WeekStart::Monday,
                ms(now),
            )
            .unwrap()
            .iter()
            .map(|s| (s.spent_picousd / 1_000_000_000_000, s.status))
            .collect()
        };
        // UTC, noon on March 1 (a Sunday): the day and month hold $2 only;
        // the week (Mon Feb 23 to Sun Mar 1) holds $1 + $2
        assert_eq!(
            spent("UTC", "2026-03-01T12:00:00Z"),
            vec![(2, Status::Warn), (3, Status::Over), (2, Status::Warn)]
        );
        // weeks from Sunday: March 1 starts a week of its own ($2)
        let sunday = check(
            &conn,
            &budgets,
            &Zone::parse("UTC").unwrap(),
            WeekStart::Sunday,
            ms("2026-03-01T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            (sunday[1].start, sunday[1].end, sunday[1].spent_picousd),
            (d("2026-03-01"), d("2026-03-07"), 2_000_000_000_000)
        );
        // New York (UTC-5), 22:00 on Feb 28 local: both late responses fall
        // on Feb 28 local (18:30, 19:30), so February holds $1 + $2 + $4
        assert_eq!(
            spent("America/New_York", "2026-03-01T03:00:00Z"),
            vec![(3, Status::Over), (3, Status::Over), (7, Status::Over)]
        );
        // Tokyo (UTC+9): both are on March 1 local (08:30, 09:30); on
        // March 2 (a Monday) the day and the new week are empty, March $3
        let tokyo = check(
            &conn,
            &budgets,
            &Zone::parse("Asia/Tokyo").unwrap(),
            WeekStart::Monday,
            ms("2026-03-02T03:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            tokyo.iter().map(|s| s.spent_picousd).collect::<Vec<_>>(),
            vec![0, 0, 3_000_000_000_000]
        );
        assert_eq!(
            tokyo.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            vec![
                (d("2026-03-02"), d("2026-03-02")),
                (d("2026-03-02"), d("2026-03-08")),
                (d("2026-03-01"), d("2026-03-31")),
            ]
        );
    }

    #[test]
    fn statuses() {
        let limit = 100;
        assert_eq!(status_of(79, limit, 80), Status::Ok);
        assert_eq!(status_of(80, limit, 80), Status::Warn);
        assert_eq!(
            status_of(100, limit, 80),
            Status::Warn,
            "at the limit is not over it"
        );
        assert_eq!(status_of(101, limit, 80), Status::Over);
        assert_eq!(status_of(100, limit, 100), Status::Warn);
        assert_eq!(status_of(0, limit, 1), Status::Ok);
    }
}
