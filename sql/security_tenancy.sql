/*
 * security_tenancy: tenant isolation (SPEC §7, issue 4).  A web role used
 * the way PostgREST uses it -- an authenticator (LOGIN NOINHERIT) that
 * switches per request to the web role with SET LOCAL ROLE and sets
 * request.jwt.claims for the transaction -- reaches its own clinic A and
 * nothing of clinic B:
 *
 *   - through the functions: load, its streaming twin, validate and save,
 *     with claims for A (admin, practitioner, staff), without claims, with
 *     '' claims, malformed claims and claims of the wrong shape; calls on
 *     B's id, on an unknown clinic, and on A's id with B's ids in the
 *     payload or the service_item_ids filter;
 *   - through the tables (PostgREST's table endpoints): SELECT sees only A,
 *     UPDATE/DELETE of B's rows touch nothing, INSERT into B fails, a
 *     non-admin changes nothing, no claims sees nothing, row_security = off
 *     and a leaky WHERE function get nothing of B.
 *
 * "Not one byte of B": every text of clinic B carries the marker
 * CLINIC-B-SECRET, its amounts, revenue shares and versions are unusual
 * numbers (42424242.42, 41414141.41, 987654321), and every output, error
 * message, detail and hint is searched for them (a hit prints LEAK).  A load
 * given B's ids must equal the load without them.  Errors about B's ids must
 * read exactly as errors about ids that exist nowhere (no existence oracle).
 * "Nothing written": clinic_checksum (every row and its xmin) of A and B is
 * compared before and after each block of requests, which COMMIT.
 *
 * Ids are not printed: they depend on what ran before in the database.
 * Clinic ids show as <A> and <B>, other numbers in messages as N.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

---------------------------------------------------------------------------
-- Roles as a PostgREST deployment has them, and the DBA's grants.
---------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['regress_authenticator', 'regress_web', 'regress_trusted'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END
$$;
CREATE ROLE regress_authenticator LOGIN NOINHERIT;
CREATE ROLE regress_web NOLOGIN;
GRANT regress_web TO regress_authenticator;
GRANT USAGE ON SCHEMA service_items TO regress_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO regress_web;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items TO regress_web;
-- A trusted application server: bypasses row-level security, sends no claims.
CREATE ROLE regress_trusted NOLOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA service_items TO regress_trusted;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO regress_trusted;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items TO regress_trusted;

---------------------------------------------------------------------------
-- Clinics A and B; every text of B carries the marker.
---------------------------------------------------------------------------
DROP SCHEMA IF EXISTS security_tenancy CASCADE;
CREATE SCHEMA security_tenancy;
GRANT USAGE ON SCHEMA security_tenancy TO PUBLIC;

SELECT service_items_demo.create_clinic(12, 2, 'Clinic A') AS "A",
       service_items_demo.create_clinic(12, 2, 'Clinic B') AS "B" \gset

-- One save each as the DBA, so that both clinics have an audit row.
SELECT service_items.bulk_save_associations(c, jsonb_build_object(
           'practitioner_assignments', jsonb_build_object(i::text, '[]'::jsonb))) IS NOT NULL AS saved
  FROM (VALUES (:A), (:B)) AS v(c),
       LATERAL (SELECT max(id) AS i FROM service_items.appointment_types
                 WHERE clinic_id = c AND NOT is_deleted) x;

UPDATE service_items.clinics SET name = 'CLINIC-B-SECRET clinic' WHERE id = :B;
UPDATE service_items.clinic_members SET full_name = 'CLINIC-B-SECRET ' || full_name WHERE clinic_id = :B;
UPDATE service_items.resource_types SET name = 'CLINIC-B-SECRET ' || name WHERE clinic_id = :B;
UPDATE service_items.service_type_groups SET name = 'CLINIC-B-SECRET ' || name WHERE clinic_id = :B;
UPDATE service_items.appointment_types
   SET name = 'CLINIC-B-SECRET ' || name, associations_version = 987654321 WHERE clinic_id = :B;
UPDATE service_items.billing_scenarios
   SET name = 'CLINIC-B-SECRET ' || name, amount = 42424242.42, revenue_share = 41414141.41
 WHERE clinic_id = :B;
UPDATE service_items.follow_up_messages
   SET message_template = 'CLINIC-B-SECRET ' || message_template WHERE clinic_id = :B;
UPDATE service_items.association_audit SET claims_sub = 'CLINIC-B-SECRET' WHERE clinic_id = :B;

-- The ids the attacks use: a live item of each clinic with a practitioner,
-- a scenario, a resource requirement and a follow-up; B's live items.
CREATE TABLE security_tenancy.fixture AS
SELECT c.id AS clinic_id, i.id AS item, p.practitioner_id AS practitioner,
       (SELECT min(b.id) FROM service_items.billing_scenarios b
         WHERE b.clinic_id = c.id AND b.appointment_type_id = i.id
           AND b.practitioner_id = p.practitioner_id AND NOT b.is_deleted) AS scenario,
       (SELECT min(r.id) FROM service_items.appointment_resource_requirements r
         WHERE r.clinic_id = c.id AND r.appointment_type_id = i.id) AS requirement,
       (SELECT min(r.resource_type_id) FROM service_items.appointment_resource_requirements r
         WHERE r.clinic_id = c.id AND r.appointment_type_id = i.id) AS resource_type,
       (SELECT min(f.id) FROM service_items.follow_up_messages f
         WHERE f.clinic_id = c.id AND f.appointment_type_id = i.id) AS follow_up,
       (SELECT array_agg(a.id ORDER BY a.id) FROM service_items.appointment_types a
         WHERE a.clinic_id = c.id AND NOT a.is_deleted) AS items,
       (SELECT min(g.id) FROM service_items.service_type_groups g WHERE g.clinic_id = c.id) AS grp
  FROM service_items.clinics c
 CROSS JOIN LATERAL (
        SELECT a.id FROM service_items.appointment_types a
         WHERE a.clinic_id = c.id AND NOT a.is_deleted
           AND EXISTS (SELECT FROM service_items.follow_up_messages f
                        WHERE f.clinic_id = a.clinic_id AND f.appointment_type_id = a.id)
         ORDER BY a.id LIMIT 1) i
 CROSS JOIN LATERAL (
        SELECT pa.practitioner_id FROM service_items.practitioner_appointment_types pa
          JOIN service_items.clinic_members m
            ON m.clinic_id = pa.clinic_id AND m.user_id = pa.practitioner_id
         WHERE pa.clinic_id = c.id AND pa.appointment_type_id = i.id
           AND m.is_active AND 'practitioner' = ANY (m.roles)
         ORDER BY 1 LIMIT 1) p
 WHERE c.id IN (:A, :B);
SELECT count(*) AS fixture_rows, bool_and(scenario IS NOT NULL AND requirement IS NOT NULL
                                          AND follow_up IS NOT NULL AND grp IS NOT NULL) AS complete
  FROM security_tenancy.fixture;

-- Counts of A's rows per table, as the DBA sees them.
CREATE TABLE security_tenancy.a_counts (tbl text PRIMARY KEY, n bigint NOT NULL);
DO $$
DECLARE
    t text;
    n bigint;
    a bigint := (SELECT min(clinic_id) FROM security_tenancy.fixture);
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('SELECT count(*) FROM service_items.%I WHERE %I = $1', t,
                       CASE t WHEN 'clinics' THEN 'id' ELSE 'clinic_id' END) INTO n USING a;
        INSERT INTO security_tenancy.a_counts VALUES (t, n);
    END LOOP;
END
$$;
SELECT tbl, n > 0 AS has_rows FROM security_tenancy.a_counts ORDER BY tbl;

CREATE TABLE security_tenancy.checksums AS
SELECT :A::bigint AS a, service_items_demo.clinic_checksum(:A) AS a_sum,
       :B::bigint AS b, service_items_demo.clinic_checksum(:B) AS b_sum;

-- unchanged(): whether A and B are still exactly as they were (rows and xmin).
CREATE FUNCTION security_tenancy.unchanged(OUT a_unchanged boolean, OUT b_unchanged boolean)
LANGUAGE sql STABLE AS $$
    SELECT service_items_demo.clinic_checksum(a) = a_sum,
           service_items_demo.clinic_checksum(b) = b_sum
      FROM security_tenancy.checksums
$$;

---------------------------------------------------------------------------
-- Helpers (created by the superuser, SECURITY INVOKER: they run as the
-- web role when the web role calls them).
---------------------------------------------------------------------------

-- mask(t): clinic ids as <A> and <B>, every other number as N.
CREATE FUNCTION security_tenancy.mask(t text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT regexp_replace(
             regexp_replace(
               regexp_replace(t, 'clinic ' || c.a || '\M', 'clinic <A>', 'g'),
               'clinic ' || c.b || '\M', 'clinic <B>', 'g'),
             '\m[0-9]+\M', 'N', 'g')
      FROM security_tenancy.checksums c
$$;

-- leaks(t): whether t holds anything of clinic B's data.
CREATE FUNCTION security_tenancy.leaks(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(t ~ '(CLINIC-B-SECRET|42424242\.42|41414141\.41|987654321)', false)
$$;

/*
 * try(sql): runs a statement returning one value and returns 'ok' (with the
 * value when it is short: the probes below return summaries), or the
 * SQLSTATE, the masked message and detail (the error codes when the detail
 * is a validation error list).  LEAK is appended when anything of B shows.
 */
