-- test/schema.sql: pgTAP checks of the schema of service_items (SPEC §2, §3, §7).
--
-- Structure first (tables, columns and their types, nullability, identity,
-- keys, foreign keys, constraints, indexes, pg_dump registration, comments,
-- grants), then the constraints behaviourally: every rule of SPEC §3 is tried
-- with a row that breaks it and must fail with the right SQLSTATE and
-- constraint, next to a row that just satisfies it and must pass.
-- Everything runs in one transaction that rolls back.

BEGIN;
SELECT plan(307);

SET LOCAL search_path = public, pg_catalog;

------------------------------------------------------------------------
-- Extension and tables
------------------------------------------------------------------------

SELECT has_extension('service_items', 'service_items', 'extension service_items lives in schema service_items');
SELECT ok((SELECT NOT extrelocatable FROM pg_extension WHERE extname = 'service_items'),
          'extension service_items is not relocatable');

SELECT tables_are('service_items', ARRAY[
    'clinics', 'clinic_members', 'resource_types', 'service_type_groups',
    'appointment_types', 'practitioner_appointment_types', 'billing_scenarios',
    'appointment_resource_requirements', 'follow_up_messages', 'association_audit'],
    'schema service_items has exactly the ten tables of SPEC §3');

------------------------------------------------------------------------
-- Columns: name, type, nullability (one expected row per column)
------------------------------------------------------------------------

CREATE TEMP TABLE expected_columns (
    ord serial,
    tbl name NOT NULL,
    col name NOT NULL,
    typ text NOT NULL,
    not_null boolean NOT NULL
) ON COMMIT DROP;

INSERT INTO expected_columns (tbl, col, typ, not_null) VALUES
    ('clinics', 'id', 'bigint', true),
    ('clinics', 'name', 'text', true),
    ('clinics', 'created_at', 'timestamp with time zone', true),

    ('clinic_members', 'clinic_id', 'bigint', true),
    ('clinic_members', 'user_id', 'bigint', true),
    ('clinic_members', 'full_name', 'text', true),
    ('clinic_members', 'roles', 'text[]', true),
    ('clinic_members', 'is_active', 'boolean', true),
    ('clinic_members', 'created_at', 'timestamp with time zone', true),

    ('resource_types', 'clinic_id', 'bigint', true),
    ('resource_types', 'id', 'bigint', true),
    ('resource_types', 'name', 'text', true),
    ('resource_types', 'created_at', 'timestamp with time zone', true),

    ('service_type_groups', 'clinic_id', 'bigint', true),
    ('service_type_groups', 'id', 'bigint', true),
    ('service_type_groups', 'name', 'text', true),
    ('service_type_groups', 'display_order', 'integer', true),
    ('service_type_groups', 'created_at', 'timestamp with time zone', true),
    ('service_type_groups', 'updated_at', 'timestamp with time zone', true),

    ('appointment_types', 'clinic_id', 'bigint', true),
    ('appointment_types', 'id', 'bigint', true),
    ('appointment_types', 'service_type_group_id', 'bigint', false),
    ('appointment_types', 'name', 'text', true),
    ('appointment_types', 'duration_minutes', 'integer', true),
    ('appointment_types', 'display_order', 'integer', true),
    ('appointment_types', 'is_deleted', 'boolean', true),
    ('appointment_types', 'associations_version', 'bigint', true),
    ('appointment_types', 'created_at', 'timestamp with time zone', true),
    ('appointment_types', 'updated_at', 'timestamp with time zone', true),

    ('practitioner_appointment_types', 'clinic_id', 'bigint', true),
    ('practitioner_appointment_types', 'appointment_type_id', 'bigint', true),
    ('practitioner_appointment_types', 'practitioner_id', 'bigint', true),
    ('practitioner_appointment_types', 'created_at', 'timestamp with time zone', true),

    ('billing_scenarios', 'clinic_id', 'bigint', true),
    ('billing_scenarios', 'id', 'bigint', true),
    ('billing_scenarios', 'appointment_type_id', 'bigint', true),
    ('billing_scenarios', 'practitioner_id', 'bigint', true),
    ('billing_scenarios', 'name', 'text', true),
    ('billing_scenarios', 'amount', 'numeric(10,2)', true),
    ('billing_scenarios', 'revenue_share', 'numeric(10,2)', true),
    ('billing_scenarios', 'is_default', 'boolean', true),
    ('billing_scenarios', 'is_deleted', 'boolean', true),
    ('billing_scenarios', 'deleted_at', 'timestamp with time zone', false),
    ('billing_scenarios', 'created_at', 'timestamp with time zone', true),
    ('billing_scenarios', 'updated_at', 'timestamp with time zone', true),

    ('appointment_resource_requirements', 'clinic_id', 'bigint', true),
    ('appointment_resource_requirements', 'id', 'bigint', true),
    ('appointment_resource_requirements', 'appointment_type_id', 'bigint', true),
    ('appointment_resource_requirements', 'resource_type_id', 'bigint', true),
    ('appointment_resource_requirements', 'quantity', 'integer', true),
    ('appointment_resource_requirements', 'created_at', 'timestamp with time zone', true),
    ('appointment_resource_requirements', 'updated_at', 'timestamp with time zone', true),

    ('follow_up_messages', 'clinic_id', 'bigint', true),
    ('follow_up_messages', 'id', 'bigint', true),
    ('follow_up_messages', 'appointment_type_id', 'bigint', true),
    ('follow_up_messages', 'timing_mode', 'text', true),
    ('follow_up_messages', 'hours_after', 'integer', false),
    ('follow_up_messages', 'days_after', 'integer', false),
    ('follow_up_messages', 'time_of_day', 'time without time zone', false),
    ('follow_up_messages', 'message_template', 'text', true),
    ('follow_up_messages', 'is_enabled', 'boolean', true),
    ('follow_up_messages', 'display_order', 'integer', true),
    ('follow_up_messages', 'created_at', 'timestamp with time zone', true),
    ('follow_up_messages', 'updated_at', 'timestamp with time zone', true),

    ('association_audit', 'clinic_id', 'bigint', true),
    ('association_audit', 'id', 'bigint', true),
    ('association_audit', 'saved_at', 'timestamp with time zone', true),
    ('association_audit', 'db_user', 'text', true),
    ('association_audit', 'claims_sub', 'text', false),
    ('association_audit', 'service_item_ids', 'bigint[]', true),
    ('association_audit', 'changes', 'jsonb', true);

