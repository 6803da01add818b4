"""Payments through the API against localstripe, on both databases: authorize,
capture (partial), charge, cancel, a declined card (402, and the failed payment
is kept), listing per order, bad input naming its field, wrong states, tenant
isolation, scopes, and the OpenAPI document."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.payments.models import Payment
from tests.api.payments.conftest import error_of, ok, order_id, place

PAYMENT_FIELDS = {"id", "object", "order_id", "status", "amount", "amount_captured", "amount_refunded",
                  "amount_refund_pending", "currency", "platform_fee", "gateway_fee", "net_amount",
                  "payment_method", "failure_code", "failure_message", "created_at"}


def test_authorize_then_capture_part_then_get(api):
    order = order_id()
    authorized = place(api, "authorize", amount=10000, currency="USD", order=order)
    assert set(authorized) == PAYMENT_FIELDS
    assert authorized["id"].startswith("pay_") and authorized["object"] == "payment"
    assert (authorized["status"], authorized["amount"], authorized["amount_captured"], authorized["currency"]) == \
        ("requires_capture", 10000, 0, "usd")
    assert authorized["order_id"] == order and authorized["payment_method"] == "pm_card_visa"

    captured = ok(api("POST", f"/api/v1/payments/{authorized['id']}/capture", json={"amount": 6000}))
    # acme is Pro: 1.5% of 6000 = 90; gateway 2.9% of 6000 + 30 = 204
    assert (captured["status"], captured["amount_captured"], captured["platform_fee"], captured["gateway_fee"],
            captured["net_amount"]) == ("succeeded", 6000, 90, 204, 5706)

    fetched = ok(api("GET", f"/api/v1/payments/{authorized['id']}"))
    assert fetched == captured


def test_capture_without_amount_takes_everything(api):
    authorized = place(api, "authorize", amount=2500)
    captured = ok(api("POST", f"/api/v1/payments/{authorized['id']}/capture"))
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", 2500)


def test_charge_captures_at_once_with_fees(api, demo):
    charged = place(api, "charge", amount=10000)
    assert (charged["status"], charged["amount_captured"], charged["platform_fee"], charged["gateway_fee"],
            charged["net_amount"], charged["amount_refunded"]) == ("succeeded", 10000, 150, 320, 9530, 0)
    row = demo.scalars(select(Payment).where(Payment.public_id == charged["id"])).one()
    assert row.stripe_payment_intent_id.startswith("pi_") and row.created_by.startswith("api:")


def test_declined_card_answers_402_and_keeps_the_failed_payment(api, demo):
    order = order_id()
    response = api("POST", "/api/v1/payments/charge", json={
        "order_id": order, "amount": 4200, "currency": "usd", "payment_method": "pm_card_visa_chargeDeclined"})
    error = error_of(response, 402)
    assert error["type"] == "card_error" and error["message"] == "Your card was declined."
    assert error["code"] == "card_declined" and error["payment"].startswith("pay_")

    failed = ok(api("GET", f"/api/v1/payments/{error['payment']}"))
    assert (failed["status"], failed["amount"], failed["amount_captured"], failed["failure_code"],
            failed["failure_message"]) == ("failed", 4200, 0, "card_declined", "Your card was declined.")
    assert [p["id"] for p in ok(api("GET", f"/api/v1/orders/{order}/payments"))["data"]] == [error["payment"]]


def test_cancel_releases_an_authorization(api):
    authorized = place(api, "authorize", amount=3000)
    canceled = ok(api("POST", f"/api/v1/payments/{authorized['id']}/cancel"))
    assert (canceled["status"], canceled["amount_captured"]) == ("canceled", 0)
    error = error_of(api("POST", f"/api/v1/payments/{authorized['id']}/capture"))
    assert error["field"] == "status" and "canceled" in error["message"]


def test_list_per_order_is_paginated_newest_first(api):
    order, other = order_id(), order_id()
    made = [place(api, "charge", amount=1000 + i, order=order)["id"] for i in range(3)]
    place(api, "charge", amount=999, order=other)

    first = ok(api("GET", f"/api/v1/orders/{order}/payments?limit=2"))
    assert [p["id"] for p in first["data"]] == [made[2], made[1]] and first["has_more"] is True
    rest = ok(api("GET", f"/api/v1/orders/{order}/payments?limit=2&starting_after={made[1]}"))
    assert [p["id"] for p in rest["data"]] == [made[0]] and rest["has_more"] is False
    assert ok(api("GET", f"/api/v1/orders/{order_id()}/payments")) == {"data": [], "has_more": False}
    error = error_of(api("GET", f"/api/v1/orders/{order}/payments?limit=0"))
    assert error["field"] == "limit"


@pytest.mark.parametrize("amount, message", [
    (0, "greater than 0"), (-5, "greater than 0"), (10.5, "valid integer"), (1000.0, "valid integer"),
    ("1000", "valid integer"), (None, "valid integer"), (2**63, "less than or equal to"),
])
def test_bad_amounts_are_refused_naming_the_field_and_nothing_is_written(api, demo, amount, message):
    order = order_id()
    response = api("POST", "/api/v1/payments/charge", json={
        "order_id": order, "amount": amount, "currency": "usd", "payment_method": "pm_card_visa"})
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["field"] == "amount" and message in error["message"]
    assert demo.scalars(select(Payment).where(Payment.order_id == order)).all() == []


@pytest.mark.parametrize("body, field", [
    ({"currency": "xyz"}, "currency"), ({"currency": ""}, "currency"), ({"order_id": ""}, "order_id"),
    ({"payment_method": "4242424242424242"}, "payment_method"), ({"surprise": 1}, "surprise"),
])
def test_other_bad_fields_are_named(api, demo, body, field):
    request = {"order_id": order_id(), "amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", **body}
    assert error_of(api("POST", "/api/v1/payments/authorize", json=request))["field"] == field
    assert demo.scalars(select(Payment)).all() == []


def test_capture_more_than_authorized_or_twice_is_refused(api):
    authorized = place(api, "authorize", amount=5000)
    path = f"/api/v1/payments/{authorized['id']}/capture"
    error = error_of(api("POST", path, json={"amount": 5001}))
    assert error["field"] == "amount" and "$50.00" in error["message"]
    assert error_of(api("POST", path, json={"amount": 12.5}))["field"] == "amount"
    assert error_of(api("POST", path, json={"amount": 0}))["field"] == "amount"
    ok(api("POST", path, json={"amount": 5000}))
    assert error_of(api("POST", path))["field"] == "status"
    assert error_of(api("POST", f"/api/v1/payments/{authorized['id']}/cancel"))["field"] == "status"


def test_another_organizations_payment_is_not_found(api, caller):
    theirs = place(caller("globex"), "charge", amount=1000)
    for method, path in [("GET", f"/api/v1/payments/{theirs['id']}"),
                         ("POST", f"/api/v1/payments/{theirs['id']}/capture"),
                         ("POST", f"/api/v1/payments/{theirs['id']}/cancel"),
                         ("POST", f"/api/v1/payments/{theirs['id']}/refund")]:
        error = error_of(api(method, path, json={}), 404)
        assert error["type"] == "not_found" and theirs["id"] in error["message"]
    assert ok(api("GET", f"/api/v1/orders/{theirs['order_id']}/payments"))["data"] == []


def test_a_read_only_key_can_read_but_not_move_money(api, caller, demo):
    mine = place(api, "charge", amount=1000)
    reader = caller(scopes=("read",))
    assert ok(reader("GET", f"/api/v1/payments/{mine['id']}"))["id"] == mine["id"]
    assert ok(reader("GET", "/api/v1/refunds"))["data"] == []
    writes = [("/api/v1/payments/charge", {"order_id": "o-1", "amount": 1, "currency": "usd",
                                           "payment_method": "pm_card_visa"}),
              ("/api/v1/payments/authorize", {}), (f"/api/v1/payments/{mine['id']}/capture", {}),
              (f"/api/v1/payments/{mine['id']}/cancel", {}), (f"/api/v1/payments/{mine['id']}/refund", {}),
              ("/api/v1/refunds", {"payment": mine["id"]}), ("/api/v1/disputes", {"payment": mine["id"]})]
    for path, body in writes:
        error = error_of(reader("POST", path, json=body, key=f"k-{path}"), 403)
        assert error == {"type": "permission_error", "message": "This API key lacks the 'write' scope."}
    assert len(demo.scalars(select(Payment)).all()) == 1
    assert caller(scopes=("webhooks",))("GET", f"/api/v1/payments/{mine['id']}").status_code == 403


def test_openapi_documents_the_payment_paths(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        "/api/v1/payments/authorize": {"post": "write"}, "/api/v1/payments/charge": {"post": "write"},
        "/api/v1/payments/{public_id}/capture": {"post": "write"},
        "/api/v1/payments/{public_id}/cancel": {"post": "write"},
        "/api/v1/payments/{public_id}/refund": {"post": "write"},
        "/api/v1/payments/{public_id}": {"get": "read"},
        "/api/v1/orders/{order_id}/payments": {"get": "read"},
        "/api/v1/refunds": {"get": "read", "post": "write"},
        "/api/v1/disputes": {"get": "read", "post": "write"},
    }
    for path, methods in expected.items():
        for method, scope in methods.items():
            assert paths[path][method]["x-required-scope"] == scope, (path, method)
    charge = paths["/api/v1/payments/charge"]["post"]
    assert charge["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PaymentCreate")
    assert charge["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/PaymentOut")
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["PaymentCreate"]["properties"]["amount"]["type"] == "integer"
    assert set(schemas["RefundRequest"]["properties"]["type"]["anyOf"][0]["enum"]) == {"full", "partial", "prorated"}
    listing = paths["/api/v1/refunds"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "starting_after", "payment"}


def test_openapi_documents_the_idempotency_key(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/payments/charge", "/api/v1/payments/{public_id}/refund", "/api/v1/refunds",
                 "/api/v1/disputes"):
        post = paths[path]["post"]
        [header] = [p for p in post["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", False)
        assert "409" in post["responses"]
    assert all(p["in"] != "header" for p in paths["/api/v1/refunds"]["get"]["parameters"])
