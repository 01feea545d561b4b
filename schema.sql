-- observatory's current schema, for reading (`observatory schema` prints it).
-- The database is built by the migrations in src/store/migrations/, applied in
-- order; a test checks that they produce exactly this schema.
--
-- Conventions: every *_at column is a UTC time in Unix epoch milliseconds;
-- every *_picousd column is an exact amount in 10^-12 US dollars (INTEGER,
-- never REAL); token counts are INTEGER. Text previews are cut at 160
-- characters: the full text is in the raw bytes (raw_chunks).

-- Key/value facts about the database: the price-table fingerprint the stored
-- costs were computed with, the time of the last ingest.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per transcript file (per generation: a file that shrank or whose
-- first bytes changed is read again from the start as a new generation, and
-- the old generation is kept, marked superseded). The cursor columns say what
-- has been read: bytes [0, read_offset) in line_count physical lines. A
-- forgotten file keeps its row and cursor (see forgotten_files, 0003). A
-- path (or root) that is not UTF-8 is stored as 'bytes:' and the path with
-- \ doubled and each byte that is not UTF-8 as \xNN.
CREATE TABLE source_files (
    id              INTEGER PRIMARY KEY,
    path            TEXT NOT NULL,      -- canonical path
    root            TEXT NOT NULL,      -- the transcript root it was found under
    project_dir     TEXT,               -- folder under projects/ (encoded cwd; never decoded)
    kind            TEXT NOT NULL,      -- session | subagent | legacy_agent | journal | other
    generation      INTEGER NOT NULL DEFAULT 0,
    superseded      INTEGER NOT NULL DEFAULT 0,
    dev             INTEGER,
    ino             INTEGER,
    size            INTEGER NOT NULL DEFAULT 0,   -- size at the last read
    mtime_ns        INTEGER,
    read_offset     INTEGER NOT NULL DEFAULT 0,   -- end of the last complete line read
    line_count      INTEGER NOT NULL DEFAULT 0,   -- physical lines before read_offset
    fingerprint_len INTEGER NOT NULL DEFAULT 0,   -- how many first bytes the fingerprint covers
    fingerprint     INTEGER NOT NULL DEFAULT 0,   -- FNV-1a 64 of those bytes
    held_back_bytes INTEGER NOT NULL DEFAULT 0,   -- an incomplete last line waiting for its newline
    first_seen_at   INTEGER NOT NULL,
    last_read_at    INTEGER
, tail_len INTEGER NOT NULL DEFAULT 0, tail_digest INTEGER NOT NULL DEFAULT 0, gone INTEGER NOT NULL DEFAULT 0);
-- (0013) tail_len, tail_digest: FNV-1a 64 of the last tail_len bytes before
-- read_offset (up to 4 KiB, from the last read). More bytes are read as an
-- append only if those, and the first fingerprint_len, are unchanged (a
-- file rewritten in place is read again as a new generation); 0: not known.
-- (0028) gone: 1 when the last walk of its root did not find the file at
-- its path (deleted by Claude Code). A run loads only the rows not gone,
-- and looks up by path a file it finds without one: a hint that keeps a
-- long history of deleted transcripts out of every run, not a record of
-- what is on disk (`status` looks).
CREATE UNIQUE INDEX source_files_current ON source_files(path) WHERE superseded = 0;
CREATE INDEX source_files_walked ON source_files(id) WHERE superseded = 0 AND gone = 0;