-- 10 tests: no column more, none less, per table.
SELECT columns_are('service_items', tbl, array_agg(col ORDER BY ord),
                   format('%s has exactly its columns', tbl))
  FROM expected_columns GROUP BY tbl ORDER BY min(ord);

-- 71 tests: the type of every column.
SELECT col_type_is('service_items', tbl, col, typ, format('%s.%s is %s', tbl, col, typ))
  FROM expected_columns ORDER BY ord;

-- 71 tests: NOT NULL or nullable, for every column.
SELECT CASE WHEN not_null
            THEN col_not_null('service_items', tbl, col, format('%s.%s is NOT NULL', tbl, col))
            ELSE col_is_null('service_items', tbl, col, format('%s.%s is nullable', tbl, col))
       END
  FROM expected_columns ORDER BY ord;

SELECT set_eq(
    $$SELECT c.relname::text, a.attname::text, a.attidentity::text
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind = 'r'
         AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity <> ''$$,
    $$VALUES ('clinics', 'id', 'd'), ('resource_types', 'id', 'd'),
             ('service_type_groups', 'id', 'd'), ('appointment_types', 'id', 'd'),
             ('billing_scenarios', 'id', 'd'), ('appointment_resource_requirements', 'id', 'd'),
             ('follow_up_messages', 'id', 'd'), ('association_audit', 'id', 'd')$$,
    'ids are bigint GENERATED BY DEFAULT AS IDENTITY, and only ids');

