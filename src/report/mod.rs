//! Reports: read the store, return rows. They never print and never write.

pub mod blocks;
pub mod budget;
pub mod commands;
pub mod cost;
pub mod files;
pub mod hooks;
pub mod sessions;
pub mod show;
pub mod statusline;
pub mod tools;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;

/// The time zone days, weeks and months are cut in (`--tz`).
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Local,
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// A length of time (ms) such that every local day boundary in this
    /// zone falls on a multiple of it in UTC: 15 minutes for named zones
    /// (every offset in use since the 1970s is a multiple of a quarter
    /// hour), or what a fixed offset like `+13:59` needs; for the local
    /// zone, what its offsets this year need (a `TZ` written by hand, such
    /// as `XYZ-05:07`, is no IANA zone).
    pub fn day_grain_ms(&self) -> i64 {
        fn gcd(a: i64, b: i64) -> i64 {
            if b == 0 { a } else { gcd(b, a % b) }
        }
        let grain = |offsets: &mut dyn Iterator<Item = i32>| {
            offsets.fold(900, |g, o| gcd(i64::from(o).abs(), g)).max(1) * 1000
        };
        match self {
            Zone::Fixed(o) => grain(&mut std::iter::once(o.local_minus_utc())),
            Zone::Named(_) => 900_000,
            Zone::Local => {
                use chrono::{Datelike, Offset, TimeZone};
                let now = chrono::Utc::now();
                // (now, and midwinter and midsummer: both sides of DST)
                let year = now.year();
                let instants = [
                    Some(now),
                    chrono::Utc.with_ymd_and_hms(year, 1, 1, 12, 0, 0).single(),
                    chrono::Utc.with_ymd_and_hms(year, 7, 1, 12, 0, 0).single(),
                ];
                grain(&mut instants.into_iter().flatten().map(|t| {
                    t.with_timezone(&chrono::Local)
                        .offset()
                        .fix()
                        .local_minus_utc()
                }))
            }
        }
    }

    /// `local`, `UTC`, an IANA name (`Europe/Paris`) or an offset (`+05:30`).
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
            return Ok(Zone::Named(chrono_tz::UTC));
        }
        if let Ok(tz) = t.parse::<chrono_tz::Tz>() {
            return Ok(Zone::Named(tz));
        }
        if let Some(off) = parse_offset(t) {
            return Ok(Zone::Fixed(off));
        }
        Err(format!(
            "unknown time zone {t:?}: use local, UTC, an IANA name like Europe/Paris, or an offset like +05:30"
        ))
    }

    /// The zone's name as JSON reports it: local is named as the system
    /// names it (`TZ`, else the zone /etc/localtime links to), or `local`
    /// when neither is an IANA name.
    pub fn name(&self) -> String {
        match self {
            Zone::Local => {
                let tz = std::env::var("TZ").ok();
                if unknown_tz(tz.as_deref()).is_some() {
                    return "UTC".into();
                }
                local_zone_name(tz).unwrap_or_else(|| "local".into())
            }
            Zone::Named(tz) => tz.name().into(),
            Zone::Fixed(o) => o.to_string(),
        }
    }

    /// The local calendar date of a UTC instant (epoch ms).
    pub fn date(&self, ms: i64) -> NaiveDate {
        let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Local => utc.with_timezone(&chrono::Local).date_naive(),
            Zone::Named(tz) => utc.with_timezone(tz).date_naive(),
            Zone::Fixed(o) => utc.with_timezone(o).date_naive(),
        }
    }

    /// A UTC instant (epoch ms) as local wall time, formatted (chrono
    /// `strftime` syntax).
    /// A time of day in the hour that clocks repeat when they go back
    /// (02:30 twice in Berlin on the last Sunday of October) gets its
    /// zone's abbreviation or offset (`02:30 CEST`, then `02:30 CET`).
    pub fn format(&self, ms: i64, fmt: &str) -> String {
        fn in_zone<Z: chrono::TimeZone>(z: &Z, utc: DateTime<chrono::Utc>, fmt: &str) -> String
        where
            Z::Offset: std::fmt::Display,
        {
            let local = utc.with_timezone(z);
            let repeated = fmt.contains("%H")
                && matches!(
                    z.from_local_datetime(&local.naive_local()),
                    chrono::LocalResult::Ambiguous(..)
                );
            match repeated {
                true => local.format(&format!("{fmt} %Z")).to_string(),
                false => local.format(fmt).to_string(),
            }
        }
        let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Local => in_zone(&chrono::Local, utc, fmt),
            Zone::Named(tz) => in_zone(tz, utc, fmt),
            Zone::Fixed(o) => utc.with_timezone(o).format(fmt).to_string(),
        }
    }

    /// The first instant (epoch ms) of a local date.
    pub fn start_of(&self, d: NaiveDate) -> i64 {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self {
            Zone::Local => first_instant(&chrono::Local, midnight),
            Zone::Named(tz) => first_instant(tz, midnight),
            Zone::Fixed(o) => first_instant(o, midnight),
        }
    }
}

