"""SLA evaluation benchmark (issue 7): `.venv/bin/python bench/sla.py [--orgs 1000]`.

Creates a PostgreSQL database of its own (default `matrix_bench_sla` on 127.0.0.1:5432; `--database-url` or
SLA_BENCH_DATABASE_URL), migrates it, seeds the SLA definitions, creates `--orgs` customer organizations (free,
pro and enterprise) and fills `sla_minutes` with one rollup row per organization and minute of a 30-day month
(43.2 M rows at 1,000 organizations) by `INSERT … SELECT … generate_series` in the server: outages, stray failed
checks, error spikes, diurnal traffic and three latency profiles. Generation is timed apart and not measured.

Then, in one run:
- the database way: `app.sla.evaluation.evaluate()` of the month for every organization (one GROUP BY over the
  rollups; Python turns ~1,000 result rows into Figures), `--repeat` times: wall time, and the Python process's
  peak memory (RSS high-water mark, reset before each step, and tracemalloc's peak);
- the naive way: every row streamed into Python (server-side cursor, SQLAlchemy Core rows, not ORM objects, so
  a generous yardstick) and summed in Python loops: wall time and peak RSS;
- that both give identical Figures for every organization (exit 1 otherwise);
- the target: the month's evaluation for all organizations under 60 s (exit 2 when missed).

`--explain` also prints EXPLAIN (ANALYZE, BUFFERS) of the evaluation's statement. The database is dropped at the
end unless `--keep`; `--reuse` measures a kept one again without regenerating it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import threading
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path.pop(0)  # run as a script: import bench.* from the project root, not bench/ itself
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.accounts.models import Organization  # noqa: E402
from app.config import normalise_database_url  # noqa: E402
from app.db import make_engine, new_public_id  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.sla.compliance import BREACHED, breaches  # noqa: E402
from app.sla.definitions import all_in_force, ensure_default_definitions  # noqa: E402
from app.sla.evaluation import Figures, evaluate  # noqa: E402
from app.sla.models import BUCKET_COLUMNS, SlaMinute  # noqa: E402
from app.sla.months import minutes_between  # noqa: E402
from bench.harness import git_commit  # noqa: E402
from bench.meters import CpuMeter  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/matrix_bench_sla"
MONTH_START = datetime(2026, 9, 1, tzinfo=timezone.utc)  # September: 30 days, 43,200 minutes
MONTH_END = datetime(2026, 10, 1, tzinfo=timezone.utc)
TARGET_SECONDS = 60.0
SLUG = "sla-bench-"
ORGS_PER_STATEMENT = 20
# Latency profiles: the share of a minute's requests in each bucket but the last (which gets the rest).
# p95 about 190 ms (meets every tier), 400 ms (not enterprise's 200) and 700 ms (only free's 1,000).
PROFILES = ([.60, .25, .11, .02, .01, .005, .003], [.35, .30, .20, .08, .04, .02, .008],
            [.15, .20, .25, .15, .12, .08, .04])
SPIKE_SHARES = [.02, .05, .10, .15, .20, .20, .18]  # an incident minute (1 in 5,000): slow, 2–12% errors


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("SLA_BENCH_DATABASE_URL", DEFAULT_URL),
                        help=f"the bench database, created and dropped (default SLA_BENCH_DATABASE_URL or {DEFAULT_URL})")
    parser.add_argument("--orgs", type=int, default=1_000, help="customer organizations (default 1,000)")
    parser.add_argument("--naive-orgs", type=int,
                        help="run the naive way over this many organizations only and extrapolate (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="database evaluations to time (default 3)")
    parser.add_argument("--loaders", type=int, default=2, help="connections generating the rows (default 2)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the evaluation")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the database a --keep run left, as it is")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    url = make_url(normalise_database_url(args.database_url))
    if not (url.database or "").startswith("matrix_bench"):
        parser.error("the database name must start with matrix_bench (it is dropped and recreated)")
    args.url = url
    args.naive_orgs = min(args.naive_orgs or args.orgs, args.orgs)
    return args


def _admin_conninfo(url) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def conninfo(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(url) -> str:
    with psycopg.connect(_admin_conninfo(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{url.database}"')
        return conn.execute("SHOW server_version").fetchone()[0]


def drop_database(url) -> None:
    with psycopg.connect(_admin_conninfo(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


# --- generation (timed apart, not measured) ---------------------------------------------------------------------

def seed_organizations(session: Session, count: int) -> None:
    """The SLA definitions, `count` customers (3 in 10 free, 5 pro, 2 enterprise) and each one's traffic profile."""
    ensure_default_definitions(session)
    tiers = ["free"] * 3 + ["pro"] * 5 + ["enterprise"] * 2
    session.execute(insert(Organization), [
        {"public_id": new_public_id("org"), "slug": f"{SLUG}{n}", "name": f"SLA bench {n}", "kind": "customer",
         "tier": tiers[n % 10], "country": "US", "preferred_currency": "USD"} for n in range(count)])
    session.commit()


