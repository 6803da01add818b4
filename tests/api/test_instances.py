"""Instances over the API: cursor pagination, tenant scoping, validation, the error shape."""
from sqlalchemy import select

from app.accounts.models import Organization
from app.rental.models import Instance


def _add_instances(db, slug, count):
    org = db.scalars(select(Organization).where(Organization.slug == slug)).one()
    for n in range(count):
        db.add(Instance(org_id=org.id, name=f"extra-{n:02d}", gpu_type="L4-24GB", hourly_rate=59, currency="USD"))
    db.commit()


def test_cursor_pagination_walks_every_instance_once(api, demo):
    _add_instances(demo, "acme", 12)
    seen, cursor = [], None
    while True:
        path = "/api/v1/instances?limit=4" + (f"&starting_after={cursor}" if cursor else "")
        page = api("GET", path).get_json()
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert len(seen) == 15 == len(set(seen))
    assert all(i.startswith("ins_") for i in seen)


def test_list_shape_and_lower_case_currency(api):
    body = api("GET", "/api/v1/instances").get_json()
    assert body["has_more"] is False
    first = body["data"][0]
    assert set(first) == {"id", "name", "gpu_type", "hourly_rate", "currency", "status", "created_at"}
    assert first["currency"] == "usd" and isinstance(first["hourly_rate"], int)


def test_other_organizations_instances_are_invisible(api, demo):
    theirs = demo.scalars(select(Instance).where(Instance.name == "llm-h100-1")).one()
    names = {i["name"] for i in api("GET", "/api/v1/instances?limit=100").get_json()["data"]}
    assert "llm-h100-1" not in names
    assert api("GET", f"/api/v1/instances/{theirs.public_id}").status_code == 404
    assert api("PATCH", f"/api/v1/instances/{theirs.public_id}", json={"name": "x"}).status_code == 404
    cursor = api("GET", f"/api/v1/instances?starting_after={theirs.public_id}")
    assert cursor.status_code == 400 and cursor.get_json()["error"]["field"] == "starting_after"
    demo.refresh(theirs)
    assert theirs.name == "llm-h100-1"


def test_bad_list_parameters_name_the_field(api):
    for query, field in (("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
                         ("starting_after=ins_nope", "starting_after"), ("colour=red", "colour")):
        response = api("GET", f"/api/v1/instances?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["field"] == field, query


def test_rename_over_the_api(api):
    instance = api("GET", "/api/v1/instances").get_json()["data"][0]
    response = api("PATCH", f"/api/v1/instances/{instance['id']}", json={"name": "api-renamed"})
    assert response.status_code == 200 and response.get_json()["name"] == "api-renamed"
    assert api("GET", f"/api/v1/instances/{instance['id']}").get_json()["name"] == "api-renamed"


def test_malformed_json_is_a_400_in_the_error_shape(api):
    instance = api("GET", "/api/v1/instances").get_json()["data"][0]
    path = f"/api/v1/instances/{instance['id']}"
    response = api("PATCH", path, data='{"name": ', content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith("Malformed JSON body")
    assert api("PATCH", path, data="[1, 2]", content_type="application/json").get_json()["error"]["message"] \
        == "The JSON body must be an object."


def test_validation_errors_name_the_field(api):
    instance = api("GET", "/api/v1/instances").get_json()["data"][0]
    path = f"/api/v1/instances/{instance['id']}"
    for body, field in (({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                        ({"name": 5}, "name"), ({"name": "ok", "status": "stopped"}, "status")):
        response = api("PATCH", path, json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["field"] == field, body
    whitespace = api("PATCH", path, json={"name": "   "})
    assert whitespace.status_code == 400 and whitespace.get_json()["error"] == {
        "type": "invalid_request_error", "message": "Name cannot be empty.", "field": "name"}


def test_unknown_api_route_and_method_are_json(api):
    response = api("GET", "/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["type"] == "not_found"
    response = api("DELETE", "/api/v1/me")
    assert response.status_code == 405 and "error" in response.get_json()
