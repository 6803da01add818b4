"""What the benchmark's processes cost, read from /proc: the workers' memory
(sampled all along, since work horses come and go) and every component's CPU
time per scenario (to show where time went on a machine shared with others).
"""
from __future__ import annotations

import os
import threading


def _children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def _kib(pid: int, path: str, keys: tuple[str, ...]) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/{path}") as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                if name in keys:
                    values[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values


class MemorySampler(threading.Thread):
    """Samples every worker's process tree (worker, its RQ scheduler, the work
    horse of the moment) from /proc: the largest single-process RSS high-water
    mark, and the largest PSS total of one worker's tree (shared pages counted
    once, which RSS would count in parent and horse alike). Peaks per phase."""

    def __init__(self, worker_pids: list[int], interval: float = 0.1):
        super().__init__(daemon=True)
        self.worker_pids, self.interval = worker_pids, interval
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        peak = self.peaks.setdefault(self.phase, {"rss_mb": 0.0, "tree_pss_mb": 0.0, "processes": 0})
        for worker in self.worker_pids:
            pids = _tree(worker)
            pss = 0
            for pid in pids:
                status = _kib(pid, "status", ("VmHWM", "VmRSS"))
                peak["rss_mb"] = max(peak["rss_mb"], max(status.values(), default=0) / 1024)
                pss += _kib(pid, "smaps_rollup", ("Pss",)).get("Pss", 0)
            peak["tree_pss_mb"] = max(peak["tree_pss_mb"], pss / 1024)
            peak["processes"] = max(peak["processes"], len(pids))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)
        self.sample()

    def overall(self) -> dict[str, float]:
        return {key: max((p[key] for p in self.peaks.values()), default=0) for key in ("rss_mb", "tree_pss_mb")}


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> tuple[int, float, float, str]:
    """(ppid, own CPU seconds, reaped children's CPU seconds, comm) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        data = handle.read()
    comm = data[data.index("(") + 1:data.rindex(")")]
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK, comm


def _machine_busy() -> float:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _TICK  # all but idle and iowait


class CpuMeter:
    """CPU seconds used by each component, to show where a scenario's time went
    and how busy the machine was. A work horse's CPU reaches its worker when the
    worker reaps it; PostgreSQL is the whole local server (other databases too)."""

    def __init__(self, worker_pids: list[int], receiver_pid: int, redis_pid: int):
        self.worker_pids, self.receiver_pid, self.redis_pid = worker_pids, receiver_pid, redis_pid

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        snap = {"driver": times.user + times.system, "workers": 0.0, "receiver": 0.0, "redis": 0.0,
                "postgresql": 0.0, "machine": _machine_busy()}
        for worker in self.worker_pids:
            for pid in _tree(worker):
                try:
                    _ppid, own, children, _comm = _cpu(pid)
                except (OSError, ValueError, IndexError):
                    continue
                snap["workers"] += own + (children if pid == worker else 0.0)
        for key, pid in (("receiver", self.receiver_pid), ("redis", self.redis_pid)):
            try:
                snap[key] = _cpu(pid)[1]
            except (OSError, ValueError, IndexError):
                pass
        postgres = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    info = _cpu(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
                if info[3] == "postgres":
                    postgres[int(entry)] = info
        for pid, (ppid, own, children, _comm) in postgres.items():
            snap["postgresql"] += own + (children if ppid not in postgres else 0.0)
        return snap

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {key: after[key] - before[key] for key in after}
