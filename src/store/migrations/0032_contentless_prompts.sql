-- 0032: a user line with nothing typed (no message, no `content`, an empty
-- list, blank text, blocks of no type) is no prompt. Such lines counted as
-- prompts (and opened a turn in `show`); where one is stored as a prompt
-- (no content block but text, none of it shown, or no block at all), the
-- rows derived from the lines are rebuilt from the stored raw bytes at the
-- next ingest; no other database is touched. Never edit: add 0033_*.sql
-- instead.
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (
    SELECT 1 FROM message_rows m
    WHERE m.is_prompt = 1
      AND coalesce(trim(m.text_preview), '') = ''
      AND NOT EXISTS (
          SELECT 1 FROM content_blocks b
          WHERE b.line_id = m.line_id AND b.type NOT IN ('text', '(none)', 'tool_result')
      )
);
