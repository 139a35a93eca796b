/*
 * save_fuzz: randomized payloads against service_items.bulk_save_associations
 * (SPEC §5, §6), with a fixed seed so that the run, and its summary, is the
 * same every time (whatever ran before in the database: the generator walks
 * its data in numeric order and never prints an id).
 *
 * 300 calls on a generated clinic of 20 items, one subtransaction each:
 * - odd calls send a valid payload built from the current load of 1 to 3
 *   random items with random edits: practitioners dropped and added;
 *   scenarios added, renamed, removed, repriced, the default moved or
 *   dropped; requirements added, removed, retyped, requantified; follow-ups
 *   added, removed, retimed (the other mode's fields absent or null),
 *   reordered, rewritten, re-enabled; ids dropped now and then, so that a
 *   row is replaced (or, for a requirement, matched on its resource type);
 *   loaded objects otherwise sent back as loaded (resource_type_name and
 *   null fields included); texts with quotes, backslashes, tabs, newlines,
 *   non-ASCII and maximal lengths; amounts from 0 to 99,999,999.99.  About
 *   one in eight is an "echo" (the load sent back unedited, every section),
 *   about one in three carries the loaded expected_versions, and about one
 *   in ten a stale one;
 * - even calls send such a payload with 1 to 3 mutations, each of which
 *   alone makes it invalid under SPEC §5 (49 kinds): wrong types,
 *   out-of-range and over-precise numbers, NaN-like strings, unknown keys,
 *   bad keys, nested garbage, deep nesting, huge strings and keys, negative
 *   ids, another clinic's ids, duplicates, missing or null required fields,
 *   bad timing, two defaults, control characters, too many entries, more
 *   errors than DETAIL holds, payloads that are not objects, and so on.
 *
 * A call must either succeed, and then: a load shows every listed set
 * exactly as sent (an entry sent with an id kept its row; inserted rows are
 * compared on their values); the response's associations equal a fresh load
 * of the named items; items not named are untouched (rows and xmin); each
 * named item's version moved by at most one, and some did exactly when the
 * counts report a change; the counts add up (every listed entry inserted,
 * updated or unchanged, every other current row of a listed set deleted,
 * and the live scenarios of a practitioner taken off an item with them);
 * no live scenario is left without its assignment; a save that changed
 * nothing wrote nothing at all (clinic checksum with xmin unchanged), an
 * echo changed nothing, and a save that changed something wrote one audit
 * row.  Or it fails, with 22023 (PT409 for a stale version), and the clinic
 * checksum is unchanged.  Either way validate_associations agrees (valid
 * exactly when the save succeeds, the save's error count and DETAIL, or
 * the same error for a payload that is not an object) and writes nothing;
 * DETAIL holds min(count, 100) errors, and every error path is a SQL/JSON
 * path that finds the offending value in the payload (except for a missing
 * required field).  The backend never crashes: the test finishing proves
 * it.
 *
 * The output is counts only; any problem is listed by call number.
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
\set ECHO none
\getenv abs_srcdir PG_ABS_SRCDIR
\set demo_data :abs_srcdir '/tools/demo_data.sql'
\i :demo_data
\set ECHO all

DROP SCHEMA IF EXISTS save_fuzz CASCADE;
CREATE SCHEMA save_fuzz;
DELETE FROM service_items.clinics WHERE name IN ('save_fuzz', 'save_fuzz other');

-- The helpers are not echoed (an error in them still shows).
\set ECHO none

-- Random helpers; every draw comes from random(), seeded below, and every
-- loop that draws walks its data in a fixed (numeric) order.
CREATE FUNCTION save_fuzz.pick(n integer) RETURNS integer
LANGUAGE sql VOLATILE AS $$ SELECT floor(random() * n)::integer $$;

CREATE FUNCTION save_fuzz.chance(p float8) RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT random() < p $$;

-- edit(echo, p): whether to make an edit of probability p; never in an echo.
CREATE FUNCTION save_fuzz.edit(echo boolean, p float8) RETURNS boolean
LANGUAGE sql VOLATILE AS $$ SELECT NOT echo AND random() < p $$;

CREATE FUNCTION save_fuzz.one_of(a jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE AS $$ SELECT a -> save_fuzz.pick(jsonb_array_length(a)) $$;

CREATE FUNCTION save_fuzz.shuffle(a jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(jsonb_agg(x ORDER BY r, o), '[]')
      FROM (SELECT x, o, random() AS r FROM jsonb_array_elements(a) WITH ORDINALITY e(x, o) ORDER BY o) s
$$;

-- money(): an amount in currency units with 0 to 2 decimals, boundaries now
-- and then.
CREATE FUNCTION save_fuzz.money(max_cents bigint DEFAULT 9999999999) RETURNS numeric
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    cents bigint;
BEGIN
    CASE save_fuzz.pick(6)
        WHEN 0 THEN cents := 0;
        WHEN 1 THEN cents := max_cents;
        WHEN 2 THEN cents := floor(random() * least(max_cents, 100000))::bigint;
        ELSE cents := floor(random() * (max_cents + 1))::bigint;
    END CASE;
    cents := least(cents, max_cents);
    RETURN CASE WHEN save_fuzz.chance(0.5) THEN trim_scale(round(cents::numeric / 100, 2))
                ELSE round(cents::numeric / 100, 2) END;
END
$$;

-- text_value(tag, max): a name or template: plain, with quotes, backslashes,
-- tabs, newlines and non-ASCII text, or as long as allowed.
CREATE FUNCTION save_fuzz.text_value(tag text, max integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN CASE save_fuzz.pick(6)
        WHEN 0 THEN tag
        WHEN 1 THEN 'Réduit "' || tag || E'" \\ 会员价'
        WHEN 2 THEN E'Tab\t' || tag || E'\nnext line'
        WHEN 3 THEN tag || ' <b>&amp;</b> ' || repeat('é', 20)
        WHEN 4 THEN tag || ' ' || repeat('长', max - length(tag) - 1)
        ELSE 'Plain ' || tag END;
END
$$;

-- time_value(): "HH:MM".
CREATE FUNCTION save_fuzz.time_value() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT lpad(save_fuzz.pick(24)::text, 2, '0') || ':'
           || lpad((ARRAY[0, 15, 30, 45, 59, 1])[1 + save_fuzz.pick(6)]::text, 2, '0')
$$;

-- timing(e): e with a new random timing; the other mode's fields are left
-- out, or sent as null (null counts as absent).
CREATE FUNCTION save_fuzz.timing(e jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    nulls boolean := save_fuzz.chance(0.5);
BEGIN
    e := e - 'hours_after' - 'days_after' - 'time_of_day';
    IF save_fuzz.chance(0.5) THEN
        e := e || jsonb_build_object('timing_mode', 'hours_after',
                                     'hours_after', (ARRAY[0, 8760, 1 + save_fuzz.pick(72), save_fuzz.pick(8761)])[1 + save_fuzz.pick(4)]);
        IF nulls THEN
            e := e || '{"days_after": null, "time_of_day": null}';
        END IF;
    ELSE
        e := e || jsonb_build_object('timing_mode', 'specific_time',
                                     'days_after', (ARRAY[0, 365, save_fuzz.pick(8), save_fuzz.pick(366)])[1 + save_fuzz.pick(4)],
                                     'time_of_day', save_fuzz.time_value());
        IF nulls THEN
            e := e || '{"hours_after": null}';
        END IF;
    END IF;
    RETURN e;
END
$$;

-- clinic_practitioners(c): active practitioners, ascending.
CREATE FUNCTION save_fuzz.clinic_practitioners(c bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(m.user_id ORDER BY m.user_id) FROM service_items.clinic_members m
     WHERE m.clinic_id = c AND m.is_active AND 'practitioner' = ANY (m.roles)
$$;

CREATE FUNCTION save_fuzz.clinic_types(c bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(t.id ORDER BY t.id) FROM service_items.resource_types t WHERE t.clinic_id = c
$$;

/*
 * valid_payload(c, callno): a valid payload for 1 to 3 random live items of
 * clinic c, built from their current load with random edits.  stale tells
 * whether it carries a stale expected version (so must fail with PT409).
 * An echo is the items' load sent back as it is, every section, without
 * edits (lists shuffled): it must change nothing.
 */
