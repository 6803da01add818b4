"""update_profile: the billing profile and preferred currency change together, audited
with what changed; any bad field is refused naming it and nothing at all is written.
On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from app.billing.models import BillingProfile
from app.billing.profile import update_profile
from app.errors import DomainError
from app.tax import service as tax
from tests.tax.support import NOW, audits, customer

OWNER = "gina@globex.test"
GOOD = {"legal_name": "Globex Industries GmbH", "address": "Hauptstr. 1\n10115 Berlin", "customer_type": "business",
        "tax_id": "de 123 456 789", "preferred_currency": "eur", "payment_method": "pm_card_visa"}


def update(db, org, **changes):
    profile = update_profile(db, org, **{**GOOD, **changes}, actor_label=OWNER)
    db.commit()
    return profile


def test_a_german_business_saves_its_vat_id_and_is_reverse_charged(rates):
    org = customer(rates, "DE", currency="USD")
    profile = update(rates, org)

    assert (profile.legal_name, profile.customer_type, profile.tax_id, profile.payment_method) == \
        ("Globex Industries GmbH", "business", "DE123456789", "pm_card_visa")
    assert org.preferred_currency == "EUR"
    assert tax.treatment_for(rates, org, NOW).label == "Reverse charge (VAT 0%)"
    [audit] = audits(rates, "billing_profile.updated")
    assert (audit.actor_label, audit.org_id, audit.target) == (OWNER, org.id, org.public_id)
    assert audit.details["changed"] == {
        "legal_name": {"before": "", "after": "Globex Industries GmbH"}, "address": "changed",
        "customer_type": {"before": "individual", "after": "business"},
        "tax_id": {"before": None, "after": "DE123456789"},
        "preferred_currency": {"before": "USD", "after": "EUR"},
        "payment_method": {"before": None, "after": "pm_card_visa"}}


def test_empty_tax_id_and_payment_method_clear_them(rates):
    org = customer(rates, "DE", "business", "DE123456789")
    profile = update(rates, org, tax_id="", payment_method=" ", customer_type="individual")
    assert (profile.tax_id, profile.payment_method, profile.customer_type) == (None, None, "individual")
    assert tax.treatment_for(rates, org, NOW).label == "VAT 19%"


@pytest.mark.parametrize("changes, field, message", [
    ({"customer_type": "individual"}, "tax_id", "Only businesses have a VAT or tax ID"),
    ({"tax_id": "DE12345"}, "tax_id", "does not have the format of a DE VAT ID"),
    ({"tax_id": "FRXX123456789"}, "tax_id", "its VAT ID starts with DE"),
    ({"customer_type": "company"}, "customer_type", "Choose individual or business"),
    ({"preferred_currency": "XYZ"}, "preferred_currency", "Unsupported currency"),
    ({"preferred_currency": None}, "preferred_currency", "Unsupported currency"),
    ({"payment_method": "4242424242424242"}, "payment_method", "Stripe PaymentMethod id"),
    ({"payment_method": "tok_visa"}, "payment_method", "Stripe PaymentMethod id"),
    ({"legal_name": "x" * 201}, "legal_name", "at most 200 characters"),
    ({"address": "x" * 1001}, "address", "at most 1000 characters"),
])
def test_any_bad_field_is_refused_and_nothing_is_written(rates, changes, field, message):
    org = customer(rates, "DE", currency="USD")
    with pytest.raises(DomainError) as refused:
        update(rates, org, **changes)
    assert refused.value.field == field and message in refused.value.message, refused.value.message
    rates.rollback()
    rates.expire_all()
    profile = rates.get(BillingProfile, org.id)
    assert (profile.legal_name, profile.customer_type, profile.tax_id, profile.payment_method) == \
        ("", "individual", None, None)
    assert org.preferred_currency == "USD" and audits(rates, "billing_profile.updated") == []