-- The bytes of every file as read, zstd-compressed, in chunks of whole lines:
-- concatenating a file's chunks in start_offset order gives back its bytes
-- [0, read_offset) exactly (for a forgotten file: from the forgotten_files
-- read_offset on). Derived tables point here (file + offset), so nothing is
-- lost when Claude Code deletes its transcripts.
-- A rowid table with its key in an index (0009): as a WITHOUT ROWID table,
-- every key comparison in a search read a whole chunk, overflow pages and
-- all (~1/20 of a cold ingest's writer time).
CREATE TABLE raw_chunks (
    id           INTEGER PRIMARY KEY,
    file_id      INTEGER NOT NULL REFERENCES source_files(id),
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    first_line   INTEGER NOT NULL,   -- line number of the chunk's first line (1-based)
    data         BLOB NOT NULL
, dict INTEGER REFERENCES raw_dicts(id));   -- the dictionary data needs (0010); NULL: none
CREATE UNIQUE INDEX raw_chunks_key ON raw_chunks(file_id, start_offset);

-- The dictionaries raw chunks are compressed with (0010): raw content,
-- whole transcript lines sampled from up to 64 files (64 KiB from the
-- middle of each, 4 MiB in all), so that a chunk compressed on its own
-- still finds what sessions repeat (~1/4 fewer bytes on the benchmark
-- corpus). An ingest that reads 32 MiB or more into a database without one
-- makes one; runs that read 4 MiB or more use the newest.
-- raw_dict_sources names the files sampled: forgetting one of them
-- re-compresses the chunks that used the dictionary without it and
-- deletes the dictionary.
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

-- One row per non-blank physical line: status 'record' (a modelled type),
-- 'unknown' (a JSON object of a type observatory does not model, kept) or
-- 'malformed' (not a UTF-8 JSON object; error says why). Blank lines and a
-- held-back incomplete last line have no row.
CREATE TABLE lines (
    id          INTEGER PRIMARY KEY,
    file_id     INTEGER NOT NULL REFERENCES source_files(id),
    line_no     INTEGER NOT NULL,   -- 1-based physical line number in the file
    byte_offset INTEGER NOT NULL,
    byte_len    INTEGER NOT NULL,   -- without the line end
    type        TEXT,               -- the line's `type`; '(none)' if absent; NULL if malformed
    status      TEXT NOT NULL,      -- record | unknown | malformed
    error       TEXT,               -- malformed: why; else field warnings, if any
    at          INTEGER             -- the line's timestamp, if any
);

-- The session ids each file's stored lines carry (each line's top-level
-- `sessionId`, lines copied from another session's file included): which
-- files hold a session's lines, for `forget`, without reading them back.
-- Kept by the ingest; a rebuild fills it again.
CREATE TABLE file_session_ids (
    file_id    INTEGER NOT NULL REFERENCES source_files(id),
    session_id TEXT NOT NULL,
    PRIMARY KEY (file_id, session_id)
) WITHOUT ROWID;

-- The lines counted per type and status, for `status`: good through meta
-- `line_counts_through` (the largest line id counted). The ingest counts
-- its new lines at its end; a line deleted or changed, or a file replaced
-- by a new generation, removes the key (the triggers below) and the next
-- ingest counts every line again. `status` reads the table only while the
-- key is the largest line id, else it counts the lines itself.
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

-- The folder listings of the last discovery walk: a folder whose mtime is
-- unchanged (and was at least 2 s older than its listing) is not listed
-- again; its files are still stat'ed on every walk.
CREATE TABLE scan_dirs (
    path         BLOB PRIMARY KEY,   -- the folder as walked (bytes of the path)
    mtime_ns     INTEGER NOT NULL,   -- its mtime when listed
    listed_at_ns INTEGER NOT NULL,   -- when it was listed
    entries      BLOB NOT NULL       -- kind byte (d, f, l) + name + '/', per entry, sorted
) WITHOUT ROWID;

-- Projects, one per working directory (`cwd` as written in the lines; the
-- encoded folder name is never decoded).
CREATE TABLE projects (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);

-- Sessions: one row per (session id, agent id). The main thread has
-- agent_id ''; each subagent transcript is its own row whose
-- parent_session_id is the session that ran it. Titles follow Claude Code's
-- metadata lines (last value wins).
CREATE TABLE sessions (
    session_id        TEXT NOT NULL,
    agent_id          TEXT NOT NULL DEFAULT '',
    parent_session_id TEXT,
    project_id        INTEGER REFERENCES projects(id),
    first_at          INTEGER,
    last_at           INTEGER,
    version           TEXT,
    git_branch        TEXT,
    slug              TEXT,
    custom_title      TEXT,
    ai_title          TEXT,
    tag               TEXT,
    first_prompt      TEXT,
    lines             INTEGER NOT NULL DEFAULT 0, first_prompt_at INTEGER, project_at INTEGER,
    PRIMARY KEY (session_id, agent_id)
) WITHOUT ROWID;
-- (0018) first_prompt_at: the time of first_prompt, the session's earliest
-- prompt (NULL: it has none). (0019) project_at: the time of the line the
-- project is from, the session's earliest with a cwd (the same on every row
-- of a session). (0022) A housekeeping command (`/clear`, `/model`, ...) is
-- first_prompt only when the session has no other prompt: its
-- first_prompt_at is its time + 10^15 ms, after every other prompt's.

-- Threads: each (session id, agent id) pair the tables below name, once
-- (0008). Their rows keep the thread's id instead of the two ids (~40
-- bytes in every row and index entry); a view under each table's old name
-- (messages, responses, tool_calls, hook_runs, progress_events,
-- attachments, system_events) shows session_id and agent_id again, so read
-- those. A row whose line has neither id has no thread. Ids are as written:
-- agent_id is NULL on main-thread lines (sessions says ''); but a workflow
-- agent's `sessionId` "<session>#agent-<id>" is session <session>, agent
-- <id> (0024: a database that held one as a session is rebuilt). A query that
-- needs neither id is faster on the *_rows table: through a view SQLite
-- joins threads for every row, even for count(*).
CREATE TABLE threads (
    id         INTEGER PRIMARY KEY,
    session_id TEXT,
    agent_id   TEXT
);
CREATE UNIQUE INDEX threads_key ON threads(session_id, agent_id);
-- (0023) A thread deleted or given another session: the rollup is no longer
-- as the last check left it (a note names a thread by id, looked up when it
-- is re-summed), and the next refresh sums it whole.
CREATE TRIGGER threads_rollup_delete AFTER DELETE ON threads BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER threads_rollup_update AFTER UPDATE OF session_id ON threads BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;

CREATE VIEW messages AS
SELECT m.line_id, m.uuid,
       coalesce(m.parent_uuid,
                (SELECT p.uuid FROM message_rows p WHERE p.line_id = m.line_id - m.parent_gap))
           AS parent_uuid,
       m.logical_parent_uuid, t.session_id, t.agent_id,
       l.type, m.subtype, l.at, m.is_sidechain, m.is_meta, m.is_compact_summary, m.is_prompt,
       m.message_id, m.model, m.stop_reason, m.text_preview, m.is_api_error,
       m.api_error_status, m.error
FROM message_rows m
JOIN lines l ON l.id = m.line_id
LEFT JOIN threads t ON t.id = m.thread;

CREATE VIEW responses AS
SELECT r.id, r.key, CASE WHEN r.message_keyed THEN r.key END AS message_id, r.model,
       t.session_id, t.agent_id, r.git_branch,
       r.project_id, r.first_line_id, r.at, r.input_tokens, r.output_tokens,
       r.cache_creation_5m_tokens, r.cache_creation_1h_tokens, r.cache_read_tokens,
       r.web_search_requests, r.web_fetch_requests, r.fast, r.us_only, r.final, r.stop_reason,
       r.line_count, r.cost_picousd,
       CASE WHEN r.cost_picousd IS NOT NULL THEN coalesce(r.priced_as, r.model) END AS priced_as
