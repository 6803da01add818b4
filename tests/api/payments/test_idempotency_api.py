"""Idempotency-Key on the payments API, against localstripe on both databases:
a retried request gets the first answer byte for byte and money moves once; the
same key with other parameters is refused naming the header; concurrent retries
never make two payments; refusals found while running are replayed, schema
refusals and 5xx answers are not stored."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.payments.models import IdempotencyRecord, Payment, Refund
from tests.api.payments.conftest import error_of, intents_for, ok, order_id, place
from tests.conftest import free_port


def _charge_body(order, amount=10000, payment_method="pm_card_visa"):
    return {"order_id": order, "amount": amount, "currency": "usd", "payment_method": payment_method}


def _payments(db, order) -> list[Payment]:
    db.expire_all()
    return db.scalars(select(Payment).where(Payment.order_id == order)).all()


def test_the_same_charge_sent_twice_charges_once(api, app, demo):
    order = order_id()
    first = api("POST", "/api/v1/payments/charge", json=_charge_body(order), key="charge-1")
    second = api("POST", "/api/v1/payments/charge", json=_charge_body(order), key="charge-1")

    assert first.status_code == second.status_code == 201
    assert second.get_data() == first.get_data()
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Content-Type"] == "application/json"
    [payment] = _payments(demo, order)
    assert payment.public_id == first.get_json()["id"]
    assert [intent.id for intent in intents_for(app, order)] == [payment.stripe_payment_intent_id]


def test_without_a_key_every_request_runs(api, app, demo):
    order = order_id()
    for _ in range(2):
        place(api, order=order, amount=500)
    assert len(_payments(demo, order)) == 2 and len(intents_for(app, order)) == 2
    assert demo.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_the_same_key_with_other_parameters_is_refused(api, demo):
    order = order_id()
    place(api, order=order, amount=1000, key="k-1")
    changed = api("POST", "/api/v1/payments/charge", json=_charge_body(order, amount=2000), key="k-1")
    assert error_of(changed) == {"type": "idempotency_error", "field": "Idempotency-Key",
                                 "message": "This Idempotency-Key was already used with different parameters."}
    other_path = api("POST", "/api/v1/payments/authorize", json=_charge_body(order, amount=1000), key="k-1")
    assert error_of(other_path)["type"] == "idempotency_error"
    assert [p.amount for p in _payments(demo, order)] == [1000]


def test_keys_belong_to_one_organization(api, caller, demo):
    order = order_id()
    mine = place(api, order=order, amount=1000, key="shared-key")
    theirs = place(caller("globex"), order=order, amount=1000, key="shared-key")
    assert mine["id"] != theirs["id"] and len(_payments(demo, order)) == 2


def test_a_blank_or_overlong_key_is_refused(api, demo):
    order = order_id()
    for key in ("   ", "k" * 256):
        error = error_of(api("POST", "/api/v1/payments/charge", json=_charge_body(order), key=key))
        assert error["field"] == "Idempotency-Key"
    assert _payments(demo, order) == []


def test_concurrent_retries_make_one_payment(app, caller, demo):
    order = order_id()
    callers = [caller(), caller()]
    barrier = threading.Barrier(len(callers))
    answers = []

    def send(call):
        barrier.wait()
        answers.append(call("POST", "/api/v1/payments/charge", json=_charge_body(order), key="race-1"))

    threads = [threading.Thread(target=send, args=(call,)) for call in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([201, 201], [201, 409]), [a.get_data(as_text=True) for a in answers]
    winner = next(a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers)
    for answer in answers:
        if answer is winner:
            continue
        if answer.status_code == 201:
            assert answer.headers["Idempotent-Replayed"] == "true" and answer.get_data() == winner.get_data()
        else:
            assert error_of(answer, 409) == {
                "type": "idempotency_error", "field": "Idempotency-Key",
                "message": "A request with this Idempotency-Key is still being processed; retry shortly."}
    [payment] = _payments(demo, order)
    assert len(intents_for(app, order)) == 1 and payment.public_id == winner.get_json()["id"]


def test_a_replayed_refund_moves_money_once(api, demo):
    charged = place(api, amount=5000)
    path = f"/api/v1/payments/{charged['id']}/refund"
    first = api("POST", path, json={"amount": 1500, "type": "partial", "reason": "other"}, key="refund-1")
    again = api("POST", path, json={"amount": 1500, "type": "partial", "reason": "other"}, key="refund-1")
    assert first.status_code == again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ok(api("GET", f"/api/v1/payments/{charged['id']}"))["amount_refunded"] == 1500
    assert demo.scalar(select(func.count()).select_from(Refund)) == 1

    via_collection = {"payment": charged["id"], "amount": 500}
    made = ok(api("POST", "/api/v1/refunds", json=via_collection, key="refund-2"), 201)
    assert ok(api("POST", "/api/v1/refunds", json=via_collection, key="refund-2"), 201) == made
    assert ok(api("GET", f"/api/v1/payments/{charged['id']}"))["amount_refunded"] == 2000


def test_refusals_found_while_running_are_replayed(api, demo):
    order = order_id()
    declined = api("POST", "/api/v1/payments/charge", key="decline-1",
                   json=_charge_body(order, payment_method="pm_card_visa_chargeDeclined"))
    replayed = api("POST", "/api/v1/payments/charge", key="decline-1",
                   json=_charge_body(order, payment_method="pm_card_visa_chargeDeclined"))
    assert declined.status_code == replayed.status_code == 402
    assert replayed.get_data() == declined.get_data() and replayed.headers["Idempotent-Replayed"] == "true"
    assert [p.status for p in _payments(demo, order)] == ["failed"]

    authorized = place(api, "authorize", amount=3000)
    path = f"/api/v1/payments/{authorized['id']}/capture"
    too_much = api("POST", path, json={"amount": 3001}, key="capture-1")
    assert error_of(too_much)["field"] == "amount"
    again = api("POST", path, json={"amount": 3001}, key="capture-1")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_data() == too_much.get_data()
    assert ok(api("GET", f"/api/v1/payments/{authorized['id']}"))["status"] == "requires_capture"
    record = demo.scalars(select(IdempotencyRecord).where(IdempotencyRecord.key == "capture-1")).one()
    assert (record.response_status, record.response_body) == (400, too_much.get_data(as_text=True))


def test_schema_refusals_do_not_use_up_the_key(api, demo):
    order = order_id()
    bad = api("POST", "/api/v1/payments/charge", json=_charge_body(order, amount=10.5), key="fix-me")
    assert error_of(bad)["field"] == "amount"
    fixed = place(api, order=order, amount=1050, key="fix-me")
    assert [p.public_id for p in _payments(demo, order)] == [fixed["id"]]


def test_an_unreachable_gateway_keeps_the_payment_and_the_answer(api, app, demo):
    """The outcome is unknown, so the answer is 202 `processing` and it is kept:
    a retry must not create a second payment that could charge again."""
    order = order_id()
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"
    first = api("POST", "/api/v1/payments/charge", json=_charge_body(order), key="lost-1")
    again = api("POST", "/api/v1/payments/charge", json=_charge_body(order), key="lost-1")
    body = ok(first, 202)
    assert (body["status"], body["failure_code"]) == ("processing", "gateway_unreachable")
    assert again.status_code == 202 and again.get_data() == first.get_data()
    assert len(_payments(demo, order)) == 1


def test_a_5xx_answer_releases_the_key(api, app, demo):
    order = order_id()
    app.config["STRIPE_SECRET_KEY"] = ""
    unconfigured = api("POST", "/api/v1/payments/charge", json=_charge_body(order), key="retry-me")
    assert error_of(unconfigured, 503)["type"] == "api_error"
    assert demo.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    app.config["STRIPE_SECRET_KEY"] = "sk_test_matrix"
    charged = place(api, order=order, amount=10000, key="retry-me")
    assert [p.public_id for p in _payments(demo, order)] == [charged["id"]]
