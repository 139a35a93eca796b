/*
 * load_reference: service_items.bulk_load_associations equals, compared as
 * jsonb, a plain-SQL implementation of SPEC §4 written here
 * (load_reference.reference), over generated clinics of 0, 1, 50 and 1,000
 * items, with 0, 3 and 5 practitioners per item, every combination of the
 * include flags and several service_item_ids filters (NULL, empty, a subset
 * mixed with deleted, unknown, NULL, duplicate and other clinics' ids).
 * Rows written around the save (a staff member assigned, billing of an
 * unassigned practitioner) are added to one clinic.
 *
 * The streaming twin service_items.service_item_associations yields the
 * same objects (the same text, even) in the same order, one row per item,
 * with service_item_id matching the object's.
 *
 * Output shows booleans and counts only: clinic ids depend on what ran
 * before in this database.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS load_reference CASCADE;
CREATE SCHEMA load_reference;

-- practitioners(clinic, item): the item's assignments whose member is active
-- and has the practitioner role.
CREATE FUNCTION load_reference.practitioners(c bigint, item bigint)
RETURNS TABLE (practitioner_id bigint)
LANGUAGE sql STABLE
AS $$
    SELECT p.practitioner_id
      FROM service_items.practitioner_appointment_types p
      JOIN service_items.clinic_members m
        ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
     WHERE p.clinic_id = c AND p.appointment_type_id = item
       AND m.is_active AND 'practitioner' = ANY (m.roles)
$$;

/*
 * reference(...): SPEC §4 in plain SQL.  Items: live, of the clinic, in
 * (display_order, id) order, filtered by ids when given.  Practitioners: the
 * item's assignments whose member is active and has the practitioner role,
 * ascending.  Billing: the live scenarios of those practitioners, grouped by
 * practitioner (keys only for practitioners with at least one), by id.
 * Resources by id with the type's name; follow-ups by display_order, with
 * time_of_day as HH:MM.  revenue_share is shown (no authorization yet).
 * Excluded sections are absent.
 */
CREATE FUNCTION load_reference.reference(
    c bigint,
    ids bigint[] DEFAULT NULL,
    billing boolean DEFAULT true,
    resources boolean DEFAULT true,
    follow_ups boolean DEFAULT true)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
WITH items AS (
    SELECT a.id, a.associations_version, a.display_order
      FROM service_items.appointment_types a
     WHERE a.clinic_id = c AND NOT a.is_deleted
       AND (ids IS NULL OR a.id = ANY (ids))
)
SELECT pg_catalog.jsonb_build_object('associations', COALESCE(pg_catalog.jsonb_agg(o.obj ORDER BY i.display_order, i.id), '[]'))
  FROM items i
 CROSS JOIN LATERAL (
    SELECT pg_catalog.jsonb_build_object(
               'service_item_id', i.id,
               'version', i.associations_version,
               'practitioner_assignments',
               COALESCE((SELECT pg_catalog.jsonb_agg(p.practitioner_id ORDER BY p.practitioner_id)
                           FROM load_reference.practitioners(c, i.id) p), '[]'))
           || CASE WHEN billing THEN pg_catalog.jsonb_build_object('billing_scenarios',
               COALESCE((SELECT pg_catalog.jsonb_object_agg(s.practitioner_id::text, s.scenarios)
                           FROM (SELECT b.practitioner_id,
                                        pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                            'id', b.id, 'name', b.name,
                                            'amount', pg_catalog.trim_scale(b.amount),
                                            'revenue_share', pg_catalog.trim_scale(b.revenue_share),
                                            'is_default', b.is_default) ORDER BY b.id) AS scenarios
                                   FROM service_items.billing_scenarios b
                                  WHERE b.clinic_id = c AND b.appointment_type_id = i.id AND NOT b.is_deleted
                                    AND b.practitioner_id IN (SELECT p.practitioner_id
                                                                FROM load_reference.practitioners(c, i.id) p)
                                  GROUP BY b.practitioner_id) s), '{}'))
               ELSE '{}' END
           || CASE WHEN resources THEN pg_catalog.jsonb_build_object('resource_requirements',
               COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                    'id', r.id, 'resource_type_id', r.resource_type_id,
                                    'resource_type_name', t.name, 'quantity', r.quantity) ORDER BY r.id)
                           FROM service_items.appointment_resource_requirements r
                           JOIN service_items.resource_types t ON t.clinic_id = r.clinic_id AND t.id = r.resource_type_id
                          WHERE r.clinic_id = c AND r.appointment_type_id = i.id), '[]'))
               ELSE '{}' END
           || CASE WHEN follow_ups THEN pg_catalog.jsonb_build_object('follow_up_messages',
               COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                    'id', f.id, 'timing_mode', f.timing_mode,
                                    'hours_after', f.hours_after, 'days_after', f.days_after,
                                    'time_of_day', pg_catalog.to_char(f.time_of_day, 'HH24:MI'),
                                    'message_template', f.message_template,
                                    'is_enabled', f.is_enabled, 'display_order', f.display_order)
                                    ORDER BY f.display_order)
                           FROM service_items.follow_up_messages f
                          WHERE f.clinic_id = c AND f.appointment_type_id = i.id), '[]'))
               ELSE '{}' END AS obj
 ) o
