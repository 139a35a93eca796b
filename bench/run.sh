#!/usr/bin/env bash
# bench/run.sh: the benchmark of service_items (issue 5), in one command.
#
#   bash bench/run.sh
#
# On a fresh Debian 12 machine, as root (or as a user who may `make install`
# and run runuser): installs what it needs (PostgreSQL 15 and its dev
# package, pgbouncer, gnuplot-nox, python3) if missing, builds and installs
# the extension, starts a throwaway PostgreSQL 15 cluster of its own (as the
# postgres user) and a PgBouncer in front of it, fills ONE database with
# demo clinics of 10, 50, 500, 1,000 and 10,000 service items among 50 other
# clinics of 50 items (tools/demo_data.sql), and measures, side by side:
#
#   load   N+1 (design document) | SQL function | bulk_load_associations | floor
#          pgbench, one client, rounds alternating between contenders; and
#          server time of the same calls inside one backend
#   save   old six-step save | bulk_save_associations, every row changed and
#          nothing changed, on the 50-item clinic
#   pool   50 clients through PgBouncer (transaction pooling, 5 server
#          connections) loading pages: N+1 versus one call
#   growth time per item from 10 to 10,000 items; peak backend memory of
#          the 10,000-item load
#   plans  EXPLAIN of every load query of src/plans.c on the 1,000-item clinic
#
# Writes bench/results.md (the tables and the goals of issue 5, met or not),
# bench/chart.dat and bench/chart.png (gnuplot, bench/chart.gp); scratch
# files go to bench/out/ (ignored by git).  The cluster is removed at the end.
# Takes about 8-10 minutes on 2 cores.
#
# Knobs (environment): BENCH_ROUNDS (default 5; the 10,000-item clinic gets
# at most 3), BENCH_SECONDS (pgbench seconds per load/save run, default 2),
# BENCH_POOL_SECONDS (default 30).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
started=$(date +%s)

ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-2}
POOL_SECONDS=${BENCH_POOL_SECONDS:-30}
SIZES=(10 50 500 1000 10000)
OTHER_CLINICS=50           # clinics of 50 items around the measured ones
DB=service_items_bench

PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config

say() { printf '== %s  (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

# --- packages ----------------------------------------------------------------
packages=(postgresql-15 postgresql-server-dev-15 postgresql-client-15 make gcc
          pgbouncer gnuplot-nox python3 procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root to install them)"
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql-15 package creates it)"

# --- build -------------------------------------------------------------------
say "build and install the extension"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install

out=$repo/bench/out
rm -rf "$out"
mkdir -p "$out/scripts" "$out/logs"
measure=$out/measure.tsv     # section size contender round value
facts=$out/facts.tsv         # key value
: > "$measure"
: > "$facts"
fact() { printf '%s\t%s\n' "$1" "$2" >> "$facts"; }

# --- throwaway cluster and PgBouncer (both run as postgres) -------------------
tmp=$(mktemp -d /tmp/service_items_bench.XXXXXX)
chmod 755 "$tmp"
chown postgres: "$tmp"
bouncer_pid=
cleanup() {
    set +e
    [ -n "$bouncer_pid" ] && kill "$bouncer_pid" 2>/dev/null
    [ -f "$tmp/data/postmaster.pid" ] &&
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

say "throwaway cluster in $tmp"
runuser -u postgres -- "$PG_BIN/initdb" -D "$tmp/data" -A trust -U postgres -E UTF8 \
    --locale=C.UTF-8 >/dev/null
cat >> "$tmp/data/postgresql.conf" <<EOF
# bench/run.sh: Unix socket only (no TCP port to collide with), memory for
# the whole data set in shared_buffers, everything else as shipped
# (fsync and synchronous_commit on, JIT as configured by default).
listen_addresses = ''
unix_socket_directories = '$tmp'
port = 5432
shared_buffers = 512MB
max_connections = 120
EOF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w start >/dev/null

export PGHOST=$tmp PGPORT=5432 PGUSER=postgres PGDATABASE=$DB
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -At -c "$1"; }        # one value

psql -X -q -d postgres -c "CREATE DATABASE $DB"

