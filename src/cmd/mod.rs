//! One file per subcommand: glue from its Args to the domain modules and
//! the output.

pub mod backup;
pub mod blocks;
pub mod budget;
pub mod commands;
pub mod completions;
pub mod config;
pub mod cost;
pub mod export;
pub mod files;
pub mod forget;
pub mod hooks;
pub mod ingest;
pub mod pricing;
pub mod query;
pub mod sessions;
pub mod setup;
pub mod show;
pub mod status;
pub mod statusline;
pub mod tools;
pub mod watch;

use anyhow::{Context, Result, bail};

use crate::cli::FilterArgs;
use crate::config::Settings;
use crate::ingest::Options;
use crate::output;
use crate::output::progress::IngestProgress;
use crate::pricing::PriceTable;
use crate::report::{self, TimeRange, Zone};
use crate::store::{Store, StoreError};

/// The effective price table: the built-in one, with the user's override.
pub fn price_table(settings: &Settings) -> Result<PriceTable> {
    table_with(settings.pricing_override.as_deref())
}

/// The price table stored costs are kept in: the one in effect without a
/// `--pricing` flag (which prices only its own command's output).
pub fn stored_price_table(settings: &Settings) -> Result<PriceTable> {
    table_with(settings.stored_pricing.as_deref())
}

/// The table a command that stores costs stores them with (`ingest`,
/// `watch`, `reprice`): the stored costs' table, whatever `--pricing` says
/// (it prices a report's output only), and a warning when it was given.
pub fn storing_price_table(settings: &Settings, command: &str) -> Result<PriceTable> {
    pricing_flag_unused(settings, &format!("`observatory {command}` stores costs"));
    stored_price_table(settings)
}

/// Say that a `--pricing` flag given to a command that does not price with
/// it (it stores costs, or reads the stored ones) changes nothing there:
/// "`{what}` with the price table in effect without it".
pub fn pricing_flag_unused(settings: &Settings, what: &str) {
    if settings.pricing_override != settings.stored_pricing && !settings.quiet {
        crate::output::style::warn(format_args!(
            "--pricing prices a report's output only: {what} with \
             the price table in effect without it (pricing.toml in the config dir, \
             OBSERVATORY_PRICING or the config file's `pricing`)"
        ));
    }
}

fn table_with(file: Option<&std::path::Path>) -> Result<PriceTable> {
    let table = PriceTable::builtin()
        .context("the built-in price table is invalid (a bug: please report it)")?;
    match file {
        Some(path) => table.with_override_file(path).with_context(|| {
            format!(
                "cannot use the price table {}; fix it (or, for one report, pass another with --pricing)",
                path.display()
            )
        }),
        None => Ok(table),
    }
}

/// A command line that cannot run as given (a bad date or zone, two
/// outputs at once): `main` exits 2 for it, as for clap's own usage errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// The zone of a command's `--tz`, else of `timezone` in the config. The
/// local zone from a `TZ` that names no zone is UTC: a warning says so.
pub fn zone(flag: Option<&str>, settings: &Settings) -> Result<Zone> {
    let zone = Zone::parse(flag.unwrap_or(&settings.tz)).map_err(usage)?;
    if matches!(zone, Zone::Local)
        && !settings.quiet
        && let Some(tz) = crate::report::unknown_tz(std::env::var("TZ").ok().as_deref())
    {
        crate::output::style::warn(format_args!(
            "TZ={tz:?} names no time zone this system knows, so days are cut in UTC; \
             set TZ to an IANA name (Europe/Paris) or pass --tz"
        ));
    }
    Ok(zone)
}

/// The zone and UTC range of `--tz`, `--since`, `--until`.
pub fn resolve_filter(f: &FilterArgs, settings: &Settings) -> Result<(Zone, TimeRange)> {
    let zone = zone(f.tz.as_deref(), settings)?;
    let today = zone.date(report::now_ms());
    let day = |s: &Option<String>| -> Result<_> {
        s.as_deref()
            .map(|s| report::parse_day(s, today))
            .transpose()
            .map_err(usage)
    };
    let (since, until) = (day(&f.since)?, day(&f.until)?);
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(usage(format!(
            "--since {s} is after --until {u}: nothing to show"
        )));
    }
    let range = TimeRange::new(since, until, &zone);
    Ok((zone, range))
}

/// The store, to write into: refused up front, with what to do, when the
/// database or its folder is read-only (rather than failing mid-ingest).
pub fn writable_store(settings: &Settings) -> Result<Store> {
    check_db_folder(settings)?;
    Store::check_writable(&settings.db)?;
    let store = Store::open(&settings.db)?;
    if store.is_read_only() {
        return Err(StoreError::ReadOnly {
            path: settings.db.clone(),
        }
        .into());
    }
    Ok(store)
}

