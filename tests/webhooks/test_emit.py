"""emit() is an outbox write: the event and one pending message per subscribed,
enabled endpoint of the organization, in the caller's transaction. Redis hears
of it only after commit, never after a rollback, and a commit while Redis is
down still counts: the sweeper enqueues the work when Redis is back.
"""
from __future__ import annotations

import json

import pytest
from rq import Queue
from sqlalchemy import delete, func, select

from app import clock
from app.db import Base
from app.demo import seed_demo
from app.errors import DomainError
from app.webhooks import endpoints
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import UnknownEventType, emit, send_test
from app.webhooks.jobs import deliver_endpoint, sweep
from app.webhooks.models import WebhookEvent, WebhookMessage
from tests.conftest import free_port, make_test_app
from tests.webhooks.fixtures import deliver_due, org_id

PAID = EVENT_TYPES["invoice.paid"].example


def queued(app) -> list:
    return Queue("default", connection=app.extensions["redis"]).get_jobs()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def five_endpoints(demo, make_endpoint, receiver):
    """acme: all types, a set with invoice.paid, a set without it, a disabled one; globex: all types."""
    made = {
        "all": make_endpoint(receiver.url + "/all")[0],
        "chosen": make_endpoint(receiver.url + "/chosen", event_types=["invoice.paid", "invoice.failed"])[0],
        "other-types": make_endpoint(receiver.url + "/other", event_types=["payment.succeeded"])[0],
        "disabled": make_endpoint(receiver.url + "/disabled")[0],
        "other-org": make_endpoint(receiver.url + "/globex", slug="globex")[0],
    }
    endpoints.update_endpoint(demo, made["disabled"], enabled=False, actor_label="test")
    demo.commit()
    return made


def test_emit_writes_the_event_and_a_message_per_subscribed_enabled_endpoint(app, demo, five_endpoints):
    acme = org_id(demo, "acme")
    event = emit(demo, acme, "invoice.paid", PAID)
    demo.commit()

    [stored] = demo.scalars(select(WebhookEvent)).all()
    assert stored.org_id == acme and stored.type == "invoice.paid" and not stored.is_test
    document = json.loads(stored.body)
    assert document == {"id": event.public_id, "type": "invoice.paid", "timestamp": document["timestamp"],
                        "data": PAID}
    messages = demo.scalars(select(WebhookMessage).order_by(WebhookMessage.endpoint_id)).all()
    assert [m.endpoint_id for m in messages] == [five_endpoints["all"].id, five_endpoints["chosen"].id]
    for message in messages:
        assert message.status == "pending" and message.attempt_count == 0
        assert message.event_id == stored.id and message.org_id == acme and message.event_type == "invoice.paid"
        assert message.next_attempt_at <= clock.utcnow()  # due at once


def test_nothing_reaches_redis_before_commit(app, demo, five_endpoints):
    redis = app.extensions["redis"]
    assert queued(app) == []
    emit(demo, org_id(demo, "acme"), "invoice.paid", PAID)
    demo.flush()
    assert queued(app) == [] and redis.keys("webhooks:wake:*") == []
    assert count(demo, WebhookMessage) == 2  # written, in the open transaction

    demo.commit()
    jobs = queued(app)
    assert sorted(job.args[0] for job in jobs) == sorted([five_endpoints["all"].id, five_endpoints["chosen"].id])
    assert all(job.func is deliver_endpoint for job in jobs)

    emit(demo, org_id(demo, "acme"), "invoice.paid", PAID)  # a job is already waiting for each endpoint:
    demo.commit()
    assert len(queued(app)) == 2  # one job drains an endpoint, however many messages it has


def test_a_rollback_leaves_no_event_and_enqueues_nothing(app, demo, five_endpoints):
    emit(demo, org_id(demo, "acme"), "invoice.paid", PAID)
    demo.flush()
    demo.rollback()
    assert count(demo, WebhookEvent) == 0 and count(demo, WebhookMessage) == 0
    assert queued(app) == []

    demo.commit()  # a later commit of the same session must not wake anything either
    assert queued(app) == []


@pytest.mark.parametrize("payload", [
    {**PAID, "total": "a lot"},  # wrong type
    {k: v for k, v in PAID.items() if k != "currency"},  # missing field
    {**PAID, "card_number": "4242424242424242"},  # undocumented field
])
def test_a_payload_off_the_catalog_is_refused(app, demo, five_endpoints, payload):
    with pytest.raises(ValueError, match="invoice.paid"):
        emit(demo, org_id(demo, "acme"), "invoice.paid", payload)
    demo.commit()
    assert count(demo, WebhookEvent) == 0 and queued(app) == []


def test_an_unknown_event_type_is_refused(app, demo, five_endpoints):
    with pytest.raises(UnknownEventType):
        emit(demo, org_id(demo, "acme"), "invoice.exploded", PAID)
    assert issubclass(UnknownEventType, ValueError)
    demo.commit()
    assert count(demo, WebhookEvent) == 0


def test_an_organization_without_endpoints_still_records_the_event(app, demo):
    emit(demo, org_id(demo, "globex"), "invoice.paid", PAID)
    demo.commit()
    assert count(demo, WebhookEvent) == 1 and count(demo, WebhookMessage) == 0 and queued(app) == []


def test_send_test_goes_to_that_endpoint_only(app, demo, five_endpoints, receiver):
    event = send_test(demo, five_endpoints["other-types"], "invoice.paid")
    demo.commit()
    assert event.is_test
    [message] = demo.scalars(select(WebhookMessage)).all()
    assert message.endpoint_id == five_endpoints["other-types"].id
    assert deliver_due(app) == 1 and receiver.requests[0].path == "/hooks/other"
    with pytest.raises(DomainError) as refused:
        send_test(demo, five_endpoints["disabled"])
    assert refused.value.field == "enabled"


def test_a_commit_while_redis_is_down_succeeds_and_the_sweeper_catches_up(database_url, redis_url, tmp_path,
                                                                           receiver):
    down = make_test_app(database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    up = None
    session = down.extensions["db"].session()
    try:
        wipe_database_only(down)
        seed_demo(session)
        endpoints.create_endpoint(session, org_id(session, "acme"), url=receiver.url, actor_label="test")
        session.commit()
        emit(session, org_id(session, "acme"), "invoice.paid", PAID)
        session.commit()  # Redis refuses the wake-up; the commit stands

        [message] = session.scalars(select(WebhookMessage)).all()
        assert message.status == "pending" and message.next_attempt_at <= clock.utcnow()

        up = make_test_app(database_url, redis_url, tmp_path)  # Redis is back
        up.extensions["redis"].flushdb()
        with up.app_context():
            assert sweep() == 1
            assert sweep() == 0  # already woken: no second job
        assert [job.args[0] for job in queued(up)] == [message.endpoint_id]
        assert deliver_due(up) == 1 and len(receiver.requests) == 1
    finally:
        session.close()
        for app in (up, down):
            if app is not None:
                wipe_database_only(app)
                app.extensions["db"].engine.dispose()
        if up is not None:
            up.extensions["redis"].flushdb()


def wipe_database_only(app) -> None:
    """conftest.wipe() also flushes Redis, which this app cannot reach."""
    with app.extensions["db"].engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
