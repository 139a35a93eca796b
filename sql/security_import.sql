/*
 * security_import: import_configuration(..., replace => true) into a clinic
 * the caller is not authorized for is refused at once, like every other
 * call (SPEC §7, issue 4): 42501 "permission denied for clinic N", before
 * anything is written or even tried.
 *
 * (Without replace, the function's first look at the target clinic, a
 * load_service_settings, refuses it; security_tenancy covers that.  With
 * replace, that look is skipped, and the first statement is an INSERT into
 * the target clinic's resource_types: a web role is then stopped by row
 * security with another message, and a caller that bypasses row security
 * -- the superuser or a trusted server scoping itself with claims -- inserts
 * and is refused only by the final save_service_settings.  The statement
 * rolls back, but the identity values it took are gone: that shows here.)
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_import_web') THEN
        DROP OWNED BY regress_import_web;
        DROP ROLE regress_import_web;
    END IF;
END
$$;
CREATE ROLE regress_import_web NOLOGIN;
GRANT USAGE ON SCHEMA service_items TO regress_import_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO regress_import_web;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items TO regress_import_web;

SELECT service_items_demo.create_clinic(4, 1, 'Import A') AS "A",
       service_items_demo.create_clinic(4, 1, 'Import B') AS "B" \gset
-- B's resource types have other names than A's, so an import of A's
-- configuration into B would insert its resource types.
UPDATE service_items.resource_types SET name = 'B ' || name WHERE clinic_id = :B;

-- A's configuration, and its practitioners mapped onto B's.
SELECT service_items.export_configuration(:A) AS export_a \gset
SELECT jsonb_object_agg(x.p->>'key', :B * 1000 + x.n) AS map_b
  FROM jsonb_array_elements(:'export_a'::jsonb -> 'practitioners') WITH ORDINALITY x(p, n) \gset
SELECT service_items_demo.clinic_checksum(:B) AS b_sum \gset

-- outcome(sql): 'ok', or the SQLSTATE and message of the error, clinic ids
-- as <A> and <B>.
CREATE FUNCTION pg_temp.outcome(sql text, a bigint, b bigint) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || replace(replace(SQLERRM, 'clinic ' || a, 'clinic <A>'),
                                       'clinic ' || b, 'clinic <B>');
END
$$;
SELECT format('SELECT service_items.import_configuration(%s, %L, %L, replace => true)',
              :B, :'export_a', :'map_b') AS import_into_b \gset

-- As an admin of A, through the web role.
BEGIN;
SET LOCAL ROLE regress_import_web;
SELECT set_config('request.jwt.claims', format('{"clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims_set;
SELECT pg_temp.outcome(:'import_into_b', :A, :B) AS "web role, admin of A";
COMMIT;

-- Without claims, through the web role.
BEGIN;
SET LOCAL ROLE regress_import_web;
SELECT pg_temp.outcome(:'import_into_b', :A, :B) AS "web role, no claims";
COMMIT;

-- A caller that bypasses row security, scoped with claims for A: refused
-- before it writes anything, so no identity value of resource_types is
-- used up either.
SELECT last_value AS resource_types_seq FROM service_items.resource_types_id_seq \gset
BEGIN;
SELECT set_config('request.jwt.claims', format('{"clinic_id": %s, "roles": ["admin"]}', :A), true) IS NOT NULL AS claims_set;
SELECT pg_temp.outcome(:'import_into_b', :A, :B) AS "superuser scoped to A";
COMMIT;
SELECT last_value = :resource_types_seq AS "nothing written, nothing tried"
  FROM service_items.resource_types_id_seq;

SELECT service_items_demo.clinic_checksum(:B) = :'b_sum' AS b_unchanged;

DELETE FROM service_items.clinics WHERE id IN (:A, :B);
DROP OWNED BY regress_import_web;
DROP ROLE regress_import_web;