FROM response_rows r
LEFT JOIN threads t ON t.id = r.thread;

CREATE VIEW tool_calls AS
SELECT c.tool_use_id, c.name, c.mcp_server, c.input_summary, c.file_path, t.session_id,
       t.agent_id, c.use_line_id, c.started_at, c.result_line_id, c.finished_at, c.is_error,
       c.subagent_id, CASE WHEN c.duration_ms >= 0 THEN c.duration_ms END AS duration_ms
FROM tool_call_rows c
LEFT JOIN threads t ON t.id = c.thread
WHERE c.use_line_id IS NOT NULL;

CREATE VIEW hook_runs AS
SELECT h.line_id, h.seq, t.session_id, t.agent_id, h.at, h.source, h.event, h.name, h.command,
       h.tool_use_id, h.outcome, h.exit_code, h.duration_ms, h.output, h.error_count,
       h.prevented_continuation
FROM hook_run_rows h
LEFT JOIN threads t ON t.id = h.thread;

CREATE VIEW progress_events AS
SELECT p.line_id, t.session_id, t.agent_id, p.at, p.kind, p.tool_use_id, p.parent_tool_use_id,
       p.data_agent_id, p.status, p.server_name, p.tool_name, p.elapsed_ms
FROM progress_event_rows p
LEFT JOIN threads t ON t.id = p.thread;

CREATE VIEW attachments AS
SELECT a.line_id, t.session_id, t.agent_id, a.at, a.type
FROM attachment_rows a
LEFT JOIN threads t ON t.id = a.thread;

CREATE VIEW system_events AS
SELECT e.line_id, t.session_id, t.agent_id, e.at, e.subtype, e.level, e.content_preview,
       e.compact_trigger, e.compact_pre_tokens, e.duration_ms, e.message_count, e.retry_in_ms,
       e.retry_attempt, e.max_retries
FROM system_event_rows e
LEFT JOIN threads t ON t.id = e.thread;

