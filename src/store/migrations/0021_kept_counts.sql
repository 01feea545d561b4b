-- 0021: the lines counted per type and status, for `status` (which read
-- every line: ~80 ms on the 1 GiB benchmark corpus). Kept by the ingest:
-- its lines are counted at its end, those of the last count on (by id:
-- a new line takes an id above every other); the count is then good
-- through meta `line_counts_through`. A line deleted or changed, or a
-- file replaced by a new generation (its lines counted apart, as
-- replaced), removes that key: the next ingest counts every line again,
-- and `status` reads the table only while the key is the largest line id.
-- Also: any change to `cost_rollup` removes meta `rollup_checked_count`
-- (triggers), so that a report trusts the rollup while the key is there
-- instead of summing the rollup to compare (~1.7 ms of every report on a
-- 1 GiB corpus); removed here too, so the next ingest checks the rollup
-- once more. Nothing is rebuilt. Never edit: add 0022_*.sql instead.
CREATE TABLE line_counts (
    replaced INTEGER NOT NULL,   -- 1: lines of a replaced generation (source_files.superseded)
    type     TEXT NOT NULL,      -- the line's type; '' if it has none (a malformed line)
    status   TEXT NOT NULL,      -- record | unknown | malformed
    lines    INTEGER NOT NULL,
    PRIMARY KEY (replaced, type, status)
) WITHOUT ROWID;
CREATE TRIGGER line_counts_line_delete AFTER DELETE ON lines BEGIN
    DELETE FROM meta WHERE key = 'line_counts_through';
END;
CREATE TRIGGER line_counts_line_update AFTER UPDATE ON lines BEGIN
    DELETE FROM meta WHERE key = 'line_counts_through';
END;
CREATE TRIGGER line_counts_file_replaced AFTER UPDATE OF superseded ON source_files BEGIN
    DELETE FROM meta WHERE key = 'line_counts_through';
END;
CREATE TRIGGER cost_rollup_changed_insert AFTER INSERT ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_rollup_changed_update AFTER UPDATE ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_rollup_changed_delete AFTER DELETE ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
DELETE FROM meta WHERE key = 'rollup_checked_count';
