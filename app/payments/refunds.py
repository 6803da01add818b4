"""Refunds: request (reserving the amount atomically), approve or reject, execute.

The invariant — refunded plus reserved never exceeds captured — is kept by one
guarded UPDATE on the payment row: the reservation happens only if what is
left covers it, evaluated by the database at write time. PostgreSQL re-checks
the WHERE after waiting for a concurrent writer's lock; SQLite runs one writer
at a time. A CHECK constraint backs it up. Stripe is never trusted to refuse
(localstripe does not).
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.money import Money
from app.payments import gateway
from app.payments.amounts import currency_code, minor_units
from app.payments.models import REFUND_REASONS, REFUND_TYPES, Payment, Refund
from app.payments.notify import payment_event, refund_event
from app.billing.models import Subscription

_PAYMENTS = Payment.__table__


def prorated_amount(captured: int, period_start: datetime, period_end: datetime, now: datetime) -> int:
    """The unused share of a period, to the second, rounded half up: captured × left / length."""
    length = int((period_end - period_start).total_seconds())
    left = min(max(int((period_end - now).total_seconds()), 0), length)
    return int((Decimal(captured) * left / length).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _current_period(session: Session, org_id: int) -> Subscription:
    subscription = session.scalars(select(Subscription).where(
        Subscription.org_id == org_id, Subscription.status == "active")).first()
    if subscription is None:
        raise DomainError("A prorated refund needs an active subscription period.", field="type")
    return subscription


def _amount_for(session: Session, payment: Payment, refund_type: str, amount, now: datetime) -> int:
    if refund_type == "full":
        if amount is not None and amount != payment.refundable:
            raise DomainError("A full refund returns everything left; leave the amount out or use a partial refund.",
                              field="amount")
        if payment.refundable <= 0:
            raise DomainError("Nothing is left to refund on this payment.", field="amount")
        return payment.refundable
    if refund_type == "prorated":
        if amount is not None:
            raise DomainError("A prorated refund computes its own amount; leave the amount out.", field="amount")
        period = _current_period(session, payment.org_id)
        prorated = prorated_amount(payment.amount_captured, period.current_period_start,
                                   period.current_period_end, now)
        if prorated <= 0:
            raise DomainError("Nothing of the current period is left unused.", field="type")
        return prorated
    if amount is None:
        raise DomainError("A partial refund needs an amount.", field="amount")
    return minor_units(amount)


def _reserve(session: Session, payment: Payment, amount: int) -> None:
    """Reserve `amount` on the payment, or refuse when less than that is left."""
    reserved = session.execute(
        update(_PAYMENTS)
        .where(_PAYMENTS.c.id == payment.id,
               _PAYMENTS.c.amount_captured - _PAYMENTS.c.amount_refunded - _PAYMENTS.c.amount_refund_pending
               >= amount)
        .values(amount_refund_pending=_PAYMENTS.c.amount_refund_pending + amount, updated_at=clock.utcnow())
    ).rowcount
    if reserved != 1:
        session.refresh(payment)
        left = Money(payment.refundable, payment.currency).format()
        raise DomainError(f"The amount is more than the {left} left to refund on this payment.", field="amount")
    session.refresh(payment)


def request(session: Session, config, payment: Payment, *, refund_type: str, reason: str, amount=None,
            currency=None, note: str = "", actor_label: str) -> Refund:
    """Create a pending refund with its amount reserved. The caller commits, then calls `execute`
    unless the refund awaits approval."""
    if refund_type not in REFUND_TYPES:
        raise DomainError(f"The type is one of {', '.join(REFUND_TYPES)}.", field="type")
    if reason not in REFUND_REASONS:
        raise DomainError(f"The reason is one of {', '.join(REFUND_REASONS)}.", field="reason")
    if payment.status != "succeeded" or payment.amount_captured <= 0:
        raise DomainError(f"Only a captured payment can be refunded; this one is {payment.status}.", field="payment")
    if currency is not None and currency_code(currency) != payment.currency:
        raise DomainError(f"The payment is in {payment.currency}; a refund is in the same currency.",
                          field="currency")
    value = _amount_for(session, payment, refund_type, amount, clock.utcnow())
    _reserve(session, payment, value)
    awaits = value > config["REFUND_APPROVAL_THRESHOLD"].get(payment.currency, value)
    refund = Refund(org_id=payment.org_id, payment=payment, amount=value, currency=payment.currency,
                    type=refund_type, reason=reason, note=(note or "").strip()[:500], status="pending",
                    approval="awaiting" if awaits else "not_required", requested_by=actor_label)
    session.add(refund)
    session.flush()
    refund_event(session, refund, "refund.created")
    record(session, "refund.requested", actor_label=actor_label, org_id=payment.org_id, target=refund.public_id,
           details={"payment": payment.public_id, "amount": value, "type": refund_type, "reason": reason,
                    "awaiting_approval": awaits})
    return refund


def _finish(session: Session, refund: Refund, status: str, *, stripe_refund_id: str | None = None,
            failure_message: str | None = None) -> bool:
    """Move a pending refund to its end and settle the reservation, once.

    The guarded UPDATE on the refund makes a second finisher (a webhook racing
    our own call, a job run twice) a no-op.
    """
    now = clock.utcnow()
    moved = session.execute(
        update(Refund.__table__).where(Refund.__table__.c.id == refund.id, Refund.__table__.c.status == "pending")
        .values(status=status, updated_at=now, failure_message=failure_message,
                stripe_refund_id=stripe_refund_id or refund.stripe_refund_id)).rowcount
    if moved != 1:
        session.refresh(refund)
        return False
    settled = {"amount_refund_pending": _PAYMENTS.c.amount_refund_pending - refund.amount, "updated_at": now}
    if status == "succeeded":
        settled["amount_refunded"] = _PAYMENTS.c.amount_refunded + refund.amount
    session.execute(update(_PAYMENTS).where(_PAYMENTS.c.id == refund.payment_id).values(**settled))
    session.refresh(refund)
    session.refresh(refund.payment)
    refund_event(session, refund, "refund.updated")
    if status == "succeeded":
        payment_event(session, refund.payment, "payment.refunded")
    return True


def succeed(session: Session, refund: Refund, stripe_refund_id: str | None = None) -> bool:
    return _finish(session, refund, "succeeded", stripe_refund_id=stripe_refund_id)


def fail(session: Session, refund: Refund, message: str) -> bool:
    return _finish(session, refund, "failed", failure_message=message[:300])


def cancel(session: Session, refund: Refund, message: str, stripe_refund_id: str | None = None) -> bool:
    """Stripe canceled the refund: release the reservation, once."""
    return _finish(session, refund, "canceled", stripe_refund_id=stripe_refund_id, failure_message=message[:300])


def execute(session: Session, config, refund: Refund) -> Refund:
    """Send a pending, approved (or approval-free) refund to Stripe and record the outcome; commits.

    A lost connection leaves it pending for `retry_pending` (the idempotency key
    makes the retry safe).
    """
    if refund.status != "pending" or refund.approval == "awaiting" or refund.approval == "rejected":
        return refund
    try:
        result = gateway.client(config).v1.refunds.create(params={
            "payment_intent": refund.payment.stripe_payment_intent_id, "amount": refund.amount,
            "metadata": {"refund_id": refund.public_id, "reason": refund.reason}},
            options={"idempotency_key": f"refund-{refund.public_id}"})
    except gateway.stripe_errors as error:
        failure = gateway.translate(error)
        if failure.definite:
            fail(session, refund, failure.message)
        else:
            refund.failure_message = failure.message
        session.commit()
        return refund
    status = gateway.field(result, "status")
    if status == "succeeded":
        succeed(session, refund, result.id)
    elif status in ("failed", "canceled"):
        _finish(session, refund, status, stripe_refund_id=result.id,
                failure_message=gateway.field(result, "failure_reason", "The gateway refused the refund."))
    else:  # pending at Stripe: refund.updated will finish it
        refund.stripe_refund_id = result.id
    session.commit()
    return refund


def _review(session: Session, refund: Refund, *, approve: bool, note: str, actor_label: str,
            actor_user_id: int | None) -> None:
    """Take the refund out of the approval queue, once.

    A guarded UPDATE, like the reservation: two admins deciding at the same
    moment (both pages loaded while it was awaiting) cannot both win, and a
    rejection can never cancel a refund whose approval already sent it to Stripe.
    """
    now, table = clock.utcnow(), Refund.__table__
    taken = session.execute(
        update(table).where(table.c.id == refund.id, table.c.approval == "awaiting", table.c.status == "pending")
        .values(approval="approved" if approve else "rejected", review_note=(note or "").strip()[:500],
                reviewed_by=actor_label, reviewed_at=now, updated_at=now)).rowcount
    session.refresh(refund)
    if taken != 1:
        raise DomainError("This refund is not waiting for approval.")
    record(session, "refund.approved" if approve else "refund.rejected", actor_label=actor_label,
           actor_user_id=actor_user_id, org_id=refund.org_id, target=refund.public_id,
           details={"amount": refund.amount, "note": refund.review_note})


def approve(session: Session, config, refund: Refund, *, note: str, actor_label: str,
            actor_user_id: int | None = None) -> Refund:
    """An admin approves: audited, committed, then sent to Stripe."""
    _review(session, refund, approve=True, note=note, actor_label=actor_label, actor_user_id=actor_user_id)
    session.commit()
    return execute(session, config, refund)


def reject(session: Session, refund: Refund, *, note: str, actor_label: str, actor_user_id: int | None = None) -> Refund:
    """An admin rejects (a note is required): the refund is canceled and its reservation released."""
    if not (note or "").strip():
        raise DomainError("Say why the refund is rejected; the customer sees this note.", field="note")
    _review(session, refund, approve=False, note=note, actor_label=actor_label, actor_user_id=actor_user_id)
    _finish(session, refund, "canceled")
    return refund


def retry_ids(session: Session, older_than_seconds: int = 120) -> list[int]:
    """Pending refunds that should have reached Stripe already (a lost answer, a killed worker)."""
    cutoff = clock.utcnow().timestamp() - older_than_seconds
    rows = session.scalars(select(Refund).where(
        Refund.status == "pending", Refund.approval.in_(("not_required", "approved")),
        Refund.stripe_refund_id.is_(None)))
    return [r.id for r in rows if r.updated_at.timestamp() <= cutoff]