/// The first day of a week (`week_start` in the config file): weeks run
/// Monday to Sunday (ISO, the default) or Sunday to Saturday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
}

impl WeekStart {
    pub fn parse(s: &str) -> Option<WeekStart> {
        match s.trim().to_ascii_lowercase().as_str() {
            "monday" | "mon" => Some(WeekStart::Monday),
            "sunday" | "sun" => Some(WeekStart::Sunday),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WeekStart::Monday => "monday",
            WeekStart::Sunday => "sunday",
        }
    }

    /// The first day of the week holding `d`.
    pub fn first_day(self, d: NaiveDate) -> NaiveDate {
        use chrono::Datelike;
        let back = match self {
            WeekStart::Monday => d.weekday().num_days_from_monday(),
            WeekStart::Sunday => d.weekday().num_days_from_sunday(),
        };
        d - Duration::days(i64::from(back))
    }

    /// "Monday to Sunday" / "Sunday to Saturday", for people.
    pub fn span_words(self) -> &'static str {
        match self {
            WeekStart::Monday => "Monday to Sunday",
            WeekStart::Sunday => "Sunday to Saturday",
        }
    }
}

/// The earliest instant at or after a local wall time (a DST gap at
/// midnight moves the start of the day forward).
fn first_instant<T: TimeZone>(tz: &T, local: NaiveDateTime) -> i64 {
    for minutes in 0..=180 {
        if let Some(t) = tz
            .from_local_datetime(&(local + Duration::minutes(minutes)))
            .earliest()
        {
            return t.timestamp_millis();
        }
    }
    local.and_utc().timestamp_millis()
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    // (digits and one colon only: no sign inside, and no character whose
    // bytes a split below could cut)
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None;
    }
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// A day given on the command line: `YYYY-MM-DD`, `YYYYMMDD`, `today`,
/// `yesterday`, or `Nd` / `Nw` (the span of N days / weeks ending today, so
/// `7d` is today and the 6 days before).
pub fn parse_day(s: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let t = s.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "cannot read {s:?} as a date: use YYYY-MM-DD, YYYYMMDD, today, yesterday, or a span like 7d or 2w"
        )
    };
    match t.as_str() {
        "today" => return Ok(today),
        "yesterday" => return Ok(today - Duration::days(1)),
        _ => {}
    }
    let span = |days: i64| {
        span_start(today, days).ok_or_else(|| {
            format!("{s:?} is not a span of 1 to 100,000 days: give a date (YYYY-MM-DD) instead")
        })
    };
    if let Some(n) = t
        .strip_suffix('d')
        .or_else(|| t.strip_suffix("days"))
        .and_then(|n| n.parse::<i64>().ok())
    {
        return span(n);
    }
    if let Some(n) = t.strip_suffix('w').and_then(|n| n.parse::<i64>().ok()) {
        return span(n.saturating_mul(7));
    }
    NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&t, "%Y%m%d"))
        .map_err(|_| bad())
}

fn span_start(today: NaiveDate, days: i64) -> Option<NaiveDate> {
    if !(1..=100_000).contains(&days) {
        return None;
    }
    Some(today - Duration::days(days - 1))
}

/// The IANA name of the local zone, looked up as the C library does: `TZ`
/// (a name, `:name`, or a path into a zoneinfo folder; empty is UTC), else
/// the zoneinfo file /etc/localtime links to, else /etc/timezone (where
/// /etc/localtime is a copy). None when none of them names a zone.
fn local_zone_name(tz: Option<String>) -> Option<String> {
    fn iana(s: &str) -> Option<String> {
        let s = s.trim();
        // a path: what follows zoneinfo/ (and its posix/ or right/ trees)
        let s = match s.find("zoneinfo/") {
            Some(i) => &s[i + "zoneinfo/".len()..],
            None => s,
        };
        let s = s
            .strip_prefix("posix/")
            .or_else(|| s.strip_prefix("right/"))
            .unwrap_or(s);
        s.parse::<chrono_tz::Tz>()
            .ok()
            .map(|tz| tz.name().to_owned())
    }
    if let Some(tz) = tz {
        // (set but not a zone's name, e.g. a POSIX rule: not guessed)
        return match tz.trim_start_matches(':') {
            "" => Some("UTC".into()),
            t => iana(t),
        };
    }
    if let Some(name) = std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|l| iana(l.to_str()?))
    {
        return Some(name);
    }
    iana(&std::fs::read_to_string("/etc/timezone").ok()?)
}

