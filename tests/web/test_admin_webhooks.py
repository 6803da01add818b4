"""The admin webhooks page: queue depth (RQ and the database), deliveries per
minute, failing and disabled endpoints across every organization."""
import re
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from app import clock
from app.db import new_public_id
from app.webhooks import endpoints, operations
from app.webhooks.models import DeliveryAttempt, WebhookEvent, WebhookMessage


def figure(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]+)<', body)
    assert match, testid
    return match.group(1).strip()


def section(body: str, testid: str) -> str:
    match = re.search(rf'<table class="table" data-testid="{testid}">(.*?)</table>', body, re.S)
    assert match, testid
    return match.group(1)


def _message(db, endpoint, **state):
    event = WebhookEvent(org_id=endpoint.org_id, type="invoice.paid", body="{}")
    db.add(event)
    db.flush()
    db.add(WebhookMessage(org_id=endpoint.org_id, event_id=event.id, endpoint_id=endpoint.id,
                          event_type="invoice.paid", **{"status": "pending", **state}))


def _attempts(db, message_endpoint, at, ok, failed):
    message = db.scalars(select(WebhookMessage).where(WebhookMessage.endpoint_id == message_endpoint.id)).first()
    for n in range(ok + failed):
        db.add(DeliveryAttempt(public_id=new_public_id("att"), org_id=message.org_id, message_id=message.id,
                               endpoint_id=message_endpoint.id, attempted_at=at, duration_ms=20,
                               succeeded=n < ok, status_code=200 if n < ok else 500))


@pytest.fixture
def arranged(demo, make_endpoint, app):
    """Three organizations' endpoints in known states, messages and attempts at known times."""
    now = clock.utcnow().replace(microsecond=0)
    clock.freeze(now)
    db = demo
    failing, _ = make_endpoint("https://hooks.acme.example/failing", "acme")
    healthy, _ = make_endpoint("https://hooks.acme.example/ok", "acme")
    partner, _ = make_endpoint("https://hooks.northwind.example/in", "northwind")
    gone, _ = make_endpoint("https://hooks.globex.example/gone", "globex")
    failing.failing_since = now - timedelta(hours=3)
    partner.failing_since = now - timedelta(days=1)
    gone.failing_since = now - timedelta(hours=2)
    endpoints.disable_automatically(db, gone, "gone", "The receiver answered 410 Gone.")

    for _ in range(2):
        _message(db, failing, next_attempt_at=now - timedelta(minutes=1))  # due
    _message(db, failing, next_attempt_at=now - timedelta(minutes=5),  # lease ran out: due again
             leased_until=now - timedelta(minutes=1), lease_token="expired")
    _message(db, failing, next_attempt_at=now - timedelta(seconds=5),  # a worker holds it
             leased_until=now + timedelta(minutes=2), lease_token="held")
    for _ in range(2):
        _message(db, failing, next_attempt_at=now + timedelta(minutes=10), attempt_count=1)  # retries
    _message(db, healthy, status="succeeded", attempt_count=1)
    _message(db, healthy, status="failed", attempt_count=10)
    for _ in range(2):
        _message(db, gone, next_attempt_at=now - timedelta(minutes=1))  # held by the disabled endpoint
    db.flush()
    _attempts(db, healthy, now - timedelta(seconds=30), ok=3, failed=1)
    _attempts(db, healthy, now - timedelta(minutes=10), ok=40, failed=10)
    _attempts(db, healthy, now - timedelta(hours=2), ok=100, failed=0)  # outside the hour
    db.commit()

    redis = app.extensions["redis"]
    for _ in range(2):
        Queue("high", connection=redis).enqueue("app.webhooks.jobs.sweep")
    Queue("low", connection=redis).enqueue("app.webhooks.jobs.sweep")
    Queue("default", connection=redis).enqueue_in(timedelta(minutes=5), "app.webhooks.jobs.sweep")
    return {"failing": failing, "partner": partner, "gone": gone, "healthy": healthy}


