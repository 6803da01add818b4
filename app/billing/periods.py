"""Billing periods: whole calendar months counted from a subscription's anchor.

Counting from the anchor, not from the previous period's end, keeps a
subscription started on the 31st on the 31st: Jan 31 → Feb 28 → Mar 31, as
Stripe does, instead of drifting to the 28th for ever.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, the day clamped to the month's length."""
    month_index = anchor.month - 1 + months
    year, month = anchor.year + month_index // 12, month_index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def months_between(anchor: datetime, moment: datetime) -> int:
    """How many whole periods from `anchor` start at or before `moment`, minus one (0 for the first)."""
    months = (moment.year - anchor.year) * 12 + moment.month - anchor.month
    while months > 0 and add_months(anchor, months) > moment:
        months -= 1
    while add_months(anchor, months + 1) <= moment:
        months += 1
    return months


def period_containing(anchor: datetime, moment: datetime) -> Period:
    """The billing period (from `anchor`'s schedule) that `moment` falls in; `moment` ≥ `anchor`."""
    if moment < anchor:
        raise ValueError("a moment before the billing anchor belongs to no period")
    index = months_between(anchor, moment)
    return Period(add_months(anchor, index), add_months(anchor, index + 1))


def following(anchor: datetime, period: Period) -> Period:
    """The period after `period` on `anchor`'s schedule."""
    return period_containing(anchor, period.end)
