"""Usage metering, the read side: what the current billing period used so far, for the usage page and the API.

Totals come from `UsageTotal` (kept by `app.billing.usage`), so the headline figures cost one row per metric; the
day-by-day series and the per-model / per-instance breakdowns are GROUP BYs in the database, never every record
loaded into Python. A period can hold millions of records.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.orm import Session

from app import clock
from app.billing import plans
from app.billing.models import METRICS, Plan, Subscription, UsageAlert, UsageRecord, UsageTotal
from app.billing.periods import Period, period_containing
from app.money import Money
from app.rental.models import Instance
from app.tenancy import owned

BREAKDOWN_PAGE = 20


@dataclass(frozen=True)
class MetricUsage:
    """One metric in the period: used against included, and what the excess costs so far."""

    metric: str
    label: str
    used: int
    included: int
    overage_quantity: int
    overage_cost: Money
    unit_price: str
    thresholds_reached: dict[int, datetime]  # percent → when it was reached

    @property
    def percent(self) -> Decimal | None:
        """Share of the included quantity used, to 0.1% (None when the plan includes none)."""
        if self.included <= 0:
            return None
        return (Decimal(self.used) * 100 / self.included).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class DayUsage:
    day: date
    quantities: dict[str, int]  # metric → used that day (UTC)


@dataclass(frozen=True)
class BreakdownRow:
    key: str | None  # the model, or the instance's ins_… (None: an instance deleted since)
    name: str
    quantity: int


@dataclass(frozen=True)
class Breakdown:
    """One page of a GROUP BY, largest first."""

    rows: list[BreakdownRow]
    page: int
    per_page: int
    total: int  # groups in all

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class UsageSummary:
    period: Period
    plan: Plan
    metrics: list[MetricUsage]
    days: list[DayUsage]
    models: Breakdown  # API requests per model
    instances: Breakdown  # GPU-seconds per instance

    @property
    def has_usage(self) -> bool:
        """Whether anything was reported this period (every record is an instance's or a model's)."""
        return bool(self.models.total or self.instances.total)

    def metric(self, metric: str) -> MetricUsage:
        return next(m for m in self.metrics if m.metric == metric)

    def series(self, metric: str) -> list[tuple[date, int, int]]:
        """(day, used that day, used in the period up to and including that day), day by day."""
        running, points = 0, []
        for day in self.days:
            running += day.quantities.get(metric, 0)
            points.append((day.day, day.quantities.get(metric, 0), running))
        return points


def summary_period(subscription: Subscription, now: datetime | None = None) -> Period:
    """The billing period today falls in. Until the closing job runs, that can be after the subscription's
    `current_period_*` (the oldest one not invoiced yet); the customer is in the new one all the same."""
    now = now or clock.utcnow()
    return period_containing(subscription.billing_anchor, max(now, subscription.current_period_start))


def usage_summary(session: Session, org_id: int, subscription: Subscription, *, models_page: int = 1,
                  instances_page: int = 1, per_page: int = BREAKDOWN_PAGE) -> UsageSummary:
    """The current period's usage: per metric, per day, per model and per instance."""
    period = summary_period(subscription)
    plan = subscription.plan
    totals = dict(session.execute(owned(UsageTotal, org_id).where(UsageTotal.period_start == period.start)
                                  .with_only_columns(UsageTotal.metric, UsageTotal.quantity)).all())
    alerts = _alerts(session, org_id, period)
    metrics = [MetricUsage(metric, plans.METRIC_LABELS[metric], totals.get(metric, 0), plans.included(plan, metric),
                           plans.overage_quantity(plan, metric, totals.get(metric, 0)),
                           plans.overage_cost(plan, metric, totals.get(metric, 0)),
                           plans.unit_price_label(plan, metric), alerts.get(metric, {}))
               for metric in METRICS]
    return UsageSummary(period, plan, metrics, daily_usage(session, org_id, period),
                        model_breakdown(session, org_id, period, models_page, per_page),
                        instance_breakdown(session, org_id, period, instances_page, per_page))


