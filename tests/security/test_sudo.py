"""Sudo mode: a sensitive action (here: revealing a webhook secret) needs a
re-authentication at most 15 minutes old. Signing in counts; after that the
user is sent to /sudo (password, plus a 2FA code when enrolled) and back.
"""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app import clock
from tests.security.helpers import STEP_SECONDS, audit_rows, body, enrol, oathtool_code

ALICE = "alice@acme.test"
HOOK_URL = "http://127.0.0.1:9/hooks/sudo"


@pytest.fixture
def endpoint(make_endpoint):
    """(public path of the endpoint page, its signing secret)."""
    created, secret = make_endpoint(HOOK_URL)
    return f"/client/webhooks/{created.public_id}", secret


def _reveal(client, page: str):
    """Press "Reveal" on the endpoint page (a browser sends the page as Referer)."""
    return client.post_form(f"{page}/secret/reveal", token_from=page, headers={"Referer": f"http://localhost{page}"})


def _sudo_next(response) -> str:
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sudo"
    return parse_qs(location.query)["next"][0]


def _enter_sudo(client, page: str, **fields):
    return client.post_form(f"/sudo?next={page}", fields, token_from=f"/sudo?next={page}")


def test_signing_in_grants_sudo_for_fifteen_minutes(app, client, endpoint, frozen):
    page, secret = endpoint
    client.login(ALICE)
    revealed = _reveal(client, page)
    assert revealed.status_code == 200 and secret in body(revealed)

    clock.advance(timedelta(minutes=14))
    assert secret in body(_reveal(client, page))

    clock.advance(timedelta(minutes=2))
    expired = _reveal(client, page)
    assert _sudo_next(expired) == page
    assert secret not in body(expired)
    # A GET of a sensitive page comes back to that page.
    assert _sudo_next(client.get(f"{page}/secret/rotate")) == f"{page}/secret/rotate"


def test_the_sudo_page_refuses_a_wrong_password(app, demo, client, endpoint, frozen):
    page, secret = endpoint
    client.login(ALICE)
    clock.advance(timedelta(minutes=16))
    refused = _enter_sudo(client, page, password="not-my-password")
    assert refused.status_code == 401
    assert "That password is not correct" in body(refused)
    assert _sudo_next(_reveal(client, page)) == page
    failed = audit_rows(demo, "sudo.failed")
    assert [(r.actor_label, r.details) for r in failed] == [(ALICE, {"reason": "wrong_password"})]
    assert "not-my-password" not in str([r.details for r in audit_rows(demo)])


def test_after_the_sudo_page_the_action_works_again(app, demo, client, endpoint, frozen):
    page, secret = endpoint
    client.login(ALICE)
    clock.advance(timedelta(minutes=16))
    entered = _enter_sudo(client, page, password="demo-password")
    assert entered.status_code == 302 and entered.headers["Location"] == page
    assert secret in body(_reveal(client, page))
    assert [r.actor_label for r in audit_rows(demo, "sudo.entered")] == [ALICE]

    clock.advance(timedelta(minutes=15, seconds=1))  # and it lasts 15 minutes too
    assert _sudo_next(_reveal(client, page)) == page


def test_with_two_factor_the_sudo_page_also_needs_a_code(app, demo, client, endpoint, frozen):
    page, secret_of_endpoint = endpoint
    totp_secret, _ = enrol(app, ALICE)
    client.login(ALICE)
    clock.advance(timedelta(seconds=STEP_SECONDS))
    client.post_form("/login/two-factor", {"code": oathtool_code(totp_secret)})
    clock.advance(timedelta(minutes=16))

    form = client.get(f"/sudo?next={page}")
    assert 'name="code"' in body(form)
    no_code = _enter_sudo(client, page, password="demo-password")
    assert no_code.status_code == 400 and "Enter the 6-digit code" in body(no_code)
    wrong = _enter_sudo(client, page, password="demo-password", code="000000")
    assert wrong.status_code == 401 and "That code is not correct" in body(wrong)
    assert _sudo_next(_reveal(client, page)) == page

    entered = _enter_sudo(client, page, password="demo-password", code=oathtool_code(totp_secret))
    assert entered.status_code == 302
    assert secret_of_endpoint in body(_reveal(client, page))


def test_htmx_requests_are_sent_to_the_sudo_page(app, client, endpoint, frozen):
    page, secret = endpoint
    client.login(ALICE)
    clock.advance(timedelta(minutes=16))
    response = client.htmx("POST", f"{page}/secret/reveal", token_from=page,
                           headers={"HX-Current-URL": f"http://localhost{page}"})
    assert response.status_code == 204
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/sudo" and parse_qs(target.query)["next"] == [page]
    assert secret not in body(response)


def test_sudo_belongs_to_one_session(app, client, make_client, endpoint, frozen):
    page, secret = endpoint
    client.login(ALICE)
    other = make_client(remote_addr="198.51.100.50")
    other.login(ALICE)
    clock.advance(timedelta(minutes=16))
    _enter_sudo(client, page, password="demo-password")
    assert secret in body(_reveal(client, page))
    assert _sudo_next(_reveal(other, page)) == page


def test_the_sudo_page_returns_only_inside_the_users_portal(app, client, endpoint, frozen):
    client.login(ALICE)
    for target in ("https://evil.example/", "//evil.example/x", "/admin/"):
        clock.advance(timedelta(minutes=16))
        entered = client.post_form(f"/sudo?next={target}", {"password": "demo-password"}, token_from="/sudo")
        assert entered.status_code == 302 and entered.headers["Location"] == "/client/", target
