"""Client instances page: list, detail, inline rename with htmx, and without JavaScript."""
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
