"""The sessions page: a user sees where they are signed in and signs other
browsers out, one or all; the browser they use cannot sign itself out here."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import User, UserSession
from app.audit.models import AuditEvent

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def browser(make_client, email: str, address: str, user_agent: str):
    """Another browser signed in as `email` from `address`."""
    other = make_client(remote_addr=address)
    other.http.environ_base["HTTP_USER_AGENT"] = user_agent
    assert other.login(email).status_code == 302
    return other


def live_sessions(db, email: str) -> list[UserSession]:
    db.expire_all()
    user = db.scalars(select(User).where(User.email == email)).one()
    return list(db.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                     UserSession.revoked_at.is_(None))))


def session_from(db, email: str, address: str) -> UserSession:
    return next(s for s in live_sessions(db, email) if s.ip_address == address)


def audit(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_page_lists_each_live_session_with_device_address_and_marks_this_one(demo, client, make_client, db):
    browser(make_client, "alice@acme.test", "198.51.100.7", FIREFOX)
    browser(make_client, "alice@acme.test", "2001:db8::42", SAFARI_IPHONE)
    browser(make_client, "bob@acme.test", "192.0.2.99", FIREFOX)  # someone else's: not listed
    client.login("alice@acme.test")
    page = client.get("/client/security/sessions").get_data(as_text=True)
    assert "Firefox on Windows" in page and "198.51.100.7" in page
    assert "Safari on iOS" in page and "2001:db8::42" in page
    assert "192.0.2.99" not in page
    assert page.count('<tr id="session-') == 3
    current = re.search(r'<tr id="session-[^"]+" class="sec-current" data-testid="current-session">(.*?)</tr>',
                        page, re.S).group(1)
    assert "203.0.113.10" in current and "this session" in current
    assert "/revoke" not in current  # no sign-out button on the session in use


def test_revoking_another_session_ends_its_cookie_at_once(demo, client, make_client, db):
    other = browser(make_client, "alice@acme.test", "198.51.100.7", FIREFOX)
    assert other.get("/client/").status_code == 200
    client.login("alice@acme.test")
    target = session_from(db, "alice@acme.test", "198.51.100.7")
    response = client.post_form(f"/client/security/sessions/{target.public_id}/revoke",
                                token_from="/client/security/sessions", follow_redirects=True)
    assert "Signed out Firefox on Windows (198.51.100.7)." in response.get_data(as_text=True)
    ended = other.get("/client/")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/login")
    assert client.get("/client/").status_code == 200
    [event] = audit(db, "session.revoked")
    assert event.target == target.public_id and event.details["count"] == 1
    assert event.actor_label == "alice@acme.test"


def test_the_current_session_cannot_be_revoked_here(demo, client, db):
    client.login("alice@acme.test")
    [mine] = live_sessions(db, "alice@acme.test")
    response = client.post_form(f"/client/security/sessions/{mine.public_id}/revoke",
                                token_from="/client/security/sessions", follow_redirects=True)
    assert "This is the session you are using now. To end it, use Sign out." in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 200
    assert audit(db, "session.revoked") == []
    htmx = client.htmx("POST", f"/client/security/sessions/{mine.public_id}/revoke",
                       token_from="/client/security/sessions")
    assert htmx.status_code == 400
    assert 'id="sessions"' in htmx.get_data(as_text=True) and "<html" not in htmx.get_data(as_text=True)
    assert client.get("/client/security/sessions").status_code == 200


def test_someone_elses_or_an_ended_session_is_not_revoked(demo, client, make_client, db):
    browser(make_client, "bob@acme.test", "192.0.2.99", FIREFOX)
    bobs = session_from(db, "bob@acme.test", "192.0.2.99")
    client.login("alice@acme.test")
    response = client.post_form(f"/client/security/sessions/{bobs.public_id}/revoke",
                                token_from="/client/security/sessions", follow_redirects=True)
    assert "That session has already ended." in response.get_data(as_text=True)
    assert session_from(db, "bob@acme.test", "192.0.2.99").revoked_at is None
    assert audit(db, "session.revoked") == []


def test_revoking_all_others_keeps_this_one(demo, client, make_client, db):
    first = browser(make_client, "pat@northwind.test", "198.51.100.7", FIREFOX)
    second = browser(make_client, "pat@northwind.test", "198.51.100.8", SAFARI_IPHONE)
    client.login("pat@northwind.test")
    confirm = client.get("/partner/security/sessions/revoke-others").get_data(as_text=True)
    assert "2 other sessions are signed out at once." in confirm
    response = client.post_form("/partner/security/sessions/revoke-others", token_from="/partner/security/sessions",
                                follow_redirects=True)
    assert "Signed out 2 other sessions. This one stays signed in." in response.get_data(as_text=True)
    assert first.get("/partner/").status_code == 302
    assert second.get("/partner/").status_code == 302
    assert client.get("/partner/").status_code == 200
    assert [s.ip_address for s in live_sessions(db, "pat@northwind.test")] == ["203.0.113.10"]
    [event] = audit(db, "session.revoked_others")
    assert event.details == {"count": 2}


def test_htmx_swaps_the_table_after_revoking(demo, client, make_client, db):
    other = browser(make_client, "gina@globex.test", "198.51.100.7", FIREFOX)
    client.login("gina@globex.test")
    page = client.get("/client/security/sessions").get_data(as_text=True)
    assert 'hx-post="/client/security/sessions/revoke-others"' in page and "hx-confirm=" in page
    response = client.htmx("POST", "/client/security/sessions/revoke-others", token_from="/client/security/sessions")
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in fragment
    assert 'id="sessions"' in fragment and "Signed out 1 other session." in fragment
    assert "198.51.100.7" not in fragment and "You are not signed in anywhere else." in fragment
    assert other.get("/client/").status_code == 302


def test_confirmation_page_for_one_session_without_javascript(demo, client, make_client, db):
    browser(make_client, "alice@acme.test", "198.51.100.7", FIREFOX)
    client.login("alice@acme.test")
    target = session_from(db, "alice@acme.test", "198.51.100.7")
    page = client.get(f"/client/security/sessions/{target.public_id}/revoke").get_data(as_text=True)
    assert "Sign out this session?" in page and "Firefox on Windows" in page
    assert f'action="/client/security/sessions/{target.public_id}/revoke"' in page
    assert session_from(db, "alice@acme.test", "198.51.100.7").revoked_at is None  # asking changes nothing


def test_admins_have_the_sessions_page_too(demo, client):
    client.login_admin()
    page = client.get("/admin/security/sessions").get_data(as_text=True)
    assert 'data-testid="current-session"' in page
