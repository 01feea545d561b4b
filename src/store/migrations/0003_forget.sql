-- 0003: tombstones for `observatory forget`, so that ingest never reads
-- forgotten lines again. Never edit: add 0004_*.sql instead.

-- Forgotten transcript files (`observatory forget`), one row per
-- source_files row. That row stays, with its cursor, so an unchanged file is
-- not read again; its lines, raw bytes and every row derived from them are
-- gone. Bytes [0, read_offset) were forgotten; lines appended to the file
-- later are read as new activity (its raw_chunks then start at read_offset).
-- The digests let ingest recognise a copy of the file at another path (or a
-- replaced file that starts with the same bytes) and skip the forgotten part.
CREATE TABLE forgotten_files (
    file_id      INTEGER PRIMARY KEY REFERENCES source_files(id),
    forgotten_at INTEGER NOT NULL,
    read_offset  INTEGER NOT NULL,   -- bytes [0, read_offset) were forgotten
    line_count   INTEGER NOT NULL,   -- physical lines in them
    head_digest  INTEGER,            -- FNV-1a 64 of their first 4 KiB; NULL: not known
    digest       INTEGER             -- FNV-1a 64 of all of them; NULL: not known
);
