//! `observatory cost`: token and cost totals per group, from the stored,
//! de-duplicated and priced responses. Sums are exact (integer picoUSD).

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{TimeRange, WeekStart, Zone};
use crate::store::rollup;

/// A way to split the totals; columns appear in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    Day,
    Week,
    Month,
    Project,
    Session,
    Branch,
    Agent,
    Model,
}

impl Group {
    pub fn key(self) -> &'static str {
        match self {
            Group::Day => "day",
            Group::Week => "week",
            Group::Month => "month",
            Group::Project => "project",
            Group::Session => "session_id",
            Group::Branch => "git_branch",
            Group::Agent => "agent",
            Group::Model => "model",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CostQuery {
    pub groups: Vec<Group>,
    pub range: TimeRange,
    /// Substring of the project path.
    pub project: Option<String>,
    /// A session's full id (`cmd::resolve_session` resolves a prefix).
    pub session: Option<String>,
    /// Model id as written, or the pricing entry it resolves to (prefix).
    pub model: Option<String>,
    /// What day `Group::Week` rows start on.
    pub week_start: WeekStart,
}

/// Token and cost sums (a row's figures, or the total).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_5m_tokens: u64,
    pub cache_creation_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub web_search_requests: u64,
    /// Sum over priced responses.
    pub cost_picousd: i128,
    pub priced_requests: u64,
}

impl Sums {
    fn add(&mut self, r: &Row) {
        self.requests += r.requests;
        self.input_tokens = self.input_tokens.saturating_add(r.tokens[0]);
        self.output_tokens = self.output_tokens.saturating_add(r.tokens[1]);
        self.cache_creation_5m_tokens = self.cache_creation_5m_tokens.saturating_add(r.tokens[2]);
        self.cache_creation_1h_tokens = self.cache_creation_1h_tokens.saturating_add(r.tokens[3]);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(r.tokens[4]);
        self.web_search_requests = self.web_search_requests.saturating_add(r.tokens[5]);
        self.cost_picousd += r.cost;
        self.priced_requests += r.priced;
    }

    pub fn unpriced_requests(&self) -> u64 {
        self.requests - self.priced_requests
    }