/// `TZ` when it names no zone this system knows, so that the local zone is
/// UTC without saying so (the C library's and chrono's fallback): set, not
/// empty, naming no zone file where chrono looks (an IANA name is one: a
/// name with a blank after it, or a path under zoneinfo/ given from
/// there, is not), and not a POSIX rule. A rule chrono cannot read is not
/// told apart from one it can.
pub fn unknown_tz(tz: Option<&str>) -> Option<&str> {
    let t = tz?.trim_start_matches(':');
    let known = t.is_empty() || t == "localtime" || posix_rule(t) || zone_file(t);
    (!known).then_some(t)
}

/// A POSIX TZ rule: a zone abbreviation (three letters or more, or any
/// text in `<>`), then its offset (`EST5EDT`, `XYZ-05:07`, `<+0530>-5:30`).
/// An offset alone (`+05:30`: what `--tz` takes) is no rule: the C library
/// and chrono read it as UTC.
fn posix_rule(t: &str) -> bool {
    let name = match t.strip_prefix('<') {
        Some(rest) => rest.find('>').map(|i| i + 2),
        None => {
            let n = t.bytes().take_while(u8::is_ascii_alphabetic).count();
            (n >= 3).then_some(n)
        }
    };
    name.and_then(|n| t.as_bytes().get(n))
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-'))
}

/// A compiled zone file (`TZif`) where chrono looks for `t`: the path
/// itself if absolute, else under the zoneinfo folders (not the working
/// folder). `zone.tab` is there too, and is none.
fn zone_file(t: &str) -> bool {
    use std::io::Read;
    let path = std::path::Path::new(t);
    let candidates: Vec<std::path::PathBuf> = if path.is_absolute() {
        vec![path.to_owned()]
    } else {
        [
            "/usr/share/zoneinfo",
            "/share/zoneinfo",
            "/etc/zoneinfo",
            "/usr/share/lib/zoneinfo",
        ]
        .iter()
        .map(|d| std::path::Path::new(d).join(path))
        .collect()
    };
    candidates.iter().any(|p| {
        let mut magic = [0u8; 4];
        std::fs::File::open(p)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok_and(|()| &magic == b"TZif")
    })
}

/// A `[since, until]` range of local dates, as UTC epoch ms bounds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound.
    pub to_ms: Option<i64>,
    /// The days asked for (`--since`, `--until` resolved in the zone).
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl TimeRange {
    pub fn new(since: Option<NaiveDate>, until: Option<NaiveDate>, zone: &Zone) -> TimeRange {
        TimeRange {
            from_ms: since.map(|d| zone.start_of(d)),
            to_ms: until.map(|d| zone.start_of(d + Duration::days(1))),
            since,
            until,
        }
    }

    /// `since` and `until` as the reports' JSON gives them: `YYYY-MM-DD`
    /// (`7d` and `yesterday` resolved), null when not given.
    pub fn days_json(&self) -> (serde_json::Value, serde_json::Value) {
        let day = |d: Option<NaiveDate>| {
            d.map_or(serde_json::Value::Null, |d| {
                d.format("%Y-%m-%d").to_string().into()
            })
        };
        (day(self.since), day(self.until))
    }
}

/// picoUSD (10^-12) to an exact decimal in plain notation, trailing zeros
/// dropped.
pub fn usd(picousd: i128) -> Decimal {
    crate::pricing::usd(picousd)
}

/// A UTC instant (epoch ms) as RFC 3339 with milliseconds:
/// `2026-03-01T10:00:00.000Z` (how the reports' JSON writes times).
pub fn rfc3339(ms: i64) -> String {
    crate::transcript::format_timestamp(ms)
}

