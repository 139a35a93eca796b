-- test/units.sql: pgTAP unit checks of the demo-data generator
-- (tools/demo_data.sql): service_items_demo.create_clinic and
-- service_items_demo.clinic_checksum.
--
-- The demo, the regression tests and the benchmark all build on these
-- clinics, so what the generator promises in its header is pinned here:
-- row counts of a 20-item clinic (the design document's 20 items x 3
-- practitioners), the shape of its data, and determinism (two clinics of
-- the same size are the same clinic up to their ids).
-- Everything runs in one transaction that rolls back.

BEGIN;
SELECT plan(46);

SET LOCAL search_path = public, pg_catalog;

SELECT has_function('service_items_demo', 'create_clinic', ARRAY['integer', 'integer', 'text'],
                    'service_items_demo.create_clinic(n_items, practitioners_per_item, clinic_name) exists');
SELECT has_function('service_items_demo', 'clinic_checksum', ARRAY['bigint'],
                    'service_items_demo.clinic_checksum(clinic_id) exists');

CREATE TEMP TABLE demo (name text PRIMARY KEY, clinic_id bigint NOT NULL) ON COMMIT DROP;
INSERT INTO demo VALUES
    ('a', service_items_demo.create_clinic(20)),
    ('b', service_items_demo.create_clinic(20)),
    ('empty', service_items_demo.create_clinic(0)),
    ('solo', service_items_demo.create_clinic(5, 0, 'Solo clinic'));

-- row_count(table, clinic [, where]): rows of one clinic in one table.
CREATE FUNCTION pg_temp.row_count(tbl text, c bigint, cond text DEFAULT 'true')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM service_items.%I t WHERE t.clinic_id = $1 AND (%s)', tbl, cond)
       INTO n USING c;
    RETURN n;
END
$$;

------------------------------------------------------------------------
-- A 20-item clinic with 3 practitioners per item: row counts
------------------------------------------------------------------------

SELECT is((SELECT name FROM service_items.clinics WHERE id = (SELECT clinic_id FROM demo WHERE name = 'a')),
          'Demo clinic (20 items)', 'the clinic gets a default name');
SELECT is((SELECT name FROM service_items.clinics WHERE id = (SELECT clinic_id FROM demo WHERE name = 'solo')),
          'Solo clinic', 'clinic_name names the clinic');

-- 6 practitioners (2 per item slot), a front desk, an owner, a former practitioner.
SELECT is(pg_temp.row_count('clinic_members', clinic_id), 9::bigint, '20x3: 9 members')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('clinic_members', clinic_id,
                            $c$t.is_active AND 'practitioner' = ANY (t.roles)$c$), 6::bigint,
          '20x3: 6 active practitioners')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('clinic_members', clinic_id,
                            $c$NOT t.is_active AND 'practitioner' = ANY (t.roles)$c$), 1::bigint,
          '20x3: 1 former (inactive) practitioner')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('clinic_members', clinic_id,
                            $c$NOT ('practitioner' = ANY (t.roles))$c$), 2::bigint,
          '20x3: 2 members who are not practitioners (staff, admin)')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('resource_types', clinic_id), 5::bigint, '20x3: 5 resource types')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('service_type_groups', clinic_id), 2::bigint, '20x3: 2 groups (one per 10 items)')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('appointment_types', clinic_id, 'NOT t.is_deleted'), 20::bigint, '20x3: 20 live items')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('appointment_types', clinic_id, 't.is_deleted'), 1::bigint, '20x3: 1 soft-deleted item (5%)')
  FROM demo WHERE name = 'a';
-- 21 items, every 11th without associations: 20 x 3 pairs, plus the former
-- practitioner on every 7th item (7, 14, 21).
SELECT is(pg_temp.row_count('practitioner_appointment_types', clinic_id), 63::bigint,
          '20x3: 63 practitioner-item rows (60 active, 3 of the former practitioner)')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('billing_scenarios', clinic_id), 138::bigint,
          '20x3: 138 billing scenarios (2 live per pair, every 5th pair an old one)')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('billing_scenarios', clinic_id, 't.is_deleted'), 12::bigint,
          '20x3: 12 of them soft-deleted')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('appointment_resource_requirements', clinic_id), 40::bigint,
          '20x3: 40 resource requirements (2 per item with associations)')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('follow_up_messages', clinic_id), 45::bigint,
          '20x3: 45 follow-up messages')
  FROM demo WHERE name = 'a';
SELECT is(pg_temp.row_count('association_audit', clinic_id), 0::bigint, '20x3: no audit rows')
  FROM demo WHERE name = 'a';

------------------------------------------------------------------------
-- The shape of the data
------------------------------------------------------------------------

