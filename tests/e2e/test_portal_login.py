"""Sign-in, portal gates, sign-out and an htmx inline edit, in a real Chromium."""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

LOGIN_URL = re.compile(r"/login(\?.*)?$")


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def expect_client_figures(tier: str, running: str):
    def check(page: Page) -> None:
        expect(page.get_by_test_id("tier")).to_have_text(tier)
        expect(page.get_by_test_id("running-instances")).to_have_text(running)
    return check


def expect_partner_figures(page: Page) -> None:
    expect(page.get_by_test_id("referred-count")).to_have_text("1")
    expect(page.get_by_text("Acme Corporation", exact=True)).to_be_visible()


def expect_admin_enrols_then_sees_figures(page: Page) -> None:
    """Admins must turn 2FA on before the admin portal lets them in."""
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text("Administrators must turn on two-factor authentication")).to_be_visible()
    secret = page.get_by_test_id("setup-key").get_attribute("data-secret")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("customers")).to_have_text("2")
    expect(page.get_by_test_id("partners")).to_have_text("1")
    expect(page.get_by_test_id("users")).to_have_text("5")


@pytest.mark.parametrize(("email", "dashboard", "check_figures"), [
    ("admin@matrix.test", "/admin/security/two-factor", expect_admin_enrols_then_sees_figures),
    ("alice@acme.test", "/client/", expect_client_figures("Pro", "2")),
    ("bob@acme.test", "/client/", expect_client_figures("Pro", "2")),
    ("gina@globex.test", "/client/", expect_client_figures("Enterprise", "3")),
    ("pat@northwind.test", "/partner/", expect_partner_figures),
], ids=["admin", "alice", "bob", "gina", "pat"])
def test_demo_user_signs_in_to_their_portal_dashboard(page: Page, live_server, email, dashboard, check_figures):
    sign_in(page, email)

    expect(page).to_have_url(live_server + dashboard)
    check_figures(page)


def test_customer_typing_the_admin_address_gets_403(page: Page, live_server):
    sign_in(page, "alice@acme.test")
    expect(page).to_have_url(live_server + "/client/")

    response = page.goto(live_server + "/admin/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_test_id("customers")).to_have_count(0)


def test_wrong_password_shows_a_generic_error_and_stays_on_login(page: Page, live_server):
    sign_in(page, "bob@acme.test", "not-the-password")

    expect(page.get_by_text("Incorrect email or password.")).to_be_visible()
    expect(page).to_have_url(live_server + "/login")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_sign_out_ends_the_session(page: Page, live_server):
    sign_in(page, "gina@globex.test")
    expect(page).to_have_url(live_server + "/client/")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(live_server + "/login")
    expect(page.get_by_text("You have been signed out.")).to_be_visible()

    page.goto("/client/")
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("tier")).to_have_count(0)


def open_instances_as_alice(page: Page, live_server) -> None:
    sign_in(page, "alice@acme.test")
    expect(page).to_have_url(live_server + "/client/")
    page.goto("/client/instances")
    expect(page).to_have_url(live_server + "/client/instances")
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load on the page"
    # Survives only as long as this document does: proves the swaps below are not page loads.
    page.evaluate("window.__e2eSamePage = true")


def instance_row(page: Page, name: str):
    """The row of instance `name`, located by its stable id (the text changes while editing)."""
    row = page.locator("tr[id^='instance-']", has=page.get_by_role("link", name=name, exact=True))
    expect(row).to_have_count(1)
    return page.locator(f"tr[id='{row.get_attribute('id')}']")


def assert_same_page(page: Page, url: str) -> None:
    assert page.url == url
    assert page.evaluate("window.__e2eSamePage === true"), "the browser loaded a new page"


def open_rename_form(page: Page, live_server, name: str):
    """Alice opens the inline rename form of instance `name`; returns (url, row, input)."""
    open_instances_as_alice(page, live_server)
    url = page.url
    row = instance_row(page, name)
    row.get_by_role("link", name="Rename", exact=True).click()
    name_input = row.get_by_label("Name", exact=True)
    expect(name_input).to_have_value(name)
    assert_same_page(page, url)
    return url, row, name_input


def test_htmx_inline_rename_swaps_the_row_and_persists(page: Page, live_server, htmx_asset):
    url, row, name_input = open_rename_form(page, live_server, "notebook-t4")

    name_input.fill("notebook-renamed")
    row.get_by_role("button", name="Save").click()

    expect(row.get_by_role("link", name="notebook-renamed", exact=True)).to_be_visible()
    expect(row.get_by_role("link", name="Rename", exact=True)).to_be_visible()
    expect(row.get_by_label("Name", exact=True)).to_have_count(0)
    assert_same_page(page, url)

    page.reload()
    expect(row.get_by_role("link", name="notebook-renamed", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="notebook-t4", exact=True)).to_have_count(0)


def test_htmx_inline_rename_with_an_empty_name_shows_the_error_in_the_row(page: Page, live_server, htmx_asset):
    url, row, name_input = open_rename_form(page, live_server, "inference-l4-1")
    name_input.fill("")
    row.get_by_role("button", name="Save").click()

    expect(row.get_by_text("Name cannot be empty.")).to_be_visible()
    expect(row.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#htmx-error")).to_be_hidden()
    assert_same_page(page, url)

    page.reload()
    expect(instance_row(page, "inference-l4-1").get_by_role("link", name="Rename", exact=True)).to_be_visible()


def test_htmx_save_with_a_stale_csrf_token_shows_a_message_and_keeps_the_row(page: Page, live_server, htmx_asset):
    _, row, name_input = open_rename_form(page, live_server, "training-a100-1")
    name_input.fill("never-saved")
    # As if the session's token changed under an open tab: both copies of the token are stale.
    page.evaluate("""() => {
        document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': 'stale'}));
        document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'stale');
    }""")
    row.get_by_role("button", name="Save").click()

    expect(page.locator("#htmx-error")).to_be_visible()
    expect(page.locator("#htmx-error")).to_contain_text("This form has expired")
    expect(page.locator("header.topbar")).to_have_count(1)  # no second layout nested in the table
    expect(row.get_by_label("Name", exact=True)).to_have_value("never-saved")
    page.reload()
    expect(page.get_by_role("link", name="training-a100-1", exact=True)).to_be_visible()
