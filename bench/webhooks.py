"""Webhook delivery benchmark (issue 3): `.venv/bin/python bench/webhooks.py [--quick]`.

Starts its own redis-server, database (PostgreSQL on 127.0.0.1:5432 when
reachable, else SQLite; `--database` to choose), receiver process
(bench/receiver.py) and N real RQ workers (`flask --app wsgi worker`), then
prints in one run:

- end-to-end deliveries/s, from the first emit() to the last message received
  and recorded as succeeded, for (a) N events to one endpoint and (b) 20
  events to each of 1,000 endpoints (50 organizations × 20 endpoints);
- the same work delivered from a backlog (emitted first, then woken), which
  leaves out the driver's own emit() cost;
- the naive way (one RQ job and one `requests.post` per delivery), on a sample
  (rates do not depend on the sample size; `--naive-sample 0` runs it in full);
- the raw limit: one process POSTing the same signed bodies over one kept-alive
  connection, with no queue and no database;
- p99 event-to-first-attempt at a steady 200 events/s, and the workers' peak memory;
- the CPU each component used per scenario (the machine is shared: see how busy it was);
- each target with PASS/MISS.

`--timing` also sums the workers' time in claim/send/record (bench/timing.py);
`--batch-size`/`--concurrency` set WEBHOOK_BATCH_SIZE/WEBHOOK_CONCURRENCY.

Everything it started is stopped, and its database dropped, on exit or Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path.pop(0)  # run as a script: import bench.* from the project root, not bench/ itself
sys.path.insert(0, str(ROOT))

from bench import harness, meters, report, timing  # noqa: E402
from bench import scenarios as sc  # noqa: E402

ENDPOINTS_PER_ORG = 20  # the per-organization limit


def parse_args(argv=None) -> argparse.Namespace:
    pg = harness.postgres_reachable()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql" if pg else "sqlite",
                        help="default: postgresql when 127.0.0.1:5432 answers (it %s)" % ("does" if pg else "does not"))
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes (default 2)")
    parser.add_argument("--events", type=int, help="events of scenario (a), one endpoint (default 20,000)")
    parser.add_argument("--b-orgs", type=int, help="organizations of scenario (b), 20 endpoints each (default 50)")
    parser.add_argument("--b-events", type=int, help="events per endpoint in scenario (b) (default 20)")
    parser.add_argument("--naive-sample", type=int,
                        help="deliveries per naive scenario (default 1,000; 0 = the full size)")
    parser.add_argument("--tx-size", type=int, default=100, help="events per emitting transaction (default 100)")
    parser.add_argument("--latency-rate", type=float, default=200.0, help="events/s of the latency run")
    parser.add_argument("--latency-seconds", type=float, help="length of the latency run (default 15)")
    parser.add_argument("--latency-endpoints", type=int, default=10,
                        help="organizations (one endpoint each) the latency run's events go to (default 10)")
    parser.add_argument("--batch-size", type=int, help="WEBHOOK_BATCH_SIZE for the workers (default: the app's)")
    parser.add_argument("--concurrency", type=int, help="WEBHOOK_CONCURRENCY for the workers (default: the app's)")
    parser.add_argument("--timing", action="store_true",
                        help="time the delivery job's claim/send/record steps in the workers and print where time goes")
    parser.add_argument("--only", help="comma-separated subset of: a,b,backlog,naive,raw,latency")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2,000 events, 100 endpoints × 5, naive sample 500, 5 s latency")
    parser.add_argument("--stall-seconds", type=float, default=120.0,
                        help="give up when no delivery arrives for this long (default 120)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs (path printed)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.events = args.events or (2_000 if quick else 20_000)
    args.b_orgs = args.b_orgs or (5 if quick else 50)
    args.b_events = args.b_events or (5 if quick else 20)
    args.naive_sample = (500 if quick else 1_000) if args.naive_sample is None else args.naive_sample
    args.latency_seconds = args.latency_seconds or (5.0 if quick else 15.0)
    args.only = set((args.only or "a,b,backlog,naive,raw,latency").split(","))
    return args


def worker_env(database_url: str, redis_url: str, secret_key: str, instance_dir: Path, args) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="production",
               SECRET_KEY=secret_key, INSTANCE_DIR=str(instance_dir), WEBHOOK_ALLOW_PRIVATE="127.0.0.1",
               PYTHONPATH=str(ROOT))
    for name, value in (("WEBHOOK_BATCH_SIZE", args.batch_size), ("WEBHOOK_CONCURRENCY", args.concurrency)):
        env.pop(name, None)
        if value:
            env[name] = str(value)
    return env


def run(args, procs: harness.Processes, cleanup: list) -> dict:
    from app import create_app
    from app.migrate import upgrade
    from app.webhooks import settings as webhook_settings

    load_at_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="matrix-bench-"))
    cleanup.append(lambda: None if args.keep_logs else shutil.rmtree(tmp, ignore_errors=True))
    redis_url = harness.start_redis(procs, tmp)
    if args.database == "postgresql":
        database = harness.PostgresDatabase()
        cleanup.append(database.drop)
        database_url, db_label = database.url, f"PostgreSQL {database.version}"
    else:
        database_url, db_label = f"sqlite:///{tmp / 'bench.db'}", "SQLite"
    upgrade(database_url)
    secret_key = secrets.token_urlsafe(32)
    env = worker_env(database_url, redis_url, secret_key, tmp, args)
    app = create_app({"APP_ENV": "production", "SECRET_KEY": secret_key, "DATABASE_URL": database_url,
                      "REDIS_URL": redis_url, "INSTANCE_DIR": str(tmp), "WEBHOOK_ALLOW_PRIVATE": "127.0.0.1",
                      **({"WEBHOOK_BATCH_SIZE": args.batch_size} if args.batch_size else {}),
                      **({"WEBHOOK_CONCURRENCY": args.concurrency} if args.concurrency else {})})
    cleanup.append(app.extensions["db"].engine.dispose)
    delivery = webhook_settings.current()
    receiver = harness.ReceiverProcess(procs)
    ctx = sc.Context(app=app, redis=app.extensions["redis"], receiver=receiver, tx_size=args.tx_size,
                     stall_seconds=args.stall_seconds)

    print(f"Seeding {args.b_orgs * ENDPOINTS_PER_ORG + 2 + args.latency_endpoints} endpoints …", flush=True)
    naive_a = min(args.naive_sample or args.events, args.events)
    b_full = args.b_orgs * ENDPOINTS_PER_ORG * args.b_events
    naive_b_orgs = args.b_orgs if not args.naive_sample else max(1, min(args.b_orgs, round(
        args.naive_sample / (ENDPOINTS_PER_ORG * args.b_events))))
    groups = {
        "warm": sc.seed_group(ctx, "warm", 1, 1),
        "a": sc.seed_group(ctx, "a", 1, 1),
        "b": sc.seed_group(ctx, "b", args.b_orgs, ENDPOINTS_PER_ORG),
        "naive-a": sc.seed_group(ctx, "naive-a", 1, 1),
        "naive-b": sc.seed_group(ctx, "naive-b", naive_b_orgs, ENDPOINTS_PER_ORG),
        "latency": sc.seed_group(ctx, "latency", args.latency_endpoints, 1),
    }
    print(f"Starting {args.workers} RQ workers …", flush=True)
    app_module = "bench.worker_app" if args.timing else "wsgi"
    workers = harness.start_workers(procs, args.workers, env, app_module, tmp, redis_url)
    sampler = meters.MemorySampler([w.pid for w in workers])
    sampler.start()
    cleanup.append(sampler.stop)
    meter = meters.CpuMeter([w.pid for w in workers], receiver.proc.pid, procs.pid("redis"))

    sampler.phase = "warm-up"
    sc.ours_end_to_end(ctx, "warm-up", groups["warm"], 50)
    sc.naive(ctx, "warm-up naive", groups["warm"], 20)

    results: dict[str, sc.Result] = {}

    def step(key: str, label: str, fn, *fn_args):
        sampler.phase = key
        print(f"  {label} …", end=" ", flush=True)
        sc.wait_idle(ctx)
        timing.read(ctx.redis)
        before, started = meter.snapshot(), time.perf_counter()
        result = fn(ctx, label, *fn_args)
        result.extra["cpu"] = {"wall": time.perf_counter() - started, **meter.delta(before, meter.snapshot())}
        if args.timing:
            result.extra["timing"] = timing.read(ctx.redis)
        results[key] = result
        print(f"{result.rate:,.0f}/s" if key != "latency" else f"p99 {result.extra['p99_ms']:.0f} ms", flush=True)

    n_b = len(groups["b"].endpoint_ids)
    if "a" in args.only:
        step("ours_a", f"ours (a) {args.events:,} events → 1 endpoint", sc.ours_end_to_end, groups["a"], args.events)
    if "b" in args.only:
        step("ours_b", f"ours (b) {args.b_events} events → each of {n_b:,} endpoints", sc.ours_end_to_end,
             groups["b"], args.b_events)
    if "backlog" in args.only:
        step("backlog_a", "ours (a) from a backlog", sc.ours_backlog, groups["a"], args.events)
        step("backlog_b", "ours (b) from a backlog", sc.ours_backlog, groups["b"], args.b_events)
    if "latency" in args.only:
        step("latency", f"latency at {args.latency_rate:.0f} events/s for {args.latency_seconds:.0f} s "
             f"over {args.latency_endpoints} endpoints", sc.latency, groups["latency"], args.latency_rate,
             args.latency_seconds)
    if "naive" in args.only:
        step("naive_a", f"naive (a) {naive_a:,} events → 1 endpoint", sc.naive, groups["naive-a"], naive_a)
        step("naive_b", f"naive (b) {args.b_events} events → each of "
             f"{len(groups['naive-b'].endpoint_ids):,} endpoints", sc.naive, groups["naive-b"], args.b_events)
        for key, full in (("naive_a", args.events), ("naive_b", b_full)):
            if results[key].deliveries < full:
                results[key].note = f"sample of {results[key].deliveries:,} (full size {full:,})"
    if "raw" in args.only:
        step("raw", "raw limit: 1 process, 1 kept-alive connection", sc.raw_limit,
             groups["a"].endpoint_ids[0], args.events)
    sampler.stop()

    return {
        "machine": {"cpu_cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
                    "loadavg_at_start": load_at_start, "loadavg_at_end": os.getloadavg(), "python": platform.python_version(),
                    "database": db_label, "workers": args.workers,
                    "worker_command": f"flask --app {app_module} worker", "commit": harness.git_commit(),
                    "batch_size": delivery.batch_size, "concurrency": delivery.concurrency,
                    "tx_size": args.tx_size, "quick": args.quick},
        "results": {key: {"name": r.name, "deliveries": r.deliveries, "seconds": r.seconds, "rate": r.rate,
                          "emit_seconds": r.emit_seconds, "note": r.note, **r.extra}
                    for key, r in results.items()},
        "memory": {"overall": sampler.overall(), "by_phase": sampler.peaks},
        "logs": str(tmp) if args.keep_logs else None,
    }


def _interrupt(*_args):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (`cmd &` in a script)
        signal.signal(sig, _interrupt)
    procs, cleanup = harness.Processes(), []
    started = time.monotonic()
    code = 0
    try:
        figures = run(args, procs, cleanup)
        report.print_report(figures)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    except KeyboardInterrupt:
        print("\nInterrupted; stopping everything …", file=sys.stderr)
        code = 130
    except sc.Stalled as stalled:
        print(f"\nThe benchmark stalled: {stalled}", file=sys.stderr)
        code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave a database behind
        procs.stop("worker")
        procs.stop("receiver")
        for step in reversed(cleanup):
            try:
                step()
            except Exception as error:  # noqa: BLE001 — clean up the rest regardless
                print(f"cleanup: {error}", file=sys.stderr)
        procs.stop()
        print(f"(total {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
