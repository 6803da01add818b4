"""Client → Billing settings: owners change the profile (with and without htmx) and
submit exemption certificates; the tax that applies now follows; refusals appear
beside their field with nothing written; members see everything read-only and their
POSTs get 403. On SQLite and PostgreSQL."""
from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from app.billing.models import BillingProfile
from app.tax import exemptions
from app.tax.models import TaxExemption
from tests.support import org
from tests.tax.support import audits, count
from tests.web.payments.support import field_errors, text

PAGE = "/client/billing"
EXEMPTIONS = "/client/billing/exemptions"
GLOBEX = {"legal_name": "Globex Industries GmbH", "address": "Hauptstr. 1, Berlin", "customer_type": "business",
          "tax_id": "DE123456789", "preferred_currency": "EUR", "payment_method": "pm_card_visa"}


@pytest.fixture
def gina(demo_rates, client):
    client.login("gina@globex.test")
    return client


@pytest.fixture
def bob(demo_rates, make_client):
    member = make_client()
    member.login("bob@acme.test")
    return member


def save(client, htmx=False, **changes):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post_form(PAGE, {**GLOBEX, **changes}, headers=headers)


def page_text(response) -> str:
    return html.unescape(text(response)).strip()


def test_the_page_shows_the_profile_and_the_tax_that_applies_now(gina):
    page = page_text(gina.get(PAGE))
    assert 'data-testid="tax-label">Reverse charge (VAT 0%)<' in page
    assert "You are a business in Germany (European Union) with VAT ID DE123456789" in page
    assert "Article 196" in page
    assert 'value="DE123456789"' in page and 'value="pm_card_visa"' in page
    assert '<option selected value="EUR">' in page and "Save billing settings" in page
    assert "No certificate submitted" in page and 'data-testid="exemption-form"' in page


def test_without_a_vat_id_the_german_business_pays_vat(gina, demo_rates):
    response = save(gina, tax_id="")
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)

    page = page_text(gina.get(PAGE))
    assert "Billing settings saved." in page and 'data-testid="tax-label">VAT 19%<' in page
    assert "Customers in Germany (European Union) pay VAT 19% on every invoice line. Add your VAT ID" in page
    assert demo_rates.get(BillingProfile, org(demo_rates, "globex").id).tax_id is None
    [audit] = audits(demo_rates, "billing_profile.updated")
    assert audit.actor_label == "gina@globex.test" and audit.details["changed"]["tax_id"]["after"] is None


def test_with_htmx_the_profile_block_swaps_with_the_new_tax(gina, demo_rates):
    save(gina, tax_id="")
    response = save(gina, htmx=True, tax_id="de 123.456.789", preferred_currency="usd")
    body = page_text(response)
    assert response.status_code == 200 and body.startswith('<div id="billing-profile"') and "<html" not in body
    assert 'data-testid="tax-label">Reverse charge (VAT 0%)<' in body and "Billing settings saved." in body
    globex = org(demo_rates, "globex")
    assert (globex.preferred_currency, demo_rates.get(BillingProfile, globex.id).tax_id) == ("USD", "DE123456789")


@pytest.mark.parametrize("changes, field, message", [
    ({"tax_id": "DE12"}, "tax_id", "does not have the format of a DE VAT ID"),
    ({"customer_type": "individual"}, "tax_id", "Only businesses have a VAT or tax ID"),
    ({"preferred_currency": "XYZ"}, "preferred_currency", "Unsupported currency"),
    ({"payment_method": "4242 4242"}, "payment_method", "Stripe PaymentMethod id"),
])
def test_refusals_appear_beside_their_field_and_nothing_changes(gina, demo_rates, changes, field, message):
    for htmx in (True, False):
        response = save(gina, htmx=htmx, legal_name="Renamed", **changes)
        assert response.status_code == 400
        assert any(message in error for error in field_errors(text(response), field)), text(response)
    profile = demo_rates.get(BillingProfile, org(demo_rates, "globex").id)
    assert (profile.legal_name, profile.tax_id) == ("", "DE123456789")
    assert audits(demo_rates, "billing_profile.updated") == []


def test_an_owner_submits_a_certificate_and_sees_its_status(gina, demo_rates):
    response = gina.post_form(EXEMPTIONS, {"certificate_reference": "BER-2026-17", "expires_on": "2027-06-30"},
                              token_from=PAGE, headers={"HX-Request": "true"})
    body = page_text(response)
    assert response.status_code == 201 and body.startswith('<section id="tax-exemptions"')
    assert "Certificate BER-2026-17 submitted." in body and 'data-testid="exemption-status">pending<' in body
    [exemption] = demo_rates.scalars(select(TaxExemption)).all()
    assert (exemption.submitted_by, exemption.org_id) == ("gina@globex.test", org(demo_rates, "globex").id)

    exemptions.reject(demo_rates, exemption, actor_label="admin@matrix.test", note="Signature missing.")
    demo_rates.commit()
    page = page_text(gina.get(PAGE))
    assert 'data-testid="exemption-status">rejected<' in page and "“Signature missing.”" in page


def test_a_bad_certificate_is_refused_beside_the_field(gina, demo_rates):
    for data, field in (({"certificate_reference": "X", "expires_on": "2026-06-15"}, "expires_on"),
                        ({"certificate_reference": "X", "expires_on": "soon"}, "expires_on"),
                        ({"certificate_reference": "", "expires_on": "2027-01-01"}, "certificate_reference")):
        response = gina.post_form(EXEMPTIONS, data, token_from=PAGE)
        assert response.status_code == 400 and field_errors(text(response), field), data
    assert count(demo_rates, TaxExemption) == 0


def test_members_see_the_settings_read_only_and_cannot_change_them(bob, demo_rates):
    page = page_text(bob.get(PAGE))
    assert 'data-testid="tax-label">Sales tax 0%<' in page and "No tax is charged to customers in United States" in page
    assert " disabled>" in page and "Only the organization's owners can change billing settings." in page
    assert "Save billing settings" not in page and 'data-testid="exemption-form"' not in page

    refused = bob.post_form(PAGE, {**GLOBEX, "tax_id": ""}, token_from=PAGE)
    assert refused.status_code == 403 and "Only the organization's owners can change billing settings" in \
        page_text(refused)
    assert bob.post_form(EXEMPTIONS, {"certificate_reference": "X", "expires_on": "2027-01-01"},
                         token_from=PAGE).status_code == 403
    assert count(demo_rates, TaxExemption) == 0 and audits(demo_rates, "billing_profile.updated") == []


def test_the_certificates_list_pages_ten_at_a_time(gina, demo_rates):
    globex = org(demo_rates, "globex")
    for number in range(11):
        exemptions.submit(demo_rates, globex, certificate_reference=f"C-{number}", expires_on=date(2027, 1, 1),
                          actor_label="gina@globex.test")
    demo_rates.commit()
    page = text(gina.get(PAGE))
    assert page.count('data-testid="exemption-row"') == 10 and "C-10" in page and ">C-0<" not in page
    older = re.search(r'href="([^"]*starting_after=[^"]+)"', page).group(1)
    fragment = page_text(gina.http.get(html.unescape(older), headers={"HX-Request": "true"}))
    assert fragment.startswith('<section id="tax-exemptions"') and fragment.count('data-testid="exemption-row"') == 1
    assert ">C-0<" in fragment and "← Newest" in fragment