say "demo data: clinics of ${SIZES[*]} items among $OTHER_CLINICS clinics of 50 items"
"${PSQL[@]}" -c 'CREATE EXTENSION service_items' -f tools/demo_data.sql -f bench/peers.sql
# Other clinics before and after the measured ones, so that no measured
# clinic is alone in its tables or at an end of them.
q "SELECT count(service_items_demo.create_clinic(50, 3, 'Other clinic ' || k)) FROM generate_series(1, $((OTHER_CLINICS / 2))) k" >/dev/null
declare -A CLINIC
for n in "${SIZES[@]}"; do
    CLINIC[$n]=$(q "SELECT service_items_demo.create_clinic($n)")
done
q "SELECT count(service_items_demo.create_clinic(50, 3, 'Other clinic ' || k)) FROM generate_series($((OTHER_CLINICS / 2 + 1)), $OTHER_CLINICS) k" >/dev/null
"${PSQL[@]}" -c 'VACUUM ANALYZE'
fact clinics "$(q 'SELECT count(*) FROM service_items.clinics')"
fact items_total "$(q 'SELECT count(*) FROM service_items.appointment_types')"
fact billing_rows_total "$(q 'SELECT count(*) FROM service_items.billing_scenarios')"

# --- correctness first: the SQL function returns the C loader's document ------
say "check: sql_load = bulk_load_associations (as jsonb) for every clinic size"
for n in "${SIZES[@]}"; do
    c=${CLINIC[$n]}
    read -r same bytes sql_bytes items pairs < <(q "
        WITH d AS (SELECT service_items.bulk_load_associations($c) AS doc,
                          service_items_bench.sql_load($c) AS sql_doc)
        SELECT d.doc::jsonb = d.sql_doc::jsonb, octet_length(d.doc::text), octet_length(d.sql_doc::text),
               json_array_length(d.doc -> 'associations'),
               (SELECT coalesce(sum(json_array_length(e -> 'practitioner_assignments')), 0)
                  FROM json_array_elements(d.doc -> 'associations') e)
          FROM d" | tr '|' ' ')
    [ "$same" = t ] || die "sql_load($c) differs from bulk_load_associations($c) (clinic of $n items): the comparison is void"
    fact "doc_bytes_$n" "$bytes"
    fact "sql_doc_bytes_$n" "$sql_bytes"
    fact "items_$n" "$items"
    fact "pairs_$n" "$pairs"
    echo "   $n items: equal as jsonb; $bytes bytes (SQL function: $sql_bytes), $items items, $pairs practitioner-item pairs"
done

# --- pgbench scripts ---------------------------------------------------------
say "pgbench scripts"
S=$out/scripts
for n in "${SIZES[@]}"; do
    c=${CLINIC[$n]}
    echo "SELECT service_items.bulk_load_associations($c);" > "$S/c_$n.sql"
    echo "SELECT service_items_bench.sql_load($c);" > "$S/sql_$n.sql"
    echo "SELECT service_items_bench.floor_load($c);" > "$S/floor_$n.sql"
    q "SELECT service_items_bench.n_plus_1_script($c)" > "$S/n1_$n.sql"
    stmts=$(wc -l < "$S/n1_$n.sql")
    expected=$(( 3 + $(awk -F'\t' -v k="pairs_$n" '$1==k {print $2}' "$facts") + 2 * n ))
    [ "$stmts" -eq "$expected" ] || die "N+1 script of $n items has $stmts statements, expected 3 + NxM + 2N = $expected"
    fact "n1_statements_$n" "$stmts"
done

# Save: the 50-item clinic, states A (as generated) and B (every row differs).
save_clinic=${CLINIC[50]}
for v in A B; do
    q "SELECT quote_literal(service_items_bench.save_payload($save_clinic, '$v')::text)" > "$S/payload_$v.lit"
    q "SELECT service_items_bench.old_save_script($save_clinic, '$v')" > "$S/old_save_$v.sql"
done
fact save_payload_bytes "$(q "SELECT octet_length(service_items_bench.save_payload($save_clinic, 'A')::text)")"
fact old_save_statements "$(wc -l < "$S/old_save_A.sql")"
fact old_save_row_statements "$(grep -vcE '^(BEGIN|COMMIT);$' "$S/old_save_A.sql")"
{ echo "SELECT service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_A.lit"));"; } > "$S/bulk_nothing.sql"
# The same saves with the payload already parsed: read as jsonb from a
# table, so neither the SQL lexer nor jsonb_in sees 56 kB of JSON text.
q "CREATE TABLE service_items_bench.payloads (v text PRIMARY KEY, payload jsonb NOT NULL);
   INSERT INTO service_items_bench.payloads VALUES ('A', $(cat "$S/payload_A.lit")), ('B', $(cat "$S/payload_B.lit"));"
