"""Idle instance: the GPU did (almost) nothing on several days of the window → stop it.

A day (UTC) is idle when the instance's average GPU utilization over the hours it ran that day (Σ hourly averages
÷ running hours) is at most `idle_utilization_bp` (10%), compared exactly. The rule fires when at least
`idle_days_min` (4) of the window's days are idle.

Savings (USD cents a month) = hourly_rate × the running hours of the idle days × 30 ÷ window_days, computed
exactly in Decimal and rounded once, half up, to the cent: what those idle hours cost, scaled from the window to a
30-day month. Action: stop the instance.
"""
from __future__ import annotations

from app.advice.findings import Finding
from app.advice.instance_usage import InstanceUsage, day_label, per_month, percent
from app.advice.thresholds import Thresholds

KIND = "idle_instance"


def find(usage: InstanceUsage, thresholds: Thresholds) -> Finding | None:
    """The finding for one instance, or None when fewer than `idle_days_min` days were idle."""
    idle = usage.idle_days(thresholds.idle_utilization_bp)
    if len(idle) < thresholds.idle_days_min:
        return None
    instance = usage.instance
    idle_hours = sum(day.hours for day in idle)
    savings = per_month(instance.hourly_rate, idle_hours, usage.window.days)
    if savings <= 0:  # a free instance: nothing to save
        return None
    evidence = {
        "window_days": usage.window.days,
        "idle_days": len(idle),
        "idle_days_min": thresholds.idle_days_min,
        "idle_threshold_percent": percent(thresholds.idle_utilization_bp),
        "idle_hours": idle_hours,
        "running_hours": usage.running_hours,
        "hourly_rate_usd_cents": instance.hourly_rate,
        "idle_dates": [day.day.isoformat() for day in idle],
        "series_unit": "percent",
        "series": [{"label": day_label(day.day), "value": day.gpu_avg_percent} for day in usage.days],
    }
    return Finding(KIND, instance.public_id, instance.id, f"Stop idle instance {instance.name}", "stop_instance",
                   savings, evidence)
