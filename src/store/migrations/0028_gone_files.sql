-- 0028: source_files.gone: 1 when the last walk of its root did not find
-- the file at its path (Claude Code deleted it after its 30 days). Every run loaded every current row to match the walk's files
-- against, so the history of deleted transcripts, the rows kept longest,
-- made every report slower the longer it was kept (38,652 of them: a
-- repeat `cost --by-model` 30 -> 94 ms on the benchmark's database). A
-- run now loads the rows not marked gone and looks a file it finds up by
-- its path when it has none: a mark is a hint, and a file found again is
-- unmarked. The index lists the rows a run loads, so that it reads no
-- other. Never edit: add 0029_*.sql instead.
ALTER TABLE source_files ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
CREATE INDEX source_files_walked ON source_files(id) WHERE superseded = 0 AND gone = 0;
