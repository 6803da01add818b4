"""Steps shared by the inbound Stripe webhook tests: arrange our payments and
refunds, build the Stripe objects events carry, run a real RQ worker, and read
back what processing wrote."""
from __future__ import annotations

import secrets
import time

from sqlalchemy import func, select

from rq import Queue

from app.jobs import AppWorker
from app.payments import refunds
from app.payments.models import Payment, Refund, StripeEvent
from app.webhooks.models import WebhookEvent
from tests.payments import stripe_events
from tests.support import org


def make_payment(db, *, status="processing", amount=5000, captured=0, intent_id: str | None = "auto",
                 slug="acme") -> Payment:
    """A payment row as `service.place` leaves it before/after Stripe answered (arrangement)."""
    payment = Payment(org_id=org(db, slug).id, order_id=f"ord-{secrets.token_hex(3)}", amount=amount,
                      currency="USD", status=status, capture_method="automatic", payment_method="pm_card_visa",
                      amount_captured=captured, created_by="test",
                      stripe_payment_intent_id=("pi_" + secrets.token_hex(8)) if intent_id == "auto" else intent_id)
    db.add(payment)
    db.commit()
    return payment


def make_refund(app, db, payment: Payment, amount: int, *, stripe_refund_id: str | None = None) -> Refund:
    """A pending refund with its amount reserved, as `refunds.request` (+ Stripe answering "pending") leaves it."""
    refund = refunds.request(db, app.config, payment, refund_type="partial", reason="customer_request",
                             amount=amount, actor_label="alice@acme.test")
    refund.stripe_refund_id = stripe_refund_id
    db.commit()
    return refund


def charge(charge_id: str, pi_id: str | None, amount: int, *, status="succeeded", captured=True,
           amount_captured: int | None = None, refunds_data: list[dict] | None = None, failure_code=None,
           failure_message=None, currency="usd") -> dict:
    """A Charge object (https://docs.stripe.com/api/charges/object), the fields we read."""
    document = {"id": charge_id, "object": "charge", "amount": amount, "currency": currency, "status": status,
                "captured": captured, "paid": status == "succeeded", "payment_intent": pi_id,
                "amount_captured": (amount if amount_captured is None else amount_captured) if captured else 0,
                "amount_refunded": sum(r["amount"] for r in refunds_data or [] if r["status"] == "succeeded"),
                "refunded": False, "failure_code": failure_code, "failure_message": failure_message,
                "metadata": {}, "livemode": False}
    if refunds_data is not None:
        document["refunds"] = {"object": "list", "data": refunds_data, "has_more": False,
                               "url": f"/v1/charges/{charge_id}/refunds"}
    return document


def deliver(client, event_type: str, obj: dict, **kwargs):
    """Sign and POST one event; returns (response, event document)."""
    document = stripe_events.event(event_type, obj, **kwargs)
    response = stripe_events.post_event(client, document)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, document


def work(app) -> None:
    """Run a real RQ worker (the app's AppWorker, in this process) until the queues are empty.

    Without RQ's scheduler thread, whose shutdown costs a second per run; the
    worker entry point itself (`app.jobs.run_worker`) has its own test.
    """
    redis = app.extensions["redis"]
    with app.app_context():
        AppWorker([Queue(name, connection=redis) for name in app.config["RQ_QUEUES"]],
                  connection=redis).work(burst=True, with_scheduler=False)


def stored(db, stripe_event_id: str) -> StripeEvent:
    db.expire_all()
    return db.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == stripe_event_id)).one()


def fresh(db, row):
    db.expire_all()
    return db.get(type(row), row.id)


def outbound_count(db, event_type: str) -> int:
    """How many outbound events of this type were emitted (customers hear about each one)."""
    return db.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.type == event_type))


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {predicate.__doc__ or predicate}")
        time.sleep(interval)
