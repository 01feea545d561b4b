//! `observatory blocks`: 5-hour usage windows over the API responses, like
//! Claude's session limits.
//!
//! Responses are taken in time order. A block starts at the first response
//! that is not inside the previous block (the first one of all, or one at or
//! after the previous block's end), floored to the UTC hour, and lasts
//! exactly 5 hours: a response at exactly start + 5 h starts a new block.
//! Responses without a time are left out.
//!
//! The burn rate is the block's cost per hour over its active time: from its
//! first response to its last one, or to "now" while the block is active. It
//! is None when that time is under a minute. The active block's projection
//! is its cost plus the burn rate until its end. Sums are exact (picoUSD);
//! rates and projections are rounded down to the picodollar.

use std::collections::BTreeSet;

use rusqlite::Connection;

use super::{TimeRange, project_matches};
use crate::store::rollup;

pub const BLOCK_MS: i64 = 5 * 3_600_000;
const HOUR_MS: i64 = 3_600_000;
/// Below this much active time a rate means nothing.
const MIN_RATE_SPAN_MS: i64 = 60_000;

#[derive(Debug, Clone, Default)]
pub struct BlocksQuery {
    /// Blocks overlapping this range are shown (blocks are always cut from
    /// all responses, so their edges do not move with the range).
    pub range: TimeRange,
    pub project: Option<String>,
    pub active_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockRow {
    pub start_at: i64,
    pub end_at: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub active: bool,
    pub responses: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
    pub models: BTreeSet<String>,
    /// The time the burn rate is computed over.
    pub active_ms: i64,
    pub burn_rate_picousd_per_hour: Option<i128>,
    /// Active block only: cost at its end at the current burn rate.
    pub projected_cost_picousd: Option<i128>,
    /// Active block only: total tokens at its end at the current rate.
    pub projected_tokens: Option<u64>,
}

impl BlockRow {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_creation_tokens)
            .saturating_add(self.cache_read_tokens)
    }
}

#[derive(Debug, Clone, Default)]
pub struct BlocksReport {
    /// Oldest first.
    pub rows: Vec<BlockRow>,
}

/// Responses as blocks see them: one response, or (from the rollup) the
/// responses of one model in one 15-minute bucket. Block edges fall on whole
/// hours, so a bucket never straddles two blocks.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// The earliest and latest response time.
    pub at: i64,
    pub last_at: i64,
    pub model: String,
    pub responses: u64,
    pub tokens: [u64; 4],
    /// Sum over the priced responses.
    pub cost_picousd: i128,
    pub unpriced: u64,
}

impl Usage {
    /// One response.
    pub fn one(at: i64, model: String, tokens: [u64; 4], cost_picousd: Option<i64>) -> Usage {
        Usage {
            at,
            last_at: at,
            model,
            responses: 1,
            tokens,
            cost_picousd: cost_picousd.map_or(0, i128::from),
            unpriced: u64::from(cost_picousd.is_none()),
        }
    }
}

pub fn run(conn: &Connection, q: &BlocksQuery, now_ms: i64) -> rusqlite::Result<BlocksReport> {
    let fresh = rollup::is_fresh(conn)?;
    let sql = if fresh {
        "SELECT r.first_at, r.model, r.input_tokens, r.output_tokens,
                r.cache_creation_5m_tokens + r.cache_creation_1h_tokens, r.cache_read_tokens,
                r.cost_dollars, p.path, r.last_at, r.requests, r.priced_requests, r.cost_rest_picousd
         FROM cost_rollup r LEFT JOIN projects p ON p.id = r.project_id
         WHERE r.bucket IS NOT NULL ORDER BY r.bucket, r.first_at"
    } else {
        "SELECT r.at, r.model, r.input_tokens, r.output_tokens,
                r.cache_creation_5m_tokens + r.cache_creation_1h_tokens, r.cache_read_tokens,
                r.cost_picousd, p.path
         FROM responses r LEFT JOIN projects p ON p.id = r.project_id
         WHERE r.at IS NOT NULL ORDER BY r.at, r.id"
    };
    let mut st = conn.prepare(sql)?;
    let mut usages = Vec::new();
    let rows = st.query_map([], |r| {
        let t = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let tokens = [t(2)?, t(3)?, t(4)?, t(5)?];
        let u = if fresh {
            let (requests, priced) = (t(9)?, t(10)?);
            Usage {
                at: r.get(0)?,
                last_at: r.get(8)?,
                model: r.get(1)?,
                responses: requests,
                tokens,
                cost_picousd: super::split_sum(r.get(6)?, r.get(11)?),
                unpriced: requests - priced.min(requests),
            }
        } else {
            Usage::one(r.get(0)?, r.get(1)?, tokens, r.get(6)?)
        };
        Ok((u, r.get::<_, Option<String>>(7)?))
    })?;
    for row in rows {
        let (u, project) = row?;
        let counted = project_matches(project.as_deref(), q.project.as_deref());
        usages.push((u, counted));
    }
    // (the window is the account's: with --project, the blocks are still cut
    // from every response, and sum that project's)
    let mut rows = blocks_counting(usages.iter().map(|(u, c)| (u, *c)), now_ms);
    rows.retain(|b| {
        q.range.overlaps(Some(b.start_at), Some(b.end_at - 1)) && (!q.active_only || b.active)
    });
    Ok(BlocksReport { rows })
}

