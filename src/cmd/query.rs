//! `observatory query "SQL"`: one read-only SQL statement over the
//! database, as a table, JSON or CSV.
//!
//! Three locks keep it read-only: the database is opened read-only with
//! `query_only` (`Store::open_read_only`); an SQLite authorizer refuses
//! everything but reading (writes, schema changes, ATTACH/DETACH, PRAGMAs
//! that set a value, `load_extension`) while the statement is prepared, so
//! the refusal names what was refused; and a prepared statement that
//! `sqlite3_stmt_readonly` calls a writer is refused too.

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use rusqlite::ffi;
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer as _};

use crate::cli::QueryArgs;
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::store::Store;

pub fn run(args: &QueryArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let sql = if args.sql == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading SQL from stdin")?;
        s
    } else {
        args.sql.clone()
    };
    if sql.trim().trim_end_matches(';').trim().is_empty() {
        return Err(super::usage(
            "no SQL given: pass one statement, or - to read it from stdin",
        ));
    }
    super::refuse_unfinished_first_load(settings)?;
    let store = Store::open_read_only(&settings.db)?;
    super::pricing_flag_unused(settings, "`observatory query` reads the costs stored");
    warn_if_priced_otherwise(&store, settings);
    let mut query = Query::prepare(&store.conn, &sql)?;
    if settings.json || args.csv {
        // (rows printed as they are read: a result of any length in
        // constant memory, and `| head` ends the run)
        let mut out = output::stdout_writer();
        if settings.json {
            query.write_json(&mut out)?;
        } else {
            query.write_csv(&mut out)?;
        }
        out.flush()?;
    } else {
        out!("{}", query.table()?);
    }
    Ok(ExitCode::SUCCESS)
}

/// A table lines its columns up from every row, so it holds them all
/// before it prints: at most about this much memory, counted as each
/// cell's text and its keep (`CELL_BYTES`), and the table as drawn (every
/// row padded to its columns' widths). Past it, `--csv` and `--json`, which
/// print each row as it is read, are the way.
const TABLE_BYTES: usize = 64 << 20;

/// What a cell costs beyond its text: a `String` (24 bytes) and the
/// smallest allocation (32).
const CELL_BYTES: usize = 56;

/// `query` only reads: if the price table changed since the costs were
/// stored (pricing.toml edited, a new version), say so rather than show
/// old prices as current.
fn warn_if_priced_otherwise(store: &Store, settings: &Settings) {
    if settings.quiet {
        return;
    }
    let Ok(prices) = super::stored_price_table(settings) else {
        return; // (a bad pricing.toml is for the reports to refuse)
    };
    let stored = store.meta_get("price_fingerprint").ok().flatten();
    if stored.is_some_and(|fp| fp != prices.fingerprint()) {
        crate::output::style::warn(format_args!(
            "the stored costs were priced with another price table than the one in effect \
             (pricing.toml changed?): run `observatory reprice` to re-price them"
        ));
    }
}

/// What the authorizer refused first (for the error message).
type Denied = RefCell<Option<String>>;

/// An authorizer installed on a connection for as long as this lives.
struct Authorizer<'c> {
    conn: &'c Connection,
    denied: Box<Denied>,
}

impl<'c> Authorizer<'c> {
    fn install(conn: &'c Connection) -> Result<Authorizer<'c>> {
        let denied: Box<Denied> = Box::new(RefCell::new(None));
        let data = std::ptr::from_ref::<Denied>(&denied)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the handle is this open connection's; `data` points into a
        // Box that `Drop` outlives by removing the authorizer first.
        let rc = unsafe { ffi::sqlite3_set_authorizer(conn.handle(), Some(authorize), data) };
        if rc != ffi::SQLITE_OK {
            bail!("could not install the read-only guard (SQLite error {rc})");
        }
        Ok(Authorizer { conn, denied })
    }

    fn take_denied(&self) -> Option<String> {
        self.denied.borrow_mut().take()
    }
}

impl Drop for Authorizer<'_> {
    fn drop(&mut self) {
        // SAFETY: removes the callback before the Box it points to is freed.
        unsafe {
            ffi::sqlite3_set_authorizer(self.conn.handle(), None, std::ptr::null_mut());
        }
    }
}

/// PRAGMAs that take an argument and still only read (the argument names
/// a table or an index, or a limit).
const READING_PRAGMAS_WITH_ARGUMENT: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

