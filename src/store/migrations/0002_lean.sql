-- 0002: leaner messages (the line's cwd, version, git branch, permission
-- mode and role are in the raw bytes; previews only where a report reads
-- them), is_prompt with a partial index for the session reports, and the
-- responses' git branch (cost --by-branch without a join). Derived tables
-- only: the next ingest rebuilds every table from raw_chunks.

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

INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