CREATE FUNCTION security_tenancy.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
    st text;
    msg text;
    det text;
    hnt text;
BEGIN
    EXECUTE sql INTO r;
    RETURN 'ok' || CASE WHEN length(r) <= 300 THEN ': ' || r ELSE '' END
                || CASE WHEN security_tenancy.leaks(r) THEN ' LEAK' ELSE '' END;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN st || ': ' || security_tenancy.mask(msg)
        || CASE WHEN det LIKE '[{%' THEN
                    ' [' || (SELECT string_agg(e->>'code', ', ' ORDER BY e->>'code')
                               FROM jsonb_array_elements(det::jsonb) e) || ']'
                WHEN det <> '' THEN ' (' || security_tenancy.mask(det) || ')'
                ELSE '' END
        || CASE WHEN security_tenancy.leaks(concat(msg, det, hnt)) THEN ' LEAK' ELSE '' END;
END
$$;

-- detail_of(sql): the error a statement raises, SQLSTATE, message and
-- detail, with every number as N ('no error' if it raises none).
CREATE FUNCTION security_tenancy.detail_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN regexp_replace(concat_ws(' | ', SQLSTATE, msg, det), '[0-9]+', 'N', 'g');
END
$$;

-- set_claims(template): request.jwt.claims for this transaction, as
-- PostgREST sets them; $A and $B stand for the clinic ids.
CREATE FUNCTION security_tenancy.set_claims(template text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt.claims',
                       replace(replace(template, '$A', c.a::text), '$B', c.b::text), true)
       FROM security_tenancy.checksums c;
    RETURN template;
