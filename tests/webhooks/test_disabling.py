"""Endpoints that should not be hammered are disabled: at once on a 410 Gone,
and after 5 days of nothing but failures. Both are audited; what was pending
waits and is delivered once the customer enables the endpoint again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.webhooks import endpoints
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.jobs import deliver_endpoint, sweep
from app.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.webhooks.fixtures import T0, deliver_due, org_id
from tests.webhooks.receiver import Reply



pytestmark = pytest.mark.usefixtures("frozen_clock")


def emit_one(session) -> None:
    emit(session, org_id(session, "acme"), "invoice.created", EVENT_TYPES["invoice.created"].example)
    session.commit()


def fresh(session, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    session.expire_all()
    return session.get(WebhookEndpoint, endpoint.id)


def messages_of(session, endpoint) -> list[WebhookMessage]:
    return list(session.scalars(select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint.id)
                                .order_by(WebhookMessage.id)))


def disabled_audits(session, endpoint) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "webhook_endpoint.disabled",
                                                         AuditEvent.target == endpoint.public_id)))


def test_410_disables_at_once_and_pending_messages_wait_for_re_enabling(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    receiver.default = Reply(status=410, body=b"this hook was removed")
    emit_one(demo)
    emit_one(demo)

    assert deliver_due(app) == 2  # one batch; both answered 410
    endpoint = fresh(demo, endpoint)
    assert not endpoint.enabled and endpoint.disabled_reason == "gone" and endpoint.disabled_at == T0
    [audit] = disabled_audits(demo, endpoint)
    assert audit.actor_label == "system" and audit.details["reason"] == "gone"
    assert audit.org_id == endpoint.org_id
    pending = messages_of(demo, endpoint)
    assert [m.status for m in pending] == ["pending", "pending"]  # kept, not dropped

    # Later: nothing is attempted, whatever wakes the endpoint, and new events
    # are not queued for it.
    receiver.default = Reply(status=200)
    clock.advance(timedelta(hours=1))
    emit_one(demo)
    assert len(messages_of(demo, endpoint)) == 2
    assert deliver_due(app) == 0
    with app.app_context():
        assert deliver_endpoint(endpoint.id) == 0
        assert sweep() == 0
    assert len(receiver.requests) == 2
    assert [m.status for m in messages_of(demo, fresh(demo, endpoint))] == ["pending", "pending"]

    endpoints.update_endpoint(demo, fresh(demo, endpoint), enabled=True, actor_label="alice@acme.test")
    demo.commit()
    endpoint = fresh(demo, endpoint)
    assert endpoint.enabled and endpoint.disabled_reason is None and endpoint.failing_since is None

    assert deliver_due(app) == 2
    assert [m.status for m in messages_of(demo, endpoint)] == ["succeeded", "succeeded"]
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids[2:] and sorted(ids[2:]) == sorted(ids[:2])  # the same messages, same ids


def test_a_single_410_among_successes_still_disables(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    emit_one(demo)
    deliver_due(app)
    receiver.replies = [Reply(status=410)]
    emit_one(demo)
    deliver_due(app)
    assert fresh(demo, endpoint).disabled_reason == "gone"


def run_for(app, session, receiver, until: datetime, step: timedelta) -> None:
    """Emit an event every `step` and deliver whatever is due, ending exactly at `until`."""
    while clock.utcnow() < until:
        clock.advance(min(step, until - clock.utcnow()))
        emit_one(session)
        deliver_due(app)


def test_five_days_of_failures_disable_the_endpoint(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    receiver.default = Reply(status=500)
    emit_one(demo)
    deliver_due(app)
    assert fresh(demo, endpoint).failing_since == T0

    run_for(app, demo, receiver, T0 + timedelta(days=4, hours=23), timedelta(hours=6, minutes=30))
    endpoint = fresh(demo, endpoint)
    assert endpoint.enabled and endpoint.failing_since == T0  # 4 days 23 h: not yet
    assert len(receiver.requests) > 20  # it really kept failing all along

    clock.freeze(T0 + timedelta(days=5))
    emit_one(demo)
    deliver_due(app)
    endpoint = fresh(demo, endpoint)
    assert not endpoint.enabled and endpoint.disabled_reason == "failing"
    assert endpoint.disabled_at == T0 + timedelta(days=5)
    [audit] = disabled_audits(demo, endpoint)
    assert audit.details["reason"] == "failing" and audit.actor_label == "system"

    seen = len(receiver.requests)
    clock.advance(timedelta(days=2))
    emit_one(demo)
    assert deliver_due(app) == 0 and len(receiver.requests) == seen


def test_a_success_in_between_resets_the_five_days(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    receiver.default = Reply(status=500)
    emit_one(demo)
    deliver_due(app)

    run_for(app, demo, receiver, T0 + timedelta(days=3), timedelta(hours=12))
    receiver.replies = [Reply(status=200)]
    clock.advance(timedelta(hours=1))
    emit_one(demo)
    deliver_due(app)  # one attempt of this round gets the 200
    assert fresh(demo, endpoint).failing_since is None

    run_for(app, demo, receiver, T0 + timedelta(days=7), timedelta(hours=12))
    endpoint = fresh(demo, endpoint)
    assert endpoint.enabled and endpoint.disabled_reason is None
    assert endpoint.failing_since > T0 + timedelta(days=3)  # counting restarted after the success
    assert not disabled_audits(demo, endpoint)


def test_re_enabling_a_failing_endpoint_gives_it_five_fresh_days(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    receiver.default = Reply(status=500)
    emit_one(demo)
    deliver_due(app)
    run_for(app, demo, receiver, T0 + timedelta(days=5), timedelta(hours=12))
    assert fresh(demo, endpoint).disabled_reason == "failing"

    endpoints.update_endpoint(demo, fresh(demo, endpoint), enabled=True, actor_label="alice@acme.test")
    demo.commit()
    clock.advance(timedelta(hours=1))
    emit_one(demo)
    deliver_due(app)
    endpoint = fresh(demo, endpoint)
    assert endpoint.enabled and endpoint.failing_since == clock.utcnow()


def test_re_enabling_sends_what_waited_at_once_not_at_its_old_retry_time(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    receiver.default = Reply(status=410)
    emit_one(demo)
    assert deliver_due(app) == 1  # disabled; its retry was scheduled ~5 s later
    [waiting] = messages_of(demo, endpoint)
    assert waiting.next_attempt_at > clock.utcnow()

    receiver.default = Reply(status=200)
    endpoints.update_endpoint(demo, fresh(demo, endpoint), enabled=True, actor_label="alice@acme.test")
    demo.commit()

    assert deliver_due(app) == 1  # no clock movement needed
    assert [m.status for m in messages_of(demo, endpoint)] == ["succeeded"]
