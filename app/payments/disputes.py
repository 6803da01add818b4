"""Disputes: opened by a customer in the portal, or by the card issuer through Stripe.

States are Stripe's. Every status change goes through `move()`, which allows
only the moves of `transitions.DISPUTE_MOVES` and writes with a guarded UPDATE
(`… WHERE status = <the status we read>`): an event that arrives late (an
`updated` after the `closed`) or races another worker asks for a move that is
not there any more and changes nothing, so a dispute never goes backwards and
a closed one stays closed, on PostgreSQL and SQLite alike.

Customers hear about it through `dispute.created`, `dispute.updated` and
`dispute.closed` (on reaching won, lost or warning_closed). Evidence lives in
`dispute_evidence`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.payments import gateway
from app.payments.models import DISPUTE_REASONS, DISPUTE_STATUSES, Dispute, Payment
from app.payments.notify import dispute_event
from app.payments.transitions import DISPUTE_MOVES, DISPUTE_TERMINAL, can_move

DESCRIPTION_MAX = 2000
RESOLUTION_NOTE_MAX = 500
# Evidence can be added, and the loss conceded, only while a response is awaited.
AWAITING_RESPONSE = frozenset({"needs_response", "warning_needs_response"})
# Who the audit log names for changes Stripe tells us about.
STRIPE_ACTOR = "stripe"


def is_open(dispute: Dispute) -> bool:
    return dispute.status not in DISPUTE_TERMINAL


def move(session: Session, dispute: Dispute, status: str, **changes) -> bool:
    """Move to `status` (with other column `changes`) if the table allows it and
    nobody moved it meanwhile; emit the event.

    Returns False (and changes nothing) otherwise. Other pending changes in the
    session are flushed first, so they are kept.
    """
    current = dispute.status
    if not can_move(DISPUTE_MOVES, current, status):
        return False
    now = clock.utcnow()
    values = {**changes, "status": status, "updated_at": now}
    if status in DISPUTE_TERMINAL:
        values["closed_at"] = now
    session.flush()
    moved = session.execute(
        update(Dispute).where(Dispute.id == dispute.id, Dispute.status == current).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(dispute)
    if moved != 1:
        return False
    dispute_event(session, dispute, "dispute.closed" if status in DISPUTE_TERMINAL else "dispute.updated")
    return True


def open_for_payment(session: Session, payment: Payment) -> Dispute | None:
    """The payment's dispute that is not closed yet, if any."""
    return session.scalars(select(Dispute).where(
        Dispute.payment_id == payment.id, Dispute.status.not_in(DISPUTE_TERMINAL))).first()


def _check_customer_request(payment: Payment, reason, description) -> str:
    if reason not in DISPUTE_REASONS:
        raise DomainError(f"The reason is one of {', '.join(DISPUTE_REASONS)}.", field="reason")
    text = (description or "").strip() if isinstance(description, str) else ""
    if not text:
        raise DomainError("Describe what went wrong with this payment.", field="description")
    if len(text) > DESCRIPTION_MAX:
        raise DomainError(f"The description is at most {DESCRIPTION_MAX} characters (it has {len(text)}).",
                          field="description")
    if payment.status != "succeeded":
        raise DomainError(f"Only a succeeded payment can be disputed; this one is {payment.status}.", field="payment")
    if payment.amount_captured - payment.amount_refunded <= 0:
        raise DomainError("This payment was refunded in full; nothing is left to dispute.", field="payment")
    return text


