"""Emit events: the outbox write that every domain action calls.

`emit()` writes the event and one pending message per subscribed, enabled
endpoint in the caller's transaction. Nothing reaches Redis until that
transaction commits (see outbox.py); if it rolls back, no event existed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from app import clock
from app.db import new_public_id
from app.errors import DomainError
from app.webhooks import outbox
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint, WebhookEvent, WebhookMessage


_EVENTS, _ENDPOINTS, _MESSAGES = (WebhookEvent.__table__, WebhookEndpoint.__table__,
                                  WebhookMessage.__table__)
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_SUBSCRIBED_ENDPOINTS = select(_ENDPOINTS.c.id, _ENDPOINTS.c.event_types).where(
    _ENDPOINTS.c.org_id == bindparam("org_id"), _ENDPOINTS.c.enabled.is_(True))
_INSERT_MESSAGE = insert(_MESSAGES)


class UnknownEventType(ValueError):
    """A programming error: the event type is not in the catalog."""


def _body(event_id: str, event_type: str, created_at, data: dict) -> str:
    document = {"id": event_id, "type": event_type,
                "timestamp": created_at.isoformat().replace("+00:00", "Z"), "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class EmittedEvent:
    """What `emit()` wrote (a plain record: the event is not loaded into the session)."""

    id: int
    public_id: str
    type: str
    is_test: bool
    body: str


def emit(session: Session, org_id: int, type: str, payload: dict, *,
         only_endpoint: WebhookEndpoint | None = None, is_test: bool = False) -> EmittedEvent:
    """Record event `type` for the organization and queue its deliveries (after commit).

    Statements built once on the tables and run on the session's connection,
    not through the ORM: every domain action calls this, bulk producers
    thousands of times a second, and this costs a quarter of the CPU.
    """
    event_type = EVENT_TYPES.get(type)
    if event_type is None:
        raise UnknownEventType(type)
    try:
        data = event_type.schema.model_validate(payload).model_dump(mode="json")
    except ValidationError as exc:  # a caller broke the documented contract: refuse loudly
        raise ValueError(f"Payload of {type} does not match the catalog: {exc}") from exc
    if session.new or session.dirty or session.deleted:
        session.flush()  # the statements below bypass the ORM, so it must see pending changes
    connection = session.connection()
    now = clock.utcnow()
    public_id = new_public_id("evt")
    body = _body(public_id, type, now, data)
    event_id = connection.execute(_INSERT_EVENT, {
        "public_id": public_id, "org_id": org_id, "type": type, "is_test": is_test, "created_at": now,
        "body": body}).scalar_one()
    if only_endpoint is not None:
        endpoint_ids = [only_endpoint.id]
    else:
        subscribed = connection.execute(_SUBSCRIBED_ENDPOINTS, {"org_id": org_id})
        endpoint_ids = [id_ for id_, types in subscribed if types is None or type in types]
    if endpoint_ids:
        connection.execute(_INSERT_MESSAGE, [
            {"public_id": new_public_id("msg"), "org_id": org_id, "event_id": event_id, "endpoint_id": endpoint_id,
             "event_type": type, "status": "pending", "attempt_count": 0, "cycle_start": 0,
             "next_attempt_at": now, "created_at": now}
            for endpoint_id in endpoint_ids
        ])
        outbox.wake_endpoints_after_commit(session, endpoint_ids)
    return EmittedEvent(event_id, public_id, type, is_test, body)


def send_test(session: Session, endpoint: WebhookEndpoint, event_type: str | None = None) -> EmittedEvent:
    """Send the catalog example of `event_type` to this endpoint only, marked as a test."""
    if not endpoint.enabled:
        raise DomainError("This endpoint is disabled; enable it before sending a test event.", field="enabled")
    if event_type is None:
        event_type = (endpoint.event_types or list(EVENT_TYPES))[0]
    if event_type not in EVENT_TYPES:
        raise DomainError(f"Unknown event type {event_type!r}.", field="event_type")
    return emit(session, endpoint.org_id, event_type, EVENT_TYPES[event_type].example,
                only_endpoint=endpoint, is_test=True)
