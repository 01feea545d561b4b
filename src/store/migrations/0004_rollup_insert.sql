-- 0004: a new response's bucket is noted by the ingest writer itself
-- (ingest/writer.rs), not by a trigger: the trigger ran a sub-program per
-- INSERT and made each one keep a statement journal, half the cost of
-- storing a response. Updates and deletes (merges, re-pricing, forget)
-- keep their triggers. Never edit: add 0005_*.sql instead.
DROP TRIGGER responses_rollup_insert;