/// Nearest-rank percentile of `values`: the smallest value with at least
/// `p` percent of the values at or below it (rank `ceil(p/100 * n)`). None
/// for no values. A selection, not a sort (O(n)): `values` is left
/// reordered.
pub fn percentile(values: &mut [i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as u64;
    let rank = (u64::from(p.min(100)) * n).div_ceil(100).max(1);
    Some(*values.select_nth_unstable(rank as usize - 1).1)
}

/// `--project`: the project path contains the text; or, for a text in the
/// form of a folder name (a `-`, then a letter or digit somewhere: what
/// `ls ~/.claude/projects` shows), the name of the folder Claude Code keeps
/// the project's transcripts in does (`project_folder`). ASCII
/// case-insensitive. (Only that form: `my-app` is not also `my_app`, and a
/// lone `-` is no folder, for `forget` above all.)
pub fn project_matches(path: Option<&str>, want: Option<&str>) -> bool {
    match want {
        None => true,
        Some(w) => path.is_some_and(|p| {
            let w = w.to_ascii_lowercase();
            let p = p.to_ascii_lowercase();
            let folder_form = w.starts_with('-') && w.chars().any(|c| c.is_ascii_alphanumeric());
            p.contains(&w) || (folder_form && project_folder(&p).contains(&w))
        }),
    }
}

/// Whether `--project want` matches a transcript folder name alone (a
/// session none of whose lines named its working directory yet): the text
/// in a folder name's form, as a path would be encoded.
pub fn folder_matches(folder: &str, want: &str) -> bool {
    folder
        .to_ascii_lowercase()
        .contains(&project_folder(&want.to_ascii_lowercase()))
}

/// The name of a project's folder under `projects/`: its path with every
/// character but an ASCII letter or digit made `-`
/// (`/home/me/my.app` -> `-home-me-my-app`).
pub fn project_folder(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// `matching_projects` as an SQL parameter, a JSON array for
/// `project_id IN (SELECT value FROM json_each(?))`.
pub fn matching_projects_json(conn: &rusqlite::Connection, want: &str) -> rusqlite::Result<String> {
    let ids = matching_projects(conn, want)?;
    Ok(serde_json::Value::from(ids).to_string())
}

/// The ids of the projects `--project want` matches (`project_matches`).
pub fn matching_projects(conn: &rusqlite::Connection, want: &str) -> rusqlite::Result<Vec<i64>> {
    let mut ids = Vec::new();
    let mut st = conn.prepare("SELECT id, path FROM projects ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if project_matches(Some(r.get_ref(1)?.as_str()?), Some(want)) {
            ids.push(r.get(0)?);
        }
    }
    Ok(ids)
}

/// A row of session `session` is wanted (`want`: a full id, or None: all).
pub fn session_matches(session: Option<&str>, want: Option<&str>) -> bool {
    want.is_none_or(|w| session == Some(w))
}

impl TimeRange {
    /// An instant inside the range (an unknown time only when no bound is set).
    pub fn contains(&self, at: Option<i64>) -> bool {
        match at {
            None => self.from_ms.is_none() && self.to_ms.is_none(),
            Some(t) => self.from_ms.is_none_or(|f| t >= f) && self.to_ms.is_none_or(|u| t < u),
        }
    }

    /// The span `[first, last]` touches the range.
    pub fn overlaps(&self, first: Option<i64>, last: Option<i64>) -> bool {
        match (first, last) {
            (Some(f), Some(l)) => {
                self.from_ms.is_none_or(|from| l >= from) && self.to_ms.is_none_or(|to| f < to)
            }
            (Some(t), None) | (None, Some(t)) => self.contains(Some(t)),
            (None, None) => self.contains(None),
        }
    }
}

/// The current time in epoch ms (reports take "now" as a parameter; this is
/// where commands get it).
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// An exact sum from SQL's `sum(x / 10^12)` and `sum(x % 10^12)` (whole
/// dollars and the picodollar rest of picoUSD amounts; NULL when no row).
/// The rest's sum overflows past ~9.2 million rows: for a group that small
/// (a session, a day, a block); [`total_sum_sql`] for any number of rows.
pub fn split_sum(dollars: Option<i64>, rest: Option<i64>) -> i128 {
    i128::from(dollars.unwrap_or(0)) * 1_000_000_000_000 + i128::from(rest.unwrap_or(0))
}

/// SQL: the sum of the picoUSD amounts `dollars` x 10^12 + `rest` in
/// three columns for [`total_sum`], none of which can overflow: whole
/// dollars, the rest's microdollars and its picodollars below one
/// microdollar. (`rest` may be a sum of rests of n responses, itself below
/// n x 10^12: its microdollars sum to below 10^6 per response.)
pub fn total_sum_sql(dollars: &str, rest: &str) -> String {
    format!("sum({dollars}), sum({rest} / 1000000), sum({rest} % 1000000)")
}

/// [`total_sum_sql`] of a picoUSD column: its microdollars sum past i64
/// only past $9.2 trillion, so no whole-dollar part is needed (a constant
/// 0 stands for it, one sum fewer a row).
pub fn picousd_sum_sql(picousd: &str) -> String {
    format!("0, sum({picousd} / 1000000), sum({picousd} % 1000000)")
}

/// The exact sum from [`total_sum_sql`]'s three columns.
pub fn total_sum(dollars: Option<i64>, micro: Option<i64>, pico: Option<i64>) -> i128 {
    split_sum(dollars, None)
        + i128::from(micro.unwrap_or(0)) * 1_000_000
        + i128::from(pico.unwrap_or(0))
}

/// Strings seen many times (tool names, servers, session ids) get a number;
/// the scan allocates once per distinct string, not once per call.
#[derive(Default)]
pub struct Interner {
    ids: foldhash::HashMap<String, u32>,
    pub names: Vec<String>,
}

impl Interner {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        id
    }
}

