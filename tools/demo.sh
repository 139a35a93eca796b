#!/usr/bin/env bash
# tools/demo.sh: the main job of service_items, end to end.
#
#   bash tools/demo.sh [N_ITEMS [PRACTITIONERS_PER_ITEM]]     (default: 20 3)
#
# On a fresh Debian 12 machine, as root: installs the Debian packages it
# needs (and those of tools/test.sh), builds and installs the extension,
# starts a throwaway PostgreSQL 15 cluster (pg_virtualenv), creates a demo
# clinic (tools/demo_data.sql; 20 service items x 3 practitioners is the
# design document's example), shows how many requests the old settings page
# needed against our one call, makes that call, and prints its server time,
# the size of the document and a pretty-printed excerpt.  The cluster is
# dropped at the end.
set -euo pipefail

cd "$(dirname "$0")/.."

n_items=${1:-20}
per_item=${2:-3}
case "$n_items$per_item" in
    *[!0-9]*) echo "usage: bash tools/demo.sh [N_ITEMS [PRACTITIONERS_PER_ITEM]]" >&2; exit 2 ;;
esac

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# The throwaway cluster takes its encoding from the locale: without one (a
# bare root shell on a fresh machine often has no LANG) it would be SQL_ASCII,
# where non-ASCII names count bytes, not characters.  C.UTF-8 is always there.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
packages=(postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
          libtap-parser-sourcehandler-pgtap-perl libipc-run-perl postgresql-15-plproxy
          make gcc)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tools/demo.sh: missing Debian packages: ${missing[*]}" >&2
        echo "Run this script as root, or install them first." >&2
        exit 2
    fi
    echo "== installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

echo "== build and install"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install

script=$(mktemp -t service_items_demo.XXXXXX.sql)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'SQL'
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SET client_min_messages = warning;
CREATE EXTENSION service_items;
\i tools/demo_data.sql

SELECT service_items_demo.create_clinic(:n_items, :per_item) AS clinic \gset

-- time_calls(clinic, n): server time of the first call of this backend
-- (which prepares the plans) and of n calls after it, each timed on its own.
CREATE FUNCTION pg_temp.time_calls(c bigint, n integer,
    OUT first_ms double precision, OUT median_ms double precision,
    OUT min_ms double precision, OUT max_ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    doc json;
    ms double precision[] := '{}';
BEGIN
    t0 := clock_timestamp();
    doc := service_items.bulk_load_associations(c);
    first_ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        doc := service_items.bulk_load_associations(c);
        ms := ms || 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), min(x), max(x)
      INTO median_ms, min_ms, max_ms FROM unnest(ms) AS x;
END
$$;

-- pretty(json): indented JSON that keeps the document's key order and its
-- numbers and strings exactly as written (jsonb_pretty would reorder keys).
CREATE FUNCTION pg_temp.pretty(j json, ind text DEFAULT '') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    parts text[];
BEGIN
    CASE json_typeof(j)
    WHEN 'object' THEN
        SELECT array_agg(format('%s  %s: %s', ind, to_json(e.key)::text, pg_temp.pretty(e.value, ind || '  '))
                         ORDER BY e.o)
          INTO parts FROM json_each(j) WITH ORDINALITY AS e(key, value, o);
        RETURN CASE WHEN parts IS NULL THEN '{}'
                    ELSE E'{\n' || array_to_string(parts, E',\n') || E'\n' || ind || '}' END;
    WHEN 'array' THEN
        IF NOT EXISTS (SELECT 1 FROM json_array_elements(j) AS e(v)
                        WHERE json_typeof(e.v) IN ('object', 'array')) THEN
            RETURN '[' || coalesce((SELECT string_agg(e.v::text, ', ' ORDER BY e.o)
                                      FROM json_array_elements(j) WITH ORDINALITY AS e(v, o)), '') || ']';
        END IF;
        SELECT array_agg(ind || '  ' || pg_temp.pretty(e.v, ind || '  ') ORDER BY e.o)
          INTO parts FROM json_array_elements(j) WITH ORDINALITY AS e(v, o);
        RETURN E'[\n' || array_to_string(parts, E',\n') || E'\n' || ind || ']';
    ELSE
        RETURN j::text;
    END CASE;
END
$$;

-- Time first: the very first call of this connection prepares the plans.
SELECT round(first_ms::numeric, 2) AS first_ms, round(median_ms::numeric, 2) AS median_ms,
       round(min_ms::numeric, 2) AS min_ms, round(max_ms::numeric, 2) AS max_ms
  FROM pg_temp.time_calls(:clinic, 20) \gset