    /// None when the group has responses and none of them has a price (no
    /// responses at all cost exactly 0, as in `sessions` and the status line).
    pub fn cost(&self) -> Option<i128> {
        (self.requests == 0 || self.priced_requests > 0).then_some(self.cost_picousd)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRow {
    /// (group, value) in `Group` order; None = unknown (no date, no project...).
    pub keys: Vec<(Group, Option<String>)>,
    /// With `Group::Model`: the pricing entry used (None = unpriced).
    pub priced_as: Option<String>,
    pub sums: Sums,
}

#[derive(Debug, Clone, Default)]
pub struct CostReport {
    pub rows: Vec<CostRow>,
    pub total: Sums,
    /// Models seen with no price, with their request counts.
    pub unpriced_models: BTreeMap<String, u64>,
}

/// The responses of one SQL group (one model, priced_as and whatever
/// columns the requested groups need; times in 15-minute buckets).
struct Row {
    model: String,
    priced_as: Option<String>,
    /// Start of the UTC time bucket (`Zone::day_grain_ms`: local days,
    /// weeks and months are unions of buckets).
    at: Option<i64>,
    project: Option<String>,
    session: Option<String>,
    branch: Option<String>,
    agent: Option<String>,
    requests: u64,
    priced: u64,
    tokens: [u64; 6],
    cost: i128,
}

/// What `--model M` matches: the model or pricing entry M; and models
/// that start with M where what follows is no more of M's version:
/// after a family name (`claude-opus`, `claude-son`) anything, after a
/// version (`claude-sonnet-4`) only a date (`-20250514`), an `@` suffix
/// (`@20250514`) or a word (`-thinking`), so that `claude-sonnet-4`, a
/// model of its own, does not take in Sonnet 4.5 (`claude-sonnet-4-5-…`).
/// Both the model as written and the pricing entry it was priced as are
/// tried, so that a platform's spelling (`us.anthropic.claude-…-v1:0`,
/// `anthropic/claude-opus-4.6`) goes with the model it is priced as.
/// M may leave out `claude-`, as tables print models (`opus-4-6`,
/// `haiku-4-5`): M and `claude-`M are both tried.
/// Columns of table alias `t`; the parameters are `?n` to `?n + 3`, as
/// `model_args(M)` gives them. Case-insensitive, as `--project`.
fn model_match(t: &str, n: usize, m: &str) -> String {
    format!(
        "({} OR {})",
        model_match_one(t, n, m),
        model_match_one(t, n + 2, m)
    )
}

fn model_match_one(t: &str, n: usize, m: &str) -> String {
    let p = n + 1;
    let prefix = |c: &str| {
        if ends_in_version(m) {
            let date = "-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]";
            format!(
                "lower({c}) GLOB ?{p} OR lower({c}) GLOB ?{p} || '@*' \
                 OR lower({c}) GLOB ?{p} || '{date}' OR lower({c}) GLOB ?{p} || '{date}[^0-9]*' \
                 OR lower({c}) GLOB ?{p} || '-[a-z]*'"
            )
        } else {
            format!("{c} LIKE ?{p} ESCAPE '\\'")
        }
    };
    format!(
        "({t}model = ?{n} OR {t}priced_as = ?{n} OR {} OR {})",
        prefix(&format!("{t}model")),
        prefix(&format!("{t}priced_as"))
    )
}

/// The four parameters of `model_match(_, _, m)`: M and its pattern, then
/// `claude-`M and its pattern (M again where M names Claude itself).
fn model_args(m: &str) -> [String; 4] {
    let pattern = |m: &str| {
        if ends_in_version(m) {
            glob_escape(&m.to_lowercase())
        } else {
            format!("{}%", like_escape(m))
        }
    };
    let full = if m.to_lowercase().contains("claude") {
        m.to_owned()
    } else {
        format!("claude-{m}")
    };
    let full_pattern = pattern(&full);
    [m.to_owned(), pattern(m), full, full_pattern]
}

fn ends_in_version(m: &str) -> bool {
    m.ends_with(|c: char| c.is_ascii_digit())
}

fn glob_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '*' | '?' | '[' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

/// Whether `--project text` matches some project.
pub fn project_exists(conn: &Connection, text: &str) -> rusqlite::Result<bool> {
    Ok(!super::matching_projects(conn, text)?.is_empty())
}

/// Whether some response's model matches `m` (as `--model` matches).
pub fn model_exists(conn: &Connection, m: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM response_rows WHERE {})",
            model_match("", 1, m)
        ),
        model_args(m),
        |r| r.get(0),
    )
}

/// Whether the rollup (when fresh) answers `q`: it does whatever does not
/// need single responses: local days made of whole buckets, a
/// bucket-aligned range. (Such a report reads a few thousand rows.)
pub fn rollup_answers(q: &CostQuery, zone: &Zone) -> bool {
    let aligned = |t: Option<i64>| t.is_none_or(|t| t % rollup::BUCKET_MS == 0);
    zone.day_grain_ms() % rollup::BUCKET_MS == 0
        && aligned(q.range.from_ms)
        && aligned(q.range.to_ms)
}

