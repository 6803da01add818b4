"""Sessions live on the server: rotated at login, ended by logout, password change and time."""
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.accounts.models import UserSession


def test_session_is_rotated_at_login(demo, client):
    client.get("/login")
    anonymous_cookie = client.session_cookie()
    client.login("alice@acme.test")
    assert client.session_cookie() != anonymous_cookie
    # A cookie captured before login (session fixation) does not carry the login.
    client.set_session_cookie(anonymous_cookie)
    assert client.get("/client/").status_code == 302


def test_each_login_gets_a_new_server_side_session(demo, client, db):
    client.login("alice@acme.test")
    client.logout()
    client.login("alice@acme.test")
    rows = db.scalars(select(UserSession).order_by(UserSession.id)).all()
    assert len(rows) == 2
    assert rows[0].revoked_reason == "logout" and rows[1].revoked_at is None
    assert rows[0].token_hash != rows[1].token_hash


def test_cookie_copied_before_logout_no_longer_works(demo, client, make_client):
    client.login("alice@acme.test")
    stolen = client.session_cookie()
    client.logout()
    thief = make_client()
    thief.set_session_cookie(stolen)
    response = thief.get("/client/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_password_change_signs_out_other_sessions_and_keeps_this_one(demo, client, make_client):
    other_browser = make_client()
    other_browser.login("alice@acme.test")
    client.login("alice@acme.test")
    copied = client.session_cookie()
    response = client.post_form("/account/password", {
        "current_password": "demo-password", "new_password": "a-much-longer-secret",
        "confirm_password": "a-much-longer-secret"})
    assert response.status_code == 302
    assert client.get("/client/").status_code == 200
    assert other_browser.get("/client/").status_code == 302
    thief = make_client()
    thief.set_session_cookie(copied)
    assert thief.get("/client/").status_code == 302
    # The new password works, the old one does not.
    assert make_client().login("alice@acme.test", "a-much-longer-secret").status_code == 302
    assert make_client().login("alice@acme.test", "demo-password").status_code == 401


def test_password_change_refusals_name_the_field(demo, client):
    client.login("bob@acme.test")
    cases = [
        ({"current_password": "not-it-at-all", "new_password": "another-long-one",
          "confirm_password": "another-long-one"}, "Your current password is not correct."),
        ({"current_password": "demo-password", "new_password": "short",
          "confirm_password": "short"}, "Use between 12 and 128 characters."),
        ({"current_password": "demo-password", "new_password": "another-long-one",
          "confirm_password": "different-long-one"}, "The two new passwords do not match."),
        ({"current_password": "demo-password", "new_password": "demo-password",
          "confirm_password": "demo-password"}, "Choose a password different from the current one."),
    ]
    for data, message in cases:
        response = client.post_form("/account/password", data)
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 200  # still signed in


def test_idle_timeout_is_thirty_minutes_and_activity_extends_it(demo, client):
    client.login("gina@globex.test")
    clock.advance(timedelta(minutes=29))
    assert client.get("/client/").status_code == 200
    clock.advance(timedelta(minutes=29))  # 58 min after login, 29 after last activity
    assert client.get("/client/").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = client.get("/client/")
    assert response.status_code == 302
    assert "Your session has ended" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_absolute_timeout_is_twelve_hours_even_when_active(demo, client):
    client.login("gina@globex.test")
    for _ in range(35):  # 35 × 20 min = 11 h 40 min of steady activity
        clock.advance(timedelta(minutes=20))
        assert client.get("/client/").status_code == 200
    clock.advance(timedelta(minutes=21))  # 12 h 01 min after login
    assert client.get("/client/").status_code == 302


def test_cookies_are_httponly_and_samesite_lax(demo, client):
    response = client.login("alice@acme.test")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("matrix_session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # development/testing over plain http


def test_htmx_request_with_ended_session_is_told_to_redirect(demo, client):
    client.login("alice@acme.test")
    token = client.csrf_token("/client/")
    client.logout()
    response = client.http.get("/client/instances/ins_x/edit", headers={
        "HX-Request": "true", "X-CSRFToken": token,
        "HX-Current-URL": "http://localhost/client/instances?sort=name"})
    assert response.status_code == 401
    # Back to the page the user was on after signing in, not to the fragment.
    assert response.headers["HX-Redirect"] == "/login?next=/client/instances?sort%3Dname"
