"""Disputes through the API, on both databases: a customer opens one on a captured
payment (through the disputes service, against localstripe), lists them, and
cannot reach another organization's payments or disputes; bad input names its field."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.payments.models import Dispute
from tests.api.payments.conftest import error_of, ok, place

DISPUTE_FIELDS = {"id", "object", "payment", "status", "reason", "amount", "currency", "evidence_due_by",
                  "created_at"}


def _open(api, payment_id, key=None, **body):
    return api("POST", "/api/v1/disputes", key=key,
               json={"payment": payment_id, "reason": "product_not_received", "description": "never arrived", **body})


def test_open_list_and_replay(api, demo):
    charged = place(api, amount=7000)
    ok(api("POST", f"/api/v1/payments/{charged['id']}/refund", json={"amount": 2000}), 201)
    opened = ok(_open(api, charged["id"], key="dispute-1"), 201)
    assert set(opened) == DISPUTE_FIELDS
    assert opened["id"].startswith("dp_") and opened["object"] == "dispute"
    assert (opened["payment"], opened["reason"], opened["currency"]) == (charged["id"], "product_not_received", "usd")
    # a customer's dispute waits for our response, over what was captured and not refunded
    assert (opened["status"], opened["amount"]) == ("needs_response", 5000)
    due = datetime.fromisoformat(opened["evidence_due_by"]) - datetime.fromisoformat(opened["created_at"])
    assert abs(due - timedelta(days=7)) < timedelta(seconds=5)

    replayed = _open(api, charged["id"], key="dispute-1")
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json() == opened
    assert demo.scalar(select(func.count()).select_from(Dispute)) == 1
    second = error_of(_open(api, charged["id"], key="dispute-2"))
    assert second["field"] == "payment" and opened["id"] in second["message"]

    listing = ok(api("GET", "/api/v1/disputes"))
    assert [d["id"] for d in listing["data"]] == [opened["id"]] and listing["has_more"] is False
    assert ok(api("GET", f"/api/v1/disputes?payment={charged['id']}"))["data"] == listing["data"]
    assert ok(api("GET", "/api/v1/disputes?limit=1"))["data"] == listing["data"]


def test_bad_dispute_requests_name_the_field(api, demo):
    charged = place(api, amount=7000)
    assert error_of(_open(api, charged["id"], reason="i_changed_my_mind"))["field"] == "reason"
    assert error_of(_open(api, charged["id"], description="   "))["field"] == "description"
    no_description = api("POST", "/api/v1/disputes", json={"payment": charged["id"], "reason": "general"})
    assert error_of(no_description)["field"] == "description"
    authorized = place(api, "authorize", amount=1000)
    assert error_of(_open(api, authorized["id"]))["field"] == "payment"
    assert error_of(api("POST", "/api/v1/disputes", json={"reason": "general"}))["field"] == "payment"
    assert error_of(_open(api, "pay_unknown"), 404)["field"] == "payment"
    assert error_of(api("GET", "/api/v1/disputes?payment=pay_unknown"), 404)["field"] == "payment"
    assert demo.scalar(select(func.count()).select_from(Dispute)) == 0


def test_another_organization_sees_nothing(api, caller, demo):
    charged = place(api, amount=7000)
    ok(_open(api, charged["id"]), 201)
    globex = caller("globex")
    assert ok(globex("GET", "/api/v1/disputes"))["data"] == []
    assert error_of(_open(globex, charged["id"]), 404)["field"] == "payment"
    assert demo.scalar(select(func.count()).select_from(Dispute)) == 1
