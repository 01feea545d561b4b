use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::{at_json, clip, duration, money_part, project_name, tokens, usd_csv, usd_json, when};
use crate::cli::{SessionSort, SessionsArgs};
use crate::config::Settings;
use crate::out;
use crate::output::{self, table};
use crate::report::Zone;
use crate::report::sessions::{self, Figures, SessionRow, SessionsQuery, SortKey, Thread};

pub fn run(args: &SessionsArgs, settings: &Settings) -> Result<ExitCode> {
    super::one_output(args.csv, settings)?;
    let prices = super::price_table(settings)?;
    let (zone, range) = super::resolve_filter(&args.filter, settings)?;
    let (since, until) = range.days_json();
    let (mut store, report) =
        super::fresh_report(settings, &prices, args.no_ingest, true, |conn| {
            let session = super::resolve_session_arg(conn, args.session.as_deref())?;
            let q = SessionsQuery {
                range: range.clone(),
                project: args.filter.project.clone(),
                session,
                sort: match args.sort {
                    SessionSort::Start => SortKey::Start,
                    SessionSort::Cost => SortKey::Cost,
                    SessionSort::Duration => SortKey::Duration,
                },
                limit: args.limit,
            };
            sessions::run(conn, &q).context("reading sessions")
        })?;
    // (figures in hand: a --pricing what-if lets go before printing)
    store.end_what_if();
    if !settings.quiet {
        super::warn_unmatched(&store.conn, args.filter.project.as_deref(), None, "")?;
    }
    if settings.json {
        let mut total = figures_json(&report.total);
        total.insert("sessions".into(), json!(report.rows.len()));
        total.insert(
            "subagents".into(),
            json!(report.rows.iter().map(|r| r.subagents.len()).sum::<usize>()),
        );
        let top = json!({
            "total": total,
            "sort": format!("{:?}", args.sort).to_lowercase(),
            "limit": args.limit,
            "tz": zone.name(),
            "since": since,
            "until": until,
        });
        output::print_json_rows(top, "rows", report.rows.iter().map(row_json))?;
    } else if args.csv {
        out!("{}", csv(&report.rows));
    } else {
        let width = output::terminal_width(settings.stdout_tty);
        let ranged = !since.is_null() || !until.is_null();
        // (with no filter and no limit every session is a row)
        let every = !ranged
            && args.filter.project.is_none()
            && args.session.is_none()
            && args.limit.is_none();
        let ids: Vec<&str> = report.rows.iter().map(|r| r.session_id.as_str()).collect();
        let others = match every {
            true => Vec::new(),
            false => neighbours(&store.conn, &ids).context("reading the session ids")?,
        };
        out!(
            "{}",
            human(&report.rows, &others, &report.total, &zone, width, ranged)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn figures_json(f: &Figures) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("user_prompts".into(), json!(f.prompts));
    m.insert("responses".into(), json!(f.responses));
    m.insert("tool_calls".into(), json!(f.tool_calls));
    m.insert("tool_errors".into(), json!(f.tool_errors));
    m.insert("compactions".into(), json!(f.compactions));
    m.insert("models".into(), json!(f.models));
    m.insert("input_tokens".into(), json!(f.input_tokens));
    m.insert("output_tokens".into(), json!(f.output_tokens));
    m.insert(
        "cache_creation_tokens".into(),
        json!(f.cache_creation_tokens),
    );
    m.insert("cache_read_tokens".into(), json!(f.cache_read_tokens));
    m.insert("total_tokens".into(), json!(f.total_tokens()));
    m.insert("cost_usd".into(), usd_json(f.cost()));
    m.insert("unpriced_responses".into(), json!(f.unpriced_responses));
    m
}

fn thread_json(t: &Thread) -> Value {
    let mut m = Map::new();
    m.insert("session_id".into(), json!(t.session_id));
    m.insert("agent_id".into(), json!(t.agent_id));
    m.insert("parent_session_id".into(), json!(t.parent_session_id));
    m.insert("project".into(), json!(t.project));
    m.insert("title".into(), json!(t.title));
    m.insert("started_at".into(), at_json(t.first_at));
    m.insert("ended_at".into(), at_json(t.last_at));
    m.insert("duration_ms".into(), json!(t.duration_ms()));
    m.extend(figures_json(&t.figures));
    Value::Object(m)
}

fn row_json(r: &SessionRow) -> Value {
    let mut m = Map::new();
    m.insert("session_id".into(), json!(r.session_id));
    m.insert("project".into(), json!(r.project));
    m.insert("title".into(), json!(r.title));
    m.insert("started_at".into(), at_json(r.first_at));
    m.insert("ended_at".into(), at_json(r.last_at));
    m.insert("duration_ms".into(), json!(r.duration_ms()));
    m.insert("has_main_thread".into(), json!(r.has_main_thread));
    m.extend(figures_json(&r.figures));
    m.insert("subagents".into(), json!(r.subagents.len()));
    m.insert(
        "subagent_sessions".into(),
        Value::Array(r.subagents.iter().map(thread_json).collect()),
    );
    Value::Object(m)
}

/// `claude-sonnet-4-5-20250929` -> `sonnet-4-5`.
pub fn short_model(m: &str) -> String {
    let m = m.strip_prefix("claude-").unwrap_or(m);
    match m.rsplit_once('-') {
        Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => {
            head.to_owned()
        }
        _ => m.to_owned(),
    }
}

/// Models for people: each as `short_model` names it, once (two ids of
/// one model, such as a dated and an undated one, are one name).
pub fn short_models<'a>(models: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for m in models {
        let short = short_model(m);
        if !v.contains(&short) {
            v.push(short);
        }
    }
    v
}

