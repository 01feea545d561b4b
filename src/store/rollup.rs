//! `cost_rollup`: the responses summed per 15-minute UTC bucket (and model,
//! pricing entry, project, main/subagent, branch, session). The ingest writer (for
//! the responses it inserts) and triggers on `responses` (for updates and
//! deletes) note the bucket and thread of every response a change touches in
//! `cost_rollup_dirty`; `refresh` re-sums exactly those threads' sessions in
//! those buckets and notes the rollup as checked. Readers use the rollup only
//! when nothing is pending and nothing changed since that check
//! (`is_fresh`), so a missed refresh costs speed, never correctness.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, params};

/// UTC bucket length of the rollup, in ms.
pub const BUCKET_MS: i64 = 900_000;

/// The bucket `cost_rollup_dirty` uses for a response at `at` (SQL:
/// `coalesce(at / 900000, -1)`, integer division toward zero).
pub fn bucket_of(at: Option<i64>) -> i64 {
    at.map_or(-1, |t| t / BUCKET_MS)
}

/// Above this many dirty (bucket, thread) pairs, re-sum everything in one
/// pass.
const FULL_ABOVE: i64 = 2_000;

/// How a group of `responses` rows is counted, in the order of the
/// rollup's columns requests .. web_search_requests (also what `cost` reads
/// when it cannot use the rollup): integers only.
pub const RESPONSE_COUNTS: &str = "count(*), count(cost_picousd),
    coalesce(sum(max(input_tokens, 0)), 0), coalesce(sum(max(output_tokens, 0)), 0),
    coalesce(sum(max(cache_creation_5m_tokens, 0)), 0), coalesce(sum(max(cache_creation_1h_tokens, 0)), 0),
    coalesce(sum(max(cache_read_tokens, 0)), 0), coalesce(sum(max(web_search_requests, 0)), 0)";

/// The rollup's cost_dollars and cost_rest_picousd of a group of
/// `responses` rows: whole dollars and the picodollar rest. (The rest's
/// sum stays inside i64 for up to ~9.2 million responses: a rollup row
/// holds one session's in 15 minutes.)
const RESPONSE_COST: &str = "coalesce(sum(cost_picousd / 1000000000000), 0), coalesce(sum(cost_picousd % 1000000000000), 0)";

const KEYS: &str =
    "at / 900000, model, priced_as, project_id, coalesce(agent_id, '') != '', git_branch,
    session_id";

/// Every response is counted in the rollup: a response inserted by anything
/// but the ingest writer (which notes its bucket) shows here. ~3 ms on a
/// 1 GiB corpus: the count reads every entry of response_rows' smallest
/// index (455 pages).
const COUNTS_AGREE: &str = "(SELECT count(*) FROM response_rows)
    = (SELECT coalesce(sum(requests), 0) FROM cost_rollup)";

/// The rollup as last found to count every response (`checked`): the
/// largest response id then, and the responses it counted. Any change to
/// `cost_rollup` removes the count (triggers, schema 21): its presence says
/// the rollup is as the last check left it.
const CHECKED_MAX_ID: &str = "rollup_checked_max_id";
const CHECKED_COUNT: &str = "rollup_checked_count";

/// Nothing has changed since the rollup was last found to count every
/// response: nothing is pending, no response has been added (an insert
/// takes an id above the largest; updates and deletes note their buckets
/// through triggers), and the rollup is as that check left it (its note is
/// still there: not changed by hand, nor by a re-sum cut short). What a
/// report asks, instead of counting every response again (or summing the
/// rollup: ~1.2 ms at 1 GiB, before schema 21).
fn unchanged_since_checked() -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM cost_rollup_dirty)
         AND CAST((SELECT value FROM meta WHERE key = '{CHECKED_MAX_ID}') AS INTEGER)
             IS (SELECT coalesce(max(id), 0) FROM response_rows)
         AND {}",
        noted()
    )
}

/// The note of the last check is there (SQL).
fn noted() -> String {
    format!("EXISTS (SELECT 1 FROM meta WHERE key = '{CHECKED_COUNT}')")
}

