"""Inbound Stripe webhooks: verify, store once, re-run, and report health.

Stripe signs the raw body (`Stripe-Signature: t=…,v1=…`), so the SDK checks
the bytes exactly as received, before anything parses them; a bad signature,
a timestamp older than STRIPE_WEBHOOK_TOLERANCE or a body that is not an
event is refused and nothing is stored. A verified event is committed before
any job is queued: the row is the record of work (the sweeper re-queues what
Redis lost). Its Stripe id is unique, so a second delivery of the same event
(Stripe retries, two deliveries racing) fails the insert and is acknowledged
without being stored or processed again.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import stripe
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.payments.inbound_handlers import HANDLED_TYPES, NOT_HANDLED
from app.payments.models import StripeEvent

# Health turns "degraded" when an event has waited longer than this for a worker.
MAX_PENDING_AGE_SECONDS = 300


class InvalidStripeEvent(DomainError):
    """Refused before storing: not signed by Stripe with our secret, too old, or not an event."""


class InboundNotConfigured(DomainError):
    status_code = 503
    error_type = "api_error"


def _refusal(error: stripe.SignatureVerificationError, tolerance: int) -> InvalidStripeEvent:
    # The SDK's messages mention its own API; ours say what the sender got wrong.
    if str(error).startswith("Timestamp outside the tolerance zone"):
        return InvalidStripeEvent(f"The signature's timestamp is more than {tolerance} seconds old.",
                                  field="Stripe-Signature")
    return InvalidStripeEvent("The Stripe-Signature header does not match the body (wrong secret, or the body "
                              "was changed).", field="Stripe-Signature")


def verify(config, raw_body: bytes, signature_header: str | None) -> dict:
    """The event document, once the SDK has verified the signature on the raw body."""
    secret = config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret:
        raise InboundNotConfigured("Inbound Stripe webhooks are not configured: STRIPE_WEBHOOK_SECRET is not set.")
    if not (signature_header or "").strip():
        raise InvalidStripeEvent("The Stripe-Signature header is missing.", field="Stripe-Signature")
    tolerance = config["STRIPE_WEBHOOK_TOLERANCE"]
    try:
        stripe.WebhookSignature.verify_header(raw_body, signature_header, secret, tolerance)
    except stripe.SignatureVerificationError as error:
        raise _refusal(error, tolerance) from None
    except UnicodeDecodeError:
        raise InvalidStripeEvent("The body is not UTF-8 text.", field="body") from None
    try:
        document = json.loads(raw_body)
    except ValueError:
        raise InvalidStripeEvent("The body is not JSON.", field="body") from None
    return _checked(document)


def _checked(document) -> dict:
    """A signed body that is still not an event we can store is refused too (and not stored)."""
    if not isinstance(document, dict) or document.get("object", "event") != "event":
        raise InvalidStripeEvent("The body is not a Stripe event object.", field="body")
    event_id, event_type, created = document.get("id"), document.get("type"), document.get("created")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 80:
        raise InvalidStripeEvent("The event has no valid id (evt_…).", field="id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 60:
        raise InvalidStripeEvent("The event has no valid type.", field="type")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise InvalidStripeEvent("The event has no valid created time.", field="created")
    data = document.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidStripeEvent("The event has no data.object.", field="data")
    return document


def receive(session: Session, config, raw_body: bytes, signature_header: str | None
            ) -> tuple[StripeEvent | None, bool]:
    """Verify and store an event; commits. Returns (event, False), or (None, True) for a duplicate.

    An event type we do not handle is stored already processed ("ignored: not
    handled"), so the admin page shows everything Stripe sent. The caller
    queues processing of a pending event after this returns.
    """
    document = verify(config, raw_body, signature_header)
    event = StripeEvent(stripe_event_id=document["id"], type=document["type"], payload=raw_body.decode("utf-8"),
                        stripe_created_at=datetime.fromtimestamp(document["created"], timezone.utc),
                        status="pending", attempts=0, received_at=clock.utcnow())
    if event.type not in HANDLED_TYPES:
        event.status, event.outcome, event.processed_at = "processed", NOT_HANDLED, clock.utcnow()
    session.add(event)
    try:
        session.commit()
    except IntegrityError:  # the unique stripe_event_id: delivered before, or by a racing request
        session.rollback()
        return None, True
    return event, False


def rerun(session: Session, event: StripeEvent, *, actor_label: str, actor_user_id: int | None = None) -> None:
    """Put an event back in line (after its cause is fixed); audited, the caller commits and queues it.

    Handlers only move things forward, so re-running a processed event changes
    only what is still behind (e.g. a payment that was unknown at the time).
    """
    previous = event.status
    table = StripeEvent.__table__
    moved = session.execute(update(table).where(table.c.id == event.id, table.c.status != "processing")
                            .values(status="pending")).rowcount
    if moved != 1:
        raise DomainError("A worker is processing this event right now; wait for it to finish.")
    record(session, "stripe_event.rerun", actor_label=actor_label, actor_user_id=actor_user_id,
           target=event.stripe_event_id, details={"type": event.type, "previous_status": previous})
    session.refresh(event)


def _event_figures(session: Session, now: datetime) -> dict:
    counts = dict(session.execute(select(StripeEvent.status, func.count()).group_by(StripeEvent.status)).all())
    oldest = session.scalar(select(func.min(StripeEvent.received_at)).where(StripeEvent.status == "pending"))
    last = session.scalar(select(func.max(StripeEvent.received_at)))
    oldest, last = (value.replace(tzinfo=timezone.utc) if value and value.tzinfo is None else value
                    for value in (oldest, last))  # SQLite aggregates come back naive
    return {"events": {status: counts.get(status, 0) for status in ("pending", "processing", "failed")},
            "oldest_pending_age_seconds": int((now - oldest).total_seconds()) if oldest else None,
            "last_received_at": last.isoformat().replace("+00:00", "Z") if last else None}


def health(session: Session, redis) -> tuple[dict, bool]:
    """What an operator checks: database and Redis reachable, events not piling up."""
    report: dict = {"database": "ok", "redis": "ok", "events": None, "oldest_pending_age_seconds": None,
                    "last_received_at": None}
    problems = []
    try:
        report.update(_event_figures(session, clock.utcnow()))
    except Exception as error:  # noqa: BLE001 — any failure means the database cannot be used
        session.rollback()
        report["database"] = f"unreachable: {type(error).__name__}"
        problems.append("the database is unreachable")
    try:
        redis.ping()
    except Exception as error:  # noqa: BLE001
        report["redis"] = f"unreachable: {type(error).__name__}"
        problems.append("Redis is unreachable: events are stored but not processed")
    age = report["oldest_pending_age_seconds"]
    if age is not None and age > MAX_PENDING_AGE_SECONDS:
        problems.append(f"the oldest pending event has waited {age} s (more than {MAX_PENDING_AGE_SECONDS} s)")
    report = {"status": "degraded" if problems else "ok", "problems": problems, **report}
    return report, not problems
