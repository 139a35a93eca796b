/*
 * stats_backend: the per-backend fallback of the call statistics (SPEC §8,
 * issue 6), in a cluster WITHOUT service_items in shared_preload_libraries.
 * tools/test.sh runs this file alone in a second cluster started so; the
 * Makefile leaves stats_backend* out of the main run, whose cluster has
 * the library preloaded (there stats_shared checks the shared counters).
 *
 * Checks: scope is 'backend' on every row; after stats_reset() loads,
 * streaming loads, validations and saves, successful and failing (22004,
 * 22023, PT409), caught in PL/pgSQL subtransactions, are counted exactly --
 * calls, errors, rows (service items returned; for validate_associations,
 * the live items its payload names) and bytes (octet_length of the
 * results), nothing added by a failing call; total_ms >= max_ms >= mean_ms
 * > 0 and last_call after stats_reset for every function called.  The
 * counters are this session's own: a new connection (\c) starts at zero,
 * with a later stats_reset time, and counts only its own calls.
 * stats_reset() zeroes them.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS stats_backend CASCADE;
CREATE SCHEMA stats_backend;

-- Not preloaded: every session counts for itself.
SELECT DISTINCT scope FROM service_items.stats;

-- A demo clinic of 10 live items.
CREATE TABLE stats_backend.clinic (id bigint NOT NULL);
INSERT INTO stats_backend.clinic SELECT service_items_demo.create_clinic(10, 2, 'stats_backend');
CREATE FUNCTION stats_backend.clinic() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT id FROM stats_backend.clinic $$;
CREATE FUNCTION stats_backend.item(k int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT t.id::text FROM service_items.appointment_types t
     WHERE t.clinic_id = stats_backend.clinic() AND NOT t.is_deleted ORDER BY t.id OFFSET k - 1 LIMIT 1 $$;
SELECT count(*) FILTER (WHERE NOT is_deleted) AS live_items, count(*) FILTER (WHERE is_deleted) AS deleted_items
  FROM service_items.appointment_types WHERE clinic_id = stats_backend.clinic();

-- call(function, sql): runs sql, which calls the function once and returns
-- (items, bytes) measured from its result, in a subtransaction, and logs
-- what the counters must add.  Returns the outcome.
CREATE TABLE stats_backend.log (
    n serial PRIMARY KEY, function_name text NOT NULL, sqlstate text,
    rows bigint NOT NULL, bytes bigint NOT NULL);
CREATE FUNCTION stats_backend.call(fn text, sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    items bigint := 0;
    size bigint := 0;
    state text;
    msg text;
BEGIN
    BEGIN
        EXECUTE sql INTO items, size USING stats_backend.clinic();
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
        items := 0;
        size := 0;
    END;
    INSERT INTO stats_backend.log (function_name, sqlstate, rows, bytes) VALUES (fn, state, items, size);
    RETURN coalesce(state || ': ' || msg, format('ok: %s items', items));
END
$$;
-- What the counters hold, next to what the log says they must hold.
CREATE FUNCTION stats_backend.compare()
RETURNS TABLE (function_name text, calls bigint, errors bigint, rows bigint, scope text,
               calls_ok boolean, errors_ok boolean, rows_ok boolean, bytes_ok boolean)
LANGUAGE sql AS $$
    SELECT s.function_name, s.calls, s.errors, s.rows, s.scope,
           s.calls = coalesce(l.calls, 0), s.errors = coalesce(l.errors, 0),
           s.rows = coalesce(l.rows, 0), s.bytes = coalesce(l.bytes, 0)
      FROM service_items.stats s
      LEFT JOIN (SELECT x.function_name, count(*) AS calls, count(x.sqlstate) AS errors,
                        sum(x.rows) AS rows, sum(x.bytes) AS bytes
                   FROM stats_backend.log x GROUP BY x.function_name) l USING (function_name)
     ORDER BY s.function_name
$$;
-- resources(k, q): a payload setting item k's resource requirements to the
-- clinic's first resource type, quantity q.
CREATE FUNCTION stats_backend.resources(k int, q int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('resource_requirements', jsonb_build_object(stats_backend.item(k),
               jsonb_build_array(jsonb_build_object('resource_type_id',
                   (SELECT min(r.id) FROM service_items.resource_types r WHERE r.clinic_id = stats_backend.clinic()),
                   'quantity', q))))
$$;

SELECT service_items.stats_reset();
SELECT bool_and(calls = 0 AND errors = 0 AND rows = 0 AND bytes = 0 AND last_call IS NULL) AS all_zero
  FROM service_items.stats;

---------------------------------------------------------------------------
-- The sequence.
---------------------------------------------------------------------------
SELECT stats_backend.call('bulk_load_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_load_associations($1) r$$) AS load_all;
SELECT stats_backend.call('bulk_load_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_load_associations($1, ARRAY[stats_backend.item(1), stats_backend.item(2)]::bigint[], false, false, true) r$$) AS load_2;
SELECT stats_backend.call('bulk_load_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_load_associations(NULL) r$$) AS load_null;
SELECT stats_backend.call('service_item_associations',
    $$SELECT count(*), sum(octet_length(a.associations::text))
        FROM service_items.service_item_associations($1) a$$) AS stream_all;
SELECT stats_backend.call('service_item_associations',
    $$SELECT count(*), sum(octet_length(a.associations::text))
        FROM service_items.service_item_associations($1, include_follow_up_messages => NULL) a$$) AS stream_null;
SELECT stats_backend.call('validate_associations',
    $$SELECT 1, octet_length(v::text)
        FROM service_items.validate_associations($1, stats_backend.resources(3, 2)) v$$) AS validate_ok;
SELECT stats_backend.call('validate_associations',
    $$SELECT 1, octet_length(v::text)
        FROM service_items.validate_associations($1, stats_backend.resources(3, 0)) v$$) AS validate_invalid;
SELECT stats_backend.call('validate_associations',
    $$SELECT 1, octet_length(v::text)
        FROM service_items.validate_associations($1, '"x"') v$$) AS validate_not_object;
SELECT stats_backend.call('bulk_save_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_save_associations($1, stats_backend.resources(3, 2)
                 || jsonb_build_object('practitioner_assignments', jsonb_build_object(stats_backend.item(4), '[]'::jsonb))) r$$) AS save_ok;
SELECT stats_backend.call('bulk_save_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_save_associations($1, stats_backend.resources(3, 0)) r$$) AS save_invalid;
SELECT stats_backend.call('bulk_save_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_save_associations($1, stats_backend.resources(3, 1)
                 || jsonb_build_object('expected_versions', jsonb_build_object(stats_backend.item(3), 1))) r$$) AS save_stale;
SELECT stats_backend.call('bulk_save_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_save_associations($1, NULL) r$$) AS save_null;

-- Counted exactly (the functions called; every other one is at zero).
SELECT * FROM stats_backend.compare() WHERE calls > 0;
SELECT bool_and(calls_ok AND errors_ok AND rows_ok AND bytes_ok) AS all_exact FROM stats_backend.compare();
SELECT function_name, total_ms >= max_ms AND max_ms >= mean_ms AND mean_ms > 0 AS times_ordered,
       last_call > stats_reset AND last_call <= now() AS last_call_ok
  FROM service_items.stats WHERE calls > 0 ORDER BY function_name;

---------------------------------------------------------------------------
-- Per session: a new connection starts from zero and counts its own calls.
---------------------------------------------------------------------------
SELECT max(stats_reset) AS first_reset, pg_backend_pid() AS first_pid FROM service_items.stats \gset
\c
SET client_min_messages = warning;
SELECT pg_backend_pid() <> :first_pid AS new_backend;
SELECT bool_and(calls = 0 AND errors = 0 AND total_ms = 0 AND max_ms = 0 AND mean_ms = 0
                AND rows = 0 AND bytes = 0 AND last_call IS NULL) AS all_zero,
       bool_and(scope = 'backend') AS backend, bool_and(stats_reset > :'first_reset') AS later_reset
  FROM service_items.stats;
TRUNCATE stats_backend.log;
SELECT stats_backend.call('bulk_load_associations',
    $$SELECT json_array_length(r -> 'associations'), octet_length(r::text)
        FROM service_items.bulk_load_associations($1) r$$) AS load_all;
SELECT * FROM stats_backend.compare() WHERE calls > 0;
SELECT bool_and(calls_ok AND errors_ok AND rows_ok AND bytes_ok) AS all_exact FROM stats_backend.compare();

-- stats_reset() zeroes this session's counters.
SELECT service_items.stats_reset();
SELECT bool_and(calls = 0 AND errors = 0 AND total_ms = 0 AND max_ms = 0 AND mean_ms = 0
                AND rows = 0 AND bytes = 0 AND last_call IS NULL) AS all_zero,
       bool_and(scope = 'backend') AS backend
  FROM service_items.stats;

DROP SCHEMA stats_backend CASCADE;
