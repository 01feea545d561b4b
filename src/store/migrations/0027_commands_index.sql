-- 0027: `commands` reads a slash command from a preview that holds its tag,
-- or from the whole line when the preview was cut inside a long
-- `<command-message>` (a preview starting `<command-message>`). The index
-- of 0020 held only the first kind, so the query for both scanned every
-- line (~160 ms on the 1 GiB benchmark database); this one holds both and
-- is still only the rare rows. Never edit: add 0028_*.sql instead.
DROP INDEX IF EXISTS messages_commands;
CREATE INDEX messages_commands ON message_rows(thread)
    WHERE text_preview LIKE '%<command-name>%' OR text_preview LIKE '<command-message>%';
