-- 0022: the session ids each file's stored lines carry (each line's
-- top-level `sessionId`, lines copied from another session's file
-- included), kept by the ingest, so that `forget` need not read back every
-- stored line to find the files that hold a session's lines (~1.3 s of
-- every `forget` and `forget --dry-run` on the 1 GiB benchmark corpus).
-- Also: a teammate's message written with attributes (`<teammate-message
-- teammate_id="...">`) is no longer taken for a prompt; TodoWrite,
-- AskUserQuestion, SendMessage and other calls with no path or command get
-- an input summary; a command such as `/clear` or `/model` titles a session
-- only when it has no other prompt; `pr-link`, `frame-link`, `relocated`
-- and `worktree-state` lines keep their URL or path in
-- `session_metadata.value`. The rows derived
-- from the lines are rebuilt from the stored raw bytes at the next ingest,
-- which fills the new table; until then `forget` reads the raw lines as
-- before. Never edit: add 0023_*.sql instead.
CREATE TABLE file_session_ids (
    file_id    INTEGER NOT NULL REFERENCES source_files(id),
    session_id TEXT NOT NULL,
    PRIMARY KEY (file_id, session_id)
) WITHOUT ROWID;
INSERT OR REPLACE INTO meta(key, value)
SELECT 'rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM raw_chunks);
