"""The retry schedule, driven by a moved clock against a real receiver:
immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (±20%),
never earlier than due, then failed; Retry-After honoured within
[delay, 2 × delay]; a success ends the schedule.
"""
from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from app import clock
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import DeliveryAttempt, WebhookMessage
from tests.webhooks.fixtures import T0, deliver_due, org_id
from tests.webhooks.receiver import Reply

# The schedule of the issue, written out here rather than imported, so the
# test holds the code to the specification.
SCHEDULE = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=5), timedelta(hours=10), timedelta(hours=14), timedelta(hours=20),
            timedelta(hours=24))


pytestmark = pytest.mark.usefixtures("frozen_clock")


def emit_one(session) -> WebhookMessage:
    event = emit(session, org_id(session, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
    session.commit()
    return session.scalars(select(WebhookMessage).where(WebhookMessage.event_id == event.id)).one()


def reload(session, message: WebhookMessage) -> WebhookMessage:
    session.expire_all()
    return session.get(WebhookMessage, message.id)


def attempts_of(session, message: WebhookMessage) -> list[DeliveryAttempt]:
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message.id)
                                .order_by(DeliveryAttempt.id)))


def first_retry_gap(app, session, receiver, reply: Reply) -> timedelta:
    """Fail the first attempt with `reply`; how long until the retry is due."""
    receiver.replies = [reply]
    message = emit_one(session)
    assert deliver_due(app) == 1
    message = reload(session, message)
    assert message.status == "pending" and message.last_attempt_at == T0
    return message.next_attempt_at - message.last_attempt_at


def test_the_full_schedule_then_failed(app, demo, make_endpoint, receiver):
    receiver.default = Reply(status=500)
    make_endpoint(receiver.url)
    message = emit_one(demo)

    assert deliver_due(app) == 1  # attempt 1: at once
    for number, delay in enumerate(SCHEDULE, start=2):
        message = reload(demo, message)
        assert message.status == "pending" and message.attempt_count == number - 1
        gap = message.next_attempt_at - message.last_attempt_at
        assert 0.8 * delay <= gap <= 1.2 * delay, (number, gap, delay)

        clock.freeze(message.next_attempt_at - timedelta(seconds=1))  # not yet due
        assert deliver_due(app) == 0
        assert len(receiver.requests) == number - 1

        clock.freeze(message.next_attempt_at)  # due now
        assert deliver_due(app) == 1, number
        assert len(receiver.requests) == number

    message = reload(demo, message)
    assert message.status == "failed" and message.next_attempt_at is None
    assert message.attempt_count == 10 and message.completed_at is not None
    attempts = attempts_of(demo, message)
    assert len(attempts) == 10 and not any(a.succeeded for a in attempts)
    assert all(a.status_code == 500 and a.error_kind == "http_status" for a in attempts)

    clock.advance(timedelta(days=30))  # a failed message is never tried again by itself
    assert deliver_due(app) == 0
    assert len(receiver.requests) == 10


def test_jitter_spreads_the_retries(app, demo, make_endpoint, receiver):
    """±20% is real jitter: a receiver coming back up is not hit by everything at once."""
    receiver.default = Reply(status=500)
    make_endpoint(receiver.url)
    messages = [emit_one(demo) for _ in range(8)]
    deliver_due(app)
    gaps = {reload(demo, m).next_attempt_at - T0 for m in messages}
    assert len(gaps) > 1
    assert all(timedelta(seconds=4) <= gap <= timedelta(seconds=6) for gap in gaps)


def test_a_short_retry_after_does_not_shorten_the_delay(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    gap = first_retry_gap(app, demo, receiver, Reply(status=503, headers={"Retry-After": "1"}))
    assert timedelta(seconds=4) <= gap <= timedelta(seconds=6)  # the scheduled ~5 s, not 1 s


def test_a_retry_after_within_the_window_is_honoured_exactly(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    gap = first_retry_gap(app, demo, receiver, Reply(status=429, headers={"Retry-After": "7"}))
    assert gap == timedelta(seconds=7)  # 7 s lies in [delay, 2 × delay] for any delay in [4, 6]


def test_a_huge_retry_after_is_capped_at_twice_the_delay(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    gap = first_retry_gap(app, demo, receiver, Reply(status=503, headers={"Retry-After": "100000"}))
    assert timedelta(seconds=8) <= gap <= timedelta(seconds=12)  # 2 × (5 s ± 20%)


def test_a_retry_after_http_date_is_honoured(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    when = format_datetime(T0 + timedelta(seconds=8), usegmt=True)  # e.g. "Sat, 14 Nov 2026 10:00:08 GMT"
    gap = first_retry_gap(app, demo, receiver, Reply(status=503, headers={"Retry-After": when}))
    assert gap == timedelta(seconds=8)


def test_a_retry_after_date_in_the_past_keeps_the_schedule(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    when = format_datetime(T0 - timedelta(hours=1), usegmt=True)
    gap = first_retry_gap(app, demo, receiver, Reply(status=503, headers={"Retry-After": when}))
    assert timedelta(seconds=4) <= gap <= timedelta(seconds=6)


def test_retry_after_later_in_the_schedule(app, demo, make_endpoint, receiver):
    """On the third failure the delay d is 30 min ±20% jitter, so 24–36 min; Retry-After
    2400 s (40 min) lies within [d, 2d] whatever the jitter, and is used as is."""
    make_endpoint(receiver.url)
    receiver.replies = [Reply(status=500), Reply(status=500), Reply(status=503, headers={"Retry-After": "2400"})]
    message = emit_one(demo)
    for _ in range(3):
        deliver_due(app)
        clock.freeze(reload(demo, message).next_attempt_at)
    message = reload(demo, message)
    assert message.attempt_count == 3
    assert message.next_attempt_at - message.last_attempt_at == timedelta(seconds=2400)


def test_a_success_after_failures_ends_the_schedule(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    receiver.replies = [Reply(status=500), Reply(status=502)]  # then the default 200
    message = emit_one(demo)

    for _ in range(3):
        deliver_due(app)
        clock.freeze(reload(demo, message).next_attempt_at or clock.utcnow())

    message = reload(demo, message)
    assert message.status == "succeeded" and message.attempt_count == 3
    assert message.next_attempt_at is None and message.last_status_code == 200
    assert message.completed_at == message.last_attempt_at
    assert [(a.succeeded, a.status_code) for a in attempts_of(demo, message)] == [
        (False, 500), (False, 502), (True, 200)]

    clock.advance(timedelta(days=3))
    assert deliver_due(app) == 0 and len(receiver.requests) == 3
