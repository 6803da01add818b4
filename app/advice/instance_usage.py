"""An organization's running instances and their utilization over the advice window, read in one query.

The window is the last `window_days` whole UTC days: [today 00:00 − days, today 00:00), so "4 of the last 14
days" counts 14 dates, and every hour of the day occurs exactly `window_days` times in it, which the schedule rule
relies on (today, still going, waits for tomorrow's run; the daily job runs at 03:15 UTC). An hour is "running" when
it has an `InstanceHour` row (the instance reported utilization then); hours without one are not counted at all,
neither as idle nor as busy. Only instances that are running now are read: a stopped one costs nothing to advise on.

Percentages stay in integer basis points here; the rules compare them with integer arithmetic (a day is idle when
Σ hourly averages ≤ threshold × hours, never a rounded average), and only evidence shows rounded percentages.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.advice.thresholds import HOURS_PER_MONTH, THRESHOLDS
from app.rental.models import Instance
from app.sla.models import InstanceHour

BP_PER_PERCENT = 100
DAYS_PER_MONTH = HOURS_PER_MONTH // 24  # 30


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    days: int

    @property
    def hours(self) -> int:
        return self.days * 24


@dataclass(frozen=True)
class Hour:
    """One running hour: averages are the samples' sum ÷ count, rounded down to a basis point."""

    at: datetime
    gpu_avg_bp: int
    gpu_max_bp: int
    memory_avg_bp: int
    memory_max_bp: int


@dataclass(frozen=True)
class Day:
    """One UTC date: the hours the instance ran on it and the sum of those hours' GPU averages."""

    day: date
    hours: int
    gpu_sum_bp: int

    def idle(self, threshold_bp: int) -> bool:
        """The average over the hours it ran is at most `threshold_bp`, compared exactly (no rounding)."""
        return self.gpu_sum_bp <= threshold_bp * self.hours

    @property
    def gpu_avg_percent(self) -> float:
        """For evidence and charts only: the day's average GPU utilization, percent to 2 decimals."""
        return percent(Decimal(self.gpu_sum_bp) / self.hours)


@dataclass(frozen=True)
class InstanceUsage:
    instance: Instance
    window: Window
    hours: tuple[Hour, ...]  # in time order
    days: tuple[Day, ...]  # in date order, only dates with a running hour

    @property
    def running_hours(self) -> int:
        return len(self.hours)

    def idle_days(self, threshold_bp: int) -> list[Day]:
        return [day for day in self.days if day.idle(threshold_bp)]


def window_ending(now: datetime, days: int) -> Window:
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(end - timedelta(days=days), end, days)


def load_usage(session: Session, org: Organization, now: datetime, days: int = THRESHOLDS.window_days
               ) -> list[InstanceUsage]:
    """Each running instance of `org` that reported utilization in the window, with its hours and days.
    One query (instances joined to their hours, both filtered by the organization)."""
    window = window_ending(now, days)
    rows = session.execute(
        select(Instance, InstanceHour.hour, InstanceHour.samples, InstanceHour.gpu_sum_bp, InstanceHour.gpu_max_bp,
               InstanceHour.memory_sum_bp, InstanceHour.memory_max_bp)
        .join(InstanceHour, InstanceHour.instance_id == Instance.id)
        .where(Instance.org_id == org.id, InstanceHour.org_id == org.id, Instance.status == "running",
               InstanceHour.hour >= window.start, InstanceHour.hour < window.end)
        .order_by(Instance.id, InstanceHour.hour)).all()
    grouped: dict[int, tuple[Instance, list[Hour]]] = {}
    for instance, at, samples, gpu_sum, gpu_max, memory_sum, memory_max in rows:
        grouped.setdefault(instance.id, (instance, []))[1].append(
            Hour(at, gpu_sum // samples, gpu_max, memory_sum // samples, memory_max))
    return [InstanceUsage(instance, window, tuple(hours), _days(hours)) for instance, hours in grouped.values()]


def _days(hours: list[Hour]) -> tuple[Day, ...]:
    counts: dict[date, int] = defaultdict(int)
    sums: dict[date, int] = defaultdict(int)
    for hour in hours:
        counts[hour.at.date()] += 1
        sums[hour.at.date()] += hour.gpu_avg_bp
    return tuple(Day(day, counts[day], sums[day]) for day in sorted(counts))


def per_month(hourly_cents: int, hours: int, window_days: int, factor: Decimal = Decimal(1)) -> int:
    """USD cents a month: `hourly_cents` × `hours` seen in the window × 30 ÷ `window_days` × `factor`, computed
    exactly and rounded once, half up, to the cent."""
    exact = Decimal(hourly_cents) * hours * DAYS_PER_MONTH * factor / window_days
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent(bp: Decimal | int) -> float:
    """Basis points as a percentage with 2 decimals (half up), a float for JSON evidence and charts."""
    return float((Decimal(bp) / BP_PER_PERCENT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def day_label(day: date) -> str:
    """"Nov 20" for a chart's axis."""
    return f"{day:%b} {day.day}"