/// Where the database path came from, if someone gave it (a flag,
/// OBSERVATORY_DB, the config file) rather than observatory's own default.
pub fn given_db_source(settings: &Settings) -> Option<&crate::config::Source> {
    use crate::config::Source;
    settings.source_of("db").filter(|source| {
        !(matches!(source, Source::Default)
            || matches!(source, Source::Env(v) if v == "OBSERVATORY_HOME"))
    })
}

/// A database path someone gave must be in a folder that exists: creating
/// every missing folder would scatter folders for a typo (observatory's
/// own data folder is created as needed).
pub fn check_db_folder(settings: &Settings) -> Result<()> {
    let Some(source) = given_db_source(settings) else {
        return Ok(());
    };
    let Some(dir) = settings.db.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "the folder {} of the database {} (from {}) does not exist: check the path, or create the folder first",
            dir.display(),
            settings.db.display(),
            source.describe()
        );
    }
    Ok(())
}

/// A report about to create the database at a path someone gave says so:
/// a typo in it would otherwise make a new database in silence and show
/// $0.00.
fn note_new_database(settings: &Settings) -> Result<()> {
    check_db_folder(settings)?;
    // (one that cannot be made there is refused next, and says why: not
    // said to be made first)
    let folder = match settings.db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if settings.quiet || settings.db.exists() || !folder_writable(folder) {
        return Ok(());
    }
    let Some(source) = given_db_source(settings) else {
        return Ok(());
    };
    crate::output::style::warn(format_args!(
        "no database at {} (from {}): creating it",
        settings.db.display(),
        source.describe()
    ));
    Ok(())
}

/// This user may make files in the folder `dir` (access(2): its
/// permissions for this user, a read-only mount).
fn folder_writable(dir: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(dir.as_os_str().as_bytes())
        .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0)
}

/// The store, brought up to date for a report: an incremental ingest
/// (unless `no_ingest`), and stored costs re-priced if the table changed.
/// With `no_ingest`, a read-only database is read as it is.
///
/// `prices` is the table the report prices with. When it is not the stored
/// costs' table (a `--pricing` flag), the store comes back inside a
/// transaction that re-priced every response with it and that is never
/// committed: the report reads its figures, then calls
/// `Store::end_what_if` before it prints (that rolls it back); everything
/// else (`query`, the status line, the next report) reads the stored
/// prices. So a report must not write what it wants kept.
pub fn fresh_store(settings: &Settings, prices: &PriceTable, no_ingest: bool) -> Result<Store> {
    // (a stored table that does not load: the flag's table is stored, as
    // before; the next run without the flag says what is wrong with it)
    let stored = if !pricing_flag(settings) {
        None
    } else {
        stored_price_table(settings)
            .ok()
            .filter(|t| t.fingerprint() != prices.fingerprint())
    };
    let kept_in = stored.as_ref().unwrap_or(prices);
    let mut store = up_to_date_store(settings, Some(kept_in), no_ingest)?;
    // (nothing to price in an empty stand-in, and no lock file to make)
    if stored.is_some() && settings.db.exists() {
        price_for_this_command(&mut store, settings, prices)?;
    }
    Ok(store)
}

/// A `--pricing` file other than the stored costs' was given: a report may
/// price with it in a what-if (see [`fresh_store`]).
fn pricing_flag(settings: &Settings) -> bool {
    settings.stored_pricing != settings.pricing_override
}

/// Refuse to read a database whose first load is marked (`status`,
/// `query`): its tables are incomplete, and without its journal it may
/// even read as damaged, while it is being loaded or after a load that did
/// not finish (which the next ingest throws away and starts over).
pub fn refuse_unfinished_first_load(settings: &Settings) -> Result<()> {
    let db = &settings.db;
    if crate::store::first_load_marked(db) && crate::ingest::ingest_running(db) {
        anyhow::bail!(
            "{}: its first ingest is under way, and its tables are incomplete until it ends: run this again then",
            db.display()
        );
    }
    refuse_abandoned_first_load(settings)
}

