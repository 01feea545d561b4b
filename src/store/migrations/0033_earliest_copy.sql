-- 0033: of the copies of a line (a resumed session's file re-writes the
-- lines it copies with their uuids; 1.0.x gave assistant lines its own
-- session id and the resume's time), the earliest is the message, with its
-- session and time, whatever the order the files are read in; it was the
-- first read, so an API error in a copy read before its original counted
-- in the resumed session. Which copy a stored line is cannot be told
-- without reading it again: where any is stored (a conversation line that
-- is no message), the rows derived from the lines are rebuilt from the
-- stored raw bytes at the next ingest; no other database is touched.
-- And parent_gap is at most 256 (a parent further back is named by its
-- uuid), so that the messages naming a line by distance are found among
-- the next 256 line ids when it stops being a message. Never edit: add
-- 0034_*.sql instead.
UPDATE message_rows
   SET parent_uuid = (SELECT p.uuid FROM message_rows p
                       WHERE p.line_id = message_rows.line_id - message_rows.parent_gap),
       parent_gap = NULL
 WHERE parent_gap > 256;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (
    SELECT 1 FROM lines l
    WHERE l.status = 'record'
      AND l.type IN ('user', 'assistant', 'system', 'progress', 'attachment')
      AND NOT EXISTS (SELECT 1 FROM message_rows m WHERE m.line_id = l.id)
);
