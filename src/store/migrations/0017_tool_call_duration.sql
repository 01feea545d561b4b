-- 0017: a tool call's duration is unknown when its use was written after
-- its result: a resumed session's copy of the call (its time is the
-- resume's) when the original transcript was never read or is forgotten.
-- The view said a negative duration (the reports already left it out).
-- Never edit: add 0018_*.sql instead.
DROP VIEW tool_calls;
CREATE VIEW tool_calls AS
SELECT c.tool_use_id, c.name, c.mcp_server, c.input_summary, c.file_path, t.session_id,
       t.agent_id, c.use_line_id, c.started_at, c.result_line_id, c.finished_at, c.is_error,
       c.subagent_id, CASE WHEN c.duration_ms >= 0 THEN c.duration_ms END AS duration_ms
FROM tool_call_rows c
LEFT JOIN threads t ON t.id = c.thread
WHERE c.use_line_id IS NOT NULL;
