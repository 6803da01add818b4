"""An organization's billing profile: read with defaults, so every customer has one."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.billing.models import BillingProfile


def get_profile(session: Session, org_id: int) -> BillingProfile:
    """The organization's profile; a default one (individual, no tax ID, no card) is added if missing."""
    profile = session.get(BillingProfile, org_id)
    if profile is None:
        profile = BillingProfile(org_id=org_id, legal_name="", address="", customer_type="individual")
        session.add(profile)
        session.flush()
    return profile
