-- 0008: the session and agent ids once per thread, not in every row. The
-- tables that named them (messages, responses, tool_calls, hook_runs,
-- progress_events, attachments, system_events) become *_rows tables with a
-- thread id, and a view under the old name shows session_id and agent_id
-- again. Derived tables only: the next ingest rebuilds every table from
-- raw_chunks.
-- Never edit: add 0009_*.sql instead.

DROP TABLE content_blocks;  -- references messages
DROP TABLE messages;
DROP TABLE responses;        -- and its triggers
DROP TABLE tool_calls;
DROP TABLE hook_runs;
DROP TABLE progress_events;
DROP TABLE attachments;
DROP TABLE system_events;

CREATE TABLE threads (
    id         INTEGER PRIMARY KEY,
    session_id TEXT,
    agent_id   TEXT
);
CREATE UNIQUE INDEX threads_key ON threads(session_id, agent_id);

CREATE TABLE message_rows (
    line_id             INTEGER PRIMARY KEY REFERENCES lines(id),
    uuid                TEXT,
    parent_uuid         TEXT,
    logical_parent_uuid TEXT,
    thread              INTEGER REFERENCES threads(id),
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

CREATE TABLE content_blocks (
    line_id     INTEGER NOT NULL REFERENCES message_rows(line_id),
    idx         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    tool_use_id TEXT,
    tool_name   TEXT,
    text_bytes  INTEGER NOT NULL DEFAULT 0,
    is_error    INTEGER,
    PRIMARY KEY (line_id, idx)
) WITHOUT ROWID;

CREATE TABLE response_rows (
    id                       INTEGER PRIMARY KEY,
    key                      TEXT NOT NULL UNIQUE,
    message_id               TEXT,
    model                    TEXT NOT NULL,   -- as written; '?' if missing
    thread                   INTEGER REFERENCES threads(id),
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

CREATE TABLE tool_call_rows (
    tool_use_id    TEXT PRIMARY KEY,
    name           TEXT,
    mcp_server     TEXT,
    input_summary  TEXT,
    file_path      TEXT,
    thread         INTEGER REFERENCES threads(id),
    use_line_id    INTEGER REFERENCES lines(id),
    started_at     INTEGER,
    result_line_id INTEGER REFERENCES lines(id),
    finished_at    INTEGER,
    is_error       INTEGER,
    subagent_id    TEXT,
    duration_ms    INTEGER GENERATED ALWAYS AS (finished_at - started_at) VIRTUAL
) WITHOUT ROWID;

CREATE TABLE hook_run_rows (
    line_id                INTEGER NOT NULL REFERENCES lines(id),
    seq                    INTEGER NOT NULL,
    thread                 INTEGER REFERENCES threads(id),
    at                     INTEGER,
    source                 TEXT NOT NULL,   -- progress | attachment | stop_hook_summary | system_text
    event                  TEXT,
    name                   TEXT,
    command                TEXT,
    tool_use_id            TEXT,
    outcome                TEXT NOT NULL,   -- started | success | additional_context | blocking_error | non_blocking_error | summary | error
    exit_code              INTEGER,
    duration_ms            INTEGER,
    output                 TEXT,
    error_count            INTEGER,
    prevented_continuation INTEGER,
    PRIMARY KEY (line_id, seq)
) WITHOUT ROWID;

CREATE TABLE progress_event_rows (
    line_id            INTEGER PRIMARY KEY REFERENCES lines(id),
    thread             INTEGER REFERENCES threads(id),
    at                 INTEGER,
    kind               TEXT,
    tool_use_id        TEXT,
    parent_tool_use_id TEXT,
    data_agent_id      TEXT,
    status             TEXT,
    server_name        TEXT,
    tool_name          TEXT,
    elapsed_ms         INTEGER
);

CREATE TABLE attachment_rows (
    line_id    INTEGER PRIMARY KEY REFERENCES lines(id),
    thread     INTEGER REFERENCES threads(id),
    at         INTEGER,
    type       TEXT
);

CREATE TABLE system_event_rows (
    line_id            INTEGER PRIMARY KEY REFERENCES lines(id),
    thread             INTEGER REFERENCES threads(id),
    at                 INTEGER,
    subtype            TEXT,
    level              TEXT,
    content_preview    TEXT,
    compact_trigger    TEXT,
    compact_pre_tokens INTEGER,
    duration_ms        INTEGER,
    message_count      INTEGER,
    retry_in_ms        INTEGER,
    retry_attempt      INTEGER,
    max_retries        INTEGER
);

CREATE UNIQUE INDEX messages_uuid ON message_rows(uuid);

CREATE INDEX messages_prompts ON message_rows(thread) WHERE is_prompt = 1;

CREATE INDEX responses_at ON response_rows(at);

CREATE INDEX responses_thread ON response_rows(thread);

CREATE INDEX tool_calls_thread ON tool_call_rows(thread) WHERE thread IS NOT NULL;

CREATE INDEX system_events_compactions ON system_event_rows(thread) WHERE subtype = 'compact_boundary';

CREATE TRIGGER responses_rollup_update AFTER UPDATE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(NEW.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(NEW.at / 900000, -1));
END;

CREATE TRIGGER responses_rollup_delete AFTER DELETE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket) SELECT coalesce(OLD.at / 900000, -1)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty WHERE bucket = coalesce(OLD.at / 900000, -1));
END;

