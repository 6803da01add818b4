"""Two-factor authentication in a real Chromium, checked against an independent
TOTP implementation: the OS package `oathtool` (OATH Toolkit, RFC 6238).

Alice reads the setup key off the page, turns 2FA on with a code oathtool
computes from it, signs in with a code, sees the same code refused the second
time, and signs in once with a recovery code (which then stops working).

Time: the live server runs in this process on the real clock (a live server's
clock must not be frozen), so codes are computed for chosen 30-second steps
with `oathtool -N`, relative to `app.clock.utcnow()` (what the server reads).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from playwright.sync_api import Page, expect

from app import clock
from tests.conftest import unavailable
from tests.e2e.conftest import fresh_page, seeded_live_app
from tests.e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

EMAIL = "alice@acme.test"
STEP_SECONDS = 30
TWO_FACTOR_URL = re.compile(r"/login/two-factor(\?.*)?$")


@pytest.fixture
def portal(redis_url, tmp_path):
    """A live portal of its own: this test turns 2FA on for Alice, which the
    shared `live_server` (password-only sign-ins) must not see. Yields the base URL."""
    with seeded_live_app(redis_url, tmp_path) as (base_url, _app):
        yield base_url


@pytest.fixture
def browser_page(browser, portal):
    with fresh_page(browser, portal) as page:
        yield page


@pytest.fixture(scope="module")
def oathtool():
    path = shutil.which("oathtool")
    if path is None:
        unavailable("oathtool", "the OS package oathtool is not installed (make test installs it)")
    return path


# --- codes from the independent implementation ---------------------------------

def current_step() -> int:
    return int(clock.utcnow().timestamp()) // STEP_SECONDS


def oath_code(oathtool: str, secret: str, step: int) -> str:
    """The code for time step `step`, computed by oathtool at the start of that step."""
    moment = datetime.fromtimestamp(step * STEP_SECONDS, tz=timezone.utc)
    result = subprocess.run([oathtool, "--totp", "-b", "-N", f"{moment:%Y-%m-%d %H:%M:%S} UTC", secret],
                            capture_output=True, text=True, check=True, timeout=10)
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), f"unexpected oathtool output: {result.stdout!r}"
    return code


def wrong_code(oathtool: str, secret: str, step: int) -> str:
    """Six digits that are no valid code for any step the server could accept around `step`."""
    valid = {oath_code(oathtool, secret, s) for s in range(step - 2, step + 3)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


# --- page steps -----------------------------------------------------------------

def open_two_factor_setup(page: Page, base_url: str) -> None:
    sign_in(page, EMAIL)
    expect(page).to_have_url(base_url + "/client/")
    page.goto("/client/security")
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    page.get_by_role("link", name="Set up two-factor authentication").click()  # signing in grants sudo
    expect(page).to_have_url(base_url + "/client/security/two-factor")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()


def read_setup_key(page: Page) -> str:
    shown = page.get_by_test_id("setup-key").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", shown.strip()), f"not a grouped base32 key: {shown!r}"
    return shown.replace(" ", "")


def enter_code(page: Page, code: str, button: str) -> None:
    page.get_by_label("Authentication code", exact=True).fill(code)
    page.get_by_role("button", name=button).click()


def sign_out(page: Page, base_url: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base_url + "/login")
    expect(page.get_by_text("You have been signed out.")).to_be_visible()


def sign_in_to_second_step(page: Page) -> None:
    sign_in(page, EMAIL)
    expect(page).to_have_url(TWO_FACTOR_URL)
    expect(page.get_by_role("heading", name="Two-factor verification")).to_be_visible()


def enter_recovery_code(page: Page, recovery_code: str) -> None:
    page.get_by_label("Authentication code", exact=True).fill("")
    page.get_by_text("Use a recovery code instead").click()  # opens the <details>
    page.get_by_label("Recovery code", exact=True).fill(recovery_code)
    page.get_by_role("button", name="Verify").click()


# --- the test -------------------------------------------------------------------

def test_two_factor_setup_sign_in_replay_and_recovery_code(browser_page: Page, portal, oathtool):
    page, base_url = browser_page, portal
    open_two_factor_setup(page, base_url)
    secret = read_setup_key(page)
    expect(page.locator("[data-testid=setup-qr] svg")).to_be_visible()

    # Steps, counted from `enable_step` = the step current when enabling (E):
    #   enable with the code of E, sign in with the code of E+1, replay E+1.
    # Enabling claims E, so the sign-in needs a later step; E+1 is accepted from
    # step E to E+2 (window ±1) and E from E-1 to E+1, so both hold whether or
    # not the wall clock crosses a step boundary during the test (it takes a few
    # seconds, far less than the 30 s a boundary shift would need to matter).
    # The "now - 30 s, then next step" pattern would not: a boundary crossed
    # between computing and submitting the older code makes it too old.
    # A third TOTP sign-in (E+2) is left out: it is only valid once the clock
    # reaches step E+1, which would mean waiting up to 30 s.
    enable_step = current_step()
    enter_code(page, wrong_code(oathtool, secret, enable_step), "Turn on two-factor authentication")
    expect(page.get_by_text("That code is not correct.")).to_be_visible()
    assert read_setup_key(page) == secret, "a refused code must not change the key being set up"

    enter_code(page, oath_code(oathtool, secret, enable_step), "Turn on two-factor authentication")
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    expect(page.get_by_text("They are shown only once.")).to_be_visible()
    codes_list = page.locator("[data-testid=recovery-codes] li")
    expect(codes_list).to_have_count(10)
    recovery_codes = [text.strip() for text in codes_list.all_inner_texts()]
    assert len(set(recovery_codes)) == 10 and all(recovery_codes), recovery_codes
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Set up two-factor authentication")).to_have_count(0)

    # Signing in now takes the password and then a code.
    sign_out(page, base_url)
    sign_in_to_second_step(page)
    sign_in_code = oath_code(oathtool, secret, enable_step + 1)
    enter_code(page, sign_in_code, "Verify")
    expect(page).to_have_url(base_url + "/client/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The same code a second time is refused, though still inside its window.
    sign_out(page, base_url)
    sign_in_to_second_step(page)
    enter_code(page, sign_in_code, "Verify")
    expect(page.get_by_text("That code has already been used.")).to_be_visible()
    expect(page).to_have_url(TWO_FACTOR_URL)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    # A recovery code instead: it signs in once.
    enter_recovery_code(page, recovery_codes[0])
    expect(page).to_have_url(base_url + "/client/")
    expect(page.get_by_text("You signed in with a recovery code. It cannot be used again")).to_be_visible()

    sign_out(page, base_url)
    sign_in_to_second_step(page)
    enter_recovery_code(page, recovery_codes[0])
    expect(page.get_by_text("That recovery code has already been used.")).to_be_visible()
    expect(page).to_have_url(TWO_FACTOR_URL)
    page.goto("/client/")
    expect(page).to_have_url(re.compile(r"/login(\?.*)?$"))