const SCHEMA_CHANGE: &str =
    "CREATE, DROP, ALTER, REINDEX and ANALYZE are not allowed: query is read-only";

/// PRAGMAs that do something even without an argument.
const ACTING_PRAGMAS: &[&str] = &[
    "optimize",
    "wal_checkpoint",
    "incremental_vacuum",
    "shrink_memory",
];

/// Allow reading; refuse everything else, saying what it was. Pure
/// (no SQLite calls), so it can be tested without a connection.
pub fn verdict(action: i32, arg1: Option<&str>, arg2: Option<&str>) -> Result<(), String> {
    let lower = |s: Option<&str>| s.unwrap_or("").to_ascii_lowercase();
    match action {
        ffi::SQLITE_SELECT | ffi::SQLITE_READ | ffi::SQLITE_RECURSIVE => Ok(()),
        ffi::SQLITE_FUNCTION => {
            // arg2 is the function's name
            if lower(arg2) == "load_extension" {
                Err(
                    "load_extension() is not allowed: query reads the database, it loads nothing"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
        ffi::SQLITE_PRAGMA => {
            let name = lower(arg1);
            match arg2 {
                None if !ACTING_PRAGMAS.contains(&name.as_str()) => Ok(()),
                Some(_) if READING_PRAGMAS_WITH_ARGUMENT.contains(&name.as_str()) => Ok(()),
                None => Err(format!(
                    "PRAGMA {name} is not allowed: it changes the database"
                )),
                // (an acting pragma acts without a value too: no hint)
                Some(v) if ACTING_PRAGMAS.contains(&name.as_str()) => Err(format!(
                    "PRAGMA {name}({v}) is not allowed: it changes the database"
                )),
                Some(v) => Err(format!(
                    "PRAGMA {name} = {v} is not allowed: query only reads (PRAGMA {name} without a value reads it)"
                )),
            }
        }
        // CREATE and DROP first ask to write the schema table (arg1)
        ffi::SQLITE_INSERT | ffi::SQLITE_UPDATE | ffi::SQLITE_DELETE
            if matches!(
                lower(arg1).as_str(),
                "sqlite_master" | "sqlite_schema" | "sqlite_temp_master" | "sqlite_temp_schema"
            ) =>
        {
            Err(SCHEMA_CHANGE.into())
        }
        ffi::SQLITE_INSERT | ffi::SQLITE_UPDATE | ffi::SQLITE_DELETE => {
            let verb = match action {
                ffi::SQLITE_INSERT => "INSERT",
                ffi::SQLITE_UPDATE => "UPDATE",
                _ => "DELETE",
            };
            Err(format!(
                "{verb} is not allowed: query is read-only (use SELECT)"
            ))
        }
        ffi::SQLITE_ATTACH | ffi::SQLITE_DETACH => {
            Err("ATTACH and DETACH are not allowed: query reads only observatory's database".into())
        }
        ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_CREATE_TABLE
        | ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_CREATE_TEMP_TABLE
        | ffi::SQLITE_CREATE_TEMP_TRIGGER
        | ffi::SQLITE_CREATE_TEMP_VIEW
        | ffi::SQLITE_CREATE_TRIGGER
        | ffi::SQLITE_CREATE_VIEW
        | ffi::SQLITE_CREATE_VTABLE
        | ffi::SQLITE_DROP_INDEX
        | ffi::SQLITE_DROP_TABLE
        | ffi::SQLITE_DROP_TEMP_INDEX
        | ffi::SQLITE_DROP_TEMP_TABLE
        | ffi::SQLITE_DROP_TEMP_TRIGGER
        | ffi::SQLITE_DROP_TEMP_VIEW
        | ffi::SQLITE_DROP_TRIGGER
        | ffi::SQLITE_DROP_VIEW
        | ffi::SQLITE_DROP_VTABLE
        | ffi::SQLITE_ALTER_TABLE
        | ffi::SQLITE_REINDEX
        | ffi::SQLITE_ANALYZE => Err(SCHEMA_CHANGE.into()),
        ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => {
            Err("transactions are not needed: query runs one read-only statement".into())
        }
        other => Err(format!(
            "this statement is not allowed (SQLite action {other}): query only reads"
        )),
    }
}

unsafe extern "C" fn authorize(
    data: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    arg2: *const c_char,
    _db: *const c_char,
    _view: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes NUL-terminated strings or NULL.
    let text = |p: *const c_char| {
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    match verdict(action, text(arg1).as_deref(), text(arg2).as_deref()) {
        Ok(()) => ffi::SQLITE_OK,
        Err(why) => {
            // SAFETY: `data` is the `Denied` installed with this callback.
            let denied = unsafe { &*data.cast::<Denied>() };
            if let Ok(mut d) = denied.try_borrow_mut()
                && d.is_none()
            {
                *d = Some(why);
            }
            ffi::SQLITE_DENY
        }
    }
}

/// `PRAGMA name` (or `schema.name`) with no value and nothing after it.
fn is_bare_pragma(sql: &str) -> bool {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let Some(rest) = sql.get(..6).filter(|p| p.eq_ignore_ascii_case("pragma")) else {
        return false;
    };
    let name = sql[rest.len()..].trim();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// One read-only statement, prepared under the guard, and its columns
/// (made unique: a repeated name gets `_2`, `_3`..., a suffix no column is
/// named already).
pub struct Query<'c> {
    guard: Authorizer<'c>,
    st: rusqlite::Statement<'c>,
    columns: Vec<String>,
}

impl<'c> Query<'c> {
    pub fn prepare(conn: &'c Connection, sql: &str) -> Result<Query<'c>> {
        let guard = Authorizer::install(conn)?;
        let st = match conn.prepare(sql) {
            Ok(st) => st,
            Err(e) => {
                if let Some(why) = guard.take_denied() {
                    bail!("refused: {why}");
                }
                if matches!(e, rusqlite::Error::MultipleStatement) {
                    bail!("one statement at a time, please (found more than one)");
                }
                // (not the SQL: the database file, said as such by main)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt) {
                    return Err(e.into());
                }
                // (SQLite's own words, without rusqlite's "Error code 1: SQL
                // logic error" after them)
                let why = match e {
                    rusqlite::Error::SqliteFailure(_, Some(msg)) => msg,
                    rusqlite::Error::SqlInputError { msg, offset, .. } => {
                        format!("{msg} (at character {})", offset + 1)
                    }
                    other => other.to_string(),
                };
                // (a write to a view: SQLite refuses it before asking the
                // authorizer, in its own words)
                if why.starts_with("cannot modify ") {
                    bail!("refused: {why}");
                }
                bail!("in the SQL: {why}");
            }
        };
        // (SQLite calls some PRAGMAs without a value, such as journal_mode,
        // not read-only; the authorizer let through only those that read,
        // and the connection is query_only)
        if !st.readonly() && !is_bare_pragma(sql) {
            bail!("refused: only statements that read are allowed");
        }
        let names: Vec<&str> = st.column_names().collect();
        let columns = unique_names(&names);
        Ok(Query { guard, st, columns })
    }

    /// Each row in turn to `f`, until it returns false or the rows end.
    fn each_row(&mut self, mut f: impl FnMut(&rusqlite::Row<'_>) -> Result<bool>) -> Result<()> {
        let mut rows = self.st.query([])?;
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    if !f(row)? {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    if let Some(why) = self.guard.take_denied() {
                        bail!("refused: {why}");
                    }
                    return Err(anyhow::Error::new(e).context("running the query"));
                }
            }
        }
    }

    /// `{"columns": [...], "rows": [{column: value}, ...]}`, pretty, keys
    /// in column order, each row written as it is read: integers and reals
    /// as numbers (an infinite real as null), text as strings, NULL as
    /// null, blobs as lowercase hex. A query that fails part way leaves
    /// the document unfinished (not valid JSON) and returns its error.
    pub fn write_json(&mut self, out: &mut impl Write) -> Result<()> {
        use serde::ser::{Error as _, SerializeSeq};
        struct Rows<'q, 'c> {
            query: RefCell<&'q mut Query<'c>>,
            failed: RefCell<Option<anyhow::Error>>,
        }
        impl Serialize for Rows<'_, '_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut query = self.query.borrow_mut();
                let columns = query.columns.clone();
                let mut seq = s.serialize_seq(None)?;
                let mut written = Ok(());
                let read = query.each_row(|row| {
                    written = seq.serialize_element(&JsonRow(&columns, row));
                    Ok(written.is_ok())
                });
                written?;
                if let Err(e) = read {
                    *self.failed.borrow_mut() = Some(e);
                    return Err(S::Error::custom("the query failed"));
                }
                seq.end()
            }
        }
        let columns = self.columns.clone();
        let rows = Rows {
            query: RefCell::new(self),
            failed: RefCell::new(None),
        };
        let mut ser = serde_json::Serializer::pretty(&mut *out);
        let written = (|| {
            let mut m = (&mut ser).serialize_map(Some(2))?;
            m.serialize_entry("columns", &columns)?;
            m.serialize_entry("rows", &rows)?;
            SerializeMap::end(m)
        })();
        if let Some(e) = rows.failed.into_inner() {
            // (the unfinished document ends its line: in a terminal the
            // error then starts on its own)
            let _ = out.write_all(b"\n").and_then(|()| out.flush());
            return Err(e);
        }
        written.map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// RFC 4180 CSV, a line per row as it is read: NULL is empty, blobs
    /// are hex.
    pub fn write_csv(&mut self, out: &mut impl Write) -> Result<()> {
        out.write_all(table::csv_line(self.columns.iter().map(String::as_str)).as_bytes())?;
        let n = self.columns.len();
        self.each_row(|row| {
            let cells = (0..n)
                .map(|i| row.get_ref(i).map(csv_text))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.write_all(table::csv_line(cells.iter().map(String::as_str)).as_bytes())?;
            Ok(true)
        })
    }

    /// The rows as a table (NULL shown as `NULL`); a column of numbers
    /// (and NULLs) is right-aligned. Refused past `TABLE_BYTES`.
    pub fn table(&mut self) -> Result<String> {
        self.table_within(TABLE_BYTES)
    }

    fn table_within(&mut self, budget: usize) -> Result<String> {
        let n = self.columns.len();
        // (per column: a number seen; a value neither a number nor NULL seen)
        let mut numbers = vec![(false, false); n];
        let mut rows: Vec<Vec<String>> = Vec::new();
        // (the widest cell of each column, in bytes, padding included: a
        // row as drawn is their sum; and what the cells take)
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.len() + 3).collect();
        let mut kept = 0;
        let mut too_big = false;
        self.each_row(|row| {
            let mut cells = Vec::with_capacity(n);
            for (i, seen) in numbers.iter_mut().enumerate() {
                let v = row.get_ref(i)?;
                match v {
                    ValueRef::Integer(_) | ValueRef::Real(_) => seen.0 = true,
                    ValueRef::Null => {}
                    _ => seen.1 = true,
                }
                let text = match v {
                    ValueRef::Null => "NULL".to_owned(),
                    other => csv_text(other),
                };
                kept += CELL_BYTES + text.len();
                widths[i] = widths[i].max(text.len() + 3);
                cells.push(text);
            }
            rows.push(cells);
            let drawn = rows.len().saturating_mul(widths.iter().sum::<usize>());
            too_big = kept.saturating_add(drawn) > budget;
            Ok(!too_big)
        })?;
        if too_big {
            bail!(
                "a table of this result would take more than {} MiB to line up (reached at row {}): \
                 add --csv or --json (they print each row as it is read), or narrow the query (LIMIT)",
                budget >> 20,
                output::thousands(rows.len() as u64)
            );
        }
        // table::Column titles are 'static: the names live until the process ends.
        let columns: Vec<table::Column> = self
            .columns
            .iter()
            .zip(&numbers)
            .map(|(c, &(number, other))| {
                let title: &'static str = Box::leak(c.clone().into_boxed_str());
                if number && !other {
                    table::num(title)
                } else {
                    table::text(title)
                }
            })
            .collect();
        let mut out = table::render(&columns, &rows, &[], None);
        out.push('\n');
        Ok(out)
    }
}

/// A row as a JSON object, keys in column order.
struct JsonRow<'a, 'r>(&'a [String], &'a rusqlite::Row<'r>);

impl Serialize for JsonRow<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (i, k) in self.0.iter().enumerate() {
            match self.1.get_ref(i).map_err(S::Error::custom)? {
                ValueRef::Null => m.serialize_entry(k, &())?,
                ValueRef::Integer(v) => m.serialize_entry(k, &v)?,
                // (serde_json writes a NaN or an infinity as null)
                ValueRef::Real(v) => m.serialize_entry(k, &v)?,
                ValueRef::Text(t) => m.serialize_entry(k, &String::from_utf8_lossy(t))?,
                ValueRef::Blob(b) => m.serialize_entry(k, &hex(b))?,
            }
        }
        m.end()
    }
}