CREATE TRIGGER responses_threads_update AFTER UPDATE ON response_rows BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = OLD.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = NEW.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
END;

CREATE TRIGGER responses_threads_delete AFTER DELETE ON response_rows BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = OLD.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
END;

CREATE VIEW messages AS
SELECT m.line_id, m.uuid, m.parent_uuid, m.logical_parent_uuid, t.session_id, t.agent_id,
       m.type, m.subtype, m.at, m.is_sidechain, m.is_meta, m.is_compact_summary, m.is_prompt,
       m.message_id, m.model, m.stop_reason, m.text_preview, m.is_api_error,
       m.api_error_status, m.error
FROM message_rows m
LEFT JOIN threads t ON t.id = m.thread;

CREATE VIEW responses AS
SELECT r.id, r.key, r.message_id, r.model, t.session_id, t.agent_id, r.git_branch,
       r.project_id, r.first_line_id, r.at, r.input_tokens, r.output_tokens,
       r.cache_creation_5m_tokens, r.cache_creation_1h_tokens, r.cache_read_tokens,
       r.web_search_requests, r.web_fetch_requests, r.fast, r.us_only, r.final, r.stop_reason,
       r.line_count, r.cost_picousd, r.priced_as
FROM response_rows r
LEFT JOIN threads t ON t.id = r.thread;

CREATE VIEW tool_calls AS
SELECT c.tool_use_id, c.name, c.mcp_server, c.input_summary, c.file_path, t.session_id,
       t.agent_id, c.use_line_id, c.started_at, c.result_line_id, c.finished_at, c.is_error,
       c.subagent_id, c.duration_ms
FROM tool_call_rows c
LEFT JOIN threads t ON t.id = c.thread;

CREATE VIEW hook_runs AS
SELECT h.line_id, h.seq, t.session_id, t.agent_id, h.at, h.source, h.event, h.name, h.command,
       h.tool_use_id, h.outcome, h.exit_code, h.duration_ms, h.output, h.error_count,
       h.prevented_continuation
FROM hook_run_rows h
LEFT JOIN threads t ON t.id = h.thread;

CREATE VIEW progress_events AS
SELECT p.line_id, t.session_id, t.agent_id, p.at, p.kind, p.tool_use_id, p.parent_tool_use_id,
       p.data_agent_id, p.status, p.server_name, p.tool_name, p.elapsed_ms
FROM progress_event_rows p
LEFT JOIN threads t ON t.id = p.thread;

CREATE VIEW attachments AS
SELECT a.line_id, t.session_id, t.agent_id, a.at, a.type
FROM attachment_rows a
LEFT JOIN threads t ON t.id = a.thread;

CREATE VIEW system_events AS
SELECT e.line_id, t.session_id, t.agent_id, e.at, e.subtype, e.level, e.content_preview,
       e.compact_trigger, e.compact_pre_tokens, e.duration_ms, e.message_count, e.retry_in_ms,
       e.retry_attempt, e.max_retries
FROM system_event_rows e
LEFT JOIN threads t ON t.id = e.thread;

INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
