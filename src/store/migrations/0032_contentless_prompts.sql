-- 0032: a user line with no content (no message, no `content`, an empty
-- list) is no prompt: nothing was typed. Such lines counted as prompts
-- (and opened a turn in `show`); where one is stored as a prompt, the rows
-- derived from the lines are rebuilt from the stored raw bytes at the next
-- ingest; no other database is touched. Never edit: add 0033_*.sql
-- instead.
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (
    SELECT 1 FROM message_rows m
    WHERE m.is_prompt = 1
      AND NOT EXISTS (SELECT 1 FROM content_blocks b WHERE b.line_id = m.line_id)
);
