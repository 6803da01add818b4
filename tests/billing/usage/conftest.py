"""Arrangements for the usage tests: a Pro customer whose billing period is November 2026, its instances, another
organization, the clock stopped mid-period; and helpers to send batches and read back what they wrote."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.models import Organization
from app.billing.models import Subscription, UsageAlert, UsageRecord, UsageTotal
from app.billing.plans import ensure_plans
from app.billing.usage import BatchResult, UsageInput, record_batch
from app.rental.models import Instance
from app.security import api_keys

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=timezone.utc)
NOVEMBER = datetime(2026, 11, 1, tzinfo=timezone.utc)
DECEMBER = datetime(2026, 12, 1, tzinfo=timezone.utc)
PRO_GPU = 360_000  # GPU-seconds Pro includes (100 GPU-hours): 80% = 288,000
PRO_API = 1_000_000  # API requests Pro includes: 80% = 800,000


@dataclass
class Customer:
    org: Organization
    subscription: Subscription
    instance: str  # ins_… of its instance "trainer"
    second_instance: str  # ins_… of its instance "notebook"
    foreign_instance: str  # ins_… of another organization's instance


def _instance(db, org, name) -> str:
    instance = Instance(org_id=org.id, name=name, gpu_type="A100-80GB", hourly_rate=2_49, currency="USD")
    db.add(instance)
    db.flush()
    return instance.public_id


@pytest.fixture
def customer(db) -> Customer:
    """acme on Pro, period 2026-11-01 → 2026-12-01, clock at 2026-11-14 12:00 UTC."""
    clock.freeze(NOW)
    plans = ensure_plans(db)
    org = Organization(slug="acme", name="Acme", kind="customer", tier="pro", country="US")
    other = Organization(slug="globex", name="Globex", kind="customer", tier="enterprise", country="DE",
                         preferred_currency="EUR")
    db.add_all([org, other])
    db.flush()
    subscription = Subscription(org_id=org.id, plan=plans["pro"], status="active", billing_anchor=NOVEMBER,
                                current_period_start=NOVEMBER, current_period_end=DECEMBER)
    db.add(subscription)
    made = Customer(org, subscription, _instance(db, org, "trainer"), _instance(db, org, "notebook"),
                    _instance(db, other, "their-box"))
    db.commit()
    return made


def gpu(key: str, quantity: int, instance: str, at: datetime | None = None) -> UsageInput:
    return UsageInput(idempotency_key=key, metric="gpu_seconds", quantity=quantity, instance=instance, timestamp=at)


def requests(key: str, quantity: int, model: str = "llama-3-70b", at: datetime | None = None) -> UsageInput:
    return UsageInput(idempotency_key=key, metric="api_requests", quantity=quantity, model=model, timestamp=at)


def send(db, customer: Customer, records: list[UsageInput]) -> BatchResult:
    """Record a batch through the service and commit, as the API does."""
    result = record_batch(db, customer.org, records, actor_label="api:mtx_test")
    db.commit()
    return result


def total(db, metric: str, period_start: datetime = NOVEMBER) -> int | None:
    db.expire_all()
    return db.scalar(select(UsageTotal.quantity).where(UsageTotal.metric == metric,
                                                       UsageTotal.period_start == period_start))


def record_count(db) -> int:
    return db.scalar(select(func.count()).select_from(UsageRecord))


def alert_count(db) -> int:
    return db.scalar(select(func.count()).select_from(UsageAlert))


@pytest.fixture
def demo_november(app, db):
    """The demo data seeded with the clock in November 2026: acme (Pro) and globex (Enterprise) are billed on
    2026-11-01 → 2026-12-01, and the clock stays at 2026-11-14 12:00 UTC."""
    from app.demo import seed_demo

    clock.freeze(NOW)
    seed_demo(db)
    db.commit()
    return db


@pytest.fixture
def api_as(client, demo_november):
    """api_as(slug, scopes)(method, path, json=…): API calls with a fresh key of that organization."""
    def caller(slug: str = "acme", scopes=("read", "write")):
        org = demo_november.scalars(select(Organization).where(Organization.slug == slug)).one()
        secret = api_keys.create(demo_november, org.id, "usage test key", scopes, actor_label="test").secret
        demo_november.commit()

        def call(method: str, path: str, **kwargs):
            return client.http.open(path, method=method, headers={"Authorization": f"Bearer {secret}"}, **kwargs)
        return call
    return caller
