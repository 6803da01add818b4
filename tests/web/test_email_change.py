"""Changing one's sign-in email: sudo mode, a valid address nobody else uses,
stored normalised, audited with both addresses."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.accounts.models import User
from app.audit.models import AuditEvent

PAGE = "/account/email"


def emails(db) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(User.email)))


def field_error(page: str) -> str | None:
    match = re.search(r'<p class="error" id="email-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


def test_the_page_shows_the_current_address_and_is_linked_from_every_page(demo, client):
    client.login("alice@acme.test")
    page = client.get(PAGE).get_data(as_text=True)
    assert 'data-testid="current-email">alice@acme.test<' in page
    assert 'name="email"' in page
    assert f'href="{PAGE}"' in client.get("/client/instances").get_data(as_text=True)  # the user menu


def test_changing_the_email_normalises_it_and_signing_in_follows(demo, client, make_client, db):
    client.login("alice@acme.test")
    response = client.post_form(PAGE, {"email": "  Alice.New@ACME.test "}, follow_redirects=True)
    assert "Your email address is now alice.new@acme.test." in response.get_data(as_text=True)
    assert "alice.new@acme.test" in emails(db) and "alice@acme.test" not in emails(db)
    assert client.get("/client/").status_code == 200  # still signed in
    assert make_client().login("alice.new@acme.test").status_code == 302
    assert make_client().login("alice@acme.test").status_code == 401
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "email.changed")).all()
    assert event.details == {"old_email": "alice@acme.test", "new_email": "alice.new@acme.test"}
    assert event.actor_label == "alice@acme.test" and event.ip_address == "203.0.113.10"
    assert event.org_id is not None


@pytest.mark.parametrize("bad, message", [
    ("not-an-email", "Enter a valid email address."),
    ("two words@acme.test", "Enter a valid email address."),
    ("alice@localhost", "Enter a valid email address."),
    ("", "Enter the new email address."),
    ("x" * 250 + "@acme.test", "Email addresses are at most 254 characters long."),
])
def test_invalid_addresses_are_refused_beside_the_field(demo, client, db, bad, message):
    client.login("alice@acme.test")
    before = emails(db)
    response = client.post_form(PAGE, {"email": bad})
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True))
    assert emails(db) == before


@pytest.mark.parametrize("taken, message", [
    ("bob@acme.test", "Another account already uses this email address."),
    (" BOB@Acme.TEST", "Another account already uses this email address."),
    ("alice@acme.test", "That is already your email address."),
])
def test_taken_or_unchanged_addresses_are_refused(demo, client, db, taken, message):
    client.login("alice@acme.test")
    response = client.post_form(PAGE, {"email": taken})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True)) == message
    assert {"alice@acme.test", "bob@acme.test"} <= emails(db)
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "email.changed")).all() == []


def test_changing_the_email_needs_sudo(demo, client, db):
    client.login("gina@globex.test")
    token = client.csrf_token("/client/")
    clock.advance(timedelta(minutes=16))
    page = client.get(PAGE)
    assert page.status_code == 302 and page.headers["Location"] == f"/sudo?next={PAGE}"
    response = client.http.post(PAGE, data={"email": "gina.new@globex.test", "csrf_token": token},
                                headers={"Referer": f"http://localhost{PAGE}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/sudo?next={PAGE}"
    assert "gina@globex.test" in emails(db) and "gina.new@globex.test" not in emails(db)

    refused = client.post_form("/sudo", {"password": "wrong-password"})
    assert refused.status_code == 401
    assert client.post_form("/sudo", {"password": "demo-password"}).status_code == 302
    assert client.post_form(PAGE, {"email": "gina.new@globex.test"}).status_code == 302
    assert "gina.new@globex.test" in emails(db)


def test_admins_and_partners_change_their_email_too(demo, client, make_client, db):
    client.login_admin()
    assert client.post_form(PAGE, {"email": "ada@matrix.test"}).status_code == 302
    partner = make_client()
    partner.login("pat@northwind.test")
    page = partner.get(PAGE).get_data(as_text=True)
    assert "portal-partner" in page
    assert {"ada@matrix.test", "pat@northwind.test"} <= emails(db)
