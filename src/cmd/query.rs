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
use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rusqlite::Connection;
use rusqlite::ffi;
use rusqlite::types::ValueRef;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;

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
    let result = run_query(&store.conn, &sql)?;
    if settings.json {
        output::print_json(&result)?;
    } else if args.csv {
        out!("{}", csv(&result));
    } else {
        out!("{}", human(&result));
    }
    Ok(ExitCode::SUCCESS)
}

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

/// A query's columns and rows, values as SQLite returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Column names, made unique (a repeated name gets `_2`, `_3`..., a
    /// suffix no column is named already).
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    fn json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Integer(i) => Value::from(*i),
            Cell::Real(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Blob(b) => Value::String(hex(b)),
        }
    }

    /// For CSV: NULL is empty, blobs are hex.
    fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(f) => f.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Blob(b) => hex(b),
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Cell::Integer(_) | Cell::Real(_))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `{"columns": [...], "rows": [{column: value}, ...]}`, keys in column order.
impl Serialize for QueryResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [String], &'a [Cell]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(k, &v.json())?;
                }
                m.end()
            }
        }
        let rows: Vec<Row<'_>> = self.rows.iter().map(|r| Row(&self.columns, r)).collect();
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("columns", &self.columns)?;
        m.serialize_entry("rows", &rows)?;
        m.end()
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

/// Prepare and run one statement under the read-only guard.
pub fn run_query(conn: &Connection, sql: &str) -> Result<QueryResult> {
    let guard = Authorizer::install(conn)?;
    let prepared = conn.prepare(sql);
    let mut st = match prepared {
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
    // not read-only; the authorizer let through only those that read, and
    // the connection is query_only)
    if !st.readonly() && !is_bare_pragma(sql) {
        bail!("refused: only statements that read are allowed");
    }
    let n = st.column_count();
    let names: Vec<&str> = st.column_names().collect();
    let columns = unique_names(&names);
    let mut rows = Vec::new();
    let mut it = st.query([])?;
    loop {
        let row = match it.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                if let Some(why) = guard.take_denied() {
                    bail!("refused: {why}");
                }
                return Err(anyhow::Error::new(e).context("running the query"));
            }
        };
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Integer(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
            });
        }
        rows.push(cells);
    }
    Ok(QueryResult { columns, rows })
}

fn human(r: &QueryResult) -> String {
    // table::Column titles are 'static: the names live until the process ends.
    let columns: Vec<table::Column> = r
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let title: &'static str = Box::leak(c.clone().into_boxed_str());
            let numeric = r.rows.iter().any(|row| row[i].is_number())
                && r.rows
                    .iter()
                    .all(|row| row[i].is_number() || row[i] == Cell::Null);
            if numeric {
                table::num(title)
            } else {
                table::text(title)
            }
        })
        .collect();
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Cell::Null => "NULL".into(),
                    other => other.text(),
                })
                .collect()
        })
        .collect();
    let mut out = table::render(&columns, &rows, &[], None);
    out.push('\n');
    out
}

fn csv(r: &QueryResult) -> String {
    let header: Vec<&str> = r.columns.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(Cell::text).collect())
        .collect();
    table::csv(&header, &rows)
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

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        c.execute_batch("INSERT INTO projects VALUES (1, '/p')")
            .unwrap();
        c
    }

    fn refused(c: &Connection, sql: &str) -> String {
        match run_query(c, sql) {
            Ok(r) => panic!("{sql} ran: {r:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn a_repeated_column_is_renamed_to_a_name_no_column_has() {
        let c = db();
        let r = run_query(&c, "SELECT 'a' AS a, 'b' AS a, 'x' AS a_2, 'c' AS a").unwrap();
        assert_eq!(r.columns, ["a", "a_3", "a_2", "a_4"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["rows"][0]["a_2"], "x", "{json}");
        assert_eq!(json["rows"][0]["a_3"], "b", "{json}");
    }

    #[test]
    fn reads_run_and_writes_are_refused() {
        let c = db();
        let r = run_query(
            &c,
            "SELECT id, path, NULL AS n, x'00ff' AS b, 1.5 AS f, id AS id FROM projects",
        )
        .unwrap();
        assert_eq!(r.columns, ["id", "path", "n", "b", "f", "id_2"]);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"columns":["id","path","n","b","f","id_2"],"rows":[{"id":1,"path":"/p","n":null,"b":"00ff","f":1.5,"id_2":1}]}"#
        );
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
        run_query(&c, "PRAGMA user_version").unwrap();
        // (journal_mode without a value reads it, though SQLite does not
        // call it read-only; with one it is refused)
        assert_eq!(run_query(&c, "pragma journal_mode;").unwrap().rows.len(), 1);
        assert!(refused(&c, "PRAGMA journal_mode = delete").contains("PRAGMA journal_mode"));
        run_query(&c, "PRAGMA table_info(projects)").unwrap();
        run_query(&c, "SELECT name FROM pragma_table_info('projects')").unwrap();
        run_query(&c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n")
            .unwrap();
        assert_eq!(
            run_query(&c, "SELECT count(*) FROM projects").unwrap().rows,
            vec![vec![Cell::Integer(1)]]
        );
    }
}