------------------------------------------------------------------------
-- Primary keys (all but clinics' include clinic_id)
------------------------------------------------------------------------

SELECT col_is_pk('service_items', 'clinics', ARRAY['id'], 'clinics: PRIMARY KEY (id)');
SELECT col_is_pk('service_items', 'clinic_members', ARRAY['clinic_id', 'user_id'], 'clinic_members: PRIMARY KEY (clinic_id, user_id)');
SELECT col_is_pk('service_items', 'resource_types', ARRAY['clinic_id', 'id'], 'resource_types: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'service_type_groups', ARRAY['clinic_id', 'id'], 'service_type_groups: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'appointment_types', ARRAY['clinic_id', 'id'], 'appointment_types: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'practitioner_appointment_types', ARRAY['clinic_id', 'appointment_type_id', 'practitioner_id'],
                 'practitioner_appointment_types: PRIMARY KEY (clinic_id, appointment_type_id, practitioner_id)');
SELECT col_is_pk('service_items', 'billing_scenarios', ARRAY['clinic_id', 'id'], 'billing_scenarios: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'appointment_resource_requirements', ARRAY['clinic_id', 'id'], 'appointment_resource_requirements: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'follow_up_messages', ARRAY['clinic_id', 'id'], 'follow_up_messages: PRIMARY KEY (clinic_id, id)');
SELECT col_is_pk('service_items', 'association_audit', ARRAY['clinic_id', 'id'], 'association_audit: PRIMARY KEY (clinic_id, id)');

------------------------------------------------------------------------
-- Foreign keys: every one includes clinic_id
------------------------------------------------------------------------

SELECT fk_ok('service_items', 'clinic_members', ARRAY['clinic_id'], 'service_items', 'clinics', ARRAY['id'],
             'clinic_members (clinic_id) -> clinics (id)');
SELECT fk_ok('service_items', 'resource_types', ARRAY['clinic_id'], 'service_items', 'clinics', ARRAY['id'],
             'resource_types (clinic_id) -> clinics (id)');
SELECT fk_ok('service_items', 'service_type_groups', ARRAY['clinic_id'], 'service_items', 'clinics', ARRAY['id'],
             'service_type_groups (clinic_id) -> clinics (id)');
SELECT fk_ok('service_items', 'appointment_types', ARRAY['clinic_id'], 'service_items', 'clinics', ARRAY['id'],
             'appointment_types (clinic_id) -> clinics (id)');
SELECT fk_ok('service_items', 'appointment_types', ARRAY['clinic_id', 'service_type_group_id'],
             'service_items', 'service_type_groups', ARRAY['clinic_id', 'id'],
             'appointment_types (clinic_id, service_type_group_id) -> service_type_groups');
SELECT fk_ok('service_items', 'practitioner_appointment_types', ARRAY['clinic_id', 'appointment_type_id'],
             'service_items', 'appointment_types', ARRAY['clinic_id', 'id'],
             'practitioner_appointment_types (clinic_id, appointment_type_id) -> appointment_types');
SELECT fk_ok('service_items', 'practitioner_appointment_types', ARRAY['clinic_id', 'practitioner_id'],
             'service_items', 'clinic_members', ARRAY['clinic_id', 'user_id'],
             'practitioner_appointment_types (clinic_id, practitioner_id) -> clinic_members');
SELECT fk_ok('service_items', 'billing_scenarios', ARRAY['clinic_id', 'appointment_type_id'],
             'service_items', 'appointment_types', ARRAY['clinic_id', 'id'],
             'billing_scenarios (clinic_id, appointment_type_id) -> appointment_types');
SELECT fk_ok('service_items', 'billing_scenarios', ARRAY['clinic_id', 'practitioner_id'],
             'service_items', 'clinic_members', ARRAY['clinic_id', 'user_id'],
             'billing_scenarios (clinic_id, practitioner_id) -> clinic_members');
SELECT fk_ok('service_items', 'appointment_resource_requirements', ARRAY['clinic_id', 'appointment_type_id'],
             'service_items', 'appointment_types', ARRAY['clinic_id', 'id'],
             'appointment_resource_requirements (clinic_id, appointment_type_id) -> appointment_types');
SELECT fk_ok('service_items', 'appointment_resource_requirements', ARRAY['clinic_id', 'resource_type_id'],
             'service_items', 'resource_types', ARRAY['clinic_id', 'id'],
             'appointment_resource_requirements (clinic_id, resource_type_id) -> resource_types');
SELECT fk_ok('service_items', 'follow_up_messages', ARRAY['clinic_id', 'appointment_type_id'],
             'service_items', 'appointment_types', ARRAY['clinic_id', 'id'],
             'follow_up_messages (clinic_id, appointment_type_id) -> appointment_types');
SELECT fk_ok('service_items', 'association_audit', ARRAY['clinic_id'], 'service_items', 'clinics', ARRAY['id'],
             'association_audit (clinic_id) -> clinics (id)');

SELECT set_eq(
    $$SELECT conrelid::regclass::text, conname::text FROM pg_catalog.pg_constraint
       WHERE connamespace = 'service_items'::regnamespace AND contype = 'f'$$,
    $$VALUES ('service_items.clinic_members', 'clinic_members_clinic_fkey'),
             ('service_items.resource_types', 'resource_types_clinic_fkey'),
             ('service_items.service_type_groups', 'service_type_groups_clinic_fkey'),
             ('service_items.appointment_types', 'appointment_types_clinic_fkey'),
             ('service_items.appointment_types', 'appointment_types_group_fkey'),
             ('service_items.practitioner_appointment_types', 'practitioner_appointment_types_item_fkey'),
             ('service_items.practitioner_appointment_types', 'practitioner_appointment_types_practitioner_fkey'),
             ('service_items.billing_scenarios', 'billing_scenarios_item_fkey'),
             ('service_items.billing_scenarios', 'billing_scenarios_practitioner_fkey'),
             ('service_items.appointment_resource_requirements', 'appointment_resource_requirements_item_fkey'),
             ('service_items.appointment_resource_requirements', 'appointment_resource_requirements_resource_type_fkey'),
             ('service_items.follow_up_messages', 'follow_up_messages_item_fkey'),
             ('service_items.association_audit', 'association_audit_clinic_fkey')$$,
    'the thirteen foreign keys, and no others');

-- Every foreign key maps the referencing table's clinic_id onto the
-- referenced table's clinic_id (or onto clinics.id).
SELECT is_empty(
    $$SELECT c.conname
        FROM pg_catalog.pg_constraint c
       WHERE c.connamespace = 'service_items'::regnamespace AND c.contype = 'f'
         AND NOT EXISTS (
             SELECT 1
               FROM unnest(c.conkey, c.confkey) AS k(src, dst)
               JOIN pg_catalog.pg_attribute s ON s.attrelid = c.conrelid AND s.attnum = k.src
               JOIN pg_catalog.pg_attribute d ON d.attrelid = c.confrelid AND d.attnum = k.dst
              WHERE s.attname = 'clinic_id'
                AND (d.attname = 'clinic_id'
                     OR (c.confrelid = 'service_items.clinics'::regclass AND d.attname = 'id')))$$,
    'every foreign key includes clinic_id on both sides');

------------------------------------------------------------------------
-- Unique, exclusion and check constraints (by name; behaviour below)
------------------------------------------------------------------------

SELECT col_is_unique('service_items', 'resource_types', ARRAY['clinic_id', 'name'],
                     'resource_types: name unique per clinic');
SELECT col_is_unique('service_items', 'appointment_resource_requirements',
                     ARRAY['clinic_id', 'appointment_type_id', 'resource_type_id'],
                     'appointment_resource_requirements: one row per (item, resource type)');
SELECT col_is_unique('service_items', 'follow_up_messages',
                     ARRAY['clinic_id', 'appointment_type_id', 'display_order'],
                     'follow_up_messages: display_order unique per item');

SELECT set_eq(
    $$SELECT conname::text, contype::text, condeferrable, condeferred FROM pg_catalog.pg_constraint
       WHERE connamespace = 'service_items'::regnamespace AND contype IN ('u', 'x')$$,
    $$VALUES ('resource_types_name_key', 'u', false, false),
             ('appointment_resource_requirements_item_resource_key', 'u', true, false),
             ('follow_up_messages_order_key', 'u', true, false),
             ('billing_scenarios_name_excl', 'x', true, false),
             ('billing_scenarios_default_excl', 'x', true, false)$$,
    'unique and exclusion constraints, deferrable initially immediate where a save reorders');

SELECT set_eq(
    $$SELECT conname::text FROM pg_catalog.pg_constraint
       WHERE connamespace = 'service_items'::regnamespace AND contype = 'c'$$,
    ARRAY['clinics_name_check', 'clinic_members_roles_check', 'resource_types_name_check',
          'service_type_groups_name_check', 'appointment_types_name_check',
          'appointment_types_duration_check', 'appointment_types_version_check',
          'billing_scenarios_name_check', 'billing_scenarios_amount_check',
          'billing_scenarios_revenue_share_check', 'billing_scenarios_deleted_at_check',
          'appointment_resource_requirements_quantity_check',
          'follow_up_messages_timing_check', 'follow_up_messages_hours_after_check',
          'follow_up_messages_days_after_check', 'follow_up_messages_time_of_day_check',
          'follow_up_messages_template_check'],
    'the check constraints, by name');

------------------------------------------------------------------------
-- Indexes (as the install script creates them)
------------------------------------------------------------------------

SELECT indexes_are('service_items', 'clinics', ARRAY['clinics_pkey'], 'clinics: its indexes');
SELECT indexes_are('service_items', 'clinic_members', ARRAY['clinic_members_pkey'], 'clinic_members: its indexes');
SELECT indexes_are('service_items', 'resource_types', ARRAY['resource_types_pkey', 'resource_types_name_key'],
                   'resource_types: its indexes');
SELECT indexes_are('service_items', 'service_type_groups', ARRAY['service_type_groups_pkey'], 'service_type_groups: its indexes');
SELECT indexes_are('service_items', 'appointment_types',
                   ARRAY['appointment_types_pkey', 'appointment_types_display_idx', 'appointment_types_group_idx'],
                   'appointment_types: its indexes');
SELECT indexes_are('service_items', 'practitioner_appointment_types',
                   ARRAY['practitioner_appointment_types_pkey', 'practitioner_appointment_types_practitioner_idx'],
                   'practitioner_appointment_types: its indexes');
SELECT indexes_are('service_items', 'billing_scenarios',
                   ARRAY['billing_scenarios_pkey', 'billing_scenarios_name_excl', 'billing_scenarios_default_excl',
                         'billing_scenarios_live_idx', 'billing_scenarios_item_idx',
                         'billing_scenarios_practitioner_idx'],
                   'billing_scenarios: its indexes');
SELECT indexes_are('service_items', 'appointment_resource_requirements',
                   ARRAY['appointment_resource_requirements_pkey', 'appointment_resource_requirements_item_resource_key',
                         'appointment_resource_requirements_item_idx', 'appointment_resource_requirements_resource_type_idx'],
                   'appointment_resource_requirements: its indexes');
SELECT indexes_are('service_items', 'follow_up_messages',
                   ARRAY['follow_up_messages_pkey', 'follow_up_messages_order_key'], 'follow_up_messages: its indexes');
SELECT indexes_are('service_items', 'association_audit', ARRAY['association_audit_pkey'], 'association_audit: its indexes');

-- The definition (columns, order, partial predicate) of every index the
-- install script creates on its own, and of the constraint indexes the
-- loader relies on.
SELECT is(pg_catalog.pg_get_indexdef(format('service_items.%I', idx)::regclass), def,
          format('index %s is %s', idx, def))
  FROM (VALUES
    ('appointment_types_display_idx',
     'CREATE INDEX appointment_types_display_idx ON service_items.appointment_types USING btree (clinic_id, display_order, id) WHERE (NOT is_deleted)'),
    ('appointment_types_group_idx',
     'CREATE INDEX appointment_types_group_idx ON service_items.appointment_types USING btree (clinic_id, service_type_group_id) WHERE (service_type_group_id IS NOT NULL)'),
    ('practitioner_appointment_types_pkey',
     'CREATE UNIQUE INDEX practitioner_appointment_types_pkey ON service_items.practitioner_appointment_types USING btree (clinic_id, appointment_type_id, practitioner_id)'),
    ('practitioner_appointment_types_practitioner_idx',
     'CREATE INDEX practitioner_appointment_types_practitioner_idx ON service_items.practitioner_appointment_types USING btree (clinic_id, practitioner_id)'),
    ('billing_scenarios_live_idx',
     'CREATE INDEX billing_scenarios_live_idx ON service_items.billing_scenarios USING btree (clinic_id, appointment_type_id, practitioner_id, id) WHERE (NOT is_deleted)'),
    ('billing_scenarios_item_idx',
     'CREATE INDEX billing_scenarios_item_idx ON service_items.billing_scenarios USING btree (clinic_id, appointment_type_id)'),
    ('billing_scenarios_practitioner_idx',
     'CREATE INDEX billing_scenarios_practitioner_idx ON service_items.billing_scenarios USING btree (clinic_id, practitioner_id)'),
    ('billing_scenarios_name_excl',
     'CREATE INDEX billing_scenarios_name_excl ON service_items.billing_scenarios USING btree (clinic_id, appointment_type_id, practitioner_id, name) WHERE (NOT is_deleted)'),
    ('billing_scenarios_default_excl',
     'CREATE INDEX billing_scenarios_default_excl ON service_items.billing_scenarios USING btree (clinic_id, appointment_type_id, practitioner_id) WHERE (is_default AND (NOT is_deleted))'),
    ('appointment_resource_requirements_item_idx',
     'CREATE INDEX appointment_resource_requirements_item_idx ON service_items.appointment_resource_requirements USING btree (clinic_id, appointment_type_id, id)'),
    ('appointment_resource_requirements_resource_type_idx',
     'CREATE INDEX appointment_resource_requirements_resource_type_idx ON service_items.appointment_resource_requirements USING btree (clinic_id, resource_type_id)'),
    ('follow_up_messages_order_key',
     'CREATE UNIQUE INDEX follow_up_messages_order_key ON service_items.follow_up_messages USING btree (clinic_id, appointment_type_id, display_order)')
  ) AS v(idx, def)
 ORDER BY idx;

------------------------------------------------------------------------
-- pg_dump registration, comments, functions and grants
------------------------------------------------------------------------

SELECT set_eq(
    $$SELECT c::regclass::text FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS c
       WHERE e.extname = 'service_items'$$,
    ARRAY['service_items.clinics', 'service_items.clinic_members', 'service_items.resource_types',
          'service_items.service_type_groups', 'service_items.appointment_types',
          'service_items.practitioner_appointment_types', 'service_items.billing_scenarios',
          'service_items.appointment_resource_requirements', 'service_items.follow_up_messages',
          'service_items.association_audit',
          'service_items.clinics_id_seq', 'service_items.resource_types_id_seq',
          'service_items.service_type_groups_id_seq', 'service_items.appointment_types_id_seq',
          'service_items.billing_scenarios_id_seq', 'service_items.appointment_resource_requirements_id_seq',
          'service_items.follow_up_messages_id_seq', 'service_items.association_audit_id_seq'],
    'pg_extension_config_dump: the 10 tables and the 8 identity sequences');
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class c
       WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind IN ('r', 'S')
         AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_catalog.pg_extension WHERE extname = 'service_items')$$,
    'no table or sequence of the schema is left out of pg_dump');
