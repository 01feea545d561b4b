-- 0018: a session's first prompt is its earliest prompt (with its time),
-- not the first one read, and only a prompt (a 1.0.x subagent's line in
-- the main file, or a note Claude Code wrote as a user line, is not); a
-- response's model is its earliest line's. Both were decided by the order
-- the files were read in, which `ingest --full` does not repeat. The rows
-- derived from the lines are rebuilt from the stored raw bytes at the next
-- ingest. Never edit: add 0019_*.sql instead.
ALTER TABLE sessions ADD COLUMN first_prompt_at INTEGER;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
