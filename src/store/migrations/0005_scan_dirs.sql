-- 0005: the folder listings of the last discovery walk, so that a folder
-- whose mtime did not change is not listed again (ingest/discover.rs).
-- Never edit: add 0006_*.sql instead.
CREATE TABLE scan_dirs (
    path         BLOB PRIMARY KEY,   -- the folder as walked (bytes of the path)
    mtime_ns     INTEGER NOT NULL,   -- its mtime when listed
    listed_at_ns INTEGER NOT NULL,   -- when it was listed
    entries      BLOB NOT NULL       -- kind byte (d, f, l) + name + '/', per entry, sorted
) WITHOUT ROWID;
