/*
 * load_explain: every query the loader runs (the "all" and "some" variants
 * of each section and the two clinic-wide lookups, as listed in src/plans.c)
 * reads through indexes on realistic data: a 1,000-item clinic among 200
 * generated clinics of 20 items, after ANALYZE.  Each statement is PREPAREd
 * with the parameter types the extension gives SPI_prepare and EXPLAINed
 * (FORMAT JSON) under plan_cache_mode = force_generic_plan (the plan the
 * extension keeps using after its first calls) and force_custom_plan (its
 * first five calls), with a large and a small id list for the "some"
 * variants.  Two checks: no sequential scan (every statement, both plan
 * modes), and, in the generic plan (the one the extension forces), no
 * statement sorts (load.c orders the sections' rows itself; only the items
 * come in ORDER BY order, and a "some" list of items may be sorted) or hash
 * joins.
 * The output shows booleans and the tables scanned, not plans, so it is
 * stable; when a check fails, the diff shows the plan nodes that broke it.
 *
 * The statement texts are copies of src/plans.c; a guard compares them with
 * the file (read with pg_read_file, so a superuser runs this test), so the
 * test fails when a query changes and its copy here does not, and another
 * compares the list of copies with the loading statements of src/plans.h,
 * so it fails when a load statement is added and not copied here.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\set plans_c :abs_srcdir '/src/plans.c'
\set plans_h :abs_srcdir '/src/plans.h'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS load_explain CASCADE;
CREATE SCHEMA load_explain;

-- The loader's statements, copied from src/plans.c.
CREATE TABLE load_explain.statements (name text PRIMARY KEY, ord integer NOT NULL, nargs integer NOT NULL, sql text NOT NULL);
INSERT INTO load_explain.statements (name, ord, nargs, sql) VALUES
('SI_PLAN_ITEMS_ALL', 1, 1,
 'SELECT a.id, a.associations_version'
 '  FROM service_items.appointment_types a'
 ' WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted'
 ' ORDER BY a.display_order, a.id'),
('SI_PLAN_ITEMS_SOME', 2, 2,
 'SELECT a.id, a.associations_version'
 '  FROM service_items.appointment_types a'
 ' WHERE a.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT a.is_deleted'
 '   AND a.id OPERATOR(pg_catalog.=) ANY ($2)'
 ' ORDER BY a.display_order, a.id'),
('SI_PLAN_PRACTITIONERS', 3, 1,
 'SELECT m.user_id FROM service_items.clinic_members m'
 ' WHERE m.clinic_id OPERATOR(pg_catalog.=) $1'
 ' AND m.is_active'
 ' AND m.roles OPERATOR(pg_catalog.@>) ''{practitioner}''::pg_catalog.text[]'
 ' ORDER BY m.user_id'),
('SI_PLAN_ASSIGNMENTS_ALL', 4, 1,
 'SELECT p.appointment_type_id, p.practitioner_id'
 '  FROM service_items.practitioner_appointment_types p'
 ' WHERE p.clinic_id OPERATOR(pg_catalog.=) $1'),
('SI_PLAN_ASSIGNMENTS_SOME', 5, 2,
 'SELECT p.appointment_type_id, p.practitioner_id'
 '  FROM service_items.practitioner_appointment_types p'
 ' WHERE p.clinic_id OPERATOR(pg_catalog.=) $1'
 '   AND p.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)'),
('SI_PLAN_BILLING_ALL', 6, 1,
 'SELECT b.appointment_type_id, b.practitioner_id, b.id,'
 '       b.is_default, b.amount, b.revenue_share, b.name'
 '  FROM service_items.billing_scenarios b'
 ' WHERE b.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT b.is_deleted'),
('SI_PLAN_BILLING_SOME', 7, 2,
 'SELECT b.appointment_type_id, b.practitioner_id, b.id,'
 '       b.is_default, b.amount, b.revenue_share, b.name'
 '  FROM service_items.billing_scenarios b'
 ' WHERE b.clinic_id OPERATOR(pg_catalog.=) $1 AND NOT b.is_deleted'
 '   AND b.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)'),
('SI_PLAN_RESOURCE_TYPES', 8, 1,
 'SELECT t.id, t.name FROM service_items.resource_types t'
 ' WHERE t.clinic_id OPERATOR(pg_catalog.=) $1'
 ' ORDER BY t.id'),
('SI_PLAN_RESOURCES_ALL', 9, 1,
 'SELECT r.appointment_type_id, r.id, r.resource_type_id, r.quantity'
 '  FROM service_items.appointment_resource_requirements r'
 ' WHERE r.clinic_id OPERATOR(pg_catalog.=) $1'),
('SI_PLAN_RESOURCES_SOME', 10, 2,
 'SELECT r.appointment_type_id, r.id, r.resource_type_id, r.quantity'
 '  FROM service_items.appointment_resource_requirements r'
 ' WHERE r.clinic_id OPERATOR(pg_catalog.=) $1'
 '   AND r.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)'),
('SI_PLAN_FOLLOW_UPS_ALL', 11, 1,
 'SELECT f.appointment_type_id, f.id, f.display_order, f.is_enabled,'
 '       f.timing_mode OPERATOR(pg_catalog.=) ''specific_time'','
 '       f.hours_after, f.days_after, f.time_of_day, f.message_template'
 '  FROM service_items.follow_up_messages f'
 ' WHERE f.clinic_id OPERATOR(pg_catalog.=) $1'),
('SI_PLAN_FOLLOW_UPS_SOME', 12, 2,
 'SELECT f.appointment_type_id, f.id, f.display_order, f.is_enabled,'
 '       f.timing_mode OPERATOR(pg_catalog.=) ''specific_time'','
 '       f.hours_after, f.days_after, f.time_of_day, f.message_template'
 '  FROM service_items.follow_up_messages f'
 ' WHERE f.clinic_id OPERATOR(pg_catalog.=) $1'
 '   AND f.appointment_type_id OPERATOR(pg_catalog.=) ANY ($2)');

-- The guard: each copy equals, up to whitespace, the C string literals of
-- its entry in src/plans.c (with string macros such as LIVE_PRACTITIONER
-- expanded), and takes the same number of parameters.
CREATE FUNCTION load_explain.c_statement(src text, name text, OUT sql text, OUT nargs integer)
LANGUAGE plpgsql AS $$
DECLARE
    block text;
    macro record;
BEGIN
    SELECT pg_catalog.string_agg(l.line, E'\n' ORDER BY l.n) INTO block
      FROM pg_catalog.regexp_split_to_table(src, E'\n') WITH ORDINALITY AS l(line, n)
     WHERE l.n > (SELECT pg_catalog.min(s.n) FROM pg_catalog.regexp_split_to_table(src, E'\n') WITH ORDINALITY AS s(line, n)
                   WHERE s.line ~ ('^\s*\[' || name || '\]\s*=\s*\{\s*$'))
       AND l.n < (SELECT pg_catalog.min(e.n) FROM pg_catalog.regexp_split_to_table(src, E'\n') WITH ORDINALITY AS e(line, n)
                   WHERE e.line ~ '^\s*\},?\s*$'
                     AND e.n > (SELECT pg_catalog.min(s.n) FROM pg_catalog.regexp_split_to_table(src, E'\n') WITH ORDINALITY AS s(line, n)
                                 WHERE s.line ~ ('^\s*\[' || name || '\]\s*=\s*\{\s*$')));
    IF block IS NULL THEN
        RETURN;
    END IF;
    FOR macro IN
        SELECT m[1] AS macro_name,
               (SELECT pg_catalog.string_agg(q[1], '') FROM pg_catalog.regexp_matches(m[2], '"((?:[^"\\]|\\.)*)"', 'g') q) AS value
          FROM pg_catalog.regexp_matches(src, E'#define (\\w+)[ \t]*\\\\\n((?:[^\n]*\\\\\n)*[^\n]*)', 'g') m
    LOOP
        block := pg_catalog.regexp_replace(block, '\m' || macro.macro_name || '\M', '"' || macro.value || '"', 'g');
    END LOOP;
    SELECT pg_catalog.string_agg(q[1], '') INTO sql
      FROM pg_catalog.regexp_matches(block, '"((?:[^"\\]|\\.)*)"', 'g') q;
    nargs := (pg_catalog.regexp_match(pg_catalog.regexp_replace(block, '"((?:[^"\\]|\\.)*)"', '', 'g'), '(\d+)\s*,\s*\{'))[1]::integer;
END
$$;
CREATE TABLE load_explain.plans_c AS SELECT pg_catalog.pg_read_file(:'plans_c') AS src;
SELECT s.name,
       pg_catalog.btrim(pg_catalog.regexp_replace(c.sql, '\s+', ' ', 'g'))
         = pg_catalog.btrim(pg_catalog.regexp_replace(s.sql, '\s+', ' ', 'g')) AS same_sql,
       c.nargs = s.nargs AS same_nargs
  FROM load_explain.statements s, load_explain.plans_c p, load_explain.c_statement(p.src, s.name) c
 ORDER BY s.ord;

-- Every loading statement of src/plans.h (the enum entries after its
-- "loading" comment, up to the next comment) has a copy here, and every copy
-- is one of them; on failure, the names missing on either side.
CREATE TABLE load_explain.plans_h AS
SELECT e.n, e.m[1] AS name
  FROM pg_catalog.regexp_matches(
         (pg_catalog.regexp_match(pg_catalog.pg_read_file(:'plans_h'), '/\*\s*loading\M[^*]*\*/([^/]*)/\*'))[1],
         '\m(SI_PLAN_\w+)', 'g') WITH ORDINALITY AS e(m, n);
