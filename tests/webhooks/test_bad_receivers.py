"""Receivers that misbehave: each misbehaviour is one failed attempt with the
right error kind, the message is retried later, and the worker (this test
process, running the real delivery job) goes on to deliver the next messages.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.webhooks import endpoints
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import DeliveryAttempt, WebhookMessage
from tests.conftest import free_port
from tests.webhooks.fixtures import T0, deliver_due, org_id
from tests.webhooks.receiver import Reply

TEN_MB = 10 * 1024 * 1024


pytestmark = pytest.mark.usefixtures("frozen_clock")


def emit_one(session) -> WebhookMessage:
    event = emit(session, org_id(session, "acme"), "payment.failed", EVENT_TYPES["payment.failed"].example)
    session.commit()
    return session.scalars(select(WebhookMessage).where(WebhookMessage.event_id == event.id)).one()


def attempts_of(session, message) -> list[DeliveryAttempt]:
    session.expire_all()
    return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == message.id)
                                .order_by(DeliveryAttempt.id)))


def assert_recorded_failure(session, message, error_kind: str, status_code: int | None) -> DeliveryAttempt:
    """One failed attempt, fully described, and the message waiting for its retry."""
    [attempt] = attempts_of(session, message)
    assert not attempt.succeeded
    assert attempt.error_kind == error_kind and attempt.status_code == status_code
    assert attempt.attempted_at == T0 and attempt.duration_ms >= 0
    assert attempt.request_headers["webhook-id"] == message.public_id
    message = session.get(WebhookMessage, message.id)
    assert message.status == "pending" and message.attempt_count == 1
    assert T0 + timedelta(seconds=4) <= message.next_attempt_at <= T0 + timedelta(seconds=6)
    assert message.leased_until is None  # released, not stuck in flight
    return attempt


def retry_and_continue(app, session, receiver, message) -> None:
    """The retry lands, and so does a message emitted after the bad one."""
    receiver.default = Reply(status=200)
    clock.advance(timedelta(seconds=6))
    later = emit_one(session)
    assert deliver_due(app) == 2
    session.expire_all()
    assert session.get(WebhookMessage, message.id).status == "succeeded"
    assert session.get(WebhookMessage, later.id).status == "succeeded"
    kinds = [a.error_kind for a in attempts_of(session, message)]
    assert kinds[-1] is None and len(kinds) == 2


@pytest.mark.parametrize("bad_reply, error_kind, status_code", [
    pytest.param(lambda url: Reply(delay=3.0), "timeout", None, id="hangs-past-the-timeout"),
    pytest.param(lambda url: Reply(status=500, body=b"boom"), "http_status", 500, id="answers-500"),
    pytest.param(lambda url: Reply(reset=True), "reset", None, id="resets-the-connection"),
    pytest.param(lambda url: Reply(status=302, headers={"Location": url + "/elsewhere"}), "redirect", 302,
                 id="redirects-to-itself"),
    pytest.param(lambda url: Reply(status=500, body=b"x" * TEN_MB), "http_status", 500, id="sends-10-MB"),
])
def test_a_bad_answer_is_a_recorded_failure_and_retried(app, demo, make_endpoint, receiver,
                                                        bad_reply, error_kind, status_code):
    make_endpoint(receiver.url)
    reply = bad_reply(receiver.url)
    receiver.replies = [reply]
    message = emit_one(demo)

    started = time.monotonic()
    assert deliver_due(app) == 1
    elapsed = time.monotonic() - started
    attempt = assert_recorded_failure(demo, message, error_kind, status_code)

    assert len(receiver.requests) == 1  # a redirect is not followed
    assert elapsed < 2.0 + 1.5  # WEBHOOK_TIMEOUT is 2 s in tests: a hang costs no more
    if error_kind == "timeout":
        assert attempt.duration_ms >= 1900
    if status_code is not None:
        assert attempt.response_body is not None and len(attempt.response_body) <= 4096
    if len(reply.body) == TEN_MB:
        assert attempt.response_body == "x" * 4096  # the head is kept, the rest never read
    retry_and_continue(app, demo, receiver, message)


def test_a_10_mb_success_is_a_success_with_4_kb_kept(app, demo, make_endpoint, receiver):
    make_endpoint(receiver.url)
    receiver.replies = [Reply(status=200, body=b"y" * TEN_MB)]
    message = emit_one(demo)
    assert deliver_due(app) == 1
    [attempt] = attempts_of(demo, message)
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_body == "y" * 4096
    assert emit_one(demo) and deliver_due(app) == 1  # the connection was dropped, a new one works


def test_a_refused_connection_is_a_connect_failure(app, demo, make_endpoint, receiver):
    closed = f"http://127.0.0.1:{free_port()}/hooks"  # nothing listens there
    endpoint, _ = make_endpoint(closed)
    message = emit_one(demo)
    assert deliver_due(app) == 1
    assert_recorded_failure(demo, message, "connect", None)

    endpoints.update_endpoint(demo, endpoint, url=receiver.url, actor_label="test")  # the receiver is fixed
    demo.commit()
    retry_and_continue(app, demo, receiver, message)
    assert message.public_id in {r.headers["webhook-id"] for r in receiver.requests}  # a batch is sent in parallel


def test_one_bad_message_does_not_hold_up_the_batch(app, demo, make_endpoint, receiver):
    """A hang and a reset in the same batch as good messages: the good ones land."""
    make_endpoint(receiver.url)
    receiver.replies = [Reply(delay=3.0), Reply(reset=True)]
    messages = [emit_one(demo) for _ in range(6)]
    assert deliver_due(app) == 6
    demo.expire_all()
    statuses = sorted(demo.get(WebhookMessage, m.id).status for m in messages)
    assert statuses == ["pending"] * 2 + ["succeeded"] * 4
    kinds = sorted(a.error_kind for m in messages for a in attempts_of(demo, m) if not a.succeeded)
    assert kinds == ["reset", "timeout"]


@pytest.mark.parametrize("body_only", [False, True], ids=["slow-headers", "slow-body"])
def test_a_slow_loris_receiver_is_cut_off_at_the_timeout(app, demo, make_endpoint, receiver, body_only):
    """One byte every 0.2 s never trips a 2 s read timeout; the attempt must still
    end after WEBHOOK_TIMEOUT, or one receiver could hold a worker for hours."""
    make_endpoint(receiver.url)
    receiver.replies = [Reply(status=200, body=b"z" * 100_000, trickle=0.2, trickle_body_only=body_only,
                              trickle_for=5.0)]
    message = emit_one(demo)

    started = time.monotonic()
    assert deliver_due(app) == 1
    assert time.monotonic() - started < 3.5  # WEBHOOK_TIMEOUT is 2 s; the receiver would go on for 5
    [attempt] = attempts_of(demo, message)
    assert attempt.duration_ms < 3500
    if not body_only:  # no status line within the time: a timeout, retried
        assert_recorded_failure(demo, message, "timeout", None)
    else:  # a 2xx in time is a success; we just stop reading
        assert attempt.succeeded and attempt.status_code == 200


def test_a_binary_answer_with_nul_bytes_is_recorded(app, demo, make_endpoint, receiver):
    """PostgreSQL text cannot hold NUL: stored as is, one such answer would make
    the whole batch unrecordable, resent every lease period, forever."""
    make_endpoint(receiver.url)
    receiver.replies = [Reply(status=500, body=b"\x00\x01binary\x00")]
    message = emit_one(demo)
    assert deliver_due(app) == 1
    attempt = assert_recorded_failure(demo, message, "http_status", 500)
    assert "\x00" not in attempt.response_body and "binary" in attempt.response_body
    retry_and_continue(app, demo, receiver, message)
