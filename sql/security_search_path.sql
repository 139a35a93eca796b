/*
 * security_search_path: a hostile search_path changes nothing (SPEC §7,
 * issue 4).  A schema regress_hostile, put first on the path -- before
 * pg_catalog, which is listed explicitly after it -- defines the functions
 * and operators a careless statement would resolve there (now(), unnest(),
 * array_position(), length(), format(), current_setting(), set_config's
 * neighbours, an aggregate, and =, <>, <, >, <=, >=, +, ||, @>, <@, !~ for
 * the types the extension compares), plus same-named copies of all ten
 * tables filled with doctored rows; temporary tables of the same names
 * (searched before everything for relations) too.  Every hostile function
 * and operator counts its call (a sequence, which no rollback undoes) and
 * raises a WARNING, which would show here.
 *
 * Under that path the load (and its streaming twin, with and without a
 * filter and with sections excluded), the validation of a valid and an
 * invalid payload, and the save -- invalid (22023), stale (PT409), unchanged,
 * and a real one that inserts, updates and deletes in every section, with the
 * audit row it writes -- and the settings page's load and save, the export
 * and the import give exactly the outputs and errors they give under
 * the normal path; as the superuser and as a web role whose row-level
 * security policies are evaluated under that path; in a session whose cached
 * plans were prepared under the normal path and in a fresh session that
 * prepares them under the hostile one.  And the hostile objects are never
 * called.
 *
 * Saves run in subtransactions that are rolled back, and the identity
 * sequences are rewound before each, so that every run writes the same ids.
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
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_sp_web') THEN
        DROP OWNED BY regress_sp_web;
        DROP ROLE regress_sp_web;
    END IF;
END
$$;
CREATE ROLE regress_sp_web NOLOGIN;
GRANT USAGE ON SCHEMA service_items TO regress_sp_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA service_items TO regress_sp_web;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA service_items TO regress_sp_web;

DROP SCHEMA IF EXISTS security_search_path CASCADE;
DROP SCHEMA IF EXISTS regress_hostile CASCADE;
CREATE SCHEMA security_search_path;
GRANT USAGE ON SCHEMA security_search_path TO PUBLIC;

SELECT service_items_demo.create_clinic(10, 2, 'Clinic H') AS "H" \gset

---------------------------------------------------------------------------
-- The cases.  Statements are written with every object and operator
-- qualified, so that they themselves call nothing hostile.
---------------------------------------------------------------------------

-- What the payloads use: H's first live item with two practitioners, a
-- scenario, a resource requirement and a follow-up; a third practitioner
-- not assigned to it; a resource type it does not require.
CREATE TABLE security_search_path.fixture AS
SELECT i.id AS item, i.associations_version AS version,
       p[1] AS p1, p[2] AS p2,
       (SELECT min(m.user_id) FROM service_items.clinic_members m
         WHERE m.clinic_id = :H AND m.is_active AND 'practitioner' = ANY (m.roles)
           AND m.user_id <> ALL (p)) AS p3,
       (SELECT min(b.id) FROM service_items.billing_scenarios b
         WHERE b.clinic_id = :H AND b.appointment_type_id = i.id
           AND b.practitioner_id = p[1] AND NOT b.is_deleted) AS scenario,
       (SELECT min(r.resource_type_id) FROM service_items.appointment_resource_requirements r
         WHERE r.clinic_id = :H AND r.appointment_type_id = i.id) AS resource_type,
       (SELECT min(t.id) FROM service_items.resource_types t
         WHERE t.clinic_id = :H
           AND t.id NOT IN (SELECT r.resource_type_id FROM service_items.appointment_resource_requirements r
                             WHERE r.clinic_id = :H AND r.appointment_type_id = i.id)) AS new_resource_type,
       (SELECT min(f.id) FROM service_items.follow_up_messages f
         WHERE f.clinic_id = :H AND f.appointment_type_id = i.id) AS follow_up,
       (SELECT array_agg(a.id ORDER BY a.id) FROM service_items.appointment_types a
         WHERE a.clinic_id = :H AND NOT a.is_deleted) AS items
  FROM service_items.appointment_types i
 CROSS JOIN LATERAL (
        SELECT array_agg(pa.practitioner_id ORDER BY pa.practitioner_id) AS p
          FROM service_items.practitioner_appointment_types pa
          JOIN service_items.clinic_members m
            ON m.clinic_id = pa.clinic_id AND m.user_id = pa.practitioner_id
         WHERE pa.clinic_id = i.clinic_id AND pa.appointment_type_id = i.id
           AND m.is_active AND 'practitioner' = ANY (m.roles)) x
 WHERE i.clinic_id = :H AND NOT i.is_deleted AND cardinality(p) >= 2
 ORDER BY i.id LIMIT 1;
SELECT count(*) AS fixture_rows,
       bool_and(num_nonnulls(item, p1, p2, p3, scenario, resource_type, new_resource_type,
                             follow_up) = 8) AS complete
  FROM security_search_path.fixture;

CREATE TABLE security_search_path.payloads AS
SELECT 'write'::text AS k, jsonb_build_object(
    'practitioner_assignments', jsonb_build_object(f.item::text, jsonb_build_array(f.p1, f.p3)),
    'billing_scenarios', jsonb_build_object(
        f.item || '-' || f.p1, jsonb_build_array(
            jsonb_build_object('id', f.scenario, 'name', 'Renamed "rate"', 'amount', 123.45,
                               'revenue_share', 100, 'is_default', true),
            jsonb_build_object('name', 'New rate', 'amount', 50, 'revenue_share', 10.5)),
        f.item || '-' || f.p3, jsonb_build_array(
            jsonb_build_object('name', 'Standard', 'amount', 70, 'revenue_share', 20,
                               'is_default', true))),
    'resource_requirements', jsonb_build_object(f.item::text, jsonb_build_array(
        jsonb_build_object('resource_type_id', f.resource_type, 'quantity', 3),
        jsonb_build_object('resource_type_id', f.new_resource_type, 'quantity', 1))),
    'follow_up_messages', jsonb_build_object(f.item::text, jsonb_build_array(
        jsonb_build_object('id', f.follow_up, 'timing_mode', 'hours_after', 'hours_after', 48,
                           'message_template', E'Changed\ttemplate', 'is_enabled', false,
                           'display_order', 1),
        jsonb_build_object('timing_mode', 'specific_time', 'days_after', 2, 'time_of_day', '08:30',
                           'message_template', 'New one', 'is_enabled', true, 'display_order', 7))),
    'expected_versions', jsonb_build_object(f.item::text, f.version)) AS p
  FROM security_search_path.fixture f
UNION ALL
SELECT 'invalid', jsonb_build_object(
    'practitioner_assignments', jsonb_build_object(
        f.item::text, jsonb_build_array(f.p1, f.p1, 900000001),
        '900000002', jsonb_build_array(f.p1)),
    'billing_scenarios', jsonb_build_object(
        f.item || '-' || f.p1, jsonb_build_array(
            jsonb_build_object('id', 900000003, 'name', 'X', 'amount', -1, 'revenue_share', 0),
            jsonb_build_object('name', 'Y', 'amount', 10, 'revenue_share', 11, 'is_default', true),
            jsonb_build_object('name', 'Y', 'amount', '10', 'revenue_share', 1, 'is_default', true)),
        'bad-key', '[]'::jsonb),
    'resource_requirements', jsonb_build_object(f.item::text, jsonb_build_array(
        jsonb_build_object('resource_type_id', 900000004, 'quantity', 0, 'colour', 'red'))),
    'follow_up_messages', jsonb_build_object(f.item::text, jsonb_build_array(
        jsonb_build_object('timing_mode', 'specific_time', 'days_after', 1, 'time_of_day', '25:00',
                           'message_template', E'Bell\u0007', 'is_enabled', 1, 'display_order', 1),
        jsonb_build_object('timing_mode', 'sometimes', 'message_template', 'x', 'display_order', 1))))
  FROM security_search_path.fixture f
UNION ALL
SELECT 'stale', jsonb_build_object(
    'practitioner_assignments', jsonb_build_object(f.item::text, jsonb_build_array(f.p1)),
    'expected_versions', jsonb_build_object(f.item::text, f.version + 7))
  FROM security_search_path.fixture f;

-- A valid payload that changes nothing: the item sent back as loaded.
INSERT INTO security_search_path.payloads
SELECT 'unchanged', jsonb_build_object(
    'practitioner_assignments', jsonb_build_object(f.item::text, o->'practitioner_assignments'),
    'billing_scenarios', (SELECT jsonb_object_agg(f.item || '-' || e.key, e.value)
                            FROM jsonb_each(o->'billing_scenarios') e),
    'resource_requirements', jsonb_build_object(f.item::text, o->'resource_requirements'),
    'follow_up_messages', jsonb_build_object(f.item::text, o->'follow_up_messages'),
    'expected_versions', jsonb_build_object(f.item::text, o->'version'))
  FROM security_search_path.fixture f,
       LATERAL (SELECT service_items.bulk_load_associations(:H, ARRAY[f.item])::jsonb
                       -> 'associations' -> 0 AS o) x;

-- The settings page: a new group with a new item in it, assigned to p1
-- (the listed sets replace the clinic's: the other groups and items go).
INSERT INTO security_search_path.payloads
SELECT 'settings', jsonb_build_object(
    'service_type_groups', jsonb_build_array(
        jsonb_build_object('key', 'new:g', 'name', 'New group', 'display_order', 9)),
    'service_items', jsonb_build_array(
        jsonb_build_object('key', 'new:i', 'name', 'New item', 'duration_minutes', 45,
                           'display_order', 9, 'service_type_group_id', 'new:g')),
    'associations', jsonb_build_object('practitioner_assignments',
        jsonb_build_object('new:i', jsonb_build_array(f.p1))))
  FROM security_search_path.fixture f;
-- The export's practitioners mapped back onto the same clinic's.
INSERT INTO security_search_path.payloads
SELECT 'map', jsonb_object_agg(x.p->>'key', (SELECT m.user_id FROM service_items.clinic_members m
                                             WHERE m.clinic_id = :H AND m.full_name = x.p->>'name'))
  FROM jsonb_array_elements(service_items.export_configuration(:H)->'practitioners') x(p);

CREATE TABLE security_search_path.cases (n int PRIMARY KEY, label text NOT NULL, sql text NOT NULL);
INSERT INTO security_search_path.cases
SELECT n, label, replace(replace(replace(replace(replace(replace(replace(replace(replace(v.sql,
           '$H', :'H'),
           '$settings', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'settings')),
           '$map', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'map')),
           '$items', quote_literal(f.items[1:3]::text)),
           '$write', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'write')),
           '$invalid', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'invalid')),
           '$stale', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'stale')),
           '$unchanged', (SELECT quote_literal(p::text) FROM security_search_path.payloads WHERE k = 'unchanged')),
           '$other', (:H + 1000000)::text)
  FROM security_search_path.fixture f,
  (VALUES
    (1, 'load', 'SELECT service_items.bulk_load_associations($H)'),
    (2, 'load, filter, sections excluded',
     'SELECT service_items.bulk_load_associations($H, $items, false, true, false)'),
    (3, 'load, filter, billing only',
     'SELECT service_items.bulk_load_associations(clinic_id => $H, service_item_ids => $items, include_resource_requirements => false, include_follow_up_messages => false)'),
    (4, 'streaming twin',
     $q$SELECT pg_catalog.string_agg(s.service_item_id OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) s.associations::pg_catalog.text, E'\n') FROM service_items.service_item_associations($H) s$q$),
    (5, 'streaming twin, filter',
     $q$SELECT pg_catalog.string_agg(s.associations::pg_catalog.text, E'\n') FROM service_items.service_item_associations($H, $items, true, false, true) s$q$),
    (6, 'validate, valid payload', 'SELECT service_items.validate_associations($H, $write)'),
    (7, 'validate, invalid payload', 'SELECT service_items.validate_associations($H, $invalid)'),
    (8, 'validate, stale payload', 'SELECT service_items.validate_associations($H, $stale)'),
    (9, 'save, invalid payload', 'SELECT service_items.bulk_save_associations($H, $invalid)'),
    (10, 'save, stale payload', 'SELECT service_items.bulk_save_associations($H, $stale)'),
    (11, 'save, unchanged payload', 'SELECT service_items.bulk_save_associations($H, $unchanged)'),
    (12, 'save, payload that writes', 'SELECT service_items.bulk_save_associations($H, $write)'),
    (13, 'save, payload that writes; then load', 'SELECT service_items.bulk_load_associations($H)'),
    (14, 'save, payload that writes; then the audit row',
     $q$SELECT pg_catalog.concat_ws(' ', a.id, a.db_user, a.claims_sub, a.service_item_ids, a.changes) FROM service_items.association_audit a WHERE a.clinic_id OPERATOR(pg_catalog.=) $H ORDER BY a.id DESC LIMIT 1$q$),
    (15, 'save, payload that writes; then the rows, as the table has them',
     $q$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', b.id, b.appointment_type_id, b.practitioner_id, b.name, b.amount, b.revenue_share, b.is_default, b.is_deleted), ', ' ORDER BY b.id) FROM service_items.billing_scenarios b WHERE b.clinic_id OPERATOR(pg_catalog.=) $H$q$),
    (16, 'load another clinic', 'SELECT service_items.bulk_load_associations($other)'),
    (17, 'save, null payload', 'SELECT service_items.bulk_save_associations($H, NULL)'),
    (18, 'count the scenarios directly', 'SELECT pg_catalog.count(*) FROM service_items.billing_scenarios'),
    (19, 'load settings', 'SELECT service_items.load_service_settings($H)'),
    (20, 'save settings, payload that writes', 'SELECT service_items.save_service_settings($H, $settings)'),
    (21, 'export', 'SELECT service_items.export_configuration($H)'),
    (22, 'import the export, replacing',
     'SELECT service_items.import_configuration($H, service_items.export_configuration($H), $map, replace => true)')
  ) AS v(n, label, sql);
GRANT SELECT ON ALL TABLES IN SCHEMA security_search_path TO PUBLIC;

-- The identity sequences as they are now: every save starts from here.
CREATE TABLE security_search_path.seq_marks AS
SELECT format('%I.%I', schemaname, sequencename)::regclass AS seq,
       coalesce(last_value, start_value) AS last_value, last_value IS NOT NULL AS is_called
  FROM pg_sequences WHERE schemaname = 'service_items';
SELECT count(*) AS sequences FROM security_search_path.seq_marks;

-- rewind(): the sequences back to their marks (setval is not transactional).
CREATE FUNCTION security_search_path.rewind() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT pg_catalog.setval(m.seq, m.last_value, m.is_called)
      FROM security_search_path.seq_marks m
$$;

/*
 * outcome(n): runs case n in a subtransaction that is always rolled back and
 * returns its result, or its error (SQLSTATE, message, detail, hint).  Cases
 * 13-15 run after the save of case 12, in the same subtransaction.  Every
 * operator and function here is qualified: this runs under the hostile path.
 */
