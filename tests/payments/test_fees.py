"""Platform and gateway fees: PRODUCT.md's tiers and example to the minor unit,
rounding half up, zero-decimal currencies, fixed parts, per-tenant overrides
beating the tier, and the admin's percentage input. Tier and override changes
are audited. Captures against localstripe record the fees of the rate in force.
"""
from __future__ import annotations

import pytest

from app.accounts.models import Organization
from app.errors import DomainError
from app.payments import fees, service
from app.payments.fees import FeeRate, breakdown, parse_percent
from tests.payments.core_support import audits, place
from tests.support import org

STARTER, PROFESSIONAL, ENTERPRISE = FeeRate(300), FeeRate(150), FeeRate(50)
STRIPE = FeeRate(290, 30)  # the default gateway fee: 2.9% + 30


@pytest.fixture
def starter_org(demo):
    """A customer on the free plan, which pays the Starter fee."""
    demo.add(Organization(slug="initech", name="Initech", kind="customer", tier="free", country="US"))
    demo.commit()
    return org(demo, "initech")


def test_product_example_100_usd_on_starter():
    result = breakdown(10000, STARTER, STRIPE)
    assert (result.platform_fee, result.gateway_fee, result.net_amount) == (300, 320, 9380)
    assert result.platform_rate_bps == 300


@pytest.mark.parametrize(("rate", "platform", "net"), [(PROFESSIONAL, 150, 9530), (ENTERPRISE, 50, 9630)])
def test_professional_and_enterprise_on_the_same_amount(rate, platform, net):
    result = breakdown(10000, rate, STRIPE)
    assert (result.platform_fee, result.gateway_fee, result.net_amount) == (platform, 320, net)


@pytest.mark.parametrize(("amount", "rate_bps", "fee"), [
    (50, 300, 2),    # 1.5 → 2
    (49, 300, 1),    # 1.47 → 1
    (500, 50, 3),    # 2.5 → 3 (banker's rounding would give 2)
    (100, 50, 1),    # 0.5 → 1
    (99, 50, 0),     # 0.495 → 0
    (1, 5000, 1),    # 0.5 → 1
    (4500, 150, 68),  # 67.5 → 68
])
def test_fee_rounds_half_up_to_a_whole_minor_unit(amount, rate_bps, fee):
    assert FeeRate(rate_bps).of(amount) == fee


def test_gateway_fee_rounds_half_up_too():
    # 2.9% of 50 = 1.45 → 1, plus 30; 2.9% of 1050 = 30.45 → 30; 2.9% of 2550 = 73.95 → 74
    assert [STRIPE.of(a) for a in (50, 1050, 2550)] == [31, 60, 104]


def test_zero_decimal_currency_fees_are_whole_yen():
    # 1050 JPY is 1050 minor units: 3% = 31.5 → 32 yen; Stripe 2.9% = 30.45 → 30, + 30 yen fixed.
    result = breakdown(1050, STARTER, STRIPE)
    assert (result.platform_fee, result.gateway_fee, result.net_amount) == (32, 60, 958)


def test_fixed_fee_is_added_and_fees_never_exceed_the_amount():
    assert FeeRate(150, 25).of(10000) == 175
    assert FeeRate(300, 100).of(50) == 50  # capped at the amount
    tiny = breakdown(40, FeeRate(300, 25), STRIPE)
    assert tiny.platform_fee == 26 and tiny.gateway_fee == 14 and tiny.net_amount == 0
    assert FeeRate(300).of(0) == 0


def test_plan_tier_decides_the_platform_rate(demo, starter_org):
    assert fees.platform_rate(demo, starter_org) == STARTER
    assert fees.platform_rate(demo, org(demo, "acme")) == PROFESSIONAL
    assert fees.platform_rate(demo, org(demo, "globex")) == ENTERPRISE


def test_override_wins_over_tier_and_removing_it_restores_the_tier(demo):
    acme = org(demo, "acme")
    fees.set_override(demo, acme, rate_bps=75, fixed_fee=10, note="negotiated", actor_label="admin@matrix.test")
    demo.commit()
    assert fees.platform_rate(demo, acme) == FeeRate(75, 10)
    assert fees.platform_rate(demo, org(demo, "globex")) == ENTERPRISE  # only acme's

    fees.remove_override(demo, acme, actor_label="admin@matrix.test")
    demo.commit()
    assert fees.platform_rate(demo, acme) == PROFESSIONAL
    with pytest.raises(DomainError):
        fees.remove_override(demo, acme, actor_label="admin@matrix.test")


