/*
 * stats_shared: the call statistics of service_items (SPEC §8, issue 6) in a
 * cluster that has the library in shared_preload_libraries (tools/test.sh
 * starts the main cluster so), where the counters are the cluster's.
 *
 * Checks: scope is 'cluster' on every row; after stats_reset() a scripted
 * sequence of loads, streaming loads, validations and saves, and loads and
 * saves of the whole settings page (load_service_settings,
 * save_service_settings) -- successful
 * ones and failing ones (22004 NULL argument, 22023 invalid payload and
 * payload not an object, PT409 stale expected_versions, 42501 claims for
 * another clinic), each caught in a PL/pgSQL subtransaction -- is counted
 * exactly: per function, calls and errors equal the calls made and the
 * calls that raised, rows equal the service items the successful calls
 * returned (validate_associations: the live items its payload names; the
 * settings functions: the page's service_items), and
 * bytes equal the octet_length of the successful results (the streaming
 * twin: the sum over its rows); a failing call adds nothing to rows and
 * bytes.  A save that succeeds in a subtransaction that is rolled back
 * afterwards still counts as a successful call (the counters are not
 * transactional); so does the failing call whose error is caught.
 * total_ms >= max_ms >= mean_ms > 0 and mean_ms = total_ms / calls; every
 * called function has a last_call between the reset and now, the others
 * none and zeros.  The counters are shared: a new connection (\c) sees the
 * same numbers.  A role that has pg_monitor, USAGE on the schema, SELECT on
 * the views and EXECUTE on service_items_stats() reads them, and without
 * that EXECUTE or the one on stats_reset() gets 42501.  stats_reset() zeroes
 * everything and moves the stats_reset timestamp.
 *
 * Clinic and item ids are not printed: they depend on what ran before in
 * the database.  Numbers in the output are counts of the scripted calls.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS stats_shared CASCADE;
CREATE SCHEMA stats_shared;

-- The library is preloaded here: one set of counters for the cluster.
SELECT scope, count(*) AS functions FROM service_items.stats GROUP BY scope;

---------------------------------------------------------------------------
-- Two demo clinics: A with 20 live items (and a soft-deleted one), B with 3.
---------------------------------------------------------------------------
CREATE TABLE stats_shared.clinic (name text PRIMARY KEY, id bigint NOT NULL);
INSERT INTO stats_shared.clinic VALUES
    ('A', service_items_demo.create_clinic(20, 3, 'stats_shared A')),
    ('B', service_items_demo.create_clinic(3, 2, 'stats_shared B'));
SELECT c.name, count(*) FILTER (WHERE NOT t.is_deleted) AS live_items,
       count(*) FILTER (WHERE t.is_deleted) AS deleted_items
  FROM stats_shared.clinic c JOIN service_items.appointment_types t ON t.clinic_id = c.id
 GROUP BY c.name ORDER BY c.name;

-- clinic(name): the clinic's id.  item(name, k): its k-th live item by id.
-- items(name, n): its first n live items.  deleted_item(name): a deleted one.
-- rtype(name, k), practitioner(name, k): its k-th resource type and active
-- practitioner by id.
CREATE FUNCTION stats_shared.clinic(n text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT id FROM stats_shared.clinic WHERE name = n $$;
CREATE FUNCTION stats_shared.item(n text, k int) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT t.id FROM service_items.appointment_types t
     WHERE t.clinic_id = stats_shared.clinic(n) AND NOT t.is_deleted ORDER BY t.id OFFSET k - 1 LIMIT 1 $$;
CREATE FUNCTION stats_shared.items(n text, how_many int) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(stats_shared.item(n, k) ORDER BY k) FROM generate_series(1, how_many) k $$;
CREATE FUNCTION stats_shared.deleted_item(n text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT min(t.id) FROM service_items.appointment_types t
     WHERE t.clinic_id = stats_shared.clinic(n) AND t.is_deleted $$;
CREATE FUNCTION stats_shared.rtype(n text, k int) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT r.id FROM service_items.resource_types r
     WHERE r.clinic_id = stats_shared.clinic(n) ORDER BY r.id OFFSET k - 1 LIMIT 1 $$;
CREATE FUNCTION stats_shared.practitioner(n text, k int) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT m.user_id FROM service_items.clinic_members m
     WHERE m.clinic_id = stats_shared.clinic(n) AND m.is_active AND 'practitioner' = ANY (m.roles)
     ORDER BY m.user_id OFFSET k - 1 LIMIT 1 $$;
CREATE FUNCTION stats_shared.claims(n text, role text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('clinic_id', stats_shared.clinic(n), 'roles', jsonb_build_array(role)) $$;

---------------------------------------------------------------------------
-- The calls.  Each helper makes one call in a subtransaction, with the
-- given request.jwt.claims (none when NULL), and logs what the counters
-- should add: the function, the SQLSTATE when the call raised, and for a
-- call that returned, the service items and bytes its result holds,
-- measured from the result.  It returns the outcome, clinic ids hidden.
---------------------------------------------------------------------------
CREATE TABLE stats_shared.log (
    n serial PRIMARY KEY,
    function_name text NOT NULL,
    sqlstate text,               -- NULL: the call returned
    rows bigint NOT NULL,
    bytes bigint NOT NULL);

CREATE FUNCTION stats_shared.logged(fn text, state text, msg text, items bigint, size bigint)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_shared.log (function_name, sqlstate, rows, bytes)
    VALUES (fn, state, CASE WHEN state IS NULL THEN items ELSE 0 END,
            CASE WHEN state IS NULL THEN size ELSE 0 END);
    IF state IS NULL THEN
        RETURN format('ok: %s items', items);
    END IF;
    RETURN format('%s: %s', state, regexp_replace(msg, 'clinic \d+', 'clinic <id>'));
END
$$;

-- named_live_items(clinic, payload): the clinic's live items that a payload
-- names anywhere (what validate_associations reads and counts).
CREATE FUNCTION stats_shared.named_live_items(clinic bigint, p jsonb) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM service_items.appointment_types t
     WHERE t.clinic_id = clinic AND NOT t.is_deleted
       AND t.id::text IN (SELECT jsonb_object_keys(p -> 'practitioner_assignments')
                          UNION SELECT split_part(k, '-', 1) FROM jsonb_object_keys(p -> 'billing_scenarios') k
                          UNION SELECT jsonb_object_keys(p -> 'resource_requirements')
                          UNION SELECT jsonb_object_keys(p -> 'follow_up_messages')
                          UNION SELECT jsonb_object_keys(p -> 'expected_versions'))
$$;

CREATE FUNCTION stats_shared.load(clinic bigint, ids bigint[] DEFAULT NULL,
                                  billing boolean DEFAULT true, claims jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r json;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        r := service_items.bulk_load_associations(clinic, ids, billing, true, true);
        PERFORM set_config('request.jwt.claims', '', true);
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
    END;
    RETURN stats_shared.logged('bulk_load_associations', state, msg,
                               json_array_length(r -> 'associations'), octet_length(r::text));
END
$$;

CREATE FUNCTION stats_shared.stream(clinic bigint, ids bigint[] DEFAULT NULL, claims jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    items bigint;
    size bigint;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        SELECT count(*), coalesce(sum(octet_length(a.associations::text)), 0) INTO items, size
          FROM service_items.service_item_associations(clinic, ids) a;
        PERFORM set_config('request.jwt.claims', '', true);
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
    END;
    RETURN stats_shared.logged('service_item_associations', state, msg, items, size);
END
$$;

CREATE FUNCTION stats_shared.validate(clinic bigint, payload jsonb, claims jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    items bigint;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        r := service_items.validate_associations(clinic, payload);
        PERFORM set_config('request.jwt.claims', '', true);
        items := stats_shared.named_live_items(clinic, payload);
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
    END;
    RETURN stats_shared.logged('validate_associations', state, msg, items, octet_length(r::text))
           || CASE WHEN state IS NULL THEN format(', valid %s, %s errors', r -> 'valid', r -> 'error_count') ELSE '' END;
END
$$;

-- undo: the save succeeds, then its subtransaction is rolled back.
CREATE FUNCTION stats_shared.save(clinic bigint, payload jsonb, claims jsonb DEFAULT NULL,
                                  undo boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r json;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        r := service_items.bulk_save_associations(clinic, payload);
        PERFORM set_config('request.jwt.claims', '', true);
        IF undo THEN
            RAISE EXCEPTION 'undo' USING ERRCODE = 'SIUND';
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE <> 'SIUND' THEN
            state := SQLSTATE;
            msg := SQLERRM;
        END IF;
    END;
    RETURN stats_shared.logged('bulk_save_associations', state, msg,
                               json_array_length(r -> 'associations'), octet_length(r::text))
           || CASE WHEN undo THEN ', rolled back' ELSE '' END;
END
$$;

CREATE FUNCTION stats_shared.load_settings(clinic bigint, claims jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r json;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        r := service_items.load_service_settings(clinic);
        PERFORM set_config('request.jwt.claims', '', true);
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
    END;
    RETURN stats_shared.logged('load_service_settings', state, msg,
                               json_array_length(r -> 'service_items'), octet_length(r::text));
END
$$;

CREATE FUNCTION stats_shared.save_settings(clinic bigint, payload jsonb, claims jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r json;
    state text;
    msg text;
BEGIN
    BEGIN
        PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
        r := service_items.save_service_settings(clinic, payload);
        PERFORM set_config('request.jwt.claims', '', true);
    EXCEPTION WHEN OTHERS THEN
        state := SQLSTATE;
        msg := SQLERRM;
    END;
    RETURN stats_shared.logged('save_service_settings', state, msg,
                               json_array_length(r -> 'settings' -> 'service_items'), octet_length(r::text));
END
$$;

-- What the counters hold, next to what the log says they must hold.
CREATE FUNCTION stats_shared.compare()
RETURNS TABLE (function_name text, calls bigint, errors bigint, rows bigint,
               calls_ok boolean, errors_ok boolean, rows_ok boolean, bytes_ok boolean)
LANGUAGE sql AS $$
    SELECT s.function_name, s.calls, s.errors, s.rows,
           s.calls = coalesce(l.calls, 0), s.errors = coalesce(l.errors, 0),
           s.rows = coalesce(l.rows, 0), s.bytes = coalesce(l.bytes, 0)
      FROM service_items.stats s
      LEFT JOIN (SELECT x.function_name, count(*) AS calls, count(x.sqlstate) AS errors,
                        sum(x.rows) AS rows, sum(x.bytes) AS bytes
                   FROM stats_shared.log x GROUP BY x.function_name) l USING (function_name)
     ORDER BY s.function_name
$$;

-- Payloads.
CREATE TABLE stats_shared.payload (name text PRIMARY KEY, p jsonb NOT NULL);
INSERT INTO stats_shared.payload
SELECT 'resources A1 A2', jsonb_build_object('resource_requirements', jsonb_build_object(
           stats_shared.item('A', 1)::text, jsonb_build_array(jsonb_build_object('resource_type_id', stats_shared.rtype('A', 1), 'quantity', 3)),
           stats_shared.item('A', 2)::text, jsonb_build_array(jsonb_build_object('resource_type_id', stats_shared.rtype('A', 2), 'quantity', 4)))
       )
UNION ALL
SELECT 'assign A3', jsonb_build_object(
           'practitioner_assignments', jsonb_build_object(stats_shared.item('A', 3)::text,
                                                          jsonb_build_array(stats_shared.practitioner('A', 1))),
           'expected_versions', jsonb_build_object(stats_shared.item('A', 3)::text,
               (SELECT t.associations_version FROM service_items.appointment_types t
                 WHERE t.clinic_id = stats_shared.clinic('A') AND t.id = stats_shared.item('A', 3))))
UNION ALL
SELECT 'follow-up A4', jsonb_build_object('follow_up_messages', jsonb_build_object(
           stats_shared.item('A', 4)::text, jsonb_build_array(jsonb_build_object(
               'timing_mode', 'hours_after', 'hours_after', 2, 'message_template', 'stats', 'display_order', 1))))
UNION ALL
SELECT 'resources B1', jsonb_build_object('resource_requirements', jsonb_build_object(
           stats_shared.item('B', 1)::text, jsonb_build_array(jsonb_build_object('resource_type_id', stats_shared.rtype('B', 1), 'quantity', 1))))
UNION ALL
-- quantity 0 and an unknown key: 2 errors
SELECT 'invalid A5', jsonb_build_object('resource_requirements', jsonb_build_object(
           stats_shared.item('A', 5)::text, jsonb_build_array(jsonb_build_object('resource_type_id', stats_shared.rtype('A', 1), 'quantity', 0,
                                                                                'colour', 'red'))))
UNION ALL
SELECT 'stale A6', jsonb_build_object(
           'practitioner_assignments', jsonb_build_object(stats_shared.item('A', 6)::text, jsonb_build_array()),
           'expected_versions', jsonb_build_object(stats_shared.item('A', 6)::text, 999))
UNION ALL
-- a live item, a deleted one, and one that does not exist (2 errors)
SELECT 'A7 deleted unknown', jsonb_build_object('practitioner_assignments', jsonb_build_object(
           stats_shared.item('A', 7)::text, jsonb_build_array(),
           stats_shared.deleted_item('A')::text, jsonb_build_array(),
           '999999999', jsonb_build_array()))
UNION ALL
-- error messages and paths with quotes, backslashes, a tab, a control
-- character and Chinese text: the bytes of the jsonb result as text
SELECT 'odd keys', jsonb_build_object('practitioner_assignments', jsonb_build_object(
           stats_shared.item('A', 8)::text, jsonb_build_array()),
           E'key "with" \\ back\tslash \u0001 和 unicode', 1, 'a/b', jsonb_build_array('x'))
UNION ALL
SELECT 'empty', '{}'
UNION ALL
SELECT 'not an object', '[1, 2]';

-- stats_reset() empties the counters; the stats_reset time moves.
SELECT max(stats_reset) AS reset_before FROM service_items.stats \gset
SELECT pg_sleep(0.01);
SELECT service_items.stats_reset();
SELECT function_name, calls, errors, total_ms, max_ms, mean_ms, rows, bytes, last_call, scope,
       stats_reset > :'reset_before' AS reset_moved
  FROM service_items.stats ORDER BY function_name;

---------------------------------------------------------------------------
-- The scripted sequence.
---------------------------------------------------------------------------
-- Loads: the whole clinic, three items, no item, billing left out, ids of
-- a deleted item, an unknown item and the other clinic (none loads), a
-- practitioner's claims; NULL clinic_id and NULL include_billing_scenarios
-- (22004), claims for the other clinic (42501).
SELECT stats_shared.load(stats_shared.clinic('A')) AS load_all;
SELECT stats_shared.load(stats_shared.clinic('A'), stats_shared.items('A', 3)) AS load_3;
SELECT stats_shared.load(stats_shared.clinic('A'), '{}') AS load_none;
SELECT stats_shared.load(stats_shared.clinic('A'), billing => false) AS load_no_billing;
SELECT stats_shared.load(stats_shared.clinic('A'),
                         ARRAY[stats_shared.deleted_item('A'), 999999999, stats_shared.item('B', 1)]) AS load_foreign;
SELECT stats_shared.load(stats_shared.clinic('B'), claims => stats_shared.claims('B', 'practitioner')) AS load_b_claims;
SELECT stats_shared.load(NULL) AS load_null;
SELECT stats_shared.load(stats_shared.clinic('A'), billing => NULL) AS load_null_billing;
SELECT stats_shared.load(stats_shared.clinic('A'), claims => stats_shared.claims('B', 'admin')) AS load_denied;

-- Streaming loads: the whole clinic, two items, no item; NULL clinic_id
-- (22004); claims for the other clinic (42501).
SELECT stats_shared.stream(stats_shared.clinic('A')) AS stream_all;
SELECT stats_shared.stream(stats_shared.clinic('A'), stats_shared.items('A', 2)) AS stream_2;
SELECT stats_shared.stream(stats_shared.clinic('B'), '{}') AS stream_none;
SELECT stats_shared.stream(NULL) AS stream_null;
SELECT stats_shared.stream(stats_shared.clinic('B'), claims => stats_shared.claims('A', 'staff')) AS stream_denied;

-- Validations (a judgement is a successful call, valid or not); NULL
-- payload (22004), a payload that is not an object (22023), a practitioner
-- may not validate (42501).
SELECT x.name, stats_shared.validate(stats_shared.clinic('A'), x.p) AS validate
  FROM stats_shared.payload x WHERE x.name <> 'not an object' ORDER BY x.name;
SELECT stats_shared.validate(stats_shared.clinic('A'), NULL) AS validate_null;
SELECT stats_shared.validate(stats_shared.clinic('A'), p) AS validate_not_object
  FROM stats_shared.payload WHERE name = 'not an object';
SELECT stats_shared.validate(stats_shared.clinic('A'), p, stats_shared.claims('A', 'practitioner')) AS validate_denied
  FROM stats_shared.payload WHERE name = 'resources A1 A2';
-- Saves: three that write (one with claims of the clinic's admin), one
-- rolled back after it returned; 22023 (2 errors; not an object), 22004
-- (NULL clinic_id, NULL payload), PT409 (stale expected_versions), 42501
-- (claims for the other clinic).
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_ok FROM stats_shared.payload WHERE name = 'resources A1 A2';
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_ok FROM stats_shared.payload WHERE name = 'assign A3';
SELECT stats_shared.save(stats_shared.clinic('B'), p, stats_shared.claims('B', 'admin')) AS save_ok_claims
  FROM stats_shared.payload WHERE name = 'resources B1';
SELECT stats_shared.save(stats_shared.clinic('A'), p, undo => true) AS save_undone
  FROM stats_shared.payload WHERE name = 'follow-up A4';
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_invalid FROM stats_shared.payload WHERE name = 'invalid A5';
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_not_object FROM stats_shared.payload WHERE name = 'not an object';
SELECT stats_shared.save(NULL, p) AS save_null_clinic FROM stats_shared.payload WHERE name = 'resources A1 A2';
SELECT stats_shared.save(stats_shared.clinic('A'), NULL) AS save_null_payload;
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_stale FROM stats_shared.payload WHERE name = 'stale A6';
SELECT stats_shared.save(stats_shared.clinic('A'), p, stats_shared.claims('B', 'admin')) AS save_denied
  FROM stats_shared.payload WHERE name = 'resources A1 A2';
-- The stale save once more: every failing call counts, PT409 again.
SELECT stats_shared.save(stats_shared.clinic('A'), p) AS save_stale_again FROM stats_shared.payload WHERE name = 'stale A6';

-- The settings page: loads (the whole clinic; a practitioner's claims;
-- NULL clinic_id, 22004; claims for the other clinic, 42501) and saves (an
-- empty payload changes nothing and returns the page; an unknown key,
-- 22023; NULL payload, 22004; claims for the other clinic, 42501).
SELECT stats_shared.load_settings(stats_shared.clinic('A')) AS settings_load;
SELECT stats_shared.load_settings(stats_shared.clinic('B'), stats_shared.claims('B', 'practitioner')) AS settings_load_claims;
SELECT stats_shared.load_settings(NULL) AS settings_load_null;
SELECT stats_shared.load_settings(stats_shared.clinic('B'), stats_shared.claims('A', 'admin')) AS settings_load_denied;
SELECT stats_shared.save_settings(stats_shared.clinic('A'), '{}') AS settings_save;
SELECT stats_shared.save_settings(stats_shared.clinic('A'), '{"colour": "red"}') AS settings_save_invalid;
SELECT stats_shared.save_settings(stats_shared.clinic('A'), NULL) AS settings_save_null;
SELECT stats_shared.save_settings(stats_shared.clinic('A'), '{}', stats_shared.claims('B', 'admin')) AS settings_save_denied;

-- The undone save wrote nothing; the others did.
SELECT (SELECT count(*) FROM service_items.follow_up_messages f
         WHERE f.clinic_id = stats_shared.clinic('A') AND f.appointment_type_id = stats_shared.item('A', 4)
           AND f.message_template = 'stats') AS undone_rows,
       (SELECT count(*) FROM service_items.association_audit u
         WHERE u.clinic_id IN (stats_shared.clinic('A'), stats_shared.clinic('B'))) AS audit_rows;

---------------------------------------------------------------------------
-- The counters against the log: calls, errors and rows exactly, bytes
-- equal to the sizes of the results.
---------------------------------------------------------------------------
SELECT function_name, count(*) AS calls, count(sqlstate) AS errors, sum(rows) AS rows,
       string_agg(DISTINCT sqlstate, ' ' ORDER BY sqlstate) AS sqlstates
  FROM stats_shared.log GROUP BY function_name ORDER BY function_name;
SELECT * FROM stats_shared.compare();

-- Times: total >= max >= mean > 0, mean = total / calls; last_call between
-- the reset and now; the scope and reset time of every row the same.
SELECT function_name,
       total_ms >= max_ms AND max_ms >= mean_ms AND mean_ms > 0 AS times_ordered,
       abs(mean_ms - total_ms / calls) <= 1e-9 * total_ms AS mean_is_total_by_calls,
       last_call > stats_reset AND last_call <= now() AS last_call_ok,
       scope
  FROM service_items.stats ORDER BY function_name;
SELECT count(DISTINCT stats_reset) AS reset_times, count(DISTINCT scope) AS scopes FROM service_items.stats;
-- The stats queries themselves count nothing.
SELECT * FROM stats_shared.compare();

---------------------------------------------------------------------------
-- The counters are the cluster's: another connection sees the same.
---------------------------------------------------------------------------
SELECT pg_backend_pid() AS first_pid \gset
\c
SET client_min_messages = warning;
SELECT pg_backend_pid() <> :first_pid AS new_backend;
SELECT * FROM stats_shared.compare();
-- Its calls add to the same counters.
SELECT stats_shared.load(stats_shared.clinic('B')) AS load_from_second_connection;
SELECT function_name, calls, errors, rows FROM stats_shared.compare() WHERE function_name = 'bulk_load_associations';
SELECT bool_and(calls_ok AND errors_ok AND rows_ok AND bytes_ok) AS all_exact FROM stats_shared.compare();

---------------------------------------------------------------------------
-- Who may read: a monitoring role with pg_monitor and the grants of
-- doc/monitoring.md.  Without EXECUTE on service_items_stats() SELECT on
-- the view is not enough; stats_reset() needs its own grant.
---------------------------------------------------------------------------
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_stats_monitor') THEN
        DROP OWNED BY regress_stats_monitor;
        DROP ROLE regress_stats_monitor;
    END IF;
END
$$;
CREATE ROLE regress_stats_monitor NOLOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA service_items TO regress_stats_monitor;
GRANT SELECT ON service_items.stats, service_items.connection_metrics TO regress_stats_monitor;
SET ROLE regress_stats_monitor;
SELECT function_name, calls FROM service_items.stats;
RESET ROLE;
GRANT EXECUTE ON FUNCTION service_items.service_items_stats() TO regress_stats_monitor;
SET ROLE regress_stats_monitor;
SELECT function_name, calls, errors, rows FROM service_items.stats ORDER BY function_name;
SELECT connections >= 1 AS sees_itself, active >= 1 AS sees_itself_active FROM service_items.connection_metrics;
SELECT service_items.stats_reset();
RESET ROLE;

---------------------------------------------------------------------------
-- stats_reset() zeroes everything, for everyone.
---------------------------------------------------------------------------
SELECT max(stats_reset) AS reset_before FROM service_items.stats \gset
SELECT service_items.stats_reset();
SELECT function_name, calls, errors, total_ms, max_ms, mean_ms, rows, bytes, last_call, scope,
       stats_reset > :'reset_before' AS reset_moved
  FROM service_items.stats ORDER BY function_name;

DROP OWNED BY regress_stats_monitor;
DROP ROLE regress_stats_monitor;
DROP SCHEMA stats_shared CASCADE;
