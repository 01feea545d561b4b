-- 0033: of the copies of a line (a resumed session's file re-writes the
-- lines it copies with their uuids; 1.0.x gave assistant lines its own
-- session id and the resume's time), the earliest is the message, with its
-- session and time, whatever the order the files are read in; it was the
-- first read, so an API error in a copy read before its original counted
-- in the resumed session. Where that happened to a response's line (its
-- earliest line, which the response follows, is no message, and a later
-- line of it is), the rows derived from the lines are rebuilt from the
-- stored raw bytes at the next ingest; no other database is touched.
-- And parent_gap is at most 1024 (a parent further back is named by its
-- uuid), so that the messages naming a line by distance are found among
-- the next 1024 line ids when it stops being a message. Never edit: add
-- 0034_*.sql instead.
UPDATE message_rows
   SET parent_uuid = (SELECT p.uuid FROM message_rows p
                       WHERE p.line_id = message_rows.line_id - message_rows.parent_gap),
       parent_gap = NULL
 WHERE parent_gap > 1024;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (
    SELECT 1 FROM response_rows r
    WHERE r.message_keyed = 1
      AND NOT EXISTS (SELECT 1 FROM message_rows m WHERE m.line_id = r.first_line_id)
      AND EXISTS (
          SELECT 1 FROM message_rows m JOIN lines l ON l.id = m.line_id
          WHERE m.message_id = r.key AND l.at > r.at
      )
);