END
$$;

---------------------------------------------------------------------------
-- The calls every identity tries.  core: the calls on A's own clinic, which
-- good claims pass; the others target B or smuggle B's ids in.
---------------------------------------------------------------------------
CREATE TABLE security_tenancy.calls (n int PRIMARY KEY, core boolean NOT NULL,
                                     label text NOT NULL, sql text NOT NULL);

/*
 * payload(k): k = 'B' names B's item, practitioner, scenario, requirement,
 * resource type and follow-up (inside lists keyed by A's item and pair, and
 * under B's own item); k = 'nowhere' names ids that exist in no clinic at
 * those same places.
 */
CREATE FUNCTION security_tenancy.payload(k text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'practitioner_assignments', jsonb_build_object(
            a.item::text, jsonb_build_array(a.practitioner, x.practitioner),
            x.item::text, jsonb_build_array(x.practitioner)),
        'billing_scenarios', jsonb_build_object(
            a.item || '-' || a.practitioner, jsonb_build_array(
                jsonb_build_object('id', x.scenario, 'name', 'Taken over', 'amount', 1,
                                   'revenue_share', 0)),
            x.item || '-' || x.practitioner, jsonb_build_array(
                jsonb_build_object('name', 'Planted', 'amount', 1, 'revenue_share', 0))),
        'resource_requirements', jsonb_build_object(
            a.item::text, jsonb_build_array(
                jsonb_build_object('id', x.requirement, 'resource_type_id', x.resource_type,
                                   'quantity', 1))),
        'follow_up_messages', jsonb_build_object(
            a.item::text, jsonb_build_array(
                jsonb_build_object('id', x.follow_up, 'timing_mode', 'hours_after',
                                   'hours_after', 1, 'message_template', 'Taken over',
                                   'is_enabled', true, 'display_order', 1))),
        'expected_versions', jsonb_build_object(x.item::text, 5))
      FROM security_tenancy.fixture a,
           (SELECT CASE WHEN k = 'B' THEN f.item ELSE 900000001 END AS item,
                   CASE WHEN k = 'B' THEN f.practitioner ELSE 900000002 END AS practitioner,
                   CASE WHEN k = 'B' THEN f.scenario ELSE 900000003 END AS scenario,
                   CASE WHEN k = 'B' THEN f.requirement ELSE 900000004 END AS requirement,
                   CASE WHEN k = 'B' THEN f.resource_type ELSE 900000005 END AS resource_type,
                   CASE WHEN k = 'B' THEN f.follow_up ELSE 900000006 END AS follow_up
              FROM security_tenancy.fixture f
             WHERE f.clinic_id = (SELECT max(clinic_id) FROM security_tenancy.fixture)) x
     WHERE a.clinic_id = (SELECT min(clinic_id) FROM security_tenancy.fixture)
$$;
SELECT :A < :B AS a_before_b;

-- A valid payload that changes nothing: A's first item sent back as loaded.
CREATE TABLE security_tenancy.payloads AS
SELECT 'unchanged'::text AS k,
       jsonb_build_object(
           'practitioner_assignments', jsonb_build_object(i::text, o->'practitioner_assignments'),
           'billing_scenarios', (SELECT jsonb_object_agg(i || '-' || e.key, e.value)
                                   FROM jsonb_each(o->'billing_scenarios') e),
           'resource_requirements', jsonb_build_object(i::text, o->'resource_requirements'),
           'follow_up_messages', jsonb_build_object(i::text, o->'follow_up_messages'),
           'expected_versions', jsonb_build_object(i::text, o->'version')) AS p
  FROM (SELECT f.item AS i,
               service_items.bulk_load_associations(f.clinic_id, ARRAY[f.item])::jsonb
                   -> 'associations' -> 0 AS o
          FROM security_tenancy.fixture f WHERE f.clinic_id = :A) x
UNION ALL SELECT 'B', security_tenancy.payload('B')
UNION ALL SELECT 'nowhere', security_tenancy.payload('nowhere');

/*
 * settings_payload(k): a save_service_settings payload for A naming (k =
 * 'B') B's group, item and practitioner, or (k = 'nowhere') ids of no clinic.
 */
CREATE FUNCTION security_tenancy.settings_payload(k text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'service_type_groups', jsonb_build_array(
            jsonb_build_object('id', x.grp, 'name', 'Taken over', 'display_order', 1)),
        'service_items', jsonb_build_array(
            jsonb_build_object('id', x.item, 'name', 'Taken over', 'duration_minutes', 30,
                               'display_order', 1),
            jsonb_build_object('key', 'new:planted', 'name', 'Planted', 'duration_minutes', 30,
                               'display_order', 2, 'service_type_group_id', x.grp)),
        'associations', jsonb_build_object('practitioner_assignments',
            jsonb_build_object('new:planted', jsonb_build_array(x.practitioner))))
      FROM (SELECT CASE WHEN k = 'B' THEN f.grp ELSE 900000007 END AS grp,
                   CASE WHEN k = 'B' THEN f.item ELSE 900000001 END AS item,
                   CASE WHEN k = 'B' THEN f.practitioner ELSE 900000002 END AS practitioner
              FROM security_tenancy.fixture f
             WHERE f.clinic_id = (SELECT max(clinic_id) FROM security_tenancy.fixture)) x