/// `path` as one shell word: as it is if nothing in it is special, else
/// in single quotes.
pub fn shell_word(path: &std::path::Path) -> String {
    let s = path.to_string_lossy();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The database opened read-only, for a command that only reads it; one
/// an older observatory wrote is upgraded where it can be, else refused,
/// saying how (a read-only connection cannot read an older schema's tables
/// as this binary names them).
pub fn reading_store(settings: &Settings) -> Result<Store> {
    let store = Store::open_read_only(&settings.db)?;
    let version = store.user_version()?;
    if version >= crate::store::SCHEMA_VERSION {
        return Ok(store);
    }
    drop(store);
    if !crate::store::file_writable(&settings.db) {
        bail!(older_schema(settings, version));
    }
    match Store::open(&settings.db) {
        // (its folder, or its -wal or -shm, is read-only: named)
        Err(e @ StoreError::ReadOnly { .. }) => bail!(older_schema_beside(settings, version, &e)),
        other => Ok(other?),
    }
}

/// Why a database of schema `version` (older than this build's) is not
/// read where it cannot be written: its tables are not the ones reports read.
fn older_schema(settings: &Settings, version: i64) -> String {
    format!(
        "{} was written by an older observatory (schema {version}) and cannot be \
         upgraded here: make it writable (chmod u+w) and run `observatory ingest`",
        settings.db.display()
    )
}

/// [`older_schema`], the file itself writable: `e` names what is not (its
/// folder, its -wal or -shm).
fn older_schema_beside(settings: &Settings, version: i64, e: &StoreError) -> String {
    format!(
        "{} was written by an older observatory (schema {version}) and cannot be \
         upgraded here: {e}; then run `observatory ingest`",
        settings.db.display()
    )
}

/// Refuse to open a database whose first load did not finish (marker, no
/// ingest running) for a command that does not ingest (`--no-ingest`
/// reports, `export`, `backup`): opening it would start it over, an empty
/// database written by a command told only to read. (One under way is
/// waited for by `Store::open`.)
pub fn refuse_abandoned_first_load(settings: &Settings) -> Result<()> {
    let db = &settings.db;
    if !crate::store::first_load_marked(db) || crate::ingest::ingest_running(db) {
        return Ok(());
    }
    anyhow::bail!(
        "{}: the first ingest into it did not finish (interrupted or failed), so what it stored is not kept: the next `observatory ingest` starts the database over and reads every transcript again (no backup to restore)",
        db.display()
    );
}

/// The store for a report that shows no money (`tools`, `hooks`, `files`,
/// `commands`): its own ingest stores costs with the stored costs' table,
/// as `ingest` does (a `--pricing` what-if has nothing to price here), and
/// with `--no-ingest` no price file is read: a broken one stops only what
/// prices.
pub fn moneyless_store(settings: &Settings, no_ingest: bool) -> Result<Store> {
    if no_ingest {
        // (nor are the stored costs re-priced: this report reads none)
        return up_to_date_store(settings, None, true);
    }
    up_to_date_store(settings, Some(&stored_price_table(settings)?), false)
}

/// [`fresh_store`], with the report's reads (`read`) started early when
/// `early` (see [`read_early`]: worth it for reads that take longer than
/// the second thread costs). Never with a `--pricing` what-if: its prices
/// are never committed, so a connection of its own would not see them.
pub fn fresh_report<T: Send>(
    settings: &Settings,
    prices: &PriceTable,
    no_ingest: bool,
    early: bool,
    read: impl Fn(&rusqlite::Connection) -> Result<T> + Sync,
) -> Result<(Store, T)> {
    let early = early && !pricing_flag(settings);
    read_early(
        settings,
        early && !no_ingest,
        || fresh_store(settings, prices, no_ingest),
        read,
    )
}

/// [`moneyless_store`], with the report's reads started early: see
/// [`read_early`].
pub fn moneyless_report<T: Send>(
    settings: &Settings,
    no_ingest: bool,
    read: impl Fn(&rusqlite::Connection) -> Result<T> + Sync,
) -> Result<(Store, T)> {
    read_early(
        settings,
        !no_ingest,
        || moneyless_store(settings, no_ingest),
        read,
    )
}

/// The store `open` returns (after the report's own ingest) and what
/// `read` reads from it. With `early`, `read` starts at once on a
/// read-only connection of its own, on a second thread, while `open` looks
/// for new lines (on a repeat run mostly stat calls that find nothing:
/// ~15 ms on the benchmark corpus). When nothing was committed to the
/// database from before it began until `open` ended (`PRAGMA
/// data_version` unchanged: by this run's ingest or by any other process)
/// and the database is still the file it opened, it read what it would
/// have read after the ingest, and that is the report; else, or if it
/// failed, `read` runs again on the store (so an error is always the
/// store's). When the ingest changed anything, the early reads are
/// interrupted rather than waited for. Not worth it for reads of a few
/// ms: the two threads slow each other on this two-core machine (the
/// check ~3 ms slower beside a thread that only spins).
fn read_early<T: Send>(
    settings: &Settings,
    early: bool,
    open: impl FnOnce() -> Result<Store>,
    read: impl Fn(&rusqlite::Connection) -> Result<T> + Sync,
) -> Result<(Store, T)> {
    let db = &settings.db;
    // (not while a first load is marked: the ingest deletes that file and
    // starts over, or waits for another process's load to end)
    let early = early
        && db.exists()
        && crate::store::file_writable(db)
        && !crate::store::first_load_marked(db);
    // (on the store, after its ingest)
    let read_store = |store: Store| -> Result<(Store, T)> {
        store.small_cache();
        let value = read(&store.conn)?;
        Ok((store, value))
    };
    if !early {
        return read_store(open()?);
    }
    let file = || crate::paths::file_at(db);
    let data_version = |c: &rusqlite::Connection| -> Option<i64> {
        c.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
    };
    let opened = file();
    // (set: the early reads are to stop, at their next SQLite step)
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|scope| {
        let read = &read;
        let stopped = std::sync::Arc::clone(&stop);
        // (the main thread's stack size: a report reads as deep there)
        let early = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(scope, move || {
                let mut reader = Store::open_read_only(db).ok()?;
                reader.small_cache();
                // (the file it has open is the one the path named before;
                // and it holds transcripts: an empty database may be about
                // to take a first load, which needs no other connection
                // open, see `FirstLoad::begin`, and has nothing to read)
                let holds: bool = reader
                    .conn
                    .query_row("SELECT EXISTS (SELECT 1 FROM source_files)", [], |r| {
                        r.get(0)
                    })
                    .ok()?;
                if file() != opened || !holds {
                    return None;
                }
                let stop = move || stopped.load(std::sync::atomic::Ordering::Relaxed);
                reader.conn.progress_handler(1000, Some(stop)).ok()?;
                let before = data_version(&reader.conn)?;
                let value = read(&reader.conn).ok()?;
                Some((reader, before, value))
            })
            // (no thread to be had: the reads wait for the ingest)
            .ok();
        let store = open();
        // (the ingest changed something, or failed: what the early reads
        // read is not the report, so they need not go on)
        let changed = store.as_ref().map_or(true, |s| s.conn.total_changes() > 0);
        if changed {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        // (a panic there is a failed read: the store's read says it again)
        let early = early.and_then(|early| early.join().ok().flatten());
        let store = store?;
        if let Some((reader, before, value)) = early
            && !changed
            && data_version(&reader.conn) == Some(before)
            && file() == opened
        {
            return Ok((store, value));
        }
        read_store(store)
    })
}

/// Re-price every response with `prices` in a transaction left open (it
/// rolls back when the store closes). The ingest lock is held as long:
/// another ingest (a report's, `watch`'s) waits as for any ingest, and the
/// status line skips its own, rather than failing on the write lock this
/// transaction holds.
fn price_for_this_command(
    store: &mut Store,
    settings: &Settings,
    prices: &PriceTable,
) -> Result<()> {
    let refused = |why: &str| {
        anyhow::anyhow!(
            "cannot price this report with --pricing: {} {why}; run it without --pricing \
             to see the stored costs",
            settings.db.display()
        )
    };
    if store.is_read_only() {
        return Err(refused("is read-only"));
    }
    let lock = crate::ingest::IngestLock::acquire(&store.path)?;
    let conn = &store.conn;
    // (re-summing the rollups sorts every response: on disk past the cache,
    // as an ingest's re-sum does; the pragma cannot change in a transaction)
    conn.execute_batch("PRAGMA temp_store = FILE; BEGIN IMMEDIATE")
        .map_err(|e| match is_read_only_error(&e) {
            true => refused("is read-only"),
            false => anyhow::Error::new(e).context("pricing stored responses with --pricing"),
        })?;
    match crate::ingest::reprice_all(conn, prices) {
        Ok(()) => {
            store.held = Some(lock);
            Ok(())
        }
        Err(e) if is_read_only_error(&e) => Err(refused("is read-only")),
        Err(e) => Err(e).context("pricing stored responses with --pricing"),
    }
}

/// The transcript folders were named (--claude-dir, CLAUDE_CONFIG_DIR, the
/// config's `roots`...), not the defaults: none holding transcripts is a
/// mistake a script must see (exit 1), while the default folders missing is
/// a machine without Claude Code.
pub fn roots_named(settings: &Settings) -> bool {
    !matches!(
        settings.source_of("roots"),
        Some(crate::config::Source::Default) | None
    )
}

/// What to do when the folders named hold no transcripts.
pub const POINT_AT_THEM: &str =
    "Point observatory at them with --claude-dir DIR or CLAUDE_CONFIG_DIR=DIR[,DIR...].";

/// None of the transcript folders holds transcripts, each with why (it does
/// not exist, has no projects/ folder, ...).
pub fn no_transcripts_in(settings: &Settings) -> String {
    let folders: Vec<String> = settings
        .roots
        .iter()
        .map(|r| {
            format!(
                "{} ({})",
                r.given.display(),
                crate::paths::why_nothing(&r.given)
            )
        })
        .collect();
    format!("no Claude Code transcripts in {}.", folders.join(", "))
}

/// `prices`: the table stored costs are kept in, to re-price them when it
/// changed; None only with `no_ingest`, for a report that reads no cost.
fn up_to_date_store(
    settings: &Settings,
    prices: Option<&PriceTable>,
    no_ingest: bool,
) -> Result<Store> {
    if no_ingest && crate::store::no_database_yet(&settings.db) {
        // nothing to read and told not to ingest: an empty report, no file
        // made (an empty one left as it is)
        check_db_folder(settings)?;
        if !settings.quiet {
            crate::output::style::warn(format_args!(
                "no database at {} yet: nothing has been ingested (run `observatory ingest`, or drop --no-ingest)",
                settings.db.display()
            ));
        }
        return Ok(Store::empty_in_memory(&settings.db)?);
    }
    if no_ingest {
        refuse_abandoned_first_load(settings)?;
    }
    let nothing_to_read = !settings.roots.iter().any(|r| r.projects.is_some());
    // (folders named, none of them there: a typo, refused as ingest refuses
    // it, rather than a report of nothing that exits 0. One there without
    // projects/ is warned of: its database may hold what Claude Code has
    // since deleted, and an upgrade's rebuild runs all the same)
    if nothing_to_read
        && !no_ingest
        && roots_named(settings)
        && settings.roots.iter().all(|r| {
            // (one that cannot be looked at is not a typo: warned of below)
            std::fs::metadata(&r.given).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        })
    {
        bail!(
            "{} {} Or add --no-ingest to read the database as it is.",
            no_transcripts_in(settings),
            POINT_AT_THEM
        );
    }
    note_new_database(settings)?;
    if nothing_to_read && !no_ingest && !settings.quiet {
        // (each root as `ingest` says it: missing, or without projects/)
        let roots: Vec<String> = settings
            .roots
            .iter()
            .map(|r| {
                let why = if r.given.exists() {
                    "has no projects/ folder"
                } else {
                    "does not exist"
                };
                format!("{} {why}", r.given.display())
            })
            .collect();
        crate::output::style::warn(format_args!(
            "no Claude Code transcripts found ({}): nothing new was read; `observatory ingest` says where it looked",
            roots.join(", ")
        ));
    }
    if no_ingest || nothing_to_read {
        // a database we cannot write is only read (and left as it is)
        let read_only = settings.db.exists() && !crate::store::file_writable(&settings.db);
        // (one of an older schema cannot be upgraded there, and is refused)
        let store = if read_only {
            reading_store(settings)?
        } else {
            match Store::open(&settings.db) {
                Err(StoreError::ReadOnly { .. }) => reading_store(settings)?,
                other => other?,
            }
        };
        // An upgrade left the derived tables to rebuild from the stored raw
        // lines: an ingest does that even with no transcripts left to read
        // (a report would otherwise show them empty)
        let pending = store.meta_get("rebuild_pending")?.is_some();
        if let Some(prices) = prices
            && pending
            && !no_ingest
            && !store.is_read_only()
        {
            drop(store);
            return ingest_then_open(settings, prices);
        }
        ingest::warn_store(&store, settings);
        if pending {
            warn_pending_rebuild(settings);
        }
        let Some(prices) = prices else {
            return Ok(store);
        };
        match crate::ingest::reprice_if_needed(&store.conn, prices) {
            Ok(_) => {}
            Err(e) if store.is_read_only() || is_read_only_error(&e) => {
                if !settings.quiet {
                    crate::output::style::warn(format_args!(
                        "{} is read-only: costs are shown as priced when it was last written, \
                         not with the price table in effect now",
                        settings.db.display()
                    ));
                }
            }
            Err(e) => return Err(e).context("re-pricing stored responses"),
        }
        return Ok(store);
    }
    let prices = prices.context("an ingest needs the price table (a bug: please report it)")?;
    ingest_then_open(settings, prices)
}

/// A database whose tables await a rebuild (`rebuild_pending`) is read
/// without one: say that what it shows may be short.
pub fn warn_pending_rebuild(settings: &Settings) {
    if !settings.quiet {
        crate::output::style::warn(format_args!(
            "{} awaits a rebuild of its tables (after an upgrade or an interrupted rebuild): \
             figures may be missing until `observatory ingest` runs",
            settings.db.display()
        ));
    }
}

/// The store, after an ingest of the roots into it.
fn ingest_then_open(settings: &Settings, prices: &PriceTable) -> Result<Store> {
    let mut store = match writable_store(settings) {
        Err(e) if matches!(e.downcast_ref(), Some(StoreError::ReadOnly { .. })) => {
            // (--no-ingest reads it as it is, unless its schema is older)
            let version = Store::open_read_only(&settings.db).and_then(|s| s.user_version());
            let older = version
                .as_ref()
                .is_ok_and(|v| *v < crate::store::SCHEMA_VERSION);
            match (version, e.downcast_ref::<StoreError>()) {
                (Ok(v), Some(e)) if older && crate::store::file_writable(&settings.db) => {
                    bail!(older_schema_beside(settings, v, e))
                }
                (Ok(v), _) if older => bail!(older_schema(settings, v)),
                _ => bail!("{e}; or add --no-ingest to report what it holds"),
            }
        }
        other => other?,
    };
    ingest::warn_store(&store, settings);
    let mut progress = IngestProgress::new(settings.progress, settings.quiet, false);
    let result = crate::ingest::run(
        &mut store,
        &settings.roots,
        prices,
        &Options::default(),
        &mut progress,
    );
    progress.finish();
    result.with_context(|| {
        format!(
            "reading new transcript lines into {} (use --no-ingest to skip)",
            settings.db.display()
        )
    })?;
    store.fold_big_wal();
    Ok(store)
}

pub fn is_read_only_error(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly)
}