SELECT pg_catalog.count(h.name) AS in_plans_h, pg_catalog.count(s.name) AS copied,
       pg_catalog.bool_and(h.name IS NOT NULL AND s.name IS NOT NULL) AS same_statements,
       pg_catalog.string_agg(h.name, ', ' ORDER BY h.n) FILTER (WHERE s.name IS NULL) AS not_copied,
       pg_catalog.string_agg(s.name, ', ' ORDER BY s.ord) FILTER (WHERE h.name IS NULL) AS not_in_plans_h
  FROM load_explain.plans_h h FULL JOIN load_explain.statements s USING (name);

-- Realistic data: the 1,000-item clinic is one of 201 clinics and holds
-- about a fifth of the rows.
SELECT service_items_demo.create_clinic(1000) AS target \gset
SELECT pg_catalog.count(service_items_demo.create_clinic(20)) AS other_clinics FROM pg_catalog.generate_series(1, 200);
ANALYZE service_items.clinics, service_items.clinic_members, service_items.resource_types,
        service_items.service_type_groups, service_items.appointment_types,
        service_items.practitioner_appointment_types, service_items.billing_scenarios,
        service_items.appointment_resource_requirements, service_items.follow_up_messages;

/*
 * plan(sql, nargs, clinic, ids, mode): the statement's plan (EXPLAIN FORMAT
 * JSON, COSTS OFF) under plan_cache_mode = mode.
 */
