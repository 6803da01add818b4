"""Our deliveries verify with `standardwebhooks`, an independent verifier from
PyPI: in the normal case, during a secret rotation (both secrets for 24 h, then
only the new one), and on every retry (the same `webhook-id`). The body that
arrives is byte for byte the stored event body.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app import clock
from app.webhooks import endpoints, signing
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import WebhookEvent, WebhookMessage
from tests.webhooks.fixtures import deliver_due, org_id
from tests.webhooks.receiver import Reply


@pytest.fixture(autouse=True)
def frozen_clock():
    # Signatures carry the real time (the verifier checks it against its own
    # clock); the moved clock only drives scheduling and secret expiry.
    clock.freeze(datetime.now(timezone.utc).replace(microsecond=0))
    yield
    clock.reset()


def emit_payment(session, slug: str = "acme") -> WebhookEvent:
    event = emit(session, org_id(session, slug), "payment.succeeded", EVENT_TYPES["payment.succeeded"].example)
    session.commit()
    return event


def messages_of(session, event) -> list[WebhookMessage]:
    session.expire_all()
    return list(session.scalars(select(WebhookMessage).where(WebhookMessage.event_id == event.id)
                                .order_by(WebhookMessage.id)))


def test_a_delivery_verifies_and_carries_the_exact_stored_body(app, demo, make_endpoint, receiver):
    _, secret = make_endpoint(receiver.url)
    event = emit_payment(demo)

    assert deliver_due(app) == 1
    [request] = receiver.requests
    [message] = messages_of(demo, event)

    assert request.body == event.body.encode()  # the stored bytes, not a re-serialisation
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(event.body)
    assert request.headers["webhook-id"] == message.public_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert " " not in request.headers["webhook-signature"]  # one secret, one signature
    assert message.status == "succeeded"


def test_a_tampered_request_does_not_verify(app, demo, make_endpoint, receiver):
    """Sanity: the verifier really checks something, so the passes above mean it."""
    _, secret = make_endpoint(receiver.url)
    emit_payment(demo)
    deliver_due(app)
    [request] = receiver.requests
    verifier = Webhook(secret)

    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body.replace(b'"amount":10000', b'"amount":99999'), request.headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body, {**request.headers, "webhook-id": "msg_forged"})
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(request.body, request.headers)


def test_every_retry_keeps_the_webhook_id_and_verifies(app, demo, make_endpoint, receiver):
    _, secret = make_endpoint(receiver.url)
    receiver.replies = [Reply(status=500), Reply(status=503)]
    event = emit_payment(demo)

    for _ in range(3):
        deliver_due(app)
        clock.advance(timedelta(hours=1))  # past the 5 s and 5 min retries

    [message] = messages_of(demo, event)
    assert message.status == "succeeded" and message.attempt_count == 3
    assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {message.public_id}
    for request in receiver.requests:
        assert request.body == event.body.encode()
        Webhook(secret).verify(request.body, request.headers)


def test_each_endpoint_gets_its_own_webhook_id_and_signature(app, demo, make_endpoint, receiver):
    _, secret_a = make_endpoint(receiver.url + "/a")
    _, secret_b = make_endpoint(receiver.url + "/b")
    event = emit_payment(demo)

    assert deliver_due(app) == 2
    by_path = {r.path: r for r in receiver.requests}
    a, b = by_path["/hooks/a"], by_path["/hooks/b"]
    ids = {m.public_id for m in messages_of(demo, event)}
    assert {a.headers["webhook-id"], b.headers["webhook-id"]} == ids and len(ids) == 2
    Webhook(secret_a).verify(a.body, a.headers)
    Webhook(secret_b).verify(b.body, b.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_a).verify(b.body, b.headers)


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(app, demo, make_endpoint, receiver):
    endpoint, old_secret = make_endpoint(receiver.url)
    new_secret = endpoints.rotate_secret(demo, endpoint, actor_label="test")
    demo.commit()
    assert new_secret != old_secret

    emit_payment(demo)
    deliver_due(app)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(during.body, during.headers)  # receivers not yet switched keep working
    Webhook(new_secret).verify(during.body, during.headers)  # switched ones too

    clock.advance(timedelta(hours=23, minutes=59))
    emit_payment(demo)
    deliver_due(app)
    Webhook(old_secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)

    clock.advance(timedelta(minutes=1, seconds=1))  # past the 24 h overlap
    emit_payment(demo)
    deliver_due(app)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(after.body, after.headers)


def test_a_retry_after_the_overlap_is_signed_with_the_new_secret_only(app, demo, make_endpoint, receiver):
    endpoint, old_secret = make_endpoint(receiver.url)
    new_secret = endpoints.rotate_secret(demo, endpoint, actor_label="test")
    demo.commit()
    receiver.replies = [Reply(status=500)]
    event = emit_payment(demo)
    deliver_due(app)

    clock.advance(timedelta(hours=25))
    deliver_due(app)
    first, retry = receiver.requests
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    Webhook(old_secret).verify(first.body, first.headers)
    Webhook(new_secret).verify(retry.body, retry.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(retry.body, retry.headers)
    assert messages_of(demo, event)[0].status == "succeeded"
