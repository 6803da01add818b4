"""Arrangements for the SLA tests: a Pro customer (acme) and an Enterprise one (globex) subscribed since
1 November 2026 with an instance each, the seeded SLA definitions, the clock stopped on 14 November; and a way to
write per-minute rollups directly (for tests about evaluation rather than ingestion)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from app import clock
from app.accounts.models import Organization
from app.billing.models import Subscription
from app.billing.plans import ensure_plans
from app.rental.models import Instance
from app.sla.definitions import ensure_default_definitions
from app.sla.models import BUCKET_COLUMNS, SlaMinute

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=timezone.utc)
NOVEMBER = datetime(2026, 11, 1, tzinfo=timezone.utc)
DECEMBER = datetime(2026, 12, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
HEALTHY_BUCKETS = (400, 500, 80, 15, 5, 0, 0, 0)  # 1,000 requests a minute, p95 within 200 ms


@dataclass
class SlaCustomer:
    org: Organization
    subscription: Subscription
    instance: Instance


@dataclass
class SlaCustomers:
    acme: SlaCustomer  # Pro
    globex: SlaCustomer  # Enterprise


def _customer(db, plans, slug: str, tier: str) -> SlaCustomer:
    org = Organization(slug=slug, name=slug.title(), kind="customer", tier=tier, country="US")
    db.add(org)
    db.flush()
    subscription = Subscription(org_id=org.id, plan=plans[tier], status="active", billing_anchor=NOVEMBER,
                                current_period_start=NOVEMBER, current_period_end=DECEMBER, created_at=NOVEMBER)
    instance = Instance(org_id=org.id, name=f"{slug}-gpu-1", gpu_type="A100-80GB", hourly_rate=2_49, currency="USD")
    db.add_all([subscription, instance])
    db.flush()
    return SlaCustomer(org, subscription, instance)


@pytest.fixture
def customers(db) -> SlaCustomers:
    clock.freeze(NOW)
    plans = ensure_plans(db)
    ensure_default_definitions(db)
    made = SlaCustomers(_customer(db, plans, "acme", "pro"), _customer(db, plans, "globex", "enterprise"))
    db.commit()
    return made


def write_minutes(db, org_id: int, start: datetime, count: int, *, down: set[int] = frozenset(),
                  requests: int = 1000, errors: int = 0, buckets: tuple[int, ...] = HEALTHY_BUCKETS,
                  skip: set[int] = frozenset()) -> None:
    """`count` rollup minutes from `start`: minute i is down (a failed check) when i is in `down`, absent when in
    `skip`. Arrangement for evaluation tests; ingestion has its own tests."""
    assert sum(buckets) == requests or requests == 0
    rows = []
    for index in range(count):
        if index in skip:
            continue
        failed = 1 if index in down else 0
        row = {"org_id": org_id, "minute": start + index * MINUTE, "samples": 1, "checks": 1,
               "checks_failed": failed, "requests": requests, "errors": errors}
        row.update(zip(BUCKET_COLUMNS, buckets if requests else (0,) * len(BUCKET_COLUMNS)))
        rows.append(row)
    for offset in range(0, len(rows), 5000):
        db.execute(insert(SlaMinute), rows[offset:offset + 5000])
    db.commit()
