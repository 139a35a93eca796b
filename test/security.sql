-- test/security.sql: pgTAP checks of the hardening of service_items
-- (SPEC §7, issue 4), object by object, read from the catalogs:
--
--   * every table of schema service_items has row-level security enabled,
--     a policy for reading and one for writing (or, for clinics and the
--     audit, exactly the ones they should have), every policy keyed on
--     service_items.authorized_clinic() inside a scalar subquery (evaluated
--     once per statement), the read policies with for_write = false (the
--     audit's: true, admins only) and the write policies with for_write =
--     true in USING and WITH CHECK;
--   * no function of the schema is executable by PUBLIC (proacl set, no
--     grantee 0), every one is SECURITY INVOKER, and a role without grants
--     is refused each of them;
--   * no table, sequence or the schema itself grants anything to PUBLIC;
--   * everything in the schema belongs to the extension (nothing slipped in);
--   * authorized_clinic() answers as the claims say.
--
-- The number of checks follows the catalogs (one per table, function,
-- policy), so the plan is computed.  Everything runs in one transaction that
-- rolls back.

BEGIN;

SET LOCAL search_path = public, pg_catalog;

CREATE TEMP TABLE si_tables ON COMMIT DROP AS
SELECT c.oid, c.relname::text AS name, c.relrowsecurity, c.relforcerowsecurity, c.relacl
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind IN ('r', 'p');
CREATE TEMP TABLE si_functions ON COMMIT DROP AS
SELECT p.oid, p.oid::regprocedure::text AS name, p.prosecdef, p.proacl
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'service_items'::regnamespace;
CREATE TEMP TABLE si_policies ON COMMIT DROP AS
SELECT c.relname::text AS tbl, p.polname::text AS name, p.polcmd, p.polpermissive,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = 'service_items'::regnamespace;

SELECT plan(15
            + 5 * (SELECT count(*)::int FROM si_tables)
            + 4 * (SELECT count(*)::int FROM si_functions)
            + 2 * (SELECT count(*)::int FROM si_policies));

------------------------------------------------------------------------
-- Row-level security, table by table
------------------------------------------------------------------------

SELECT ok((SELECT count(*) FROM si_tables) >= 10, 'schema service_items has its ten tables to check');

SELECT ok(t.relrowsecurity, format('row-level security is enabled on %s', t.name))
  FROM si_tables t ORDER BY t.name;

-- Reading: a SELECT (or ALL) policy on every table.
SELECT ok(EXISTS (SELECT FROM si_policies p WHERE p.tbl = t.name AND p.polcmd IN ('r', '*')),
          format('%s has a policy for reading', t.name))
  FROM si_tables t ORDER BY t.name;

-- Writing: an ALL policy on every table but clinics (read-only through row
-- security: clinics are the DBA's) and association_audit (admins may add
-- rows -- the save runs as its caller and writes one -- but change none).
SELECT CASE t.name
         WHEN 'clinics' THEN
           is(ARRAY(SELECT p.polcmd::text FROM si_policies p WHERE p.tbl = t.name ORDER BY 1),
              ARRAY['r'], 'clinics has a SELECT policy only: nobody writes it through row security')
         WHEN 'association_audit' THEN
           is(ARRAY(SELECT p.polcmd::text FROM si_policies p WHERE p.tbl = t.name ORDER BY 1),
              ARRAY['a', 'r'], 'association_audit has SELECT and INSERT policies only: rows are never changed')
         ELSE
           ok(EXISTS (SELECT FROM si_policies p WHERE p.tbl = t.name AND p.polcmd = '*'
                                                  AND p.withcheck IS NOT NULL),
              format('%s has a policy for writing, with a WITH CHECK', t.name))
       END
  FROM si_tables t ORDER BY t.name;

-- Every table is keyed on its clinic (clinics on its id).
SELECT ok(NOT EXISTS (SELECT FROM si_policies p, unnest(ARRAY[p.qual, p.withcheck]) e
                       WHERE p.tbl = t.name AND e IS NOT NULL
                         AND e !~ CASE WHEN t.name = 'clinics' THEN '^\(id = ' ELSE '^\(clinic_id = ' END),
          format('every policy of %s compares %s with the authorized clinic', t.name,
                 CASE WHEN t.name = 'clinics' THEN 'id' ELSE 'clinic_id' END))
  FROM si_tables t ORDER BY t.name;

-- Policy by policy: the claim lookup is a scalar subquery (once per
-- statement, not once per row), with for_write as the command needs.
SELECT ok(p.polpermissive
          AND concat(p.qual, p.withcheck) ~ 'authorized_clinic'
          AND NOT EXISTS (SELECT FROM regexp_matches(concat(p.qual, ' ', p.withcheck),
                                                     '(\S+\s+)(service_items\.)?authorized_clinic\(', 'g') m
                           WHERE m[1] !~ '^SELECT\s'),
          format('policy %s on %s is permissive and calls authorized_clinic() only in scalar subqueries',
                 p.name, p.tbl))
  FROM si_policies p ORDER BY p.tbl, p.name;
-- (The audit is for admins only, reading included.)
SELECT ok(CASE WHEN p.polcmd = 'r' AND p.tbl <> 'association_audit'
               THEN p.qual ~ 'authorized_clinic\(false\)' AND p.qual !~ 'authorized_clinic\(true\)'
               ELSE concat(p.qual, p.withcheck) ~ 'authorized_clinic\(true\)'
                    AND concat(p.qual, p.withcheck) !~ 'authorized_clinic\(false\)'
                    AND (p.polcmd <> '*' OR (p.qual ~ 'authorized_clinic\(true\)'
                                             AND p.withcheck ~ 'authorized_clinic\(true\)'))
          END,
          format('policy %s on %s asks authorized_clinic(%s)', p.name, p.tbl,
                 CASE WHEN p.polcmd = 'r' AND p.tbl <> 'association_audit' THEN 'false' ELSE 'true' END))
  FROM si_policies p ORDER BY p.tbl, p.name;

------------------------------------------------------------------------
-- Functions: not PUBLIC, SECURITY INVOKER, refused without a grant
------------------------------------------------------------------------

SELECT ok((SELECT count(*) FROM si_functions) >= 5, 'schema service_items has its functions to check');
SELECT ok(EXISTS (SELECT FROM si_functions WHERE name = 'service_items.authorized_clinic(boolean)'),
          'authorized_clinic(boolean), the policies'' function, is one of them');

-- An absent ACL means the default, which lets PUBLIC execute.
SELECT ok(f.proacl IS NOT NULL
          AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(f.proacl) a
                           WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
          format('EXECUTE on %s is not granted to PUBLIC', f.name))
  FROM si_functions f ORDER BY f.name;
SELECT ok(NOT f.prosecdef, format('%s is SECURITY INVOKER', f.name))
  FROM si_functions f ORDER BY f.name;

-- A role with USAGE on the schema and nothing else.
CREATE ROLE regress_security_tap NOLOGIN;
GRANT USAGE ON SCHEMA service_items TO regress_security_tap;
SELECT ok(NOT pg_catalog.has_function_privilege('regress_security_tap', f.oid, 'EXECUTE'),
          format('a role without grants may not execute %s', f.name))
  FROM si_functions f ORDER BY f.name;

-- And calling each one is refused with 42501, before anything runs.
CREATE FUNCTION pg_temp.call_as_nobody(fn regprocedure) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    args text;
BEGIN
    SELECT string_agg(format('NULL::%s', t::regtype), ', ' ORDER BY o)
      INTO args FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE oid = fn)) WITH ORDINALITY u(t, o);
    SET LOCAL ROLE regress_security_tap;
    BEGIN
        EXECUTE format('SELECT %s(%s)', fn::oid::regproc, coalesce(args, ''));
        RESET ROLE;
        RETURN 'executed';
    EXCEPTION WHEN OTHERS THEN
        RESET ROLE;
        RETURN SQLSTATE;
    END;
