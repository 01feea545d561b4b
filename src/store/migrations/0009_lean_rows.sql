-- 0009: leaner message and response rows. message_rows no longer repeats
-- its line's type and time (lines has them), and keeps a parent that is an
-- earlier message of the same file as the distance in line ids
-- (parent_gap) instead of its uuid; response_rows no longer repeats its key
-- as message_id (message_keyed says the key is one), and keeps priced_as
-- only when it differs from the model. The messages and responses views
-- show every column as before. The next ingest rebuilds every derived
-- table from raw_chunks, which is copied into a rowid table (below).
-- Never edit: add 0010_*.sql instead.

-- raw_chunks becomes a rowid table with its key in an index: as a WITHOUT
-- ROWID table, every key comparison in a search read a whole chunk.
ALTER TABLE raw_chunks RENAME TO raw_chunks_0008;
CREATE TABLE raw_chunks (
    id           INTEGER PRIMARY KEY,
    file_id      INTEGER NOT NULL REFERENCES source_files(id),
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    first_line   INTEGER NOT NULL,   -- line number of the chunk's first line (1-based)
    data         BLOB NOT NULL
);
INSERT INTO raw_chunks(file_id, start_offset, end_offset, first_line, data)
SELECT file_id, start_offset, end_offset, first_line, data FROM raw_chunks_0008
ORDER BY file_id, start_offset;
DROP TABLE raw_chunks_0008;
CREATE UNIQUE INDEX raw_chunks_key ON raw_chunks(file_id, start_offset);

DELETE FROM content_blocks;  -- references message_rows
DROP VIEW messages;
DROP VIEW responses;
DROP TABLE message_rows;
DROP TABLE response_rows;    -- and its triggers

CREATE TABLE message_rows (
    line_id             INTEGER PRIMARY KEY REFERENCES lines(id),
    uuid                TEXT,
    parent_uuid         TEXT,          -- NULL when parent_gap names the parent
    parent_gap          INTEGER,       -- the parent is the message of line line_id - parent_gap (same file)
    logical_parent_uuid TEXT,
    thread              INTEGER REFERENCES threads(id),
    subtype             TEXT,
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
CREATE UNIQUE INDEX messages_uuid ON message_rows(uuid);
CREATE INDEX messages_prompts ON message_rows(thread) WHERE is_prompt = 1;

CREATE TABLE response_rows (
    id                       INTEGER PRIMARY KEY,
    key                      TEXT NOT NULL UNIQUE,
    message_keyed            INTEGER NOT NULL DEFAULT 0,  -- key is message.id (responses.message_id)
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
    priced_as                TEXT                -- the pricing entry used; NULL: model itself (or no price)
);
CREATE INDEX responses_at ON response_rows(at);
CREATE INDEX responses_thread ON response_rows(thread);

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
SELECT m.line_id, m.uuid,
       coalesce(m.parent_uuid,
                (SELECT p.uuid FROM message_rows p WHERE p.line_id = m.line_id - m.parent_gap))
           AS parent_uuid,
       m.logical_parent_uuid, t.session_id, t.agent_id,
       l.type, m.subtype, l.at, m.is_sidechain, m.is_meta, m.is_compact_summary, m.is_prompt,
       m.message_id, m.model, m.stop_reason, m.text_preview, m.is_api_error,
       m.api_error_status, m.error
FROM message_rows m
JOIN lines l ON l.id = m.line_id
LEFT JOIN threads t ON t.id = m.thread;

CREATE VIEW responses AS
SELECT r.id, r.key, CASE WHEN r.message_keyed THEN r.key END AS message_id, r.model,
       t.session_id, t.agent_id, r.git_branch,
       r.project_id, r.first_line_id, r.at, r.input_tokens, r.output_tokens,
       r.cache_creation_5m_tokens, r.cache_creation_1h_tokens, r.cache_read_tokens,
       r.web_search_requests, r.web_fetch_requests, r.fast, r.us_only, r.final, r.stop_reason,
       r.line_count, r.cost_picousd,
       CASE WHEN r.cost_picousd IS NOT NULL THEN coalesce(r.priced_as, r.model) END AS priced_as
FROM response_rows r
LEFT JOIN threads t ON t.id = r.thread;

INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
