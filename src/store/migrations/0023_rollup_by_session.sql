-- 0023: the rollup is re-summed per bucket and session, not per bucket: an
-- ingest notes each new response's (bucket, thread), the triggers those of
-- updated and deleted responses, and the refresh re-sums the noted
-- sessions' rows of each noted bucket (through responses_thread, now
-- (thread, at)) instead of every response of the bucket. A bucket noted
-- before this upgrade is re-summed whole (thread -1). Never edit: add
-- 0024_*.sql instead.
DROP TRIGGER responses_rollup_update;
DROP TRIGGER responses_rollup_delete;
CREATE TEMP TABLE rollup_dirty_before AS SELECT bucket FROM cost_rollup_dirty;
DROP TABLE cost_rollup_dirty;
CREATE TABLE cost_rollup_dirty (
    bucket INTEGER NOT NULL,   -- at / 900000; -1: no time
    thread INTEGER NOT NULL,   -- response_rows.thread; 0: none; -1 (or a thread since deleted): every response of the bucket
    PRIMARY KEY (bucket, thread)
) WITHOUT ROWID;
INSERT INTO cost_rollup_dirty(bucket, thread) SELECT bucket, -1 FROM temp.rollup_dirty_before;
DROP TABLE temp.rollup_dirty_before;
CREATE TRIGGER responses_rollup_update AFTER UPDATE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(OLD.at / 900000, -1), coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(OLD.at / 900000, -1) AND thread = coalesce(OLD.thread, 0));
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(NEW.at / 900000, -1), coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(NEW.at / 900000, -1) AND thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER responses_rollup_delete AFTER DELETE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(OLD.at / 900000, -1), coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(OLD.at / 900000, -1) AND thread = coalesce(OLD.thread, 0));
END;
-- A thread deleted or given another session: the rollup is no longer as
-- the last check left it (a note names a thread by id, looked up when it is
-- re-summed), and the next refresh sums it whole.
CREATE TRIGGER threads_rollup_delete AFTER DELETE ON threads BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER threads_rollup_update AFTER UPDATE OF session_id ON threads BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
DROP INDEX responses_thread;
CREATE INDEX responses_thread ON response_rows(thread, at);
DROP INDEX cost_rollup_bucket;
CREATE INDEX cost_rollup_bucket ON cost_rollup(bucket, session_id);
