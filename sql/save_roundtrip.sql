/*
 * save_roundtrip: what bulk_save_associations writes (SPEC §5), seen
 * through the load (SPEC §4).
 *
 * Checks:
 *   - load -> payload -> save, on a generated clinic (quotes, backslashes,
 *     tabs, newlines, Chinese text, hidden inactive practitioners and their
 *     scenarios, soft-deleted rows) and on the hand-made one: validate says
 *     valid, every count is "unchanged", the response's associations are
 *     the load, and the clinic checksum (every row with its xmin) is
 *     identical: no row written, no version bumped, no audit row;
 *   - a set of edits on a hand-made clinic: remove a practitioner (its
 *     scenarios soft-deleted, counted as deleted), assign one with a new
 *     scenario, rename two scenarios at once and move the default, amounts,
 *     a requirement updated by id, one matched on resource_type_id, one
 *     inserted, follow-ups reordered and retimed into the other mode, one
 *     added, and every row of a section removed with [] (an item's
 *     practitioners, requirements, follow-ups).  The load afterwards equals
 *     an expected document written out below (ids as labels, new rows'
 *     labels resolved by natural key in the tables); the response's
 *     associations equal that load (so the returned ids are the stored
 *     ones); the per-section counts; associations_version +1 for the
 *     changed items only (not for an item named only in expected_versions);
 *     exactly which rows were written (xmin) and which were not; one audit
 *     row with the changed items and the counts;
 *   - a second save on the result: a name freed and reused in one save,
 *     two scenarios swapping names and the default, two requirements
 *     swapping resource types, a follow-up taking a deleted one's place;
 *     then the load sent back again changes nothing.
 *
 * Calls run as superuser without request.jwt.claims.  Scenario,
 * requirement and follow-up ids come from the identity sequences and are
 * shown as labels only.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS save_roundtrip CASCADE;
CREATE SCHEMA save_roundtrip;

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- to_payload(document) turns a loaded document into a save payload as it
-- is: "<item>" and "<item>-<practitioner>" keys, every loaded object
-- unchanged (ids, resource_type_name, the other timing mode's nulls), and
-- the loaded versions as expected_versions.
CREATE FUNCTION save_roundtrip.to_payload(doc jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'practitioner_assignments', coalesce(jsonb_object_agg(a ->> 'service_item_id', a -> 'practitioner_assignments'), '{}'),
        'billing_scenarios', coalesce((SELECT jsonb_object_agg((i ->> 'service_item_id') || '-' || b.key, b.value)
                                         FROM jsonb_array_elements(doc -> 'associations') i,
                                              jsonb_each(i -> 'billing_scenarios') b), '{}'),
        'resource_requirements', coalesce(jsonb_object_agg(a ->> 'service_item_id', a -> 'resource_requirements'), '{}'),
        'follow_up_messages', coalesce(jsonb_object_agg(a ->> 'service_item_id', a -> 'follow_up_messages'), '{}'),
        'expected_versions', coalesce(jsonb_object_agg(a ->> 'service_item_id', a -> 'version'), '{}'))
      FROM jsonb_array_elements(doc -> 'associations') a
$$;

-- row_counts(document): the rows a document shows, per section.
CREATE FUNCTION save_roundtrip.row_counts(doc jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'practitioner_assignments', (SELECT count(*) FROM jsonb_array_elements(doc -> 'associations') a,
                                                          jsonb_array_elements(a -> 'practitioner_assignments')),
        'billing_scenarios', (SELECT count(*) FROM jsonb_array_elements(doc -> 'associations') a,
                                                   jsonb_each(a -> 'billing_scenarios') b, jsonb_array_elements(b.value)),
        'resource_requirements', (SELECT count(*) FROM jsonb_array_elements(doc -> 'associations') a,
                                                       jsonb_array_elements(a -> 'resource_requirements')),
        'follow_up_messages', (SELECT count(*) FROM jsonb_array_elements(doc -> 'associations') a,
                                                    jsonb_array_elements(a -> 'follow_up_messages')))
$$;

-- all_unchanged(changes, counts) tells whether a save's counts are all
-- "unchanged" and match the rows of each section.
CREATE FUNCTION save_roundtrip.all_unchanged(changes jsonb, counts jsonb) RETURNS boolean
LANGUAGE sql AS $$
    SELECT bool_and(c.value = jsonb_build_object('inserted', 0, 'updated', 0, 'deleted', 0,
                                                 'unchanged', counts -> c.key))
           AND count(*) = 4
      FROM jsonb_each(changes) c
$$;

-- Labels of the hand-made clinic's generated ids: fill() puts ids in
-- place of "@label" strings, unfill() shows ids as "@label".
CREATE TABLE save_roundtrip.ids (label text PRIMARY KEY, id bigint NOT NULL, tbl text NOT NULL);
CREATE FUNCTION save_roundtrip.fill(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t text := doc::text;
    r record;
BEGIN
    FOR r IN SELECT label, id FROM save_roundtrip.ids LOOP
        t := replace(t, '"@' || r.label || '"', r.id::text);
    END LOOP;
    IF t ~ '"@' THEN
        RAISE EXCEPTION 'unresolved label in %', t;
    END IF;
    RETURN t::jsonb;
END
$$;
CREATE FUNCTION save_roundtrip.unfill(doc json) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t text := doc::text;
    r record;
BEGIN
    FOR r IN SELECT label, id FROM save_roundtrip.ids LOOP
        t := regexp_replace(t, '"id": ?' || r.id || '([,}])', '"id":"@' || r.label || '"\1', 'g');
    END LOOP;
    RETURN t;
END
$$;

-- items(document): one item per row, as the loader wrote it, ids as labels.
CREATE FUNCTION save_roundtrip.items(doc json) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT save_roundtrip.unfill(a) FROM json_array_elements(doc -> 'associations') WITH ORDINALITY AS x(a, o) ORDER BY o
$$;

-- rows(clinic): every row of the clinic with its xmin, named by label.
CREATE FUNCTION save_roundtrip.rows(c bigint)
RETURNS TABLE (tbl text, name text, row_xmin text, content text)
LANGUAGE sql AS $$
    SELECT 'appointment_types', 'item ' || x.id, x.xmin::text, (x.*)::text
      FROM service_items.appointment_types x WHERE x.clinic_id = c
    UNION ALL
    SELECT 'practitioner_appointment_types', x.appointment_type_id || '/' || x.practitioner_id, x.xmin::text, (x.*)::text
      FROM service_items.practitioner_appointment_types x WHERE x.clinic_id = c
    UNION ALL
    SELECT 'billing_scenarios', coalesce(l.label, 'unlabelled ' || x.name), x.xmin::text, (x.*)::text
      FROM service_items.billing_scenarios x LEFT JOIN save_roundtrip.ids l ON l.tbl = 'billing' AND l.id = x.id
     WHERE x.clinic_id = c
    UNION ALL
    SELECT 'appointment_resource_requirements', coalesce(l.label, 'unlabelled ' || x.resource_type_id), x.xmin::text, (x.*)::text
      FROM service_items.appointment_resource_requirements x LEFT JOIN save_roundtrip.ids l ON l.tbl = 'resource' AND l.id = x.id
     WHERE x.clinic_id = c
    UNION ALL
    SELECT 'follow_up_messages', coalesce(l.label, 'unlabelled ' || x.display_order), x.xmin::text, (x.*)::text
      FROM service_items.follow_up_messages x LEFT JOIN save_roundtrip.ids l ON l.tbl = 'follow_up' AND l.id = x.id
     WHERE x.clinic_id = c
    UNION ALL
    SELECT 'association_audit', 'audit row of items ' || x.service_item_ids::text, x.xmin::text, (x.*)::text
      FROM service_items.association_audit x WHERE x.clinic_id = c
    UNION ALL
    SELECT 'other', 'clinic, members, resource types, groups',
           md5(string_agg(t, ',' ORDER BY t)), ''
      FROM (SELECT x.xmin || (x.*)::text FROM service_items.clinics x WHERE x.id = c
            UNION ALL SELECT x.xmin || (x.*)::text FROM service_items.clinic_members x WHERE x.clinic_id = c
            UNION ALL SELECT x.xmin || (x.*)::text FROM service_items.resource_types x WHERE x.clinic_id = c
            UNION ALL SELECT x.xmin || (x.*)::text FROM service_items.service_type_groups x WHERE x.clinic_id = c) AS o(t)
$$;

-- written(): what happened to each row since save_roundtrip.before was
-- taken: inserted, deleted, or rewritten (new xmin); rows not listed were
-- not written at all.
CREATE TABLE save_roundtrip.before AS SELECT * FROM save_roundtrip.rows(0);
CREATE FUNCTION save_roundtrip.written(c bigint)
RETURNS TABLE (tbl text, name text, what text)
LANGUAGE sql AS $$
    SELECT coalesce(a.tbl, b.tbl), coalesce(a.name, b.name),
           CASE WHEN b.name IS NULL THEN 'inserted'
                WHEN a.name IS NULL THEN 'deleted'
                ELSE 'rewritten' END
      FROM save_roundtrip.rows(c) a
      FULL JOIN save_roundtrip.before b ON a.tbl = b.tbl AND a.name = b.name
     WHERE a.row_xmin IS DISTINCT FROM b.row_xmin
     ORDER BY 1, 2
$$;

---------------------------------------------------------------------------
-- 1. Round trip on a generated clinic: nothing is written.
---------------------------------------------------------------------------
SELECT service_items_demo.create_clinic(300) AS gen \gset
SELECT service_items.bulk_load_associations(:gen)::text AS gen_doc,
       service_items_demo.clinic_checksum(:gen) AS gen_before \gset
SELECT save_roundtrip.row_counts(:'gen_doc') AS rows_in_the_document;
SELECT save_roundtrip.to_payload(:'gen_doc') AS gen_payload \gset
SELECT service_items.validate_associations(:gen, :'gen_payload') AS verdict;
SELECT service_items.bulk_save_associations(:gen, :'gen_payload')::text AS gen_response \gset
SELECT save_roundtrip.all_unchanged(:'gen_response'::jsonb -> 'changes', save_roundtrip.row_counts(:'gen_doc')) AS all_unchanged,
       (:'gen_response'::json -> 'associations')::text = (:'gen_doc'::json -> 'associations')::text AS response_is_the_load,
       service_items_demo.clinic_checksum(:gen) = :'gen_before' AS checksum_unchanged,
       (SELECT count(*) FROM service_items.association_audit WHERE clinic_id = :gen) AS audit_rows;
-- Some items only, some sections only: still nothing written.
SELECT service_items.bulk_save_associations(:gen, jsonb_build_object(
           'follow_up_messages', :'gen_payload'::jsonb -> 'follow_up_messages',
           'billing_scenarios', :'gen_payload'::jsonb -> 'billing_scenarios')) -> 'changes' AS changes;
SELECT service_items_demo.clinic_checksum(:gen) = :'gen_before' AS checksum_unchanged;
DELETE FROM service_items.clinics WHERE id = :gen;     -- not needed any more

---------------------------------------------------------------------------
-- The hand-made clinic (7200001).
--   practitioners 201, 202, 203; 204 inactive (still assigned to 21, with
--   a live scenario: both hidden); resource types 31 Room, 32 Table,
--   33 Laser.
--   items (display order): 21 Massage v5, 22 Physio v2, 23 Acupuncture v1,
--   24 Untouched v7, 25 Versions only v1.
---------------------------------------------------------------------------
DELETE FROM service_items.clinics WHERE id = 7200001;
INSERT INTO service_items.clinics (id, name) VALUES (7200001, 'Round-trip clinic');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active) VALUES
    (7200001, 201, 'Dr. A', '{practitioner}', true),
    (7200001, 202, 'Dr. B', '{admin,practitioner}', true),
    (7200001, 203, 'Dr. C', '{practitioner}', true),
    (7200001, 204, 'Former', '{practitioner}', false);
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (7200001, 31, 'Room'), (7200001, 32, 'Table'), (7200001, 33, 'Laser');
INSERT INTO service_items.appointment_types
    (clinic_id, id, name, duration_minutes, display_order, associations_version) VALUES
    (7200001, 21, 'Massage', 60, 1, 5), (7200001, 22, 'Physio', 30, 2, 2),
    (7200001, 23, 'Acupuncture', 45, 3, 1), (7200001, 24, 'Untouched', 30, 4, 7),
    (7200001, 25, 'Versions only', 30, 5, 1);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id) VALUES
    (7200001, 21, 201), (7200001, 21, 202), (7200001, 21, 204), (7200001, 22, 201),
    (7200001, 23, 202), (7200001, 23, 203), (7200001, 24, 201), (7200001, 25, 203);
WITH v(pos, label, item, practitioner, name, amount, share, is_default, is_deleted) AS (VALUES
    (1, 'b1', 21, 201, 'Standard', 100, 80, true, false),
    (2, 'b2', 21, 201, 'Member', 90, 70, false, false),
    (3, 'b3', 21, 202, 'Standard', 120, 100, true, false),
    (4, 'b4', 21, 202, 'Child', 60, 30, false, false),
    (5, 'b5', 21, 204, 'Hidden', 10, 1, false, false),
    (6, 'b6', 22, 201, 'Standard', 50, 10, true, false),
    (7, 'b7', 23, 202, 'Standard', 30, 0, true, false),
    (8, 'b8', 23, 203, 'Standard', 30, 0, true, false),
    (9, 'b9', 24, 201, 'Standard', 40, 5, true, false),
    (10, 'b_old', 21, 201, 'Old rate', 10, 1, false, true),
    (11, 'b_25', 25, 203, 'Standard', 20, 0, true, false)),
ins AS (
    INSERT INTO service_items.billing_scenarios
        (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share, is_default, is_deleted, deleted_at)
    SELECT 7200001, item, practitioner, name, amount, share, is_default, is_deleted,
           CASE WHEN is_deleted THEN now() END
      FROM v ORDER BY pos
    RETURNING id, appointment_type_id, practitioner_id, name)
INSERT INTO save_roundtrip.ids
SELECT v.label, ins.id, 'billing' FROM ins JOIN v ON (v.item, v.practitioner, v.name) = (ins.appointment_type_id, ins.practitioner_id, ins.name);
WITH v(pos, label, item, type, quantity) AS (VALUES
    (1, 'r1', 21, 31, 1), (2, 'r2', 21, 32, 2), (3, 'r3', 22, 33, 1),
    (4, 'r4', 23, 31, 3), (5, 'r5', 24, 32, 1), (6, 'r6', 25, 31, 1)),
ins AS (
    INSERT INTO service_items.appointment_resource_requirements (clinic_id, appointment_type_id, resource_type_id, quantity)
    SELECT 7200001, item, type, quantity FROM v ORDER BY pos
    RETURNING id, appointment_type_id, resource_type_id)
INSERT INTO save_roundtrip.ids
SELECT v.label, ins.id, 'resource' FROM ins JOIN v ON (v.item, v.type) = (ins.appointment_type_id, ins.resource_type_id);
WITH v(pos, label, item, mode, hours, days, tod, template, enabled, ord) AS (VALUES
    (1, 'f1', 21, 'hours_after', 2, NULL, NULL::time, 'Thanks', true, 1),
    (2, 'f2', 21, 'specific_time', NULL, 1, '09:00', 'Reminder', false, 2),
    (3, 'f3', 22, 'hours_after', 24, NULL, NULL, 'Check-in', true, 1),
    (4, 'f4', 23, 'hours_after', 1, NULL, NULL, 'A', true, 1),
    (5, 'f5', 23, 'hours_after', 2, NULL, NULL, 'B', true, 2),
    (6, 'f6', 24, 'hours_after', 1, NULL, NULL, 'Untouched', true, 1),
    (7, 'f7', 25, 'specific_time', NULL, 0, '20:00', 'Tonight', true, 1)),
ins AS (
    INSERT INTO service_items.follow_up_messages
        (clinic_id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day, message_template, is_enabled, display_order)
    SELECT 7200001, item, mode, hours, days, tod, template, enabled, ord FROM v ORDER BY pos
    RETURNING id, appointment_type_id, display_order)
INSERT INTO save_roundtrip.ids
SELECT v.label, ins.id, 'follow_up' FROM ins JOIN v ON (v.item, v.ord) = (ins.appointment_type_id, ins.display_order);
SELECT tbl, count(*) AS labelled FROM save_roundtrip.ids GROUP BY tbl ORDER BY tbl;

-- The clinic as loaded.
\pset format unaligned
SELECT save_roundtrip.items(service_items.bulk_load_associations(7200001)) AS item;
\pset format aligned

---------------------------------------------------------------------------
-- 2. Round trip on the hand-made clinic: nothing is written (the hidden
-- assignment and scenario of 204 stay as they are too).
---------------------------------------------------------------------------
SELECT service_items.bulk_load_associations(7200001)::text AS doc0,
       service_items_demo.clinic_checksum(7200001) AS checksum0 \gset
SELECT service_items.bulk_save_associations(7200001, save_roundtrip.to_payload(:'doc0'))::text AS response0 \gset
SELECT :'response0'::jsonb -> 'changes' AS changes;
SELECT save_roundtrip.all_unchanged(:'response0'::jsonb -> 'changes', save_roundtrip.row_counts(:'doc0')) AS all_unchanged,
       (:'response0'::json -> 'associations')::text = (:'doc0'::json -> 'associations')::text AS response_is_the_load,
       service_items_demo.clinic_checksum(7200001) = :'checksum0' AS checksum_unchanged,
       (SELECT count(*) FROM service_items.association_audit WHERE clinic_id = 7200001) AS audit_rows;

---------------------------------------------------------------------------
-- 3. A set of edits.
--   21: 202 off (its Standard and Child soft-deleted), 203 on with a new
--       Standard; Member renamed Standard (the default, 90.5) while
--       Standard becomes Legacy, in one save; a new Student scenario;
--       requirement r1 quantity 4 (by id), r2 as it was (with a
--       resource_type_name, ignored), Laser added; follow-ups swap
--       display_order and timing mode (f2 becomes hours_after 48 with the
--       other mode's members null, f1 specific_time day 3 at 18:30).
--   22: scenario b6 sent again with 50.00 (unchanged), requirements [],
--       f3 sent again (unchanged), a new follow-up Tonight.
--   23: practitioners [] (both scenarios soft-deleted), follow-ups [],
--       requirement of type 31 without id: matched, quantity 5.
--   25: only in expected_versions.  24: not named.
---------------------------------------------------------------------------
TRUNCATE save_roundtrip.before;
INSERT INTO save_roundtrip.before SELECT * FROM save_roundtrip.rows(7200001);
SELECT save_roundtrip.fill('{
  "practitioner_assignments": {"21": [201, 203], "23": []},
  "billing_scenarios": {
    "21-201": [{"id": "@b2", "name": "Standard", "amount": 90.5, "revenue_share": 70, "is_default": true},
               {"id": "@b1", "name": "Legacy", "amount": 100, "revenue_share": 80, "is_default": false},
               {"name": "Student", "amount": 40, "revenue_share": 20}],
    "21-203": [{"name": "Standard", "amount": 110, "revenue_share": 90, "is_default": true}],
    "22-201": [{"id": "@b6", "name": "Standard", "amount": 50.00, "revenue_share": 10, "is_default": true}]},
  "resource_requirements": {
    "21": [{"id": "@r1", "resource_type_id": 31, "quantity": 4},
           {"id": "@r2", "resource_type_id": 32, "resource_type_name": "whatever", "quantity": 2},
           {"resource_type_id": 33, "quantity": 1}],
    "22": [],
    "23": [{"resource_type_id": 31, "quantity": 5}]},
  "follow_up_messages": {
    "21": [{"id": "@f2", "timing_mode": "hours_after", "hours_after": 48, "days_after": null, "time_of_day": null,
            "message_template": "Reminder", "is_enabled": false, "display_order": 1},
           {"id": "@f1", "timing_mode": "specific_time", "hours_after": null, "days_after": 3, "time_of_day": "18:30",
            "message_template": "Thanks", "display_order": 2}],
    "22": [{"id": "@f3", "timing_mode": "hours_after", "hours_after": 24, "message_template": "Check-in",
            "is_enabled": true, "display_order": 1},
           {"timing_mode": "specific_time", "days_after": 0, "time_of_day": "20:00", "message_template": "Tonight",
            "display_order": 2}],
    "23": []},
  "expected_versions": {"21": 5, "25": 1}}') AS edits \gset
SELECT service_items.validate_associations(7200001, :'edits') AS verdict;
SELECT service_items.bulk_save_associations(7200001, :'edits')::text AS response1 \gset
SELECT :'response1'::jsonb -> 'changes' AS changes;

-- The new rows, found by their natural keys.
INSERT INTO save_roundtrip.ids
SELECT 'new_student', id, 'billing' FROM service_items.billing_scenarios
 WHERE clinic_id = 7200001 AND appointment_type_id = 21 AND practitioner_id = 201 AND name = 'Student' AND NOT is_deleted
UNION ALL
SELECT 'new_203', id, 'billing' FROM service_items.billing_scenarios
 WHERE clinic_id = 7200001 AND appointment_type_id = 21 AND practitioner_id = 203 AND NOT is_deleted
UNION ALL
SELECT 'new_laser', id, 'resource' FROM service_items.appointment_resource_requirements
 WHERE clinic_id = 7200001 AND appointment_type_id = 21 AND resource_type_id = 33
UNION ALL
SELECT 'new_tonight', id, 'follow_up' FROM service_items.follow_up_messages
 WHERE clinic_id = 7200001 AND appointment_type_id = 22 AND display_order = 2;
SELECT n.tbl, count(*) AS new_rows, bool_and(n.id > (SELECT max(o.id) FROM save_roundtrip.ids o
                                                     WHERE o.tbl = n.tbl AND o.label !~ '^new')) AS ids_above_the_old_ones
  FROM save_roundtrip.ids n
 WHERE n.label ~ '^new'
 GROUP BY n.tbl ORDER BY n.tbl;

-- The load, item by item.
\pset format unaligned
SELECT save_roundtrip.items(service_items.bulk_load_associations(7200001)) AS item;
\pset format aligned

-- It is exactly the expected document, and the response's associations are
-- that load for the named items 21, 22, 23, 25 (so its ids are the stored
-- ones).  Versions: 21, 22, 23 +1; 25 named but unchanged; 24 untouched.
SELECT save_roundtrip.fill('{"associations": [
  {"service_item_id": 21, "version": 6, "practitioner_assignments": [201, 203],
   "billing_scenarios": {
     "201": [{"id": "@b1", "name": "Legacy", "amount": 100, "revenue_share": 80, "is_default": false},
             {"id": "@b2", "name": "Standard", "amount": 90.5, "revenue_share": 70, "is_default": true},
             {"id": "@new_student", "name": "Student", "amount": 40, "revenue_share": 20, "is_default": false}],
     "203": [{"id": "@new_203", "name": "Standard", "amount": 110, "revenue_share": 90, "is_default": true}]},
   "resource_requirements": [
     {"id": "@r1", "resource_type_id": 31, "resource_type_name": "Room", "quantity": 4},
     {"id": "@r2", "resource_type_id": 32, "resource_type_name": "Table", "quantity": 2},
     {"id": "@new_laser", "resource_type_id": 33, "resource_type_name": "Laser", "quantity": 1}],
   "follow_up_messages": [
     {"id": "@f2", "timing_mode": "hours_after", "hours_after": 48, "days_after": null, "time_of_day": null,
      "message_template": "Reminder", "is_enabled": false, "display_order": 1},
     {"id": "@f1", "timing_mode": "specific_time", "hours_after": null, "days_after": 3, "time_of_day": "18:30",
      "message_template": "Thanks", "is_enabled": true, "display_order": 2}]},
  {"service_item_id": 22, "version": 3, "practitioner_assignments": [201],
   "billing_scenarios": {
     "201": [{"id": "@b6", "name": "Standard", "amount": 50, "revenue_share": 10, "is_default": true}]},
   "resource_requirements": [],
   "follow_up_messages": [
     {"id": "@f3", "timing_mode": "hours_after", "hours_after": 24, "days_after": null, "time_of_day": null,
      "message_template": "Check-in", "is_enabled": true, "display_order": 1},
     {"id": "@new_tonight", "timing_mode": "specific_time", "hours_after": null, "days_after": 0, "time_of_day": "20:00",
      "message_template": "Tonight", "is_enabled": true, "display_order": 2}]},
  {"service_item_id": 23, "version": 2, "practitioner_assignments": [], "billing_scenarios": {},
   "resource_requirements": [{"id": "@r4", "resource_type_id": 31, "resource_type_name": "Room", "quantity": 5}],
   "follow_up_messages": []},
  {"service_item_id": 24, "version": 7, "practitioner_assignments": [201],
   "billing_scenarios": {
     "201": [{"id": "@b9", "name": "Standard", "amount": 40, "revenue_share": 5, "is_default": true}]},
   "resource_requirements": [{"id": "@r5", "resource_type_id": 32, "resource_type_name": "Table", "quantity": 1}],
   "follow_up_messages": [
     {"id": "@f6", "timing_mode": "hours_after", "hours_after": 1, "days_after": null, "time_of_day": null,
      "message_template": "Untouched", "is_enabled": true, "display_order": 1}]},
  {"service_item_id": 25, "version": 1, "practitioner_assignments": [203],
   "billing_scenarios": {
     "203": [{"id": "@b_25", "name": "Standard", "amount": 20, "revenue_share": 0, "is_default": true}]},
   "resource_requirements": [{"id": "@r6", "resource_type_id": 31, "resource_type_name": "Room", "quantity": 1}],
   "follow_up_messages": [
     {"id": "@f7", "timing_mode": "specific_time", "hours_after": null, "days_after": 0, "time_of_day": "20:00",
      "message_template": "Tonight", "is_enabled": true, "display_order": 1}]}]}') AS expected1 \gset
SELECT service_items.bulk_load_associations(7200001)::jsonb = :'expected1' AS load_is_expected,
       :'response1'::jsonb -> 'associations'
         = (SELECT jsonb_agg(a) FROM jsonb_array_elements(:'expected1'::jsonb -> 'associations') a
             WHERE a ->> 'service_item_id' <> '24') AS response_is_expected,
       (:'response1'::json -> 'associations')::text
         = (service_items.bulk_load_associations(7200001, '{21,22,23,25}') -> 'associations')::text AS response_is_the_load;

-- Which rows the save wrote (every other row keeps its xmin).
SELECT * FROM save_roundtrip.written(7200001);
-- The soft-deleted scenarios, and the hidden rows of 204.
SELECT l.label, b.is_deleted, b.deleted_at IS NOT NULL AS has_deleted_at
  FROM save_roundtrip.ids l JOIN service_items.billing_scenarios b ON b.clinic_id = 7200001 AND b.id = l.id
 WHERE l.label IN ('b3', 'b4', 'b5', 'b7', 'b8', 'b_old') ORDER BY l.label;
SELECT appointment_type_id, practitioner_id FROM service_items.practitioner_appointment_types
 WHERE clinic_id = 7200001 AND practitioner_id = 204;

-- One audit row: the changed items and the counts of the response.
SELECT service_item_ids, changes = (:'response1'::jsonb -> 'changes') AS changes_as_returned,
       db_user = current_user AS by_current_user, claims_sub
  FROM service_items.association_audit WHERE clinic_id = 7200001;

---------------------------------------------------------------------------
-- 4. A second save on item 21: Legacy dropped and a new Legacy added (the
-- name freed and taken in one save); Standard and Student swap names and
-- the default; r1 and r2 swap resource types, Laser removed; f2 deleted
-- and f1 takes its display_order 1, a new follow-up at 2.
---------------------------------------------------------------------------
TRUNCATE save_roundtrip.before;
INSERT INTO save_roundtrip.before SELECT * FROM save_roundtrip.rows(7200001);
SELECT save_roundtrip.fill('{
  "billing_scenarios": {
    "21-201": [{"id": "@b2", "name": "Student", "amount": 90.5, "revenue_share": 70},
               {"id": "@new_student", "name": "Standard", "amount": 40, "revenue_share": 20, "is_default": true},
               {"name": "Legacy", "amount": 99.99, "revenue_share": 0}]},
  "resource_requirements": {
    "21": [{"id": "@r1", "resource_type_id": 32, "quantity": 4},
           {"id": "@r2", "resource_type_id": 31, "quantity": 2}]},
  "follow_up_messages": {
    "21": [{"id": "@f1", "timing_mode": "specific_time", "days_after": 3, "time_of_day": "18:30",
            "message_template": "Thanks", "display_order": 1},
           {"timing_mode": "hours_after", "hours_after": 0, "message_template": "Right away\tnow\nthen",
            "is_enabled": false, "display_order": 2}]},
  "expected_versions": {"21": 6}}') AS edits2 \gset
SELECT service_items.bulk_save_associations(7200001, :'edits2')::text AS response2 \gset
SELECT :'response2'::jsonb -> 'changes' AS changes;
INSERT INTO save_roundtrip.ids
SELECT 'new_legacy', id, 'billing' FROM service_items.billing_scenarios
 WHERE clinic_id = 7200001 AND appointment_type_id = 21 AND practitioner_id = 201 AND name = 'Legacy' AND NOT is_deleted
UNION ALL
SELECT 'new_right_away', id, 'follow_up' FROM service_items.follow_up_messages
 WHERE clinic_id = 7200001 AND appointment_type_id = 21 AND display_order = 2;
\pset format unaligned
SELECT item FROM save_roundtrip.items(service_items.bulk_load_associations(7200001, '{21}')) AS item;
\pset format aligned
SELECT service_items.bulk_load_associations(7200001)::jsonb
         = jsonb_set(:'expected1', '{associations,0}', save_roundtrip.fill('
  {"service_item_id": 21, "version": 7, "practitioner_assignments": [201, 203],
   "billing_scenarios": {
     "201": [{"id": "@b2", "name": "Student", "amount": 90.5, "revenue_share": 70, "is_default": false},
             {"id": "@new_student", "name": "Standard", "amount": 40, "revenue_share": 20, "is_default": true},
             {"id": "@new_legacy", "name": "Legacy", "amount": 99.99, "revenue_share": 0, "is_default": false}],
     "203": [{"id": "@new_203", "name": "Standard", "amount": 110, "revenue_share": 90, "is_default": true}]},
   "resource_requirements": [
     {"id": "@r1", "resource_type_id": 32, "resource_type_name": "Table", "quantity": 4},
     {"id": "@r2", "resource_type_id": 31, "resource_type_name": "Room", "quantity": 2}],
   "follow_up_messages": [
     {"id": "@f1", "timing_mode": "specific_time", "hours_after": null, "days_after": 3, "time_of_day": "18:30",
      "message_template": "Thanks", "is_enabled": true, "display_order": 1},
     {"id": "@new_right_away", "timing_mode": "hours_after", "hours_after": 0, "days_after": null, "time_of_day": null,
      "message_template": "Right away\tnow\nthen", "is_enabled": false, "display_order": 2}]}')) AS load_is_expected,
       (:'response2'::json -> 'associations')::text
         = (service_items.bulk_load_associations(7200001, '{21}') -> 'associations')::text AS response_is_the_load;
SELECT * FROM save_roundtrip.written(7200001);
SELECT service_item_ids,
       changes = (CASE WHEN row_number() OVER (ORDER BY id) = 1 THEN :'response1' ELSE :'response2' END)::jsonb -> 'changes'
           AS changes_as_returned
  FROM service_items.association_audit WHERE clinic_id = 7200001 ORDER BY id;

---------------------------------------------------------------------------
-- 5. The edited clinic sent back as loaded: nothing is written.
---------------------------------------------------------------------------
SELECT service_items.bulk_load_associations(7200001)::text AS doc3,
       service_items_demo.clinic_checksum(7200001) AS checksum3 \gset
SELECT service_items.bulk_save_associations(7200001, save_roundtrip.to_payload(:'doc3'))::text AS response3 \gset
SELECT save_roundtrip.all_unchanged(:'response3'::jsonb -> 'changes', save_roundtrip.row_counts(:'doc3')) AS all_unchanged,
       (:'response3'::json -> 'associations')::text = (:'doc3'::json -> 'associations')::text AS response_is_the_load,
       service_items_demo.clinic_checksum(7200001) = :'checksum3' AS checksum_unchanged;
