/*
 * settings_save: service_items.save_service_settings (issue 8), the whole
 * settings page saved in one call.
 *
 * On a hand-made clinic (explicit ids from 8,200,000 up; rows the saves
 * create take identity values, which are never printed: they show as the
 * client keys that named them):
 *
 *   1. Validation: every code a groups or items list can raise
 *      (unknown_service_type_group, unknown_id, bad_key, duplicate,
 *      required, invalid_value, out_of_range, too_long, invalid_characters,
 *      wrong_type, unknown_key), and association errors under new items'
 *      keys, each with its exact path; every path is a valid jsonpath that
 *      finds the offending value in the payload (for "required": the member
 *      is missing from an object that exists, or is null or ""); MESSAGE
 *      "invalid settings payload: N errors", DETAIL the JSON array; the
 *      boundary values are accepted.  Nothing is written.
 *   2. Every failing call leaves the clinic checksum-identical (every row
 *      with its xmin) and its page unchanged: a validation error in a
 *      payload that otherwise changes everything, an unknown group, stale
 *      expected_versions (PT409, which wins over validation errors), a
 *      constraint violation after groups and items were written (23P01),
 *      an exception from a trigger on the audit insert, the call's last
 *      write.
 *   3. One payload creates a group, an item in it, that item's
 *      practitioners, billing (keys "new:x-<practitioner>"), resources and
 *      follow-ups, plus an item in an existing group and one whose key has
 *      dashes; the response's "keys" give the new ids, its "settings" is
 *      the page as load_service_settings then returns it, and that page
 *      shows everything with those ids; one audit row; versions.
 *   4. Updates, reorders, renames, moves between groups: only changed rows
 *      are written (unchanged rows keep their xmin); an item whose
 *      associations change gets one version more, a renamed one keeps its
 *      version; one audit row per save.
 *   5. Removing from the lists: groups left out are deleted (their items
 *      lose the group), live items left out are soft-deleted and their
 *      associations vanish from the page and from bulk_load_associations
 *      (the rows stay); associations that name a removed item are refused;
 *      empty lists empty the page.
 *   6. Placeholder ids never reach the caller: errors about a new item
 *      (not_assigned, a stale expected version) name it by its key, never by
 *      the negative number it stands under during validation.
 *   7. A page sent back as loaded changes nothing (no row rewritten, no
 *      audit row, versions kept); a save locks every live item of the clinic,
 *      and only those, FOR NO KEY UPDATE (pgrowlocks); the neighbour clinic
 *      is never touched.
 *   8. The number of statements a save runs does not grow with the number
 *      of items: generated clinics of 10 and 1,000 items, the page sent
 *      back unchanged and with every group, item, scenario, requirement and
 *      follow-up changed (pg_stat_statements, track = all).
 *
 * Calls run as superuser without request.jwt.claims (authorization is
 * tested in settings_authz).
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
CREATE EXTENSION IF NOT EXISTS pgrowlocks;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS settings_save CASCADE;
CREATE SCHEMA settings_save;

---------------------------------------------------------------------------
-- The clinic (8200001) and a neighbour (8200002).
--   groups: 8200031 Massage (1), 8200032 Physio (2), 8200033 Empty (3);
--           the neighbour's 8200039
--   items: 8200041 Swedish massage (Massage), 8200042 Hot stones (Massage),
--          8200043 Physio session (Physio), 8200045 Consult (no group),
--          8200044 soft-deleted; the neighbour's 8200049
--   members: 8200101, 8200102 (also admin) practitioners; 8200103
--            inactive; 8200104 staff; 8200106 a practitioner assigned to
--            nothing (but with a live scenario on item 8200041, hidden from
--            the page: see part 2); the neighbour's 8200109
--   resource types 8200021 Room, 8200022 Table; the neighbour's 8200029
--   item 8200041 (version 3): practitioners 8200101, 8200102, a scenario
--     each, a requirement, a follow-up; item 8200043 (version 5):
--     practitioner 8200101, a scenario, a requirement, a follow-up.
---------------------------------------------------------------------------
DELETE FROM service_items.clinics WHERE id IN (8200001, 8200002);
INSERT INTO service_items.clinics (id, name) VALUES
    (8200001, 'Settings clinic'), (8200002, 'Neighbour clinic');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active) VALUES
    (8200001, 8200101, 'Dr. A', '{practitioner}', true),
    (8200001, 8200102, 'Dr. B', '{admin,practitioner}', true),
    (8200001, 8200103, 'Former practitioner', '{practitioner}', false),
    (8200001, 8200104, 'Front desk', '{staff}', true),
    (8200001, 8200106, 'Dr. C', '{practitioner}', true),
    (8200002, 8200109, 'Dr. Neighbour', '{practitioner}', true);
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (8200001, 8200021, 'Room'), (8200001, 8200022, 'Table'),
    (8200002, 8200029, 'Neighbour room');
INSERT INTO service_items.service_type_groups (clinic_id, id, name, display_order) VALUES
    (8200001, 8200031, 'Massage', 1), (8200001, 8200032, 'Physio', 2),
    (8200001, 8200033, 'Empty', 3), (8200002, 8200039, 'Neighbour group', 1);
INSERT INTO service_items.appointment_types
    (clinic_id, id, service_type_group_id, name, duration_minutes, display_order,
     is_deleted, associations_version) VALUES
    (8200001, 8200041, 8200031, 'Swedish massage', 60, 1, false, 3),
    (8200001, 8200042, 8200031, 'Hot stones', 90, 2, false, 1),
    (8200001, 8200043, 8200032, 'Physio session', 30, 3, false, 5),
    (8200001, 8200044, 8200031, 'Deleted item', 30, 4, true, 1),
    (8200001, 8200045, NULL, 'Consult', 15, 5, false, 1),
    (8200002, 8200049, 8200039, 'Neighbour item', 30, 1, false, 1);
INSERT INTO service_items.practitioner_appointment_types
    (clinic_id, appointment_type_id, practitioner_id) VALUES
    (8200001, 8200041, 8200101), (8200001, 8200041, 8200102),
    (8200001, 8200043, 8200101), (8200002, 8200049, 8200109);
INSERT INTO service_items.billing_scenarios
    (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share,
     is_default) VALUES
    (8200001, 8200301, 8200041, 8200101, 'Standard', 100, 80, true),
    (8200001, 8200302, 8200041, 8200102, 'Standard', 110, 80, true),
    (8200001, 8200303, 8200043, 8200101, 'Standard', 50, 10, true),
    (8200001, 8200307, 8200041, 8200106, 'Standard', 1, 0, false);
INSERT INTO service_items.appointment_resource_requirements
    (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (8200001, 8200401, 8200041, 8200021, 1), (8200001, 8200402, 8200043, 8200022, 1);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, is_enabled, display_order) VALUES
    (8200001, 8200501, 8200041, 'hours_after', 24, NULL, NULL, 'Thanks', true, 1),
    (8200001, 8200502, 8200043, 'specific_time', NULL, 1, '09:00', 'See you', true, 1);

SELECT service_items_demo.clinic_checksum(8200001) AS checksum_start,
       service_items_demo.clinic_checksum(8200002) AS neighbour_checksum,
       service_items.load_service_settings(8200001)::text AS page_start \gset

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- attempt(payload): the save in a subtransaction; SQLSTATE, message,
-- detail and constraint of its error, or state 'ok' (then the save is kept).
CREATE FUNCTION settings_save.attempt(payload jsonb, clinic bigint DEFAULT 8200001,
    OUT state text, OUT message text, OUT detail text, OUT constraint_name text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_items.save_service_settings(clinic, payload);
    state := 'ok';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, constraint_name = CONSTRAINT_NAME;
END
$$;

-- where_is(payload, path, code): what the error path finds in the payload.
-- 'value' when the strict path finds exactly one value and the lax path
-- (path::jsonpath, as SPEC §5 writes it) finds the same; for "required":
-- 'missing member' when the member is absent from an object that exists,
-- 'null' or 'empty string' when it is there.  Anything else is a broken
-- path.
CREATE FUNCTION settings_save.where_is(payload jsonb, path text, code text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    strict_found jsonb;
    lax_found jsonb;
    parent text;
BEGIN
    BEGIN
        strict_found := jsonb_path_query_array(payload, ('strict ' || path)::jsonpath, '{}', true);
        lax_found := jsonb_path_query_array(payload, path::jsonpath, '{}', true);
    EXCEPTION WHEN others THEN
        RETURN 'BROKEN PATH: ' || SQLERRM;
    END;
    IF jsonb_array_length(strict_found) = 1 AND lax_found = strict_found THEN
        IF code <> 'required' THEN
            RETURN 'value';
        ELSIF strict_found -> 0 = 'null' THEN
            RETURN 'null';
        ELSIF strict_found -> 0 = '""' THEN
            RETURN 'empty string';
        END IF;
    ELSIF jsonb_array_length(strict_found) = 0 AND code = 'required' THEN
        parent := regexp_replace(path, '\.[a-z_]+$', '');
        IF parent <> path AND
           jsonb_typeof(jsonb_path_query_first(payload, ('strict ' || parent)::jsonpath, '{}', true)) = 'object' THEN
            RETURN 'missing member';
        END IF;
    END IF;
    RETURN format('BROKEN PATH: strict finds %s, lax finds %s', strict_found, lax_found);
END
$$;

-- errors(payload): the errors a save of payload raises, one row each, with
-- what their path finds.
CREATE FUNCTION settings_save.errors(payload jsonb)
RETURNS TABLE (n bigint, path text, code text, found text, message text)
LANGUAGE sql AS $$
    SELECT e.n, e.v ->> 'path', e.v ->> 'code',
           settings_save.where_is(payload, e.v ->> 'path', e.v ->> 'code'),
           e.v ->> 'message'
      FROM settings_save.attempt(payload) a,
           jsonb_array_elements(CASE WHEN a.state = '22023' THEN a.detail::jsonb ELSE '[]' END)
               WITH ORDINALITY AS e(v, n)
$$;

-- strip_ids(doc): doc without the "id" members of its objects (scenario,
-- requirement and follow-up ids are identity values).
CREATE FUNCTION settings_save.strip_ids(doc jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(doc)
        WHEN 'object' THEN (SELECT COALESCE(jsonb_object_agg(k, settings_save.strip_ids(v)), '{}')
                              FROM jsonb_each(doc) AS e(k, v) WHERE k <> 'id')
        WHEN 'array' THEN (SELECT COALESCE(jsonb_agg(settings_save.strip_ids(v) ORDER BY i), '[]')
                             FROM jsonb_array_elements(doc) WITH ORDINALITY AS a(v, i))
        ELSE doc END
$$;

-- page_payload(page, flip): a save payload that sends a loaded page back:
-- the groups and items lists, and every association of every item, with
-- the versions as expected_versions.  flip 0 sends it as it is; flip 1 and
-- 2 change every group and item name, every scenario amount, requirement
-- quantity and follow-up template (each flip differs from the other and from
-- what the generator makes).
CREATE FUNCTION settings_save.page_payload(page jsonb, flip int DEFAULT 0) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'service_type_groups', (SELECT COALESCE(jsonb_agg(CASE WHEN flip = 0 THEN g
                ELSE jsonb_set(g, '{name}', to_jsonb(regexp_replace(g ->> 'name', ' [AB]$', '') || CASE flip WHEN 1 THEN ' A' ELSE ' B' END)) END
                ORDER BY n), '[]')
              FROM jsonb_array_elements(page -> 'service_type_groups') WITH ORDINALITY AS x(g, n)),
        'service_items', (SELECT COALESCE(jsonb_agg(CASE WHEN flip = 0 THEN i
                ELSE jsonb_set(i, '{name}', to_jsonb(regexp_replace(i ->> 'name', ' [AB]$', '') || CASE flip WHEN 1 THEN ' A' ELSE ' B' END)) END
                ORDER BY n), '[]')
              FROM jsonb_array_elements(page -> 'service_items') WITH ORDINALITY AS x(i, n)),
        'associations', jsonb_build_object(
            'practitioner_assignments', COALESCE((SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'practitioner_assignments')
                                                    FROM jsonb_array_elements(page -> 'associations') a), '{}'),
            'billing_scenarios', COALESCE((SELECT jsonb_object_agg((a ->> 'service_item_id') || '-' || b.key,
                    (SELECT jsonb_agg(CASE WHEN flip = 0 THEN s
                             ELSE jsonb_set(s, '{amount}', to_jsonb(trunc((s ->> 'amount')::numeric) + flip / 100.0)) END ORDER BY n)
                       FROM jsonb_array_elements(b.value) WITH ORDINALITY AS y(s, n)))
                  FROM jsonb_array_elements(page -> 'associations') a,
                       jsonb_each(a -> 'billing_scenarios') b), '{}'),
            'resource_requirements', COALESCE((SELECT jsonb_object_agg(a ->> 'service_item_id',
                    (SELECT COALESCE(jsonb_agg(CASE WHEN flip = 0 THEN r
                             ELSE jsonb_set(r, '{quantity}', to_jsonb(4 + flip)) END ORDER BY n), '[]')
                       FROM jsonb_array_elements(a -> 'resource_requirements') WITH ORDINALITY AS y(r, n)))
                  FROM jsonb_array_elements(page -> 'associations') a), '{}'),
            'follow_up_messages', COALESCE((SELECT jsonb_object_agg(a ->> 'service_item_id',
                    (SELECT COALESCE(jsonb_agg(CASE WHEN flip = 0 THEN f
                             ELSE jsonb_set(f, '{message_template}', to_jsonb(regexp_replace(f ->> 'message_template', ' [AB]$', '') || CASE flip WHEN 1 THEN ' A' ELSE ' B' END)) END ORDER BY n), '[]')
                       FROM jsonb_array_elements(a -> 'follow_up_messages') WITH ORDINALITY AS y(f, n)))
                  FROM jsonb_array_elements(page -> 'associations') a), '{}'),
            'expected_versions', COALESCE((SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'version')
                                             FROM jsonb_array_elements(page -> 'associations') a), '{}')))
$$;

-- The keys of the successful saves, to show new ids by their keys.
CREATE TABLE settings_save.keys (section text, id bigint, key text NOT NULL,
                                 PRIMARY KEY (section, id));
CREATE FUNCTION settings_save.remember(response json) RETURNS json
LANGUAGE sql AS $$
    INSERT INTO settings_save.keys
    SELECT s.section, e.value::bigint, e.key
      FROM unnest(ARRAY['service_type_groups', 'service_items']) AS s(section),
           json_each_text(response -> 'keys' -> s.section) e;
    SELECT response;
$$;
-- group_name(id), item_name(id): an id as the test knows it: the client
-- key that created it, or the id itself.
CREATE FUNCTION settings_save.group_name(id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT k.key FROM settings_save.keys k
                      WHERE k.section = 'service_type_groups' AND k.id = group_name.id), id::text)
$$;
CREATE FUNCTION settings_save.item_name(id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT k.key FROM settings_save.keys k
                      WHERE k.section = 'service_items' AND k.id = item_name.id), id::text)
$$;
-- new_id(key): the id a client key was given.
CREATE FUNCTION settings_save.new_id(key text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT k.id FROM settings_save.keys k WHERE k.key = new_id.key
$$;

-- page_groups / page_items: the page's lists with new ids shown as keys.
CREATE FUNCTION settings_save.page_groups(page json)
RETURNS TABLE (n bigint, id text, name text, display_order int)
LANGUAGE sql STABLE AS $$
    SELECT o, settings_save.group_name((g ->> 'id')::bigint), g ->> 'name', (g ->> 'display_order')::int
      FROM json_array_elements(page -> 'service_type_groups') WITH ORDINALITY AS x(g, o)
$$;
CREATE FUNCTION settings_save.page_items(page json)
RETURNS TABLE (n bigint, id text, name text, service_type_group_id text,
               duration_minutes int, display_order int, version bigint)
LANGUAGE sql STABLE AS $$
    SELECT o, settings_save.item_name((i ->> 'id')::bigint), i ->> 'name',
           settings_save.group_name((i ->> 'service_type_group_id')::bigint),
           (i ->> 'duration_minutes')::int, (i ->> 'display_order')::int, (i ->> 'version')::bigint
      FROM json_array_elements(page -> 'service_items') WITH ORDINALITY AS x(i, o)
$$;
-- page_associations(page): each item's associations, one row per section,
-- ids of scenarios, requirements and follow-ups left out, items shown by
-- key.
CREATE FUNCTION settings_save.page_associations(page json)
RETURNS TABLE (n bigint, item text, section text, value jsonb)
LANGUAGE sql STABLE AS $$
    SELECT o, settings_save.item_name((a ->> 'service_item_id')::bigint), s.key,
           settings_save.strip_ids(s.value::jsonb)
      FROM json_array_elements(page -> 'associations') WITH ORDINALITY AS x(a, o),
           json_each(a) WITH ORDINALITY AS s(key, value, so)
     WHERE s.key <> 'service_item_id'
     ORDER BY o, so
$$;

-- audit_count(): the clinic's audit rows.
CREATE FUNCTION settings_save.audit_count() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM service_items.association_audit WHERE clinic_id = 8200001
$$;

---------------------------------------------------------------------------
-- 1. Validation.  Each payload is judged as a whole; every error is listed
-- with its path and what the path finds.
---------------------------------------------------------------------------
CREATE TABLE settings_save.cases (n serial, label text, payload jsonb);
INSERT INTO settings_save.cases (label, payload) VALUES
('unknown_service_type_group: another clinic''s group, a group this save deletes, an unknown new key',
 '{"service_type_groups": [{"id": 8200031, "name": "Massage", "display_order": 1},
                           {"id": 8200032, "name": "Physio", "display_order": 2},
                           {"key": "new:g", "name": "New", "display_order": 4}],
   "service_items": [{"id": 8200041, "name": "Swedish massage", "duration_minutes": 60, "display_order": 1, "service_type_group_id": 8200039},
                     {"id": 8200042, "name": "Hot stones", "duration_minutes": 90, "display_order": 2, "service_type_group_id": 8200033},
                     {"key": "new:x", "name": "New item", "duration_minutes": 30, "display_order": 6, "service_type_group_id": "new:nope"},
                     {"key": "new:y", "name": "New item 2", "duration_minutes": 30, "display_order": 7, "service_type_group_id": 99999999}]}'),
('unknown_service_type_group: without a groups list, a group must exist',
 '{"service_items": [{"id": 8200041, "name": "Swedish massage", "duration_minutes": 60, "display_order": 1, "service_type_group_id": 8200039},
                     {"key": "new:x", "name": "New item", "duration_minutes": 30, "display_order": 6, "service_type_group_id": "new:g"}]}'),
('unknown_id: another clinic''s group and item, a soft-deleted item, ids that exist nowhere',
 '{"service_type_groups": [{"id": 8200039, "name": "Theirs", "display_order": 1},
                           {"id": 99999999, "name": "Nowhere", "display_order": 2}],
   "service_items": [{"id": 8200049, "name": "Theirs", "duration_minutes": 60, "display_order": 1},
                     {"id": 8200044, "name": "Deleted item", "duration_minutes": 30, "display_order": 4},
                     {"id": 99999999, "name": "Nowhere", "duration_minutes": 30, "display_order": 5}]}'),
('bad_key: malformed keys, a group named by a string that is no key, an association key no new item has',
 '{"service_type_groups": [{"key": "g1", "name": "A", "display_order": 1},
                           {"key": "new:", "name": "B", "display_order": 2},
                           {"key": "new:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-a", "name": "C", "display_order": 3},
                           {"key": "new:é", "name": "D", "display_order": 4},
                           {"key": "new:a b", "name": "E", "display_order": 5}],
   "service_items": [{"key": "new:x", "name": "X", "duration_minutes": 30, "display_order": 1, "service_type_group_id": "Massage"}],
   "associations": {"practitioner_assignments": {"new:ghost": [8200101]},
                    "billing_scenarios": {"new:ghost-8200101": []}}}'),
('duplicate: ids and keys listed twice',
 '{"service_type_groups": [{"id": 8200031, "name": "A", "display_order": 1},
                           {"id": 8200031, "name": "B", "display_order": 2},
                           {"key": "new:g", "name": "C", "display_order": 3},
                           {"key": "new:g", "name": "D", "display_order": 4}],
   "service_items": [{"id": 8200041, "name": "A", "duration_minutes": 30, "display_order": 1},
                     {"key": "new:x", "name": "B", "duration_minutes": 30, "display_order": 2},
                     {"id": 8200041, "name": "C", "duration_minutes": 30, "display_order": 3},
                     {"key": "new:x", "name": "D", "duration_minutes": 30, "display_order": 4}]}'),
('required: neither id nor key, missing or null name, display_order, duration_minutes; empty name',
 '{"service_type_groups": [{"name": "A", "display_order": 1},
                           {"key": "new:g"},
                           {"key": "new:h", "name": null, "display_order": null},
                           {"key": "new:i", "name": "", "display_order": 3}],
   "service_items": [{"key": "new:x", "name": "X", "display_order": 1},
                     {"key": "new:y", "duration_minutes": null, "display_order": 1, "name": ""},
                     {"name": "Z", "duration_minutes": 5, "display_order": 1}]}'),
('invalid_value: both an id and a key',
 '{"service_type_groups": [{"id": 8200031, "key": "new:g", "name": "A", "display_order": 1}],
   "service_items": [{"id": 8200041, "key": "new:x", "name": "A", "duration_minutes": 30, "display_order": 1}]}'),
('out_of_range: duration_minutes outside 1-1440, display_order beyond int4, ids below 1',
 '{"service_type_groups": [{"key": "new:g", "name": "A", "display_order": 2147483648},
                           {"id": 0, "name": "B", "display_order": -2147483649}],
   "service_items": [{"key": "new:x", "name": "X", "duration_minutes": 0, "display_order": 1},
                     {"key": "new:y", "name": "Y", "duration_minutes": 1441, "display_order": 1},
                     {"id": -8200041, "name": "Z", "duration_minutes": 30, "display_order": 1, "service_type_group_id": 0}]}'),
('too_long and invalid_characters: names over 255 characters, control characters (C0 and C1)',
 jsonb_build_object(
   'service_type_groups', jsonb_build_array(
       jsonb_build_object('key', 'new:g', 'name', repeat('é', 256), 'display_order', 1),
       jsonb_build_object('key', 'new:h', 'name', E'bell\u0007', 'display_order', 2)),
   'service_items', jsonb_build_array(
       jsonb_build_object('key', 'new:x', 'name', repeat('x', 256), 'duration_minutes', 30, 'display_order', 1),
       jsonb_build_object('key', 'new:y', 'name', E'c1 \u009b', 'duration_minutes', 30, 'display_order', 2)))),
('wrong_type: lists that are no lists',
 '{"service_type_groups": {}, "service_items": "all", "associations": []}'),
('wrong_type: entries and members of the wrong JSON type',
 '{"service_type_groups": [1, null, {"key": 7, "name": 5, "display_order": "1"}],
   "service_items": [[], {"id": "8200041", "name": "A", "duration_minutes": "30", "display_order": 1.5, "service_type_group_id": true},
                     {"key": "new:x", "name": "X", "duration_minutes": 30, "display_order": 1, "service_type_group_id": [8200031]}]}'),
('unknown_key: at the top, in a group, in an item',
 '{"groups": [], "service_type_groups": [{"key": "new:g", "name": "A", "display_order": 1, "colour": "red"}],
   "service_items": [{"key": "new:x", "name": "X", "duration_minutes": 30, "display_order": 1, "price": 10}]}'),
('association errors under a new item''s key: paths name the key',
 '{"service_items": [{"key": "new:x", "name": "X", "duration_minutes": 30, "display_order": 1}],
   "associations": {"practitioner_assignments": {"new:x": [8200101, 8200109]},
                    "billing_scenarios": {"new:x-8200101": [{"name": "Standard", "amount": -1, "revenue_share": 0, "is_default": true}]},
                    "resource_requirements": {"new:x": [{"resource_type_id": 8200029, "quantity": 1}]},
                    "follow_up_messages": {"new:x": [{"timing_mode": "hours_after", "hours_after": 9000, "message_template": "Hi", "is_enabled": true, "display_order": 1}]}}}'),
('associations of an item this save soft-deletes (the items list leaves 8200041 out)',
 '{"service_items": [{"id": 8200042, "name": "Hot stones", "duration_minutes": 90, "display_order": 2, "service_type_group_id": 8200031},
                     {"id": 8200043, "name": "Physio session", "duration_minutes": 30, "display_order": 3, "service_type_group_id": 8200032},
                     {"id": 8200045, "name": "Consult", "duration_minutes": 15, "display_order": 5}],
   "associations": {"practitioner_assignments": {"8200041": [8200101]}, "expected_versions": {"8200041": 3}}}');

SELECT c.n AS "case", c.label FROM settings_save.cases c ORDER BY c.n;
SELECT c.n AS "case", e.n, e.path, e.code, e.found, e.message
  FROM settings_save.cases c, settings_save.errors(c.payload) e
 ORDER BY c.n, e.n;

-- The MESSAGE counts the errors; every case raised 22023; every code of
-- the list was seen.
SELECT c.n AS "case", a.state, a.message
  FROM settings_save.cases c, settings_save.attempt(c.payload) a ORDER BY c.n;
SELECT u.code, count(e.code) > 0 AS seen
  FROM unnest(ARRAY['unknown_service_type_group', 'unknown_id', 'bad_key', 'duplicate', 'required',
                    'invalid_value', 'out_of_range', 'too_long', 'invalid_characters', 'wrong_type',
                    'unknown_key']) AS u(code)
  LEFT JOIN (SELECT e.code FROM settings_save.cases c, settings_save.errors(c.payload) e) e
         ON e.code = u.code
 GROUP BY u.code ORDER BY u.code;

-- The boundary values are accepted (a save that succeeds, rolled back):
-- names of 255 characters, duration_minutes 1 and 1440, display_order at
-- both ends of int4, a key of 64 characters, "version" of any value,
-- service_type_group_id null.
BEGIN;
SELECT a.state, a.message
  FROM settings_save.attempt(jsonb_build_object(
    'service_type_groups', jsonb_build_array(
        jsonb_build_object('id', 8200031, 'name', repeat('é', 255), 'display_order', -2147483648),
        jsonb_build_object('id', 8200032, 'name', 'Physio', 'display_order', 2147483647),
        jsonb_build_object('key', 'new:' || repeat('k', 60) || '_-9Z', 'name', E'tab\there\nnewline', 'display_order', 0)),
    'service_items', jsonb_build_array(
        jsonb_build_object('id', 8200041, 'name', repeat('x', 255), 'duration_minutes', 1, 'display_order', -2147483648,
                           'service_type_group_id', 'new:' || repeat('k', 60) || '_-9Z', 'version', 'ignored'),
        jsonb_build_object('key', 'new:' || repeat('i', 64), 'name', 'Long key', 'duration_minutes', 1440,
                           'display_order', 2147483647, 'service_type_group_id', NULL, 'version', 12345)))) a;
-- (what was saved: the page as it stands in this transaction)
SELECT length(g ->> 'name') AS name_length, g -> 'display_order' AS display_order
  FROM json_array_elements(service_items.load_service_settings(8200001) -> 'service_type_groups') g;
SELECT length(i ->> 'name') AS name_length, i -> 'duration_minutes' AS duration_minutes,
       i -> 'display_order' AS display_order, i -> 'service_type_group_id' IS NOT NULL AS has_group_field,
       (i ->> 'service_type_group_id')::bigint = (SELECT g.id FROM service_items.service_type_groups g
                                                  WHERE g.clinic_id = 8200001 AND g.name LIKE 'tab%') AS in_new_group
  FROM json_array_elements(service_items.load_service_settings(8200001) -> 'service_items') i;
ROLLBACK;

-- None of it wrote anything.
SELECT service_items_demo.clinic_checksum(8200001) = :'checksum_start' AS checksum_unchanged,
       settings_save.audit_count() AS audit_rows;

---------------------------------------------------------------------------
-- 2. Every failing call leaves the clinic as it was.  Each payload below
-- would otherwise change groups, items and associations.  The constraint
-- violation: 8200106 has a live scenario "Standard" on 8200041 that the
-- page does not show (8200106 is not assigned); a payload that assigns
-- 8200106 and adds a scenario of that name passes validation and fails on
-- billing_scenarios_name_excl, after the groups, items and assignments
-- were written.
---------------------------------------------------------------------------
-- changes(extra): a payload that changes something in every list and
-- section, with extra merged into it (extra's lists replace the base's).
CREATE FUNCTION settings_save.changes(extra jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'service_type_groups', '[{"id": 8200031, "name": "Massage (renamed)", "display_order": 1},
                                 {"id": 8200032, "name": "Physio", "display_order": 2},
                                 {"key": "new:g", "name": "New group", "display_order": 9}]'::jsonb,
        'service_items', '[{"id": 8200041, "name": "Swedish massage", "duration_minutes": 50, "display_order": 1, "service_type_group_id": 8200031},
                           {"id": 8200042, "name": "Hot stones", "duration_minutes": 90, "display_order": 2, "service_type_group_id": "new:g"},
                           {"id": 8200043, "name": "Physio session", "duration_minutes": 30, "display_order": 3, "service_type_group_id": 8200032},
                           {"key": "new:x", "name": "New item", "duration_minutes": 20, "display_order": 6, "service_type_group_id": "new:g"}]'::jsonb,
        'associations', '{"practitioner_assignments": {"8200041": [8200101], "new:x": [8200102]},
                          "billing_scenarios": {"8200043-8200101": [{"name": "Standard", "amount": 55, "revenue_share": 10, "is_default": true}],
                                                "new:x-8200102": [{"name": "Standard", "amount": 20, "revenue_share": 5, "is_default": true}]},
                          "resource_requirements": {"8200041": [], "new:x": [{"resource_type_id": 8200022, "quantity": 3}]},
                          "follow_up_messages": {"8200043": [], "new:x": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "Hi", "is_enabled": true, "display_order": 1}]}}'::jsonb)
        || extra
$$;

-- The base payload itself is valid (its save, rolled back, succeeds).
BEGIN;
SELECT state FROM settings_save.attempt(settings_save.changes('{}'));
ROLLBACK;

CREATE TABLE settings_save.failures (n serial, label text, payload jsonb, setup text, teardown text);
INSERT INTO settings_save.failures (label, payload, setup, teardown) VALUES
('validation error (one bad amount)',
 settings_save.changes(jsonb_build_object('associations', settings_save.changes('{}') -> 'associations'
     || '{"billing_scenarios": {"new:x-8200102": [{"name": "Standard", "amount": 20.001, "revenue_share": 5, "is_default": true}]}}')),
 NULL, NULL),
('unknown group',
 settings_save.changes(jsonb_build_object('service_items',
     (settings_save.changes('{}') -> 'service_items') || '[{"key": "new:y", "name": "Y", "duration_minutes": 5, "display_order": 7, "service_type_group_id": 8200039}]')),
 NULL, NULL),
('stale expected_versions',
 settings_save.changes(jsonb_build_object('associations', settings_save.changes('{}') -> 'associations'
     || '{"expected_versions": {"8200041": 2, "8200043": 5}}')),
 NULL, NULL),
('stale expected_versions and a validation error',
 settings_save.changes(jsonb_build_object('associations', settings_save.changes('{}') -> 'associations'
     || '{"expected_versions": {"8200041": 2}}', 'foo', 1)),
 NULL, NULL),
('constraint violation after groups and items were written (23P01)',
 settings_save.changes(jsonb_build_object('associations', settings_save.changes('{}') -> 'associations'
     || '{"practitioner_assignments": {"8200041": [8200101, 8200102, 8200106], "new:x": [8200102]},
          "billing_scenarios": {"8200041-8200106": [{"name": "Standard", "amount": 5, "revenue_share": 0, "is_default": true}]}}')),
 NULL, NULL),
('an exception from a trigger on the audit insert, the last write',
 settings_save.changes('{}'),
 $$CREATE FUNCTION settings_save.refuse() RETURNS trigger LANGUAGE plpgsql AS $f$
   BEGIN
       RAISE EXCEPTION 'audit refused after writing % new group, % new item, version of 8200041 %',
           (SELECT count(*) FROM service_items.service_type_groups WHERE clinic_id = 8200001 AND name = 'New group'),
           (SELECT count(*) FROM service_items.appointment_types WHERE clinic_id = 8200001 AND name = 'New item'),
           (SELECT associations_version FROM service_items.appointment_types WHERE clinic_id = 8200001 AND id = 8200041)
           USING ERRCODE = 'P0001';
   END $f$;
   CREATE TRIGGER refuse_audit BEFORE INSERT ON service_items.association_audit
       FOR EACH ROW EXECUTE FUNCTION settings_save.refuse()$$,
 $$DROP TRIGGER refuse_audit ON service_items.association_audit;
   DROP FUNCTION settings_save.refuse()$$);

CREATE TABLE settings_save.failure_results (n int, state text, message text, detail text,
                                            constraint_name text, checksum_unchanged boolean,
                                            page_unchanged boolean);
SELECT set_config('settings_save.checksum', :'checksum_start', false) IS NOT NULL AS set1,
       set_config('settings_save.page', :'page_start', false) IS NOT NULL AS set2;
DO $$
DECLARE
    f record;
    r record;
BEGIN
    FOR f IN SELECT * FROM settings_save.failures ORDER BY n LOOP
        IF f.setup IS NOT NULL THEN EXECUTE f.setup; END IF;
        SELECT * INTO r FROM settings_save.attempt(f.payload);
        IF f.teardown IS NOT NULL THEN EXECUTE f.teardown; END IF;
        INSERT INTO settings_save.failure_results
        SELECT f.n, r.state, r.message, CASE WHEN r.state = 'PT409' THEN r.detail END,
               r.constraint_name,
               service_items_demo.clinic_checksum(8200001) = current_setting('settings_save.checksum'),
               service_items.load_service_settings(8200001)::text = current_setting('settings_save.page');
    END LOOP;
END
$$;
SELECT f.n, f.label, r.state, r.message, r.detail, r.constraint_name,
       r.checksum_unchanged, r.page_unchanged
  FROM settings_save.failures f JOIN settings_save.failure_results r USING (n)
 ORDER BY f.n;

-- The same failure uncaught, at the top level of a transaction: the
-- transaction is aborted and rolls back whole.
BEGIN;
SELECT service_items.save_service_settings(8200001,
    settings_save.changes('{"service_type_groups": [{"id": 8200039, "name": "Theirs", "display_order": 1}]}'));
ROLLBACK;
SELECT service_items_demo.clinic_checksum(8200001) = :'checksum_start' AS checksum_unchanged,
       service_items.load_service_settings(8200001)::text = :'page_start' AS page_unchanged,
       settings_save.audit_count() AS audit_rows;

---------------------------------------------------------------------------
-- 3. One payload creates a group, an item in it with practitioners,
-- billing, resources and follow-ups, an item in an existing group and an
-- item whose key has dashes (so its billing key has three); the lists
-- repeat the page's groups and items as loaded (unchanged).
---------------------------------------------------------------------------
SELECT jsonb_build_object(
    'service_type_groups', (:'page_start'::jsonb -> 'service_type_groups')
        || '[{"key": "new:sports", "name": "Sports", "display_order": 0}]',
    'service_items', (:'page_start'::jsonb -> 'service_items')
        || '[{"key": "new:x", "name": "Sports massage", "duration_minutes": 45, "display_order": 0, "service_type_group_id": "new:sports"},
             {"key": "new:y", "name": "Taping", "duration_minutes": 15, "display_order": 9, "service_type_group_id": 8200032},
             {"key": "new:a-b_1", "name": "Dashed key", "duration_minutes": 20, "display_order": 10, "service_type_group_id": null}]',
    'associations', '{
        "practitioner_assignments": {"new:x": [8200102, 8200101], "new:a-b_1": [8200101]},
        "billing_scenarios": {
            "new:x-8200101": [{"name": "Standard", "amount": 70, "revenue_share": 35, "is_default": true},
                              {"name": "Member", "amount": 60.5, "revenue_share": 30.25, "is_default": false}],
            "new:x-8200102": [{"name": "Standard", "amount": 80, "revenue_share": 40, "is_default": true}],
            "new:a-b_1-8200101": [{"name": "Standard", "amount": 10, "revenue_share": 1, "is_default": true}]},
        "resource_requirements": {"new:x": [{"resource_type_id": 8200022, "quantity": 1},
                                            {"resource_type_id": 8200021, "quantity": 2}]},
        "follow_up_messages": {"new:x": [
            {"timing_mode": "hours_after", "hours_after": 24, "message_template": "How was your massage?", "is_enabled": true, "display_order": 1},
            {"timing_mode": "specific_time", "days_after": 7, "time_of_day": "09:00", "message_template": "Time to book again", "is_enabled": false, "display_order": 2}]}}'::jsonb)
    AS create_payload \gset

CREATE TABLE settings_save.ids_before AS
SELECT 'service_type_groups' AS section, id FROM service_items.service_type_groups
UNION ALL SELECT 'service_items', id FROM service_items.appointment_types;
SELECT settings_save.remember(service_items.save_service_settings(8200001, :'create_payload'))::text AS response \gset

-- The keys: every new key, each with a new id, ascending in the payload's
-- order.
SELECT k.section, k.key,
       NOT EXISTS (SELECT FROM settings_save.ids_before b WHERE b.section = k.section AND b.id = k.id) AS new_id,
       k.id > lag(k.id) OVER (PARTITION BY k.section ORDER BY k.n) AS after_previous
  FROM (SELECT s.section, e.key, e.value::bigint AS id,
               array_position(ARRAY['new:sports', 'new:x', 'new:y', 'new:a-b_1'], e.key) AS n
          FROM unnest(ARRAY['service_type_groups', 'service_items']) AS s(section),
               json_each_text((:'response')::json -> 'keys' -> s.section) e) k
 ORDER BY k.section DESC, k.n;
SELECT (:'response')::json -> 'changes' AS changes;

-- The response's "settings" is the page as a load now gives it.
SELECT service_items.load_service_settings(8200001)::text AS page \gset
SELECT ((:'response')::json -> 'settings')::text = :'page' AS response_is_the_page;

-- The page: the new group and items under the ids "keys" gave (shown as
-- their keys), in their places, the existing rows as they were.
SELECT * FROM settings_save.page_groups(:'page');
SELECT * FROM settings_save.page_items(:'page');

-- The new items' associations are what the payload said, under the new
-- ids (scenario, requirement and follow-up ids left out); the other items'
-- associations did not change.
SELECT * FROM settings_save.page_associations(:'page') WHERE item LIKE 'new:%';
SELECT (SELECT jsonb_agg(a ORDER BY o) FROM json_array_elements(:'page'::json -> 'associations') WITH ORDINALITY AS x(a, o)
         WHERE settings_save.item_name((a ->> 'service_item_id')::bigint) NOT LIKE 'new:%')
       = (:'page_start'::jsonb -> 'associations') AS other_associations_unchanged;
-- The rows in the tables: the new item's group is the new group.
SELECT a.name, a.service_type_group_id = settings_save.new_id('new:sports') AS in_new_group
  FROM service_items.appointment_types a WHERE a.id = settings_save.new_id('new:x');

-- One audit row, naming the new items; its changes are the response's.
SELECT settings_save.audit_count() AS audit_rows,
       (SELECT array_agg(settings_save.item_name(i) ORDER BY i) FROM unnest(a.service_item_ids) i) AS audited_items,
       a.changes = ((:'response')::jsonb -> 'changes') AS changes_as_response,
       a.db_user = current_user AS db_user, a.claims_sub
  FROM service_items.association_audit a
 WHERE a.clinic_id = 8200001 ORDER BY a.id DESC LIMIT 1;

-- The neighbour is untouched.
SELECT service_items_demo.clinic_checksum(8200002) = :'neighbour_checksum' AS neighbour_unchanged;

---------------------------------------------------------------------------
-- 4. Updates: rename a group and swap two groups' order; rename an item,
-- move one to another group (and change its duration), reorder one, take
-- a new one out of its group; disable a follow-up of 8200043.  Only the
-- changed rows are written: the unchanged ones keep their xmin.
---------------------------------------------------------------------------
CREATE TABLE settings_save.xmins AS
SELECT 'group ' || settings_save.group_name(g.id) AS row, g.xmin::text AS row_xmin
  FROM service_items.service_type_groups g WHERE g.clinic_id = 8200001
UNION ALL
SELECT 'item ' || settings_save.item_name(a.id), a.xmin::text
  FROM service_items.appointment_types a WHERE a.clinic_id = 8200001 AND NOT a.is_deleted;

SELECT format('{
  "service_type_groups": [{"id": 8200031, "name": "Massage & spa", "display_order": 2},
                          {"id": 8200032, "name": "Physio", "display_order": 1},
                          {"id": 8200033, "name": "Empty", "display_order": 3},
                          {"id": %1$s, "name": "Sports", "display_order": 0}],
  "service_items": [{"id": 8200041, "name": "Swedish massage (60 min)", "duration_minutes": 60, "display_order": 1, "service_type_group_id": 8200031},
                    {"id": 8200042, "name": "Hot stones", "duration_minutes": 75, "display_order": 2, "service_type_group_id": 8200032},
                    {"id": 8200043, "name": "Physio session", "duration_minutes": 30, "display_order": 3, "service_type_group_id": 8200032},
                    {"id": 8200045, "name": "Consult", "duration_minutes": 15, "display_order": -1, "service_type_group_id": null},
                    {"id": %2$s, "name": "Sports massage", "duration_minutes": 45, "display_order": 0, "service_type_group_id": %1$s, "version": 2},
                    {"id": %3$s, "name": "Taping", "duration_minutes": 15, "display_order": 9, "service_type_group_id": null},
                    {"id": %4$s, "name": "Dashed key", "duration_minutes": 20, "display_order": 10, "service_type_group_id": null}],
  "associations": {
    "follow_up_messages": {"8200043": [{"id": 8200502, "timing_mode": "specific_time", "days_after": 1, "time_of_day": "09:00",
                                        "message_template": "See you", "is_enabled": false, "display_order": 1}]},
    "expected_versions": {"8200043": 5, "%2$s": 2}}}',
    settings_save.new_id('new:sports'), settings_save.new_id('new:x'),
    settings_save.new_id('new:y'), settings_save.new_id('new:a-b_1')) AS update_payload \gset

SELECT service_items.save_service_settings(8200001, :'update_payload')::text AS response \gset
SELECT (:'response')::json -> 'changes' AS changes;
SELECT service_items.load_service_settings(8200001)::text AS page \gset
SELECT ((:'response')::json -> 'settings')::text = :'page' AS response_is_the_page;
SELECT * FROM settings_save.page_groups(:'page');
-- 8200043's associations changed: one version more; renamed, moved and
-- reordered items keep theirs (the version counts association changes).
SELECT * FROM settings_save.page_items(:'page');
SELECT * FROM settings_save.page_associations(:'page') WHERE item = '8200043' AND section = 'follow_up_messages';

-- Rows not changed were not written.
SELECT x.row, x.row_xmin = COALESCE(g.xmin, a.xmin)::text AS xmin_kept
  FROM settings_save.xmins x
  LEFT JOIN service_items.service_type_groups g
         ON g.clinic_id = 8200001 AND x.row = 'group ' || settings_save.group_name(g.id)
  LEFT JOIN service_items.appointment_types a
         ON a.clinic_id = 8200001 AND x.row = 'item ' || settings_save.item_name(a.id)
 ORDER BY x.row;

-- One audit row more, naming every item whose settings or associations
-- changed.
SELECT settings_save.audit_count() AS audit_rows,
       (SELECT array_agg(settings_save.item_name(i) ORDER BY i) FROM unnest(a.service_item_ids) i) AS audited_items,
       a.changes = ((:'response')::jsonb -> 'changes') AS changes_as_response
  FROM service_items.association_audit a
 WHERE a.clinic_id = 8200001 ORDER BY a.id DESC LIMIT 1;

---------------------------------------------------------------------------
-- 5. Removing from the lists.
---------------------------------------------------------------------------
-- 5a. A groups list without 8200032 and 8200033, and no items list: the
-- two groups are deleted, the items in 8200032 lose their group (and keep
-- everything else), no item is soft-deleted.
SELECT format('{"service_type_groups": [{"id": 8200031, "name": "Massage & spa", "display_order": 2},
                                        {"id": %s, "name": "Sports", "display_order": 0}]}',
              settings_save.new_id('new:sports')) AS payload \gset
SELECT service_items.save_service_settings(8200001, :'payload')::text AS response \gset
SELECT (:'response')::json -> 'changes' AS changes;
SELECT service_items.load_service_settings(8200001)::text AS page \gset
SELECT * FROM settings_save.page_groups(:'page');
SELECT * FROM settings_save.page_items(:'page');
SELECT count(*) AS groups_left_in_table FROM service_items.service_type_groups WHERE clinic_id = 8200001;
SELECT settings_save.audit_count() AS audit_rows,
       a.service_item_ids AS audited_items,
       a.changes -> 'service_type_groups' AS group_changes
  FROM service_items.association_audit a
 WHERE a.clinic_id = 8200001 ORDER BY a.id DESC LIMIT 1;

-- 5b. An items list without 8200043 and new:x: both are soft-deleted; their
-- associations vanish from the page and from bulk_load_associations, even
-- when asked for by id; their rows stay in the tables.
SELECT jsonb_build_object('service_items', jsonb_agg(i ORDER BY o)) AS payload
  FROM jsonb_array_elements(:'page'::jsonb -> 'service_items') WITH ORDINALITY AS x(i, o)
 WHERE (i ->> 'id')::bigint NOT IN (8200043, settings_save.new_id('new:x')) \gset
SELECT service_items.save_service_settings(8200001, :'payload')::text AS response \gset
SELECT (:'response')::json -> 'changes' AS changes;
SELECT service_items.load_service_settings(8200001)::text AS page \gset
SELECT * FROM settings_save.page_items(:'page');
SELECT DISTINCT item FROM settings_save.page_associations(:'page') ORDER BY 1;
SELECT service_items.bulk_load_associations(8200001, ARRAY[8200043, settings_save.new_id('new:x')]) AS load_of_removed_items;
SELECT settings_save.item_name(a.id) AS item, a.is_deleted, a.associations_version,
       (SELECT count(*) FROM service_items.practitioner_appointment_types p
         WHERE p.clinic_id = a.clinic_id AND p.appointment_type_id = a.id) AS assignments_kept,
       (SELECT count(*) FROM service_items.billing_scenarios b
         WHERE b.clinic_id = a.clinic_id AND b.appointment_type_id = a.id AND NOT b.is_deleted) AS scenarios_kept
  FROM service_items.appointment_types a
 WHERE a.clinic_id = 8200001 AND a.id IN (8200043, settings_save.new_id('new:x'))
 ORDER BY a.id;
SELECT settings_save.audit_count() AS audit_rows,
       (SELECT array_agg(settings_save.item_name(i) ORDER BY i) FROM unnest(a.service_item_ids) i) AS audited_items
  FROM service_items.association_audit a
 WHERE a.clinic_id = 8200001 ORDER BY a.id DESC LIMIT 1;

-- A removed item can no longer be named: not in the items list, not in the
-- associations.
SELECT e.path, e.code, e.found
  FROM settings_save.errors('{"service_items": [{"id": 8200043, "name": "Physio session", "duration_minutes": 30, "display_order": 3}],
                              "associations": {"practitioner_assignments": {"8200043": []}}}') e;

-- 5c. Empty lists empty the page (rolled back).
BEGIN;
SELECT service_items.save_service_settings(8200001, '{"service_type_groups": [], "service_items": []}')::json -> 'changes' AS changes;
SELECT service_items.load_service_settings(8200001) AS emptied_page;
ROLLBACK;

---------------------------------------------------------------------------
-- 6. Placeholder ids never reach the caller.  While a payload is judged, a
-- new item stands under a negative placeholder id; errors about it must
-- name it by its key (or at least never by that number).
---------------------------------------------------------------------------
SELECT jsonb_build_object(
    'service_items', (:'page'::jsonb -> 'service_items')
        || '[{"key": "new:z", "name": "Z", "duration_minutes": 10, "display_order": 20}]',
    'associations', jsonb_build_object('expected_versions', '{"new:z": 2}'::jsonb)) AS stale_new,
  jsonb_build_object(
    'service_items', (:'page'::jsonb -> 'service_items')
        || '[{"key": "new:z", "name": "Z", "duration_minutes": 10, "display_order": 20}]',
    'associations', jsonb_build_object('billing_scenarios',
        '{"new:z-8200101": [{"name": "Standard", "amount": 1, "revenue_share": 0, "is_default": true}]}'::jsonb)) AS unassigned_new \gset
-- a stale expected version for a new item
SELECT a.state IN ('PT409', '22023') AS refused,
       concat_ws(' ', a.message, a.detail) !~ '(item -[0-9]|"service_item_id": *-[0-9])' AS no_placeholder_id
  FROM settings_save.attempt(:'stale_new') a;
-- billing for a new item and a practitioner it is not assigned
SELECT e.path, e.code, e.found, e.message !~ 'item -[0-9]' AS no_placeholder_id
  FROM settings_save.errors(:'unassigned_new') e;

---------------------------------------------------------------------------
-- 7. The page sent back as loaded changes nothing; every live item of the
-- clinic, and nothing else, is locked FOR NO KEY UPDATE.
---------------------------------------------------------------------------
SELECT service_items_demo.clinic_checksum(8200001) AS checksum \gset
SELECT settings_save.audit_count() AS audit_rows \gset
BEGIN;
SELECT service_items.save_service_settings(8200001, settings_save.page_payload(:'page'::jsonb))::json -> 'changes' AS changes;
SELECT settings_save.item_name(a.id) AS locked_item, a.is_deleted, l.modes
  FROM pgrowlocks('service_items.appointment_types') l
  JOIN service_items.appointment_types a ON a.ctid = l.locked_row
 ORDER BY a.clinic_id, a.id;
SELECT count(*) AS live_items FROM service_items.appointment_types
 WHERE clinic_id = 8200001 AND NOT is_deleted;
COMMIT;
SELECT service_items_demo.clinic_checksum(8200001) = :'checksum' AS checksum_unchanged,
       settings_save.audit_count() = :audit_rows AS no_audit_row,
       service_items.load_service_settings(8200001)::text = :'page' AS page_unchanged;

-- The neighbour was never touched.
SELECT service_items_demo.clinic_checksum(8200002) = :'neighbour_checksum' AS neighbour_unchanged;

---------------------------------------------------------------------------
-- 8. Statements per save: the same for 10 and 1,000 items.  Counted: the
-- executions of statements that touch a service_items table, the call
-- itself left out.
---------------------------------------------------------------------------
SET pg_stat_statements.track = 'all';
CREATE FUNCTION settings_save.measure(call text, OUT calls bigint, OUT queries bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.pg_stat_statements_reset();
    EXECUTE call;
    SELECT COALESCE(pg_catalog.sum(s.calls), 0), pg_catalog.count(*)
      INTO calls, queries
      FROM public.pg_stat_statements(true) s
     WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
       AND s.query ~ 'service_items\.(clinics|clinic_members|resource_types|service_type_groups|appointment_types|practitioner_appointment_types|billing_scenarios|appointment_resource_requirements|follow_up_messages|association_audit)\M'
       AND s.query !~ '(save_service_settings|pg_stat_statements)';
END
$$;
CREATE TABLE settings_save.generated (items integer PRIMARY KEY, id bigint NOT NULL);
INSERT INTO settings_save.generated
SELECT n, service_items_demo.create_clinic(n) FROM (VALUES (10), (1000)) AS v(n);
CREATE TABLE settings_save.statements (n serial, label text, items integer, calls bigint, queries bigint,
                                       changes jsonb);
DO $$
DECLARE
    c record;
    r record;
    payload jsonb;
    response json;
BEGIN
    FOR c IN SELECT * FROM settings_save.generated ORDER BY items LOOP
        FOR k IN 0 .. 2 LOOP
            payload := settings_save.page_payload(service_items.load_service_settings(c.id)::jsonb, k);
            SELECT * INTO r FROM settings_save.measure(
                format('SELECT set_config(''settings_save.response'', service_items.save_service_settings(%s, %L)::text, false)',
                       c.id, payload));
            INSERT INTO settings_save.statements (label, items, calls, queries, changes)
            VALUES (CASE k WHEN 0 THEN 'no change' ELSE 'every row changed' END, c.items, r.calls, r.queries,
                    current_setting('settings_save.response')::jsonb -> 'changes');
        END LOOP;
    END LOOP;
END
$$;
-- What the saves did, per section: "u" updated, "=" unchanged.
SELECT s.label, s.items, x.key AS section,
       (x.value ->> 'updated') || ' u, ' || (x.value ->> 'unchanged') || ' =' AS rows,
       (x.value ->> 'inserted')::int + (x.value ->> 'deleted')::int AS inserted_or_deleted
  FROM settings_save.statements s, jsonb_each(s.changes) x
 WHERE s.n IN (SELECT min(n) FROM settings_save.statements GROUP BY label, items)
 ORDER BY s.items, s.label, x.key;
SELECT label, items, calls, queries FROM settings_save.statements ORDER BY n;
SELECT label, count(DISTINCT calls) = 1 AS flat, max(calls) AS statements_per_save
  FROM settings_save.statements GROUP BY label ORDER BY label;

DELETE FROM service_items.clinics WHERE id IN (SELECT id FROM settings_save.generated);
DROP SCHEMA settings_save CASCADE;
DELETE FROM service_items.clinics WHERE id IN (8200001, 8200002);