/// True when the rollup matches `responses`: nothing changed since the
/// last ingest found it complete (else a report reads the responses), in a
/// database of this binary's schema (an older one, read without being
/// upgraded, has a rollup without the columns reports group by).
pub fn is_fresh(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!(
            "SELECT (SELECT user_version FROM pragma_user_version) = {}
                    AND {}",
            super::SCHEMA_VERSION,
            unchanged_since_checked()
        ),
        [],
        |r| r.get(0),
    )
}

/// Re-sum the dirty parts (everything when many are dirty, or when a
/// response was inserted without noting its bucket and thread), in one
/// write transaction, and note the rollup as checked. With nothing pending
/// the responses are counted only when `check_counts` or when something
/// changed since the last check. Returns how many (bucket, thread) pairs
/// were pending.
///
/// After a re-sum of some buckets the rollup counts every response when the
/// last check's note is still there (the rollup counted every response
/// then, and only re-sums changed it since) and every response added since
/// (an id above the one noted) is in a re-summed bucket: responses changed
/// or deleted since note their buckets through triggers. That is checked
/// on the new responses alone, and the note's count moved by the re-summed
/// buckets' change, so the work follows the change, not the database's
/// size; without the note every response is counted, as before.
pub fn refresh(conn: &Connection, check_counts: bool) -> rusqlite::Result<i64> {
    let pending: i64 =
        conn.query_row("SELECT count(*) FROM cost_rollup_dirty", [], |r| r.get(0))?;
    if pending == 0 {
        if !check_counts && is_fresh(conn)? {
            return Ok(0);
        }
        // (a rollup changed since the last check, its note gone, is summed
        // again whole: its counts may agree while its sums do not)
        if checked(conn)? && counts_agree(conn)? {
            note_checked(conn)?;
            return Ok(0);
        }
    }
    // (while buckets are pending the counts differ: look again after them)
    let full = pending > FULL_ABOVE || pending == 0;
    if !full && resum_noted(conn)? {
        return Ok(pending);
    }
    let done = resum(conn, pending, full)?;
    if !full && !counts_agree(conn)? {
        resum(conn, pending, true)?;
    }
    note_checked(conn)?;
    Ok(done)
}

/// The pending buckets re-summed and the rollup noted as checked, in one
/// transaction, when the last check's note allows it (see `refresh`);
/// false (and nothing done) when it does not.
fn resum_noted(conn: &Connection) -> rusqlite::Result<bool> {
    super::immediate(conn, || {
        let note: Option<(i64, i64)> = conn.query_row(
            &format!(
                "SELECT CAST((SELECT value FROM meta WHERE key = '{CHECKED_MAX_ID}') AS INTEGER),
                        CAST((SELECT value FROM meta WHERE key = '{CHECKED_COUNT}') AS INTEGER)"
            ),
            [],
            |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?)),
        )?;
        let Some((max_id, count)) = note else {
            return Ok(false);
        };
        // (a new response's thread noted, or its whole bucket)
        let unnoted: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM response_rows r WHERE r.id > ?1
               AND NOT EXISTS (SELECT 1 FROM cost_rollup_dirty d
                               WHERE d.bucket = coalesce(r.at / 900000, -1)
                                 AND d.thread IN (coalesce(r.thread, 0), -1)))",
            [max_id],
            |r| r.get(0),
        )?;
        if unnoted {
            return Ok(false);
        }
        let parts = dirty_parts(conn)?;
        // (the requests the rollup counts in the parts re-summed)
        let requests = || -> rusqlite::Result<i64> {
            let mut n = 0;
            for part in &parts {
                n += part.requests(conn)?;
            }
            Ok(n)
        };
        let before = requests()?;
        resum_parts(conn, &parts)?;
        write_note(conn, count - before + requests()?)?;
        Ok(true)
    })
}

/// What a refresh re-sums: one bucket's responses of one session (None:
/// of no session), or every response of one bucket. A bucket is -1 for
/// the responses with no time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Bucket(i64),
    Session(i64, Option<String>),
}

