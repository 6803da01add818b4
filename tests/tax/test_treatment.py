"""Who pays which tax: EU businesses with a VAT ID are reverse charged (0%, with the
legal mention), everyone else in the EU pays their member state's VAT, and outside
the EU a tax ID changes nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.money import Money
from app.tax import service as tax
from tests.tax.support import NOW, customer


def test_an_eu_business_with_a_vat_id_is_reverse_charged_with_the_legal_note(rates):
    business = customer(rates, "FR", "business", "FRXX123456789")
    treatment = tax.treatment_for(rates, business, NOW)

    assert (treatment.region, treatment.country, treatment.name, treatment.rate) == ("EU", "FR", "VAT", 0)
    assert treatment.reverse_charge and treatment.tax_id == "FRXX123456789"
    assert treatment.label == "Reverse charge (VAT 0%)"
    assert treatment.note == ("Reverse charge: VAT to be accounted for by the recipient (Article 196, Council "
                              "Directive 2006/112/EC). Customer VAT ID: FRXX123456789.")
    assert tax.calculate(rates, business, [Money(10000, "EUR")], NOW).tax == Money(0, "EUR")


@pytest.mark.parametrize("country, customer_type, tax_id, label", [
    ("DE", "business", None, "VAT 19%"),              # a business without a VAT ID pays VAT
    ("DE", "individual", None, "VAT 19%"),
    ("DE", "individual", "DE123456789", "VAT 19%"),   # a VAT ID on an individual's profile changes nothing
    ("DE", "business", "FRXX123456789", "VAT 19%"),   # another country's VAT ID (the organization moved)
    ("GR", "business", "EL094259216", "Reverse charge (VAT 0%)"),
    ("GB", "business", "GB123456789", "VAT 20%"),     # outside the EU a tax ID changes nothing
    ("CA", "business", "123456789RT0001", "GST 5%"),
    ("US", "business", "123456789", "Sales tax 0%"),
    ("IN", "individual", None, "GST 18%"),
    ("CH", "business", "CHE123456789", "Tax 0%"),
])
def test_the_treatment_by_country_and_customer(rates, country, customer_type, tax_id, label):
    treatment = tax.treatment_for(rates, customer(rates, country, customer_type, tax_id), NOW)
    assert treatment.label == label
    assert treatment.reverse_charge is label.startswith("Reverse")
    assert (treatment.note is None) is (not treatment.reverse_charge)


def test_an_organization_without_a_profile_is_taxed_as_an_individual(rates):
    from app.accounts.models import Organization

    org = Organization(slug="bare", name="Bare", kind="customer", tier="free", country="DE", preferred_currency="EUR")
    rates.add(org)
    rates.commit()
    assert tax.treatment_for(rates, org, NOW).label == "VAT 19%"
    assert tax.treatment_for(rates, org, NOW).rate == Decimal(19)