/// Warn of a `--project` or `--model` that matches nothing in the
/// database (`then` goes on the warning: what that means here).
pub fn warn_unmatched(
    conn: &rusqlite::Connection,
    project: Option<&str>,
    model: Option<&str>,
    then: &str,
) -> Result<()> {
    let unmatched = |flag: &str, text: &str, hint: &str| {
        crate::output::style::warn(format_args!(
            "{flag} {text:?} matches nothing in the database (see `observatory {hint}`){then}"
        ))
    };
    if let Some(p) = project
        && !report::cost::project_exists(conn, p)?
    {
        unmatched("--project", p, "cost --by-project");
    }
    if let Some(m) = model
        && !report::cost::model_exists(conn, m)?
    {
        unmatched("--model", m, "cost --by-model");
    }
    Ok(())
}

/// `--csv` and `--json` are two outputs: refuse both.
pub fn one_output(csv: bool, settings: &Settings) -> Result<()> {
    if csv && settings.json {
        return Err(usage(
            "--csv and --json are two different outputs: pick one",
        ));
    }
    Ok(())
}

/// Money for JSON: an exact decimal string, or null (no price).
pub fn usd_json(picousd: Option<i128>) -> serde_json::Value {
    match picousd {
        Some(c) => serde_json::Value::String(report::usd(c).to_string()),
        None => serde_json::Value::Null,
    }
}

