"""Collect an invoice's amount due through the payments service.

One collector at a time: a lease written to the invoice row by a guarded
UPDATE (committed before any money moves) keeps a second job, or a customer's
"Pay now" racing the job, from charging the same invoice twice. The payment's
order id is the invoice number; a payment of that order that did not fail is
looked for first, so a collector that died after charging does not charge
again when the lease runs out.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.audit.service import record
from app.billing.invoices import mark_failed, mark_paid
from app.billing.models import Invoice
from app.billing.profile import get_profile
from app.db import lock_row
from app.errors import DomainError
from app.payments import service as payments
from app.payments.models import Payment

LEASE = timedelta(minutes=10)
NO_PAYMENT_METHOD = "No payment method on file: add one in Billing settings, then pay the invoice."
_INVOICES = Invoice.__table__


def _take_lease(session: Session, invoice_id: int) -> bool:
    now = clock.utcnow()
    taken = session.execute(
        update(_INVOICES).where(
            _INVOICES.c.id == invoice_id, _INVOICES.c.status.in_(("open", "failed")), _INVOICES.c.amount_due > 0,
            (_INVOICES.c.collecting_until.is_(None)) | (_INVOICES.c.collecting_until < now))
        .values(collecting_until=now + LEASE, payment_attempts=_INVOICES.c.payment_attempts + 1, updated_at=now)
    ).rowcount
    session.commit()
    return taken == 1


def _earlier_payment(session: Session, invoice: Invoice) -> Payment | None:
    """A payment already made for this invoice that has not failed (it may still be processing)."""
    return session.scalars(select(Payment).where(
        Payment.org_id == invoice.org_id, Payment.order_id == invoice.number,
        Payment.status.notin_(("failed", "canceled"))).order_by(Payment.id.desc())).first()


def settle(session: Session, invoice: Invoice, payment: Payment) -> None:
    """Bring the invoice in line with its payment's outcome (once per payment). The caller commits."""
    lock_row(session, invoice)
    if invoice.status not in ("open", "failed"):
        return
    already_told = invoice.payment_id == payment.id and invoice.status == "failed"
    invoice.payment_id = payment.id
    if payment.status == "succeeded":
        mark_paid(session, invoice)
    elif payment.status == "failed" and not already_told:
        mark_failed(session, invoice, payment.failure_message or "The payment failed.")
    # processing: the payment's Stripe webhook settles it; the billing cycle looks again


def _charge(session: Session, config, invoice: Invoice, actor_label: str) -> Payment | None:
    """Charge the card on file for the amount due; None (and the invoice failed) when there is none."""
    method = get_profile(session, invoice.org_id).payment_method
    if not method:
        lock_row(session, invoice)
        if invoice.status != "failed" or invoice.failure_message != NO_PAYMENT_METHOD:
            mark_failed(session, invoice, NO_PAYMENT_METHOD)
        return None
    return payments.place(session, config, session.get(Organization, invoice.org_id), order_id=invoice.number,
                          amount=invoice.amount_due, currency=invoice.currency, payment_method=method, capture=True,
                          actor_label=actor_label)


def collect(session: Session, config, invoice_id: int, *, actor_label: str = "billing") -> Invoice | None:
    """Try to collect an open or failed invoice now; returns it as it stands afterwards.

    Commits (the lease before the charge, the outcome after it).
    """
    if not _take_lease(session, invoice_id):
        return session.get(Invoice, invoice_id)
    invoice = session.get(Invoice, invoice_id)
    try:
        payment = _earlier_payment(session, invoice) or _charge(session, config, invoice, actor_label)
        if payment is not None:
            settle(session, invoice, payment)
    except DomainError as error:  # refused before reaching the card (e.g. a currency the gateway lacks)
        session.rollback()
        lock_row(session, invoice)
        mark_failed(session, invoice, error.message)
    record(session, "invoice.collection_attempted", actor_label=actor_label, org_id=invoice.org_id,
           target=invoice.public_id, details={"status": invoice.status, "attempt": invoice.payment_attempts})
    invoice.collecting_until = None
    session.commit()
    return invoice
