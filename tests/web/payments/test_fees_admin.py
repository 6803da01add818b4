"""The admin fee page: tiers and overrides edited in the browser change the
fee of the next captured payment (audited), bad rates are refused beside the
field, and the example of PRODUCT.md — 100.00 USD on Starter → platform 3.00,
gateway 3.20, net 93.80 — holds on the page and on a real captured payment.
Against localstripe, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.payments.models import FeeOverride, FeeTier
from tests.support import user
from tests.web.payments.support import PAYMENTS, audits, count, payment_form, payments_of, place, submit, text

FEES = "/admin/fees"


@pytest.fixture
def admin(demo, make_client):
    staff = make_client()
    staff.login_admin()
    return staff


def post(admin, path, data, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return admin.post_form(path, data, token_from=FEES, headers=headers)


def errors_beside(page: str, field_id: str) -> list[str]:
    """Error paragraphs right after the input `field_id` (the fee forms' layout)."""
    match = re.search(rf'id="{re.escape(field_id)}"[^>]*>\s*((?:<p class="error">[^<]*</p>\s*)*)', page)
    return re.findall(r'<p class="error">([^<]*)</p>', match.group(1)) if match else []


def test_the_page_shows_tiers_gateway_fee_and_the_worked_example(admin):
    page = text(admin.get(FEES))

    for name, rate in (("Starter", "3.00"), ("Professional", "1.50"), ("Enterprise", "0.50")):
        assert f"<strong>{name}</strong><br><span class=\"muted small\">{rate}% + 0</span>" in page
    assert "2.90% + 30</strong>" in page
    starter = re.search(r'data-testid="example-starter">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'data-testid="example-\w+">([^<]*)<', starter) == ["$3.00", "$3.20", "$93.80"]
    professional = re.search(r'data-testid="example-professional">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'data-testid="example-\w+">([^<]*)<', professional) == ["$1.50", "$3.20", "$95.30"]
    assert "No organization has an override" in page


def test_an_override_of_3_percent_gives_the_product_example_on_a_real_payment(admin, demo, app, make_client):
    response = post(admin, f"{FEES}/overrides", {"override-organization": "acme", "override-rate": "3.0",
                                                "override-fixed_fee": "0", "override-note": "Pilot pricing"})
    assert response.status_code == 200 and "Acme Corporation pays 3.00% + 0" in text(response)
    assert 'id="override-acme"' in text(response)

    alice = make_client()
    alice.login("alice@acme.test")
    submit(alice, payment_form(alice, amount="100.00"))

    [payment] = payments_of(demo, "acme")
    assert (payment.amount_captured, payment.fee_rate_bps) == (100_00, 300)
    assert (payment.platform_fee, payment.gateway_fee, payment.net_amount) == (3_00, 3_20, 93_80)
    page = text(alice.get(f"{PAYMENTS}/{payment.public_id}"))
    assert "Platform fee (3.00%)" in page and 'data-testid="platform-fee">$3.00<' in page
    assert 'data-testid="gateway-fee">$3.20<' in page and 'data-testid="net-amount"><strong>$93.80<' in page

    [saved] = audits(demo, "fee_override.saved")
    assert (saved.actor_label, saved.actor_user_id, saved.target) == \
        ("admin@matrix.test", user(demo, "admin@matrix.test").id, "acme")
    assert saved.details == {"before": None, "after": {"rate_bps": 300, "fixed_fee": 0}}


def test_a_tier_edit_changes_the_fee_of_the_next_captured_payment(admin, demo, app):
    before = place(app, demo, amount=100_00, order_id="before")

    response = post(admin, f"{FEES}/tiers/professional", {"professional-rate": "2.25",
                                                          "professional-fixed_fee": "10"})

    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and "Professional: 2.25% + 10 from the next captured payment." in body
    professional = re.search(r'data-testid="example-professional">(.*?)</tr>', body, re.S).group(1)
    assert "$2.35" in professional  # the example follows the tier
    after = place(app, demo, amount=100_00, order_id="after")
    assert (before.platform_fee, after.platform_fee, after.fee_rate_bps) == (1_50, 2_35, 225)
    [audit] = audits(demo, "fee_tier.updated")
    assert (audit.target, audit.actor_label) == ("professional", "admin@matrix.test")
    assert audit.details == {"before": {"rate_bps": 150, "fixed_fee": 0}, "after": {"rate_bps": 225, "fixed_fee": 10}}


def test_without_javascript_a_tier_edit_redirects_with_a_notice(admin, demo):
    response = post(admin, f"{FEES}/tiers/enterprise", {"enterprise-rate": "0.75", "enterprise-fixed_fee": "0"},
                    htmx=False)
    assert response.status_code == 302
    assert "Enterprise: 0.75% + 0 from the next captured payment." in text(admin.get(FEES))


FIXED_FEE_MESSAGE = "The fixed fee is a whole number of minor units, 0 or more (30 = 0.30 USD)."
BAD_RATES = [  # (rate, fixed fee, the input the error is beside, the message)
    ("1.234", "0", "starter-rate", "The rate can have at most two decimals (basis points)."),
    ("abc", "0", "starter-rate", "Enter the rate as a percentage, e.g. 1.5"),
    ("101", "0", "starter-rate", "The rate must be between 0 and 100 percent."),
    ("-1", "0", "starter-rate", "The rate must be between 0 and 100 percent."),
    ("", "0", "starter-rate", "Enter the rate, e.g. 1.5"),
    ("3", "0.30", "starter-fixed_fee", FIXED_FEE_MESSAGE),
    ("3", "-5", "starter-fixed_fee", FIXED_FEE_MESSAGE),
]


def test_a_bad_tier_rate_is_refused_beside_its_field(admin, demo):
    for rate, fixed, field, message in BAD_RATES:
        response = post(admin, f"{FEES}/tiers/starter", {"starter-rate": rate, "starter-fixed_fee": fixed})

        assert response.status_code == 400, (rate, fixed)
        assert errors_beside(text(response), field) == [message], (rate, fixed)
    demo.expire_all()
    assert demo.scalars(select(FeeTier.rate_bps).where(FeeTier.code == "starter")).one() == 300
    assert audits(demo, "fee_tier.updated") == []


def test_an_unknown_tier_is_not_found(admin):
    assert post(admin, f"{FEES}/tiers/platinum", {"platinum-rate": "1"}).status_code == 404


def test_an_override_for_anything_but_a_customer_is_refused(admin, demo):
    for slug in ("nobody", "northwind"):  # unknown; a partner (partners pay no platform fee)
        response = post(admin, f"{FEES}/overrides", {"override-organization": slug, "override-rate": "1"})
        assert response.status_code == 400
        assert f"No customer organization has the slug “{slug}”." in text(response)
        assert 'id="override-organization-error"' in text(response)
    assert count(demo, FeeOverride) == 0


def test_edit_then_remove_an_override(admin, demo, app):
    post(admin, f"{FEES}/overrides", {"override-organization": "globex", "override-rate": "0.25",
                                      "override-fixed_fee": "0", "override-note": "Framework agreement"})
    edit_form = text(admin.get(f"{FEES}?edit=globex"))
    assert 'value="globex"' in edit_form and 'value="0.25"' in edit_form
    assert 'value="Framework agreement"' in edit_form

    post(admin, f"{FEES}/overrides", {"override-organization": "globex", "override-rate": "0.40",
                                      "override-fixed_fee": "5", "override-note": "Renewed"})
    assert place(app, demo, "globex", amount=100_00, currency="EUR").platform_fee == 45

    confirm = text(admin.get(f"{FEES}/overrides/globex/remove"))
    assert "Remove Globex Industries's fee override?" in confirm
    assert 'hx-confirm="Remove Globex Industries' in text(admin.get(FEES))
    response = post(admin, f"{FEES}/overrides/globex/remove", {})
    assert response.status_code == 200 and "Globex Industries pays its tier&#39;s rate again." in text(response)
    assert count(demo, FeeOverride) == 0
    assert place(app, demo, "globex", amount=100_00, currency="EUR", order_id="o-2").platform_fee == 50  # 0.5%

    assert [a.details["after"] for a in audits(demo, "fee_override.saved")] == \
        [{"rate_bps": 25, "fixed_fee": 0}, {"rate_bps": 40, "fixed_fee": 5}]
    [removed] = audits(demo, "fee_override.removed")
    assert (removed.target, removed.actor_label) == ("globex", "admin@matrix.test")
    again = post(admin, f"{FEES}/overrides/globex/remove", {})
    assert again.status_code == 400 and "Globex Industries has no fee override." in text(again)


def test_only_admins_reach_the_fee_page(demo, make_client):
    alice = make_client()
    alice.login("alice@acme.test")
    assert alice.get(FEES).status_code == 403
    assert alice.post_form(f"{FEES}/tiers/starter", {"starter-rate": "0"}, token_from=PAYMENTS).status_code == 403
