-- 0014: a prompt is what the user typed (not a 1.0.x subagent's line in the
-- main file, not a note Claude Code writes as a user line), and a legacy
-- hook's "non-blocking" failure is not a blocking one. Nothing changes in
-- the schema: the rows derived from the lines are rebuilt from the stored
-- raw bytes at the next ingest. Never edit: add 0015_*.sql instead.
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
