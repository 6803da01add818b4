"""The admin dispute desk in a real Chromium: a card issuer disputes a real charge
on (local)Stripe; the admin opens the dispute, writes evidence, uploads a PDF,
submits it to Stripe, and sees the dispute under review, which Stripe confirms."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.payments import gateway, service
from app.payments.dispute_evidence import files_of
from app.payments.disputes import apply_stripe_dispute
from app.payments.models import Dispute
from tests.e2e.conftest import fresh_page, seeded_live_app
from tests.e2e.test_portal_login import sign_in
from tests.support import enrol_two_factor, fresh_totp_code, org

pytestmark = pytest.mark.e2e

ADMIN = "admin@matrix.test"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SCREENSHOTS = "/tmp/dispute-evidence-e2e-{}.png"  # looked at by people checking the layout


@pytest.fixture(scope="module")
def portal(redis_url, tmp_path_factory, stripe_server):
    """A live portal of its own, paying through localstripe (its admin gets 2FA here); yields (base URL, app)."""
    with seeded_live_app(redis_url, tmp_path_factory.mktemp("disputes-e2e"), **stripe_server.config()) as served:
        yield served


@pytest.fixture(scope="module")
def disputed(portal, stripe_server) -> str:
    """A real 250.00 USD charge that the card issuer disputes at Stripe; returns our dispute's id."""
    _, app = portal
    session = app.extensions["db"].session()
    try:
        payment = service.place(session, app.config, org(session, "acme"), order_id="order-e2e-dispute",
                                amount=25_000, currency="usd", payment_method="pm_card_visa", capture=True,
                                actor_label="alice@acme.test")
        answer = requests.post(f"{stripe_server.url}/_config/disputes",
                               json={"charge": payment.stripe_charge_id, "reason": "product_not_received"}, timeout=10)
        answer.raise_for_status()
        apply_stripe_dispute(session, app.config, "charge.dispute.created", answer.json())
        session.commit()
        return session.scalars(select(Dispute).where(Dispute.stripe_dispute_id == answer.json()["id"])).one().public_id
    finally:
        session.close()


def sign_in_as_admin(page: Page, app) -> None:
    secret = enrol_two_factor(app, ADMIN)
    sign_in(page, ADMIN)
    expect(page).to_have_url(re.compile(r"/login/two-factor"))
    page.get_by_label("Authentication code", exact=True).fill(fresh_totp_code(app, ADMIN, secret))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_admin_submits_evidence_with_a_pdf_to_stripe(browser, portal, disputed, htmx_asset):
    base_url, app = portal
    with fresh_page(browser, base_url) as page:
        sign_in_as_admin(page, app)

        page.goto("/admin/disputes")
        row = page.get_by_test_id("dispute-row").filter(has_text=disputed)
        expect(row).to_contain_text("$250.00")
        expect(row.get_by_test_id("dispute-status")).to_have_text("needs response")
        row.get_by_role("link", name=disputed).click()
        expect(page.get_by_role("heading", name=f"Dispute {disputed}")).to_be_visible()
        page.evaluate("window.__e2eSamePage = true")

        page.get_by_label("Product or service description").fill("250 GPU hours on an A100, used 3–9 March.")
        page.get_by_label("Customer email address").fill("alice@acme.test")
        page.get_by_label("What the file shows").select_option(label="Receipt")
        page.get_by_label("File", exact=True).set_input_files(
            {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF})
        page.get_by_role("button", name="Upload file").click()
        expect(page.get_by_test_id("files-notice")).to_have_text("receipt.pdf added as Receipt.")
        expect(page.get_by_test_id("evidence-file")).to_contain_text("receipt.pdf")
        # Only the file list was swapped: the text typed before the upload is still there.
        expect(page.get_by_label("Customer email address")).to_have_value("alice@acme.test")

        page.screenshot(path=SCREENSHOTS.format("draft"), full_page=True)
        page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm: Stripe takes one submission
        page.get_by_role("button", name="Submit evidence to Stripe").click()

        expect(page.get_by_test_id("notice")).to_have_text(
            "Evidence submitted to Stripe; the dispute is under review.")
        expect(page.get_by_role("heading", name=f"Dispute {disputed}").get_by_test_id("dispute-status")) \
            .to_have_text("under review")
        expect(page.get_by_test_id("evidence-form")).to_have_count(0)
        expect(page.get_by_test_id("history")).to_contain_text("Evidence submitted to Stripe; now under review")
        assert page.evaluate("window.__e2eSamePage === true"), "submitting reloaded the page"
        page.screenshot(path=SCREENSHOTS.format("submitted"), full_page=True)

    session = app.extensions["db"].session()
    try:
        dispute = session.scalars(select(Dispute).where(Dispute.public_id == disputed)).one()
        [receipt] = files_of(session, dispute)
        remote = gateway.client(app.config).v1.disputes.retrieve(dispute.stripe_dispute_id)
    finally:
        session.close()
    assert dispute.status == "under_review" == remote.status
    assert remote.evidence["product_description"] == "250 GPU hours on an A100, used 3–9 March."
    assert remote.evidence["customer_email_address"] == "alice@acme.test"
    assert remote.evidence["receipt"] == receipt.stripe_file_id and receipt.stripe_file_id.startswith("file_")