PARAMS_SQL = """
CREATE TABLE bench_sla_orgs AS
SELECT o.id AS org_id,
       -- requests a minute: 5 to 50 percent of the tier's throughput objective
       (CASE o.tier WHEN 'free' THEN 10 WHEN 'pro' THEN 100 ELSE 1000 END * 60 * (0.05 + 0.45 * random()))::int AS base,
       %(start)s::timestamptz + floor(random() * 43200) * interval '1 minute' AS outage_start,
       -- most months a short outage, some a long one (a breach), a few none
       (CASE WHEN r < 0.30 THEN 0 WHEN r < 0.75 THEN floor(random() * 60) WHEN r < 0.92 THEN 60 + floor(random() * 340)
             ELSE 400 + floor(random() * 2500) END)::int AS outage_minutes,
       -- the usual share of failed requests: mostly a few in 10,000, now and then 0.5 percent
       0.0001 + 0.005 * power(random(), 4) AS error_level,
       CASE k WHEN 0 THEN %(p0)s::float8[] WHEN 1 THEN %(p1)s::float8[] ELSE %(p2)s::float8[] END AS shares
FROM (SELECT id, tier, random() AS r, floor(random() * 3)::int AS k FROM organizations
      WHERE slug LIKE 'sla-bench-%%' ORDER BY id OFFSET 0) o
"""

MINUTES_SQL = """
INSERT INTO sla_minutes (org_id, minute, samples, checks, checks_failed, requests, errors, {buckets})
SELECT org_id, minute, 1, 1, failed, requests, errors, {bucket_values}, requests - ({bucket_sum})
FROM (
  SELECT org_id, minute, failed, requests, CASE WHEN spike THEN %(spike)s::float8[] ELSE shares END AS s,
         CASE WHEN spike THEN floor(requests * (0.02 + 0.10 * random()))
              ELSE floor(requests * error_level * 2 * random()) END::bigint AS errors
  FROM (
    SELECT p.org_id, m AS minute,
           CASE WHEN m >= p.outage_start AND m < p.outage_start + p.outage_minutes * interval '1 minute'
                     OR random() < 0.0001 THEN 1 ELSE 0 END AS failed,
           floor(p.base * (1 + 0.5 * sin(extract(epoch FROM m) * pi() / 43200)) * (0.8 + 0.4 * random()))::bigint
             AS requests,
           random() < 0.0002 AS spike, p.shares, p.error_level
    FROM bench_sla_orgs p
    CROSS JOIN generate_series(%(start)s::timestamptz, %(last)s::timestamptz, interval '1 minute') AS m
    WHERE p.org_id >= %(lo)s AND p.org_id < %(hi)s
    OFFSET 0
  ) a
  OFFSET 0
) b
"""


