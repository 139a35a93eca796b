/*
 * proxy/service_items_proxy.sql: the proxy side of the PL/Proxy layer of
 * service_items.  Run it on the proxy database (which does not have the
 * extension itself), as a superuser:
 *
 *     psql -v ON_ERROR_STOP=1 -d proxy_db -f proxy/service_items_proxy.sql
 *
 * It creates schema service_items with the extension's per-clinic functions
 * (the associations' load, streaming load, save and validation, the whole
 * settings page's load and save, export and import), same names, arguments,
 * defaults and result types, each routing the call to the shard that owns
 * the clinic, and schema service_items_proxy with the
 * plumbing.  The shards need proxy/service_items_shard.sql.  The cluster is
 * the SQL/MED server service_items_cluster, which the DBA creates (see
 * doc/scaling.md):
 *
 *     CREATE SERVER service_items_cluster FOREIGN DATA WRAPPER plproxy
 *         OPTIONS (p0 'host=shard0 dbname=clinics', p1 '...', p2 '...', p3 '...');
 *     CREATE USER MAPPING FOR PUBLIC SERVER service_items_cluster
 *         OPTIONS (user 'si_proxy', password '...');
 *
 * Routing: partition = hashint8(clinic_id) & (partition count - 1), by
 * PL/Proxy's RUN ON; the partition count is a power of two.
 * service_items_proxy.clinic_partition(clinic_id, partition_count) tells
 * where a clinic lives.  A NULL clinic_id goes to partition 0, whose shard
 * raises the extension's own 22004.
 *
 * Identity: the caller's request.jwt.claims travel as the first argument of
 * every remote call; the shard checks them (see service_items_shard.sql).
 *
 * Errors: PL/Proxy re-raises a shard's error with its SQLSTATE but prefixes
 * the message ("f(6): [db] REMOTE ERROR: ") and the detail and hint ("Remote
 * detail: ", "Remote hint: ").  The public functions catch it and raise it
 * again with the shard's own MESSAGE, DETAIL and HINT, so a caller (and
 * PostgREST's error body) sees exactly what a direct call shows.
 *
 * Transactions: every proxied call runs in a transaction of its own on the
 * shard, committed when the call returns; a ROLLBACK on the proxy does not
 * undo a save.
 */

BEGIN;

CREATE EXTENSION IF NOT EXISTS plproxy;

-- Plain CREATE: an existing schema (someone else's, or the extension's)
-- makes this script fail instead of being adopted.
CREATE SCHEMA service_items;
CREATE SCHEMA service_items_proxy;
REVOKE ALL ON SCHEMA service_items_proxy FROM PUBLIC;
COMMENT ON SCHEMA service_items IS
    'service_items through PL/Proxy: the extension''s functions, routed to the shard that owns the clinic.';
COMMENT ON SCHEMA service_items_proxy IS
    'Plumbing of the service_items proxy: routing, PL/Proxy functions, error unwrapping.';

-- Routing -----------------------------------------------------------------

CREATE FUNCTION service_items_proxy.clinic_hash(clinic_id bigint)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$ SELECT COALESCE(pg_catalog.hashint8(clinic_id), 0) $fn$;
COMMENT ON FUNCTION service_items_proxy.clinic_hash(bigint) IS
    'The RUN ON hash of a clinic: PL/Proxy sends the call to partition clinic_hash & (partition count - 1). Changing it moves clinics.';

CREATE FUNCTION service_items_proxy.clinic_partition(clinic_id bigint, partition_count integer)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
    SELECT service_items_proxy.clinic_hash(clinic_id)
           OPERATOR(pg_catalog.&) (partition_count OPERATOR(pg_catalog.-) 1)
$fn$;
COMMENT ON FUNCTION service_items_proxy.clinic_partition(bigint, integer) IS
    'The partition (p0, p1, ...) that owns a clinic, for a power-of-two partition count.';

