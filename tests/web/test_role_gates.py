"""Each portal admits only its own users; everyone else signed in gets 403."""
import pytest

USERS = {"admin": "admin@matrix.test", "client": "alice@acme.test", "partner": "pat@northwind.test"}
PORTALS = ["/admin/", "/client/", "/client/instances", "/partner/", "/admin/organizations"]


@pytest.mark.parametrize("who", sorted(USERS))
def test_portal_access_matrix(demo, client, who):
    if who == "admin":
        client.login_admin()  # admins sign in with 2FA (see tests/security)
    else:
        client.login(USERS[who])
    for path in PORTALS:
        expected = 200 if path.startswith(f"/{who}/") else 403
        assert client.get(path).status_code == expected, (who, path)


def test_member_role_uses_the_client_portal(demo, client):
    client.login("bob@acme.test")
    assert client.get("/client/instances").status_code == 200
    assert client.get("/admin/").status_code == 403


@pytest.mark.parametrize("path", PORTALS)
def test_anonymous_users_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_forbidden_page_does_not_use_the_other_portals_layout(demo, client):
    client.login("alice@acme.test")
    body = client.get("/admin/").get_data(as_text=True)
    assert "Not allowed" in body
    assert "Organizations" not in body  # the admin navigation is not shown to a customer
