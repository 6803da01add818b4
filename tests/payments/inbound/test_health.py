"""GET /api/webhooks/health: what an operator's monitor checks."""
from __future__ import annotations

from datetime import timedelta

from app import clock
from tests.conftest import free_port, make_test_app
from tests.payments import stripe_events


def test_healthy_with_nothing_received_yet(app):
    response = app.test_client().get("/api/webhooks/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok", "problems": [], "database": "ok", "redis": "ok",
        "events": {"pending": 0, "processing": 0, "failed": 0},
        "oldest_pending_age_seconds": None, "last_received_at": None}
    assert response.headers["Cache-Control"] == "no-store"


def test_counts_waiting_events_and_says_when_the_last_one_arrived(app):
    client = app.test_client()
    clock.freeze(clock.utcnow().replace(microsecond=0))
    arrived = clock.utcnow()
    for _ in range(2):
        stripe_events.post_event(client, stripe_events.event(
            "payment_intent.succeeded", stripe_events.payment_intent("pi_1", "succeeded", 100)))
    clock.advance(timedelta(seconds=42))

    body = client.get("/api/webhooks/health").get_json()
    assert body["status"] == "ok"
    assert body["events"] == {"pending": 2, "processing": 0, "failed": 0}
    assert body["oldest_pending_age_seconds"] == 42
    assert body["last_received_at"] == arrived.isoformat().replace("+00:00", "Z")


def test_degraded_when_an_event_has_waited_more_than_five_minutes(app):
    client = app.test_client()
    stripe_events.post_event(client, stripe_events.event(
        "payment_intent.succeeded", stripe_events.payment_intent("pi_1", "succeeded", 100)))
    clock.advance(timedelta(minutes=5, seconds=5))

    response = client.get("/api/webhooks/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["problems"] == ["the oldest pending event has waited 305 s (more than 300 s)"]


def test_degraded_when_redis_is_unreachable(database_url, tmp_path, app):
    down = make_test_app(database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    try:
        response = down.test_client().get("/api/webhooks/health")
    finally:
        down.extensions["db"].engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"], body["redis"]) == ("degraded", "ok", "unreachable: ConnectionError")
    assert body["problems"] == ["Redis is unreachable: events are stored but not processed"]


def test_degraded_when_the_database_is_unreachable(redis_url, tmp_path):
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    down = make_test_app(unreachable, redis_url, tmp_path)
    try:
        response = down.test_client().get("/api/webhooks/health")
    finally:
        down.extensions["db"].engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert (body["database"], body["redis"], body["events"]) == ("unreachable: OperationalError", "ok", None)
    assert body["problems"] == ["the database is unreachable"]
