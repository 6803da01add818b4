"""The members page: owners change roles and require 2FA for everyone (both in
sudo mode); members only look; an organization always keeps an owner."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.accounts import members
from app.audit.models import AuditEvent
from app.errors import PermissionDenied
from tests.support import enrol_two_factor, org, user

PAGE = "/client/security/members"
REQUIRE = "/client/security/members/require-two-factor"


def audit(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def role_url(db, email: str) -> str:
    return f"{PAGE}/{user(db, email).public_id}/role"


def test_owner_sees_everyone_with_role_and_two_factor_status(app, demo, client, db):
    enrol_two_factor(app, "bob@acme.test")
    client.login("alice@acme.test")
    page = client.get(PAGE).get_data(as_text=True)
    alice_row = page.split(f'id="member-{user(db, "alice@acme.test").public_id}"')[1].split("</tr>")[0]
    bob_row = page.split(f'id="member-{user(db, "bob@acme.test").public_id}"')[1].split("</tr>")[0]
    assert "alice@acme.test" in alice_row and "Alice Acme" in alice_row and ">owner<" in alice_row
    assert ">off<" in alice_row
    assert "bob@acme.test" in bob_row and ">member<" in bob_row and ">on<" in bob_row
    assert "gina@globex.test" not in page  # another organization's people
    assert f'action="{role_url(db, "bob@acme.test")}"' in page
    assert 'data-testid="requirement-needs-self"' in page  # alice has no 2FA: she is told to set it up first


def test_members_see_the_list_read_only_and_cannot_post(demo, client, db):
    client.login("bob@acme.test")
    page = client.get(PAGE).get_data(as_text=True)
    assert "alice@acme.test" in page and "bob@acme.test" in page
    assert "/role" not in page and REQUIRE not in page
    assert "Only owners can change roles" in page
    assert client.post_form(role_url(db, "bob@acme.test"), {"role": "owner"}, token_from=PAGE).status_code == 403
    assert client.post_form(REQUIRE, {"required": "1"}, token_from=PAGE).status_code == 403
    assert user(db, "bob@acme.test").role == "member"
    assert org(db, "acme").require_two_factor is False
    assert audit(db, "member.role_changed") == []


def test_owner_promotes_and_demotes_with_audit(demo, client, db):
    client.login("alice@acme.test")
    response = client.post_form(role_url(db, "bob@acme.test"), {"role": "owner"}, token_from=PAGE,
                                follow_redirects=True)
    assert "bob@acme.test is now an owner." in response.get_data(as_text=True)
    assert user(db, "bob@acme.test").role == "owner"
    # With two owners, alice may step down.
    client.post_form(role_url(db, "alice@acme.test"), {"role": "member"}, token_from=PAGE)
    assert user(db, "alice@acme.test").role == "member"
    events = audit(db, "member.role_changed")
    assert sorted((e.details["email"], e.details["old_role"], e.details["new_role"]) for e in events) == [
        ("alice@acme.test", "owner", "member"), ("bob@acme.test", "member", "owner")]
    assert all(e.actor_label == "alice@acme.test" and e.org_id == org(db, "acme").id for e in events)
    # Now a member, alice can no longer change roles.
    assert client.post_form(role_url(db, "bob@acme.test"), {"role": "member"}, token_from=PAGE).status_code == 403


def test_the_last_owner_cannot_be_demoted(demo, client, db):
    client.login("gina@globex.test")
    response = client.post_form(role_url(db, "gina@globex.test"), {"role": "member"}, token_from=PAGE)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "An organization needs at least one owner" in page
    assert user(db, "gina@globex.test").role == "owner"
    assert audit(db, "member.role_changed") == []


def test_service_keeps_an_owner_and_checks_the_actor(demo, db):
    acme = org(db, "acme")
    alice, bob = user(db, "alice@acme.test"), user(db, "bob@acme.test")
    with pytest.raises(PermissionDenied):
        members.change_role(db, acme.id, bob.public_id, "owner", actor_label=bob.email, actor_user_id=bob.id)
    db.rollback()
    members.change_role(db, acme.id, bob.public_id, "owner", actor_label=alice.email, actor_user_id=alice.id)
    members.change_role(db, acme.id, alice.public_id, "member", actor_label=bob.email, actor_user_id=bob.id)
    with pytest.raises(Exception, match="at least one owner"):
        members.change_role(db, acme.id, bob.public_id, "member", actor_label=bob.email, actor_user_id=bob.id)
    db.commit()
    assert [(m.email, m.role) for m in members.list_members(db, acme.id)] == [
        ("bob@acme.test", "owner"), ("alice@acme.test", "member")]


def test_bad_role_and_other_organizations_members_are_refused(demo, client, db):
    client.login("alice@acme.test")
    response = client.post_form(role_url(db, "bob@acme.test"), {"role": "admin"}, token_from=PAGE,
                                follow_redirects=True)
    assert "Choose a role: owner or member." in response.get_data(as_text=True)
    assert user(db, "bob@acme.test").role == "member"
    assert client.post_form(role_url(db, "gina@globex.test"), {"role": "member"},
                            token_from=PAGE).status_code == 404
    assert user(db, "gina@globex.test").role == "owner"


def test_role_change_over_htmx_swaps_the_widget(demo, client, db):
    client.login("alice@acme.test")
    response = client.htmx("POST", role_url(db, "bob@acme.test"), token_from=PAGE, data={"role": "owner"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="members"' in body and "<html" not in body and "bob@acme.test is now an owner." in body
    refused = client.htmx("POST", f"{PAGE}/usr_nobody/role", token_from=PAGE, data={"role": "owner"})
    assert refused.status_code == 404


def test_requiring_two_factor_needs_the_owner_to_use_it_first(app, demo, client, db):
    client.login("alice@acme.test")
    response = client.post_form(REQUIRE, {"required": "1"}, token_from=PAGE, follow_redirects=True)
    assert "Set up two-factor authentication for your own account first" in response.get_data(as_text=True)
    assert org(db, "acme").require_two_factor is False
    assert audit(db, "organization.two_factor_requirement_changed") == []


def test_required_two_factor_sends_members_without_it_to_setup(app, demo, client, make_client, db):
    secret = enrol_two_factor(app, "alice@acme.test")
    client.login("alice@acme.test", totp_secret=secret)
    response = client.post_form(REQUIRE, {"required": "1"}, token_from=PAGE, follow_redirects=True)
    assert "Two-factor authentication is now required" in response.get_data(as_text=True)
    assert org(db, "acme").require_two_factor is True
    [event] = audit(db, "organization.two_factor_requirement_changed")
    assert event.details == {"required": True} and event.actor_label == "alice@acme.test"

    bob = make_client()
    assert bob.login("bob@acme.test").headers["Location"] == "/client/"
    for path in ("/client/", "/client/instances", PAGE):
        gated = bob.get(path)
        assert gated.status_code == 302 and gated.headers["Location"] == "/client/security/two-factor", path
    setup = bob.get("/client/security/two-factor").get_data(as_text=True)
    assert "Two-factor authentication is required for your account." in setup
    enrol_two_factor(app, "bob@acme.test")
    assert bob.get("/client/").status_code == 200

    client.post_form(REQUIRE, {"required": "0"}, token_from=PAGE)
    assert org(db, "acme").require_two_factor is False
    assert [e.details["required"] for e in audit(db, "organization.two_factor_requirement_changed")] == [True, False]


def test_owner_actions_need_sudo(demo, client, db):
    client.login("alice@acme.test")
    clock.advance(timedelta(minutes=16))
    back_here = {"Referer": f"http://localhost{PAGE}"}
    response = client.post_form(role_url(db, "bob@acme.test"), {"role": "owner"}, token_from=PAGE, headers=back_here)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sudo?next={PAGE}"
    assert user(db, "bob@acme.test").role == "member"
    htmx = client.htmx("POST", REQUIRE, token_from=PAGE, data={"required": "0"},
                       headers={"HX-Current-URL": f"http://localhost{PAGE}"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == f"/sudo?next={PAGE}"

    sudo = client.post_form(f"/sudo?next={PAGE}", {"password": "demo-password"}, token_from="/sudo")
    assert sudo.status_code == 302 and sudo.headers["Location"] == PAGE
    client.post_form(role_url(db, "bob@acme.test"), {"role": "owner"}, token_from=PAGE)
    assert user(db, "bob@acme.test").role == "owner"


def test_partners_have_no_members_page(demo, client):
    client.login("pat@northwind.test")
    assert client.get("/partner/security/members").status_code == 404