-- Conversation lines (user, assistant, system, progress, attachment): the
-- nodes of Claude Code's message tree, one per uuid and content (copies of
-- a line in resumed sessions are stored once, as the earliest copy, of
-- copies at one time the first read (0033); their raw lines are all kept;
-- a different line with the same uuid, as hand-made transcripts have, is a
-- row of its own: content_key, what the line says
-- but for its time (type, message id, text, tool use ids...) hashed,
-- tells them apart, 0015). The line's cwd, version, git branch and permission mode are in the
-- raw bytes; sessions keep the latest version and branch, responses their
-- branch. The uuid columns (and summaries.leaf_uuid) keep a canonical
-- lowercase UUID as its 16 bytes, any other value as text (0007); v_messages
-- shows them as text. Read the messages view: the line's type and time are
-- in lines, and a parent that is an earlier message of the same file, at
-- most 256 line ids back (0033), is kept as the distance in line ids
-- (parent_gap, nearly always 1: one byte instead of sixteen) rather than as
-- its uuid (0009).
CREATE TABLE message_rows (
    line_id             INTEGER PRIMARY KEY REFERENCES lines(id),
    uuid                TEXT,
    parent_uuid         TEXT,          -- NULL when parent_gap names the parent
    parent_gap          INTEGER,       -- the parent is the message of line line_id - parent_gap (same file)
    logical_parent_uuid TEXT,
    thread              INTEGER REFERENCES threads(id),
    subtype             TEXT,
    is_sidechain        INTEGER NOT NULL DEFAULT 0,
    is_meta             INTEGER NOT NULL DEFAULT 0,
    is_compact_summary  INTEGER NOT NULL DEFAULT 0,
    is_prompt           INTEGER NOT NULL DEFAULT 0,  -- a user prompt: not meta, not a compact summary, no tool_result
    message_id          TEXT,          -- message.id (API id) on user/assistant lines
    model               TEXT,
    stop_reason         TEXT,
    text_preview        TEXT,          -- prompts, system lines and API errors: the text, shortened
    is_api_error        INTEGER NOT NULL DEFAULT 0,
    api_error_status    INTEGER,
    error               TEXT
, content_key INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX messages_uuid ON message_rows(uuid, content_key);
CREATE INDEX messages_prompts ON message_rows(thread) WHERE is_prompt = 1;
CREATE INDEX messages_api_errors ON message_rows(thread) WHERE is_api_error = 1;
CREATE INDEX messages_commands ON message_rows(thread)
    WHERE text_preview LIKE '%<command-name>%' OR text_preview LIKE '<command-message>%';

-- The content blocks of user and assistant messages (text, thinking,
-- tool_use, tool_result, image, document, server tool blocks...). Text is
-- not copied: text_bytes says how much there was.
CREATE TABLE content_blocks (
    line_id     INTEGER NOT NULL REFERENCES message_rows(line_id),
    idx         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    tool_use_id TEXT,
    tool_name   TEXT,
    text_bytes  INTEGER NOT NULL DEFAULT 0,
    is_error    INTEGER,
    PRIMARY KEY (line_id, idx)
) WITHOUT ROWID;

-- API responses, de-duplicated: one row per key (message.id, else the line's
-- uuid, else the line alone), across all files. Each figure is the maximum
-- over the response's lines; at is the earliest line time and the response
-- belongs to that line's session. `<synthetic>` lines are not responses.
-- Read the responses view: message_id is the key when message_keyed, and
-- priced_as is NULL when the pricing entry is the model's own name (0009).
CREATE TABLE response_rows (
    id                       INTEGER PRIMARY KEY,
    key                      TEXT NOT NULL UNIQUE,
    message_keyed            INTEGER NOT NULL DEFAULT 0,  -- key is message.id (responses.message_id)
    model                    TEXT NOT NULL,   -- as written; '?' if missing
    thread                   INTEGER REFERENCES threads(id),
    git_branch               TEXT,            -- gitBranch of its first line
    project_id               INTEGER REFERENCES projects(id),
    first_line_id            INTEGER REFERENCES lines(id),
    at                       INTEGER,
    input_tokens             INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens        INTEGER NOT NULL,
    web_search_requests      INTEGER NOT NULL,
    web_fetch_requests       INTEGER NOT NULL,
    fast                     INTEGER NOT NULL,   -- usage.speed == "fast" on any line
    us_only                  INTEGER NOT NULL,   -- usage.inference_geo == "us" on any line
    final                    INTEGER NOT NULL,   -- a line with a stop_reason was seen
    stop_reason              TEXT,
    line_count               INTEGER NOT NULL,
    cost_picousd             INTEGER,            -- NULL: no price for this model
    priced_as                TEXT                -- the pricing entry used; NULL: model itself (or no price)
);
CREATE INDEX responses_at ON response_rows(at);
-- (0023) (thread, at): a session's responses of one rollup bucket
CREATE INDEX responses_thread ON response_rows(thread, at);
-- (0025) Fast-mode responses alone (few): `cost` counts those of models
-- with no fast price in the table.
CREATE INDEX responses_fast ON response_rows(model, at) WHERE fast = 1;

-- Cost per 15-minute UTC bucket, model, pricing entry, project, main
-- thread or subagent, git branch and session (0020): the responses table summed, kept in
-- step through cost_rollup_dirty, the (bucket, thread) pairs a change
-- touches (bucket -1: no time; 0023). The ingest writer notes those of each
-- response it inserts; triggers note those of updates and deletes (no OR
-- IGNORE in them: inside an upsert the outer statement's conflict rule would
-- apply). The ingest re-sums the noted threads' sessions in the noted
-- buckets when it finishes. `cost`
-- reads it (a few thousand rows instead of every response) whenever nothing
-- is pending in cost_rollup_dirty; otherwise it reads responses.
CREATE TABLE cost_rollup (
    bucket                   INTEGER,          -- at / 900000; NULL: no time
    model                    TEXT NOT NULL,
    priced_as                TEXT,
    project_id               INTEGER,
    subagent                 INTEGER NOT NULL,
    git_branch               TEXT,
    first_at                 INTEGER,          -- earliest and latest response time
    last_at                  INTEGER,
    requests                 INTEGER NOT NULL,
    priced_requests          INTEGER NOT NULL,
    input_tokens             INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens        INTEGER NOT NULL,
    web_search_requests      INTEGER NOT NULL,
    cost_dollars             INTEGER NOT NULL,  -- sum(cost_picousd / 10^12): whole dollars
    cost_rest_picousd        INTEGER NOT NULL   -- sum(cost_picousd % 10^12): exact rest
, session_id TEXT);
-- (0023) (bucket, session): what a refresh re-sums
CREATE INDEX cost_rollup_bucket ON cost_rollup(bucket, session_id);
-- (0011) `cost` groups by model and pricing entry: read in this order, no sort
CREATE INDEX cost_rollup_model ON cost_rollup(model, priced_as);
-- Any change to the rollup removes meta `rollup_checked_count`, the note
-- that an ingest found it counting every response: refresh (the only
-- writer) sets it again when it is done, and a report trusts the rollup
-- only while it is there.
CREATE TRIGGER cost_rollup_changed_insert AFTER INSERT ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_rollup_changed_update AFTER UPDATE ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_rollup_changed_delete AFTER DELETE ON cost_rollup BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
-- (0029) cost_rollup summed per model and pricing entry, kept by the
-- triggers below on every change to the rollup: `cost --by-model` and
-- `cost` with no filter read it while they would read the rollup. Its
-- rest is the exact picoUSD rest (dollars x 10^12 + rest is the cost).
CREATE TABLE cost_totals (
    model                    TEXT NOT NULL,
    priced_as                TEXT NOT NULL,    -- '': none (cost_rollup's NULL)
    requests                 INTEGER NOT NULL,
    priced_requests          INTEGER NOT NULL,
    input_tokens             INTEGER NOT NULL,
    output_tokens            INTEGER NOT NULL,
    cache_creation_5m_tokens INTEGER NOT NULL,
    cache_creation_1h_tokens INTEGER NOT NULL,
    cache_read_tokens        INTEGER NOT NULL,
    web_search_requests      INTEGER NOT NULL,
    cost_dollars             INTEGER NOT NULL,  -- whole dollars
    cost_rest_picousd        INTEGER NOT NULL,  -- the exact rest (below 10^12 in size once added to)
    PRIMARY KEY (model, priced_as)
) WITHOUT ROWID;
CREATE TRIGGER cost_totals_insert AFTER INSERT ON cost_rollup BEGIN
    INSERT INTO cost_totals VALUES (NEW.model, coalesce(NEW.priced_as, ''), NEW.requests, NEW.priced_requests, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_5m_tokens, NEW.cache_creation_1h_tokens, NEW.cache_read_tokens, NEW.web_search_requests,
        NEW.cost_dollars, NEW.cost_rest_picousd)
    ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests,
        priced_requests = priced_requests + excluded.priced_requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_5m_tokens = cache_creation_5m_tokens + excluded.cache_creation_5m_tokens,
        cache_creation_1h_tokens = cache_creation_1h_tokens + excluded.cache_creation_1h_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        web_search_requests = web_search_requests + excluded.web_search_requests,
        cost_dollars = cost_dollars + excluded.cost_dollars + (cost_rest_picousd + excluded.cost_rest_picousd) / 1000000000000,
        cost_rest_picousd = (cost_rest_picousd + excluded.cost_rest_picousd) % 1000000000000;
END;
CREATE TRIGGER cost_totals_update AFTER UPDATE ON cost_rollup BEGIN
    UPDATE cost_totals SET
        requests = requests - OLD.requests,
        priced_requests = priced_requests - OLD.priced_requests,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_creation_5m_tokens = cache_creation_5m_tokens - OLD.cache_creation_5m_tokens,
        cache_creation_1h_tokens = cache_creation_1h_tokens - OLD.cache_creation_1h_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        web_search_requests = web_search_requests - OLD.web_search_requests,
        cost_dollars = cost_dollars - OLD.cost_dollars + (cost_rest_picousd - OLD.cost_rest_picousd) / 1000000000000,
        cost_rest_picousd = (cost_rest_picousd - OLD.cost_rest_picousd) % 1000000000000
    WHERE model = OLD.model AND priced_as = coalesce(OLD.priced_as, '');
    DELETE FROM cost_totals
    WHERE model = OLD.model AND priced_as = coalesce(OLD.priced_as, '') AND requests = 0;
    INSERT INTO cost_totals VALUES (NEW.model, coalesce(NEW.priced_as, ''), NEW.requests, NEW.priced_requests, NEW.input_tokens, NEW.output_tokens, NEW.cache_creation_5m_tokens, NEW.cache_creation_1h_tokens, NEW.cache_read_tokens, NEW.web_search_requests,
        NEW.cost_dollars, NEW.cost_rest_picousd)
    ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests,
        priced_requests = priced_requests + excluded.priced_requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_creation_5m_tokens = cache_creation_5m_tokens + excluded.cache_creation_5m_tokens,
        cache_creation_1h_tokens = cache_creation_1h_tokens + excluded.cache_creation_1h_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        web_search_requests = web_search_requests + excluded.web_search_requests,
        cost_dollars = cost_dollars + excluded.cost_dollars + (cost_rest_picousd + excluded.cost_rest_picousd) / 1000000000000,
        cost_rest_picousd = (cost_rest_picousd + excluded.cost_rest_picousd) % 1000000000000;
END;
CREATE TRIGGER cost_totals_delete AFTER DELETE ON cost_rollup BEGIN
    UPDATE cost_totals SET
        requests = requests - OLD.requests,
        priced_requests = priced_requests - OLD.priced_requests,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_creation_5m_tokens = cache_creation_5m_tokens - OLD.cache_creation_5m_tokens,
        cache_creation_1h_tokens = cache_creation_1h_tokens - OLD.cache_creation_1h_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        web_search_requests = web_search_requests - OLD.web_search_requests,
        cost_dollars = cost_dollars - OLD.cost_dollars + (cost_rest_picousd - OLD.cost_rest_picousd) / 1000000000000,
        cost_rest_picousd = (cost_rest_picousd - OLD.cost_rest_picousd) % 1000000000000
    WHERE model = OLD.model AND priced_as = coalesce(OLD.priced_as, '');
    DELETE FROM cost_totals
    WHERE model = OLD.model AND priced_as = coalesce(OLD.priced_as, '') AND requests = 0;
END;
CREATE TRIGGER cost_totals_changed_insert AFTER INSERT ON cost_totals BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_totals_changed_update AFTER UPDATE ON cost_totals BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TRIGGER cost_totals_changed_delete AFTER DELETE ON cost_totals BEGIN
    DELETE FROM meta WHERE key = 'rollup_checked_count';
END;
CREATE TABLE cost_rollup_dirty (
    bucket INTEGER NOT NULL,   -- at / 900000; -1: no time
    thread INTEGER NOT NULL,   -- response_rows.thread; 0: none; -1 (or a thread since deleted): every response of the bucket
    PRIMARY KEY (bucket, thread)
) WITHOUT ROWID;
CREATE TRIGGER responses_rollup_update AFTER UPDATE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(OLD.at / 900000, -1), coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(OLD.at / 900000, -1) AND thread = coalesce(OLD.thread, 0));
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(NEW.at / 900000, -1), coalesce(NEW.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(NEW.at / 900000, -1) AND thread = coalesce(NEW.thread, 0));
END;
CREATE TRIGGER responses_rollup_delete AFTER DELETE ON response_rows BEGIN
    INSERT INTO cost_rollup_dirty(bucket, thread) SELECT coalesce(OLD.at / 900000, -1), coalesce(OLD.thread, 0)
        WHERE NOT EXISTS (SELECT 1 FROM cost_rollup_dirty
                          WHERE bucket = coalesce(OLD.at / 900000, -1) AND thread = coalesce(OLD.thread, 0));
END;

-- Each thread's figures for `observatory sessions` (prompts, responses,
-- tool calls, tokens, cost, models): what the report would otherwise sum
-- from messages, responses, tool_calls and system_events on every run.
-- The ingest writer notes the session of every line it stores in
-- thread_figures_dirty, triggers note the sessions of updated and deleted
-- responses, and ingest re-sums the noted sessions; the report sums the
-- tables itself while any session is pending.
CREATE TABLE thread_figures (
    session_id            TEXT NOT NULL,
    agent_id              TEXT NOT NULL,     -- '' for the main thread
    prompts               INTEGER NOT NULL,
    responses             INTEGER NOT NULL,
    unpriced_responses    INTEGER NOT NULL,
    tool_calls            INTEGER NOT NULL,
    tool_errors           INTEGER NOT NULL,
    compactions           INTEGER NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cost_dollars          INTEGER NOT NULL,  -- cost = cost_dollars * 10^12 + cost_rest_picousd
    cost_rest_picousd     INTEGER NOT NULL,
    models                TEXT NOT NULL,     -- JSON array of the models, sorted
    PRIMARY KEY (session_id, agent_id)
) WITHOUT ROWID;
CREATE TABLE thread_figures_dirty (
    session_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TRIGGER responses_threads_update AFTER UPDATE ON response_rows BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = OLD.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = NEW.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
END;
CREATE TRIGGER responses_threads_delete AFTER DELETE ON response_rows BEGIN
    INSERT INTO thread_figures_dirty(session_id) SELECT t.session_id FROM threads t
        WHERE t.id = OLD.thread AND t.session_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM thread_figures_dirty WHERE session_id = t.session_id);
