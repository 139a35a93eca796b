#!/usr/bin/env python3
"""bench/report.py: turn bench/run.sh's measurements into bench/results.md
and bench/chart.dat.

    python3 bench/report.py OUT_DIR BENCH_DIR

OUT_DIR holds measure.tsv (section, size, contender, round, value) and
facts.tsv (key, value) written by run.sh.  Every figure is the median over
the rounds of that run's median per-transaction latency (pgbench
per-transaction logs), or of the server-time loop's median.
"""
import json
import statistics
import sys
from collections import defaultdict

out_dir, bench_dir = sys.argv[1], sys.argv[2]

facts = {}
with open(f"{out_dir}/facts.tsv") as f:
    for line in f:
        key, _, value = line.rstrip("\n").partition("\t")
        facts[key] = value

runs = defaultdict(list)
with open(f"{out_dir}/measure.tsv") as f:
    for line in f:
        section, size, who, _round, value = line.rstrip("\n").split("\t")
        try:
            runs[(section, size, who)].append(float(value))
        except ValueError:
            pass


def med(section, size, who):
    values = runs.get((section, str(size), who))
    return statistics.median(values) if values else float("nan")


def total(section, size, who):
    return int(sum(runs.get((section, str(size), who), [0])))


def nruns(section, size, who):
    return len(runs.get((section, str(size), who), []))


def ms(x):
    if x != x:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def ratio(x):
    if x != x:
        return "n/a"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


sizes = [10, 50, 500, 1000, 10000]
lines = []
w = lines.append

w("# service_items benchmark results")
w("")
w(f"Made by `bash bench/run.sh` in {facts.get('elapsed_s', '?')} s.  "
  f"Machine: {facts.get('nproc')} cores ({facts.get('cpu')}), {facts.get('memory')} memory, "
  f"{facts.get('os')}, kernel {facts.get('kernel')}.  "
  f"PostgreSQL {facts.get('postgres_version')} (shared_buffers {facts.get('shared_buffers')}, "
  f"jit {facts.get('jit')}, fsync and synchronous_commit on), {facts.get('pgbench_version')}, "
  f"{facts.get('pgbouncer_version')}.  "
  f"Load average (1/5/15 min) at the start {facts.get('loadavg_start')}, "
  f"after the load section {facts.get('loadavg_after_load')}, at the end {facts.get('loadavg_end')}.")
w("")
w(f"One database: demo clinics (tools/demo_data.sql: 3 practitioners per item, 2 live billing "
  f"scenarios per pair plus soft-deleted ones, 2 resources and 2-3 follow-ups per item, 5% "
  f"deleted items) of 10, 50, 500, 1,000 and 10,000 items among 50 other clinics of 50 items: "
  f"{facts.get('clinics')} clinics, {facts.get('items_total')} service items, "
  f"{facts.get('billing_rows_total')} billing scenarios; VACUUM ANALYZE before measuring.  "
  f"Before any timing, `sql_load` was checked equal (as jsonb) to `bulk_load_associations` "
  f"for every clinic.")
w("")

# --- load ------------------------------------------------------------------
w("## Load: one page of a clinic")
w("")
w(f"pgbench, one client, Unix socket, simple protocol; {facts.get('rounds')} rounds (3 for "
  f"10,000 items), the contenders alternating within each round (order rotated); each run "
  f"{facts.get('seconds_per_run')} s (N+1: 3 pages at 1,000 items, 1 at 10,000).  Figure: "
  f"median over rounds of each run's median per-transaction latency, in ms per page "
  f"(client-side: the whole document reaches the client).")
w("")
w("| items | document | N+1 (statements) | SQL function | **bulk_load_associations** | floor | "
  "C vs SQL | C vs N+1 |")