fn models(f: &Figures) -> String {
    let v = short_models(&f.models);
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

/// The shortest prefix of each id (at least 8 characters) that no other
/// id shares, so it can be given to `show`: `others` holds the ids next to
/// each listed one among all the database's (`neighbours`), which rows a
/// range or `--limit` left out may be.
fn short_ids(ids: &[&str], others: &[String]) -> Vec<String> {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.extend(others.iter().map(String::as_str));
    sorted.sort_unstable();
    sorted.dedup();
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    ids.iter()
        .map(|id| {
            let i = sorted.binary_search(id).unwrap_or(0);
            let mut need = 8;
            for j in [i.checked_sub(1), Some(i + 1)].into_iter().flatten() {
                if let Some(other) = sorted.get(j) {
                    need = need.max(common(id, other) + 1);
                }
            }
            id.chars().take(need).collect()
        })
        .collect()
}

/// The session ids just before and after each of `ids` among all the
/// database's (two lookups in the sessions' key per id; for many, every
/// id: one pass over that key).
fn neighbours(conn: &rusqlite::Connection, ids: &[&str]) -> rusqlite::Result<Vec<String>> {
    if ids.len() > 100 {
        return conn
            .prepare("SELECT DISTINCT session_id FROM sessions WHERE session_id IS NOT NULL")?
            .query_map([], |r| r.get(0))?
            .collect();
    }
    let mut before =
        conn.prepare_cached("SELECT max(session_id) FROM sessions WHERE session_id < ?1")?;
    let mut after =
        conn.prepare_cached("SELECT min(session_id) FROM sessions WHERE session_id > ?1")?;
    let mut out = Vec::new();
    for id in ids {
        for st in [&mut before, &mut after] {
            if let Some(other) = st.query_row([id], |r| r.get::<_, Option<String>>(0))? {
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// The sessions table; in a terminal `width` wide, the columns least
/// needed are left out and the titles cut as far as it takes.
fn human(
    rows: &[SessionRow],
    others: &[String],
    total: &Figures,
    zone: &Zone,
    width: Option<usize>,
    ranged: bool,
) -> String {
    use crate::output::thousands as n;
    let columns = [
        table::text("Session"),
        table::text("Project"),
        table::text("Title"),
        table::text("Started"),
        table::num("Duration"),
        table::num("Prompts"),
        table::num("Responses"),
        table::num("Tools"),
        table::num("Errors"),
        table::num("Agents"),
        table::num("Compact"),
        table::text("Models"),
        table::num("Tokens"),
        table::num("Cost"),
    ];
    let ids: Vec<&str> = rows.iter().map(|r| r.session_id.as_str()).collect();
    let short = short_ids(&ids, others);
    let mut cells = Vec::new();
    for (r, id) in rows.iter().zip(short) {
        let f = &r.figures;
        cells.push(vec![
            id,
            project_name(r.project.as_deref()),
            clip(r.title.as_deref().unwrap_or("-"), 40),
            when(zone, r.first_at),
            duration(r.duration_ms()),
            n(f.prompts),
            n(f.responses),
            n(f.tool_calls),
            n(f.tool_errors),
            n(r.subagents.len() as u64),
            n(f.compactions),
            models(f),
            tokens(f.total_tokens()),
            money_part(f.cost(), f.unpriced_responses),
        ]);
        for t in &r.subagents {
            let f = &t.figures;
            cells.push(vec![
                format!("└ {}", clip(&t.agent_id, 10)),
                String::new(),
                clip(t.title.as_deref().unwrap_or("-"), 38),
                when(zone, t.first_at),
                duration(t.duration_ms()),
                n(f.prompts),
                n(f.responses),
                n(f.tool_calls),
                n(f.tool_errors),
                String::new(),
                n(f.compactions),
                models(f),
                tokens(f.total_tokens()),
                money_part(f.cost(), f.unpriced_responses),
            ]);
        }
    }
    let footer = vec![vec![
        super::count(rows.len() as u64, "session", "sessions"),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        n(total.prompts),
        n(total.responses),
        n(total.tool_calls),
        n(total.tool_errors),
        n(rows.iter().map(|r| r.subagents.len() as u64).sum()),
        n(total.compactions),
        String::new(),
        tokens(total.total_tokens()),
        money_part(total.cost(), total.unpriced_responses),
    ]];
    // cut: title (to 20), models, project; left out: compactions, errors,
    // models, agents, responses, duration, tokens, project, tools, start,
    // prompts
    let mut out = table::fit(
        &columns,
        &cells,
        &footer,
        width,
        &[(2, 20), (11, 9), (1, 7)],
        &[10, 8, 11, 9, 6, 4, 12, 1, 7, 3, 5],
    );
    out.push('\n');
    if ranged && !rows.is_empty() {
        out.push_str(&crate::output::wrap(
            "Rows are whole sessions that touch the range (`cost` counts only what is in it).",
            width,
        ));
        out.push('\n');
    }
    if total.unpriced_responses > 0 {
        out.push_str(&super::unpriced_note(total.unpriced_responses, width));
    }
    out
}

fn csv(rows: &[SessionRow]) -> String {
    let header = [
        "session_id",
        "agent_id",
        "parent_session_id",
        "project",
        "title",
        "started_at",
        "ended_at",
        "duration_ms",
        "user_prompts",
        "responses",
        "tool_calls",
        "tool_errors",
        "subagents",
        "compactions",
        "models",
        "input_tokens",
        "output_tokens",
        "cache_creation_tokens",
        "cache_read_tokens",
        "total_tokens",
        "cost_usd",
        "unpriced_responses",
    ];
    let line = |sid: &str,
                aid: &str,
                parent: Option<&str>,
                project: Option<&str>,
                title: Option<&str>,
                first: Option<i64>,
                last: Option<i64>,
                subagents: Option<usize>,
                f: &Figures| {
        let s = |v: Option<i64>| v.map(crate::report::rfc3339).unwrap_or_default();
        vec![
            sid.to_owned(),
            aid.to_owned(),
            parent.unwrap_or_default().to_owned(),
            project.unwrap_or_default().to_owned(),
            title.unwrap_or_default().to_owned(),
            s(first),
            s(last),
            first
                .zip(last)
                .map(|(a, b)| (b - a).to_string())
                .unwrap_or_default(),
            f.prompts.to_string(),
            f.responses.to_string(),
            f.tool_calls.to_string(),
            f.tool_errors.to_string(),
            subagents.map(|n| n.to_string()).unwrap_or_default(),
            f.compactions.to_string(),
            f.models.iter().cloned().collect::<Vec<_>>().join(" "),
            f.input_tokens.to_string(),
            f.output_tokens.to_string(),
            f.cache_creation_tokens.to_string(),
            f.cache_read_tokens.to_string(),
            f.total_tokens().to_string(),
            usd_csv(f.cost()),
            f.unpriced_responses.to_string(),
        ]
    };
    let mut out = Vec::new();
    for r in rows {
        out.push(line(
            &r.session_id,
            "",
            None,
            r.project.as_deref(),
            r.title.as_deref(),
            r.first_at,
            r.last_at,
            Some(r.subagents.len()),
            &r.figures,
        ));
        for t in &r.subagents {
            out.push(line(
                &t.session_id,
                &t.agent_id,
                t.parent_session_id.as_deref(),
                t.project.as_deref(),
                t.title.as_deref(),
                t.first_at,
                t.last_at,
                None,
                &t.figures,
            ));
        }
    }
    table::csv(&header, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_shorten_to_a_unique_prefix() {
        assert_eq!(
            short_ids(
                &["sess-main-0001", "sess-resume-0002", "0123456789abcdef"],
                &[]
            ),
            vec!["sess-mai", "sess-res", "01234567"]
        );
        assert_eq!(
            short_ids(&["sess-blocks-a001", "sess-blocks-b002"], &[]),
            vec!["sess-blocks-a", "sess-blocks-b"]
        );
    }

    /// A short id is unique among all the database's sessions, not only
    /// the rows shown (`--limit`, a range): `show` takes it.
    #[test]
    fn short_ids_are_unique_among_rows_not_shown() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::SCHEMA_SQL).unwrap();
        for id in ["abcdefgh-1111", "abcdefgh-2222", "abcdefgz-3333", "zz-4444"] {
            conn.execute("INSERT INTO sessions(session_id) VALUES (?1)", [id])
                .unwrap();
        }
        let shown = ["abcdefgh-2222", "zz-4444"];
        let others = neighbours(&conn, &shown).unwrap();
        let short = short_ids(&shown, &others);
        assert_eq!(short, vec!["abcdefgh-2", "zz-4444"]);
        for s in &short {
            assert!(
                matches!(
                    crate::report::show::resolve(&conn, s).unwrap(),
                    crate::report::show::Resolved::One(_)
                ),
                "{s}"
            );
        }
        assert_eq!(short_ids(&shown, &[]), vec!["abcdefgh", "zz-4444"]);
    }

    #[test]
    fn model_names_shorten() {
        assert_eq!(short_model("claude-sonnet-4-5-20250929"), "sonnet-4-5");
        assert_eq!(short_model("claude-opus-4-6"), "opus-4-6");
        assert_eq!(short_model("gpt-5"), "gpt-5");
        let ids: Vec<String> = [
            "claude-3-sonnet-20240229",
            "claude-sonnet-4-20250514",
            "claude-sonnet-4",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(short_models(&ids), ["3-sonnet", "sonnet-4"]);
    }
}