END;

-- Tool calls: each tool_use joined to its tool_result by id (a call copied
-- into a resumed session counts once, in the session of its earliest use).
-- A result read before its use makes the row, without a use: it is no call
-- (the tool_calls view leaves it out) until its use is read. subagent_id
-- links a Task/Agent call to the subagent transcript it started.
CREATE TABLE tool_call_rows (
    tool_use_id    TEXT PRIMARY KEY,
    name           TEXT,
    mcp_server     TEXT,
    input_summary  TEXT,
    file_path      TEXT,
    thread         INTEGER REFERENCES threads(id),
    use_line_id    INTEGER REFERENCES lines(id),
    started_at     INTEGER,
    result_line_id INTEGER REFERENCES lines(id),
    finished_at    INTEGER,
    is_error       INTEGER,
    subagent_id    TEXT,
    duration_ms    INTEGER GENERATED ALWAYS AS (finished_at - started_at) VIRTUAL
) WITHOUT ROWID;

-- Hook runs, from every era: progress/hook_progress (a start), attachment
-- hook_* lines (success, additional context, blocking and non-blocking
-- errors), system/stop_hook_summary (one row per hook it lists; seq 0 carries
-- the error count and prevented continuation), and 1.0.x hook text lines.
CREATE TABLE hook_run_rows (
    line_id                INTEGER NOT NULL REFERENCES lines(id),
    seq                    INTEGER NOT NULL,
    thread                 INTEGER REFERENCES threads(id),
    at                     INTEGER,
    source                 TEXT NOT NULL,   -- progress | attachment | stop_hook_summary | system_text
    event                  TEXT,
    name                   TEXT,
    command                TEXT,
    tool_use_id            TEXT,
    outcome                TEXT NOT NULL,   -- started | success | additional_context | blocking_error | non_blocking_error | summary | error
    exit_code              INTEGER,
    duration_ms            INTEGER,
    output                 TEXT,
    error_count            INTEGER,
    prevented_continuation INTEGER,
    PRIMARY KEY (line_id, seq)
) WITHOUT ROWID;
CREATE INDEX hook_runs_thread ON hook_run_rows(thread);