/// Sums are done by SQLite, grouped as finely as the requested groups need
/// (so a report reads a few thousand rows, not every response), then
/// grouped in Rust, where time zones live. Exact: integers only, the cost
/// split so that no sum can overflow (`super::total_sum_sql`).
pub fn run(conn: &Connection, q: &CostQuery, zone: &Zone) -> rusqlite::Result<CostReport> {
    let mut groups = q.groups.clone();
    groups.sort();
    groups.dedup();
    let has = |g: Group| groups.contains(&g);
    let timed = has(Group::Day) || has(Group::Week) || has(Group::Month);
    let grain = zone.day_grain_ms();
    let use_rollup = rollup_answers(q, zone) && rollup::is_fresh(conn)?;
    // (by time, the rollup's rows are summed here, not by SQLite: its
    // GROUP BY sorted ~9k groups of ~11k rows, 16 ms of a 33 ms `cost
    // --by-day` at 1 GiB, where reading them takes ~3)
    let sum_in_sql = !(use_rollup && timed);
    // (the whole history by model, or in all: a row per model, kept with
    // the rollup, instead of summing its ~10k rows at 1 GiB, 4 ms)
    let use_totals = use_rollup
        && groups.iter().all(|g| *g == Group::Model)
        && q.range.from_ms.is_none()
        && q.range.to_ms.is_none()
        && q.project.is_none()
        && q.session.is_none()
        && q.model.is_none();
    let priced_as = match use_totals {
        true => "nullif(r.priced_as, '')",
        false => "r.priced_as",
    };
    // (select expression, group-by expression) per optional column
    let (time_sel, time_grp, agent_sel, agent_grp, sums, table) = if use_rollup {
        (
            format!("r.bucket * {}", rollup::BUCKET_MS),
            "r.bucket".to_owned(),
            "CASE WHEN r.subagent THEN 'subagent' END",
            "r.subagent",
            if sum_in_sql {
                format!(
                    "sum(r.requests), sum(r.priced_requests), sum(r.input_tokens), sum(r.output_tokens),
                     sum(r.cache_creation_5m_tokens), sum(r.cache_creation_1h_tokens), sum(r.cache_read_tokens),
                     sum(r.web_search_requests), {}",
                    super::total_sum_sql("r.cost_dollars", "r.cost_rest_picousd")
                )
            } else {
                // (summed in Rust, in i128: the rest whole as the last part)
                "r.requests, r.priced_requests, r.input_tokens, r.output_tokens,
                 r.cache_creation_5m_tokens, r.cache_creation_1h_tokens, r.cache_read_tokens,
                 r.web_search_requests, r.cost_dollars, 0, r.cost_rest_picousd"
                    .to_owned()
            },
            if use_totals {
                "cost_totals"
            } else {
                "cost_rollup"
            },
        )
    } else {
        (
            format!("(r.at / {grain}) * {grain}"),
            format!("r.at / {grain}"),
            "CASE WHEN coalesce(r.agent_id, '') = '' THEN NULL ELSE 'subagent' END",
            "coalesce(r.agent_id, '') = ''",
            // (unqualified: `projects` has no column of these names)
            format!(
                "{}, {}",
                rollup::RESPONSE_COUNTS,
                super::picousd_sum_sql("cost_picousd")
            ),
            "responses",
        )
    };
    let cols: [(bool, String, String); 5] = [
        (timed, time_sel, time_grp),
        (has(Group::Project), "p.path".into(), "r.project_id".into()),
        (
            has(Group::Session),
            "r.session_id".into(),
            "r.session_id".into(),
        ),
        (
            has(Group::Branch),
            "r.git_branch".into(),
            "r.git_branch".into(),
        ),
        (has(Group::Agent), agent_sel.into(), agent_grp.into()),
    ];
    let mut select = vec!["r.model".to_owned(), priced_as.to_owned()];
    let mut group_by = vec!["r.model".to_owned(), "r.priced_as".to_owned()];
    for (wanted, sel, grp) in &cols {
        if *wanted {
            select.push(sel.clone());
            group_by.push(grp.clone());
        } else {
            select.push("NULL".into());
        }
    }
    // (projects only when a project is shown)
    let join = if has(Group::Project) {
        " LEFT JOIN projects p ON p.id = r.project_id"
    } else {
        ""
    };
    let mut sql = format!("SELECT {}, {sums} FROM {table} r{join}", select.join(", "));
    let at = if use_rollup {
        format!("r.bucket * {}", rollup::BUCKET_MS)
    } else {
        "r.at".to_owned()
    };
    let (conds, args) = filters(conn, q, &at)?;
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    if sum_in_sql {
        sql.push_str(" GROUP BY ");
        sql.push_str(&group_by.join(", "));
    }
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args), |r| {
        let n = |i: usize| -> rusqlite::Result<u64> {
            Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
        };
        Ok(Row {
            model: r.get(0)?,
            priced_as: r.get(1)?,
            at: r.get(2)?,
            project: r.get(3)?,
            session: r.get(4)?,
            branch: r.get(5)?,
            agent: r.get(6)?,
            requests: n(7)?,
            priced: n(8)?,
            tokens: [n(9)?, n(10)?, n(11)?, n(12)?, n(13)?, n(14)?],
            cost: super::total_sum(r.get(15)?, r.get(16)?, r.get(17)?),
        })
    })?;
    let mut report = CostReport::default();
    let mut grouped: BTreeMap<Vec<Option<String>>, (Option<String>, Sums)> = BTreeMap::new();
    for row in rows {
        let row = row?;
        if row.priced < row.requests {
            *report.unpriced_models.entry(row.model.clone()).or_default() +=
                row.requests - row.priced;
        }
        report.total.add(&row);
        let key: Vec<Option<String>> = groups
            .iter()
            .map(|g| group_value(*g, &row, zone, q.week_start))
            .collect();
        let entry = grouped.entry(key).or_default();
        if groups.contains(&Group::Model) && entry.0.is_none() {
            entry.0 = row.priced_as.clone();
        }
        entry.1.add(&row);
    }
    if groups.is_empty() {
        // one row, the total, even when nothing matched (as the CSV's line)
        grouped.entry(Vec::new()).or_default();
    }
    report.rows = grouped
        .into_iter()
        .map(|(key, (priced_as, sums))| CostRow {
            keys: groups.iter().copied().zip(key).collect(),
            priced_as,
            sums,
        })
        .collect();
    Ok(report)
}