/// Money for CSV: the exact decimal, empty when unknown.
pub fn usd_csv(picousd: Option<i128>) -> String {
    picousd
        .map(|c| report::usd(c).to_string())
        .unwrap_or_default()
}

/// Money for people: to the cent (or `money_decimals`), `<$0.01` for
/// less than half a cent, `-` when unknown.
pub fn money(picousd: Option<i128>) -> String {
    money_dp(picousd, crate::output::style::current().money_decimals)
}

/// Money for people of a sum some of whose responses have no price: `*`
/// after it when it leaves some out (`-` when it is all unpriced).
pub fn money_part(picousd: Option<i128>, unpriced: u64) -> String {
    let m = money(picousd);
    if picousd.is_some() && unpriced > 0 {
        m + "*"
    } else {
        m
    }
}

/// The note under a table that marked sums with `money_part`.
pub fn unpriced_note(unpriced: u64, width: Option<usize>) -> String {
    let note = format!(
        "* leaves out {} without a cost ({} tokens are counted): \
         `observatory pricing --check` names the models and says why",
        count(unpriced, "response", "responses"),
        if unpriced == 1 { "its" } else { "their" }
    );
    format!("{}\n", crate::output::wrap(&note, width))
}

fn money_dp(picousd: Option<i128>, dp: u32) -> String {
    // the smallest amount shown, in picoUSD
    let unit = 10_i128.pow(12 - dp.min(12));
    match picousd {
        None => "-".into(),
        Some(c) if c > 0 && c < unit / 2 => format!("<{}", cost::dollars_dp(unit, dp)),
        Some(c) => cost::dollars_dp(c, dp),
    }
}