def _alerts(session: Session, org_id: int, period: Period) -> dict[str, dict[int, datetime]]:
    rows = session.execute(owned(UsageAlert, org_id).where(UsageAlert.period_start == period.start)
                           .with_only_columns(UsageAlert.metric, UsageAlert.threshold_percent, UsageAlert.created_at)
                           .order_by(UsageAlert.threshold_percent))
    found: dict[str, dict[int, datetime]] = {}
    for metric, percent, created_at in rows:
        found.setdefault(metric, {})[percent] = created_at
    return found


def _in_period(org_id: int, period: Period, *columns):
    """The organization's records in `period` (by time: the (org_id, occurred_at) index serves it)."""
    return (owned(UsageRecord, org_id).with_only_columns(*columns)
            .where(UsageRecord.occurred_at >= period.start, UsageRecord.occurred_at < period.end))


def _utc_day(session: Session, column):
    """The UTC calendar day of a timestamp column, spelled per dialect (SQLite stores naive UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column, type_=Date)


def daily_usage(session: Session, org_id: int, period: Period) -> list[DayUsage]:
    """Every day of the period up to today (or the last day with usage), with each metric's quantity."""
    day = _utc_day(session, UsageRecord.occurred_at).label("day")
    rows = session.execute(_in_period(org_id, period, day, UsageRecord.metric, func.sum(UsageRecord.quantity))
                           .group_by(day, UsageRecord.metric))
    found: dict[date, dict[str, int]] = {}
    for day_value, metric, quantity in rows:
        found.setdefault(day_value, {})[metric] = int(quantity)
    first = period.start.date()
    last = min((period.end - timedelta(microseconds=1)).date(), max([clock.utcnow().date(), *found]))
    days = []
    while first <= last:
        days.append(DayUsage(first, {metric: found.get(first, {}).get(metric, 0) for metric in METRICS}))
        first += timedelta(days=1)
    return days


def _page(session: Session, grouped, page: int, per_page: int) -> tuple[list, int, int]:
    """Rows of page `page` (clamped to the pages there are) of a grouped, ordered SELECT, and the group count."""
    total = session.scalar(select(func.count()).select_from(grouped.order_by(None).subquery()))
    page = min(max(1, page), max(1, -(-total // per_page)))
    return session.execute(grouped.limit(per_page).offset((page - 1) * per_page)).all(), page, total


def model_breakdown(session: Session, org_id: int, period: Period, page: int = 1,
                    per_page: int = BREAKDOWN_PAGE) -> Breakdown:
    used = func.sum(UsageRecord.quantity).label("used")
    grouped = (_in_period(org_id, period, UsageRecord.model, used).where(UsageRecord.metric == "api_requests")
               .group_by(UsageRecord.model).order_by(used.desc(), UsageRecord.model))
    rows, page, total = _page(session, grouped, page, per_page)
    return Breakdown([BreakdownRow(model, model, int(quantity)) for model, quantity in rows], page, per_page, total)


def instance_breakdown(session: Session, org_id: int, period: Period, page: int = 1,
                       per_page: int = BREAKDOWN_PAGE) -> Breakdown:
    used = func.sum(UsageRecord.quantity).label("used")
    grouped = (_in_period(org_id, period, Instance.public_id, Instance.name, used).select_from(UsageRecord)
               .outerjoin(Instance, and_(Instance.id == UsageRecord.instance_id, Instance.org_id == org_id))
               .where(UsageRecord.metric == "gpu_seconds")
               .group_by(UsageRecord.instance_id, Instance.public_id, Instance.name)
               .order_by(used.desc(), Instance.name))
    rows, page, total = _page(session, grouped, page, per_page)
    return Breakdown([BreakdownRow(public_id, name or "(deleted instance)", int(quantity))
                      for public_id, name, quantity in rows], page, per_page, total)
