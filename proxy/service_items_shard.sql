/*
 * proxy/service_items_shard.sql: the shard side of the PL/Proxy layer of
 * service_items.  Run it on every shard database, after
 * CREATE EXTENSION service_items, as the role that owns the extension:
 *
 *     psql -v ON_ERROR_STOP=1 -d shard_db -f proxy/service_items_shard.sql
 *
 * PL/Proxy runs each proxied call on the shard in a connection of its own,
 * so the caller's request.jwt.claims setting (PostgREST's identity) does not
 * travel with it.  The proxy therefore passes the claims as a first argument
 * to these functions, which set them for the duration of the call only and
 * then call the real function of the extension: authorization, row-level
 * security, the revenue_share rule and the audit's claims_sub are decided
 * here, on the shard, by the extension itself, exactly as for a direct call.
 *
 * Passing claims gives nobody more than setting request.jwt.claims does
 * (anyone who can run SQL may set it).  EXECUTE is revoked from PUBLIC: grant
 * it to the roles the proxy's user mappings connect as, and no one else.
 * Those roles must not bypass row-level security unless every proxy caller
 * mapped to them is trusted to call without claims (see doc/scaling.md).
 */

BEGIN;

-- Plain CREATE: a schema (or function) someone else prepared makes this
-- script fail instead of being adopted.
CREATE SCHEMA service_items_shard;
REVOKE ALL ON SCHEMA service_items_shard FROM PUBLIC;
COMMENT ON SCHEMA service_items_shard IS
    'Entry points of proxied service_items calls: claims as an argument, then the extension''s function.';

/*
 * Each function has the SET clause request.jwt.claims = '': on entry the
 * setting is emptied, set_config(..., true) then applies the caller's claims
 * inside the function only, and on exit the previous value comes back, so
 * claims never outlive the call on PL/Proxy's pooled connection.
 */

CREATE FUNCTION service_items_shard.bulk_load_associations(
    claims text,
    clinic_id bigint,
    service_item_ids bigint[],
    include_billing_scenarios boolean,
    include_resource_requirements boolean,
    include_follow_up_messages boolean)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.bulk_load_associations($2, $3, $4, $5, $6);
END
$fn$;

CREATE FUNCTION service_items_shard.service_item_associations(
    claims text,
    clinic_id bigint,
    service_item_ids bigint[],
    include_billing_scenarios boolean,
    include_resource_requirements boolean,
    include_follow_up_messages boolean)
RETURNS TABLE (service_item_id bigint, associations json)
LANGUAGE plpgsql STABLE SECURITY INVOKER ROWS 100
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN QUERY SELECT * FROM service_items.service_item_associations($2, $3, $4, $5, $6);
END
$fn$;

CREATE FUNCTION service_items_shard.bulk_save_associations(
    claims text,
    clinic_id bigint,
    payload jsonb)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.bulk_save_associations($2, $3);
END
$fn$;

CREATE FUNCTION service_items_shard.validate_associations(
    claims text,
    clinic_id bigint,
    payload jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.validate_associations($2, $3);
END
$fn$;

-- The whole settings page, export and import.

CREATE FUNCTION service_items_shard.load_service_settings(claims text, clinic_id bigint)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.load_service_settings($2);
END
$fn$;

CREATE FUNCTION service_items_shard.save_service_settings(claims text, clinic_id bigint, payload jsonb)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.save_service_settings($2, $3);
END
$fn$;

CREATE FUNCTION service_items_shard.export_configuration(claims text, clinic_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.export_configuration($2);
END
$fn$;

CREATE FUNCTION service_items_shard.import_configuration(
    claims text, clinic_id bigint, document jsonb, practitioner_map jsonb, replace boolean)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET "request.jwt.claims" = ''
AS $fn$
BEGIN
    PERFORM pg_catalog.set_config('request.jwt.claims', COALESCE(claims, ''), true);
    RETURN service_items.import_configuration($2, $3, $4, $5);
END
$fn$;

REVOKE ALL ON FUNCTION service_items_shard.bulk_load_associations(text, bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.service_item_associations(text, bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.bulk_save_associations(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.validate_associations(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.load_service_settings(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.save_service_settings(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.export_configuration(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_shard.import_configuration(text, bigint, jsonb, jsonb, boolean) FROM PUBLIC;

COMMIT;
