"""Admin → Tax rates and Tax exemptions: the rates in force, scheduled and past; adding a
rate (errors beside the fields, nothing written); the exemption queue with approve and
reject (a note required to reject), all audited; other portals' users get 403.
On SQLite and PostgreSQL."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.tax import exemptions
from app.tax.defaults import ensure_default_tax_rates
from app.tax.models import TaxExemption, TaxRate
from tests.support import org
from tests.tax.support import audits, count
from tests.web.payments.support import field_errors, text

RATES, EXEMPTIONS = "/admin/tax-rates", "/admin/tax-exemptions"


def in_days(days: int) -> str:
    return (clock.utcnow().date() + timedelta(days=days)).isoformat()


@pytest.fixture
def demo_rates(demo):
    """Here on the wall clock (stopped), since the admin's TOTP code is made on it."""
    ensure_default_tax_rates(demo)
    demo.commit()
    return demo


@pytest.fixture
def admin(demo_rates, make_client):
    staff = make_client()
    staff.login_admin()
    clock.freeze(clock.utcnow())
    return staff


@pytest.fixture
def new_rate(admin):
    return {"region": "EU", "country": "de", "name": "VAT", "rate": "20", "effective_from": in_days(30)}


@pytest.fixture
def pending(demo_rates):
    """globex (DE) submitted a certificate."""
    exemption = exemptions.submit(demo_rates, org(demo_rates, "globex"), certificate_reference="BER-17",
                                  expires_on=clock.utcnow().date() + timedelta(days=365),
                                  actor_label="gina@globex.test")
    demo_rates.commit()
    return exemption


def body(response) -> str:
    return html.unescape(text(response))


def test_the_rates_page_shows_rates_in_force_and_adds_a_scheduled_one(admin, demo_rates, new_rate):
    page = body(admin.get(RATES))
    assert 'data-testid="in-force-EU-DE"' in page and 'data-testid="in-force-UK-all"' in page
    assert "<strong>25.5%</strong>" in page and "No change is scheduled." in page
    assert page.count('data-testid="history-row"') == 25 and "Older →" in page  # 34 rates, 25 a page

    response = admin.post_form(RATES, new_rate, headers={"HX-Request": "true"})
    added = body(response)
    assert response.status_code == 200 and added.strip().startswith('<div id="tax-rates"')
    assert f"VAT 20% for DE from {in_days(30)} 00:00 UTC." in added
    assert 'data-testid="scheduled-row"' in added and "<strong>20%</strong>" in added
    [row] = demo_rates.scalars(select(TaxRate).where(TaxRate.created_by == "admin@matrix.test")).all()
    assert (row.region, row.country, row.rate) == ("EU", "DE", 20)
    assert [a.target for a in audits(demo_rates, "tax_rate.added")] == [row.public_id]


def test_without_javascript_an_added_rate_redirects_with_a_notice(admin, new_rate):
    response = admin.post_form(RATES, {**new_rate, "region": "CA", "country": "", "name": "HST", "rate": "13",
                                       "effective_from": in_days(0)})
    assert response.status_code == 302 and response.headers["Location"].endswith(RATES)
    page = body(admin.get(RATES))
    assert f"HST 13% for Canada from {clock.utcnow():%Y-%m-%d %H:%M} UTC" in page
    assert 'data-testid="in-force-CA-all"' in page and "<strong>13%</strong>" in page


@pytest.mark.parametrize("changes, field, message", [
    ({"rate": "101"}, "rate", "between 0 and 100"),
    ({"rate": "nineteen"}, "rate", "Enter the rate as a percentage"),
    ({"country": "US"}, "country", "is in the US region, not EU"),
    ({"region": "MARS"}, "region", "Choose one of the tax regions"),
    ({"effective_from": lambda: in_days(-1)}, "effective_from", "cannot start in the past"),
    ({"effective_from": "next week"}, "effective_from", "Not a valid date value"),
])
def test_a_bad_rate_is_refused_beside_its_field(admin, demo_rates, new_rate, changes, field, message):
    changes = {name: value() if callable(value) else value for name, value in changes.items()}
    response = admin.post_form(RATES, {**new_rate, **changes}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert any(message in error for error in map(html.unescape, field_errors(text(response), field))), text(response)
    assert count(demo_rates, TaxRate) == 34 and audits(demo_rates, "tax_rate.added") == []


def test_approving_a_certificate_makes_the_customer_exempt(admin, demo_rates, pending):
    queue = body(admin.get(EXEMPTIONS))
    assert 'data-testid="pending-row"' in queue and "BER-17" in queue and "Globex Industries" in queue

    response = admin.post_form(f"{EXEMPTIONS}/{pending.public_id}/approve", {"note": ""}, token_from=EXEMPTIONS)
    assert response.status_code == 302
    page = body(admin.get(EXEMPTIONS))
    assert "Globex Industries: certificate BER-17 approved." in page and "No exemption certificate is waiting" in page
    assert count(demo_rates, TaxExemption, TaxExemption.status == "approved") == 1
    [audit] = audits(demo_rates, "tax_exemption.approved")
    assert (audit.actor_label, audit.target) == ("admin@matrix.test", pending.public_id)


def test_rejecting_needs_a_note_which_the_customer_then_sees(admin, demo_rates, pending, make_client):
    path = f"{EXEMPTIONS}/{pending.public_id}/reject"
    refused = admin.htmx("POST", path, token_from=EXEMPTIONS, data={"note": " "})
    assert refused.status_code == 400 and "Say why the exemption is rejected" in body(refused)
    assert count(demo_rates, TaxExemption, TaxExemption.status == "pending") == 1

    response = admin.htmx("POST", path, token_from=EXEMPTIONS, data={"note": "The certificate is for another company."})
    assert response.status_code == 200 and "certificate BER-17 rejected." in body(response)
    twice = admin.htmx("POST", f"{EXEMPTIONS}/{pending.public_id}/approve", token_from=EXEMPTIONS, data={"note": ""})
    assert twice.status_code == 400 and "already rejected by admin@matrix.test" in body(twice)

    gina = make_client()
    gina.login("gina@globex.test")
    page = body(gina.get("/client/billing"))
    assert ">rejected<" in page and "“The certificate is for another company.”" in page


def test_customers_cannot_open_the_admin_tax_pages(demo_rates, client, pending):
    client.login("alice@acme.test")
    assert client.get(RATES).status_code == 403 and client.get(EXEMPTIONS).status_code == 403
    rate = {"region": "EU", "country": "DE", "name": "VAT", "rate": "20", "effective_from": in_days(30)}
    assert client.post_form(RATES, rate, token_from="/client/billing").status_code == 403
    assert client.post_form(f"{EXEMPTIONS}/{pending.public_id}/approve", {"note": ""},
                            token_from="/client/billing").status_code == 403
    assert count(demo_rates, TaxRate) == 34
    assert count(demo_rates, TaxExemption, TaxExemption.status == "pending") == 1
