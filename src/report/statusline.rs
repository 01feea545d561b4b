//! `observatory statusline`: the few figures a status line shows, read with
//! indexed queries only, so a call costs the same on a database of any size.
//!
//! - the session's cost: `responses_session` (session_id);
//! - the day's cost: `responses_at`, one range;
//! - the 5-hour block running now, cut exactly as `blocks` cuts them, from
//!   the responses near "now" only. A response that follows the previous one
//!   by 5 hours or more always starts a block (the previous block ended at
//!   most 5 hours after its own last response), so the blocks after such a
//!   gap do not depend on anything before it. The search reads the `at`
//!   column from the `responses_at` index alone, from a day back, doubling
//!   the window until it finds such a gap or the first response of all (use
//!   without a 5-hour break for months, a scheduled job's, reads them all).

use rusqlite::{Connection, OptionalExtension};

use super::blocks::{self, BLOCK_MS, BlockRow, Usage};

const HOUR_MS: i64 = 3_600_000;
const FIRST_LOOKBACK_MS: i64 = 24 * HOUR_MS;

/// A sum of response costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub responses: u64,
    /// The priced responses' cost.
    pub cost_picousd: i128,
    pub unpriced_responses: u64,
}

impl Spend {
    /// The cost, or None when every response counted has no price.
    pub fn cost(&self) -> Option<i128> {
        (self.responses == 0 || self.unpriced_responses < self.responses)
            .then_some(self.cost_picousd)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusReport {
    /// None when no session id was given.
    pub session: Option<Spend>,
    pub today: Spend,
    /// The block running at `now`, if any.
    pub block: Option<BlockRow>,
}

#[derive(Debug, Clone, Default)]
pub struct StatusQuery {
    /// The session (main thread and its subagents).
    pub session_id: Option<String>,
    /// "Today": [day_start_at, day_end_at).
    pub day_start_at: i64,
    pub day_end_at: i64,
}

pub fn run(conn: &Connection, q: &StatusQuery, now_ms: i64) -> rusqlite::Result<StatusReport> {
    // (whole dollars and the picodollar rest: a plain sum can overflow)
    const SUM: &str =
        "SELECT count(*), sum(cost_picousd / 1000000000000), sum(cost_picousd % 1000000000000),
        count(*) - count(cost_picousd) FROM responses";
    let spend = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Spend> {
        Ok(Spend {
            responses: r.get::<_, i64>(0)?.max(0) as u64,
            cost_picousd: super::split_sum(r.get(1)?, r.get(2)?),
            unpriced_responses: r.get::<_, i64>(3)?.max(0) as u64,
        })
    };
    let session = match &q.session_id {
        Some(id) => Some(conn.query_row(&format!("{SUM} WHERE session_id = ?1"), [id], spend)?),
        None => None,
    };
    let today = conn.query_row(
        &format!("{SUM} WHERE at >= ?1 AND at < ?2"),
        [q.day_start_at, q.day_end_at],
        spend,
    )?;
    Ok(StatusReport {
        session,
        today,
        block: active_block(conn, now_ms)?,
    })
}

/// The 5-hour block running at `now_ms`, as `blocks` would cut it.
pub fn active_block(conn: &Connection, now_ms: i64) -> rusqlite::Result<Option<BlockRow>> {
    let mut before = conn.prepare_cached("SELECT max(at) FROM responses WHERE at < ?1")?;
    let mut since =
        conn.prepare_cached("SELECT at FROM responses WHERE at >= ?1 AND at < ?2 ORDER BY at")?;
    // A running block's first response is after now - 5 h and before the
    // hour after now: without one, nothing is running.
    let near: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM responses WHERE at > ?1 AND at < ?2 LIMIT 1")?
        .query_row(
            [
                now_ms.saturating_sub(BLOCK_MS),
                now_ms.saturating_add(HOUR_MS),
            ],
            |r| r.get(0),
        )
        .optional()?;
    if near.is_none() {
        return Ok(None);
    }
    let mut window = FIRST_LOOKBACK_MS;
    let ats: Vec<i64> = loop {
        let lo = now_ms.saturating_sub(window);
        let ats: Vec<i64> = since
            .query_map([lo, now_ms.saturating_add(HOUR_MS)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let prev: Option<i64> = before.query_row([lo], |r| r.get(0)).optional()?.flatten();
        let clean_start = match (prev, ats.first()) {
            (None, _) => true,
            (Some(p), Some(&a)) => a - p >= BLOCK_MS,
            (Some(_), None) => true,
        };
        if clean_start {
            break ats;
        }
        // the last 5-hour break inside the window is as good as a clean start
        if let Some(i) = (1..ats.len())
            .rev()
            .find(|&i| ats[i] - ats[i - 1] >= BLOCK_MS)
        {
            break ats[i..].to_vec();
        }
        // (at its widest the window starts before every response: clean)
        window = window.saturating_mul(2);
    };
    let Some(start_at) = running_block_start(&ats, now_ms) else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT at, model, input_tokens, output_tokens,
                cache_creation_5m_tokens + cache_creation_1h_tokens, cache_read_tokens, cost_picousd
         FROM responses WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
    )?;
    let usages: Vec<Usage> = st
        .query_map([start_at, start_at + BLOCK_MS], |r| {
            let t = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
            Ok(Usage::one(
                r.get(0)?,
                r.get(1)?,
                [t(2)?, t(3)?, t(4)?, t(5)?],
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(blocks::blocks(&usages, now_ms)
        .into_iter()
        .find(|b| b.active))
}

/// Cut time-ordered response times into blocks (the rule of
/// `blocks::blocks`) and return the start of the one running at `now_ms`.
fn running_block_start(ats: &[i64], now_ms: i64) -> Option<i64> {
    let mut end = i64::MIN;
    let mut running = None;
    for &a in ats {
        if a >= end {
            let start = a.div_euclid(HOUR_MS) * HOUR_MS;
            if start > now_ms {
                break;
            }
            end = start + BLOCK_MS;
            running = (now_ms < end).then_some(start);
        }
    }
    running
}

/// A tracked file's size when it was last read (its current generation:
/// what was read plus a partial last line held back), if it is tracked.
pub fn size_read(conn: &Connection, path: &str) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached("SELECT size FROM source_files WHERE path = ?1 AND superseded = 0")?
        .query_row([path], |r| r.get::<_, i64>(0))
        .optional()
        .map(|o| o.map(|n| n.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const M: i64 = 60_000;

    /// Responses (time, cost) of session 's', stored as by hand: the
    /// rollup is pending, so `blocks` reads the responses.
    fn db(responses: &[(i64, i64)]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        conn.execute_batch(
            "INSERT INTO threads(id, session_id) VALUES (1, 's'), (2, 'other');
             INSERT INTO cost_rollup_dirty VALUES (0, 0);",
        )
        .unwrap();
        for (at, cost) in responses {
            store(&conn, 1, *at, Some(*cost));
        }
        conn
    }

    fn store(conn: &Connection, thread: i64, at: i64, cost: Option<i64>) {
        conn.execute(
            "INSERT INTO response_rows(key, model, thread, at, input_tokens, output_tokens, cache_creation_5m_tokens,
                cache_creation_1h_tokens, cache_read_tokens, web_search_requests, web_fetch_requests, fast,
                us_only, final, line_count, cost_picousd)
             VALUES ('k' || (SELECT count(*) FROM response_rows), 'm', ?1, ?2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, ?3)",
            rusqlite::params![thread, at, cost],
        )
        .unwrap();
    }

    /// The active block as the full `blocks` report finds it.
    fn reference(conn: &Connection, now: i64) -> Option<BlockRow> {
        blocks::run(conn, &blocks::BlocksQuery::default(), now)
            .unwrap()
            .rows
            .into_iter()
            .find(|b| b.active)
    }

    #[test]
    fn finds_the_same_block_as_the_full_report() {
        let t0 = 1000 * H;
        // a chain of blocks with no 5-hour break for 3 days, then more
        let mut rs = Vec::new();
        let mut t = t0 + 17 * M;
        while t < t0 + 80 * H {
            rs.push((t, 7));
            t += 4 * H + 13 * M;
        }
        rs.push((t0 + 90 * H + 5 * M, 11));
        rs.push((t0 + 91 * H, 13));
        let conn = db(&rs);
        for now in (0..100 * 6).map(|k| t0 + k * 10 * M) {
            assert_eq!(
                active_block(&conn, now).unwrap(),
                reference(&conn, now),
                "now = t0 + {} min",
                (now - t0) / M
            );
        }
        let b = active_block(&conn, t0 + 92 * H).unwrap().unwrap();
        assert_eq!(
            (b.start_at, b.responses, b.cost_picousd),
            (t0 + 90 * H, 2, 24)
        );
        assert!(active_block(&conn, t0 + 96 * H).unwrap().is_none());
        assert!(active_block(&db(&[]), t0).unwrap().is_none());
    }

    /// A scheduled job every 3 hours for 70 days never leaves a 5-hour
    /// break: the block running now depends on the first response of all
    /// (cut 64 days back, the search once found other blocks).
    #[test]
    fn months_without_a_break_are_cut_from_the_first_response() {
        let t0 = 1000 * H;
        let rs: Vec<(i64, i64)> = (0..70 * 8).map(|k| (t0 + 10 * M + k * 3 * H, 3)).collect();
        let last = rs.last().unwrap().0;
        let conn = db(&rs);
        let mut running = 0;
        for now in (0..24).map(|k| last - 12 * H + k * 30 * M) {
            let want = reference(&conn, now);
            running += usize::from(want.is_some());
            assert_eq!(
                active_block(&conn, now).unwrap(),
                want,
                "now = last - {} min",
                (last - now) / M
            );
        }
        assert!(running > 0);
    }

    #[test]
    fn sums_the_session_and_the_day() {
        let conn = db(&[(10 * H, 5), (20 * H, 7), (30 * H, 9)]);
        store(&conn, 2, 21 * H, None);
        let q = StatusQuery {
            session_id: Some("s".into()),
            day_start_at: 20 * H,
            day_end_at: 30 * H,
        };
        let r = run(&conn, &q, 21 * H).unwrap();
        assert_eq!(
            r.session,
            Some(Spend {
                responses: 3,
                cost_picousd: 21,
                unpriced_responses: 0
            })
        );
        assert_eq!(
            r.today,
            Spend {
                responses: 2,
                cost_picousd: 7,
                unpriced_responses: 1
            }
        );
        assert_eq!(r.today.cost(), Some(7));
        assert_eq!(
            Spend {
                responses: 1,
                cost_picousd: 0,
                unpriced_responses: 1
            }
            .cost(),
            None
        );
        assert_eq!(r.block.map(|b| b.responses), Some(2));
    }
}
