"""RQ jobs of the payments domain: process an inbound Stripe event, sweep the
events nobody is working on, retry refunds that never reached Stripe.

Each takes ids, loads fresh state and is safe to run twice. An event is
claimed with one guarded UPDATE (pending/failed → processing), so two workers
never both run it. While it is `processing`, `processed_at` holds the time the
claim was taken: a claim older than LEASE belongs to a worker that died, and
the sweeper hands the event out again. A job that outlives JOB_TIMEOUT is
stopped by RQ first, so a stale worker never overlaps its successor; the
attempt number it claimed also fences its final write.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.errors import DomainError
from app.jobs import enqueue, job_session
from app.payments import refunds
from app.payments.inbound_handlers import handle
from app.payments.models import Refund, StripeEvent

log = logging.getLogger(__name__)

QUEUE = "default"
JOB_TIMEOUT = 120  # seconds; well inside LEASE
LEASE = timedelta(minutes=5)
PENDING_GRACE = timedelta(seconds=60)  # a pending event older than this lost its job
SWEEP_BATCH = 500
LOST_WORKER = "The worker processing this event stopped before finishing; it was queued again."
_EVENTS = StripeEvent.__table__


def enqueue_processing(event_id: int) -> bool:
    """Queue an event that is committed as pending; if Redis is down the sweeper does it later."""
    try:
        enqueue(process_stripe_event, event_id, queue_name=QUEUE, job_timeout=JOB_TIMEOUT)
    except RedisError as error:
        log.warning("Could not queue Stripe event %s (%s); the sweeper will.", event_id, type(error).__name__)
        return False
    return True


def _claim(session: Session, event_id: int) -> int | None:
    """Take the event for this worker; returns the attempt number, or None if it is not ours to run."""
    claimed = session.execute(
        update(_EVENTS).where(_EVENTS.c.id == event_id, _EVENTS.c.status.in_(("pending", "failed")))
        .values(status="processing", attempts=_EVENTS.c.attempts + 1, processed_at=clock.utcnow())).rowcount
    session.commit()
    if claimed != 1:
        return None
    return session.scalar(select(_EVENTS.c.attempts).where(_EVENTS.c.id == event_id))


def _settle(session: Session, event_id: int, attempt: int, **values) -> bool:
    """Write the result, unless the claim was lost (the sweeper gave the event to another worker)."""
    return session.execute(
        update(_EVENTS).where(_EVENTS.c.id == event_id, _EVENTS.c.status == "processing",
                              _EVENTS.c.attempts == attempt)
        .values(processed_at=clock.utcnow(), **values)).rowcount == 1


def _error_text(error: Exception, config) -> str:
    """The exception's class and first line (SQL errors list their parameters on later lines), secrets masked."""
    text = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SECRET_KEY"):
        if config.get(name):
            text = text.replace(config[name], "[redacted]")
    return text[:1000]


def process_stripe_event(event_id: int) -> str | None:
    """Run the event's handler and record the outcome; a failure rolls the handler's writes back.

    Returns the outcome (None when the event was not claimable or failed).
    """
    config = current_app.config
    with job_session() as session:
        attempt = _claim(session, event_id)
        if attempt is None:
            return None
        event = session.get(StripeEvent, event_id)
        stripe_id, event_type, payload = event.stripe_event_id, event.type, event.payload
        try:
            document = json.loads(payload)
            outcome = handle(session, config, event_type, document["data"]["object"])[:300]
            if not _settle(session, event_id, attempt, status="processed", outcome=outcome, last_error=None):
                session.rollback()
                return None
            session.commit()
            return outcome
        except Exception as error:  # noqa: BLE001 — recorded on the event, shown to admins, re-runnable
            session.rollback()
            message = _error_text(error, config)
            log.warning("Processing Stripe event %s (%s) failed: %s", stripe_id, event_type, message)
            _settle(session, event_id, attempt, status="failed", last_error=message)
            session.commit()
            return None


def sweep_stripe_events() -> dict:
    """Queue again what no worker holds: pending events whose job was lost, and
    events claimed by a worker that died (claim older than LEASE)."""
    now = clock.utcnow()
    with job_session() as session:
        released = session.execute(
            update(_EVENTS).where(_EVENTS.c.status == "processing", _EVENTS.c.processed_at < now - LEASE)
            .values(status="pending", last_error=LOST_WORKER)).rowcount
        session.commit()
        waiting = session.scalars(select(_EVENTS.c.id).where(
            _EVENTS.c.status == "pending", _EVENTS.c.received_at < now - PENDING_GRACE)
            .order_by(_EVENTS.c.id).limit(SWEEP_BATCH)).all()
    for event_id in waiting:
        enqueue_processing(event_id)
    if released or waiting:
        log.info("Stripe event sweeper released %d stuck event(s) and queued %d.", released, len(waiting))
    return {"released": released, "queued": len(waiting)}


def retry_pending_refunds() -> int:
    """Send again refunds that should have reached Stripe (a lost answer, a killed worker).

    The idempotency key makes a refund Stripe did get a no-op there. One
    transaction per refund (`execute` commits). Returns how many were sent.
    """
    config = current_app.config
    sent = 0
    with job_session() as session:
        for refund_id in refunds.retry_ids(session):
            refund = session.get(Refund, refund_id)
            try:
                refunds.execute(session, config, refund)
            except DomainError as error:  # e.g. payments not configured: every other one would fail too
                session.rollback()
                log.warning("Refund retry stopped: %s", error.message)
                break
            except Exception:  # noqa: BLE001 — one bad refund must not hold up the others
                session.rollback()
                log.exception("Retrying refund %s failed.", refund.public_id)
            else:
                sent += 1
    return sent
