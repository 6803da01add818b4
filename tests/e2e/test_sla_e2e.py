"""The SLA page in a real Chromium after simulated metrics: December had a five-hour outage, so Alice sees
the breached uptime, the alert it opened, and the service credit that closing the month earned (10% of Pro's
49.00 USD), then opens the printable report."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from app import clock
from app.sla.jobs import evaluate_sla
from app.sla.months import month_start, next_month
from tests.e2e.conftest import fresh_page, seeded_live_app
from tests.e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/sla-e2e-{}.png"  # looked at by people checking the layout


@pytest.fixture
def portal(redis_url, tmp_path, stripe_server):
    """A live portal of its own: this test moves the clock to the next month and writes a month of samples."""
    with seeded_live_app(redis_url, tmp_path, **stripe_server.config()) as (base_url, app):
        yield base_url, app


def simulate_a_month_with_an_outage(app) -> datetime:
    """The month the demo subscriptions started in, simulated up to 5 minutes after it ended (inside the grace,
    so its samples are still taken), with acme's instances down for 300 minutes that evening; then the
    evaluation job runs after the grace, as the scheduler would, and closes the month. Returns that month."""
    month = month_start(datetime.now(timezone.utc))
    clock.freeze(next_month(month) + timedelta(minutes=5))
    result = app.test_cli_runner().invoke(args=["simulate-metrics", "--org", "acme", "--days", "32",
                                                "--outage-minutes", "300", "--outage-ago", "30"])
    assert result.exit_code == 0, result.output
    clock.freeze(next_month(month) + timedelta(minutes=20))
    with app.app_context():
        assert evaluate_sla()["credits_issued"] == 1
    return month


def test_customer_sees_the_breach_and_the_credit_after_simulated_metrics(browser, portal, htmx_asset):
    base_url, app = portal
    month = simulate_a_month_with_an_outage(app)
    with fresh_page(browser, base_url) as page:
        sign_in(page, "alice@acme.test")
        page.get_by_role("link", name="SLA", exact=True).click()

        report = page.get_by_test_id("report-row").filter(has_text=month.strftime("%B %Y"))
        expect(report.get_by_test_id("report-status")).to_have_text("Breached")
        expect(report.get_by_test_id("report-uptime")).to_have_text(re.compile(r"^99\.\d+%$"))  # a whole month
        expect(report.get_by_test_id("report-credit-percent")).to_have_text("10%")
        expect(report.get_by_test_id("report-credit")).to_have_text("$4.90")
        expect(report.get_by_test_id("report-invoice")).to_contain_text("on your next invoice")

        alert = page.get_by_test_id("alert-row").filter(has_text="Uptime").first
        expect(alert).to_be_visible()
        page.screenshot(path=SCREENSHOT.format("page"), full_page=True)

        report.get_by_role("link", name="Printable report").click()
        expect(page.get_by_test_id("sla-report")).to_contain_text("Breached")
        expect(page.get_by_test_id("sla-report")).to_contain_text("$4.90")
        page.screenshot(path=SCREENSHOT.format("report"), full_page=True)

        page.goto("/client/subscription")  # the credit waits on the upcoming invoice
        credit = page.get_by_test_id("upcoming-line").filter(has_text="SLA credit")
        expect(credit).to_have_count(1)
        expect(credit).to_contain_text("-$4.90")