/// How many responses (of `project`, if given) have no time: in no block,
/// though `cost` without a range counts them.
pub fn untimed_responses(conn: &Connection, project: Option<&str>) -> rusqlite::Result<u64> {
    let sql = if rollup::is_fresh(conn)? {
        "SELECT r.requests, p.path FROM cost_rollup r LEFT JOIN projects p ON p.id = r.project_id
         WHERE r.bucket IS NULL"
    } else {
        "SELECT 1, p.path FROM responses r LEFT JOIN projects p ON p.id = r.project_id
         WHERE r.at IS NULL"
    };
    let mut n = 0;
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if project_matches(r.get::<_, Option<String>>(1)?.as_deref(), project) {
            n += r.get::<_, i64>(0)?.max(0) as u64;
        }
    }
    Ok(n)
}

/// Cut time-ordered responses into blocks (pure: "now" is a parameter).
pub fn blocks(usages: &[Usage], now_ms: i64) -> Vec<BlockRow> {
    blocks_counting(usages.iter().map(|u| (u, true)), now_ms)
}

/// Cut time-ordered responses into blocks, summing only those counted (a
/// project's share of the account's blocks); a block with none is left out.
fn blocks_counting<'a>(
    usages: impl Iterator<Item = (&'a Usage, bool)>,
    now_ms: i64,
) -> Vec<BlockRow> {
    let mut out: Vec<BlockRow> = Vec::new();
    for (u, counted) in usages {
        if out.last().is_none_or(|b| u.at >= b.end_at) {
            if out.last().is_some_and(|b| b.responses == 0) {
                out.pop();
            }
            let start_at = u.at.div_euclid(HOUR_MS) * HOUR_MS;
            out.push(BlockRow {
                start_at,
                end_at: start_at + BLOCK_MS,
                first_at: u.at,
                last_at: u.at,
                ..Default::default()
            });
        }
        let Some(b) = out.last_mut() else { continue };
        if !counted {
            continue;
        }
        if b.responses == 0 {
            (b.first_at, b.last_at) = (u.at, u.at);
        }
        b.last_at = b.last_at.max(u.last_at);
        b.responses += u.responses;
        b.input_tokens = b.input_tokens.saturating_add(u.tokens[0]);
        b.output_tokens = b.output_tokens.saturating_add(u.tokens[1]);
        b.cache_creation_tokens = b.cache_creation_tokens.saturating_add(u.tokens[2]);
        b.cache_read_tokens = b.cache_read_tokens.saturating_add(u.tokens[3]);
        b.cost_picousd += u.cost_picousd;
        b.unpriced_responses += u.unpriced;
        b.models.insert(u.model.clone());
    }
    if out.last().is_some_and(|b| b.responses == 0) {
        out.pop();
    }
    for b in &mut out {
        b.active = now_ms >= b.start_at && now_ms < b.end_at;
        let until = if b.active {
            now_ms.max(b.last_at)
        } else {
            b.last_at
        };
        b.active_ms = until - b.first_at;
        if b.active_ms >= MIN_RATE_SPAN_MS {
            let span = i128::from(b.active_ms);
            // (no priced response: no rate, rather than $0/h)
            let priced = b.unpriced_responses < b.responses;
            b.burn_rate_picousd_per_hour =
                priced.then(|| div_round(b.cost_picousd * i128::from(HOUR_MS), span));
            if b.active {
                let left = i128::from((b.end_at - until).max(0));
                b.projected_cost_picousd =
                    priced.then(|| b.cost_picousd + div_round(b.cost_picousd * left, span));
                let tokens = i128::from(b.total_tokens());
                b.projected_tokens =
                    Some(u64::try_from(tokens + tokens * left / span).unwrap_or(u64::MAX));
            }
        }
    }
    out
}