/// A duration for people: 850ms, 2.5s, 2m 30s, 1h 05m, 3d 04h.
pub fn duration(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    if ms < 0 {
        return "-".into();
    }
    let s = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..10_000 => format!("{}.{}s", s, (ms % 1000) / 100),
        10_000..60_000 => format!("{s}s"),
        60_000..3_600_000 => format!("{}m {:02}s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Token counts for people: 950, 12.3k, 4.5M, 1.2B, 1.0T (the unit in
/// which the count, to one decimal, is under 1000: 999,960 is 1.0M).
pub fn tokens(n: u64) -> String {
    if n < 10_000 {
        return crate::output::thousands(n);
    }
    let (unit, size) = [("k", 1e3), ("M", 1e6), ("B", 1e9)]
        .into_iter()
        .find(|(_, size)| (n as f64 / size * 10.0).round() < 10_000.0)
        .unwrap_or(("T", 1e12));
    format!("{:.1}{unit}", n as f64 / size)
}

/// A time for people, in the zone: `2026-03-01 10:00`.
/// "1 session", "2 sessions" (digits grouped as elsewhere).
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        crate::output::thousands(n),
        if n == 1 { one } else { many }
    )
}

pub fn when(zone: &Zone, ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), |t| zone.format(t, "%Y-%m-%d %H:%M"))
}