-- (0031) The hook runs (notes left out) summed per thread, event and
-- command, for `hooks` with no time range: the counts, the durations of
-- the runs that have one (ms, each an unsigned LEB128 varint) for the
-- percentiles, and the group's last failure (failure_timed: one with a
-- time was seen, and those without then do not count; the text of the
-- latest failure that has one, with the time, line and seq it is chosen
-- by). Runs pair within a session, so a change to hook_run_rows notes its
-- thread in hook_figures_dirty and the ingest's end sums the noted
-- threads' whole sessions again (0: rows without a thread; -1: everything,
-- as a change to hook_figures by anything but that re-sum notes). A report
-- reads hook_figures only while nothing is noted.
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

-- Progress lines by kind (data.type: hook_progress, bash_progress,
-- agent_progress, mcp_progress, query_update, search_results_received,
-- waiting_for_task, ...).
CREATE TABLE progress_event_rows (
    line_id            INTEGER PRIMARY KEY REFERENCES lines(id),
    thread             INTEGER REFERENCES threads(id),
    at                 INTEGER,
    kind               TEXT,
    tool_use_id        TEXT,
    parent_tool_use_id TEXT,
    data_agent_id      TEXT,
    status             TEXT,
    server_name        TEXT,
    tool_name          TEXT,
    elapsed_ms         INTEGER
);
-- (partial: with every row in it, the planner would scan tool_call_rows
-- through it, a lookup per row, when joining threads and sessions)
CREATE INDEX tool_calls_thread ON tool_call_rows(thread) WHERE thread IS NOT NULL;

-- (0030) The tool calls (those with a use) summed per thread and tool name,
-- for `tools` with no time range: the calls, failures, calls without a
-- result, and the durations of those with both ends (ms, >= 0, each an
-- unsigned LEB128 varint) for the percentiles. A change to tool_call_rows
-- notes its thread in tool_figures_dirty (0: calls without a thread; -1:
-- every thread, as a change to tool_figures by anything but the ingest's
-- re-sum notes); the ingest's end sums the noted threads again. A report
-- reads tool_figures only while nothing is noted.
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

-- Attachment lines by attachment.type (hook ones also appear in hook_runs).
CREATE TABLE attachment_rows (
    line_id    INTEGER PRIMARY KEY REFERENCES lines(id),
    thread     INTEGER REFERENCES threads(id),
    at         INTEGER,
    type       TEXT
);