/// A set of interned ids (`Interner`), as bits, and how many it holds: an
/// insert is a bit set (in `tools`, three per call: a hash set's inserts
/// were ~6% of it).
#[derive(Debug, Default)]
pub struct IdSet {
    bits: Vec<u64>,
    pub count: u64,
}

impl IdSet {
    pub fn insert(&mut self, id: u32) {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.count += 1;
        }
    }
}

/// A thread's ids as written and its project (its `sessions` row's).
#[derive(Debug, Clone, Default)]
pub struct ThreadInfo {
    pub session_id: Option<String>,
    pub agent_id: Option<String>,
    pub project_id: Option<i64>,
    pub project: Option<String>,
}

/// Every thread (of one session only, or all) by id: a few thousand rows,
/// read once by the reports that scan a `*_rows` table, instead of joining
/// threads, sessions and projects to each of its rows. Without `projects`
/// the project fields are None and sessions and projects are not read (a
/// lookup of each thread's session by its text key: ~2 ms at 1 GiB).
pub fn threads(
    conn: &rusqlite::Connection,
    session: Option<&str>,
    projects: bool,
) -> rusqlite::Result<foldhash::HashMap<i64, ThreadInfo>> {
    let only = if session.is_some() {
        " WHERE th.session_id = ?1"
    } else {
        ""
    };
    let sql = if projects {
        format!(
            "SELECT th.id, th.session_id, th.agent_id, s.project_id, p.path FROM threads th
             LEFT JOIN sessions s ON s.session_id = th.session_id AND s.agent_id = coalesce(th.agent_id, '')
             LEFT JOIN projects p ON p.id = s.project_id{only}"
        )
    } else {
        format!("SELECT th.id, th.session_id, th.agent_id, NULL, NULL FROM threads th{only}")
    };
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(session.iter()), |r| {
        let t = ThreadInfo {
            session_id: r.get(1)?,
            agent_id: r.get(2)?,
            project_id: r.get(3)?,
            project: r.get(4)?,
        };
        Ok((r.get(0)?, t))
    })?;
    rows.collect()
}

/// What a report that scans a `*_rows` table needs of each row's thread:
/// its session (interned), its project id, and whether the query's
/// `--project` and `--session` keep the row. Matched once per thread, not
/// per row.
#[derive(Debug, Clone, Copy)]
pub struct ThreadKey {
    pub session: Option<u32>,
    pub project_id: Option<i64>,
    pub kept: bool,
}

/// Every thread's [`ThreadKey`] (with a session given, only its threads:
/// a row of any other is not kept).
pub struct ThreadKeys {
    by_id: foldhash::HashMap<i64, ThreadKey>,
    /// A row with no thread, or an unknown one: no session, no project.
    none: ThreadKey,
}

impl ThreadKeys {
    /// With `projects`, each thread's project id is read even when no
    /// `project` filter asks for it (a report grouped by project).
    pub fn load(
        conn: &rusqlite::Connection,
        session: Option<&str>,
        project: Option<&str>,
        projects: bool,
        strings: &mut Interner,
    ) -> rusqlite::Result<ThreadKeys> {
        let by_id = threads(conn, session, projects || project.is_some())?
            .into_iter()
            .map(|(id, t)| {
                let kept = project_matches(t.project.as_deref(), project)
                    && session_matches(t.session_id.as_deref(), session);
                let key = ThreadKey {
                    session: t.session_id.as_deref().map(|s| strings.id(s)),
                    project_id: t.project_id,
                    kept,
                };
                (id, key)
            })
            .collect();
        let none = ThreadKey {
            session: None,
            project_id: None,
            kept: project_matches(None, project) && session_matches(None, session),
        };
        Ok(ThreadKeys { by_id, none })
    }