def open_by_customer(session: Session, config, payment: Payment, *, reason, description, actor_label: str,
                     actor_user_id: int | None = None) -> Dispute:
    """A customer disputes a succeeded payment: `needs_response`, evidence due in
    DISPUTE_EVIDENCE_DAYS. At most one open dispute per payment. The caller commits."""
    text = _check_customer_request(payment, reason, description)
    # Touching the payment row first serialises concurrent requests on it (a row
    # lock on PostgreSQL, the single writer on SQLite), so the check below sees
    # a dispute another request has just committed.
    session.execute(update(Payment).where(Payment.id == payment.id).values(updated_at=clock.utcnow())
                    .execution_options(synchronize_session=False))
    existing = open_for_payment(session, payment)
    if existing is not None:
        raise DomainError(f"This payment already has an open dispute ({existing.public_id}).", field="payment")
    dispute = Dispute(org_id=payment.org_id, payment=payment, amount=payment.amount_captured - payment.amount_refunded,
                      currency=payment.currency, reason=reason, description=text, status="needs_response",
                      opened_by="customer", evidence={},
                      evidence_due_by=clock.utcnow() + timedelta(days=config["DISPUTE_EVIDENCE_DAYS"]))
    session.add(dispute)
    session.flush()
    dispute_event(session, dispute, "dispute.created")
    record(session, "dispute.opened", actor_label=actor_label, actor_user_id=actor_user_id, org_id=payment.org_id,
           target=dispute.public_id, details={"payment": payment.public_id, "reason": reason, "amount": dispute.amount})
    return dispute


def resolve(session: Session, dispute: Dispute, outcome: str, note: str, *, actor_label: str,
            actor_user_id: int | None = None) -> Dispute:
    """An admin decides a customer-opened dispute: won (the charge stands) or lost.

    A Stripe dispute is decided by the card issuer; its events close it. The caller commits.
    """
    if dispute.opened_by != "customer":
        raise DomainError("The card issuer decides a Stripe dispute; its outcome arrives from Stripe.")
    if outcome not in ("won", "lost"):
        raise DomainError("The outcome is won or lost.", field="outcome")
    text = (note or "").strip()
    if not text:
        raise DomainError("Say why; the note is kept in the dispute's history.", field="note")
    if len(text) > RESOLUTION_NOTE_MAX:
        raise DomainError(f"The note is at most {RESOLUTION_NOTE_MAX} characters.", field="note")
    previous = dispute.status
    if not move(session, dispute, outcome):
        raise DomainError(f"This dispute is {dispute.status}; it cannot be decided now.", field="outcome")
    record(session, "dispute.resolved", actor_label=actor_label, actor_user_id=actor_user_id, org_id=dispute.org_id,
           target=dispute.public_id, details={"from": previous, "outcome": outcome, "note": text})
    return dispute


def accept_loss(session: Session, config, dispute: Dispute, *, actor_label: str,
                actor_user_id: int | None = None) -> Dispute:
    """Concede: Stripe closes its dispute (lost, or warning_closed for an inquiry); commits.

    A gateway refusal is audited and shown (DomainError); the dispute is unchanged.
    """
    if not is_open(dispute):
        raise DomainError(f"This dispute is closed already ({dispute.status}).", field="status")
    if dispute.stripe_dispute_id and dispute.status not in AWAITING_RESPONSE:
        raise DomainError("Stripe is reviewing the evidence; the dispute can no longer be conceded.", field="status")
    previous = dispute.status
    status = "warning_closed" if previous.startswith("warning") else "lost"
    if dispute.stripe_dispute_id:
        try:
            result = gateway.client(config).v1.disputes.close(
                dispute.stripe_dispute_id, options={"idempotency_key": f"dispute-close-{dispute.public_id}"})
        except gateway.stripe_errors as error:
            raise gateway_refusal(session, dispute, error, "close", actor_label, actor_user_id) from None
        status = gateway.field(result, "status", status)
    move(session, dispute, status)
    record(session, "dispute.loss_accepted", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=dispute.org_id, target=dispute.public_id, details={"from": previous, "status": dispute.status})
    session.commit()
    return dispute


def gateway_refusal(session: Session, dispute: Dispute, error, operation: str, actor_label: str,
                    actor_user_id: int | None, field: str = "status") -> DomainError:
    """Audit a Stripe refusal (committed, so it survives) and return the error to show."""
    failure = gateway.translate(error)
    record(session, "dispute.gateway_error", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=dispute.org_id, target=dispute.public_id,
           details={"operation": operation, "code": failure.code, "message": failure.message})
    session.commit()
    if failure.definite:
        return DomainError(f"Stripe refused: {failure.message}", field=field)
    return DomainError(f"{failure.message} Try again: a retry is safe.", field=field)


# --- Stripe's charge.dispute.* events ---------------------------------------------------------------------------


