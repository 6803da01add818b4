"""A plan upgrade in a real Chromium: Alice opens Subscription, picks Enterprise, sees what the change adds to this
period (the panel comes in with htmx, the page stays), confirms, and the upcoming invoice shows the prorated line."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import fresh_page, seeded_live_app
from tests.e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/billing-e2e-{}.png"  # looked at by people checking the layout


@pytest.fixture
def portal(redis_url, tmp_path, stripe_server):
    """A live portal of its own: this test changes acme's plan (and so its fees), which the shared one must not see."""
    with seeded_live_app(redis_url, tmp_path, **stripe_server.config()) as (base_url, app):
        yield base_url, app


def test_customer_upgrades_and_sees_the_prorated_line(browser, portal, htmx_asset):
    base_url, _app = portal
    with fresh_page(browser, base_url) as page:
        _upgrade(page)


def _upgrade(page: Page) -> None:
    sign_in(page, "alice@acme.test")
    page.get_by_role("link", name="Subscription").click()
    expect(page.get_by_test_id("current-plan")).to_contain_text("Pro plan")
    page.evaluate("window.__e2eSamePage = true")

    page.get_by_test_id("switch-enterprise").click()
    panel = page.get_by_test_id("plan-change-panel")
    expect(panel).to_contain_text("Switch from Pro to Enterprise now?")
    assert page.evaluate("window.__e2eSamePage === true"), "the preview should come in without a page load"
    credit = panel.get_by_test_id("proration-credit").inner_text()
    charge = panel.get_by_test_id("proration-charge").inner_text()
    assert credit.startswith("-$") and charge.startswith("$")
    page.screenshot(path=SCREENSHOT.format("preview"), full_page=True)

    panel.get_by_test_id("confirm-change").click()
    expect(page.get_by_role("status")).to_contain_text("You are now on the Enterprise plan")
    expect(page.get_by_test_id("current-plan")).to_contain_text("Enterprise plan")
    upcoming = page.get_by_test_id("upcoming-invoice")
    prorated = upcoming.get_by_test_id("upcoming-line").filter(has_text="Remaining time on Enterprise")
    expect(prorated).to_have_count(1)
    expect(prorated).to_contain_text(re.compile(r"\$[\d,]+\.\d\d"))
    expect(upcoming.get_by_test_id("upcoming-line").filter(has_text="Unused time on Pro")).to_contain_text("-$")
    page.screenshot(path=SCREENSHOT.format("after"), full_page=True)
