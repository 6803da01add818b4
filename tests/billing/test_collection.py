"""Collecting invoices through the payments service, against localstripe: paid, declined, retried, never twice."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.billing import collection
from app.billing.models import Invoice
from app.billing.profile import get_profile
from app.payments.models import Payment
from tests.billing.support import close_and_finalize, customer
from tests.payments.core_support import events


def _payments(db, invoice) -> list[Payment]:
    db.expire_all()
    return list(db.scalars(select(Payment).where(Payment.order_id == invoice.number).order_by(Payment.id)))


def test_an_invoice_is_charged_to_the_card_on_file(app, billing):
    db = billing
    subscription = customer(db, "berlin", country="DE", currency="EUR")
    invoice = close_and_finalize(db, subscription)

    collected = collection.collect(db, app.config, invoice.id)

    assert (collected.status, collected.amount_paid) == ("paid", 53_85)   # 45.25 + 8.60 VAT
    [payment] = _payments(db, invoice)
    assert (payment.status, payment.amount_captured, payment.currency) == ("succeeded", 53_85, "EUR")
    assert collected.payment_id == payment.id and collected.collecting_until is None
    [paid] = events(db, "invoice.paid")
    assert (paid["status"], paid["total"]) == ("paid", 53_85)


def test_a_declined_card_fails_the_invoice_and_the_subscription_goes_past_due(app, billing):
    db = billing
    subscription = customer(db, "initech", payment_method="pm_card_visa_chargeDeclined")
    invoice = close_and_finalize(db, subscription)

    collected = collection.collect(db, app.config, invoice.id)

    assert collected.status == "failed" and "declined" in collected.failure_message
    [failed] = events(db, "invoice.failed")
    assert (failed["id"], failed["status"]) == (invoice.public_id, "failed")
    db.expire_all()
    assert subscription.status == "past_due"
    assert [e["status"] for e in events(db, "subscription.updated")] == ["past_due"]

    # The customer fixes the card and pays: the invoice is paid and the subscription active again.
    get_profile(db, subscription.org_id).payment_method = "pm_card_visa"
    db.commit()
    clock.advance(timedelta(minutes=1))
    retried = collection.collect(db, app.config, invoice.id)
    assert retried.status == "paid" and retried.failure_message is None
    assert [p.status for p in _payments(db, invoice)] == ["failed", "succeeded"]
    db.expire_all()
    assert subscription.status == "active"
    assert len(events(db, "invoice.failed")) == 1 and len(events(db, "invoice.paid")) == 1


def test_no_payment_method_fails_the_invoice_with_a_message(app, billing):
    db = billing
    subscription = customer(db, "initech", payment_method=None)
    invoice = close_and_finalize(db, subscription)
    collected = collection.collect(db, app.config, invoice.id)
    assert collected.status == "failed" and collected.failure_message == collection.NO_PAYMENT_METHOD
    assert _payments(db, invoice) == []
    # The next attempt finds the same situation: no second invoice.failed for it.
    clock.advance(timedelta(minutes=11))
    collection.collect(db, app.config, invoice.id)
    assert len(events(db, "invoice.failed")) == 1


def test_a_collector_holding_the_lease_keeps_others_from_charging(app, billing):
    db = billing
    subscription = customer(db, "initech")
    invoice = close_and_finalize(db, subscription)
    assert collection._take_lease(db, invoice.id)  # a collector is charging it right now

    untouched = collection.collect(db, app.config, invoice.id)

    assert untouched.status == "open" and _payments(db, invoice) == []
    clock.advance(collection.LEASE + timedelta(seconds=1))  # that collector died; its lease ran out
    assert collection.collect(db, app.config, invoice.id).status == "paid"
    assert len(_payments(db, invoice)) == 1


def test_a_collector_that_died_after_charging_is_not_charged_again(app, billing):
    """The payment of the invoice's order exists (committed before Stripe was called): it is used, not repeated."""
    db = billing
    subscription = customer(db, "initech")
    invoice = close_and_finalize(db, subscription)
    assert collection._take_lease(db, invoice.id)
    collection._charge(db, app.config, invoice, "billing")  # charged, then the worker died before settling
    db.commit()
    clock.advance(collection.LEASE + timedelta(seconds=1))

    collected = collection.collect(db, app.config, invoice.id)

    assert collected.status == "paid"
    assert len(_payments(db, invoice)) == 1


def test_a_paid_or_void_invoice_is_not_collected(app, billing):
    db = billing
    subscription = customer(db, "initech")
    invoice = close_and_finalize(db, subscription)
    collection.collect(db, app.config, invoice.id)
    clock.advance(timedelta(hours=1))
    again = collection.collect(db, app.config, invoice.id)
    assert again.status == "paid" and len(_payments(db, invoice)) == 1
    assert db.scalar(select(Invoice.payment_attempts).where(Invoice.id == invoice.id)) == 1