CREATE FUNCTION load_explain.plan(stmt text, nargs integer, clinic bigint, ids bigint[], mode text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    p jsonb;
BEGIN
    PERFORM pg_catalog.set_config('plan_cache_mode', mode, true);
    IF nargs = 1 THEN
        EXECUTE pg_catalog.format('PREPARE load_explain_stmt(bigint) AS %s', stmt);
        EXECUTE pg_catalog.format('EXPLAIN (FORMAT JSON, COSTS OFF) EXECUTE load_explain_stmt(%s)', clinic) INTO p;
    ELSE
        EXECUTE pg_catalog.format('PREPARE load_explain_stmt(bigint, bigint[]) AS %s', stmt);
        EXECUTE pg_catalog.format('EXPLAIN (FORMAT JSON, COSTS OFF) EXECUTE load_explain_stmt(%s, %L)', clinic, ids) INTO p;
    END IF;
    DEALLOCATE load_explain_stmt;
    PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);
    RETURN p;
END
$$;

/*
 * nodes(plan): every node of a plan, parents before their children: node
 * type, table (for heap scans), index, and sort key (for sorts).
 */
CREATE FUNCTION load_explain.nodes(p jsonb)
RETURNS TABLE (n bigint, node text, relation text, index text, sort_key text)
LANGUAGE sql AS $$
    SELECT x.n, x.v ->> 'Node Type', x.v ->> 'Relation Name', x.v ->> 'Index Name',
           (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_array_elements_text(x.v -> 'Sort Key') AS k)
      FROM pg_catalog.jsonb_path_query(p, 'strict $.**') WITH ORDINALITY AS x(v, n)
     WHERE pg_catalog.jsonb_typeof(x.v) = 'object' AND x.v ? 'Node Type'
$$;

/*
 * scans(sql, nargs, clinic, ids, mode): the scan nodes of the statement's
 * plan under plan_cache_mode = mode: node type, table (for heap scans) and
 * index.
 */
