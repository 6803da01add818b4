"""Commitment: steady, busy, around the clock → a committed-use discount would make the same work cheaper.

Fires when the instance ran at least `commitment_uptime_share` (95%) of the window's hours (running hours ≥
0.95 × window_days × 24, compared exactly), none of the days it ran was idle (see the idle rule), and at most
`commitment_idle_hours_share` (5%) of its running hours were idle hours (hourly average ≤ the idle threshold): a
steady workload around the clock, not one merely left on, nor one idle every night (that is a schedule's case,
and committing to idle nights would contradict stopping them).

Savings (USD cents a month) = hourly_rate × running hours in the window × 30 ÷ window_days ×
`commitment_discount` (30%), exact in Decimal and rounded once half up to the cent: the discount on what it
costs a month at this pace. Action: none (a commitment is a contract, not a button).
"""
from __future__ import annotations

from decimal import Decimal

from app.advice.findings import Finding
from app.advice.instance_usage import InstanceUsage, day_label, per_month, percent
from app.advice.thresholds import Thresholds

KIND = "commitment"


def find(usage: InstanceUsage, thresholds: Thresholds) -> Finding | None:
    """The finding for one instance, or None when it ran too little or idled on some day."""
    window = usage.window
    if usage.running_hours < thresholds.commitment_uptime_share * window.hours:
        return None
    if usage.idle_days(thresholds.idle_utilization_bp):
        return None
    idle_hours = sum(1 for hour in usage.hours if hour.gpu_avg_bp <= thresholds.idle_utilization_bp)
    if idle_hours > thresholds.commitment_idle_hours_share * usage.running_hours:
        return None
    instance = usage.instance
    savings = per_month(instance.hourly_rate, usage.running_hours, window.days, thresholds.commitment_discount)
    if savings <= 0:
        return None
    evidence = {
        "window_days": window.days,
        "running_hours": usage.running_hours,
        "window_hours": window.hours,
        "uptime_percent": percent(Decimal(10_000 * usage.running_hours) / window.hours),
        "uptime_min_percent": percent(thresholds.commitment_uptime_share * 10_000),
        "idle_hours": idle_hours,
        "discount_percent": percent(thresholds.commitment_discount * 10_000),
        "hourly_rate_usd_cents": instance.hourly_rate,
        "series_unit": "percent",
        "series": [{"label": day_label(day.day), "value": day.gpu_avg_percent} for day in usage.days],
    }
    return Finding(KIND, instance.public_id, instance.id, f"Commit to {instance.name} for a discount", None,
                   savings, evidence)