-- Per live item: how many active practitioners offer it.
CREATE TEMP VIEW live_item_practitioners AS
SELECT a.clinic_id, a.id,
       count(m.user_id) AS active_practitioners,
       count(*) FILTER (WHERE m.user_id IS NULL AND p.practitioner_id IS NOT NULL) AS inactive_practitioners
  FROM service_items.appointment_types a
  LEFT JOIN service_items.practitioner_appointment_types p
         ON p.clinic_id = a.clinic_id AND p.appointment_type_id = a.id
  LEFT JOIN service_items.clinic_members m
         ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
        AND m.is_active AND 'practitioner' = ANY (m.roles)
 WHERE NOT a.is_deleted
 GROUP BY a.clinic_id, a.id;

SELECT results_eq(
    $$SELECT active_practitioners, count(*) FROM live_item_practitioners
       WHERE clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
       GROUP BY 1 ORDER BY 1$$,
    $$VALUES (0::bigint, 1::bigint), (3, 19)$$,
    '20x3: 19 live items with exactly 3 active practitioners, 1 with none (N x M = 57 loaded pairs)');
SELECT is((SELECT count(*) FROM live_item_practitioners
            WHERE clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a') AND inactive_practitioners > 0),
          2::bigint, '20x3: the former practitioner is still assigned to 2 live items');

SELECT is_empty(
    $$SELECT p.appointment_type_id, p.practitioner_id
        FROM service_items.practitioner_appointment_types p
        LEFT JOIN service_items.billing_scenarios b
               ON b.clinic_id = p.clinic_id AND b.appointment_type_id = p.appointment_type_id
              AND b.practitioner_id = p.practitioner_id AND NOT b.is_deleted
       WHERE p.clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
       GROUP BY 1, 2
      HAVING count(b.id) <> 2 OR count(b.id) FILTER (WHERE b.is_default) <> 1$$,
    'every pair has 2 live billing scenarios, exactly one of them the default');
SELECT is_empty(
    $$SELECT b.id FROM service_items.billing_scenarios b
       WHERE b.clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
         AND b.revenue_share > b.amount$$,
    'no revenue_share exceeds its amount');
SELECT results_eq(
    $$SELECT timing_mode, count(*) FROM service_items.follow_up_messages
       WHERE clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
       GROUP BY 1 ORDER BY 1$$,
    $$VALUES ('hours_after'::text, 25::bigint), ('specific_time', 20)$$,
    'follow-ups of both timing modes');
SELECT is_empty(
    $$SELECT a.id FROM service_items.appointment_types a
       WHERE a.clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
         AND (SELECT count(*) FROM service_items.appointment_resource_requirements r
               WHERE r.clinic_id = a.clinic_id AND r.appointment_type_id = a.id) NOT IN (0, 2)$$,
    'every item has 0 or 2 resource requirements');
SELECT ok((SELECT count(*) FROM service_items.appointment_types
            WHERE clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a')
            GROUP BY display_order ORDER BY count(*) DESC LIMIT 1) > 1,
          'display_order has ties, so that ids must break them');

-- Hostile text: quotes, backslashes, newlines, tabs and Chinese.
CREATE TEMP VIEW demo_texts AS
SELECT b.clinic_id, b.name AS t FROM service_items.billing_scenarios b
UNION ALL SELECT a.clinic_id, a.name FROM service_items.appointment_types a
UNION ALL SELECT r.clinic_id, r.name FROM service_items.resource_types r
UNION ALL SELECT f.clinic_id, f.message_template FROM service_items.follow_up_messages f;

SELECT ok(EXISTS (SELECT 1 FROM demo_texts
                   WHERE clinic_id = (SELECT clinic_id FROM demo WHERE name = 'a') AND strpos(t, ch) > 0),
          format('the generated texts contain %s', what))
  FROM (VALUES ('"', 'a double quote'), ('''', 'a single quote'), (E'\\', 'a backslash'),
               (E'\n', 'a newline'), (E'\t', 'a tab'), ('会员价', 'Chinese text')) AS v(ch, what);

------------------------------------------------------------------------
-- What the loader sees of it
------------------------------------------------------------------------

CREATE TEMP TABLE docs ON COMMIT DROP AS
SELECT name, clinic_id, service_items.bulk_load_associations(clinic_id)::jsonb AS doc FROM demo;

SELECT results_eq(
    $$SELECT jsonb_array_length(d.doc->'associations'),
             (SELECT sum(jsonb_array_length(e->'practitioner_assignments'))
                FROM jsonb_array_elements(d.doc->'associations') e),
             (SELECT sum(jsonb_array_length(s.value))
                FROM jsonb_array_elements(d.doc->'associations') e, jsonb_each(e->'billing_scenarios') s),
             (SELECT sum(jsonb_array_length(e->'resource_requirements'))
                FROM jsonb_array_elements(d.doc->'associations') e),
             (SELECT sum(jsonb_array_length(e->'follow_up_messages'))
                FROM jsonb_array_elements(d.doc->'associations') e)
        FROM docs d WHERE d.name = 'a'$$,
    $$VALUES (20, 57::bigint, 114::bigint, 38::bigint, 43::bigint)$$,
    '20x3 document: 20 items, 57 assignments, 114 live scenarios, 38 resources, 43 follow-ups');

------------------------------------------------------------------------
-- Determinism: two clinics of the same size are the same up to their ids
------------------------------------------------------------------------

-- table_shape(clinic): every row of the clinic without ids or timestamps;
-- item, resource type and group ids become their rank within the clinic,
-- practitioner ids their offset from clinic_id * 1000.
CREATE FUNCTION pg_temp.table_shape(c bigint) RETURNS SETOF text LANGUAGE sql AS $$
    WITH items AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
          FROM service_items.appointment_types WHERE clinic_id = c),
    types AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
          FROM service_items.resource_types WHERE clinic_id = c),
    groups AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
          FROM service_items.service_type_groups WHERE clinic_id = c)
    SELECT * FROM (
        SELECT format('member %s %s %s %s', m.user_id - c * 1000, m.full_name, m.roles, m.is_active)
          FROM service_items.clinic_members m WHERE m.clinic_id = c
        UNION ALL
        SELECT format('type %s %s', t.n, r.name)
          FROM service_items.resource_types r JOIN types t ON t.id = r.id WHERE r.clinic_id = c
        UNION ALL
        SELECT format('group %s %s %s', g.n, s.name, s.display_order)
          FROM service_items.service_type_groups s JOIN groups g ON g.id = s.id WHERE s.clinic_id = c
        UNION ALL
        SELECT format('item %s %s %s %s %s %s %s', i.n, g.n, a.name, a.duration_minutes, a.display_order,
                      a.is_deleted, a.associations_version)
          FROM service_items.appointment_types a JOIN items i ON i.id = a.id
          LEFT JOIN groups g ON g.id = a.service_type_group_id
         WHERE a.clinic_id = c
        UNION ALL
        SELECT format('pair %s %s', i.n, p.practitioner_id - c * 1000)
          FROM service_items.practitioner_appointment_types p JOIN items i ON i.id = p.appointment_type_id
         WHERE p.clinic_id = c
        UNION ALL
        SELECT format('billing %s %s %s %s %s %s %s', i.n, b.practitioner_id - c * 1000, b.name, b.amount,
                      b.revenue_share, b.is_default, b.is_deleted)
          FROM service_items.billing_scenarios b JOIN items i ON i.id = b.appointment_type_id
         WHERE b.clinic_id = c
        UNION ALL
        SELECT format('resource %s %s %s', i.n, t.n, q.quantity)
          FROM service_items.appointment_resource_requirements q
          JOIN items i ON i.id = q.appointment_type_id JOIN types t ON t.id = q.resource_type_id
         WHERE q.clinic_id = c
        UNION ALL
        SELECT format('follow-up %s %s %s %s %s %s %s %s', i.n, f.timing_mode, f.hours_after, f.days_after,
                      f.time_of_day, f.message_template, f.is_enabled, f.display_order)
          FROM service_items.follow_up_messages f JOIN items i ON i.id = f.appointment_type_id
         WHERE f.clinic_id = c) AS rows(r)
    ORDER BY r
$$;

-- doc_shape(doc, clinic): the load document without ids, in document order.
CREATE FUNCTION pg_temp.doc_shape(doc jsonb, c bigint) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('%s %s', i, e->'version')
      FROM jsonb_array_elements(doc->'associations') WITH ORDINALITY AS a(e, i)
    UNION ALL
    SELECT format('%s assigned %s', i, p::bigint - c * 1000)
      FROM jsonb_array_elements(doc->'associations') WITH ORDINALITY AS a(e, i),
           jsonb_array_elements_text(e->'practitioner_assignments') WITH ORDINALITY AS x(p, j)
    UNION ALL
    SELECT format('%s billing %s %s %s', i, k::bigint - c * 1000, j, s - 'id')
      FROM jsonb_array_elements(doc->'associations') WITH ORDINALITY AS a(e, i),
           jsonb_each(e->'billing_scenarios') AS b(k, v),
           jsonb_array_elements(v) WITH ORDINALITY AS x(s, j)
    UNION ALL
    SELECT format('%s resource %s %s', i, j, r - 'id' - 'resource_type_id')
      FROM jsonb_array_elements(doc->'associations') WITH ORDINALITY AS a(e, i),
           jsonb_array_elements(e->'resource_requirements') WITH ORDINALITY AS x(r, j)
    UNION ALL
    SELECT format('%s follow-up %s %s', i, j, f - 'id')
      FROM jsonb_array_elements(doc->'associations') WITH ORDINALITY AS a(e, i),
           jsonb_array_elements(e->'follow_up_messages') WITH ORDINALITY AS x(f, j)
$$;

SELECT ok((SELECT count(*) FROM pg_temp.table_shape((SELECT clinic_id FROM demo WHERE name = 'a'))) > 300,
          'the table shape of a 20-item clinic is not trivially small');
SELECT results_eq(
    $$SELECT * FROM pg_temp.table_shape((SELECT clinic_id FROM demo WHERE name = 'a'))$$,
    $$SELECT * FROM pg_temp.table_shape((SELECT clinic_id FROM demo WHERE name = 'b'))$$,
    'two 20-item clinics have the same rows, up to their ids');
SELECT ok((SELECT count(*) FROM pg_temp.doc_shape((SELECT doc FROM docs WHERE name = 'a'),
                                                  (SELECT clinic_id FROM demo WHERE name = 'a'))) > 250,
          'the document shape of a 20-item clinic is not trivially small');
SELECT set_eq(
    $$SELECT * FROM pg_temp.doc_shape((SELECT doc FROM docs WHERE name = 'a'), (SELECT clinic_id FROM demo WHERE name = 'a'))$$,
    $$SELECT * FROM pg_temp.doc_shape((SELECT doc FROM docs WHERE name = 'b'), (SELECT clinic_id FROM demo WHERE name = 'b'))$$,
    'two 20-item clinics load to the same document, up to their ids');

------------------------------------------------------------------------
-- Edge sizes and arguments
------------------------------------------------------------------------

SELECT is((SELECT doc FROM docs WHERE name = 'empty'), '{"associations": []}'::jsonb,
          'create_clinic(0): a clinic with no items loads as {"associations": []}');
SELECT is(pg_temp.row_count('clinic_members', clinic_id), 9::bigint,
          'create_clinic(0): still has its 9 members')
  FROM demo WHERE name = 'empty';
SELECT results_eq(
    $$SELECT pg_temp.row_count('appointment_types', clinic_id, 'NOT t.is_deleted'),
             pg_temp.row_count('practitioner_appointment_types', clinic_id),
             pg_temp.row_count('billing_scenarios', clinic_id),
             pg_temp.row_count('appointment_resource_requirements', clinic_id)
        FROM demo WHERE name = 'solo'$$,
    $$VALUES (5::bigint, 0::bigint, 0::bigint, 10::bigint)$$,
    'create_clinic(5, 0): 5 live items, no practitioners assigned, no billing, resources still');
SELECT throws_ok($$SELECT service_items_demo.create_clinic(-1)$$, 'P0001',
                 'n_items and practitioners_per_item must not be negative',
                 'create_clinic(-1) is refused');

------------------------------------------------------------------------
-- clinic_checksum
------------------------------------------------------------------------

CREATE TEMP TABLE sums ON COMMIT DROP AS
SELECT name, service_items_demo.clinic_checksum(clinic_id) AS sum FROM demo;

SELECT matches((SELECT sum FROM sums WHERE name = 'a'), '^[0-9a-f]{32}$', 'clinic_checksum is an md5');
SELECT is(service_items_demo.clinic_checksum(clinic_id), (SELECT sum FROM sums WHERE name = 'a'),
          'clinic_checksum is stable while nothing changes')
  FROM demo WHERE name = 'a';
SELECT isnt((SELECT sum FROM sums WHERE name = 'a'), (SELECT sum FROM sums WHERE name = 'b'),
            'two clinics of the same shape have different checksums (ids differ)');
SELECT lives_ok(format($$UPDATE service_items.follow_up_messages SET is_enabled = is_enabled
                         WHERE clinic_id = %s AND display_order = 1$$,
                       (SELECT clinic_id FROM demo WHERE name = 'a')),
                'rewrite rows of clinic a without changing a value');
SELECT isnt(service_items_demo.clinic_checksum(clinic_id), (SELECT sum FROM sums WHERE name = 'a'),
            'clinic_checksum notices a rewrite that changes no value (xmin)')
  FROM demo WHERE name = 'a';
SELECT is(service_items_demo.clinic_checksum(clinic_id), (SELECT sum FROM sums WHERE name = 'b'),
          'the other clinic''s checksum is untouched')
  FROM demo WHERE name = 'b';

SELECT * FROM finish();
ROLLBACK;