/// The query's filters over `r` (the rollup or `responses`; `at` its time
/// expression), as SQL conditions and their arguments.
fn filters(
    conn: &Connection,
    q: &CostQuery,
    at: &str,
) -> rusqlite::Result<(Vec<String>, Vec<rusqlite::types::Value>)> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(from) = q.range.from_ms {
        args.push(from.into());
        conds.push(format!("{at} >= ?{}", args.len()));
    }
    if let Some(to) = q.range.to_ms {
        args.push(to.into());
        conds.push(format!("{at} < ?{}", args.len()));
    }
    if let Some(p) = &q.project {
        args.push(super::matching_projects_json(conn, p)?.into());
        conds.push(format!(
            "r.project_id IN (SELECT value FROM json_each(?{}))",
            args.len()
        ));
    }
    if let Some(s) = &q.session {
        // (the full id: `cost` resolves a prefix as `show` does first)
        args.push(s.clone().into());
        conds.push(format!("r.session_id = ?{}", args.len()));
    }
    if let Some(m) = &q.model {
        conds.push(model_match("r.", args.len() + 1, m));
        args.extend(model_args(m).map(Into::into));
    }
    Ok((conds, args))
}

/// Fast-mode responses the query takes, per model, of the models `wanted`
/// keeps (those with no fast price): through `responses_fast`, which holds
/// only fast responses. Its models are listed first (an index-only scan),
/// so that with none wanted, the usual case, nothing more is read.
pub fn fast_responses(
    conn: &Connection,
    q: &CostQuery,
    wanted: impl Fn(&str) -> bool,
) -> rusqlite::Result<BTreeMap<String, u64>> {
    let mut models: Vec<String> = conn
        .prepare("SELECT DISTINCT model FROM response_rows WHERE fast = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    models.retain(|m| wanted(m));
    if models.is_empty() {
        return Ok(BTreeMap::new());
    }
    // (`+r.at`: by model through `responses_fast`, never every response of
    // the range through `responses_at`)
    let (mut conds, mut args) = filters(conn, q, "+r.at")?;
    args.push(serde_json::to_string(&models).unwrap_or_default().into());
    conds.push(format!(
        "r.fast = 1 AND r.model IN (SELECT value FROM json_each(?{}))",
        args.len()
    ));
    let sql = format!(
        "SELECT r.model, count(*) FROM responses r WHERE {} GROUP BY r.model",
        conds.join(" AND ")
    );
    conn.prepare(&sql)?
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect()
}

fn group_value(g: Group, r: &Row, zone: &Zone, week_start: WeekStart) -> Option<String> {
    match g {
        Group::Day => r.at.map(|t| zone.date(t).to_string()),
        Group::Week => r.at.map(|t| week_start.first_day(zone.date(t)).to_string()),
        Group::Month => r.at.map(|t| zone.date(t).format("%Y-%m").to_string()),
        Group::Project => r.project.clone(),
        Group::Session => r.session.clone(),
        Group::Branch => r.branch.clone().filter(|b| !b.is_empty()),
        Group::Agent => Some(
            if r.agent.as_deref().is_some_and(|a| !a.is_empty()) {
                "subagent"
            } else {
                "main"
            }
            .to_owned(),
        ),
        Group::Model => Some(r.model.clone()),
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The models of `models` that `--model m` matches.
    fn matched(models: &[&str], m: &str) -> Vec<String> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE r(model TEXT, priced_as TEXT)")
            .unwrap();
        let table = crate::pricing::PriceTable::builtin().unwrap();
        for x in models {
            // (as stored: the entry when it is not the model itself)
            let entry = table.resolve(x).filter(|e| e != x);
            conn.execute("INSERT INTO r VALUES (?1, ?2)", (x, entry))
                .unwrap();
        }
        let sql = format!(
            "SELECT model FROM r WHERE {} ORDER BY rowid",
            model_match("", 1, m)
        );
        let mut st = conn.prepare(&sql).unwrap();
        st.query_map(model_args(m), |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_model_filter_takes_dates_and_families_not_later_versions() {
        let models = [
            "claude-sonnet-4",
            "claude-sonnet-4-20250514",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-6",
            "claude-sonnet-4-5@20250929",
            "claude-opus-4-1-20250805",
            "claude-opus-4-20250514",
            "claude-3-5-sonnet-20241022",
            "claude-3-opus-20240229",
            "claude-sonnet-4-5-20250929-thinking",
        ];
        assert_eq!(
            matched(&models, "claude-sonnet-4"),
            ["claude-sonnet-4", "claude-sonnet-4-20250514"]
        );
        assert_eq!(
            matched(&models, "claude-sonnet-4-5"),
            [
                "claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5@20250929",
                "claude-sonnet-4-5-20250929-thinking"
            ]
        );
        assert_eq!(
            matched(&models, "claude-opus-4"),
            ["claude-opus-4-20250514"]
        );
        assert_eq!(
            matched(&models, "claude-opus"),
            ["claude-opus-4-1-20250805", "claude-opus-4-20250514"]
        );
        // (a word after a version is no later version; case does not matter)
        assert_eq!(matched(&models, "CLAUDE-3"), ["claude-3-opus-20240229"]);
        assert_eq!(
            matched(&models, "Claude-Sonnet-4"),
            ["claude-sonnet-4", "claude-sonnet-4-20250514"]
        );
        assert_eq!(matched(&models, "CLAUDE-SONNET-4-6"), ["claude-sonnet-4-6"]);
        assert_eq!(matched(&models, "claude-sonnet-4-6"), ["claude-sonnet-4-6"]);
        assert!(matched(&models, "claude-sonnet-4*").is_empty());
        // as tables print them, without `claude-`
        assert_eq!(
            matched(&models, "sonnet-4"),
            ["claude-sonnet-4", "claude-sonnet-4-20250514"]
        );
        assert_eq!(
            matched(&models, "opus"),
            ["claude-opus-4-1-20250805", "claude-opus-4-20250514"]
        );
        assert_eq!(matched(&models, "Sonnet-4-6"), ["claude-sonnet-4-6"]);
        assert_eq!(matched(&models, "3-opus"), ["claude-3-opus-20240229"]);
        assert_eq!(
            matched(&models, "sonnet-4-"),
            matched(&models, "claude-sonnet-4-")
        );
        assert!(matched(&models, "gpt-5").is_empty());
    }

    /// A platform's or gateway's spelling of a model goes with the entry it
    /// is priced as, for an alias or a family as for the entry's own id.
    #[test]
    fn a_model_filter_takes_platform_ids_by_their_pricing_entry() {
        let models = [
            "claude-sonnet-4-5-20250929",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-0",
            "claude-sonnet-4-20250514",
            "anthropic/claude-opus-4.6",
            "global.anthropic.claude-opus-4-7",
            "claude-opus-4-6",
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        ];
        assert_eq!(
            matched(&models, "claude-sonnet-4-5"),
            [
                "claude-sonnet-4-5-20250929",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ]
        );
        assert_eq!(
            matched(&models, "claude-sonnet-4"),
            ["claude-sonnet-4-0", "claude-sonnet-4-20250514"]
        );
        assert_eq!(
            matched(&models, "claude-opus"),
            [
                "anthropic/claude-opus-4.6",
                "global.anthropic.claude-opus-4-7",
                "claude-opus-4-6"
            ]
        );
        assert_eq!(
            matched(&models, "claude-opus-4-6"),
            ["anthropic/claude-opus-4.6", "claude-opus-4-6"]
        );
        assert_eq!(
            matched(&models, "claude-haiku"),
            ["eu.anthropic.claude-haiku-4-5-20251001-v1:0"]
        );
    }
}
