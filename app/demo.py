"""Demo data for `flask seed-demo` and `make run`. Idempotent: keyed by slug,
email and plan code, so running it again repairs rather than duplicates."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.accounts import passwords
from app.accounts.models import Organization, User
from app.payments.fees import ensure_default_tiers
from app.rental.models import Instance, Plan, Subscription

DEMO_PASSWORD = "demo-password"

PLANS = {  # code: (name, monthly price in USD cents)
    "free": ("Free", 0),
    "pro": ("Pro", 49_00),
    "enterprise": ("Enterprise", 1_999_00),
}

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


def _month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)
    end = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def _upsert_plans(session: Session) -> dict[str, Plan]:
    plans = {p.code: p for p in session.scalars(select(Plan))}
    for code, (name, price) in PLANS.items():
        plan = plans.get(code) or Plan(code=code)
        plan.name, plan.monthly_price, plan.currency = name, price, "USD"
        session.add(plan)
        plans[code] = plan
    return plans


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
    period_start, period_end = _month_bounds(clock.utcnow())
    for slug, specs in INSTANCES.items():
        org = orgs[slug]
        has_subscription = session.scalars(select(Subscription).where(Subscription.org_id == org.id)).first()
        if not has_subscription:
            session.add(Subscription(org_id=org.id, plan=plans[org.tier], status="active",
                                     current_period_start=period_start, current_period_end=period_end))
        names = set(session.scalars(select(Instance.name).where(Instance.org_id == org.id)))
        for name, gpu, rate, status in specs:
            if name not in names:
                session.add(Instance(org_id=org.id, name=name, gpu_type=gpu, hourly_rate=rate,
                                     currency="USD", status=status))


def seed_demo(session: Session) -> str:
    """Bring the demo data into place; returns a one-line summary."""
    plans = _upsert_plans(session)
    orgs = _upsert_organizations(session)
    created = _upsert_users(session, orgs)
    _ensure_rentals(session, orgs, plans)
    ensure_default_tiers(session)
    session.flush()
    return f"{len(orgs)} organizations, {len(USERS)} users ({created} new)"
