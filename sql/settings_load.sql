/*
 * settings_load: service_items.load_service_settings (issue 8), the whole
 * settings page in one document.
 *
 * Checks:
 *   - the page document equals, compared as jsonb, the union of its separate
 *     pieces: "clinic", "service_type_groups", "service_items",
 *     "practitioners" and "resource_types" each equal a plain SQL query over
 *     the tables, and "associations" equals bulk_load_associations(clinic)
 *     -> 'associations' (also as text, byte for byte); for generated clinics
 *     of 0, 10 and 1,000 items, a clinic with nothing but its row, and a
 *     hand-made clinic whose document is printed in full (keys in order,
 *     compact JSON);
 *   - what the page leaves out: soft-deleted items, inactive members and
 *     members who are not practitioners, another clinic's rows; items by
 *     (display_order, id), ties broken by id; an item in no group has
 *     "service_type_group_id": null;
 *   - an unknown clinic gives "clinic": null and empty lists; a NULL
 *     clinic_id raises 22004;
 *   - the load writes nothing: it runs in a READ ONLY transaction and the
 *     clinic's checksum (every row with its xmin) is unchanged;
 *   - the number of statements a load runs does not grow with the number of
 *     items: counted with pg_stat_statements (track = all, so the
 *     statements run through SPI inside the function count too) for 0, 10
 *     and 1,000 items: nine, one per table read (clinic, groups, items,
 *     practitioners, assignments, billing, resource types, resources,
 *     follow-ups), each run once, also on a second call (kept plans); a
 *     clinic without items or an unknown clinic runs no more.
 *
 * Calls run as superuser without request.jwt.claims (authorization is
 * tested in settings_authz).  Generated clinics' ids depend on what ran
 * before in the database and are never printed; the hand-made clinic uses
 * explicit ids from 8,100,000 up.
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

DROP SCHEMA IF EXISTS settings_load CASCADE;
CREATE SCHEMA settings_load;

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- pieces(clinic): the page document built from plain SQL, piece by piece,
-- as issue 8 defines it.
CREATE FUNCTION settings_load.pieces(c bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object(
    'clinic', (SELECT jsonb_build_object('id', x.id, 'name', x.name)
                 FROM service_items.clinics x WHERE x.id = c),
    'service_type_groups', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name,
                                            'display_order', g.display_order)
                         ORDER BY g.display_order, g.id)
          FROM service_items.service_type_groups g WHERE g.clinic_id = c), '[]'),
    'service_items', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name,
                                            'service_type_group_id', a.service_type_group_id,
                                            'duration_minutes', a.duration_minutes,
                                            'display_order', a.display_order,
                                            'version', a.associations_version)
                         ORDER BY a.display_order, a.id)
          FROM service_items.appointment_types a
         WHERE a.clinic_id = c AND NOT a.is_deleted), '[]'),
    'practitioners', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('id', m.user_id, 'name', m.full_name)
                         ORDER BY m.user_id)
          FROM service_items.clinic_members m
         WHERE m.clinic_id = c AND m.is_active AND 'practitioner' = ANY (m.roles)), '[]'),
    'resource_types', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name) ORDER BY t.id)
          FROM service_items.resource_types t WHERE t.clinic_id = c), '[]'),
    'associations', service_items.bulk_load_associations(c)::jsonb -> 'associations')
$$;

-- compare(clinic): each piece of the page against its plain-SQL twin.
CREATE FUNCTION settings_load.compare(c bigint)
RETURNS TABLE (piece text, equal boolean, elements integer)
LANGUAGE sql AS $$
WITH page AS (SELECT service_items.load_service_settings(c) AS d),
     ref AS (SELECT settings_load.pieces(c) AS r)
SELECT k, (page.d::jsonb -> k) = (ref.r -> k),
       CASE jsonb_typeof(ref.r -> k) WHEN 'array' THEN jsonb_array_length(ref.r -> k) END
  FROM page, ref,
       unnest(ARRAY['clinic', 'service_type_groups', 'service_items', 'practitioners',
                    'resource_types', 'associations']) WITH ORDINALITY AS u(k, n)
 ORDER BY n
$$;

-- sqlstate_of(sql): 'SQLSTATE: message', or 'no error'.
CREATE FUNCTION settings_load.sqlstate_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

/*
 * measure(call): resets the statistics, runs call, and returns how many
 * statement executions (calls) of how many distinct statements (queries)
 * touched a service_items table, leaving out the call itself and this
 * function's own statements.
 */
