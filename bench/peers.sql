/*
 * bench/peers.sql: the contenders service_items.bulk_load_associations and
 * service_items.bulk_save_associations are measured against, and the
 * generators of the benchmark's pgbench scripts.  Loaded by bench/run.sh
 * into the benchmark database, after CREATE EXTENSION service_items and
 * tools/demo_data.sql.  Nothing here is part of the extension.
 *
 *   service_items_bench.sql_load(clinic)     (a) the hand-written SQL loader
 *   service_items_bench.floor_load(clinic)   (b) the floor: the same rows,
 *                                                text-converted, no JSON
 *   service_items_bench.n_plus_1_script(c)   (c) the design document's N+1
 *                                                page load, one statement a line
 *   service_items_bench.old_save_script(c,v) (d) the design document's old
 *                                                six-step save, one statement
 *                                                per row, one transaction per step
 *   service_items_bench.save_payload(c,v)    the bulk_save_associations payload
 *                                            of the same save
 */

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS service_items_bench CASCADE;
CREATE SCHEMA service_items_bench;

/*
 * (a) sql_load: what a strong engineer writes by hand in plain SQL, one
 * statement: each section is read once for the whole clinic (set-oriented,
 * no per-item subqueries), aggregated per item with json_agg /
 * json_object_agg in a CTE, then joined to the items and aggregated into the
 * document.  It returns the same document as bulk_load_associations(clinic)
 * (SPEC §4; run.sh checks equality as jsonb for every clinic before timing).
 * Its json is not compact (json_build_object writes `"key" : value`); the
 * bytes differ, the document does not.
 */
CREATE FUNCTION service_items_bench.sql_load(p_clinic_id bigint)
RETURNS json
LANGUAGE sql STABLE
AS $$
WITH items AS (
    SELECT a.id, a.associations_version, a.display_order
      FROM service_items.appointment_types a
     WHERE a.clinic_id = p_clinic_id AND NOT a.is_deleted
),
assigned AS (           -- live practitioners of each item
    SELECT p.appointment_type_id, p.practitioner_id
      FROM service_items.practitioner_appointment_types p
      JOIN service_items.clinic_members m
        ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
     WHERE p.clinic_id = p_clinic_id
       AND m.is_active AND m.roles @> '{practitioner}'::text[]
),
assignments AS (
    SELECT appointment_type_id,
           json_agg(practitioner_id ORDER BY practitioner_id) AS ids
      FROM assigned
     GROUP BY appointment_type_id
),
pair_billing AS (       -- the live scenarios of each assigned pair
    SELECT b.appointment_type_id, b.practitioner_id,
           json_agg(json_build_object(
               'id', b.id, 'name', b.name,
               'amount', trim_scale(b.amount),
               'revenue_share', trim_scale(b.revenue_share),
               'is_default', b.is_default) ORDER BY b.id) AS scenarios
      FROM service_items.billing_scenarios b
      JOIN assigned s
        ON s.appointment_type_id = b.appointment_type_id
       AND s.practitioner_id = b.practitioner_id
     WHERE b.clinic_id = p_clinic_id AND NOT b.is_deleted
     GROUP BY b.appointment_type_id, b.practitioner_id
),
billing AS (
    SELECT appointment_type_id,
           json_object_agg(practitioner_id, scenarios ORDER BY practitioner_id) AS by_practitioner
      FROM pair_billing
     GROUP BY appointment_type_id
),
resources AS (
    SELECT r.appointment_type_id,
           json_agg(json_build_object(
               'id', r.id, 'resource_type_id', r.resource_type_id,
               'resource_type_name', t.name, 'quantity', r.quantity) ORDER BY r.id) AS list
      FROM service_items.appointment_resource_requirements r
      JOIN service_items.resource_types t
        ON t.clinic_id = r.clinic_id AND t.id = r.resource_type_id
     WHERE r.clinic_id = p_clinic_id
     GROUP BY r.appointment_type_id
),
follow_ups AS (
    SELECT f.appointment_type_id,
           json_agg(json_build_object(
               'id', f.id, 'timing_mode', f.timing_mode,
               'hours_after', f.hours_after, 'days_after', f.days_after,
               'time_of_day', to_char(f.time_of_day, 'HH24:MI'),
               'message_template', f.message_template,
               'is_enabled', f.is_enabled, 'display_order', f.display_order)
               ORDER BY f.display_order) AS list
      FROM service_items.follow_up_messages f
     WHERE f.clinic_id = p_clinic_id
     GROUP BY f.appointment_type_id
)
SELECT json_build_object('associations', COALESCE(json_agg(json_build_object(
           'service_item_id', i.id,
           'version', i.associations_version,
           'practitioner_assignments', COALESCE(a.ids, '[]'::json),
           'billing_scenarios', COALESCE(b.by_practitioner, '{}'::json),
           'resource_requirements', COALESCE(r.list, '[]'::json),
           'follow_up_messages', COALESCE(f.list, '[]'::json))
           ORDER BY i.display_order, i.id), '[]'::json))
  FROM items i
  LEFT JOIN assignments a ON a.appointment_type_id = i.id
  LEFT JOIN billing b ON b.appointment_type_id = i.id
  LEFT JOIN resources r ON r.appointment_type_id = i.id
  LEFT JOIN follow_ups f ON f.appointment_type_id = i.id
