/*
 * settings_export: service_items.export_configuration and
 * service_items.import_configuration (issue 8): a clinic's service
 * configuration moved to another clinic in two calls.
 *
 * Checks:
 *   - the export has no ids: groups and items are named by keys ("g1",
 *     "i1"), resource types by name, practitioners by keys ("p1", with their
 *     names) that the importer maps; an unknown clinic exports NULL;
 *   - export -> import into an empty clinic (whose practitioners have the
 *     same names, so practitioner keys and names come out the same) ->
 *     export gives an identical document (as jsonb and as text); the
 *     target's page shows the same groups, items and associations (ids
 *     aside); one audit row; the source and a third clinic are untouched;
 *   - import into a clinic that has groups or live items is refused with
 *     55000 (nothing written) unless replace => true, which replaces its
 *     groups (deleted) and items (soft-deleted) and again gives the
 *     identical export; a clinic with only resource types, members or
 *     soft-deleted items counts as empty; a third clinic's checksum never
 *     moves;
 *   - bad documents and maps are refused with nothing written (not even
 *     resource types): wrong or missing format, a document or map that is
 *     not an object, an unmapped practitioner, a practitioner mapped to a
 *     member who is no practitioner or to another clinic's user, an item in
 *     a group the document does not have, an empty resource type name; NULL
 *     arguments raise 22004;
 *   - resource types are reused by name: a target that already has some of
 *     the names keeps those rows (and their ids), gets only the missing
 *     ones, and never a duplicate.
 *
 * Calls run as superuser without request.jwt.claims (authorization is
 * tested in settings_authz).  Generated clinics' ids depend on what ran
 * before and are never printed; target members use explicit ids from
 * 8,300,000 up.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS settings_export CASCADE;
CREATE SCHEMA settings_export;

---------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------
-- attempt(sql): runs sql in a subtransaction; 'ok' or 'SQLSTATE: message',
-- followed by the DETAIL when it is a sentence, or by the error codes when
-- it is the JSON array of a settings payload's errors.  Numbers (clinic
-- and user ids, counts) show as N; keys like "p2" stay.
CREATE FUNCTION settings_export.attempt(sql text) RETURNS text
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
        detail := (SELECT string_agg(DISTINCT e ->> 'code', ', ') FROM jsonb_array_elements(detail::jsonb) e);
    END IF;
    RETURN state || ': ' || regexp_replace(message || COALESCE(' (' || NULLIF(detail, '') || ')', ''),
                                           '(?<![a-z])[0-9]+', 'N', 'g');
END
$$;

-- new_clinic(name, practitioners_like): an empty clinic whose members
-- have the names and roles of the given clinic's active members, with user
-- ids from base up in the same order; returns its id.
CREATE FUNCTION settings_export.new_clinic(name text, members_like bigint, base bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    INSERT INTO service_items.clinics (name) VALUES (name) RETURNING id INTO c;
    INSERT INTO service_items.clinic_members (clinic_id, user_id, full_name, roles, is_active)
    SELECT c, base + row_number() OVER (ORDER BY m.user_id), m.full_name, m.roles, true
      FROM service_items.clinic_members m
     WHERE m.clinic_id = members_like AND m.is_active;
    RETURN c;
END
$$;

-- map_for(document, target): {"p1": user id, ...}: each practitioner key
-- of the document mapped to the target's practitioner of the same name.
CREATE FUNCTION settings_export.map_for(document jsonb, target bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_object_agg(p ->> 'key', m.user_id), '{}')
      FROM jsonb_array_elements(document -> 'practitioners') p
      JOIN service_items.clinic_members m
        ON m.clinic_id = target AND m.full_name = p ->> 'name'
$$;

-- counts(clinic): what a clinic has, per kind of row.
CREATE FUNCTION settings_export.counts(c bigint,
    OUT groups bigint, OUT live_items bigint, OUT deleted_items bigint,
    OUT resource_types bigint, OUT resource_type_names bigint, OUT audit_rows bigint)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM service_items.service_type_groups WHERE clinic_id = c),
           (SELECT count(*) FROM service_items.appointment_types WHERE clinic_id = c AND NOT is_deleted),
           (SELECT count(*) FROM service_items.appointment_types WHERE clinic_id = c AND is_deleted),
           (SELECT count(*) FROM service_items.resource_types WHERE clinic_id = c),
           (SELECT count(DISTINCT name) FROM service_items.resource_types WHERE clinic_id = c),
           (SELECT count(*) FROM service_items.association_audit WHERE clinic_id = c)
$$;

---------------------------------------------------------------------------
-- The source: a generated clinic of 12 items (3 practitioners each; an
-- inactive practitioner assigned here and there, items without
-- associations, soft-deleted items, names with quotes, backslashes, tabs,
-- newlines and Chinese text), plus an item in no group, an empty group and
-- a resource type no item uses.  A bystander clinic that must never move.
---------------------------------------------------------------------------
SELECT service_items_demo.create_clinic(12, 3, 'Export source') AS s,
       service_items_demo.create_clinic(5, 2, 'Bystander') AS x \gset
UPDATE service_items.appointment_types SET service_type_group_id = NULL
 WHERE clinic_id = :s AND id = (SELECT max(id) FROM service_items.appointment_types
                                 WHERE clinic_id = :s AND NOT is_deleted);
INSERT INTO service_items.service_type_groups (clinic_id, name, display_order)
VALUES (:s, 'Empty group', 99);
INSERT INTO service_items.resource_types (clinic_id, name) VALUES (:s, 'Unused lamp');

SELECT service_items_demo.clinic_checksum(:s) AS s_checksum,
       service_items_demo.clinic_checksum(:x) AS x_checksum,
       service_items.export_configuration(:s)::text AS doc \gset

---------------------------------------------------------------------------
-- 1. The export.
---------------------------------------------------------------------------
SELECT k AS top_level_key FROM jsonb_object_keys(:'doc'::jsonb) k ORDER BY k;
SELECT :'doc'::jsonb -> 'format' AS format,
       :'doc'::jsonb -> 'practitioners' AS practitioners;
SELECT :'doc'::jsonb -> 'resource_types' AS resource_types;
SELECT :'doc'::jsonb -> 'service_type_groups' AS service_type_groups;
SELECT n, i AS service_item
  FROM jsonb_array_elements(:'doc'::jsonb -> 'service_items') WITH ORDINALITY AS x(i, n);
-- No ids anywhere: no member is called "id" or "..._id", and the only
-- numbers are these members' values (no number sits in an array).
SELECT NOT jsonb_path_exists(:'doc'::jsonb, 'strict $.** ? (@.type() == "object").keyvalue() ? (@.key like_regex "(^|_)id$")') AS no_id_members,
       NOT jsonb_path_exists(:'doc'::jsonb, 'strict $.** ? (@.type() == "array")[*] ? (@.type() == "number")') AS no_numbers_in_arrays;
SELECT DISTINCT k AS members_holding_numbers
  FROM jsonb_path_query(:'doc'::jsonb, 'strict $.** ? (@.type() == "object").keyvalue() ? (@.value.type() == "number").key') AS x(k)
 ORDER BY 1;
-- The inactive practitioner (assigned to items in the tables) is not
-- exported; every exported practitioner is used.
SELECT jsonb_array_length(:'doc'::jsonb -> 'practitioners') AS exported_practitioners,
       (SELECT count(DISTINCT p) FROM jsonb_array_elements(:'doc'::jsonb -> 'service_items') i,
               jsonb_array_elements_text(i -> 'practitioners') p) AS used_practitioners,
       position('Former' IN :'doc') = 0 AS inactive_not_exported;
-- An unknown clinic exports nothing.
SELECT service_items.export_configuration(8399999) IS NULL AS unknown_clinic_null;

---------------------------------------------------------------------------
-- 2. Export -> import into an empty clinic -> export: identical.
---------------------------------------------------------------------------
SELECT settings_export.new_clinic('Import target', :s, 8300100) AS t \gset
SELECT settings_export.map_for(:'doc', :t) AS map \gset
SELECT jsonb_object_keys(:'map'::jsonb) AS mapped_key ORDER BY 1;
SELECT service_items.import_configuration(:t, :'doc', :'map')::json -> 'changes' AS changes;
SELECT service_items.export_configuration(:t) = :'doc'::jsonb AS identical,
       service_items.export_configuration(:t)::text = :'doc' AS identical_text;
-- The target's page against the source's, ids aside: the same groups,
-- items, and associations (practitioners by name, resource types by name).
CREATE FUNCTION settings_export.page_without_ids(c bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH page AS (SELECT service_items.load_service_settings(c)::jsonb AS d)
    SELECT jsonb_build_object(
        'groups', (SELECT jsonb_agg(g - 'id' ORDER BY n)
                     FROM page, jsonb_array_elements(d -> 'service_type_groups') WITH ORDINALITY AS x(g, n)),
        'items', (SELECT jsonb_agg(jsonb_build_object(
                            'name', i -> 'name', 'duration_minutes', i -> 'duration_minutes',
                            'display_order', i -> 'display_order',
                            'group', (SELECT g -> 'name' FROM jsonb_array_elements(d -> 'service_type_groups') g
                                       WHERE g -> 'id' = i -> 'service_type_group_id'),
                            'practitioners', (SELECT jsonb_agg(m.full_name ORDER BY m.user_id)
                                                FROM jsonb_array_elements_text(a -> 'practitioner_assignments') p
                                                JOIN service_items.clinic_members m ON m.clinic_id = c AND m.user_id = p::bigint),
                            'billing', (SELECT jsonb_object_agg(m.full_name,
                                                   (SELECT jsonb_agg(s - 'id') FROM jsonb_array_elements(b.value) s))
                                          FROM jsonb_each(a -> 'billing_scenarios') b
                                          JOIN service_items.clinic_members m ON m.clinic_id = c AND m.user_id = b.key::bigint),
                            'resources', (SELECT jsonb_agg(r - 'id' - 'resource_type_id') FROM jsonb_array_elements(a -> 'resource_requirements') r),
                            'follow_ups', (SELECT jsonb_agg(f - 'id') FROM jsonb_array_elements(a -> 'follow_up_messages') f))
                         ORDER BY n)
                    FROM page, jsonb_array_elements(d -> 'service_items') WITH ORDINALITY AS x(i, n),
                         jsonb_array_elements(d -> 'associations') a
                   WHERE a -> 'service_item_id' = i -> 'id'))
$$;
SELECT settings_export.page_without_ids(:t) = settings_export.page_without_ids(:s) AS same_page;
SELECT 'source' AS clinic, * FROM settings_export.counts(:s)
UNION ALL
SELECT 'target', * FROM settings_export.counts(:t);
-- The source and the bystander are untouched.
SELECT service_items_demo.clinic_checksum(:s) = :'s_checksum' AS source_unchanged,
       service_items_demo.clinic_checksum(:x) = :'x_checksum' AS bystander_unchanged;

---------------------------------------------------------------------------
-- 3. A clinic with a configuration: refused unless replace => true.
---------------------------------------------------------------------------
SELECT service_items_demo.clinic_checksum(:t) AS t_checksum \gset
SELECT settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L)', :t, :'doc', :'map')) AS again;
SELECT settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L, false)', :t, :'doc', :'map')) AS again_replace_false;
SELECT service_items_demo.clinic_checksum(:t) = :'t_checksum' AS target_unchanged;

-- A clinic with only a group is not empty; one with only resource types,
-- members and soft-deleted items is.
SELECT settings_export.new_clinic('Only a group', :s, 8300200) AS only_group,
       settings_export.new_clinic('Only deleted items', :s, 8300300) AS only_deleted \gset
INSERT INTO service_items.service_type_groups (clinic_id, name, display_order) VALUES (:only_group, 'A group', 1);
INSERT INTO service_items.appointment_types (clinic_id, name, duration_minutes, is_deleted)
VALUES (:only_deleted, 'Gone', 30, true);
INSERT INTO service_items.resource_types (clinic_id, name) VALUES (:only_deleted, 'Sauna');
SELECT settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L)',
                                      :only_group, :'doc', settings_export.map_for(:'doc', :only_group))) AS only_a_group,
       settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L)',
                                      :only_deleted, :'doc', settings_export.map_for(:'doc', :only_deleted))) AS only_deleted_items;
SELECT service_items.export_configuration(:only_deleted) - 'resource_types' = :'doc'::jsonb - 'resource_types' AS only_deleted_imported;

-- replace => true: the target's groups are deleted and its items
-- soft-deleted, replaced by the document's; the export is identical again;
-- no resource type is duplicated.
SELECT service_items.import_configuration(:t, :'doc', :'map', replace => true)::json -> 'changes' AS changes;
SELECT service_items.export_configuration(:t) = :'doc'::jsonb AS identical_after_replace;
SELECT * FROM settings_export.counts(:t);

-- replace => true with a smaller document: exactly that document.
SELECT jsonb_set(jsonb_set(:'doc'::jsonb, '{service_items}',
                           (SELECT jsonb_agg(i ORDER BY n) FROM jsonb_array_elements(:'doc'::jsonb -> 'service_items') WITH ORDINALITY AS x(i, n)
                             WHERE n <= 2 OR i -> 'group' = 'null')),
                 '{service_type_groups}', (:'doc'::jsonb -> 'service_type_groups') -> 0 || '[]'::jsonb)
       AS smaller \gset
SELECT jsonb_array_length(:'smaller'::jsonb -> 'service_items') AS items,
       jsonb_array_length(:'smaller'::jsonb -> 'service_type_groups') AS groups;
SELECT service_items.import_configuration(:t, :'smaller', :'map', replace => true)::json -> 'changes' AS changes;
SELECT service_items.export_configuration(:t) - 'practitioners' = :'smaller'::jsonb - 'practitioners' AS smaller_document;
-- (the export lists only the practitioners the items use)
SELECT service_items.export_configuration(:t) -> 'practitioners' AS practitioners_used;

-- The bystander never moved.
SELECT service_items_demo.clinic_checksum(:x) = :'x_checksum' AS bystander_unchanged,
       service_items_demo.clinic_checksum(:s) = :'s_checksum' AS source_unchanged;

---------------------------------------------------------------------------
-- 4. Bad documents and maps: refused, nothing written.
---------------------------------------------------------------------------
SELECT settings_export.new_clinic('Bad imports', :s, 8300400) AS u \gset
SELECT settings_export.map_for(:'doc', :u) AS umap \gset
SELECT service_items_demo.clinic_checksum(:u) AS u_checksum \gset
SELECT user_id AS staff FROM service_items.clinic_members
 WHERE clinic_id = :u AND NOT 'practitioner' = ANY (roles) ORDER BY user_id LIMIT 1 \gset

CREATE TABLE settings_export.bad (n serial, label text, document jsonb, map jsonb);
INSERT INTO settings_export.bad (label, document, map) VALUES
('wrong format', jsonb_set(:'doc'::jsonb, '{format}', '"service_items/2"'), :'umap'),
('no format', :'doc'::jsonb - 'format', :'umap'),
('document not an object', '[]', :'umap'),
('map not an object', :'doc'::jsonb, '[1, 2]'),
('unmapped practitioner (p2)', :'doc'::jsonb, :'umap'::jsonb - 'p2'),
('practitioner mapped to a string', :'doc'::jsonb, jsonb_set(:'umap'::jsonb, '{p1}', '"8300401"')),
('practitioner mapped to a member who is no practitioner', :'doc'::jsonb, jsonb_set(:'umap'::jsonb, '{p1}', to_jsonb(:staff))),
('practitioner mapped to another clinic''s user', :'doc'::jsonb, jsonb_set(:'umap'::jsonb, '{p1}', to_jsonb(:x::bigint * 1000 + 1))),
('item in a group the document does not have', jsonb_set(:'doc'::jsonb, '{service_items,0,group}', '"g99"'), :'umap'),
('invalid billing amount', jsonb_set(:'doc'::jsonb, '{service_items,1,billing_scenarios,p1,0,amount}', '-5'), :'umap');

SELECT b.n, b.label,
       settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L)', :u, b.document, b.map)) AS result
  FROM settings_export.bad b ORDER BY b.n;
-- An empty resource type name is an invalid document too (22023), not a
-- constraint violation of the table.
SELECT left(settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L)', :u,
           jsonb_set(:'doc'::jsonb, '{resource_types}', (:'doc'::jsonb -> 'resource_types') || '[""]'), :'umap')), 5)
       AS empty_resource_type_name;
SELECT service_items_demo.clinic_checksum(:u) = :'u_checksum' AS nothing_written,
       (SELECT count(*) FROM service_items.resource_types WHERE clinic_id = :u) AS resource_types_created;

-- NULL arguments.
SELECT settings_export.attempt(format('SELECT service_items.import_configuration(NULL, %L, %L)', :'doc', :'umap')) AS null_clinic,
       settings_export.attempt(format('SELECT service_items.import_configuration(%s, NULL, %L)', :u, :'umap')) AS null_document;
SELECT settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, NULL)', :u, :'doc')) AS null_map,
       settings_export.attempt(format('SELECT service_items.import_configuration(%s, %L, %L, NULL)', :u, :'doc', :'umap')) AS null_replace;
SELECT settings_export.attempt('SELECT service_items.export_configuration(NULL)') AS export_null;

-- The same map and document work on that clinic (the refusals were the
-- document's and the map's, not the clinic's).
SELECT service_items.import_configuration(:u, :'doc', :'umap') IS NOT NULL AS imported;
SELECT service_items.export_configuration(:u) = :'doc'::jsonb AS identical;

---------------------------------------------------------------------------
-- 5. Resource types are reused by name: a target with two of the names
-- (and one of its own) keeps those rows and ids, and gets only the others.
---------------------------------------------------------------------------
SELECT settings_export.new_clinic('Has some types', :s, 8300500) AS v \gset
INSERT INTO service_items.resource_types (clinic_id, name)
SELECT :v, name FROM (VALUES ('Sauna'), ('Massage Table'), ('Room "A"')) AS t(name);
CREATE TABLE settings_export.v_types AS
SELECT id, name FROM service_items.resource_types WHERE clinic_id = :v;
SELECT service_items.import_configuration(:v, :'doc', settings_export.map_for(:'doc', :v)) IS NOT NULL AS imported;
SELECT to_json(t.name) AS name, o.id IS NOT NULL AS existed, o.id IS NULL OR o.id = t.id AS same_id,
       (SELECT count(*) FROM service_items.appointment_resource_requirements r
         WHERE r.clinic_id = :v AND r.resource_type_id = t.id) AS requirements
  FROM service_items.resource_types t
  LEFT JOIN settings_export.v_types o ON o.name = t.name
 WHERE t.clinic_id = :v
 ORDER BY t.name COLLATE "C";
SELECT count(*) AS resource_types, count(DISTINCT name) AS distinct_names
  FROM service_items.resource_types WHERE clinic_id = :v;
-- Everything but the list of resource types (which follows the target's
-- ids and has Sauna) exports as the source.
SELECT service_items.export_configuration(:v) - 'resource_types' = :'doc'::jsonb - 'resource_types' AS identical_but_types,
       (SELECT jsonb_agg(n ORDER BY n COLLATE "C") FROM jsonb_array_elements_text(service_items.export_configuration(:v) -> 'resource_types') n)
       = (SELECT jsonb_agg(n ORDER BY n COLLATE "C") FROM jsonb_array_elements_text((:'doc'::jsonb -> 'resource_types') || '["Sauna"]') n) AS types_are_source_and_sauna;

-- Importing the same document again with replace => true creates no type.
SELECT service_items.import_configuration(:v, :'doc', settings_export.map_for(:'doc', :v), true) IS NOT NULL AS reimported;
SELECT count(*) AS resource_types, count(DISTINCT name) AS distinct_names
  FROM service_items.resource_types WHERE clinic_id = :v;

-- Through it all, the bystander and the source never moved.
SELECT service_items_demo.clinic_checksum(:x) = :'x_checksum' AS bystander_unchanged,
       service_items_demo.clinic_checksum(:s) = :'s_checksum' AS source_unchanged;

DELETE FROM service_items.clinics WHERE id IN (:s, :x, :t, :u, :v, :only_group, :only_deleted);
DROP SCHEMA settings_export CASCADE;
