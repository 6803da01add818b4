"""GET /api/v1/subscription and /api/v1/invoices: shapes, pagination, filters, tenancy, scopes."""
from __future__ import annotations

import pytest

from app.security import api_keys
from tests.billing.support import close_and_finalize, customer


@pytest.fixture
def berlin(billing):
    return customer(billing, "berlin", country="DE", currency="EUR")


def _caller(client, db, subscription, scopes=("read",)):
    secret = api_keys.create(db, subscription.org_id, "billing test", scopes, actor_label="test").secret
    db.commit()
    return lambda path: client.http.get(path, headers={"Authorization": f"Bearer {secret}"})


def test_the_subscription(client, billing, berlin):
    body = _caller(client, billing, berlin)("/api/v1/subscription").get_json()
    assert body["id"] == berlin.public_id and body["status"] == "active" and body["cancel_at_period_end"] is False
    assert body["plan"] == {"code": "pro", "name": "Pro", "monthly_price": 4900, "currency": "usd",
                            "included_gpu_seconds": 360000, "gpu_hour_price": 250, "included_api_requests": 1000000,
                            "api_1k_price": 20}
    assert body["current_period_start"].startswith("2026-11-01T00:00:00")


def test_no_subscription_is_a_404_in_the_error_shape(client, billing, berlin):
    from app.billing import subscriptions

    subscriptions.schedule_cancellation(billing, berlin, actor_label="test")
    billing.commit()
    close_and_finalize(billing, berlin)
    response = _caller(client, billing, berlin)("/api/v1/subscription")
    assert response.status_code == 404 and response.get_json()["error"]["type"] == "not_found"


def test_invoices_newest_first_with_lines_pages_and_a_status_filter(client, billing, berlin):
    from datetime import datetime, timezone

    november = close_and_finalize(billing, berlin)
    december = close_and_finalize(billing, berlin, at=datetime(2027, 1, 1, 0, 1, tzinfo=timezone.utc))
    get = _caller(client, billing, berlin)

    first = get("/api/v1/invoices?limit=1").get_json()
    assert [i["number"] for i in first["data"]] == [december.number] and first["has_more"] is True
    second = get(f"/api/v1/invoices?limit=1&starting_after={december.public_id}").get_json()
    assert [i["number"] for i in second["data"]] == [november.number] and second["has_more"] is False
    invoice = second["data"][0]
    assert (invoice["currency"], invoice["exchange_rate"], invoice["total"], invoice["tax_label"]) == (
        "eur", "0.9234", 53_85, "VAT 19%")
    assert invoice["lines"] == [{"kind": "plan", "description": "Pro plan, 01 Nov 2026 – 01 Dec 2026",
                                 "quantity": None, "amount": 45_25, "base_amount": 49_00, "tax_rate": "19",
                                 "tax": 8_60}]
    assert get(f"/api/v1/invoices/{november.public_id}").get_json()["id"] == november.public_id
    assert get("/api/v1/invoices?status=paid").get_json()["data"] == []
    refused = get("/api/v1/invoices?status=sent").get_json()["error"]
    assert refused["field"] == "status"


def test_another_organizations_invoice_is_not_found(client, billing, berlin):
    theirs = close_and_finalize(billing, customer(billing, "initech"))
    response = _caller(client, billing, berlin)(f"/api/v1/invoices/{theirs.public_id}")
    assert response.status_code == 404
    response = _caller(client, billing, berlin)(f"/api/v1/invoices?starting_after={theirs.public_id}")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "starting_after"


def test_reading_needs_the_read_scope(client, billing, berlin):
    response = _caller(client, billing, berlin, scopes=("webhooks",))("/api/v1/invoices")
    assert response.status_code == 403