def _minutes_statement() -> str:
    values = [f"floor(requests * s[{i + 1}])::int" for i in range(len(BUCKET_COLUMNS) - 1)]
    return MINUTES_SQL.format(buckets=", ".join(BUCKET_COLUMNS), bucket_values=", ".join(values),
                              bucket_sum=" + ".join(values))


def _load(info: str, ranges: list[tuple[int, int]], lock: threading.Lock, errors: list) -> None:
    statement = _minutes_statement()
    try:
        with psycopg.connect(info, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            while True:
                with lock:
                    if not ranges or errors:
                        return
                    lo, hi = ranges.pop(0)
                conn.execute("SELECT setseed(%s)", (lo / 1e7,))  # the same rows whichever loader gets the range
                conn.execute(statement, {"start": MONTH_START, "last": MONTH_END - timedelta(minutes=1),
                                         "lo": lo, "hi": hi, "spike": SPIKE_SHARES})
    except Exception as error:  # noqa: BLE001 — reported by generate()
        errors.append(error)


def generate(info: str, loaders: int) -> dict[str, float]:
    """The month's rollups, loaded without the primary key and foreign key (rebuilt after), then VACUUM ANALYZE."""
    phases, started = {}, time.perf_counter()
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.7)")
        conn.execute(PARAMS_SQL, {"start": MONTH_START, **{f"p{i}": p for i, p in enumerate(PROFILES)}})
        ids = [row[0] for row in conn.execute("SELECT org_id FROM bench_sla_orgs ORDER BY org_id")]
        conn.execute("ALTER TABLE sla_minutes DROP CONSTRAINT fk_sla_minutes_org_id_organizations, "
                     "DROP CONSTRAINT pk_sla_minutes")
        ranges = [(ids[i], ids[min(i + ORGS_PER_STATEMENT, len(ids)) - 1] + 1)
                  for i in range(0, len(ids), ORGS_PER_STATEMENT)]
        lock, errors = threading.Lock(), []
        threads = [threading.Thread(target=_load, args=(info, ranges, lock, errors)) for _ in range(loaders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        phases["insert"] = time.perf_counter() - started
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("ALTER TABLE sla_minutes ADD CONSTRAINT pk_sla_minutes PRIMARY KEY (org_id, minute)")
        conn.execute("ALTER TABLE sla_minutes ADD CONSTRAINT fk_sla_minutes_org_id_organizations FOREIGN KEY "
                     "(org_id) REFERENCES organizations (id) ON DELETE CASCADE")
        conn.execute("DROP TABLE bench_sla_orgs")
        phases["keys"] = time.perf_counter() - started - phases["insert"]
        conn.execute("VACUUM (ANALYZE) sla_minutes")
        conn.execute("ANALYZE organizations")
        phases["vacuum"] = time.perf_counter() - started - phases["insert"] - phases["keys"]
        phases["rows"] = conn.execute("SELECT count(*) FROM sla_minutes").fetchone()[0]
        phases["table_mb"] = conn.execute("SELECT pg_table_size('sla_minutes') / 1048576.0").fetchone()[0]
    phases["total"] = time.perf_counter() - started
    return phases


# --- measurement ------------------------------------------------------------------------------------------------

def _status_mb(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def measured(fn, *, trace: bool = False) -> tuple[object, dict]:
    """fn()'s result, wall and CPU seconds (this process; PostgreSQL's from /proc) and this process's peak RSS
    (its high-water mark, reset first through /proc/self/clear_refs); tracemalloc's peak when `trace` (it slows
    Python code down, so only for the database way, whose Python part is ~1,000 rows)."""
    meter = CpuMeter([], -1, -1)  # no workers, receiver or redis here: this process and PostgreSQL
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    rss_start = _status_mb("VmRSS")
    if trace:
        tracemalloc.start()
    before, started = meter.snapshot(), time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    cpu = CpuMeter.delta(before, meter.snapshot())
    figures = {"seconds": seconds, "python_cpu_s": cpu["driver"], "postgres_cpu_s": cpu["postgresql"],
               "rss_start_mb": rss_start, "rss_peak_mb": _status_mb("VmHWM")}
    if trace:
        figures["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1048576
        tracemalloc.stop()
    return result, figures


def database_way(engine) -> dict:
    """What the application does: one evaluate() of the month for every organization."""
    with Session(engine) as session:
        return evaluate(session, MONTH_START, MONTH_END, all_in_force(session, MONTH_START), now=MONTH_END)


def naive_way(engine, org_ids: list[int] | None) -> dict:
    """The yardstick: every rollup row of the month into Python (streamed), summed there row by row."""
    minutes, orgs = SlaMinute.__table__, Organization.__table__
    with Session(engine) as session:
        limits = {tier: Fraction(d.error_rate_percent) / 100 for tier, d in all_in_force(session, MONTH_START).items()}
        limit_of = {org_id: limits.get(tier, Fraction(0))
                    for org_id, tier in session.execute(select(orgs.c.id, orgs.c.tier))}
        statement = (select(minutes.c.org_id, minutes.c.checks_failed, minutes.c.requests, minutes.c.errors,
                            *[minutes.c[name] for name in BUCKET_COLUMNS])
                     .where(minutes.c.minute >= MONTH_START, minutes.c.minute < MONTH_END))
        if org_ids is not None:
            statement = statement.where(minutes.c.org_id.in_(org_ids))
        sums: dict[int, list] = {}
        for org_id, failed, requests, errors, *buckets in session.execute(statement.execution_options(yield_per=20_000)):
            entry = sums.get(org_id)
            if entry is None:
                entry = sums[org_id] = [0, 0, 0, 0, 0, [0] * len(BUCKET_COLUMNS)]
            limit = limit_of[org_id]
            entry[0] += 1
            if failed > 0 or errors * limit.denominator > requests * limit.numerator:
                entry[1] += 1
            entry[2] += requests
            entry[3] += errors
            if requests > entry[4]:
                entry[4] = requests
            totals = entry[5]
            for index, count in enumerate(buckets):
                totals[index] += count
    expected = minutes_between(MONTH_START, MONTH_END)
    return {org_id: Figures(MONTH_START, MONTH_END, expected, observed, down, requests, errors, peak, tuple(buckets))
            for org_id, (observed, down, requests, errors, peak, buckets) in sums.items()}


def compare(ours: dict, naive: dict) -> list[str]:
    """Differences between the two ways' Figures, for the organizations the naive way covered."""
    problems = [f"org {org_id}: database {ours.get(org_id)} != naive {figures}"
                for org_id, figures in naive.items() if ours.get(org_id) != figures]
    return problems


def breach_summary(engine, results: dict) -> dict[str, int]:
    """How many organizations breached each objective (shows the data is not all green)."""
    counts = {"uptime": 0, "latency_p95": 0, "error_rate": 0, "partial": 0}
    with Session(engine) as session:
        definitions = all_in_force(session, MONTH_START)
        tiers = dict(session.execute(select(Organization.id, Organization.tier)).all())
    for org_id, figures in results.items():
        for metric, result in breaches(figures, definitions[tiers[org_id]]).items():
            counts[metric] += result.status == BREACHED
        counts["partial"] += figures.partial
    return counts


def capture_statements(engine) -> list:
    captured = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(_conn, _cursor, statement, parameters, _context, _many):
        if "FROM sla_minutes" in statement and "GROUP BY" in statement:
            captured[:] = [(statement, parameters)]
    return captured


def explain(engine, captured: list) -> str:
    statement, parameters = captured[-1]
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + statement, parameters).all()
    return "\n".join(row[0] for row in rows)


def server_settings(engine) -> dict[str, str]:
    names = ("server_version", "max_parallel_workers_per_gather", "work_mem", "shared_buffers", "jit")
    with engine.connect() as conn:
        return {name: conn.exec_driver_sql(f"SHOW {name}").scalar() for name in names}


# --- the run ------------------------------------------------------------------------------------------------------

def prepare(args) -> dict:
    """A fresh database with the month's rollups (or the kept one with --reuse); the generation's figures."""
    url = args.url.render_as_string(hide_password=False)
    if args.reuse:
        return {"reused": True}
    recreate_database(args.url)
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_organizations(session, args.orgs)
    engine.dispose()
    setup = time.perf_counter() - started
    print(f"Generating {args.orgs * 43_200:,} rollup rows ({args.orgs:,} organizations × 43,200 minutes) …",
          flush=True)
    phases = generate(conninfo(args.url), args.loaders)
    return {"reused": False, "migrate_and_seed_s": setup, **phases}


def check_size(engine, args) -> tuple[int, list[int]]:
    with engine.connect() as conn:
        ids = list(conn.scalars(select(SlaMinute.org_id).distinct().order_by(SlaMinute.org_id)))
        rows = conn.exec_driver_sql("SELECT count(*) FROM sla_minutes").scalar()
    if len(ids) != args.orgs:
        raise SystemExit(f"the database has rollups for {len(ids):,} organizations, not --orgs {args.orgs:,}")
    return rows, ids


def run(args) -> dict:
    load_at_start = os.getloadavg()
    generation = prepare(args)
    engine = make_engine(args.url.render_as_string(hide_password=False))
    try:
        rows, org_ids = check_size(engine, args)
        settings = server_settings(engine)
        captured = capture_statements(engine)
        database_runs, results = [], {}
        for n in range(args.repeat):
            print(f"  database way, run {n + 1} of {args.repeat} …", end=" ", flush=True)
            results, figures = measured(lambda: database_way(engine), trace=True)
            assert len(results) == args.orgs, f"{len(results)} organizations evaluated, expected {args.orgs}"
            database_runs.append(figures)
            print(f"{figures['seconds']:.1f} s", flush=True)
        naive_ids = org_ids[:args.naive_orgs] if args.naive_orgs < args.orgs else None
        print(f"  naive way over {args.naive_orgs:,} organizations …", end=" ", flush=True)
        naive, naive_figures = measured(lambda: naive_way(engine, naive_ids))
        print(f"{naive_figures['seconds']:.1f} s", flush=True)
        problems = compare(results, naive)
        if len(naive) != args.naive_orgs:
            problems.insert(0, f"the naive way found {len(naive)} organizations, expected {args.naive_orgs}")
        plan = explain(engine, captured) if args.explain else None
        breached = breach_summary(engine, results)
    finally:
        engine.dispose()
    return {
        "machine": {"cpu_cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "commit": git_commit(), "postgresql": settings,
                    "loadavg_at_start": load_at_start, "loadavg_at_end": os.getloadavg()},
        "size": {"orgs": args.orgs, "rows": rows, "naive_orgs": args.naive_orgs, "month": MONTH_START.date().isoformat()},
        "generation": generation, "database": database_runs, "naive": naive_figures,
        "naive_rows_per_s": rows * args.naive_orgs / args.orgs / naive_figures["seconds"],
        "mismatches": problems, "breaches": breached, "plan": plan,
    }


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _memory(step: dict) -> str:
    text = f"peak RSS {step['rss_peak_mb']:.0f} MB (+{step['rss_peak_mb'] - step['rss_start_mb']:.0f} MB)"
    return text + (f", tracemalloc peak {step['traced_peak_mb']:.1f} MB" if "traced_peak_mb" in step else "")


def print_report(figures: dict) -> None:
    m, size, g = figures["machine"], figures["size"], figures["generation"]
    pg = m["postgresql"]
    print()
    print(f"SLA evaluation benchmark — {m['cpu_cores']} CPU cores ({m['usable_cores']} usable), PostgreSQL "
          f"{pg['server_version']} (max_parallel_workers_per_gather {pg['max_parallel_workers_per_gather']}, "
          f"work_mem {pg['work_mem']}, shared_buffers {pg['shared_buffers']}, jit {pg['jit']}), Python {m['python']}")
    print(f"Commit {m['commit']}. Load average (1/5/15 min) before the run "
          f"{' '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}, after it "
          f"{' '.join(f'{x:.2f}' for x in m['loadavg_at_end'])} (other work on the machine makes the figures noisy)")
    print(f"Data: {size['orgs']:,} organizations × the 30-day month from {size['month']} = {size['rows']:,} "
          f"rows of sla_minutes")
    if not g["reused"]:
        print(f"Generation (not measured): migrate + seed {g['migrate_and_seed_s']:.1f} s, insert {g['insert']:.1f} s, "
              f"keys {g['keys']:.1f} s, VACUUM ANALYZE {g['vacuum']:.1f} s; table {g['table_mb']:,.0f} MB")
    b = figures["breaches"]
    print(f"Breaches in the month: uptime {b['uptime']}, p95 latency {b['latency_p95']}, error rate "
          f"{b['error_rate']} organizations; {b['partial']} partial")
    print("(CPU: PostgreSQL's is the whole local server's, other databases on it too; Python's is this process's)")
    print()
    for n, step in enumerate(figures["database"], 1):
        print(f"database way, run {n}: {step['seconds']:6.1f} s wall (PostgreSQL CPU {step['postgres_cpu_s']:.1f} s, "
              f"Python CPU {step['python_cpu_s']:.1f} s); {_memory(step)}")
    naive = figures["naive"]
    label = "" if size["naive_orgs"] == size["orgs"] else f" over {size['naive_orgs']:,} organizations"
    print(f"naive way{label}: {naive['seconds']:6.1f} s wall (PostgreSQL CPU {naive['postgres_cpu_s']:.1f} s, "
          f"Python CPU {naive['python_cpu_s']:.1f} s, {figures['naive_rows_per_s']:,.0f} rows/s); {_memory(naive)}")
    naive_full = naive["seconds"] * size["orgs"] / size["naive_orgs"]
    if label:
        print(f"naive way, EXTRAPOLATED to {size['orgs']:,} organizations (linear in rows): {naive_full:.0f} s")
    slowest = max(step["seconds"] for step in figures["database"])
    print(f"naive ÷ database (slowest run): {naive_full / slowest:.1f}×" + (" (extrapolated)" if label else ""))
    same = not figures["mismatches"]
    print(f"identical Figures for all {size['naive_orgs']:,} organizations: {'yes' if same else 'NO'}")
    for problem in figures["mismatches"][:5]:
        print(f"  {problem}")
    print()
    print(f"{'target':<52} {'measured':>10} {'target':>8}")
    what, goal = f"month evaluated for all {size['orgs']:,} organizations (slowest run)", f"< {TARGET_SECONDS:.0f} s"
    print(f"{what:<52} {slowest:>8.1f} s {goal:>8}  {_verdict(slowest < TARGET_SECONDS)}")
    if figures["plan"]:
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the evaluation:\n" + figures["plan"])


def _interrupt(*_args):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    started, code = time.monotonic(), 0
    try:
        figures = run(args)
        print_report(figures)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
        if figures["mismatches"]:
            code = 1
        elif max(step["seconds"] for step in figures["database"]) >= TARGET_SECONDS:
            code = 2
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the database behind
        if args.keep:
            print(f"Kept {args.url.render_as_string(hide_password=True)} (--reuse measures it again)", file=sys.stderr)
        else:
            try:
                drop_database(args.url)
            except Exception as error:  # noqa: BLE001
                print(f"cleanup: {error}", file=sys.stderr)
        print(f"(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
