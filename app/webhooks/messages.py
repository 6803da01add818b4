"""The delivery log: list and filter messages, resend one, replay failures, and
the endpoint's health figures."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.tenancy import owned
from app.webhooks import outbox
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import (MESSAGE_STATUSES, DeliveryAttempt, WebhookEndpoint, WebhookMessage,
                                 WebhookReplay)

STATS_WINDOW = timedelta(hours=24)


def message_filter(org_id: int, endpoint: WebhookEndpoint | None = None, status: str | None = None,
                   event_type: str | None = None) -> Select:
    """The tenant-scoped message query with the delivery-log filters applied."""
    stmt = owned(WebhookMessage, org_id)
    if endpoint is not None:
        stmt = stmt.where(WebhookMessage.endpoint_id == endpoint.id)
    if status:
        if status not in MESSAGE_STATUSES:
            raise DomainError(f"Status must be one of {', '.join(MESSAGE_STATUSES)}.", field="status")
        stmt = stmt.where(WebhookMessage.status == status)
    if event_type:
        if event_type not in EVENT_TYPES:
            raise DomainError(f"Unknown event type {event_type!r}.", field="event_type")
        stmt = stmt.where(WebhookMessage.event_type == event_type)
    return stmt


def attempts_of(session: Session, message: WebhookMessage) -> list[DeliveryAttempt]:
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message.id)
                                .order_by(DeliveryAttempt.id.desc())))


def resend(session: Session, message: WebhookMessage, endpoint: WebhookEndpoint, *, actor_label: str,
           actor_user_id: int | None = None) -> WebhookMessage:
    """Send the message again now, with a fresh retry schedule and the same webhook-id."""
    if not endpoint.enabled:
        raise DomainError("This endpoint is disabled; enable it before resending.", field="enabled")
    message.status, message.next_attempt_at, message.completed_at = "pending", clock.utcnow(), None
    message.cycle_start = message.attempt_count
    message.leased_until = message.lease_token = None
    record(session, "webhook_message.resent", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=message.org_id, target=message.public_id)
    outbox.wake_endpoints_after_commit(session, [endpoint.id])
    return message


def request_replay(session: Session, endpoint: WebhookEndpoint, since: datetime, *, actor_label: str,
                   actor_user_id: int | None = None) -> WebhookReplay:
    """Record a 'replay all failed since' request; a job runs it after commit."""
    if since.tzinfo is None:
        raise DomainError("Give the time with a time zone.", field="since")
    if since > clock.utcnow():
        raise DomainError("Choose a time in the past.", field="since")
    if not endpoint.enabled:
        raise DomainError("This endpoint is disabled; enable it before replaying.", field="enabled")
    replay = WebhookReplay(org_id=endpoint.org_id, endpoint_id=endpoint.id, since=since, status="queued",
                           requeued=0, requested_by=actor_label)
    session.add(replay)
    session.flush()
    record(session, "webhook_endpoint.replay_requested", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=endpoint.org_id, target=endpoint.public_id, details={"since": since.isoformat()})
    outbox.start_replay_after_commit(session, replay.id)
    return replay


@dataclass(frozen=True)
class ReplayProgress:
    replay: WebhookReplay
    settled: int  # replayed messages that are no longer pending
    succeeded: int

    @property
    def finished(self) -> bool:
        return self.replay.status == "done" and self.settled >= self.replay.requeued


def replay_progress(session: Session, replay: WebhookReplay) -> ReplayProgress:
    counts = dict(session.execute(
        select(WebhookMessage.status, func.count()).where(WebhookMessage.replay_id == replay.id)
        .group_by(WebhookMessage.status)).all())
    return ReplayProgress(replay, counts.get("succeeded", 0) + counts.get("failed", 0), counts.get("succeeded", 0))


def latest_replay(session: Session, endpoint: WebhookEndpoint) -> WebhookReplay | None:
    return session.scalars(select(WebhookReplay).where(WebhookReplay.endpoint_id == endpoint.id)
                           .order_by(WebhookReplay.id.desc()).limit(1)).first()


@dataclass(frozen=True)
class EndpointStats:
    attempts: int
    succeeded: int
    p50_ms: int | None
    p95_ms: int | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


def _percentile(sorted_values: list[int], share: float) -> int | None:
    """Nearest-rank percentile, as latency dashboards report it."""
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(len(sorted_values) * share)) - 1]


def endpoint_stats(session: Session, endpoint: WebhookEndpoint) -> EndpointStats:
    """Success rate and p50/p95 latency of the attempts in the last 24 h."""
    since = clock.utcnow() - STATS_WINDOW
    rows = session.execute(select(DeliveryAttempt.duration_ms, DeliveryAttempt.succeeded).where(
        DeliveryAttempt.endpoint_id == endpoint.id, DeliveryAttempt.attempted_at >= since)).all()
    durations = sorted(duration for duration, _ok in rows)
    return EndpointStats(attempts=len(rows), succeeded=sum(1 for _d, ok in rows if ok),
                         p50_ms=_percentile(durations, 0.5), p95_ms=_percentile(durations, 0.95))
