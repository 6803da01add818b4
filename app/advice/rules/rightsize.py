"""Rightsizing: the workload would fit the next smaller GPU type → move down.

Only for an instance whose GPU type is in `GPU_TYPES` and has a `smaller` type (others are skipped, never an
error: the catalog may lag behind what runs). Over the window's running hours, nearest-rank p95 (the value at rank
⌈0.95 × n⌉ of the sorted hours) of:
- memory in use, GB = hourly max memory (bp) × the current type's memory_gb ÷ 10,000; it must be strictly below
  `rightsize_memory_share` (50%) × the smaller type's memory_gb (compared exactly, in integers);
- hourly max GPU utilization; it must be strictly below `rightsize_gpu_p95_bp` (50%).

Savings (USD cents a month) = (instance.hourly_rate − smaller.hourly_price) × running hours in the window × 30 ÷
window_days, exact in Decimal, rounded once half up to the cent; reported only when > 0 (an instance already
rented below the smaller type's list price saves nothing by moving). Action: "resize:<smaller code>".
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from app.advice.findings import Finding
from app.advice.gpus import GPU_TYPES, GpuType
from app.advice.instance_usage import InstanceUsage, day_label, per_month, percent
from app.advice.thresholds import Thresholds

KIND = "rightsize"
BP = 10_000


def p95(values: list[int]) -> int:
    """Nearest-rank 95th percentile: the ⌈0.95 n⌉-th smallest value (n ≥ 1)."""
    ordered = sorted(values)
    rank = (95 * len(ordered) + 99) // 100
    return ordered[rank - 1]


def find(usage: InstanceUsage, thresholds: Thresholds) -> Finding | None:
    """The finding for one instance, or None (unknown type, nothing smaller, too busy, or no saving)."""
    instance = usage.instance
    current = GPU_TYPES.get(instance.gpu_type)
    smaller = GPU_TYPES.get(current.smaller) if current is not None and current.smaller else None
    if smaller is None or not usage.hours:
        return None
    memory_p95_bp = p95([hour.memory_max_bp for hour in usage.hours])
    gpu_p95_bp = p95([hour.gpu_max_bp for hour in usage.hours])
    if not _fits(memory_p95_bp, gpu_p95_bp, current, smaller, thresholds):
        return None
    savings = per_month(instance.hourly_rate - smaller.hourly_price, usage.running_hours, usage.window.days)
    if savings <= 0:
        return None
    evidence = {
        "window_days": usage.window.days,
        "gpu_type": current.code, "smaller_gpu_type": smaller.code,
        "memory_gb": current.memory_gb, "smaller_memory_gb": smaller.memory_gb,
        "memory_p95_gb": _gb(memory_p95_bp, current),
        "memory_limit_gb": float(thresholds.rightsize_memory_share * smaller.memory_gb),
        "gpu_p95_percent": percent(gpu_p95_bp), "gpu_limit_percent": percent(thresholds.rightsize_gpu_p95_bp),
        "running_hours": usage.running_hours,
        "hourly_rate_usd_cents": instance.hourly_rate, "smaller_hourly_price_usd_cents": smaller.hourly_price,
        "series_unit": "GB",
        "series": _daily_peak_memory(usage, current),
    }
    return Finding(KIND, instance.public_id, instance.id, f"Move {instance.name} to {smaller.code}",
                   f"resize:{smaller.code}", savings, evidence)


def _fits(memory_p95_bp: int, gpu_p95_bp: int, current: GpuType, smaller: GpuType, thresholds: Thresholds) -> bool:
    """p95 memory GB < share × smaller GB ⟺ bp × current GB < share × smaller GB × 10,000 (exact)."""
    memory_ok = memory_p95_bp * current.memory_gb < thresholds.rightsize_memory_share * smaller.memory_gb * BP
    return memory_ok and gpu_p95_bp < thresholds.rightsize_gpu_p95_bp


def _daily_peak_memory(usage: InstanceUsage, current: GpuType) -> list[dict]:
    """Each day's peak memory in use, GB, for the chart."""
    peaks: dict = {}
    for hour in usage.hours:
        peaks[hour.at.date()] = max(peaks.get(hour.at.date(), 0), hour.memory_max_bp)
    return [{"label": day_label(day), "value": _gb(bp, current)} for day, bp in sorted(peaks.items())]


def _gb(memory_bp: int, gpu: GpuType) -> float:
    """Memory in use in GB (3 decimals, half up) for evidence; the rule itself compares exact integers."""
    return float((Decimal(memory_bp) * gpu.memory_gb / BP).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))
