/*
 * security_install: the install script is safe against objects prepared in
 * advance by someone else (CVE-2020-14350 class; SPEC §7, issue 4).
 *
 * CREATE EXTENSION service_items must refuse, and leave nothing behind, when
 * the schema service_items already exists and
 *   - is owned by another role (its owner could later drop, replace or
 *     shadow our objects: owners may do anything in their schema), or
 *   - holds anything at all: a table, a function, an operator or a type with
 *     one of our names or not (an object we would otherwise adopt, call or
 *     resolve to).
 * An empty schema of the installing role is fine.  And a hostile
 * search_path in the installing session (functions and operators the
 * script's unqualified names would resolve to) is never consulted: the
 * script runs with its own path and qualifies everything.
 *
 * All of it happens in a database of its own, so the extension in the test
 * database, and the rows other test files created, stay as they are.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set regress_db :DBNAME

DROP DATABASE IF EXISTS regression_security_install;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_evil') THEN
        DROP ROLE regress_evil;
    END IF;
END
$$;
CREATE ROLE regress_evil NOLOGIN;
CREATE DATABASE regression_security_install;
\c regression_security_install
SET client_min_messages = warning;

-- try(sql): 'ok', or the SQLSTATE and message (and hint) of the error.
CREATE FUNCTION pg_temp.try(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    hnt text;
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hnt = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || msg || CASE WHEN hnt <> '' THEN ' (' || hnt || ')' ELSE '' END;
END
$$;

-- leftovers(): what of the extension exists after a refused install.
CREATE FUNCTION pg_temp.leftovers(OUT extension boolean, OUT schema_objects bigint)
LANGUAGE sql AS $$
    SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'service_items'),
           (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'service_items')
         + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'service_items')
$$;

---------------------------------------------------------------------------
-- (a) The schema belongs to another role, empty or not.
---------------------------------------------------------------------------
CREATE SCHEMA service_items AUTHORIZATION regress_evil;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "schema of another role, empty";
SELECT * FROM pg_temp.leftovers();
CREATE FUNCTION service_items.authorized_clinic(boolean) RETURNS bigint
LANGUAGE sql AS 'SELECT 1::bigint';
ALTER FUNCTION service_items.authorized_clinic(boolean) OWNER TO regress_evil;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "schema of another role, with a function";
-- An explicit SCHEMA clause changes nothing (the extension is not relocatable).
SELECT pg_temp.try('CREATE EXTENSION service_items SCHEMA service_items') AS "with SCHEMA clause";
SELECT pg_temp.try('CREATE EXTENSION service_items SCHEMA public') AS "into another schema";
DROP SCHEMA service_items CASCADE;

---------------------------------------------------------------------------
-- (b) The schema is the installer's own but not empty.
---------------------------------------------------------------------------
CREATE SCHEMA service_items;
GRANT USAGE, CREATE ON SCHEMA service_items TO regress_evil;

-- one of our tables, pre-created
CREATE TABLE service_items.appointment_types (clinic_id bigint, id bigint);
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "a table of ours";
DROP TABLE service_items.appointment_types;

-- one of our functions, pre-created by someone granted CREATE on the schema
SET ROLE regress_evil;
CREATE FUNCTION service_items.bulk_load_associations(
    clinic_id bigint, service_item_ids bigint[] DEFAULT NULL,
    include_billing_scenarios boolean DEFAULT true,
    include_resource_requirements boolean DEFAULT true,
    include_follow_up_messages boolean DEFAULT true)
RETURNS json LANGUAGE sql AS 'SELECT NULL::json';
RESET ROLE;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "a function of ours, by another role";
DROP FUNCTION service_items.bulk_load_associations(bigint, bigint[], boolean, boolean, boolean);

-- a function the policies call
CREATE FUNCTION service_items.authorized_clinic(boolean) RETURNS bigint
LANGUAGE sql AS 'SELECT 1::bigint';
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "the policies' function";
DROP FUNCTION service_items.authorized_clinic(boolean);

-- an overload of one of our functions (same name, other arguments)
CREATE FUNCTION service_items.bulk_save_associations(clinic_id text, payload text)
RETURNS json LANGUAGE sql AS 'SELECT NULL::json';
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "an overload of ours";
DROP FUNCTION service_items.bulk_save_associations(text, text);

-- an operator that an unqualified = on bigint in the schema would find
CREATE FUNCTION public.regress_evil_eq(bigint, bigint) RETURNS boolean
LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR service_items.= (LEFTARG = bigint, RIGHTARG = bigint,
                                 FUNCTION = public.regress_evil_eq);
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "an operator";
DROP OPERATOR service_items.= (bigint, bigint);

-- a type, a sequence, a view of some other name
CREATE TYPE service_items.clinic_role AS ENUM ('admin');
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "a type";
DROP TYPE service_items.clinic_role;
CREATE SEQUENCE service_items.clinics_id_seq;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "a sequence of our name";
DROP SEQUENCE service_items.clinics_id_seq;
CREATE VIEW service_items.anything AS SELECT 1 AS x;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "a view";
DROP VIEW service_items.anything;

SELECT * FROM pg_temp.leftovers();
REVOKE ALL ON SCHEMA service_items FROM regress_evil;

---------------------------------------------------------------------------
-- (c) An empty schema of the installer: accepted.  Then, in a schema the
-- extension creates itself, a hostile search_path in the installing session
-- is never consulted.
---------------------------------------------------------------------------
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "empty schema of the installer";
SELECT e.extname, n.nspname, pg_get_userbyid(n.nspowner) = current_user AS schema_is_mine
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'service_items';
DROP EXTENSION service_items;
DROP SCHEMA service_items;

CREATE SCHEMA regress_hostile;
CREATE FUNCTION regress_hostile.called(what text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE WARNING 'hostile %: called', what;
    RETURN true;
END
$$;
CREATE FUNCTION regress_hostile.now() RETURNS timestamptz
LANGUAGE sql AS $$ SELECT '2000-01-01'::timestamptz WHERE regress_hostile.called('now()') $$;
CREATE FUNCTION regress_hostile.length(text) RETURNS integer
LANGUAGE sql AS $$ SELECT 1 WHERE regress_hostile.called('length(text)') $$;
CREATE FUNCTION regress_hostile.format(text, VARIADIC text[]) RETURNS text
LANGUAGE sql AS $$ SELECT pg_catalog.format($1, VARIADIC $2) WHERE regress_hostile.called('format') $$;
CREATE FUNCTION regress_hostile.array_position(anyarray, anyelement) RETURNS integer
LANGUAGE sql AS $$ SELECT NULL::integer WHERE regress_hostile.called('array_position') $$;
CREATE FUNCTION regress_hostile.pg_extension_config_dump(regclass, text) RETURNS void
LANGUAGE sql AS $$ SELECT WHERE regress_hostile.called('pg_extension_config_dump') $$;
CREATE FUNCTION regress_hostile.eq_text(text, text) RETURNS boolean
LANGUAGE sql AS $$ SELECT regress_hostile.called('= (text, text)') $$;
CREATE OPERATOR regress_hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_hostile.eq_text);
CREATE FUNCTION regress_hostile.eq_oid(oid, oid) RETURNS boolean
LANGUAGE sql AS $$ SELECT regress_hostile.called('= (oid, oid)') $$;
CREATE OPERATOR regress_hostile.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = regress_hostile.eq_oid);
CREATE FUNCTION regress_hostile.ne_oid(oid, oid) RETURNS boolean
LANGUAGE sql AS $$ SELECT NOT regress_hostile.called('<> (oid, oid)') $$;
CREATE OPERATOR regress_hostile.<> (LEFTARG = oid, RIGHTARG = oid, FUNCTION = regress_hostile.ne_oid);
CREATE FUNCTION regress_hostile.gt_int(integer, integer) RETURNS boolean
LANGUAGE sql AS $$ SELECT regress_hostile.called('> (integer, integer)') $$;
CREATE OPERATOR regress_hostile.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = regress_hostile.gt_int);
CREATE FUNCTION regress_hostile.cat(text, text) RETURNS text
LANGUAGE sql AS $$ SELECT $1 OPERATOR(pg_catalog.||) $2 WHERE regress_hostile.called('|| (text, text)') $$;
CREATE OPERATOR regress_hostile.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_hostile.cat);

SET search_path = regress_hostile, pg_catalog, public;
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "under a hostile search_path";
RESET search_path;
-- Installed whole and as it should be.
SELECT count(*) > 0 AS has_functions, bool_and(NOT prosecdef) AS all_invoker
  FROM pg_proc WHERE pronamespace = 'service_items'::regnamespace;
SELECT count(*) > 0 AS has_tables, bool_and(relrowsecurity) AS all_rls,
       bool_and(EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)) AS all_have_policies
  FROM pg_class c WHERE relnamespace = 'service_items'::regnamespace AND relkind = 'r';
-- DROP EXTENSION leaves the schema behind (CREATE EXTENSION made it, but it
-- is not a member of the extension); it is the installer's and empty, so
-- installing again is accepted.
DROP EXTENSION service_items;
SELECT pg_get_userbyid(nspowner) = current_user AS leftover_schema_is_mine
  FROM pg_namespace WHERE nspname = 'service_items';
SELECT pg_temp.try('CREATE EXTENSION service_items') AS "again, into the leftover schema";
DROP EXTENSION service_items;

---------------------------------------------------------------------------
-- Clean up.
---------------------------------------------------------------------------
\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regression_security_install;
DROP ROLE regress_evil;
-- The test database's own extension was never touched.
SELECT extname FROM pg_extension WHERE extname = 'service_items';