SELECT ok((SELECT pg_catalog.array_length(extconfig, 1) = pg_catalog.array_length(extcondition, 1)
                  AND '' = ALL (extcondition)
             FROM pg_catalog.pg_extension WHERE extname = 'service_items'),
          'pg_dump keeps every row (no filter condition)');

SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_catalog.pg_class c
       WHERE c.relnamespace = 'service_items'::regnamespace AND c.relkind IN ('r', 'v', 'p')
         AND pg_catalog.obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table of the schema has a COMMENT');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'service_items'::regnamespace
         AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every function of the schema has a COMMENT');

SELECT has_function('service_items', 'bulk_load_associations',
                    ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'],
                    'bulk_load_associations(bigint, bigint[], boolean, boolean, boolean) exists');
SELECT function_returns('service_items', 'bulk_load_associations',
                        ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'], 'json',
                        'bulk_load_associations returns json');
SELECT volatility_is('service_items', 'bulk_load_associations',
                     ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'], 'stable',
                     'bulk_load_associations is STABLE (PostgREST may call it with GET)');
SELECT isnt_definer('service_items', 'bulk_load_associations',
                    ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'],
                    'bulk_load_associations is SECURITY INVOKER');
SELECT has_function('service_items', 'service_item_associations',
                    ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'],
                    'service_item_associations(bigint, bigint[], boolean, boolean, boolean) exists');
