"""Refunding an invoice uses the invoice's rate, not today's; never more than was paid."""
from __future__ import annotations

import pytest

from app.billing import collection, invoice_refunds
from app.currency.service import set_rate
from app.errors import DomainError
from app.payments import refunds
from tests.billing.support import close_and_finalize, customer
from tests.payments.core_support import stripe_refunds


@pytest.fixture
def paid_eur_invoice(app, billing):
    subscription = customer(billing, "berlin", country="DE", currency="EUR")
    invoice = close_and_finalize(billing, subscription)
    collection.collect(billing, app.config, invoice.id)
    assert invoice.status == "paid" and invoice.amount_paid == 53_85
    return invoice


def _refund(app, db, invoice, amount: str, currency: str):
    refund = invoice_refunds.request_refund(db, app.config, invoice, amount_text=amount, typed_currency=currency,
                                            reason="billing_error", note="", actor_label="admin@matrix.test")
    db.commit()
    return refunds.execute(db, app.config, refund)


def test_a_usd_amount_is_converted_at_the_invoice_rate_after_rates_moved(app, billing, paid_eur_invoice):
    set_rate(billing, "EUR", "0.5", actor_label="admin@matrix.test")  # today's rate is far from the invoice's
    billing.commit()

    refund = _refund(app, billing, paid_eur_invoice, "10.00", "USD")

    assert (refund.amount, refund.currency, refund.status) == (9_23, "EUR", "succeeded")  # 10 × 0.9234 = 9.234
    assert "10.00 USD at the invoice's rate 0.9234" in refund.note
    assert [r.amount for r in stripe_refunds(app, paid_eur_invoice.payment)] == [9_23]


def test_an_amount_in_the_invoice_currency_is_refunded_as_typed(app, billing, paid_eur_invoice):
    refund = _refund(app, billing, paid_eur_invoice, "5.00", "eur")
    assert (refund.amount, refund.currency) == (5_00, "EUR")


def test_refusals_name_the_field_and_reserve_nothing(app, billing, paid_eur_invoice):
    for amount, currency, field in (("100.00", "USD", "amount"),   # 92.34 EUR > 53.85 paid
                                    ("53.86", "EUR", "amount"),
                                    ("1.005", "EUR", "amount"),
                                    ("5", "GBP", "currency"),
                                    ("5", "XYZ", "currency")):
        with pytest.raises(DomainError) as refused:
            invoice_refunds.request_refund(billing, app.config, paid_eur_invoice, amount_text=amount,
                                           typed_currency=currency, reason="billing_error", note="",
                                           actor_label="admin@matrix.test")
        assert refused.value.field == field, (amount, currency)
        billing.rollback()
    billing.expire_all()
    assert paid_eur_invoice.payment.amount_refund_pending == 0 and paid_eur_invoice.payment.amount_refunded == 0


def test_an_unpaid_invoice_cannot_be_refunded(app, billing):
    invoice = close_and_finalize(billing, customer(billing, "initech"))
    with pytest.raises(DomainError, match="Only a paid invoice"):
        invoice_refunds.request_refund(billing, app.config, invoice, amount_text="1.00", typed_currency="USD",
                                       reason="billing_error", note="", actor_label="admin@matrix.test")
