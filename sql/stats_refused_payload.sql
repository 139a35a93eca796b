/*
 * stats_refused_payload: a payload refused whole adds no rows to the call
 * statistics (SPEC §8, issue 6).  Runs in the main cluster (library
 * preloaded, shared counters).
 *
 * A payload of more than 50,000 entries is refused before anything is read:
 * validate_associations returns one too_many error at "$" and reads no
 * service item, so each such call adds 1 to calls and 0 to rows (the rows
 * of a validation are the live items its payload names and it read);
 * bulk_save_associations raises 22023 for it (an error, no rows).  A
 * validation that reads one item comes first, then the refused ones, then
 * that validation again: rows must be 2 in all.  bytes equal the
 * octet_length of the results, as ever.
 *
 * Clinic 7620001 with item 7620011 (explicit ids; the clinic is deleted at
 * the end).
 */
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS service_items;
SET client_min_messages = notice;

DELETE FROM service_items.clinics WHERE id = 7620001;
INSERT INTO service_items.clinics (id, name) VALUES (7620001, 'stats_refused_payload');
INSERT INTO service_items.appointment_types (clinic_id, id, name, duration_minutes) VALUES
    (7620001, 7620011, 'Item', 30);

CREATE TEMP TABLE payloads (name text PRIMARY KEY, p jsonb NOT NULL);
INSERT INTO payloads
SELECT 'one item', '{"practitioner_assignments": {"7620011": []}}'
UNION ALL
-- 251 lists of 200 practitioners: 50,200 entries
SELECT 'huge', jsonb_build_object('practitioner_assignments',
           (SELECT jsonb_object_agg(k, (SELECT jsonb_agg(g) FROM generate_series(1, 200) g))
              FROM generate_series(7620011, 7620261) k));
CREATE TEMP TABLE results (n serial, fn text, sqlstate text, bytes bigint);

SELECT service_items.stats_reset();

DO $$
DECLARE
    v jsonb;
    order_of_calls text[] := ARRAY['one item', 'huge', 'huge', 'huge', 'one item'];
    which text;
BEGIN
    FOREACH which IN ARRAY order_of_calls LOOP
        v := service_items.validate_associations(7620001, (SELECT p FROM payloads x WHERE x.name = which));
        INSERT INTO results (fn, bytes) VALUES ('validate_associations', octet_length(v::text));
        RAISE NOTICE '%: valid %, % errors, first %', which, v -> 'valid', v -> 'error_count', v #> '{errors,0,code}';
    END LOOP;
    BEGIN
        PERFORM service_items.bulk_save_associations(7620001, (SELECT p FROM payloads x WHERE x.name = 'huge'));
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO results (fn, sqlstate, bytes) VALUES ('bulk_save_associations', SQLSTATE, 0);
        RAISE NOTICE 'save huge: % %', SQLSTATE, SQLERRM;
    END;
END
$$;

SELECT s.function_name, s.calls, s.errors, s.rows,
       s.bytes = (SELECT sum(r.bytes) FROM results r WHERE r.fn = s.function_name) AS bytes_ok
  FROM service_items.stats s
 WHERE s.function_name IN ('validate_associations', 'bulk_save_associations')
 ORDER BY s.function_name;

DELETE FROM service_items.clinics WHERE id = 7620001;
