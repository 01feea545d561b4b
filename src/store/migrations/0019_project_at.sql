-- 0019: a session's project is that of its earliest line with a cwd (its
-- subagents' rows and its responses take the same), not that of the first
-- line read: a session whose lines name two folders was under one project
-- or the other, and its cost with it, by the order the files were read in.
-- The rows derived from the lines are rebuilt from the stored raw bytes at
-- the next ingest. Never edit: add 0020_*.sql instead.
ALTER TABLE sessions ADD COLUMN project_at INTEGER;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
