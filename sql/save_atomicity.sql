/*
 * save_atomicity: a failing bulk_save_associations leaves the database
 * exactly as it was (SPEC §5 "all or nothing", §6).
 *
 * Each failing call runs in a subtransaction (a plpgsql block with an
 * EXCEPTION clause, as an application's transaction would be rolled back),
 * and for each: the SQLSTATE is the one SPEC §6 names, the clinic checksum
 * (every row of the clinic in every table, with its xmin) is identical
 * before and after, and the session remains usable (the following load, in
 * a new statement, equals the load before).  The failing calls:
 *   - a validation error in a payload that otherwise changes every section
 *     (22023), also uncaught at the top level of a transaction;
 *   - stale expected_versions (PT409);
 *   - a constraint violation after the assignments were written: a live
 *     scenario hidden by an unassigned practitioner, and a save that
 *     assigns that practitioner and adds a scenario of the same name
 *     (23P01 on billing_scenarios_name_excl);
 *   - an exception injected by a trigger on follow_up_messages (INSERT) and
 *     one on association_audit (INSERT), after the other sections, and then
 *     the versions too, were written by the same call (the trigger's message
 *     shows what the call had written so far);
 *   - statement_timeout during a save of a 1,000-item clinic that changes
 *     every scenario, requirement and follow-up (57014), at a tenth and at
 *     half of the time that save takes (a trigger holding the last writes
 *     makes sure the save cannot finish first);
 *   - and a save that succeeded, in a transaction rolled back afterwards.
 * Finally a valid save works in the same session.
 *
 * Calls run as superuser without request.jwt.claims.  Scenario,
 * requirement and follow-up ids come from the identity sequences (never
 * shown), so the failed inserts cannot collide with explicit ids.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS save_atomicity CASCADE;
CREATE SCHEMA save_atomicity;

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- attempt(clinic, payload) calls the save in a subtransaction and returns
-- the SQLSTATE, message and constraint of the error it raised, or 'ok' (a
-- save that succeeds here is kept: the checksum comparison then fails).
-- query_canceled is named because OTHERS does not catch it.
CREATE FUNCTION save_atomicity.attempt(clinic bigint, payload jsonb,
                                       OUT state text, OUT message text, OUT constraint_name text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_items.bulk_save_associations(clinic, payload);
    state := 'ok';
EXCEPTION WHEN query_canceled OR others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            constraint_name = CONSTRAINT_NAME;
END
$$;

-- after(clinic, checksum, document) compares the clinic with what it was:
-- the checksum of every row with its xmin, and a fresh load.
CREATE FUNCTION save_atomicity.after(clinic bigint, checksum text, doc text,
                                     OUT checksum_unchanged boolean, OUT load_unchanged boolean)
LANGUAGE sql AS $$
    SELECT service_items_demo.clinic_checksum(clinic) = checksum,
           service_items.bulk_load_associations(clinic)::text = doc
$$;

---------------------------------------------------------------------------
-- The clinic (7100001): items 11 and 12; practitioners 111 and 112
-- assigned, 113 active but unassigned; resource types 21, 22.
---------------------------------------------------------------------------
DELETE FROM service_items.clinics WHERE id = 7100001;
INSERT INTO service_items.clinics (id, name) VALUES (7100001, 'Atomicity clinic');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles) VALUES
    (7100001, 111, 'Dr. A', '{practitioner}'),
    (7100001, 112, 'Dr. B', '{practitioner}'),
    (7100001, 113, 'Dr. C', '{practitioner}');
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (7100001, 21, 'Room'), (7100001, 22, 'Table');
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes, display_order, associations_version) VALUES
    (7100001, 11, 'Massage', 60, 1, 4), (7100001, 12, 'Physio', 30, 2, 1);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id) VALUES
    (7100001, 11, 111), (7100001, 11, 112), (7100001, 12, 111);
INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share, is_default) VALUES
    (7100001, 11, 111, 'Standard', 100, 80, true),
    (7100001, 11, 111, 'Member', 90, 70, false),
    (7100001, 11, 112, 'Standard', 120, 100, true),
    (7100001, 12, 111, 'Standard', 50, 10, true);
INSERT INTO service_items.appointment_resource_requirements (clinic_id, appointment_type_id, resource_type_id, quantity) VALUES
    (7100001, 11, 21, 1), (7100001, 12, 22, 2);
INSERT INTO service_items.follow_up_messages
    (clinic_id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day, message_template, display_order) VALUES
    (7100001, 11, 'hours_after', 2, NULL, NULL, 'Thanks', 1),
    (7100001, 12, 'specific_time', NULL, 1, '09:00', 'See you', 1);

-- A payload that changes every section of both items (valid on its own):
-- 113 assigned to 11 with a scenario, 112 taken off 11, amounts, quantities,
-- a new requirement, follow-ups retimed and added.
SELECT jsonb_build_object(
    'practitioner_assignments', '{"11": [111, 113], "12": [111, 113]}'::jsonb,
    'billing_scenarios', jsonb_build_object(
        '11-111', (SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name || ' 2', 'amount', amount + 1,
                                                       'revenue_share', revenue_share, 'is_default', is_default) ORDER BY id)
                     FROM service_items.billing_scenarios WHERE clinic_id = 7100001 AND appointment_type_id = 11 AND practitioner_id = 111),
        '11-113', '[{"name": "Intro", "amount": 10, "revenue_share": 0, "is_default": true}]'::jsonb,
        '12-113', '[{"name": "Intro", "amount": 10, "revenue_share": 0}]'::jsonb),
    'resource_requirements', '{"11": [{"resource_type_id": 21, "quantity": 3}, {"resource_type_id": 22, "quantity": 1}], "12": []}'::jsonb,
    'follow_up_messages', '{"11": [{"timing_mode": "specific_time", "days_after": 2, "time_of_day": "10:00", "message_template": "Later", "display_order": 1}, {"timing_mode": "hours_after", "hours_after": 0, "message_template": "Now", "display_order": 2}], "12": []}'::jsonb,
    'expected_versions', '{"11": 4, "12": 1}'::jsonb) AS everything \gset

-- The payload is valid: validate_associations says so.
SELECT service_items.validate_associations(7100001, :'everything') AS verdict;

SELECT service_items_demo.clinic_checksum(7100001) AS before,
       service_items.bulk_load_associations(7100001)::text AS doc \gset

---------------------------------------------------------------------------
-- 1. A validation error (22023): the same payload with one bad quantity.
---------------------------------------------------------------------------
SELECT state, message FROM save_atomicity.attempt(7100001,
    jsonb_set(:'everything', '{resource_requirements,11,1,quantity}', '0'));
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

-- Uncaught at the top level of a transaction, as a client sees it; the
-- transaction is then rolled back.
BEGIN;
SELECT service_items.bulk_save_associations(7100001,
    jsonb_set(:'everything', '{resource_requirements,11,1,quantity}', '0'));
ROLLBACK;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

---------------------------------------------------------------------------
-- 2. Stale expected_versions (PT409).
---------------------------------------------------------------------------
SELECT state, message FROM save_atomicity.attempt(7100001,
    jsonb_set(:'everything', '{expected_versions,12}', '2'));
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

---------------------------------------------------------------------------
-- 3. A constraint violation after rows were written (23P01).  A live
-- scenario "Intro" of 11-113 written around the save: 113 is not assigned
-- to 11, so the load hides it and the save does not know it.  The payload
-- assigns 113 (written first), then inserts its "Intro": the exclusion
-- constraint on live names refuses it.
---------------------------------------------------------------------------
INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
VALUES (7100001, 11, 113, 'Intro', 5, 0);
SELECT service_items.bulk_load_associations(7100001)::text = :'doc' AS hidden_row_not_loaded;
SELECT service_items_demo.clinic_checksum(7100001) AS before_hidden \gset
SELECT state, message, constraint_name FROM save_atomicity.attempt(7100001, :'everything');
SELECT * FROM save_atomicity.after(7100001, :'before_hidden', :'doc');
DELETE FROM service_items.billing_scenarios
 WHERE clinic_id = 7100001 AND appointment_type_id = 11 AND practitioner_id = 113;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

---------------------------------------------------------------------------
-- 4. An exception injected after the other sections were written: a
-- trigger on follow_up_messages refuses the insert, and tells what the
-- call had written when it ran.
---------------------------------------------------------------------------
CREATE FUNCTION save_atomicity.refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'injected failure in % on %: item 11 has practitioners %, live scenarios %, quantities %; versions %',
        TG_OP, TG_TABLE_NAME,
        (SELECT array_agg(practitioner_id ORDER BY practitioner_id) FROM service_items.practitioner_appointment_types
          WHERE clinic_id = 7100001 AND appointment_type_id = 11),
        (SELECT array_agg(practitioner_id || ':' || name ORDER BY practitioner_id, name) FROM service_items.billing_scenarios
          WHERE clinic_id = 7100001 AND appointment_type_id = 11 AND NOT is_deleted),
        (SELECT array_agg(resource_type_id || 'x' || quantity ORDER BY resource_type_id) FROM service_items.appointment_resource_requirements
          WHERE clinic_id = 7100001 AND appointment_type_id = 11),
        (SELECT array_agg(associations_version ORDER BY id) FROM service_items.appointment_types
          WHERE clinic_id = 7100001)
        USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER refuse_follow_up_insert BEFORE INSERT ON service_items.follow_up_messages
    FOR EACH ROW WHEN (NEW.clinic_id = 7100001) EXECUTE FUNCTION save_atomicity.refuse();
SELECT state, message FROM save_atomicity.attempt(7100001, :'everything');
DROP TRIGGER refuse_follow_up_insert ON service_items.follow_up_messages;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

-- The last statement of a save: its audit row.  Everything else, versions
-- included, was written by then.
CREATE TRIGGER refuse_audit_insert BEFORE INSERT ON service_items.association_audit
    FOR EACH ROW WHEN (NEW.clinic_id = 7100001) EXECUTE FUNCTION save_atomicity.refuse();
SELECT state, message FROM save_atomicity.attempt(7100001, :'everything');
DROP TRIGGER refuse_audit_insert ON service_items.association_audit;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

---------------------------------------------------------------------------
-- 5. A save that succeeded, in a transaction rolled back afterwards: the
-- function never commits.
---------------------------------------------------------------------------
BEGIN;
SELECT service_items.bulk_save_associations(7100001, :'everything') -> 'changes' AS changes;
SELECT count(*) AS audit_rows_inside FROM service_items.association_audit WHERE clinic_id = 7100001;
ROLLBACK;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');

---------------------------------------------------------------------------
-- 6. statement_timeout during a large save (57014): a 1,000-item clinic,
-- every scenario, requirement and follow-up changed.  The save is timed
-- (the fastest of three runs, each rolled back), then interrupted at a
-- tenth and at half of that time: during validation or the writes.  So that
-- a machine suddenly faster cannot finish the save first, a trigger makes
-- the follow-up updates (the last section written) wait: at the latest the
-- timeout fires there, after every other section was written.
---------------------------------------------------------------------------
SELECT service_items_demo.create_clinic(1000) AS big \gset
CREATE TABLE save_atomicity.big_payload AS
SELECT jsonb_build_object(
    'billing_scenarios', (SELECT jsonb_object_agg((a ->> 'service_item_id') || '-' || b.key,
                                     (SELECT jsonb_agg(s || jsonb_build_object('name', (s ->> 'name') || ' (2)',
                                                                               'amount', (s ->> 'amount')::numeric + 1))
                                        FROM jsonb_array_elements(b.value) s))
                            FROM jsonb_array_elements(d -> 'associations') a, jsonb_each(a -> 'billing_scenarios') b),
    'resource_requirements', (SELECT jsonb_object_agg(a ->> 'service_item_id',
                                         (SELECT coalesce(jsonb_agg(r || jsonb_build_object('quantity', (r ->> 'quantity')::int + 10)), '[]')
                                            FROM jsonb_array_elements(a -> 'resource_requirements') r))
                                FROM jsonb_array_elements(d -> 'associations') a),
    'follow_up_messages', (SELECT jsonb_object_agg(a ->> 'service_item_id',
                                      (SELECT coalesce(jsonb_agg(f || jsonb_build_object('message_template', (f ->> 'message_template') || ' (2)')), '[]')
                                         FROM jsonb_array_elements(a -> 'follow_up_messages') f))
                             FROM jsonb_array_elements(d -> 'associations') a)) AS payload
  FROM (SELECT service_items.bulk_load_associations(:big)::jsonb) AS x(d);

-- How long the save takes here (and that it changes every row it names).
CREATE FUNCTION save_atomicity.timed_save(clinic bigint, payload jsonb, OUT ms numeric, OUT changes jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    changes := service_items.bulk_save_associations(clinic, payload) -> 'changes';
    ms := extract(epoch FROM clock_timestamp() - started) * 1000;
    RAISE EXCEPTION USING ERRCODE = 'SI000', MESSAGE = 'roll back', DETAIL = jsonb_build_object('ms', ms, 'changes', changes);
EXCEPTION WHEN SQLSTATE 'SI000' THEN
    GET STACKED DIAGNOSTICS changes = PG_EXCEPTION_DETAIL;
    ms := changes ->> 'ms';
    changes := changes -> 'changes';
END
$$;
SELECT service_items_demo.clinic_checksum(:big) AS big_before,
       md5(service_items.bulk_load_associations(:big)::text) AS big_doc_md5 \gset
SELECT min(t.ms) AS save_ms, min(t.changes::text) AS changes, count(DISTINCT t.changes) AS distinct_changes
  FROM save_atomicity.big_payload p, generate_series(1, 3) g, save_atomicity.timed_save(:big, p.payload) t \gset
SELECT :'changes'::jsonb AS changes_of_the_timed_save, :distinct_changes AS distinct_changes;
SELECT service_items_demo.clinic_checksum(:big) = :'big_before' AS timed_save_rolled_back;

CREATE FUNCTION save_atomicity.wait() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(60);
    RETURN NEW;
END
$$;
CREATE TRIGGER wait_follow_up_update BEFORE UPDATE ON service_items.follow_up_messages
    FOR EACH ROW WHEN (NEW.clinic_id = :big) EXECUTE FUNCTION save_atomicity.wait();

SELECT set_config('statement_timeout', greatest(1, round(:save_ms / 10))::text, false) IS NOT NULL AS timeout_set;
SELECT a.state, a.message FROM save_atomicity.big_payload p, save_atomicity.attempt(:big, p.payload) a;
RESET statement_timeout;
SELECT service_items_demo.clinic_checksum(:big) = :'big_before' AS checksum_unchanged,
       md5(service_items.bulk_load_associations(:big)::text) = :'big_doc_md5' AS load_unchanged;

SELECT set_config('statement_timeout', greatest(1, round(:save_ms / 2))::text, false) IS NOT NULL AS timeout_set;
SELECT a.state, a.message FROM save_atomicity.big_payload p, save_atomicity.attempt(:big, p.payload) a;
RESET statement_timeout;
DROP TRIGGER wait_follow_up_update ON service_items.follow_up_messages;
SELECT service_items_demo.clinic_checksum(:big) = :'big_before' AS checksum_unchanged,
       md5(service_items.bulk_load_associations(:big)::text) = :'big_doc_md5' AS load_unchanged;

---------------------------------------------------------------------------
-- After all that, a valid save works in this session (and is rolled back).
---------------------------------------------------------------------------
BEGIN;
SELECT service_items.bulk_save_associations(7100001, :'everything') -> 'changes' AS changes;
SELECT service_items_demo.clinic_checksum(7100001) <> :'before' AS saved;
ROLLBACK;
SELECT * FROM save_atomicity.after(7100001, :'before', :'doc');
SELECT count(*) AS audit_rows FROM service_items.association_audit WHERE clinic_id IN (7100001, :big);

-- The generated clinic is not needed by anyone else.
DELETE FROM service_items.clinics WHERE id = :big;
