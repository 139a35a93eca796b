/*
 * bench/save_times.sql: server time of bulk_save_associations for clinics of
 * 20 and 1,000 items (demo data, 3 practitioners per item), for a payload
 * that changes nothing and for payloads that change every row, and the
 * number of statements one save runs.  Needs the extension, the demo-data
 * generator and pg_stat_statements (preloaded, track = all):
 *
 *   pg_virtualenv -v 15 -o shared_preload_libraries=pg_stat_statements \
 *       -o pg_stat_statements.track=all sh -c \
 *       'psql -X -q -c "CREATE EXTENSION service_items" \
 *            -c "CREATE EXTENSION pg_stat_statements" \
 *            -f tools/demo_data.sql -f bench/save_times.sql'
 *
 * The clinics are made among 50 others of 50 items.  Each figure is the
 * median of 21 calls timed in PL/pgSQL with
 * clock_timestamp() around the call (warm caches and kept plans), each call
 * in its own committed transaction (the commit is not the call's time).
 * "Every row" alternates two payloads A and B that differ in every billing
 * scenario (amount), resource requirement (quantity) and follow-up message
 * (template), so each call changes every row.
 */
\set QUIET on
\pset footer off
-- 50 other clinics of 50 items, so that the tables hold many clinics, as
-- a real database does (the plans are generic: one plan for every clinic).
SELECT count(service_items_demo.create_clinic(50)) FROM generate_series(1, 50) \g /dev/null
CREATE TEMP TABLE sizes (n integer, clinic bigint);
INSERT INTO sizes SELECT n, service_items_demo.create_clinic(n) FROM (VALUES (20), (1000)) v(n);
ANALYZE;

-- payload(c, variant): the clinic's loaded document as a save payload;
-- variant 1 changes every amount, quantity and template.
CREATE FUNCTION pg_temp.payload(c bigint, variant integer) RETURNS jsonb
LANGUAGE sql AS $$
WITH items AS (SELECT e FROM json_array_elements(service_items.bulk_load_associations(c) -> 'associations') e)
SELECT jsonb_build_object(
  'practitioner_assignments', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id', e -> 'practitioner_assignments') FROM items), '{}'),
  'billing_scenarios', coalesce((SELECT jsonb_object_agg((e ->> 'service_item_id') || '-' || s.key,
        (SELECT jsonb_agg(jsonb_set(b, '{amount}', to_jsonb((b ->> 'amount')::numeric + variant)) ORDER BY o)
           FROM jsonb_array_elements(s.value::jsonb) WITH ORDINALITY x(b, o)))
     FROM items, json_each(e -> 'billing_scenarios') s), '{}'),
  'resource_requirements', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id',
        (SELECT coalesce(jsonb_agg(jsonb_set(r, '{quantity}', to_jsonb(CASE WHEN variant = 1 THEN 1001 - (r ->> 'quantity')::int ELSE (r ->> 'quantity')::int END)) ORDER BY o), '[]')
           FROM jsonb_array_elements((e -> 'resource_requirements')::jsonb) WITH ORDINALITY x(r, o)))
     FROM items), '{}'),
  'follow_up_messages', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id',
        (SELECT coalesce(jsonb_agg(CASE WHEN variant = 1 THEN jsonb_set(f, '{message_template}', to_jsonb((f ->> 'message_template') || ' (B)')) ELSE f END ORDER BY o), '[]')
           FROM jsonb_array_elements((e -> 'follow_up_messages')::jsonb) WITH ORDINALITY x(f, o)))
     FROM items), '{}'))
$$;

-- time_saves(label, items, n): n saves of the clinic of that size, each in
-- its own transaction (committed, as an application's would be), after one
-- warm-up save of payload a: all of a for 'unchanged', alternately b and a
-- for 'every_row'.  The server time of each call goes to timings.
CREATE TEMP TABLE timings (label text, items integer, ms double precision);
CREATE PROCEDURE pg_temp.time_saves(label text, items integer, n integer)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    r json;
    c bigint;
    a jsonb;
    b jsonb;
BEGIN
    SELECT p.clinic, p.a, CASE WHEN label = 'every_row' THEN p.b ELSE p.a END
      INTO c, a, b FROM payloads p WHERE p.n = items;
    r := service_items.bulk_save_associations(c, a);   -- warm-up (plans)
    COMMIT;
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        r := service_items.bulk_save_associations(c, CASE WHEN i % 2 = 1 THEN b ELSE a END);
        INSERT INTO timings VALUES (label, items, 1000 * extract(epoch FROM clock_timestamp() - t0));
        COMMIT;
    END LOOP;
END
$$;

-- statements(c, before, p): statements one save of p runs, over the state
-- that saving before left (pg_stat_statements).
CREATE FUNCTION pg_temp.statements(c bigint, before jsonb, p jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r json;
    n bigint;
BEGIN
    r := service_items.bulk_save_associations(c, before);
    PERFORM pg_stat_statements_reset();
    r := service_items.bulk_save_associations(c, p);
    SELECT sum(calls) INTO n FROM pg_stat_statements
     WHERE query ~ 'service_items\.' AND query !~ 'bulk_save_associations|pg_stat_statements';
    RETURN n;
END
$$;

CREATE TEMP TABLE payloads AS
SELECT n, clinic, pg_temp.payload(clinic, 0) AS a, pg_temp.payload(clinic, 1) AS b FROM sizes;

CALL pg_temp.time_saves('unchanged', 20, 21);
CALL pg_temp.time_saves('every_row', 20, 21);
CALL pg_temp.time_saves('unchanged', 1000, 21);
CALL pg_temp.time_saves('every_row', 1000, 21);

\echo 'bulk_save_associations, server time of one call (median of 21, each committed), and statements per save'
SELECT p.n AS items,
       octet_length(p.a::text) AS payload_bytes,
       (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms)::numeric, 2)
          FROM timings t WHERE t.items = p.n AND t.label = 'unchanged') AS unchanged_ms,
       pg_temp.statements(p.clinic, p.a, p.a) AS unchanged_statements,
       (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms)::numeric, 2)
          FROM timings t WHERE t.items = p.n AND t.label = 'every_row') AS every_row_ms,
       pg_temp.statements(p.clinic, p.a, p.b) AS every_row_statements
  FROM payloads p ORDER BY p.n;
