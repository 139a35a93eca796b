/*
 * demo_data.sql: the demo-data generator of service_items (not part of the
 * extension).  Load it with psql into a database that has the extension:
 *
 *     psql -f tools/demo_data.sql
 *     SELECT service_items_demo.create_clinic(20);       -- 20 items x 3 practitioners
 *
 * It fills a realistic clinic, deterministically (same arguments, same rows):
 * practitioners per item, two live billing scenarios per pair (one default)
 * and now and then a soft-deleted one, two resource requirements per item,
 * follow-ups of both timing modes, a few soft-deleted items, an inactive
 * practitioner still assigned here and there, items with no associations at
 * all, and names with quotes, backslashes, newlines, tabs and Chinese text.
 * Used by the demo, the tests and the benchmark.
 */

CREATE SCHEMA IF NOT EXISTS service_items_demo;

CREATE OR REPLACE FUNCTION service_items_demo.create_clinic(
    n_items integer,
    practitioners_per_item integer DEFAULT 3,
    clinic_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    c bigint;
    n_practitioners integer := GREATEST(practitioners_per_item * 2, 1);
    n_deleted integer := n_items / 20;          -- soft-deleted items on top
    m integer := n_items + n_items / 20;
    item_ids bigint[];
    type_ids bigint[];
    inactive bigint;
BEGIN
    IF n_items < 0 OR practitioners_per_item < 0 THEN
        RAISE EXCEPTION 'n_items and practitioners_per_item must not be negative';
    END IF;

    INSERT INTO service_items.clinics (name)
    VALUES (COALESCE(clinic_name, format('Demo clinic (%s items)', n_items)))
    RETURNING id INTO c;

    -- Members: practitioners 1..n (the first also an admin), a front desk,
    -- an owner, and a former practitioner who is no longer active.
    INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active)
    SELECT c, c * 1000 + k,
           (ARRAY['Dr. Lin 林医生', 'Sam O''Neil', 'Ana "Doc" Diaz', 'Back\Slash',
                  'Kim', 'Lee', 'Ola', 'Per'])[1 + (k - 1) % 8] || ' #' || k,
           CASE WHEN k = 1 THEN '{admin,practitioner}'::text[] ELSE '{practitioner}' END,
           true
      FROM generate_series(1, n_practitioners) k;
    inactive := c * 1000 + 902;
    INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active)
    VALUES (c, c * 1000 + 900, 'Front Desk', '{staff}', true),
           (c, c * 1000 + 901, 'Owner', '{admin}', true),
           (c, inactive, 'Former Practitioner', '{practitioner}', false);

    WITH t AS (
        INSERT INTO service_items.resource_types (clinic_id, name)
        SELECT c, name
          FROM unnest(ARRAY['Massage Table', 'Room "A"', '超声波设备 (ultrasound)',
                            'C:\Equipment\Laser', E'Tab\tTowel']) WITH ORDINALITY AS u(name, o)
         ORDER BY o
        RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO type_ids FROM t;

    INSERT INTO service_items.service_type_groups (clinic_id, name, display_order)
    SELECT c, format('Group %s', g), g
      FROM generate_series(1, GREATEST((n_items + 9) / 10, 1)) g;

    -- Items 1..n_items are live, the rest soft-deleted.  display_order has
    -- ties (two items per value) so that id breaks them.
    item_ids := ARRAY(SELECT nextval('service_items.appointment_types_id_seq')
                        FROM generate_series(1, m));
    INSERT INTO service_items.appointment_types
        (clinic_id, id, service_type_group_id, name, duration_minutes, display_order, is_deleted)
    SELECT c, item_ids[k],
           (SELECT g.id FROM service_items.service_type_groups g
             WHERE g.clinic_id = c ORDER BY g.id OFFSET (k - 1) % GREATEST((n_items + 9) / 10, 1) LIMIT 1),
           (ARRAY['Massage', 'Acupuncture 针灸', 'Physio "Plus"', E'Back\\Neck', E'Consult\tlong'])[1 + k % 5]
               || ' ' || k,
           30 + 15 * (k % 4), (m - k) / 2, k > n_items
      FROM generate_series(1, m) k;

    -- Every 11th item has no associations at all.
    INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
    SELECT c, item_ids[k], c * 1000 + 1 + (k + j) % n_practitioners
      FROM generate_series(1, m) k, generate_series(0, practitioners_per_item - 1) j
     WHERE k % 11 <> 0;
    -- The former practitioner stays assigned to every 7th item (never loaded).
    INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
    SELECT c, item_ids[k], inactive
      FROM generate_series(1, m) k
     WHERE k % 7 = 0;

    INSERT INTO service_items.billing_scenarios
        (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share, is_default,
         is_deleted, deleted_at)
    SELECT p.clinic_id, p.appointment_type_id, p.practitioner_id, s.name,
           s.amount, s.share, s.is_default, s.is_deleted,
           CASE WHEN s.is_deleted THEN now() END
      FROM (SELECT pa.*, row_number() OVER (ORDER BY pa.appointment_type_id, pa.practitioner_id) AS r
              FROM service_items.practitioner_appointment_types pa
             WHERE pa.clinic_id = c) p
     CROSS JOIN LATERAL (
        VALUES ('Standard Rate', 1000 + (p.r % 7) * 50.5, 800::numeric, true, false),
               ((ARRAY['Member "Gold"', 'Back\slash rate', E'Line\nbreak', E'Tab\there',
                       '会员价', 'Child''s rate'])[1 + p.r % 6],
                900 + (p.r % 5) * 0.25, 450.1, false, false),
               ('Old rate', 500, 100, false, true)
     ) AS s(name, amount, share, is_default, is_deleted)
     WHERE NOT s.is_deleted OR p.r % 5 = 0;

    INSERT INTO service_items.appointment_resource_requirements
        (clinic_id, appointment_type_id, resource_type_id, quantity)
    SELECT c, item_ids[k], type_ids[1 + (k + j) % 5], 1 + (k + j) % 3
      FROM generate_series(1, m) k, generate_series(0, 1) j
     WHERE k % 11 <> 0;

    INSERT INTO service_items.follow_up_messages
        (clinic_id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
         message_template, is_enabled, display_order)
    SELECT c, item_ids[k], 'hours_after', k % 48, NULL, NULL,
           E'Hi {name}, how was your "treatment" today?\nReply STOP to opt out.', true, 1
      FROM generate_series(1, m) k WHERE k % 11 <> 0
    UNION ALL
    SELECT c, item_ids[k], 'specific_time', NULL, k % 3,
           make_time(8 + k % 12, (k % 4) * 15, 0),
           E'提醒 reminder:\tbook your next visit \\ C:\\path {link}', k % 2 = 0, 2
      FROM generate_series(1, m) k WHERE k % 11 <> 0
    UNION ALL
    SELECT c, item_ids[k], 'hours_after', 0, NULL, NULL, 'Thanks!', false, 5
      FROM generate_series(1, m) k WHERE k % 11 <> 0 AND k % 4 = 0;

    RETURN c;
END
$fn$;

COMMENT ON FUNCTION service_items_demo.create_clinic(integer, integer, text) IS
    'Creates a deterministic demo clinic of n_items live service items (plus 5% soft-deleted ones) and returns its id.';

/*
 * clinic_checksum(clinic_id): a digest of every row of one clinic in every
 * table, with each row's xmin, so that "nothing changed, not even rewritten"
 * is one comparison.
 */
CREATE OR REPLACE FUNCTION service_items_demo.clinic_checksum(c bigint)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
SELECT md5(string_agg(t, E'\n' ORDER BY t))
  FROM (SELECT 'c' || x.xmin || (x.*)::text FROM service_items.clinics x WHERE x.id = c
        UNION ALL SELECT 'm' || x.xmin || (x.*)::text FROM service_items.clinic_members x WHERE x.clinic_id = c
        UNION ALL SELECT 'r' || x.xmin || (x.*)::text FROM service_items.resource_types x WHERE x.clinic_id = c
        UNION ALL SELECT 'g' || x.xmin || (x.*)::text FROM service_items.service_type_groups x WHERE x.clinic_id = c
        UNION ALL SELECT 'a' || x.xmin || (x.*)::text FROM service_items.appointment_types x WHERE x.clinic_id = c
        UNION ALL SELECT 'p' || x.xmin || (x.*)::text FROM service_items.practitioner_appointment_types x WHERE x.clinic_id = c
        UNION ALL SELECT 'b' || x.xmin || (x.*)::text FROM service_items.billing_scenarios x WHERE x.clinic_id = c
        UNION ALL SELECT 'q' || x.xmin || (x.*)::text FROM service_items.appointment_resource_requirements x WHERE x.clinic_id = c
        UNION ALL SELECT 'f' || x.xmin || (x.*)::text FROM service_items.follow_up_messages x WHERE x.clinic_id = c
        UNION ALL SELECT 'u' || x.xmin || (x.*)::text FROM service_items.association_audit x WHERE x.clinic_id = c
       ) rows(t)
$fn$;

COMMENT ON FUNCTION service_items_demo.clinic_checksum(bigint) IS
    'md5 of every row (and its xmin) of one clinic in every service_items table.';
