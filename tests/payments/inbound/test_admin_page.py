"""The admin page of inbound Stripe events: list (filters, cursor pages, empty
state), detail (payload, outcome, error, attempts), staff only."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from app import clock
from app.payments.models import StripeEvent
from tests.payments import stripe_events


def add(db, event_type="payment_intent.succeeded", status="processed", *, outcome="payment pay_1 → succeeded",
        last_error=None, attempts=1, at=None) -> StripeEvent:
    document = stripe_events.event(event_type, {"id": "pi_admin", "object": "payment_intent", "status": "succeeded"})
    event = StripeEvent(stripe_event_id=document["id"], type=event_type, payload=json.dumps(document),
                        stripe_created_at=clock.utcnow(), status=status, outcome=outcome, last_error=last_error,
                        attempts=attempts, received_at=at or clock.utcnow())
    db.add(event)
    db.commit()
    return event


def rows(page: str) -> list[str]:
    """The Stripe event ids listed, in order."""
    return re.findall(r'<tr data-testid="event-row">.*?<code>(evt_[^<]+)</code></a>', page, re.S)


@pytest.fixture
def admin(client, demo):
    client.login_admin()
    return client


def test_only_staff_see_the_page(client, demo):
    assert client.get("/admin/stripe-events").status_code == 302  # to the login page
    client.login("alice@acme.test")
    assert client.get("/admin/stripe-events").status_code == 403


def test_an_empty_list_says_how_events_arrive(admin):
    page = admin.get("/admin/stripe-events").get_data(as_text=True)
    assert "No Stripe events yet." in page
    assert "/api/webhooks/stripe" in page


def test_newest_first_with_status_and_type_filters(admin, db):
    first = add(db, "charge.succeeded")
    failed = add(db, "payment_intent.succeeded", "failed", outcome=None, last_error="IntegrityError: boom")
    ignored = add(db, "customer.created", outcome="ignored: not handled")

    page = admin.get("/admin/stripe-events").get_data(as_text=True)
    assert rows(page) == [ignored.stripe_event_id, failed.stripe_event_id, first.stripe_event_id]
    assert "IntegrityError: boom" in page and "ignored: not handled" in page

    assert rows(admin.get("/admin/stripe-events?status=failed").get_data(as_text=True)) == [failed.stripe_event_id]
    by_type = admin.get("/admin/stripe-events?type=customer.created").get_data(as_text=True)
    assert rows(by_type) == [ignored.stripe_event_id]
    assert '<option selected value="customer.created">' in by_type  # types Stripe sent are offered too
    nothing = admin.get("/admin/stripe-events?status=pending").get_data(as_text=True)
    assert rows(nothing) == [] and "No Stripe events match these filters." in nothing


def test_an_unknown_status_is_refused_beside_the_filter(admin):
    response = admin.get("/admin/stripe-events?status=lost")
    assert response.status_code == 400
    assert "Status: Not a valid choice." in response.get_data(as_text=True)


def test_pages_of_25_with_a_cursor(admin, db):
    start = clock.utcnow()
    events = [add(db, at=start + timedelta(seconds=n)) for n in range(30)]
    newest_first = [e.stripe_event_id for e in reversed(events)]

    first = admin.get("/admin/stripe-events").get_data(as_text=True)
    assert rows(first) == newest_first[:25]
    older = re.search(r'href="([^"]+)"[^>]*data-testid="older"', first).group(1).replace("&amp;", "&")
    assert f"starting_after={newest_first[24]}" in older

    second = admin.htmx("GET", older, token_from="/admin/stripe-events")
    assert second.status_code == 200
    body = second.get_data(as_text=True)
    assert rows(body) == newest_first[25:]
    assert "<html" not in body  # htmx gets the table alone
    assert 'data-testid="older"' not in body and "← Newest" in body
    assert admin.get("/admin/stripe-events?starting_after=evt_nope").status_code == 400


def test_the_detail_shows_payload_outcome_error_and_attempts(admin, db):
    event = add(db, status="failed", outcome=None, last_error="OperationalError: database is locked", attempts=3)
    page = admin.get(f"/admin/stripe-events/{event.stripe_event_id}").get_data(as_text=True)
    assert "OperationalError: database is locked" in page
    assert re.search(r'data-testid="attempts">3<', page)
    payload = re.search(r'<pre class="json" data-testid="payload">(.*?)</pre>', page, re.S).group(1)
    assert "&#34;object&#34;: &#34;payment_intent&#34;" in payload and "\n  " in payload  # indented JSON
    assert "Re-run processing" in page and 'hx-confirm="Process' in page
    assert admin.get("/admin/stripe-events/evt_missing").status_code == 404


def test_rerun_needs_the_csrf_token(admin, db):
    event = add(db, status="failed", outcome=None, last_error="boom")
    response = admin.http.post(f"/admin/stripe-events/{event.stripe_event_id}/rerun")
    assert response.status_code == 400
    db.expire_all()
    assert db.get(StripeEvent, event.id).status == "failed"
