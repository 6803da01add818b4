"""Tax rates with effective dates: the rate in force at a moment, country before region,
scheduled changes, and the admin's add_rate refusing bad input (naming the field,
writing nothing). On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.tax import service as tax
from app.tax.defaults import STANDARD_TAX_RATES, ensure_default_tax_rates
from app.tax.models import TaxRate
from tests.tax.support import NOW, audits, count, customer

ADMIN = "admin@matrix.test"


def add(db, **values):
    spec = {"region": "EU", "country": "DE", "name": "VAT", "rate": "20", "effective_from": date(2026, 7, 1)}
    spec.update(values)
    row = tax.add_rate(db, actor_label=ADMIN, **spec)
    db.commit()
    return row


def test_the_defaults_are_the_migrations_rates_and_seeding_is_idempotent(rates):
    assert count(rates, TaxRate) == len(STANDARD_TAX_RATES) == 34
    assert ensure_default_tax_rates(rates) == 0
    finland = rates.scalars(select(TaxRate).where(TaxRate.country == "FI")).one()
    assert (finland.rate, finland.effective_from) == (Decimal("25.5"), datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_a_scheduled_change_applies_from_its_date_not_before(rates):
    germany = customer(rates, "DE")
    add(rates, rate="20", effective_from=date(2026, 7, 1))

    just_before = datetime(2026, 6, 30, 23, 59, 59, tzinfo=timezone.utc)
    assert tax.treatment_for(rates, germany, just_before).label == "VAT 19%"
    assert tax.treatment_for(rates, germany, datetime(2026, 7, 1, tzinfo=timezone.utc)).label == "VAT 20%"
    # Before the seeded rates took effect there was no rate at all.
    before = tax.treatment_for(rates, germany, datetime(2025, 12, 31, tzinfo=timezone.utc))
    assert (before.name, before.rate, before.label) == ("Tax", 0, "Tax 0%")


def test_a_country_rate_beats_the_regions_and_the_region_is_the_fallback(rates):
    canada = customer(rates, "CA", currency="CAD")
    assert tax.treatment_for(rates, canada, NOW).label == "GST 5%"
    add(rates, region="CA", country="CA", name="HST", rate="13", effective_from=date(2026, 6, 16))
    assert tax.treatment_for(rates, canada, NOW).label == "GST 5%"
    assert tax.treatment_for(rates, canada, NOW + timedelta(days=1)).label == "HST 13%"


def test_no_rate_at_all_is_tax_at_zero(db, now):
    japan = customer(db, "JP", currency="JPY")
    treatment = tax.treatment_for(db, japan, NOW)
    assert (treatment.region, treatment.name, treatment.rate, treatment.note) == ("OTHER", "Tax", 0, None)


def test_a_rate_from_today_starts_now_and_is_audited(rates):
    row = add(rates, region="US", country="", name="Sales tax", rate="8.875", effective_from=NOW.date())

    assert row.effective_from == NOW  # not midnight: what was invoiced this morning keeps its rate
    assert tax.treatment_for(rates, customer(rates, "US", currency="USD"), NOW).label == "Sales tax 8.875%"
    [audit] = audits(rates, "tax_rate.added")
    assert (audit.actor_label, audit.target) == (ADMIN, row.public_id)
    assert audit.details == {"region": "US", "country": "", "name": "Sales tax", "rate": "8.875",
                             "effective_from": NOW.isoformat()}


def test_the_overview_separates_rates_in_force_from_scheduled_ones(rates):
    later = add(rates, effective_from=date(2026, 9, 1))
    current, scheduled = tax.rates_overview(rates, NOW)
    assert scheduled == [later]
    assert len(current) == 34 and current[0].region == "EU"
    assert [(r.country, r.rate) for r in current if r.country == "DE"] == [("DE", Decimal("19"))]


@pytest.mark.parametrize("values, field, message", [
    ({"rate": "abc"}, "rate", "Enter the rate as a percentage"),
    ({"rate": 19.0}, "rate", "Enter the rate as a percentage"),
    ({"rate": "-1"}, "rate", "between 0 and 100"),
    ({"rate": "100.5"}, "rate", "between 0 and 100"),
    ({"rate": "NaN"}, "rate", "between 0 and 100"),
    ({"rate": "8.87501"}, "rate", "at most four decimals"),
    ({"region": "XX"}, "region", "Choose one of the tax regions"),
    ({"region": "EU", "country": "US"}, "country", "United States (US) is in the US region, not EU"),
    ({"region": "OTHER", "country": "DE"}, "country", "is in the EU region, not OTHER"),
    ({"country": "ZZ"}, "country", "not an ISO 3166-1 country code"),
    ({"name": " "}, "name", "Name the tax"),
    ({"effective_from": date(2026, 6, 14)}, "effective_from", "cannot start in the past"),
    ({"effective_from": datetime(2026, 7, 1)}, "effective_from", "needs a time zone"),
    ({"effective_from": "2026-07-01"}, "effective_from", "Enter the date"),
    ({"effective_from": date(2026, 1, 1)}, "effective_from", "cannot start in the past"),
])
def test_bad_rates_are_refused_naming_the_field_and_nothing_is_written(rates, values, field, message):
    with pytest.raises(DomainError) as refused:
        add(rates, **values)
    assert (refused.value.field, message in refused.value.message) == (field, True), refused.value.message
    rates.rollback()
    assert count(rates, TaxRate) == 34 and audits(rates, "tax_rate.added") == []


def test_two_rates_cannot_start_at_the_same_moment(rates):
    add(rates, effective_from=date(2026, 7, 1))
    with pytest.raises(DomainError) as refused:
        add(rates, rate="21", effective_from=date(2026, 7, 1))
    assert refused.value.field == "effective_from" and "already starts then" in refused.value.message
    rates.rollback()
    assert count(rates, TaxRate, TaxRate.country == "DE") == 2