$$;
INSERT INTO security_tenancy.payloads
SELECT 'settings B', security_tenancy.settings_payload('B')
UNION ALL SELECT 'settings nowhere', security_tenancy.settings_payload('nowhere');

-- A's configuration as exported by the DBA, and a map of its practitioners
-- onto B's: what an admin of A would import into B.
INSERT INTO security_tenancy.payloads
SELECT 'export A', service_items.export_configuration(:A);
INSERT INTO security_tenancy.payloads
SELECT 'map to B', jsonb_object_agg(x.p->>'key', :B * 1000 + x.n)
  FROM security_tenancy.payloads d, jsonb_array_elements(d.p->'practitioners') WITH ORDINALITY x(p, n)
 WHERE d.k = 'export A';
SELECT k, security_tenancy.leaks(p::text) AS mentions_b_data FROM security_tenancy.payloads ORDER BY k;

INSERT INTO security_tenancy.calls
SELECT n, core, label, replace(replace(replace(replace(replace(replace(replace(replace(replace(sql,
           '$A', :'A'), '$B', :'B'),
           '$settings_b', (SELECT quote_literal(p::text) FROM security_tenancy.payloads WHERE k = 'settings B')),
           '$export_a', (SELECT quote_literal(p::text) FROM security_tenancy.payloads WHERE k = 'export A')),
           '$map_b', (SELECT quote_literal(p::text) FROM security_tenancy.payloads WHERE k = 'map to B')),
           '$a_items', quote_literal(a.items::text)), '$b_items', quote_literal(b.items::text)),
           '$unchanged', (SELECT quote_literal(p::text) FROM security_tenancy.payloads WHERE k = 'unchanged')),
           '$payload_b', (SELECT quote_literal(p::text) FROM security_tenancy.payloads WHERE k = 'B'))
  FROM security_tenancy.fixture a, security_tenancy.fixture b,
       (VALUES
        (1, true, 'load A',
         'SELECT service_items.bulk_load_associations($A)'),
        (2, true, 'load A, streaming',
         'SELECT string_agg(associations::text, '','') FROM service_items.service_item_associations($A)'),
        (3, true, 'load A: revenue_share',
         $q$SELECT count(*) FILTER (WHERE v = 'null') || ' null, ' || count(*) FILTER (WHERE v <> 'null') || ' shown'
              FROM jsonb_path_query(service_items.bulk_load_associations($A)::jsonb,
                                    'strict $.associations[*].billing_scenarios.*[*].revenue_share') v$q$),
        (4, true, 'load A, streaming: revenue_share',
         $q$SELECT count(*) FILTER (WHERE v = 'null') || ' null, ' || count(*) FILTER (WHERE v <> 'null') || ' shown'
              FROM service_items.service_item_associations($A) s,
                   jsonb_path_query(s.associations::jsonb, 'strict $.billing_scenarios.*[*].revenue_share') v$q$),
        (5, true, 'validate A, unchanged payload',
         'SELECT service_items.validate_associations($A, $unchanged)::text'),
        (6, true, 'save A, unchanged payload',
         $q$SELECT (service_items.bulk_save_associations($A, $unchanged)::jsonb #>> '{changes,billing_scenarios,unchanged}') || ' scenarios unchanged'$q$),
        (7, false, 'load B',
         'SELECT service_items.bulk_load_associations($B)'),
        (8, false, 'load B, streaming',
         'SELECT string_agg(associations::text, '','') FROM service_items.service_item_associations($B)'),
        (9, false, 'load B, only B''s items',
         'SELECT service_items.bulk_load_associations($B, $b_items)'),
        (10, false, 'load a clinic that does not exist',
         'SELECT service_items.bulk_load_associations(900000000)'),
        (11, false, 'validate B',
         'SELECT service_items.validate_associations($B, ''{}'')'),
        (12, false, 'save B',
         'SELECT service_items.bulk_save_associations($B, ''{}'')'),
        (13, false, 'save B, B''s items',
         $q$SELECT service_items.bulk_save_associations($B, jsonb_build_object('practitioner_assignments', jsonb_build_object(($b_items::bigint[])[1]::text, '[]'::jsonb)))$q$),
        (14, false, 'load A, filter = B''s items',
         'SELECT service_items.bulk_load_associations($A, $b_items)'),
        (15, false, 'load A, filter = A''s + B''s items equals filter = A''s',
         'SELECT service_items.bulk_load_associations($A, $b_items::bigint[] || $a_items::bigint[])::text = service_items.bulk_load_associations($A, $a_items)::text'),
        (16, false, 'load A, streaming, filter = B''s items',
         'SELECT count(*) FROM service_items.service_item_associations($A, $b_items)'),
        (17, false, 'load A, streaming, filter = A''s + B''s equals filter = A''s',
         'SELECT (SELECT string_agg(associations::text, '','') FROM service_items.service_item_associations($A, $a_items::bigint[] || $b_items::bigint[])) = (SELECT string_agg(associations::text, '','') FROM service_items.service_item_associations($A, $a_items))'),
        (18, false, 'validate A, B''s ids in the payload: error codes',
         $q$SELECT string_agg(e->>'code', ', ' ORDER BY e->>'code') FROM jsonb_array_elements(service_items.validate_associations($A, $payload_b)->'errors') e$q$),
        (19, false, 'validate A, B''s ids in the payload: same errors as ids of no clinic',
         $q$SELECT regexp_replace(service_items.validate_associations($A, $payload_b)::text, '[0-9]+', 'N', 'g') = regexp_replace(service_items.validate_associations($A, (SELECT p FROM security_tenancy.payloads WHERE k = 'nowhere'))::text, '[0-9]+', 'N', 'g')$q$),
        (20, false, 'validate A, B''s ids in the payload: whole answer',
         'SELECT service_items.validate_associations($A, $payload_b)::text'),
        (21, false, 'save A, B''s ids in the payload',
         'SELECT service_items.bulk_save_associations($A, $payload_b)'),
        (22, false, 'save A, B''s ids in the payload: same errors as ids of no clinic',
         $q$SELECT security_tenancy.detail_of(format('SELECT service_items.bulk_save_associations($A, %L)', $payload_b)) = security_tenancy.detail_of(format('SELECT service_items.bulk_save_associations($A, %L)', (SELECT p FROM security_tenancy.payloads WHERE k = 'nowhere')))$q$),
        -- the settings page, export and import
        (23, true, 'load settings A',
         'SELECT service_items.load_service_settings($A)'),
        (24, true, 'load settings A: revenue_share',
         $q$SELECT count(*) FILTER (WHERE v = 'null') || ' null, ' || count(*) FILTER (WHERE v <> 'null') || ' shown'
              FROM jsonb_path_query(service_items.load_service_settings($A)::jsonb,
                                    'strict $.associations[*].billing_scenarios.*[*].revenue_share') v$q$),
        (25, true, 'export A: revenue_share',
         $q$SELECT count(*) FILTER (WHERE v = 'null') || ' null, ' || count(*) FILTER (WHERE v <> 'null') || ' shown'
              FROM jsonb_path_query(service_items.export_configuration($A),
                                    'strict $.service_items[*].billing_scenarios.*[*].revenue_share') v$q$),
        (26, false, 'load settings B',
         'SELECT service_items.load_service_settings($B)'),
        (27, false, 'export B',
         'SELECT service_items.export_configuration($B)'),
        (28, false, 'save settings B',
         'SELECT service_items.save_service_settings($B, ''{}'')'),
        (29, false, 'save settings A, B''s group, item and practitioner in the payload',
         'SELECT service_items.save_service_settings($A, $settings_b)'),
        (30, false, 'save settings A, B''s ids: same errors as ids of no clinic',
         $q$SELECT security_tenancy.detail_of(format('SELECT service_items.save_service_settings($A, %L)', $settings_b)) = security_tenancy.detail_of(format('SELECT service_items.save_service_settings($A, %L)', (SELECT p FROM security_tenancy.payloads WHERE k = 'settings nowhere')))$q$),
        -- (with replace => true: sql/security_import.sql)
        (31, false, 'import A''s export into B',
         'SELECT service_items.import_configuration($B, $export_a, $map_b)')
       ) AS v(n, core, label, sql)
 WHERE a.clinic_id = :A AND b.clinic_id = :B;
GRANT SELECT ON ALL TABLES IN SCHEMA security_tenancy TO PUBLIC;

-- run_calls(numbers): every call (or those numbered) and its outcome.
CREATE FUNCTION security_tenancy.run_calls(numbers int[] DEFAULT NULL)
RETURNS TABLE (n int, label text, outcome text)
LANGUAGE sql AS $$
    SELECT c.n, c.label, security_tenancy.try(c.sql)
      FROM security_tenancy.calls c
     WHERE numbers IS NULL OR c.n = ANY (numbers)
     ORDER BY c.n
$$;

-- run_grouped(): the core calls' outcomes, one row per distinct outcome.
CREATE FUNCTION security_tenancy.run_grouped()
RETURNS TABLE (calls bigint, outcome text)
LANGUAGE sql AS $$
    SELECT count(*), o FROM (SELECT security_tenancy.try(c.sql) AS o
                               FROM security_tenancy.calls c WHERE c.core) x
     GROUP BY o ORDER BY o
$$;

---------------------------------------------------------------------------
-- 1. Requests without claims: request.jwt.claims never set in this session
-- (the setting does not exist), then set to '' (what PostgREST leaves
-- behind after a transaction), then the trusted BYPASSRLS server.
---------------------------------------------------------------------------
\c
SET client_min_messages = warning;
SET SESSION AUTHORIZATION regress_authenticator;
SELECT current_setting('request.jwt.claims', true) IS NULL AS claims_absent;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT * FROM security_tenancy.run_calls();
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('');
SELECT * FROM security_tenancy.run_grouped();
COMMIT;
-- the authenticator itself, without switching role (NOINHERIT)
SELECT * FROM security_tenancy.run_grouped();
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

-- A trusted server (BYPASSRLS, no claims) reaches every clinic (LEAK below
-- marks B's data in its load of B: it is entitled to it); the superuser
-- too.  With claims, even they are held to them.
BEGIN;
SET LOCAL ROLE regress_trusted;
SELECT * FROM security_tenancy.run_calls('{1, 7, 11, 12}');
COMMIT;
BEGIN;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["admin"]}');
SELECT * FROM security_tenancy.run_calls('{1, 3, 7, 11, 31}');
COMMIT;
SELECT * FROM security_tenancy.unchanged();

---------------------------------------------------------------------------
-- 2. Good claims for clinic A: admin, practitioner, staff.  Everything of
-- A works as the role allows; nothing of B comes out or is written.
---------------------------------------------------------------------------
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"role": "regress_web", "sub": "a-admin", "clinic_id": $A, "roles": ["admin"]}');
SELECT * FROM security_tenancy.run_calls();
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"role": "regress_web", "sub": "a-doc", "clinic_id": $A, "roles": ["practitioner"]}');
SELECT * FROM security_tenancy.run_calls();
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"role": "regress_web", "sub": "a-desk", "clinic_id": "$A", "roles": ["staff"]}');
SELECT * FROM security_tenancy.run_calls();
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

