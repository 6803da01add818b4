"""Arranging customers for the tax tests: an organization in a country, with a billing profile."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from app.accounts.models import Organization
from app.audit.models import AuditEvent
from app.billing.models import BillingProfile

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def customer(db, country: str, customer_type: str = "individual", tax_id: str | None = None,
             currency: str = "EUR", slug: str | None = None) -> Organization:
    """A customer organization in `country` whose profile says `customer_type` and `tax_id` (stored as given)."""
    org = Organization(slug=slug or f"c-{country.lower()}-{customer_type}", name=f"Customer {country}",
                       kind="customer", tier="pro", country=country, preferred_currency=currency)
    db.add(org)
    db.flush()
    db.add(BillingProfile(org_id=org.id, legal_name="", address="", customer_type=customer_type, tax_id=tax_id))
    db.commit()
    return org


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def audits(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