$$;

/*
 * check(...) compares the loader with the reference for one call, and the
 * streaming twin with the document: same number of rows, same ids, same
 * object text, in the same order.
 */
CREATE FUNCTION load_reference.check(
    c bigint, ids bigint[], billing boolean, resources boolean, follow_ups boolean,
    OUT equal boolean, OUT twin_equal boolean, OUT items integer)
LANGUAGE sql STABLE
AS $$
WITH doc AS (
    SELECT service_items.bulk_load_associations(c, ids, billing, resources, follow_ups) AS d
),
elems AS (
    SELECT e, n FROM doc, pg_catalog.json_array_elements(doc.d -> 'associations') WITH ORDINALITY AS x(e, n)
),
twin AS (
    SELECT t.service_item_id, t.associations, t.n
      FROM service_items.service_item_associations(c, ids, billing, resources, follow_ups)
           WITH ORDINALITY AS t(service_item_id, associations, n)
)
SELECT (SELECT doc.d::jsonb = load_reference.reference(c, ids, billing, resources, follow_ups) FROM doc),
       (SELECT pg_catalog.count(*) FROM twin) = (SELECT pg_catalog.count(*) FROM elems)
       AND NOT EXISTS (SELECT FROM elems FULL JOIN twin ON twin.n = elems.n
                        WHERE twin.n IS NULL OR elems.n IS NULL
                           OR twin.associations::text IS DISTINCT FROM elems.e::text
                           OR twin.service_item_id IS DISTINCT FROM (elems.e ->> 'service_item_id')::bigint),
       (SELECT pg_catalog.count(*)::integer FROM elems)
$$;

CREATE TABLE load_reference.clinics (shape text PRIMARY KEY, id bigint NOT NULL, ord integer NOT NULL);
INSERT INTO load_reference.clinics VALUES
    ('0 items', service_items_demo.create_clinic(0), 1),
    ('1 item', service_items_demo.create_clinic(1), 2),
    ('50 items', service_items_demo.create_clinic(50), 3),
    ('50 items, 0 practitioners per item', service_items_demo.create_clinic(50, 0), 4),
    ('50 items, 5 practitioners per item', service_items_demo.create_clinic(50, 5), 5),
    ('1000 items', service_items_demo.create_clinic(1000), 6);

-- Rows the save would never write, but that must still load per the rules:
-- on the 50-item clinic, a staff member assigned with billing scenarios and
-- billing of an active practitioner who is not assigned; and an item whose
-- only practitioner is that staff member.
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
SELECT id, 77, 'Staff with billing', '{staff}' FROM load_reference.clinics WHERE shape = '50 items';
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
SELECT a.clinic_id, a.id, 77
  FROM service_items.appointment_types a JOIN load_reference.clinics c ON c.id = a.clinic_id
 WHERE c.shape = '50 items' AND a.display_order % 3 = 0;
INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
SELECT a.clinic_id, a.id, 77, 'Staff rate', 1, 0.5
  FROM service_items.appointment_types a JOIN load_reference.clinics c ON c.id = a.clinic_id
 WHERE c.shape = '50 items' AND a.display_order % 3 = 0;
INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
SELECT a.clinic_id, a.id, m.user_id, 'Not assigned rate', 2, 1
  FROM service_items.appointment_types a JOIN load_reference.clinics c ON c.id = a.clinic_id
  JOIN service_items.clinic_members m ON m.clinic_id = a.clinic_id AND m.is_active AND m.roles @> '{practitioner}'
 WHERE c.shape = '50 items' AND a.display_order % 5 = 0
   AND NOT EXISTS (SELECT FROM service_items.practitioner_appointment_types p
                    WHERE p.clinic_id = a.clinic_id AND p.appointment_type_id = a.id AND p.practitioner_id = m.user_id);
-- those rows exist, and the loader hides them
SELECT pg_catalog.count(*) > 0 AS staff_rows,
       NOT pg_catalog.jsonb_path_exists(service_items.bulk_load_associations(c.id)::jsonb,
                                        '$.associations[*] ? (@.practitioner_assignments[*] == 77
                                                              || @.billing_scenarios.keyvalue().key == "77"
                                                              || @.billing_scenarios.*[*].name == "Staff rate"
                                                              || @.billing_scenarios.*[*].name == "Not assigned rate")') AS hidden
  FROM load_reference.clinics c
  JOIN service_items.billing_scenarios b ON b.clinic_id = c.id AND b.name IN ('Staff rate', 'Not assigned rate')
 WHERE c.shape = '50 items'
 GROUP BY c.id;

