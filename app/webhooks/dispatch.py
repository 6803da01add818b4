"""Claim due messages, send them, and record the outcomes in bulk.

A claim is a lease written to the rows (`leased_until`, `lease_token`), so work
in flight is visible in the database: the sweeper retakes a batch whose worker
died once its lease runs out. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL
and SQLite's single writer elsewhere, and the UPDATE re-checks the lease, so two
workers never hold the same message.
"""
from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app import clock
from app.db import new_public_id
from app.webhooks import endpoints as endpoint_service
from app.webhooks import signing
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage
from app.webhooks.retries import FAILING_DISABLES_AFTER, next_delay
from app.webhooks.sender import Outcome, Sender
from app.webhooks.settings import WebhookSettings


def due(now: datetime) -> tuple:
    """Messages that should be sent now and that no live lease holds."""
    return (WebhookMessage.status == "pending", WebhookMessage.next_attempt_at <= now,
            or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now))


def due_endpoint_ids(session: Session, now: datetime) -> list[int]:
    """Enabled endpoints with due messages nobody holds: what the sweeper wakes."""
    return list(session.scalars(
        select(WebhookMessage.endpoint_id).distinct()
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(WebhookEndpoint.enabled.is_(True), *due(now))))


def claim(session: Session, endpoint_id: int, limit: int, settings: WebhookSettings) -> list[WebhookMessage]:
    """Lease up to `limit` due messages of the endpoint (committed) and return them."""
    now = clock.utcnow()
    lease = {"leased_until": now + settings.lease, "lease_token": secrets.token_hex(16)}
    oldest_due = (select(WebhookMessage.id).where(WebhookMessage.endpoint_id == endpoint_id, *due(now))
                  .order_by(WebhookMessage.next_attempt_at, WebhookMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first (SKIP LOCKED: concurrent claims take different ones), then
        # lease them by primary key. One `UPDATE … WHERE id IN (SELECT … LIMIT n)` may run
        # its subquery more than once and lease every due message.
        ids = session.scalars(oldest_due.with_for_update(skip_locked=True)).all()
        if ids:
            session.execute(update(WebhookMessage).where(WebhookMessage.id.in_(ids)).values(**lease)
                            .execution_options(synchronize_session=False))
    else:
        # SQLite has one writer: a single guarded UPDATE is atomic.
        ids = session.scalars(update(WebhookMessage)
                              .where(WebhookMessage.id.in_(oldest_due.scalar_subquery()), *due(now))
                              .values(**lease).returning(WebhookMessage.id)
                              .execution_options(synchronize_session=False)).all()
    session.commit()
    if not ids:
        return []
    return list(session.scalars(select(WebhookMessage).options(joinedload(WebhookMessage.event))
                                .where(WebhookMessage.id.in_(ids)).order_by(WebhookMessage.id)))


def send_batch(sender: Sender, endpoint: WebhookEndpoint, messages: list[WebhookMessage],
               pool: ThreadPoolExecutor) -> list[tuple[WebhookMessage, dict, Outcome]]:
    """Sign and send each message (concurrently); every retry keeps its webhook-id."""
    keys = signing.signing_secrets(endpoint, clock.utcnow())
    url = endpoint.url

    def one(message: WebhookMessage):
        body = message.event.body.encode()
        headers = signing.headers(keys, message.public_id, int(time.time()), body)
        return message, headers, sender.send(url, headers, body)

    return list(pool.map(one, messages))


def _attempt_row(message: WebhookMessage, headers: dict, outcome: Outcome) -> dict:
    return {"public_id": new_public_id("att"), "org_id": message.org_id, "message_id": message.id,
            "endpoint_id": message.endpoint_id, "attempted_at": outcome.attempted_at,
            "duration_ms": outcome.duration_ms, "succeeded": outcome.succeeded,
            "status_code": outcome.status_code, "error_kind": outcome.error_kind,
            "error_detail": outcome.error_detail, "request_headers": headers,
            "response_body": outcome.response_body}


def _message_update(message: WebhookMessage, outcome: Outcome) -> tuple[dict, datetime | None]:
    attempts = message.attempt_count + 1
    row = {"id": message.id, "attempt_count": attempts, "leased_until": None, "lease_token": None,
           "last_attempt_at": outcome.attempted_at, "last_status_code": outcome.status_code,
           "completed_at": None}
    if outcome.succeeded:
        return {**row, "status": "succeeded", "next_attempt_at": None, "completed_at": outcome.attempted_at}, None
    delay = next_delay(attempts - message.cycle_start, outcome.retry_after)
    if delay is None:
        return {**row, "status": "failed", "next_attempt_at": None, "completed_at": outcome.attempted_at}, None
    retry_at = clock.utcnow() + delay
    return {**row, "status": "pending", "next_attempt_at": retry_at}, retry_at


def record(session: Session, endpoint: WebhookEndpoint,
           results: list[tuple[WebhookMessage, dict, Outcome]]) -> datetime | None:
    """Write the attempts and the messages' new states in bulk, then judge the
    endpoint (410 or 5 days of failures disable it). Returns the soonest retry."""
    if not results:
        return None
    session.execute(insert(DeliveryAttempt), [_attempt_row(*r) for r in results])
    updates, soonest = [], None
    for message, _headers, outcome in results:
        row, retry_at = _message_update(message, outcome)
        updates.append(row)
        if retry_at is not None and (soonest is None or retry_at < soonest):
            soonest = retry_at
    session.execute(update(WebhookMessage), updates)
    _judge_endpoint(session, endpoint, [outcome for _m, _h, outcome in results])
    return soonest


def _judge_endpoint(session: Session, endpoint: WebhookEndpoint, outcomes: list[Outcome]) -> None:
    if any(o.succeeded for o in outcomes):
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
        return
    first_failure = min(o.attempted_at for o in outcomes)
    if endpoint.failing_since is None:
        endpoint.failing_since = first_failure
    if any(o.status_code == 410 for o in outcomes):
        endpoint_service.disable_automatically(session, endpoint, "gone", "The receiver answered 410 Gone.")
    elif max(o.attempted_at for o in outcomes) - endpoint.failing_since >= FAILING_DISABLES_AFTER:
        endpoint_service.disable_automatically(
            session, endpoint, "failing",
            f"Every attempt since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC failed (5 days).")
