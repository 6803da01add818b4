"""Arrangements for the billing tests: customers with a subscription anchored on
1 November 2026 (a 30-day period), the standard tax rates, exact exchange rates,
and helpers that close a period the way the billing cycle does."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from app import clock
from app.accounts.models import Organization
from app.billing import invoices
from app.billing.models import Invoice, Subscription
from app.billing.periods import period_containing
from app.billing.plans import ensure_plans, plan_by_code
from app.billing.profile import get_profile
from app.currency.service import set_rate
from app.tax import exemptions
from app.tax.defaults import ensure_default_tax_rates

NOVEMBER = datetime(2026, 11, 1, tzinfo=timezone.utc)
DECEMBER = datetime(2026, 12, 1, tzinfo=timezone.utc)
HALFWAY = datetime(2026, 11, 16, tzinfo=timezone.utc)  # 15 of November's 30 days left
AFTER_NOVEMBER = DECEMBER + timedelta(minutes=1)
RATES = {"EUR": "0.9234", "JPY": "151.37", "GBP": "0.7891"}  # 1 USD = …, exact


def arrange_billing(db) -> None:
    """Plans, the seeded tax rates and the test's exchange rates, with the clock at 1 November."""
    clock.freeze(NOVEMBER)
    ensure_plans(db)
    ensure_default_tax_rates(db)
    for currency, rate in RATES.items():
        set_rate(db, currency, Decimal(rate), actor_label="test")
    db.commit()


def customer(db, slug: str, *, country: str = "US", currency: str = "USD", plan: str = "pro",
             customer_type: str = "individual", tax_id: str | None = None,
             payment_method: str | None = "pm_card_visa") -> Subscription:
    """A customer organization subscribed to `plan` since 1 November 2026."""
    chosen = plan_by_code(db, plan)
    org = Organization(slug=slug, name=f"{slug.title()} Ltd", kind="customer", tier=chosen.code, country=country,
                       preferred_currency=currency)
    db.add(org)
    db.flush()
    profile = get_profile(db, org.id)
    profile.customer_type, profile.tax_id, profile.payment_method = customer_type, tax_id, payment_method
    period = period_containing(NOVEMBER, NOVEMBER)
    subscription = Subscription(org_id=org.id, plan=chosen, status="active", billing_anchor=NOVEMBER,
                                current_period_start=period.start, current_period_end=period.end)
    db.add(subscription)
    db.commit()
    return subscription


def approved_exemption(db, org, reference: str = "EX-2026-001", expires_on: date = date(2027, 6, 30)):
    exemption = exemptions.submit(db, org, certificate_reference=reference, expires_on=expires_on, actor_label="test")
    exemptions.approve(db, exemption, actor_label="admin@matrix.test")
    db.commit()
    return exemption


def close_and_finalize(db, subscription: Subscription, at: datetime = AFTER_NOVEMBER) -> Invoice:
    """What the billing cycle does for one subscription once its period has ended."""
    clock.freeze(at)
    invoice = invoices.close_period(db, subscription.id)
    assert invoice is not None, "the period had not ended"
    db.commit()
    invoices.finalize(db, invoice)
    db.commit()
    return invoice


def invoices_of(db, subscription: Subscription) -> list[Invoice]:
    db.expire_all()
    return list(db.scalars(select(Invoice).where(Invoice.subscription_id == subscription.id).order_by(Invoice.id)))


def lines(invoice: Invoice) -> list[tuple[str, int, int]]:
    """(kind, amount, tax) of each line, in order."""
    return [(line.kind, line.amount, line.tax) for line in invoice.lines]
