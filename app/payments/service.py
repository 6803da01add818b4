"""Payments: authorize, capture, charge, cancel, read.

The payment row is committed before Stripe is called, so a crash between the
two leaves a `processing` row that Stripe's webhook completes (the intent's
metadata names our id) instead of money moved with no record. Stripe calls
carry idempotency keys derived from that row's id. Because of that ordering
these functions commit; the caller passes a session it owns.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.db import lock_row
from app.audit.service import record
from app.errors import DomainError
from app.money import Money
from app.payments import fees, gateway
from app.payments.amounts import currency_code, minor_units
from app.payments.models import Payment, StripeCustomer
from app.payments.notify import payment_event
from app.payments.transitions import PAYMENT_MOVES, can_move

_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:#/-]{0,99}$")
_PAYMENT_METHOD = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]{1,60}$")
# Stripe intent status → ours. requires_action (3-D Secure) cannot be completed
# server-side, so such a payment is recorded as failed with Stripe's reason.
_INTENT_STATUS = {"requires_capture": "requires_capture", "succeeded": "succeeded", "processing": "processing",
                  "canceled": "canceled", "requires_payment_method": "failed", "requires_action": "failed",
                  "requires_confirmation": "failed"}


def _check_order_id(order_id) -> str:
    if not isinstance(order_id, str) or not _ORDER_ID.match(order_id.strip()):
        raise DomainError("The order id is 1–100 letters, digits or _ . : # / -, starting with a letter or digit.",
                          field="order_id")
    return order_id.strip()


def check_payment_method(payment_method) -> str:
    if not isinstance(payment_method, str) or not _PAYMENT_METHOD.match(payment_method.strip()):
        raise DomainError("The payment method is a Stripe PaymentMethod id such as pm_card_visa.",
                          field="payment_method")
    return payment_method.strip()


def move(payment: Payment, status: str) -> bool:
    """Set a new status if the move is forward; False (and no change) otherwise."""
    if not can_move(PAYMENT_MOVES, payment.status, status):
        return False
    payment.status, payment.updated_at = status, clock.utcnow()
    return True


def apply_capture(session: Session, config, payment: Payment, captured: int) -> None:
    """Record the captured amount and the fees on it."""
    from app.accounts.models import Organization

    org = session.get(Organization, payment.org_id)
    result = fees.breakdown(captured, fees.platform_rate(session, org), fees.gateway_rate(config))
    payment.amount_captured = captured
    payment.platform_fee, payment.gateway_fee = result.platform_fee, result.gateway_fee
    payment.net_amount, payment.fee_rate_bps = result.net_amount, result.platform_rate_bps


def intent_status(intent) -> str:
    """Our payment status for a PaymentIntent (object or webhook dict)."""
    return _INTENT_STATUS.get(gateway.field(intent, "status"), "processing")


def apply_intent(session: Session, config, payment: Payment, intent) -> bool:
    """Bring the payment up to a PaymentIntent's state (our calls and webhooks both land here).

    Returns True when the status moved; emits payment.succeeded / payment.failed.
    """
    status = intent_status(intent)
    payment.stripe_payment_intent_id = payment.stripe_payment_intent_id or gateway.field(intent, "id")
    payment.stripe_charge_id = gateway.object_id(gateway.field(intent, "latest_charge")) or payment.stripe_charge_id
    # A late failure must not write its reason on a payment that has since succeeded.
    if status == "failed" and (payment.status == "failed" or can_move(PAYMENT_MOVES, payment.status, "failed")):
        error = gateway.field(intent, "last_payment_error", {}) or {}
        payment.failure_code = gateway.field(error, "code") or gateway.field(intent, "status")
        payment.failure_message = (gateway.field(error, "message") or "The payment needs an action we cannot take "
                                   "on the server (e.g. 3-D Secure).")[:300]
    if not move(payment, status):
        return False
    if status == "succeeded":
        captured = gateway.field(intent, "amount_received") or gateway.field(intent, "amount") or payment.amount
        apply_capture(session, config, payment, min(int(captured), payment.amount))
        payment.failure_code = payment.failure_message = None
        payment_event(session, payment, "payment.succeeded")
    elif status == "failed":
        payment_event(session, payment, "payment.failed")
    return True


def _record_failure(session: Session, payment: Payment, failure: gateway.GatewayFailure, actor_label: str) -> None:
    payment.failure_code, payment.failure_message = failure.code[:60], failure.message[:300]
    if failure.definite and move(payment, "failed"):
        payment_event(session, payment, "payment.failed")
    record(session, "payment.gateway_error", actor_label=actor_label, org_id=payment.org_id,
           target=payment.public_id, details={"code": failure.code, "declined": failure.declined})


def _stripe_customer(session: Session, stripe, org) -> str:
    """The organization's Stripe Customer id, created once (idempotently) and kept."""
    row = session.get(StripeCustomer, org.id)
    if row is not None:
        return row.stripe_customer_id
    customer = stripe.v1.customers.create(
        params={"name": org.name, "metadata": {"org_id": org.public_id}},
        options={"idempotency_key": f"customer-{org.public_id}"})
    session.add(StripeCustomer(org_id=org.id, stripe_customer_id=customer.id))
    try:
        session.commit()
    except IntegrityError:  # a concurrent first payment of this organization stored one first: use it
        session.rollback()
        return session.get(StripeCustomer, org.id).stripe_customer_id
    return customer.id