-- GET requests run READ ONLY: the load and the validation work there.
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN READ ONLY;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["admin"]}');
SELECT * FROM security_tenancy.run_calls('{1, 2, 5, 6, 18}');
COMMIT;

---------------------------------------------------------------------------
-- 3. Bad claims: the core calls on A's own clinic all fail with 42501.
-- Each block is one request.
---------------------------------------------------------------------------
CREATE TEMP TABLE bad_claims (n int, claims text);
INSERT INTO bad_claims VALUES
    (1,  '{"clinic_id": $B, "roles": ["admin"]}'),                 -- another clinic
    (2,  '{"clinic_id": 900000000, "roles": ["admin"]}'),          -- no such clinic
    (3,  '{"roles": ["admin"]}'),                                  -- no clinic_id
    (4,  '{"clinic_id": $A}'),                                     -- no roles
    (5,  '{"clinic_id": $A, "roles": []}'),
    (6,  '{"clinic_id": $A, "roles": ["ADMIN", "Staff"]}'),        -- roles are case-sensitive
    (7,  '{"clinic_id": $A, "roles": ["owner", "superuser"]}'),
    (8,  '{"clinic_id": $A, "roles": "admin"}'),                   -- roles not an array
    (9,  '{"clinic_id": $A, "roles": {"admin": true}}'),
    (10, '{"clinic_id": $A, "roles": [["admin"]]}'),
    (11, '{"clinic_id": $A, "roles": [null, 1, true]}'),
    (12, '{"clinic_id": [$A], "roles": ["admin"]}'),               -- clinic_id not a scalar
    (13, '{"clinic_id": {"id": $A}, "roles": ["admin"]}'),
    (14, '{"clinic_id": true, "roles": ["admin"]}'),
    (15, '{"clinic_id": null, "roles": ["admin"]}'),
    (16, '{"clinic_id": $A.5, "roles": ["admin"]}'),
    (17, '{"clinic_id": -$A, "roles": ["admin"]}'),
    (18, '{"clinic_id": " $A", "roles": ["admin"]}'),
    (19, '{"clinic_id": "$Ax", "roles": ["admin"]}'),
    (20, '{"clinic_id": "", "roles": ["admin"]}'),
    (21, '{"clinic_id": 99999999999999999999999, "roles": ["admin"]}'),
    (22, '{"user": {"clinic_id": $A, "roles": ["admin"]}}'),       -- nested, not top level
    (23, '[{"clinic_id": $A, "roles": ["admin"]}]'),               -- not an object
    (24, '"admin"'),
    (25, 'null'),
    (26, '{"clinic_id": $A, "roles": ["admin"]'),                  -- malformed JSON
    (27, 'clinic_id=$A roles=admin'),
    (28, '   '),
    (29, '{"clinic_id": $A, "roles": ["admin"], "x": "\u0000"}'),  -- not storable as jsonb
    (30, '{"clinic_id": $A, "roles": ["admin"], "x": "\ud800"}');  -- lone surrogate
