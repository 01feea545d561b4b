//! One file per subcommand: glue from its Args to the domain modules and
//! the output.

pub mod ingest;
pub mod status;

use anyhow::{Context, Result};

use crate::config::Settings;
use crate::pricing::PriceTable;

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
