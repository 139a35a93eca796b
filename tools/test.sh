#!/usr/bin/env bash
# tools/test.sh: build, install and run every test of service_items in one
# throwaway PostgreSQL 15 cluster.
#
#   bash tools/test.sh
#
# Runs `make installcheck` (pg_regress: sql/ + expected/; then the isolation
# specs in specs/) and `make prove` (pgTAP: test/) inside one pg_virtualenv
# cluster with pg_stat_statements and service_items preloaded (track = all;
# the call statistics in shared memory), then the per-backend fallback of the
# statistics (sql/stats_backend*.sql, which the Makefile leaves out of the
# main run) in a second, small cluster without service_items preloaded, and
# ends with one summary line "N passed, M failed" over both.  Exits non-zero
# when anything fails.
# Works as root (CI) and as an ordinary user who may run `make install`.
# Needs: postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
# libtap-parser-sourcehandler-pgtap-perl make gcc (.ci/run installs them).
set -euo pipefail

cd "$(dirname "$0")/.."

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# The throwaway cluster takes its encoding from the locale: without one (a
# bare root shell on a fresh machine often has no LANG) it would be SQL_ASCII,
# where non-ASCII names count bytes, not characters.  C.UTF-8 is always there.
export LC_ALL=C.UTF-8 LANG=C.UTF-8

missing=()
[ -x "$PG_CONFIG" ] || missing+=("$PG_CONFIG (Debian package postgresql-server-dev-15)")
command -v pg_virtualenv >/dev/null || missing+=("pg_virtualenv (Debian package postgresql-common)")
command -v pg_prove >/dev/null || missing+=("pg_prove (Debian package libtap-parser-sourcehandler-pgtap-perl)")
command -v make >/dev/null || missing+=("make")
command -v gcc >/dev/null || missing+=("gcc")
if [ -x "$PG_CONFIG" ]; then
    [ -f "$("$PG_CONFIG" --sharedir)/extension/pgtap.control" ] ||
        missing+=("the pgtap extension (Debian package postgresql-15-pgtap)")
    [ -f "$("$PG_CONFIG" --pkglibdir)/pg_stat_statements.so" ] ||
        missing+=("pg_stat_statements (Debian package postgresql-15)")
    [ -f "$("$PG_CONFIG" --sharedir)/extension/plproxy.control" ] ||
        missing+=("PL/Proxy (Debian package postgresql-15-plproxy)")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "tools/test.sh: missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "Install them (as root: bash .ci/run does it, then runs this script)." >&2
    exit 2
fi

echo "== build and install (PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}'))"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install

# Leftovers of an earlier run would be printed as this run's failures.
rm -rf results output_iso regression.diffs regression.out

log=$(mktemp -t service_items_test.XXXXXX)
log_fallback=$(mktemp -t service_items_test.XXXXXX)
log_multi=$(mktemp -t service_items_test.XXXXXX)
trap 'rm -f "$log" "$log_fallback" "$log_multi"' EXIT

echo "== tests in a throwaway cluster (pg_virtualenv), service_items preloaded"
status=0
pg_virtualenv -v 15 \
    -o shared_preload_libraries=pg_stat_statements,service_items \
    -o pg_stat_statements.track=all \
    sh -c "make PG_CONFIG='$PG_CONFIG' installcheck && make PG_CONFIG='$PG_CONFIG' prove" 2>&1 |
    tee "$log" || status=$?

# The statistics without preloading: per-backend counters.  Its results and
# diffs go to results/no_preload/ so that they do not replace the main run's.
fallback_tests=$(find sql -maxdepth 1 -name 'stats_backend*.sql' | sed 's|^sql/||; s|\.sql$||' | sort | tr '\n' ' ')
fallback_status=0
if [ -n "$fallback_tests" ]; then
    echo
    echo "== per-backend statistics in a second throwaway cluster, service_items not preloaded"
    mkdir -p results/no_preload
    pg_virtualenv -v 15 \
        sh -c "make PG_CONFIG='$PG_CONFIG' installcheck REGRESS='$fallback_tests' ISOLATION= EXTRA_REGRESS_OPTS=--outputdir=results/no_preload" 2>&1 |
        tee "$log_fallback" || fallback_status=$?
fi
[ "$status" -ne 0 ] || status=$fallback_status

