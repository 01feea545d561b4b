-- 0013: a digest of the last bytes read before each file's cursor (up to
-- 4 KiB). An append is only taken as one if they are unchanged: a file
-- rewritten in place that kept its first 4 KiB and had a line end exactly at
-- the old cursor was read as an append. 0: not known (rows from before
-- 0013, until their next read). Never edit: add 0014_*.sql instead.
ALTER TABLE source_files ADD COLUMN tail_len INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source_files ADD COLUMN tail_digest INTEGER NOT NULL DEFAULT 0;