GRANT SELECT ON bad_claims TO PUBLIC;

SET SESSION AUTHORIZATION regress_authenticator;
-- One request per bad claim, each in its own transaction, like PostgREST.
SELECT 'BEGIN', 'SET LOCAL ROLE regress_web',
       format('SELECT %s AS n, security_tenancy.set_claims(%L)', n, claims),
       'SELECT * FROM security_tenancy.run_grouped()', 'COMMIT'
  FROM bad_claims ORDER BY n \gexec
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

-- Claims nested too deeply to parse: refused (an error, not data).
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT set_config('request.jwt.claims',
                  '{"clinic_id": ' || :A || ', "roles": ["admin"], "x": '
                  || repeat('[', 100000) || repeat(']', 100000) || '}', true) IS NOT NULL AS deep_claims;
SELECT count(*) AS calls, bool_and(outcome NOT LIKE 'ok%') AS all_refused,
       bool_or(outcome LIKE '%LEAK%') AS leaked
  FROM security_tenancy.run_calls();
COMMIT;
RESET SESSION AUTHORIZATION;

---------------------------------------------------------------------------
-- 4. Direct table access (PostgREST's table endpoints), claims for A.
---------------------------------------------------------------------------

-- table_counts(): rows the caller sees per table, and how many of them are
-- of another clinic than A.
CREATE FUNCTION security_tenancy.table_counts()
RETURNS TABLE (tbl text, seen bigint, as_a boolean, other_clinics bigint)
LANGUAGE plpgsql AS $$
DECLARE
    a bigint := (SELECT c.a FROM security_tenancy.checksums c);
    col text;
BEGIN
    FOR tbl IN SELECT t.tbl FROM security_tenancy.a_counts t ORDER BY t.tbl LOOP
        col := CASE tbl WHEN 'clinics' THEN 'id' ELSE 'clinic_id' END;
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %I <> $1) FROM service_items.%I',
                       col, tbl)
           INTO seen, other_clinics USING a;
        as_a := seen = (SELECT t.n FROM security_tenancy.a_counts t WHERE t.tbl = table_counts.tbl);
        RETURN NEXT;
    END LOOP;
