//! `line_counts`: the stored lines counted per type and status, apart for
//! replaced generations, so that `status` need not read every line (~80 ms
//! on a 1 GiB corpus). The ingest counts its new lines at its end (by id: a
//! new line takes an id above every other) and notes the largest id counted
//! (meta `line_counts_through`). Triggers remove that note when a line is
//! deleted or changed or a file is replaced by a new generation; the next
//! ingest then counts every line again. A reader uses the table only while
//! the note is the largest line id, so a missed count costs speed, never
//! correctness.

use rusqlite::{Connection, OptionalExtension, params};

const THROUGH: &str = "line_counts_through";

/// Lines of one type and status (`type` '' when the line has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub replaced: bool,
    pub type_: String,
    pub status: String,
    pub lines: u64,
}

/// Count the lines with an id above `after`, each as of its file now (a
/// replaced generation's apart). Counted here rather than with GROUP BY:
/// SQLite would sort every line for a dozen groups (660k lines: 314 ms
/// against ~80).
pub fn count(conn: &Connection, after: i64) -> rusqlite::Result<Vec<Group>> {
    // (looked up per file the lines name: a few after an append, where a
    // scan of every file's row would cost as the database grows)
    let mut superseded: std::collections::HashMap<i64, bool> = Default::default();
    let mut file_row =
        conn.prepare_cached("SELECT superseded != 0 FROM source_files WHERE id = ?1")?;
    let mut groups: Vec<Group> = Vec::new();
    let mut st =
        conn.prepare("SELECT status, coalesce(type, ''), file_id FROM lines WHERE id > ?1")?;
    let mut rows = st.query([after])?;
    while let Some(r) = rows.next()? {
        let file: i64 = r.get(2)?;
        let replaced = match superseded.get(&file) {
            Some(&s) => s,
            None => {
                let s = file_row
                    .query_row([file], |r| r.get(0))
                    .optional()?
                    .unwrap_or(false);
                superseded.insert(file, s);
                s
            }
        };
        let (status, ty) = (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?);
        match groups
            .iter_mut()
            .find(|g| g.replaced == replaced && g.status == status && g.type_ == ty)
        {
            Some(g) => g.lines += 1,
            None => groups.push(Group {
                replaced,
                type_: ty.to_owned(),
                status: status.to_owned(),
                lines: 1,
            }),
        }
    }
    Ok(groups)
}

/// The largest line id counted, and the largest line id.
fn through_and_last(conn: &Connection) -> rusqlite::Result<(Option<i64>, i64)> {
    conn.query_row(
        &format!(
            "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{THROUGH}'),
                    (SELECT coalesce(max(id), 0) FROM lines)"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The kept counts, if they count every line as it is now.
pub fn current(conn: &Connection) -> rusqlite::Result<Option<Vec<Group>>> {
    // (the note and the counts in one snapshot)
    let tx = conn.unchecked_transaction()?;
    let (through, last) = through_and_last(&tx)?;
    if through != Some(last) {
        return Ok(None);
    }
    let groups = tx
        .prepare("SELECT replaced, type, status, lines FROM line_counts WHERE lines > 0")?
        .query_map([], |r| {
            Ok(Group {
                replaced: r.get(0)?,
                type_: r.get(1)?,
                status: r.get(2)?,
                lines: r.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(groups))
}

/// Count the lines stored since the last count (or every line, when that
/// count no longer holds), in one transaction. Writes nothing when the
/// counts are current.
pub fn refresh(conn: &Connection) -> rusqlite::Result<()> {
    let (through, last) = through_and_last(conn)?;
    if through == Some(last) {
        return Ok(());
    }
    super::immediate(conn, || {
        // (inside the transaction: what another writer did is seen)
        let (through, last) = through_and_last(conn)?;
        let after = match through {
            Some(t) if t <= last => t,
            _ => {
                conn.execute("DELETE FROM line_counts", [])?;
                0
            }
        };
        let mut put = conn.prepare(
            "INSERT INTO line_counts(replaced, type, status, lines) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(replaced, type, status) DO UPDATE SET lines = lines + excluded.lines",
        )?;
        for g in count(conn, after)? {
            put.execute(params![g.replaced, g.type_, g.status, g.lines as i64])?;
        }
        super::Store::meta_set(conn, THROUGH, &last.to_string())
    })
}

/// Remove the note that the counts are current (a rebuild, which empties
/// `lines` with the trigger that would remove it lifted).
pub fn drop_note(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(&format!("DELETE FROM meta WHERE key = '{THROUGH}'"), [])?;
    Ok(())
}
