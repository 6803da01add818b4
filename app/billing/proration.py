"""Proration to the second, Stripe's way.

A plan change at moment t inside a period credits the unused time on the old
plan and charges the remaining time on the new one:

    credit = −old price × (period end − t) / period length
    charge = +new price × (period end − t) / period length

each rounded half up to the minor unit on its own. An upgrade halfway through
a 10 → 20 USD month: −5.00 + 10.00 = +5.00. Pure arithmetic, no database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from app.billing.periods import Period


def share(amount: int, seconds: int, period_seconds: int) -> int:
    """`amount` × seconds / period_seconds in minor units, rounded half up (away from zero)."""
    if period_seconds <= 0:
        raise ValueError("a period has a positive length")
    exact = Decimal(amount) * Decimal(seconds) / Decimal(period_seconds)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def seconds_left(period: Period, moment: datetime) -> int:
    """Whole seconds from `moment` to the end of the period (0 at or after the end)."""
    if not period.start <= moment:
        raise ValueError("the moment is before the period")
    return max(0, int((period.end - moment).total_seconds()))


@dataclass(frozen=True)
class Proration:
    credit: int   # ≤ 0: unused time on the old plan
    charge: int   # ≥ 0: remaining time on the new plan
    seconds_left: int
    period: Period

    @property
    def net(self) -> int:
        return self.credit + self.charge


def prorate_change(old_price: int, new_price: int, period: Period, moment: datetime) -> Proration:
    """What moving from a plan costing `old_price` to one costing `new_price` at `moment` adds to the period."""
    left = seconds_left(period, moment)
    return Proration(credit=-share(old_price, left, period.seconds), charge=share(new_price, left, period.seconds),
                     seconds_left=left, period=period)