SELECT function_returns('service_items', 'service_item_associations',
                        ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'], 'setof record',
                        'service_item_associations returns a set');
SELECT is(pg_catalog.pg_get_function_result('service_items.service_item_associations(bigint, bigint[], boolean, boolean, boolean)'::regprocedure),
          'TABLE(service_item_id bigint, associations json)',
          'service_item_associations returns TABLE(service_item_id bigint, associations json)');
SELECT volatility_is('service_items', 'service_item_associations',
                     ARRAY['bigint', 'bigint[]', 'boolean', 'boolean', 'boolean'], 'stable',
                     'service_item_associations is STABLE');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'service_items'::regnamespace AND p.prosecdef$$,
    'no function of the schema is SECURITY DEFINER');
SELECT is(pg_catalog.pg_get_function_arguments('service_items.bulk_load_associations(bigint, bigint[], boolean, boolean, boolean)'::regprocedure),
          'clinic_id bigint, service_item_ids bigint[] DEFAULT NULL::bigint[], include_billing_scenarios boolean DEFAULT true, include_resource_requirements boolean DEFAULT true, include_follow_up_messages boolean DEFAULT true',
          'bulk_load_associations: argument names and defaults of SPEC §4');

-- EXECUTE is not granted to PUBLIC: an absent ACL means the default, which
-- grants it, so proacl must be set and must not name PUBLIC (grantee 0).
SELECT ok((SELECT count(*) >= 2 FROM pg_catalog.pg_proc WHERE pronamespace = 'service_items'::regnamespace),
          'the schema has functions to check');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'service_items'::regnamespace
         AND (p.proacl IS NULL
              OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
                          WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))$$,
    'EXECUTE on no function of schema service_items is granted to PUBLIC');

-- The fresh role may use the schema, so that what stops it is the missing
-- EXECUTE privilege and nothing else.
CREATE ROLE service_items_tap_nobody NOLOGIN;
GRANT USAGE ON SCHEMA service_items TO service_items_tap_nobody;
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'service_items'::regnamespace
         AND pg_catalog.has_function_privilege('service_items_tap_nobody', p.oid, 'EXECUTE')$$,
    'a fresh role may execute no function of schema service_items');
SELECT throws_ok(
    $$SET LOCAL ROLE service_items_tap_nobody; SELECT service_items.bulk_load_associations(1)$$,
    '42501', 'permission denied for function bulk_load_associations',
    'a fresh role calling bulk_load_associations is refused EXECUTE (42501)');
SELECT throws_ok(
    $$SET LOCAL ROLE service_items_tap_nobody; SELECT * FROM service_items.service_item_associations(1)$$,
    '42501', 'permission denied for function service_item_associations',
    'a fresh role calling service_item_associations is refused EXECUTE (42501)');
RESET ROLE;

------------------------------------------------------------------------
-- Behaviour: a small fixture of two clinics
------------------------------------------------------------------------

INSERT INTO service_items.clinics (id, name) VALUES (9001, 'Clinic A'), (9002, 'Clinic B');
INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles) VALUES
    (9001, 1, 'Dr. One', '{practitioner}'),
    (9001, 2, 'Dr. Two', '{admin,practitioner}'),
    (9002, 3, 'Dr. Elsewhere', '{practitioner}');
INSERT INTO service_items.resource_types (clinic_id, id, name) VALUES
    (9001, 9101, 'Table'), (9001, 9103, 'Room'), (9002, 9102, 'Table');
INSERT INTO service_items.service_type_groups (clinic_id, id, name) VALUES
    (9001, 9201, 'Massage'), (9002, 9202, 'Massage');
INSERT INTO service_items.appointment_types (clinic_id, id, service_type_group_id, name, duration_minutes) VALUES
    (9001, 9301, 9201, 'Massage 60', 60), (9002, 9302, NULL, 'Massage 60', 60);
INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id) VALUES
    (9001, 9301, 1), (9001, 9301, 2);
INSERT INTO service_items.billing_scenarios
    (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share, is_default) VALUES
    (9001, 9401, 9301, 1, 'Standard Rate', 1000, 800, true);
INSERT INTO service_items.appointment_resource_requirements
    (clinic_id, id, appointment_type_id, resource_type_id, quantity) VALUES
    (9001, 9501, 9301, 9101, 1);
INSERT INTO service_items.follow_up_messages
    (clinic_id, id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day,
     message_template, display_order) VALUES
    (9001, 9601, 9301, 'hours_after', 24, NULL, NULL, 'How was it?', 1);