CREATE FUNCTION settings_load.measure(call text, OUT calls bigint, OUT queries bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.pg_stat_statements_reset();
    EXECUTE call;
    SELECT COALESCE(pg_catalog.sum(s.calls), 0), pg_catalog.count(*)
      INTO calls, queries
      FROM public.pg_stat_statements(true) s
     WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
       AND s.query ~ 'service_items\.(clinics|clinic_members|resource_types|service_type_groups|appointment_types|practitioner_appointment_types|billing_scenarios|appointment_resource_requirements|follow_up_messages|association_audit)\M'
       AND s.query !~ '(load_service_settings|pg_stat_statements)';
END
$$;

---------------------------------------------------------------------------
-- A hand-made clinic (8100001) and a neighbour (8100002), rows inserted
-- out of id order.
--   groups: 8100032 "Empty" (order 0), then 8100031 "Massage" and
--           8100033 "Physio" (both order 1: the id breaks the tie)
--   items: 8100041 and 8100042 (order 1, a tie), 8100043 (order 2, in
--          no group), 8100044 soft-deleted (order 0); the neighbour's 8100049
--   members: 8100101 practitioner, 8100102 admin+practitioner,
--            8100103 inactive practitioner, 8100104 staff, 8100105 admin;
--            the neighbour's 8100109
--   resource types 8100022, 8100021; the neighbour's 8100029
---------------------------------------------------------------------------
DELETE FROM service_items.clinics WHERE id IN (8100001, 8100002, 8100003);
INSERT INTO service_items.clinics (id, name) VALUES
    (8100002, 'Neighbour'), (8100001, E'Hand-made "clinic" \\ 诊所\t1');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active) VALUES
    (8100001, 8100104, 'Front desk', '{staff}', true),
    (8100001, 8100102, 'Dr. "B"', '{admin,practitioner}', true),
    (8100001, 8100101, E'Dr. A\\Z', '{practitioner}', true),
    (8100001, 8100103, 'Former', '{practitioner}', false),
    (8100001, 8100105, 'Owner', '{admin}', true),
    (8100002, 8100109, 'Neighbour doctor', '{practitioner}', true);
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (8100001, 8100022, 'Table'), (8100001, 8100021, E'Room\t"1"'),
    (8100002, 8100029, 'Neighbour room');
INSERT INTO service_items.service_type_groups (clinic_id, id, name, display_order) VALUES
    (8100001, 8100033, 'Physio', 1), (8100001, 8100031, 'Massage', 1),
    (8100001, 8100032, 'Empty', 0), (8100002, 8100039, 'Neighbour group', 0);
INSERT INTO service_items.appointment_types
    (clinic_id, id, service_type_group_id, name, duration_minutes, display_order,
     is_deleted, associations_version) VALUES
    (8100001, 8100043, NULL, 'Consult', 15, 2, false, 1),
    (8100001, 8100042, 8100033, 'Physio session', 30, 1, false, 7),
    (8100001, 8100041, 8100031, E'Massage \\ 按摩', 60, 1, false, 3),
    (8100001, 8100044, 8100031, 'Deleted item', 45, 0, true, 2),
    (8100002, 8100049, 8100039, 'Neighbour item', 30, 0, false, 1);
INSERT INTO service_items.practitioner_appointment_types
    (clinic_id, appointment_type_id, practitioner_id) VALUES
    (8100001, 8100041, 8100102), (8100001, 8100041, 8100101),
    (8100001, 8100041, 8100103), (8100001, 8100042, 8100101),
    (8100001, 8100044, 8100101), (8100002, 8100049, 8100109);
