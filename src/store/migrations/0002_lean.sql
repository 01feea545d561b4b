-- 0002: leaner messages (the line's cwd, version, git branch, permission
-- mode and role are in the raw bytes; previews only where a report reads
-- them), is_prompt with a partial index for the session reports, and the
-- responses' git branch (cost --by-branch without a join), and cost_rollup
-- (cost sums per 15 minutes instead of reading every response). Derived
-- tables only: the next ingest rebuilds every table from raw_chunks.

DROP VIEW v_responses;
DELETE FROM content_blocks;  -- references messages (foreign keys are on)
DROP TABLE messages;
DROP TABLE responses;

CREATE TABLE messages (
    line_id             INTEGER PRIMARY KEY REFERENCES lines(id),
    uuid                TEXT,
    parent_uuid         TEXT,
    logical_parent_uuid TEXT,
    session_id          TEXT,
    agent_id            TEXT,
    type                TEXT NOT NULL,
    subtype             TEXT,
    at                  INTEGER,
    is_sidechain        INTEGER NOT NULL DEFAULT 0,
    is_meta             INTEGER NOT NULL DEFAULT 0,
    is_compact_summary  INTEGER NOT NULL DEFAULT 0,
    is_prompt           INTEGER NOT NULL DEFAULT 0,  -- a user prompt: not meta, not a compact summary, no tool_result
    message_id          TEXT,          -- message.id (API id) on user/assistant lines
    model               TEXT,
    stop_reason         TEXT,
    text_preview        TEXT,          -- prompts, system lines and API errors: the text, shortened
    is_api_error        INTEGER NOT NULL DEFAULT 0,
    api_error_status    INTEGER,
    error               TEXT
);
CREATE UNIQUE INDEX messages_uuid ON messages(uuid);
CREATE INDEX messages_prompts ON messages(session_id, agent_id) WHERE is_prompt = 1;

CREATE TABLE responses (
    id                       INTEGER PRIMARY KEY,
    key                      TEXT NOT NULL UNIQUE,
    message_id               TEXT,
    model                    TEXT NOT NULL,   -- as written; '?' if missing
    session_id               TEXT,
    agent_id                 TEXT,
    git_branch               TEXT,            -- gitBranch of its first line
    project_id               INTEGER REFERENCES projects(id),
    first_line_id            INTEGER REFERENCES lines(id),
    at                       INTEGER,
    input_tokens             INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens        INTEGER NOT NULL,
    web_search_requests      INTEGER NOT NULL,
    web_fetch_requests       INTEGER NOT NULL,
    fast                     INTEGER NOT NULL,   -- usage.speed == "fast" on any line
    us_only                  INTEGER NOT NULL,   -- usage.inference_geo == "us" on any line
    final                    INTEGER NOT NULL,   -- a line with a stop_reason was seen
    stop_reason              TEXT,
    line_count               INTEGER NOT NULL,
    cost_picousd             INTEGER,            -- NULL: no price for this model
    priced_as                TEXT                -- the pricing entry used
);
CREATE INDEX responses_at ON responses(at);
CREATE INDEX responses_session ON responses(session_id);

CREATE VIEW v_responses AS
SELECT r.id, r.key, r.message_id, r.model, r.priced_as, r.session_id, r.agent_id,
       p.path AS project, r.git_branch,
       r.at,
       strftime('%Y-%m-%dT%H:%M:%fZ', r.at / 1000.0, 'unixepoch') AS at_utc,
       date(r.at / 1000, 'unixepoch') AS day,
       r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens,
       r.cache_read_tokens,
       r.input_tokens + r.output_tokens + r.cache_creation_5m_tokens
           + r.cache_creation_1h_tokens + r.cache_read_tokens AS total_tokens,
       r.web_search_requests, r.web_fetch_requests, r.fast, r.us_only, r.final, r.stop_reason,
       r.cost_picousd,
       CASE
           WHEN r.cost_picousd IS NULL THEN NULL
           WHEN r.cost_picousd < 0 THEN rtrim(rtrim(printf('-%d.%012d',
               -r.cost_picousd / 1000000000000, -r.cost_picousd % 1000000000000), '0'), '.')
           ELSE rtrim(rtrim(printf('%d.%012d',
               r.cost_picousd / 1000000000000, r.cost_picousd % 1000000000000), '0'), '.')
       END AS cost_usd
FROM responses r
LEFT JOIN projects p ON p.id = r.project_id;

-- Cost per 15-minute UTC bucket, model, pricing entry, project, main
-- thread or subagent, and git branch: the responses table summed, kept in
-- step by triggers that note the buckets a change touches (bucket -1: no
-- time; no OR IGNORE: inside an upsert the outer statement's conflict
-- rule would apply) and by the ingest, which re-sums those buckets when it
-- finishes. `cost`
-- reads it (a few thousand rows instead of every response) whenever nothing
-- is pending in cost_rollup_dirty; otherwise it reads responses.
CREATE TABLE cost_rollup (
    bucket                   INTEGER,          -- at / 900000; NULL: no time
    model                    TEXT NOT NULL,
    priced_as                TEXT,
    project_id               INTEGER,
    subagent                 INTEGER NOT NULL,
    git_branch               TEXT,
    first_at                 INTEGER,          -- earliest and latest response time
    last_at                  INTEGER,
    requests                 INTEGER NOT NULL,
    priced_requests          INTEGER NOT NULL,
    input_tokens             INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens        INTEGER NOT NULL,
    web_search_requests      INTEGER NOT NULL,
    cost_dollars             INTEGER NOT NULL,  -- sum(cost_picousd / 10^12): whole dollars
    cost_rest_picousd        INTEGER NOT NULL   -- sum(cost_picousd % 10^12): exact rest
);
CREATE INDEX cost_rollup_bucket ON cost_rollup(bucket);
CREATE TABLE cost_rollup_dirty (
    bucket INTEGER PRIMARY KEY
);
CREATE TRIGGER responses_rollup_insert AFTER INSERT ON responses BEGIN
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(NEW.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(NEW.at / 900000, -1));
END;
CREATE TRIGGER responses_rollup_update AFTER UPDATE ON responses BEGIN
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(NEW.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(NEW.at / 900000, -1));
END;
CREATE TRIGGER responses_rollup_delete AFTER DELETE ON responses BEGIN
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
END;

INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
