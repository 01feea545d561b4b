//! The price-table loader never panics on any text, and a table it accepts
//! prices any usage without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/pricing.rs"]
mod pricing;

/// Parsed once: loading the 24-entry built-in table on every run would
/// dominate the time.
static BUILTIN: std::sync::OnceLock<pricing::PriceTable> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let usage = pricing::Usage {
        input_tokens: 250_000,
        output_tokens: 1_000,
        cache_creation_5m_tokens: 10,
        cache_creation_1h_tokens: 20,
        cache_read_tokens: 30,
        web_search_requests: 2,
        fast: true,
        us_only: true,
    };
    // 2026-02-20 00:00 UTC, and either side of the end of Opus 4.6's fast
    // launch discount (2026-02-17 08:00 UTC)
    let times = [1_771_545_600_000, 1_771_315_199_999, 1_771_315_200_000];
    let date = Some(times[0]);
    if let Ok(t) = pricing::PriceTable::from_toml_str(text, "fuzz.toml") {
        for e in t.entries() {
            for at in times {
                let _ = t.try_cost(&e.id, Some(at), &usage);
            }
            let _ = t.try_cost(&e.id, None, &usage);
            // (a Bedrock regional id: the regional multiplier too)
            let _ = t.try_cost(&format!("us.anthropic.{}", e.id), date, &usage);
        }
    }
    let builtin = BUILTIN.get_or_init(|| pricing::PriceTable::builtin().expect("built-in table"));
    if let Ok(t) = builtin.clone().with_override_str(text, "fuzz.toml") {
        let _ = t.cost("claude-opus-4-6", date, &usage);
    }
});
