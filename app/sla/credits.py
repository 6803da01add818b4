"""Closing an SLA month: each customer's frozen monthly report, and the service credit its uptime earned.

The credit is a share of the month's plan fee from the tier's ladder (the lowest rung reached wins), rounded half
up to the fee's minor unit, and becomes a pending `InvoiceItem` (kind credit, negative) that the next invoice the
billing cycle closes picks up. Exactly once: the report is UNIQUE per organization and month and inserted with
ON CONFLICT DO NOTHING, so of two closers only the one that inserted it goes on; the item's `source_key` is
UNIQUE too. A month with no data earns nothing (we cannot tell), a partial month is judged on the minutes measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.audit.service import record
from app.billing.models import InvoiceItem, Subscription
from app.billing.subscriptions import plan_at
from app.db import dialect_insert, new_public_id
from app.money import Money
from app.sla.definitions import all_in_force
from app.sla.evaluation import Figures, empty, evaluate
from app.sla.models import SlaCreditStep, SlaDefinition, SlaMonthlyReport
from app.sla.months import next_month

ACTOR = "job:sla-evaluate"


def credit_percent(uptime: Decimal | None, steps: list[SlaCreditStep]) -> int:
    """The credit (percent of the plan fee) an exact uptime earns: the largest of the rungs it is below."""
    if uptime is None:
        return 0
    return max((step.credit_percent for step in steps if uptime < step.uptime_below), default=0)


@dataclass(frozen=True)
class ClosedMonth:
    month_start: datetime
    reports: list[str]  # slr_… made by this call (none when another closer got there first)
    credits: list[str]  # ii_… of the credit items made


def close_month(session: Session, month_start: datetime, now: datetime) -> ClosedMonth:
    """Report (and credit) the month starting `month_start` for every customer subscribed during it that has no
    report yet. Judged by the definitions in force when the month began. The caller commits."""
    month_end = next_month(month_start)
    definitions = all_in_force(session, month_start)
    reported = set(session.scalars(select(SlaMonthlyReport.org_id)
                                   .where(SlaMonthlyReport.month_start == month_start)))
    subscriptions = [row for row in _subscribed_during(session, month_start, month_end)
                     if row[0].org_id not in reported]
    if not subscriptions:  # the usual case: every run after the first of the month finds nothing to do
        return ClosedMonth(month_start, [], [])
    figures = evaluate(session, month_start, month_end, definitions, now=now,
                       org_ids=[subscription.org_id for subscription, _ in subscriptions])
    reports, credits = [], []
    for subscription, tier in subscriptions:
        window = figures.get(subscription.org_id) or empty(month_start, month_end)
        made = _report(session, subscription, definitions[tier], window, month_end, now)
        if made is not None:
            reports.append(made.public_id)
            if made.item_public_id:
                credits.append(made.item_public_id)
    return ClosedMonth(month_start, reports, credits)


def _subscribed_during(session: Session, start: datetime, end: datetime) -> list[tuple[Subscription, str]]:
    """(the subscription, the organization's tier) of customers with a subscription at some time in [start, end),
    one per organization (its latest)."""
    rows = session.execute(
        select(Subscription, Organization.tier).join(Organization, Organization.id == Subscription.org_id)
        .where(Organization.kind == "customer", Organization.tier.is_not(None), Subscription.created_at < end,
               or_(Subscription.cancelled_at.is_(None), Subscription.cancelled_at > start))
        .order_by(Subscription.org_id, Subscription.created_at)).all()
    return list({subscription.org_id: (subscription, tier) for subscription, tier in rows}.values())


@dataclass(frozen=True)
class _Made:
    public_id: str
    item_public_id: str | None


def _report(session: Session, subscription: Subscription, definition: SlaDefinition, figures: Figures,
            month_end: datetime, now: datetime) -> _Made | None:
    plan = plan_at(session, subscription, month_end - timedelta(microseconds=1))
    percent = credit_percent(figures.uptime_exact, definition.credit_steps)
    credit = Money(plan.monthly_price, plan.currency).multiply(Decimal(percent) / 100)
    public_id = new_public_id("slr")
    table = SlaMonthlyReport.__table__
    statement = (dialect_insert(session, table).values(
        public_id=public_id, org_id=subscription.org_id, month_start=figures.start, month_end=month_end,
        tier=definition.tier, definition_id=definition.id, minutes_expected=figures.minutes_expected,
        minutes_observed=figures.minutes_observed, down_minutes=figures.down_minutes, uptime_percent=figures.uptime,
        latency_p95_ms=figures.latency_p95, error_rate_percent=figures.error_rate, requests=figures.requests,
        errors=figures.errors, peak_rps=figures.peak_rps, plan_fee=plan.monthly_price, credit_percent=percent,
        credit_amount=credit.amount, credit_currency=plan.currency, created_at=now)
        .on_conflict_do_nothing(index_elements=["org_id", "month_start"]).returning(table.c.id))
    report_id = session.execute(statement).scalar_one_or_none()
    if report_id is None:
        return None  # reported already
    report = session.get(SlaMonthlyReport, report_id)
    details = {"month": f"{figures.start:%Y-%m}", "uptime_percent": _text(figures.uptime),
               "objective_percent": str(definition.uptime_percent), "minutes_observed": figures.minutes_observed,
               "minutes_expected": figures.minutes_expected, "credit_percent": percent,
               "credit_amount": credit.amount, "currency": credit.currency}
    item = _credit_item(session, subscription, report, definition, credit) if credit.amount > 0 else None
    if item is not None:
        details["invoice_item"] = item.public_id
        record(session, "sla.credit_issued", actor_label=ACTOR, org_id=subscription.org_id,
               target=report.public_id, details=details)
    else:
        record(session, "sla.month_reported", actor_label=ACTOR, org_id=subscription.org_id,
               target=report.public_id, details=details)
    return _Made(report.public_id, item.public_id if item else None)


def _credit_item(session: Session, subscription: Subscription, report: SlaMonthlyReport,
                 definition: SlaDefinition, credit: Money) -> InvoiceItem:
    item = InvoiceItem(
        org_id=subscription.org_id, subscription_id=subscription.id, kind="credit", amount=-credit.amount,
        currency=credit.currency, taxable=True,
        source_key=f"sla-credit:{subscription.org_id}:{report.month_start:%Y-%m}",
        description=(f"SLA credit, {report.month_start:%B %Y}: uptime {_text(report.uptime_percent)}% "
                     f"below the {definition.uptime_percent}% objective ({report.credit_percent}% of the plan fee)"))
    session.add(item)
    session.flush()
    report.invoice_item_id = item.id
    return item


def _text(value: Decimal | None) -> str:
    return "no data" if value is None else format(value.normalize(), "f")
