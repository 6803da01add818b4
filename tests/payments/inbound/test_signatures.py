"""Only events signed by Stripe with our secret, recently, are stored: anything
else is a 400 with the reason, a warning in the log (never the body or the
secret), and no row."""
from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import select

from app.payments.models import StripeEvent
from tests.conftest import STRIPE_WEBHOOK_SECRET, make_test_app, wipe
from tests.payments import stripe_events

MARKER = "card-holder-note-must-not-be-logged"


@pytest.fixture
def hook(app):
    """No demo data needed: nothing here reaches a payment."""
    return app.test_client()


def body() -> bytes:
    intent = stripe_events.payment_intent("pi_sig_1", "succeeded", 5000)
    intent["metadata"]["note"] = MARKER
    return stripe_events.encode(stripe_events.event("payment_intent.succeeded", intent))


def post(client, data: bytes, headers: dict):
    return client.post("/api/webhooks/stripe", data=data, content_type="application/json", headers=headers)


def stored_ids(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(StripeEvent.stripe_event_id)))


def test_a_correctly_signed_event_is_stored_and_acknowledged(hook, db):
    data = body()
    response = post(hook, data, {"Stripe-Signature": stripe_events.signature(data)})

    assert response.status_code == 200
    assert response.get_json() == {"received": True}
    event = db.scalars(select(StripeEvent)).one()
    assert event.stripe_event_id == json.loads(data)["id"]
    assert event.type == "payment_intent.succeeded"
    assert event.payload == data.decode()  # the raw body as Stripe sent it
    assert event.status == "pending" and event.attempts == 0


def test_a_signature_with_several_v1_values_passes_if_one_matches(hook, db):
    """Stripe sends one v1 per active secret while a secret is being rolled."""
    data = body()
    good = stripe_events.signature(data)
    stale_secret = stripe_events.signature(data, secret="whsec_old").split(",")[1]
    response = post(hook, data, {"Stripe-Signature": f"{good},{stale_secret}"})
    assert response.status_code == 200
    assert len(stored_ids(db)) == 1


@pytest.mark.parametrize("case, expected", [
    ("wrong_secret", "does not match the body"),
    ("altered_body", "does not match the body"),
    ("stale", "more than 300 seconds old"),
    ("missing", "header is missing"),
    ("garbage_header", "does not match the body"),
])
def test_refused_deliveries_are_400_logged_and_not_stored(hook, db, caplog, case, expected):
    data = body()
    headers = {
        "wrong_secret": {"Stripe-Signature": stripe_events.signature(data, secret="whsec_someone_else")},
        "altered_body": {"Stripe-Signature": stripe_events.signature(data)},
        "stale": {"Stripe-Signature": stripe_events.signature(data, timestamp=int(time.time()) - 301)},
        "missing": {},
        "garbage_header": {"Stripe-Signature": "not a signature"},
    }[case]
    if case == "altered_body":
        data = data.replace(b"5000", b"9000")

    with caplog.at_level(logging.INFO):
        response = post(hook, data, headers)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert expected in error["message"]
    assert error["field"] == "Stripe-Signature"
    assert stored_ids(db) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "Refused an inbound Stripe" in r.message]
    assert len(warnings) == 1 and expected in warnings[0].getMessage()
    assert MARKER not in caplog.text and "pi_sig_1" not in caplog.text
    assert STRIPE_WEBHOOK_SECRET not in caplog.text


def test_a_timestamp_just_inside_the_tolerance_is_accepted(hook, db):
    data = body()
    response = post(hook, data, {"Stripe-Signature": stripe_events.signature(data, timestamp=int(time.time()) - 290)})
    assert response.status_code == 200
    assert len(stored_ids(db)) == 1


@pytest.mark.parametrize("raw, expected, field", [
    (b'{"id": "evt_1", "type": ', "not JSON", "body"),
    (b"\xff\xfe not text", "not UTF-8 text", "body"),
    (b'["an", "array"]', "not a Stripe event object", "body"),
    (b'{"id": "evt_1", "object": "event", "created": 1, "data": {"object": {}}}', "no valid type", "type"),
    (b'{"id": "1", "object": "event", "type": "charge.failed", "created": 1, "data": {"object": {}}}',
     "no valid id", "id"),
    (b'{"id": "evt_1", "object": "event", "type": "charge.failed", "created": 1}', "no data.object", "data"),
])
def test_signed_bodies_that_are_not_events_are_refused_and_not_stored(hook, db, caplog, raw, expected, field):
    with caplog.at_level(logging.WARNING):
        response = post(hook, raw, {"Stripe-Signature": stripe_events.signature(raw)})
    assert response.status_code == 400
    assert expected in response.get_json()["error"]["message"]
    assert response.get_json()["error"]["field"] == field
    assert stored_ids(db) == []
    assert "Refused an inbound Stripe webhook" in caplog.text


def test_without_a_configured_secret_the_endpoint_answers_503(database_url, redis_url, tmp_path, caplog):
    app = make_test_app(database_url, redis_url, tmp_path, STRIPE_WEBHOOK_SECRET="")
    wipe(app)
    try:
        data = body()
        with caplog.at_level(logging.ERROR):
            response = post(app.test_client(), data, {"Stripe-Signature": stripe_events.signature(data)})
        assert response.status_code == 503
        assert "STRIPE_WEBHOOK_SECRET is not set" in response.get_json()["error"]["message"]
        assert "STRIPE_WEBHOOK_SECRET is not set" in caplog.text
        session = app.extensions["db"].session()
        assert list(session.scalars(select(StripeEvent))) == []
        session.close()
    finally:
        app.extensions["db"].engine.dispose()


def test_a_body_larger_than_any_stripe_event_is_refused_unread(hook, db):
    data = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = post(hook, data, {"Stripe-Signature": stripe_events.signature(data)})
    assert response.status_code == 413
    assert stored_ids(db) == []


def test_the_handled_types_are_the_ones_product_md_lists():
    from app.payments.inbound_handlers import HANDLED_TYPES

    assert HANDLED_TYPES == {
        "payment_intent.created", "payment_intent.succeeded", "payment_intent.payment_failed",
        "payment_intent.canceled", "charge.succeeded", "charge.failed", "charge.refunded",
        "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "refund.created",
        "refund.updated"}


def test_the_endpoint_needs_no_login_csrf_or_api_key_and_is_not_rate_limited(hook, db):
    """Stripe retries in bursts; every one of 40 quick deliveries is answered."""
    for _ in range(40):
        data = stripe_events.encode(stripe_events.event("customer.created", {"id": "cus_1", "object": "customer"}))
        response = post(hook, data, {"Stripe-Signature": stripe_events.signature(data)})
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    assert len(stored_ids(db)) == 40