-- The call, once more, kept for the figures below.
CREATE TEMP TABLE loaded AS
SELECT service_items.bulk_load_associations(:clinic) AS doc;

-- N and M from the document itself: N = service items shown, N x M = the
-- practitioner-item pairs whose billing the old page fetched one by one.
SELECT json_array_length(doc->'associations') AS n,
       (SELECT coalesce(sum(json_array_length(e->'practitioner_assignments')), 0)
          FROM json_array_elements(doc->'associations') e) AS nm,
       (SELECT count(*) FROM json_array_elements(doc->'associations') e
         WHERE json_array_length(e->'practitioner_assignments') = 0) AS unassigned,
       octet_length(doc::text) AS bytes,
       pg_size_pretty(octet_length(doc::text)::bigint) AS size
  FROM loaded \gset

SELECT 3 + :nm + 2 * :n AS old_requests,
       3 + :n * :per_item + 2 * :n AS nominal_requests,
       (SELECT coalesce(sum(json_array_length(s.value)), 0)
          FROM loaded, json_array_elements(doc->'associations') e,
               json_each(e->'billing_scenarios') s) AS scenarios \gset

\echo
SELECT format('== a demo clinic of %s service items x %s practitioners (clinic id %s)', :n_items, :per_item, :clinic);
SELECT format('%s live service items, %s practitioner-item pairs%s.', :n, :nm,
              CASE WHEN :unassigned > 0
                   THEN format(' (%s item(s) with no practitioner at all)', :unassigned) ELSE '' END);
\echo
\echo 'The old settings page: one request, holding one pooled connection, per association:'
SELECT format('    %-58s %5s', label, value) FROM (VALUES
    (1, 'clinic settings + service type groups + practitioners', '3'),
    (2, format('billing scenarios, one per practitioner-item pair (N x M)'), :nm::text),
    (3, format('resource requirements, one per service item (N)'), :n::text),
    (4, format('follow-up messages, one per service item (N)'), :n::text),
    (5, '3 + N x M + 2N', :old_requests || ' requests')) AS r(o, label, value)
 ORDER BY o;
SELECT format('    (with %s practitioners on every item it would be 3 + %s + %s = %s%s)',
              :per_item, :n * :per_item, 2 * :n, :nominal_requests,
              CASE WHEN :n = 20 AND :per_item = 3 THEN '; the design document says "~104"' ELSE '' END)
 WHERE :nominal_requests <> :old_requests;
\echo
\echo 'service_items: 1 request, 1 connection, 1 call:'
SELECT format('    SELECT service_items.bulk_load_associations(%s);', :clinic);
\echo
SELECT format('Server time of the call: median %s ms of 20 calls (min %s, max %s); the first call of a connection, which prepares the plans: %s ms.',
              :'median_ms', :'min_ms', :'max_ms', :'first_ms');
SELECT format('Document: %s bytes%s of compact JSON: %s items, %s assignments, %s billing scenarios.',
              :bytes, CASE WHEN :bytes >= 1024 THEN ' (' || :'size' || ')' ELSE '' END,
              :n, :nm, :scenarios);
\echo
SELECT 'Excerpt: the first service item of the document, pretty-printed (keys in document order):'
 WHERE :n > 0;
SELECT '    ' || pg_temp.pretty(doc->'associations'->0, '    ') FROM loaded WHERE :n > 0;
SELECT format('    ... and %s more service item(s).', :n - 1) WHERE :n > 1;

-- ---------------------------------------------------------------------
-- SAVE: the loaded document sent back as one payload (every item, every
-- section, with expected_versions), in one call and one transaction.
-- ---------------------------------------------------------------------
CREATE TEMP TABLE payload AS
WITH items AS (SELECT e FROM loaded, json_array_elements(doc->'associations') e)
SELECT jsonb_build_object(
         'practitioner_assignments', coalesce((SELECT jsonb_object_agg(e->>'service_item_id', e->'practitioner_assignments') FROM items), '{}'),
         'billing_scenarios', coalesce((SELECT jsonb_object_agg((e->>'service_item_id') || '-' || s.key, s.value)
                                          FROM items, json_each(e->'billing_scenarios') s), '{}'),
         'resource_requirements', coalesce((SELECT jsonb_object_agg(e->>'service_item_id', e->'resource_requirements') FROM items), '{}'),
         'follow_up_messages', coalesce((SELECT jsonb_object_agg(e->>'service_item_id', e->'follow_up_messages') FROM items), '{}'),
         'expected_versions', coalesce((SELECT jsonb_object_agg(e->>'service_item_id', e->'version') FROM items), '{}')) AS p;

