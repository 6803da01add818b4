"""Tier fit: the last 3 ended billing periods priced on every plan with billing's own `period_cost` (fee +
overage); the cheapest plan is advised when it is not the current one and saves at least 5% of what the current
plan cost. acme is on Pro ($49, 100 GPU-hours included, $2.50 per GPU-hour beyond); Free is $0 with 10 GPU-hours
and $3.00 beyond; Enterprise $1,999 with 2,000 GPU-hours and $2.00 beyond."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import update

from app.billing.models import Subscription
from app.billing.periods import add_months
from tests.advice.conftest import AUGUST, NOVEMBER, OCTOBER, SEPTEMBER, found, write_usage

ENDED = (AUGUST, SEPTEMBER, OCTOBER)
GPU_HOUR = 3600


def each_month(db, org, **quantities):
    for start in ENDED:
        write_usage(db, org, start, **quantities)


def test_usage_that_fits_the_free_plan_advises_moving_down(db, customers):
    acme = customers.acme
    each_month(db, acme.org, gpu_seconds=5 * GPU_HOUR, api_requests=5_000)
    write_usage(db, acme.org, NOVEMBER, gpu_seconds=10_000 * GPU_HOUR)  # the open period does not count
    [finding] = found(db, acme, "tier_fit")
    assert finding.savings_usd == 49_00  # Pro $49.00 a month − Free $0.00 (within its 10 hours, 10,000 requests)
    assert (finding.subject, finding.instance_id, finding.action) == ("plan", None, "change_plan:free")
    assert finding.title == "Change to the Free plan: your usage fits it"
    evidence = finding.evidence
    assert [month["gpu_seconds"] for month in evidence["months"]] == [18_000] * 3
    assert [month["period_start"][:10] for month in evidence["months"]] == ["2026-08-01", "2026-09-01", "2026-10-01"]
    assert {plan["code"]: plan["costs_usd_cents"] for plan in evidence["plans"]} == {
        "free": [0, 0, 0], "pro": [49_00] * 3, "enterprise": [1_999_00] * 3}
    assert evidence["series"] == [{"label": "Aug 1", "value": 4900}, {"label": "Sep 1", "value": 4900},
                                  {"label": "Oct 1", "value": 4900}]
    json.dumps(evidence)


def test_a_dearer_plan_that_costs_less_than_the_overage_being_paid_is_advised(db, customers):
    acme = customers.acme
    for start, hours in zip(ENDED, (1000, 1000, 900)):
        write_usage(db, acme.org, start, gpu_seconds=hours * GPU_HOUR)
    [finding] = found(db, acme, "tier_fit")
    # Pro: $49 + 900 h × $2.50 = $2,299 (twice) and $49 + 800 h × $2.50 = $2,049: 664,700 ÷ 3 = 221,566.67 → 221,567
    # Enterprise: $1,999 each month (all within 2,000 hours): 199,900.  Savings 221,567 − 199,900 = 21,667 cents
    assert finding.savings_usd == 21_667
    assert finding.action == "change_plan:enterprise"
    assert finding.title == "Upgrade to the Enterprise plan: it costs less than the Pro plan's overage"
    averages = {plan["code"]: plan["average_usd_cents"] for plan in finding.evidence["plans"]}
    assert averages == {"free": 287_000, "pro": 221_567, "enterprise": 199_900}  # Free: (2 × 297,000 + 267,000) ÷ 3


def test_a_plan_saving_exactly_5_percent_is_advised(db, customers):
    """Free costs $3.00 per GPU-hour beyond 10 hours, billed per second (1 cent per 12 seconds): 55,860 seconds
    over cost $46.55, 95% of Pro's $49.00."""
    each_month(db, customers.acme.org, gpu_seconds=36_000 + 55_860)
    [finding] = found(db, customers.acme, "tier_fit")
    assert finding.savings_usd == 2_45  # 4,900 − 4,655 = 245 cents = 5.0% of 4,900


def test_a_plan_saving_only_4_9_percent_is_not_worth_the_change(db, customers):
    each_month(db, customers.acme.org, gpu_seconds=36_000 + 55_920)  # Free: 55,920 ÷ 12 = 4,660 cents
    assert found(db, customers.acme, "tier_fit") == []  # saves 240 of 4,900 cents: 4.898%


def test_the_current_plan_being_cheapest_is_no_finding(db, customers):
    each_month(db, customers.acme.org, gpu_seconds=200 * GPU_HOUR)  # Pro $299, Free $570, Enterprise $1,999
    assert found(db, customers.acme, "tier_fit") == []


def test_a_period_without_usage_rows_counts_as_no_usage(db, customers):
    acme = customers.acme
    write_usage(db, acme.org, SEPTEMBER, gpu_seconds=30 * GPU_HOUR)  # nothing recorded in August or October
    [finding] = found(db, acme, "tier_fit")
    # Free: (0 + 20 h × $3.00 + 0) ÷ 3 = 6,000 ÷ 3 = 2,000; Pro: 4,900 each month. Savings 4,900 − 2,000 = 2,900
    # (were the empty months left out, Free's $60 would be dearer than Pro's $49 and nothing advised)
    assert finding.savings_usd == 2_900 and finding.action == "change_plan:free"
    assert [month["gpu_seconds"] for month in finding.evidence["months"]] == [0, 108_000, 0]


def test_fewer_ended_periods_are_used_as_they_are(db, customers):
    acme = customers.acme
    db.execute(update(Subscription).where(Subscription.id == acme.subscription.id).values(billing_anchor=OCTOBER))
    db.commit()
    write_usage(db, acme.org, SEPTEMBER, gpu_seconds=10_000 * GPU_HOUR)  # before the subscription: not its period
    write_usage(db, acme.org, OCTOBER, gpu_seconds=5 * GPU_HOUR)
    [finding] = found(db, acme, "tier_fit")
    assert finding.savings_usd == 49_00 and len(finding.evidence["months"]) == 1


def test_no_ended_period_is_no_finding(db, customers):
    acme = customers.acme
    db.execute(update(Subscription).where(Subscription.id == acme.subscription.id).values(billing_anchor=NOVEMBER))
    db.commit()
    assert found(db, acme, "tier_fit") == []


def test_another_organizations_usage_is_not_counted(db, customers):
    each_month(db, customers.globex.org, gpu_seconds=5 * GPU_HOUR)
    each_month(db, customers.acme.org, gpu_seconds=200 * GPU_HOUR)
    assert found(db, customers.acme, "tier_fit") == []


def test_only_the_last_three_ended_periods_count(db, customers):
    acme = customers.acme
    db.execute(update(Subscription).where(Subscription.id == acme.subscription.id)
               .values(billing_anchor=datetime(2026, 5, 1, tzinfo=timezone.utc)))
    db.commit()
    for months in range(3):  # May, June, July: heavy, but older than the last three
        write_usage(db, acme.org, add_months(datetime(2026, 5, 1, tzinfo=timezone.utc), months),
                    gpu_seconds=10_000 * GPU_HOUR)
    [finding] = found(db, acme, "tier_fit")
    assert finding.action == "change_plan:free" and finding.savings_usd == 49_00
