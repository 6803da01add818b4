"""Every threshold of the cost-advice rules, in one place (the rules read `THRESHOLDS`; tests build their own).

Utilization is in basis points (10,000 = 100%), as stored; money in minor units; a month is 30 days
(`HOURS_PER_MONTH` = 720), so "per month" figures are the observed window scaled by 30 ÷ its days.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Thresholds:
    window_days: int = 14  # the usage the instance rules look at
    # Idle instance: a day is idle when the GPU averaged at most this over the hours the instance ran.
    idle_utilization_bp: int = 1000  # 10%
    idle_days_min: int = 4  # of the window's days
    # Rightsizing: the next smaller GPU type has enough headroom when the p95 memory in use is under this share
    # of its memory and the p95 GPU utilization is under this share.
    rightsize_memory_share: Decimal = Decimal("0.5")
    rightsize_gpu_p95_bp: int = 5000  # 50%
    # Schedule: an hour of the day is idle when the instance was idle in it on at least this share of the days
    # it ran then; a schedule needs at least this many such hours a day.
    schedule_hour_share: Decimal = Decimal("0.8")
    schedule_hours_min: int = 6
    # Commitment: steady when the instance ran at least this share of the window's hours, and busy (above idle)
    # on every day it ran.
    commitment_uptime_share: Decimal = Decimal("0.95")
    commitment_idle_hours_share: Decimal = Decimal("0.05")  # of its running hours, at most, may be idle hours
    commitment_discount: Decimal = Decimal("0.30")  # the committed-use discount offered (1-year)
    # Tier fit: the months of billed usage compared; a plan change is advised only if it saves at least this
    # share of what the current plan cost.
    tier_fit_months: int = 3
    tier_fit_min_share: Decimal = Decimal("0.05")
    # Severity: savings as a share of the organization's monthly spend, upper bounds of low, medium, high.
    severity_bounds: tuple[Decimal, Decimal, Decimal] = (Decimal("0.05"), Decimal("0.15"), Decimal("0.30"))


THRESHOLDS = Thresholds()
HOURS_PER_MONTH = 720