stored() { echo "SELECT service_items.bulk_save_associations($save_clinic, (SELECT p.payload FROM service_items_bench.payloads p WHERE p.v = '$1'));"; }
stored A > "$S/jsonb_nothing.sql"
printf '%s\n' '\if :flip' "$(stored A)" '\set flip 0' '\else' "$(stored B)" '\set flip 1' '\endif' > "$S/jsonb_every.sql"
cp "$S/old_save_A.sql" "$S/old_nothing.sql"
# Every row: alternate B, A, B, ... (pgbench keeps \set variables of a
# client from one transaction to the next), so each save changes every row.
{
    echo '\if :flip'
    echo "SELECT service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_A.lit"));"
    echo '\set flip 0'
    echo '\else'
    echo "SELECT service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_B.lit"));"
    echo '\set flip 1'
    echo '\endif'
} > "$S/bulk_every.sql"
{
    echo '\if :flip'; cat "$S/old_save_A.sql"; echo '\set flip 0'
    echo '\else'; cat "$S/old_save_B.sql"; echo '\set flip 1'
    echo '\endif'
} > "$S/old_every.sql"
restore_a() { q "SELECT 1 FROM service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_A.lit"))" >/dev/null; }

# What each save does, once, checked.
checksum() { q "SELECT service_items_demo.clinic_checksum($save_clinic)"; }
sum0=$(checksum)
fact bulk_nothing_changes "$(q "SELECT (service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_A.lit")) -> 'changes')::text")"
[ "$(checksum)" = "$sum0" ] || die "bulk_save_associations of an unchanged payload rewrote rows (checksum with xmin changed)"
fact bulk_every_changes "$(q "SELECT (service_items.bulk_save_associations($save_clinic, $(cat "$S/payload_B.lit")) -> 'changes')::text")"
restore_a

# --- pgbench runner ------------------------------------------------------------
# pgb NAME SCRIPT [pgbench options]: one pgbench run with a per-transaction
# log; prints "median_ms mean_ms count p95_ms over_1s tps" of its transactions.
pgb() {
    local name=$1 script=$2
    shift 2
    rm -f "$out/logs/$name".*
    if ! pgbench -n -M simple -f "$script" --log --log-prefix="$out/logs/$name" "$@" \
            > "$out/logs/$name.out" 2>&1; then
        cat "$out/logs/$name.out" >&2
        die "pgbench $name failed"
    fi
    local tps
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$out/logs/$name.out" | tail -1)
    # field 3 of a log line: the transaction's latency in microseconds
    cat "$out/logs/$name".[0-9]* | awk '{print $3}' | sort -n |
        awk -v tps="$tps" '{ a[NR] = $1; s += $1; if ($1 > 1000000) over++ }
             END { if (NR == 0) { print "NaN NaN 0 NaN 0 " tps; exit }
                   m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                   p = int(0.95 * NR + 0.999999); if (p < 1) p = 1
                   printf "%.4f %.4f %d %.4f %d %s\n", m / 1000, s / NR / 1000, NR, a[p] / 1000, over + 0, tps }'
    rm -f "$out/logs/$name".[0-9]*
}
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$measure"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
fact loadavg_start "$(loadavg)"