    /// The kept threads' ids as a JSON array, for a query to read their
    /// rows alone through a thread index (`thread IN (SELECT value FROM
    /// json_each(?))`), when a filter keeps no row without a thread and at
    /// most 1 in 32 of all threads (`--session`, a narrow `--project`);
    /// else None: a scan of every row costs less than that many lookups
    /// (on the 1 GiB benchmark database `files` of 8% of the threads read
    /// through the index took 85 ms, the scan 47).
    pub fn few_kept(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Option<String>> {
        if self.none.kept {
            return Ok(None);
        }
        let kept: Vec<i64> = self
            .by_id
            .iter()
            .filter(|(_, k)| k.kept)
            .map(|(id, _)| *id)
            .collect();
        // (by_id holds a --session's threads alone: all of them are counted)
        let all: i64 =
            conn.query_row("SELECT coalesce(max(id), 0) FROM threads", [], |r| r.get(0))?;
        Ok((kept.len() as i64 * 32 <= all).then(|| serde_json::Value::from(kept).to_string()))
    }

    /// With `few_kept`'s ids, the condition on `column` that reads those
    /// threads' rows alone (bound as ?1); none without them.
    pub fn kept_clause(only: &Option<String>, column: &str) -> String {
        match only {
            Some(_) => format!(
                " AND {column} IS NOT NULL AND {column} IN (SELECT value FROM json_each(?1))"
            ),
            None => String::new(),
        }
    }

    pub fn of(&self, thread: Option<i64>) -> ThreadKey {
        thread
            .and_then(|t| self.by_id.get(&t).copied())
            .unwrap_or(self.none)
    }
}

/// A text column without copying it (None: NULL, not text, not UTF-8).
pub fn text_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Text(t) => Ok(std::str::from_utf8(t).ok()),
        _ => Ok(None),
    }
}

/// Kept sums (`tool_figures`, `hook_figures`) hold every row: this
/// binary's schema (an older one, read without being upgraded, has no such
/// table), and no thread noted in `dirty` since the ingest last summed
/// them.
pub fn summed(conn: &rusqlite::Connection, dirty: &str) -> rusqlite::Result<bool> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != crate::store::SCHEMA_VERSION {
        return Ok(false);
    }
    conn.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM {dirty})"),
        [],
        |r| r.get(0),
    )
}

/// A kept sum's re-sum: the threads noted in `dirty` (none: nothing
/// done), read with the write lock held and handed to `resum`, then
/// cleared, in one write transaction. Returns how many were noted. (Read
/// before the lock, a thread another writer noted meanwhile would have
/// lost its note, its sums read stale; review-s34 3.)
pub fn resum_noted(
    conn: &rusqlite::Connection,
    dirty: &str,
    resum: impl FnOnce(&[i64]) -> rusqlite::Result<()>,
) -> rusqlite::Result<usize> {
    let any: bool = conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {dirty})"), [], |r| {
        r.get(0)
    })?;
    if !any {
        return Ok(0);
    }
    crate::store::immediate(conn, || {
        let noted: Vec<i64> = conn
            .prepare(&format!("SELECT thread FROM {dirty}"))?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        resum(&noted)?;
        // (the re-sum's own writes noted -1, as any change to the sums does)
        conn.execute(&format!("DELETE FROM {dirty}"), [])?;
        Ok(noted.len())
    })
}