/// A time for JSON (RFC 3339, UTC) or null.
pub fn at_json(ms: Option<i64>) -> serde_json::Value {
    ms.map_or(serde_json::Value::Null, |t| report::rfc3339(t).into())
}

/// At most `n` terminal columns on one line, `…` when cut.
pub fn clip(s: &str, n: usize) -> String {
    let one_line = one_line(s);
    match n {
        0 if output::fits(&one_line, 0) => one_line,
        0 => format!("{}…", output::head_columns(&one_line, 0)),
        n => output::short_to(&one_line, n - 1),
    }
}

/// At most `n` terminal columns on one line, cut in the middle (`…`): for
/// commands, whose ends tell them apart (`"${ROOT}/…/hook.sh" start`).
pub fn clip_middle(s: &str, n: usize) -> String {
    let one_line = one_line(s);
    if output::fits(&one_line, n) {
        return one_line;
    }
    let tail = n.saturating_sub(1) / 2;
    let head = n.saturating_sub(1) - tail;
    format!(
        "{}…{}",
        output::head_columns(&one_line, head),
        output::tail_columns(&one_line, tail)
    )
}

/// A path as stored (a path that is not UTF-8 as `bytes:` and escapes) as
/// people read it: its bytes that are not UTF-8 as `�`, control characters
/// shown, not sent (`table::visible`).
pub fn shown_path(stored: &str) -> String {
    output::table::visible(&crate::paths::from_stored(stored).to_string_lossy())
}

/// `s` on one line: control characters as spaces (a CRLF as one), ANSI
/// escapes dropped, bidirectional controls as `�` (as `table::visible`
/// shows them), trimmed.
fn one_line(s: &str) -> String {
    let mut one_line = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // an ANSI escape (CSI): drop it up to its final letter
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        one_line.push(if c.is_control() {
            ' '
        } else if output::table::is_bidi_control(c) {
            '�'
        } else {
            c
        });
    }
    one_line.trim().to_owned()
}

/// The last part of a project path (its folder name), for tables.
pub fn project_name(path: Option<&str>) -> String {
    match path {
        None => "-".into(),
        Some(p) => p
            .trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(p)
            .to_owned(),
    }
}

/// A report's `--session`, if given, resolved to its full id.
pub fn resolve_session_arg(
    conn: &rusqlite::Connection,
    want: Option<&str>,
) -> Result<Option<String>> {
    want.map(|s| resolve_session(conn, s)).transpose()
}