# run length per contender and size: -T seconds, or -t pages for the slow ones
run_args() {
    local who=$1 n=$2
    case "$who:$n" in
        n1:1000) echo "-t 3" ;;
        *) echo "-T $SECONDS_PER_RUN" ;;
    esac
}
# psql_page SCRIPT: one N+1 page driven by psql instead of pgbench: psql
# sends each statement of the file as its own query (one round trip each),
# results to /dev/null.  pgbench needs time quadratic in the number of
# commands to parse a script (a 10,000-item page is 50,000 statements:
# minutes), so the 10,000-item N+1 page is run this way.  Prints ms, minus
# the time psql takes to start, connect and quit (measured once).
psql_page() {
    local t0 t1
    t0=$(date +%s%N)
    psql -X -q -At -v ON_ERROR_STOP=1 -o /dev/null -f "$1" || die "psql $1 failed"
    t1=$(date +%s%N)
    awk -v d="$(( t1 - t0 ))" -v b="$psql_startup_ns" 'BEGIN { printf "%.4f\n", (d - b) / 1e6 }'
}
# calls for the server-time loop, ~0.5 s each
server_calls() {
    local who=$1 n=$2
    case "$who:$n" in
        *:10) echo 400 ;; *:50) echo 200 ;;
        sql:500|sql:1000) echo 5 ;; *:500) echo 30 ;; *:1000) echo 15 ;;
        sql:10000) echo 2 ;; *:10000) echo 4 ;;
    esac
}

# --- load --------------------------------------------------------------------
say "load: $ROUNDS rounds x ${#SIZES[@]} sizes x {N+1, SQL function, C, floor}, pgbench one client"
contenders=(n1 sql c floor)
t0=$(date +%s%N); psql -X -q -At -c '' ; t1=$(date +%s%N); psql_startup_ns=$(( t1 - t0 ))
t0=$(date +%s%N); psql -X -q -At -c '' ; t1=$(date +%s%N)
[ $(( t1 - t0 )) -lt "$psql_startup_ns" ] && psql_startup_ns=$(( t1 - t0 ))
fact psql_startup_ms "$(( psql_startup_ns / 1000000 ))"
for r in $(seq 1 "$ROUNDS"); do
    for n in "${SIZES[@]}"; do
        if [ "$n" -ge 10000 ] && [ "$r" -gt 3 ]; then continue; fi
        # rotate the order each round so no contender always runs first
        for k in 0 1 2 3; do
            who=${contenders[$(( (k + r) % 4 ))]}
            if [ "$who:$n" = n1:10000 ]; then
                record load "$n" "$who" "$r" "$(psql_page "$S/n1_$n.sql")"
                record load_count "$n" "$who" "$r" 1
                continue
            fi
            read -r med mean cnt p95 over tps < <(pgb "load_${who}_${n}_$r" "$S/${who}_$n.sql" $(run_args "$who" "$n"))
            record load "$n" "$who" "$r" "$med"
            record load_count "$n" "$who" "$r" "$cnt"
        done
        # the psql driver against pgbench, on the same 1,000-item page
        if [ "$n" = 1000 ]; then
            record load_psql "$n" n1 "$r" "$(psql_page "$S/n1_$n.sql")"
        fi
        for who in c sql floor; do
            record server "$n" "$who" "$r" "$(q "SELECT service_items_bench.time_calls('$who', ${CLINIC[$n]}, $(server_calls "$who" "$n"))")"
        done
        # what-if: the C load in a backend whose planner takes random
        # page reads as cheap as sequential ones (data in memory or on SSD)
        record server_rpc "$n" c "$r" "$("${PSQL[@]}" -At -c 'SET random_page_cost = 1.1' \
            -c "SELECT service_items_bench.time_calls('c', ${CLINIC[$n]}, $(server_calls c "$n"))")"
    done
    echo "   round $r done"
done
fact loadavg_after_load "$(loadavg)"

# --- save --------------------------------------------------------------------
say "save: $ROUNDS rounds x {old six-step, bulk_save_associations (JSON text, stored jsonb)} x {every row, nothing}"
for r in $(seq 1 "$ROUNDS"); do
    for kind in every nothing; do
        for who in old bulk jsonb; do
            restore_a
            # each run starts from vacuumed tables: the runs before it left
            # thousands of dead versions of the same rows, which a clinic
            # saving its page a few times a minute never has
            "${PSQL[@]}" -c 'VACUUM service_items.appointment_types, service_items.practitioner_appointment_types, service_items.billing_scenarios, service_items.appointment_resource_requirements, service_items.follow_up_messages'
            read -r med mean cnt p95 over tps < <(pgb "save_${who}_${kind}_$r" "$S/${who}_$kind.sql" -D flip=0 -T "$SECONDS_PER_RUN")
            record save "$kind" "$who" "$r" "$med"
            record save_count "$kind" "$who" "$r" "$cnt"
        done
    done
