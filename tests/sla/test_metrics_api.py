"""POST /api/v1/metrics with real API keys: the answer's shape, re-sent batches, refusals naming the sample and
field (whether pydantic or the service found the fault), keys and scopes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.security import api_keys
from app.sla.models import BUCKET_COLUMNS, SlaMinute, SlaSample
from tests.sla.conftest import NOW

AT = "2026-11-14T10:00:00Z"


@pytest.fixture
def api_as(client, db, customers):
    """api_as(org, scopes)(json=…): POST /api/v1/metrics with a fresh key of that organization."""
    def caller(org=None, scopes=("read", "write")):
        org = org or customers.acme.org
        secret = api_keys.create(db, org.id, "metrics test key", scopes, actor_label="test").secret
        db.commit()
        return lambda **kwargs: client.http.post("/api/v1/metrics", headers={"Authorization": f"Bearer {secret}"},
                                                 **kwargs)
    return caller


def _stored(db) -> tuple[int, int]:
    return (db.scalar(select(func.count()).select_from(SlaSample)),
            db.scalar(select(func.count()).select_from(SlaMinute)))


def _body(customers, *samples) -> dict:
    instance = customers.acme.instance.public_id
    return {"samples": [{"instance": instance, "timestamp": AT, **s} for s in samples]}


def test_report_samples_then_resend_them(api_as, db, customers):
    post = api_as()
    body = _body(customers,
                 {"requests": 6000, "errors": 3, "available": True, "latency_ms": {"p50": 80, "p95": 190, "p99": 350}},
                 {"timestamp": "2026-11-14T11:00:30+01:00", "available": False},  # 10:00:30 UTC, the same minute
                 {"timestamp": "2026-11-14T10:01:00.250Z", "requests": 10,
                  "latency_histogram": {"50": 4, "100": 5, "+Inf": 1}})

    first = post(json=body)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"data": [{"index": 0, "status": "recorded"}, {"index": 1, "status": "recorded"},
                                         {"index": 2, "status": "recorded"}], "recorded": 3, "duplicates": 0}
    body["samples"].append({**body["samples"][0], "timestamp": "2026-11-14T10:00:10Z"})
    again = post(json=body).get_json()
    assert (again["recorded"], again["duplicates"]) == (1, 3)
    assert [r["status"] for r in again["data"]] == ["duplicate", "duplicate", "duplicate", "recorded"]

    db.expire_all()
    rollup = db.get(SlaMinute, (customers.acme.org.id, NOW.replace(hour=10)))
    assert (rollup.samples, rollup.checks, rollup.checks_failed, rollup.requests, rollup.errors) == (3, 3, 1, 12000, 6)
    assert [getattr(rollup, name) for name in BUCKET_COLUMNS] == [0, 6000, 5400, 0, 600, 0, 0, 0]
    assert _stored(db) == (4, 2)


def _refusal(post, body, status=400) -> dict:
    response = post(json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_bad_samples_are_refused_naming_the_sample_and_field(api_as, db, customers):
    post = api_as()
    good = {"requests": 10, "available": True}
    globex_instance = customers.globex.instance.public_id
    cases = [  # the schema's findings, then the service's: the same naming either way
        ({"requests": True}, "samples[1].requests", "valid integer"),
        ({"requests": "10"}, "samples[1].requests", "valid integer"),
        ({"requests": 1.5}, "samples[1].requests", "valid integer"),
        ({"available": "yes"}, "samples[1].available", "valid boolean"),
        ({"timestamp": "2026-11-14T10:00:00"}, "samples[1].timestamp", "timezone"),
        ({"timestamp": None}, "samples[1].timestamp", "valid datetime"),
        ({"colour": "blue"}, "samples[1].colour", "Extra inputs"),
        ({"latency_ms": {"p50": "fast", "p95": 100}}, "samples[1].latency_ms.p50", "valid number"),
        ({"latency_ms": {"p50": 10, "p95": 100, "p90": 50}}, "samples[1].latency_ms.p90", "Extra inputs"),
        ({"latency_histogram": {"50": 2.5}}, "samples[1].latency_histogram.50", "valid integer"),
        ({"requests": -1}, "samples[1].requests", "between 0 and"),
        ({"errors": 11}, "samples[1].errors", "cannot exceed requests"),
        ({"timestamp": "2026-11-14T12:01:01Z"}, "samples[1].timestamp", "60 seconds in the future"),
        ({"timestamp": "2026-10-31T23:59:59Z"}, "samples[1].timestamp", "month is closed"),
        ({"latency_ms": {"p50": -5, "p95": 100}}, "samples[1].latency_ms.p50", "below zero"),
        ({"latency_histogram": {"50": 3}}, "samples[1].latency_histogram", "counts 3 requests"),
        ({"instance": "ins_nope"}, "samples[1].instance", "unknown instance"),
        ({"instance": globex_instance}, "samples[1].instance", "unknown instance"),
        ({"requests": 0, "available": None}, "samples[1]", "says nothing"),
    ]
    for change, field, words in cases:
        error = _refusal(post, _body(customers, good, {**good, **change}))
        assert (error["type"], error["field"]) == ("invalid_request_error", field), (change, error)
        assert error["message"].startswith("Sample 1: ") and words in error["message"], (change, error)
    assert _refusal(post, {"samples": []})["field"] == "samples"
    assert _refusal(post, {})["field"] == "samples"
    seconds = [(NOW - timedelta(hours=2) + timedelta(seconds=n)).isoformat() for n in range(1001)]
    oversized = _refusal(post, _body(customers, *({**good, "timestamp": at} for at in seconds)))
    assert oversized["field"] == "samples" and "at most 1,000" in oversized["message"]
    assert _stored(db) == (0, 0)


def test_reporting_needs_a_key_with_the_write_scope(api_as, client, db, customers):
    body = _body(customers, {"requests": 1})

    anonymous = client.http.post("/api/v1/metrics", json=body)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["type"] == "authentication_error"
    wrong = client.http.post("/api/v1/metrics", json=body, headers={"Authorization": "Bearer mtx_sk_notakey"})
    assert wrong.status_code == 401
    read_only = _refusal(api_as(scopes=("read",)), body, status=403)
    assert read_only["type"] == "permission_error" and "'write' scope" in read_only["message"]
    assert _stored(db) == (0, 0)


def test_another_organizations_key_cannot_report_for_my_instance(api_as, db, customers):
    error = _refusal(api_as(customers.globex.org), _body(customers, {"requests": 1}))
    assert error["field"] == "samples[0].instance" and _stored(db) == (0, 0)


def test_metrics_are_in_the_openapi_document(client):
    post = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/metrics"]["post"]
    assert post["x-required-scope"] == "write"
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/MetricsBatch")
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MetricsBatchResult")
