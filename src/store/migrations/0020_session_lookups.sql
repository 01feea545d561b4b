-- 0020: indexes for what `show`, `hooks --session` and `commands` look up:
-- a session's API error messages and API error events, its hook runs, and
-- the messages that hold a slash command. Each was a scan of its whole
-- table (message_rows: ~45 ms on the 1 GiB benchmark corpus, for any
-- session). The partial ones hold only their rare rows. Nothing is
-- rebuilt. Never edit: add 0021_*.sql instead.
CREATE INDEX messages_api_errors ON message_rows(thread) WHERE is_api_error = 1;
CREATE INDEX messages_commands ON message_rows(thread) WHERE text_preview LIKE '%<command-name>%';
CREATE INDEX system_events_api_errors ON system_event_rows(thread) WHERE subtype = 'api_error';
CREATE INDEX hook_runs_thread ON hook_run_rows(thread);