/// A session id, or the one session its prefix names (`show`, `export`,
/// `forget`, the reports' `--session`).
pub fn resolve_session(conn: &rusqlite::Connection, want: &str) -> Result<String> {
    let want = want.trim();
    if want.is_empty() {
        // (a usage error, as an empty `query` is: exit 2)
        return Err(usage(
            "give a session id or a prefix of one (see `observatory sessions`)",
        ));
    }
    match report::show::resolve(conn, want).context("looking up the session")? {
        report::show::Resolved::One(id) => Ok(id),
        report::show::Resolved::Unknown => {
            // (`sessions` lists subagents under their session, by agent id)
            let parents: Vec<String> = conn
                .prepare(
                    "SELECT DISTINCT session_id FROM sessions
                     WHERE agent_id != '' AND substr(agent_id, 1, length(?1)) = ?1",
                )?
                .query_map([want], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if let [parent] = parents.as_slice() {
                bail!(
                    "{want:?} is a subagent of session {parent}: give that session's id (`observatory show {parent}` shows the subagent's work in its timeline)"
                )
            }
            bail!("no session id starts with {want:?} (see `observatory sessions`)")
        }
        report::show::Resolved::Ambiguous(ids) => {
            let more = if ids.len() > 20 { "\n  ..." } else { "" };
            let list: Vec<&str> = ids.iter().take(20).map(String::as_str).collect();
            bail!(
                "{want:?} names more than one session; give more of the id:\n  {}{more}",
                list.join("\n  ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_one_shell_word() {
        use std::path::Path;
        assert_eq!(shell_word(Path::new("/home/u/.claude")), "/home/u/.claude");
        assert_eq!(
            shell_word(Path::new("/home/u/My Claude")),
            "'/home/u/My Claude'"
        );
        assert_eq!(shell_word(Path::new("/tmp/it's")), "'/tmp/it'\\''s'");
    }

    #[test]
    fn a_stored_path_is_shown_as_people_read_it() {
        use std::os::unix::ffi::OsStrExt;
        let stored = crate::paths::stored(std::path::Path::new(std::ffi::OsStr::from_bytes(
            b"/home/u/p/bad\xff\x1b[2J.jsonl",
        )));
        assert!(stored.starts_with("bytes:"), "{stored}");
        assert_eq!(shown_path(&stored), "/home/u/p/bad�␛[2J.jsonl");
        assert_eq!(shown_path("/home/u/p/s.jsonl"), "/home/u/p/s.jsonl");
    }

    /// A title on one line: escapes dropped, line ends as spaces, and a
    /// right-to-left override (no control character to Unicode) as `�`.
    #[test]
    fn a_clipped_title_is_one_line_and_sends_nothing_to_the_terminal() {
        let title = "hello \u{1b}[31mred\u{1b}[0m \u{202e}evil\r\nnext\u{85}c1";
        assert_eq!(clip(title, 100), "hello red �evil next c1");
    }

    #[test]
    fn human_formats() {
        assert_eq!(duration(Some(850)), "850ms");
        assert_eq!(duration(Some(2_500)), "2.5s");
        assert_eq!(duration(Some(30_000)), "30s");
        assert_eq!(duration(Some(150_000)), "2m 30s");
        assert_eq!(duration(Some(3_900_000)), "1h 05m");
        assert_eq!(duration(Some(90_000_000)), "1d 01h");
        assert_eq!(duration(None), "-");
        assert_eq!(tokens(9_999), "9,999");
        assert_eq!(tokens(12_345), "12.3k");
        assert_eq!(tokens(999_949), "999.9k");
        assert_eq!(tokens(999_960), "1.0M");
        assert_eq!(tokens(4_500_000_000), "4.5B");
        assert_eq!(tokens(1_004_000_000_000_000), "1004.0T");
        assert_eq!(tokens(2_500_000_000_000), "2.5T");
        assert_eq!(money(Some(1)), "<$0.01");
        assert_eq!(money(Some(0)), "$0.00");
        assert_eq!(money(Some(5_000_000_000)), "$0.01");
        assert_eq!(money(None), "-");
        assert_eq!(money_dp(Some(1), 0), "<$1");
        assert_eq!(money_dp(Some(400_000_000), 3), "<$0.001");
        assert_eq!(money_dp(Some(500_000_000), 3), "$0.001");
        assert_eq!(clip("a\nbcdef", 4), "a b…");
        assert_eq!(clip("set \u{1b}[1mopus\u{1b}[22m", 20), "set opus");
        // commands keep both ends: two hooks of one script stay two
        assert_eq!(
            clip_middle(
                "\"${CLAUDE_PLUGIN_ROOT}/scripts/clmail.cmd\" actor start",
                30
            ),
            "\"${CLAUDE_PLUGI…d\" actor start"
        );
        assert_eq!(clip_middle("a\nb", 30), "a b");
        assert_eq!(clip_middle("abcdef", 5), "ab…ef");
        // by columns, never between a letter and its accent
        assert_eq!(
            clip_middle(&"e\u{301}".repeat(10), 5),
            "e\u{301}e\u{301}…e\u{301}e\u{301}"
        );
        assert_eq!(clip_middle(&"日本語".repeat(4), 9), "日本…本語");
        assert_eq!(clip("一行目\r\n二行目", 20), "一行目 二行目");
        assert_eq!(project_name(Some("/home/u/app/")), "app");
    }
}
