#!/usr/bin/env bash
# tools/tap.sh: run the multi-node TAP tests of service_items (t/*.pl):
# streaming replica, PL/Proxy shards, pg_dump/pg_restore, crash recovery.
#
#   bash tools/tap.sh                 # every file in t/
#   bash tools/tap.sh t/002_shards.pl # some of them
#   TAP_VERBOSE=1 bash tools/tap.sh   # prove -v (every assertion printed)
#   TAP_NO_INSTALL=1 bash tools/tap.sh  # test the installed build as it is
#   SI_LATENCY_CALLS=400 bash tools/tap.sh t/002_shards.pl  # longer latency run
# (SI_* and PG_TEST_* variables reach the tests.)
#
# The tests start their own clusters with PostgreSQL::Test::Cluster (shipped
# with postgresql-server-dev-15).  initdb and postgres refuse to run as root,
# so as root (CI) this script builds and installs the extension, copies what
# the tests read (t/, proxy/, tools/) to a temporary directory owned by the
# postgres user and runs prove there as that user (runuser).  As an ordinary
# user it runs prove itself (the extension must already be installed, or
# `make install` must be allowed).  Exits non-zero when a test fails; the
# clusters' logs of a failed run are kept and their directory printed.
# Needs: postgresql-15 postgresql-server-dev-15 postgresql-15-plproxy
# libipc-run-perl make gcc.
set -euo pipefail

cd "$(dirname "$0")/.."
src=$(pwd)

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
RUN_AS=${TAP_USER:-postgres}

missing=()
[ -x "$PG_CONFIG" ] || missing+=("$PG_CONFIG (Debian package postgresql-server-dev-15)")
if [ -x "$PG_CONFIG" ]; then
    bindir=$("$PG_CONFIG" --bindir)
    pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")/../..
    pgxs=$(cd "$pgxs" && pwd)
    perl_lib=$pgxs/src/test/perl
    pg_regress=$pgxs/src/test/regress/pg_regress
    [ -f "$perl_lib/PostgreSQL/Test/Cluster.pm" ] ||
        missing+=("PostgreSQL::Test::Cluster (Debian package postgresql-server-dev-15)")
    [ -f "$("$PG_CONFIG" --sharedir)/extension/plproxy.control" ] ||
        missing+=("PL/Proxy (Debian package postgresql-15-plproxy)")
fi
perl -MIPC::Run -e 1 2>/dev/null || missing+=("IPC::Run (Debian package libipc-run-perl)")
command -v prove >/dev/null || missing+=("prove (Debian package perl)")
command -v make >/dev/null || missing+=("make")
if [ ${#missing[@]} -gt 0 ]; then
    echo "tools/tap.sh: missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 2
fi

if [ -z "${TAP_NO_INSTALL:-}" ] &&
   { [ "$(id -u)" -eq 0 ] || [ -w "$("$PG_CONFIG" --pkglibdir)" ]; }; then
    echo "== build and install"
    make -s PG_CONFIG="$PG_CONFIG"
    make -s PG_CONFIG="$PG_CONFIG" install
fi

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(t/*.pl)

# A copy of what the tests read, writable by whoever runs them.
work=$(mktemp -d -t service_items_tap.XXXXXX)
cp -R t proxy tools "$work"/
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chown -R "$RUN_AS" "$work"
    as_user=(runuser -u "$RUN_AS" --)
fi

prove_flags=()
[ -n "${TAP_VERBOSE:-}" ] && prove_flags+=(-v)

echo "== TAP tests (${tests[*]}) in $work"
log="$work/prove.log"
status=0
(cd "$work" && "${as_user[@]}" env "${passthrough[@]}" \
    PATH="$bindir:$PATH" \
    PERL5LIB="$perl_lib${PERL5LIB:+:$PERL5LIB}" \
    PG_REGRESS="$pg_regress" \
    TESTDIR="$work" \
    prove "${prove_flags[@]}" "${tests[@]}") 2>&1 | tee "$log" || status=$?

# One summary line: prove prints "Files=N, Tests=M, ..." and, for failures,
# a "Test Summary Report" with one "t/FILE.pl (Wstat: ...)" line per file.
files=${#tests[@]}
failed=$(grep -cE '^t/[^ ]+\.pl +\(Wstat' "$log" || true)
asserts=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$log" | tail -1)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=$files    # prove did not get as far as a report
fi
echo "TAP: $((files - failed)) of $files files passed${asserts:+ ($asserts assertions)}"

if [ "$status" -eq 0 ]; then
    rm -rf "$work"
else
    echo "== TAP tests FAILED; clusters' logs kept in $work/tmp_check/log" >&2
fi
exit "$status"