w("|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    n1, sq, c, fl = (med("load", n, k) for k in ("n1", "sql", "c", "floor"))
    w(f"| {n:,} | {int(facts.get(f'doc_bytes_{n}', 0)) / 1024:,.0f} kB | "
      f"{ms(n1)} ({int(facts.get(f'n1_statements_{n}', 0)):,}) | {ms(sq)} | **{ms(c)}** | {ms(fl)} | "
      f"{ratio(sq / c)} faster | {ratio(n1 / c)} faster |")
w("")
w(f"N+1 at 10,000 items: pgbench needs time quadratic in a script's length to parse it "
  f"(minutes for the {int(facts.get('n1_statements_10000', 0)):,} statements of that page), so "
  f"that page is driven by psql (`psql -f`, each statement its own query and round trip, "
  f"results discarded; psql's own start-up, {facts.get('psql_startup_ms')} ms, subtracted).  "
  f"Calibration on the 1,000-item page: psql {ms(med('load_psql', 1000, 'n1'))} ms, pgbench "
  f"{ms(med('load', 1000, 'n1'))} ms.")
w("")
w("The floor reads the same rows with five set-oriented SELECTs (each with the ORDER BY a loader needs) and converts every value to text, "
  "building nothing, and returns one number: its client-side figure has no document to "
  "send, so the fair comparison with the floor is server time, below.")
w("")
w("Server time: the same calls timed inside one backend (PL/pgSQL loop, `clock_timestamp()` "
  "around each call, first call excluded; median of the calls, then median over rounds): no "
  "network, no client, no output conversion of the result.")
w("")
w("| items | SQL function | **bulk_load_associations** | floor | C vs SQL | C / floor | "
  "C µs per item | C with random_page_cost 1.1 |")
w("|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    sq, c, fl = (med("server", n, k) for k in ("sql", "c", "floor"))
    w(f"| {n:,} | {ms(sq)} | **{ms(c)}** | {ms(fl)} | {ratio(sq / c)} faster | {c / fl:.2f} | "
      f"{1000 * c / n:.1f} | {ms(med('server_rpc', n, 'c'))} |")
w("")
w("Last column, a what-if: the C load in a backend with `SET random_page_cost = 1.1` (the "
  "usual setting when the data is in memory or on SSD; the default is 4).  It changes how "
  "the planner reads each table (index scans rather than bitmap heap scans); the loader "
  "needs no particular plan, since it orders the rows itself.")
w("")
w(f"`sql_load` is a LANGUAGE sql function, so PostgreSQL plans its statement at every call: "
  f"{float(facts.get('sql_load_planning_ms_1000', 'nan')):.2f} ms of planning at 1,000 items "
  f"(EXPLAIN SUMMARY).  The C loader keeps its plans (SPI_keepplan); the floor is PL/pgSQL, "
  f"whose plans are cached too.")
w("")

# --- growth ------------------------------------------------------------------
w("## Cost growth")
w("")
w("| items | C load, server ms | µs per item | C load, pgbench ms | µs per item |")
w("|---:|---:|---:|---:|---:|")
for n in sizes:
    cs, cp = med("server", n, "c"), med("load", n, "c")
    w(f"| {n:,} | {ms(cs)} | {1000 * cs / n:.1f} | {ms(cp)} | {1000 * cp / n:.1f} |")
per_item = {n: med("server", n, "c") / n for n in (500, 1000, 10000)}
flat = max(per_item.values()) / min(per_item.values())
w("")
kb = {k: int(facts.get(f"mem_client_{k}", 0)) for k in ("base_private", "peak_private", "base_rss", "hwm")}
kbf = {k: int(facts.get(f"mem_function_{k}", 0)) for k in ("base_private", "peak_private", "base_rss", "hwm")}
mib = lambda k: k / 1024
w(f"Peak memory of the backend during the 10,000-item load "
  f"({int(facts.get('doc_bytes_10000', 0)) / 1048576:.1f} MiB document), sampled from "
  f"/proc/PID/statm every ~0.1 ms ({facts.get('mem_client_samples')} samples) by "
  f"bench/memsample.py, after two warm-up calls on the 10-item clinic in the same backend:")
w("")
w("| call | private before | private peak | growth | VmHWM (incl. shared buffers touched) |")
w("|---|---:|---:|---:|---:|")
w(f"| `SELECT bulk_load_associations(c)`, document sent to psql | {mib(kb['base_private']):.1f} MiB | "
  f"{mib(kb['peak_private']):.1f} MiB | {mib(kb['peak_private'] - kb['base_private']):.1f} MiB | "
  f"{mib(kb['hwm']):.1f} MiB |")
w(f"| `SELECT octet_length(bulk_load_associations(c)::text)` | {mib(kbf['base_private']):.1f} MiB | "
  f"{mib(kbf['peak_private']):.1f} MiB | {mib(kbf['peak_private'] - kbf['base_private']):.1f} MiB | "
  f"{mib(kbf['hwm']):.1f} MiB |")
w("")
w("Private = resident minus shared pages (the backend's own, palloc'd memory); VmHWM is the "
  "kernel's peak resident set since a reset just before the call (clear_refs), which also "
  "counts every shared_buffers page the backend touched.")
w("")

# --- save ------------------------------------------------------------------
w("## Save: the 50-item clinic, whole page")
w("")
w(f"pgbench, one client, {facts.get('rounds')} rounds of {facts.get('seconds_per_run')} s, "
  f"alternating, each run after a VACUUM of the tables the saves write; median per-transaction latency (one transaction of pgbench = one whole save, "
  f"commit included).  *Every row*: two payloads A and B that differ in every billing "
  f"scenario (amount), resource requirement (quantity) and follow-up (template); runs "
  f"alternate A, B, A, ... so each save changes every row (no BEGIN/ROLLBACK: the writes are "
  f"committed).  *Nothing*: payload A over state A.  The old way: six steps (groups, items, "
  f"assignments, billing, resources, follow-ups), each its own transaction, one statement per "
  f"row, {facts.get('old_save_row_statements')} row statements + 12 BEGIN/COMMIT = "
  f"{facts.get('old_save_statements')} round trips; it writes every row it names even when "
  f"nothing changed.  bulk_save_associations: one call, payload "
  f"{int(facts.get('save_payload_bytes', 0)) / 1024:.0f} kB.")
w("")
w("| payload | old six-step save | **bulk_save_associations** | faster | same, payload already jsonb |")
w("|---|---:|---:|---:|---:|")
for kind, label in (("every", "changes every row"), ("nothing", "changes nothing")):
    o, b, j = med("save", kind, "old"), med("save", kind, "bulk"), med("save", kind, "jsonb")
    w(f"| {label} | {ms(o)} | **{ms(b)}** | {ratio(o / b)} | {ms(j)} |")
w("")
w("*bulk_save_associations* is called as an application (or PostgREST) would: the payload "
  "travels as JSON text in the statement, so the call includes lexing the statement and "
  "jsonb_in.  The last column reads the same payload as jsonb from a table instead "
  "(`bulk_save_associations(c, (SELECT payload FROM service_items_bench.payloads ...))`), "
  "to show what the text parsing costs.")
w("")
w(f"Changes reported by bulk_save_associations: every row `{facts.get('bulk_every_changes')}`; "
  f"nothing `{facts.get('bulk_nothing_changes')}`.  Rows rewritten by 20 unchanged saves "
  f"(service_items_demo.clinic_checksum, which includes every row's xmin): "
  f"{facts.get('bulk_nothing_rewrites')}; by one old unchanged save: "
  f"{facts.get('old_nothing_rewrites')}.")
w("")

# --- pool ------------------------------------------------------------------
w("## Connections: 50 clients through PgBouncer")
w("")
w(f"PgBouncer {facts.get('pgbouncer_version', '').replace('PgBouncer ', '')}, pool_mode = "
  f"transaction, default_pool_size = 5 (the design document's pool), max_client_conn = 100; "
  f"pgbench -c 50 -j 2 over TCP 127.0.0.1 for {facts.get('pool_seconds')} s each, loading "
  f"pages of the 50-item clinic.  An N+1 page is one pgbench transaction of its "
  f"{int(facts.get('n1_statements_50', 0))} statements (each a pooled transaction of its own, "
  f"as each API request held a pooled connection); a one-call page is one "
  f"`bulk_load_associations` call.  p95 and waits from the per-transaction log; server "
  f"connections sampled from pg_stat_activity every 100 ms.")
w("")
w("| | pages/s | median page ms | p95 page ms | pages over 1 s | peak server connections |")
w("|---|---:|---:|---:|---:|---:|")
for who, label in (("n1", "N+1"), ("c", "**one call**")):
    w(f"| {label} | {med('pool_tps', 50, who):,.1f} | {ms(med('pool_median', 50, who))} | "
      f"{ms(med('pool_p95', 50, who))} | {int(med('pool_over1s', 50, who))} of "
      f"{int(med('pool_pages', 50, who)):,} | {int(med('pool_peak_conn', 50, who))} |")
pool_ratio = med("pool_tps", 50, "c") / med("pool_tps", 50, "n1")
w("")
w(f"One-call pages per second: {ratio(pool_ratio)} N+1's.")
w("")

# --- plans -------------------------------------------------------------------
w("## Plans")
w("")
w("Every load statement of src/plans.c (read from the file), PREPAREd with a bigint clinic "
  "and EXPLAINed on the 1,000-item clinic, as a custom and as a generic plan (the one the "
  "extension keeps):")
w("")
w("| statement | plan | scans | |")
w("|---|---|---|---|")
with open(f"{out_dir}/plans.txt") as f:
    for line in f:
        name, mode, verdict, scans = line.rstrip("\n").split("\t")
        w(f"| {name} | {mode.replace('force_', '').replace('_plan', '')} | "
          f"{scans.replace(';', '; ')} | {'index' if verdict == 'ok' else '**SEQ SCAN**'} |")
w("")

# --- goals -------------------------------------------------------------------
c1000 = med("load", 1000, "c")
goals = []


def goal(text, figure, met):
    goals.append((text, figure, met))


goal("load at 1,000 items ≥ 4× faster than the SQL function",
     f"{med('load', 1000, 'sql') / c1000:.1f}× (pgbench); "
     f"{med('server', 1000, 'sql') / med('server', 1000, 'c'):.1f}× (server time)",
     med("load", 1000, "sql") / c1000 >= 4)
goal("load at 1,000 items ≥ 50× faster than N+1",
     f"{med('load', 1000, 'n1') / c1000:.0f}×", med("load", 1000, "n1") / c1000 >= 50)
goal("load at 1,000 items ≤ 1.5× the floor",
     f"{med('server', 1000, 'c') / med('server', 1000, 'floor'):.2f}× (server time)",
     med("server", 1000, "c") / med("server", 1000, "floor") <= 1.5)
goal("load at 50 items < 0.6 ms server time",
     f"{med('server', 50, 'c'):.3f} ms", med("server", 50, "c") < 0.6)
goal("time per item flat within 1.5× from 500 to 10,000 items",
     f"{flat:.2f}× ({', '.join(f'{1000 * v:.1f}' for v in per_item.values())} µs per item, server time)",
     flat <= 1.5)
peak_mib = mib(kb["peak_private"])
goal("peak memory of the 10,000-item load < 64 MB",
     f"{peak_mib:.1f} MiB private peak of the backend ({mib(kb['peak_private'] - kb['base_private']):.1f} MiB "
     f"growth during the call)", peak_mib * 1.048576 < 64)
goal("save of 50 items changing every row < 15 ms",
     f"{med('save', 'every', 'bulk'):.2f} ms", med("save", "every", "bulk") < 15)
goal("save of 50 items changing nothing < 5 ms, no row rewritten",
     f"{med('save', 'nothing', 'bulk'):.2f} ms, rows rewritten: {facts.get('bulk_nothing_rewrites')}",
     med("save", "nothing", "bulk") < 5 and facts.get("bulk_nothing_rewrites") == "none")
goal("through the 5-connection pool: one-call pages/s ≥ 20× N+1",
     f"{pool_ratio:.1f}×", pool_ratio >= 20)
goal("through the 5-connection pool: no one-call request over 1 s",
     f"{int(med('pool_over1s', 50, 'c'))} over 1 s (p95 {ms(med('pool_p95', 50, 'c'))} ms)",
     med("pool_over1s", 50, "c") == 0)
goal("every load query uses indexes (EXPLAIN, 1,000-item clinic)",
     "all index scans" if facts.get("plans_all_index") == "yes" else "a sequential scan (see Plans)",
     facts.get("plans_all_index") == "yes")

w("## Goals of issue 5")
w("")
w("| goal | measured | |")
w("|---|---|---|")
for text, figure, met in goals:
    w(f"| {text} | {figure} | {'met' if met else '**missed**'} |")
w("")

with open(f"{bench_dir}/results.md", "w") as f:
    f.write("\n".join(lines))

with open(f"{bench_dir}/chart.dat", "w") as f:
    f.write("# items  N+1_ms  SQL_function_ms  bulk_load_associations_ms  floor_ms  "
            "(pgbench medians, bench/run.sh)  C_server_ms  floor_server_ms\n")
    for n in sizes:
        f.write(f"{n} {med('load', n, 'n1'):.4f} {med('load', n, 'sql'):.4f} "
                f"{med('load', n, 'c'):.4f} {med('load', n, 'floor'):.4f} "
                f"{med('server', n, 'c'):.4f} {med('server', n, 'floor'):.4f}\n")

with open(f"{bench_dir}/goals.json", "w") as f:
    json.dump([{"goal": t, "measured": m, "met": bool(ok)} for t, m, ok in goals], f,
              ensure_ascii=False, indent=1)
