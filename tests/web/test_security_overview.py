"""The security overview: two-factor status and its management (new recovery
codes, turning it off), and the links to the account's and the organization's
other security settings."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.accounts.models import Organization
from app.audit.models import AuditEvent
from app.security import recovery_codes, two_factor
from tests.support import enrol_two_factor, fresh_totp_code, user

_CODES = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


def codes_on(page: str) -> list[str]:
    return _CODES.findall(page)


def actions(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def signed_in_with_two_factor(app, client, email: str) -> str:
    secret = enrol_two_factor(app, email)
    assert client.login(email, totp_secret=secret).status_code == 302
    return secret


def regenerate(app, client, email: str, secret: str, portal: str = "client") -> list[str]:
    """New recovery codes through the overview's form; returns the codes shown."""
    response = client.post_form(f"/{portal}/security/two-factor/recovery-codes",
                                {"code": fresh_totp_code(app, email, secret)}, token_from=f"/{portal}/security")
    assert response.status_code == 200
    codes = codes_on(response.get_data(as_text=True))
    assert len(codes) == 10
    return codes


# --- what the page shows ------------------------------------------------------

def test_without_two_factor_the_overview_offers_setup_and_links_everything(demo, client):
    client.login("alice@acme.test")
    page = client.get("/client/security").get_data(as_text=True)
    assert re.search(r'data-testid="two-factor-status">Off<', page)
    assert 'href="/client/security/two-factor"' in page
    for href in ("/client/security/sessions", "/account/password", "/account/email", "/client/security/members"):
        assert f'href="{href}"' in page, href
    # No forms that need an enrolment when there is none.
    assert "/two-factor/disable" not in page and "/two-factor/recovery-codes" not in page


def test_organization_cards_are_the_client_pages_that_exist(app, demo, client):
    client.login("alice@acme.test")
    page = client.get("/client/security").get_data(as_text=True)
    section = page.split('data-testid="organization-sections"', 1)[1]
    expected = {"security_members": "/client/security/members", "security_allowlist": "/client/security/ip-allowlist",
                "security_geo": "/client/security/geo-rules", "security_api_keys": "/client/security/api-keys",
                "security_audit": "/client/security/audit-log"}
    for endpoint, href in expected.items():
        registered = f"client.{endpoint}" in app.view_functions
        assert (f'href="{href}"' in section) == registered, endpoint


def test_enrolled_user_sees_status_codes_left_and_both_forms(app, demo, client):
    signed_in_with_two_factor(app, client, "alice@acme.test")
    page = client.get("/client/security").get_data(as_text=True)
    assert re.search(r'data-testid="two-factor-status">On<', page)
    assert "10 recovery codes left." in page
    assert 'action="/client/security/two-factor/recovery-codes"' in page
    assert 'action="/client/security/two-factor/disable"' in page
    assert 'data-testid="two-factor-required"' not in page


def test_partner_and_admin_overviews_have_no_organization_cards(app, demo, client, make_client):
    client.login("pat@northwind.test")
    page = client.get("/partner/security").get_data(as_text=True)
    assert 'href="/partner/security/sessions"' in page
    assert "organization-sections" not in page
    admin = make_client()
    admin.login_admin()
    page = admin.get("/admin/security").get_data(as_text=True)
    assert "organization-sections" not in page
    assert 'href="/admin/security/sessions"' in page


def test_admin_overview_says_two_factor_is_required_and_hides_turning_it_off(demo, client):
    client.login_admin()
    page = client.get("/admin/security").get_data(as_text=True)
    assert 'data-testid="two-factor-required"' in page
    assert "/two-factor/disable" not in page
    assert "Administrators must use two-factor authentication, so it cannot be turned off." in page


def test_few_recovery_codes_left_are_pointed_out(app, demo, client, db):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    codes = regenerate(app, client, "alice@acme.test", secret)
    alice = user(db, "alice@acme.test")
    for code in codes[:8]:
        assert recovery_codes.consume(db, alice.id, code) == "used"
    db.commit()
    page = client.get("/client/security").get_data(as_text=True)
    assert "2 recovery codes left." in page
    assert '<details class="sec-action" id="regenerate" open>' in page


# --- new recovery codes ---------------------------------------------------------

def test_new_recovery_codes_with_a_right_code_replace_the_old_ones(app, demo, client, make_client):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    old = regenerate(app, client, "alice@acme.test", secret)
    new = regenerate(app, client, "alice@acme.test", secret)
    assert not set(old) & set(new)
    assert "10 recovery codes left." in client.get("/client/security").get_data(as_text=True)

    browser = make_client()
    browser.login("alice@acme.test")
    refused = browser.post_form("/login/two-factor", {"recovery_code": old[0]})
    assert refused.status_code == 401
    assert "That recovery code is not correct." in refused.get_data(as_text=True)
    accepted = browser.post_form("/login/two-factor", {"recovery_code": new[0]})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/client/"


