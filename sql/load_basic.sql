/*
 * load_basic: the output contract of service_items.bulk_load_associations
 * (SPEC §4, §6) on hand-made clinics with explicit ids, so the expected
 * output is exact, plus sanity checks on a generated clinic.
 *
 * Checks: compact JSON with keys in SPEC order; every section and every
 * include flag (an excluded section's key is absent, an included but empty
 * one is [] or {}); items by (display_order, id), practitioners ascending,
 * billing per practitioner by id, resources by id, follow-ups by
 * display_order; deleted items and soft-deleted scenarios never appear;
 * inactive and non-practitioner assignments are hidden, and so are their
 * billing scenarios; service_item_ids NULL / empty / unknown / deleted /
 * another clinic's / duplicates / NULL elements; a clinic with no items;
 * NULL clinic_id and NULL include flags (22004); quotes, backslashes,
 * control characters and non-ASCII text give valid JSON with the exact text
 * preserved (also for TOASTed templates); amount formats (a sweep of every
 * magnitude) and time_of_day formats, and a time_of_day of 24:00 either
 * refused by the table or accepted back by validate_associations; ids of
 * different lengths and beyond 32 bits sorted as numbers; the streaming
 * twin service_item_associations on the same inputs.
 *
 * Hand-made rows use explicit ids from 5,000,000 up, far above anything the
 * identity sequences reach in this suite, so other test files cannot clash.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS load_basic CASCADE;
CREATE SCHEMA load_basic;

-- sqlstate_of(sql) runs a statement and returns 'SQLSTATE: message', or
-- 'no error'.
CREATE FUNCTION load_basic.sqlstate_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- doc(clinic, ids, flags...) and items(...) show a document one item per
-- line: json_array_elements keeps each element's text exactly as written.
CREATE FUNCTION load_basic.items(doc json)
RETURNS TABLE (n bigint, item json)
LANGUAGE sql AS $$
    SELECT o, e FROM pg_catalog.json_array_elements(doc -> 'associations') WITH ORDINALITY AS x(e, o)
$$;

DELETE FROM service_items.clinics WHERE id BETWEEN 5000001 AND 5000007;

---------------------------------------------------------------------------
-- Clinic A (5000001): the fixture of most checks.  Rows are inserted out of
-- id order so that the output order must come from ORDER BY, not luck.
---------------------------------------------------------------------------
INSERT INTO service_items.clinics (id, name) VALUES
    (5000001, 'Clinic A'), (5000002, 'Clinic B'), (5000003, 'Clinic C (no items)');

INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active) VALUES
    (5000001, 5001, 'Dr. A', '{practitioner}', true),
    (5000001, 5002, 'Dr. B', '{admin,practitioner}', true),
    (5000001, 5003, 'Former Practitioner', '{practitioner}', false),
    (5000001, 5004, 'Front Desk', '{staff}', true),
    (5000001, 5005, 'Owner', '{admin}', true),
    (5000001, 5000, 'Dr. Z', '{practitioner}', true),
    (5000002, 5001, 'Dr. A at B', '{practitioner}', true);

-- 5102 holds a \x01 (resource type names have no control-character check).
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (5000001, 5101, 'Room "A"'),
    (5000001, 5102, E'Bell\x01Ctrl\\Back\tTab\nLine\x1fUS'),
    (5000001, 5103, '超声波 ünïcödé 🦷'),
    (5000001, 5100, 'Zebra table'),
    (5000002, 5110, 'Room of clinic B');

-- Live order: 5202 (1), 5204 (1), 5200 (2), 5201 (2), 5205 (3); 5203 is deleted.
INSERT INTO service_items.appointment_types
    (clinic_id, id, name, duration_minutes, display_order, is_deleted, associations_version) VALUES
    (5000001, 5201, 'Massage', 60, 2, false, 7),
    (5000001, 5202, 'Acupuncture 针灸', 30, 1, false, 1),
    (5000001, 5203, 'Deleted item', 30, 0, true, 4),
    (5000001, 5204, 'Physio', 45, 1, false, 2),
    (5000001, 5205, 'No associations', 15, 3, false, 1),
    (5000001, 5200, 'Consult', 20, 2, false, 3),
    (5000002, 5601, 'Clinic B item', 30, 0, false, 1);

INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id) VALUES
    (5000001, 5201, 5002),
    (5000001, 5201, 5001),
    (5000001, 5201, 5003),      -- inactive: hidden
    (5000001, 5201, 5004),      -- staff only: hidden
    (5000001, 5202, 5002),
    (5000001, 5202, 5000),
    (5000001, 5203, 5001),      -- deleted item
    (5000001, 5204, 5003),      -- only an inactive practitioner
    (5000001, 5200, 5001),
    (5000002, 5601, 5001);

INSERT INTO service_items.billing_scenarios
    (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share,
     is_default, is_deleted, deleted_at) VALUES
    (5000001, 5305, 5201, 5002, 'Standard Rate', 1000, 800, true, false, NULL),
    (5000001, 5303, 5201, 5002, 'Member "Gold"', 12.5, 0.05, false, false, NULL),
    (5000001, 5304, 5201, 5002, 'Old rate', 500, 100, false, true, now()),
    (5000001, 5306, 5201, 5001, 'Back\slash', 99999999.99, 99999999.99, true, false, NULL),
    (5000001, 5301, 5201, 5001, E'Line\nbreak\tTab', 0.05, 0, false, false, NULL),
    (5000001, 5310, 5202, 5000, '会员价 😀', 0, 0, true, false, NULL),
    (5000001, 5311, 5202, 5002, 'Only a deleted one', 10, 1, false, true, now()),
    (5000001, 5312, 5204, 5003, 'Inactive practitioner rate', 10, 1, false, false, NULL),
    (5000001, 5313, 5200, 5002, 'Unassigned practitioner rate', 10, 1, false, false, NULL),
    (5000001, 5315, 5200, 5001, 'Ten', 10.01, 10, false, false, NULL),
    (5000001, 5314, 5200, 5001, 'Dime', 0.1, 0.1, false, false, NULL),
    (5000001, 5316, 5203, 5001, 'On a deleted item', 10, 1, false, false, NULL),
    (5000002, 5317, 5601, 5001, 'Clinic B rate', 10, 1, false, false, NULL);

INSERT INTO service_items.appointment_resource_requirements
    (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (5000001, 5402, 5201, 5101, 2),
    (5000001, 5401, 5201, 5102, 1),
    (5000001, 5403, 5201, 5103, 1000),
    (5000001, 5404, 5202, 5100, 1),
    (5000001, 5405, 5203, 5100, 1),
    (5000002, 5406, 5601, 5110, 1);

INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, is_enabled, display_order) VALUES
    (5000001, 5503, 5201, 'specific_time', NULL, 0, '00:00', 'Midnight', true, 2),
    (5000001, 5502, 5201, 'hours_after', 0, NULL, NULL, 'Right away', false, 1),
    (5000001, 5501, 5201, 'specific_time', NULL, 365, '23:59',
     E'Hi {name}, "quoted" \\ back\tslash\nnew line <b>not&escaped</b> 提醒 😀', true, 10),
    (5000001, 5506, 5202, 'specific_time', NULL, 1, '09:05', 'Tomorrow', true, 5),
    (5000001, 5505, 5202, 'hours_after', 8760, NULL, NULL, 'A year later', true, 0),
    (5000001, 5504, 5203, 'hours_after', 1, NULL, NULL, 'On a deleted item', true, 1),
    (5000002, 5507, 5601, 'hours_after', 1, NULL, NULL, 'Clinic B message', true, 1);

---------------------------------------------------------------------------
-- The whole document, one item per line.
---------------------------------------------------------------------------
SELECT pg_catalog.pg_typeof(service_items.bulk_load_associations(5000001));
\pset tuples_only on
\pset format unaligned
SELECT item FROM load_basic.items(service_items.bulk_load_associations(5000001)) ORDER BY n;
\pset tuples_only off
\pset format aligned

-- The document is exactly '{"associations":[' || items || ']}': compact,
-- no whitespace between items.
SELECT service_items.bulk_load_associations(5000001)::text
       = '{"associations":[' || (SELECT pg_catalog.string_agg(item::text, ',' ORDER BY n)
                                   FROM load_basic.items(service_items.bulk_load_associations(5000001)))
         || ']}' AS compact_document;

-- Key order of the item objects (SPEC §4) and of the nested objects.
SELECT pg_catalog.array_agg(k) AS item_keys
  FROM pg_catalog.json_object_keys(service_items.bulk_load_associations(5000001, '{5201}') -> 'associations' -> 0) k;
SELECT pg_catalog.array_agg(k) AS billing_keys
  FROM pg_catalog.json_object_keys(service_items.bulk_load_associations(5000001, '{5201}') #> '{associations,0,billing_scenarios,5001,0}') k;
SELECT pg_catalog.array_agg(k) AS resource_keys
  FROM pg_catalog.json_object_keys(service_items.bulk_load_associations(5000001, '{5201}') #> '{associations,0,resource_requirements,0}') k;
SELECT pg_catalog.array_agg(k) AS follow_up_keys
  FROM pg_catalog.json_object_keys(service_items.bulk_load_associations(5000001, '{5201}') #> '{associations,0,follow_up_messages,0}') k;

---------------------------------------------------------------------------
-- Ordering rules, spelled out.
---------------------------------------------------------------------------
-- items by (display_order, id): 5202, 5204, 5200, 5201, 5205; 5203 is deleted
SELECT pg_catalog.array_agg((item ->> 'service_item_id')::bigint ORDER BY n) AS item_order,
       pg_catalog.array_agg((item ->> 'version')::bigint ORDER BY n) AS versions
  FROM load_basic.items(service_items.bulk_load_associations(5000001));
-- practitioners ascending, active practitioners only
SELECT item ->> 'service_item_id' AS item, item -> 'practitioner_assignments' AS practitioners
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) ORDER BY n;
-- billing: keys ascending, scenarios by id, only live and assigned
SELECT item ->> 'service_item_id' AS item, k.key AS practitioner,
       (SELECT pg_catalog.array_agg((s ->> 'id')::bigint ORDER BY o)
          FROM pg_catalog.json_array_elements(k.value) WITH ORDINALITY AS x(s, o)) AS scenario_ids
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_each(i.item -> 'billing_scenarios') WITH ORDINALITY AS k(key, value, o)
 ORDER BY i.n, k.o;
-- resources by id, follow-ups by display_order
SELECT item ->> 'service_item_id' AS item,
       (SELECT pg_catalog.array_agg((r ->> 'id')::bigint ORDER BY o)
          FROM pg_catalog.json_array_elements(item -> 'resource_requirements') WITH ORDINALITY AS x(r, o)) AS resource_ids,
       (SELECT pg_catalog.array_agg((f ->> 'display_order')::int ORDER BY o)
          FROM pg_catalog.json_array_elements(item -> 'follow_up_messages') WITH ORDINALITY AS x(f, o)) AS follow_up_orders
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) ORDER BY n;

-- Nothing of a deleted item, a soft-deleted scenario, an inactive or
-- unassigned practitioner's scenario, or of another clinic, anywhere.
SELECT pg_catalog.jsonb_path_exists(d, '$.** ? (@ == 5203 || @ == 5304 || @ == 5311 || @ == 5312 || @ == 5313 || @ == 5316 || @ == 5405 || @ == 5504 || @ == 5003 || @ == 5004 || @ == 5005)') AS hidden_id_present,
       pg_catalog.jsonb_path_exists(d, '$.** ? (@ == "Old rate" || @ == "Only a deleted one" || @ like_regex "deleted item|Inactive|Unassigned|Clinic B")') AS hidden_name_present
  FROM (SELECT service_items.bulk_load_associations(5000001)::jsonb) AS x(d);

---------------------------------------------------------------------------
-- Amount and time_of_day formats, as written in the JSON text.
---------------------------------------------------------------------------
SELECT (s ->> 'id')::bigint AS id, b.amount AS stored_amount, s -> 'amount' AS amount,
       b.revenue_share AS stored_share, s -> 'revenue_share' AS revenue_share
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_each(i.item -> 'billing_scenarios') k,
       pg_catalog.json_array_elements(k.value) s
  JOIN service_items.billing_scenarios b ON b.clinic_id = 5000001 AND b.id = (s ->> 'id')::bigint
 ORDER BY 1;
SELECT (f ->> 'id')::bigint AS id, f -> 'timing_mode' AS timing_mode, f -> 'hours_after' AS hours_after,
       f -> 'days_after' AS days_after, f -> 'time_of_day' AS time_of_day
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_array_elements(i.item -> 'follow_up_messages') f
 ORDER BY 1;

-- A sweep of amounts of every magnitude and scale (clinic E, 5000005): each
-- is written as the shortest exact decimal, trim_scale(amount)::text.
INSERT INTO service_items.clinics (id, name) VALUES (5000005, 'Clinic E (amounts)');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
VALUES (5000005, 5801, 'Dr. Amount', '{practitioner}');
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes)
VALUES (5000005, 5802, 'Amounts', 30);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
VALUES (5000005, 5802, 5801);
INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
SELECT 5000005, 5802, 5801, 'amount ' || v, v, pg_catalog.round(v / 3, 2)
  FROM (SELECT ((k::bigint * 2654435761) % (10::numeric ^ e)::bigint)::numeric / 100
          FROM pg_catalog.generate_series(1, 60) k, pg_catalog.generate_series(1, 10) e
        UNION
        SELECT x FROM pg_catalog.unnest('{0, 0.01, 0.09, 0.1, 0.5, 0.99, 1, 9.99, 10, 10.5, 99.99, 100, 100.1,
                                           9999, 9999.99, 10000, 10000.01, 10000.1, 99990000.01, 12345678.9,
                                           10000000, 99999999, 99999999.9, 99999999.99}'::numeric[]) AS u(x)) AS a(v);
SELECT pg_catalog.count(*) AS amounts,
       pg_catalog.count(*) FILTER (WHERE (s -> 'amount')::text = pg_catalog.trim_scale(b.amount)::text
                                     AND (s -> 'revenue_share')::text = pg_catalog.trim_scale(b.revenue_share)::text) AS exact,
       pg_catalog.min(b.amount) AS min, pg_catalog.max(b.amount) AS max,
       pg_catalog.count(DISTINCT pg_catalog.scale(pg_catalog.trim_scale(b.amount))) AS scales
  FROM pg_catalog.json_array_elements(service_items.bulk_load_associations(5000005) #> '{associations,0,billing_scenarios,5801}') s
  JOIN service_items.billing_scenarios b ON b.clinic_id = 5000005 AND b.id = (s ->> 'id')::bigint;

-- time_of_day at the end of the day.  PostgreSQL's time type accepts
-- '24:00', and whatever the table accepts the loader shows; SPEC §5 wants a
-- loaded object to be accepted back by the save as it is.  So either the
-- table refuses '24:00', or it loads and validate_associations accepts the
-- loaded follow-ups back (clinic G, 5000007).
INSERT INTO service_items.clinics (id, name) VALUES (5000007, 'Clinic G (end of day)');
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes)
VALUES (5000007, 5901, 'Late', 30);
CREATE FUNCTION load_basic.end_of_day_round_trip() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    loaded jsonb;
    verdict jsonb;
BEGIN
    BEGIN
        INSERT INTO service_items.follow_up_messages
            (clinic_id, id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
        VALUES (5000007, 5902, 5901, 'specific_time', 1, '24:00', 'End of day', 1);
    EXCEPTION WHEN check_violation THEN
        RETURN 'consistent';
    END;
    loaded := service_items.bulk_load_associations(5000007)::jsonb #> '{associations,0,follow_up_messages}';
    verdict := service_items.validate_associations(5000007,
        pg_catalog.jsonb_build_object('follow_up_messages', pg_catalog.jsonb_build_object('5901', loaded)));
    IF (verdict ->> 'valid')::boolean THEN
        RETURN 'consistent';
    END IF;
    RETURN pg_catalog.format('table accepts 24:00, loader shows %s, save refuses it: %s',
                             loaded -> 0 -> 'time_of_day', verdict -> 'errors');
END
$$;
SELECT load_basic.end_of_day_round_trip() AS end_of_day;

-- Ids of different lengths and beyond 32 bits sort as numbers (clinic F,
-- 5000006): items 7, 70, 3000000000 tie on display_order; 700 comes first
-- with a negative one; practitioners (and billing keys) 9, 10, 100,
-- 5000000000; scenarios 8, 80, 800; follow-ups by display_order -5, 0, 3.
INSERT INTO service_items.clinics (id, name) VALUES (5000006, 'Clinic F (numeric order)');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles) VALUES
    (5000006, 100, 'P100', '{practitioner}'), (5000006, 5000000000, 'P5e9', '{practitioner}'),
    (5000006, 10, 'P10', '{practitioner}'), (5000006, 9, 'P9', '{practitioner}');
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (5000006, 11, 'R11'), (5000006, 2, 'R2');
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes, display_order) VALUES
    (5000006, 3000000000, 'Big id', 30, 0), (5000006, 70, 'Seventy', 30, 0),
    (5000006, 7, 'Seven', 30, 0), (5000006, 700, 'Seven hundred', 30, -1);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
SELECT 5000006, i, p
  FROM (VALUES (7), (3000000000)) AS i(i), (VALUES (100), (5000000000), (10), (9)) AS p(p);
INSERT INTO service_items.billing_scenarios (clinic_id, id, appointment_type_id, practitioner_id, name, amount) VALUES
    (5000006, 800, 3000000000, 10, 'c', 3), (5000006, 8, 3000000000, 10, 'a', 1),
    (5000006, 80, 3000000000, 10, 'b', 2), (5000006, 81, 3000000000, 5000000000, 'd', 4),
    (5000006, 82, 3000000000, 100, 'e', 5), (5000006, 83, 3000000000, 9, 'f', 6);
INSERT INTO service_items.appointment_resource_requirements (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (5000006, 100, 3000000000, 2, 1), (5000006, 20, 3000000000, 11, 1);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, message_template, display_order) VALUES
    (5000006, 1, 3000000000, 'hours_after', 1, 'zero', 0),
    (5000006, 2, 3000000000, 'hours_after', 1, 'minus five', -5),
    (5000006, 3, 3000000000, 'hours_after', 1, 'three', 3);
\pset tuples_only on
\pset format unaligned
SELECT item FROM load_basic.items(service_items.bulk_load_associations(5000006)) ORDER BY n;
\pset tuples_only off
\pset format aligned
SELECT service_items.bulk_load_associations(5000006, '{3000000000,7,-3000000000}', false, false, false) AS big_ids;

---------------------------------------------------------------------------
-- Strings: valid JSON, exact text preserved.
---------------------------------------------------------------------------
-- The JSON text parses (jsonb input validates it).
SELECT pg_catalog.jsonb_typeof(service_items.bulk_load_associations(5000001)::text::jsonb) AS parses;
-- The control characters of 5102 are escaped (\u0001, \t, \n, \u001f).
SELECT r -> 'resource_type_name' AS escaped_name
  FROM load_basic.items(service_items.bulk_load_associations(5000001, '{5201}')) i,
       pg_catalog.json_array_elements(i.item -> 'resource_requirements') r
 WHERE (r ->> 'resource_type_id')::bigint = 5102;
-- Every string equals its stored text, through json and through jsonb.
SELECT 'billing' AS section, pg_catalog.count(*) AS n,
       pg_catalog.count(*) FILTER (WHERE s ->> 'name' = b.name
                                     AND (s::text::jsonb) ->> 'name' = b.name) AS exact
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_each(i.item -> 'billing_scenarios') k,
       pg_catalog.json_array_elements(k.value) s
  JOIN service_items.billing_scenarios b ON b.clinic_id = 5000001 AND b.id = (s ->> 'id')::bigint
UNION ALL
SELECT 'resources', pg_catalog.count(*),
       pg_catalog.count(*) FILTER (WHERE r ->> 'resource_type_name' = t.name
                                     AND (r::text::jsonb) ->> 'resource_type_name' = t.name)
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_array_elements(i.item -> 'resource_requirements') r
  JOIN service_items.resource_types t ON t.clinic_id = 5000001 AND t.id = (r ->> 'resource_type_id')::bigint
UNION ALL
SELECT 'follow-ups', pg_catalog.count(*),
       pg_catalog.count(*) FILTER (WHERE f ->> 'message_template' = m.message_template
                                     AND (f::text::jsonb) ->> 'message_template' = m.message_template)
  FROM load_basic.items(service_items.bulk_load_associations(5000001)) i,
       pg_catalog.json_array_elements(i.item -> 'follow_up_messages') f
  JOIN service_items.follow_up_messages m ON m.clinic_id = 5000001 AND m.id = (f ->> 'id')::bigint;
-- Every control character (U+0001..U+001F, and DEL, which JSON allows
-- unescaped) with quotes and backslashes, in a resource type name of clinic
-- D (5000004).  Shown with DEL spelled out so this file stays plain text.
INSERT INTO service_items.clinics (id, name) VALUES (5000004, 'Clinic D (control characters)');
INSERT INTO service_items.resource_types (clinic_id, id, name)
SELECT 5000004, 5701, 'ctl:' || pg_catalog.string_agg(pg_catalog.chr(c), '' ORDER BY c) || E':"q"\\b\\'
  FROM (SELECT pg_catalog.generate_series(1, 31) UNION ALL SELECT 127) AS x(c);
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes)
VALUES (5000004, 5702, 'Control characters', 30);
INSERT INTO service_items.appointment_resource_requirements (clinic_id, id, appointment_type_id, resource_type_id, quantity)
VALUES (5000004, 5703, 5702, 5701, 1);
SELECT pg_catalog.replace((d #> '{associations,0,resource_requirements,0,resource_type_name}')::text, pg_catalog.chr(127), '<DEL>') AS escaped,
       d #>> '{associations,0,resource_requirements,0,resource_type_name}'
         = (SELECT name FROM service_items.resource_types WHERE clinic_id = 5000004 AND id = 5701) AS json_exact,
       d::text::jsonb #>> '{associations,0,resource_requirements,0,resource_type_name}'
         = (SELECT name FROM service_items.resource_types WHERE clinic_id = 5000004 AND id = 5701) AS jsonb_exact
  FROM (SELECT service_items.bulk_load_associations(5000004)) AS x(d);
-- Two 5,000-character templates on item 5704 of clinic D: one that does not
-- compress (stored out of line in TOAST), one that does (compressed inline).
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes)
VALUES (5000004, 5704, 'Long templates', 30);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, is_enabled, display_order)
SELECT 5000004, 5708, 5704, 'hours_after', 2, NULL::integer, NULL::time,
       pg_catalog.left(pg_catalog.string_agg(pg_catalog.md5(g::text), '' ORDER BY g), 5000), true, 1
  FROM pg_catalog.generate_series(1, 157) g
UNION ALL
SELECT 5000004, 5709, 5704, 'hours_after', 3, NULL, NULL, pg_catalog.repeat('ab', 2500), true, 2;

-- The 5,000-character templates came through whole.
SELECT (f ->> 'id')::bigint AS id, pg_catalog.length(f ->> 'message_template') AS template_length,
       f ->> 'message_template' = m.message_template AS json_exact,
       (f::text::jsonb) ->> 'message_template' = m.message_template AS jsonb_exact
  FROM load_basic.items(service_items.bulk_load_associations(5000004, '{5704}')) i,
       pg_catalog.json_array_elements(i.item -> 'follow_up_messages') f
  JOIN service_items.follow_up_messages m ON m.clinic_id = 5000004 AND m.id = (f ->> 'id')::bigint
 ORDER BY 1;

---------------------------------------------------------------------------
-- Include flags: an excluded section's key is absent, an included one is
-- present even when empty.  Keys of 5201 (full) and 5205 (empty) for all
-- eight combinations.
---------------------------------------------------------------------------
SELECT f.billing, f.resources, f.follow_ups,
       (SELECT pg_catalog.array_agg(k) FROM pg_catalog.json_object_keys(i.item) k) AS keys,
       i.item ->> 'service_item_id' AS item
  FROM (VALUES (true, true, true), (true, true, false), (true, false, true), (true, false, false),
               (false, true, true), (false, true, false), (false, false, true), (false, false, false))
       AS f(billing, resources, follow_ups),
       load_basic.items(service_items.bulk_load_associations(5000001, '{5201}', f.billing, f.resources, f.follow_ups)) i
 ORDER BY 1 DESC, 2 DESC, 3 DESC;
\pset tuples_only on
\pset format unaligned
SELECT service_items.bulk_load_associations(5000001, '{5205}');
SELECT service_items.bulk_load_associations(5000001, '{5205}', false, false, false);
SELECT service_items.bulk_load_associations(5000001, '{5204}', true, false, false);
SELECT service_items.bulk_load_associations(5000001, '{5201}', false, true, false);
SELECT service_items.bulk_load_associations(5000001, '{5202}', false, false, true);
-- named arguments, as PostgREST sends them
SELECT service_items.bulk_load_associations(clinic_id => 5000001, service_item_ids => '{5202}',
                                            include_resource_requirements => false);
\pset tuples_only off
\pset format aligned
-- The flags do not change the sections that are included.
SELECT pg_catalog.bool_and(x.item -> 'billing_scenarios' IS NULL) = NOT f.billing
       AND pg_catalog.bool_and(x.item -> 'resource_requirements' IS NULL) = NOT f.resources
       AND pg_catalog.bool_and(x.item -> 'follow_up_messages' IS NULL) = NOT f.follow_ups
       AND pg_catalog.bool_and(COALESCE((x.item -> 'billing_scenarios')::text = (a.item -> 'billing_scenarios')::text, true))
       AND pg_catalog.bool_and(COALESCE((x.item -> 'resource_requirements')::text = (a.item -> 'resource_requirements')::text, true))
       AND pg_catalog.bool_and(COALESCE((x.item -> 'follow_up_messages')::text = (a.item -> 'follow_up_messages')::text, true))
       AND pg_catalog.bool_and((x.item -> 'practitioner_assignments')::text = (a.item -> 'practitioner_assignments')::text)
       AND pg_catalog.count(*) = 5 AS consistent,
       f.billing, f.resources, f.follow_ups
  FROM (VALUES (true, true, false), (true, false, true), (true, false, false),
               (false, true, true), (false, true, false), (false, false, true), (false, false, false))
       AS f(billing, resources, follow_ups),
       load_basic.items(service_items.bulk_load_associations(5000001, NULL, f.billing, f.resources, f.follow_ups)) x
  JOIN load_basic.items(service_items.bulk_load_associations(5000001)) a ON a.n = x.n
 GROUP BY f.billing, f.resources, f.follow_ups
 ORDER BY 2 DESC, 3 DESC, 4 DESC;

---------------------------------------------------------------------------
-- service_item_ids
---------------------------------------------------------------------------
SELECT label, ids, (SELECT pg_catalog.array_agg((item ->> 'service_item_id')::bigint ORDER BY n)
                      FROM load_basic.items(service_items.bulk_load_associations(5000001, ids))) AS items
  FROM (VALUES (1, 'NULL: every live item', NULL::bigint[]),
               (2, 'one id', '{5201}'),
               (3, 'the requested order does not matter', '{5201,5205,5202}'),
               (4, 'duplicates', '{5201,5202,5201,5201}'),
               (5, 'NULL elements', '{NULL,5201,NULL}'),
               (6, 'only NULL', '{NULL}'),
               (7, 'unknown ids', '{-1,0,999999999999}'),
               (8, 'a deleted item', '{5203}'),
               (9, 'clinic B''s item', '{5601}'),
               (10, 'mixed', '{5601,5203,5205,-1,NULL,5205}'),
               (11, 'empty', '{}')) AS t(o, label, ids)
 ORDER BY o;
SELECT service_items.bulk_load_associations(5000001, '{}') AS empty_array,
       service_items.bulk_load_associations(5000001, '{5203,5601,-1}') AS nothing_known,
       service_items.bulk_load_associations(5000001, '{}', false, false, false) AS empty_no_sections;
-- A subset gives exactly the objects of the full document.
SELECT pg_catalog.bool_and(s.item::text = a.item::text) AS same_objects, pg_catalog.count(*) AS n
  FROM load_basic.items(service_items.bulk_load_associations(5000001, '{5205,5201,5200,5201}')) s
  JOIN load_basic.items(service_items.bulk_load_associations(5000001)) a
    ON a.item ->> 'service_item_id' = s.item ->> 'service_item_id';

---------------------------------------------------------------------------
-- Clinic B sees only its own rows; a clinic with no items and a clinic that
-- does not exist give an empty document.
---------------------------------------------------------------------------
SELECT service_items.bulk_load_associations(5000002) AS clinic_b;
SELECT service_items.bulk_load_associations(5000002, '{5201,5202,5601}', true, false, false) AS clinic_b_some;
SELECT service_items.bulk_load_associations(5000003) AS no_items,
       service_items.bulk_load_associations(5000003, '{5201}') AS no_items_some,
       service_items.bulk_load_associations(-42) AS no_such_clinic;
SELECT pg_catalog.count(*) AS streamed_rows FROM service_items.service_item_associations(5000003);

---------------------------------------------------------------------------
-- NULL arguments: 22004 for clinic_id and for every include flag.
---------------------------------------------------------------------------
SELECT f, load_basic.sqlstate_of(pg_catalog.format('SELECT %s(%s)', f, a)) AS result
  FROM (VALUES ('service_items.bulk_load_associations'),
               ('service_items.service_item_associations')) AS fn(f),
       (VALUES (1, 'NULL'),
               (2, 'NULL, ''{5201}'''),
               (3, '5000001, NULL, NULL'),
               (4, '5000001, NULL, true, NULL'),
               (5, '5000001, NULL, true, true, NULL'),
               (6, 'clinic_id => NULL, include_billing_scenarios => false')) AS args(o, a)
 ORDER BY f, o;
\set VERBOSITY sqlstate
SELECT service_items.bulk_load_associations(NULL);
SELECT * FROM service_items.service_item_associations(NULL::bigint);
\set VERBOSITY default
SELECT service_items.bulk_load_associations(NULL);

---------------------------------------------------------------------------
-- The streaming twin: one row per item, the same objects in the same order,
-- for every flag combination and id filter used above.
---------------------------------------------------------------------------
SELECT pg_catalog.bool_and(s.ok) AS twin_matches, pg_catalog.count(*) AS cases
  FROM (VALUES (true, true, true), (true, false, true), (false, true, false), (false, false, false))
       AS f(billing, resources, follow_ups),
       (VALUES (NULL::bigint[]), ('{5205,5201,5201,NULL,5601}'), ('{}')) AS i(ids),
       LATERAL (
         SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_array(t.service_item_id, t.associations) ORDER BY t.o)::text, '[]')
                = COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_array((d.item ->> 'service_item_id')::bigint, d.item) ORDER BY d.n)::text
                                         FROM load_basic.items(service_items.bulk_load_associations(5000001, i.ids, f.billing, f.resources, f.follow_ups)) d), '[]')
           FROM service_items.service_item_associations(5000001, i.ids, f.billing, f.resources, f.follow_ups)
                WITH ORDINALITY AS t(service_item_id, associations, o)
       ) AS s(ok);
SELECT service_item_id, associations
  FROM service_items.service_item_associations(5000001, '{5205,5204}', false, true, false);

---------------------------------------------------------------------------
-- A generated clinic (30 items): the same rules hold on realistic data.
---------------------------------------------------------------------------
SELECT service_items_demo.create_clinic(30) AS gen \gset
SELECT service_items.bulk_load_associations(:gen)::jsonb AS gen_doc \gset
-- live items only, in (display_order, id) order, with their versions
SELECT pg_catalog.jsonb_array_length(:'gen_doc'::jsonb -> 'associations') AS items,
       (SELECT pg_catalog.array_agg(a.id ORDER BY a.display_order, a.id)
          FROM service_items.appointment_types a WHERE a.clinic_id = :gen AND NOT a.is_deleted)
       = (SELECT pg_catalog.array_agg((e ->> 'service_item_id')::bigint ORDER BY o)
            FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') WITH ORDINALITY AS x(e, o))
       AS display_order;
-- every listed practitioner is an active practitioner; the former one (x902)
-- is never listed though assigned
SELECT pg_catalog.bool_and(m.is_active AND m.roles @> '{practitioner}') AS all_active_practitioners,
       pg_catalog.bool_and(m.user_id <> :gen * 1000 + 902) AS former_hidden,
       pg_catalog.count(*) = (SELECT pg_catalog.count(*)
                                FROM service_items.practitioner_appointment_types p
                                JOIN service_items.appointment_types a ON a.clinic_id = p.clinic_id AND a.id = p.appointment_type_id
                                JOIN service_items.clinic_members cm ON cm.clinic_id = p.clinic_id AND cm.user_id = p.practitioner_id
                               WHERE p.clinic_id = :gen AND NOT a.is_deleted AND cm.is_active
                                 AND cm.roles @> '{practitioner}') AS every_live_assignment
  FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') e,
       pg_catalog.jsonb_array_elements_text(e -> 'practitioner_assignments') p(id)
  JOIN service_items.clinic_members m ON m.clinic_id = :gen AND m.user_id = p.id::bigint;
-- billing: exactly the live scenarios of listed practitioners, exact names
SELECT pg_catalog.count(*) AS scenarios,
       pg_catalog.count(*) FILTER (WHERE b.name = s ->> 'name' AND b.amount = (s ->> 'amount')::numeric
                                     AND b.revenue_share = (s ->> 'revenue_share')::numeric
                                     AND b.is_default = (s ->> 'is_default')::boolean
                                     AND NOT b.is_deleted
                                     AND b.appointment_type_id = (e ->> 'service_item_id')::bigint
                                     AND b.practitioner_id = k.key::bigint
                                     AND e -> 'practitioner_assignments' @> pg_catalog.to_jsonb(b.practitioner_id)) AS exact,
       pg_catalog.count(*) = (SELECT pg_catalog.count(*)
                                FROM service_items.billing_scenarios b2
                                JOIN service_items.appointment_types a ON a.clinic_id = b2.clinic_id AND a.id = b2.appointment_type_id
                                JOIN service_items.clinic_members cm ON cm.clinic_id = b2.clinic_id AND cm.user_id = b2.practitioner_id
                               WHERE b2.clinic_id = :gen AND NOT b2.is_deleted AND NOT a.is_deleted
                                 AND cm.is_active AND cm.roles @> '{practitioner}'
                                 AND EXISTS (SELECT FROM service_items.practitioner_appointment_types p
                                              WHERE p.clinic_id = b2.clinic_id AND p.appointment_type_id = b2.appointment_type_id
                                                AND p.practitioner_id = b2.practitioner_id)) AS all_live_ones,
       pg_catalog.bool_and(s ->> 'name' <> 'Old rate') AS no_soft_deleted
  FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') e,
       pg_catalog.jsonb_each(e -> 'billing_scenarios') k,
       pg_catalog.jsonb_array_elements(k.value) s
  LEFT JOIN service_items.billing_scenarios b ON b.clinic_id = :gen AND b.id = (s ->> 'id')::bigint;
-- every list in its order: practitioners and billing keys ascending,
-- scenarios and resources by id, follow-ups by display_order (json, not
-- jsonb, so that key order is the loader's)
SELECT pg_catalog.bool_and((SELECT COALESCE(pg_catalog.array_agg(p::bigint ORDER BY o) = pg_catalog.array_agg(p::bigint ORDER BY p::bigint), true)
                              FROM pg_catalog.json_array_elements_text(e -> 'practitioner_assignments') WITH ORDINALITY AS x(p, o))) AS practitioners_sorted,
       pg_catalog.bool_and((SELECT COALESCE(pg_catalog.array_agg(k ORDER BY o) = pg_catalog.array_agg(k ORDER BY k::bigint), true)
                              FROM pg_catalog.json_object_keys(e -> 'billing_scenarios') WITH ORDINALITY AS x(k, o))) AS billing_keys_sorted,
       pg_catalog.bool_and((SELECT COALESCE(pg_catalog.array_agg(s ->> 'id' ORDER BY k.o, x.o) = pg_catalog.array_agg(s ->> 'id' ORDER BY k.o, (s ->> 'id')::bigint), true)
                              FROM pg_catalog.json_each(e -> 'billing_scenarios') WITH ORDINALITY AS k(key, value, o),
                                   pg_catalog.json_array_elements(k.value) WITH ORDINALITY AS x(s, o))) AS scenarios_sorted,
       pg_catalog.bool_and((SELECT COALESCE(pg_catalog.array_agg(r ->> 'id' ORDER BY o) = pg_catalog.array_agg(r ->> 'id' ORDER BY (r ->> 'id')::bigint), true)
                              FROM pg_catalog.json_array_elements(e -> 'resource_requirements') WITH ORDINALITY AS x(r, o))) AS resources_sorted,
       pg_catalog.bool_and((SELECT COALESCE(pg_catalog.array_agg(f ->> 'id' ORDER BY o) = pg_catalog.array_agg(f ->> 'id' ORDER BY (f ->> 'display_order')::int), true)
                              FROM pg_catalog.json_array_elements(e -> 'follow_up_messages') WITH ORDINALITY AS x(f, o))) AS follow_ups_sorted
  FROM pg_catalog.json_array_elements(service_items.bulk_load_associations(:gen) -> 'associations') e;
-- resources and follow-ups: exact texts, counts of the live items' rows
SELECT pg_catalog.count(*) AS resources,
       pg_catalog.count(*) FILTER (WHERE t.name = r ->> 'resource_type_name') AS exact_names
  FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') e,
       pg_catalog.jsonb_array_elements(e -> 'resource_requirements') r
  JOIN service_items.resource_types t ON t.clinic_id = :gen AND t.id = (r ->> 'resource_type_id')::bigint;
SELECT pg_catalog.count(*) AS follow_ups,
       pg_catalog.count(*) FILTER (WHERE m.message_template = f ->> 'message_template'
                                     AND pg_catalog.to_char(m.time_of_day, 'HH24:MI') IS NOT DISTINCT FROM f ->> 'time_of_day'
                                     AND m.timing_mode = f ->> 'timing_mode') AS exact
  FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') e,
       pg_catalog.jsonb_array_elements(e -> 'follow_up_messages') f
  JOIN service_items.follow_up_messages m ON m.clinic_id = :gen AND m.id = (f ->> 'id')::bigint;
-- items with no associations (every 11th) have every section, empty
SELECT pg_catalog.count(*) AS empty_items
  FROM pg_catalog.jsonb_array_elements(:'gen_doc'::jsonb -> 'associations') e
 WHERE e -> 'practitioner_assignments' = '[]' AND e -> 'billing_scenarios' = '{}'
   AND e -> 'resource_requirements' = '[]' AND e -> 'follow_up_messages' = '[]';
-- another clinic's items, asked for by id, are ignored both ways
SELECT service_items.bulk_load_associations(:gen, '{5201,5202,5205}') AS gen_with_a_ids,
       pg_catalog.jsonb_array_length(service_items.bulk_load_associations(5000001,
           (SELECT pg_catalog.array_agg(id) FROM service_items.appointment_types WHERE clinic_id = :gen))::jsonb
           -> 'associations') AS a_with_gen_ids;

DROP SCHEMA load_basic CASCADE;
