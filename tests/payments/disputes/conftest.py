"""Rows and real Stripe objects for the dispute tests."""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from app.payments import service
from app.payments.models import Dispute, Payment
from app.webhooks.models import WebhookEvent
from tests.support import org

# The smallest file each accepted type can be, by its first bytes.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48  # a Windows program's header


def make_payment(session, org_slug: str = "acme", *, amount: int = 10_000, currency: str = "USD",
                 status: str = "succeeded", refunded: int = 0) -> Payment:
    """A payment row as `service.place` leaves it, without calling Stripe (for rules that do not need it)."""
    suffix = secrets.token_hex(6)
    payment = Payment(org_id=org(session, org_slug).id, order_id=f"order-{suffix}", amount=amount, currency=currency,
                      status=status, capture_method="automatic",
                      amount_captured=amount if status == "succeeded" else 0, amount_refunded=refunded,
                      payment_method="pm_card_visa", stripe_payment_intent_id=f"pi_{suffix}",
                      stripe_charge_id=f"ch_{suffix}", created_by="alice@acme.test")
    session.add(payment)
    session.commit()
    return payment


@pytest.fixture
def payment(demo):
    return make_payment(demo)


@pytest.fixture
def stripe_payment(app, demo):
    """A real 100.00 USD charge on localstripe (PaymentIntent and Charge exist there)."""
    paid = service.place(demo, app.config, org(demo, "acme"), order_id="order-disputed", amount=10_000,
                         currency="usd", payment_method="pm_card_visa", capture=True, actor_label="alice@acme.test")
    assert paid.status == "succeeded" and paid.stripe_charge_id, paid.failure_message
    return paid


def events_of(session, type_: str) -> int:
    """How many outbound events of `type_` were written."""
    return session.scalar(select(func.count(WebhookEvent.id)).where(WebhookEvent.type == type_))


def disputes_of(session, payment: Payment) -> list[Dispute]:
    session.expire_all()
    return list(session.scalars(select(Dispute).where(Dispute.payment_id == payment.id).order_by(Dispute.id)))


def make_dispute(session, payment: Payment, status: str = "needs_response", *, opened_by: str = "stripe",
                 stripe_id: str | None = "auto", due_by=None) -> Dispute:
    """A dispute row in `status` (arrangement; the rules are tested through the services)."""
    if stripe_id == "auto":
        stripe_id = "dp_" + secrets.token_hex(8) if opened_by == "stripe" else None
    dispute = Dispute(org_id=payment.org_id, payment_id=payment.id, stripe_dispute_id=stripe_id,
                      amount=payment.amount_captured, currency=payment.currency, reason="fraudulent", status=status,
                      opened_by=opened_by, evidence={}, evidence_due_by=due_by)
    session.add(dispute)
    session.commit()
    return dispute
