"""Authorize, capture, charge, cancel and decline through `app.payments.service`
against localstripe, on both databases: the statuses, the captured amounts and
fees we record, what localstripe ends up holding, the events and audit rows,
and the refusals (wrong state, bad input naming the field, with nothing
written) and an unreachable gateway that leaves a recorded payment, not a 500.
"""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.payments import gateway, service
from app.payments.models import Payment, StripeCustomer
from app.webhooks.models import WebhookEvent
from tests.payments.core_support import ACTOR, audits, closed_port_url, count, events, place, stripe_charge
from tests.support import org


def test_authorize_holds_the_money_and_charges_no_fee_until_capture(app, demo):
    payment = place(app, demo, capture=False)
    assert payment.public_id.startswith("pay_")
    assert (payment.status, payment.capture_method, payment.amount, payment.currency) == \
        ("requires_capture", "manual", 10000, "USD")
    assert (payment.amount_captured, payment.platform_fee, payment.gateway_fee, payment.net_amount) == (0, 0, 0, 0)
    assert payment.stripe_payment_intent_id.startswith("pi_") and payment.stripe_charge_id.startswith("ch_")
    assert stripe_charge(app, payment).captured is False
    [authorized] = audits(demo, "payment.authorized")
    assert authorized.target == payment.public_id and authorized.actor_label == ACTOR
    assert authorized.details == {"amount": 10000, "currency": "USD", "status": "requires_capture"}
    assert events(demo, "payment.succeeded") == []


def test_partial_capture(app, demo):
    payment = place(app, demo, capture=False)
    service.capture(demo, app.config, payment, 6000, actor_label=ACTOR)

    demo.expire_all()
    stored = demo.get(Payment, payment.id)
    assert (stored.status, stored.amount, stored.amount_captured) == ("succeeded", 10000, 6000)
    # Professional 1.5% of 6000 = 90; Stripe 2.9% of 6000 = 174, + 30
    assert (stored.platform_fee, stored.gateway_fee, stored.net_amount, stored.fee_rate_bps) == (90, 204, 5706, 150)
    assert stripe_charge(app, stored).captured is True
    [event] = events(demo, "payment.succeeded")
    assert event == {"id": payment.public_id, "order_id": "ord-1001", "status": "succeeded", "amount": 10000,
                     "amount_captured": 6000, "amount_refunded": 0, "currency": "usd", "failure_message": None}
    assert [a.details for a in audits(demo, "payment.captured")] == [{"amount": 6000}]


def test_full_capture_takes_the_authorized_amount(app, demo):
    payment = place(app, demo, capture=False)
    service.capture(demo, app.config, payment, actor_label=ACTOR)
    assert (payment.status, payment.amount_captured, payment.net_amount) == ("succeeded", 10000, 10000 - 150 - 320)
    assert stripe_charge(app, payment).captured is True
    assert len(events(demo, "payment.succeeded")) == 1


def test_charge_captures_at_once(app, demo):
    payment = place(app, demo, capture=True)
    assert (payment.status, payment.capture_method, payment.amount_captured) == ("succeeded", "automatic", 10000)
    assert (payment.platform_fee, payment.gateway_fee, payment.net_amount) == (150, 320, 9530)
    assert stripe_charge(app, payment).captured is True
    [event] = events(demo, "payment.succeeded")
    assert event["id"] == payment.public_id and event["amount_captured"] == 10000
    [charged] = audits(demo, "payment.charged")
    assert charged.details["status"] == "succeeded"


def test_payments_of_one_org_share_one_stripe_customer(app, demo):
    place(app, demo, order_id="ord-1")
    place(app, demo, order_id="ord-2", capture=False)
    place(app, demo, slug="globex", order_id="ord-1", currency="EUR")
    assert count(demo, StripeCustomer) == 2


def test_decline_records_a_failed_payment_with_stripes_message(app, demo):
    """Card 4000000000000002 (pm_card_visa_chargeDeclined) is declined."""
    payment = place(app, demo, payment_method="pm_card_visa_chargeDeclined")

    demo.expire_all()
    stored = demo.get(Payment, payment.id)
    assert stored.status == "failed"
    assert (stored.failure_code, stored.failure_message) == ("card_declined", "Your card was declined.")
    assert (stored.amount_captured, stored.platform_fee, stored.net_amount) == (0, 0, 0)
    [event] = events(demo, "payment.failed")
    assert event["id"] == payment.public_id and event["status"] == "failed"
    assert event["failure_message"] == "Your card was declined."
    [error] = audits(demo, "payment.gateway_error")
    assert error.target == payment.public_id and error.details == {"code": "card_declined", "declined": True}
    [charged] = audits(demo, "payment.charged")
    assert charged.details["status"] == "failed"
    assert events(demo, "payment.succeeded") == []


def test_only_an_authorized_payment_can_be_captured(app, demo):
    charged = place(app, demo, capture=True)
    declined = place(app, demo, order_id="ord-2", payment_method="pm_card_visa_chargeDeclined")
    for payment in (charged, declined):
        with pytest.raises(DomainError) as error:
            service.capture(demo, app.config, payment, actor_label=ACTOR)
        assert error.value.field == "status" and payment.status in error.value.message
    assert charged.amount_captured == 10000 and len(events(demo, "payment.succeeded")) == 1


