"""What each inbound Stripe event type does to our payments, refunds and disputes.

Every handler finds our own row (by Stripe's id, else by the id we put in the
object's metadata), brings it forward through the same service functions our
own calls use, and returns a short outcome that the admin page shows. Nothing
is invented: an event about a payment or refund we do not know is noted, not
recorded as new money. The transition tables refuse backward moves, so an
event that arrives late (a `payment_intent.created` after the `succeeded`)
changes nothing and says so; processing the same event twice changes nothing
the second time.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import lock_row
from app.payments import refunds, service
from app.payments.gateway import field, object_id
from app.payments.models import Payment, Refund
from app.payments.transitions import PAYMENT_MOVES, REFUND_MOVES, can_move

# An intent that was only created has not tried the card yet: its "requires_…"
# status means "nothing happened", not "failed" as it does in payment_failed.
_NOT_STARTED = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
# Stripe's refund statuses → ours (requires_action waits on the customer: still pending).
_REFUND_STATUS = {"pending": "pending", "requires_action": "pending", "succeeded": "succeeded",
                  "failed": "failed", "canceled": "canceled"}


def _payment_for(session: Session, intent_id: str | None, metadata, charge_id: str | None = None) -> Payment | None:
    """Our payment for a PaymentIntent (or charge); metadata.payment_id covers a crash before we stored the id."""
    if intent_id:
        payment = session.scalars(select(Payment).where(Payment.stripe_payment_intent_id == intent_id)).first()
        if payment is not None:
            return payment
    if charge_id:
        payment = session.scalars(select(Payment).where(Payment.stripe_charge_id == charge_id)).first()
        if payment is not None:
            return payment
    our_id = field(metadata or {}, "payment_id")
    if not our_id:
        return None
    payment = session.scalars(select(Payment).where(Payment.public_id == our_id)).first()
    # The metadata names our payment, but a payment already tied to another intent is not this one.
    if payment is not None and payment.stripe_payment_intent_id in (None, intent_id):
        return payment
    return None


def _advance(session: Session, config, payment: Payment, intent: dict) -> str:
    """Apply an intent's state if it is a forward move; say what happened either way."""
    lock_row(session, payment)
    target = service.intent_status(intent)
    label = f"payment {payment.public_id}"
    if payment.status == target:
        service.apply_intent(session, config, payment, intent)  # only fills in Stripe's ids
        return f"{label} already {target}"
    if not can_move(PAYMENT_MOVES, payment.status, target):
        return f"ignored: would move {label} from {payment.status} back to {target}"
    service.apply_intent(session, config, payment, intent)
    return f"{label} → {payment.status}"


def on_payment_intent(session: Session, config, event_type: str, intent: dict) -> str:
    payment = _payment_for(session, field(intent, "id"), field(intent, "metadata"))
    if payment is None:
        return "no matching payment"
    if event_type == "payment_intent.created" and field(intent, "status") in _NOT_STARTED:
        payment.stripe_payment_intent_id = payment.stripe_payment_intent_id or field(intent, "id")
        return f"payment {payment.public_id}: intent created, stays {payment.status}"
    return _advance(session, config, payment, intent)


def on_charge(session: Session, config, event_type: str, charge: dict) -> str:
    """charge.succeeded / charge.failed, as the intent state they imply."""
    intent_id, charge_id = object_id(field(charge, "payment_intent")), field(charge, "id")
    payment = _payment_for(session, intent_id, field(charge, "metadata"), charge_id)
    if payment is None:
        return "no matching payment"
    intent = {"id": intent_id, "latest_charge": charge_id}
    if event_type == "charge.failed":
        intent.update(status="requires_payment_method", last_payment_error={
            "code": field(charge, "failure_code", "card_declined"),
            "message": field(charge, "failure_message", "The card was declined.")})
    elif field(charge, "captured"):
        intent.update(status="succeeded", amount_received=field(charge, "amount_captured") or field(charge, "amount"))
    else:  # authorized, waiting for capture
        intent.update(status="requires_capture")
    return _advance(session, config, payment, intent)


