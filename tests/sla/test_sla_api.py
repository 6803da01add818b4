"""GET /api/v1/sla/metrics and GET /api/v1/sla/alerts: this month's figures against the objectives with the
30-day series, and the alerts paged newest first with a status filter — the organization's own only."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app import clock
from app.security import api_keys
from app.sla.models import SlaAlert
from tests.sla.conftest import MINUTE, NOVEMBER, write_minutes

TWENTY_DAYS = datetime(2026, 11, 21, tzinfo=timezone.utc)  # 28,800 minutes into November


@pytest.fixture
def api_as(customers, client, db):
    """api_as(customer)(path): GET with a fresh read-only key of that organization."""
    def caller(customer, scopes=("read",)):
        secret = api_keys.create(db, customer.org.id, "sla test key", scopes, actor_label="test").secret
        db.commit()
        return lambda path: client.http.get(path, headers={"Authorization": f"Bearer {secret}"})
    return caller


def test_metrics_this_month_against_the_objectives_with_30_days(customers, api_as, db):
    clock.freeze(TWENTY_DAYS)
    write_minutes(db, customers.acme.org.id, NOVEMBER, 28_800, down=set(range(145)))  # one minute beyond 0.5%
    response = api_as(customers.acme)("/api/v1/sla/metrics")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["month_start"], body["month_end"], body["as_of"]) == (
        "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-11-21T00:00:00Z")
    assert body["objectives"] == {"tier": "pro", "effective_from": "2026-01-01T00:00:00Z", "uptime_percent": 99.5,
                                  "latency_p95_ms": 500, "throughput_rps": 100, "error_rate_percent": 1.0}
    assert body["metrics"] == [
        {"metric": "uptime", "objective": 99.5, "measured": 99.496, "unit": "%", "status": "breached"},
        {"metric": "latency_p95", "objective": 500.0, "measured": 162.5, "unit": "ms", "status": "met"},
        {"metric": "error_rate", "objective": 1.0, "measured": 0.0, "unit": "%", "status": "met"},
        {"metric": "throughput", "objective": 100.0, "measured": 16.6, "unit": "req/s", "status": "met"}]
    assert (body["minutes_expected"], body["minutes_observed"], body["down_minutes"]) == (28_800, 28_800, 145)
    assert (body["coverage_percent"], body["partial"], body["requests"], body["errors"]) == (
        100.0, False, 28_800_000, 0)

    daily = body["daily"]
    assert len(daily) == 30 and daily[0]["date"] == "2026-10-23" and daily[-1]["date"] == "2026-11-21"
    assert daily[0] == {"date": "2026-10-23", "uptime_percent": None, "latency_p95_ms": None, "requests": 0,
                        "errors": 0, "minutes_expected": 1440, "minutes_observed": 0, "down_minutes": 0,
                        "partial": True}
    first = daily[9]  # 1 November: all 145 down minutes
    assert (first["date"], first["uptime_percent"], first["down_minutes"], first["partial"]) == (
        "2026-11-01", 89.93, 145, False)
    assert daily[10]["uptime_percent"] == 100.0 and daily[10]["latency_p95_ms"] == 162.5
    assert daily[-1]["minutes_expected"] == 0  # today has just begun


def test_partial_and_empty_months_say_so(customers, api_as, db):
    write_minutes(db, customers.acme.org.id, NOVEMBER, 10_000)  # clock at 14 November 12:00: 19,440 minutes
    body = api_as(customers.acme)("/api/v1/sla/metrics").get_json()
    assert (body["partial"], body["minutes_observed"], body["minutes_expected"], body["coverage_percent"]) == (
        True, 10_000, 19_440, 51.4)
    assert body["metrics"][0]["measured"] == 100.0  # over the measured minutes, flagged partial

    empty = api_as(customers.globex)("/api/v1/sla/metrics").get_json()  # globex sent nothing
    assert empty["objectives"]["tier"] == "enterprise" and empty["minutes_observed"] == 0
    assert [(m["metric"], m["measured"], m["status"]) for m in empty["metrics"]] == [
        ("uptime", None, "no_data"), ("latency_p95", None, "no_data"), ("error_rate", None, "no_data"),
        ("throughput", None, "no_data")]
    assert all(day["minutes_observed"] == 0 for day in empty["daily"]) and len(empty["daily"]) == 30


def _alert(db, org_id, metric, hours_ago, resolved=False):
    opened = clock.utcnow() - timedelta(hours=hours_ago)
    uptime = metric == "uptime"
    alert = SlaAlert(org_id=org_id, metric=metric, objective=Decimal("99.5") if uptime else Decimal(500),
                     measured=Decimal("97.25") if uptime else Decimal("612.4"), window_start=opened - 60 * MINUTE,
                     window_end=opened, worst_measured=Decimal("96.5"), last_measured=Decimal("98"),
                     last_window_end=opened, opened_at=opened,
                     resolved_at=opened + 30 * MINUTE if resolved else None)
    db.add(alert)
    db.commit()
    return alert.public_id


def test_alerts_newest_first_paged_and_filtered(customers, api_as, db):
    resolved = [_alert(db, customers.acme.org.id, "latency_p95", 20 - n, resolved=True) for n in range(4)]  # 20…17 h
    open_uptime = _alert(db, customers.acme.org.id, "uptime", 1)
    theirs = _alert(db, customers.globex.org.id, "uptime", 2)
    call = api_as(customers.acme)

    everything = call("/api/v1/sla/alerts").get_json()
    assert [a["id"] for a in everything["data"]] == [open_uptime, *reversed(resolved)]
    assert everything["has_more"] is False and theirs not in str(everything)
    assert everything["data"][0] == {
        "id": open_uptime, "metric": "uptime", "status": "open", "unit": "%", "objective": 99.5, "measured": 97.25,
        "window_start": "2026-11-14T10:00:00Z", "window_end": "2026-11-14T11:00:00Z", "worst_measured": 96.5,
        "last_measured": 98.0, "last_window_end": "2026-11-14T11:00:00Z", "opened_at": "2026-11-14T11:00:00Z",
        "resolved_at": None}
    assert everything["data"][1]["resolved_at"] == "2026-11-13T19:30:00Z" and everything["data"][1]["unit"] == "ms"

    first = call("/api/v1/sla/alerts?limit=2&status=resolved").get_json()
    assert [a["id"] for a in first["data"]] == [resolved[3], resolved[2]] and first["has_more"] is True
    rest = call(f"/api/v1/sla/alerts?limit=2&status=resolved&starting_after={resolved[2]}").get_json()
    assert [a["id"] for a in rest["data"]] == [resolved[1], resolved[0]] and rest["has_more"] is False
    opened = call("/api/v1/sla/alerts?status=open").get_json()
    assert [a["id"] for a in opened["data"]] == [open_uptime]


def test_bad_alert_queries_are_refused_naming_the_field(customers, api_as, db):
    theirs = _alert(db, customers.globex.org.id, "uptime", 2)
    call = api_as(customers.acme)
    for query, field in (("status=closed", "status"), ("limit=0", "limit"), ("limit=101", "limit"),
                         (f"starting_after={theirs}", "starting_after"), ("starting_after=sla_nope", "starting_after"),
                         ("colour=blue", "colour")):
        response = call(f"/api/v1/sla/alerts?{query}")
        assert response.status_code == 400, (query, response.get_json())
        error = response.get_json()["error"]
        assert (error["type"], error["field"]) == ("invalid_request_error", field), (query, error)


def test_without_a_key_both_are_unauthorized(customers, client):
    for path in ("/api/v1/sla/metrics", "/api/v1/sla/alerts"):
        response = client.http.get(path)
        assert response.status_code == 401 and response.get_json()["error"]["type"] == "authentication_error"


def test_both_are_documented_with_their_read_scope(customers, client):
    paths = client.http.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/sla/metrics", "/api/v1/sla/alerts"):
        assert paths[path]["get"]["x-required-scope"] == "read"
    assert {p["name"] for p in paths["/api/v1/sla/alerts"]["get"]["parameters"]} == {
        "limit", "starting_after", "status"}
