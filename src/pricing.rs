//! Exact prices for Claude API responses.
//!
//! The price table is `pricing.toml` (embedded with `include_str!`), optionally
//! extended or overridden by a user file of the same schema. Prices are TOML
//! strings parsed straight into [`Decimal`] (USD per million tokens); a cost is
//! an integer number of picoUSD (10^-12 USD). Loading checks that every
//! per-token rate, under every combination of fast mode, long context and
//! US-only inference that can occur, is a whole number of picoUSD, so
//! [`PriceTable::cost`] is exact integer arithmetic.
//!
//! No floating point anywhere. This module never prints.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The embedded price table.
const BUILTIN_TOML: &str = include_str!("../pricing.toml");

/// The origin reported for builtin entries (in errors and [`EntryInfo::origin`]).
pub const BUILTIN_ORIGIN: &str = "builtin";

/// 1 $/MTok is 10^-6 USD per token, that is 10^6 picoUSD per token.
const PICO_PER_TOKEN_PER_USD_PER_MTOK: i64 = 1_000_000;

/// picoUSD in one USD.
const PICO_PER_USD: i64 = 1_000_000_000_000;

/// Bumped whenever the pricing rules in code change, so stored costs get re-priced.
const RULES_VERSION: &str = "observatory-pricing-rules/1";

/// Cloud region prefixes allowed before `anthropic.` (Bedrock cross-region ids).
const REGION_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "global.", "jp.", "au."];

/// The model id Claude Code writes for entries it made itself; never priced.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

// ------------------------------------------------------------------ public types

/// Figures of one de-duplicated API response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_5m_tokens: u64,
    pub cache_creation_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub web_search_requests: u64,
    /// `usage.speed == "fast"` on any line of the response.
    pub fast: bool,
    /// `usage.inference_geo == "us"` on any line of the response.
    pub us_only: bool,
}

impl Usage {
    /// Input, both cache writes and cache reads: what the long-context
    /// threshold is compared with. Summed in `u128`, so it cannot overflow.
    pub fn prompt_tokens(&self) -> u128 {
        u128::from(self.input_tokens)
            + u128::from(self.cache_creation_5m_tokens)
            + u128::from(self.cache_creation_1h_tokens)
            + u128::from(self.cache_read_tokens)
    }
}

/// The exact cost of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    /// Id of the price-table entry used.
    pub priced_as: String,
    /// 10^-12 USD, exact.
    pub picousd: i64,
}

impl Cost {
    /// The cost in USD, exact: `picousd` with scale 12 (trailing zeros kept;
    /// call `.normalize()` to drop them). Reports sum picoUSD and convert
    /// once (`report::usd`); this is for tests and single responses.
    #[cfg(test)]
    pub fn usd(&self) -> Decimal {
        Decimal::new(self.picousd, 12)
    }
}

/// picoUSD (10^-12) to an exact decimal in plain notation, trailing zeros
/// dropped: how every amount leaves observatory.
pub fn usd(picousd: i128) -> Decimal {
    Decimal::from_i128_with_scale(picousd, 12).normalize()
}

/// Why a table could not be loaded or a response could not be priced.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The user price file could not be read.
    #[error("cannot read price file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}:{line}: invalid TOML: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    /// The file is valid TOML but a value or key is wrong.
    #[error("{origin}:{line}: {key}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        key: String,
        message: String,
    },
    /// No entry prices this model (after normalisation and lookup).
    #[error("no price for model {model:?}")]
    UnknownModel { model: String },
    /// The cost of one response does not fit in an `i64` of picoUSD
    /// (about 9.2 million USD); only absurd token counts get here.
    #[error("cost of a {model:?} response overflows 64-bit picoUSD")]
    CostOverflow { model: String },
}

/// One entry of the table in effect, for `observatory pricing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Entry id (the `priced_as` value).
    pub id: String,
    pub aliases: Vec<String>,
    /// [`BUILTIN_ORIGIN`] or the path of the user file that defined the entry.
    pub origin: String,
    /// Eligible for the US-only inference multiplier.
    pub us_only: bool,
    /// Eligible for the regional multiplier (Bedrock regional ids).
    pub regional: bool,
    /// Standard rates, oldest period first.
    pub rates: Vec<RatePeriodInfo>,
    /// Fast-mode input/output rates (cache rates derive from them).
    pub fast: Vec<FastPeriodInfo>,
    pub long_context: Vec<LongContextInfo>,
}

/// Standard rates in force over a range of UTC dates (USD per million tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePeriodInfo {
    /// `None`: every date before the next period.
    pub from: Option<NaiveDate>,
    /// Inclusive; `None`: open-ended (the latest rates).
    pub until: Option<NaiveDate>,
    pub input: Decimal,
    pub output: Decimal,
    pub cache_write_5m: Decimal,
    pub cache_write_1h: Decimal,
    pub cache_read: Decimal,
}

/// Fast-mode rates (USD per million tokens) from / until inclusive bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastPeriodInfo {
    pub from: Option<Bound>,
    pub until: Option<Bound>,
    pub input: Decimal,
    pub output: Decimal,
}

/// A long-context tier: inclusive bounds, threshold and multipliers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongContextInfo {
    pub threshold: u64,
    pub from: Option<Bound>,
    pub until: Option<Bound>,
    pub input_multiplier: Decimal,
    pub output_multiplier: Decimal,
}

/// The global settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalsInfo {
    pub web_search_usd_per_request: Decimal,
    pub us_only_multiplier: Decimal,
    pub us_only_from: NaiveDate,
    pub regional_multiplier: Decimal,
}

/// A bound of a fast period or long-context tier, as written: a UTC date
/// (the whole day) or a time with its UTC offset (the whole minute, or
/// second, it names). `from` starts at a bound's first millisecond, `until`
/// ends after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Day(NaiveDate),
    Time {
        at: DateTime<FixedOffset>,
        /// Whether the seconds were written (else it names a whole minute).
        seconds: bool,
    },
}

const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the epoch of `d`'s midnight UTC.
fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

impl Bound {
    /// Its first millisecond (since the epoch, UTC).
    fn first_ms(&self) -> i64 {
        match self {
            Bound::Day(d) => day_start_ms(*d),
            Bound::Time { at, .. } => at.timestamp_millis(),
        }
    }

    /// Its last millisecond (since the epoch, UTC).
    fn last_ms(&self) -> i64 {
        match self {
            Bound::Day(_) => self.first_ms() + DAY_MS - 1,
            Bound::Time { seconds: true, .. } => self.first_ms() + 999,
            Bound::Time { seconds: false, .. } => self.first_ms() + 59_999,
        }
    }
}

impl std::fmt::Display for Bound {
    /// As TOML writes it: `2026-02-16`, `2026-02-16T23:59-08:00`,
    /// `2026-02-17T08:00:00Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Day(d) => write!(f, "{d}"),
            Bound::Time { at, seconds } => {
                let time = if *seconds { "%H:%M:%S" } else { "%H:%M" };
                write!(f, "{}", at.format(&format!("%Y-%m-%dT{time}")))?;
                match at.offset().local_minus_utc() {
                    0 => write!(f, "Z"),
                    _ => write!(f, "{}", at.format("%:z")),
                }
            }
        }
    }
}

// ----------------------------------------------------------------- internal types

/// Where a value was read: file, 1-based line, key path.
#[derive(Debug, Clone)]
struct Loc {
    origin: String,
    line: usize,
    key: String,
}

impl Loc {
    fn error(&self, message: impl Into<String>) -> PricingError {
        PricingError::Invalid {
            origin: self.origin.clone(),
            line: self.line,
            key: self.key.clone(),
            message: message.into(),
        }
    }
}

/// A decimal read from a file, with its location.
#[derive(Debug, Clone)]
struct Num {
    value: Decimal,
    loc: Loc,
}

/// A date read from a file, with its location.
#[derive(Debug, Clone)]
struct Day {
    value: NaiveDate,
    loc: Loc,
}

/// The five token categories, in any representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TokenRates<T> {
    input: T,
    output: T,
    cache_write_5m: T,
    cache_write_1h: T,
    cache_read: T,
}

impl<T> TokenRates<T> {
    fn map<U>(self, mut f: impl FnMut(T) -> U) -> TokenRates<U> {
        TokenRates {
            input: f(self.input),
            output: f(self.output),
            cache_write_5m: f(self.cache_write_5m),
            cache_write_1h: f(self.cache_write_1h),
            cache_read: f(self.cache_read),
        }
    }

    fn as_ref(&self) -> TokenRates<&T> {
        TokenRates {
            input: &self.input,
            output: &self.output,
            cache_write_5m: &self.cache_write_5m,
            cache_write_1h: &self.cache_write_1h,
            cache_read: &self.cache_read,
        }
    }

    /// (category name, value) pairs, in a fixed order.
    fn named(self) -> [(&'static str, T); 5] {
        [
            ("input", self.input),
            ("output", self.output),
            ("cache_write_5m", self.cache_write_5m),
            ("cache_write_1h", self.cache_write_1h),
            ("cache_read", self.cache_read),
        ]
    }
}

/// An inclusive range of instants (milliseconds since the epoch, UTC);
/// `None` bounds are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    from: Option<i64>,
    until: Option<i64>,
}

impl Window {
    /// Whether the window applies to a response at `at`. With no time
    /// (latest rates), only open-ended windows apply.
    fn applies(&self, at: Option<i64>) -> bool {
        match at {
            Some(t) => self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t <= u),
            None => self.until.is_none(),
        }
    }

    /// The overlap of two windows, `None` if they are disjoint.
    fn intersect(&self, other: &Window) -> Option<Window> {
        let from = match (self.from, other.from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (from, until) {
            (Some(f), Some(u)) if f > u => None,
            _ => Some(Window { from, until }),
        }
    }
}

#[derive(Debug, Clone)]
struct RatePeriod {
    from: Option<Day>,
    rates: TokenRates<Num>,
}

/// A fast period's or long-context tier's `from` and `until`, as written.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: Option<Bound>,
    until: Option<Bound>,
}

impl Span {
    fn window(&self) -> Window {
        Window {
            from: self.from.map(|b| b.first_ms()),
            until: self.until.map(|b| b.last_ms()),
        }
    }
}

#[derive(Debug, Clone)]
struct FastPeriod {
    /// Line of its `[[...fast]]` header, for messages.
    line: usize,
    span: Span,
    input: Num,
    output: Num,
}

#[derive(Debug, Clone)]
struct LongContextTier {
    /// Line of its `[[...long_context]]` header, for messages.
    line: usize,
    threshold: u64,
    span: Span,
    input_multiplier: Num,
    output_multiplier: Num,
}

#[derive(Debug, Clone)]
struct Alias {
    name: String,
    loc: Loc,
}

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    origin: String,
    /// The file the entry was written in (`origin` may say more after it).
    file: String,
    aliases: Vec<Alias>,
    us_only: bool,
    regional: bool,
    /// Oldest first; the first has no `from`, the others strictly increasing ones.
    rates: Vec<RatePeriod>,
    fast: Vec<FastPeriod>,
    long_context: Vec<LongContextTier>,
    /// The optional keys its file wrote (an override keeps the entry's
    /// other sections).
    given: Given,
}

/// Which optional keys of an entry its file wrote (`fast = []` is written:
/// it removes the sections an override would otherwise keep).
#[derive(Debug, Clone, Copy, Default)]
struct Given {
    aliases: bool,
    us_only: bool,
    regional: bool,
    fast: bool,
    long_context: bool,
}

impl Entry {
    /// This entry (from an override file) over `base`, the entry of the same
    /// id it replaces: what it does not write, `base` keeps.
    fn over(mut self, base: Entry) -> Entry {
        let mut kept = Vec::new();
        if !self.given.aliases && !base.aliases.is_empty() {
            self.aliases = base.aliases;
            kept.push("aliases");
        }
        if !self.given.us_only && base.us_only {
            self.us_only = base.us_only;
            kept.push("US-only");
        }
        if !self.given.regional && base.regional {
            self.regional = base.regional;
            kept.push("regional");
        }
        if !self.given.fast && !base.fast.is_empty() {
            self.fast = base.fast;
            kept.push("fast");
        }
        if !self.given.long_context && !base.long_context.is_empty() {
            self.long_context = base.long_context;
            kept.push("long context");
        }
        if !kept.is_empty() {
            self.origin = format!("{} ({} from {})", self.origin, kept.join(", "), base.origin);
        }
        self
    }

    /// The UTC dates over which rate period `i` is in force (inclusive).
    fn rate_dates(&self, i: usize) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let from = self.rates[i].from.as_ref().map(|d| d.value);
        let until = self
            .rates
            .get(i + 1)
            .and_then(|next| next.from.as_ref())
            .and_then(|d| d.value.pred_opt());
        (from, until)
    }

    /// The instants over which rate period `i` is in force.
    fn rate_window(&self, i: usize) -> Window {
        let (from, until) = self.rate_dates(i);
        Span {
            from: from.map(Bound::Day),
            until: until.map(Bound::Day),
        }
        .window()
    }

    /// The standard rates in force at `at`; the last period when `None`.
    fn rate_period(&self, at: Option<i64>) -> Option<&RatePeriod> {
        match at {
            None => self.rates.last(),
            Some(t) => self
                .rates
                .iter()
                .rev()
                .find(|p| p.from.as_ref().is_none_or(|f| day_start_ms(f.value) <= t)),
        }
    }

    fn fast_period(&self, at: Option<i64>) -> Option<&FastPeriod> {
        self.fast.iter().find(|f| f.span.window().applies(at))
    }

    fn long_context_tier(&self, at: Option<i64>) -> Option<&LongContextTier> {
        self.long_context
            .iter()
            .find(|t| t.span.window().applies(at))
    }
}

#[derive(Debug, Clone)]
struct Globals {
    web_search_usd_per_request: Num,
    us_only_multiplier: Num,
    us_only_from: Day,
    regional_multiplier: Num,
}

impl Globals {
    fn us_only_window(&self) -> Window {
        Window {
            from: Some(day_start_ms(self.us_only_from.value)),
            until: None,
        }
    }
}

/// Globals as read from one file; a user file may set any subset.
#[derive(Debug, Default)]
struct PartialGlobals {
    web_search_usd_per_request: Option<Num>,
    us_only_multiplier: Option<Num>,
    us_only_from: Option<Day>,
    regional_multiplier: Option<Num>,
}

/// One file, read but not yet merged or cross-checked.
#[derive(Debug)]
struct ParsedFile {
    globals: PartialGlobals,
    globals_loc: Loc,
    entries: Vec<Entry>,
}

/// The price table in effect: builtin entries, possibly overridden or
/// extended by a user file. Immutable once built; every rate combination has
/// been checked to be a whole number of picoUSD per token.
#[derive(Debug, Clone)]
pub struct PriceTable {
    globals: Globals,
    entries: BTreeMap<String, Entry>,
    /// alias -> entry id
    aliases: BTreeMap<String, String>,
    web_search_pico: i128,
}

// ------------------------------------------------------------------ normalisation

/// Normalise a model id as written in a transcript, in this order: trim;
/// delete `[1m]`; drop a leading `anthropic/`, then a leading `anthropic.`
/// with an optional region (`us.`, `eu.`, `apac.`, `global.`, `jp.`, `au.`)
/// before it; drop a trailing `-vN` or `-vN:M`; turn a trailing `@YYYYMMDD`
/// into `-YYYYMMDD`; in a `claude-` id, turn a dot between digits into a
/// hyphen (gateways write `claude-opus-4.6`).
pub fn normalize_model(id: &str) -> String {
    let id = normalize_prefixes(id);
    if !id.starts_with("claude-") || !id.contains('.') {
        return id;
    }
    let b = id.as_bytes();
    id.char_indices()
        .map(|(i, c)| {
            let between_digits =
                i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if c == '.' && between_digits { '-' } else { c }
        })
        .collect()
}

fn normalize_prefixes(id: &str) -> String {
    let without_1m = id.trim().replace("[1m]", "");
    let mut s: &str = &without_1m;
    if let Some(rest) = s.strip_prefix("anthropic/") {
        s = rest;
    }
    if let Some((_, rest)) = bedrock_parts(s) {
        s = rest;
    }
    s = strip_version_suffix(s);
    match s.rsplit_once('@') {
        Some((head, date)) if is_yyyymmdd(date) => format!("{head}-{date}"),
        _ => s.to_string(),
    }
}

