"""Webhooks in a real Chromium: Alice creates an endpoint pointing at a real
receiver, copies the secret, sends a test event, and watches the delivery
(made by a real `flask worker` process over real Redis) appear in the log."""
from __future__ import annotations

import re
import signal
import subprocess

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from standardwebhooks import Webhook

from app.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.e2e.conftest import TIMEOUT_MS, seeded_live_app
from tests.e2e.test_portal_login import sign_in
from tests.support import kill_tree, spawn_worker

pytestmark = pytest.mark.e2e

SCREENSHOTS = "/tmp/webhooks-e2e-{}.png"  # looked at by people checking the layout
DELIVERY_TIMEOUT_MS = 30_000  # worker start-up, the job, and the log's next 2 s refresh


@pytest.fixture
def portal(redis_url, tmp_path):
    """A live portal of its own (this test starts from no endpoints); yields (base URL, app)."""
    with seeded_live_app(redis_url, tmp_path) as served:
        yield served


@pytest.fixture
def worker(portal, redis_url, tmp_path):
    """A real `flask worker` on the portal's database and Redis."""
    _, app = portal
    proc = spawn_worker(app.config["DATABASE_URL"], redis_url, tmp_path, tmp_path / "worker.log",
                        WEBHOOK_TIMEOUT="5")
    try:
        yield proc
    finally:
        kill_tree(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(timeout=5)


@pytest.fixture
def browser_page(browser, portal):
    base_url, _ = portal
    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def only_row(app, model):
    session = app.extensions["db"].session()
    try:
        return session.scalars(select(model)).one()
    finally:
        session.close()


def test_create_endpoint_send_test_event_and_see_it_delivered(browser_page: Page, portal, worker, receiver,
                                                              htmx_asset):
    page = browser_page
    base_url, app = portal
    sign_in(page, "alice@acme.test")
    expect(page).to_have_url(base_url + "/client/")

    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_role("heading", name="No webhook endpoints yet")).to_be_visible()
    page.evaluate("window.__e2eSamePage = true")

    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("Description").fill("Billing sync")
    page.get_by_label("Only the ones I choose").check()
    page.get_by_label("invoice.paid", exact=True).check()
    page.get_by_label("payment.failed", exact=True).check()
    page.get_by_label("URL", exact=True).fill("https://10.0.0.7/hooks")
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_text("10.0.0.7 is not a public address")).to_be_visible()  # beside the field, no reload
    expect(page.get_by_label("invoice.paid", exact=True)).to_be_checked()

    page.get_by_label("URL", exact=True).fill(receiver.url)
    page.get_by_role("button", name="Create endpoint").click()

    secret_box = page.get_by_test_id("created").get_by_test_id("secret")
    expect(secret_box).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$"))
    secret = secret_box.input_value()
    assert page.evaluate("window.__e2eSamePage === true"), "creating the endpoint reloaded the page"
    page.screenshot(path=SCREENSHOTS.format("created"), full_page=True)
    endpoint = only_row(app, WebhookEndpoint)
    assert endpoint.event_types == ["invoice.paid", "payment.failed"]

    page.get_by_role("link", name=receiver.url).click()
    expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
    expect(page.get_by_text(secret)).to_have_count(0)  # shown once, not on later pages
    expect(page.get_by_label("Event type", exact=True).first).to_have_value("invoice.paid")
    page.evaluate("window.__e2eSamePage = true")

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_test_id("test-queued")).to_contain_text("Test event invoice.paid")
    row = page.get_by_test_id("delivery-log").get_by_test_id("log-row")
    expect(row).to_have_count(1)
    expect(row.locator(".badge-succeeded")).to_have_text("succeeded", timeout=DELIVERY_TIMEOUT_MS)
    expect(row).to_contain_text("200")
    assert page.evaluate("window.__e2eSamePage === true"), "the log refresh reloaded the page"

    [received] = receiver.requests
    Webhook(secret).verify(received.body, received.headers)  # an independent verifier accepts it
    message = only_row(app, WebhookMessage)
    assert received.headers["webhook-id"] == message.public_id and message.status == "succeeded"

    page.reload()  # the 24 h figures are not live; a reload counts the delivery
    expect(page.get_by_test_id("success-rate")).to_have_text("100.0%")
    page.screenshot(path=SCREENSHOTS.format("endpoint"), full_page=True)

    row.get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name=f"Message {message.public_id}")).to_be_visible()
    expect(page.get_by_test_id("attempt")).to_have_count(1)
    expect(page.get_by_test_id("response-body")).to_have_text("ok")
    page.screenshot(path=SCREENSHOTS.format("message"), full_page=True)
