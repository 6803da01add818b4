"""Client instances page: list, detail, inline rename with htmx, and without JavaScript."""
import pytest
from sqlalchemy import select

from app.rental.models import Instance


def _instance(db, name):
    return db.scalars(select(Instance).where(Instance.name == name)).one()


def test_list_shows_rates_and_statuses(demo, client):
    client.login("alice@acme.test")
    body = client.get("/client/instances").get_data(as_text=True)
    assert "training-a100-1" in body and "$2.49/h" in body and "badge-stopped" in body


def test_detail_page(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "inference-l4-1")
    body = client.get(f"/client/instances/{instance.public_id}").get_data(as_text=True)
    assert instance.public_id in body and "L4-24GB" in body and "$0.59" in body


def test_htmx_edit_returns_only_the_row_fragment(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    response = client.get(f"/client/instances/{instance.public_id}/edit", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body
    assert f'id="instance-{instance.public_id}"' in body and 'name="name"' in body
    assert "HX-Request" in response.headers.get("Vary", "")
    full = client.get(f"/client/instances/{instance.public_id}/edit")
    assert "<html" in full.get_data(as_text=True)


def test_htmx_rename_swaps_in_the_updated_row(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    response = client.htmx("POST", f"/client/instances/{instance.public_id}", token_from="/client/instances",
                           data={"name": "  notebook-big  "})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "notebook-big" in body
    db.refresh(instance)
    assert instance.name == "notebook-big"


def test_rename_refuses_empty_and_too_long_names(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    for name, message in (("   ", "Name cannot be empty."), ("x" * 101, "at most 100 characters")):
        response = client.htmx("POST", f"/client/instances/{instance.public_id}", token_from="/client/instances",
                               data={"name": name})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.refresh(instance)
    assert instance.name == "notebook-t4"


def test_rename_without_javascript_redirects_with_a_message(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    response = client.post_form(f"/client/instances/{instance.public_id}", {"name": "plain-form"},
                                token_from="/client/instances")
    assert response.status_code == 302
    assert "Instance renamed to “plain-form”." in client.get("/client/instances").get_data(as_text=True)


def test_empty_state(demo, client, db):
    from sqlalchemy import delete

    db.execute(delete(Instance))
    db.commit()
    client.login("alice@acme.test")
    assert "No instances yet" in client.get("/client/instances").get_data(as_text=True)


# Health URL (the SLA probe's target): owners set or clear it, members only see it.

HEALTH_URL = "https://inference.acme.example/healthz"


def _health_events(db):
    from app.audit.models import AuditEvent

    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == "instance.health_url_changed")
                           .order_by(AuditEvent.id)))


def test_owner_sets_a_health_url_with_htmx_and_it_is_audited(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "training-a100-1")
    page = f"/client/instances/{instance.public_id}"
    assert 'name="health_url"' in client.get(page).get_data(as_text=True)
    response = client.htmx("POST", f"{page}/health-url", token_from=page,
                           data={"health_url": f"  {HEALTH_URL}?token=s3cret  "})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="health-url"' in body
    assert "Health URL saved" in body and "HX-Request" in response.headers.get("Vary", "")
    db.refresh(instance)
    assert instance.health_url == f"{HEALTH_URL}?token=s3cret"
    [event] = _health_events(db)
    assert (event.actor_label, event.target) == ("alice@acme.test", instance.public_id)
    assert event.details == {"health_url": f"{HEALTH_URL}?…", "previous": None}


def test_owner_clears_the_health_url_without_javascript(demo, client, db):
    instance = _instance(db, "training-a100-1")
    instance.health_url = HEALTH_URL
    db.commit()
    client.login("alice@acme.test")
    page = f"/client/instances/{instance.public_id}"
    response = client.post_form(f"{page}/health-url", {"health_url": ""}, token_from=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert "Health URL removed" in client.get(page).get_data(as_text=True)
    db.refresh(instance)
    assert instance.health_url is None
    assert [e.details for e in _health_events(db)] == [{"health_url": None, "previous": HEALTH_URL}]


@pytest.mark.parametrize(("url", "message"), [
    ("http://inference.acme.example/healthz", "The URL must use https://."),
    ("https://10.0.0.7/healthz", "10.0.0.7 is not a public address; health checks go only to the public internet."),
    ("https://localhost/healthz", "not a public host"),
    ("https://user:pw@inference.acme.example/", "Put credentials in the receiver"),
    ("inference.acme.example/healthz", "The URL must start with https://"),
    ("https://inference.acme.example/" + "x" * 2100, "at most 2048 characters"),
])
def test_a_bad_health_url_is_refused_with_a_message(demo, client, db, url, message):
    client.login("alice@acme.test")
    instance = _instance(db, "training-a100-1")
    page = f"/client/instances/{instance.public_id}"
    response = client.htmx("POST", f"{page}/health-url", token_from=page, data={"health_url": url})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "<html" not in body
    assert message in body and 'aria-invalid="true"' in body
    db.refresh(instance)
    assert instance.health_url is None and _health_events(db) == []


def test_another_organizations_instance_is_not_found(demo, client, db):
    client.login("alice@acme.test")
    theirs = _instance(db, "llm-h100-1")
    assert client.get(f"/client/instances/{theirs.public_id}").status_code == 404
    response = client.post_form(f"/client/instances/{theirs.public_id}/health-url", {"health_url": HEALTH_URL},
                                token_from="/client/instances")
    assert response.status_code == 404
    db.refresh(theirs)
    assert theirs.health_url is None


def test_a_member_sees_the_health_url_but_cannot_change_it(demo, client, db):
    instance = _instance(db, "training-a100-1")
    instance.health_url = HEALTH_URL + "?token=s3cret"
    db.commit()
    client.login("bob@acme.test")
    page = f"/client/instances/{instance.public_id}"
    body = client.get(page).get_data(as_text=True)
    assert HEALTH_URL in body and "s3cret" not in body and 'name="health_url"' not in body
    assert "Only the organization's owners can change the health URL." in body
    response = client.post_form(f"{page}/health-url", {"health_url": ""}, token_from=page)
    assert response.status_code == 403
    db.refresh(instance)
    assert instance.health_url == HEALTH_URL + "?token=s3cret" and _health_events(db) == []


def test_setting_the_health_url_needs_the_csrf_token(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "training-a100-1")
    response = client.http.post(f"/client/instances/{instance.public_id}/health-url",
                                data={"health_url": HEALTH_URL})
    assert response.status_code == 400
    db.refresh(instance)
    assert instance.health_url is None