impl Part {
    /// The rollup's requests in this part.
    fn requests(&self, conn: &Connection) -> rusqlite::Result<i64> {
        match self {
            Part::Bucket(b) => conn
                .prepare_cached(
                    "SELECT coalesce(sum(requests), 0) FROM cost_rollup WHERE bucket IS ?1",
                )?
                .query_row([bucket_param(*b)], |r| r.get(0)),
            Part::Session(b, s) => conn
                .prepare_cached(
                    "SELECT coalesce(sum(requests), 0) FROM cost_rollup
                     WHERE bucket IS ?1 AND session_id IS ?2",
                )?
                .query_row(params![bucket_param(*b), s], |r| r.get(0)),
        }
    }
}

/// A bucket as `cost_rollup` has it (NULL: no time).
fn bucket_param(bucket: i64) -> Option<i64> {
    (bucket != -1).then_some(bucket)
}

/// The noted (bucket, thread) pairs as parts: each thread's session in
/// its bucket (thread 0: the responses of no session), or the whole bucket
/// when the thread is -1 or no longer there (its session unknown).
fn dirty_parts(conn: &Connection) -> rusqlite::Result<Vec<Part>> {
    let pairs: Vec<(i64, i64)> = conn
        .prepare("SELECT bucket, thread FROM cost_rollup_dirty")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut session_of = conn.prepare_cached("SELECT session_id FROM threads WHERE id = ?1")?;
    let mut parts = BTreeSet::new();
    for (bucket, thread) in pairs {
        let session = match thread {
            0 => Some(None),
            -1 => None,
            t => session_of
                .query_row([t], |r| r.get::<_, Option<String>>(0))
                .optional()?,
        };
        parts.insert(match session {
            Some(s) => Part::Session(bucket, s),
            None => Part::Bucket(bucket),
        });
    }
    let whole: BTreeSet<i64> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Bucket(b) => Some(*b),
            Part::Session(..) => None,
        })
        .collect();
    Ok(parts
        .into_iter()
        .filter(|p| !matches!(p, Part::Session(b, _) if whole.contains(b)))
        .collect())
}

/// Re-sum `parts` (disjoint: a whole bucket is not also a session's part)
/// and empty `cost_rollup_dirty`.
fn resum_parts(conn: &Connection, parts: &[Part]) -> rusqlite::Result<()> {
    let insert = |filter: &str| -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
        conn.prepare_cached(&format!("{} WHERE {filter} GROUP BY {KEYS}", insert_sql()))
    };
    for part in parts {
        match part {
            Part::Bucket(-1) => {
                conn.prepare_cached("DELETE FROM cost_rollup WHERE bucket IS NULL")?
                    .execute([])?;
                insert("at IS NULL")?.execute([])?;
            }
            Part::Bucket(b) => {
                conn.prepare_cached("DELETE FROM cost_rollup WHERE bucket = ?1")?
                    .execute([b])?;
                insert("at >= ?1 AND at < ?2")?
                    .execute(params![b * BUCKET_MS, (b + 1) * BUCKET_MS])?;
            }
            Part::Session(b, s) => {
                conn.prepare_cached(
                    "DELETE FROM cost_rollup WHERE bucket IS ?1 AND session_id IS ?2",
                )?
                .execute(params![bucket_param(*b), s])?;
                // (by its threads' (thread, at) index: = for a session)
                let session = match s {
                    Some(_) => "session_id = ?3",
                    None => "session_id IS NULL AND ?3 IS NULL",
                };
                let time = match b {
                    -1 => "at IS NULL AND ?1 IS NULL AND ?2 IS NULL",
                    _ => "at >= ?1 AND at < ?2",
                };
                let window = (*b != -1).then(|| (b * BUCKET_MS, (b + 1) * BUCKET_MS));
                insert(&format!("{time} AND {session}"))?.execute(params![
                    window.map(|w| w.0),
                    window.map(|w| w.1),
                    s
                ])?;
            }
        }
    }
    conn.execute("DELETE FROM cost_rollup_dirty", [])?;
    Ok(())
}

