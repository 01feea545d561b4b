-- 0029: cost_totals: cost_rollup summed per model and pricing entry, kept
-- by triggers on cost_rollup, so that `cost --by-model` and `cost` with no
-- filter read a row per model instead of summing every rollup row (~10,000
-- on the 1 GiB benchmark corpus: 4 ms of a 24 ms repeat run). A report
-- reads it only while it reads the rollup (nothing pending, the rollup as
-- its last check left it); a change to it by hand removes that check's
-- note, as a change to the rollup does. Filled from the rollup as it is;
-- nothing is rebuilt. Never edit: add 0030_*.sql instead.
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
INSERT INTO cost_totals
SELECT model, coalesce(priced_as, ''), sum(requests), sum(priced_requests), sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_tokens), sum(cache_creation_1h_tokens), sum(cache_read_tokens), sum(web_search_requests),
    sum(cost_dollars) + sum(cost_rest_picousd / 1000000000000), sum(cost_rest_picousd % 1000000000000)
FROM cost_rollup GROUP BY model, coalesce(priced_as, '');
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