def _due_by(obj) -> datetime | None:
    due = gateway.field(gateway.field(obj, "evidence_details", {}), "due_by")
    return datetime.fromtimestamp(int(due), tz=timezone.utc) if due else None


def _payment_of(session: Session, obj) -> Payment | None:
    intent_id = gateway.object_id(gateway.field(obj, "payment_intent"))
    charge_id = gateway.object_id(gateway.field(obj, "charge"))
    if intent_id:
        payment = session.scalars(select(Payment).where(Payment.stripe_payment_intent_id == intent_id)).first()
        if payment is not None:
            return payment
    if charge_id:
        return session.scalars(select(Payment).where(Payment.stripe_charge_id == charge_id)).first()
    return None


def apply_stripe_dispute(session: Session, config, event_type: str, obj) -> str:
    """Bring our dispute up to a Stripe Dispute object (from charge.dispute.created/updated/closed).

    Creates it when its Stripe id is new; otherwise moves it forward only.
    Applying the same object twice changes nothing the second time. Returns
    what happened, for the inbound event's outcome. The caller commits.
    """
    stripe_id, status = gateway.field(obj, "id"), gateway.field(obj, "status")
    if not stripe_id:
        return "ignored: the event carries no dispute id"
    if status not in DISPUTE_STATUSES:
        return f"ignored: unknown dispute status {status!r}"
    dispute = session.scalars(select(Dispute).where(Dispute.stripe_dispute_id == stripe_id)).first()
    if dispute is None:
        payment = _payment_of(session, obj)
        if payment is None:
            return "no matching payment"
        dispute = _create_from_stripe(session, payment, obj, stripe_id, status)
        if isinstance(dispute, Dispute):
            record(session, "dispute.stripe_opened", actor_label=STRIPE_ACTOR, org_id=dispute.org_id,
                   target=dispute.public_id, details={"stripe_dispute": stripe_id, "event": event_type,
                                                      "status": status, "amount": dispute.amount})
            return f"created {dispute.public_id} ({status})"
        dispute = session.scalars(select(Dispute).where(Dispute.stripe_dispute_id == stripe_id)).one()
    return _update_from_stripe(session, dispute, obj, event_type, status)


def _create_from_stripe(session: Session, payment: Payment, obj, stripe_id: str, status: str) -> Dispute | None:
    """Insert the dispute (in a savepoint: a concurrent worker may insert it first → None)."""
    reason = gateway.field(obj, "reason", "general")
    amount = int(gateway.field(obj, "amount", 0)) or payment.amount_captured
    dispute = Dispute(org_id=payment.org_id, payment=payment, stripe_dispute_id=stripe_id, amount=amount,
                      currency=str(gateway.field(obj, "currency", payment.currency)).upper(),
                      reason=reason if reason in DISPUTE_REASONS else "general", status=status, opened_by="stripe",
                      evidence={}, evidence_due_by=_due_by(obj),
                      closed_at=clock.utcnow() if status in DISPUTE_TERMINAL else None)
    try:
        with session.begin_nested():
            session.add(dispute)
    except IntegrityError:
        return None
    dispute_event(session, dispute, "dispute.created")
    if status in DISPUTE_TERMINAL:  # first heard of when already decided (the created event was lost)
        dispute_event(session, dispute, "dispute.closed")
    return dispute


def _update_from_stripe(session: Session, dispute: Dispute, obj, event_type: str, status: str) -> str:
    previous = dispute.status
    if previous == status:
        return f"ignored: {dispute.public_id} is already {status}"
    if previous in DISPUTE_TERMINAL:
        return f"ignored: {dispute.public_id} is closed ({previous}); it stays closed"
    if not can_move(DISPUTE_MOVES, previous, status):
        return f"ignored: {dispute.public_id} does not move back from {previous} to {status}"
    if not move(session, dispute, status, evidence_due_by=_due_by(obj) or dispute.evidence_due_by):
        return f"ignored: {dispute.public_id} changed meanwhile (now {dispute.status})"
    record(session, "dispute.stripe_updated", actor_label=STRIPE_ACTOR, org_id=dispute.org_id,
           target=dispute.public_id, details={"event": event_type, "from": previous, "to": status})
    return f"{dispute.public_id}: {previous} → {status}"