/// The rollup's INSERT of `responses` summed (a WHERE and GROUP BY follow).
fn insert_sql() -> String {
    format!(
        "INSERT INTO cost_rollup(bucket, model, priced_as, project_id, subagent, git_branch, session_id,
           first_at, last_at, requests, priced_requests, input_tokens, output_tokens,
           cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, web_search_requests,
           cost_dollars, cost_rest_picousd)
         SELECT {KEYS}, min(at), max(at), {RESPONSE_COUNTS}, {RESPONSE_COST} FROM responses"
    )
}

/// Remove the note of the last check (a rebuild, which empties the rollup
/// with the triggers that would remove it lifted): the next refresh sums
/// the rollup again.
pub fn drop_note(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        &format!("DELETE FROM meta WHERE key = '{CHECKED_COUNT}'"),
        [],
    )?;
    Ok(())
}

/// The note of the last check is there: the rollup did not change since.
fn checked(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(&format!("SELECT {}", noted()), [], |r| r.get(0))
}

fn counts_agree(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(&format!("SELECT {COUNTS_AGREE}"), [], |r| r.get(0))
}

/// Record that the rollup counts every response now.
fn note_checked(conn: &Connection) -> rusqlite::Result<()> {
    let count: i64 = conn.query_row(
        "SELECT coalesce(sum(requests), 0) FROM cost_rollup",
        [],
        |r| r.get(0),
    )?;
    write_note(conn, count)
}

/// The note: the largest response id now, and `count`, the responses the
/// rollup counts.
fn write_note(conn: &Connection, count: i64) -> rusqlite::Result<()> {
    let max_id: i64 =
        conn.query_row("SELECT coalesce(max(id), 0) FROM response_rows", [], |r| {
            r.get(0)
        })?;
    super::Store::meta_set(conn, CHECKED_MAX_ID, &max_id.to_string())?;
    super::Store::meta_set(conn, CHECKED_COUNT, &count.to_string())
}

/// Re-sum the dirty buckets, or everything.
fn resum(conn: &Connection, pending: i64, full: bool) -> rusqlite::Result<i64> {
    if !full {
        return refresh_in_tx(conn, pending, full);
    }
    // The full re-sum sorts every response: in memory, 36 MB on a 1 GiB
    // corpus, the peak of a cold ingest (with the 600 MB file 83 -> 71 MB
    // spilling past 4 MiB).
    super::spilling(conn, || refresh_in_tx(conn, pending, full))
}

