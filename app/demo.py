"""Demo data for `flask seed-demo` and `make run`. Idempotent: keyed by slug,
email and plan code, so running it again repairs rather than duplicates."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.accounts import passwords
from app.accounts.models import Organization, User
from app.billing.models import Plan, Subscription
from app.billing.periods import period_containing
from app.billing.plans import ensure_plans
from app.billing.profile import get_profile
from app.currency.service import ensure_rates
from app.payments.fees import ensure_default_tiers
from app.sla.definitions import ensure_default_definitions
from app.tax.defaults import ensure_default_tax_rates
from app.rental.models import Instance

DEMO_PASSWORD = "demo-password"

ORGANIZATIONS = [
    # slug, name, kind, tier, country, currency, referred by
    ("northwind", "Northwind Partners", "partner", None, "GB", "GBP", None),
    ("acme", "Acme Corporation", "customer", "pro", "US", "USD", "northwind"),
    ("globex", "Globex Industries", "customer", "enterprise", "DE", "EUR", None),
]

USERS = [
    # email, name, org slug, role
    ("admin@matrix.test", "Ada Admin", None, None),
    ("alice@acme.test", "Alice Acme", "acme", "owner"),
    ("bob@acme.test", "Bob Acme", "acme", "member"),
    ("gina@globex.test", "Gina Globex", "globex", "owner"),
    ("pat@northwind.test", "Pat Northwind", "northwind", "owner"),
]

INSTANCES = {  # org slug: [(name, gpu type, hourly rate in minor units, status)]
    "acme": [
        ("training-a100-1", "A100-80GB", 2_49, "running"),
        ("inference-l4-1", "L4-24GB", 59, "running"),
        ("notebook-t4", "T4-16GB", 35, "stopped"),
    ],
    "globex": [
        ("llm-h100-1", "H100-80GB", 3_99, "running"),
        ("llm-h100-2", "H100-80GB", 3_99, "running"),
        ("batch-a10-1", "A10-24GB", 75, "running"),
        ("legacy-v100", "V100-16GB", 89, "suspended"),
    ],
}


BILLING = {  # org slug: (customer type, VAT ID, Stripe test PaymentMethod invoices are charged to)
    "acme": ("business", None, "pm_card_visa"),
    "globex": ("business", "DE123456789", "pm_card_visa"),
}


def _upsert_organizations(session: Session) -> dict[str, Organization]:
    orgs = {o.slug: o for o in session.scalars(select(Organization))}
    for slug, name, kind, tier, country, currency, referrer in ORGANIZATIONS:
        org = orgs.get(slug) or Organization(slug=slug)
        org.name, org.kind, org.tier, org.country, org.preferred_currency = name, kind, tier, country, currency
        org.referred_by = orgs[referrer] if referrer else None
        session.add(org)
        orgs[slug] = org
    session.flush()
    return orgs


def _upsert_users(session: Session, orgs: dict[str, Organization]) -> int:
    existing = {u.email: u for u in session.scalars(select(User))}
    created = 0
    for email, name, slug, role in USERS:
        user = existing.get(email)
        if user is None:
            user = User(email=email, password_hash=passwords.hash_password(DEMO_PASSWORD))
            created += 1
        user.name, user.organization, user.role, user.is_admin = name, orgs.get(slug), role, slug is None
        session.add(user)
    return created


def _ensure_rentals(session: Session, orgs: dict[str, Organization], plans: dict[str, Plan]) -> None:
    now = clock.utcnow()
    anchor = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
    period = period_containing(anchor, now)
    for slug, specs in INSTANCES.items():
        org = orgs[slug]
        has_subscription = session.scalars(select(Subscription).where(Subscription.org_id == org.id)).first()
        if not has_subscription:
            session.add(Subscription(org_id=org.id, plan=plans[org.tier], status="active", billing_anchor=anchor,
                                     current_period_start=period.start, current_period_end=period.end))
        names = set(session.scalars(select(Instance.name).where(Instance.org_id == org.id)))
        for name, gpu, rate, status in specs:
            if name not in names:
                session.add(Instance(org_id=org.id, name=name, gpu_type=gpu, hourly_rate=rate,
                                     currency="USD", status=status))


def _ensure_billing_profiles(session: Session, orgs: dict[str, Organization]) -> None:
    for slug, (customer_type, tax_id, payment_method) in BILLING.items():
        profile = get_profile(session, orgs[slug].id)
        profile.customer_type, profile.tax_id, profile.payment_method = customer_type, tax_id, payment_method


def seed_demo(session: Session) -> str:
    """Bring the demo data into place; returns a one-line summary."""
    plans = ensure_plans(session)
    orgs = _upsert_organizations(session)
    created = _upsert_users(session, orgs)
    _ensure_rentals(session, orgs, plans)
    _ensure_billing_profiles(session, orgs)
    ensure_default_tax_rates(session)
    ensure_default_definitions(session)
    ensure_rates(session)
    ensure_default_tiers(session)
    session.flush()
    return f"{len(orgs)} organizations, {len(USERS)} users ({created} new)"
