-- 0020: indexes for what `show`, `hooks --session` and `commands` look up:
-- a session's API error messages and API error events, its hook runs, and
-- the messages that hold a slash command. Each was a scan of its whole
-- table (message_rows: ~45 ms on the 1 GiB benchmark corpus, for any
-- session). The partial ones hold only their rare rows. Nothing is
-- rebuilt. The cost rollup is summed per session too (`cost --by-session`
-- and `--session` read it instead of every response): emptied here, it is
-- summed again at the next ingest (reports read the responses meanwhile).
-- Never edit: add 0021_*.sql instead.
CREATE INDEX messages_api_errors ON message_rows(thread) WHERE is_api_error = 1;
CREATE INDEX messages_commands ON message_rows(thread) WHERE text_preview LIKE '%<command-name>%';
CREATE INDEX system_events_api_errors ON system_event_rows(thread) WHERE subtype = 'api_error';
CREATE INDEX hook_runs_thread ON hook_run_rows(thread);
ALTER TABLE cost_rollup ADD COLUMN session_id TEXT;
DELETE FROM cost_rollup;
