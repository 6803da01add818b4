"""`/api/v1/cost_advice`: the list sorted by savings with its total in the customer's currency, one
recommendation, and dismiss / snooze / apply — the organization's own only, read and write scopes, errors naming
the field."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.currency.service import set_rate
from app.rental.models import Instance
from app.security import api_keys
from tests.advice.lifecycle_support import SPEND, audit_count, commitment, idle, recommendations, run, tier_fit


@pytest.fixture
def api(shop, client, db):
    """api(customer, scopes)(method, path, json=None): a call with a fresh key of that organization."""
    def caller(customer, scopes=("read", "write")):
        secret = api_keys.create(db, customer.org.id, "advice test key", scopes, actor_label="test").secret
        db.commit()

        def call(method, path, json=None):
            return client.http.open(path, method=method, json=json, headers={"Authorization": f"Bearer {secret}"})
        return call
    return caller


def _ids(body) -> list[str]:
    return [item["id"] for item in body["data"]]


def test_the_list_in_euros_sorted_by_savings_with_the_total(db, shop, api):
    set_rate(db, "EUR", Decimal("0.9234"), actor_label="test")
    shop.acme.org.preferred_currency = "EUR"
    db.commit()
    run(db, shop.acme, [tier_fit(savings_usd=4_900), idle(shop.acme.a100, savings_usd=12_500)])
    run(db, shop.globex, [idle(shop.globex.a100)])
    idle_rec, plan_rec = sorted(recommendations(db, shop.acme), key=lambda r: r.kind)
    response = api(shop.acme)("GET", "/api/v1/cost_advice")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert _ids(body) == [idle_rec.public_id, plan_rec.public_id]
    assert (body["total_monthly_savings"], body["currency"], body["has_more"]) == (11_543 + 4_525, "eur", False)
    assert body["data"][0] == {
        "id": idle_rec.public_id, "kind": "idle_instance", "subject": shop.acme.a100.public_id, "status": "open",
        "severity": "medium", "title": "Stop idle instance acme-train-1", "action": "stop_instance",
        "monthly_savings": 11_543, "currency": "eur", "savings_usd": 12_500, "monthly_spend_usd": SPEND,
        "evidence": {"idle_days": 6, "window_days": 14, "series": [{"label": "Nov 14", "value": 2.5}]},
        "dismiss_reason": None, "snoozed_until": None, "applied_at": None, "applied_by": None, "closed_at": None,
        "first_seen_at": "2026-11-15T03:15:00Z", "last_seen_at": "2026-11-15T03:15:00Z"}
    assert shop.globex.a100.public_id not in response.get_data(as_text=True)


def test_the_list_pages_in_savings_order_and_filters_by_status(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.l4, savings_usd=4_900), idle(shop.acme.a100), tier_fit(savings_usd=20_000)])
    order = [r.public_id for r in sorted(recommendations(db, shop.acme), key=lambda r: (-r.savings_usd, r.id))]
    big = order[0]  # the idle A100, $1,075.68
    call = api(shop.acme)
    first = call("GET", "/api/v1/cost_advice?limit=2").get_json()
    assert _ids(first) == order[:2] and first["has_more"] is True
    assert first["total_monthly_savings"] == 107_568 + 20_000 + 4_900  # the total covers every page
    rest = call("GET", f"/api/v1/cost_advice?limit=2&starting_after={order[1]}").get_json()
    assert _ids(rest) == order[2:] and rest["has_more"] is False

    assert call("POST", f"/api/v1/cost_advice/{big}/dismiss", {"reason": "training box"}).status_code == 200
    assert _ids(call("GET", "/api/v1/cost_advice").get_json()) == order[1:]
    dismissed = call("GET", "/api/v1/cost_advice?status=dismissed").get_json()
    assert _ids(dismissed) == [big] and dismissed["data"][0]["dismiss_reason"] == "training box"
    assert dismissed["total_monthly_savings"] == 107_568


def test_bad_list_queries_name_the_field(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    run(db, shop.globex, [idle(shop.globex.a100)])
    [theirs] = recommendations(db, shop.globex)
    call = api(shop.acme)
    for query, field in (("status=gone", "status"), ("limit=0", "limit"), ("limit=101", "limit"),
                         (f"starting_after={theirs.public_id}", "starting_after"),
                         ("starting_after=rec_nope", "starting_after"), ("colour=blue", "colour")):
        response = call("GET", f"/api/v1/cost_advice?{query}")
        assert response.status_code == 400, (query, response.get_json())
        assert response.get_json()["error"]["field"] == field, query


def test_one_recommendation_and_another_organizations_is_404(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    run(db, shop.globex, [idle(shop.globex.a100)])
    [mine], [theirs] = recommendations(db, shop.acme), recommendations(db, shop.globex)
    call = api(shop.acme)
    body = call("GET", f"/api/v1/cost_advice/{mine.public_id}").get_json()
    assert (body["id"], body["status"], body["monthly_savings"], body["currency"]) == (
        mine.public_id, "open", 107_568, "usd")
    for method, suffix, payload in (("GET", "", None), ("POST", "/dismiss", {"reason": "no"}),
                                    ("POST", "/snooze", {"until": "2026-12-01"}), ("POST", "/apply", None)):
        response = call(method, f"/api/v1/cost_advice/{theirs.public_id}{suffix}", payload)
        assert response.status_code == 404, (suffix, response.get_json())
        assert response.get_json()["error"]["type"] == "not_found"
    assert recommendations(db, shop.globex)[0].status == "open"
    assert db.get(Instance, shop.globex.a100.id).status == "running"


def test_dismiss_needs_a_reason(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    call = api(shop.acme)
    for payload in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 5}):
        response = call("POST", f"/api/v1/cost_advice/{rec.public_id}/dismiss", payload)
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "reason", payload
    response = call("POST", f"/api/v1/cost_advice/{rec.public_id}/dismiss", {"reason": "Our nightly training box"})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["dismiss_reason"]) == (
        "dismissed", "Our nightly training box")
    again = call("POST", f"/api/v1/cost_advice/{rec.public_id}/dismiss", {"reason": "twice"})
    assert again.status_code == 400 and again.get_json()["error"]["field"] == "status"


def test_snooze_until_a_future_date(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    call = api(shop.acme)
    path = f"/api/v1/cost_advice/{rec.public_id}/snooze"
    for until in ("2026-11-14", "2026-11-15", "2027-11-16", "15/12/2026", "2026-13-01", None):
        response = call("POST", path, {"until": until})
        assert response.status_code == 400, (until, response.get_json())
        assert response.get_json()["error"]["field"] == "until", until
    response = call("POST", path, {"until": "2026-12-01"})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["snoozed_until"]) == ("snoozed", "2026-12-01")
    assert _ids(call("GET", "/api/v1/cost_advice").get_json()) == []
    assert _ids(call("GET", "/api/v1/cost_advice?status=snoozed").get_json()) == [rec.public_id]


def test_apply_stops_the_instance_and_a_second_apply_is_refused(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    call = api(shop.acme)
    response = call("POST", f"/api/v1/cost_advice/{rec.public_id}/apply")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["applied_at"]) == ("applied", "2026-11-15T03:15:00Z")
    assert body["applied_by"].startswith("api:")
    assert call("GET", f"/api/v1/instances/{shop.acme.a100.public_id}").get_json()["status"] == "stopped"
    again = call("POST", f"/api/v1/cost_advice/{rec.public_id}/apply")
    assert again.status_code == 400 and again.get_json()["error"]["field"] == "status"
    assert audit_count(db, "instance.stopped") == 1 and audit_count(db, "advice.recommendation_applied") == 1


def test_apply_refuses_advice_only_naming_the_action(db, shop, api):
    run(db, shop.acme, [commitment(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    response = api(shop.acme)("POST", f"/api/v1/cost_advice/{rec.public_id}/apply")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "action"


def test_a_read_only_key_reads_but_cannot_act(db, shop, api):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    call = api(shop.acme, scopes=("read",))
    assert call("GET", "/api/v1/cost_advice").status_code == 200
    assert call("GET", f"/api/v1/cost_advice/{rec.public_id}").status_code == 200
    for suffix, payload in (("/dismiss", {"reason": "no"}), ("/snooze", {"until": "2026-12-01"}), ("/apply", None)):
        response = call("POST", f"/api/v1/cost_advice/{rec.public_id}{suffix}", payload)
        assert response.status_code == 403 and response.get_json()["error"]["type"] == "permission_error"
    assert recommendations(db, shop.acme)[0].status == "open"
    assert db.get(Instance, shop.acme.a100.id).status == "running"


def test_without_a_key_every_endpoint_is_unauthorized(db, shop, client):
    run(db, shop.acme, [idle(shop.acme.a100)])
    [rec] = recommendations(db, shop.acme)
    for method, path in (("GET", "/api/v1/cost_advice"), ("GET", f"/api/v1/cost_advice/{rec.public_id}"),
                         ("POST", f"/api/v1/cost_advice/{rec.public_id}/dismiss"),
                         ("POST", f"/api/v1/cost_advice/{rec.public_id}/snooze"),
                         ("POST", f"/api/v1/cost_advice/{rec.public_id}/apply")):
        response = client.http.open(path, method=method, json={})
        assert response.status_code == 401 and response.get_json()["error"]["type"] == "authentication_error"
    assert recommendations(db, shop.acme)[0].status == "open"


def test_every_endpoint_is_documented_with_its_scope(shop, client):
    paths = client.http.get("/api/v1/openapi.json").get_json()["paths"]
    listing = paths["/api/v1/cost_advice"]["get"]
    assert listing["x-required-scope"] == "read"
    assert {p["name"] for p in listing["parameters"]} == {"limit", "starting_after", "status"}
    assert paths["/api/v1/cost_advice/{public_id}"]["get"]["x-required-scope"] == "read"
    for action in ("dismiss", "snooze", "apply"):
        assert paths[f"/api/v1/cost_advice/{{public_id}}/{action}"]["post"]["x-required-scope"] == "write"
    body = paths["/api/v1/cost_advice/{public_id}/snooze"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/SnoozeBody")