CREATE FUNCTION load_explain.scans(stmt text, nargs integer, clinic bigint, ids bigint[], mode text)
RETURNS TABLE (node text, relation text, index text)
LANGUAGE sql AS $$
    SELECT x.node, x.relation, x.index
      FROM load_explain.nodes(load_explain.plan(stmt, nargs, clinic, ids, mode)) x
     WHERE x.relation IS NOT NULL OR x.index IS NOT NULL
     ORDER BY x.n
$$;

-- Id lists for the "some" variants: a third of the items, and five.
SELECT pg_catalog.array_agg(id ORDER BY id) FILTER (WHERE rn % 3 = 1) AS third_ids,
       pg_catalog.array_agg(id ORDER BY id) FILTER (WHERE rn IN (2, 200, 400, 600, 800)) AS five_ids
  FROM (SELECT a.id, pg_catalog.row_number() OVER (ORDER BY a.id) AS rn
          FROM service_items.appointment_types a WHERE a.clinic_id = :target AND NOT a.is_deleted) a \gset

-- Every table is read through an index: index scans, index-only scans or
-- bitmap heap scans over index scans; no sequential scan.  "scans" names
-- the tables read, or, when the check fails, every scan node of the plan.
SELECT s.name, m.mode, CASE WHEN s.nargs = 2 THEN i.ids END AS ids,
       CASE WHEN pg_catalog.bool_and(x.node IN ('Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan'))
            THEN pg_catalog.string_agg(DISTINCT x.relation, ', ')
            ELSE pg_catalog.string_agg(x.node || COALESCE(' on ' || x.relation, '') || COALESCE(' using ' || x.index, ''), '; ')
       END AS scans,
       pg_catalog.bool_and(x.node IN ('Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan')) AS index_scans_only
  FROM load_explain.statements s,
       (VALUES (1, 'force_generic_plan'), (2, 'force_custom_plan')) AS m(o, mode),
       (VALUES (1, 'third', :'third_ids'::bigint[]), (2, 'five', :'five_ids'::bigint[])) AS i(o, ids, list),
       load_explain.scans(s.sql, s.nargs, :target, i.list, m.mode) x
 WHERE s.nargs = 2 OR i.o = 1
 GROUP BY s.name, s.ord, m.mode, m.o, i.ids, i.o
 ORDER BY s.ord, m.o, i.o;

-- The generic plan: the one the extension forces (CURSOR_OPT_GENERIC_PLAN).
-- load.c groups and orders the sections' rows itself, so
-- no "all" statement may sort (no Sort or Incremental Sort node) or hash
-- join: each streams its rows straight out of the index.  A "some" statement of the items (the document's order)
-- may sort the named items; none may hash join.  "reads" names the tables
-- read, or, when the check fails, every node of the plan, parents first.
SELECT s.name, CASE WHEN s.nargs = 2 THEN i.ids END AS ids,
       CASE WHEN pg_catalog.bool_and(x.node NOT IN ('Sort', 'Incremental Sort', 'Hash Join')
                                     OR (s.name ~ '_SOME$' AND x.node <> 'Hash Join'))
            THEN pg_catalog.string_agg(DISTINCT x.relation, ', ')
            ELSE pg_catalog.string_agg(x.node || COALESCE(' (' || x.sort_key || ')', '')
                                       || COALESCE(' on ' || x.relation, '') || COALESCE(' using ' || x.index, ''),
                                       '; ' ORDER BY x.n)
       END AS reads,
       pg_catalog.bool_and(x.node NOT IN ('Sort', 'Incremental Sort', 'Hash Join')
                           OR (s.name ~ '_SOME$' AND x.node <> 'Hash Join')) AS streams_in_order
  FROM load_explain.statements s,
       (VALUES (1, 'third', :'third_ids'::bigint[]), (2, 'five', :'five_ids'::bigint[])) AS i(o, ids, list),
       load_explain.nodes(load_explain.plan(s.sql, s.nargs, :target, i.list, 'force_generic_plan')) x
 WHERE (s.nargs = 2 OR i.o = 1) AND s.name ~ '_(ALL|SOME)$'
 GROUP BY s.name, s.ord, i.ids, i.o
 ORDER BY s.ord, i.o;

DROP SCHEMA load_explain CASCADE;
