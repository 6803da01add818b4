"""Refunds through the API against localstripe, on both databases: partial, full
and prorated; refusals naming the field (over what is left, wrong currency, a
float, a payment not captured); large refunds waiting for approval; the
organization's refund list; tenant isolation."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.payments import gateway
from app.payments.models import Refund
from app.billing.models import Subscription
from tests.api.payments.conftest import error_of, ok, place
from tests.support import org

REFUND_FIELDS = {"id", "object", "payment", "status", "amount", "currency", "type", "reason", "approval",
                 "failure_message", "created_at"}


def _refund(api, payment_id, status=201, **body):
    return api("POST", f"/api/v1/payments/{payment_id}/refund", json=body)


def _payment(api, payment_id) -> dict:
    return ok(api("GET", f"/api/v1/payments/{payment_id}"))


def test_partial_then_full_refund(api, app, demo):
    charged = place(api, amount=10000)
    partial = ok(_refund(api, charged["id"], amount=2500, type="partial", reason="service_issue",
                         note="GPU down for an hour"), 201)
    assert set(partial) == REFUND_FIELDS
    assert partial["id"].startswith("re_") and partial["payment"] == charged["id"]
    assert (partial["status"], partial["amount"], partial["currency"], partial["type"], partial["reason"],
            partial["approval"]) == ("succeeded", 2500, "usd", "partial", "service_issue", "not_required")
    assert (_payment(api, charged["id"])["amount_refunded"]) == 2500

    full = ok(_refund(api, charged["id"], type="full", reason="customer_request"), 201)
    assert (full["status"], full["amount"], full["type"]) == ("succeeded", 7500, "full")
    after = _payment(api, charged["id"])
    assert (after["amount_refunded"], after["amount_refund_pending"]) == (10000, 0)

    stored = demo.scalars(select(Refund).where(Refund.public_id == partial["id"])).one()
    assert stored.note == "GPU down for an hour" and stored.requested_by.startswith("api:")
    stripe_refund = gateway.client(app.config).v1.refunds.retrieve(stored.stripe_refund_id)
    assert stripe_refund.amount == 2500


def test_type_follows_the_amount_when_left_out(api):
    charged = place(api, amount=4000)
    assert ok(_refund(api, charged["id"], amount=1000), 201)["type"] == "partial"
    rest = ok(_refund(api, charged["id"]), 201)
    assert (rest["type"], rest["amount"], rest["reason"]) == ("full", 3000, "customer_request")


def test_prorated_refund_returns_the_unused_share_of_the_period(api, demo):
    subscription = demo.scalars(select(Subscription).where(Subscription.org_id == org(demo, "acme").id)).one()
    length = subscription.current_period_end - subscription.current_period_start
    charged = place(api, amount=10000)
    clock.freeze(subscription.current_period_start + length / 4)  # three quarters unused
    prorated = ok(_refund(api, charged["id"], type="prorated", reason="service_issue"), 201)
    assert (prorated["type"], prorated["amount"], prorated["status"]) == ("prorated", 7500, "succeeded")
    error = error_of(_refund(api, charged["id"], type="prorated", amount=100, reason="other"))
    assert error["field"] == "amount"

    clock.freeze(subscription.current_period_end + timedelta(seconds=1))
    error = error_of(_refund(api, charged["id"], type="prorated", reason="other"))
    assert error["field"] == "type" and "unused" in error["message"]
    assert _payment(api, charged["id"])["amount_refunded"] == 7500


def test_over_what_is_left_is_refused_naming_amount(api, demo):
    charged = place(api, amount=5000)
    ok(_refund(api, charged["id"], amount=4000), 201)
    error = error_of(_refund(api, charged["id"], amount=1001))
    assert error["field"] == "amount" and "$10.00 left" in error["message"]
    assert error_of(_refund(api, charged["id"], type="full", amount=999))["field"] == "amount"
    ok(_refund(api, charged["id"], amount=1000), 201)
    assert error_of(_refund(api, charged["id"], type="full"))["field"] == "amount"
    assert len(demo.scalars(select(Refund)).all()) == 2
    assert _payment(api, charged["id"])["amount_refunded"] == 5000


def test_bad_refund_fields_are_named_and_write_nothing(api, demo):
    charged = place(api, amount=5000)
    cases = [({"amount": 10.505}, "amount"), ({"amount": 12.0}, "amount"), ({"amount": "100"}, "amount"),
             ({"amount": 0}, "amount"), ({"amount": -1}, "amount"),
             ({"amount": 100, "currency": "eur"}, "currency"), ({"amount": 100, "currency": "nope"}, "currency"),
             ({"amount": 100, "type": "most"}, "type"), ({"amount": 100, "reason": "because"}, "reason"),
             ({"amount": 100, "note": "x" * 501}, "note")]
    for body, field in cases:
        assert error_of(_refund(api, charged["id"], **body))["field"] == field, body
    assert demo.scalars(select(Refund)).all() == []
    assert _payment(api, charged["id"])["amount_refund_pending"] == 0
    # the payment's own currency, in any case, is fine
    assert ok(_refund(api, charged["id"], amount=100, currency="USD"), 201)["currency"] == "usd"


def test_only_captured_payments_are_refunded(api):
    authorized = place(api, "authorize", amount=5000)
    error = error_of(_refund(api, authorized["id"], amount=100))
    assert error["field"] == "payment" and "requires_capture" in error["message"]


def test_large_refund_waits_for_an_admin(api, demo):
    charged = place(api, amount=80000)  # the approval threshold is 500.00 USD
    waiting = ok(_refund(api, charged["id"], amount=60000, reason="billing_error"), 201)
    assert (waiting["status"], waiting["approval"]) == ("pending", "awaiting")
    assert demo.scalars(select(Refund.stripe_refund_id).where(Refund.public_id == waiting["id"])).one() is None
    after = _payment(api, charged["id"])
    assert (after["amount_refunded"], after["amount_refund_pending"]) == (0, 60000)
    assert error_of(_refund(api, charged["id"], amount=20001))["field"] == "amount"


def test_refunds_collection_creates_and_lists(api, caller):
    first, second = place(api, amount=3000), place(api, amount=3000)
    made = [ok(api("POST", "/api/v1/refunds", json={"payment": first["id"], "amount": 100}), 201),
            ok(api("POST", "/api/v1/refunds", json={"payment": second["id"], "amount": 200,
                                                    "reason": "duplicate_charge"}), 201),
            ok(api("POST", "/api/v1/refunds", json={"payment": first["id"], "amount": 300}), 201)]
    assert made[1]["reason"] == "duplicate_charge" and made[1]["payment"] == second["id"]

    listing = ok(api("GET", "/api/v1/refunds?limit=2"))
    assert [r["id"] for r in listing["data"]] == [made[2]["id"], made[1]["id"]] and listing["has_more"]
    rest = ok(api("GET", f"/api/v1/refunds?limit=2&starting_after={made[1]['id']}"))
    assert [r["id"] for r in rest["data"]] == [made[0]["id"]] and not rest["has_more"]
    only_first = ok(api("GET", f"/api/v1/refunds?payment={first['id']}"))
    assert [r["id"] for r in only_first["data"]] == [made[2]["id"], made[0]["id"]]

    assert error_of(api("POST", "/api/v1/refunds", json={"amount": 100}))["field"] == "payment"
    missing = error_of(api("POST", "/api/v1/refunds", json={"payment": "pay_nope", "amount": 1}), 404)
    assert missing["field"] == "payment"
    assert error_of(api("GET", "/api/v1/refunds?payment=pay_nope"), 404)["field"] == "payment"

    globex = caller("globex")
    assert ok(globex("GET", "/api/v1/refunds"))["data"] == []
    stolen = globex("POST", "/api/v1/refunds", json={"payment": first["id"], "amount": 1})
    assert error_of(stolen, 404)["field"] == "payment"
    assert error_of(globex("GET", f"/api/v1/refunds?payment={first['id']}"), 404)["field"] == "payment"
    assert _payment(api, first["id"])["amount_refunded"] == 400

