"""A partial refund in a real Chromium: Alice charges a card from the payments
page (through localstripe), opens the payment, asks for part of it back, and
sees the refund succeed in the history with the amounts updated, without the
page reloading."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/refund-e2e-{}.png"  # looked at by people checking the layout


def test_customer_requests_a_partial_refund_and_sees_it(page: Page, live_server, htmx_asset):
    sign_in(page, "alice@acme.test")
    expect(page).to_have_url(live_server + "/client/")

    page.goto("/client/payments")
    form = page.get_by_test_id("new-payment-form")
    form.get_by_label("Order id").fill("E2E-REFUND-1")
    form.get_by_label("Amount", exact=True).fill("100.00")
    form.get_by_label("Currency").select_option("USD")
    form.get_by_label("Payment method").fill("pm_card_visa")
    form.get_by_label("Charge now").check()
    form.get_by_role("button", name="Pay").click()

    result = page.get_by_test_id("payment-result")
    expect(result).to_contain_text("charged.")
    expect(result.get_by_test_id("payment-status")).to_have_text("succeeded")
    row = page.get_by_test_id("payment-row").filter(has_text="E2E-REFUND-1")
    expect(row).to_have_count(1)  # the list refreshed itself

    result.get_by_role("link", name="$100.00 for order E2E-REFUND-1").click()
    expect(page.get_by_role("heading", name=re.compile("for order E2E-REFUND-1"))).to_be_visible()
    expect(page.get_by_test_id("no-refunds")).to_be_visible()
    page.evaluate("window.__e2eSamePage = true")

    refund_form = page.get_by_test_id("refund-form")
    refund_form.get_by_label("Partial: the amount below").check()
    refund_form.get_by_label("Amount (partial refunds only)").fill("25.00")
    refund_form.get_by_label("Reason").select_option(label="Service issue")
    refund_form.get_by_label("Note").fill("Instance was down for two hours")
    refund_form.get_by_role("button", name="Request refund").click()

    expect(page.get_by_test_id("refund-notice")).to_contain_text("of $25.00 succeeded")
    history = page.get_by_test_id("refund-history").get_by_test_id("refund-row")
    expect(history).to_have_count(1)
    expect(history.get_by_test_id("refund-status")).to_have_text("succeeded")
    expect(history).to_contain_text("$25.00")
    expect(history).to_contain_text("Service issue")
    expect(page.get_by_test_id("amount-refunded")).to_have_text("$25.00")
    expect(page.get_by_test_id("amount-refundable")).to_have_text("$75.00")
    expect(page.get_by_test_id("payment-amounts").get_by_test_id("amount-captured")).to_have_text("$100.00")
    assert page.evaluate("window.__e2eSamePage === true"), "requesting the refund reloaded the page"
    page.screenshot(path=SCREENSHOT.format("detail"), full_page=True)

    page.goto("/client/payments")
    page.screenshot(path=SCREENSHOT.format("list"), full_page=True)
    page.goto("/client/refunds")
    listed = page.get_by_test_id("refund-list").get_by_test_id("refund-row").filter(has_text="E2E-REFUND-1")
    expect(listed.get_by_test_id("refund-status")).to_have_text("succeeded")
