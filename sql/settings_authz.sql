/*
 * settings_authz: who may call the settings page's functions (issue 8,
 * SPEC §7): load_service_settings, save_service_settings,
 * export_configuration and import_configuration.
 *
 * A web role is used the way PostgREST uses it: an authenticator (LOGIN
 * NOINHERIT) switches per request to the web role with SET LOCAL ROLE and
 * sets request.jwt.claims for the transaction (set_config(..., true)).  The
 * web role has USAGE on the schema, EXECUTE on the four functions and on
 * service_items.authorized_clinic (which the row-level security policies
 * call), and SELECT, INSERT, UPDATE, DELETE on the tables (the functions are
 * SECURITY INVOKER).
 *
 * Checks, for each of the four functions:
 *   - claims of clinic A: load and export work for every role of A, and
 *     show revenue_share only to an admin (null for staff and practitioner
 *     roles, in the page and in the export); save and import work for an
 *     admin, and raise 42501 for the other roles;
 *   - claims of A calling clinic B, or a clinic that does not exist: 42501,
 *     with the same message for both (no hint whether the clinic exists);
 *   - no claims, empty claims, claims without roles or of the wrong shape:
 *     42501 for the web role; a role that bypasses row-level security
 *     (BYPASSRLS, the trusted application server) may call without claims
 *     and sees revenue_share (its import into a clinic that does not exist
 *     fails on the foreign key of resource_types, 23503);
 *   - a non-admin's export (revenue_share null) cannot be imported
 *     (required);
 *   - every refusal is 42501 "permission denied for clinic N" and comes
 *     before the function reads or writes anything (README, Security): an
 *     import by a non-admin, or into another clinic, is refused so whatever
 *     replace says, not by the row-level security of resource_types when
 *     it starts creating the document's resource types, nor with 55000
 *     after looking at the clinic;
 *   - an admin's save writes the audit row with claims_sub from the claims;
 *   - no refused call writes anything: the checksums of A and B are the
 *     same before and after.
 *
 * Clinic and user ids depend on what ran before: in the output, numbers in
 * messages show as N, and the clinics as A, B and E.
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
    FOREACH r IN ARRAY ARRAY['regress_settings_authenticator', 'regress_settings_web',
                             'regress_settings_trusted'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END
$$;
CREATE ROLE regress_settings_authenticator LOGIN NOINHERIT;
CREATE ROLE regress_settings_web NOLOGIN;
GRANT regress_settings_web TO regress_settings_authenticator;
-- A trusted application server: bypasses row-level security, sends no claims.
CREATE ROLE regress_settings_trusted NOLOGIN BYPASSRLS;
GRANT regress_settings_trusted TO regress_settings_authenticator;
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['regress_settings_web', 'regress_settings_trusted'] LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA service_items TO %I', r);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION service_items.load_service_settings(bigint),
                                               service_items.save_service_settings(bigint, jsonb),
                                               service_items.export_configuration(bigint),
                                               service_items.import_configuration(bigint, jsonb, jsonb, boolean),
                                               service_items.authorized_clinic(boolean) TO %I', r);
    END LOOP;
END
$$;

---------------------------------------------------------------------------
-- Clinics A and B (generated, 6 items, 2 practitioners per item; user
-- A*1000+1 is admin and practitioner, A*1000+2 a practitioner, A*1000+900
-- front desk staff), and E, empty but for members named like A's (the
-- target of imports).
---------------------------------------------------------------------------
DROP SCHEMA IF EXISTS settings_authz CASCADE;
CREATE SCHEMA settings_authz;
GRANT USAGE ON SCHEMA settings_authz TO PUBLIC;

SELECT service_items_demo.create_clinic(6, 2, 'Clinic A') AS "A",
       service_items_demo.create_clinic(6, 2, 'Clinic B') AS "B" \gset
INSERT INTO service_items.clinics (name) VALUES ('Clinic E') RETURNING id AS "E" \gset
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active)
SELECT :E, :E * 1000 + (m.user_id - :A * 1000), m.full_name, m.roles, m.is_active
  FROM service_items.clinic_members m WHERE m.clinic_id = :A;

-- try(sql): runs sql; 'ok' or 'SQLSTATE: message' (numbers, clinic ids
-- among them, shown as N), followed by the error codes when the DETAIL is
-- a settings payload's error list.
CREATE FUNCTION settings_authz.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
    IF detail LIKE '[%' THEN
        message := message || ' (' || (SELECT string_agg(DISTINCT e ->> 'code', ', ')
                                         FROM jsonb_array_elements(detail::jsonb) e) || ')';
    END IF;
    RETURN state || ': ' || regexp_replace(message, '[0-9]+', 'N', 'g');
END
$$;

-- The calls, as text with the clinic ids filled in.
CREATE TABLE settings_authz.calls (n int PRIMARY KEY, label text, sql text);
GRANT SELECT ON settings_authz.calls TO PUBLIC;
SELECT service_items.export_configuration(:A) AS doc \gset
INSERT INTO settings_authz.calls VALUES
(1, 'load A', format('SELECT service_items.load_service_settings(%s)', :A)),
(2, 'export A', format('SELECT service_items.export_configuration(%s)', :A)),
(3, 'save A (no change)', format('SELECT service_items.save_service_settings(%s, ''{}'')', :A)),
(4, 'save A (rename an item)', format('SELECT service_items.save_service_settings(%s, %L)', :A,
        jsonb_build_object('service_items', (SELECT jsonb_agg(CASE WHEN n = 1 THEN jsonb_set(i, '{name}', '"Renamed"') ELSE i END ORDER BY n)
                                               FROM jsonb_array_elements(service_items.load_service_settings(:A)::jsonb -> 'service_items')
                                                    WITH ORDINALITY AS x(i, n))))),
(5, 'import into A (replace)', format('SELECT service_items.import_configuration(%s, %L, %L, true)', :A, :'doc',
        (SELECT jsonb_object_agg('p' || n, :A * 1000 + n) FROM generate_series(1, 4) n))),
(6, 'load B', format('SELECT service_items.load_service_settings(%s)', :B)),
(7, 'export B', format('SELECT service_items.export_configuration(%s)', :B)),
(8, 'save B', format('SELECT service_items.save_service_settings(%s, ''{}'')', :B)),
(9, 'import into B', format('SELECT service_items.import_configuration(%s, %L, %L)', :B, :'doc',
        (SELECT jsonb_object_agg('p' || n, :B * 1000 + n) FROM generate_series(1, 4) n))),
(10, 'import into B (replace)', format('SELECT service_items.import_configuration(%s, %L, %L, true)', :B, :'doc',
        (SELECT jsonb_object_agg('p' || n, :B * 1000 + n) FROM generate_series(1, 4) n))),
(11, 'load unknown clinic', 'SELECT service_items.load_service_settings(8499999)'),
(12, 'export unknown clinic', 'SELECT service_items.export_configuration(8499999)'),
(13, 'save unknown clinic', 'SELECT service_items.save_service_settings(8499999, ''{}'')'),
(14, 'import into unknown clinic (replace)', format('SELECT service_items.import_configuration(8499999, %L, ''{}'', true)',
        jsonb_build_object('format', 'service_items/1', 'resource_types', '["Secret room"]'::jsonb))),
(15, 'import into A (no replace)', format('SELECT service_items.import_configuration(%s, %L, %L)', :A, :'doc',
        (SELECT jsonb_object_agg('p' || n, :A * 1000 + n) FROM generate_series(1, 4) n)));

-- Claims that authorize nothing.
CREATE TABLE settings_authz.bad_claims (n int PRIMARY KEY, label text, claims text);
INSERT INTO settings_authz.bad_claims VALUES
(1, 'no claims', NULL),
(2, 'empty claims', ''),
(3, 'no roles', format('{"clinic_id": %s}', :A)),
(4, 'empty roles', format('{"clinic_id": %s, "roles": []}', :A)),
(5, 'unknown role', format('{"clinic_id": %s, "roles": ["owner"]}', :A)),
(6, 'clinic_id as a string with a space', format('{"clinic_id": " %s", "roles": ["admin"]}', :A)),
(7, 'roles as a string', format('{"clinic_id": %s, "roles": "admin"}', :A)),
(8, 'not JSON', 'admin'),
(9, 'a JSON array', '[]');
GRANT SELECT ON settings_authz.bad_claims TO PUBLIC;


-- with_claims(claims, sql): try(sql) with these claims for the rest of the
-- transaction.
CREATE FUNCTION settings_authz.with_claims(claims text, sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN settings_authz.try(sql);
END
$$;
SELECT service_items_demo.clinic_checksum(:A) AS a_checksum,
       service_items_demo.clinic_checksum(:B) AS b_checksum \gset

-- As PostgREST: log in as the authenticator, then one transaction per
-- request.
SET SESSION AUTHORIZATION regress_settings_authenticator;
SELECT current_user, session_user;

---------------------------------------------------------------------------
-- 1. Claims of A, admin: every call on A works; every call on B or on a
-- clinic that does not exist is refused, with the same message.
---------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "admin-of-a", "clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims;
SELECT n, label, settings_authz.try(sql) AS result FROM settings_authz.calls ORDER BY n;
ROLLBACK;

-- The refusals' messages are the same for B and for a clinic that does not
-- exist.
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "admin-of-a", "clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims;
SELECT b.label AS call_on_b, u.label AS call_on_unknown,
       settings_authz.try(b.sql) = settings_authz.try(u.sql) AS same_refusal
  FROM settings_authz.calls b JOIN settings_authz.calls u ON u.n = b.n + 5 AND b.n BETWEEN 6 AND 8
UNION ALL
SELECT b.label, u.label, settings_authz.try(b.sql) = settings_authz.try(u.sql)
  FROM settings_authz.calls b, settings_authz.calls u WHERE b.n = 10 AND u.n = 14;
-- An admin sees revenue_share, in the page and in the export.
SELECT (SELECT count(*) FROM jsonb_path_query(service_items.load_service_settings(:A)::jsonb,
                                              'strict $.associations[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS page_shares_shown,
       (SELECT count(*) FROM jsonb_path_query(service_items.export_configuration(:A),
                                              'strict $.service_items[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS export_shares_shown;
ROLLBACK;

---------------------------------------------------------------------------
-- 2. Claims of A without admin: staff, and a practitioner.  Load and export
-- work (revenue_share null everywhere); save and import are refused.
---------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "desk-of-a", "clinic_id": %s, "roles": ["staff"]}', :A), true) IS NOT NULL AS claims;
SELECT n, label, settings_authz.try(sql) AS result FROM settings_authz.calls WHERE n <= 5 OR n = 15 ORDER BY n;
SELECT (SELECT count(*) FROM jsonb_path_query(service_items.load_service_settings(:A)::jsonb,
                                              'strict $.associations[*].billing_scenarios.*[*]')) AS page_scenarios,
       (SELECT count(*) FROM jsonb_path_query(service_items.load_service_settings(:A)::jsonb,
                                              'strict $.associations[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS page_shares_shown,
       (SELECT count(*) FROM jsonb_path_query(service_items.export_configuration(:A),
                                              'strict $.service_items[*].billing_scenarios.*[*]')) AS export_scenarios,
       (SELECT count(*) FROM jsonb_path_query(service_items.export_configuration(:A),
                                              'strict $.service_items[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS export_shares_shown;
SELECT service_items.export_configuration(:A)::text AS staff_doc \gset
ROLLBACK;

BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "doctor-of-a", "clinic_id": %s, "roles": ["practitioner", "staff"]}', :A), true) IS NOT NULL AS claims;
SELECT n, label, settings_authz.try(sql) AS result FROM settings_authz.calls WHERE n <= 5 OR n = 15 ORDER BY n;
SELECT (SELECT count(*) FROM jsonb_path_query(service_items.load_service_settings(:A)::jsonb,
                                              'strict $.associations[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS page_shares_shown,
       (SELECT count(*) FROM jsonb_path_query(service_items.export_configuration(:A),
                                              'strict $.service_items[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS export_shares_shown;
ROLLBACK;

-- A non-admin's export has no revenue shares: as a document to import it
-- is incomplete, and an admin's import of it is refused (revenue_share is
-- required).
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"clinic_id": %s, "roles": ["admin"]}', :E), true) IS NOT NULL AS claims;
SELECT settings_authz.try(format('SELECT service_items.import_configuration(%s, %L, %L)', :E, :'staff_doc',
           (SELECT jsonb_object_agg('p' || n, :E * 1000 + n) FROM generate_series(1, 4) n))) AS import_of_staff_export;
ROLLBACK;

---------------------------------------------------------------------------
-- 3. No valid claims: the web role reaches nothing.
---------------------------------------------------------------------------
-- Each set of claims in its own request; the result per call.
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT b.label AS claims, c.label AS call, settings_authz.with_claims(b.claims, c.sql) AS result
  FROM settings_authz.bad_claims b, settings_authz.calls c
 WHERE c.n IN (1, 2, 3, 5, 15)
 ORDER BY b.n, c.n;
ROLLBACK;

---------------------------------------------------------------------------
-- 4. A role that bypasses row-level security (a trusted application
-- server) calls without claims.
---------------------------------------------------------------------------
BEGIN;
SET LOCAL ROLE regress_settings_trusted;
SELECT current_setting('request.jwt.claims', true) IS NULL
       OR current_setting('request.jwt.claims', true) = '' AS no_claims;
SELECT n, label, settings_authz.try(sql) AS result FROM settings_authz.calls WHERE n NOT IN (5, 9, 10, 15) ORDER BY n;
-- it is not limited to a role: revenue_share is shown.
SELECT (SELECT count(*) FROM jsonb_path_query(service_items.load_service_settings(:A)::jsonb,
                                              'strict $.associations[*].billing_scenarios.*[*].revenue_share ? (@ != null)')) AS page_shares_shown;
ROLLBACK;

-- Nothing above wrote anything (every request was refused or rolled back).
RESET SESSION AUTHORIZATION;
SELECT service_items_demo.clinic_checksum(:A) = :'a_checksum' AS a_unchanged,
       service_items_demo.clinic_checksum(:B) = :'b_checksum' AS b_unchanged;

---------------------------------------------------------------------------
-- 5. Requests that commit: an admin of A renames an item (the audit row
-- carries the claims' sub), exports; an admin of E imports that export;
-- E's export is A's.
---------------------------------------------------------------------------
SET SESSION AUTHORIZATION regress_settings_authenticator;
BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "admin-of-a", "clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims;
SELECT settings_authz.try(sql) AS rename FROM settings_authz.calls WHERE n = 4;
COMMIT;

BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "admin-of-a", "clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims;
SELECT service_items.export_configuration(:A)::text AS admin_doc \gset
COMMIT;

BEGIN;
SET LOCAL ROLE regress_settings_web;
SELECT set_config('request.jwt.claims', format('{"sub": "admin-of-e", "clinic_id": %s, "roles": ["admin", "practitioner"]}', :E), true) IS NOT NULL AS claims;
SELECT service_items.import_configuration(:E, :'admin_doc',
           (SELECT jsonb_object_agg('p' || n, :E * 1000 + n) FROM generate_series(1, 4) n)) IS NOT NULL AS imported;
SELECT service_items.export_configuration(:E) = :'admin_doc'::jsonb AS e_exports_as_a;
COMMIT;

RESET SESSION AUTHORIZATION;
SELECT c.label AS clinic, a.db_user, a.claims_sub, cardinality(a.service_item_ids) AS items
  FROM service_items.association_audit a
  JOIN (VALUES (:A, 'A'), (:E, 'E')) AS c(id, label) ON c.id = a.clinic_id
 ORDER BY c.label, a.id;
SELECT service_items_demo.clinic_checksum(:B) = :'b_checksum' AS b_unchanged;

DELETE FROM service_items.clinics WHERE id IN (:A, :B, :E);
DROP SCHEMA settings_authz CASCADE;
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['regress_settings_authenticator', 'regress_settings_web',
                             'regress_settings_trusted'] LOOP
        EXECUTE format('DROP OWNED BY %I', r);
        EXECUTE format('DROP ROLE %I', r);
    END LOOP;
END
$$;
