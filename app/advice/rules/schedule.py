"""Schedule: the instance idles at the same hours of the day, day after day → stop it at those hours.

For each hour of the day h (0–23 UTC), over the window (each h occurs `window_days` times in it): the instance ran
in h on `ran` days and was idle in it (hourly average GPU ≤ `idle_utilization_bp`) on `idle` of them. h is an
idle hour when it ran in h on at least half of the window's days (2 × ran ≥ window_days) and
idle ≥ `schedule_hour_share` (80%) × ran. The rule fires when there are at least `schedule_hours_min` (6) idle
hours a day.

Savings (USD cents a month) = hourly_rate × Σ over the idle hours of their idle occurrences in the window × 30 ÷
window_days, exact in Decimal and rounded once half up to the cent. Action: none (scheduled stops do not exist yet;
the evidence lists the hours to stop). An instance the idle rule already reports is left to it (`find` is not
called for it), so the same idle hours are never counted twice.
"""
from __future__ import annotations

from decimal import Decimal

from app.advice.findings import Finding
from app.advice.instance_usage import InstanceUsage, per_month, percent
from app.advice.thresholds import Thresholds

KIND = "schedule"


def find(usage: InstanceUsage, thresholds: Thresholds) -> Finding | None:
    """The finding for one instance, or None when fewer than `schedule_hours_min` hours of the day idle."""
    ran, idle = [0] * 24, [0] * 24
    for hour in usage.hours:
        ran[hour.at.hour] += 1
        idle[hour.at.hour] += hour.gpu_avg_bp <= thresholds.idle_utilization_bp
    window_days = usage.window.days
    stop_hours = [h for h in range(24)
                  if ran[h] and 2 * ran[h] >= window_days and idle[h] >= thresholds.schedule_hour_share * ran[h]]
    if len(stop_hours) < thresholds.schedule_hours_min:
        return None
    instance = usage.instance
    idle_hours = sum(idle[h] for h in stop_hours)
    savings = per_month(instance.hourly_rate, idle_hours, window_days)
    if savings <= 0:
        return None
    evidence = {
        "window_days": window_days,
        "stop_hours_utc": stop_hours,
        "stop_ranges_utc": _ranges(stop_hours),
        "schedule_hours_min": thresholds.schedule_hours_min,
        "hour_share_percent": percent(thresholds.schedule_hour_share * 10_000),
        "idle_threshold_percent": percent(thresholds.idle_utilization_bp),
        "idle_hours": idle_hours,
        "hourly_rate_usd_cents": instance.hourly_rate,
        "series_unit": "percent of days idle",
        "series": [{"label": f"{h:02d}:00", "value": percent(Decimal(10_000 * idle[h]) / ran[h]) if ran[h] else 0.0}
                   for h in range(24)],
    }
    return Finding(KIND, instance.public_id, instance.id,
                   f"Stop {instance.name} at its idle hours ({', '.join(evidence['stop_ranges_utc'])} UTC)",
                   None, savings, evidence)


def _ranges(hours: list[int]) -> list[str]:
    """[0, 1, 2, 22, 23] → ["22:00–03:00"]: consecutive hours (wrapping past midnight) as start–end ranges."""
    chosen = set(hours)
    if len(chosen) == 24:
        return ["00:00–24:00"]
    starts = [h for h in hours if (h - 1) % 24 not in chosen]
    ranges = []
    for start in starts:
        end = start
        while (end + 1) % 24 in chosen:
            end = (end + 1) % 24
        ranges.append(f"{start:02d}:00–{(end + 1) % 24:02d}:00")
    return ranges
