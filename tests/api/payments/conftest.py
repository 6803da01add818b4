"""Callers for the payments API: API keys made as the other API tests make them,
and short steps (charge, authorize, refund) that assert the answer they expect."""
from __future__ import annotations

import secrets

import pytest

from app.payments import gateway


@pytest.fixture
def caller(app, issue_key):
    """caller(slug, scopes) -> call(method, path, json=..., key=...) with that organization's key.

    `key=` sends an Idempotency-Key. Each caller has its own test client, so
    callers can be used from several threads at once.
    """
    def make(slug="acme", scopes=("read", "write")):
        _, secret = issue_key(slug, scopes)
        http = app.test_client()

        def call(method, path, key=None, **kwargs):
            headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
            if key is not None:
                headers["Idempotency-Key"] = key
            return http.open(path, method=method, headers=headers, **kwargs)
        return call
    return make


@pytest.fixture
def api(caller):
    """acme's read+write key."""
    return caller()


def order_id() -> str:
    """A fresh order reference: localstripe lives for the whole session, our rows per test."""
    return f"ord-{secrets.token_hex(6)}"


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def error_of(response, status=400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def place(api, action="charge", *, amount=10000, currency="usd", payment_method="pm_card_visa", order=None,
          key=None, status=201) -> dict:
    body = {"order_id": order or order_id(), "amount": amount, "currency": currency,
            "payment_method": payment_method}
    return ok(api("POST", f"/api/v1/payments/{action}", json=body, key=key), status)


def intents_for(app, order: str) -> list:
    """The PaymentIntents localstripe holds for one of our order references."""
    stripe = gateway.client(app.config)
    return [intent for intent in stripe.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
            if gateway.field(intent.metadata, "order_id") == order]