/// A value as CSV shows it (and tables, but for NULL): NULL empty, blobs
/// as hex.
fn csv_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => hex(b),
    }
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(b.len() * 2);
    for &x in b {
        out.push(char::from(DIGITS[usize::from(x >> 4)]));
        out.push(char::from(DIGITS[usize::from(x & 0xf)]));
    }
    out
}

/// `names` with each repeat renamed `NAME_2`, `NAME_3`...: the first of a
/// name keeps it, and a new name is none the query gave (a column named
/// `a_2` stays `a_2`, whatever comes before it).
fn unique_names(names: &[&str]) -> Vec<String> {
    let given: std::collections::HashSet<&str> = names.iter().copied().collect();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    names
        .iter()
        .map(|&name| {
            if taken.insert(name.to_owned()) {
                return name.to_owned();
            }
            let unique = (2..)
                .map(|k| format!("{name}_{k}"))
                .find(|u| !given.contains(u.as_str()) && !taken.contains(u))
                .expect("a free name");
            taken.insert(unique.clone());
            unique
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        c.execute_batch("INSERT INTO projects VALUES (1, '/p')")
            .unwrap();
        c
    }

    /// What `query --json` prints for `sql`.
    fn json(c: &Connection, sql: &str) -> Result<String> {
        let mut out = Vec::new();
        Query::prepare(c, sql)?.write_json(&mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn rows(c: &Connection, sql: &str) -> Vec<Value> {
        let doc: Value = serde_json::from_str(&json(c, sql).unwrap()).unwrap();
        doc["rows"].as_array().unwrap().clone()
    }

    fn refused(c: &Connection, sql: &str) -> String {
        match json(c, sql) {
            Ok(r) => panic!("{sql} ran: {r}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn a_repeated_column_is_renamed_to_a_name_no_column_has() {
        let c = db();
        let q = Query::prepare(&c, "SELECT 'a' AS a, 'b' AS a, 'x' AS a_2, 'c' AS a").unwrap();
        assert_eq!(q.columns, ["a", "a_3", "a_2", "a_4"]);
        let row = &rows(&c, "SELECT 'a' AS a, 'b' AS a, 'x' AS a_2, 'c' AS a")[0];
        assert_eq!(row["a_2"], "x", "{row}");
        assert_eq!(row["a_3"], "b", "{row}");
    }

    #[test]
    fn every_kind_of_value_as_json_csv_and_table() {
        let c = db();
        let sql = "SELECT id, path, NULL AS n, x'09a0ff' AS b, 1.5 AS f, id AS id, 'a,\"b' AS q, 1e999 AS inf FROM projects";
        let doc: Value = serde_json::from_str(&json(&c, sql).unwrap()).unwrap();
        assert_eq!(
            doc,
            json!({"columns": ["id", "path", "n", "b", "f", "id_2", "q", "inf"],
                   "rows": [{"id": 1, "path": "/p", "n": null, "b": "09a0ff", "f": 1.5, "id_2": 1,
                             "q": "a,\"b", "inf": null}]})
        );
        // keys in column order, pretty, one final newline
        let text = json(&c, "SELECT 2 AS z, 1 AS a").unwrap();
        assert_eq!(
            text,
            "{\n  \"columns\": [\n    \"z\",\n    \"a\"\n  ],\n  \"rows\": [\n    {\n      \"z\": 2,\n      \"a\": 1\n    }\n  ]\n}\n"
        );
        assert_eq!(
            json(&c, "SELECT 1 AS x WHERE 0").unwrap(),
            "{\n  \"columns\": [\n    \"x\"\n  ],\n  \"rows\": []\n}\n"
        );
        let mut csv = Vec::new();
        Query::prepare(&c, sql)
            .unwrap()
            .write_csv(&mut csv)
            .unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "id,path,n,b,f,id_2,q,inf\r\n1,/p,,09a0ff,1.5,1,\"a,\"\"b\",inf\r\n"
        );
        let table = Query::prepare(&c, sql).unwrap().table().unwrap();
        assert!(
            table.contains(" NULL ") && table.contains("09a0ff"),
            "{table}"
        );
    }

    #[test]
    fn a_table_too_big_to_line_up_is_refused_with_the_streaming_ways() {
        let c = db();
        let table =
            |sql: &str, budget: usize| Query::prepare(&c, sql).unwrap().table_within(budget);
        let n = |k: usize, select: &str| {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {k}) SELECT {select} FROM n"
            )
        };
        const MIB: usize = 1 << 20;
        // 10,000 small rows: ~0.6 MiB kept, ~0.1 MiB drawn
        let t = table(&n(10_000, "i"), MIB).unwrap();
        assert_eq!(t.lines().count(), 10_000 + 4, "rules, header and rows");
        let e = table(&n(20_000, "i"), MIB).unwrap_err().to_string();
        assert!(
            e.contains("more than 1 MiB") && e.contains("add --csv or --json"),
            "{e}"
        );
        // one wide cell pads every row as drawn: 100 KB alone fits, beside
        // 20 other rows it does not
        let wide = "CASE i WHEN 1 THEN printf('%.*c', 100000, 'x') ELSE '' END";
        assert!(table(&n(1, wide), MIB).is_ok());
        assert!(table(&n(20, wide), MIB).is_err());
        // cells with no text still take their keep: 300 NULL columns
        let nulls = vec!["NULL"; 300].join(", ");
        assert!(table(&n(10, &nulls), MIB).is_ok());
        assert!(table(&n(100, &nulls), MIB).is_err());
        // and an endless query stops at the real budget
        let endless =
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n";
        let e = Query::prepare(&c, endless)
            .unwrap()
            .table()
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 64 MiB"), "{e}");
    }

    #[test]
    fn a_query_that_fails_part_way_leaves_no_valid_json() {
        let c = db();
        // (abs() of the smallest integer overflows on the third row)
        let sql = "SELECT abs(v) AS a FROM (SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT -9223372036854775808) ORDER BY 1";
        let mut out = Vec::new();
        let e = Query::prepare(&c, sql)
            .unwrap()
            .write_json(&mut out)
            .unwrap_err();
        assert!(format!("{e:#}").contains("integer overflow"), "{e:#}");
        assert!(
            serde_json::from_slice::<Value>(&out).is_err(),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn reads_run_and_writes_are_refused() {
        let c = db();
        assert!(refused(&c, "INSERT INTO projects VALUES (2, '/q')").contains("INSERT"));
        assert!(refused(&c, "UPDATE projects SET path = 'x'").contains("UPDATE"));
        assert!(refused(&c, "DELETE FROM projects").contains("DELETE"));
        assert_eq!(
            refused(&c, "DELETE FROM responses"),
            "refused: cannot modify responses because it is a view"
        );
        assert!(refused(&c, "DROP TABLE projects").contains("DROP"));
        assert!(refused(&c, "CREATE TABLE t(x)").contains("CREATE"));
        assert!(refused(&c, "ATTACH DATABASE ':memory:' AS other").contains("ATTACH"));
        assert!(refused(&c, "SELECT load_extension('x')").contains("load_extension"));
        assert!(refused(&c, "PRAGMA query_only = 0").contains("PRAGMA query_only"));
        assert!(refused(&c, "PRAGMA user_version = 7").contains("PRAGMA user_version"));
        assert!(refused(&c, "SELECT 1; DELETE FROM projects").contains("refused"));
        assert!(refused(&c, "SELECT 1; SELECT 2").contains("one statement"));
        assert!(
            refused(&c, "VACUUM INTO '/nonexistent/x.db'").contains("only statements that read")
        );
        assert!(refused(&c, "BEGIN").contains("transactions"));
        assert!(refused(&c, "SELEC 1").contains("SQL"));
        // reading pragmas still work, in both forms
        json(&c, "PRAGMA user_version").unwrap();
        // (journal_mode without a value reads it, though SQLite does not
        // call it read-only; with one it is refused)
        assert_eq!(rows(&c, "pragma journal_mode;").len(), 1);
        assert!(refused(&c, "PRAGMA journal_mode = delete").contains("PRAGMA journal_mode"));
        json(&c, "PRAGMA table_info(projects)").unwrap();
        json(&c, "SELECT name FROM pragma_table_info('projects')").unwrap();
        assert_eq!(
            rows(&c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n").len(),
            3
        );
        assert_eq!(
            rows(&c, "SELECT count(*) FROM projects"),
            vec![json!({"count(*)": 1})]
        );
    }
}