def test_tier_and_override_changes_are_audited_with_before_and_after(demo):
    acme = org(demo, "acme")
    fees.update_tier(demo, "professional", rate_bps=140, fixed_fee=5, actor_label="admin@matrix.test")
    fees.set_override(demo, acme, rate_bps=100, fixed_fee=0, note="pilot", actor_label="admin@matrix.test")
    fees.set_override(demo, acme, rate_bps=90, fixed_fee=0, note="pilot 2", actor_label="admin@matrix.test")
    fees.remove_override(demo, acme, actor_label="admin@matrix.test")
    demo.commit()

    [tier] = audits(demo, "fee_tier.updated")
    assert tier.target == "professional" and tier.actor_label == "admin@matrix.test"
    assert tier.details == {"before": {"rate_bps": 150, "fixed_fee": 0}, "after": {"rate_bps": 140, "fixed_fee": 5}}
    first, second = audits(demo, "fee_override.saved")
    assert first.org_id == acme.id and first.details["before"] is None
    assert second.details == {"before": {"rate_bps": 100, "fixed_fee": 0}, "after": {"rate_bps": 90, "fixed_fee": 0}}
    [removed] = audits(demo, "fee_override.removed")
    assert removed.details == {"rate_bps": 90, "fixed_fee": 0}


def test_bad_fixed_fee_and_unknown_tier_name_the_field(demo):
    with pytest.raises(DomainError) as error:
        fees.update_tier(demo, "professional", rate_bps=150, fixed_fee=-1, actor_label="admin@matrix.test")
    assert error.value.field == "fixed_fee"
    demo.rollback()
    with pytest.raises(DomainError) as error:
        fees.update_tier(demo, "platinum", rate_bps=150, fixed_fee=0, actor_label="admin@matrix.test")
    assert error.value.field == "code"


@pytest.mark.parametrize(("text", "bps"), [("1.5", 150), ("0.25", 25), ("3", 300), ("0", 0), ("100", 10000),
                                           (" 2.9% ", 290)])
def test_parse_percent_accepts_up_to_two_decimals(text, bps):
    assert parse_percent(text) == bps


@pytest.mark.parametrize("text", ["1.555", "-1", "101", "abc", "", "NaN", "Infinity"])
def test_parse_percent_refuses_and_names_the_field(text):
    with pytest.raises(DomainError) as error:
        parse_percent(text, field="rate_percent")
    assert error.value.field == "rate_percent"


def test_capture_records_the_fees_of_the_rate_in_force(app, demo, starter_org):
    """End to end through localstripe: the example on a Starter customer, then an override."""
    payment = place(app, demo, slug="initech")
    assert (payment.status, payment.amount_captured) == ("succeeded", 10000)
    assert (payment.fee_rate_bps, payment.platform_fee, payment.gateway_fee, payment.net_amount) == \
        (300, 300, 320, 9380)

    fees.set_override(demo, starter_org, rate_bps=100, fixed_fee=0, note="", actor_label="admin@matrix.test")
    demo.commit()
    later = place(app, demo, slug="initech", order_id="ord-1002")
    assert (later.fee_rate_bps, later.platform_fee, later.net_amount) == (100, 100, 9580)
    assert payment.platform_fee == 300  # the earlier payment keeps the rate it was captured at


def test_yen_payment_records_whole_yen_fees(app, demo):
    payment = place(app, demo, slug="acme", amount=1050, currency="jpy")
    assert (payment.currency, payment.amount_captured) == ("JPY", 1050)
    # Professional 1.5% of 1050 = 15.75 → 16; Stripe 30.45 → 30, + 30.
    assert (payment.platform_fee, payment.gateway_fee, payment.net_amount) == (16, 60, 974)


def test_partial_capture_takes_fees_on_the_captured_amount_only(app, demo):
    payment = place(app, demo, capture=False)
    service.capture(demo, app.config, payment, 4500, actor_label="alice@acme.test")
    # 1.5% of 4500 = 67.5 → 68; 2.9% of 4500 = 130.5 → 131, + 30
    assert (payment.amount_captured, payment.platform_fee, payment.gateway_fee, payment.net_amount) == \
        (4500, 68, 161, 4271)
