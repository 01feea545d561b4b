-- 0026: subagents' sidecar files (`agent-<id>.meta.json` beside
-- `agent-<id>.jsonl` under `<session>/subagents/`): kept as source files,
-- their one JSON object modelled here. The folder listings are dropped so
-- that the next walk lists every folder again and finds the sidecars
-- already there (IF NOT EXISTS: a test re-runs it on a database made
-- current). Never edit: add 0027_*.sql instead.
CREATE TABLE IF NOT EXISTS subagent_meta (
    line_id     INTEGER PRIMARY KEY REFERENCES lines(id),
    session_id  TEXT,
    agent_id    TEXT,
    agent_type  TEXT,
    description TEXT,
    tool_use_id TEXT
);
DELETE FROM scan_dirs;