-- Remote calls: claims first, then the arguments of the extension's function.
-- (PL/Proxy requires its functions to be VOLATILE; the public wrappers of
-- the loads are STABLE, like the extension's.)

CREATE FUNCTION service_items_proxy.bulk_load_associations(
    claims text,
    clinic_id bigint,
    service_item_ids bigint[],
    include_billing_scenarios boolean,
    include_resource_requirements boolean,
    include_follow_up_messages boolean)
RETURNS json
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.bulk_load_associations;
$fn$;

CREATE FUNCTION service_items_proxy.service_item_associations(
    claims text,
    clinic_id bigint,
    service_item_ids bigint[],
    include_billing_scenarios boolean,
    include_resource_requirements boolean,
    include_follow_up_messages boolean)
RETURNS TABLE (service_item_id bigint, associations json)
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.service_item_associations;
$fn$;

CREATE FUNCTION service_items_proxy.bulk_save_associations(
    claims text,
    clinic_id bigint,
    payload jsonb)
RETURNS json
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.bulk_save_associations;
$fn$;

CREATE FUNCTION service_items_proxy.validate_associations(
    claims text,
    clinic_id bigint,
    payload jsonb)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.validate_associations;
$fn$;

CREATE FUNCTION service_items_proxy.load_service_settings(claims text, clinic_id bigint)
RETURNS json
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.load_service_settings;
$fn$;

CREATE FUNCTION service_items_proxy.save_service_settings(claims text, clinic_id bigint, payload jsonb)
RETURNS json
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.save_service_settings;
$fn$;

CREATE FUNCTION service_items_proxy.export_configuration(claims text, clinic_id bigint)
RETURNS jsonb
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.export_configuration;
$fn$;

CREATE FUNCTION service_items_proxy.import_configuration(claims text, clinic_id bigint, document jsonb, practitioner_map jsonb, replace boolean)
RETURNS json
LANGUAGE plproxy VOLATILE
AS $fn$
    CLUSTER 'service_items_cluster';
    RUN ON service_items_proxy.clinic_hash(clinic_id);
    TARGET service_items_shard.import_configuration;
$fn$;

-- Errors ------------------------------------------------------------------

/*
 * raise_unwrapped raises an error caught from a PL/Proxy call again, with
 * its SQLSTATE and with the shard's own message, detail and hint (PL/Proxy's
 * prefixes removed).  Errors raised on the proxy itself carry no prefix and
 * pass unchanged, except one: PL/Proxy reports a shard it cannot reach (or
 * whose connection broke) as XX000 internal_error; that becomes 08006
 * connection_failure, which says "try again later" (PostgREST: HTTP 503).
 */
CREATE FUNCTION service_items_proxy.raise_unwrapped(
    sqlstate text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    m text := COALESCE(pg_catalog.substring(message,
                           '^[^[]*\(\d+\): \[[^]]*\] REMOTE [A-Z]+: (.*)$'),
                       message);
    d text := NULLIF(detail, '');
    h text := NULLIF(hint, '');
BEGIN
    IF sqlstate = 'XX000' AND m ~ '^PL/Proxy function [^(]*\(\d+\): \[[^]]*\] PQ(connectStart|connectPoll|consumeInput|sendQuery|sendQueryParams|flush): ' THEN
        RAISE EXCEPTION USING ERRCODE = 'connection_failure', MESSAGE = m,
            HINT = 'The shard that owns this clinic cannot be reached; try again later.';
    END IF;
    IF pg_catalog.starts_with(d, 'Remote detail: ') THEN
        d := pg_catalog.substr(d, 16);
    END IF;
    IF pg_catalog.starts_with(h, 'Remote hint: ') THEN
        h := pg_catalog.substr(h, 14);
    END IF;
    -- RAISE refuses NULL options: one form per combination.
    IF d IS NULL AND h IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = m;
    ELSIF h IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = m, DETAIL = d;
    ELSIF d IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = m, HINT = h;
    ELSE
        RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = m, DETAIL = d, HINT = h;
    END IF;
END
$fn$;

-- The public face: the extension's signatures --------------------------------

CREATE FUNCTION service_items.bulk_load_associations(
    clinic_id bigint,
    service_item_ids bigint[] DEFAULT NULL,
    include_billing_scenarios boolean DEFAULT true,
    include_resource_requirements boolean DEFAULT true,
    include_follow_up_messages boolean DEFAULT true)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.bulk_load_associations(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2, $3, $4, $5);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.bulk_load_associations(bigint, bigint[], boolean, boolean, boolean) IS
    'service_items.bulk_load_associations on the shard that owns the clinic (PL/Proxy).';

CREATE FUNCTION service_items.service_item_associations(
    clinic_id bigint,
    service_item_ids bigint[] DEFAULT NULL,
    include_billing_scenarios boolean DEFAULT true,
    include_resource_requirements boolean DEFAULT true,
    include_follow_up_messages boolean DEFAULT true)
RETURNS TABLE (service_item_id bigint, associations json)
LANGUAGE plpgsql STABLE SECURITY INVOKER ROWS 100
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN QUERY SELECT * FROM service_items_proxy.service_item_associations(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2, $3, $4, $5);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
END
$fn$;
COMMENT ON FUNCTION service_items.service_item_associations(bigint, bigint[], boolean, boolean, boolean) IS
    'service_items.service_item_associations on the shard that owns the clinic (PL/Proxy; the rows arrive together, not streamed).';

CREATE FUNCTION service_items.bulk_save_associations(clinic_id bigint, payload jsonb)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.bulk_save_associations(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.bulk_save_associations(bigint, jsonb) IS
    'service_items.bulk_save_associations on the shard that owns the clinic (PL/Proxy): its own transaction there, committed when the call returns.';

CREATE FUNCTION service_items.validate_associations(clinic_id bigint, payload jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.validate_associations(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.validate_associations(bigint, jsonb) IS
    'service_items.validate_associations on the shard that owns the clinic (PL/Proxy).';

CREATE FUNCTION service_items.load_service_settings(clinic_id bigint)
RETURNS json
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.load_service_settings(
        pg_catalog.current_setting('request.jwt.claims', true), $1);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.load_service_settings(bigint) IS
    'service_items.load_service_settings on the shard that owns the clinic (PL/Proxy).';

CREATE FUNCTION service_items.save_service_settings(clinic_id bigint, payload jsonb)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.save_service_settings(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.save_service_settings(bigint, jsonb) IS
    'service_items.save_service_settings on the shard that owns the clinic (PL/Proxy): its own transaction there, committed when the call returns.';

CREATE FUNCTION service_items.export_configuration(clinic_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.export_configuration(
        pg_catalog.current_setting('request.jwt.claims', true), $1);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.export_configuration(bigint) IS
    'service_items.export_configuration on the shard that owns the clinic (PL/Proxy).';

CREATE FUNCTION service_items.import_configuration(clinic_id bigint, document jsonb, practitioner_map jsonb,
    replace boolean DEFAULT false)
RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $fn$
DECLARE
    e_state text; e_message text; e_detail text; e_hint text;
BEGIN
    RETURN service_items_proxy.import_configuration(
        pg_catalog.current_setting('request.jwt.claims', true), $1, $2, $3, $4);
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
    PERFORM service_items_proxy.raise_unwrapped(e_state, e_message, e_detail, e_hint);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION service_items.import_configuration(bigint, jsonb, jsonb, boolean) IS
    'service_items.import_configuration on the shard that owns the target clinic (PL/Proxy): the document may come from a clinic on any shard.';

-- Grants are the DBA's, as in the extension: nobody but the owner may call a
-- function until granted (see doc/scaling.md for what a caller needs).
REVOKE ALL ON FUNCTION service_items.bulk_load_associations(bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.service_item_associations(bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.bulk_save_associations(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.validate_associations(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.load_service_settings(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.save_service_settings(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.export_configuration(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items.import_configuration(bigint, jsonb, jsonb, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.bulk_load_associations(text, bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.service_item_associations(text, bigint, bigint[], boolean, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.bulk_save_associations(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.validate_associations(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.load_service_settings(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.save_service_settings(text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.export_configuration(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION service_items_proxy.import_configuration(text, bigint, jsonb, jsonb, boolean) FROM PUBLIC;

COMMIT;
