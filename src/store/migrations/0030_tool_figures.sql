-- 0030: tool_figures: the tool calls summed per thread and tool, so that
-- `tools` with no time range reads ~20,000 rows instead of every call
-- (~111,000 on the 1 GiB benchmark corpus: two thirds of its time was
-- SQLite stepping through them). Each row holds what the report adds up
-- of its calls (those with a use: the tool_calls view's): how many, how
-- many failed, how many have no result, and the durations of those with
-- both ends, to take the percentiles from. Kept by the ingest: a change to
-- tool_call_rows notes its thread in tool_figures_dirty (triggers), and
-- the ingest's end sums the noted threads again (-1: every thread; a
-- change to tool_figures itself, by anything but that re-sum, notes it). A
-- report reads tool_figures only while nothing is noted. The upgrade notes
-- -1: the next ingest sums every thread; nothing is rebuilt. Never edit:
-- add 0031_*.sql instead.
CREATE TABLE tool_figures (
    thread     INTEGER NOT NULL,   -- tool_call_rows.thread; 0: none
    name       TEXT NOT NULL,      -- the tool's name; '?': none
    mcp_server TEXT,               -- the first of its calls' MCP server
    calls      INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    no_result  INTEGER NOT NULL,
    durations  BLOB NOT NULL,      -- ms, each an unsigned LEB128 varint
    PRIMARY KEY (thread, name)
) WITHOUT ROWID;
CREATE TABLE tool_figures_dirty (
    thread INTEGER PRIMARY KEY     -- 0: calls without a thread; -1: every thread
) WITHOUT ROWID;
INSERT INTO tool_figures_dirty(thread) VALUES (-1);
CREATE TRIGGER tool_figures_call_insert AFTER INSERT ON tool_call_rows BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER tool_figures_call_update AFTER UPDATE ON tool_call_rows BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = coalesce(OLD.thread, 0));
    INSERT INTO tool_figures_dirty(thread) SELECT coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER tool_figures_call_delete AFTER DELETE ON tool_call_rows BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = coalesce(OLD.thread, 0));
END;
CREATE TRIGGER tool_figures_changed_insert AFTER INSERT ON tool_figures BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = -1);
END;
CREATE TRIGGER tool_figures_changed_update AFTER UPDATE ON tool_figures BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = -1);
END;
CREATE TRIGGER tool_figures_changed_delete AFTER DELETE ON tool_figures BEGIN
    INSERT INTO tool_figures_dirty(thread) SELECT -1
        WHERE NOT EXISTS (SELECT 1 FROM tool_figures_dirty WHERE thread = -1);
END;