END
$$;
SELECT is(pg_temp.call_as_nobody(f.oid), '42501', format('a role without grants calling %s gets 42501', f.name))
  FROM si_functions f ORDER BY f.name;

------------------------------------------------------------------------
-- Nothing for PUBLIC on tables, sequences and the schema
------------------------------------------------------------------------

SELECT ok(NOT EXISTS (SELECT FROM pg_catalog.aclexplode(t.relacl) a WHERE a.grantee = 0),
          format('%s grants nothing to PUBLIC', t.name))
  FROM si_tables t ORDER BY t.name;
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
       WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind NOT IN ('r', 'p')
         AND a.grantee = 0$$,
    'no sequence, view or index of schema service_items grants anything to PUBLIC');
SELECT ok(NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
                       WHERE n.nspname = 'service_items' AND a.grantee = 0),
          'schema service_items grants nothing to PUBLIC (no USAGE, no CREATE)');
SELECT is_empty(
    $$SELECT a.grantee::regrole FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
       WHERE n.nspname = 'service_items' AND a.privilege_type = 'CREATE'
         AND a.grantee <> n.nspowner$$,
    'nobody but its owner may create objects in schema service_items');
SELECT is((SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'service_items'),
          (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'service_items'),
          'schema service_items belongs to the owner of the extension');

