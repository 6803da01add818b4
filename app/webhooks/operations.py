"""Platform-wide figures for operating webhook delivery (admin portal).

Staff-only, so deliberately not tenant-scoped. The database is the record of
work (messages are the outbox), Redis only holds wake-up jobs: the page shows
both, because a deep RQ queue with few due messages means duplicate wake-ups,
and many due messages with an empty queue means the sweeper is not running.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage

RATE_WINDOW = timedelta(hours=1)
LIST_LIMIT = 100


@dataclass(frozen=True)
class RqQueueDepth:
    name: str
    queued: int  # jobs waiting for a worker
    scheduled: int  # jobs enqueued to run later (near-term retries)


@dataclass(frozen=True)
class QueueDepth:
    queues: list[RqQueueDepth] | None  # None when Redis does not answer
    redis_error: str | None
    due: int  # pending, due now, nobody holds them, endpoint enabled
    in_flight: int  # leased by a worker right now
    scheduled_retries: int  # pending, not yet due
    held_by_disabled: int  # pending on disabled endpoints: they wait for re-enabling


@dataclass(frozen=True)
class DeliveryRate:
    last_minute: int  # attempts in the last 60 s
    per_minute_last_hour: float  # average attempts per minute over the last hour
    failed_last_hour: int


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    organization: Organization
    pending: int


@dataclass(frozen=True)
class EndpointList:
    rows: list[EndpointRow]
    total: int  # may exceed len(rows): the page shows the first LIST_LIMIT


def rq_depths(redis, queue_names) -> list[RqQueueDepth]:
    """Waiting and scheduled job counts of each RQ queue (raises RedisError)."""
    depths = []
    for name in queue_names:
        queue = Queue(name, connection=redis)
        depths.append(RqQueueDepth(name, queue.count, queue.scheduled_job_registry.count))
    return depths


def _rq_depths_or_error(redis, queue_names) -> tuple[list[RqQueueDepth] | None, str | None]:
    # The page matters most when Redis is in trouble: show the database's
    # figures anyway, and say that Redis did not answer.
    try:
        return rq_depths(redis, queue_names), None
    except RedisError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def queue_depth(session: Session, redis, queue_names=("high", "default", "low")) -> QueueDepth:
    """RQ's queues from Redis, and the delivery backlog from the database."""
    now = clock.utcnow()
    pending = WebhookMessage.status == "pending"
    leased = and_(WebhookMessage.leased_until.is_not(None), WebhookMessage.leased_until >= now)
    not_leased = or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now)
    enabled = WebhookEndpoint.enabled.is_(True)
    counts = session.execute(
        select(
            func.count().filter(enabled, WebhookMessage.next_attempt_at <= now, not_leased),
            func.count().filter(leased),
            func.count().filter(enabled, WebhookMessage.next_attempt_at > now, not_leased),
            func.count().filter(WebhookEndpoint.enabled.is_(False), not_leased),
        ).select_from(WebhookMessage)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(pending)).one()
    due, in_flight, scheduled, held = (n or 0 for n in counts)
    queues, redis_error = _rq_depths_or_error(redis, queue_names)
    return QueueDepth(queues=queues, redis_error=redis_error, due=due, in_flight=in_flight,
                      scheduled_retries=scheduled, held_by_disabled=held)


def delivery_rate(session: Session) -> DeliveryRate:
    """Attempts in the last minute, and the hourly average per minute."""
    now = clock.utcnow()
    recent = DeliveryAttempt.attempted_at >= now - timedelta(minutes=1)
    last_minute, last_hour, failed = session.execute(
        select(func.count().filter(recent), func.count(),
               func.count().filter(DeliveryAttempt.succeeded.is_(False)))
        .where(DeliveryAttempt.attempted_at >= now - RATE_WINDOW, DeliveryAttempt.attempted_at <= now)).one()
    minutes = RATE_WINDOW.total_seconds() / 60
    return DeliveryRate(last_minute=last_minute or 0, per_minute_last_hour=round((last_hour or 0) / minutes, 1),
                        failed_last_hour=failed or 0)


def _endpoints(session: Session, condition, order, limit: int) -> EndpointList:
    total = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(condition)) or 0
    rows = session.execute(
        select(WebhookEndpoint, Organization).join(Organization, Organization.id == WebhookEndpoint.org_id)
        .where(condition).order_by(*order).limit(limit)).all()
    # Pending counts for the listed endpoints only (index on endpoint_id), not
    # a GROUP BY over the platform's whole backlog.
    ids = [endpoint.id for endpoint, _org in rows]
    pending = dict(session.execute(
        select(WebhookMessage.endpoint_id, func.count())
        .where(WebhookMessage.endpoint_id.in_(ids), WebhookMessage.status == "pending")
        .group_by(WebhookMessage.endpoint_id)).all()) if ids else {}
    return EndpointList([EndpointRow(e, o, pending.get(e.id, 0)) for e, o in rows], total)


def failing_endpoints(session: Session, limit: int = LIST_LIMIT) -> EndpointList:
    """Enabled endpoints whose every attempt has failed since `failing_since`,
    longest-failing first (they are closest to being disabled)."""
    return _endpoints(session, and_(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.failing_since.is_not(None)),
                      (WebhookEndpoint.failing_since, WebhookEndpoint.id), limit)


def disabled_endpoints(session: Session, limit: int = LIST_LIMIT) -> EndpointList:
    """Disabled endpoints of every organization, most recently disabled first."""
    return _endpoints(session, WebhookEndpoint.enabled.is_(False),
                      (WebhookEndpoint.disabled_at.desc(), WebhookEndpoint.id.desc()), limit)


@dataclass(frozen=True)
class Overview:
    depth: QueueDepth
    rate: DeliveryRate
    failing: EndpointList
    disabled: EndpointList
    as_of: datetime


def overview(session: Session, redis, queue_names=("high", "default", "low")) -> Overview:
    """Everything the admin webhooks page shows."""
    return Overview(depth=queue_depth(session, redis, queue_names), rate=delivery_rate(session),
                    failing=failing_endpoints(session), disabled=disabled_endpoints(session),
                    as_of=clock.utcnow())