-- Defaults.
SELECT is((SELECT associations_version FROM service_items.appointment_types WHERE clinic_id = 9001 AND id = 9301),
          1::bigint, 'associations_version starts at 1');
SELECT is((SELECT ROW(is_deleted, deleted_at IS NULL, is_default) FROM service_items.billing_scenarios
            WHERE clinic_id = 9001 AND id = 9401),
          ROW(false, true, true), 'a new billing scenario is live');
SELECT is((SELECT ROW(is_enabled) FROM service_items.follow_up_messages WHERE clinic_id = 9001 AND id = 9601),
          ROW(true), 'a new follow-up is enabled by default');
INSERT INTO service_items.association_audit (clinic_id, service_item_ids, changes)
VALUES (9001, '{9301}', '{}');
SELECT is((SELECT db_user FROM service_items.association_audit WHERE clinic_id = 9001),
          current_user::text, 'association_audit.db_user defaults to the current user');

-- clinic_members.roles
SELECT lives_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                  VALUES (9001, 10, 'All roles', '{admin,practitioner,staff}')$$,
                'roles {admin,practitioner,staff} are accepted');
SELECT lives_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                  VALUES (9001, 11, 'No role yet', '{}')$$,
                'no roles at all is accepted');
SELECT throws_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                   VALUES (9001, 12, 'Doctor', '{doctor}')$$,
                 '23514', 'new row for relation "clinic_members" violates check constraint "clinic_members_roles_check"',
                 'a role outside {admin,practitioner,staff} is rejected');
SELECT throws_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                   VALUES (9001, 12, 'Admin?', '{admin,Admin}')$$,
                 '23514', 'new row for relation "clinic_members" violates check constraint "clinic_members_roles_check"',
                 'roles are case-sensitive: Admin is rejected');
SELECT throws_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                   VALUES (9001, 12, 'Null role', ARRAY['staff', NULL])$$,
                 '23514', 'new row for relation "clinic_members" violates check constraint "clinic_members_roles_check"',
                 'a NULL role is rejected');
SELECT throws_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                   VALUES (9001, 1, 'Dr. One again', '{staff}')$$,
                 '23505', 'duplicate key value violates unique constraint "clinic_members_pkey"',
                 'a user is a member of a clinic once');
SELECT lives_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles)
                  VALUES (9002, 1, 'Dr. One, elsewhere', '{practitioner}')$$,
                'the same user may be a member of another clinic');

-- Names
SELECT throws_ok($$INSERT INTO service_items.clinics (name) VALUES ('')$$,
                 '23514', 'new row for relation "clinics" violates check constraint "clinics_name_check"',
                 'a clinic name is not empty');
SELECT throws_ok($$INSERT INTO service_items.resource_types (clinic_id, name) VALUES (9001, 'Table')$$,
                 '23505', 'duplicate key value violates unique constraint "resource_types_name_key"',
                 'resource type names are unique per clinic');
SELECT throws_ok($$INSERT INTO service_items.resource_types (clinic_id, name) VALUES (9001, '')$$,
                 '23514', 'new row for relation "resource_types" violates check constraint "resource_types_name_check"',
                 'a resource type name is not empty');
SELECT throws_ok($$INSERT INTO service_items.service_type_groups (clinic_id, name) VALUES (9001, '')$$,
                 '23514', 'new row for relation "service_type_groups" violates check constraint "service_type_groups_name_check"',
                 'a group name is not empty');

-- appointment_types
SELECT throws_ok($$INSERT INTO service_items.appointment_types (clinic_id, name, duration_minutes) VALUES (9001, '', 30)$$,
                 '23514', 'new row for relation "appointment_types" violates check constraint "appointment_types_name_check"',
                 'a service item name is not empty');
SELECT throws_ok($$INSERT INTO service_items.appointment_types (clinic_id, name, duration_minutes) VALUES (9001, 'Zero', 0)$$,
                 '23514', 'new row for relation "appointment_types" violates check constraint "appointment_types_duration_check"',
                 'duration_minutes 0 is rejected');
SELECT throws_ok($$INSERT INTO service_items.appointment_types (clinic_id, name, duration_minutes, associations_version)
                   VALUES (9001, 'Version 0', 30, 0)$$,
                 '23514', 'new row for relation "appointment_types" violates check constraint "appointment_types_version_check"',
                 'associations_version 0 is rejected');

-- billing_scenarios: amounts
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Negative', -1, 0)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_amount_check"',
                 'amount -1 is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Share too big', 100, 100.01)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_revenue_share_check"',
                 'revenue_share > amount is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Negative share', 100, -0.01)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_revenue_share_check"',
                 'revenue_share -0.01 is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Too much', 100000000, 0)$$,
                 '22003', NULL, 'amount 100,000,000 does not fit numeric(10,2)');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Infinite', 'Infinity', 0)$$,
                 '22003', NULL, 'amount Infinity is rejected');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                  VALUES (9001, 9402, 9301, 2, 'Edges', 99999999.99, 99999999.99),
                         (9001, 9403, 9301, 2, 'Free', 0, 0)$$,
                'amount 0 and 99,999,999.99, revenue_share equal to amount, are accepted');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, revenue_share)
                   VALUES (9001, 9301, 2, 'Not a number', 'NaN', 0)$$,
                 '23514', NULL, 'amount NaN is rejected');

-- billing_scenarios: names
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 2, '', 100)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_name_check"',
                 'an empty billing name is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 2, repeat('x', 256), 100)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_name_check"',
                 'a billing name of 256 characters is rejected');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, appointment_type_id, practitioner_id, name, amount)
                  VALUES (9001, 9301, 2, repeat('价', 255), 100)$$,
                'a billing name of 255 (multibyte) characters is accepted');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 2, E'Bell\x07', 100)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_name_check"',
                 'a billing name with a control character (BEL) is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 2, E'Carriage\rreturn', 100)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_name_check"',
                 'a billing name with a carriage return is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 2, E'Delete\x7f', 100)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_name_check"',
                 'a billing name with DEL is rejected');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, appointment_type_id, practitioner_id, name, amount)
                  VALUES (9001, 9301, 2, E'Tab\tand\nnewline "quoted" \\ back', 100)$$,
                'tab, newline, quotes and backslashes in a billing name are accepted');

