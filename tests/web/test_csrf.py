"""Every state-changing request needs the CSRF token, htmx requests included."""
from sqlalchemy import select

from app.rental.models import Instance


def _instance(db, name):
    return db.scalars(select(Instance).where(Instance.name == name)).one()


def test_login_without_token_is_refused(demo, client):
    response = client.http.post("/login", data={"email": "alice@acme.test", "password": "demo-password"})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 302


def test_logout_without_token_does_not_sign_out(demo, client):
    client.login("alice@acme.test")
    assert client.http.post("/logout").status_code == 400
    assert client.get("/client/").status_code == 200


def test_htmx_post_needs_the_header_token(demo, client, db):
    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    path = f"/client/instances/{instance.public_id}"
    refused = client.http.post(path, data={"name": "hacked"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    db.refresh(instance)
    assert instance.name == "notebook-t4"

    accepted = client.htmx("POST", path, token_from="/client/instances", data={"name": "renamed"})
    assert accepted.status_code == 200
    db.refresh(instance)
    assert instance.name == "renamed"


def test_token_from_another_session_is_refused(demo, client, make_client):
    other = make_client()
    other.login("bob@acme.test")
    foreign_token = other.csrf_token("/client/")
    client.login("alice@acme.test")
    assert client.http.post("/logout", data={"csrf_token": foreign_token}).status_code == 400


def test_body_carries_the_token_for_htmx(demo, client):
    client.login("alice@acme.test")
    page = client.get("/client/").get_data(as_text=True)
    assert 'hx-headers="{&#34;X-CSRFToken&#34;: &#34;' in page


def test_htmx_csrf_failure_swaps_nothing_and_names_the_problem(demo, client, db):
    import json

    client.login("alice@acme.test")
    instance = _instance(db, "notebook-t4")
    response = client.http.post(f"/client/instances/{instance.public_id}", data={"name": "x"},
                                headers={"HX-Request": "true", "X-CSRFToken": "stale"})
    assert response.status_code == 400
    assert response.get_data(as_text=True) == ""  # no page to nest inside the row
    assert response.headers["HX-Reswap"] == "none"
    message = json.loads(response.headers["HX-Trigger"])["portal:error"]["message"]
    assert "expired" in message