# The multi-node tests (t/: streaming replica, PL/Proxy shards, dump and
# restore, crash) start clusters of their own, as the postgres user; the
# extension is already installed above.
echo
echo "== multi-node TAP tests (t/: replica, PL/Proxy shards, dump/restore, crash)"
multi_status=0
TAP_NO_INSTALL=1 bash tools/tap.sh 2>&1 | tee "$log_multi" || multi_status=$?
read -r mn_ok mn_all < <(sed -nE 's/^TAP: ([0-9]+) of ([0-9]+) files passed.*/\1 \2/p' "$log_multi" | tail -1; echo)
mn_all=${mn_all:-$(find t -maxdepth 1 -name '*.pl' | wc -l)}
mn_ok=${mn_ok:-0}
mn_asserts=$(sed -nE 's/^TAP: [0-9]+ of [0-9]+ files passed \(([0-9]+) assertions\).*/\1/p' "$log_multi" | tail -1)
[ "$status" -ne 0 ] || status=$multi_status

# Count from what the suites printed.  pg_regress and pg_isolation_regress
# print one "test NAME ... ok|FAILED" line per test (indented, without
# "test", inside a parallel group); make echoes a "+++ regress install-check"
# or "+++ isolation install-check" line before each suite.  pg_prove ends
# with "All tests successful." or a "Test Summary Report" naming each failed
# file as "test/FILE.sql (Wstat: ...".
count_suites() {
    awk '
    /\+\+\+ regress install-check/   { suite = "reg"; next }
    /\+\+\+ isolation install-check/ { suite = "iso"; next }
    /^(psql|pg_prove) /              { suite = ""; next }
    suite != "" && /^(test +| +)[^ \/]+ +\.\.\. / {
        ok = ($0 ~ /\.\.\. ok/ || $0 ~ /\.\.\. failed \(ignored\)/)
        n[suite, ok ? "ok" : "bad"]++
    }
    END { printf "%d %d %d %d\n", n["reg","ok"], n["reg","bad"], n["iso","ok"], n["iso","bad"] }' "$1"
}
read -r reg_ok reg_bad iso_ok iso_bad < <(count_suites "$log")
read -r fb_ok fb_bad _ _ < <(count_suites "$log_fallback")
fb_files=$(echo $fallback_tests | wc -w)
if [ "$fallback_status" -ne 0 ] && [ $((fb_ok + fb_bad)) -lt "$fb_files" ]; then
    fb_bad=$((fb_files - fb_ok))    # the second cluster failed before its tests reported
fi
tap_files=$(find test -maxdepth 1 -name '*.sql' | wc -l)
tap_asserts=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$log" | tail -1)
if grep -q '^All tests successful\.' "$log"; then
    tap_ran=yes tap_ok=$tap_files tap_bad=0
elif grep -q '^Test Summary Report' "$log"; then
    tap_ran=yes
    tap_bad=$(grep -cE '^test/[^ ]+\.sql \(Wstat' "$log" || true)
    tap_ok=$((tap_files - tap_bad))
else
    tap_ran=no tap_ok=0 tap_bad=0   # pgTAP did not run: something before it failed
fi

if [ "$status" -ne 0 ]; then
    for diffs in regression.diffs output_iso/regression.diffs results/no_preload/regression.diffs; do
        if [ -s "$diffs" ]; then
            echo
            echo "== $diffs"
            cat "$diffs"
        fi
    done
fi

passed=$((reg_ok + iso_ok + tap_ok + fb_ok + mn_ok))
failed=$((reg_bad + iso_bad + tap_bad + fb_bad + mn_all - mn_ok))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1    # something failed that printed no test line (build, setup, a crash)
fi

echo
echo "== summary"
tap_note=${tap_asserts:+ ($tap_asserts assertions)}
[ "$tap_ran" = yes ] || tap_note=" (not run)"
echo "pg_regress: $reg_ok passed, $reg_bad failed; isolation: $iso_ok passed, $iso_bad failed;" \
     "pgTAP: $tap_ok of $tap_files files passed$tap_note;" \
     "not preloaded (pg_regress): $fb_ok passed, $fb_bad failed;" \
     "multi-node TAP: $mn_ok of $mn_all files passed${mn_asserts:+ ($mn_asserts assertions)}"
echo "$passed passed, $failed failed"
exit "$status"
