-- 0025: fast-mode responses, indexed on their own (a handful of rows), so
-- that `cost` can say, in the same run, how many of the responses it sums
-- were fast on a model the price table has no fast price for (priced at
-- standard rates: likely under-counted; IF NOT EXISTS: a test re-runs it on
-- a database made current). Never edit: add 0026_*.sql instead.
CREATE INDEX IF NOT EXISTS responses_fast ON response_rows(model, at) WHERE fast = 1;