-- billing_scenarios: per pair, among live rows, names unique and one default
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 1, 'Standard Rate', 900)$$,
                 '23P01', 'conflicting key value violates exclusion constraint "billing_scenarios_name_excl"',
                 'a duplicate live billing name in a pair is rejected');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, appointment_type_id, practitioner_id, name, amount, is_deleted, deleted_at)
                  VALUES (9001, 9301, 1, 'Standard Rate', 900, true, now())$$,
                'a soft-deleted scenario may repeat a live name');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, appointment_type_id, practitioner_id, name, amount)
                  VALUES (9001, 9301, 2, 'Standard Rate', 900)$$,
                'another practitioner of the item may use the same name');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, is_default)
                   VALUES (9001, 9301, 1, 'Second default', 900, true)$$,
                 '23P01', 'conflicting key value violates exclusion constraint "billing_scenarios_default_excl"',
                 'two live defaults in a pair are rejected');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, appointment_type_id, practitioner_id, name, amount, is_default, is_deleted, deleted_at)
                  VALUES (9001, 9301, 1, 'Old default', 900, true, true, now())$$,
                'a soft-deleted default beside the live one is accepted');
SELECT lives_ok($$INSERT INTO service_items.billing_scenarios
                  (clinic_id, id, appointment_type_id, practitioner_id, name, amount)
                  VALUES (9001, 9404, 9301, 1, 'Member', 900)$$,
                'a second live, non-default scenario is accepted');
SELECT lives_ok($$UPDATE service_items.billing_scenarios
                     SET name = CASE id WHEN 9401 THEN 'Member' ELSE 'Standard Rate' END,
                         is_default = (id = 9404)
                   WHERE clinic_id = 9001 AND id IN (9401, 9404)$$,
                'one statement may swap two names and move the default (deferrable constraints)');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, is_deleted)
                   VALUES (9001, 9301, 1, 'Deleted, no date', 900, true)$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_deleted_at_check"',
                 'is_deleted without deleted_at is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios
                   (clinic_id, appointment_type_id, practitioner_id, name, amount, deleted_at)
                   VALUES (9001, 9301, 1, 'Dated, not deleted', 900, now())$$,
                 '23514', 'new row for relation "billing_scenarios" violates check constraint "billing_scenarios_deleted_at_check"',
                 'deleted_at on a live scenario is rejected');

-- appointment_resource_requirements
SELECT throws_ok($$INSERT INTO service_items.appointment_resource_requirements
                   (clinic_id, appointment_type_id, resource_type_id, quantity) VALUES (9001, 9301, 9103, 0)$$,
                 '23514', 'new row for relation "appointment_resource_requirements" violates check constraint "appointment_resource_requirements_quantity_check"',
                 'quantity 0 is rejected');
SELECT throws_ok($$INSERT INTO service_items.appointment_resource_requirements
                   (clinic_id, appointment_type_id, resource_type_id, quantity) VALUES (9001, 9301, 9103, 1001)$$,
                 '23514', 'new row for relation "appointment_resource_requirements" violates check constraint "appointment_resource_requirements_quantity_check"',
                 'quantity 1001 is rejected');
SELECT lives_ok($$INSERT INTO service_items.appointment_resource_requirements
                  (clinic_id, appointment_type_id, resource_type_id, quantity) VALUES (9001, 9301, 9103, 1000)$$,
                'quantity 1000 is accepted');
SELECT throws_ok($$INSERT INTO service_items.appointment_resource_requirements
                   (clinic_id, appointment_type_id, resource_type_id, quantity) VALUES (9001, 9301, 9101, 2)$$,
                 '23505', 'duplicate key value violates unique constraint "appointment_resource_requirements_item_resource_key"',
                 'a resource type twice on one item is rejected');

-- follow_up_messages
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'minutes_after', 5, 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'timing_mode minutes_after is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, days_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 5, 1, 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'hours_after mode with days_after set is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 5, '09:00', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'hours_after mode with time_of_day set is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'hours_after mode without hours_after is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, days_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 5, 1, '09:00', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'specific_time mode with hours_after set is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, days_after, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 1, 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_timing_check"',
                 'specific_time mode without time_of_day is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 8761, 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_hours_after_check"',
                 'hours_after 8761 is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', -1, 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_hours_after_check"',
                 'hours_after -1 is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 366, '09:00', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_days_after_check"',
                 'days_after 366 is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 1, '21:00:30', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_time_of_day_check"',
                 'time_of_day with seconds is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 1, '21:00:00.5', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_time_of_day_check"',
                 'time_of_day with fractional seconds is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
                   VALUES (9001, 9301, 'specific_time', 1, '24:00', 'Hi', 2)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_time_of_day_check"',
                 'time_of_day 24:00 is rejected (HH:MM runs to 23:59)');
SELECT lives_ok($$INSERT INTO service_items.follow_up_messages
                  (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                  VALUES (9001, 9301, 'hours_after', 8760, 'A year later', 2),
                         (9001, 9301, 'hours_after', 0, 'Right away', 3)$$,
                'hours_after 0 and 8760 are accepted');
SELECT lives_ok($$INSERT INTO service_items.follow_up_messages
                  (clinic_id, appointment_type_id, timing_mode, days_after, time_of_day, message_template, display_order)
                  VALUES (9001, 9301, 'specific_time', 365, '23:59', E'提醒\tline\nnext', 4),
                         (9001, 9301, 'specific_time', 0, '00:00', 'Midnight', 5)$$,
                'specific_time with days_after 0 and 365 and HH:MM times is accepted');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 1, 'Same order', 1)$$,
                 '23505', 'duplicate key value violates unique constraint "follow_up_messages_order_key"',
                 'a duplicate display_order on one item is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 1, '', 6)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_template_check"',
                 'an empty template is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 1, repeat('x', 5001), 6)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_template_check"',
                 'a template of 5,001 characters is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9301, 'hours_after', 1, E'Escape \x1b[31m', 6)$$,
                 '23514', 'new row for relation "follow_up_messages" violates check constraint "follow_up_messages_template_check"',
                 'a template with a control character (ESC) is rejected');
