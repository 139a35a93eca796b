/*
 * load_statements: a load runs a fixed number of set-oriented statements,
 * whatever the number of items (no query per item): counted with
 * pg_stat_statements (track = all, so statements run through SPI inside the
 * function are counted too) for a 10-item and a 1,000-item clinic, for
 * bulk_load_associations and its streaming twin, with and without a
 * service_item_ids filter and with sections excluded.  Counted: executions
 * of statements that read service_items tables, not the call itself.
 *
 * One query per table: a whole load runs seven (items, the clinic's active
 * practitioners, assignments, billing, resource types, resources,
 * follow-ups), each once; an excluded section's query is skipped (resource
 * types are read only with resources); when no item matches, only the items
 * query runs.
 *
 * Needs pg_stat_statements in shared_preload_libraries (the test cluster is
 * started with it); track is set here, so the cluster's default does not
 * matter.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

SET pg_stat_statements.track = 'all';
SHOW pg_stat_statements.track;

DROP SCHEMA IF EXISTS load_statements CASCADE;
CREATE SCHEMA load_statements;

/*
 * measure(call): resets the statistics, runs call, and returns how many
 * statement executions (calls) of how many distinct statements (queries)
 * touched a service_items table, leaving out the call itself and this
 * function's own statements.
 */
CREATE FUNCTION load_statements.measure(call text, OUT calls bigint, OUT queries bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.pg_stat_statements_reset();
    EXECUTE call;
    SELECT COALESCE(pg_catalog.sum(s.calls), 0), pg_catalog.count(*)
      INTO calls, queries
      FROM public.pg_stat_statements(true) s
     WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
       AND s.query ~ 'service_items\.(clinics|clinic_members|resource_types|service_type_groups|appointment_types|practitioner_appointment_types|billing_scenarios|appointment_resource_requirements|follow_up_messages|association_audit)\M'
       AND s.query !~ '(bulk_load_associations|service_item_associations|pg_stat_statements)';
END
$$;

CREATE TABLE load_statements.clinics (items integer PRIMARY KEY, id bigint NOT NULL);
INSERT INTO load_statements.clinics
SELECT n, service_items_demo.create_clinic(n) FROM (VALUES (0), (10), (1000)) AS v(n);

-- measure(...) itself sees the statements of a call: the generator runs
-- many of them.
SELECT calls > 10 AS generator_counted FROM load_statements.measure('SELECT service_items_demo.create_clinic(3)');

CREATE TABLE load_statements.results (n serial, label text, items integer, calls bigint, queries bigint);
INSERT INTO load_statements.results (label, items, calls, queries)
SELECT x.label, c.items, m.calls, m.queries
  FROM (VALUES (1, 'bulk_load_associations, whole clinic',
                'SELECT service_items.bulk_load_associations(%s)'),
               (2, 'bulk_load_associations, again (kept plans)',
                'SELECT service_items.bulk_load_associations(%s)'),
               (3, 'bulk_load_associations, every item by id',
                'SELECT service_items.bulk_load_associations(%1$s, ARRAY(SELECT a.id FROM service_items.appointment_types a WHERE a.clinic_id = %1$s))'),
               (4, 'bulk_load_associations, no sections',
                'SELECT service_items.bulk_load_associations(%s, NULL, false, false, false)'),
               (5, 'bulk_load_associations, billing only',
                'SELECT service_items.bulk_load_associations(%s, NULL, true, false, false)'),
               (6, 'service_item_associations, whole clinic',
                'SELECT pg_catalog.count(*) FROM service_items.service_item_associations(%s)'),
               (7, 'service_item_associations, every item by id',
                'SELECT pg_catalog.count(*) FROM service_items.service_item_associations(%1$s, ARRAY(SELECT a.id FROM service_items.appointment_types a WHERE a.clinic_id = %1$s))'))
       AS x(o, label, call),
       load_statements.clinics c,
       load_statements.measure(pg_catalog.format(x.call, c.id)) m
 ORDER BY x.o, c.items;

-- (The ARRAY(...) that builds the id list is part of the calling statement,
-- so it is not counted.)
SELECT label, items, calls, queries FROM load_statements.results ORDER BY n;

-- The same count for 10 and for 1,000 items, and never more than seven
-- statements, one per table (items, active practitioners, assignments,
-- billing, resource types, resources, follow-ups).
SELECT label,
       pg_catalog.min(calls) FILTER (WHERE items = 10) = pg_catalog.min(calls) FILTER (WHERE items = 1000) AS flat,
       pg_catalog.max(calls) <= 7 AS at_most_seven
  FROM load_statements.results
 GROUP BY label
 ORDER BY pg_catalog.min(n);

DROP SCHEMA load_statements CASCADE;
