-- 0012: the event log of `watch`. Written only while a watcher runs (it
-- holds a shared lock on <db>.watch), by whichever process ingests, in the
-- transaction that stores the rows the events describe; each watcher emits
-- the rows past the last id it read. Never edit: add 0013_*.sql instead.
CREATE TABLE watch_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,                -- NULL: an event of no session (a malformed line)
    event      TEXT NOT NULL        -- the event's JSON
);
