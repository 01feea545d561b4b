//! `observatory cost`: token and cost totals per group, from the stored,
//! de-duplicated and priced responses. Sums are exact (integer picoUSD).

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::{TimeRange, WeekStart, Zone};

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
    /// Session id or its prefix.
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
        self.requests += 1;
        self.input_tokens = self.input_tokens.saturating_add(r.tokens[0]);
        self.output_tokens = self.output_tokens.saturating_add(r.tokens[1]);
        self.cache_creation_5m_tokens = self.cache_creation_5m_tokens.saturating_add(r.tokens[2]);
        self.cache_creation_1h_tokens = self.cache_creation_1h_tokens.saturating_add(r.tokens[3]);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(r.tokens[4]);
        self.web_search_requests = self.web_search_requests.saturating_add(r.tokens[5]);
        if let Some(c) = r.cost {
            self.cost_picousd += i128::from(c);
            self.priced_requests += 1;
        }
    }

    pub fn unpriced_requests(&self) -> u64 {
        self.requests - self.priced_requests
    }

    /// None when no response of the group has a price.
    pub fn cost(&self) -> Option<i128> {
        (self.priced_requests > 0).then_some(self.cost_picousd)
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

struct Row {
    model: String,
    priced_as: Option<String>,
    at: Option<i64>,
    project: Option<String>,
    session: Option<String>,
    branch: Option<String>,
    agent: Option<String>,
    tokens: [u64; 6],
    cost: Option<i64>,
}

pub fn run(conn: &Connection, q: &CostQuery, zone: &Zone) -> rusqlite::Result<CostReport> {
    let mut groups = q.groups.clone();
    groups.sort();
    groups.dedup();
    let by_branch = groups.contains(&Group::Branch);
    let mut sql = String::from(
        "SELECT r.model, r.priced_as, r.at, p.path, r.session_id, r.agent_id,
                r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens,
                r.cache_read_tokens, r.web_search_requests, r.cost_picousd",
    );
    sql.push_str(if by_branch {
        ", m.git_branch"
    } else {
        ", NULL"
    });
    sql.push_str(" FROM responses r LEFT JOIN projects p ON p.id = r.project_id");
    if by_branch {
        sql.push_str(" LEFT JOIN messages m ON m.line_id = r.first_line_id");
    }
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(from) = q.range.from_ms {
        args.push(from.into());
        conds.push(format!("r.at >= ?{}", args.len()));
    }
    if let Some(to) = q.range.to_ms {
        args.push(to.into());
        conds.push(format!("r.at < ?{}", args.len()));
    }
    if let Some(p) = &q.project {
        args.push(format!("%{}%", like_escape(p)).into());
        conds.push(format!("p.path LIKE ?{} ESCAPE '\\'", args.len()));
    }
    if let Some(s) = &q.session {
        args.push(format!("{}%", like_escape(s)).into());
        conds.push(format!("r.session_id LIKE ?{} ESCAPE '\\'", args.len()));
    }
    if let Some(m) = &q.model {
        args.push(m.clone().into());
        let n = args.len();
        args.push(format!("{}%", like_escape(m)).into());
        conds.push(format!(
            "(r.model = ?{n} OR r.priced_as = ?{n} OR r.model LIKE ?{} ESCAPE '\\')",
            args.len()
        ));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args), |r| {
        let t = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        Ok(Row {
            model: r.get(0)?,
            priced_as: r.get(1)?,
            at: r.get(2)?,
            project: r.get(3)?,
            session: r.get(4)?,
            agent: r.get(5)?,
            tokens: [t(6)?, t(7)?, t(8)?, t(9)?, t(10)?, t(11)?],
            cost: r.get(12)?,
            branch: r.get(13)?,
        })
    })?;
    let mut report = CostReport::default();
    let mut grouped: BTreeMap<Vec<Option<String>>, (Option<String>, Sums)> = BTreeMap::new();
    for row in rows {
        let row = row?;
        if row.cost.is_none() {
            *report.unpriced_models.entry(row.model.clone()).or_default() += 1;
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