fn refresh_in_tx(conn: &Connection, pending: i64, full: bool) -> rusqlite::Result<i64> {
    super::immediate(conn, || {
        if full {
            conn.execute("DELETE FROM cost_rollup", [])?;
            // (its triggers took every row's sums out of cost_totals: what
            // is left there is a change by hand, gone with the rest, and
            // the insert's triggers sum it again row by row)
            conn.execute("DELETE FROM cost_totals", [])?;
            conn.execute(&format!("{} GROUP BY {KEYS}", insert_sql()), [])?;
            conn.execute("DELETE FROM cost_rollup_dirty", [])?;
        } else {
            resum_parts(conn, &dirty_parts(conn)?)?;
        }
        Ok(pending)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rollup is read only in a database of this binary's schema: one
    /// read without its upgrade (read-only) has a rollup without the
    /// columns reports group by.
    #[test]
    fn a_rollup_of_another_schema_is_not_fresh() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/basic");
        let (_dir, store) = crate::ingest::ingested_store(&[crate::paths::Root::new(fixtures)]);
        let conn = &store.conn;
        assert!(is_fresh(conn).unwrap());
        conn.pragma_update(None, "user_version", crate::store::SCHEMA_VERSION - 1)
            .unwrap();
        assert!(!is_fresh(conn).unwrap());
        conn.pragma_update(None, "user_version", crate::store::SCHEMA_VERSION)
            .unwrap();
        assert!(is_fresh(conn).unwrap());
    }

    /// A bucket left pending by an older version is re-summed whole after
    /// the upgrade to (bucket, thread) notes.
    #[test]
    fn a_bucket_pending_before_schema_23_is_resummed_whole() {
        let conn = Connection::open_in_memory().unwrap();
        for (_, m) in &crate::store::MIGRATIONS[..22] {
            conn.execute_batch(m).unwrap();
        }
        conn.execute_batch("INSERT INTO cost_rollup_dirty(bucket) VALUES (5), (-1)")
            .unwrap();
        conn.execute_batch(crate::store::MIGRATIONS[22].1).unwrap();
        let pairs: Vec<(i64, i64)> = conn
            .prepare("SELECT bucket, thread FROM cost_rollup_dirty ORDER BY bucket")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(pairs, [(-1, -1), (5, -1)]);
        assert_eq!(
            dirty_parts(&conn).unwrap(),
            [Part::Bucket(-1), Part::Bucket(5)]
        );
    }

    /// A response row made from a copy of another (what follows: the
    /// values from `key` on, then FROM).
    const COPY: &str =
        "INSERT INTO response_rows(key, model, thread, at, input_tokens, output_tokens,
        cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, web_search_requests,
        web_fetch_requests, fast, us_only, final, line_count, cost_picousd) SELECT";

    /// The rollup's rows, in a stable order, and the note's count.
    fn snapshot(conn: &Connection) -> (Vec<String>, Option<String>) {
        let rows = conn
            .prepare("SELECT * FROM cost_rollup")
            .unwrap()
            .query_map([], |r| {
                Ok((0..19)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        let mut rows = rows;
        rows.sort();
        let note = conn
            .query_row(
                &format!("SELECT value FROM meta WHERE key = '{CHECKED_COUNT}'"),
                [],
                |r| r.get(0),
            )
            .ok();
        (rows, note)
    }

    /// A re-sum of the pending buckets under the last check's note gives
    /// the rollup a whole re-sum gives, and notes its count; a response
    /// inserted without noting its bucket (by anything but the writer)
    /// still makes it re-sum everything.
    #[test]
    fn a_resum_of_some_buckets_under_the_note_equals_a_whole_one() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let roots: Vec<_> = ["basic", "reports", "ops"]
            .iter()
            .map(|f| crate::paths::Root::new(here.join("fixtures").join(f)))
            .collect();
        let (_dir, store) = crate::ingest::ingested_store(&roots);
        let conn = &store.conn;
        let whole = |conn: &Connection| {
            let mut c = Connection::open(conn.path().unwrap()).unwrap();
            let tx = c.transaction().unwrap();
            resum(&tx, 0, true).unwrap();
            let (rows, _) = snapshot(&tx);
            let n: i64 = tx
                .query_row("SELECT count(*) FROM response_rows", [], |r| r.get(0))
                .unwrap();
            (rows, Some(n.to_string()))
        };
        assert!(checked(conn).unwrap());
        // a change through the triggers: two buckets pending
        conn.execute_batch(
            "UPDATE response_rows SET output_tokens = output_tokens + 7, at = at + 3600000
             WHERE id = (SELECT min(id) FROM response_rows)",
        )
        .unwrap();
        let pending = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM cost_rollup_dirty", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(pending(conn), 2);
        assert_eq!(refresh(conn, true).unwrap(), 2);
        assert_eq!(snapshot(conn), whole(conn));
        assert!(is_fresh(conn).unwrap());
        // a response inserted as the writer does (its bucket noted), and
        // one deleted
        conn.execute_batch(&format!(
            "{COPY} 'new-1', model, thread, at + 60000, 5, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1000
             FROM response_rows WHERE id = (SELECT max(id) FROM response_rows);
             INSERT OR IGNORE INTO cost_rollup_dirty(bucket, thread)
             SELECT at / 900000, coalesce(thread, 0) FROM response_rows WHERE key = 'new-1';
             DELETE FROM response_rows WHERE id = (SELECT min(id) FROM response_rows);"
        ))
        .unwrap();
        assert!(pending(conn) >= 1);
        refresh(conn, true).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        // one inserted without its bucket noted, beside a noted change
        conn.execute_batch(
            &format!(
                "{COPY} 'stray', model, thread, at - 86400000 * 30, 5, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1000
             FROM response_rows WHERE id = (SELECT max(id) FROM response_rows);
             UPDATE response_rows SET output_tokens = output_tokens + 1
             WHERE id = (SELECT max(id) FROM response_rows WHERE key != 'stray');"
            ),
        )
        .unwrap();
        assert_eq!(pending(conn), 1);
        refresh(conn, true).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        assert!(counts_agree(conn).unwrap());
        assert!(is_fresh(conn).unwrap());
        // a bucket of two sessions, one of them changed: its rows re-summed,
        // the other's kept (a response moved into the bucket of another
        // session's response, and one of the first session's updated there)
        let shared: (i64, i64) = conn
            .query_row(
                "SELECT a.id, b.at FROM response_rows a, response_rows b
                 JOIN threads ta ON ta.id = a.thread JOIN threads tb ON tb.id = b.thread
                 WHERE ta.session_id != tb.session_id AND b.at IS NOT NULL
                 ORDER BY a.id, b.id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        conn.execute(
            "UPDATE response_rows SET at = ?2, output_tokens = output_tokens + 11 WHERE id = ?1",
            shared,
        )
        .unwrap();
        assert_eq!(refresh(conn, false).unwrap(), 2);
        assert_eq!(snapshot(conn), whole(conn));
        assert!(is_fresh(conn).unwrap());
        // a response of no thread, noted as the writer notes it (thread 0)
        conn.execute_batch(&format!(
            "{COPY} 'threadless', model, NULL, at, 3, 3, 0, 0, 0, 0, 0, 0, 0, 1, 1, 500
             FROM response_rows WHERE id = (SELECT min(id) FROM response_rows);
             INSERT OR IGNORE INTO cost_rollup_dirty(bucket, thread)
             SELECT at / 900000, 0 FROM response_rows WHERE key = 'threadless';"
        ))
        .unwrap();
        refresh(conn, false).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        assert!(is_fresh(conn).unwrap());
        // a response inserted by hand (its bucket not noted) and nothing
        // pending, as after an ingest that stored lines but no response:
        // the check finds it without being asked to count
        assert!(is_fresh(conn).unwrap());
        conn.execute_batch(&format!(
            "{COPY} 'by-hand', model, thread, at, 9, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 900
             FROM response_rows WHERE id = (SELECT min(id) FROM response_rows);"
        ))
        .unwrap();
        assert_eq!(pending(conn), 0);
        assert!(!is_fresh(conn).unwrap());
        refresh(conn, false).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        assert!(is_fresh(conn).unwrap());
        // a thread given another session (nothing does this; by hand): the
        // rollup is no longer trusted, and the next refresh sums it whole
        conn.execute_batch(
            "UPDATE threads SET session_id = session_id || '-moved'
             WHERE id = (SELECT thread FROM response_rows WHERE thread IS NOT NULL LIMIT 1)",
        )
        .unwrap();
        assert!(!is_fresh(conn).unwrap());
        refresh(conn, false).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        assert!(is_fresh(conn).unwrap());
        // a thread deleted with its responses (its session unknown now: the
        // whole bucket), and a bucket noted before schema 23 (thread -1)
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             DELETE FROM response_rows WHERE thread = (SELECT thread FROM response_rows WHERE id = (SELECT max(id) FROM response_rows WHERE thread IS NOT NULL));
             DELETE FROM threads WHERE id NOT IN (SELECT thread FROM response_rows WHERE thread IS NOT NULL)
                 AND id IN (SELECT thread FROM cost_rollup_dirty);
             INSERT OR IGNORE INTO cost_rollup_dirty(bucket, thread)
             SELECT bucket, -1 FROM cost_rollup WHERE bucket IS NOT NULL ORDER BY bucket DESC LIMIT 1;",
        )
        .unwrap();
        let parts = dirty_parts(conn).unwrap();
        assert!(
            parts
                .iter()
                .filter(|p| matches!(p, Part::Bucket(_)))
                .count()
                >= 1,
            "{parts:?}"
        );
        refresh(conn, false).unwrap();
        assert_eq!(snapshot(conn), whole(conn));
        assert!(counts_agree(conn).unwrap());
    }
}
