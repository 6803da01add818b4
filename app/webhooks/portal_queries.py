"""Read-only figures the portal pages need beyond the core services: the
endpoint list's 24 h success rates in one query, and whether a delivery log
still has work about to happen (so the page knows whether to keep polling)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from app import clock
from app.webhooks.messages import STATS_WINDOW
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage

# Pending messages due sooner than this are "about to be delivered": the log
# refreshes itself for them, not for a retry scheduled hours away.
SOON = timedelta(minutes=1)


@dataclass(frozen=True)
class SuccessRate:
    attempts: int
    succeeded: int

    @property
    def rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


def success_rates(session: Session, org_id: int) -> dict[int, SuccessRate]:
    """Attempts and successes of the last 24 h per endpoint id of the organization
    (endpoints without attempts are absent)."""
    since = clock.utcnow() - STATS_WINDOW
    rows = session.execute(
        select(DeliveryAttempt.endpoint_id, func.count(),
               func.sum(case((DeliveryAttempt.succeeded.is_(True), 1), else_=0)))
        .where(DeliveryAttempt.org_id == org_id, DeliveryAttempt.attempted_at >= since)
        .group_by(DeliveryAttempt.endpoint_id)).all()
    return {endpoint_id: SuccessRate(int(count), int(ok or 0)) for endpoint_id, count, ok in rows}


def delivering_soon(session: Session, endpoint: WebhookEndpoint) -> bool:
    """True while the endpoint is enabled and has a pending message due within
    a minute (or already due / in flight): the log is about to change."""
    if not endpoint.enabled:
        return False
    horizon = clock.utcnow() + SOON
    return bool(session.scalar(select(exists().where(
        WebhookMessage.endpoint_id == endpoint.id, WebhookMessage.status == "pending",
        WebhookMessage.next_attempt_at <= horizon))))


def automatically_disabled(session: Session, org_id: int) -> list[WebhookEndpoint]:
    """Endpoints we switched off (410 or 5 days of failures): the dashboard tells the owner."""
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.org_id == org_id, WebhookEndpoint.enabled.is_(False),
        WebhookEndpoint.disabled_reason.in_(("gone", "failing"))).order_by(WebhookEndpoint.disabled_at.desc())))
