"""Cost advice in a real Chromium: acme's inference-l4-1 reported a fortnight of GPU utilization around 3%, the
recompute (the daily job's body, with the real rules) found it idle, and Alice sees the recommendation with its
savings on Cost advice, opens it, applies it after the browser's confirmation, and Instances shows it stopped."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert, select

from app import clock
from app.accounts.models import Organization
from app.advice.service import recompute
from app.advice.thresholds import THRESHOLDS
from app.rental.models import Instance
from app.sla.models import InstanceHour
from tests.e2e.conftest import fresh_page, seeded_live_app
from tests.e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

SCREENSHOT = "/tmp/advice-e2e-{}.png"  # looked at by people checking the layout
GPU_BP = (250, 300, 350, 320)  # 2.5–3.5% GPU, hour after hour: every day is idle (≤ 10%)
MEMORY_BP = 6000  # 60% of 24 GB = 14.4 GB in use: too much for a T4-16GB's headroom, so no rightsizing too
# 59 cents × 336 idle hours × 30 ÷ 14 days = 42,480 cents a month.
SAVINGS = "$424.80"


@pytest.fixture
def portal(redis_url, tmp_path, stripe_server):
    """A live portal of its own: this test writes utilization and stops one of acme's instances."""
    with seeded_live_app(redis_url, tmp_path, **stripe_server.config()) as (base_url, app):
        yield base_url, app


def an_idle_fortnight(app) -> None:
    """Every hour of the last 14 days (the window up to this hour) at ~3% GPU for inference-l4-1, then the
    recompute the daily job runs, on the real rules."""
    session = app.extensions["db"].session()
    try:
        org = session.scalars(select(Organization).where(Organization.slug == "acme")).one()
        l4 = session.scalars(select(Instance).where(Instance.org_id == org.id,
                                                    Instance.name == "inference-l4-1")).one()
        now = clock.utcnow()
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)  # the advice window: the last 14 whole days
        hours = [end - timedelta(hours=offset) for offset in range(THRESHOLDS.window_days * 24, 0, -1)]
        session.execute(insert(InstanceHour), [
            {"instance_id": l4.id, "org_id": org.id, "hour": hour, "samples": 60,
             "gpu_sum_bp": 60 * GPU_BP[index % len(GPU_BP)], "gpu_max_bp": GPU_BP[index % len(GPU_BP)] + 100,
             "memory_sum_bp": 60 * MEMORY_BP, "memory_max_bp": MEMORY_BP} for index, hour in enumerate(hours)])
        result = recompute(session, org, now)
        session.commit()
        assert result.opened >= 1, result
    finally:
        session.close()


def test_customer_applies_an_idle_instance_recommendation_and_the_instance_is_stopped(browser, portal, htmx_asset):
    base_url, app = portal
    an_idle_fortnight(app)
    with fresh_page(browser, base_url) as page:
        sign_in(page, "alice@acme.test")
        page.get_by_role("link", name="Cost advice", exact=True).click()

        row = page.get_by_test_id("rec-row").filter(has_text="Stop idle instance inference-l4-1")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("rec-kind")).to_have_text("Idle instance")
        expect(row.get_by_test_id("rec-savings")).to_have_text(SAVINGS)
        expect(page.get_by_test_id("total")).to_contain_text("$")
        page.screenshot(path=SCREENSHOT.format("list"), full_page=True)

        row.get_by_test_id("rec-title").click()
        expect(page.get_by_test_id("savings")).to_have_text(SAVINGS)
        expect(page.get_by_test_id("evidence-idle_hours")).to_have_text("336 h")
        expect(page.locator("#chart-evidence rect")).not_to_have_count(0)
        page.screenshot(path=SCREENSHOT.format("detail"), full_page=True)

        page.evaluate("window.__e2eSamePage = true")
        messages = []
        page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
        page.get_by_test_id("apply").click()
        panel = page.get_by_test_id("advice-actions")
        expect(panel.get_by_test_id("advice-notice")).to_have_text("Done: Stop instance inference-l4-1.")
        expect(panel).to_have_attribute("data-status", "applied")
        assert messages and messages[0].startswith("Stop instance inference-l4-1 now?"), messages
        assert page.evaluate("window.__e2eSamePage === true"), "the panel should swap in place, not reload the page"
        page.screenshot(path=SCREENSHOT.format("applied"), full_page=True)

        page.get_by_role("link", name="Instances", exact=True).click()
        instance_row = page.locator("#instances tr").filter(has_text="inference-l4-1")
        expect(instance_row.locator(".badge")).to_have_text("stopped")
        page.screenshot(path=SCREENSHOT.format("instances"), full_page=True)

        page.get_by_role("link", name="Cost advice", exact=True).click()
        expect(page.get_by_test_id("rec-row").filter(has_text="inference-l4-1")).to_have_count(0)
