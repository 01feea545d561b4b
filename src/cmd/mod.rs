//! One file per subcommand: glue from its Args to the domain modules and
//! the output.

pub mod cost;
pub mod ingest;
pub mod pricing;
pub mod status;

use anyhow::{Context, Result};

use crate::cli::FilterArgs;
use crate::config::Settings;
use crate::ingest::Options;
use crate::output::progress::IngestProgress;
use crate::pricing::PriceTable;
use crate::report::{self, TimeRange, Zone};
use crate::store::Store;

/// The effective price table: the built-in one, with the user's override.
pub fn price_table(settings: &Settings) -> Result<PriceTable> {
    let table = PriceTable::builtin()
        .context("the built-in price table is invalid (a bug: please report it)")?;
    match &settings.pricing_override {
        Some(path) => table.with_override_file(path).with_context(|| {
            format!(
                "cannot use the price table {}; fix it or pass another --pricing",
                path.display()
            )
        }),
        None => Ok(table),
    }
}

/// The zone and UTC range of `--tz`, `--since`, `--until`.
pub fn resolve_filter(f: &FilterArgs) -> Result<(Zone, TimeRange)> {
    let zone = Zone::parse(&f.tz).map_err(anyhow::Error::msg)?;
    let today = zone.date(report::now_ms());
    let day = |s: &Option<String>| -> Result<_> {
        s.as_deref()
            .map(|s| report::parse_day(s, today))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    let (since, until) = (day(&f.since)?, day(&f.until)?);
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        anyhow::bail!("--since {s} is after --until {u}: nothing to show");
    }
    let range = TimeRange::new(since, until, &zone);
    Ok((zone, range))
}

/// The store, brought up to date for a report: an incremental ingest
/// (unless `no_ingest`), and stored costs re-priced if the table changed.
pub fn fresh_store(settings: &Settings, prices: &PriceTable, no_ingest: bool) -> Result<Store> {
    let mut store = Store::open(&settings.db)?;
    ingest::warn_store(&store, settings);
    if no_ingest || !settings.roots.iter().any(|r| r.projects.is_some()) {
        crate::ingest::reprice_if_needed(&store.conn, prices)
            .context("re-pricing stored responses")?;
        return Ok(store);
    }
    let mut progress = IngestProgress::new(settings.progress, settings.quiet);
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
    Ok(store)
}
