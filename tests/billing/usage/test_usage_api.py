"""POST /api/v1/usage and GET /api/v1/usage."""
from __future__ import annotations

from sqlalchemy import func, select, update

from app.billing.models import Subscription, UsageRecord
from app.rental.models import Instance
from tests.support import org


def _instance(db, slug: str) -> str:
    return db.scalar(select(Instance.public_id).where(Instance.org_id == org(db, slug).id).order_by(Instance.id))


def _records(db) -> int:
    return db.scalar(select(func.count()).select_from(UsageRecord))


def test_report_usage_then_read_the_summary(api_as, demo_november):
    call = api_as("acme")
    instance = _instance(demo_november, "acme")
    body = {"records": [
        {"idempotency_key": "run-42-h1", "metric": "gpu_seconds", "quantity": 3600, "instance": instance,
         "timestamp": "2026-11-14T10:00:00Z"},
        {"idempotency_key": "api-7", "metric": "api_requests", "quantity": 1_050_000, "model": "llama-3-70b",
         "timestamp": "2026-11-13T23:59:59+01:00"}]}

    first = call("POST", "/api/v1/usage", json=body)
    assert first.status_code == 200, first.get_json()
    answer = first.get_json()
    assert (answer["recorded"], answer["duplicates"]) == (2, 0)
    assert [(r["idempotency_key"], r["status"]) for r in answer["data"]] == [("run-42-h1", "recorded"),
                                                                           ("api-7", "recorded")]
    again = call("POST", "/api/v1/usage", json=body).get_json()
    assert (again["recorded"], again["duplicates"]) == (0, 2)
    assert [r["id"] for r in again["data"]] == [r["id"] for r in answer["data"]]

    summary = call("GET", "/api/v1/usage").get_json()
    assert (summary["period_start"], summary["period_end"], summary["plan"]) == (
        "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "pro")
    gpu, api = summary["metrics"]
    assert gpu == {"metric": "gpu_seconds", "used": 3600, "included": 360_000, "percent": 1.0, "overage_quantity": 0,
                   "overage_cost": 0, "currency": "usd", "thresholds_reached": []}
    assert api == {"metric": "api_requests", "used": 1_050_000, "included": 1_000_000, "percent": 105.0,
                   "overage_quantity": 50_000, "overage_cost": 1000, "currency": "usd",
                   "thresholds_reached": [80, 100]}
    days = {day["date"]: day for day in summary["daily"]}
    assert len(days) == 14 and days["2026-11-13"]["api_requests"] == 1_050_000  # 23:59:59+01:00 is 22:59:59 UTC
    assert days["2026-11-14"] == {"date": "2026-11-14", "gpu_seconds": 3600, "api_requests": 0}
    assert summary["models"] == [{"model": "llama-3-70b", "requests": 1_050_000}]
    assert summary["instances"] == [{"instance": instance, "name": "training-a100-1", "gpu_seconds": 3600}]
    assert summary["models_has_more"] is False


def _refusal(call, records, status=400):
    response = call("POST", "/api/v1/usage", json={"records": records})
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_bad_records_are_refused_naming_the_record(api_as, demo_november):
    call = api_as("acme")
    good = {"idempotency_key": "ok", "metric": "api_requests", "quantity": 1, "model": "m"}
    cases = [
        ({"quantity": "10"}, "records[1].quantity", "valid integer"),
        ({"quantity": 1.5}, "records[1].quantity", "valid integer"),
        ({"metric": "gpu_hours"}, "records[1].metric", "'gpu_seconds' or 'api_requests'"),
        ({"timestamp": "2026-11-14T10:00:00"}, "records[1].timestamp", "timezone"),
        ({"colour": "blue"}, "records[1].colour", "Extra inputs"),
        ({"quantity": -1}, "records[1].quantity", "between 0 and"),
        ({"timestamp": "2026-11-14T13:00:00Z"}, "records[1].timestamp", "5 minutes in the future"),
        ({"metric": "gpu_seconds", "model": None, "instance": _instance(demo_november, "globex")},
         "records[1].instance", "no instance"),
    ]
    for change, field, words in cases:
        error = _refusal(call, [good, {**good, "idempotency_key": "bad", **change}])
        assert (error["type"], error["field"]) == ("invalid_request_error", field), (change, error)
        assert error["message"].startswith("Record 1: ") and words in error["message"], (change, error)
    assert _refusal(call, [])["field"] == "records"
    assert call("POST", "/api/v1/usage", json={}).get_json()["error"]["field"] == "records"
    assert _records(demo_november) == 0


def test_reporting_needs_the_write_scope(api_as, demo_november):
    read_only = api_as("acme", scopes=("read",))
    record = {"idempotency_key": "k", "metric": "api_requests", "quantity": 1, "model": "m"}

    error = _refusal(read_only, [record], status=403)
    assert error["type"] == "permission_error" and "'write' scope" in error["message"]
    assert read_only("GET", "/api/v1/usage").status_code == 200
    assert _records(demo_november) == 0


def test_organizations_see_their_own_usage(api_as, demo_november):
    api_as("acme")("POST", "/api/v1/usage", json={"records": [
        {"idempotency_key": "k", "metric": "api_requests", "quantity": 5, "model": "acme-model"}]})

    summary = api_as("globex")("GET", "/api/v1/usage").get_json()
    assert summary["plan"] == "enterprise" and summary["models"] == []
    assert [m["used"] for m in summary["metrics"]] == [0, 0]


def test_usage_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/usage"]
    assert paths["post"]["x-required-scope"] == "write" and paths["get"]["x-required-scope"] == "read"
    assert paths["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/UsageBatch")


def test_without_a_subscription_the_summary_is_not_found(api_as, demo_november):
    call = api_as("acme")
    demo_november.execute(update(Subscription).values(status="cancelled"))
    demo_november.commit()

    response = call("GET", "/api/v1/usage")
    assert response.status_code == 404 and "no current subscription" in response.get_json()["error"]["message"]
    assert _refusal(call, [{"idempotency_key": "k", "metric": "api_requests", "quantity": 1, "model": "m"}])[
        "field"] == "records"
