"""Stripe events built from Stripe's documented payloads and signed the way Stripe signs.

Stripe-Signature is `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the endpoint secret>`
(https://docs.stripe.com/webhooks#verify-manually). Written from the documentation,
not from our verifying code, so a test fails if our verification drifts from Stripe's.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from tests.conftest import STRIPE_WEBHOOK_SECRET


def signature(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> dict:
    """An Event object as Stripe sends it (api_version, data.object, livemode…)."""
    return {"id": event_id or "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2025-10-29.clover",
            "created": int(time.time()) if created is None else created, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": type, "data": {"object": obj}}


def encode(document: dict) -> bytes:
    return json.dumps(document, indent=2).encode()


def post_event(client, document: dict, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None):
    """POST a signed event to /api/webhooks/stripe with a Flask test client."""
    body = encode(document)
    return client.post("/api/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": signature(body, secret, timestamp)})


def payment_intent(pi_id: str, status: str, amount: int, *, payment_id: str | None = None, currency: str = "usd",
                   amount_received: int | None = None, latest_charge: str | None = None,
                   last_payment_error: dict | None = None) -> dict:
    """A PaymentIntent object (https://docs.stripe.com/api/payment_intents/object), the fields we read."""
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "currency": currency, "status": status,
            "amount_received": amount if amount_received is None and status == "succeeded" else (amount_received or 0),
            "capture_method": "automatic", "latest_charge": latest_charge, "last_payment_error": last_payment_error,
            "metadata": {"payment_id": payment_id} if payment_id else {}, "livemode": False}


def charge_dispute(dispute_id: str, charge_id: str, pi_id: str | None, status: str, amount: int, *,
                   reason: str = "fraudulent", currency: str = "usd", due_by: int | None = None) -> dict:
    """A Dispute object (https://docs.stripe.com/api/disputes/object), the fields we read."""
    return {"id": dispute_id, "object": "dispute", "amount": amount, "currency": currency, "charge": charge_id,
            "payment_intent": pi_id, "reason": reason, "status": status, "is_charge_refundable": False,
            "evidence": {}, "evidence_details": {"due_by": due_by or int(time.time()) + 7 * 86400,
                                                 "has_evidence": False, "past_due": False, "submission_count": 0},
            "metadata": {}, "livemode": False, "created": int(time.time())}


def refund(refund_id: str, status: str, amount: int, *, pi_id: str, charge_id: str | None = None,
           our_id: str | None = None, currency: str = "usd") -> dict:
    """A Refund object (https://docs.stripe.com/api/refunds/object)."""
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": currency, "status": status,
            "payment_intent": pi_id, "charge": charge_id, "metadata": {"refund_id": our_id} if our_id else {},
            "failure_reason": "lost_or_stolen_card" if status == "failed" else None}
