"""Rate limits on the second factor and the login form (Flask-Limiter on the
private Redis): failures count per account and per address; the answer is a
429 page in the portal's style with a Retry-After header.

The small limits are set per test with make_app(...); the 2FA lockout (5 wrong
codes) stays out of the way because the limits here are lower.
"""
from datetime import timedelta

from app import clock
from tests.security.helpers import STEP_SECONDS, body, enrol, oathtool_code
from tests.support import PortalClient

ALICE, GINA = "alice@acme.test", "gina@globex.test"


def _pending(app, email, address="203.0.113.10") -> PortalClient:
    client = PortalClient(app, remote_addr=address)
    assert client.login(email).headers["Location"].startswith("/login/two-factor")
    return client


def _code(client, code):
    return client.post_form("/login/two-factor", {"code": code})


def _assert_throttled_page(response):
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = body(response)
    assert "Too many attempts. Wait a few minutes and try again." in page
    assert "<!doctype html>" in page.lower() and 'class="flash flash-error"' in page
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


def test_the_two_factor_step_is_throttled_per_account(make_app, frozen):
    app, _ = make_app(TWO_FACTOR_LIMIT_PER_ACCOUNT="3 per 15 minutes")
    secret, _ = enrol(app, ALICE)
    enrol(app, GINA)
    clock.advance(timedelta(seconds=STEP_SECONDS))
    first = _pending(app, ALICE)
    for _ in range(3):
        assert _code(first, "000000").status_code == 401
    _assert_throttled_page(_code(first, oathtool_code(secret)))  # even the right code waits

    # The limit follows the account to another address ...
    elsewhere = _pending(app, ALICE, "198.51.100.60")
    _assert_throttled_page(_code(elsewhere, oathtool_code(secret)))
    # ... and does not touch other accounts signing in from the first one.
    assert _code(_pending(app, GINA), "000000").status_code == 401


def test_the_two_factor_step_is_throttled_per_address(make_app, frozen):
    app, _ = make_app(TWO_FACTOR_LIMIT_PER_IP="3 per 15 minutes")
    enrol(app, ALICE)
    gina_secret, _ = enrol(app, GINA)
    clock.advance(timedelta(seconds=STEP_SECONDS))
    attacker = _pending(app, ALICE, "192.0.2.77")
    for _ in range(2):
        assert _code(attacker, "000000").status_code == 401
    attacker.login(GINA)
    assert _code(attacker, "000000").status_code == 401
    _assert_throttled_page(_code(attacker, oathtool_code(gina_secret)))

    # Gina herself, from her own address, is not held back by the attacker's address.
    assert _code(_pending(app, GINA, "198.51.100.61"), oathtool_code(gina_secret)).status_code == 302


def test_good_codes_do_not_use_up_the_allowance(make_app, frozen):
    app, _ = make_app(TWO_FACTOR_LIMIT_PER_ACCOUNT="2 per 15 minutes")
    secret, _ = enrol(app, ALICE)
    for _ in range(4):
        clock.advance(timedelta(seconds=STEP_SECONDS))
        client = _pending(app, ALICE)
        assert _code(client, oathtool_code(secret)).status_code == 302


def test_the_login_form_429_has_retry_after(app, demo, client):
    for _ in range(5):
        assert client.login(ALICE, "wrong-password").status_code == 401
    throttled = client.login(ALICE, "wrong-password")
    assert throttled.status_code == 429
    assert "Too many failed sign-in attempts" in body(throttled)
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    assert client.get("/client/").status_code == 302