$$;

/*
 * (b) floor_load: the least any loader must do.  The same five set-oriented
 * SELECTs as the C loader (src/plans.c: items; assignments joined to
 * members; live billing; resources joined to resource types; follow-ups;
 * same filters and ORDER BY), every value converted to text (its type's
 * output function), nothing built: the result is the sum of the text
 * lengths.  PL/pgSQL, so its five plans are cached per connection like the
 * C loader's kept SPI plans; no JSON, no merging by item.
 */
CREATE FUNCTION service_items_bench.floor_load(p_clinic_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    n1 bigint; n2 bigint; n3 bigint; n4 bigint; n5 bigint;
BEGIN
    SELECT sum(length(x.id::text) + length(x.associations_version::text))
      INTO n1
      FROM (SELECT a.id, a.associations_version
              FROM service_items.appointment_types a
             WHERE a.clinic_id = p_clinic_id AND NOT a.is_deleted
             ORDER BY a.display_order, a.id) x;
    SELECT sum(length(x.appointment_type_id::text) + length(x.practitioner_id::text))
      INTO n2
      FROM (SELECT p.appointment_type_id, p.practitioner_id
              FROM service_items.practitioner_appointment_types p
              JOIN service_items.clinic_members m
                ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
             WHERE p.clinic_id = p_clinic_id
               AND m.is_active AND m.roles @> '{practitioner}'::text[]
             ORDER BY p.appointment_type_id, p.practitioner_id) x;
    SELECT sum(length(x.appointment_type_id::text) + length(x.practitioner_id::text)
               + length(x.id::text) + length(x.is_default::text) + length(x.amount::text)
               + length(x.revenue_share::text) + length(x.name))
      INTO n3
      FROM (SELECT b.appointment_type_id, b.practitioner_id, b.id,
                   b.is_default, b.amount, b.revenue_share, b.name
              FROM service_items.billing_scenarios b
             WHERE b.clinic_id = p_clinic_id AND NOT b.is_deleted
             ORDER BY b.appointment_type_id, b.practitioner_id, b.id) x;
    SELECT sum(length(x.appointment_type_id::text) + length(x.id::text)
               + length(x.resource_type_id::text) + length(x.quantity::text) + length(x.name))
      INTO n4
      FROM (SELECT r.appointment_type_id, r.id, r.resource_type_id, r.quantity, t.name
              FROM service_items.appointment_resource_requirements r
              JOIN service_items.resource_types t
                ON t.clinic_id = r.clinic_id AND t.id = r.resource_type_id
             WHERE r.clinic_id = p_clinic_id
             ORDER BY r.appointment_type_id, r.id) x;
    SELECT sum(length(x.appointment_type_id::text) + length(x.id::text)
               + length(x.display_order::text) + length(x.is_enabled::text)
               + length(x.timing_mode) + coalesce(length(x.hours_after::text), 0)
               + coalesce(length(x.days_after::text), 0)
               + coalesce(length(x.time_of_day::text), 0) + length(x.message_template))
      INTO n5
      FROM (SELECT f.appointment_type_id, f.id, f.display_order, f.is_enabled,
                   f.timing_mode, f.hours_after, f.days_after, f.time_of_day,
                   f.message_template
              FROM service_items.follow_up_messages f
             WHERE f.clinic_id = p_clinic_id
             ORDER BY f.appointment_type_id, f.display_order) x;
    RETURN coalesce(n1, 0) + coalesce(n2, 0) + coalesce(n3, 0)
         + coalesce(n4, 0) + coalesce(n5, 0);
END
$$;

/*
 * lit(text): a one-line SQL literal (E'...' with \n, \t, \\ and '' escaped),
 * so that every statement of a generated pgbench script is one line, and no
 * text of the demo data can look like a pgbench meta-command.
 */
CREATE FUNCTION service_items_bench.lit(s text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT CASE WHEN s IS NULL THEN 'NULL'
            ELSE 'E''' || replace(replace(replace(replace(replace(s,
                     '\', '\\'), '''', ''''''), E'\n', '\n'), E'\t', '\t'), E'\r', '\r') || ''''
       END
$$;

/*
 * (c) n_plus_1_script(clinic): the page load of the design document, one
 * statement per line, each sent by pgbench as its own round trip (its own
 * "API request"): 3 + N x M + 2N statements.
 *   1. clinic settings: the live service items;
 *   2. service type groups;
 *   3. members: the practitioners, each with the items they offer
 *      (this is where the page learns the assignments);
 *   then per practitioner-item pair its billing scenarios, and per item its
 *   resource requirements and its follow-up messages.
 * The pairs are those the page would see: live items, active practitioners.
 */
CREATE FUNCTION service_items_bench.n_plus_1_script(c bigint)
RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
WITH items AS (
    SELECT a.id, a.display_order
      FROM service_items.appointment_types a
     WHERE a.clinic_id = c AND NOT a.is_deleted
),
pairs AS (
    SELECT p.appointment_type_id AS item, p.practitioner_id AS practitioner
      FROM service_items.practitioner_appointment_types p
      JOIN items i ON i.id = p.appointment_type_id
      JOIN service_items.clinic_members m
        ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
     WHERE p.clinic_id = c AND m.is_active AND m.roles @> '{practitioner}'::text[]
),
lines AS (
    SELECT 1 AS part, 0::bigint AS k1, 0::bigint AS k2, format(
        'SELECT a.id, a.name, a.duration_minutes, a.service_type_group_id, a.display_order, a.associations_version'
        ' FROM service_items.appointment_types a WHERE a.clinic_id = %s AND NOT a.is_deleted'
        ' ORDER BY a.display_order, a.id;', c)
    UNION ALL
    SELECT 2, 0, 0, format(
        'SELECT g.id, g.name, g.display_order FROM service_items.service_type_groups g'
        ' WHERE g.clinic_id = %s ORDER BY g.display_order, g.id;', c)
    UNION ALL
    SELECT 3, 0, 0, format(
        'SELECT m.user_id, m.full_name, m.roles, ARRAY(SELECT p.appointment_type_id'
        ' FROM service_items.practitioner_appointment_types p'
        ' WHERE p.clinic_id = m.clinic_id AND p.practitioner_id = m.user_id ORDER BY 1)'
        ' FROM service_items.clinic_members m WHERE m.clinic_id = %s AND m.is_active'
        ' AND m.roles @> ''{practitioner}'' ORDER BY m.user_id;', c)
    UNION ALL
    SELECT 4, p.item, p.practitioner, format(
        'SELECT b.id, b.name, b.amount, b.revenue_share, b.is_default'
        ' FROM service_items.billing_scenarios b WHERE b.clinic_id = %s'
        ' AND b.appointment_type_id = %s AND b.practitioner_id = %s AND NOT b.is_deleted'
        ' ORDER BY b.id;', c, p.item, p.practitioner)
      FROM pairs p
    UNION ALL
    SELECT 5, i.id, 0, format(
        'SELECT r.id, r.resource_type_id, t.name, r.quantity'
        ' FROM service_items.appointment_resource_requirements r'
        ' JOIN service_items.resource_types t ON t.clinic_id = r.clinic_id AND t.id = r.resource_type_id'
        ' WHERE r.clinic_id = %s AND r.appointment_type_id = %s ORDER BY r.id;', c, i.id)
      FROM items i
    UNION ALL
    SELECT 6, i.id, 0, format(
        'SELECT f.id, f.timing_mode, f.hours_after, f.days_after, f.time_of_day,'
        ' f.message_template, f.is_enabled, f.display_order'
        ' FROM service_items.follow_up_messages f'
        ' WHERE f.clinic_id = %s AND f.appointment_type_id = %s ORDER BY f.display_order;', c, i.id)
      FROM items i
)
SELECT l FROM lines AS x(part, k1, k2, l) ORDER BY part, k1, k2
$$;

/*
 * The two states a save alternates between.  Variant 'A' is the clinic as
 * generated; variant 'B' differs from it in every row a save can change:
 * every live billing scenario's amount (+1), every resource requirement's
 * quantity (+1) and every follow-up message's template (suffix " (v2)").
 * Practitioner assignments have no values to change: both variants list
 * each item's current practitioners.  So saving A over B (or B over A)
 * updates every billing, resource and follow-up row of the clinic, and
 * saving A over A changes nothing.
 */
CREATE FUNCTION service_items_bench.variant_amount(amount numeric, v text)
RETURNS numeric LANGUAGE sql IMMUTABLE
AS $$ SELECT trim_scale(CASE WHEN v = 'B' THEN amount + 1 ELSE amount END) $$;
CREATE FUNCTION service_items_bench.variant_quantity(q integer, v text)
RETURNS integer LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN v = 'B' THEN q + 1 ELSE q END $$;
CREATE FUNCTION service_items_bench.variant_template(t text, v text)
RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN v = 'B' THEN t || ' (v2)' ELSE t END $$;

/*
 * save_payload(clinic, variant): the bulk_save_associations payload (SPEC
 * §5) of a whole-page save of the clinic in state A or B: every live item's
 * practitioner assignments, every pair's live billing scenarios (with ids),
 * every item's resource requirements and follow-up messages (with ids).
 * Built from the tables as they are in state A (run.sh builds payloads
 * before any save).
 */
CREATE FUNCTION service_items_bench.save_payload(c bigint, v text)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
WITH items AS (
    SELECT a.id FROM service_items.appointment_types a
     WHERE a.clinic_id = c AND NOT a.is_deleted
),
pairs AS (
    SELECT p.appointment_type_id AS item, p.practitioner_id AS practitioner
      FROM service_items.practitioner_appointment_types p
      JOIN items i ON i.id = p.appointment_type_id
      JOIN service_items.clinic_members m
        ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
     WHERE p.clinic_id = c AND m.is_active AND m.roles @> '{practitioner}'::text[]
)
SELECT jsonb_build_object(
    'practitioner_assignments', (
        SELECT jsonb_object_agg(i.id::text, COALESCE(
                   (SELECT jsonb_agg(p.practitioner ORDER BY p.practitioner)
                      FROM pairs p WHERE p.item = i.id), '[]'))
          FROM items i),
    'billing_scenarios', (
        SELECT COALESCE(jsonb_object_agg(p.item || '-' || p.practitioner, (
                   SELECT COALESCE(jsonb_agg(jsonb_build_object(
                              'id', b.id, 'name', b.name,
                              'amount', service_items_bench.variant_amount(b.amount, v),
                              'revenue_share', trim_scale(b.revenue_share),
                              'is_default', b.is_default) ORDER BY b.id), '[]')
                     FROM service_items.billing_scenarios b
                    WHERE b.clinic_id = c AND b.appointment_type_id = p.item
                      AND b.practitioner_id = p.practitioner AND NOT b.is_deleted)), '{}')
          FROM pairs p),
    'resource_requirements', (
        SELECT jsonb_object_agg(i.id::text, COALESCE(
                   (SELECT jsonb_agg(jsonb_build_object(
                               'id', r.id, 'resource_type_id', r.resource_type_id,
                               'quantity', service_items_bench.variant_quantity(r.quantity, v))
                               ORDER BY r.id)
                      FROM service_items.appointment_resource_requirements r
                     WHERE r.clinic_id = c AND r.appointment_type_id = i.id), '[]'))
          FROM items i),
    'follow_up_messages', (
        SELECT jsonb_object_agg(i.id::text, COALESCE(
                   (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'id', f.id, 'timing_mode', f.timing_mode,
                               'hours_after', f.hours_after, 'days_after', f.days_after,
                               'time_of_day', to_char(f.time_of_day, 'HH24:MI'),
                               'message_template', service_items_bench.variant_template(f.message_template, v),
                               'is_enabled', f.is_enabled, 'display_order', f.display_order))
                               ORDER BY f.display_order)
                      FROM service_items.follow_up_messages f
                     WHERE f.clinic_id = c AND f.appointment_type_id = i.id), '[]'))
          FROM items i))
$$;

/*
 * (d) old_save_script(clinic, variant): the design document's old save of
 * the same page in state A or B, as one line per statement: six steps, each
 * its own transaction (BEGIN ... COMMIT), one statement per row, every row
 * written whether it changed or not (the old endpoints did not compare):
 *   1. groups: UPDATE each group;  2. service items: UPDATE each live item;
 *   3. practitioner assignments: per item, DELETE the practitioners not
 *      listed, then INSERT ... ON CONFLICT DO NOTHING each listed one;
 *   4. billing scenarios: UPDATE each live scenario;
 *   5. resource requirements: UPDATE each row;  6. follow-ups: UPDATE each row.
 * Steps 1-2 are outside what bulk_save_associations does (groups and items
 * themselves); they are part of the old save and a small share of its
 * statements.
 */
CREATE FUNCTION service_items_bench.old_save_script(c bigint, v text)
RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
WITH items AS (
    SELECT a.* FROM service_items.appointment_types a
     WHERE a.clinic_id = c AND NOT a.is_deleted
),
pairs AS (
    SELECT p.appointment_type_id AS item, p.practitioner_id AS practitioner
      FROM service_items.practitioner_appointment_types p
      JOIN items i ON i.id = p.appointment_type_id
      JOIN service_items.clinic_members m
        ON m.clinic_id = p.clinic_id AND m.user_id = p.practitioner_id
     WHERE p.clinic_id = c AND m.is_active AND m.roles @> '{practitioner}'::text[]
),
lines AS (
    -- step 1: groups
    SELECT 10 AS step, 0::bigint AS k1, 0::bigint AS k2, 'BEGIN;' AS l
    UNION ALL
    SELECT 11, g.id, 0, format(
        'UPDATE service_items.service_type_groups SET name = %s, display_order = %s, updated_at = now()'
        ' WHERE clinic_id = %s AND id = %s;',
        service_items_bench.lit(g.name), g.display_order, c, g.id)
      FROM service_items.service_type_groups g WHERE g.clinic_id = c
    UNION ALL SELECT 12, 0, 0, 'COMMIT;'
    -- step 2: service items
    UNION ALL SELECT 20, 0, 0, 'BEGIN;'
    UNION ALL
    SELECT 21, i.id, 0, format(
        'UPDATE service_items.appointment_types SET name = %s, duration_minutes = %s,'
        ' display_order = %s, service_type_group_id = %s, updated_at = now()'
        ' WHERE clinic_id = %s AND id = %s;',
        service_items_bench.lit(i.name), i.duration_minutes, i.display_order,
        COALESCE(i.service_type_group_id::text, 'NULL'), c, i.id)
      FROM items i
    UNION ALL SELECT 22, 0, 0, 'COMMIT;'
    -- step 3: practitioner assignments
    UNION ALL SELECT 30, 0, 0, 'BEGIN;'
    UNION ALL
    SELECT 31, i.id, 0, format(
        'DELETE FROM service_items.practitioner_appointment_types'
        ' WHERE clinic_id = %s AND appointment_type_id = %s AND practitioner_id <> ALL (%L::bigint[]);',
        c, i.id, COALESCE((SELECT array_agg(p.practitioner ORDER BY p.practitioner)
                             FROM pairs p WHERE p.item = i.id), '{}'))
      FROM items i
    UNION ALL
    SELECT 31, p.item, p.practitioner, format(
        'INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)'
        ' VALUES (%s, %s, %s) ON CONFLICT DO NOTHING;', c, p.item, p.practitioner)
      FROM pairs p
    UNION ALL SELECT 32, 0, 0, 'COMMIT;'
    -- step 4: billing scenarios
    UNION ALL SELECT 40, 0, 0, 'BEGIN;'
    UNION ALL
    SELECT 41, b.id, 0, format(
        'UPDATE service_items.billing_scenarios SET name = %s, amount = %s, revenue_share = %s,'
        ' is_default = %L, updated_at = now() WHERE clinic_id = %s AND id = %s;',
        service_items_bench.lit(b.name), service_items_bench.variant_amount(b.amount, v),
        trim_scale(b.revenue_share), b.is_default, c, b.id)
      FROM service_items.billing_scenarios b
      JOIN pairs p ON p.item = b.appointment_type_id AND p.practitioner = b.practitioner_id
     WHERE b.clinic_id = c AND NOT b.is_deleted
    UNION ALL SELECT 42, 0, 0, 'COMMIT;'
    -- step 5: resource requirements
    UNION ALL SELECT 50, 0, 0, 'BEGIN;'
    UNION ALL
    SELECT 51, r.id, 0, format(
        'UPDATE service_items.appointment_resource_requirements SET resource_type_id = %s, quantity = %s,'
        ' updated_at = now() WHERE clinic_id = %s AND id = %s;',
        r.resource_type_id, service_items_bench.variant_quantity(r.quantity, v), c, r.id)
      FROM service_items.appointment_resource_requirements r
      JOIN items i ON i.id = r.appointment_type_id
     WHERE r.clinic_id = c
    UNION ALL SELECT 52, 0, 0, 'COMMIT;'
    -- step 6: follow-up messages
    UNION ALL SELECT 60, 0, 0, 'BEGIN;'
    UNION ALL
    SELECT 61, f.id, 0, format(
        'UPDATE service_items.follow_up_messages SET timing_mode = %s, hours_after = %s, days_after = %s,'
        ' time_of_day = %s, message_template = %s, is_enabled = %L, display_order = %s,'
        ' updated_at = now() WHERE clinic_id = %s AND id = %s;',
        service_items_bench.lit(f.timing_mode), COALESCE(f.hours_after::text, 'NULL'),
        COALESCE(f.days_after::text, 'NULL'),
        COALESCE(quote_literal(to_char(f.time_of_day, 'HH24:MI')), 'NULL'),
        service_items_bench.lit(service_items_bench.variant_template(f.message_template, v)),
        f.is_enabled, f.display_order, c, f.id)
      FROM service_items.follow_up_messages f
      JOIN items i ON i.id = f.appointment_type_id
     WHERE f.clinic_id = c
    UNION ALL SELECT 62, 0, 0, 'COMMIT;'
)
SELECT l FROM lines ORDER BY step, k1, k2
$$;

/*
 * time_calls(what, clinic, n): server time of n calls of one loader in this
 * backend, each timed on its own with clock_timestamp(); returns the median
 * in milliseconds.  The first call (plan preparation) is not counted.
 */
CREATE FUNCTION service_items_bench.time_calls(what text, c bigint, n integer)
RETURNS double precision
LANGUAGE plpgsql
AS $$
DECLARE
    t0 timestamptz;
    doc json;
    x bigint;
    ms double precision[] := '{}';
BEGIN
    FOR i IN 0 .. n LOOP
        t0 := clock_timestamp();
        IF what = 'c' THEN
            doc := service_items.bulk_load_associations(c);
        ELSIF what = 'sql' THEN
            doc := service_items_bench.sql_load(c);
        ELSE
            x := service_items_bench.floor_load(c);
        END IF;
        IF i > 0 THEN
            ms := ms || 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
        END IF;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m) FROM unnest(ms) m);
END
$$;