-- Queue operations; operation is kept verbatim (enqueue, dequeue, remove,
-- popAll, clear, ...).
CREATE TABLE queue_operations (
    line_id         INTEGER PRIMARY KEY REFERENCES lines(id),
    session_id      TEXT,
    at              INTEGER,
    operation       TEXT NOT NULL,
    content_preview TEXT,
    content_bytes   INTEGER NOT NULL DEFAULT 0
);

-- System lines by subtype: compact_boundary (trigger, pre-compaction
-- tokens), turn_duration, api_error (retry fields), away_summary,
-- stop_hook_summary, local_command, and 1.0.x lines without a subtype.
CREATE TABLE system_event_rows (
    line_id            INTEGER PRIMARY KEY REFERENCES lines(id),
    thread             INTEGER REFERENCES threads(id),
    at                 INTEGER,
    subtype            TEXT,
    level              TEXT,
    content_preview    TEXT,
    compact_trigger    TEXT,
    compact_pre_tokens INTEGER,
    duration_ms        INTEGER,
    message_count      INTEGER,
    retry_in_ms        INTEGER,
    retry_attempt      INTEGER,
    max_retries        INTEGER
);
CREATE INDEX system_events_compactions ON system_event_rows(thread) WHERE subtype = 'compact_boundary';
CREATE INDEX system_events_api_errors ON system_event_rows(thread) WHERE subtype = 'api_error';

-- `summary` lines: a title for the conversation ending at leaf_uuid (which
-- often lives in another file).
CREATE TABLE summaries (
    line_id   INTEGER PRIMARY KEY REFERENCES lines(id),
    summary   TEXT,
    leaf_uuid TEXT
);

-- `file-history-snapshot` lines (/rewind checkpoints): which message they
-- belong to and how many files they track.
CREATE TABLE file_snapshots (
    line_id             INTEGER PRIMARY KEY REFERENCES lines(id),
    message_id          TEXT,
    snapshot_message_id TEXT,
    is_update           INTEGER NOT NULL,
    files_tracked       INTEGER NOT NULL,
    at                  INTEGER
);

-- Session metadata lines (custom-title, ai-title, tag, permission-mode, mode,
-- last-prompt, agent-name, agent-color, pr-link, ...): type and main value.
CREATE TABLE session_metadata (
    line_id    INTEGER PRIMARY KEY REFERENCES lines(id),
    session_id TEXT,
    type       TEXT NOT NULL,
    value      TEXT
);

-- (0026) Subagents' sidecar files (`agent-<id>.meta.json` beside
-- `agent-<id>.jsonl` under `<session>/subagents/`, one JSON object; their
-- lines have type `agent-meta`): the agent's type, the description it was
-- given and the tool_use that spawned it. The session and agent come from
-- the file's path; its source_files.kind is agent_meta.
CREATE TABLE subagent_meta (
    line_id     INTEGER PRIMARY KEY REFERENCES lines(id),
    session_id  TEXT,
    agent_id    TEXT,
    agent_type  TEXT,
    description TEXT,
    tool_use_id TEXT
);

-- Spending limits (`observatory budget`): one row per budget. A budget caps
-- the cost of the responses in its current period (a day, a week starting
-- Monday, or a calendar month, cut in the --tz of `budget check`), optionally
-- only for projects whose path contains `project` and for models matching
-- `model` (as `cost --project` / `cost --model` match them). Written only by
-- `budget set` and `budget rm`; ingest never touches it.
CREATE TABLE budgets (
    id              INTEGER PRIMARY KEY,
    period          TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    amount_picousd  INTEGER NOT NULL CHECK (amount_picousd > 0),
    project         TEXT,               -- substring of the project path; NULL: every project
    model           TEXT,               -- model id, pricing entry or prefix; NULL: every model
    warn_at_percent INTEGER NOT NULL DEFAULT 80 CHECK (warn_at_percent BETWEEN 1 AND 100),
    created_at      INTEGER NOT NULL
);

