"""Arrangements for the lifecycle and API tests (kept apart from the rules' conftest): two Pro customers, each
subscribed since 1 November 2026 with two running instances, a partner (never advised), the clock stopped on
15 November at 03:15 UTC (the daily run), and findings built by hand so these tests need no usage data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.models import Organization
from app.advice.findings import Finding
from app.advice.models import Recommendation
from app.advice.service import recompute
from app.audit.models import AuditEvent
from app.billing.models import Subscription
from app.billing.plans import ensure_plans
from app.rental.models import Instance

NOW = datetime(2026, 11, 15, 3, 15, tzinfo=timezone.utc)
TODAY = NOW.date()
DAY = timedelta(days=1)
NOVEMBER = datetime(2026, 11, 1, tzinfo=timezone.utc)
DECEMBER = datetime(2026, 12, 1, tzinfo=timezone.utc)
SPEND = 200_000  # $2,000.00 a month: what the severity is a share of


@dataclass
class Customer:
    org: Organization
    subscription: Subscription
    a100: Instance  # A100-80GB at $2.49/h, running
    l4: Instance  # L4-24GB at $0.59/h, running


@dataclass
class Shop:
    acme: Customer
    globex: Customer
    partner: Organization


def _customer(db, plans, slug: str) -> Customer:
    org = Organization(slug=slug, name=slug.title(), kind="customer", tier="pro", country="US")
    db.add(org)
    db.flush()
    subscription = Subscription(org_id=org.id, plan=plans["pro"], status="active", billing_anchor=NOVEMBER,
                                current_period_start=NOVEMBER, current_period_end=DECEMBER, created_at=NOVEMBER)
    a100 = Instance(org_id=org.id, name=f"{slug}-train-1", gpu_type="A100-80GB", hourly_rate=2_49, currency="USD")
    l4 = Instance(org_id=org.id, name=f"{slug}-infer-1", gpu_type="L4-24GB", hourly_rate=59, currency="USD")
    db.add_all([subscription, a100, l4])
    db.flush()
    return Customer(org, subscription, a100, l4)


@pytest.fixture
def shop(db) -> Shop:
    clock.freeze(NOW)
    plans = ensure_plans(db)
    partner = Organization(slug="northwind", name="Northwind", kind="partner", tier=None, country="US")
    db.add(partner)
    made = Shop(_customer(db, plans, "acme"), _customer(db, plans, "globex"), partner)
    db.commit()
    return made


def idle(instance: Instance, savings_usd: int = 107_568, title: str | None = None) -> Finding:
    """An idle-instance finding: stop it (by default 6 idle days × 24 h × 30/14 × $2.49 → $1,075.68 a month)."""
    return Finding(kind="idle_instance", subject=instance.public_id, instance_id=instance.id,
                   title=title or f"Stop idle instance {instance.name}", action="stop_instance",
                   savings_usd=savings_usd, evidence={"idle_days": 6, "window_days": 14,
                                                      "series": [{"label": "Nov 14", "value": 2.5}]})


def rightsize(instance: Instance, to: str = "A100-40GB", savings_usd: int = 72_000) -> Finding:
    return Finding(kind="rightsize", subject=instance.public_id, instance_id=instance.id,
                   title=f"Move {instance.name} to {to}", action=f"resize:{to}", savings_usd=savings_usd,
                   evidence={"p95_memory_bp": 2100, "series": []})


def tier_fit(to: str = "free", savings_usd: int = 4_900) -> Finding:
    return Finding(kind="tier_fit", subject="plan", instance_id=None, title=f"Change to the {to.title()} plan",
                   action=f"change_plan:{to}", savings_usd=savings_usd, evidence={"months": 3, "series": []})


def commitment(instance: Instance, savings_usd: int = 53_784) -> Finding:
    """Advice only: nothing Apply could do."""
    return Finding(kind="commitment", subject=instance.public_id, instance_id=instance.id,
                   title=f"Commit to {instance.name} for a year", action=None, savings_usd=savings_usd,
                   evidence={"uptime_share": 0.99, "series": []})


def run(db, customer: Customer, findings: list[Finding], at: datetime = NOW, spend: int = SPEND):
    """The daily recompute with these findings, committed."""
    result = recompute(db, customer.org, at, findings, spend_usd=spend)
    db.commit()
    return result


def recommendations(db, customer: Customer) -> list[Recommendation]:
    db.expire_all()
    return list(db.scalars(select(Recommendation).where(Recommendation.org_id == customer.org.id)
                           .order_by(Recommendation.id)))


def audit_count(db, action: str, target: str | None = None) -> int:
    statement = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if target is not None:
        statement = statement.where(AuditEvent.target == target)
    return db.scalar(statement)
