/*
 * save_validation: the validation contract of bulk_save_associations and
 * validate_associations (SPEC §5, §6) on a hand-made clinic with explicit
 * ids, so that every path in the expected output is exact.
 *
 * Checks: every error code of SPEC §5 triggered at least once, with its
 * exact path; every path is a valid jsonpath that finds, in strict mode,
 * exactly the offending value of the payload (for "required": the member is
 * missing from an object that exists, or is null or an empty string);
 * several errors in different sections are all reported by one 22023 whose
 * MESSAGE counts them and whose DETAIL is a JSON array of {path, code,
 * message}; validate_associations reports the same list as the save, and
 * writes nothing; "1 error" in the singular; the DETAIL capped at 100
 * entries while the message and error_count count all (150); too_many for
 * 201 entries in one list and for more than 50,000 entries in the payload
 * (200 and 50,000 are allowed); PT409 takes precedence over validation
 * errors; NULL arguments raise 22004; a payload that is not a JSON object
 * raises 22023; payloads that are valid (null members counted as absent,
 * boundary values, a loaded object sent back as it is) are judged valid.
 * No call in this file writes anything: the clinic checksum (with xmin)
 * is the same at the end.
 *
 * Calls run as superuser without request.jwt.claims (authorization is
 * tested elsewhere).  No save here succeeds, so explicit small ids cannot
 * clash with identity values.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS save_validation CASCADE;
CREATE SCHEMA save_validation;

---------------------------------------------------------------------------
-- The clinic (7000001) and a neighbour (7000002).
--   items: 1 Massage (version 3), 2 Physio, 3 deleted; 9 is the neighbour's
--   practitioners: 101, 102 active; 103 inactive; 104 staff only;
--                  105 a practitioner of the neighbour
--   resource types: 11, 12; 19 is the neighbour's
--   item 1: practitioners 101, 102; scenarios 301 (1-101), 302 (1-102),
--           304 (1-101, soft-deleted); requirement 401; follow-up 501
--   item 2: practitioner 101; scenario 303 (2-101); requirement 402;
--           follow-up 502
---------------------------------------------------------------------------
DELETE FROM service_items.clinics WHERE id IN (7000001, 7000002);
INSERT INTO service_items.clinics (id, name) VALUES
    (7000001, 'Validation clinic'), (7000002, 'Neighbour clinic');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active) VALUES
    (7000001, 101, 'Dr. A', '{practitioner}', true),
    (7000001, 102, 'Dr. B', '{admin,practitioner}', true),
    (7000001, 103, 'Former practitioner', '{practitioner}', false),
    (7000001, 104, 'Front desk', '{staff}', true),
    (7000002, 105, 'Dr. Neighbour', '{practitioner}', true);
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (7000001, 11, 'Room'), (7000001, 12, 'Table'), (7000002, 19, 'Neighbour room');
INSERT INTO service_items.appointment_types
    (clinic_id, id, name, duration_minutes, display_order, is_deleted, associations_version) VALUES
    (7000001, 1, 'Massage', 60, 1, false, 3),
    (7000001, 2, 'Physio', 30, 2, false, 1),
    (7000001, 3, 'Deleted item', 30, 3, true, 1),
    (7000002, 9, 'Neighbour item', 30, 1, false, 1);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id) VALUES
    (7000001, 1, 101), (7000001, 1, 102), (7000001, 2, 101), (7000002, 9, 105);
INSERT INTO service_items.billing_scenarios
    (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share,
     is_default, is_deleted, deleted_at) VALUES
    (7000001, 301, 1, 101, 'Standard', 100, 80, true, false, NULL),
    (7000001, 302, 1, 102, 'Standard', 100, 80, true, false, NULL),
    (7000001, 303, 2, 101, 'Standard', 50, 10, false, false, NULL),
    (7000001, 304, 1, 101, 'Old rate', 10, 1, false, true, now());
INSERT INTO service_items.appointment_resource_requirements
    (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (7000001, 401, 1, 11, 1), (7000001, 402, 2, 12, 2);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, is_enabled, display_order) VALUES
    (7000001, 501, 1, 'hours_after', 2, NULL, NULL, 'Thanks', true, 1),
    (7000001, 502, 2, 'specific_time', NULL, 1, '09:00', 'See you tomorrow', true, 1);

SELECT service_items_demo.clinic_checksum(7000001) AS checksum_before \gset

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- where_is(payload, path, code) says what the error path finds in the
-- payload: 'value' when the strict path finds exactly one value and the lax
-- path (as SPEC §5 writes it, path::jsonpath) finds the same; for
-- "required": 'missing member' when the member is absent from an object
-- that exists, 'null' or 'empty string' when it is there but null or "".
-- Anything else is a broken path.
CREATE FUNCTION save_validation.where_is(payload jsonb, path text, code text)
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
        RETURN 'INVALID JSONPATH: ' || SQLERRM;
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
           jsonb_typeof(jsonb_path_query_first(payload, ('strict ' || parent)::jsonpath, '{}', true)) = 'object'
        THEN
            RETURN 'missing member';
        END IF;
    END IF;
    RETURN format('BROKEN PATH: strict finds %s, lax finds %s', strict_found, lax_found);
END
$$;

-- errors(payload) lists validate_associations' errors for the clinic, in
-- the order reported, with what each path finds.
CREATE FUNCTION save_validation.errors(payload jsonb)
RETURNS TABLE (n bigint, path text, code text, finds text)
LANGUAGE sql AS $$
    SELECT o, e ->> 'path', e ->> 'code', save_validation.where_is(payload, e ->> 'path', e ->> 'code')
      FROM jsonb_array_elements(service_items.validate_associations(7000001, payload) -> 'errors')
           WITH ORDINALITY AS x(e, o)
$$;

-- save_error(clinic, payload) calls the save in a subtransaction and returns
-- the error it raised (SQLSTATE, MESSAGE, DETAIL, HINT), or 'ok'.  A save
-- that succeeds is rolled back too, so nothing here can write.
CREATE FUNCTION save_validation.save_error(
    clinic bigint, payload jsonb,
    OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM service_items.bulk_save_associations(clinic, payload);
        RAISE EXCEPTION USING ERRCODE = 'SI000', MESSAGE = 'ok';
    EXCEPTION WHEN others THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    END;
    IF state = 'SI000' THEN
        state := 'ok';
        message := NULL;
    END IF;
END
$$;

-- validate_error(clinic, payload): the same for validate_associations.
CREATE FUNCTION save_validation.validate_error(clinic bigint, payload jsonb,
                                               OUT state text, OUT message text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_items.validate_associations(clinic, payload);
    state := 'ok';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
END
$$;

-- agreement(payload) compares the save with validate_associations: when
-- validation reports a version_conflict the save must raise PT409 (DETAIL:
-- the conflicts); otherwise it must raise 22023 whose MESSAGE counts
-- error_count and whose DETAIL equals the reported errors.  Returns NULL
-- when they agree, else what differs.
CREATE FUNCTION save_validation.agreement(payload jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    verdict jsonb := service_items.validate_associations(7000001, payload);
    saved record;
    n bigint := (verdict ->> 'error_count')::bigint;
BEGIN
    SELECT * INTO saved FROM save_validation.save_error(7000001, payload);
    IF verdict -> 'errors' @> '[{"code": "version_conflict"}]' THEN
        IF saved.state = 'PT409' THEN
            RETURN NULL;
        END IF;
    ELSIF verdict ->> 'valid' = 'false' AND saved.state = '22023'
          AND saved.message = format('invalid associations payload: %s %s', n,
                                     CASE WHEN n = 1 THEN 'error' ELSE 'errors' END)
          AND saved.detail::jsonb = verdict -> 'errors' THEN
        RETURN NULL;
    END IF;
    RETURN format('validate: %s / save: %s %s %s', verdict, saved.state, saved.message, saved.detail);
END
$$;

---------------------------------------------------------------------------
-- One case per rule: each payload breaks one rule (or a few, said so).
---------------------------------------------------------------------------
CREATE TABLE save_validation.cases (
    n serial PRIMARY KEY,
    rule text NOT NULL,
    payload jsonb NOT NULL
);
INSERT INTO save_validation.cases (rule, payload) VALUES
-- unknown_key
('unknown top-level key',
 '{"practitioner_assignment": {}}'),
('unknown top-level key that needs escaping in a path',
 '{"a \"quoted\" \\ key.with.dots": 1}'),
('unknown key in a scenario',
 '{"billing_scenarios": {"1-101": [{"id": 301, "name": "Standard", "amount": 100, "revenue_share": 80, "price": 1}]}}'),
('unknown key in a requirement',
 '{"resource_requirements": {"1": [{"resource_type_id": 11, "quantity": 1, "qty": 1}]}}'),
('unknown key in a follow-up',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "display_order": 1, "timing": "now"}]}}'),
-- wrong_type
('section is not an object',
 '{"practitioner_assignments": [101]}'),
('list is not an array',
 '{"resource_requirements": {"1": {"resource_type_id": 11, "quantity": 1}}}'),
('entry is not an object',
 '{"follow_up_messages": {"1": ["hello"]}}'),
('practitioner id is a string',
 '{"practitioner_assignments": {"1": [101, "102"]}}'),
('practitioner id has a fraction',
 '{"practitioner_assignments": {"1": [101.5]}}'),
('practitioner id is null',
 '{"practitioner_assignments": {"1": [null]}}'),
('amount is a string',
 '{"billing_scenarios": {"1-101": [{"name": "Standard", "amount": "100", "revenue_share": 80}]}}'),
('NaN can only arrive as a string',
 '{"billing_scenarios": {"1-101": [{"name": "Standard", "amount": "NaN", "revenue_share": 0}]}}'),
('is_default is not a boolean',
 '{"billing_scenarios": {"1-101": [{"name": "Standard", "amount": 100, "revenue_share": 80, "is_default": 1}]}}'),
('name is not a string',
 '{"billing_scenarios": {"1-101": [{"name": 7, "amount": 100, "revenue_share": 80}]}}'),
('quantity has a fraction',
 '{"resource_requirements": {"1": [{"resource_type_id": 11, "quantity": 1.5}]}}'),
('resource_type_id is a string',
 '{"resource_requirements": {"1": [{"resource_type_id": "11", "quantity": 1}]}}'),
('timing_mode is not a string',
 '{"follow_up_messages": {"1": [{"timing_mode": 1, "message_template": "x", "display_order": 1}]}}'),
('is_enabled is a string',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "is_enabled": "true", "display_order": 1}]}}'),
('time_of_day is a number',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 1, "time_of_day": 900, "message_template": "x", "display_order": 1}]}}'),
('expected version is a string',
 '{"expected_versions": {"1": "3"}}'),
-- bad_key
('item key with a leading zero',
 '{"practitioner_assignments": {"01": []}}'),
('item key zero',
 '{"resource_requirements": {"0": []}}'),
('item key with a sign',
 '{"follow_up_messages": {"+1": []}}'),
('item key beyond bigint',
 '{"practitioner_assignments": {"9223372036854775808": []}}'),
('billing key without a practitioner',
 '{"billing_scenarios": {"1": []}}'),
('billing key with a leading zero',
 '{"billing_scenarios": {"1-0101": []}}'),
('billing key with spaces',
 '{"billing_scenarios": {"1 - 101": []}}'),
('expected_versions key is not a number',
 '{"expected_versions": {"one": 3}}'),
-- unknown_service_item
('deleted item',
 '{"practitioner_assignments": {"3": []}}'),
('the neighbour''s item',
 '{"resource_requirements": {"9": []}}'),
('no such item',
 '{"follow_up_messages": {"9223372036854775807": []}}'),
('unknown item in a billing key',
 '{"billing_scenarios": {"3-101": []}}'),
('unknown item in expected_versions',
 '{"expected_versions": {"4": 1}}'),
-- unknown_practitioner
('inactive practitioner',
 '{"practitioner_assignments": {"1": [101, 102, 103]}}'),
('staff member who is no practitioner',
 '{"practitioner_assignments": {"1": [104]}}'),
('the neighbour''s practitioner',
 '{"practitioner_assignments": {"1": [101, 105]}}'),
('billing key of a non-practitioner',
 '{"billing_scenarios": {"1-104": []}}'),
-- unknown_resource_type
('the neighbour''s resource type',
 '{"resource_requirements": {"1": [{"resource_type_id": 19, "quantity": 1}]}}'),
-- unknown_id
('scenario of another practitioner of the item',
 '{"billing_scenarios": {"1-101": [{"id": 302, "name": "Standard", "amount": 100, "revenue_share": 80}]}}'),
('scenario of another item',
 '{"billing_scenarios": {"1-101": [{"id": 303, "name": "Standard", "amount": 100, "revenue_share": 80}]}}'),
('soft-deleted scenario',
 '{"billing_scenarios": {"1-101": [{"id": 304, "name": "Old rate", "amount": 10, "revenue_share": 1}]}}'),
('requirement of another item',
 '{"resource_requirements": {"1": [{"id": 402, "resource_type_id": 12, "quantity": 2}]}}'),
('follow-up of another item',
 '{"follow_up_messages": {"1": [{"id": 502, "timing_mode": "specific_time", "days_after": 1, "time_of_day": "09:00", "message_template": "x", "display_order": 1}]}}'),
-- duplicate
('practitioner listed twice',
 '{"practitioner_assignments": {"1": [101, 102, 101]}}'),
('scenario id listed twice',
 '{"billing_scenarios": {"1-101": [{"id": 301, "name": "A", "amount": 1, "revenue_share": 0}, {"id": 301, "name": "B", "amount": 1, "revenue_share": 0}]}}'),
('scenario name listed twice',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 1, "revenue_share": 0}, {"name": "A", "amount": 2, "revenue_share": 0}]}}'),
('requirement id listed twice',
 '{"resource_requirements": {"1": [{"id": 401, "resource_type_id": 11, "quantity": 1}, {"id": 401, "resource_type_id": 12, "quantity": 1}]}}'),
('resource type listed twice',
 '{"resource_requirements": {"1": [{"resource_type_id": 11, "quantity": 1}, {"resource_type_id": 12, "quantity": 1}, {"resource_type_id": 11, "quantity": 2}]}}'),
('follow-up id listed twice',
 '{"follow_up_messages": {"1": [{"id": 501, "timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "display_order": 1}, {"id": 501, "timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "display_order": 2}]}}'),
('follow-up display_order listed twice',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "display_order": 1}, {"timing_mode": "hours_after", "hours_after": 2, "message_template": "y", "display_order": 1}]}}'),
-- not_assigned
('billing for a practitioner not assigned to the item',
 '{"billing_scenarios": {"2-102": [{"name": "Standard", "amount": 1, "revenue_share": 0}]}}'),
('billing for a practitioner the same payload unassigns',
 '{"practitioner_assignments": {"1": [101]}, "billing_scenarios": {"1-102": [{"id": 302, "name": "Standard", "amount": 100, "revenue_share": 80}]}}'),
-- required
('scenario without name, amount and revenue_share',
 '{"billing_scenarios": {"1-101": [{"is_default": true}]}}'),
('null members count as absent',
 '{"billing_scenarios": {"1-101": [{"name": null, "amount": 1, "revenue_share": null}]}}'),
('empty name',
 '{"billing_scenarios": {"1-101": [{"name": "", "amount": 1, "revenue_share": 0}]}}'),
('requirement without resource_type_id and quantity',
 '{"resource_requirements": {"1": [{"resource_type_name": "Room"}]}}'),
('follow-up with nothing in it',
 '{"follow_up_messages": {"1": [{}]}}'),
('hours_after mode without hours_after',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": null, "message_template": "x", "display_order": 1}]}}'),
('specific_time mode without days_after and time_of_day',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "message_template": "x", "display_order": 1}]}}'),
('empty template',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "", "display_order": 1}]}}'),
-- out_of_range
('negative amount',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": -0.01, "revenue_share": 0}]}}'),
('amount with three decimals',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 10.001, "revenue_share": 0}]}}'),
('amount over 99,999,999.99',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 100000000, "revenue_share": 0}]}}'),
('revenue_share negative',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 10, "revenue_share": -1}]}}'),
('quantity 0',
 '{"resource_requirements": {"1": [{"resource_type_id": 11, "quantity": 0}]}}'),
('quantity 1001',
 '{"resource_requirements": {"1": [{"resource_type_id": 11, "quantity": 1001}]}}'),
('hours_after -1',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": -1, "message_template": "x", "display_order": 1}]}}'),
('hours_after 8761',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 8761, "message_template": "x", "display_order": 1}]}}'),
('days_after 366',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 366, "time_of_day": "09:00", "message_template": "x", "display_order": 1}]}}'),
('days_after -1',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": -1, "time_of_day": "09:00", "message_template": "x", "display_order": 1}]}}'),
('display_order beyond int4',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "x", "display_order": 2147483648}]}}'),
('practitioner id 0',
 '{"practitioner_assignments": {"1": [0]}}'),
('expected version 0',
 '{"expected_versions": {"1": 0}}'),
('scenario id 0',
 '{"billing_scenarios": {"1-101": [{"id": 0, "name": "A", "amount": 1, "revenue_share": 0}]}}'),
-- revenue_share_exceeds_amount
('revenue_share above amount',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 10, "revenue_share": 10.01}]}}'),
-- multiple_defaults
('two defaults in a pair',
 '{"billing_scenarios": {"1-101": [{"name": "A", "amount": 1, "revenue_share": 0, "is_default": true}, {"name": "B", "amount": 1, "revenue_share": 0, "is_default": false}, {"name": "C", "amount": 1, "revenue_share": 0, "is_default": true}]}}'),
-- invalid_value
('unknown timing_mode',
 '{"follow_up_messages": {"1": [{"timing_mode": "daily", "message_template": "x", "display_order": 1}]}}'),
('timing_mode in another case',
 '{"follow_up_messages": {"1": [{"timing_mode": "Hours_After", "hours_after": 1, "message_template": "x", "display_order": 1}]}}'),
('days_after and time_of_day in hours_after mode',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "days_after": 1, "time_of_day": "09:00", "message_template": "x", "display_order": 1}]}}'),
('hours_after in specific_time mode',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "hours_after": 0, "days_after": 1, "time_of_day": "09:00", "message_template": "x", "display_order": 1}]}}'),
('time_of_day without a leading zero',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 1, "time_of_day": "9:00", "message_template": "x", "display_order": 1}]}}'),
('time_of_day 24:00',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 1, "time_of_day": "24:00", "message_template": "x", "display_order": 1}]}}'),
('time_of_day 12:60',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 1, "time_of_day": "12:60", "message_template": "x", "display_order": 1}]}}'),
('time_of_day with seconds',
 '{"follow_up_messages": {"1": [{"timing_mode": "specific_time", "days_after": 1, "time_of_day": "09:00:00", "message_template": "x", "display_order": 1}]}}'),
-- too_long
('name of 256 characters',
 jsonb_build_object('billing_scenarios', jsonb_build_object('1-101', jsonb_build_array(
     jsonb_build_object('name', repeat('n', 256), 'amount', 1, 'revenue_share', 0))))),
('template of 5,001 characters',
 jsonb_build_object('follow_up_messages', jsonb_build_object('1', jsonb_build_array(
     jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 1,
                        'message_template', repeat('x', 5001), 'display_order', 1))))),
-- invalid_characters
('carriage return in a name',
 '{"billing_scenarios": {"1-101": [{"name": "A\r\nB", "amount": 1, "revenue_share": 0}]}}'),
('DEL in a name',
 '{"billing_scenarios": {"1-101": [{"name": "A\u007fB", "amount": 1, "revenue_share": 0}]}}'),
('C1 control (NEL) in a name',
 '{"billing_scenarios": {"1-101": [{"name": "A\u0085B", "amount": 1, "revenue_share": 0}]}}'),
('escape character in a template',
 '{"follow_up_messages": {"1": [{"timing_mode": "hours_after", "hours_after": 1, "message_template": "\u001b[31mred", "display_order": 1}]}}'),
-- version_conflict (validate_associations only; the save raises PT409)
('stale expected version',
 '{"expected_versions": {"1": 2, "2": 1}}');

-- Every error of every case, with what its path finds in the payload.
SELECT c.n, c.rule, e.path, e.code, e.finds
  FROM save_validation.cases c, save_validation.errors(c.payload) e
 ORDER BY c.n, e.n;

-- Every path finds what it should (none broken), and every case fails.
SELECT c.n, c.rule, e.path, e.finds
  FROM save_validation.cases c, save_validation.errors(c.payload) e
 WHERE e.finds NOT IN ('value', 'missing member', 'null', 'empty string')
    OR (e.code = 'required') <> (e.finds <> 'value');
SELECT c.n, c.rule FROM save_validation.cases c
 WHERE service_items.validate_associations(7000001, c.payload) ->> 'valid' <> 'false';

-- Every code of SPEC §5 is covered.
SELECT code AS code_not_covered
  FROM unnest('{unknown_key, wrong_type, bad_key, unknown_service_item, unknown_practitioner,
                unknown_resource_type, unknown_id, duplicate, not_assigned, required, out_of_range,
                revenue_share_exceeds_amount, multiple_defaults, invalid_value, too_long,
                invalid_characters, too_many, version_conflict}'::text[]) AS u(code)
EXCEPT
SELECT e.code FROM save_validation.cases c, save_validation.errors(c.payload) e
EXCEPT
SELECT 'too_many';      -- covered below, on payloads too big for this table

-- The save agrees with validate_associations on every case: 22023 with the
-- same errors in DETAIL and their count in MESSAGE, or PT409 for the stale
-- version.
SELECT c.n, c.rule, save_validation.agreement(c.payload) AS disagreement
  FROM save_validation.cases c
 WHERE save_validation.agreement(c.payload) IS NOT NULL;

-- One error: the singular, and the whole 22023 as the caller sees it.
SELECT state, message, detail, hint
  FROM save_validation.save_error(7000001, '{"practitioner_assignments": {"1": [101, 102, 103]}}');

---------------------------------------------------------------------------
-- Several errors in different sections: all of them in one 22023.
---------------------------------------------------------------------------
\set several '{"practitioner_assignments": {"1": [101, 103], "01": [101]}, "billing_scenarios": {"1-101": [{"id": 301, "name": "Standard", "amount": 100, "revenue_share": 120, "is_default": true}, {"name": "Standard", "amount": 10, "revenue_share": 1, "is_default": true}], "2-102": [{"name": "X", "amount": 1, "revenue_share": 0}]}, "resource_requirements": {"1": [{"resource_type_id": 19, "quantity": 1001}], "3": []}, "follow_up_messages": {"2": [{"id": 501, "timing_mode": "specific_time", "days_after": 1, "time_of_day": "25:00", "message_template": "", "display_order": 1}]}, "expected_versions": {"2": "1"}, "colour": "blue"}'
SELECT state, message, hint FROM save_validation.save_error(7000001, :'several');
SELECT e.o AS n, e.x ->> 'path' AS path, e.x ->> 'code' AS code, e.x ->> 'message' AS message,
       save_validation.where_is(:'several', e.x ->> 'path', e.x ->> 'code') AS finds
  FROM save_validation.save_error(7000001, :'several') s,
       jsonb_array_elements(s.detail::jsonb) WITH ORDINALITY AS e(x, o)
 ORDER BY e.o;
-- DETAIL is a JSON array of objects with exactly path, code and message.
SELECT DISTINCT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(e) k) AS error_keys
  FROM save_validation.save_error(7000001, :'several') s, jsonb_array_elements(s.detail::jsonb) e;
-- validate_associations reports the same list, and its shape.
SELECT v ->> 'valid' AS valid, v ->> 'error_count' AS error_count,
       v -> 'errors' = (SELECT detail::jsonb FROM save_validation.save_error(7000001, :'several')) AS same_errors,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(v) k) AS keys
  FROM service_items.validate_associations(7000001, :'several') AS v;
SELECT save_validation.agreement(:'several') AS disagreement;

---------------------------------------------------------------------------
-- PT409 takes precedence over validation errors, and nothing is written.
---------------------------------------------------------------------------
\set stale '{"practitioner_assignments": {"1": [101, 103]}, "resource_requirements": {"2": [{"resource_type_id": 11, "quantity": 0}]}, "expected_versions": {"1": 2, "2": 1}}'
SELECT state, message, detail, hint FROM save_validation.save_error(7000001, :'stale');
SELECT path, code, finds FROM save_validation.errors(:'stale');

---------------------------------------------------------------------------
-- At most 100 errors in DETAIL; MESSAGE and error_count count them all.
-- 150 practitioners who do not exist on item 1.
---------------------------------------------------------------------------
SELECT jsonb_build_object('practitioner_assignments',
           jsonb_build_object('1', (SELECT jsonb_agg(g) FROM generate_series(1001, 1150) g))) AS many \gset
SELECT s.state, s.message, jsonb_array_length(s.detail::jsonb) AS detail_entries,
       s.detail::jsonb -> 0 ->> 'path' AS first_path, s.detail::jsonb -> 99 ->> 'path' AS last_path
  FROM save_validation.save_error(7000001, :'many') s;
SELECT v ->> 'error_count' AS error_count, jsonb_array_length(v -> 'errors') AS listed,
       v -> 'errors' = (SELECT detail::jsonb FROM save_validation.save_error(7000001, :'many')) AS same_errors
  FROM service_items.validate_associations(7000001, :'many') AS v;
SELECT count(*) AS paths, count(*) FILTER (WHERE finds = 'value') AS finding_their_value
  FROM save_validation.errors(:'many');

---------------------------------------------------------------------------
-- too_many: 201 entries in one list (200 are fine), and more than 50,000
-- entries in the payload (50,000 are fine).
---------------------------------------------------------------------------
-- 201 follow-ups on item 1, and 200 follow-ups (valid) on item 2.
SELECT jsonb_build_object('follow_up_messages', jsonb_build_object(
           '1', (SELECT jsonb_agg(jsonb_build_object('timing_mode', 'hours_after', 'hours_after', g,
                                                     'message_template', 'm' || g, 'display_order', g))
                   FROM generate_series(1, 201) g),
           '2', (SELECT jsonb_agg(jsonb_build_object('timing_mode', 'hours_after', 'hours_after', g,
                                                     'message_template', 'm' || g, 'display_order', g))
                   FROM generate_series(1, 200) g))) AS list201 \gset
SELECT path, code, finds FROM save_validation.errors(:'list201');
SELECT state, message, detail::jsonb AS detail FROM save_validation.save_error(7000001, :'list201');
-- 201 practitioners on item 1: only too_many, not 201 unknown practitioners.
SELECT path, code, finds
  FROM save_validation.errors(jsonb_build_object('practitioner_assignments',
           jsonb_build_object('1', (SELECT jsonb_agg(g) FROM generate_series(1001, 1201) g))));
-- A list of 200 follow-ups is valid.
SELECT service_items.validate_associations(7000001, jsonb_build_object('follow_up_messages',
           jsonb_build_object('1', :'list201'::jsonb #> '{follow_up_messages,2}'))) AS list200;

-- 50,001 entries: 250 lists of 200 practitioners and one of 1.  Refused
-- whole, with one error at $.
SELECT jsonb_build_object('practitioner_assignments',
           (SELECT jsonb_object_agg(k, (SELECT jsonb_agg(g) FROM generate_series(1001, 1200) g))
              FROM generate_series(1001, 1250) k) || '{"1": [101]}') AS huge \gset
SELECT (SELECT sum(jsonb_array_length(v)) FROM jsonb_each(:'huge'::jsonb -> 'practitioner_assignments') AS x(k, v)) AS entries;
SELECT path, code, finds FROM save_validation.errors(:'huge');
SELECT state, message, detail::jsonb AS detail FROM save_validation.save_error(7000001, :'huge');
SELECT save_validation.agreement(:'huge') AS disagreement;
-- 50,000 entries: no too_many (the unknown items and practitioners are
-- reported instead: 250 + 50,000 errors).
SELECT v ->> 'error_count' AS error_count,
       v -> 'errors' @> '[{"code": "too_many"}]' AS has_too_many,
       jsonb_array_length(v -> 'errors') AS listed
  FROM service_items.validate_associations(7000001,
           jsonb_build_object('practitioner_assignments', (:'huge'::jsonb -> 'practitioner_assignments') - '1')) AS v;

-- A list of 201 entries and a stale expected version: PT409 takes precedence
-- here too, and validate_associations reports the version_conflict with the
-- too_many.
SELECT state, message, detail::jsonb AS detail
  FROM save_validation.save_error(7000001,
           jsonb_build_object('practitioner_assignments',
                              jsonb_build_object('1', (SELECT jsonb_agg(g) FROM generate_series(1001, 1201) g)),
                              'expected_versions', '{"1": 2}'::jsonb));
SELECT path, code, finds
  FROM save_validation.errors(jsonb_build_object('practitioner_assignments',
           jsonb_build_object('1', (SELECT jsonb_agg(g) FROM generate_series(1001, 1201) g)),
           'expected_versions', '{"1": 2}'::jsonb))
 ORDER BY path;

---------------------------------------------------------------------------
-- NULL arguments: 22004.  A payload that is not a JSON object: 22023.
---------------------------------------------------------------------------
SELECT 'bulk_save_associations' AS function, a.clinic, a.payload, s.state, s.message
  FROM (VALUES (NULL::bigint, '{}'::jsonb), (7000001, NULL), (NULL, NULL)) AS a(clinic, payload),
       save_validation.save_error(a.clinic, a.payload) s
UNION ALL
SELECT 'validate_associations', a.clinic, a.payload, v.state, v.message
  FROM (VALUES (NULL::bigint, '{}'::jsonb), (7000001, NULL), (NULL, NULL)) AS a(clinic, payload),
       save_validation.validate_error(a.clinic, a.payload) v;
SELECT a.payload, s.state AS save_state, s.message AS save_message,
       v.state AS validate_state, v.message AS validate_message
  FROM unnest('{"[]", "[{}]", "1", "\"{}\"", "null", "true"}'::jsonb[]) AS a(payload),
       save_validation.save_error(7000001, a.payload) s,
       save_validation.validate_error(7000001, a.payload) v;

---------------------------------------------------------------------------
-- Valid payloads: null members count as absent, boundaries, a loaded object
-- sent back as it is.  validate_associations writes nothing.
---------------------------------------------------------------------------
SELECT v.rule, service_items.validate_associations(7000001, v.payload) AS verdict
  FROM (VALUES
    ('empty payload', '{}'::jsonb),
    ('null sections and null lists',
     '{"practitioner_assignments": null, "billing_scenarios": {"1-101": null}, "resource_requirements": null,
       "follow_up_messages": {"1": null}, "expected_versions": null}'),
    ('null optional members',
     '{"billing_scenarios": {"1-101": [{"id": null, "name": "A", "amount": 1, "revenue_share": 0, "is_default": null}]},
       "resource_requirements": {"1": [{"id": null, "resource_type_id": 11, "quantity": 1, "resource_type_name": null}]},
       "follow_up_messages": {"1": [{"id": null, "timing_mode": "hours_after", "hours_after": 0, "days_after": null,
                                     "time_of_day": null, "message_template": "x", "is_enabled": null, "display_order": 0}]}}'),
    ('boundaries',
     jsonb_build_object(
       'billing_scenarios', jsonb_build_object('1-101', jsonb_build_array(
           jsonb_build_object('name', repeat('界', 255), 'amount', 99999999.99, 'revenue_share', 99999999.99, 'is_default', true),
           jsonb_build_object('name', E'tab\tand\nnewline', 'amount', 0, 'revenue_share', 0),
           jsonb_build_object('name', 'cents', 'amount', 10.5, 'revenue_share', 10.50),
           jsonb_build_object('name', 'exponent', 'amount', 1e2, 'revenue_share', 0.01))),
       'resource_requirements', '{"1": [{"resource_type_id": 11, "quantity": 1}, {"resource_type_id": 12, "quantity": 1000}]}'::jsonb,
       'follow_up_messages', jsonb_build_object('1', jsonb_build_array(
           jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 0, 'message_template', repeat('界', 5000), 'display_order', 0),
           jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 8760, 'message_template', E'a\tb\nc', 'display_order', 2147483647),
           jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 1, 'message_template', 'first', 'display_order', -2147483648),
           jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 1, 'message_template', E'no C1: \u00a0\u00e9', 'display_order', -1),
           jsonb_build_object('timing_mode', 'specific_time', 'days_after', 0, 'time_of_day', '00:00', 'message_template', '<b>&amp;</b>', 'display_order', 1),
           jsonb_build_object('timing_mode', 'specific_time', 'days_after', 365, 'time_of_day', '23:59', 'message_template', 'z', 'is_enabled', false, 'display_order', 2))))),
    ('matching expected versions', '{"expected_versions": {"1": 3, "2": 1}}'),
    ('assign and price in one payload',
     '{"practitioner_assignments": {"2": [101, 102]}, "billing_scenarios": {"2-102": [{"name": "New", "amount": 1, "revenue_share": 0}]}}')
  ) AS v(rule, payload);

-- The loaded document of the clinic turned into a payload as it is (with
-- resource_type_name, nulls of the other timing mode and the versions).
SELECT service_items.validate_associations(7000001, jsonb_build_object(
    'practitioner_assignments', (SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'practitioner_assignments') FROM jsonb_array_elements(d -> 'associations') a),
    'billing_scenarios', (SELECT jsonb_object_agg((a ->> 'service_item_id') || '-' || b.key, b.value)
                            FROM jsonb_array_elements(d -> 'associations') a, jsonb_each(a -> 'billing_scenarios') b),
    'resource_requirements', (SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'resource_requirements') FROM jsonb_array_elements(d -> 'associations') a),
    'follow_up_messages', (SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'follow_up_messages') FROM jsonb_array_elements(d -> 'associations') a),
    'expected_versions', (SELECT jsonb_object_agg(a ->> 'service_item_id', a -> 'version') FROM jsonb_array_elements(d -> 'associations') a)))
       AS loaded_document_sent_back
  FROM (SELECT service_items.bulk_load_associations(7000001)::jsonb) AS x(d);

-- Nothing in this file wrote anything.
SELECT service_items_demo.clinic_checksum(7000001) = :'checksum_before' AS clinic_unchanged;
SELECT count(*) AS audit_rows FROM service_items.association_audit WHERE clinic_id = 7000001;
