-- 0006: each thread's figures for `observatory sessions`, kept in step by
-- ingest (report/sessions.rs). Never edit: add 0007_*.sql instead.
CREATE TABLE thread_figures (
    session_id            TEXT NOT NULL,
    agent_id              TEXT NOT NULL,     -- '' for the main thread
    prompts               INTEGER NOT NULL,
    responses             INTEGER NOT NULL,
    unpriced_responses    INTEGER NOT NULL,
    tool_calls            INTEGER NOT NULL,
    tool_errors           INTEGER NOT NULL,
    compactions           INTEGER NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost_dollars          INTEGER NOT NULL,  -- cost = cost_dollars * 10^12 + cost_rest_picousd
    cost_rest_picousd     INTEGER NOT NULL,
    models                TEXT NOT NULL,     -- JSON array of the models, sorted
    PRIMARY KEY (session_id, agent_id)
) WITHOUT ROWID;
CREATE TABLE thread_figures_dirty (
    session_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TRIGGER responses_threads_update AFTER UPDATE ON responses BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT OLD.session_id
        WHERE OLD.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = OLD.session_id);
    INSERT INTO thread_figures_dirty(session_id) SELECT NEW.session_id
        WHERE NEW.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = NEW.session_id);
END;
CREATE TRIGGER responses_threads_delete AFTER DELETE ON responses BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT OLD.session_id
        WHERE OLD.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = OLD.session_id);
END;
CREATE INDEX tool_calls_session ON tool_calls(session_id);
CREATE INDEX system_events_compactions ON system_events(session_id) WHERE subtype = 'compact_boundary';
INSERT INTO thread_figures_dirty(session_id) SELECT DISTINCT session_id FROM sessions;
