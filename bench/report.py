"""The benchmark's printed table and its targets (issue 3, on a 2-core machine):
≥ 5× the naive way, ≥ 50% of the raw limit, p99 event-to-first-attempt
< 500 ms at 200 events/s, worker memory < 200 MB."""
from __future__ import annotations

TARGET_VS_NAIVE = 5.0
TARGET_VS_RAW = 0.5
TARGET_P99_MS = 500.0
TARGET_MEMORY_MB = 200.0


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(figures: dict) -> list[tuple[str, str, str, bool]]:
    """(what, measured, target, passed) for every target the run has figures for."""
    r = figures["results"]
    rows = []
    for part in ("a", "b"):
        ours = r.get(f"ours_{part}")
        if ours and r.get(f"naive_{part}"):
            ratio = ours["rate"] / r[f"naive_{part}"]["rate"]
            rows.append((f"ours vs naive ({part}), end to end", f"{ratio:.1f}×", f"≥ {TARGET_VS_NAIVE:.0f}×",
                         ratio >= TARGET_VS_NAIVE))
        if ours and r.get("raw"):
            share = ours["rate"] / r["raw"]["rate"]
            rows.append((f"ours vs raw ({part}), end to end", f"{share:.0%}", f"≥ {TARGET_VS_RAW:.0%}",
                         share >= TARGET_VS_RAW))
    if "latency" in r:
        p99 = r["latency"]["p99_ms"]
        rows.append(("p99 event → first attempt", f"{p99:.0f} ms", f"< {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS))
    memory = figures["memory"]["overall"]
    worst = max(memory["rss_mb"], memory["tree_pss_mb"])
    rows.append(("worker memory (peak)", f"{worst:.0f} MB", f"< {TARGET_MEMORY_MB:.0f} MB", worst < TARGET_MEMORY_MB))
    return rows


def informative(figures: dict) -> list[tuple[str, str]]:
    """Ratios without a target: the backlog figures leave out the driver's emit() cost."""
    r = figures["results"]
    rows = []
    for part in ("a", "b"):
        backlog = r.get(f"backlog_{part}")
        if backlog and r.get(f"naive_{part}"):
            rows.append((f"backlog ({part}) vs naive", f"{backlog['rate'] / r[f'naive_{part}']['rate']:.1f}×"))
        if backlog and r.get("raw"):
            rows.append((f"backlog ({part}) vs raw", f"{backlog['rate'] / r['raw']['rate']:.0%}"))
    return rows


def all_passed(figures: dict) -> bool:
    return all(passed for *_rest, passed in targets(figures))


def print_report(figures: dict) -> None:
    m = figures["machine"]
    print()
    print(f"Webhook delivery benchmark — {m['cpu_cores']} CPU cores ({m['usable_cores']} usable), "
          f"{m['database']}, {m['workers']} RQ workers, batch {m['batch_size']} × {m['concurrency']} threads, "
          f"emit in transactions of {m['tx_size']}, Python {m['python']}"
          + (" — QUICK (smoke) sizes" if m["quick"] else ""))
    print(f"Commit {m['commit']}. Workers: `{m['worker_command']}`. Load average (1/5/15 min) before the run "
          f"{' '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}, after it "
          f"{' '.join(f'{x:.2f}' for x in m['loadavg_at_end'])} (other work on the machine makes the figures noisy)")
    print()
    header = f"{'scenario':<58} {'deliveries':>10} {'seconds':>8} {'deliv./s':>9}  notes"
    print(header)
    print("-" * len(header))
    for key, r in figures["results"].items():
        if key == "latency":
            continue
        notes = []
        if r.get("emit_seconds") is not None:
            notes.append(f"emit() took {r['emit_seconds']:.1f} s")
        if r.get("duplicates"):
            notes.append(f"{r['duplicates']} duplicate arrivals")
        if r.get("note"):
            notes.append(r["note"])
        print(f"{r['name']:<58} {r['deliveries']:>10,} {r['seconds']:>8.2f} {r['rate']:>9,.0f}  {'; '.join(notes)}")
    if "latency" in figures["results"]:
        lat = figures["results"]["latency"]
        print()
        print(f"{lat['name']}: {lat['deliveries']:,} events (achieved {lat['achieved_rate']:.0f}/s "
              f"from {lat['emitters']} emitting threads); "
              f"event → first attempt p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
              f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms")
        if lat["achieved_rate"] < 0.9 * lat["requested_rate"]:
            print(f"  The driver could not emit at {lat['requested_rate']:.0f}/s (emit() + commit + enqueue cost "
                  "CPU the workers also need); the p99 above is at the achieved rate.")
    print()
    print("CPU seconds used during each scenario (PostgreSQL = the whole local server, other databases too; "
          "machine = all cores, all processes):")
    print(f"  {'scenario':<50} {'driver':>7} {'workers':>8} {'receiver':>8} {'redis':>6} {'postgres':>8} "
          f"{'machine':>8} {'of':>6}")
    cores = m["usable_cores"]
    for r in figures["results"].values():
        c = r["cpu"]
        print(f"  {r['name'][:50]:<50} {c['driver']:>7.1f} {c['workers']:>8.1f} {c['receiver']:>8.1f} "
              f"{c['redis']:>6.1f} {c['postgresql']:>8.1f} {c['machine']:>8.1f} {c['wall'] * cores:>6.1f}")
    timed = [(r["name"], r["timing"]) for r in figures["results"].values() if r.get("timing")]
    if timed:
        print()
        print("Where the workers' time went (seconds summed over workers; job = whole deliver_endpoint run):")
        for name, t in timed:
            parts = [f"{step} {t.get(step + '_s', 0):.2f} s/{int(t.get(step + '_n', 0))}"
                     for step in ("job", "claim", "send", "record")]
            print(f"  {name[:50]:<50} " + ", ".join(parts))
    memory = figures["memory"]
    print()
    print(f"Worker memory: largest process RSS (high-water) {memory['overall']['rss_mb']:.0f} MB; "
          f"largest worker with its children (RQ scheduler, any work horse) PSS {memory['overall']['tree_pss_mb']:.0f} MB")
    if any(r.get("note") for r in figures["results"].values()):
        print("The naive way ran on a sample: its rate does not depend on the number of deliveries "
              "(one job each), so ratios compare rates; --naive-sample 0 runs it in full.")
    print()
    print(f"{'target':<40} {'measured':>10} {'target':>10}")
    for what, measured, target, passed in targets(figures):
        print(f"{what:<40} {measured:>10} {target:>10}  {_verdict(passed)}")
    for what, measured in informative(figures):
        print(f"{what:<40} {measured:>10} {'(info)':>10}")
    if figures.get("logs"):
        print(f"\nWorker logs kept in {figures['logs']}")
