"""payment_intent.* events sent by localstripe's own webhook sender, over real
HTTP, so the signatures come from code we did not write.

localstripe's registrations are global to its process (shared by the whole
session), so this module registers one fixed id and, when a test ends, points
it at an empty event list: no later test's payment is sent anywhere.
"""
from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from app.payments import service
from app.payments.models import StripeEvent
from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.payments.inbound.support import fresh, outbound_count, wait_for, work
from tests.support import org

REGISTRATION = "matrix-portal-inbound-tests"
SENT = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.created",
        "payment_intent.canceled")


@pytest.fixture
def sender(app, demo, stripe_server):
    """The app on 127.0.0.1 over HTTP, and localstripe told to send payment_intent.* events to it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="inbound-live-server", daemon=True)
    thread.start()
    config_url = f"{stripe_server.url}/_config/webhooks/{REGISTRATION}"
    url = f"http://127.0.0.1:{server.server_port}/api/webhooks/stripe"
    registered = requests.post(config_url, timeout=5, data=[("url", url), ("secret", STRIPE_WEBHOOK_SECRET)]
                               + [("events[]", event_type) for event_type in SENT])
    assert registered.status_code == 200, registered.text
    try:
        yield
    finally:
        requests.post(config_url, json={"url": "http://127.0.0.1:9/", "secret": "off", "events": []}, timeout=5)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def events_about(db, payment, event_type):
    """StripeEvent rows of this type whose PaymentIntent names our payment."""
    db.expire_all()
    rows = db.scalars(select(StripeEvent).where(StripeEvent.type == event_type)).all()
    return [row for row in rows if payment.public_id in row.payload]


def place(app, db, **kwargs):
    return service.place(db, app.config, org(db, "acme"), order_id="ord-live", currency="usd",
                         actor_label="alice@acme.test", **kwargs)


def test_a_charge_sends_payment_intent_succeeded_which_is_verified_stored_and_processed(app, db, sender):
    payment = place(app, db, amount=4200, payment_method="pm_card_visa", capture=True)
    assert payment.status == "succeeded"

    received = wait_for(lambda: events_about(db, payment, "payment_intent.succeeded"))
    assert len(received) == 1 and received[0].status == "pending"
    work(app)

    event = fresh(db, received[0])
    assert event.status == "processed"
    assert event.outcome == f"payment {payment.public_id} already succeeded"
    assert outbound_count(db, "payment.succeeded") == 1  # from the charge itself, not again from the event


def test_a_capture_sends_payment_intent_succeeded(app, db, sender):
    payment = place(app, db, amount=8000, payment_method="pm_card_visa", capture=False)
    assert payment.status == "requires_capture"
    service.capture(db, app.config, payment, 5000, actor_label="alice@acme.test")

    received = wait_for(lambda: events_about(db, payment, "payment_intent.succeeded"))
    work(app)
    assert fresh(db, received[0]).status == "processed"
    payment = fresh(db, payment)
    assert (payment.status, payment.amount_captured) == ("succeeded", 5000)


def test_a_decline_at_charge_time_sends_payment_failed_which_fills_in_the_intent_id(app, db, sender):
    """pm_card_chargeCustomerFail (4000000000000341) attaches, then the charge is declined: localstripe sends
    payment_intent.payment_failed. (pm_card_visa_chargeDeclined, 4000000000000002, is refused at attach,
    before any PaymentIntent exists, so Stripe has nothing to send about it.)"""
    payment = place(app, db, amount=3000, payment_method="pm_card_chargeCustomerFail", capture=True)
    assert payment.status == "failed" and payment.stripe_payment_intent_id is None

    received = wait_for(lambda: events_about(db, payment, "payment_intent.payment_failed"))
    work(app)

    event = fresh(db, received[0])
    assert (event.status, event.outcome) == ("processed", f"payment {payment.public_id} already failed")
    payment = fresh(db, payment)
    assert payment.status == "failed"
    assert payment.stripe_payment_intent_id.startswith("pi_")  # matched by metadata.payment_id, now linked
    assert outbound_count(db, "payment.failed") == 1
