"""Signing in: the right portal, one generic message for every failure, an audit trail."""
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent

PORTAL_OF = {
    "admin@matrix.test": "/admin/",
    "alice@acme.test": "/client/",
    "bob@acme.test": "/client/",
    "gina@globex.test": "/client/",
    "pat@northwind.test": "/partner/",
}


@pytest.mark.parametrize("email", sorted(PORTAL_OF))
def test_each_demo_user_lands_on_their_portal(demo, client, email):
    response = client.login_admin(email) if email == "admin@matrix.test" else client.login(email)
    assert response.status_code == 302
    assert response.headers["Location"] == PORTAL_OF[email]
    assert client.get(PORTAL_OF[email]).status_code == 200


def test_email_is_case_insensitive(demo, client):
    assert client.login("  Alice@ACME.test ").headers["Location"] == "/client/"


@pytest.mark.parametrize("email,password", [
    ("alice@acme.test", "wrong-password"),
    ("nobody@acme.test", "demo-password"),
])
def test_wrong_email_or_password_gets_one_generic_message(demo, client, email, password):
    response = client.login(email, password)
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "Incorrect email or password." in body
    assert "no account" not in body.lower() and "unknown" not in body.lower()
    assert client.get("/client/").status_code == 302  # still signed out


def test_failures_and_successes_are_audited_without_the_password(demo, client, db):
    client.login("alice@acme.test", "wrong-password")
    client.login("alice@acme.test")
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["login.failed", "login.succeeded"]
    assert all(e.ip_address == "203.0.113.10" for e in events)
    assert all("password" not in str(e.details) for e in events)


def test_empty_form_shows_field_errors(demo, client):
    response = client.post_form("/login", {"email": "", "password": ""})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Enter your email." in body and "Enter your password." in body


def test_next_is_followed_only_inside_the_users_portal(demo, client):
    ok = client.post_form("/login?next=/client/instances", {"email": "alice@acme.test", "password": "demo-password"},
                          token_from="/login")
    assert ok.headers["Location"] == "/client/instances"
    client.logout()
    for evil in ("//evil.example/", "https://evil.example/", "/admin/"):
        response = client.post_form(f"/login?next={evil}", {"email": "alice@acme.test", "password": "demo-password"},
                                    token_from="/login")
        assert response.headers["Location"] == "/client/", evil
        client.logout()


def test_signed_in_user_visiting_login_goes_to_their_portal(demo, client):
    client.login("pat@northwind.test")
    assert client.get("/login").headers["Location"] == "/partner/"
    assert client.get("/").headers["Location"] == "/partner/"


def test_anonymous_root_goes_to_login(client):
    assert client.get("/").headers["Location"] == "/login"