CREATE FUNCTION security_search_path.outcome(case_n int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    stmt text;
    r text;
    result text;
    st text;
    msg text;
    det text;
    hnt text;
BEGIN
    PERFORM security_search_path.rewind();
    BEGIN
        IF case_n OPERATOR(pg_catalog.>=) 13 AND case_n OPERATOR(pg_catalog.<=) 15 THEN
            SELECT c.sql INTO stmt FROM security_search_path.cases c
             WHERE c.n OPERATOR(pg_catalog.=) 12;
            EXECUTE stmt;
        END IF;
        SELECT c.sql INTO stmt FROM security_search_path.cases c
         WHERE c.n OPERATOR(pg_catalog.=) case_n;
        EXECUTE stmt INTO r;
        result := 'ok: ' OPERATOR(pg_catalog.||) COALESCE(r, '(null)');
        RAISE EXCEPTION 'roll back' USING ERRCODE = 'ZZ001';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
        IF st OPERATOR(pg_catalog.<>) 'ZZ001' THEN
            result := pg_catalog.concat_ws(' | ', st, msg, det, hnt);
        END IF;
    END;
    PERFORM security_search_path.rewind();
    RETURN result;
END
$$;

CREATE TABLE security_search_path.results (
    run text NOT NULL, n int NOT NULL, outcome text,
    PRIMARY KEY (run, n));
GRANT SELECT, INSERT ON security_search_path.results TO PUBLIC;

-- run(name): every case, recorded under name.
CREATE FUNCTION security_search_path.run(name text) RETURNS bigint
LANGUAGE sql AS $$
    WITH r AS (
        INSERT INTO security_search_path.results
        SELECT name, c.n, security_search_path.outcome(c.n)
          FROM security_search_path.cases c
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM r
$$;

---------------------------------------------------------------------------
-- The hostile schema.
---------------------------------------------------------------------------
CREATE SCHEMA regress_hostile;
GRANT USAGE ON SCHEMA regress_hostile TO PUBLIC;

-- called(what): counts and shouts.  The count is a sequence, because
-- nextval survives the rollback of the (sub)transaction that called it --
-- every case below is rolled back -- where a setting would not.
CREATE SEQUENCE regress_hostile.calls;
GRANT USAGE, SELECT ON SEQUENCE regress_hostile.calls TO PUBLIC;
CREATE FUNCTION regress_hostile.called(what text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    PERFORM nextval('regress_hostile.calls');
    RAISE WARNING 'hostile %: called', what;
END
$$;
-- hostile_calls(): how many calls since the last reset_calls().
CREATE FUNCTION security_search_path.hostile_calls() RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM regress_hostile.calls
$$;
CREATE FUNCTION security_search_path.reset_calls() RETURNS bigint
LANGUAGE sql SET search_path = pg_catalog AS $$
    SELECT setval('regress_hostile.calls', 1, false) - 1
$$;

-- Functions a statement could pick up unqualified.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT * FROM (VALUES
        ('now()', 'timestamptz', 'pg_catalog.now()'),
        ('clock_timestamp()', 'timestamptz', 'pg_catalog.clock_timestamp()'),
        ('statement_timestamp()', 'timestamptz', 'pg_catalog.statement_timestamp()'),
        ('transaction_timestamp()', 'timestamptz', 'pg_catalog.transaction_timestamp()'),
        ('array_position(anyarray, anyelement)', 'integer', 'pg_catalog.array_position($1, $2)'),
        ('array_length(anyarray, integer)', 'integer', 'pg_catalog.array_length($1, $2)'),
        ('cardinality(anyarray)', 'integer', 'pg_catalog.cardinality($1)'),
        ('length(text)', 'integer', 'pg_catalog.length($1)'),
        ('lower(text)', 'text', 'pg_catalog.lower($1)'),
        ('upper(text)', 'text', 'pg_catalog.upper($1)'),
        ('btrim(text)', 'text', 'pg_catalog.btrim($1)'),
        ('format(text)', 'text', 'pg_catalog.format($1)'),
        ('format(text, VARIADIC text[])', 'text', 'pg_catalog.format($1, VARIADIC $2)'),
        ('current_setting(text)', 'text', 'pg_catalog.current_setting($1)'),
        ('current_setting(text, boolean)', 'text', 'pg_catalog.current_setting($1, $2)'),
        ('date_trunc(text, interval)', 'interval', 'pg_catalog.date_trunc($1, $2)'),
        ('jsonb_typeof(jsonb)', 'text', 'pg_catalog.jsonb_typeof($1)'),
        ('to_jsonb(anyelement)', 'jsonb', 'pg_catalog.to_jsonb($1)'),
        ('int8(integer)', 'bigint', '$1::pg_catalog.int8'),
        ('text(bigint)', 'text', '$1::pg_catalog.text'),
        ('authorized_clinic(boolean)', 'bigint', 'NULL::bigint'),
        ('bulk_load_associations(bigint, bigint[], boolean, boolean, boolean)', 'json', 'NULL::json')
    ) AS v(sig, ret, body) LOOP
        EXECUTE format(
            'CREATE FUNCTION regress_hostile.%s RETURNS %s LANGUAGE plpgsql AS %L',
            f.sig, f.ret,
            format('BEGIN PERFORM regress_hostile.called(%L); RETURN %s; END', f.sig, f.body));
    END LOOP;
END
$$;
CREATE FUNCTION regress_hostile.unnest(anyarray) RETURNS SETOF anyelement
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress_hostile.called('unnest(anyarray)');
    RETURN QUERY SELECT * FROM pg_catalog.unnest($1);
END
$$;
CREATE FUNCTION regress_hostile.agg_step(anyarray, anynonarray) RETURNS anyarray
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress_hostile.called('array_agg(anynonarray)');
    RETURN pg_catalog.array_append($1, $2);
END
$$;
CREATE AGGREGATE regress_hostile.array_agg(anynonarray) (
    SFUNC = regress_hostile.agg_step, STYPE = anyarray);

-- Operators for the types the extension compares, each delegating to
-- pg_catalog's after recording the call.
DO $$
DECLARE
    o record;
    fn text;
    i int := 0;
BEGIN
    FOR o IN SELECT * FROM (VALUES
        ('=', 'bigint', 'bigint', 'boolean'), ('=', 'text', 'text', 'boolean'),
        ('=', 'integer', 'integer', 'boolean'), ('=', 'boolean', 'boolean', 'boolean'),
        ('=', 'bigint', 'integer', 'boolean'), ('=', 'numeric', 'numeric', 'boolean'),
        ('=', 'jsonb', 'jsonb', 'boolean'), ('=', 'time', 'time', 'boolean'),
        ('=', 'interval', 'interval', 'boolean'), ('=', 'oid', 'oid', 'boolean'),
        ('=', 'name', 'name', 'boolean'),
        ('<>', 'bigint', 'bigint', 'boolean'), ('<>', 'oid', 'oid', 'boolean'),
        ('<', 'bigint', 'bigint', 'boolean'), ('>', 'integer', 'integer', 'boolean'),
        ('>=', 'integer', 'integer', 'boolean'), ('<=', 'integer', 'integer', 'boolean'),
        ('>=', 'numeric', 'numeric', 'boolean'), ('<=', 'numeric', 'numeric', 'boolean'),
        ('>=', 'bigint', 'integer', 'boolean'),
        ('+', 'bigint', 'integer', 'bigint'), ('+', 'integer', 'integer', 'integer'),
        ('||', 'text', 'text', 'text'),
        ('@>', 'text[]', 'text[]', 'boolean'), ('<@', 'text[]', 'text[]', 'boolean'),
        ('!~', 'text', 'text', 'boolean')
    ) AS v(op, l, r, ret) LOOP
        i := i + 1;
        fn := 'regress_hostile.op_' || i;
        EXECUTE format(
            'CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS %L',
            fn, o.l, o.r, o.ret,
            format('BEGIN PERFORM regress_hostile.called(%L); RETURN a OPERATOR(pg_catalog.%s) b; END',
                   format('%s (%s, %s)', o.op, o.l, o.r), o.op));
        EXECUTE format('CREATE OPERATOR regress_hostile.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
                       o.op, o.l, o.r, fn);
    END LOOP;
END
$$;

-- Same-named tables with doctored rows of clinic H: every row twice, text
-- replaced.  plant_tables(schema, clinic) makes them (in regress_hostile, or
-- in pg_temp, which is searched first for relations whatever the path says).
CREATE FUNCTION security_search_path.plant_tables(target text, clinic bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    t text;
    c text;
    rows bigint := 0;
    n bigint;
BEGIN
    FOR t IN SELECT relname FROM pg_class
              WHERE relnamespace = 'service_items'::regnamespace AND relkind = 'r' ORDER BY 1 LOOP
        EXECUTE format('CREATE %s TABLE %s (LIKE service_items.%I)',
                       CASE WHEN target = 'pg_temp' THEN 'TEMP' ELSE '' END,
                       CASE WHEN target = 'pg_temp' THEN quote_ident(t)
                            ELSE quote_ident(target) || '.' || quote_ident(t) END, t);
        EXECUTE format('INSERT INTO %1$s.%2$I SELECT x.* FROM service_items.%2$I x, generate_series(1, 2) WHERE x.%3$I = $1',
                       target, t, CASE WHEN t = 'clinics' THEN 'id' ELSE 'clinic_id' END) USING clinic;
        FOR c IN SELECT attname FROM pg_attribute
                  WHERE attrelid = ('service_items.' || quote_ident(t))::regclass
                    AND atttypid = 'text'::regtype AND attnum > 0 AND NOT attisdropped LOOP
            EXECUTE format('UPDATE %s.%I SET %I = ''HOSTILE''', target, t, c);
        END LOOP;
        EXECUTE format('SELECT count(*) FROM %s.%I', target, t) INTO n;
        rows := rows + n;
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s.%I TO PUBLIC', target, t);
    END LOOP;
    RETURN rows;
END
$$;
SELECT security_search_path.plant_tables('regress_hostile', :H) > 0 AS planted;

-- Sanity: the hostile objects do capture careless, unqualified statements.
SET search_path = regress_hostile, pg_catalog, public;
SELECT 1::bigint = 1::bigint AS captured_eq, length('x') AS captured_length,
       (SELECT min(name) FROM clinics) AS hostile_clinic_name;
SELECT security_search_path.hostile_calls();
RESET search_path;
SELECT security_search_path.reset_calls();

---------------------------------------------------------------------------
-- Run 1: the normal path, as the superuser (no claims) and as the web role
-- (admin claims for H).  Run 2, same session, whose plans were prepared
-- under the normal path: the hostile path, with temporary tables too.
---------------------------------------------------------------------------
SELECT security_search_path.run('normal');
BEGIN;
SET LOCAL ROLE regress_sp_web;
SELECT set_config('request.jwt.claims', format('{"clinic_id": %s, "roles": ["admin"]}', :H), true) IS NOT NULL AS claims_set;
SELECT security_search_path.run('normal, web');
COMMIT;

SELECT security_search_path.plant_tables('pg_temp', :H) > 0 AS planted_temp;
SET search_path = regress_hostile, pg_catalog, public;
SELECT security_search_path.run('hostile, warm plans');
BEGIN;
SET LOCAL ROLE regress_sp_web;
SELECT pg_catalog.set_config('request.jwt.claims', pg_catalog.format('{"clinic_id": %s, "roles": ["admin"]}', :H), true) IS NOT NULL AS claims_set;
SELECT security_search_path.run('hostile, warm plans, web');
COMMIT;
SELECT security_search_path.hostile_calls();
RESET search_path;

---------------------------------------------------------------------------
-- Run 3: a fresh session, the hostile path set before the extension's first
-- call, so that every plan is prepared under it.
---------------------------------------------------------------------------
\c
SET client_min_messages = warning;
SELECT security_search_path.plant_tables('pg_temp', :H) > 0 AS planted_temp;
SET search_path = regress_hostile, pg_catalog, public;
BEGIN;
SET LOCAL ROLE regress_sp_web;
SELECT pg_catalog.set_config('request.jwt.claims', pg_catalog.format('{"clinic_id": %s, "roles": ["admin"]}', :H), true) IS NOT NULL AS claims_set;
SELECT security_search_path.run('hostile, cold plans, web');
COMMIT;
SELECT security_search_path.run('hostile, cold plans');
SELECT security_search_path.hostile_calls();
RESET search_path;

---------------------------------------------------------------------------
-- Every hostile run gives exactly what the normal run gave.
---------------------------------------------------------------------------
SELECT c.n, c.label,
       CASE WHEN n.outcome LIKE 'ok:%' THEN 'ok' ELSE split_part(n.outcome, ' | ', 1) END AS superuser,
       CASE WHEN w.outcome LIKE 'ok:%' THEN 'ok' ELSE split_part(w.outcome, ' | ', 1) END AS web,
       (SELECT bool_and(h.outcome IS NOT DISTINCT FROM n.outcome) FROM security_search_path.results h
         WHERE h.n = c.n AND h.run IN ('hostile, warm plans', 'hostile, cold plans')) AS same_superuser,
       (SELECT bool_and(h.outcome IS NOT DISTINCT FROM w.outcome) FROM security_search_path.results h
         WHERE h.n = c.n AND h.run IN ('hostile, warm plans, web', 'hostile, cold plans, web')) AS same_web
  FROM security_search_path.cases c
  JOIN security_search_path.results n ON n.n = c.n AND n.run = 'normal'
  JOIN security_search_path.results w ON w.n = c.n AND w.run = 'normal, web'
 ORDER BY c.n;
SELECT run, count(*) FROM security_search_path.results GROUP BY run ORDER BY run;

-- The outcomes are what they should be: the error cases' messages, and the
-- write changed what the payload says (changes counted by section).
-- (Numbers in messages and details show as N, and a validation error list
-- as its codes.)
SELECT run, n, split_part(outcome, ' | ', 1) AS sqlstate,
       regexp_replace(split_part(outcome, ' | ', 2), '[0-9]+', 'N', 'g') AS message,
       CASE WHEN split_part(outcome, ' | ', 3) LIKE '[{"path"%'
            THEN (SELECT string_agg(e->>'code', ', ' ORDER BY e->>'code')
                    FROM jsonb_array_elements(split_part(outcome, ' | ', 3)::jsonb) e)
            ELSE regexp_replace(split_part(outcome, ' | ', 3), '[0-9]+', 'N', 'g') END AS detail,
       split_part(outcome, ' | ', 4) AS hint
  FROM security_search_path.results
 WHERE run IN ('normal', 'normal, web') AND outcome NOT LIKE 'ok:%' ORDER BY run, n;
SELECT (substr(outcome, 5)::jsonb) -> 'changes' AS changes
  FROM security_search_path.results WHERE run = 'normal' AND n = 12;
-- The web role's load hides nothing from an admin: same as the superuser's.
SELECT w.outcome = n.outcome AS web_admin_load_equals_superuser_load
  FROM security_search_path.results n JOIN security_search_path.results w USING (n)
 WHERE n.run = 'normal' AND w.run = 'normal, web' AND n = 1;

-- Nothing of the hostile schema was ever called: no WARNING above, and the
-- counter is still at zero.
SELECT security_search_path.hostile_calls();

---------------------------------------------------------------------------
-- Clean up.
---------------------------------------------------------------------------
DROP SCHEMA regress_hostile CASCADE;
DROP SCHEMA security_search_path CASCADE;
DELETE FROM service_items.clinics WHERE id = :H;
DROP OWNED BY regress_sp_web;
DROP ROLE regress_sp_web;
