-- 0016: a tool call belongs to the session of its earliest use. A resumed
-- session re-writes the calls it copies with its own session id and the
-- resume's time; the copy read first used to own the call (a first ingest
-- reads in path order, so about half of all resumes took their original
-- session's calls, at the resume's time). The rows derived from the lines
-- are rebuilt from the stored raw bytes at the next ingest, by the new rule.
-- And a tool_result whose tool_use is in no line read is no call: the
-- tool_calls view leaves such rows out (it counted them as tool "?", but
-- only while no date range was asked for). Never edit: add 0017_*.sql.
DROP VIEW tool_calls;
CREATE VIEW tool_calls AS
SELECT c.tool_use_id, c.name, c.mcp_server, c.input_summary, c.file_path, t.session_id,
       t.agent_id, c.use_line_id, c.started_at, c.result_line_id, c.finished_at, c.is_error,
       c.subagent_id, c.duration_ms
FROM tool_call_rows c
LEFT JOIN threads t ON t.id = c.thread
WHERE c.use_line_id IS NOT NULL;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
