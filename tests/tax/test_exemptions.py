"""Exemption certificates: pending changes nothing, approved means 0% until the end of
its expiry day, rejected never applies, and of two admins deciding at once only one
wins. Bad input is refused naming the field, with nothing written. On SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from app import clock
from app.errors import DomainError
from app.tax import exemptions, service as tax
from app.tax.models import TaxExemption
from tests.tax.support import NOW, audits, count, customer

ALICE, ADMIN, OTHER_ADMIN = "alice@acme.test", "admin@matrix.test", "second@matrix.test"


def submitted(db, org, reference="ABC-1", expires_on=date(2026, 12, 31)) -> TaxExemption:
    exemption = exemptions.submit(db, org, certificate_reference=reference, expires_on=expires_on, actor_label=ALICE)
    db.commit()
    return exemption


def label(db, org, at=None) -> str:
    return tax.treatment_for(db, org, at or clock.utcnow()).label


def test_the_lifecycle_pending_approved_expired(rates):
    germany = customer(rates, "DE", "business")
    exemption = submitted(rates, germany, " ABC-1 ")
    assert (exemption.status, exemption.certificate_reference, exemption.public_id[:4]) == ("pending", "ABC-1", "tex_")
    assert label(rates, germany) == "VAT 19%"

    exemptions.approve(rates, exemption, actor_label=ADMIN)
    rates.commit()
    treatment = tax.treatment_for(rates, germany, NOW)
    assert (treatment.label, treatment.rate, treatment.exemption_reference) == (
        "Exempt (certificate ABC-1)", 0, "ABC-1")
    assert treatment.note == "Exempt from VAT: tax exemption certificate ABC-1, valid until 2026-12-31."
    assert exemptions.status_of(exemption, NOW.date()) == "approved"

    last_moment = datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert label(rates, germany, last_moment) == "Exempt (certificate ABC-1)"
    assert label(rates, germany, last_moment + timedelta(seconds=1)) == "VAT 19%"
    assert exemptions.status_of(exemption, date(2027, 1, 1)) == "expired"
    assert [a.target for a in audits(rates, "tax_exemption.submitted")] == [exemption.public_id]
    [approved] = audits(rates, "tax_exemption.approved")
    assert (approved.actor_label, approved.org_id, approved.details["certificate_reference"]) == \
        (ADMIN, germany.id, "ABC-1")


def test_an_exemption_beats_reverse_charge(rates):
    business = customer(rates, "DE", "business", "DE123456789")
    exemptions.approve(rates, submitted(rates, business), actor_label=ADMIN)
    assert label(rates, business) == "Exempt (certificate ABC-1)"


def test_a_rejected_exemption_never_applies_and_needs_a_note(rates):
    germany = customer(rates, "DE")
    exemption = submitted(rates, germany)
    with pytest.raises(DomainError) as refused:
        exemptions.reject(rates, exemption, actor_label=ADMIN, note="  ")
    assert refused.value.field == "note"
    with pytest.raises(DomainError) as refused:
        exemptions.reject(rates, exemption, actor_label=ADMIN, note="x" * 301)
    assert refused.value.field == "note"
    assert count(rates, TaxExemption, TaxExemption.status == "pending") == 1

    exemptions.reject(rates, exemption, actor_label=ADMIN, note="The certificate is not signed.")
    rates.commit()
    assert (exemption.status, exemption.decision_note, exemption.decided_by) == \
        ("rejected", "The certificate is not signed.", ADMIN)
    assert label(rates, germany) == "VAT 19%"
    assert exemptions.status_of(exemption, date(2027, 6, 1)) == "rejected"
    assert len(audits(rates, "tax_exemption.rejected")) == 1


def test_of_two_admins_deciding_at_once_only_the_first_wins(rates, app):
    germany = customer(rates, "DE")
    exemption_id = submitted(rates, germany).id
    first, second = app.extensions["db"].session(), app.extensions["db"].session()
    try:
        mine, theirs = first.get(TaxExemption, exemption_id), second.get(TaxExemption, exemption_id)
        assert mine.status == theirs.status == "pending"  # both admins loaded the page
        exemptions.approve(first, mine, actor_label=ADMIN)
        first.commit()
        with pytest.raises(DomainError) as refused:
            exemptions.reject(second, theirs, actor_label=OTHER_ADMIN, note="Too late")
        assert "already approved by admin@matrix.test" in refused.value.message
        second.rollback()
    finally:
        first.close()
        second.close()
    assert count(rates, TaxExemption, TaxExemption.status == "approved") == 1
    assert audits(rates, "tax_exemption.rejected") == []
    assert label(rates, germany) == "Exempt (certificate ABC-1)"


def test_an_exemption_that_expired_while_pending_cannot_be_approved(rates):
    germany = customer(rates, "DE")
    exemption = submitted(rates, germany, expires_on=date(2026, 6, 20))
    clock.advance(timedelta(days=6))
    with pytest.raises(DomainError) as refused:
        exemptions.approve(rates, exemption, actor_label=ADMIN)
    assert "expired on 2026-06-20" in refused.value.message
    assert exemptions.status_of(exemption, clock.utcnow().date()) == "expired"


@pytest.mark.parametrize("reference, expires_on, field", [
    ("", date(2027, 1, 1), "certificate_reference"),
    ("   ", date(2027, 1, 1), "certificate_reference"),
    ("x" * 101, date(2027, 1, 1), "certificate_reference"),
    ("ABC-1", NOW.date(), "expires_on"),
    ("ABC-1", date(2026, 1, 1), "expires_on"),
    ("ABC-1", "2027-01-01", "expires_on"),
    ("ABC-1", None, "expires_on"),
])
def test_bad_submissions_are_refused_naming_the_field(rates, reference, expires_on, field):
    germany = customer(rates, "DE")
    with pytest.raises(DomainError) as refused:
        exemptions.submit(rates, germany, certificate_reference=reference, expires_on=expires_on, actor_label=ALICE)
    assert refused.value.field == field
    rates.rollback()
    assert count(rates, TaxExemption) == 0 and audits(rates, "tax_exemption.submitted") == []