END
$$;

-- peek(t): a function a caller puts in a WHERE clause to see rows that the
-- policies would filter out later; it shouts if it ever sees B's data.
CREATE FUNCTION security_tenancy.peek(t text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    IF security_tenancy.leaks(t) THEN
        RAISE WARNING 'peek saw clinic B''s data: LEAK';
    END IF;
    RETURN true;
END
$$;

CREATE TABLE security_tenancy.dml (n int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
INSERT INTO security_tenancy.dml
SELECT n, label, replace(replace(replace(replace(replace(sql, '$A', :'A'), '$B', :'B'),
           '$b_item', b.item::text), '$b_practitioner', b.practitioner::text), '$a_item', a.item::text)
  FROM security_tenancy.fixture a, security_tenancy.fixture b,
  (VALUES
    (1, 'update B''s scenarios',
     'WITH u AS (UPDATE service_items.billing_scenarios SET name = name || ''!'' WHERE clinic_id = $B RETURNING 1) SELECT count(*) FROM u'),
    (2, 'update every scenario, no WHERE',
     $q$WITH u AS (UPDATE service_items.billing_scenarios SET updated_at = updated_at RETURNING clinic_id) SELECT count(*) || CASE WHEN count(*) = 0 THEN '' WHEN bool_and(clinic_id = $A) THEN ', all of A' ELSE ', NOT ONLY A' END FROM u$q$),
    (3, 'delete B''s follow-ups',
     'WITH d AS (DELETE FROM service_items.follow_up_messages WHERE clinic_id = $B RETURNING 1) SELECT count(*) FROM d'),
    (4, 'delete B''s items by id only',
     'WITH d AS (DELETE FROM service_items.appointment_types WHERE id = $b_item RETURNING 1) SELECT count(*) FROM d'),
    (5, 'delete B''s members',
     'WITH d AS (DELETE FROM service_items.clinic_members WHERE clinic_id = $B RETURNING 1) SELECT count(*) FROM d'),
    (6, 'insert a resource type into B',
     'WITH i AS (INSERT INTO service_items.resource_types (clinic_id, name) VALUES ($B, ''Planted'') RETURNING 1) SELECT count(*) FROM i'),
    (7, 'insert a scenario into B''s pair',
     'WITH i AS (INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share) VALUES ($B, $b_item, $b_practitioner, ''Planted'', 1, 0) RETURNING 1) SELECT count(*) FROM i'),
    (8, 'insert a resource type into A',
     'WITH i AS (INSERT INTO service_items.resource_types (clinic_id, name) VALUES ($A, ''New'') RETURNING 1) SELECT count(*) FROM i'),
    (9, 'move A''s item to B',
     'WITH u AS (UPDATE service_items.appointment_types SET clinic_id = $B WHERE clinic_id = $A AND id = $a_item RETURNING 1) SELECT count(*) FROM u'),
    (10, 'insert a clinic',
     'WITH i AS (INSERT INTO service_items.clinics (name) VALUES (''Planted'') RETURNING 1) SELECT count(*) FROM i'),
    (11, 'rename the clinics',
     'WITH u AS (UPDATE service_items.clinics SET name = name || ''!'' RETURNING 1) SELECT count(*) FROM u'),
    (12, 'rewrite the audit',
     'WITH u AS (UPDATE service_items.association_audit SET claims_sub = ''forged'' RETURNING 1) SELECT count(*) FROM u'),
    (13, 'delete the audit',
     'WITH d AS (DELETE FROM service_items.association_audit RETURNING 1) SELECT count(*) FROM d'),
    (14, 'insert an audit row into B',
     $q$WITH i AS (INSERT INTO service_items.association_audit (clinic_id, service_item_ids, changes) VALUES ($B, '{}', '{}') RETURNING 1) SELECT count(*) FROM i$q$),
    (15, 'count B''s scenarios',
     'SELECT count(*) FROM service_items.billing_scenarios WHERE clinic_id = $B'),
    (16, 'disable row-level security',
     'ALTER TABLE service_items.billing_scenarios DISABLE ROW LEVEL SECURITY'),
    (17, 'a leaky function in WHERE sees only A',
     'SELECT count(*) = (SELECT n FROM security_tenancy.a_counts WHERE tbl = ''billing_scenarios'') FROM service_items.billing_scenarios WHERE security_tenancy.peek(name || amount || revenue_share)'),
    (18, 'join A''s items to B''s scenarios by id',
     'SELECT count(*) FROM service_items.appointment_types a JOIN service_items.billing_scenarios b ON b.appointment_type_id = a.id WHERE b.clinic_id = $B'),
    (19, 'authorized_clinic(false), authorized_clinic(true)',
     $q$SELECT security_tenancy.mask(format('read: clinic %s, write: clinic %s', coalesce(service_items.authorized_clinic(false)::text, 'none'), coalesce(service_items.authorized_clinic(true)::text, 'none')))$q$)
  ) AS v(n, label, sql)
 WHERE a.clinic_id = :A AND b.clinic_id = :B;
GRANT SELECT ON security_tenancy.dml TO PUBLIC;

-- Admin of A.  What would write A's rows (2, 8) runs in a request that
-- rolls back; everything else in one that commits.  Staff below see no
-- audit rows at all: reading the audit is for admins.
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["admin"]}');
SELECT * FROM security_tenancy.table_counts();
SELECT n, label, security_tenancy.try(sql) FROM security_tenancy.dml WHERE n NOT IN (2, 8) ORDER BY n;
-- Switching row-level security off only turns the filtering into an error.
SET LOCAL row_security = off;
SELECT security_tenancy.try('SELECT count(*) FROM service_items.billing_scenarios') AS "row_security = off";
RESET row_security;
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["admin"]}');
SELECT n, label, security_tenancy.try(sql) FROM security_tenancy.dml WHERE n IN (2, 8) ORDER BY n;
ROLLBACK;
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

