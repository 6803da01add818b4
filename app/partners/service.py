"""What a partner can see of the customers it brought."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Organization


def referred_customers(session: Session, partner_org_id: int) -> list[Organization]:
    """Customers referred by this partner, newest first. Scoped by the referral link."""
    return list(session.scalars(
        select(Organization)
        .where(Organization.referred_by_id == partner_org_id, Organization.kind == "customer")
        .order_by(Organization.created_at.desc(), Organization.id.desc())
    ))