SELECT lives_ok($$INSERT INTO service_items.follow_up_messages
                  (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                  VALUES (9001, 9301, 'hours_after', 1, repeat('y', 5000), 6)$$,
                'a template of 5,000 characters is accepted');
SELECT lives_ok($$UPDATE service_items.follow_up_messages
                     SET display_order = CASE display_order WHEN 1 THEN 2 ELSE 1 END
                   WHERE clinic_id = 9001 AND appointment_type_id = 9301 AND display_order IN (1, 2)$$,
                'one statement may swap two display_orders (deferrable constraint)');

-- Foreign keys never point into another clinic
SELECT throws_ok($$INSERT INTO service_items.appointment_types (clinic_id, service_type_group_id, name, duration_minutes)
                   VALUES (9001, 9202, 'Group of B', 30)$$,
                 '23503', 'insert or update on table "appointment_types" violates foreign key constraint "appointment_types_group_fkey"',
                 'an item of clinic A in a group of clinic B is rejected');
SELECT throws_ok($$INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
                   VALUES (9001, 9302, 1)$$,
                 '23503', 'insert or update on table "practitioner_appointment_types" violates foreign key constraint "practitioner_appointment_types_item_fkey"',
                 'assigning clinic A''s practitioner to clinic B''s item is rejected');
SELECT throws_ok($$INSERT INTO service_items.practitioner_appointment_types (clinic_id, appointment_type_id, practitioner_id)
                   VALUES (9001, 9301, 3)$$,
                 '23503', 'insert or update on table "practitioner_appointment_types" violates foreign key constraint "practitioner_appointment_types_practitioner_fkey"',
                 'assigning clinic B''s practitioner to clinic A''s item is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9302, 1, 'Cross', 10)$$,
                 '23503', 'insert or update on table "billing_scenarios" violates foreign key constraint "billing_scenarios_item_fkey"',
                 'a billing scenario on another clinic''s item is rejected');
SELECT throws_ok($$INSERT INTO service_items.billing_scenarios (clinic_id, appointment_type_id, practitioner_id, name, amount)
                   VALUES (9001, 9301, 3, 'Cross', 10)$$,
                 '23503', 'insert or update on table "billing_scenarios" violates foreign key constraint "billing_scenarios_practitioner_fkey"',
                 'a billing scenario for another clinic''s practitioner is rejected');
SELECT throws_ok($$INSERT INTO service_items.appointment_resource_requirements (clinic_id, appointment_type_id, resource_type_id, quantity)
                   VALUES (9001, 9301, 9102, 1)$$,
                 '23503', 'insert or update on table "appointment_resource_requirements" violates foreign key constraint "appointment_resource_requirements_resource_type_fkey"',
                 'requiring another clinic''s resource type is rejected');
SELECT throws_ok($$INSERT INTO service_items.appointment_resource_requirements (clinic_id, appointment_type_id, resource_type_id, quantity)
                   VALUES (9001, 9302, 9101, 1)$$,
                 '23503', 'insert or update on table "appointment_resource_requirements" violates foreign key constraint "appointment_resource_requirements_item_fkey"',
                 'a resource requirement on another clinic''s item is rejected');
SELECT throws_ok($$INSERT INTO service_items.follow_up_messages
                   (clinic_id, appointment_type_id, timing_mode, hours_after, message_template, display_order)
                   VALUES (9001, 9302, 'hours_after', 1, 'Cross', 9)$$,
                 '23503', 'insert or update on table "follow_up_messages" violates foreign key constraint "follow_up_messages_item_fkey"',
                 'a follow-up on another clinic''s item is rejected');
SELECT throws_ok($$UPDATE service_items.billing_scenarios SET clinic_id = 9002 WHERE clinic_id = 9001 AND id = 9401$$,
                 '23503', NULL, 'moving a billing scenario into another clinic is rejected');
SELECT throws_ok($$INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name) VALUES (9999, 1, 'Nowhere')$$,
                 '23503', 'insert or update on table "clinic_members" violates foreign key constraint "clinic_members_clinic_fkey"',
                 'a member of an unknown clinic is rejected');
SELECT throws_ok($$INSERT INTO service_items.association_audit (clinic_id, service_item_ids, changes) VALUES (9999, '{}', '{}')$$,
                 '23503', 'insert or update on table "association_audit" violates foreign key constraint "association_audit_clinic_fkey"',
                 'an audit row of an unknown clinic is rejected');

-- Deleting a clinic removes all of its rows, and only its rows.
SELECT lives_ok($$DELETE FROM service_items.clinics WHERE id = 9001$$, 'a clinic can be deleted');
SELECT is((SELECT count(*) FROM service_items.appointment_types WHERE clinic_id = 9001)
          + (SELECT count(*) FROM service_items.billing_scenarios WHERE clinic_id = 9001)
          + (SELECT count(*) FROM service_items.follow_up_messages WHERE clinic_id = 9001)
          + (SELECT count(*) FROM service_items.clinic_members WHERE clinic_id = 9001),
          0::bigint, 'deleting a clinic cascades to its rows');
SELECT is((SELECT count(*) FROM service_items.appointment_types WHERE clinic_id = 9002), 1::bigint,
          'the other clinic keeps its rows');

SELECT * FROM finish();
ROLLBACK;