INSERT INTO service_items.billing_scenarios
    (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share,
     is_default, is_deleted, deleted_at) VALUES
    (8100001, 8100302, 8100041, 8100101, 'Member', 90.5, 40, false, false, NULL),
    (8100001, 8100301, 8100041, 8100101, 'Standard', 100, 80, true, false, NULL),
    (8100001, 8100303, 8100041, 8100102, 'Standard', 120, 0, true, false, NULL),
    (8100001, 8100304, 8100041, 8100101, 'Old', 10, 1, false, true, now()),
    (8100001, 8100305, 8100041, 8100103, 'Former rate', 10, 1, false, false, NULL),
    (8100001, 8100306, 8100042, 8100101, 'Standard', 55.55, 5, true, false, NULL);
INSERT INTO service_items.appointment_resource_requirements
    (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (8100001, 8100402, 8100041, 8100021, 2), (8100001, 8100401, 8100041, 8100022, 1);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, is_enabled, display_order) VALUES
    (8100001, 8100502, 8100041, 'specific_time', NULL, 1, '09:30', E'See you\n"tomorrow"', true, 2),
    (8100001, 8100501, 8100041, 'hours_after', 24, NULL, NULL, 'Thanks', false, 1);
-- A clinic with nothing but its row.
INSERT INTO service_items.clinics (id, name) VALUES (8100003, 'Bare clinic');

---------------------------------------------------------------------------
-- 1. The hand-made clinic's document, in full: compact JSON, keys in the
-- documented order, groups and items by (display_order, id), only active
-- practitioners, live items, the neighbour's rows nowhere.
---------------------------------------------------------------------------
SELECT service_items.load_service_settings(8100001) AS doc \gset
SELECT k AS top_level_key FROM json_object_keys(:'doc'::json) WITH ORDINALITY AS x(k, n) ORDER BY n;
SELECT :'doc'::json -> 'clinic' AS clinic;
SELECT n, e AS service_type_group FROM json_array_elements(:'doc'::json -> 'service_type_groups') WITH ORDINALITY AS x(e, n);
SELECT n, e AS service_item FROM json_array_elements(:'doc'::json -> 'service_items') WITH ORDINALITY AS x(e, n);
SELECT n, e AS practitioner FROM json_array_elements(:'doc'::json -> 'practitioners') WITH ORDINALITY AS x(e, n);
SELECT n, e AS resource_type FROM json_array_elements(:'doc'::json -> 'resource_types') WITH ORDINALITY AS x(e, n);
SELECT n, e AS association FROM json_array_elements(:'doc'::json -> 'associations') WITH ORDINALITY AS x(e, n);
SELECT position('Neighbour' IN :'doc') = 0 AS no_neighbour_text,
       position('8100049' IN :'doc') = 0 AND position('8100109' IN :'doc') = 0
       AND position('8100029' IN :'doc') = 0 AND position('8100039' IN :'doc') = 0 AS no_neighbour_ids,
       position('8100044' IN :'doc') = 0 AS no_deleted_item,
       position('Former' IN :'doc') = 0 AS no_inactive_practitioner;

-- The same document, piece by piece, against plain SQL.
SELECT * FROM settings_load.compare(8100001);
-- "associations" is bulk_load_associations' array, byte for byte.
SELECT (:'doc'::json -> 'associations')::text
       = (service_items.bulk_load_associations(8100001) -> 'associations')::text AS associations_same_text;

---------------------------------------------------------------------------
-- 2. Generated clinics: 0 items (a group, practitioners and resource types
-- but no item), 10 and 1,000 items (soft-deleted items, an inactive
-- practitioner assigned here and there, ties in display_order, quotes,
-- backslashes, tabs, newlines and Chinese text), and the bare clinic.
---------------------------------------------------------------------------
CREATE TABLE settings_load.clinics (items integer PRIMARY KEY, id bigint NOT NULL);
INSERT INTO settings_load.clinics
SELECT n, service_items_demo.create_clinic(n) FROM (VALUES (0), (10), (1000)) AS v(n);
INSERT INTO settings_load.clinics VALUES (-1, 8100003);

SELECT CASE c.items WHEN -1 THEN 'bare clinic' ELSE c.items || ' items' END AS clinic,
       x.piece, x.equal, x.elements
  FROM settings_load.clinics c, settings_load.compare(c.id) x
 ORDER BY c.items, x.piece;

