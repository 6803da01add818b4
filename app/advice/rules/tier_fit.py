"""Tier fit: over the last billing periods, another plan would have cost less for the same usage → change plan.

The months compared are the last `tier_fit_months` (3) billing periods of the organization's subscription that
have ended by `now` (fewer if fewer have ended; none → no finding). A period's usage is its `UsageTotal` rows (a
metric without a row used nothing). Each plan of `plans_by_price` is priced on each month's usage by
`period_cost` — the billing service's own fee + overage logic, the same the invoice uses — so this covers both a
cheaper plan that fits and a dearer plan whose included usage costs less than the overage being paid.

The cheapest plan by total over the months wins (ties: the current plan, then the lower price). It is advised
when it is not the current plan and saves at least `tier_fit_min_share` (5%) of the current plan's cost over the
months (compared exactly, before rounding). Savings (USD cents a month; plan prices are USD) = the current plan's
average monthly cost − the cheapest plan's, each average = Σ monthly costs ÷ months rounded half up to the cent
(the figures the evidence shows). Action: "change_plan:<code>".
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.advice.findings import Finding
from app.advice.instance_usage import day_label, percent
from app.advice.thresholds import Thresholds
from app.billing.models import METRICS, Plan, Subscription, UsageTotal
from app.billing.periods import Period, add_months, months_between
from app.billing.plans import period_cost, plans_by_price
from app.rental.service import current_subscription
from app.tenancy import owned

KIND = "tier_fit"
SUBJECT = "plan"


def ended_periods(subscription: Subscription, now: datetime, count: int) -> list[Period]:
    """The last `count` billing periods of `subscription` that ended at or before `now`, oldest first."""
    anchor = subscription.billing_anchor
    if now < anchor:
        return []
    current = months_between(anchor, now)  # index of the period `now` is in; 0 … current-1 have ended
    return [Period(add_months(anchor, index), add_months(anchor, index + 1))
            for index in range(max(0, current - count), current)]


def find(session: Session, org: Organization, now: datetime, thresholds: Thresholds) -> Finding | None:
    """The plan finding for `org`, or None (no subscription, no ended period, or no plan saving enough)."""
    subscription = current_subscription(session, org.id)
    if subscription is None:
        return None
    periods = ended_periods(subscription, now, thresholds.tier_fit_months)
    if not periods:
        return None
    months = _usage(session, org.id, periods)
    plans = plans_by_price(session)
    costs = {plan.code: [period_cost(plan, usage).amount for usage in months] for plan in plans}
    current = subscription.plan
    cheapest = min(plans, key=lambda plan: (sum(costs[plan.code]), plan.id != current.id))
    saved = sum(costs[current.code]) - sum(costs[cheapest.code])
    if cheapest.id == current.id or saved <= 0 or saved < thresholds.tier_fit_min_share * sum(costs[current.code]):
        return None
    averages = {code: _average(values) for code, values in costs.items()}
    savings = averages[current.code] - averages[cheapest.code]
    if savings <= 0:
        return None
    evidence = _evidence(periods, months, plans, costs, averages, current, cheapest, thresholds)
    return Finding(KIND, SUBJECT, None, _title(current, cheapest), f"change_plan:{cheapest.code}", savings, evidence)


def _usage(session: Session, org_id: int, periods: list[Period]) -> list[dict[str, int]]:
    """Each period's {metric: quantity}, zero where no total was recorded."""
    rows = session.execute(
        owned(UsageTotal, org_id).where(UsageTotal.period_start.in_([period.start for period in periods]))
        .with_only_columns(UsageTotal.period_start, UsageTotal.metric, UsageTotal.quantity)).all()
    found = {(start, metric): quantity for start, metric, quantity in rows}
    return [{metric: found.get((period.start, metric), 0) for metric in METRICS} for period in periods]


def _average(values: list[int]) -> int:
    return int((Decimal(sum(values)) / len(values)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _title(current: Plan, cheapest: Plan) -> str:
    if cheapest.monthly_price > current.monthly_price:
        return f"Upgrade to the {cheapest.name} plan: it costs less than the {current.name} plan's overage"
    return f"Change to the {cheapest.name} plan: your usage fits it"


def _evidence(periods, months, plans, costs, averages, current, cheapest, thresholds) -> dict:
    return {
        "months": [{"period_start": period.start.isoformat(), "period_end": period.end.isoformat(), **usage}
                   for period, usage in zip(periods, months)],
        "plans": [{"code": plan.code, "name": plan.name, "monthly_price_usd_cents": plan.monthly_price,
                   "costs_usd_cents": costs[plan.code], "average_usd_cents": averages[plan.code]} for plan in plans],
        "current_plan": current.code,
        "suggested_plan": cheapest.code,
        "min_share_percent": percent(thresholds.tier_fit_min_share * 10_000),
        "series_unit": "USD cents on the current plan",
        "series": [{"label": day_label(period.start.date()), "value": cost}
                   for period, cost in zip(periods, costs[current.code])],
    }