done
restore_a
# the unchanged save, once more, checked: no row rewritten
sum0=$(checksum)
pgb save_check "$S/bulk_nothing.sql" -t 20 >/dev/null
[ "$(checksum)" = "$sum0" ] && fact bulk_nothing_rewrites none ||
    die "20 unchanged saves rewrote rows"
sum0=$(checksum)
pgb save_check_old "$S/old_nothing.sql" -t 1 >/dev/null
[ "$(checksum)" != "$sum0" ] && fact old_nothing_rewrites "every row it names" || fact old_nothing_rewrites none

# --- pool ----------------------------------------------------------------------
say "pool: 50 clients through PgBouncer (transaction pooling, 5 server connections), ${POOL_SECONDS}s each"
bport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/pgbouncer.ini" <<EOF
[databases]
$DB = host=$tmp port=5432 dbname=$DB user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 5
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 100
max_db_connections = 5
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
EOF
chown postgres: "$tmp/pgbouncer.ini"
runuser -u postgres -- /usr/sbin/pgbouncer -d "$tmp/pgbouncer.ini"
for _ in $(seq 50); do [ -s "$tmp/pgbouncer.pid" ] && break; sleep 0.1; done
bouncer_pid=$(cat "$tmp/pgbouncer.pid")
fact pgbouncer_version "$(/usr/sbin/pgbouncer --version | head -1)"
pool_clinic=${CLINIC[50]}
fact pool_items 50
# server connections of the benchmark database, sampled every 100 ms
conn_sql="SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
for who in n1 c; do
    printf '%s \\watch 0.1\n' "$conn_sql" | psql -X -At -P footer=off > "$out/logs/pool_conn_$who.txt" 2>/dev/null &
    watcher=$!
    read -r med mean cnt p95 over tps < <(pgb "pool_$who" "$S/${who}_50.sql" -h 127.0.0.1 -p "$bport" \
                                             -c 50 -j 2 -T "$POOL_SECONDS")
    kill "$watcher"; wait "$watcher" 2>/dev/null || true
    peak=$(sort -n "$out/logs/pool_conn_$who.txt" | tail -1)
    samples=$(wc -l < "$out/logs/pool_conn_$who.txt")
    record pool_tps 50 "$who" 1 "$tps"
    record pool_p95 50 "$who" 1 "$p95"
    record pool_median 50 "$who" 1 "$med"
    record pool_over1s 50 "$who" 1 "$over"
    record pool_pages 50 "$who" 1 "$cnt"
    record pool_peak_conn 50 "$who" 1 "$peak"
    record pool_conn_samples 50 "$who" 1 "$samples"
    echo "   $who: $tps pages/s, p95 $p95 ms, $over pages over 1 s, peak $peak server connections ($samples samples)"
done
kill "$bouncer_pid"; bouncer_pid=

# --- memory of the 10,000-item load --------------------------------------------
say "memory: peak of one backend during the 10,000-item load"
big=${CLINIC[10000]}
small=${CLINIC[10]}
for mode in function client; do
    rm -f "$out/mem_$mode.stop" "$out/mem_$mode.txt"
    if [ "$mode" = function ]; then
        call="SELECT octet_length(service_items.bulk_load_associations($big)::text);"
    else
        call="SELECT service_items.bulk_load_associations($big);"
    fi
    psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<EOF
SELECT pg_backend_pid() AS pid \gset
SELECT octet_length(service_items.bulk_load_associations($small)::text);
SELECT octet_length(service_items.bulk_load_associations($small)::text);
\setenv BENCH_PID :pid
\! python3 "$repo/bench/memsample.py" "\$BENCH_PID" "$out/mem_$mode.stop" "$out/mem_$mode.txt" &
SELECT pg_sleep(0.5);
\o /dev/null
$call
\o
\! touch "$out/mem_$mode.stop"
SELECT pg_sleep(0.3);
EOF
    for _ in $(seq 50); do [ -s "$out/mem_$mode.txt" ] && break; sleep 0.1; done
    while read -r key value; do fact "mem_${mode}_$key" "$value"; done < "$out/mem_$mode.txt"
