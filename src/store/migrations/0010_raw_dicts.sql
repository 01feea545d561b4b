-- 0010: raw chunks compressed with a dictionary of the user's own lines.
-- Existing chunks keep dict NULL (compressed on their own); nothing is
-- rebuilt. Never edit: add 0011_*.sql instead.
CREATE TABLE raw_dicts (
    id      INTEGER PRIMARY KEY,
    made_at INTEGER NOT NULL,
    length  INTEGER NOT NULL,   -- bytes of content
    data    BLOB NOT NULL       -- the content, zstd-compressed (without a dictionary)
);
CREATE TABLE raw_dict_sources (
    dict_id INTEGER NOT NULL REFERENCES raw_dicts(id),
    file_id INTEGER NOT NULL REFERENCES source_files(id),
    PRIMARY KEY (dict_id, file_id)
) WITHOUT ROWID;
ALTER TABLE raw_chunks ADD COLUMN dict INTEGER REFERENCES raw_dicts(id);
