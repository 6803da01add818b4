"""An organization's billing profile: read with defaults, so every customer has one; changed as a whole."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.billing.models import CUSTOMER_TYPES, BillingProfile
from app.errors import DomainError
from app.payments.amounts import currency_code
from app.payments.service import check_payment_method
from app.tax.vat_ids import normalise_tax_id

MAX_LEGAL_NAME = 200
MAX_ADDRESS = 1000


def get_profile(session: Session, org_id: int) -> BillingProfile:
    """The organization's profile; a default one (individual, no tax ID, no card) is added if missing."""
    profile = session.get(BillingProfile, org_id)
    if profile is None:
        profile = BillingProfile(org_id=org_id, legal_name="", address="", customer_type="individual")
        session.add(profile)
        session.flush()
    return profile


def _text(value, field: str, limit: int, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise DomainError(f"The {what} is at most {limit} characters.", field=field)
    return text


def _tax_id(value, customer_type: str, country: str) -> str | None:
    """None when empty; a VAT ID only for businesses, checked against the organization's country."""
    if not (value.strip() if isinstance(value, str) else value):
        return None
    if customer_type != "business":
        raise DomainError("Only businesses have a VAT or tax ID: choose Business, or leave the ID empty.",
                          field="tax_id")
    return normalise_tax_id(value, country)


def _validated(org, legal_name, address, customer_type, tax_id, preferred_currency, payment_method) -> dict:
    """Every field checked (a DomainError names the first bad one) before anything is written."""
    if customer_type not in CUSTOMER_TYPES:
        raise DomainError("Choose individual or business.", field="customer_type")
    method = payment_method.strip() if isinstance(payment_method, str) else payment_method
    return {
        "legal_name": _text(legal_name, "legal_name", MAX_LEGAL_NAME, "legal name"),
        "address": _text(address, "address", MAX_ADDRESS, "address"),
        "customer_type": customer_type,
        "tax_id": _tax_id(tax_id, customer_type, org.country),
        "preferred_currency": currency_code(preferred_currency, "preferred_currency"),
        "payment_method": check_payment_method(method) if method else None,
    }


def update_profile(session: Session, org, *, legal_name: str, address: str, customer_type: str, tax_id: str | None,
                   preferred_currency: str, payment_method: str | None, actor_label: str,
                   actor_user_id: int | None = None) -> BillingProfile:
    """Change how the organization is invoiced and taxed; audited with what changed.

    Validates everything first and writes nothing on any error. The preferred
    currency lives on the organization; the rest on its billing profile.
    """
    values = _validated(org, legal_name, address, customer_type, tax_id, preferred_currency, payment_method)
    profile = get_profile(session, org.id)
    before = {name: getattr(profile, name) for name in values if name != "preferred_currency"}
    before["preferred_currency"] = org.preferred_currency
    changed = {name: {"before": before[name], "after": value} for name, value in values.items()
               if before[name] != value}
    if "address" in changed:  # personal data: the audit log says that it changed, not what it says
        changed["address"] = "changed"
    org.preferred_currency = values.pop("preferred_currency")
    for name, value in values.items():
        setattr(profile, name, value)
    profile.updated_at = clock.utcnow()
    record(session, "billing_profile.updated", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org.id,
           target=org.public_id, details={"changed": changed})
    return profile