/// Durations as kept sums keep them: each an unsigned LEB128 varint.
pub fn pack_durations(durations: &[i64], out: &mut Vec<u8>) {
    for &d in durations {
        let mut v = d.max(0) as u64;
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
}

/// The durations `pack_durations` packed (a value cut short at the end,
/// or past 64 bits, is none: the table was not written by it).
pub fn unpack_durations(bytes: &[u8], out: &mut Vec<i64>) {
    let (mut v, mut shift) = (0u64, 0u32);
    for &b in bytes {
        if shift > 63 {
            return;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            out.push(v.min(i64::MAX as u64) as i64);
            (v, shift) = (0, 0);
        } else {
            shift += 7;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_come_back_as_packed() {
        let durations = [0, 1, 127, 128, 300, 16_383, 16_384, 590_000, i64::MAX, -5];
        let mut packed = Vec::new();
        pack_durations(&durations, &mut packed);
        // (one byte up to 127, two up to 16,383; a negative one is 0)
        assert_eq!(packed[..5], [0, 1, 127, 0x80, 0x01]);
        let mut back = Vec::new();
        unpack_durations(&packed, &mut back);
        assert_eq!(
            back,
            [0, 1, 127, 128, 300, 16_383, 16_384, 590_000, i64::MAX, 0]
        );
        // a value cut short, or longer than 64 bits, is left out
        back.clear();
        unpack_durations(&[5, 0x80], &mut back);
        assert_eq!(back, [5]);
        back.clear();
        unpack_durations(&[0xff; 11], &mut back);
        assert_eq!(back, Vec::<i64>::new());
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 9.3 million responses of $0.999999999999 and $1.999999999999: their
    /// picodollar rests (below 10^12 each) sum past i64::MAX, where SQLite
    /// stops with "integer overflow"; the sum by microdollars is exact. So
    /// is the rollup's shape, a few rows whose rests are sums themselves.
    #[test]
    fn total_sum_is_exact_where_a_sum_of_rests_overflows() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let n: i64 = 9_300_000;
        let rows = format!(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
             SELECT 999999999999 + (i % 2) * 1000000000000 AS c FROM k"
        );
        let (dollars, rest) = ("c / 1000000000000", "c % 1000000000000");
        let plain = conn.query_row(
            &format!("SELECT sum({dollars}), sum({rest}) FROM ({rows})"),
            [],
            |r| Ok(split_sum(r.get(0)?, r.get(1)?)),
        );
        assert!(
            plain.is_err_and(|e| e.to_string().contains("integer overflow")),
            "a plain sum of the rests overflows"
        );
        let exact = conn
            .query_row(
                &format!("SELECT {} FROM ({rows})", picousd_sum_sql("c")),
                [],
                |r| Ok(total_sum(r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let n = i128::from(n);
        assert_eq!(exact, n * 999_999_999_999 + n / 2 * 1_000_000_000_000);

        // rollup rows: (dollars, rest) with rests of millions of responses
        let rollup = "SELECT 7 AS d, 4000000000000000001 AS r UNION ALL
                      SELECT 1, 4000000000000000002 UNION ALL SELECT 0, 4000000000000000003";
        assert!(
            conn.query_row(&format!("SELECT sum(r) FROM ({rollup})"), [], |r| r
                .get::<_, i64>(0))
                .is_err()
        );
        let exact = conn
            .query_row(
                &format!("SELECT {} FROM ({rollup})", total_sum_sql("d", "r")),
                [],
                |r| Ok(total_sum(r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(exact, 8 * 1_000_000_000_000 + 12_000_000_000_000_000_006);
        // nothing summed: zero
        let none = conn
            .query_row(
                &format!(
                    "SELECT {} FROM ({rollup}) WHERE d < 0",
                    total_sum_sql("d", "r")
                ),
                [],
                |r| Ok(total_sum(r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(none, 0);
    }

    #[test]
    fn days_from_the_command_line() {
        let today = d("2026-03-10");
        assert_eq!(parse_day("today", today).unwrap(), today);
        assert_eq!(parse_day("yesterday", today).unwrap(), d("2026-03-09"));
        assert_eq!(parse_day("7d", today).unwrap(), d("2026-03-04"));
        assert_eq!(parse_day("1d", today).unwrap(), today);
        assert_eq!(parse_day("2w", today).unwrap(), d("2026-02-25"));
        assert_eq!(parse_day("2026-01-31", today).unwrap(), d("2026-01-31"));
        assert_eq!(parse_day("20260131", today).unwrap(), d("2026-01-31"));
        for bad in ["0d", "soon", "2026-13-01", "-3d"] {
            assert!(parse_day(bad, today).is_err(), "{bad}");
        }
        // a span too long is said to be that, not "not a date"
        let e = parse_day("9999999d", today).unwrap_err();
        assert!(e.contains("not a span of 1 to 100,000 days"), "{e}");
    }

    #[test]
    fn zones_cut_days_where_people_live() {
        let z = Zone::parse("America/New_York").unwrap();
        // 2026-03-01T03:00Z is still Feb 28 in New York
        let ms = chrono::DateTime::parse_from_rfc3339("2026-03-01T03:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(z.date(ms), d("2026-02-28"));
        assert_eq!(Zone::parse("UTC").unwrap().date(ms), d("2026-03-01"));
        let k = Zone::parse("+05:30").unwrap();
        let ist_midnight = chrono::DateTime::parse_from_rfc3339("2026-02-28T18:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(k.start_of(d("2026-03-01")), ist_midnight);
        assert!(Zone::parse("Mars/Olympus").is_err());
        // offsets: the forms taken, and text that is none (a character of
        // several bytes where a split would cut it, a sign inside)
        for (text, secs) in [("+0530", 19_800), ("-5", -18_000), ("+05:30", 19_800)] {
            assert_eq!(
                Zone::parse(text),
                Ok(Zone::Fixed(FixedOffset::east_opt(secs).unwrap()))
            );
        }
        for bad in ["+1é2", "-1€", "+é", "+-05:00", "+05:-30", "+", "-:"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
        // a DST gap at midnight (Santiago, 2026-09-06 00:00 does not exist)
        let s = Zone::parse("America/Santiago").unwrap();
        let start = s.start_of(d("2026-09-06"));
        assert_eq!(s.date(start), d("2026-09-06"));
        assert_eq!(s.date(start - 1), d("2026-09-05"));
    }

    #[test]
    fn weeks_start_on_monday_or_sunday() {
        // 2026-03-04 is a Wednesday
        assert_eq!(
            WeekStart::Monday.first_day(d("2026-03-04")),
            d("2026-03-02")
        );
        assert_eq!(
            WeekStart::Sunday.first_day(d("2026-03-04")),
            d("2026-03-01")
        );
        assert_eq!(
            WeekStart::Sunday.first_day(d("2026-03-01")),
            d("2026-03-01")
        );
        assert_eq!(
            WeekStart::Monday.first_day(d("2026-03-01")),
            d("2026-02-23")
        );
        assert_eq!(WeekStart::parse(" Sunday "), Some(WeekStart::Sunday));
        assert_eq!(WeekStart::parse("tuesday"), None);
    }

    #[test]
    fn ranges_are_whole_local_days() {
        let z = Zone::parse("UTC").unwrap();
        let r = TimeRange::new(Some(d("2026-03-01")), Some(d("2026-03-01")), &z);
        assert_eq!(r.to_ms.unwrap() - r.from_ms.unwrap(), 86_400_000);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).map(|i| i * 100).collect();
        assert_eq!(percentile(&mut v.clone(), 50), Some(500));
        assert_eq!(percentile(&mut v.clone(), 95), Some(1000));
        assert_eq!(percentile(&mut v.clone(), 90), Some(900));
        assert_eq!(percentile(&mut [7], 50), Some(7));
        assert_eq!(percentile(&mut [7], 95), Some(7));
        assert_eq!(percentile(&mut [1, 2], 50), Some(1));
        assert_eq!(percentile(&mut [], 50), None);
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&mut v.clone(), 95), Some(19));
        // in any order: the same figures
        let mut v: Vec<i64> = (1..=20).rev().collect();
        v.swap(3, 17);
        assert_eq!(percentile(&mut v, 50), Some(10));
        assert_eq!(percentile(&mut v, 95), Some(19));
        assert_eq!(percentile(&mut v, 100), Some(20));
    }

    #[test]
    fn the_local_zone_is_named_as_the_c_library_finds_it() {
        let name = |tz: &str| local_zone_name(Some(tz.into())).unwrap_or_else(|| "local".into());
        assert_eq!(name("Europe/Berlin"), "Europe/Berlin");
        assert_eq!(name(":America/New_York"), "America/New_York");
        assert_eq!(name("/usr/share/zoneinfo/Asia/Tokyo"), "Asia/Tokyo");
        assert_eq!(
            name(":/usr/share/zoneinfo/posix/Europe/Paris"),
            "Europe/Paris"
        );
        assert_eq!(name(""), "UTC");
        assert_eq!(
            name("CET-1CEST,M3.5.0,M10.5.0/3"),
            "local",
            "a rule is not a name"
        );
    }

    #[test]
    fn the_repeated_hour_says_which_one_it_is() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        assert_eq!(
            berlin.format(at("2025-10-26T00:30:00Z"), "%m-%d %H:%M"),
            "10-26 02:30 CEST"
        );
        assert_eq!(
            berlin.format(at("2025-10-26T01:30:00Z"), "%m-%d %H:%M"),
            "10-26 02:30 CET"
        );
        assert_eq!(berlin.format(at("2025-10-26T02:30:00Z"), "%H:%M"), "03:30");
        assert_eq!(
            berlin.format(at("2025-10-26T00:30:00Z"), "%Y-%m-%d"),
            "2025-10-26",
            "a date alone is not ambiguous"
        );
    }

    #[test]
    fn ranges_contain_and_overlap() {
        let r = TimeRange {
            from_ms: Some(100),
            to_ms: Some(200),
            ..Default::default()
        };
        assert!(r.contains(Some(100)) && !r.contains(Some(200)) && !r.contains(None));
        assert!(r.overlaps(Some(50), Some(100)));
        assert!(!r.overlaps(Some(50), Some(99)));
        assert!(r.overlaps(Some(199), Some(300)));
        assert!(!r.overlaps(Some(200), Some(300)));
        assert!(TimeRange::default().contains(None));
        assert_eq!(rfc3339(1_772_359_200_000), "2026-03-01T10:00:00.000Z");
    }

    #[test]
    fn money_is_plain_and_exact() {
        assert_eq!(usd(13_527_006_600_000).to_string(), "13.5270066");
        assert_eq!(usd(0).to_string(), "0");
        assert_eq!(usd(1).to_string(), "0.000000000001");
        assert_eq!(usd(-5_000_000_000_000).to_string(), "-5");
    }
}
