"""Shared steps for the payments-core tests: place a payment through the real
service (against localstripe), and read back what it wrote (events, audit rows)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.payments import gateway, refunds, service
from app.payments.models import Payment, Refund
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEvent
from tests.conftest import ROOT, free_port
from tests.support import org

ACTOR = "alice@acme.test"


def place(app, db, *, amount=10000, capture=True, currency="USD", payment_method="pm_card_visa",
          order_id="ord-1001", slug="acme", config=None) -> Payment:
    """Charge (capture=True) or authorize through `app.payments.service.place`."""
    return service.place(db, config or app.config, org(db, slug), order_id=order_id, amount=amount,
                         currency=currency, payment_method=payment_method, capture=capture, actor_label=ACTOR)


def refund(app, db, payment: Payment, *, refund_type="partial", amount=None, reason="customer_request",
           config=None, **kwargs) -> Refund:
    """Request a refund, commit the reservation, then send it (as the portal and API do)."""
    config = config or app.config
    made = refunds.request(db, config, payment, refund_type=refund_type, reason=reason, amount=amount,
                           actor_label=ACTOR, **kwargs)
    db.commit()
    return refunds.execute(db, config, made)


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def events(db, event_type: str) -> list[dict]:
    """The `data` of each outbound event of this type, oldest first, checked against the catalog."""
    bodies = db.scalars(select(WebhookEvent.body).where(WebhookEvent.type == event_type)
                        .order_by(WebhookEvent.id)).all()
    documents = [json.loads(body)["data"] for body in bodies]
    for data in documents:
        EVENT_TYPES[event_type].schema.model_validate(data)
    return documents


def audits(db, action: str) -> list[AuditEvent]:
    return db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def stripe_charge(app, payment: Payment):
    """The Charge as localstripe has it."""
    return gateway.client(app.config).v1.charges.retrieve(payment.stripe_charge_id)


def stripe_refunds(app, payment: Payment) -> list:
    """Refunds localstripe holds for the payment's intent."""
    listed = gateway.client(app.config).v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id, "limit": 100})
    return list(listed.data)


def closed_port_url() -> str:
    """An address where nothing listens: the gateway is down."""
    return f"http://127.0.0.1:{free_port()}"


class OtherStripeAccount:
    """A second, empty localstripe: the Stripe account the keys point at after a
    misconfiguration, which knows none of our PaymentIntents and so refuses refunds."""

    def __enter__(self) -> str:
        port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "localstripe_server.py"),
                                      "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("the second localstripe did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