def test_capture_more_than_authorized_is_refused_naming_the_amount(app, demo):
    payment = place(app, demo, capture=False)
    with pytest.raises(DomainError) as error:
        service.capture(demo, app.config, payment, 10001, actor_label=ACTOR)
    assert error.value.field == "amount" and "at most $100.00" in error.value.message
    for bad in (0, -5, 10.5, True, "6000"):
        with pytest.raises(DomainError) as error:
            service.capture(demo, app.config, payment, bad, actor_label=ACTOR)
        assert error.value.field == "amount"
    demo.expire_all()
    assert demo.get(Payment, payment.id).status == "requires_capture"
    assert stripe_charge(app, payment).captured is False


def test_cancel_releases_the_authorization(app, demo):
    payment = place(app, demo, capture=False)
    service.cancel(demo, app.config, payment, actor_label=ACTOR)
    assert payment.status == "canceled"
    intent = gateway.client(app.config).v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert intent.status == "canceled"
    assert len(audits(demo, "payment.canceled")) == 1
    with pytest.raises(DomainError) as error:
        service.capture(demo, app.config, payment, actor_label=ACTOR)
    assert error.value.field == "status"


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": "100"}, "amount"),
    ({"amount": 2**63}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"currency": None}, "currency"),
    ({"order_id": ""}, "order_id"),
    ({"order_id": "   "}, "order_id"),
    ({"order_id": "order 1001"}, "order_id"),
    ({"order_id": "x" * 101}, "order_id"),
    ({"payment_method": "visa"}, "payment_method"),
    ({"payment_method": ""}, "payment_method"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, demo, changes, field):
    with pytest.raises(DomainError) as error:
        place(app, demo, **changes)
    assert error.value.field == field
    demo.rollback()
    assert count(demo, Payment) == 0
    assert count(demo, StripeCustomer) == 0  # Stripe was not called
    assert count(demo, WebhookEvent) == 0
    assert audits(demo, "payment.charged") == []


def test_unreachable_gateway_leaves_a_recorded_processing_payment(app, demo):
    """Stripe down: the payment stays recorded (processing, with why) for the webhook or a retry
    to settle; the call returns normally (no 500) and the money is never silently lost."""
    down = dict(app.config, STRIPE_API_BASE=closed_port_url())
    payment = place(app, demo, config=down)

    demo.expire_all()
    stored = demo.get(Payment, payment.id)
    assert stored.status == "processing"
    assert (stored.failure_code, stored.failure_message) == \
        ("gateway_unreachable", "The payment gateway could not be reached.")
    assert stored.stripe_payment_intent_id is None and stored.amount_captured == 0
    [error] = audits(demo, "payment.gateway_error")
    assert error.details == {"code": "gateway_unreachable", "declined": False}
    assert events(demo, "payment.failed") == [] and events(demo, "payment.succeeded") == []


def test_unreachable_gateway_on_capture_is_refused_and_nothing_changes(app, demo):
    payment = place(app, demo, capture=False)
    down = dict(app.config, STRIPE_API_BASE=closed_port_url())
    with pytest.raises(DomainError) as error:
        service.capture(demo, down, payment, actor_label=ACTOR)
    assert "could not be reached" in error.value.message
    demo.expire_all()
    stored = demo.get(Payment, payment.id)
    assert (stored.status, stored.amount_captured) == ("requires_capture", 0)
    assert audits(demo, "payment.gateway_error")[0].details == {"code": "gateway_unreachable", "operation": "capture"}
    service.capture(demo, app.config, stored, actor_label=ACTOR)  # Stripe is back: the capture goes through
    assert stored.status == "succeeded"


def test_payment_events_carry_the_catalog_payload(app, demo):
    payment = place(app, demo)
    [row] = demo.scalars(select(WebhookEvent).where(WebhookEvent.type == "payment.succeeded")).all()
    assert row.org_id == payment.org_id
    document = json.loads(row.body)
    assert document["type"] == "payment.succeeded" and document["id"].startswith("evt_")
    assert document["data"]["id"] == payment.public_id and document["data"]["currency"] == "usd"


def test_payments_of_an_order_newest_first(app, demo):
    first = place(app, demo, order_id="ord-7")
    second = place(app, demo, order_id="ord-7", capture=False)
    place(app, demo, order_id="ord-8")
    rows = demo.scalars(service.by_order(demo, first.org_id, "ord-7").order_by(Payment.id.desc())).all()
    assert [p.public_id for p in rows] == [second.public_id, first.public_id]


def test_concurrent_first_payments_of_an_organization_all_go_through(app, demo):
    """An API client charging a new customer's orders in parallel: one Stripe customer, every payment made."""
    barrier, results, lock = threading.Barrier(4), [], threading.Lock()

    def one(n: int) -> None:
        session = app.extensions["db"].session()
        try:
            acme = org(session, "acme")
            barrier.wait(timeout=30)
            result = service.place(session, app.config, acme, order_id=f"ord-{n}", amount=1000, currency="USD",
                                   payment_method="pm_card_visa", capture=True, actor_label=ACTOR).status
        except Exception as error:  # noqa: BLE001 — the finding
            result = repr(error)
        finally:
            session.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == ["succeeded"] * 4
    assert count(demo, StripeCustomer) == 1
    assert count(demo, Payment, Payment.status == "succeeded") == 4
