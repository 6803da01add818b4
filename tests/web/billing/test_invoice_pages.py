"""Client → Invoices and Admin → Invoices: list, detail, printable page, Pay now, void, refund at the invoice's rate."""
from __future__ import annotations

import pytest

from app import clock
from app.billing import collection, invoices
from app.billing.profile import get_profile
from app.rental.service import current_subscription
from tests.billing.support import AFTER_NOVEMBER, HALFWAY, close_and_finalize, customer
from tests.support import org
from tests.web.payments.support import text


def issue(db, subscription):
    """Close and issue November's invoice, then put the clock back where the signed-in browsers are."""
    invoice = close_and_finalize(db, subscription)
    clock.freeze(HALFWAY)
    return invoice


@pytest.fixture
def invoice(acme):
    """acme's November invoice (Pro, USD, no US tax: 49.00 due), issued and not yet collected."""
    return issue(acme, current_subscription(acme, org(acme, "acme").id))


def _page(invoice) -> str:
    return f"/client/invoices/{invoice.public_id}"


def test_the_list_and_the_invoice(alice, invoice):
    listing = text(alice.get("/client/invoices"))
    assert invoice.number in listing and "$49.00" in listing and 'data-testid="invoice-status">open<' in listing
    page = text(alice.get(_page(invoice)))
    assert f"Invoice {invoice.number}" in page and "Pro plan, 01 Nov 2026 – 01 Dec 2026" in page
    assert 'data-testid="invoice-total"><strong>$49.00<' in page and "Sales tax 0%" in page
    assert 'data-testid="pay-invoice"' in page


def test_the_empty_list_explains_when_invoices_come(alice):
    page = text(alice.get("/client/invoices"))
    assert 'data-testid="empty"' in page and "invoiced when it ends" in page


def test_the_printable_invoice_has_print_styles_and_no_portal_navigation(alice, invoice):
    page = text(alice.get(f"{_page(invoice)}/print"))
    assert "@media print" in page and "window.print()" in page and invoice.number in page
    assert 'class="sidenav"' not in page


def test_pay_now_charges_the_card_on_file(alice, acme, invoice):
    response = alice.post_form(f"{_page(invoice)}/pay", {}, token_from=_page(invoice))
    assert response.status_code == 302
    page = text(alice.get(_page(invoice)))
    assert f"Invoice {invoice.number} is paid. Thank you." in page and 'data-testid="invoice-status">paid<' in page
    assert 'data-testid="pay-invoice"' not in page


def test_a_declined_card_is_shown_and_the_invoice_can_be_paid_after_fixing_it(alice, acme, invoice):
    get_profile(acme, invoice.org_id).payment_method = "pm_card_visa_chargeDeclined"
    acme.commit()
    alice.post_form(f"{_page(invoice)}/pay", {}, token_from=_page(invoice))
    page = text(alice.get(_page(invoice)))
    assert "The payment failed: Your card was declined." in page
    assert 'data-testid="invoice-failure"' in page and 'data-testid="pay-invoice"' in page
    assert "past due" in text(alice.get("/client/subscription"))


def test_members_see_invoices_but_do_not_pay_them(bob, invoice):
    page = text(bob.get(_page(invoice)))
    assert invoice.number in page and 'data-testid="pay-invoice"' not in page
    assert bob.post_form(f"{_page(invoice)}/pay", {}, token_from=_page(invoice)).status_code == 403


def test_another_organizations_invoice_and_drafts_are_not_found(alice, acme):
    theirs = issue(acme, customer(acme, "initech"))
    assert alice.get(_page(theirs)).status_code == 404
    assert alice.get(f"{_page(theirs)}/print").status_code == 404
    clock.freeze(AFTER_NOVEMBER)
    draft = invoices.close_period(acme, current_subscription(acme, org(acme, "acme").id).id)
    acme.commit()
    clock.freeze(HALFWAY)
    assert alice.get(_page(draft)).status_code == 404
    assert draft.number is None and "(draft)" not in text(alice.get("/client/invoices"))


@pytest.fixture
def admin(acme, make_client):
    """The admin signs in with a TOTP code of the real time; then the clock goes back to the test's moment."""
    moment = clock.utcnow()
    clock.reset()
    browser = make_client()
    browser.login_admin()
    clock.freeze(moment)
    return browser


def test_admins_list_filter_and_open_every_invoice(admin, acme, invoice):
    listing = text(admin.get("/admin/invoices?status=open&organization=acme"))
    assert invoice.number in listing and "Acme Corporation" in listing
    assert invoice.number not in text(admin.get("/admin/invoices?status=paid"))
    unknown = admin.get("/admin/invoices?organization=nosuch")
    assert "No organization has the slug" in text(unknown)
    assert "Void invoice" in text(admin.get(f"/admin/invoices/{invoice.public_id}"))


def test_voiding_needs_a_reason_and_shows_it_to_the_customer(admin, alice, acme, invoice):
    path = f"/admin/invoices/{invoice.public_id}"
    refused = admin.post_form(f"{path}/void", {"reason": ""}, token_from=path)
    assert refused.status_code == 400 and "Say why the invoice is voided." in text(refused)
    assert admin.post_form(f"{path}/void", {"reason": "Duplicate of an earlier invoice."},
                           token_from=path).status_code == 302
    page = text(alice.get(_page(invoice)))
    assert 'data-testid="invoice-status">void<' in page and "Duplicate of an earlier invoice." in page


def test_admins_refund_a_paid_invoice_in_usd_at_its_rate(admin, acme, app):
    invoice = issue(acme, customer(acme, "berlin", country="DE", currency="EUR"))
    collection.collect(acme, app.config, invoice.id)
    path = f"/admin/invoices/{invoice.public_id}"
    assert "converted at this invoice's rate (0.9234)" in text(admin.get(path))
    response = admin.post_form(f"{path}/refund", {"amount": "10.00", "currency": "USD", "reason": "billing_error"},
                               token_from=path)
    assert response.status_code == 302
    assert "of €9.23: succeeded." in text(admin.get(path))
    too_much = admin.post_form(f"{path}/refund", {"amount": "100.00", "currency": "USD", "reason": "billing_error"},
                               token_from=path)
    assert too_much.status_code == 400 and "more than the €44.62 left" in text(too_much)


def test_customers_cannot_open_the_admin_invoices(alice):
    assert alice.get("/admin/invoices").status_code == 403