SELECT CASE c.items WHEN -1 THEN 'bare clinic' ELSE c.items || ' items' END AS clinic,
       (service_items.load_service_settings(c.id) -> 'associations')::text
       = (service_items.bulk_load_associations(c.id) -> 'associations')::text AS associations_same_text,
       service_items.load_service_settings(c.id)::jsonb = settings_load.pieces(c.id) AS whole_document_equal
  FROM settings_load.clinics c
 ORDER BY c.items;

-- The generated 1,000-item clinic has what the page must leave out.
SELECT (SELECT count(*) FROM service_items.appointment_types a
         WHERE a.clinic_id = c.id AND a.is_deleted) AS deleted_items_in_table,
       (SELECT count(*) FROM json_array_elements(service_items.load_service_settings(c.id) -> 'service_items')) AS items_on_page,
       (SELECT count(*) FROM service_items.clinic_members m
         WHERE m.clinic_id = c.id AND NOT (m.is_active AND 'practitioner' = ANY (m.roles))) AS members_not_shown,
       (SELECT count(*) FROM json_array_elements(service_items.load_service_settings(c.id) -> 'practitioners')) AS practitioners_on_page,
       (SELECT count(*) FROM (SELECT display_order FROM service_items.appointment_types a
                               WHERE a.clinic_id = c.id AND NOT a.is_deleted
                               GROUP BY display_order HAVING count(*) > 1) t) > 0 AS has_ties
  FROM settings_load.clinics c WHERE c.items = 1000;

---------------------------------------------------------------------------
-- 3. An unknown clinic: "clinic": null and every list empty.  NULL: 22004.
---------------------------------------------------------------------------
SELECT service_items.load_service_settings(8199999) AS unknown_clinic;
SELECT settings_load.sqlstate_of('SELECT service_items.load_service_settings(NULL)') AS null_clinic;

---------------------------------------------------------------------------
-- 4. The load writes nothing: it runs in a READ ONLY transaction, and the
-- checksum (every row with its xmin) does not move.
---------------------------------------------------------------------------
SELECT service_items_demo.clinic_checksum(8100001) AS checksum_before \gset
BEGIN TRANSACTION READ ONLY;
SELECT service_items.load_service_settings(8100001)::text = :'doc' AS read_only_load_same;
COMMIT;
SELECT service_items_demo.clinic_checksum(8100001) = :'checksum_before' AS checksum_unchanged;

---------------------------------------------------------------------------
-- 5. Statements per load: the same for 10 and 1,000 items, and for a
-- second call (kept plans): nine, one per table read, each run once.
---------------------------------------------------------------------------
CREATE TABLE settings_load.counts (n serial, label text, items integer, calls bigint, queries bigint);
INSERT INTO settings_load.counts (label, items, calls, queries)
SELECT x.label, c.items, m.calls, m.queries
  FROM (VALUES (1, 'first call'), (2, 'second call')) AS x(o, label),
       settings_load.clinics c,
       settings_load.measure(format('SELECT service_items.load_service_settings(%s)', c.id)) m
 WHERE c.items >= 0
 ORDER BY x.o, c.items;
SELECT label, items, calls, queries FROM settings_load.counts ORDER BY n;
-- Flat from 10 to 1,000 items; a clinic without items skips the
-- association queries (nothing to read them for).
SELECT count(DISTINCT calls) FILTER (WHERE items > 0) = 1 AS flat,
       max(calls) FILTER (WHERE items > 0) AS calls_per_load,
       max(queries) FILTER (WHERE items > 0) AS distinct_statements,
       max(calls) FILTER (WHERE items = 0) <= 9 AS no_items_at_most_nine
  FROM settings_load.counts;

-- The measurement sees statements run inside a function: the generator's.
SELECT calls > 10 AS generator_counted
  FROM settings_load.measure('SELECT service_items_demo.create_clinic(3, 1, ''settings_load probe'')');
DELETE FROM service_items.clinics WHERE name = 'settings_load probe';

-- An unknown clinic runs no more than a known one.
SELECT calls <= 9 AS unknown_clinic_at_most_nine
  FROM settings_load.measure('SELECT service_items.load_service_settings(8199999)');

DELETE FROM service_items.clinics WHERE id IN (SELECT id FROM settings_load.clinics);
DELETE FROM service_items.clinics WHERE id IN (8100001, 8100002, 8100003);
DROP SCHEMA settings_load CASCADE;
