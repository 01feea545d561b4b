-- 0024: a workflow agent's lines (in `<session>/subagents/workflows/<run>/
-- agent-<id>.jsonl`) carry `sessionId: "<session>#agent-<id>"`. They are
-- now that session's agent <id> (a subagent, in its figures), not a
-- session of their own. Where such lines are stored, the rows derived from
-- the lines are rebuilt from the stored raw bytes at the next ingest; no
-- other database is touched. Never edit: add 0025_*.sql instead.
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM threads WHERE session_id LIKE '%#agent-%');