-- The event log of `watch` (0012): one row per event (`watch --json`'s
-- NDJSON line, as text), written only while a watcher runs (it holds a
-- shared lock on <db>.watch for its whole life), by whichever process
-- ingests (`watch` itself, a report's own ingest, the status line, `ingest`),
-- in the same transaction as the rows the event describes. Each watcher
-- emits the rows past the last id it read. A commit keeps the newest 10,000
-- rows written before it (and its own). AUTOINCREMENT: an id is never used
-- twice, even after `forget` (which deletes a session's rows by session_id)
-- empties the table.
CREATE TABLE watch_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,                -- NULL: an event of no session (a malformed line)
    event      TEXT NOT NULL        -- the event's JSON
);

-- Views: stable names for common questions (`observatory query`). Times are
-- kept as epoch ms (`at`, `started_at`, ...) and also given as RFC 3339 UTC
-- text (`*_utc`); `day` is the UTC date. cost_usd is the exact decimal text
-- of cost_picousd (plain notation, trailing zeros dropped; NULL: no price).

-- Messages with their uuids as text (messages keeps a canonical UUID as its
-- 16 bytes).
CREATE VIEW v_messages AS
SELECT m.line_id,
       CASE WHEN typeof(m.uuid) = 'blob' AND length(m.uuid) = 16 THEN lower(substr(hex(m.uuid), 1, 8) || '-' || substr(hex(m.uuid), 9, 4)
               || '-' || substr(hex(m.uuid), 13, 4) || '-' || substr(hex(m.uuid), 17, 4) || '-' || substr(hex(m.uuid), 21))
            ELSE m.uuid END AS uuid,
       CASE WHEN typeof(m.parent_uuid) = 'blob' AND length(m.parent_uuid) = 16 THEN lower(substr(hex(m.parent_uuid), 1, 8) || '-' || substr(hex(m.parent_uuid), 9, 4)
               || '-' || substr(hex(m.parent_uuid), 13, 4) || '-' || substr(hex(m.parent_uuid), 17, 4) || '-' || substr(hex(m.parent_uuid), 21))
            ELSE m.parent_uuid END AS parent_uuid,
       CASE WHEN typeof(m.logical_parent_uuid) = 'blob' AND length(m.logical_parent_uuid) = 16 THEN lower(substr(hex(m.logical_parent_uuid), 1, 8) || '-' || substr(hex(m.logical_parent_uuid), 9, 4)
               || '-' || substr(hex(m.logical_parent_uuid), 13, 4) || '-' || substr(hex(m.logical_parent_uuid), 17, 4) || '-' || substr(hex(m.logical_parent_uuid), 21))
            ELSE m.logical_parent_uuid END AS logical_parent_uuid,
       m.session_id, m.agent_id, m.type, m.subtype, m.at,
       strftime('%Y-%m-%dT%H:%M:%fZ', m.at / 1000.0, 'unixepoch') AS at_utc,
       m.is_sidechain, m.is_meta, m.is_compact_summary, m.is_prompt, m.message_id, m.model,
       m.stop_reason, m.text_preview, m.is_api_error, m.api_error_status, m.error
FROM messages m;

-- Responses with their project path and exact cost.
CREATE VIEW v_responses AS
SELECT r.id, r.key, r.message_id, r.model, r.priced_as, r.session_id, r.agent_id,
       p.path AS project, r.git_branch,
       r.at,
       strftime('%Y-%m-%dT%H:%M:%fZ', r.at / 1000.0, 'unixepoch') AS at_utc,
       date(r.at / 1000, 'unixepoch') AS day,
       r.input_tokens, r.output_tokens, r.cache_creation_5m_tokens, r.cache_creation_1h_tokens,
       r.cache_read_tokens,
       r.input_tokens + r.output_tokens + r.cache_creation_5m_tokens
           + r.cache_creation_1h_tokens + r.cache_read_tokens AS total_tokens,
       r.web_search_requests, r.web_fetch_requests, r.fast, r.us_only, r.final, r.stop_reason,
       r.cost_picousd,
       CASE
           WHEN r.cost_picousd IS NULL THEN NULL
           WHEN r.cost_picousd < 0 THEN rtrim(rtrim(printf('-%d.%012d',
               -r.cost_picousd / 1000000000000, -r.cost_picousd % 1000000000000), '0'), '.')
           ELSE rtrim(rtrim(printf('%d.%012d',
               r.cost_picousd / 1000000000000, r.cost_picousd % 1000000000000), '0'), '.')
       END AS cost_usd
FROM responses r
LEFT JOIN projects p ON p.id = r.project_id;

-- Tool calls with their project path; has_result 0: the result never came.
CREATE VIEW v_tool_calls AS
SELECT t.tool_use_id, t.name, t.mcp_server, t.input_summary, t.file_path,
       t.session_id, t.agent_id, p.path AS project,
       t.started_at,
       strftime('%Y-%m-%dT%H:%M:%fZ', t.started_at / 1000.0, 'unixepoch') AS started_utc,
       t.finished_at, t.duration_ms,
       t.result_line_id IS NOT NULL AS has_result,
       t.is_error, t.subagent_id
FROM tool_calls t
LEFT JOIN sessions s ON s.session_id = t.session_id AND s.agent_id = coalesce(t.agent_id, '')
LEFT JOIN projects p ON p.id = s.project_id;

-- Hook runs with their project path.
CREATE VIEW v_hook_runs AS
SELECT h.line_id, h.seq, h.session_id, h.agent_id, p.path AS project,
       h.at,
       strftime('%Y-%m-%dT%H:%M:%fZ', h.at / 1000.0, 'unixepoch') AS at_utc,
       h.source, h.event, h.name, h.command, h.tool_use_id, h.outcome, h.exit_code,
       h.duration_ms, h.output, h.error_count, h.prevented_continuation
FROM hook_runs h
LEFT JOIN sessions s ON s.session_id = h.session_id AND s.agent_id = coalesce(h.agent_id, '')
LEFT JOIN projects p ON p.id = s.project_id;

-- Cost per UTC day and model (day NULL: responses without a time).
-- cost_picousd sums the priced responses (NULL: none priced).
CREATE VIEW v_daily_cost AS
SELECT d.day, d.model, d.requests, d.input_tokens, d.output_tokens,
       d.cache_creation_tokens, d.cache_read_tokens,
       d.input_tokens + d.output_tokens + d.cache_creation_tokens + d.cache_read_tokens
           AS total_tokens,
       d.unpriced_requests, d.cost_picousd,
       CASE
           WHEN d.cost_picousd IS NULL THEN NULL
           WHEN d.cost_picousd < 0 THEN rtrim(rtrim(printf('-%d.%012d',
               -d.cost_picousd / 1000000000000, -d.cost_picousd % 1000000000000), '0'), '.')
           ELSE rtrim(rtrim(printf('%d.%012d',
               d.cost_picousd / 1000000000000, d.cost_picousd % 1000000000000), '0'), '.')
       END AS cost_usd
FROM (
    SELECT date(at / 1000, 'unixepoch') AS day, model,
           count(*) AS requests,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(cache_creation_5m_tokens + cache_creation_1h_tokens) AS cache_creation_tokens,
           sum(cache_read_tokens) AS cache_read_tokens,
           sum(cost_picousd IS NULL) AS unpriced_requests,
           sum(cost_picousd) AS cost_picousd
    FROM responses
    GROUP BY 1, 2
) d;