-- The reference is not vacuous: it sees every section on the bigger clinics.
SELECT c.shape,
       pg_catalog.jsonb_array_length(r -> 'associations') AS items,
       pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(r, '$.associations[*].practitioner_assignments[*]')) AS assignments,
       pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(r, '$.associations[*].billing_scenarios.*[*]')) AS scenarios,
       pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(r, '$.associations[*].resource_requirements[*]')) AS resources,
       pg_catalog.jsonb_array_length(pg_catalog.jsonb_path_query_array(r, '$.associations[*].follow_up_messages[*]')) AS follow_ups
  FROM load_reference.clinics c, load_reference.reference(c.id) r
 ORDER BY c.ord;

-- Every clinic, every combination of the include flags, whole clinic.
SELECT c.shape, pg_catalog.count(*) AS calls,
       pg_catalog.bool_and(x.equal) AS equal, pg_catalog.bool_and(x.twin_equal) AS twin_equal,
       pg_catalog.min(x.items) AS items
  FROM load_reference.clinics c,
       (VALUES (true), (false)) AS b(billing), (VALUES (true), (false)) AS r(resources),
       (VALUES (true), (false)) AS f(follow_ups),
       load_reference.check(c.id, NULL, b.billing, r.resources, f.follow_ups) x
 GROUP BY c.shape, c.ord
 ORDER BY c.ord;

-- service_item_ids filters: a third of the live items mixed with deleted
-- items, another clinic's items, unknown ids, NULLs and duplicates; only the
-- deleted and foreign ones; one item; empty.
CREATE TABLE load_reference.filters AS
SELECT c.id AS clinic_id, c.shape, c.ord, f.name, f.n,
       CASE f.name
         WHEN 'third' THEN
           (SELECT pg_catalog.array_agg(a.id ORDER BY a.id DESC)
              FROM (SELECT a.id, a.is_deleted, pg_catalog.row_number() OVER (ORDER BY a.id) AS rn
                      FROM service_items.appointment_types a WHERE a.clinic_id = c.id) a
             WHERE a.is_deleted OR a.rn % 3 = 1)
           || (SELECT pg_catalog.array_agg(a.id) FROM service_items.appointment_types a
                WHERE a.clinic_id <> c.id AND a.clinic_id IN (SELECT id FROM load_reference.clinics) AND a.display_order % 7 = 0)
           || '{-1,0,NULL,9223372036854775807}'::bigint[]
           || (SELECT pg_catalog.array_agg(a.id ORDER BY a.id)
                 FROM (SELECT a.id, pg_catalog.row_number() OVER (ORDER BY a.id) AS rn
                         FROM service_items.appointment_types a WHERE a.clinic_id = c.id AND NOT a.is_deleted) a
                WHERE a.rn % 6 = 1)
         WHEN 'deleted and foreign' THEN
           (SELECT pg_catalog.array_agg(a.id) FROM service_items.appointment_types a
             WHERE (a.clinic_id = c.id AND a.is_deleted)
                OR (a.clinic_id <> c.id AND a.clinic_id IN (SELECT id FROM load_reference.clinics)))
         WHEN 'one' THEN
           (SELECT pg_catalog.array_agg(a.id) FROM (SELECT a.id FROM service_items.appointment_types a
                                                      WHERE a.clinic_id = c.id AND NOT a.is_deleted
                                                      ORDER BY a.id LIMIT 1) a)
         WHEN 'empty' THEN '{}'::bigint[]
       END AS ids
  FROM load_reference.clinics c,
       (VALUES ('third', 1), ('deleted and foreign', 2), ('one', 3), ('empty', 4)) AS f(name, n);

SELECT x.shape, x.name AS filter, pg_catalog.count(*) AS calls,
       pg_catalog.bool_and(y.equal) AS equal, pg_catalog.bool_and(y.twin_equal) AS twin_equal,
       pg_catalog.min(y.items) AS items
  FROM load_reference.filters x,
       (VALUES (true, true, true), (true, false, false), (false, true, false),
               (false, false, true), (false, false, false)) AS f(billing, resources, follow_ups),
       load_reference.check(x.clinic_id, x.ids, f.billing, f.resources, f.follow_ups) y
 GROUP BY x.shape, x.ord, x.name, x.n
 ORDER BY x.ord, x.n;

-- A filter naming every live item gives the whole document, and the subset
-- filter gives exactly the whole document's objects for those items.
SELECT c.shape,
       service_items.bulk_load_associations(c.id,
           (SELECT pg_catalog.array_agg(a.id) FROM service_items.appointment_types a WHERE a.clinic_id = c.id))::text
       = service_items.bulk_load_associations(c.id)::text AS all_ids_same_text,
       (SELECT pg_catalog.bool_and(s.e::text = w.e::text) AND pg_catalog.count(*) > 0
          FROM pg_catalog.json_array_elements(service_items.bulk_load_associations(c.id, x.ids) -> 'associations') s(e)
          JOIN pg_catalog.json_array_elements(service_items.bulk_load_associations(c.id) -> 'associations') w(e)
            ON (w.e ->> 'service_item_id') = (s.e ->> 'service_item_id')) AS subset_same_text
  FROM load_reference.clinics c JOIN load_reference.filters x ON x.shape = c.shape AND x.name = 'third'
 WHERE c.ord > 1
 ORDER BY c.ord;

DROP SCHEMA load_reference CASCADE;