-- time_saves(payload, n): median of n saves of a payload that changes
-- nothing (so every call does the same work and writes no row).
CREATE FUNCTION pg_temp.time_saves(c bigint, p jsonb, n integer, OUT median_ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    ms double precision[] := '{}';
BEGIN
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        PERFORM service_items.bulk_save_associations(c, p);
        ms := ms || 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO median_ms FROM unnest(ms) AS x;
END
$$;

-- timed_save(payload): one save and its server time (the commit that
-- follows, with its WAL flush, is the transaction's, not the call's).
CREATE FUNCTION pg_temp.timed_save(c bigint, p jsonb, OUT ms numeric, OUT saved jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    saved := service_items.bulk_save_associations(c, p)::jsonb;
    ms := round((1000 * extract(epoch FROM clock_timestamp() - t0))::numeric, 2);
END
$$;

SELECT round(median_ms::numeric, 2) AS unchanged_ms FROM pg_temp.time_saves(:clinic, (SELECT p FROM payload), 20) \gset
SELECT (SELECT count(*) FROM service_items.association_audit WHERE clinic_id = :clinic) AS audits_after_unchanged \gset

-- One edit: the first item's first scenario gets a new name and amount,
-- and its follow-ups swap their display order.
SELECT e->>'service_item_id' AS edit_item
  FROM loaded, json_array_elements(doc->'associations') e
 WHERE json_array_length(e->'practitioner_assignments') > 0
   AND (SELECT count(*) FROM json_each(e->'billing_scenarios')) > 0
 LIMIT 1 \gset
SELECT (SELECT min(s.key) FROM loaded, json_array_elements(doc->'associations') e, json_each(e->'billing_scenarios') s
         WHERE e->>'service_item_id' = :'edit_item') AS edit_pair \gset
CREATE TEMP TABLE edited AS
SELECT jsonb_set(jsonb_set(p,
           ARRAY['billing_scenarios', :'edit_item' || '-' || :'edit_pair', '0', 'name'], '"Standard Rate 2027"'),
           ARRAY['billing_scenarios', :'edit_item' || '-' || :'edit_pair', '0', 'amount'], '1234.5') AS p
  FROM payload;
SELECT ms AS first_edit_ms, saved FROM pg_temp.timed_save(:clinic, (SELECT p FROM edited)) \gset
-- The same edit again with another amount, now that this connection has
-- prepared the write statements (and with the version the first save left).
UPDATE edited SET p = jsonb_set(jsonb_set(p,
           ARRAY['billing_scenarios', :'edit_item' || '-' || :'edit_pair', '0', 'amount'], '1300'),
           ARRAY['expected_versions', :'edit_item'],
           (SELECT e->'version' FROM jsonb_array_elements(:'saved'::jsonb -> 'associations') e
             WHERE e->>'service_item_id' = :'edit_item'));
SELECT ms AS edit_ms, saved FROM pg_temp.timed_save(:clinic, (SELECT p FROM edited)) \gset

\echo
\echo '== one save, one call, one transaction'
SELECT format('    SELECT service_items.bulk_save_associations(%s, payload);   -- payload: %s items, %s bytes',
              :clinic, (SELECT count(*) FROM payload, jsonb_object_keys(p->'practitioner_assignments')),
              (SELECT octet_length(p::text) FROM payload));
SELECT format('Sending the loaded document back unchanged: median %s ms of 20 saves (server time of the call); no row written, %s audit rows.',
              :'unchanged_ms', :audits_after_unchanged);
SELECT format('Renaming one billing scenario of item %s and changing its amount: %s ms (the first write of this connection, which prepares the write statements: %s ms); billing changes: %s',
              :'edit_item', :'edit_ms', :'first_edit_ms', (:'saved'::jsonb -> 'changes' -> 'billing_scenarios')::text);
SELECT format('Item %s is now at version %s (it was %s: one version per save that changed it); the response carries its associations as they are now.',
              :'edit_item',
              (SELECT e->'version' FROM jsonb_array_elements(:'saved'::jsonb -> 'associations') e
                WHERE e->>'service_item_id' = :'edit_item'),
              (SELECT p->'expected_versions'->>:'edit_item' FROM payload));
SQL

echo "== throwaway cluster (pg_virtualenv)"
pg_virtualenv -v 15 psql -X -v n_items="$n_items" -v per_item="$per_item" -f "$script"