-- Staff of A: reads A, changes nothing, not even A.
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["staff", "practitioner"]}');
SELECT * FROM security_tenancy.table_counts();
SELECT n, label, security_tenancy.try(sql) FROM security_tenancy.dml ORDER BY n;
SELECT security_tenancy.try(
    'WITH u AS (UPDATE service_items.billing_scenarios SET name = name RETURNING 1) SELECT count(*) FROM u')
    AS "update A's scenarios",
       security_tenancy.try(
    'WITH d AS (DELETE FROM service_items.follow_up_messages RETURNING 1) SELECT count(*) FROM d')
    AS "delete A's follow-ups";
-- Row security is per row: on the table itself, revenue_share is not hidden
-- from non-admins (the functions hide it; doc/security.md says what to do).
SELECT bool_and(revenue_share IS NOT NULL) AS "revenue_share readable on the table"
  FROM service_items.billing_scenarios;
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

-- No claims, and claims of another clinic: no row at all.
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('');
SELECT tbl, seen FROM security_tenancy.table_counts();
SELECT n, label, security_tenancy.try(sql) FROM security_tenancy.dml WHERE n IN (1, 6, 8, 10, 14) ORDER BY n;
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": 900000000, "roles": ["admin"]}');
SELECT sum(seen) AS rows_seen FROM security_tenancy.table_counts();
COMMIT;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": "admin"}');
SELECT sum(seen) AS rows_seen FROM security_tenancy.table_counts();
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT * FROM security_tenancy.unchanged();

---------------------------------------------------------------------------
-- 5. Own clinic really works: an admin of A saves a change (inserts,
-- updates, soft-deletes), the response and a reload show it, revenue_share
-- included, the audit row names the claims' sub; B is untouched.
---------------------------------------------------------------------------
SET SESSION AUTHORIZATION regress_authenticator;
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"sub": "a-admin", "clinic_id": $A, "roles": ["admin"]}');
SELECT jsonb_build_object(
           'billing_scenarios', jsonb_build_object(f.item || '-' || f.practitioner, jsonb_build_array(
               jsonb_build_object('id', f.scenario, 'name', 'Renamed', 'amount', 100, 'revenue_share', 60,
                                  'is_default', true),
               jsonb_build_object('name', 'Brand new', 'amount', 80, 'revenue_share', 40))),
           'expected_versions', jsonb_build_object(f.item::text, a.associations_version)) AS save_payload
  FROM security_tenancy.fixture f
  JOIN service_items.appointment_types a ON a.clinic_id = f.clinic_id AND a.id = f.item
 WHERE f.clinic_id = :A \gset
SELECT security_tenancy.leaks(r::text) AS leaked,
       r #> '{changes,billing_scenarios}' AS billing_changes,
       jsonb_path_query_array(r, '$.associations[*].billing_scenarios.*[*] ? (@.name == "Renamed" || @.name == "Brand new") .revenue_share') AS shares
  FROM (SELECT service_items.bulk_save_associations(:A, :'save_payload')::jsonb AS r) s;
SELECT count(*) AS audit_rows, string_agg(claims_sub, ',') AS sub, string_agg(db_user, ',') AS db_user
  FROM service_items.association_audit WHERE claims_sub = 'a-admin';
COMMIT;
-- the practitioner reloads: the new scenarios, revenue_share hidden
BEGIN;
SET LOCAL ROLE regress_web;
SELECT security_tenancy.set_claims('{"clinic_id": $A, "roles": ["practitioner"]}');
SELECT s - 'id' AS saved_scenario
  FROM jsonb_path_query(service_items.bulk_load_associations(:A)::jsonb,
           '$.associations[*].billing_scenarios.*[*] ? (@.name == "Renamed" || @.name == "Brand new")') s
 ORDER BY s->>'name';
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT a_unchanged, b_unchanged FROM security_tenancy.unchanged();

---------------------------------------------------------------------------
-- Clean up: the clinics, and the roles (they are cluster-wide).
---------------------------------------------------------------------------
DROP SCHEMA security_tenancy CASCADE;
DELETE FROM service_items.clinics WHERE id IN (:A, :B);
DROP OWNED BY regress_web, regress_trusted, regress_authenticator;
DROP ROLE regress_web, regress_trusted, regress_authenticator;