def test_figures_follow_the_arranged_data(client, arranged):
    client.login_admin()
    response = client.get("/admin/webhooks")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert (figure(body, "due"), figure(body, "in-flight"), figure(body, "scheduled-retries"),
            figure(body, "held")) == ("3", "1", "2", "2")
    assert (figure(body, "rq-high"), figure(body, "rq-default"), figure(body, "rq-low")) == ("2", "0", "1")
    assert figure(body, "rq-default-scheduled") == "1"
    assert (figure(body, "last-minute"), figure(body, "per-minute-hour"), figure(body, "failed-hour")) \
        == ("4", "0.9", "11")

    failing = section(body, "failing")
    assert figure(body, "failing-count") == "2"
    # Longest-failing first, with the organization's name; healthy and disabled ones are not here.
    assert failing.index("Northwind Partners") < failing.index("Acme Corporation")
    assert arranged["failing"].public_id in failing and arranged["partner"].public_id in failing
    assert arranged["healthy"].public_id not in failing and arranged["gone"].public_id not in failing
    row = re.search(rf"{arranged['failing'].public_id}.*?</tr>", failing, re.S).group(0)
    assert "<td>6</td>" in row  # its pending messages

    disabled = section(body, "disabled")
    assert figure(body, "disabled-count") == "1"
    assert "Globex Industries" in disabled and arranged["gone"].public_id in disabled
    assert "Receiver answered 410 Gone" in disabled
    assert arranged["gone"].disabled_at.strftime("%Y-%m-%d %H:%M UTC") in disabled
    assert "No failing endpoints" not in body and "No disabled endpoints" not in body


def test_manual_disabling_shows_its_reason_and_leaves_the_failing_list(client, arranged, demo):
    endpoints.update_endpoint(demo, arranged["partner"], enabled=False, actor_label="test")
    demo.commit()
    client.login_admin()
    body = client.get("/admin/webhooks").get_data(as_text=True)
    assert figure(body, "failing-count") == "1" and figure(body, "disabled-count") == "2"
    disabled = section(body, "disabled")
    assert "Disabled by the organization" in disabled and "Northwind Partners" in disabled
    assert arranged["partner"].public_id not in section(body, "failing")


def test_empty_states(demo, client):
    client.login_admin()
    body = client.get("/admin/webhooks").get_data(as_text=True)
    assert "No failing endpoints." in body and "No disabled endpoints." in body
    assert figure(body, "due") == figure(body, "last-minute") == figure(body, "rq-high") == "0"
    assert 'href="/admin/webhooks" aria-current="page"' in body  # the nav link


def test_htmx_refresh_returns_the_fragment(client, arranged):
    client.login_admin()
    response = client.get("/admin/webhooks", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="webhook-operations"') and 'hx-trigger="every 10s"' in body
    assert figure(body, "due") == "3" and "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("email", ["alice@acme.test", "bob@acme.test", "gina@globex.test", "pat@northwind.test"])
def test_only_admins_get_in(demo, client, email):
    client.login(email)
    response = client.get("/admin/webhooks")
    assert response.status_code == 403
    assert "Globex Industries" not in response.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_login(demo, client):
    response = client.get("/admin/webhooks")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_database_figures_survive_an_unreachable_redis(arranged, db):
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    depth = operations.queue_depth(db, dead)
    assert depth.queues is None and "ConnectionError" in depth.redis_error
    assert (depth.due, depth.in_flight, depth.scheduled_retries, depth.held_by_disabled) == (3, 1, 2, 2)


def test_due_work_moves_with_the_clock(arranged, db, app):
    """Retries become due when their time comes; an expired lease is due again."""
    redis = app.extensions["redis"]
    clock.advance(timedelta(minutes=11))
    depth = operations.queue_depth(db, redis)
    assert (depth.due, depth.in_flight, depth.scheduled_retries) == (6, 0, 0)
    assert operations.delivery_rate(db).last_minute == 0