def _refund_for(session: Session, stripe_refund: dict) -> Refund | None:
    stripe_id = field(stripe_refund, "id")
    if stripe_id:
        refund = session.scalars(select(Refund).where(Refund.stripe_refund_id == stripe_id)).first()
        if refund is not None:
            return refund
    our_id = field(field(stripe_refund, "metadata", {}), "refund_id")
    if not our_id:
        return None
    refund = session.scalars(select(Refund).where(Refund.public_id == our_id)).first()
    if refund is not None and refund.stripe_refund_id in (None, stripe_id):
        return refund
    return None


def _settle_refund(session: Session, refund: Refund, stripe_refund: dict) -> str:
    """Bring one refund to Stripe's status (refunds.succeed/fail are guarded: a racing finisher wins once)."""
    lock_row(session, refund)
    stripe_id, label = field(stripe_refund, "id"), f"refund {refund.public_id}"
    target = _REFUND_STATUS.get(field(stripe_refund, "status"), "pending")
    if refund.status == target:
        refund.stripe_refund_id = refund.stripe_refund_id or stripe_id
        return f"{label} already {target}"
    if not can_move(REFUND_MOVES, refund.status, target):
        return f"ignored: would move {label} from {refund.status} back to {target}"
    reason = field(stripe_refund, "failure_reason", "unknown").replace("_", " ")
    if target == "succeeded":
        moved = refunds.succeed(session, refund, stripe_id)
    elif target == "failed":
        moved = refunds.fail(session, refund, f"Stripe could not make the refund: {reason}.")
    else:
        moved = refunds.cancel(session, refund, "The refund was canceled at Stripe.", stripe_id)
    return f"{label} → {target}" if moved else f"{label} already {refund.status}"


def on_refund(session: Session, config, event_type: str, stripe_refund: dict) -> str:
    refund = _refund_for(session, stripe_refund)
    if refund is None:
        return f"no matching refund for {field(stripe_refund, 'id', 'a refund without id')}"
    return _settle_refund(session, refund, stripe_refund)


def on_charge_refunded(session: Session, config, event_type: str, charge: dict) -> str:
    """Settle each refund listed on the charge that is ours; note the others (made outside the portal)."""
    listed = field(field(charge, "refunds", {}), "data")
    if listed is None:
        return "the charge lists no refunds; refund.updated events settle them"
    outcomes, unknown = [], []
    for stripe_refund in listed:
        refund = _refund_for(session, stripe_refund)
        if refund is None:
            unknown.append(field(stripe_refund, "id", "?"))
        else:
            outcomes.append(_settle_refund(session, refund, stripe_refund))
    if unknown:
        outcomes.append(f"not ours, not recorded: {', '.join(unknown)}")
    return "; ".join(outcomes) or "no refunds listed"


def on_dispute(session: Session, config, event_type: str, dispute: dict) -> str:
    from app.payments.disputes import apply_stripe_dispute  # disputes.py imports the service layers too

    return apply_stripe_dispute(session, config, event_type, dispute)


HANDLERS: dict[str, Callable[[Session, object, str, dict], str]] = {
    "payment_intent.created": on_payment_intent,
    "payment_intent.succeeded": on_payment_intent,
    "payment_intent.payment_failed": on_payment_intent,
    "payment_intent.canceled": on_payment_intent,
    "charge.succeeded": on_charge,
    "charge.failed": on_charge,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute,
    "charge.dispute.updated": on_dispute,
    "charge.dispute.closed": on_dispute,
    "refund.created": on_refund,
    "refund.updated": on_refund,
}
HANDLED_TYPES = frozenset(HANDLERS)
NOT_HANDLED = "ignored: not handled"


def handle(session: Session, config, event_type: str, obj: dict) -> str:
    """Run the handler for `event_type` on the event's `data.object`; the caller commits.

    Types we do not handle are stored already processed; one an admin re-runs lands here and is ignored again.
    """
    handler = HANDLERS.get(event_type)
    return handler(session, config, event_type, obj) if handler else NOT_HANDLED