/// `n / d` (d > 0) to the nearest integer, halves away from zero: a rate in
/// picodollars to its nearest, not cut (the JSON showed 0.000061276595 for
/// 0.0000612765957...).
fn div_round(n: i128, d: i128) -> i128 {
    let half = d / 2;
    if n >= 0 {
        (n + half) / d
    } else {
        (n - half) / d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const M: i64 = 60_000;

    fn u(at: i64, cost: i64) -> Usage {
        Usage::one(at, "m".into(), [1, 0, 0, 0], Some(cost))
    }

    #[test]
    fn a_block_lasts_exactly_five_hours_from_the_floored_hour() {
        let t0 = 100 * H;
        let b = blocks(
            &[
                u(t0 + 30 * M, 1),          // block 1: [t0, t0+5h)
                u(t0 + 5 * H - 1, 1),       // still block 1
                u(t0 + 5 * H, 1),           // exactly +5h: block 2 at t0+5h
                u(t0 + 11 * H + 59 * M, 1), // after a gap: block 3 at t0+11h
            ],
            0,
        );
        let edges: Vec<(i64, i64, u64)> = b
            .iter()
            .map(|b| (b.start_at - t0, b.end_at - t0, b.responses))
            .collect();
        assert_eq!(
            edges,
            vec![(0, 5 * H, 2), (5 * H, 10 * H, 1), (11 * H, 16 * H, 1)]
        );
        assert!(b.iter().all(|b| !b.active));
    }

    #[test]
    fn the_active_block_burns_and_projects() {
        let t0 = 100 * H;
        // $1 at +0, $1 at +30 min; now = +1h: 2 dollars over 1 h of activity
        let usd = 1_000_000_000_000;
        let b = blocks(&[u(t0, usd), u(t0 + 30 * M, usd)], t0 + H);
        assert!(b[0].active);
        assert_eq!(b[0].active_ms, H);
        assert_eq!(b[0].burn_rate_picousd_per_hour, Some(i128::from(2 * usd)));
        // 4 more hours at $2/h
        assert_eq!(b[0].projected_cost_picousd, Some(i128::from(10 * usd)));
        assert_eq!(b[0].projected_tokens, Some(10));
        // once over, the rate is over first..last response
        let b = blocks(&[u(t0, usd), u(t0 + 30 * M, usd)], t0 + 6 * H);
        assert!(!b[0].active);
        assert_eq!(b[0].burn_rate_picousd_per_hour, Some(i128::from(4 * usd)));
        assert_eq!(b[0].projected_cost_picousd, None);
        // a rate that does not fall on a picodollar is rounded to the
        // nearest, not cut: $1 over 47 min is $1.27659574468085106.../h
        let b = blocks(&[u(t0, 0), u(t0 + 47 * M, usd)], t0 + 6 * H);
        assert_eq!(b[0].burn_rate_picousd_per_hour, Some(1_276_595_744_681));
        // one response: no rate
        let b = blocks(&[u(t0, usd)], t0 + 6 * H);
        assert_eq!(b[0].burn_rate_picousd_per_hour, None);
        // no priced response: no rate and no projection (not $0), but the
        // tokens still project
        let unpriced = |at| Usage::one(at, "grok-4.5".into(), [1, 0, 0, 0], None);
        let b = blocks(&[unpriced(t0), unpriced(t0 + 10 * M)], t0 + 30 * M);
        assert!(b[0].active && b[0].unpriced_responses == 2);
        assert_eq!(b[0].burn_rate_picousd_per_hour, None);
        assert_eq!(b[0].projected_cost_picousd, None);
        assert!(b[0].projected_tokens.is_some());
        // one priced among them: its rate
        let b = blocks(&[unpriced(t0), u(t0 + 30 * M, usd)], t0 + H);
        assert_eq!(b[0].burn_rate_picousd_per_hour, Some(i128::from(usd)));
    }

    #[test]
    fn a_projects_blocks_are_the_accounts_windows() {
        // another project at 06:30 opens the window (06:00-11:00); this
        // project's responses at 08:10 and 10:50 are in it, 11:30 starts the
        // next; a window with none of this project's is left out
        let t0 = 100 * H;
        let usd = 1_000_000_000_000;
        let all = [
            (u(t0 + 6 * H + 30 * M, usd), false),
            (u(t0 + 8 * H + 10 * M, usd), true),
            (u(t0 + 10 * H + 50 * M, usd), true),
            (u(t0 + 11 * H + 30 * M, usd), true),
            (u(t0 + 20 * H, usd), false),
        ];
        let b = blocks_counting(all.iter().map(|(u, c)| (u, *c)), 0);
        assert_eq!(b.len(), 2, "{b:?}");
        assert_eq!(b[0].start_at, t0 + 6 * H);
        assert_eq!(b[0].first_at, t0 + 8 * H + 10 * M);
        assert_eq!(b[0].responses, 2);
        assert_eq!(b[0].cost_picousd, i128::from(2 * usd));
        assert_eq!(b[1].start_at, t0 + 11 * H);
        assert_eq!(b[1].responses, 1);
        // counting everything gives the same windows, plus the last one
        let every: Vec<Usage> = all.iter().map(|(u, _)| u.clone()).collect();
        let starts: Vec<i64> = blocks(&every, 0).iter().map(|b| b.start_at).collect();
        assert_eq!(starts, [t0 + 6 * H, t0 + 11 * H, t0 + 20 * H]);
    }
}
