/*
 * bench/settings_times.sql: server time of the whole settings page, for
 * clinics of 20 and 1,000 items (demo data, 3 practitioners per item):
 * load_service_settings, and save_service_settings of the loaded page sent
 * back unchanged (every group, item and association listed; nothing
 * written).  Needs the extension and the demo-data generator:
 *
 *   pg_virtualenv -v 15 sh -c 'psql -X -q -c "CREATE EXTENSION service_items" \
 *       -f tools/demo_data.sql -f bench/settings_times.sql'
 *
 * The clinics are made among 50 others of 50 items.  Each figure is the
 * median of 21 calls timed in PL/pgSQL with
 * clock_timestamp() around the call (warm caches, kept plans), each save in
 * its own committed transaction.
 */
\set QUIET on
\pset footer off
-- 50 other clinics of 50 items, so that the tables hold many clinics, as
-- a real database does (the plans are generic: one plan for every clinic).
SELECT count(service_items_demo.create_clinic(50)) FROM generate_series(1, 50) \g /dev/null
CREATE TEMP TABLE sizes AS
SELECT n, service_items_demo.create_clinic(n) AS clinic FROM (VALUES (20), (1000)) v(n);
ANALYZE;

-- page_payload(c): the loaded page as a save_service_settings payload.
CREATE FUNCTION pg_temp.page_payload(c bigint) RETURNS jsonb
LANGUAGE sql AS $$
WITH page AS (SELECT service_items.load_service_settings(c)::jsonb AS d),
     items AS (SELECT e FROM page, jsonb_array_elements(d -> 'associations') e)
SELECT jsonb_build_object(
  'service_type_groups', d -> 'service_type_groups',
  'service_items', d -> 'service_items',
  'associations', jsonb_build_object(
     'practitioner_assignments', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id', e -> 'practitioner_assignments') FROM items), '{}'),
     'billing_scenarios', coalesce((SELECT jsonb_object_agg((e ->> 'service_item_id') || '-' || s.key, s.value)
                                      FROM items, jsonb_each(e -> 'billing_scenarios') s), '{}'),
     'resource_requirements', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id', e -> 'resource_requirements') FROM items), '{}'),
     'follow_up_messages', coalesce((SELECT jsonb_object_agg(e ->> 'service_item_id', e -> 'follow_up_messages') FROM items), '{}')))
  FROM page
$$;

CREATE TEMP TABLE timings (label text, items integer, ms double precision);

CREATE PROCEDURE pg_temp.time_page(items integer, n integer)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    r json;
    c bigint := (SELECT s.clinic FROM sizes s WHERE s.n = items);
    p jsonb := pg_temp.page_payload((SELECT s.clinic FROM sizes s WHERE s.n = items));
BEGIN
    r := service_items.load_service_settings(c);      -- warm-up (plans)
    r := service_items.save_service_settings(c, p);
    COMMIT;
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        r := service_items.load_service_settings(c);
        INSERT INTO timings VALUES ('load', items, 1000 * extract(epoch FROM clock_timestamp() - t0));
        t0 := clock_timestamp();
        r := service_items.save_service_settings(c, p);
        INSERT INTO timings VALUES ('save_unchanged', items, 1000 * extract(epoch FROM clock_timestamp() - t0));
        COMMIT;
    END LOOP;
END
$$;

CALL pg_temp.time_page(20, 21);
CALL pg_temp.time_page(1000, 21);

\echo 'the whole settings page: server time of one call, median of 21'
SELECT t.items,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms) FILTER (WHERE t.label = 'load'))::numeric, 2) AS load_ms,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms) FILTER (WHERE t.label = 'save_unchanged'))::numeric, 2) AS save_unchanged_ms
  FROM timings t GROUP BY t.items ORDER BY t.items;