def place(session: Session, config, org, *, order_id, amount, currency, payment_method, capture: bool,
          actor_label: str) -> Payment:
    """Authorize (capture=False) or charge (capture=True) a payment method.

    A decline leaves a `failed` payment with Stripe's message; the caller shows it.
    """
    payment = Payment(org_id=org.id, order_id=_check_order_id(order_id), amount=minor_units(amount),
                      currency=currency_code(currency), payment_method=check_payment_method(payment_method),
                      capture_method="automatic" if capture else "manual", status="processing",
                      created_by=actor_label)
    stripe = gateway.client(config)
    session.add(payment)
    session.commit()  # recorded before any money moves
    try:
        customer_id = _stripe_customer(session, stripe, org)
        stripe.v1.payment_methods.attach(payment.payment_method, params={"customer": customer_id})
        intent = stripe.v1.payment_intents.create(params={
            "amount": payment.amount, "currency": payment.currency.lower(), "customer": customer_id,
            "payment_method": payment.payment_method, "capture_method": payment.capture_method, "confirm": True,
            "metadata": {"payment_id": payment.public_id, "order_id": payment.order_id},
        }, options={"idempotency_key": f"intent-{payment.public_id}"})
    except gateway.stripe_errors as error:
        _record_failure(session, payment, gateway.translate(error), actor_label)
    else:
        lock_row(session, payment)
        apply_intent(session, config, payment, intent)
    record(session, "payment.charged" if capture else "payment.authorized", actor_label=actor_label, org_id=org.id,
           target=payment.public_id, details={"amount": payment.amount, "currency": payment.currency,
                                              "status": payment.status})
    session.commit()
    return payment


def capture(session: Session, config, payment: Payment, amount=None, *, actor_label: str) -> Payment:
    """Capture all or part of an authorization; the rest is released by Stripe."""
    if payment.status != "requires_capture":
        raise DomainError(f"Only an authorized payment can be captured; this one is {payment.status}.",
                          field="status")
    to_capture = payment.amount if amount is None else minor_units(amount)
    if to_capture > payment.amount:
        authorized = Money(payment.amount, payment.currency).format()
        raise DomainError(f"You can capture at most {authorized} (the authorized amount).", field="amount")
    stripe = gateway.client(config)
    try:
        intent = stripe.v1.payment_intents.capture(
            payment.stripe_payment_intent_id, params={"amount_to_capture": to_capture},
            options={"idempotency_key": f"capture-{payment.public_id}"})
    except gateway.stripe_errors as error:
        failure = gateway.translate(error)
        record(session, "payment.gateway_error", actor_label=actor_label, org_id=payment.org_id,
               target=payment.public_id, details={"code": failure.code, "operation": "capture"})
        session.commit()
        raise DomainError(f"The capture failed: {failure.message}") from None
    lock_row(session, payment)
    if gateway.field(intent, "status") == "succeeded":
        moved = move(payment, "succeeded")
        # Our answer knows the captured amount; a webhook that got here first may not have.
        apply_capture(session, config, payment, to_capture)
        if moved:
            payment_event(session, payment, "payment.succeeded")
    record(session, "payment.captured", actor_label=actor_label, org_id=payment.org_id, target=payment.public_id,
           details={"amount": to_capture})
    session.commit()
    return payment


def cancel(session: Session, config, payment: Payment, *, actor_label: str) -> Payment:
    """Release an authorization that will not be captured."""
    if payment.status != "requires_capture":
        raise DomainError(f"Only an authorized payment can be cancelled; this one is {payment.status}.",
                          field="status")
    try:
        gateway.client(config).v1.payment_intents.cancel(
            payment.stripe_payment_intent_id, options={"idempotency_key": f"cancel-{payment.public_id}"})
    except gateway.stripe_errors as error:
        raise DomainError(f"The cancellation failed: {gateway.translate(error).message}") from None
    move(payment, "canceled")
    record(session, "payment.canceled", actor_label=actor_label, org_id=payment.org_id, target=payment.public_id)
    session.commit()
    return payment


def by_order(session: Session, org_id: int, order_id: str):
    """The organization's payments for one order, newest first (a statement to paginate)."""
    return select(Payment).where(Payment.org_id == org_id, Payment.order_id == order_id)