/// A Bedrock id of a regional or multi-region endpoint (`us.anthropic.…`,
/// `eu.`, `apac.`, `jp.`, `au.`, or `anthropic.…` in one region), which
/// costs the regional multiplier over the global endpoint (`global.`). A
/// Vertex id (`…@date`) does not say its endpoint, nor a first-party one.
pub fn is_regional_id(id: &str) -> bool {
    let id = id.trim();
    let s = id.strip_prefix("anthropic/").unwrap_or(id);
    bedrock_parts(s).is_some_and(|(region, _)| region != Some("global."))
}

/// A Bedrock id's region prefix (`us.`, …, `global.`, or none) and what
/// follows its `anthropic.`; None for any other id.
fn bedrock_parts(s: &str) -> Option<(Option<&'static str>, &str)> {
    let (region, rest) = REGION_PREFIXES
        .iter()
        .find_map(|region| {
            s.strip_prefix(region)
                .filter(|rest| rest.starts_with("anthropic."))
                .map(|rest| (Some(*region), rest))
        })
        .unwrap_or((None, s));
    rest.strip_prefix("anthropic.").map(|rest| (region, rest))
}

/// Drop a trailing `-vN` or `-vN:M` (N, M one or more ASCII digits).
fn strip_version_suffix(s: &str) -> &str {
    let Some(pos) = s.rfind("-v") else {
        return s;
    };
    let tail = &s[pos + 2..];
    let (major, minor) = match tail.split_once(':') {
        Some((major, minor)) => (major, Some(minor)),
        None => (tail, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(major) && minor.is_none_or(digits) {
        &s[..pos]
    } else {
        s
    }
}

fn is_yyyymmdd(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `id` without a trailing `-YYYYMMDD`, if it has one.
fn strip_date_suffix(id: &str) -> Option<&str> {
    let (head, date) = id.rsplit_once('-')?;
    (is_yyyymmdd(date) && !head.is_empty()).then_some(head)
}

// ------------------------------------------------------------------ pricing

impl PriceTable {
    /// The embedded `pricing.toml`.
    pub fn builtin() -> Result<PriceTable, PricingError> {
        Self::from_toml_str(BUILTIN_TOML, BUILTIN_ORIGIN)
    }

    /// A table from one complete file (`[globals]` must set every key).
    /// `origin` names the file in errors and in [`EntryInfo::origin`].
    pub fn from_toml_str(text: &str, origin: &str) -> Result<PriceTable, PricingError> {
        let file = parse_file(text, origin)?;
        let globals = complete_globals(file.globals, &file.globals_loc)?;
        let entries = file
            .entries
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
        build(globals, entries)
    }

    /// This table, then the user file at `path`: each of its entries adds a
    /// new one, or replaces the rates of the entry of the same id and each
    /// optional key it writes (`aliases`, `us_only`, `fast`, `long_context`;
    /// `fast = []` removes them), keeping the others; each key it sets in
    /// `[globals]` replaces the current value. Aliases of other entries that
    /// the file now uses as an id or alias are dropped from those entries.
    /// On any error nothing is returned (never a half-read table).
    pub fn with_override_file(self, path: &Path) -> Result<PriceTable, PricingError> {
        let text = crate::paths::read_text(path).map_err(|source| PricingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.with_override_str(&text, &path.display().to_string())
    }

    /// [`PriceTable::with_override_file`] on text already read; `origin` names it.
    pub fn with_override_str(self, text: &str, origin: &str) -> Result<PriceTable, PricingError> {
        let mut file = parse_file(text, origin)?;
        // An entry written under an alias of an entry of this table is that
        // entry (`[models.claude-sonnet-4-5]` prices the dated id too).
        let mut written: BTreeMap<String, String> = BTreeMap::new();
        for e in &mut file.entries {
            let as_written = e.id.clone();
            if !self.entries.contains_key(&e.id)
                && let Some(owner) = self.aliases.get(&e.id)
            {
                e.id = owner.clone();
                e.origin = format!("{} (written as {as_written})", e.origin);
            }
            if let Some(first) = written.insert(e.id.clone(), as_written.clone()) {
                let header = |id: &str| format!("[models.{id}]");
                let line = text
                    .lines()
                    .position(|l| l.trim() == header(&as_written))
                    .map_or(1, |i| i + 1);
                return Err(PricingError::Invalid {
                    origin: origin.to_owned(),
                    line,
                    key: format!("models.{as_written}"),
                    message: format!(
                        "{as_written:?} and {first:?} name the same model ({}): keep one of them",
                        e.id
                    ),
                });
            }
        }
        let mut globals = self.globals;
        if let Some(v) = file.globals.web_search_usd_per_request {
            globals.web_search_usd_per_request = v;
        }
        if let Some(v) = file.globals.us_only_multiplier {
            globals.us_only_multiplier = v;
        }
        if let Some(v) = file.globals.us_only_from {
            globals.us_only_from = v;
        }
        if let Some(v) = file.globals.regional_multiplier {
            globals.regional_multiplier = v;
        }
        let claimed: BTreeSet<String> = file
            .entries
            .iter()
            .flat_map(|e| {
                std::iter::once(e.id.clone()).chain(e.aliases.iter().map(|a| a.name.clone()))
            })
            .collect();
        let mut entries = self.entries;
        for entry in entries.values_mut() {
            entry.aliases.retain(|a| !claimed.contains(&a.name));
        }
        for entry in file.entries {
            let entry = match entries.remove(&entry.id) {
                Some(base) => entry.over(base),
                None => entry,
            };
            entries.insert(entry.id.clone(), entry);
        }
        build(globals, entries)
    }

    /// The entry id that prices `model`, looking up the normalised id as an
    /// entry id, then as an alias, then without a trailing `-YYYYMMDD` as an
    /// id, then as an alias. `<synthetic>` and unknown models give `None`.
    pub fn resolve(&self, model: &str) -> Option<&str> {
        let id = normalize_model(model);
        if id.is_empty() || id == SYNTHETIC_MODEL {
            return None;
        }
        let find = |candidate: &str| -> Option<&str> {
            if let Some((key, _)) = self.entries.get_key_value(candidate) {
                return Some(key.as_str());
            }
            self.aliases.get(candidate).map(String::as_str)
        };
        // (an entry written with a gateway's dots, `claude-opus-4.6`, as a
        // price file could before dots became hyphens, is found as written)
        let as_written = normalize_prefixes(model);
        let lookup = |id: &str| find(id).or_else(|| strip_date_suffix(id).and_then(find));
        if as_written != id
            && let Some(found) = lookup(&as_written)
        {
            return Some(found);
        }
        lookup(&id)
    }

    /// `model` has a price and no fast-mode price at any date: a fast
    /// response of it is billed at standard rates for want of one (what
    /// `pricing --check` names; the rates of a fast period that ended are
    /// standard again, by Anthropic's rule, and not this).
    pub fn no_fast_price(&self, model: &str) -> bool {
        self.resolve(model)
            .and_then(|id| self.entries.get(id))
            .is_some_and(|e| e.fast.is_empty())
    }

    /// The exact cost of one response of `model` at `at` (milliseconds since
    /// the epoch, UTC), or `None` when the model has no price (or, for absurd
    /// token counts, when the cost overflows `i64` picoUSD;
    /// [`PriceTable::try_cost`] tells the two apart).
    ///
    /// `at == None` (no timestamp) prices at the latest rates: the last rate
    /// period, only fast periods and long-context tiers without an end date,
    /// and the US-only multiplier applies (to eligible models).
    pub fn cost(&self, model: &str, at: Option<i64>, usage: &Usage) -> Option<Cost> {
        self.try_cost(model, at, usage).ok()
    }

    /// [`PriceTable::cost`], saying why there is no cost:
    /// [`PricingError::UnknownModel`] or [`PricingError::CostOverflow`].
    pub fn try_cost(
        &self,
        model: &str,
        at: Option<i64>,
        usage: &Usage,
    ) -> Result<Cost, PricingError> {
        let unknown = || PricingError::UnknownModel {
            model: model.to_string(),
        };
        let overflow = || PricingError::CostOverflow {
            model: model.to_string(),
        };
        let id = self.resolve(model).ok_or_else(unknown)?;
        let entry = self.entries.get(id).ok_or_else(unknown)?;
        let period = entry.rate_period(at).ok_or_else(unknown)?;
        let fast = if usage.fast {
            entry.fast_period(at)
        } else {
            None
        };
        let long_context = entry
            .long_context_tier(at)
            .filter(|tier| usage.prompt_tokens() > u128::from(tier.threshold));
        let us_only = usage.us_only && entry.us_only && self.globals.us_only_window().applies(at);
        let regional = entry.regional && is_regional_id(model);
        let rates = self.pico_rates(entry, period, fast, long_context, us_only, regional)?;
        let tokens = TokenRates {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cache_write_5m: usage.cache_creation_5m_tokens,
            cache_write_1h: usage.cache_creation_1h_tokens,
            cache_read: usage.cache_read_tokens,
        };
        let mut total: i128 = i128::from(usage.web_search_requests)
            .checked_mul(self.web_search_pico)
            .ok_or_else(overflow)?;
        for ((_, count), (_, rate)) in tokens.named().into_iter().zip(rates.named()) {
            let part = i128::from(count).checked_mul(rate).ok_or_else(overflow)?;
            total = total.checked_add(part).ok_or_else(overflow)?;
        }
        let picousd = i64::try_from(total).map_err(|_| overflow())?;
        Ok(Cost {
            priced_as: entry.id.clone(),
            picousd,
        })
    }

    /// A stable digest of the effective table (FNV-1a 64 over a canonical
    /// dump, as 16 hex digits): equal tables give equal fingerprints on every
    /// run and platform; any change of a price, date, threshold, multiplier,
    /// id or alias changes it. Where an entry came from does not count, nor
    /// how a decimal is written (`"0.30"` = `"0.3"`).
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", fnv1a64(self.canonical_dump().as_bytes()))
    }

    /// Every entry in effect, sorted by id.
    pub fn entries(&self) -> Vec<EntryInfo> {
        self.entries
            .values()
            .map(|e| {
                let mut aliases: Vec<String> = e.aliases.iter().map(|a| a.name.clone()).collect();
                aliases.sort();
                EntryInfo {
                    id: e.id.clone(),
                    aliases,
                    origin: e.origin.clone(),
                    us_only: e.us_only,
                    regional: e.regional,
                    rates: (0..e.rates.len())
                        .map(|i| {
                            let (from, until) = e.rate_dates(i);
                            let r = &e.rates[i].rates;
                            RatePeriodInfo {
                                from,
                                until,
                                input: r.input.value,
                                output: r.output.value,
                                cache_write_5m: r.cache_write_5m.value,
                                cache_write_1h: r.cache_write_1h.value,
                                cache_read: r.cache_read.value,
                            }
                        })
                        .collect(),
                    fast: e
                        .fast
                        .iter()
                        .map(|f| FastPeriodInfo {
                            from: f.span.from,
                            until: f.span.until,
                            input: f.input.value,
                            output: f.output.value,
                        })
                        .collect(),
                    long_context: e
                        .long_context
                        .iter()
                        .map(|t| LongContextInfo {
                            threshold: t.threshold,
                            from: t.span.from,
                            until: t.span.until,
                            input_multiplier: t.input_multiplier.value,
                            output_multiplier: t.output_multiplier.value,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// The global settings in effect.
    pub fn globals(&self) -> GlobalsInfo {
        GlobalsInfo {
            web_search_usd_per_request: self.globals.web_search_usd_per_request.value,
            us_only_multiplier: self.globals.us_only_multiplier.value,
            us_only_from: self.globals.us_only_from.value,
            regional_multiplier: self.globals.regional_multiplier.value,
        }
    }

    /// Per-token picoUSD rates for one combination. Each stage (standard,
    /// fast, long context, US-only) is checked to give whole picoUSD; an error
    /// names the value that introduced the fraction. After loading, every
    /// combination reachable by [`PriceTable::try_cost`] has been checked.
    fn pico_rates(
        &self,
        entry: &Entry,
        period: &RatePeriod,
        fast: Option<&FastPeriod>,
        long_context: Option<&LongContextTier>,
        us_only: bool,
        regional: bool,
    ) -> Result<TokenRates<i128>, PricingError> {
        let standard = period.rates.as_ref().map(|n| (n.value, &n.loc));
        let mut rates = standard;
        check_whole_pico(&entry.id, &rates, "")?;

        if let Some(f) = fast {
            let fast_in_out = TokenRates {
                input: (f.input.value, &f.input.loc),
                output: (f.output.value, &f.output.loc),
                ..standard
            };
            check_whole_pico(&entry.id, &fast_in_out, " in fast mode")?;
            // Cache rates: fast input x (standard cache rate / standard input
            // rate), computed on whole picoUSD so the division is exact or fails.
            let std_input = period.rates.input.value;
            let to_pico = |n: &Num| whole_pico_per_token(n.value);
            let derive = |name: &str, std_rate: &Num| -> Result<(Decimal, &Loc), PricingError> {
                let error = |why: &str| {
                    f.input.loc.error(format!(
                        "{} fast {name} rate: fast input {} x ({name} {} / input {}) {why}",
                        entry.id, f.input.value, std_rate.value, std_input
                    ))
                };
                if std_input.is_zero() {
                    return Err(error("is undefined: the standard input rate is zero"));
                }
                let (Some(fast_in), Some(cache), Some(input)) = (
                    to_pico(&f.input),
                    to_pico(std_rate),
                    to_pico(&period.rates.input),
                ) else {
                    return Err(error("is not whole picoUSD"));
                };
                let product = fast_in
                    .checked_mul(cache)
                    .ok_or_else(|| error("overflows"))?;
                if product % input != 0 {
                    return Err(error(
                        "is not a whole number of picoUSD (10^-12 USD) per token",
                    ));
                }
                let usd_per_mtok = Decimal::try_from_i128_with_scale(product / input, 6)
                    .map_err(|_| error("overflows"))?;
                Ok((usd_per_mtok, &f.input.loc))
            };
            let r = &period.rates;
            rates = TokenRates {
                input: fast_in_out.input,
                output: fast_in_out.output,
                cache_write_5m: derive("cache_write_5m", &r.cache_write_5m)?,
                cache_write_1h: derive("cache_write_1h", &r.cache_write_1h)?,
                cache_read: derive("cache_read", &r.cache_read)?,
            };
        }

        if let Some(tier) = long_context {
            let im = &tier.input_multiplier;
            let om = &tier.output_multiplier;
            rates = TokenRates {
                input: scale(rates.input, im)?,
                output: scale(rates.output, om)?,
                cache_write_5m: scale(rates.cache_write_5m, im)?,
                cache_write_1h: scale(rates.cache_write_1h, im)?,
                cache_read: scale(rates.cache_read, im)?,
            };
            check_whole_pico(&entry.id, &rates, " with long context")?;
        }

        for (on, m, with) in [
            (
                us_only,
                &self.globals.us_only_multiplier,
                " with US-only inference",
            ),
            (
                regional,
                &self.globals.regional_multiplier,
                " at a regional endpoint",
            ),
        ] {
            if !on {
                continue;
            }
            rates = TokenRates {
                input: scale(rates.input, m)?,
                output: scale(rates.output, m)?,
                cache_write_5m: scale(rates.cache_write_5m, m)?,
                cache_write_1h: scale(rates.cache_write_1h, m)?,
                cache_read: scale(rates.cache_read, m)?,
            };
            check_whole_pico(&entry.id, &rates, with)?;
        }

        let mut out = TokenRates {
            input: 0,
            output: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 0,
        };
        let slots = [
            &mut out.input,
            &mut out.output,
            &mut out.cache_write_5m,
            &mut out.cache_write_1h,
            &mut out.cache_read,
        ];
        for (slot, (_, (value, loc))) in slots.into_iter().zip(rates.named()) {
            *slot = whole_pico_per_token(value)
                .ok_or_else(|| loc.error("rate is not whole picoUSD"))?;
        }
        Ok(out)
    }

    /// Check every combination of rate period, fast period, long-context tier
    /// and US-only that can apply on some date (including "no date").
    fn check_all_combinations(&self) -> Result<(), PricingError> {
        let us_range = self.globals.us_only_window();
        for entry in self.entries.values() {
            for (i, period) in entry.rates.iter().enumerate() {
                let period_range = entry.rate_window(i);
                let fasts = std::iter::once(None).chain(entry.fast.iter().map(Some));
                for fast in fasts {
                    let Some(r1) = fast.map_or(Some(period_range), |f| {
                        period_range.intersect(&f.span.window())
                    }) else {
                        continue;
                    };
                    let tiers = std::iter::once(None).chain(entry.long_context.iter().map(Some));
                    for tier in tiers {
                        let Some(r2) = tier.map_or(Some(r1), |t| r1.intersect(&t.span.window()))
                        else {
                            continue;
                        };
                        let kept = |e: PricingError| kept_section_hint(entry, e);
                        let us = entry.us_only && r2.intersect(&us_range).is_some();
                        for (us_only, regional) in
                            [(false, false), (true, false), (false, true), (true, true)]
                        {
                            if (us_only && !us) || (regional && !entry.regional) {
                                continue;
                            }
                            self.pico_rates(entry, period, fast, tier, us_only, regional)
                                .map_err(kept)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn canonical_dump(&self) -> String {
        let d = |x: &Decimal| x.normalize().to_string();
        let day = |x: Option<NaiveDate>| x.map_or_else(|| "-".to_string(), |v| v.to_string());
        // (a bound as the first or last millisecond it covers: a window
        // dumps alike however its bounds are written)
        let first =
            |b: Option<Bound>| b.map_or_else(|| "-".to_string(), |b| b.first_ms().to_string());
        let last =
            |b: Option<Bound>| b.map_or_else(|| "-".to_string(), |b| b.last_ms().to_string());
        let g = &self.globals;
        let mut out = format!(
            "{RULES_VERSION}\nglobals web_search={} us_only_multiplier={} us_only_from={} regional_multiplier={}\n",
            d(&g.web_search_usd_per_request.value),
            d(&g.us_only_multiplier.value),
            g.us_only_from.value,
            d(&g.regional_multiplier.value)
        );
        for info in self.entries() {
            out.push_str(&format!(
                "model {:?} us_only={} regional={}\n",
                info.id, info.us_only, info.regional
            ));
            for a in &info.aliases {
                out.push_str(&format!(" alias {a:?}\n"));
            }
            for r in &info.rates {
                out.push_str(&format!(
                    " rates from={} in={} out={} w5m={} w1h={} read={}\n",
                    day(r.from),
                    d(&r.input),
                    d(&r.output),
                    d(&r.cache_write_5m),
                    d(&r.cache_write_1h),
                    d(&r.cache_read)
                ));
            }
            for f in &info.fast {
                out.push_str(&format!(
                    " fast from={} until={} in={} out={}\n",
                    first(f.from),
                    last(f.until),
                    d(&f.input),
                    d(&f.output)
                ));
            }
            for t in &info.long_context {
                out.push_str(&format!(
                    " long_context threshold={} from={} until={} in_x={} out_x={}\n",
                    t.threshold,
                    first(t.from),
                    last(t.until),
                    d(&t.input_multiplier),
                    d(&t.output_multiplier)
                ));
            }
        }
        out
    }
}

/// `rate` x `multiplier`, exactly; an overflow blames the multiplier.
fn scale<'a>(
    (rate, _): (Decimal, &'a Loc),
    multiplier: &'a Num,
) -> Result<(Decimal, &'a Loc), PricingError> {
    rate.checked_mul(multiplier.value)
        .map(|v| (v, &multiplier.loc))
        .ok_or_else(|| {
            multiplier
                .loc
                .error(format!("{rate} x {} overflows", multiplier.value))
        })
}

/// $/MTok -> whole picoUSD per token, `None` if it is not whole.
fn whole_pico_per_token(usd_per_mtok: Decimal) -> Option<i128> {
    let pico = usd_per_mtok
        .checked_mul(Decimal::from(PICO_PER_TOKEN_PER_USD_PER_MTOK))?
        .normalize();
    (pico.scale() == 0).then(|| pico.mantissa())
}

fn check_whole_pico(
    entry: &str,
    rates: &TokenRates<(Decimal, &Loc)>,
    context: &str,
) -> Result<(), PricingError> {
    for (name, (value, loc)) in rates.named() {
        if value
            .checked_mul(Decimal::from(PICO_PER_TOKEN_PER_USD_PER_MTOK))
            .is_none()
        {
            return Err(loc.error(format!(
                "{entry} {name} rate {} $/MTok{context} is too large: at most {} $/MTok, after \
                 every multiplier (a token's price must fit in picoUSD, 10^-12 USD)",
                value.normalize(),
                (Decimal::MAX / Decimal::from(PICO_PER_TOKEN_PER_USD_PER_MTOK)).trunc()
            )));
        }
        if whole_pico_per_token(value).is_none() {
            return Err(loc.error(format!(
                "{entry} {name} rate {} $/MTok{context} is not a whole number of picoUSD \
                 (10^-12 USD) per token (at most 6 decimals in $/MTok, after every multiplier)",
                value.normalize()
            )));
        }
    }
    Ok(())
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

fn complete_globals(g: PartialGlobals, loc: &Loc) -> Result<Globals, PricingError> {
    let missing = |key: &str| {
        let mut l = loc.clone();
        l.key = format!("globals.{key}");
        l.error("missing required key")
    };
    Ok(Globals {
        web_search_usd_per_request: g
            .web_search_usd_per_request
            .ok_or_else(|| missing("web_search_usd_per_request"))?,
        us_only_multiplier: g
            .us_only_multiplier
            .ok_or_else(|| missing("us_only_multiplier"))?,
        us_only_from: g.us_only_from.ok_or_else(|| missing("us_only_from"))?,
        regional_multiplier: g
            .regional_multiplier
            .ok_or_else(|| missing("regional_multiplier"))?,
    })
}

/// Cross-check the merged entries and build the table.
fn build(globals: Globals, entries: BTreeMap<String, Entry>) -> Result<PriceTable, PricingError> {
    let web_search_pico = globals
        .web_search_usd_per_request
        .value
        .checked_mul(Decimal::from(PICO_PER_USD))
        .map(|v| v.normalize())
        .filter(|v| v.scale() == 0)
        .map(|v| v.mantissa())
        .ok_or_else(|| {
            globals
                .web_search_usd_per_request
                .loc
                .error("is not a whole number of picoUSD (10^-12 USD): at most 12 decimals")
        })?;

    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    for entry in entries.values() {
        for alias in &entry.aliases {
            if let Some(owner) = entries.get(&alias.name) {
                return Err(alias.loc.error(format!(
                    "alias {:?} is the id of entry {:?} ({})",
                    alias.name, owner.id, owner.origin
                )));
            }
            if let Some(owner) = aliases.insert(alias.name.clone(), entry.id.clone()) {
                return Err(alias.loc.error(format!(
                    "alias {:?} is already an alias of entry {owner:?}",
                    alias.name
                )));
            }
        }
    }

    let table = PriceTable {
        globals,
        entries,
        aliases,
        web_search_pico,
    };
    table.check_all_combinations()?;
    Ok(table)
}

/// An error in a section an override kept from the built-in entry (its
/// location is the built-in table's) says how to drop that section.
fn kept_section_hint(entry: &Entry, e: PricingError) -> PricingError {
    let file = entry.file.as_str();
    match e {
        PricingError::Invalid {
            origin,
            line,
            key,
            message,
        } if origin != file && entry.origin.contains(" from ") => PricingError::Invalid {
            message: format!(
                "{message}. This section is the built-in entry's, kept by the entry for {} \
                     in {file}: write `fast = []`, `long_context = []`, `us_only = false` or `regional = false` there \
                     to drop what does not fit its rates",
                entry.id,
            ),
            origin,
            line,
            key,
        },
        other => other,
    }
}

// ------------------------------------------------------------------ reading TOML

/// The text being read and its name, for locations.
struct Source<'a> {
    text: &'a str,
    origin: &'a str,
    /// Byte offsets of the newlines (every entry asks for its line).
    newlines: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str, origin: &'a str) -> Source<'a> {
        let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
        Source {
            text,
            origin,
            newlines,
        }
    }

    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }

    fn loc(&self, span: &Range<usize>, key: &str) -> Loc {
        Loc {
            origin: self.origin.to_string(),
            line: self.line(span.start),
            key: key.to_string(),
        }
    }

    fn error(&self, span: &Range<usize>, key: &str, message: impl Into<String>) -> PricingError {
        self.loc(span, key).error(message)
    }

    /// The source text of a value (for messages), shortened.
    fn snippet(&self, span: &Range<usize>) -> String {
        let raw = self.text.get(span.clone()).unwrap_or("");
        let mut s: String = raw.chars().take(40).collect();
        if raw.chars().count() > 40 {
            s.push('…');
        }
        s
    }
}

/// `path.key`, quoting keys that are not bare TOML keys.
fn key_path(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// A table being read: its entries, where it starts, and its key path.
struct Table<'t, 'i> {
    map: &'t DeTable<'i>,
    span: Range<usize>,
    path: String,
}

impl<'t, 'i> Table<'t, 'i> {
    fn of(
        src: &Source<'_>,
        value: &'t Spanned<DeValue<'i>>,
        path: String,
    ) -> Result<Self, PricingError> {
        match value.get_ref() {
            DeValue::Table(map) => Ok(Table {
                map,
                span: value.span(),
                path,
            }),
            other => Err(src.error(
                &value.span(),
                &path,
                format!("expected a table, found {}", other.type_str()),
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.map.get(key)
    }

    fn path_of(&self, key: &str) -> String {
        key_path(&self.path, key)
    }

    /// Error on any key not in `allowed`.
    fn only_keys(&self, src: &Source<'_>, allowed: &[&str]) -> Result<(), PricingError> {
        for (key, _) in self.map.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                return Err(src.error(
                    &key.span(),
                    &self.path_of(name),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn require(
        &self,
        src: &Source<'_>,
        key: &str,
    ) -> Result<&'t Spanned<DeValue<'i>>, PricingError> {
        self.get(key)
            .ok_or_else(|| src.error(&self.span, &self.path_of(key), "missing required key"))
    }

    fn decimal(&self, src: &Source<'_>, key: &str) -> Result<Option<Num>, PricingError> {
        self.get(key)
            .map(|v| read_decimal(src, v, &self.path_of(key)))
            .transpose()
    }

    fn required_decimal(&self, src: &Source<'_>, key: &str) -> Result<Num, PricingError> {
        read_decimal(src, self.require(src, key)?, &self.path_of(key))
    }

    fn date(&self, src: &Source<'_>, key: &str) -> Result<Option<Day>, PricingError> {
        self.get(key)
            .map(|v| read_date(src, v, &self.path_of(key)))
            .transpose()
    }

    fn bound(&self, src: &Source<'_>, key: &str) -> Result<Option<(Bound, Loc)>, PricingError> {
        self.get(key)
            .map(|v| read_bound(src, v, &self.path_of(key)))
            .transpose()
    }

    /// An array of tables (`[[x]]` or `x = [{...}]`); absent = empty.
    fn tables(&self, src: &Source<'_>, key: &str) -> Result<Vec<Table<'t, 'i>>, PricingError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let path = self.path_of(key);
        match value.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Table::of(src, item, format!("{path}[{i}]")))
                .collect(),
            other => Err(src.error(
                &value.span(),
                &path,
                format!(
                    "expected an array of tables ([[{path}]]), found {}",
                    other.type_str()
                ),
            )),
        }
    }
}

/// A price or multiplier: a TOML string holding a plain non-negative decimal
/// number (`"5"`, `"0.30"`), parsed exactly.
fn read_decimal(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Result<Num, PricingError> {
    let span = value.span();
    let text = match value.get_ref() {
        DeValue::String(s) => s.as_ref(),
        DeValue::Integer(_) | DeValue::Float(_) => {
            let raw = src.snippet(&span);
            return Err(src.error(
                &span,
                path,
                format!("{raw} must be a string holding a decimal number (write \"{raw}\"), so it is read exactly"),
            ));
        }
        other => {
            return Err(src.error(
                &span,
                path,
                format!(
                    "expected a decimal number as a string (e.g. \"0.30\"), found {}",
                    other.type_str()
                ),
            ));
        }
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let plain = |t: &str| match t.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(t),
    };
    if let Some(rest) = text.strip_prefix('-')
        && plain(rest)
    {
        return Err(src.error(
            &span,
            path,
            format!("{text:?} is negative; prices and multipliers must be >= 0"),
        ));
    }
    if !plain(text) {
        return Err(src.error(&span, path, format!("{text:?} is not a decimal number")));
    }
    let parsed = Decimal::from_str_exact(text).map_err(|_| {
        src.error(
            &span,
            path,
            format!("{text:?} has too many digits for an exact decimal"),
        )
    })?;
    Ok(Num {
        value: parsed,
        loc: src.loc(&span, path),
    })
}

/// A UTC date: a TOML local date (`2026-10-07`) or a string `"2026-10-07"`.
fn read_date(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Result<Day, PricingError> {
    let span = value.span();
    let timed = matches!(value.get_ref(), DeValue::Datetime(dt) if dt.time.is_some());
    let bad = || {
        let why = if timed {
            "is not a date (YYYY-MM-DD): times are for the bounds of fast periods and \
             long-context tiers; this one starts at midnight UTC"
        } else {
            "is not a date (YYYY-MM-DD)"
        };
        src.error(&span, path, format!("{} {why}", src.snippet(&span)))
    };
    let date = match value.get_ref() {
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }
            _ => None,
        },
        DeValue::String(s) if s.len() == 10 => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    };
    date.map(|value| Day {
        value,
        loc: src.loc(&span, path),
    })
    .ok_or_else(bad)
}

/// A fast period's or long-context tier's bound: a date (as [`read_date`])
/// or a time with its UTC offset, to the minute or the second (a TOML offset
/// date-time, `2026-02-16T23:59-08:00`, or a string of one).
fn read_bound(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Result<(Bound, Loc), PricingError> {
    let span = value.span();
    let loc = src.loc(&span, path);
    let bad = |why: &str| loc.error(format!("{} {why}", src.snippet(&span)));
    let written: Option<toml::value::Datetime> = match value.get_ref() {
        DeValue::Datetime(dt) => Some(*dt),
        DeValue::String(s) => s.parse().ok(),
        _ => None,
    };
    let what = "is not a date (YYYY-MM-DD) or a time with its UTC offset \
                (YYYY-MM-DDTHH:MM-08:00, or Z for UTC)";
    let Some(dt) = written else {
        return Err(bad(what));
    };
    let date = dt.date.and_then(|d| {
        NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
    });
    let bound = match (date, dt.time, dt.offset) {
        (Some(d), None, None) => Bound::Day(d),
        (Some(_), Some(_), None) => {
            return Err(bad(
                "has no UTC offset: write one (Z for UTC, -08:00 for Pacific standard time)",
            ));
        }
        (Some(d), Some(t), Some(offset)) => {
            if t.nanosecond.is_some() {
                return Err(bad(
                    "has a fraction of a second: write whole seconds (a time names its whole \
                     minute or second)",
                ));
            }
            let minutes = match offset {
                toml::value::Offset::Z => 0,
                toml::value::Offset::Custom { minutes } => i32::from(minutes),
            };
            let at = chrono::NaiveTime::from_hms_opt(
                u32::from(t.hour),
                u32::from(t.minute),
                u32::from(t.second.unwrap_or(0)),
            )
            .zip(FixedOffset::east_opt(minutes * 60))
            .and_then(|(time, zone)| d.and_time(time).and_local_timezone(zone).single());
            let Some(at) = at else {
                return Err(bad(what));
            };
            Bound::Time {
                at,
                seconds: t.second.is_some(),
            }
        }
        _ => return Err(bad(what)),
    };
    Ok((bound, loc))
}

fn read_bool(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Result<bool, PricingError> {
    match value.get_ref() {
        DeValue::Boolean(b) => Ok(*b),
        other => Err(src.error(
            &value.span(),
            path,
            format!("expected true or false, found {}", other.type_str()),
        )),
    }
}

fn read_u64(
    src: &Source<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Result<u64, PricingError> {
    match value.get_ref() {
        DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
            src.error(
                &value.span(),
                path,
                format!(
                    "{} is not a non-negative integer",
                    src.snippet(&value.span())
                ),
            )
        }),
        other => Err(src.error(
            &value.span(),
            path,
            format!(
                "expected an integer number of tokens, found {}",
                other.type_str()
            ),
        )),
    }
}

/// Read one file: syntax, keys, types and per-entry rules. Cross-entry rules
/// (aliases) and the picoUSD check run on the merged table in [`build`].
fn parse_file(text: &str, origin: &str) -> Result<ParsedFile, PricingError> {
    let src = Source::new(text, origin);
    let root = DeTable::parse(text).map_err(|e| PricingError::Syntax {
        origin: origin.to_string(),
        line: e.span().map_or(1, |s| src.line(s.start)),
        message: e.message().trim().to_string(),
    })?;
    let top = Table {
        map: root.get_ref(),
        span: root.span(),
        path: String::new(),
    };
    top.only_keys(&src, &["schema", "globals", "models"])?;
    if let Some(v) = top.get("schema")
        && read_u64(&src, v, "schema").ok() != Some(1)
    {
        return Err(src.error(
            &v.span(),
            "schema",
            "unsupported schema version (this program reads schema = 1)",
        ));
    }

    let mut globals = PartialGlobals::default();
    let mut globals_loc = src.loc(&(0..0), "globals");
    if let Some(v) = top.get("globals") {
        let g = Table::of(&src, v, "globals".to_string())?;
        g.only_keys(
            &src,
            &[
                "web_search_usd_per_request",
                "us_only_multiplier",
                "us_only_from",
                "regional_multiplier",
            ],
        )?;
        globals_loc = src.loc(&g.span, "globals");
        globals.web_search_usd_per_request = g.decimal(&src, "web_search_usd_per_request")?;
        globals.us_only_multiplier = g.decimal(&src, "us_only_multiplier")?;
        globals.us_only_from = g.date(&src, "us_only_from")?;
        globals.regional_multiplier = g.decimal(&src, "regional_multiplier")?;
    }

    let mut entries = Vec::new();
    if let Some(v) = top.get("models") {
        let models = Table::of(&src, v, "models".to_string())?;
        for (key, value) in models.map.iter() {
            let id: &str = key.get_ref();
            let table = Table::of(&src, value, key_path("models", id))?;
            entries.push(parse_entry(&src, id, &key.span(), &table)?);
        }
    }
    Ok(ParsedFile {
        globals,
        globals_loc,
        entries,
    })
}

/// Model ids and aliases must be written as lookup sees them.
fn check_model_id(
    src: &Source<'_>,
    span: &Range<usize>,
    path: &str,
    id: &str,
) -> Result<(), PricingError> {
    if id.is_empty() || id == SYNTHETIC_MODEL {
        return Err(src.error(span, path, format!("{id:?} cannot be priced")));
    }
    // (dots kept: an entry may be written as a gateway writes the id)
    let normalized = normalize_prefixes(id);
    if normalized != id {
        return Err(src.error(
            span,
            path,
            format!("{id:?} is not a normalised model id (lookup would use {normalized:?})"),
        ));
    }
    Ok(())
}

fn parse_entry(
    src: &Source<'_>,
    id: &str,
    id_span: &Range<usize>,
    t: &Table<'_, '_>,
) -> Result<Entry, PricingError> {
    t.only_keys(
        src,
        &[
            "aliases",
            "us_only",
            "regional",
            "rates",
            "fast",
            "long_context",
        ],
    )?;
    check_model_id(src, id_span, &t.path, id)?;

    let mut aliases = Vec::new();
    if let Some(v) = t.get("aliases") {
        let path = t.path_of("aliases");
        let DeValue::Array(items) = v.get_ref() else {
            return Err(src.error(&v.span(), &path, "expected an array of strings"));
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let DeValue::String(name) = item.get_ref() else {
                return Err(src.error(&item.span(), &item_path, "expected a string"));
            };
            check_model_id(src, &item.span(), &item_path, name)?;
            if name.as_ref() == id {
                return Err(src.error(
                    &item.span(),
                    &item_path,
                    "an alias cannot repeat the entry id",
                ));
            }
            aliases.push(Alias {
                name: name.to_string(),
                loc: src.loc(&item.span(), &item_path),
            });
        }
    }

    let flag = |key: &str| match t.get(key) {
        Some(v) => read_bool(src, v, &t.path_of(key)),
        None => Ok(false),
    };
    let us_only = flag("us_only")?;
    let regional = flag("regional")?;

    let rate_tables = t.tables(src, "rates")?;
    if rate_tables.is_empty() {
        return Err(src.error(
            &t.span,
            &t.path_of("rates"),
            "missing required key: at least one [[rates]] period",
        ));
    }
    let mut rates: Vec<RatePeriod> = Vec::new();
    for r in &rate_tables {
        // an entry's key written after a [[rates]] header lands in that
        // period (TOML's rule): say where it goes
        for (key, _) in r.map.iter() {
            let name: &str = key.get_ref();
            if ["aliases", "us_only", "regional", "fast", "long_context"].contains(&name) {
                return Err(src.error(
                    &key.span(),
                    &r.path_of(name),
                    format!(
                        "`{name}` belongs to the entry, not to a rate period: write it before \
                         the first [[{}.rates]] header (after it, TOML puts it in that period)",
                        t.path
                    ),
                ));
            }
        }
        r.only_keys(
            src,
            &[
                "from",
                "input",
                "output",
                "cache_write_5m",
                "cache_write_1h",
                "cache_read",
            ],
        )?;
        let from = r.date(src, "from")?;
        match (&from, rates.last()) {
            (Some(day), None) => {
                return Err(day.loc.error(
                    "the first rate period has no `from`: it covers every date before the next period",
                ));
            }
            (None, Some(_)) => {
                return Err(src.error(
                    &r.span,
                    &r.path_of("from"),
                    "missing required key (every period after the first needs `from`)",
                ));
            }
            (Some(day), Some(prev)) => {
                if let Some(prev_from) = &prev.from
                    && day.value <= prev_from.value
                {
                    return Err(day.loc.error(format!(
                        "{} is not after the previous period's from ({}): periods go in date order",
                        day.value, prev_from.value
                    )));
                }
            }
            (None, None) => {}
        }
        rates.push(RatePeriod {
            from,
            rates: TokenRates {
                input: r.required_decimal(src, "input")?,
                output: r.required_decimal(src, "output")?,
                cache_write_5m: r.required_decimal(src, "cache_write_5m")?,
                cache_write_1h: r.required_decimal(src, "cache_write_1h")?,
                cache_read: r.required_decimal(src, "cache_read")?,
            },
        });
    }

    let mut fast: Vec<FastPeriod> = Vec::new();
    for f in t.tables(src, "fast")? {
        f.only_keys(src, &["from", "until", "input", "output"])?;
        let span = read_span(src, &f)?;
        if let Some(other) = fast
            .iter()
            .find(|o| o.span.window().intersect(&span.window()).is_some())
        {
            return Err(src.error(
                &f.span,
                &f.path,
                format!("overlaps the fast period at line {}", other.line),
            ));
        }
        fast.push(FastPeriod {
            line: src.line(f.span.start),
            span,
            input: f.required_decimal(src, "input")?,
            output: f.required_decimal(src, "output")?,
        });
    }

    let mut long_context: Vec<LongContextTier> = Vec::new();
    for lc in t.tables(src, "long_context")? {
        lc.only_keys(
            src,
            &[
                "threshold",
                "from",
                "until",
                "input_multiplier",
                "output_multiplier",
            ],
        )?;
        let span = read_span(src, &lc)?;
        if let Some(other) = long_context
            .iter()
            .find(|o| o.span.window().intersect(&span.window()).is_some())
        {
            return Err(src.error(
                &lc.span,
                &lc.path,
                format!("overlaps the long-context tier at line {}", other.line),
            ));
        }
        long_context.push(LongContextTier {
            line: src.line(lc.span.start),
            threshold: read_u64(src, lc.require(src, "threshold")?, &lc.path_of("threshold"))?,
            span,
            input_multiplier: lc.required_decimal(src, "input_multiplier")?,
            output_multiplier: lc.required_decimal(src, "output_multiplier")?,
        });
    }

    Ok(Entry {
        id: id.to_string(),
        origin: src.origin.to_string(),
        file: src.origin.to_string(),
        aliases,
        us_only,
        regional,
        rates,
        fast,
        long_context,
        given: Given {
            aliases: t.get("aliases").is_some(),
            us_only: t.get("us_only").is_some(),
            regional: t.get("regional").is_some(),
            fast: t.get("fast").is_some(),
            long_context: t.get("long_context").is_some(),
        },
    })
}

/// Optional inclusive `from` / `until`; `until` must not end before `from`
/// starts.
fn read_span(src: &Source<'_>, t: &Table<'_, '_>) -> Result<Span, PricingError> {
    let from = t.bound(src, "from")?;
    let until = t.bound(src, "until")?;
    if let (Some((f, _)), Some((u, loc))) = (&from, &until)
        && u.last_ms() < f.first_ms()
    {
        return Err(loc.error(format!("{u} is before from ({f})")));
    }
    Ok(Span {
        from: from.map(|(b, _)| b),
        until: until.map(|(b, _)| b),
    })
}

#[cfg(test)]
mod tests {
    //! Expected values are computed by hand in the comments: rates are $/MTok,
    //! so tokens x rate gives micro-USD (μ$); divide by 10^6 for USD.

    use super::*;

    fn table() -> PriceTable {
        PriceTable::builtin().expect("builtin table loads")
    }

    /// Midnight UTC of a day, as a response's time.
    fn day(y: i32, m: u32, d: u32) -> Option<i64> {
        Some(day_start_ms(
            NaiveDate::from_ymd_opt(y, m, d).expect("valid date"),
        ))
    }

    /// The last millisecond of a UTC day.
    fn day_end(y: i32, m: u32, d: u32) -> Option<i64> {
        day(y, m, d).map(|t| t + DAY_MS - 1)
    }

    /// A response's time from RFC 3339 text.
    fn at(text: &str) -> Option<i64> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .expect("valid time")
                .timestamp_millis(),
        )
    }

    /// input, 5m writes, 1h writes, cache reads, output
    fn usage(input: u64, w5m: u64, w1h: u64, read: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_creation_5m_tokens: w5m,
            cache_creation_1h_tokens: w1h,
            cache_read_tokens: read,
            ..Usage::default()
        }
    }

    /// The usage most tests share: 1,000 in, 2,000 5m, 3,000 1h, 10,000 read, 500 out.
    fn common() -> Usage {
        usage(1_000, 2_000, 3_000, 10_000, 500)
    }

    fn fast(u: Usage) -> Usage {
        Usage { fast: true, ..u }
    }

    fn us(u: Usage) -> Usage {
        Usage { us_only: true, ..u }
    }

    /// Exact cost in USD as a plain decimal string (trailing zeros dropped).
    fn usd_of(t: &PriceTable, model: &str, date: Option<i64>, u: Usage) -> String {
        let cost = t
            .cost(model, date, &u)
            .unwrap_or_else(|| panic!("{model} should be priced"));
        cost.usd().normalize().to_string()
    }

    fn usd(model: &str, date: Option<i64>, u: Usage) -> String {
        usd_of(&table(), model, date, u)
    }

    fn override_err(text: &str) -> String {
        match table().with_override_str(text, "user.toml") {
            Ok(_) => panic!("override should fail:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    /// A minimal valid user entry.
    fn user_entry(id: &str) -> String {
        format!(
            "[models.{id}]\n[[models.{id}.rates]]\ninput = \"1\"\noutput = \"2\"\ncache_write_5m = \"3\"\ncache_write_1h = \"4\"\ncache_read = \"5\"\n"
        )
    }

    // ------------------------------------------------------------ normalisation

    #[test]
    fn normalize_model_table() {
        let cases = [
            ("claude-opus-4-6", "claude-opus-4-6"),
            ("  claude-opus-4-6 \n", "claude-opus-4-6"),
            ("claude-opus-4-6[1m]", "claude-opus-4-6"),
            ("sonnet[1m]", "sonnet"),
            ("anthropic/claude-opus-4-6", "claude-opus-4-6"),
            ("anthropic.claude-opus-4-8", "claude-opus-4-8"),
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-sonnet-4-5-20250929",
            ),
            (
                "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
                "claude-haiku-4-5-20251001",
            ),
            (
                "apac.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4-20250514",
            ),
            ("global.anthropic.claude-opus-4-7", "claude-opus-4-7"),
            ("jp.anthropic.claude-opus-4-8", "claude-opus-4-8"),
            ("au.anthropic.claude-opus-4-8", "claude-opus-4-8"),
            ("us.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
            (
                "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
                "claude-3-5-sonnet-20241022",
            ),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),
            // gateways' dotted versions
            ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
            ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
            ("claude-sonnet-4.5@20250929", "claude-sonnet-4-5-20250929"),
            ("claude-opus-4.", "claude-opus-4."),
            ("gpt-4.1", "gpt-4.1"),
            (
                "claude-3-5-sonnet-v2@20241022",
                "claude-3-5-sonnet-v2-20241022",
            ),
            // every step, in order: trim, [1m], anthropic/, region.anthropic., -vN
            (
                " anthropic/us.anthropic.claude-opus-4-6-v1[1m] ",
                "claude-opus-4-6",
            ),
            // a region prefix is dropped only before `anthropic.`
            ("us.claude-opus-4-6", "us.claude-opus-4-6"),
            (
                "xx.anthropic.claude-opus-4-6",
                "xx.anthropic.claude-opus-4-6",
            ),
            // -vN only when trailing and numeric
            ("claude-x-v", "claude-x-v"),
            ("claude-x-v1:", "claude-x-v1:"),
            ("claude-x-vv1", "claude-x-vv1"),
            ("claude-x-v12:34", "claude-x"),
            // @ only with exactly eight digits
            ("claude-opus-4-6@default", "claude-opus-4-6@default"),
            ("claude-opus-4-6@2026020", "claude-opus-4-6@2026020"),
            // case-sensitive, no other rewriting
            ("ANTHROPIC/claude-opus-4-6", "ANTHROPIC/claude-opus-4-6"),
            ("<synthetic>", "<synthetic>"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_model(input), want, "normalize_model({input:?})");
        }
    }

    #[test]
    fn resolve_lookup_order() {
        let t = table();
        let cases = [
            // exact id
            ("claude-opus-4-6", Some("claude-opus-4-6")),
            (
                "claude-sonnet-4-5-20250929",
                Some("claude-sonnet-4-5-20250929"),
            ),
            // alias
            ("claude-sonnet-4-5", Some("claude-sonnet-4-5-20250929")),
            ("claude-opus-4", Some("claude-opus-4-20250514")),
            ("claude-opus-4-0", Some("claude-opus-4-20250514")),
            ("claude-opus-4-1", Some("claude-opus-4-1-20250805")),
            ("claude-opus-4-5", Some("claude-opus-4-5-20251101")),
            ("claude-sonnet-4", Some("claude-sonnet-4-20250514")),
            ("claude-sonnet-4-0", Some("claude-sonnet-4-20250514")),
            ("claude-haiku-4-5", Some("claude-haiku-4-5-20251001")),
            ("claude-3-5-haiku", Some("claude-3-5-haiku-20241022")),
            ("claude-3-7-sonnet", Some("claude-3-7-sonnet-20250219")),
            // a gateway's ids of the only Claude 3 Opus and Haiku
            ("anthropic/claude-3-opus", Some("claude-3-opus-20240229")),
            ("anthropic/claude-3-haiku", Some("claude-3-haiku-20240307")),
            ("claude-mythos-5", Some("claude-fable-5")),
            ("claude-mythos-5-1", Some("claude-fable-5-1")),
            ("claude-mythos-5-2", Some("claude-fable-5-2")),
            // id without a trailing date
            ("claude-opus-4-6-20260205", Some("claude-opus-4-6")),
            ("claude-opus-4-7-20260416", Some("claude-opus-4-7")),
            // alias of the id without its date
            ("claude-mythos-5-1-20260901", Some("claude-fable-5-1")),
            // platform ids
            (
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Some("claude-sonnet-4-5-20250929"),
            ),
            (
                "claude-sonnet-4-5@20250929",
                Some("claude-sonnet-4-5-20250929"),
            ),
            (
                "claude-haiku-4-5@20251001",
                Some("claude-haiku-4-5-20251001"),
            ),
            (
                "claude-3-5-sonnet-v2@20241022",
                Some("claude-3-5-sonnet-20241022"),
            ),
            ("us.anthropic.claude-opus-4-6-v1", Some("claude-opus-4-6")),
            ("anthropic.claude-opus-4-8", Some("claude-opus-4-8")),
            ("anthropic/claude-opus-4-6", Some("claude-opus-4-6")),
            ("anthropic/claude-opus-4.6", Some("claude-opus-4-6")),
            ("claude-opus-4-6[1m]", Some("claude-opus-4-6")),
            // nothing else: no fuzzy or family matching
            ("<synthetic>", None),
            ("", None),
            ("opus", None),
            ("sonnet", None),
            ("claude-opus", None),
            // (two Claude 3.5 Sonnets: the id does not say which)
            ("claude-3-5-sonnet", None),
            ("anthropic/claude-3.5-sonnet", None),
            ("claude-opus-4-6-fast", None),
            ("us.claude-opus-4-6", None),
            ("grok-4.5", None),
            ("gpt-4o", None),
            ("claude-opus-4-6@default", None),
        ];
        for (model, want) in cases {
            assert_eq!(t.resolve(model), want, "resolve({model:?})");
        }
    }

    // ------------------------------------------------------------ plain prices

    #[test]
    fn plain_response_every_entry() {
        // common(): 1,000 in, 2,000 5m, 3,000 1h, 10,000 read, 500 out, dated
        // 2026-10-10 (outside every long-context window but Haiku 5.5's, whose
        // 16,000-token prompt stays under 100,000). μ$ = in + 5m + 1h + read + out.
        let cases = [
            // 0.25*1000 + 0.30*2000 + 0.50*3000 + 0.03*10000 + 1.25*500 = 250+600+1500+300+625 = 3275
            ("claude-3-haiku-20240307", "0.003275"),
            // 15*1000 + 18.75*2000 + 30*3000 + 1.5*10000 + 75*500 = 15000+37500+90000+15000+37500 = 195000
            ("claude-3-opus-20240229", "0.195"),
            // 0.8*1000 + 1*2000 + 1.6*3000 + 0.08*10000 + 4*500 = 800+2000+4800+800+2000 = 10400
            ("claude-3-5-haiku-20241022", "0.0104"),
            // 3*1000 + 3.75*2000 + 6*3000 + 0.3*10000 + 15*500 = 3000+7500+18000+3000+7500 = 39000
            ("claude-3-5-sonnet-20240620", "0.039"),
            ("claude-3-5-sonnet-20241022", "0.039"),
            ("claude-3-7-sonnet-20250219", "0.039"),
            ("claude-opus-4-20250514", "0.195"),
            ("claude-opus-4-1-20250805", "0.195"),
            // 5*1000 + 6.25*2000 + 10*3000 + 0.5*10000 + 25*500 = 5000+12500+30000+5000+12500 = 65000
            ("claude-opus-4-5-20251101", "0.065"),
            ("claude-opus-4-6", "0.065"),
            ("claude-opus-4-7", "0.065"),
            ("claude-opus-4-8", "0.065"),
            ("claude-opus-5", "0.065"),
            // 4*1000 + 5*2000 + 8*3000 + 0.2*10000 + 20*500 = 4000+10000+24000+2000+10000 = 50000
            ("claude-opus-5-5", "0.05"),
            ("claude-sonnet-4-20250514", "0.039"),
            ("claude-sonnet-4-5-20250929", "0.039"),
            ("claude-sonnet-4-6", "0.039"),
            // 2*1000 + 2.5*2000 + 4*3000 + 0.2*10000 + 10*500 = 2000+5000+12000+2000+5000 = 26000
            ("claude-sonnet-5", "0.026"),
            // after 2026-10-07 reads are 0.10: 2000+5000+12000+1000+5000 = 25000
            ("claude-sonnet-5-5", "0.025"),
            // 1*1000 + 1.25*2000 + 2*3000 + 0.1*10000 + 5*500 = 1000+2500+6000+1000+2500 = 13000
            ("claude-haiku-4-5-20251001", "0.013"),
            // 0.1*1000 + 0.125*2000 + 0.2*3000 + 0.01*10000 + 0.5*500 = 100+250+600+100+250 = 1300
            ("claude-haiku-5-5", "0.0013"),
            // 10*1000 + 12.5*2000 + 20*3000 + 1*10000 + 50*500 = 10000+25000+60000+10000+25000 = 130000
            ("claude-fable-5", "0.13"),
            ("claude-mythos-5", "0.13"),
            // reads 0.25: 10000+25000+60000+2500+25000 = 122500
            ("claude-fable-5-1", "0.1225"),
            ("claude-mythos-5-1", "0.1225"),
            // 8*1000 + 10*2000 + 16*3000 + 0.2*10000 + 40*500 = 8000+20000+48000+2000+20000 = 98000
            ("claude-fable-5-2", "0.098"),
            ("claude-mythos-5-2", "0.098"),
        ];
        let t = table();
        for (model, want) in cases {
            assert_eq!(
                usd_of(&t, model, day(2026, 10, 10), common()),
                want,
                "{model}"
            );
        }
        // every builtin entry is covered above
        let covered: BTreeSet<&str> = cases.iter().map(|(m, _)| *m).collect();
        for e in t.entries() {
            assert!(
                covered.contains(e.id.as_str()),
                "{} has no plain-price case",
                e.id
            );
        }
    }

    #[test]
    fn cost_names_the_entry_and_is_exact_picousd() {
        let cost = table()
            .cost("claude-sonnet-4-5", day(2025, 10, 1), &common())
            .expect("priced");
        // 39,000 μ$ = 39,000 x 10^6 pUSD
        assert_eq!(
            cost,
            Cost {
                priced_as: "claude-sonnet-4-5-20250929".to_string(),
                picousd: 39_000_000_000,
            }
        );
        assert_eq!(cost.usd().to_string(), "0.039000000000");
        let one = Cost {
            priced_as: String::new(),
            picousd: 1,
        };
        assert_eq!(one.usd().to_string(), "0.000000000001");
    }

    #[test]
    fn zero_usage_costs_zero() {
        assert_eq!(
            usd("claude-opus-4-6", day(2026, 5, 1), Usage::default()),
            "0"
        );
    }

    #[test]
    fn claude_3_haiku_listed_cache_values() {
        // 1M of each kind: 5m 0.30 (not 1.25 x 0.25 = 0.3125), 1h 0.50, read 0.03 (not 0.025)
        assert_eq!(
            usd(
                "claude-3-haiku-20240307",
                day(2025, 1, 1),
                usage(0, 1_000_000, 0, 0, 0)
            ),
            "0.3"
        );
        assert_eq!(
            usd(
                "claude-3-haiku-20240307",
                day(2025, 1, 1),
                usage(0, 0, 1_000_000, 0, 0)
            ),
            "0.5"
        );
        assert_eq!(
            usd(
                "claude-3-haiku-20240307",
                day(2025, 1, 1),
                usage(0, 0, 0, 1_000_000, 0)
            ),
            "0.03"
        );
    }

    #[test]
    fn claude_3_5_haiku_is_080_4_on_every_date() {
        // 1M in x 0.80 + 1M out x 4 = 4.8 USD, at launch, later, and undated
        let u = usage(1_000_000, 0, 0, 0, 1_000_000);
        for date in [day(2024, 11, 4), day(2024, 11, 20), day(2025, 6, 1), None] {
            assert_eq!(usd("claude-3-5-haiku-20241022", date, u), "4.8", "{date:?}");
            assert_eq!(usd("claude-3-5-haiku-latest", date, u), "4.8", "{date:?}");
        }
    }

    #[test]
    fn one_hour_writes_cost_more_than_five_minute_writes() {
        // Sonnet 4.5 (100,000 tokens: under its long-context threshold):
        // 100000 5m writes x 3.75 = 375000 μ$; 100000 1h writes x 6 = 600000 μ$
        assert_eq!(
            usd(
                "claude-sonnet-4-5",
                day(2025, 10, 1),
                usage(0, 100_000, 0, 0, 0)
            ),
            "0.375"
        );
        assert_eq!(
            usd(
                "claude-sonnet-4-5",
                day(2025, 10, 1),
                usage(0, 0, 100_000, 0, 0)
            ),
            "0.6"
        );
        // Opus 5.5: 5m 5, 1h 8
        assert_eq!(
            usd(
                "claude-opus-5-5",
                day(2026, 10, 1),
                usage(0, 1_000_000, 0, 0, 0)
            ),
            "5"
        );
        assert_eq!(
            usd(
                "claude-opus-5-5",
                day(2026, 10, 1),
                usage(0, 0, 1_000_000, 0, 0)
            ),
            "8"
        );
    }

    // ------------------------------------------------------------ long context

    #[test]
    fn long_context_just_over_and_exactly_at_threshold() {
        let d = day(2025, 10, 1); // inside Sonnet 4.5's window
        // 100,000 in + 100,000 read = 200,000: standard.
        // 100000*3 + 100000*0.3 + 1000*15 = 300000 + 30000 + 15000 = 345000 μ$
        assert_eq!(
            usd("claude-sonnet-4-5", d, usage(100_000, 0, 0, 100_000, 1_000)),
            "0.345"
        );
        // 100,001 in + 100,000 read = 200,001: every token at the tier (in 6, read 0.6, out 22.5).
        // 100001*6 + 100000*0.6 + 1000*22.5 = 600006 + 60000 + 22500 = 682506 μ$
        assert_eq!(
            usd("claude-sonnet-4-5", d, usage(100_001, 0, 0, 100_000, 1_000)),
            "0.682506"
        );
    }

    #[test]
    fn long_context_counts_both_cache_writes_and_reads_but_not_output() {
        let d = day(2025, 10, 1);
        // 50,000 + 50,000 + 50,000 + 50,001 = 200,001 > 200,000:
        // 50000*6 + 50000*7.5 + 50000*12 + 50001*0.6 + 1000*22.5
        // = 300000 + 375000 + 600000 + 30000.6 + 22500 = 1327500.6 μ$
        assert_eq!(
            usd(
                "claude-sonnet-4-5",
                d,
                usage(50_000, 50_000, 50_000, 50_001, 1_000)
            ),
            "1.3275006"
        );
        // 200,000 in + 100,000 out: output does not count, standard.
        // 200000*3 + 100000*15 = 600000 + 1500000 = 2100000 μ$
        assert_eq!(
            usd("claude-sonnet-4-5", d, usage(200_000, 0, 0, 0, 100_000)),
            "2.1"
        );
    }

    #[test]
    fn long_context_window_edges() {
        let u = usage(200_001, 0, 0, 0, 1_000);
        // Sonnet 4/4.5/4.6 tier: 200001*6 + 1000*22.5 = 1200006 + 22500 = 1222506 μ$
        // standard:             200001*3 + 1000*15   = 600003 + 15000 = 615003 μ$
        let sonnet_lc = "1.222506";
        let sonnet_std = "0.615003";
        // Opus 4.6 tier: 200001*10 + 1000*37.5 = 2000010 + 37500 = 2037510 μ$
        // standard:      200001*5 + 1000*25    = 1000005 + 25000 = 1025005 μ$
        let opus_lc = "2.03751";
        let opus_std = "1.025005";
        let cases = [
            ("claude-sonnet-4-20250514", day(2025, 8, 11), sonnet_std),
            ("claude-sonnet-4-20250514", day(2025, 8, 12), sonnet_lc),
            ("claude-sonnet-4-20250514", day(2026, 4, 30), sonnet_lc),
            ("claude-sonnet-4-20250514", day(2026, 5, 1), sonnet_std),
            ("claude-sonnet-4-5-20250929", day(2025, 8, 11), sonnet_std),
            ("claude-sonnet-4-5-20250929", day(2025, 8, 12), sonnet_lc),
            ("claude-sonnet-4-5-20250929", day(2026, 4, 30), sonnet_lc),
            ("claude-sonnet-4-5-20250929", day(2026, 5, 1), sonnet_std),
            ("claude-sonnet-4-6", day(2026, 2, 16), sonnet_std),
            ("claude-sonnet-4-6", day(2026, 2, 17), sonnet_lc),
            ("claude-sonnet-4-6", day(2026, 3, 12), sonnet_lc),
            ("claude-sonnet-4-6", day(2026, 3, 13), sonnet_std),
            ("claude-opus-4-6", day(2026, 2, 4), opus_std),
            ("claude-opus-4-6", day(2026, 2, 5), opus_lc),
            ("claude-opus-4-6", day(2026, 3, 12), opus_lc),
            ("claude-opus-4-6", day(2026, 3, 13), opus_std),
            // no tier at all on the other models
            ("claude-opus-4-5", day(2026, 2, 20), opus_std),
            ("claude-opus-4-7", day(2026, 5, 1), opus_std),
            // undated: only open-ended tiers apply, and these windows ended
            ("claude-sonnet-4-5-20250929", None, sonnet_std),
            ("claude-opus-4-6", None, opus_std),
        ];
        let t = table();
        for (model, date, want) in cases {
            assert_eq!(usd_of(&t, model, date, u), want, "{model} on {date:?}");
        }
    }

    #[test]
    fn haiku_5_5_tier_at_100000_and_100001() {
        let d = day(2026, 10, 10);
        // 100,000: standard. 100000*0.10 + 1000*0.50 = 10000 + 500 = 10500 μ$
        assert_eq!(
            usd("claude-haiku-5-5", d, usage(100_000, 0, 0, 0, 1_000)),
            "0.0105"
        );
        // 100,001: x5 on everything. 100001*0.50 + 1000*2.50 = 50000.5 + 2500 = 52500.5 μ$
        assert_eq!(
            usd("claude-haiku-5-5", d, usage(100_001, 0, 0, 0, 1_000)),
            "0.0525005"
        );
        // reads count and are x5 too: 1*0.50 + 100000*0.05 = 0.5 + 5000 = 5000.5 μ$
        assert_eq!(
            usd("claude-haiku-5-5", d, usage(1, 0, 0, 100_000, 0)),
            "0.0050005"
        );
        // the tier has no window: undated responses get it as well
        assert_eq!(
            usd("claude-haiku-5-5", None, usage(100_001, 0, 0, 0, 1_000)),
            "0.0525005"
        );
    }

    // ------------------------------------------------------------ fast mode

    #[test]
    fn fast_replaces_rates_and_scales_cache_by_the_models_multiples() {
        // Opus 4.7 fast: in 30, out 150; caches 30 x (6.25, 10, 0.5)/5 = 37.5, 60, 3.
        // 1000*30 + 2000*37.5 + 3000*60 + 10000*3 + 500*150
        // = 30000 + 75000 + 180000 + 30000 + 75000 = 390000 μ$
        assert_eq!(
            usd("claude-opus-4-7", day(2026, 5, 1), fast(common())),
            "0.39"
        );
        // Opus 5.5 fast: in 8, out 40; caches 8 x (5, 8, 0.2)/4 = 10, 16, 0.40 (reads stay 0.05x).
        // 1000*8 + 2000*10 + 3000*16 + 10000*0.4 + 500*40 = 8000+20000+48000+4000+20000 = 100000 μ$
        assert_eq!(
            usd("claude-opus-5-5", day(2026, 10, 1), fast(common())),
            "0.1"
        );
        // Opus 5 fast: 10 / 12.5 / 20 / 1 / 50:
        // 10000 + 25000 + 60000 + 10000 + 25000 = 130000 μ$
        assert_eq!(
            usd("claude-opus-5", day(2026, 8, 1), fast(common())),
            "0.13"
        );
    }

    #[test]
    fn fast_on_a_model_without_fast_rates_is_standard() {
        // Sonnet has no fast mode; same 39,000 μ$ as standard
        assert_eq!(
            usd("claude-sonnet-4-5", day(2025, 10, 1), fast(common())),
            "0.039"
        );
        // Fable 5.2: no fast price known; standard 98,000 μ$
        assert_eq!(
            usd("claude-fable-5-2", day(2026, 11, 15), fast(common())),
            "0.098"
        );
        // Opus 4.5: never had fast; standard 65,000 μ$
        assert_eq!(
            usd("claude-opus-4-5", day(2026, 3, 1), fast(common())),
            "0.065"
        );
    }

    #[test]
    fn fast_end_dates_are_inclusive() {
        // fast Opus 4.6/4.7 (6x) = 390,000 μ$; Opus 4.8 (2x) = 130,000 μ$; standard = 65,000 μ$
        let cases = [
            // Opus 4.6's launch discount: half the fast rates through
            // 2026-02-16 23:59 PT (PST, UTC-8): 2026-02-17 07:59 UTC
            ("claude-opus-4-6", day(2026, 2, 5), "0.195"),
            ("claude-opus-4-6", day_end(2026, 2, 16), "0.195"),
            (
                "claude-opus-4-6",
                at("2026-02-16T23:59:59.999-08:00"),
                "0.195",
            ),
            ("claude-opus-4-6", at("2026-02-17T07:59:59.999Z"), "0.195"),
            ("claude-opus-4-6", at("2026-02-17T08:00:00Z"), "0.39"),
            ("claude-opus-4-6", day_end(2026, 6, 29), "0.39"),
            ("claude-opus-4-6", day(2026, 6, 30), "0.065"),
            ("claude-opus-4-7", day_end(2026, 7, 24), "0.39"),
            ("claude-opus-4-7", day(2026, 7, 25), "0.065"),
            ("claude-opus-4-8", day_end(2026, 11, 30), "0.13"),
            ("claude-opus-4-8", day(2026, 12, 1), "0.065"),
            // undated = latest rates: ended fast periods do not apply, open ones do
            ("claude-opus-4-6", None, "0.065"),
            ("claude-opus-4-8", None, "0.065"),
            ("claude-opus-5", None, "0.13"),
        ];
        let t = table();
        for (model, date, want) in cases {
            assert_eq!(
                usd_of(&t, model, date, fast(common())),
                want,
                "{model} at {date:?} ms"
            );
        }
    }

    #[test]
    fn fast_and_long_context_bounds_may_be_times_with_an_offset() {
        let rates = "[models.x]\n[[models.x.rates]]\ninput = \"1\"\noutput = \"2\"\ncache_write_5m = \"3\"\ncache_write_1h = \"4\"\ncache_read = \"5\"\n";
        // a minute, a second, a string and Z: `until` takes in the whole
        // minute or second it names, `from` starts at its first instant
        let t = table()
            .with_override_str(
                &format!(
                    "{rates}[[models.x.fast]]\nuntil = 2026-05-01T09:30-07:00\ninput = \"2\"\noutput = \"4\"\n\
                     [[models.x.fast]]\nfrom = \"2026-05-01T16:31:00Z\"\nuntil = 2026-05-01T17:00:05Z\ninput = \"3\"\noutput = \"6\"\n\
                     [[models.x.long_context]]\nthreshold = 1000000\nfrom = 2026-05-01T18:00:00+01:00\nuntil = 2026-05-01\ninput_multiplier = \"2\"\noutput_multiplier = \"2\"\n"
                ),
                "user.toml",
            )
            .expect("times load");
        // 1,000,000 fast input tokens at 2, 3 or (no fast period) 1 $/MTok
        let fast_input = fast(usage(1_000_000, 0, 0, 0, 0));
        for (when, want) in [
            ("2026-05-01T16:30:59.999Z", "2"),
            ("2026-05-01T16:31:00Z", "3"),
            ("2026-05-01T17:00:05.999Z", "3"),
            ("2026-05-01T17:00:06Z", "1"),
        ] {
            assert_eq!(usd_of(&t, "x", at(when), fast_input), want, "at {when}");
        }
        // the tier (x2 over 1,000,000 prompt tokens) from 17:00 UTC to the
        // day's end
        let long = usage(1_000_001, 0, 0, 0, 0);
        for (when, want) in [
            ("2026-05-01T16:59:59.999Z", "1.000001"),
            ("2026-05-01T17:00:00Z", "2.000002"),
            ("2026-05-01T23:59:59.999Z", "2.000002"),
            ("2026-05-02T00:00:00Z", "1.000001"),
        ] {
            assert_eq!(usd_of(&t, "x", at(when), long), want, "at {when}");
        }
        // shown as written
        let x = info_of(&t, "x");
        let shown = |b: Option<Bound>| b.map(|b| b.to_string());
        assert_eq!(
            (shown(x.fast[0].from), shown(x.fast[0].until)),
            (None, Some("2026-05-01T09:30-07:00".to_owned()))
        );
        assert_eq!(
            (shown(x.fast[1].from), shown(x.fast[1].until)),
            (
                Some("2026-05-01T16:31:00Z".to_owned()),
                Some("2026-05-01T17:00:05Z".to_owned())
            )
        );
        assert_eq!(
            (
                shown(x.long_context[0].from),
                shown(x.long_context[0].until)
            ),
            (
                Some("2026-05-01T18:00:00+01:00".to_owned()),
                Some("2026-05-01".to_owned())
            )
        );

        let fast_period = |from: &str, until: &str| {
            format!(
                "{rates}[[models.x.fast]]\nfrom = {from}\nuntil = {until}\ninput = \"2\"\noutput = \"4\"\n"
            )
        };
        for (text, want) in [
            (
                fast_period("2026-05-01T12:00", "2026-05-02"),
                "user.toml:9: models.x.fast[0].from: 2026-05-01T12:00 has no UTC offset: write one (Z for UTC, -08:00 for Pacific standard time)",
            ),
            (
                fast_period("2026-05-01", "2026-05-02T12:00:00.5Z"),
                "user.toml:10: models.x.fast[0].until: 2026-05-02T12:00:00.5Z has a fraction of a second: write whole seconds (a time names its whole minute or second)",
            ),
            (
                fast_period("2026-05-01", "12:00:00"),
                "user.toml:10: models.x.fast[0].until: 12:00:00 is not a date (YYYY-MM-DD) or a time with its UTC offset (YYYY-MM-DDTHH:MM-08:00, or Z for UTC)",
            ),
            (
                fast_period("2026-05-01T12:00Z", "2026-05-01T11:59:59Z"),
                "user.toml:10: models.x.fast[0].until: 2026-05-01T11:59:59Z is before from (2026-05-01T12:00Z)",
            ),
            (
                fast_period("2026-05-02", "2026-05-01T23:59:59+00:01"),
                "user.toml:10: models.x.fast[0].until: 2026-05-01T23:59:59+00:01 is before from (2026-05-02)",
            ),
            (
                format!(
                    "{}[[models.x.fast]]\nfrom = 2026-05-01T12:00Z\ninput = \"2\"\noutput = \"4\"\n",
                    fast_period("2026-04-01", "2026-05-01T05:00-07:00")
                ),
                "user.toml:13: models.x.fast[1]: overlaps the fast period at line 8",
            ),
        ] {
            assert_eq!(override_err(&text), want);
        }
        // the same minute seen from two offsets ends one period and starts
        // the next without a gap or an overlap
        let adjacent = format!(
            "{}[[models.x.fast]]\nfrom = 2026-05-01T12:01Z\ninput = \"3\"\noutput = \"6\"\n",
            fast_period("2026-04-01", "2026-05-01T05:00-07:00")
        );
        let t = table()
            .with_override_str(&adjacent, "user.toml")
            .expect("adjacent periods load");
        assert_eq!(
            usd_of(&t, "x", at("2026-05-01T12:00:59.999Z"), fast_input),
            "2"
        );
        assert_eq!(usd_of(&t, "x", at("2026-05-01T12:01:00Z"), fast_input), "3");
    }

    #[test]
    fn fast_and_long_context_multiply() {
        // Opus 4.6 on 2026-02-20, fast, 150,000 + 20,000 + 10,000 + 20,001 = 200,001 prompt tokens.
        // fast x LC: in 30*2 = 60, 5m 37.5*2 = 75, 1h 60*2 = 120, read 3*2 = 6, out 150*1.5 = 225.
        // 150000*60 + 20000*75 + 10000*120 + 20001*6 + 2000*225
        // = 9000000 + 1500000 + 1200000 + 120006 + 450000 = 12270006 μ$
        let u = fast(usage(150_000, 20_000, 10_000, 20_001, 2_000));
        assert_eq!(usd("claude-opus-4-6", day(2026, 2, 20), u), "12.270006");
        // the same on 2026-03-13 (no tier, still fast):
        // 150000*30 + 20000*37.5 + 10000*60 + 20001*3 + 2000*150
        // = 4500000 + 750000 + 600000 + 60003 + 300000 = 6210003 μ$
        assert_eq!(usd("claude-opus-4-6", day(2026, 3, 13), u), "6.210003");
    }

    // ------------------------------------------------------------ US-only

    /// Bedrock's regional and multi-region ids cost 10% over the global
    /// endpoint for Sonnet 4.5, Haiku 4.5, Opus 4.5 and later; a global,
    /// Vertex, gateway or first-party id, or an older model, does not.
    #[test]
    fn regional_bedrock_ids_cost_ten_percent_more_on_eligible_models() {
        // Sonnet 4.5, 1,000 of each kind: 3 + 3.75 + 6 + 0.30 + 15 = 28.05 per M
        // tokens = 0.02805; x1.1 = 0.030855 (trial-s19-money P4, the facts' figure)
        let each = usage(1_000, 1_000, 1_000, 1_000, 1_000);
        let on = day(2026, 6, 6);
        for (id, want) in [
            ("claude-sonnet-4-5-20250929", "0.02805"),
            ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "0.030855"),
            ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "0.030855"),
            ("anthropic.claude-sonnet-4-5-20250929-v1:0", "0.030855"),
            (
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "0.02805",
            ),
            ("claude-sonnet-4-5@20250929", "0.02805"),
            ("anthropic/claude-sonnet-4.5", "0.02805"),
            // Haiku 4.5: 1 + 1.25 + 2 + 0.10 + 5 = 9.35 per M; x1.1
            ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "0.010285"),
            // Sonnet 4 (before 4.5): no surcharge
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", "0.02805"),
        ] {
            assert_eq!(usd(id, on, each), want, "{id}");
        }
        // it multiplies with long context (Sonnet 4.5, 2025-10-01, a
        // 250,001-token prompt: x2 in / x1.5 out, then x1.1)
        let long = usage(250_001, 0, 0, 0, 1_000);
        // 250,001 x 6 + 1,000 x 22.5 = 1,522,506 μ$; x1.1 = 1,674,756.6 μ$
        assert_eq!(
            usd("claude-sonnet-4-5-20250929", day(2025, 10, 1), long),
            "1.522506"
        );
        assert_eq!(
            usd(
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                day(2025, 10, 1),
                long
            ),
            "1.6747566"
        );
        // and with fast mode and US-only: fast_and_long_context_multiply's
        // 12,270,006 μ$ (Opus 4.6 on 2026-02-20, fast, a 200,001-token
        // prompt), x1.1 US-only x1.1 regional = x1.21: 14,846,707.26 μ$
        let u = us(fast(usage(150_000, 20_000, 10_000, 20_001, 2_000)));
        assert_eq!(
            usd("us.anthropic.claude-opus-4-6-v1:0", day(2026, 2, 20), u),
            "14.84670726"
        );
        assert_eq!(
            usd("global.anthropic.claude-opus-4-6-v1:0", day(2026, 2, 20), u),
            "13.4970066"
        );
    }

    #[test]
    fn us_only_from_2026_02_05_on_eligible_models() {
        // Opus 4.6 common(): 65,000 μ$; x1.1 = 71,500 μ$
        // (5000*1.1 + 12500*1.1 + 30000*1.1 + 5000*1.1 + 12500*1.1 = 5500+13750+33000+5500+13750)
        assert_eq!(
            usd("claude-opus-4-6", day(2026, 2, 4), us(common())),
            "0.065"
        );
        assert_eq!(
            usd("claude-opus-4-6", day(2026, 2, 5), us(common())),
            "0.0715"
        );
        assert_eq!(
            usd("claude-opus-4-6", day(2026, 5, 1), us(common())),
            "0.0715"
        );
        // undated: latest rates, US-only applies
        assert_eq!(usd("claude-opus-4-6", None, us(common())), "0.0715");
        // without the flag: standard
        assert_eq!(usd("claude-opus-4-6", day(2026, 5, 1), common()), "0.065");
        // Sonnet 4.6: 39,000 x 1.1 = 42,900 μ$
        assert_eq!(
            usd("claude-sonnet-4-6", day(2026, 5, 1), us(common())),
            "0.0429"
        );
        // Haiku 5.5 (a 5.x model): 1,300 x 1.1 = 1,430 μ$
        assert_eq!(
            usd("claude-haiku-5-5", day(2026, 10, 10), us(common())),
            "0.00143"
        );
        // Mythos 5: 130,000 x 1.1 = 143,000 μ$
        assert_eq!(
            usd("claude-mythos-5", day(2026, 7, 1), us(common())),
            "0.143"
        );
    }

    #[test]
    fn us_only_ignored_on_non_eligible_models() {
        assert_eq!(
            usd("claude-opus-4-5", day(2026, 5, 1), us(common())),
            "0.065"
        );
        assert_eq!(
            usd("claude-sonnet-4-5", day(2026, 3, 1), us(common())),
            "0.039"
        );
        assert_eq!(
            usd("claude-haiku-4-5", day(2026, 5, 1), us(common())),
            "0.013"
        );
        assert_eq!(usd("claude-opus-4-1", None, us(common())), "0.195");
    }

    #[test]
    fn us_only_fast_and_long_context_combined() {
        // as in fast_and_long_context_multiply, x1.1 on every category:
        // in 66, 5m 82.5, 1h 132, read 6.6, out 247.5
        // 150000*66 + 20000*82.5 + 10000*132 + 20001*6.6 + 2000*247.5
        // = 9900000 + 1650000 + 1320000 + 132006.6 + 495000 = 13497006.6 μ$
        let u = us(fast(usage(150_000, 20_000, 10_000, 20_001, 2_000)));
        assert_eq!(usd("claude-opus-4-6", day(2026, 2, 20), u), "13.4970066");
    }

    // ------------------------------------------------------------ dated change, web search

    #[test]
    fn sonnet_5_5_read_price_changes_at_midnight_utc() {
        // 1M reads: 0.20 through 2026-10-06, 0.10 from 2026-10-07; undated = latest
        let u = usage(0, 0, 0, 1_000_000, 0);
        assert_eq!(usd("claude-sonnet-5-5", day(2026, 9, 28), u), "0.2");
        assert_eq!(usd("claude-sonnet-5-5", day(2026, 10, 6), u), "0.2");
        assert_eq!(usd("claude-sonnet-5-5", day(2026, 10, 7), u), "0.1");
        assert_eq!(usd("claude-sonnet-5-5", None, u), "0.1");
        // other categories unchanged: 1M in = 2 on both sides
        let input = usage(1_000_000, 0, 0, 0, 0);
        assert_eq!(usd("claude-sonnet-5-5", day(2026, 10, 6), input), "2");
        assert_eq!(usd("claude-sonnet-5-5", day(2026, 10, 7), input), "2");
    }

    #[test]
    fn web_search_is_one_cent_outside_every_multiplier() {
        let searches = |n: u64, u: Usage| Usage {
            web_search_requests: n,
            ..u
        };
        // no tokens, 5 searches = 0.05; 1,000 searches = 10
        assert_eq!(
            usd(
                "claude-haiku-4-5",
                day(2026, 5, 1),
                searches(5, Usage::default())
            ),
            "0.05"
        );
        assert_eq!(
            usd(
                "claude-haiku-4-5",
                day(2026, 5, 1),
                searches(1_000, Usage::default())
            ),
            "10"
        );
        // fast + long + US-only tokens 13.4970066 (above) + 3 x 0.01, not multiplied = 13.5270066
        let u = searches(3, us(fast(usage(150_000, 20_000, 10_000, 20_001, 2_000))));
        assert_eq!(usd("claude-opus-4-6", day(2026, 2, 20), u), "13.5270066");
    }

    // ------------------------------------------------------------ platform ids

    #[test]
    fn bedrock_vertex_gateway_and_1m_ids_price_like_first_party() {
        let t = table();
        let d = day(2026, 5, 1);
        // (a Bedrock regional id costs 10% more: 39,000 μ$ x 1.1 = 42,900;
        // before the nineteenth session it was priced as the others)
        for (model, want) in [
            ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "0.0429"),
            ("claude-sonnet-4-5@20250929", "0.039"),
            ("claude-sonnet-4-5-20250929", "0.039"),
        ] {
            let cost = t.cost(model, d, &common()).expect("priced");
            assert_eq!(cost.priced_as, "claude-sonnet-4-5-20250929", "{model}");
            assert_eq!(cost.usd().normalize().to_string(), want, "{model}");
        }
        for (model, want) in [
            ("anthropic/claude-opus-4-6", "0.065"),
            ("claude-opus-4-6[1m]", "0.065"),
            ("us.anthropic.claude-opus-4-6-v1", "0.0715"),
        ] {
            let cost = t.cost(model, d, &common()).expect("priced");
            assert_eq!(cost.priced_as, "claude-opus-4-6", "{model}");
            assert_eq!(cost.usd().normalize().to_string(), want, "{model}");
        }
    }

    #[test]
    fn unknown_and_synthetic_models_are_unpriced() {
        let t = table();
        for model in ["gpt-4o", "claude-opus", "<synthetic>", ""] {
            assert_eq!(t.cost(model, day(2026, 5, 1), &common()), None, "{model}");
            assert!(
                matches!(
                    t.try_cost(model, day(2026, 5, 1), &common()),
                    Err(PricingError::UnknownModel { .. })
                ),
                "{model}"
            );
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_wrong_number() {
        // u64::MAX output tokens x 75e6 pUSD/token ≈ 1.4e27 pUSD > i64::MAX ≈ 9.2e18
        let u = usage(0, 0, 0, 0, u64::MAX);
        let t = table();
        assert!(matches!(
            t.try_cost("claude-opus-4-1", day(2026, 1, 1), &u),
            Err(PricingError::CostOverflow { .. })
        ));
        assert_eq!(t.cost("claude-opus-4-1", day(2026, 1, 1), &u), None);
        // the largest count that fits: 9,223,372,036,854,775,807 pUSD / 75,000,000 = 122,978,293,824 tokens
        let fits = usage(0, 0, 0, 0, 122_978_293_824);
        let cost = t
            .cost("claude-opus-4-1", day(2026, 1, 1), &fits)
            .expect("fits");
        // 122978293824 * 75000000 = 9223372036800000000
        assert_eq!(cost.picousd, 9_223_372_036_800_000_000);
    }

    // ------------------------------------------------------------ table contents

    #[test]
    fn every_builtin_rate_is_whole_picousd_under_every_multiplier() {
        // Independent of the loader's own check: every listed rate, x every
        // long-context multiplier, the US-only multiplier and (on a regional
        // entry) Bedrock's regional one, has at most six decimals in $/MTok
        // (= whole pUSD per token).
        let t = table();
        let g = t.globals();
        let whole = |x: Decimal| (x * Decimal::from(1_000_000)).normalize().scale() == 0;
        for e in t.entries() {
            let mut lc: Vec<(Decimal, Decimal)> = vec![(Decimal::ONE, Decimal::ONE)];
            lc.extend(
                e.long_context
                    .iter()
                    .map(|l| (l.input_multiplier, l.output_multiplier)),
            );
            for r in &e.rates {
                let mut sets = vec![[
                    r.input,
                    r.cache_write_5m,
                    r.cache_write_1h,
                    r.cache_read,
                    r.output,
                ]];
                for f in &e.fast {
                    let k = f.input / r.input;
                    sets.push([
                        f.input,
                        r.cache_write_5m * k,
                        r.cache_write_1h * k,
                        r.cache_read * k,
                        f.output,
                    ]);
                }
                let regional = if e.regional {
                    vec![Decimal::ONE, g.regional_multiplier]
                } else {
                    vec![Decimal::ONE]
                };
                for set in sets {
                    for (im, om) in &lc {
                        for us_m in [Decimal::ONE, g.us_only_multiplier] {
                            for reg in &regional {
                                for (i, rate) in set.iter().enumerate() {
                                    let m = if i == 4 { *om } else { *im };
                                    assert!(
                                        whole(*rate * m * us_m * reg),
                                        "{}: {rate} x {m} x {us_m} x {reg}",
                                        e.id
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn builtin_entries_and_aliases() {
        let t = table();
        let entries = t.entries();
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "claude-3-5-haiku-20241022",
                "claude-3-5-sonnet-20240620",
                "claude-3-5-sonnet-20241022",
                "claude-3-7-sonnet-20250219",
                "claude-3-haiku-20240307",
                "claude-3-opus-20240229",
                "claude-fable-5",
                "claude-fable-5-1",
                "claude-fable-5-2",
                "claude-haiku-4-5-20251001",
                "claude-haiku-5-5",
                "claude-opus-4-1-20250805",
                "claude-opus-4-20250514",
                "claude-opus-4-5-20251101",
                "claude-opus-4-6",
                "claude-opus-4-7",
                "claude-opus-4-8",
                "claude-opus-5",
                "claude-opus-5-5",
                "claude-sonnet-4-20250514",
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-6",
                "claude-sonnet-5",
                "claude-sonnet-5-5",
            ]
        );
        assert!(entries.iter().all(|e| e.origin == BUILTIN_ORIGIN));
        // US-only eligibility: Opus/Sonnet 4.6+, all 5.x, Fable/Mythos
        let eligible: Vec<&str> = entries
            .iter()
            .filter(|e| e.us_only)
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(
            eligible,
            [
                "claude-fable-5",
                "claude-fable-5-1",
                "claude-fable-5-2",
                "claude-haiku-5-5",
                "claude-opus-4-6",
                "claude-opus-4-7",
                "claude-opus-4-8",
                "claude-opus-5",
                "claude-opus-5-5",
                "claude-sonnet-4-6",
                "claude-sonnet-5",
                "claude-sonnet-5-5",
            ]
        );
        let sonnet55 = entries
            .iter()
            .find(|e| e.id == "claude-sonnet-5-5")
            .expect("sonnet 5.5");
        assert_eq!(sonnet55.rates.len(), 2);
        assert_eq!(
            (sonnet55.rates[0].from, sonnet55.rates[0].until),
            (None, NaiveDate::from_ymd_opt(2026, 10, 6))
        );
        assert_eq!(
            (sonnet55.rates[1].from, sonnet55.rates[1].until),
            (NaiveDate::from_ymd_opt(2026, 10, 7), None)
        );
        let g = t.globals();
        assert_eq!(g.web_search_usd_per_request.to_string(), "0.01");
        assert_eq!(g.us_only_multiplier.to_string(), "1.1");
        assert_eq!(Some(g.us_only_from), NaiveDate::from_ymd_opt(2026, 2, 5));
    }

    // ------------------------------------------------------------ user file

    fn info_of(t: &PriceTable, id: &str) -> EntryInfo {
        t.entries().into_iter().find(|e| e.id == id).expect("entry")
    }

    #[test]
    fn override_replaces_rates_and_keeps_what_it_does_not_write() {
        let rates = "[[models.claude-opus-4-6.rates]]\n\
                    input = \"6\"\noutput = \"30\"\ncache_write_5m = \"7.5\"\ncache_write_1h = \"12\"\ncache_read = \"0.6\"\n";
        let t = table()
            .with_override_str(&format!("[models.claude-opus-4-6]\n{rates}"), "user.toml")
            .expect("valid override");
        // 1000*6 + 2000*7.5 + 3000*12 + 10000*0.6 + 500*30 = 6000+15000+36000+6000+15000 = 78000 μ$
        assert_eq!(
            usd_of(&t, "claude-opus-4-6", day(2026, 5, 1), common()),
            "0.078"
        );
        // fast rates, the long-context tier and US-only are kept: a fast
        // response costs what it did (fast rates are their own; the cache
        // rates keep their multiples of input)
        let (merged, builtin) = (
            info_of(&t, "claude-opus-4-6"),
            info_of(&table(), "claude-opus-4-6"),
        );
        assert!(!builtin.fast.is_empty() && !builtin.long_context.is_empty() && builtin.us_only);
        assert_eq!(format!("{:?}", merged.fast), format!("{:?}", builtin.fast));
        assert_eq!(
            format!("{:?}", merged.long_context),
            format!("{:?}", builtin.long_context)
        );
        assert!(merged.us_only);
        assert_eq!(
            merged.origin,
            "user.toml (US-only, regional, fast, long context from builtin)"
        );
        assert_eq!(
            usd_of(&t, "claude-opus-4-6", day(2026, 5, 1), fast(us(common()))),
            usd_of(
                &table(),
                "claude-opus-4-6",
                day(2026, 5, 1),
                fast(us(common()))
            )
        );
        // and the aliases
        let t = table()
            .with_override_str(
                &format!(
                    "[models.claude-sonnet-4-5-20250929]\n{}",
                    rates.replace("opus-4-6", "sonnet-4-5-20250929")
                ),
                "user.toml",
            )
            .expect("valid override");
        assert_eq!(
            t.resolve("claude-sonnet-4-5"),
            Some("claude-sonnet-4-5-20250929")
        );
        // an entry written under an alias is the aliased entry: it prices
        // the dated id too, and keeps that entry's sections and aliases
        let before = info_of(&table(), "claude-sonnet-4-5-20250929");
        let t = table()
            .with_override_str(
                &format!(
                    "[models.claude-sonnet-4-5]\n{}",
                    rates.replace("opus-4-6", "sonnet-4-5")
                ),
                "user.toml",
            )
            .expect("valid override");
        for model in ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"] {
            assert_eq!(t.resolve(model), Some("claude-sonnet-4-5-20250929"));
        }
        let owner = info_of(&t, "claude-sonnet-4-5-20250929");
        assert!(
            owner.origin.contains("written as claude-sonnet-4-5"),
            "{}",
            owner.origin
        );
        assert_eq!(
            format!("{:?}", owner.long_context),
            format!("{:?}", before.long_context)
        );
        assert_eq!(owner.aliases, before.aliases);
        assert_ne!(format!("{:?}", owner.rates), format!("{:?}", before.rates));
        assert!(!t.entries().iter().any(|e| e.id == "claude-sonnet-4-5"));
        // written both ways in one file: which one counts is not guessed
        let both = format!(
            "[models.claude-sonnet-4-5]\n{}[models.claude-sonnet-4-5-20250929]\n{}",
            rates.replace("opus-4-6", "sonnet-4-5"),
            rates.replace("opus-4-6", "sonnet-4-5-20250929")
        );
        let err = table()
            .with_override_str(&both, "user.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("name the same model"), "{err}");
        // a kept section that the new rates cannot price exactly says how
        // to drop it
        let err = table()
            .with_override_str(
                "[models.claude-opus-4-6]\n[[models.claude-opus-4-6.rates]]\ninput = \"2.1\"\n\
                 output = \"25\"\ncache_write_5m = \"6.25\"\ncache_write_1h = \"10\"\ncache_read = \"0.5\"\n",
                "user.toml",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kept by the entry for claude-opus-4-6 in user.toml")
                && err.contains("fast = []"),
            "{err}"
        );
        // an error in the user's own rates (written under an alias) is the
        // user's, with no word of a kept built-in section
        let err = override_err(
            "[models.claude-haiku-4-5]\n[[models.claude-haiku-4-5.rates]]\ninput = \"1.0000001\"\n\
             output = \"2\"\ncache_write_5m = \"1\"\ncache_write_1h = \"2\"\ncache_read = \"0.1\"\n",
        );
        assert!(err.contains("user.toml:3"), "{err}");
        assert!(err.contains("not a whole number"), "{err}");
        assert!(!err.contains("built-in entry's"), "{err}");
        // also from a file whose path has " (" in it
        let own = "[models.claude-haiku-4-5]\n[[models.claude-haiku-4-5.rates]]\ninput = \"1.0000001\"\n\
             output = \"2\"\ncache_write_5m = \"1\"\ncache_write_1h = \"2\"\ncache_read = \"0.1\"\n";
        let err = table()
            .with_override_str(own, "My Files (work)/pricing.toml")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("built-in entry's"), "{err}");
        // what it writes, even empty, replaces: no fast rates, no tier, no
        // US-only, no regional
        let t = table()
            .with_override_str(
                &format!(
                    "[models.claude-opus-4-6]\nus_only = false\nregional = false\nfast = []\nlong_context = []\n{rates}"
                ),
                "user.toml",
            )
            .expect("valid override");
        assert_eq!(
            usd_of(&t, "claude-opus-4-6", day(2026, 5, 1), fast(us(common()))),
            "0.078"
        );
        let info = info_of(&t, "claude-opus-4-6");
        assert_eq!(info.origin, "user.toml");
        assert!(
            info.fast.is_empty() && info.long_context.is_empty() && !info.us_only && !info.regional
        );
        // others untouched: Opus 4.7 still 65,000 μ$
        assert_eq!(
            usd_of(&t, "claude-opus-4-7", day(2026, 5, 1), common()),
            "0.065"
        );
    }

    #[test]
    fn override_adds_entries_and_globals() {
        let text = r#"
[globals]
web_search_usd_per_request = "0.02"

[models.my-proxy-model]
aliases = ["my-proxy"]
us_only = true
[[models.my-proxy-model.rates]]
input = "1"
output = "2"
cache_write_5m = "3"
cache_write_1h = "4"
cache_read = "5"
"#;
        let t = table()
            .with_override_str(text, "user.toml")
            .expect("valid override");
        assert_eq!(t.resolve("my-proxy"), Some("my-proxy-model"));
        // 1000*1 + 2000*3 + 3000*4 + 10000*5 + 500*2 = 1000+6000+12000+50000+1000 = 70000 μ$
        assert_eq!(usd_of(&t, "my-proxy", day(2026, 5, 1), common()), "0.07");
        // US-only x1.1 = 77,000 μ$; + 2 searches x 0.02 (overridden global) = 0.077 + 0.04
        let u = Usage {
            web_search_requests: 2,
            ..us(common())
        };
        assert_eq!(usd_of(&t, "my-proxy", day(2026, 5, 1), u), "0.117");
        // untouched globals keep their builtin values
        assert_eq!(t.globals().us_only_multiplier.to_string(), "1.1");
        assert_eq!(t.entries().len(), 25);
    }

    #[test]
    fn override_file_on_disk_and_missing_file() {
        let dir =
            std::env::temp_dir().join(format!("observatory-pricing-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("pricing.toml");
        std::fs::write(&path, user_entry("local-model")).expect("write");
        let t = table().with_override_file(&path).expect("valid file");
        let info = t
            .entries()
            .into_iter()
            .find(|e| e.id == "local-model")
            .expect("entry");
        assert_eq!(info.origin, path.display().to_string());

        let missing = dir.join("nope.toml");
        let err = table()
            .with_override_file(&missing)
            .expect_err("missing file");
        assert!(matches!(err, PricingError::Io { .. }));
        assert_eq!(
            err.to_string(),
            format!("cannot read price file {}", missing.display())
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_price_file_may_write_a_gateways_dotted_id() {
        let entry = |id: &str| {
            format!(
                "[models.\"{id}\"]\n[[models.\"{id}\".rates]]\ninput = \"1\"\noutput = \"2\"\ncache_write_5m = \"3\"\ncache_write_1h = \"4\"\ncache_read = \"5\"\n"
            )
        };
        let text = entry("claude-opus-4.6") + &entry("claude-opus-9.1");
        let t = table()
            .with_override_str(&text, "user.toml")
            .expect("dotted ids load as before");
        // as written, the entry written so wins; hyphenated, the built-in one
        assert_eq!(
            t.resolve("anthropic/claude-opus-4.6"),
            Some("claude-opus-4.6")
        );
        assert_eq!(t.resolve("claude-opus-4-6"), Some("claude-opus-4-6"));
        assert_eq!(
            t.resolve("anthropic/claude-opus-9.1"),
            Some("claude-opus-9.1")
        );
        // without such an entry, the dotted id is the hyphenated one
        assert_eq!(
            table().resolve("anthropic/claude-opus-4.6"),
            Some("claude-opus-4-6")
        );
    }

    #[test]
    fn user_aliases_take_over_builtin_aliases() {
        let text = r#"
[models.team-opus]
aliases = ["claude-opus-4"]
[[models.team-opus.rates]]
input = "1"
output = "2"
cache_write_5m = "3"
cache_write_1h = "4"
cache_read = "5"
"#;
        let t = table()
            .with_override_str(text, "user.toml")
            .expect("valid override");
        assert_eq!(t.resolve("claude-opus-4"), Some("team-opus"));
        assert_eq!(t.resolve("claude-opus-4-0"), Some("claude-opus-4-20250514"));
        let opus4 = t
            .entries()
            .into_iter()
            .find(|e| e.id == "claude-opus-4-20250514")
            .expect("entry");
        assert_eq!(opus4.aliases, ["claude-opus-4-0"]);
    }

    #[test]
    fn bad_files_name_file_line_and_key() {
        let rates = "[models.x]\n[[models.x.rates]]\n"; // lines 1-2
        let ok =
            "output = \"2\"\ncache_write_5m = \"3\"\ncache_write_1h = \"4\"\ncache_read = \"5\"\n";
        let cases: Vec<(String, &str)> = vec![
            (
                format!("{rates}input = \"abc\"\n{ok}"),
                "user.toml:3: models.x.rates[0].input: \"abc\" is not a decimal number",
            ),
            (
                format!("{rates}input = \"-5\"\n{ok}"),
                "user.toml:3: models.x.rates[0].input: \"-5\" is negative; prices and multipliers must be >= 0",
            ),
            (
                format!("{rates}input = 5.0\n{ok}"),
                "user.toml:3: models.x.rates[0].input: 5.0 must be a string holding a decimal number (write \"5.0\"), so it is read exactly",
            ),
            (
                format!("{rates}input = \"1e3\"\n{ok}"),
                "user.toml:3: models.x.rates[0].input: \"1e3\" is not a decimal number",
            ),
            (
                format!("{rates}input = \"1\"\ninptu = \"1\"\n{ok}"),
                "user.toml:4: models.x.rates[0].inptu: unknown key (expected one of: from, input, output, cache_write_5m, cache_write_1h, cache_read)",
            ),
            (
                format!(
                    "{rates}input = \"1\"\noutput = \"2\"\ncache_write_5m = \"3\"\ncache_write_1h = \"4\"\n"
                ),
                "user.toml:2: models.x.rates[0].cache_read: missing required key",
            ),
            (
                format!("{rates}input = \n{ok}"),
                "user.toml:3: invalid TOML: string values must be quoted, expected literal string",
            ),
            (
                format!("{rates}input = \"1\"\ninput = \"2\"\n{ok}"),
                "user.toml:4: invalid TOML: duplicate key",
            ),
            (
                format!(
                    "{rates}input = \"1\"\n{ok}[[models.x.fast]]\nfrom = 2026-05-02\nuntil = 2026-05-01\ninput = \"2\"\noutput = \"4\"\n"
                ),
                "user.toml:10: models.x.fast[0].until: 2026-05-01 is before from (2026-05-02)",
            ),
            (
                format!("{rates}input = \"99999999999999999999999\"\n{ok}"),
                "user.toml:3: models.x.rates[0].input: x input rate 99999999999999999999999 $/MTok is too large: at most 79228162514264337593543 $/MTok, after every multiplier (a token's price must fit in picoUSD, 10^-12 USD)",
            ),
            (
                format!("{rates}input = \"0.0000001\"\n{ok}"),
                "user.toml:3: models.x.rates[0].input: x input rate 0.0000001 $/MTok is not a whole number of picoUSD (10^-12 USD) per token (at most 6 decimals in $/MTok, after every multiplier)",
            ),
            (
                format!("{rates}from = 2026-01-01\ninput = \"1\"\n{ok}"),
                "user.toml:3: models.x.rates[0].from: the first rate period has no `from`: it covers every date before the next period",
            ),
            (
                format!("{rates}input = \"1\"\n{ok}[[models.x.rates]]\ninput = \"1\"\n{ok}"),
                "user.toml:8: models.x.rates[1].from: missing required key (every period after the first needs `from`)",
            ),
            (
                format!(
                    "{rates}input = \"1\"\n{ok}[[models.x.rates]]\nfrom = 2026-01-01\ninput = \"1\"\n{ok}[[models.x.rates]]\nfrom = 2026-01-01\ninput = \"1\"\n{ok}"
                ),
                "user.toml:16: models.x.rates[2].from: 2026-01-01 is not after the previous period's from (2026-01-01): periods go in date order",
            ),
            (
                format!(
                    "{rates}input = \"1\"\n{ok}[[models.x.fast]]\ninput = \"2\"\noutput = \"4\"\n[[models.x.fast]]\nfrom = 2027-01-01\ninput = \"2\"\noutput = \"4\"\n"
                ),
                "user.toml:11: models.x.fast[1]: overlaps the fast period at line 8",
            ),
            (
                format!(
                    "[models.x]\naliases = [\"us.anthropic.x\"]\n[[models.x.rates]]\ninput = \"1\"\n{ok}"
                ),
                "user.toml:2: models.x.aliases[0]: \"us.anthropic.x\" is not a normalised model id (lookup would use \"x\")",
            ),
            (
                format!(
                    "[models.x]\naliases = [\"claude-opus-4-7\"]\n[[models.x.rates]]\ninput = \"1\"\n{ok}"
                ),
                "user.toml:2: models.x.aliases[0]: alias \"claude-opus-4-7\" is the id of entry \"claude-opus-4-7\" (builtin)",
            ),
            (
                format!(
                    "{rates}input = \"1\"\n{ok}[[models.x.long_context]]\nthreshold = -1\ninput_multiplier = \"2\"\noutput_multiplier = \"1.5\"\n"
                ),
                "user.toml:9: models.x.long_context[0].threshold: -1 is not a non-negative integer",
            ),
            (
                "[globals]\nus_only_multipler = \"1.2\"\n".to_string(),
                "user.toml:2: globals.us_only_multipler: unknown key (expected one of: web_search_usd_per_request, us_only_multiplier, us_only_from, regional_multiplier)",
            ),
            (
                // breaks builtin entries; the first checked (ids in order) is Fable 5:
                // input 10 x 1.1234567 = 11.234567 is fine, output 50 x 1.1234567 = 56.172835
                // is fine, 5m 12.50 x 1.1234567 = 14.04320875 has 8 decimals
                "[globals]\nus_only_multiplier = \"1.1234567\"\n".to_string(),
                "user.toml:2: globals.us_only_multiplier: claude-fable-5 cache_write_5m rate 14.04320875 $/MTok with US-only inference is not a whole number of picoUSD (10^-12 USD) per token (at most 6 decimals in $/MTok, after every multiplier)",
            ),
            (
                "[globals]\nus_only_from = \"2026-13-01\"\n".to_string(),
                "user.toml:2: globals.us_only_from: \"2026-13-01\" is not a date (YYYY-MM-DD)",
            ),
            (
                "[globals]\nus_only_from = 2026-02-05T08:00Z\n".to_string(),
                "user.toml:2: globals.us_only_from: 2026-02-05T08:00Z is not a date (YYYY-MM-DD): times are for the bounds of fast periods and long-context tiers; this one starts at midnight UTC",
            ),
            (
                "schema = 2\n".to_string(),
                "user.toml:1: schema: unsupported schema version (this program reads schema = 1)",
            ),
            (
                "[modles.x]\n".to_string(),
                "user.toml:1: modles: unknown key (expected one of: schema, globals, models)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(override_err(&text), want, "file:\n{text}");
        }
    }

    #[test]
    fn error_message_shape_from_the_spec() {
        let mut text = String::new();
        for _ in 0..40 {
            text.push_str("# padding\n");
        }
        text.push_str(
            "[models.claude-opus-4-6]\n[[models.claude-opus-4-6.rates]]\ninput = \"abc\"\n\
             output = \"1\"\ncache_write_5m = \"1\"\ncache_write_1h = \"1\"\ncache_read = \"1\"\n",
        );
        let err = PriceTable::from_toml_str(&text, "pricing.toml").expect_err("bad price");
        assert_eq!(
            err.to_string(),
            "pricing.toml:43: models.claude-opus-4-6.rates[0].input: \"abc\" is not a decimal number"
        );
    }

    #[test]
    fn a_standalone_file_needs_every_global() {
        let err = PriceTable::from_toml_str(
            "[globals]\nus_only_multiplier = \"1.1\"\nus_only_from = 2026-02-05\n",
            "t.toml",
        )
        .expect_err("incomplete globals");
        assert_eq!(
            err.to_string(),
            "t.toml:1: globals.web_search_usd_per_request: missing required key"
        );
    }

    #[test]
    fn a_failed_override_leaves_the_table_usable() {
        let t = table();
        assert!(
            t.clone()
                .with_override_str("[models.x]\n", "user.toml")
                .is_err()
        );
        assert_eq!(
            usd_of(&t, "claude-opus-4-6", day(2026, 5, 1), common()),
            "0.065"
        );
    }

    #[test]
    fn fast_cache_rates_must_be_exact_multiples() {
        // fast input 10 x (5m 1 / input 3) = 3.333... : not an exact decimal
        let text = r#"
[models.x]
[[models.x.rates]]
input = "3"
output = "15"
cache_write_5m = "1"
cache_write_1h = "6"
cache_read = "0.3"
[[models.x.fast]]
input = "10"
output = "50"
"#;
        assert_eq!(
            override_err(text),
            "user.toml:10: models.x.fast[0].input: x fast cache_write_5m rate: fast input 10 x (cache_write_5m 1 / input 3) is not a whole number of picoUSD (10^-12 USD) per token"
        );
    }

    #[test]
    fn an_entry_key_after_the_rates_header_says_where_it_goes() {
        let text = format!("{}fast = []\n", user_entry("claude-opus-4-6"));
        assert_eq!(
            override_err(&text),
            "user.toml:8: models.claude-opus-4-6.rates[0].fast: `fast` belongs to the entry, not to a \
             rate period: write it before the first [[models.claude-opus-4-6.rates]] header (after it, \
             TOML puts it in that period)"
        );
    }

    #[test]
    fn an_alias_can_name_one_entry_only() {
        let text = r#"
[models.a]
aliases = ["shared"]
[[models.a.rates]]
input = "1"
output = "1"
cache_write_5m = "1"
cache_write_1h = "1"
cache_read = "1"
[models.b]
aliases = ["shared"]
[[models.b.rates]]
input = "1"
output = "1"
cache_write_5m = "1"
cache_write_1h = "1"
cache_read = "1"
"#;
        // entries are checked in id order: b's alias (line 11) is the second use
        assert_eq!(
            override_err(text),
            "user.toml:11: models.b.aliases[0]: alias \"shared\" is already an alias of entry \"a\""
        );
    }

    #[test]
    fn only_combinations_that_can_happen_are_checked() {
        // Standard rates are integers, so x 1.000001 keeps <= 6 decimals:
        // 10.00001, 50.00005, 12.000012, 20.00002, 2.000002. Fast input 10.5 is
        // whole picoUSD alone (derived caches 10.5 x 12/10 = 12.6, 21, 2.1), but
        // 10.5 x 1.000001 = 10.5000105 has 7 decimals. The fast period (2025)
        // and the tier (2026) never overlap, so the file loads.
        let text = r#"
[models.x]
[[models.x.rates]]
input = "10"
output = "50"
cache_write_5m = "12"
cache_write_1h = "20"
cache_read = "2"
[[models.x.fast]]
until = 2025-12-31
input = "10.5"
output = "100"
[[models.x.long_context]]
threshold = 10
from = 2026-01-01
input_multiplier = "1.000001"
output_multiplier = "1.000001"
"#;
        let t = table()
            .with_override_str(text, "user.toml")
            .expect("non-overlapping fast and long context are not combined");
        // 2026-01-01, 11 input tokens (> 10): 11 x 10.00001 = 110.00011 μ$
        let cost = t
            .cost("x", day(2026, 1, 1), &usage(11, 0, 0, 0, 0))
            .expect("priced");
        assert_eq!(cost.usd().normalize().to_string(), "0.00011000011");
        // 2025-12-31, fast, 11 input tokens (tier not yet in force): 11 x 10.5 = 115.5 μ$
        let cost = t
            .cost("x", day(2025, 12, 31), &fast(usage(11, 0, 0, 0, 0)))
            .expect("priced");
        assert_eq!(cost.usd().normalize().to_string(), "0.0001155");
        // with the fast period reaching into 2026 the two combine and loading fails
        let overlapping = text.replace("until = 2025-12-31", "until = 2026-01-01");
        assert_eq!(
            override_err(&overlapping),
            "user.toml:16: models.x.long_context[0].input_multiplier: x input rate 10.5000105 $/MTok with long context is not a whole number of picoUSD (10^-12 USD) per token (at most 6 decimals in $/MTok, after every multiplier)"
        );
    }

    // ------------------------------------------------------------ fingerprint

    #[test]
    fn fnv1a64_known_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_is_stable_and_tracks_the_effective_table() {
        let base = table().fingerprint();
        assert_eq!(base.len(), 16);
        assert_eq!(base, table().fingerprint());

        // same values, written differently, from another origin: unchanged
        let same = "[models.claude-haiku-4-5-20251001]\naliases = [\"claude-haiku-4-5\"]\n\
                    [[models.claude-haiku-4-5-20251001.rates]]\ninput = \"1.0\"\noutput = \"5.00\"\n\
                    cache_write_5m = \"1.25\"\ncache_write_1h = \"2\"\ncache_read = \"0.1\"\n";
        let t = table().with_override_str(same, "user.toml").expect("valid");
        assert_eq!(t.fingerprint(), base);

        let changed = [
            same.replace("cache_read = \"0.1\"", "cache_read = \"0.11\""),
            same.replace(
                "aliases = [\"claude-haiku-4-5\"]",
                "aliases = [\"claude-haiku-4-5\", \"h\"]",
            ),
            same.replace(
                "[\"claude-haiku-4-5\"]\n",
                "[\"claude-haiku-4-5\"]\nus_only = true\n",
            ),
            "[globals]\nweb_search_usd_per_request = \"0.011\"\n".to_string(),
            "[globals]\nus_only_from = 2026-02-06\n".to_string(),
            user_entry("new-model"),
        ];
        // one fast period's end written four ways (a day, its last second,
        // its last minute, another offset): one table; a minute less is
        // another
        let fast_until = |until: &str| {
            let text = format!(
                "{}[[models.x.fast]]\nuntil = {until}\ninput = \"2\"\noutput = \"4\"\n",
                user_entry("x")
            );
            table()
                .with_override_str(&text, "user.toml")
                .expect("valid")
                .fingerprint()
        };
        let day_end = fast_until("2026-05-01");
        for same in [
            "2026-05-01T23:59:59Z",
            "2026-05-01T23:59Z",
            "\"2026-05-02T01:59:59+02:00\"",
        ] {
            assert_eq!(fast_until(same), day_end, "until = {same}");
        }
        let mut changed = changed.to_vec();
        changed.push(format!(
            "{}[[models.x.fast]]\nuntil = 2026-05-01T23:58Z\ninput = \"2\"\noutput = \"4\"\n",
            user_entry("x")
        ));
        changed.push(format!(
            "{}[[models.x.fast]]\nuntil = 2026-05-01\ninput = \"2\"\noutput = \"4\"\n",
            user_entry("x")
        ));
        let mut seen = BTreeSet::from([base.clone()]);
        for text in changed {
            let t = table()
                .with_override_str(&text, "user.toml")
                .expect("valid");
            assert!(
                seen.insert(t.fingerprint()),
                "fingerprint unchanged or repeated for:\n{text}"
            );
        }
    }

    #[test]
    fn prompt_tokens_sums_input_writes_and_reads() {
        assert_eq!(usage(1, 2, 3, 4, 1_000).prompt_tokens(), 10);
        assert_eq!(
            usage(u64::MAX, u64::MAX, 0, 0, 0).prompt_tokens(),
            2 * u128::from(u64::MAX)
        );
    }
}