CREATE FUNCTION save_fuzz.valid_payload(c bigint, callno integer, OUT p jsonb, OUT stale boolean, OUT echo boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    doc jsonb := service_items.bulk_load_associations(c)::jsonb -> 'associations';
    items bigint[] := ARRAY(SELECT (i ->> 'service_item_id')::bigint FROM jsonb_array_elements(doc) i ORDER BY 1);
    people bigint[] := save_fuzz.clinic_practitioners(c);
    types bigint[] := save_fuzz.clinic_types(c);
    chosen bigint[] := '{}';
    item bigint;
    cur jsonb;
    now_assigned jsonb;
    after jsonb;
    list jsonb;
    e jsonb;
    k integer := 0;
    used bigint[];
    orders integer[];
    pr bigint;
    n integer;
    new_default integer;
    sections integer;
BEGIN
    p := '{}';
    stale := false;
    echo := save_fuzz.chance(0.12);
    n := 1 + save_fuzz.pick(3);
    WHILE cardinality(chosen) < n LOOP
        item := items[1 + save_fuzz.pick(cardinality(items))];
        IF NOT item = ANY (chosen) THEN
            chosen := chosen || item;
        END IF;
    END LOOP;
    chosen := ARRAY(SELECT unnest(chosen) ORDER BY 1);

    FOREACH item IN ARRAY chosen LOOP
        cur := (SELECT i FROM jsonb_array_elements(doc) i WHERE (i ->> 'service_item_id')::bigint = item);
        now_assigned := cur -> 'practitioner_assignments';
        after := now_assigned;
        -- each section with probability 1/2, at least one
        sections := CASE WHEN echo THEN 15 ELSE 1 + save_fuzz.pick(15) END;

        IF sections & 1 <> 0 THEN
            after := '[]';
            FOR e IN SELECT x FROM jsonb_array_elements(now_assigned) x LOOP
                IF NOT save_fuzz.edit(echo, 0.3) THEN
                    after := after || e;
                END IF;
            END LOOP;
            FOR i IN 1 .. save_fuzz.pick(CASE WHEN echo THEN 1 ELSE 3 END) LOOP
                pr := people[1 + save_fuzz.pick(cardinality(people))];
                IF NOT after @> to_jsonb(pr) THEN
                    after := after || to_jsonb(pr);
                END IF;
            END LOOP;
            p := jsonb_set(p, '{practitioner_assignments}', coalesce(p -> 'practitioner_assignments', '{}'));
            p := jsonb_set(p, ARRAY['practitioner_assignments', item::text], save_fuzz.shuffle(after));
        END IF;

        IF sections & 2 <> 0 THEN
            FOR pr IN SELECT x::text::bigint FROM jsonb_array_elements(after) x ORDER BY 1 LOOP
                CONTINUE WHEN save_fuzz.edit(echo, 0.4);
                list := '[]';
                FOR e IN SELECT x FROM jsonb_array_elements(coalesce(cur -> 'billing_scenarios' -> pr::text, '[]')) x LOOP
                    k := k + 1;
                    CONTINUE WHEN save_fuzz.edit(echo, 0.15);                      -- removed
                    IF save_fuzz.edit(echo, 0.2) THEN                               -- renamed
                        e := jsonb_set(e, '{name}', to_jsonb(save_fuzz.text_value(format('R%s.%s', callno, k), 255)));
                    END IF;
                    IF save_fuzz.edit(echo, 0.25) THEN                              -- repriced
                        e := jsonb_set(e, '{amount}', to_jsonb(save_fuzz.money()));
                        e := jsonb_set(e, '{revenue_share}',
                                       to_jsonb(save_fuzz.money(((e ->> 'amount')::numeric * 100)::bigint)));
                    ELSIF save_fuzz.edit(echo, 0.15) THEN
                        e := jsonb_set(e, '{revenue_share}',
                                       to_jsonb(save_fuzz.money(((e ->> 'amount')::numeric * 100)::bigint)));
                    END IF;
                    IF save_fuzz.edit(echo, 0.1) THEN                               -- replaced
                        e := e - 'id';
                    END IF;
                    list := list || jsonb_build_array(e);
                END LOOP;
                FOR i IN 1 .. save_fuzz.pick(CASE WHEN echo THEN 1 ELSE 3 END) LOOP                             -- added
                    k := k + 1;
                    e := jsonb_build_object('name', save_fuzz.text_value(format('N%s.%s', callno, k), 255),
                                            'amount', save_fuzz.money());
                    e := e || jsonb_build_object('revenue_share', save_fuzz.money(((e ->> 'amount')::numeric * 100)::bigint));
                    IF save_fuzz.edit(echo, 0.5) THEN
                        e := e || '{"is_default": false}';
                    END IF;
                    list := list || jsonb_build_array(e);
                END LOOP;
                IF jsonb_array_length(list) > 0 AND save_fuzz.edit(echo, 0.4) THEN     -- the default moves
                    new_default := CASE WHEN save_fuzz.edit(echo, 0.3) THEN -1 ELSE save_fuzz.pick(jsonb_array_length(list)) END;
                    FOR i IN 0 .. jsonb_array_length(list) - 1 LOOP
                        list := jsonb_set(list, ARRAY[i::text, 'is_default'], to_jsonb(i = new_default));
                    END LOOP;
                END IF;
                p := jsonb_set(p, '{billing_scenarios}', coalesce(p -> 'billing_scenarios', '{}'));
                p := jsonb_set(p, ARRAY['billing_scenarios', item || '-' || pr], save_fuzz.shuffle(list));
            END LOOP;
        END IF;

        IF sections & 4 <> 0 THEN
            list := '[]';
            used := '{}';
            FOR e IN SELECT x FROM jsonb_array_elements(cur -> 'resource_requirements') x LOOP
                CONTINUE WHEN save_fuzz.edit(echo, 0.2);                           -- removed
                IF save_fuzz.edit(echo, 0.3) THEN                                   -- requantified
                    e := jsonb_set(e, '{quantity}', to_jsonb((ARRAY[1, 1000, 1 + save_fuzz.pick(5), 1 + save_fuzz.pick(1000)])[1 + save_fuzz.pick(4)]));
                END IF;
                IF save_fuzz.edit(echo, 0.2) THEN                                   -- matched on type
                    e := e - 'id';
                END IF;
                IF save_fuzz.edit(echo, 0.1) AND e ? 'id' THEN                      -- retyped
                    e := jsonb_set(e, '{resource_type_id}', to_jsonb(types[1 + save_fuzz.pick(cardinality(types))]));
                END IF;
                IF save_fuzz.edit(echo, 0.5) THEN
                    e := e - 'resource_type_name';
                END IF;
                CONTINUE WHEN (e ->> 'resource_type_id')::bigint = ANY (used);
                used := used || (e ->> 'resource_type_id')::bigint;
                list := list || jsonb_build_array(e);
            END LOOP;
            FOR i IN 1 .. save_fuzz.pick(CASE WHEN echo THEN 1 ELSE 3 END) LOOP                                 -- added
                pr := types[1 + save_fuzz.pick(cardinality(types))];
                CONTINUE WHEN pr = ANY (used);
                used := used || pr;
                list := list || jsonb_build_array(jsonb_build_object('resource_type_id', pr, 'quantity', 1 + save_fuzz.pick(10)));
            END LOOP;
            p := jsonb_set(p, '{resource_requirements}', coalesce(p -> 'resource_requirements', '{}'));
            p := jsonb_set(p, ARRAY['resource_requirements', item::text], save_fuzz.shuffle(list));
        END IF;

        IF sections & 8 <> 0 THEN
            list := '[]';
            FOR e IN SELECT x FROM jsonb_array_elements(cur -> 'follow_up_messages') x LOOP
                k := k + 1;
                CONTINUE WHEN save_fuzz.edit(echo, 0.2);                           -- removed
                IF save_fuzz.edit(echo, 0.3) THEN                                   -- retimed
                    e := save_fuzz.timing(e);
                END IF;
                IF save_fuzz.edit(echo, 0.2) THEN                                   -- rewritten
                    e := jsonb_set(e, '{message_template}', to_jsonb(save_fuzz.text_value(format('T%s.%s {name}', callno, k), 5000)));
                END IF;
                IF save_fuzz.edit(echo, 0.2) THEN
                    e := jsonb_set(e, '{is_enabled}', to_jsonb(NOT (e ->> 'is_enabled')::boolean));
                END IF;
                IF save_fuzz.edit(echo, 0.1) THEN                                   -- replaced
                    e := e - 'id';
                END IF;
                list := list || jsonb_build_array(e);
            END LOOP;
            FOR i IN 1 .. save_fuzz.pick(CASE WHEN echo THEN 1 ELSE 3 END) LOOP                                 -- added
                k := k + 1;
                e := save_fuzz.timing(jsonb_build_object('message_template', save_fuzz.text_value(format('F%s.%s', callno, k), 5000)));
                IF save_fuzz.edit(echo, 0.5) THEN
                    e := e || jsonb_build_object('is_enabled', save_fuzz.edit(echo, 0.5));
                END IF;
                list := list || jsonb_build_array(e || '{"display_order": 0}');
            END LOOP;
            -- display orders: reshuffled, or kept (new entries take the
            -- smallest unused ones)
            IF save_fuzz.edit(echo, 0.4) THEN
                orders := ARRAY(SELECT o FROM generate_series(-2, 30) o ORDER BY random(), o);
                FOR i IN 0 .. jsonb_array_length(list) - 1 LOOP
                    list := jsonb_set(list, ARRAY[i::text, 'display_order'], to_jsonb(orders[i + 1]));
                END LOOP;
            ELSE
                orders := ARRAY(SELECT (x ->> 'display_order')::integer FROM jsonb_array_elements(list) x WHERE x ? 'id');
                FOR i IN 0 .. jsonb_array_length(list) - 1 LOOP
                    CONTINUE WHEN list -> i ? 'id';
                    n := (SELECT min(o) FROM generate_series(1, 1000) o WHERE o <> ALL (orders));
                    orders := orders || n;
                    list := jsonb_set(list, ARRAY[i::text, 'display_order'], to_jsonb(n));
                END LOOP;
            END IF;
            p := jsonb_set(p, '{follow_up_messages}', coalesce(p -> 'follow_up_messages', '{}'));
            p := jsonb_set(p, ARRAY['follow_up_messages', item::text], save_fuzz.shuffle(list));
        END IF;
    END LOOP;

    -- expected_versions: the loaded ones, now and then one stale
    IF save_fuzz.chance(0.35) THEN
        p := p || jsonb_build_object('expected_versions',
                 (SELECT jsonb_object_agg(i ->> 'service_item_id', i -> 'version')
                    FROM jsonb_array_elements(doc) i
                   WHERE (i ->> 'service_item_id')::bigint = ANY (chosen)));
        IF save_fuzz.edit(echo, 0.3) THEN
            item := chosen[1 + save_fuzz.pick(cardinality(chosen))];
            p := jsonb_set(p, ARRAY['expected_versions', item::text],
                           to_jsonb((p -> 'expected_versions' ->> item::text)::bigint + 1));
            stale := true;
        END IF;
    END IF;
END
$$;

-- num(t): t as a number if it is a plain decimal integer, else NULL.
CREATE FUNCTION save_fuzz.num(t text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN t ~ '^[0-9]{1,30}$' THEN t::numeric END $$;

/*
 * entry(p, section): the path of a random entry of a section of p (a list
 * for practitioner_assignments), or NULL.  Keys are walked in numeric order.
 */
CREATE FUNCTION save_fuzz.entry(p jsonb, section text) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    paths text[][];
    n integer;
BEGIN
    IF jsonb_typeof(p -> section) IS DISTINCT FROM 'object' THEN
        RETURN NULL;
    END IF;
    -- keys in numeric order (keys mutated earlier, which are no numbers,
    -- after them); lists and entries only where earlier mutations left any
    IF section = 'practitioner_assignments' THEN
        SELECT array_agg(ARRAY[section, k] ORDER BY save_fuzz.num(k), k), count(*) INTO paths, n
          FROM jsonb_each(p -> section) s(k, v)
         WHERE jsonb_typeof(v) = 'array';
    ELSE
        SELECT array_agg(ARRAY[section, k, (o - 1)::text]
                         ORDER BY save_fuzz.num(split_part(k, '-', 1)), save_fuzz.num(split_part(k, '-', 2)), k, o),
               count(*) INTO paths, n
          FROM jsonb_each(p -> section) s(k, v),
               jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END) WITH ORDINALITY e(x, o)
         WHERE jsonb_typeof(x) = 'object';
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    n := 1 + save_fuzz.pick(n);
    RETURN ARRAY(SELECT unnest(paths[n:n][:]));
END
$$;

/*
 * ensure(c, p, section, callno): p with at least one entry in the section
 * (a fresh, otherwise valid list for a random live item or assigned pair
 * when it had none), and the path of a random entry.
 */
CREATE FUNCTION save_fuzz.ensure(c bigint, INOUT p jsonb, section text, callno integer, OUT path text[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    pair record;
    item bigint;
BEGIN
    path := save_fuzz.entry(p, section);
    IF path IS NOT NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p -> section) IS DISTINCT FROM 'object' THEN
        p := p - section || jsonb_build_object(section, '{}'::jsonb);
    END IF;
    SELECT a.appointment_type_id AS item, a.practitioner_id AS pr INTO pair
      FROM service_items.practitioner_appointment_types a
      JOIN service_items.appointment_types t ON t.clinic_id = a.clinic_id AND t.id = a.appointment_type_id
     WHERE a.clinic_id = c AND NOT t.is_deleted
     ORDER BY a.appointment_type_id, a.practitioner_id
    OFFSET save_fuzz.pick(10) LIMIT 1;
    item := pair.item;
    CASE section
        WHEN 'practitioner_assignments' THEN
            p := jsonb_set(p, ARRAY[section, item::text], jsonb_build_array(pair.pr));
            path := ARRAY[section, item::text];
        WHEN 'billing_scenarios' THEN
            p := jsonb_set(p, ARRAY[section, item || '-' || pair.pr],
                           jsonb_build_array(jsonb_build_object('name', 'M' || callno, 'amount', 10, 'revenue_share', 1)));
            path := ARRAY[section, item || '-' || pair.pr, '0'];
        WHEN 'resource_requirements' THEN
            p := jsonb_set(p, ARRAY[section, item::text],
                           jsonb_build_array(jsonb_build_object('resource_type_id', (save_fuzz.clinic_types(c))[1], 'quantity', 1)));
            path := ARRAY[section, item::text, '0'];
        ELSE
            p := jsonb_set(p, ARRAY[section, item::text],
                           jsonb_build_array(jsonb_build_object('timing_mode', 'hours_after', 'hours_after', 1,
                                                                'message_template', 'M' || callno, 'display_order', 1)));
            path := ARRAY[section, item::text, '0'];
    END CASE;
END
$$;

-- rekey(p, path, new_key): p with the object member at path renamed.
CREATE FUNCTION save_fuzz.rekey(p jsonb, path text[], new_key text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_set(p #- path, path[1:cardinality(path) - 1] ,
                     coalesce((p #- path) #> path[1:cardinality(path) - 1], '{}')
                     || jsonb_build_object(new_key, p #> path))
$$;

/*
 * mutate(c, other, p, callno): p with one mutation that alone makes it
 * invalid; kind names it.
 */
CREATE FUNCTION save_fuzz.mutate(c bigint, other bigint, INOUT p jsonb, callno integer, OUT kind text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    path text[];
    list text[];
    item text;
    e jsonb;
    v jsonb;
    sections constant text[] := ARRAY['practitioner_assignments', 'billing_scenarios',
                                      'resource_requirements', 'follow_up_messages'];
    section text := sections[1 + save_fuzz.pick(4)];
    garbage constant jsonb := '[[[{"x": [1, {"y": null}, "z"]}]], {"practitioner_assignments": {"1": [1]}}, -0.5e-3]';
    deleted_item bigint;
BEGIN
    CASE save_fuzz.pick(49)
    WHEN 0 THEN
        kind := 'wrong_type_amount';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path || '{amount}'::text[], save_fuzz.one_of('["12.50", true, [12], {"value": 12}, null]'));
        IF p #> (path || '{amount}'::text[]) = 'null' THEN
            kind := 'null_required';
        END IF;
    WHEN 1 THEN
        kind := 'wrong_type_quantity';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'resource_requirements', callno);
        p := jsonb_set(p, path || '{quantity}'::text[], save_fuzz.one_of('["2", false, [2], 2.5, 1e-2]'));
    WHEN 2 THEN
        kind := 'wrong_type_boolean';
        IF save_fuzz.chance(0.5) THEN
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
            p := jsonb_set(p, path || '{is_default}'::text[], save_fuzz.one_of('[1, 0, "true", "false", [true]]'));
        ELSE
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
            p := jsonb_set(p, path || '{is_enabled}'::text[], save_fuzz.one_of('[1, "yes", "true", {}]'));
        END IF;
    WHEN 3 THEN
        kind := 'wrong_type_practitioner';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        p := jsonb_set(p, path, (p #> path) || jsonb_build_array(save_fuzz.one_of(
                 jsonb_build_array((save_fuzz.clinic_practitioners(c))[1]::text, true, jsonb_build_array(1), jsonb_build_object('id', 1)))));
    WHEN 4 THEN
        kind := 'out_of_range_amount';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path || '{amount}'::text[], save_fuzz.one_of('[-0.01, -1, 100000000, 99999999.991, 12.345, 1e400, 0.001]'));
    WHEN 5 THEN
        kind := 'out_of_range_quantity';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'resource_requirements', callno);
        p := jsonb_set(p, path || '{quantity}'::text[], save_fuzz.one_of('[0, 1001, -3, 2147483648, 1e30]'));
    WHEN 6 THEN
        kind := 'out_of_range_hours';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path, (p #> path) - 'days_after' - 'time_of_day'
                                || jsonb_build_object('timing_mode', 'hours_after',
                                                      'hours_after', save_fuzz.one_of('[-1, 8761, 100000, 9223372036854775808]')));
    WHEN 7 THEN
        kind := 'out_of_range_days';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path, (p #> path) - 'hours_after'
                                || jsonb_build_object('timing_mode', 'specific_time', 'time_of_day', '10:00',
                                                      'days_after', save_fuzz.one_of('[-1, 366, 5000]')));
    WHEN 8 THEN
        kind := 'revenue_share_exceeds_amount';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path || '{revenue_share}'::text[], to_jsonb((p #>> (path || '{amount}'::text[]))::numeric + 0.01));
    WHEN 9 THEN
        kind := 'unknown_key_top';
        p := p || jsonb_build_object(save_fuzz.one_of('["practitioner_assignment", "extra", "", "Billing_Scenarios", "expected_version"]') #>> '{}',
                                     jsonb_build_object());
    WHEN 10 THEN
        kind := 'unknown_key_entry';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        p := jsonb_set(p, path, (p #> path) || jsonb_build_object(
                 save_fuzz.one_of('["colour", "ID", "Name", "deleted", "appointment_type_id", "nested"]') #>> '{}',
                 save_fuzz.one_of('["red", 1, {"a": {"b": [1]}}]')));
    WHEN 11 THEN
        kind := 'bad_key_item';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        item := save_fuzz.one_of('["abc", "", "1.5", "1e3", "02", " 7", "7 ", "0x1F", "-", "+5", "1-2-3"]') #>> '{}';
        p := save_fuzz.rekey(p, path[1:2], CASE WHEN section = 'billing_scenarios' AND item <> '1-2-3'
                                                  THEN item || '-' || split_part(path[2], '-', 2) ELSE item END);
    WHEN 12 THEN
        kind := 'bad_key_billing';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        item := split_part(path[2], '-', 1);
        p := save_fuzz.rekey(p, path[1:2], (ARRAY[item, 'a-b', item || '-' || split_part(path[2], '-', 2) || '-1',
                                                  '-', item || '-', '-' || split_part(path[2], '-', 2),
                                                  item || '--' || split_part(path[2], '-', 2),
                                                  item || '-' || split_part(path[2], '-', 2) || '.0'])[1 + save_fuzz.pick(8)]);
    WHEN 13 THEN
        kind := 'nested_garbage';
        CASE save_fuzz.pick(3)
            WHEN 0 THEN p := p || jsonb_build_object(section, garbage);
            WHEN 1 THEN
                SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
                p := jsonb_set(p, path[1:2], jsonb_build_object('x', garbage));
            ELSE
                SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
                p := jsonb_set(p, path, garbage);
        END CASE;
    WHEN 14 THEN
        kind := 'deep_nesting';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        v := (repeat('[', 2000) || '{"name": 1}' || repeat(']', 2000))::jsonb;
        IF save_fuzz.chance(0.5) THEN
            p := jsonb_set(p, path, v);
        ELSE
            p := jsonb_set(p, path, (p #> path) || jsonb_build_object('extra', v));
        END IF;
    WHEN 15 THEN
        kind := 'huge_name';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path || '{name}'::text[], to_jsonb(repeat(save_fuzz.one_of('["x", "é", "长"]') #>> '{}',
                                                                    (ARRAY[256, 1000, 200000])[1 + save_fuzz.pick(3)])));
    WHEN 16 THEN
        kind := 'huge_template';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path || '{message_template}'::text[],
                       to_jsonb(repeat(save_fuzz.one_of('["y", "ü", "长"]') #>> '{}', (ARRAY[5001, 20000, 1000000])[1 + save_fuzz.pick(3)])));
    WHEN 17 THEN
        kind := 'huge_key';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        p := save_fuzz.rekey(p, path[1:2], repeat('9', (ARRAY[20, 5000])[1 + save_fuzz.pick(2)])
                                           || CASE WHEN section = 'billing_scenarios' THEN '-' || split_part(path[2], '-', 2) ELSE '' END);
    WHEN 18 THEN
        kind := 'nan_string';
        CASE save_fuzz.pick(3)
            WHEN 0 THEN
                SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
                p := jsonb_set(p, path || (ARRAY['amount', 'revenue_share'])[1 + save_fuzz.pick(2)],
                               save_fuzz.one_of('["NaN", "Infinity", "-Infinity", "nan", "1e400"]'));
            WHEN 1 THEN
                SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'resource_requirements', callno);
                p := jsonb_set(p, path || '{quantity}'::text[], save_fuzz.one_of('["NaN", "Infinity"]'));
            ELSE
                SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
                p := jsonb_set(p, path, (p #> path) - 'days_after' - 'time_of_day'
                                        || jsonb_build_object('timing_mode', 'hours_after',
                                                              'hours_after', save_fuzz.one_of('["NaN", "-Infinity"]')));
        END CASE;
    WHEN 19 THEN
        kind := 'negative_id';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        p := jsonb_set(p, path || '{id}'::text[], save_fuzz.one_of('[-1, -9223372036854775808, 0]'));
    WHEN 20 THEN
        kind := 'negative_practitioner';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        p := jsonb_set(p, path, (p #> path) || save_fuzz.one_of('[-5, 0, -9223372036854775808]'));
    WHEN 21 THEN
        kind := 'other_clinic_practitioner';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        p := jsonb_set(p, path, (p #> path) || to_jsonb((save_fuzz.clinic_practitioners(other))[1]));
    WHEN 22 THEN
        kind := 'other_clinic_resource_type';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'resource_requirements', callno);
        p := jsonb_set(p, path || '{resource_type_id}'::text[], to_jsonb((save_fuzz.clinic_types(other))[1 + save_fuzz.pick(5)]));
    WHEN 23 THEN
        kind := 'other_clinic_item';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        item := (SELECT min(t.id) FROM service_items.appointment_types t WHERE t.clinic_id = other)::text;
        p := save_fuzz.rekey(p, path[1:2], item || CASE WHEN section = 'billing_scenarios' THEN '-' || split_part(path[2], '-', 2) ELSE '' END);
    WHEN 24 THEN
        kind := 'other_clinic_row_id';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        p := jsonb_set(p, path || '{id}'::text[], to_jsonb(coalesce(CASE path[1]
                 WHEN 'billing_scenarios' THEN (SELECT min(b.id) FROM service_items.billing_scenarios b WHERE b.clinic_id = other AND NOT b.is_deleted)
                 WHEN 'resource_requirements' THEN (SELECT min(r.id) FROM service_items.appointment_resource_requirements r WHERE r.clinic_id = other)
                 ELSE (SELECT min(f.id) FROM service_items.follow_up_messages f WHERE f.clinic_id = other) END, -1)));
    WHEN 25 THEN
        kind := 'duplicate_practitioner';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        IF jsonb_array_length(p #> path) = 0 THEN
            p := jsonb_set(p, path, to_jsonb(ARRAY[(save_fuzz.clinic_practitioners(c))[1], (save_fuzz.clinic_practitioners(c))[1]]));
        ELSE
            p := jsonb_set(p, path, (p #> path) || ((p #> path) -> save_fuzz.pick(jsonb_array_length(p #> path))));
        END IF;
    WHEN 26 THEN
        kind := 'duplicate_name';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || jsonb_build_array((p #> path) - 'id' || '{"is_default": false}'));
    WHEN 27 THEN
        kind := 'duplicate_display_order';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || jsonb_build_array((p #> path) - 'id'));
    WHEN 28 THEN
        kind := 'duplicate_resource_type';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'resource_requirements', callno);
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || jsonb_build_array((p #> path) - 'id'));
    WHEN 29 THEN
        kind := 'duplicate_id';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        e := p #> path;
        IF NOT e ? 'id' THEN
            kind := 'duplicate_display_order';   -- no id to repeat: repeat the entry
            e := e || '{"is_default": false}';
            IF path[1] = 'resource_requirements' THEN
                kind := 'duplicate_resource_type';
            ELSIF path[1] = 'billing_scenarios' THEN
                kind := 'duplicate_name';
            END IF;
        END IF;
        IF path[1] = 'billing_scenarios' THEN
            e := e || '{"is_default": false}';
        END IF;
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || jsonb_build_array(e));
    WHEN 30 THEN
        kind := 'missing_required';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        p := jsonb_set(p, path, (p #> path) - (CASE path[1]
                 WHEN 'billing_scenarios' THEN '["name", "amount", "revenue_share"]'::jsonb
                 WHEN 'resource_requirements' THEN '["resource_type_id", "quantity"]'
                 ELSE '["message_template", "display_order", "timing_mode"]' END ->> save_fuzz.pick(3 - (path[1] = 'resource_requirements')::integer)));
    WHEN 31 THEN
        kind := 'null_required';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        p := jsonb_set(p, path || (CASE path[1]
                 WHEN 'billing_scenarios' THEN '["name", "amount", "revenue_share"]'::jsonb
                 WHEN 'resource_requirements' THEN '["resource_type_id", "quantity"]'
                 ELSE '["message_template", "display_order", "timing_mode"]' END ->> save_fuzz.pick(3 - (path[1] = 'resource_requirements')::integer)),
                       'null');
    WHEN 32 THEN
        kind := 'missing_timing_field';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        e := p #> path;
        p := jsonb_set(p, path, CASE WHEN e ->> 'timing_mode' = 'hours_after' THEN e - 'hours_after'
                                     ELSE e - (ARRAY['days_after', 'time_of_day'])[1 + save_fuzz.pick(2)] END);
    WHEN 33 THEN
        kind := 'bad_timing_mode';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path || '{timing_mode}'::text[], save_fuzz.one_of('["weekly", "HOURS_AFTER", "", "hours_after ", 5, ["hours_after"]]'));
    WHEN 34 THEN
        kind := 'other_mode_field';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        e := p #> path;
        p := jsonb_set(p, path, CASE WHEN e ->> 'timing_mode' = 'hours_after'
                                     THEN e || jsonb_build_object((ARRAY['days_after', 'time_of_day'])[1 + save_fuzz.pick(2)], 1)
                                              || CASE WHEN save_fuzz.chance(0.5) THEN '{"time_of_day": "10:00"}' ELSE '{}' END::jsonb
                                     ELSE e || '{"hours_after": 2}' END);
        IF (p #> path) ->> 'time_of_day' = '1' THEN
            p := jsonb_set(p, path || '{time_of_day}'::text[], '"10:00"');
        END IF;
    WHEN 35 THEN
        kind := 'bad_time_of_day';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
        p := jsonb_set(p, path, (p #> path) - 'hours_after'
                                || jsonb_build_object('timing_mode', 'specific_time', 'days_after', 1,
                                                      'time_of_day', save_fuzz.one_of('["24:00", "9:00", "12:00:00", "ab:cd", "12:60", "", "1200", "-1:00", "12:5", 900, "NaN"]')));
    WHEN 36 THEN
        kind := 'multiple_defaults';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        p := jsonb_set(p, path || '{is_default}'::text[], 'true');
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || jsonb_build_array(jsonb_build_object(
                 'name', 'Second default ' || callno, 'amount', 5, 'revenue_share', 0, 'is_default', true)));
    WHEN 37 THEN
        kind := 'empty_text';
        IF save_fuzz.chance(0.5) THEN
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
            p := jsonb_set(p, path || '{name}'::text[], '""');
        ELSE
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
            p := jsonb_set(p, path || '{message_template}'::text[], '""');
        END IF;
    WHEN 38 THEN
        kind := 'control_characters';
        IF save_fuzz.chance(0.5) THEN
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
            p := jsonb_set(p, path || '{name}'::text[], to_jsonb('bad' || chr((ARRAY[1, 8, 11, 12, 13, 27, 31, 127])[1 + save_fuzz.pick(8)]) || 'name'));
        ELSE
            SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'follow_up_messages', callno);
            p := jsonb_set(p, path || '{message_template}'::text[], to_jsonb('bad' || chr((ARRAY[1, 8, 11, 12, 13, 27, 31, 127])[1 + save_fuzz.pick(8)]) || 'template'));
        END IF;
    WHEN 39 THEN
        kind := 'too_many';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[1 + save_fuzz.pick(3)], callno);
        IF path[1] = 'practitioner_assignments' THEN
            p := jsonb_set(p, path, (SELECT jsonb_agg(-x) FROM generate_series(1, 201) x));
        ELSIF path[1] = 'billing_scenarios' THEN
            p := jsonb_set(p, path[1:2], (SELECT jsonb_agg(jsonb_build_object('name', 'n' || x, 'amount', 1, 'revenue_share', 0))
                                            FROM generate_series(1, 201) x));
        ELSE
            p := jsonb_set(p, path[1:2], (SELECT jsonb_agg(jsonb_build_object('resource_type_id', x, 'quantity', 1))
                                            FROM generate_series(1, 201) x));
        END IF;
    WHEN 40 THEN
        kind := 'not_an_object';
        p := save_fuzz.one_of(jsonb_build_array('[]'::jsonb, '"x"'::jsonb, '5'::jsonb, 'null'::jsonb, 'true'::jsonb,
                                                jsonb_build_array(p), to_jsonb(p::text)));
    WHEN 41 THEN
        kind := 'unknown_item';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        deleted_item := (SELECT min(t.id) FROM service_items.appointment_types t WHERE t.clinic_id = c AND t.is_deleted);
        item := (ARRAY[deleted_item::text, '9223372036854775807', '999999999999'])[1 + save_fuzz.pick(3)];
        p := save_fuzz.rekey(p, path[1:2], item || CASE WHEN section = 'billing_scenarios' THEN '-' || split_part(path[2], '-', 2) ELSE '' END);
    WHEN 42 THEN
        kind := 'not_assigned';
        -- billing of an active practitioner the item will not have
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'billing_scenarios', callno);
        item := split_part(path[2], '-', 1);
        list := ARRAY(SELECT x::text FROM unnest(save_fuzz.clinic_practitioners(c)) x
                       WHERE NOT coalesce(p -> 'practitioner_assignments' -> item,
                                          (SELECT jsonb_agg(a.practitioner_id) FROM service_items.practitioner_appointment_types a
                                            WHERE a.clinic_id = c AND a.appointment_type_id::text = item), '[]') @> to_jsonb(x)
                       ORDER BY x);
        IF cardinality(list) = 0 THEN
            p := p || jsonb_build_object('practitioner_assignments', coalesce(p -> 'practitioner_assignments', '{}')
                                         || jsonb_build_object(item, '[]'::jsonb));
            list := ARRAY[split_part(path[2], '-', 2)];
        END IF;
        p := save_fuzz.rekey(p, path[1:2], item || '-' || list[1 + save_fuzz.pick(cardinality(list))]);
    WHEN 43 THEN
        kind := 'not_a_practitioner';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        p := jsonb_set(p, path, (p #> path) || to_jsonb(c * 1000 + (ARRAY[900, 901, 902, 999])[1 + save_fuzz.pick(4)]));
    WHEN 44 THEN
        kind := 'unknown_id';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, sections[2 + save_fuzz.pick(3)], callno);
        item := split_part(path[2], '-', 1);
        p := jsonb_set(p, path || '{id}'::text[], to_jsonb(coalesce(CASE path[1]
                 WHEN 'billing_scenarios' THEN (SELECT max(b.id) FROM service_items.billing_scenarios b
                                                 WHERE b.clinic_id = c AND b.appointment_type_id::text <> item)
                 WHEN 'resource_requirements' THEN (SELECT max(r.id) FROM service_items.appointment_resource_requirements r
                                                     WHERE r.clinic_id = c AND r.appointment_type_id::text <> item)
                 ELSE (SELECT max(f.id) FROM service_items.follow_up_messages f
                        WHERE f.clinic_id = c AND f.appointment_type_id::text <> item) END, -1)));
    WHEN 45 THEN
        kind := 'section_wrong_type';
        p := p || jsonb_build_object(section, save_fuzz.one_of('[[], 5, "x", true, [{"1": [1]}]]'));
    WHEN 47 THEN
        kind := 'many_errors';
        -- 150 unknown practitioners: more errors than DETAIL holds
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, 'practitioner_assignments', callno);
        p := jsonb_set(p, path, (SELECT jsonb_agg(c * 1000 + 500 + x) FROM generate_series(1, 150) x));
    WHEN 46 THEN
        kind := 'null_in_list';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        p := jsonb_set(p, path[1:2], (p #> path[1:2]) || '[null]');
    ELSE
        kind := 'wrong_type_version';
        SELECT * INTO p, path FROM save_fuzz.ensure(c, p, section, callno);
        p := p || jsonb_build_object('expected_versions', jsonb_build_object(split_part(path[2], '-', 1),
                 save_fuzz.one_of('["1", 1.5, true, [1], 0, -1, {"v": 1}]')));
    END CASE;
END
$$;

/*
 * rows(p, state, c): the sets p lists, one row per entry: from p itself
 * when state is false, else as stored now in clinic c.  Entries sent with
 * an id carry it (so an update must keep its row); other values are
 * compared as values.
 */
CREATE FUNCTION save_fuzz.rows(p jsonb, state boolean, c bigint)
RETURNS TABLE (section text, key text, val text)
LANGUAGE plpgsql AS $$
DECLARE
    doc jsonb;
BEGIN
    IF state THEN
        doc := (SELECT coalesce(jsonb_object_agg(i ->> 'service_item_id', i), '{}')
                  FROM jsonb_array_elements(service_items.bulk_load_associations(c,
                           ARRAY(SELECT DISTINCT split_part(k, '-', 1)::bigint
                                   FROM jsonb_each(p - 'expected_versions') s, jsonb_object_keys(s.value) k))::jsonb
                           -> 'associations') i);
    END IF;
    RETURN QUERY
    WITH lists AS (
        SELECT s.key AS section, k.key,
               CASE WHEN NOT state THEN k.value
                    WHEN s.key = 'billing_scenarios'
                    THEN coalesce(doc -> split_part(k.key, '-', 1) -> 'billing_scenarios' -> split_part(k.key, '-', 2), '[]')
                    ELSE coalesce(doc -> k.key -> s.key, '[]') END AS list,
               (SELECT coalesce(jsonb_agg(x -> 'id'), '[]') FROM jsonb_array_elements(k.value) x
                 WHERE jsonb_typeof(x) = 'object' AND x ? 'id' AND x -> 'id' <> 'null') AS ids
          FROM jsonb_each(p) s, jsonb_each(s.value) k
         WHERE s.key <> 'expected_versions' AND jsonb_typeof(k.value) = 'array')
    SELECT l.section, l.key,
           CASE l.section
           WHEN 'practitioner_assignments' THEN e::text
           ELSE concat_ws('|', CASE WHEN l.ids @> jsonb_build_array(e -> 'id') THEN 'id ' || (e ->> 'id') END,
                CASE l.section
                WHEN 'billing_scenarios' THEN
                    concat_ws('|', e ->> 'name', trim_scale((e ->> 'amount')::numeric),
                              trim_scale((e ->> 'revenue_share')::numeric), coalesce((e ->> 'is_default')::boolean, false))
                WHEN 'resource_requirements' THEN
                    concat_ws('|', e ->> 'resource_type_id', e ->> 'quantity')
                ELSE
                    concat_ws('|', e ->> 'display_order', e ->> 'timing_mode', coalesce(e ->> 'hours_after', '-'),
                              coalesce(e ->> 'days_after', '-'), coalesce(e ->> 'time_of_day', '-'),
                              e ->> 'message_template', coalesce((e ->> 'is_enabled')::boolean, true))
                END)
           END
      FROM lists l, jsonb_array_elements(l.list) e;
END
$$;

-- mismatches(c, p): entries sent but not stored, or stored but not sent.
CREATE FUNCTION save_fuzz.mismatches(c bigint, p jsonb) RETURNS bigint
LANGUAGE sql AS $$
    WITH sent AS MATERIALIZED (SELECT * FROM save_fuzz.rows(p, false, c)),
         stored AS MATERIALIZED (SELECT * FROM save_fuzz.rows(p, true, c))
    SELECT count(*) FROM (
        (SELECT * FROM sent EXCEPT ALL SELECT * FROM stored)
        UNION ALL
        (SELECT * FROM stored EXCEPT ALL SELECT * FROM sent)) d
$$;

-- named(p): the items a (valid) payload names.
CREATE FUNCTION save_fuzz.named(p jsonb) RETURNS bigint[]
LANGUAGE sql AS $$
    SELECT coalesce(array_agg(DISTINCT split_part(k, '-', 1)::bigint), '{}')
      FROM jsonb_each(p) s, jsonb_object_keys(s.value) k
$$;

/*
 * count_check(c, p): computed before a save of a valid payload p, what its
 * counts must be, per section: every listed entry is inserted, updated or
 * unchanged; every current row of a listed set that is neither updated nor
 * unchanged is deleted, and so are the live scenarios of a practitioner
 * taken off an item.  Returns {section: [listed, current, extra_deleted]}.
 */
CREATE FUNCTION save_fuzz.count_check(c bigint, p jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    WITH sections(section) AS (
        VALUES ('practitioner_assignments'), ('billing_scenarios'), ('resource_requirements'), ('follow_up_messages')),
    listed AS (SELECT section, count(*) AS n FROM save_fuzz.rows(p, false, c) GROUP BY 1),
    current AS (SELECT section, count(*) AS n FROM save_fuzz.rows(p, true, c) GROUP BY 1),
    items AS (
        SELECT i ->> 'service_item_id' AS id, i AS item
          FROM jsonb_array_elements(service_items.bulk_load_associations(c, save_fuzz.named(p))::jsonb -> 'associations') i),
    taken_off AS (
        SELECT sum(jsonb_array_length(b.value)) AS n
          FROM jsonb_each(p -> 'practitioner_assignments') a
          JOIN items ON items.id = a.key, jsonb_each(items.item -> 'billing_scenarios') b
         WHERE NOT a.value @> b.key::jsonb)
    SELECT jsonb_object_agg(s.section, jsonb_build_array(coalesce(l.n, 0), coalesce(cu.n, 0),
                                                         CASE WHEN s.section = 'billing_scenarios'
                                                              THEN coalesce((SELECT n FROM taken_off), 0) ELSE 0 END))
      FROM sections s LEFT JOIN listed l USING (section) LEFT JOIN current cu USING (section)
$$;

-- others_digest(c, items): rows and xmin of everything of clinic c that
-- belongs to an item not in items.
CREATE FUNCTION save_fuzz.others_digest(c bigint, items bigint[]) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT md5(string_agg(t, E'\n' ORDER BY t))
  FROM (SELECT 'a' || x.xmin || (x.*)::text FROM service_items.appointment_types x WHERE x.clinic_id = c AND x.id <> ALL (items)
        UNION ALL SELECT 'p' || x.xmin || (x.*)::text FROM service_items.practitioner_appointment_types x WHERE x.clinic_id = c AND x.appointment_type_id <> ALL (items)
        UNION ALL SELECT 'b' || x.xmin || (x.*)::text FROM service_items.billing_scenarios x WHERE x.clinic_id = c AND x.appointment_type_id <> ALL (items)
        UNION ALL SELECT 'q' || x.xmin || (x.*)::text FROM service_items.appointment_resource_requirements x WHERE x.clinic_id = c AND x.appointment_type_id <> ALL (items)
        UNION ALL SELECT 'f' || x.xmin || (x.*)::text FROM service_items.follow_up_messages x WHERE x.clinic_id = c AND x.appointment_type_id <> ALL (items)
       ) rows(t)
$$;

CREATE FUNCTION save_fuzz.versions(c bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_object_agg(a.id::text, a.associations_version) FROM service_items.appointment_types a WHERE a.clinic_id = c
$$;

CREATE TABLE save_fuzz.log (
    callno integer PRIMARY KEY,
    kind text NOT NULL,            -- valid, stale, or the mutations
    outcome text NOT NULL,         -- ok or the SQLSTATE
    changed boolean,               -- a successful save changed something
    problems text[] NOT NULL,      -- what did not hold
    error_codes text[],            -- the codes of a 22023's errors
    changes jsonb                  -- the counts a successful save returned
);

/*
 * run(calls): the fuzz loop.  Every call runs in its own subtransaction.
 */
CREATE FUNCTION save_fuzz.run(calls integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c bigint := service_items_demo.create_clinic(20, 3, 'save_fuzz');
    other bigint := service_items_demo.create_clinic(3, 3, 'save_fuzz other');
    g record;
    p jsonb;
    kinds text[];
    kind text;
    expected text;
    before text;
    versions_before jsonb;
    versions_after jsonb;
    audit_before bigint;
    digest_before text;
    counts_before jsonb;
    named bigint[];
    v jsonb;
    r jsonb;
    outcome text;
    message text;
    detail text;
    problems text[];
    changed boolean;
    codes text[];
    bumped integer;
BEGIN
    FOR callno IN 1 .. calls LOOP
        SELECT * INTO g FROM save_fuzz.valid_payload(c, callno);
        p := g.p;
        kinds := '{}';
        IF callno % 2 = 0 THEN
            -- a stale version would win over the errors: mutated payloads
            -- carry none
            IF g.stale THEN
                p := p - 'expected_versions';
            END IF;
            FOR i IN 1 .. 1 + save_fuzz.pick(3) LOOP
                SELECT m.p, m.kind INTO p, kind FROM save_fuzz.mutate(c, other, p, callno) m;
                kinds := kinds || kind;
                EXIT WHEN kind = 'not_an_object';
            END LOOP;
            expected := '22023';
            kind := array_to_string(kinds, ',');
        ELSIF g.stale THEN
            expected := 'PT409';
            kind := 'stale';
        ELSE
            expected := 'ok';
            kind := CASE WHEN g.echo THEN 'echo' ELSE 'valid' END;
        END IF;

        problems := '{}';
        changed := NULL;
        codes := NULL;
        r := NULL;
        message := NULL;
        detail := NULL;
        before := service_items_demo.clinic_checksum(c);
        versions_before := save_fuzz.versions(c);
        audit_before := (SELECT count(*) FROM service_items.association_audit u WHERE u.clinic_id = c);
        named := CASE WHEN jsonb_typeof(p) = 'object' AND expected = 'ok' THEN save_fuzz.named(p) END;
        digest_before := CASE WHEN named IS NOT NULL THEN save_fuzz.others_digest(c, named) END;
        counts_before := CASE WHEN named IS NOT NULL THEN save_fuzz.count_check(c, p) END;

        BEGIN
            v := service_items.validate_associations(c, p);
        EXCEPTION WHEN OTHERS THEN
            v := jsonb_build_object('raised', SQLSTATE, 'message', SQLERRM);
        END;
        IF service_items_demo.clinic_checksum(c) <> before THEN
            problems := problems || 'validate wrote'::text;
        END IF;

        BEGIN
            r := service_items.bulk_save_associations(c, p)::jsonb;
            outcome := 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS outcome = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
        END;

        IF outcome <> expected THEN
            problems := problems || format('expected %s, got %s %s', expected, outcome, coalesce(message, ''));
        END IF;
        -- validate agrees: valid exactly when the save succeeds, or raises
        -- what the save raises (a payload that is not an object)
        IF v ? 'raised' THEN
            IF v ->> 'raised' <> outcome THEN
                problems := problems || format('validate raised %s: %s', v ->> 'raised', v ->> 'message');
            END IF;
        ELSIF (v ->> 'valid')::boolean IS DISTINCT FROM (outcome = 'ok') THEN
            problems := problems || format('validate says valid=%s', v ->> 'valid');
        END IF;

        IF outcome = 'ok' THEN
            -- every listed set stored as sent
            IF save_fuzz.mismatches(c, p) <> 0 THEN
                problems := problems || 'load differs from payload'::text;
            END IF;
            named := save_fuzz.named(p);
            IF r -> 'associations' IS DISTINCT FROM
               (service_items.bulk_load_associations(c, named)::jsonb -> 'associations') THEN
                problems := problems || 'response differs from load'::text;
            END IF;
            IF digest_before IS NOT NULL AND save_fuzz.others_digest(c, named) <> digest_before THEN
                problems := problems || 'items not named were written'::text;
            END IF;
            IF counts_before IS NOT NULL AND EXISTS (
                   SELECT FROM jsonb_each(r -> 'changes') s, LATERAL (SELECT counts_before -> s.key AS k) x
                    WHERE (s.value ->> 'inserted')::int + (s.value ->> 'updated')::int + (s.value ->> 'unchanged')::int
                          <> (x.k ->> 0)::int
                       OR (s.value ->> 'deleted')::int
                          <> (x.k ->> 1)::int - (s.value ->> 'updated')::int - (s.value ->> 'unchanged')::int + (x.k ->> 2)::int) THEN
                problems := problems || ('counts do not add up: ' || (r -> 'changes')::text || ' for ' || counts_before::text);
            END IF;
            changed := EXISTS (SELECT FROM json_each(r::json -> 'changes') s
                                WHERE (s.value ->> 'inserted')::int + (s.value ->> 'updated')::int + (s.value ->> 'deleted')::int > 0);
            versions_after := save_fuzz.versions(c);
            bumped := (SELECT count(*) FROM jsonb_each(versions_after) a
                        WHERE a.value <> versions_before -> a.key);
            IF EXISTS (SELECT FROM jsonb_each(versions_after) a
                        WHERE (a.value)::bigint - (versions_before ->> a.key)::bigint NOT IN (0, 1)
                           OR ((a.value)::bigint <> (versions_before ->> a.key)::bigint AND NOT a.key::bigint = ANY (named))) THEN
                problems := problems || 'versions moved wrongly'::text;
            END IF;
            IF changed AND bumped = 0 OR NOT changed AND bumped > 0 THEN
                problems := problems || format('changed=%s but %s versions bumped', changed, bumped);
            END IF;
            IF NOT changed AND service_items_demo.clinic_checksum(c) <> before THEN
                problems := problems || 'a save without changes wrote'::text;
            END IF;
            IF g.echo AND changed THEN
                problems := problems || ('sending the load back changed something: ' || (r -> 'changes')::text);
            END IF;
            IF (SELECT count(*) FROM service_items.association_audit u WHERE u.clinic_id = c)
               <> audit_before + changed::integer THEN
                problems := problems || 'audit rows'::text;
            END IF;
            -- a removed practitioner takes the pair's live scenarios along
            IF EXISTS (SELECT FROM service_items.billing_scenarios b
                        WHERE b.clinic_id = c AND NOT b.is_deleted AND b.appointment_type_id = ANY (named)
                          AND NOT EXISTS (SELECT FROM service_items.practitioner_appointment_types a
                                           WHERE a.clinic_id = c AND a.appointment_type_id = b.appointment_type_id
                                             AND a.practitioner_id = b.practitioner_id)) THEN
                problems := problems || 'live scenarios of an unassigned practitioner'::text;
            END IF;
        ELSE
            IF service_items_demo.clinic_checksum(c) <> before THEN
                problems := problems || 'a failed save wrote'::text;
            END IF;
            IF outcome = '22023' AND message LIKE 'invalid associations payload: %' THEN
                codes := ARRAY(SELECT DISTINCT x ->> 'code' FROM jsonb_array_elements(detail::jsonb) x ORDER BY 1);
                IF (v ->> 'error_count')::int IS DISTINCT FROM substring(message FROM ': (\d+) error')::int THEN
                    problems := problems || format('validate counts %s errors, save: %s', v ->> 'error_count', message);
                END IF;
                IF v -> 'errors' IS DISTINCT FROM detail::jsonb THEN
                    problems := problems || 'validate errors differ from DETAIL'::text;
                END IF;
                IF jsonb_array_length(detail::jsonb) <> least(substring(message FROM ': (\d+) error')::int, 100) THEN
                    problems := problems || 'DETAIL holds the wrong number of errors'::text;
                END IF;
                -- paths are SQL/JSON paths that find the offending value (a
                -- missing required field has none)
                BEGIN
                    IF EXISTS (SELECT FROM jsonb_array_elements(detail::jsonb) x
                                WHERE x ->> 'code' <> 'required'
                                  AND NOT jsonb_path_exists(p, (x ->> 'path')::jsonpath)) THEN
                        problems := problems || 'an error path finds nothing'::text;
                    END IF;
                EXCEPTION WHEN OTHERS THEN
                    problems := problems || ('error path is not a SQL/JSON path: ' || SQLERRM);
                END;
            ELSIF outcome = 'PT409' THEN
                IF EXISTS (SELECT FROM jsonb_array_elements(v -> 'errors') x WHERE x ->> 'code' <> 'version_conflict') THEN
                    problems := problems || 'validate reports more than the version conflict'::text;
                END IF;
            END IF;
        END IF;

        INSERT INTO save_fuzz.log VALUES (callno, kind, outcome, changed, problems, codes, r -> 'changes');
    END LOOP;
END
$$;

\set ECHO all
SELECT setseed(0.20261204);
SELECT save_fuzz.run(300);

-- Summary.  Every call is accounted for, none failed a check.
SELECT count(*) AS calls,
       count(*) FILTER (WHERE kind = 'valid' AND outcome = 'ok') AS valid_saved,
       count(*) FILTER (WHERE kind = 'valid' AND outcome = 'ok' AND changed) AS valid_that_changed,
       count(*) FILTER (WHERE kind = 'echo' AND outcome = 'ok' AND NOT changed) AS echo_saved_unchanged,
       count(*) FILTER (WHERE kind = 'stale' AND outcome = 'PT409') AS stale_refused_pt409,
       count(*) FILTER (WHERE kind NOT IN ('valid', 'echo', 'stale') AND outcome = '22023') AS invalid_refused_22023,
       count(*) FILTER (WHERE cardinality(problems) > 0) AS calls_with_problems
  FROM save_fuzz.log;

-- Any problem, by call.
SELECT callno, kind, outcome, problems FROM save_fuzz.log WHERE cardinality(problems) > 0 ORDER BY callno;

-- Outcomes by kind of payload.
SELECT kind, outcome, count(*) FROM (
    SELECT CASE WHEN kind IN ('valid', 'echo', 'stale') THEN kind ELSE 'mutated' END AS kind, outcome FROM save_fuzz.log) l
 GROUP BY 1, 2 ORDER BY 1, 2;

-- What the successful saves did, per section.
SELECT s.key AS section, sum((s.value ->> 'inserted')::int) AS inserted, sum((s.value ->> 'updated')::int) AS updated,
       sum((s.value ->> 'deleted')::int) AS deleted, sum((s.value ->> 'unchanged')::int) AS unchanged
  FROM save_fuzz.log l, jsonb_each(l.changes) s
 GROUP BY 1 ORDER BY 1;

-- Every mutation was tried, and the error codes they drew.
SELECT count(DISTINCT m) AS mutation_kinds_tried
  FROM save_fuzz.log, unnest(string_to_array(kind, ',')) m WHERE kind NOT IN ('valid', 'echo', 'stale');
SELECT string_agg(DISTINCT code, ' ' ORDER BY code) AS error_codes_seen
  FROM save_fuzz.log, unnest(error_codes) code;

DROP SCHEMA save_fuzz CASCADE;
DELETE FROM service_items.clinics WHERE name IN ('save_fuzz', 'save_fuzz other');
