-- 0031: hook_figures: the hook runs summed per thread, event and command,
-- so that `hooks` with no time range reads ~7,800 rows instead of pairing
-- every hook row again (~108,000 on the 1 GiB benchmark corpus: 130-160
-- ms). Runs are paired within a session (`report::hooks`), so a change to
-- one thread's rows sums its whole session again. Each row holds what the
-- report adds up of the runs (notes left out): the counts, the durations
-- of the runs that have one (ms, each an unsigned LEB128 varint) for the
-- percentiles, and the group's last failure: failure_timed (a failure
-- with a time was seen: those without one then do not count),
-- failure_at, and the text of the latest failure that has one, with the
-- (time, line, seq) it is chosen by. Kept by the ingest as tool_figures
-- is (0030): a change to hook_run_rows notes its thread in
-- hook_figures_dirty, and the ingest's end sums the noted threads'
-- sessions again (-1: everything; a change to hook_figures by anything but
-- that re-sum notes it). A report reads hook_figures only while nothing is
-- noted. The upgrade notes -1: the next ingest sums every session;
-- nothing is rebuilt. Never edit: add 0032_*.sql instead.
CREATE TABLE hook_figures (
    thread                  INTEGER NOT NULL,   -- hook_run_rows.thread; 0: none
    event                   TEXT,
    command                 TEXT,
    runs                    INTEGER NOT NULL,
    successes               INTEGER NOT NULL,
    non_blocking_errors     INTEGER NOT NULL,
    blocking_errors         INTEGER NOT NULL,
    prevented_continuations INTEGER NOT NULL,
    no_result               INTEGER NOT NULL,
    durations               BLOB NOT NULL,
    failure_timed           INTEGER NOT NULL,
    failure_at              INTEGER,
    failure_text_at         INTEGER,
    failure_text_line       INTEGER,   -- NULL: no failure with a text
    failure_text_seq        INTEGER,
    failure_text            TEXT
);
CREATE INDEX hook_figures_thread ON hook_figures(thread);
CREATE TABLE hook_figures_dirty (
    thread INTEGER PRIMARY KEY     -- 0: rows without a thread; -1: everything
) WITHOUT ROWID;
INSERT INTO hook_figures_dirty(thread) VALUES (-1);
CREATE TRIGGER hook_figures_run_insert AFTER INSERT ON hook_run_rows BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER hook_figures_run_update AFTER UPDATE ON hook_run_rows BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = coalesce(OLD.thread, 0));
    INSERT INTO hook_figures_dirty(thread) SELECT coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER hook_figures_run_delete AFTER DELETE ON hook_run_rows BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = coalesce(OLD.thread, 0));
END;
CREATE TRIGGER hook_figures_changed_insert AFTER INSERT ON hook_figures BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = -1);
END;
CREATE TRIGGER hook_figures_changed_update AFTER UPDATE ON hook_figures BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = -1);
END;
CREATE TRIGGER hook_figures_changed_delete AFTER DELETE ON hook_figures BEGIN
    INSERT INTO hook_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM hook_figures_dirty WHERE thread = -1);
END;