done

# --- plans ---------------------------------------------------------------------
say "plans: EXPLAIN of the loader's queries (src/plans.c) on the 1,000-item clinic"
# The *_ALL statements, taken from src/plans.c itself (C string literals
# joined, the LIVE_PRACTITIONER macro expanded), so this never drifts.
perl -0777 -ne '
    my $str = qr/"((?:[^"\\]|\\.)*)"/;
    my ($macro) = /#define\s+LIVE_PRACTITIONER((?:\s*\\?\s*"(?:[^"\\]|\\.)*")+)/;
    my $lp = join "", ($macro // "") =~ /$str/g;
    while (/\[SI_PLAN_(\w+_ALL)\]\s*=\s*\{(.*?),\s*\d+\s*,\s*\{/sg) {
        my ($name, $body) = ($1, $2);
        my $sql = "";
        while ($body =~ /$str|(LIVE_PRACTITIONER)/g) { $sql .= defined $1 ? $1 : $lp; }
        $sql =~ s/\\"/"/g; $sql =~ s/\\\\/\\/g;
        print "$name\t$sql\n";
    }' src/plans.c > "$out/plans.tsv"
[ "$(wc -l < "$out/plans.tsv")" -ge 5 ] || die "could not read the load statements from src/plans.c"
mid=${CLINIC[1000]}
plans_ok=yes
: > "$out/plans.txt"
while IFS=$'\t' read -r name sql; do
    for mode in force_custom_plan force_generic_plan; do
        plan=$(psql -X -At -v ON_ERROR_STOP=1 <<EOF
SET plan_cache_mode = $mode;
PREPARE p(bigint) AS $sql;
EXPLAIN EXECUTE p($mid);
EOF
)
        scans=$(grep -oE '(Seq Scan|Index Only Scan|Index Scan( Backward)?|Bitmap Heap Scan|Bitmap Index Scan)( using [a-z_]+)? on [a-z_]+' <<< "$plan" | sort -u | paste -sd ';' -)
        if grep -q 'Seq Scan' <<< "$plan"; then plans_ok=no; verdict=SEQSCAN; else verdict=ok; fi
        printf '%s\t%s\t%s\t%s\n' "$name" "$mode" "$verdict" "$scans" >> "$out/plans.txt"
    done
done < "$out/plans.tsv"
fact plans_all_index "$plans_ok"
cat "$out/plans.txt" | sed 's/^/   /'

# sql_load: how much of it is planning (a LANGUAGE sql function plans its
# statement at every call), on the 1,000-item clinic
body=$(q "SELECT prosrc FROM pg_proc WHERE oid = 'service_items_bench.sql_load(bigint)'::regprocedure")
fact sql_load_planning_ms_1000 "$(psql -X -At -c "EXPLAIN (SUMMARY ON, FORMAT JSON) ${body//p_clinic_id/$mid}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Planning Time"])')"

# --- the machine, versions, report -----------------------------------------------
fact loadavg_end "$(loadavg)"
fact nproc "$(nproc)"
fact cpu "$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)"
fact memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
fact kernel "$(uname -r)"
fact os "$(. /etc/os-release && echo "$PRETTY_NAME")"
fact postgres_version "$(q 'SHOW server_version')"
fact pgbench_version "$(pgbench --version)"
fact jit "$(q 'SHOW jit')"
fact shared_buffers "$(q 'SHOW shared_buffers')"
fact rounds "$ROUNDS"
fact seconds_per_run "$SECONDS_PER_RUN"
fact pool_seconds "$POOL_SECONDS"
fact elapsed_s "$(( $(date +%s) - started ))"

say "report"
python3 bench/report.py "$out" "$repo/bench"
(cd bench && gnuplot chart.gp)
echo
cat bench/results.md
say "done: bench/results.md, bench/chart.png"
