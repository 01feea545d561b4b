-- 0015: a line that shares its uuid with a different line (hand-made and
-- other tools' transcripts reuse uuids) is a message of its own: message
-- rows are unique by uuid and content_key (what the line says but for its
-- time, hashed: see ingest/writer.rs), not by uuid alone, so only copies
-- (a resumed session's) are left out, whatever the order files are read
-- in. The rows derived from the lines are rebuilt from the stored raw
-- bytes at the next ingest (which also re-derives a response's cache
-- writes from one line's 5m/1h split). Never edit: add 0016_*.sql instead.
ALTER TABLE message_rows ADD COLUMN content_key INTEGER NOT NULL DEFAULT 0;
DROP INDEX messages_uuid;
CREATE UNIQUE INDEX messages_uuid ON message_rows(uuid, content_key);
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
