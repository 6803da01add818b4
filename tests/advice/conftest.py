"""Arrangements for the cost-advice rule tests: a Pro customer (acme, subscribed since 1 August 2026, so August,
September and October are ended billing periods) with instances of known GPU types, one of a type the catalog does
not know and a stopped one; a second customer (globex) whose rows must never leak into acme's advice; the clock
stopped at 00:30 on 15 November, so the 14-day window is exactly 1–14 November (00:00 to 00:00). And a way to write
`InstanceHour` rows directly (arrangement for rule tests; ingestion has its own tests)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from app import clock
from app.accounts.models import Organization
from app.advice.rules import each_rule
from app.billing.models import Subscription, UsageTotal
from app.billing.periods import add_months
from app.billing.plans import ensure_plans
from app.rental.models import Instance
from app.sla.models import InstanceHour
from tests.advice.lifecycle_support import shop  # noqa: F401  (the lifecycle tests' fixture)

NOW = datetime(2026, 11, 15, 0, 30, tzinfo=timezone.utc)
WINDOW_START = datetime(2026, 11, 1, tzinfo=timezone.utc)  # 14 days × 24 = 336 hours up to 15 Nov 00:00
WINDOW_HOURS = 336
ANCHOR = datetime(2026, 8, 1, tzinfo=timezone.utc)
AUGUST, SEPTEMBER, OCTOBER, NOVEMBER = (add_months(ANCHOR, months) for months in range(4))
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BUSY = 6000  # 60% GPU, in basis points

Value = int | Callable[[datetime], int]


@dataclass
class AdviceCustomer:
    org: Organization
    subscription: Subscription
    a100: Instance  # A100-80GB at its list price, $2.49/h: the next type down is A100-40GB at $1.49/h
    l4: Instance  # L4-24GB at $0.59/h
    v100: Instance  # V100-16GB at a negotiated $0.87/h
    mystery: Instance  # a GPU type not in the catalog
    stopped: Instance  # an A100-80GB that is stopped now


@dataclass
class AdviceCustomers:
    acme: AdviceCustomer  # Pro
    globex: AdviceCustomer  # Enterprise


def _customer(db, plans, slug: str, tier: str) -> AdviceCustomer:
    org = Organization(slug=slug, name=slug.title(), kind="customer", tier=tier, country="US")
    db.add(org)
    db.flush()
    subscription = Subscription(org_id=org.id, plan=plans[tier], status="active", billing_anchor=ANCHOR,
                                current_period_start=NOVEMBER, current_period_end=add_months(ANCHOR, 4),
                                created_at=ANCHOR)

    def instance(name: str, gpu: str, rate: int, status: str = "running") -> Instance:
        return Instance(org_id=org.id, name=f"{slug}-{name}", gpu_type=gpu, hourly_rate=rate, currency="USD",
                        status=status)

    made = AdviceCustomer(org, subscription, instance("a100", "A100-80GB", 2_49), instance("l4", "L4-24GB", 59),
                          instance("v100", "V100-16GB", 87), instance("mystery", "Z9-999GB", 1_00),
                          instance("old", "A100-80GB", 2_49, status="stopped"))
    db.add_all([subscription, made.a100, made.l4, made.v100, made.mystery, made.stopped])
    db.flush()
    return made


@pytest.fixture
def customers(db) -> AdviceCustomers:
    clock.freeze(NOW)
    plans = ensure_plans(db)
    made = AdviceCustomers(_customer(db, plans, "acme", "pro"), _customer(db, plans, "globex", "enterprise"))
    db.commit()
    return made


def window_hours(days: Iterable[int] = range(14), hours: Iterable[int] = range(24)) -> list[datetime]:
    """The window's hours on day indexes `days` (0 = 1 November) at hours of the day `hours`."""
    hours = list(hours)
    return [WINDOW_START + day * DAY + hour * HOUR for day in days for hour in hours]


def write_hours(db, instance: Instance, hours: Iterable[datetime], *, gpu: Value = BUSY, gpu_max: Value | None = None,
                memory: Value = 3000, memory_max: Value | None = None, samples: int = 60) -> None:
    """One `InstanceHour` per hour in `hours`, whose sample average is exactly `gpu` / `memory` basis points (a
    value, or a function of the hour) and maxima `gpu_max` / `memory_max` (default: the averages)."""
    def value(given: Value, at: datetime) -> int:
        return given(at) if callable(given) else given

    rows = []
    for at in hours:
        gpu_avg, memory_avg = value(gpu, at), value(memory, at)
        rows.append({"instance_id": instance.id, "org_id": instance.org_id, "hour": at, "samples": samples,
                     "gpu_sum_bp": gpu_avg * samples, "memory_sum_bp": memory_avg * samples,
                     "gpu_max_bp": value(gpu_max, at) if gpu_max is not None else gpu_avg,
                     "memory_max_bp": value(memory_max, at) if memory_max is not None else memory_avg})
    if rows:
        db.execute(insert(InstanceHour), rows)
    db.commit()


def write_usage(db, org: Organization, period_start: datetime, **quantities: int) -> None:
    """The billing period's usage totals (as billing's ingestion leaves them), e.g. gpu_seconds=18_000."""
    db.add_all([UsageTotal(org_id=org.id, metric=metric, period_start=period_start,
                           period_end=add_months(period_start, 1), quantity=quantity)
                for metric, quantity in quantities.items()])
    db.commit()


def found(db, customer: AdviceCustomer, kind: str, **kwargs) -> list:
    """The findings of `kind` for the customer at NOW, as the rule finds them on its own (before `find_all` keeps
    one per instance)."""
    return [finding for finding in each_rule(db, customer.org, NOW, **kwargs) if finding.kind == kind]
