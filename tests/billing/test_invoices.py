"""Closing a period: lines, conversion, tax per line, totals, numbering, exactly one invoice.

Every expected figure is worked out by hand in the comments: plans are priced
in USD (Pro 49.00, 100 GPU-hours and 1,000,000 requests included, 2.50 per
GPU-hour and 0.20 per 1,000 requests beyond), converted at the test's exact
rates and rounded half up on each line, then taxed on each line.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.billing import invoices, subscriptions
from app.billing.models import Invoice, InvoiceItem, UsageRecord
from app.billing.usage import UsageInput, record_batch
from app.currency.service import set_rate
from app.errors import DomainError
from app.rental.models import Instance
from app.tax.service import add_rate
from tests.billing.support import (AFTER_NOVEMBER, DECEMBER, HALFWAY, NOVEMBER, approved_exemption, close_and_finalize,
                                   customer, invoices_of, lines)
from tests.payments.core_support import audits, events
from tests.support import race


def _instance(db, subscription) -> str:
    instance = Instance(org_id=subscription.org_id, name="trainer", gpu_type="A100-80GB", hourly_rate=2_49)
    db.add(instance)
    db.commit()
    return instance.public_id


def _use(db, subscription, gpu_hours: int = 0, requests: int = 0, at: datetime | None = None, key: str = "u"):
    """Report usage through the metering service, as the API does."""
    clock.freeze(at or datetime(2026, 11, 20, tzinfo=timezone.utc))
    records = []
    if gpu_hours:
        records.append(UsageInput(f"{key}-gpu", "gpu_seconds", gpu_hours * 3600, instance=_instance(db, subscription)))
    if requests:
        records.append(UsageInput(f"{key}-api", "api_requests", requests, model="llama-3-70b"))
    record_batch(db, subscription.organization, records, actor_label="test")
    db.commit()


def test_a_pro_customer_in_eur_pays_vat_on_each_line(billing):
    db = billing
    subscription = customer(db, "berlin", country="DE", currency="EUR")
    _use(db, subscription, gpu_hours=400, requests=1_500_000)

    invoice = close_and_finalize(db, subscription)

    assert (invoice.status, invoice.currency, str(invoice.exchange_rate)) == ("open", "EUR", "0.9234")
    assert lines(invoice) == [
        ("plan", 45_25, 8_60),       # 49.00 USD × 0.9234 = 45.2466 → 45.25; 19% = 8.5975 → 8.60
        ("usage", 692_55, 131_58),   # 300 GPU-h beyond × 2.50 = 750.00 USD → 692.55; 19% = 131.5845 → 131.58
        ("usage", 92_34, 17_54),     # 500,000 requests beyond × 0.20/1,000 = 100.00 USD → 92.34; 19% → 17.5446 → 17.54
    ]
    # Per line: 157.72 of tax. The tax of the subtotal would be 830.14 × 19% = 157.7266 → 157.73.
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.amount_due) == (830_14, 157_72, 987_86, 987_86)
    assert (invoice.tax_label, invoice.tax_region, invoice.reverse_charge) == ("VAT 19%", "EU", False)
    assert [line.base_amount for line in invoice.lines] == [49_00, 750_00, 100_00]
    assert "300 GPU-hours beyond at $2.50 per GPU-hour" in invoice.lines[1].description
    [created] = events(db, "invoice.created")
    assert (created["number"], created["total"], created["currency"]) == (invoice.number, 987_86, "eur")


def test_a_jpy_customer_gets_whole_yen(billing):
    db = billing
    subscription = customer(db, "kyoto", country="JP", currency="JPY")
    _use(db, subscription, gpu_hours=400)

    invoice = close_and_finalize(db, subscription)

    assert lines(invoice) == [("plan", 7417, 0),         # 49 × 151.37 = 7,417.13 → 7,417 yen
                              ("usage", 113_528, 0)]     # 750 × 151.37 = 113,527.5 → 113,528 (half up)
    assert (invoice.total, invoice.tax_label) == (120_945, "Tax 0%")


def test_an_eu_business_with_a_vat_id_is_reverse_charged(billing):
    db = billing
    subscription = customer(db, "lyon", country="FR", currency="EUR", customer_type="business",
                            tax_id="FR40303265045")

    invoice = close_and_finalize(db, subscription)

    assert lines(invoice) == [("plan", 45_25, 0)]
    assert (invoice.tax, invoice.total, invoice.reverse_charge) == (0, 45_25, True)
    assert invoice.customer_tax_id == "FR40303265045"
    assert "Reverse charge" in invoice.tax_label and "FR40303265045" in invoice.tax_note


def test_an_exempt_customer_pays_no_tax_until_the_exemption_expires(billing):
    db = billing
    subscription = customer(db, "leeds", country="GB", currency="GBP")
    approved_exemption(db, subscription.organization, expires_on=date(2026, 12, 15))

    november = close_and_finalize(db, subscription)
    december = close_and_finalize(db, subscription, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))

    assert lines(november) == [("plan", 38_67, 0)]          # 49 × 0.7891 = 38.6659 → 38.67
    assert november.tax_label == "Exempt (certificate EX-2026-001)" and "EX-2026-001" in november.tax_note
    assert lines(december) == [("plan", 38_67, 7_73)]       # expired on 15 Dec: UK VAT 20% = 7.734 → 7.73
    assert december.tax_label == "VAT 20%"


def test_a_new_tax_rate_applies_from_the_first_period_it_covers(billing):
    db = billing
    subscription = customer(db, "leeds", country="GB", currency="GBP")
    add_rate(db, region="UK", country="", name="VAT", rate="22", effective_from=date(2027, 1, 1),
             actor_label="admin@matrix.test")
    db.commit()

    close_and_finalize(db, subscription)
    december = close_and_finalize(db, subscription, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))
    january = close_and_finalize(db, subscription, at=datetime(2027, 2, 1, 0, 1, tzinfo=timezone.utc))

    assert (december.period_end, december.tax_label) == (datetime(2027, 1, 1, tzinfo=timezone.utc), "VAT 20%")
    assert (january.tax_label, lines(january)) == ("VAT 22%", [("plan", 38_67, 8_51)])  # 22% of 38.67 = 8.5074


def test_an_upgrade_shows_both_prorations_on_the_period_invoice(billing):
    db = billing
    subscription = customer(db, "initech")
    clock.freeze(HALFWAY)
    subscriptions.change_plan(db, subscription, "enterprise", actor_label="test")
    db.commit()

    invoice = close_and_finalize(db, subscription)

    assert [(line.kind, line.amount) for line in invoice.lines] == [
        ("plan", 49_00),           # the plan the period began on
        ("proration", -24_50),     # unused half of Pro
        ("proration", 999_50)]     # remaining half of Enterprise (1,999.00)
    assert invoice.total == 1_024_00
    assert invoices_of(db, subscription)[0].lines[2].description.startswith("Remaining time on Enterprise")
    # December is billed on Enterprise, without the prorations again.
    december = close_and_finalize(db, subscription, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))
    assert lines(december) == [("plan", 1_999_00, 0)]


def test_more_credit_than_charges_carries_a_balance_to_the_next_invoice(billing):
    db = billing
    subscription = customer(db, "initech", currency="EUR", country="DE")
    db.add(InvoiceItem(org_id=subscription.org_id, kind="credit", description="Goodwill credit", amount=-60_00,
                       currency="USD", taxable=True, source_key="test:goodwill"))
    db.commit()

    november = close_and_finalize(db, subscription)
    december = close_and_finalize(db, subscription, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))

    # November: 45.25 + 8.60 VAT − 55.40 (60.00 USD) − 10.53 VAT (−10.526 → −10.53) = −12.08 → 0 due, 12.08 carried
    assert lines(november) == [("plan", 45_25, 8_60), ("credit", -55_40, -10_53)]
    assert (november.total, november.amount_due, november.credit_carried, november.status) == (-12_08, 0, 12_08, "paid")
    # December: the balance is applied, untaxed (it was taxed on November's invoice).
    assert lines(december) == [("plan", 45_25, 8_60), ("balance", -12_08, 0)]
    assert december.amount_due == 41_77


def test_closing_the_same_period_twice_makes_one_invoice(billing):
    db = billing
    subscription = customer(db, "initech")
    clock.freeze(AFTER_NOVEMBER)
    first = invoices.close_period(db, subscription.id)
    db.commit()
    assert invoices.close_period(db, subscription.id) is None
    db.rollback()
    # Even a closer that does not see the period moved on is stopped by the UNIQUE (subscription, period_start).
    db.execute(update(type(subscription)).where(type(subscription).id == subscription.id)
               .values(current_period_start=NOVEMBER, current_period_end=DECEMBER))
    with pytest.raises(IntegrityError):
        invoices.close_period(db, subscription.id)
    db.rollback()
    assert [i.id for i in invoices_of(db, subscription)] == [first.id]


def test_concurrent_closers_make_one_invoice(billing, app):
    db = billing
    subscription = customer(db, "initech")
    clock.freeze(AFTER_NOVEMBER)
    outcomes = [type(outcome).__name__ if isinstance(outcome, BaseException)  # a loser may hit the UNIQUE or a lock
                else ("closed" if outcome else "nothing due")
                for outcome in race(app, lambda session, _: invoices.close_period(session, subscription.id),
                                    [None] * 6)]
    assert outcomes.count("closed") == 1, outcomes
    assert len(invoices_of(db, subscription)) == 1


def test_a_period_not_yet_ended_is_not_closed(billing):
    db = billing
    subscription = customer(db, "initech")
    clock.freeze(DECEMBER - timedelta(seconds=1))
    assert invoices.close_period(db, subscription.id) is None


def test_usage_is_billed_exactly_once_and_late_usage_lands_on_the_next_invoice(billing):
    db = billing
    subscription = customer(db, "initech")
    _use(db, subscription, gpu_hours=110, key="nov")
    clock.freeze(AFTER_NOVEMBER)
    invoices.close_period(db, subscription.id)
    db.commit()
    # A record of November that was being written while November closed (inserted directly: the API refuses it now).
    db.add(UsageRecord(org_id=subscription.org_id, idempotency_key="late", metric="gpu_seconds", quantity=7200,
                       occurred_at=DECEMBER - timedelta(minutes=5), period_start=NOVEMBER))
    db.commit()
    december = close_and_finalize(db, subscription, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))

    [november, _] = invoices_of(db, subscription)
    assert lines(november)[1] == ("usage", 25_00, 0)    # 10 GPU-hours beyond × 2.50
    assert "2 GPU-hours used" in december.lines[1].description
    assert lines(december)[1] == ("usage", 0, 0)         # within December's 100 included hours
    unbilled = db.scalars(select(UsageRecord).where(UsageRecord.invoice_id.is_(None))).all()
    assert unbilled == []


def test_numbers_are_sequential_per_issuer_and_never_reused(billing):
    db = billing
    first, second, third = (customer(db, slug) for slug in ("one", "two", "three"))
    a = close_and_finalize(db, first)
    invoices.void(db, a, reason="Issued by mistake.", actor_label="admin@matrix.test")
    db.commit()
    # A finalizer that rolls back gives its number back: the next invoice gets it, no gap.
    clock.freeze(AFTER_NOVEMBER)
    b_draft = invoices.close_period(db, second.id)
    db.commit()
    invoices.finalize(db, b_draft)
    db.rollback()
    b = close_and_finalize_draft(db, b_draft)
    c = close_and_finalize(db, third)

    assert [a.number, b.number, c.number] == ["MTX-2026-000001", "MTX-2026-000002", "MTX-2026-000003"]
    assert a.status == "void" and a.void_reason == "Issued by mistake."
    [voided] = audits(db, "invoice.voided")
    assert voided.details["number"] == "MTX-2026-000001"


def close_and_finalize_draft(db, draft: Invoice) -> Invoice:
    invoices.finalize(db, draft)
    db.commit()
    return draft


def test_void_needs_a_reason_and_an_unpaid_invoice(billing):
    db = billing
    subscription = customer(db, "initech")
    invoice = close_and_finalize(db, subscription)
    with pytest.raises(DomainError) as refused:
        invoices.void(db, invoice, reason="  ", actor_label="admin@matrix.test")
    assert refused.value.field == "reason"
    invoices.mark_paid(db, invoice)
    db.commit()
    with pytest.raises(DomainError, match="this one is paid"):
        invoices.void(db, invoice, reason="Too late", actor_label="admin@matrix.test")


def test_the_rate_in_force_at_closing_is_kept_on_the_invoice(billing):
    db = billing
    subscription = customer(db, "berlin", country="DE", currency="EUR")
    invoice = close_and_finalize(db, subscription)
    set_rate(db, "EUR", "0.5", actor_label="admin@matrix.test")
    db.commit()
    db.expire_all()
    assert str(invoice.exchange_rate) == "0.9234" and invoice.lines[0].amount == 45_25


def test_a_currency_without_a_rate_leaves_the_period_open(billing):
    db = billing
    subscription = customer(db, "mumbai", country="IN", currency="INR")
    clock.freeze(AFTER_NOVEMBER)
    with pytest.raises(DomainError, match="No exchange rate for INR"):
        invoices.close_period(db, subscription.id)
    db.rollback()
    db.expire_all()
    assert subscription.current_period_start == NOVEMBER and invoices_of(db, subscription) == []


def test_the_upcoming_invoice_is_what_closing_now_would_bill(billing):
    db = billing
    subscription = customer(db, "berlin", country="DE", currency="EUR")
    _use(db, subscription, gpu_hours=400)
    upcoming = invoices.upcoming(db, subscription)
    assert [(line.kind, line.amount, line.tax) for line in upcoming.lines] == [("plan", 45_25, 8_60),
                                                                              ("usage", 692_55, 131_58)]
    assert db.scalars(select(Invoice)).all() == []
    assert db.scalars(select(UsageRecord.invoice_id)).all() == [None]