------------------------------------------------------------------------
-- Everything in the schema is the extension's
------------------------------------------------------------------------

SELECT is_empty(
    $$SELECT x.what FROM (
          SELECT c.oid::regclass::text AS what, 'pg_class'::regclass AS catalog, c.oid
            FROM pg_catalog.pg_class c
           WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          UNION ALL
          SELECT p.oid::regprocedure::text, 'pg_proc'::regclass, p.oid
            FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'service_items'::regnamespace
          UNION ALL
          SELECT o.oid::regoperator::text, 'pg_operator'::regclass, o.oid
            FROM pg_catalog.pg_operator o WHERE o.oprnamespace = 'service_items'::regnamespace
          UNION ALL
          SELECT t.oid::regtype::text, 'pg_type'::regclass, t.oid
            FROM pg_catalog.pg_type t
           WHERE t.typnamespace = 'service_items'::regnamespace AND t.typrelid = 0
             AND t.typelem = 0) x
       WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = x.catalog AND d.objid = x.oid AND d.deptype = 'e'
                            AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension
                                               WHERE extname = 'service_items'))$$,
    'every table, sequence, view, function, operator and type of schema service_items belongs to the extension');
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class c
       WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind IN ('r', 'p')
         AND c.relowner <> (SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'service_items')$$,
    'every table belongs to the owner of the extension');

------------------------------------------------------------------------
-- authorized_clinic() follows the claims
------------------------------------------------------------------------

-- with_claims(claims, for_write): authorized_clinic(for_write) under claims
-- set for the transaction, as PostgREST sets them.
CREATE FUNCTION pg_temp.with_claims(claims text, for_write boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', claims, true);
    RETURN service_items.authorized_clinic(for_write);
END
$$;
SELECT is(pg_temp.with_claims('', false), NULL, 'without claims, no clinic to read');
SELECT is(pg_temp.with_claims('{"clinic_id": 7, "roles": ["staff"]}', false), 7::bigint,
          'staff of clinic 7 may read clinic 7');
SELECT is(pg_temp.with_claims('{"clinic_id": 7, "roles": ["staff", "practitioner"]}', true), NULL,
          'staff and practitioners of clinic 7 may change nothing');
SELECT is(pg_temp.with_claims('{"clinic_id": "7", "roles": ["admin"]}', true), 7::bigint,
          'an admin of clinic 7 may change clinic 7');
SELECT is(pg_temp.with_claims('{"clinic_id": 7, "roles": ["admin"', false), NULL,
          'malformed claims authorize nothing');
SELECT is(pg_temp.with_claims('{"clinic_id": [7], "roles": ["admin"]}', false), NULL,
          'a clinic_id that is not a number or digit string authorizes nothing');

SELECT * FROM finish();
ROLLBACK;
