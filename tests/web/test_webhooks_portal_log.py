"""The endpoint page's deliveries, in both portals: "Send test event" delivered
to a real receiver by the delivery job, the log (filters, cursor pagination,
self-refresh), "Resend", the message detail with every attempt, and "Replay
all failed since …" with its progress."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.webhooks.jobs import run_replay
from app.webhooks.models import DeliveryAttempt, WebhookMessage, WebhookReplay
from tests.web.webhooks_portal_support import audit_actions, emit_many, htmx_get, message_ids, portal, text
from tests.webhooks.fixtures import deliver_due
from tests.webhooks.receiver import Reply

__all__ = ["portal"]


def test_send_test_event_is_delivered_and_logged(portal, client, db, make_endpoint, receiver, app):
    endpoint, _ = make_endpoint(receiver.url, slug=portal.slug, event_types=["payment.failed", "invoice.paid"])
    page_path = portal.endpoint_page(endpoint)
    page = text(client.get(page_path))
    # The first subscribed type (in catalog order) is preselected; only subscribed types are offered.
    assert '<option selected value="invoice.paid">' in page and '<option value="payment.failed">' in page
    assert re.search(r'id="test-event-type"[^>]*>(?:(?!</select>).)*sla\.breached', page, re.S) is None
    assert "every 2s" not in page  # nothing pending: the log does not poll

    queued = client.htmx("POST", f"{page_path}/test", token_from=page_path, data={"event_type": "payment.failed"})
    assert queued.status_code == 200 and "Test event payment.failed" in text(queued)
    assert queued.headers["HX-Trigger-After-Settle"] == "webhooks:log-refresh"

    log = htmx_get(client, page_path)
    assert log.status_code == 200 and "<html" not in text(log) and 'id="delivery-log"' in text(log)
    assert "badge-pending" in text(log) and "every 2s" in text(log)

    assert deliver_due(app) == 1
    [received] = receiver.requests
    assert b'"type":"payment.failed"' in received.body
    log = text(htmx_get(client, page_path))
    assert "badge-succeeded" in log and "badge-test" in log and "every 2s" not in log
    [message] = db.scalars(select(WebhookMessage)).all()
    assert message.public_id in log and received.headers["webhook-id"] == message.public_id
    assert re.search(r'data-testid="success-rate">100\.0%', text(client.get(page_path)))


def test_send_test_event_on_a_disabled_endpoint_is_refused(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/off", slug=portal.slug)
    client.htmx("POST", f"{portal.endpoint_page(endpoint)}/enabled", token_from=portal.home, data={"enabled": "0"})

    response = client.htmx("POST", f"{portal.endpoint_page(endpoint)}/test", token_from=portal.home,
                           data={"event_type": "invoice.paid"})

    assert response.status_code == 400 and "enable it before sending a test event" in text(response)
    assert db.scalar(select(func.count()).select_from(WebhookMessage)) == 0


def test_send_test_event_without_javascript_redirects_with_a_flash(portal, client, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/nojs", slug=portal.slug)
    response = client.post_form(f"{portal.endpoint_page(endpoint)}/test", {"event_type": "sla.breached"},
                                token_from=portal.endpoint_page(endpoint))
    assert response.status_code == 302
    assert "Test event sla.breached" in text(client.get(portal.endpoint_page(endpoint)))


def test_log_filters_and_cursor_pagination(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/log", slug=portal.slug)
    messages = emit_many(db, endpoint, 30)
    newest_first = [m.public_id for m in reversed(messages)]
    page_path = portal.endpoint_page(endpoint)

    first = text(client.get(page_path))
    assert message_ids(first) == newest_first[:25]
    older = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-push-url="true">Older', first).group(1).replace("&amp;", "&")
    assert f"starting_after={newest_first[24]}" in older
    second = htmx_get(client, older)
    assert second.status_code == 200 and "<html" not in text(second)
    assert message_ids(text(second)) == newest_first[25:] and "Older" not in text(second)
    assert "Newest" in text(second)

    failed = text(htmx_get(client, f"{page_path}?status=failed"))
    assert message_ids(failed) == [m.public_id for m in reversed(messages) if m.status == "failed"]
    both = text(htmx_get(client, f"{page_path}?status=succeeded&event_type=invoice.paid"))
    assert message_ids(both) == [m.public_id for m in reversed(messages)
                                  if m.status == "succeeded" and m.event_type == "invoice.paid"]
    assert "No messages match these filters." in text(htmx_get(client, f"{page_path}?event_type=sla.breached"))


def test_bad_log_filters_are_a_400_naming_the_field(portal, client, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/log2", slug=portal.slug)
    bad_status = client.get(f"{portal.endpoint_page(endpoint)}?status=lost")
    assert bad_status.status_code == 400 and "Status: Not a valid choice." in text(bad_status)
    bad_cursor = htmx_get(client, f"{portal.endpoint_page(endpoint)}?starting_after=msg_nope")
    assert bad_cursor.status_code == 400 and "No object &#39;msg_nope&#39; to start after." in text(bad_cursor)


def test_resend_swaps_the_row_and_delivers_again(portal, client, db, make_endpoint, receiver, app):
    endpoint, _ = make_endpoint(receiver.url, slug=portal.slug)
    [message] = emit_many(db, endpoint, 1)
    assert message.status == "failed"
    resend = f"{portal.endpoint_page(endpoint)}/messages/{message.public_id}/resend"

    response = client.htmx("POST", resend, token_from=portal.endpoint_page(endpoint))

    assert response.status_code == 200
    assert text(response).lstrip().startswith(f'<tr id="message-{message.public_id}"')
    assert "badge-pending" in text(response)
    db.refresh(message)
    assert message.status == "pending"
    assert "webhook_message.resent" in [a.action for a in audit_actions(db, message.public_id)]
    assert deliver_due(app) == 1
    db.refresh(message)
    assert message.status == "succeeded" and receiver.requests[0].headers["webhook-id"] == message.public_id


def test_resend_on_a_disabled_endpoint_says_why(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/r", slug=portal.slug)
    [message] = emit_many(db, endpoint, 1)
    client.htmx("POST", f"{portal.endpoint_page(endpoint)}/enabled", token_from=portal.home, data={"enabled": "0"})

    response = client.htmx("POST", f"{portal.endpoint_page(endpoint)}/messages/{message.public_id}/resend",
                           token_from=portal.home)

    assert response.status_code == 400 and "enable it before resending" in response.headers["HX-Trigger"]
    db.refresh(message)
    assert message.status == "failed"


def test_message_detail_shows_every_attempt(portal, client, db, make_endpoint, receiver, app):
    endpoint, _ = make_endpoint(receiver.url, slug=portal.slug)
    receiver.replies = [Reply(status=500, body=b'{"error": "database down"}')]
    client.htmx("POST", f"{portal.endpoint_page(endpoint)}/test", token_from=portal.home,
                data={"event_type": "instance.suspended"})
    assert deliver_due(app) == 1
    clock.advance(timedelta(seconds=10))  # past the 5 s retry (with jitter)
    assert deliver_due(app) == 1
    [message] = db.scalars(select(WebhookMessage)).all()

    page = client.get(f"{portal.endpoint_page(endpoint)}/messages/{message.public_id}")

    assert page.status_code == 200
    body = html.unescape(text(page))
    assert body.count('data-testid="attempt"') == 2
    assert "database down" in body and ">ok</pre>" in body
    assert '"type": "instance.suspended"' in body  # the event body, indented
    assert "webhook-signature" in body and message.public_id in body
    assert re.search(r'badge-failed">500<', body) and re.search(r'badge-succeeded">200<', body)
    durations = db.scalars(select(DeliveryAttempt.duration_ms)).all()
    assert all(f"· {ms} ms" in body for ms in durations)


def test_message_detail_shows_error_kinds(portal, client, db, make_endpoint, receiver, app):
    endpoint, _ = make_endpoint(receiver.url, slug=portal.slug)
    receiver.replies = [Reply(reset=True)]
    client.htmx("POST", f"{portal.endpoint_page(endpoint)}/test", token_from=portal.home,
                data={"event_type": "invoice.paid"})
    deliver_due(app)
    [attempt] = db.scalars(select(DeliveryAttempt)).all()
    [message] = db.scalars(select(WebhookMessage)).all()
    body = text(client.get(f"{portal.endpoint_page(endpoint)}/messages/{message.public_id}"))
    assert attempt.error_kind and f'badge-failed">{attempt.error_kind}<' in body


# --- replay ----------------------------------------------------------------------------------------

def test_replay_failed_since_shows_progress_until_done(portal, client, db, make_endpoint, receiver, app):
    endpoint, _ = make_endpoint(receiver.url, slug=portal.slug)
    messages = emit_many(db, endpoint, 6)  # messages 0 and 3 failed
    since = (clock.utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page_path = portal.endpoint_page(endpoint)
    assert "The time is read as UTC" in text(client.get(page_path))

    started = client.htmx("POST", f"{page_path}/replay", token_from=page_path, data={"since": since})

    assert started.status_code == 200 and "<html" not in text(started)
    assert 'hx-trigger="every 1s"' in text(started) and 'data-finished="false"' in text(started)
    assert started.headers["HX-Trigger-After-Settle"] == "webhooks:log-refresh"
    replay = db.scalars(select(WebhookReplay)).one()
    assert replay.since.strftime("%Y-%m-%dT%H:%M") == since and replay.requested_by == portal.email
    progress_path = f"{page_path}/replays/{replay.public_id}"

    with app.app_context():
        assert run_replay(replay.id) == 2
    polled = htmx_get(client, progress_path)
    assert "2 requeued · 0 settled · 0 succeeded" in text(polled) and "every 1s" in text(polled)
    assert "HX-Trigger-After-Settle" not in polled.headers

    assert deliver_due(app) == 2
    polled = htmx_get(client, progress_path)
    assert polled.headers["HX-Trigger-After-Settle"] == "webhooks:log-refresh"  # the log shows the outcome
    progress = text(polled)
    assert "2 requeued · 2 settled · 2 succeeded" in progress
    assert 'data-finished="true"' in progress and "every 1s" not in progress
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == \
        sorted(m.public_id for m in messages if m.status == "failed")
    # The page shows the latest replay when opened later, finished.
    assert "2 requeued · 2 settled · 2 succeeded" in text(client.get(page_path))


def test_replay_refuses_a_bad_time_beside_the_field(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/rp", slug=portal.slug)
    for since, message in (("", "Give the date and time (UTC) to replay from."),
                           ("yesterday", "Not a valid datetime value."),
                           ("2999-01-01T00:00", "Choose a time in the past.")):
        response = client.htmx("POST", f"{portal.endpoint_page(endpoint)}/replay", token_from=portal.home,
                               data={"since": since})
        assert response.status_code == 400
        assert re.search(rf'id="replay-since-error">{re.escape(message)}', text(response)), since
    assert db.scalar(select(func.count()).select_from(WebhookReplay)) == 0


def test_the_log_polls_only_while_a_delivery_is_due_soon(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/later", slug=portal.slug)
    [message] = emit_many(db, endpoint, 1)
    message.status, message.completed_at = "pending", None
    message.next_attempt_at = clock.utcnow() + timedelta(hours=2)  # a retry hours away
    db.commit()
    log = text(htmx_get(client, portal.endpoint_page(endpoint)))
    assert "badge-pending" in log and 'data-polling="false"' in log and "every 2s" not in log

    message.next_attempt_at = clock.utcnow() + timedelta(seconds=20)
    db.commit()
    log = text(htmx_get(client, portal.endpoint_page(endpoint)))
    assert 'data-polling="true"' in log and 'hx-trigger="every 2s, webhooks:log-refresh from:body"' in log