def test_new_recovery_codes_with_a_wrong_code_are_refused_and_audited(app, demo, client, db):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    codes = regenerate(app, client, "alice@acme.test", secret)
    right = fresh_totp_code(app, "alice@acme.test", secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post_form("/client/security/two-factor/recovery-codes", {"code": wrong},
                                token_from="/client/security", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "That code is not correct." in page
    assert not codes_on(page)
    failures = actions(db, "two_factor.failed")
    assert [f.details["reason"] for f in failures] == ["wrong_code"]
    assert failures[0].target == user(db, "alice@acme.test").public_id
    # The codes from before still work: nothing was replaced.
    assert recovery_codes.consume(db, user(db, "alice@acme.test").id, codes[3]) == "used"


def test_new_recovery_codes_refuse_letters_in_the_code(app, demo, client):
    signed_in_with_two_factor(app, client, "alice@acme.test")
    response = client.post_form("/client/security/two-factor/recovery-codes", {"code": "12a456"},
                                token_from="/client/security", follow_redirects=True)
    assert "Codes are made of digits only" in html.unescape(response.get_data(as_text=True))


def test_a_recovery_code_can_confirm_new_recovery_codes(app, demo, client, db):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    old = regenerate(app, client, "alice@acme.test", secret)
    response = client.post_form("/client/security/two-factor/recovery-codes", {"recovery_code": old[0]},
                                token_from="/client/security")
    assert len(codes_on(response.get_data(as_text=True))) == 10
    assert len(actions(db, "two_factor.recovery_codes_regenerated")) == 2


def test_new_recovery_codes_need_sudo(app, demo, client, db):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    clock.advance(timedelta(minutes=16))
    response = client.post_form("/client/security/two-factor/recovery-codes",
                                {"code": fresh_totp_code(app, "alice@acme.test", secret)},
                                token_from="/client/security", headers={"Referer": "http://localhost/client/security"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/sudo?next=/client/security"
    assert actions(db, "two_factor.recovery_codes_regenerated") == []


# --- turning it off -------------------------------------------------------------

def test_turning_two_factor_off_needs_a_right_code(app, demo, client, db, make_client):
    secret = signed_in_with_two_factor(app, client, "alice@acme.test")
    alice_id = user(db, "alice@acme.test").id
    for data, message in [({"code": ""}, "Enter the 6-digit code from your authenticator app."),
                          ({"code": "000000" if fresh_totp_code(app, "alice@acme.test", secret) != "000000"
                            else "111111"}, "That code is not correct.")]:
        response = client.post_form("/client/security/two-factor/disable", data, token_from="/client/security",
                                    follow_redirects=True)
        assert message in response.get_data(as_text=True)
        assert two_factor.is_enabled(db, alice_id)

    response = client.post_form("/client/security/two-factor/disable",
                                {"code": fresh_totp_code(app, "alice@acme.test", secret)},
                                token_from="/client/security", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Two-factor authentication is off." in page
    assert re.search(r'data-testid="two-factor-status">Off<', page)
    db.expire_all()
    assert not two_factor.is_enabled(db, alice_id)
    assert len(actions(db, "two_factor.disabled")) == 1
    # Signing in needs only the password now.
    assert make_client().login("alice@acme.test").headers["Location"] == "/client/"


def test_admins_cannot_turn_two_factor_off_even_with_a_right_code(app, demo, client, db):
    client.login_admin()
    secret = enrol_two_factor(app, "admin@matrix.test")
    response = client.post_form("/admin/security/two-factor/disable",
                                {"code": fresh_totp_code(app, "admin@matrix.test", secret)},
                                token_from="/admin/security", follow_redirects=True)
    assert "Two-factor authentication is required for administrators" in response.get_data(as_text=True)
    assert two_factor.is_enabled(db, user(db, "admin@matrix.test").id)
    assert actions(db, "two_factor.disabled") == []


def test_members_cannot_turn_it_off_when_their_organization_requires_it(app, demo, client, db):
    secret = signed_in_with_two_factor(app, client, "bob@acme.test")
    acme = db.scalars(select(Organization).where(Organization.slug == "acme")).one()
    acme.require_two_factor = True
    db.commit()
    page = client.get("/client/security").get_data(as_text=True)
    assert "/two-factor/disable" not in page
    assert "Your organization requires two-factor authentication, so it cannot be turned off." in page
    response = client.post_form("/client/security/two-factor/disable",
                                {"code": fresh_totp_code(app, "bob@acme.test", secret)},
                                token_from="/client/security", follow_redirects=True)
    assert "required for members of your organization" in response.get_data(as_text=True)
    assert two_factor.is_enabled(db, user(db, "bob@acme.test").id)
