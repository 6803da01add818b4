"""Reading an organization's SLA for the client portal and the API: this month so far, the last 30 days day by
day, the alerts, the closed months' reports and the credits they earned.

Everything is computed from the per-minute rollups by the database (one GROUP BY for the month, one for the 30
days), with the same down-minute rule as the alerts and the month's closing (`evaluation.aggregate_columns`), so
what the page shows is what the credit is computed from. Figures stop at the last whole minute: the minute in
progress is neither expected nor observed yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.billing.models import Invoice, InvoiceItem
from app.errors import DomainError
from app.money import Money
from app.pagination import Page, paginate
from app.sla import definitions, evaluation
from app.sla.compliance import BREACHED, MET, NO_DATA, MetricResult, judge
from app.sla.evaluation import Figures
from app.sla.models import TIERS, SlaAlert, SlaDefinition, SlaMinute, SlaMonthlyReport
from app.sla.months import month_start, next_month, whole_minute
from app.tenancy import get_owned, owned

ALERT_STATUSES = ("open", "resolved")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class CurrentMonth:
    """The month so far, judged by the definition in force when the month began."""

    definition: SlaDefinition
    figures: Figures
    results: list[MetricResult]  # uptime, latency_p95, error_rate, then throughput (informational)
    month_end: datetime

    @property
    def month_start(self) -> datetime:
        return self.figures.start

    def result(self, metric: str) -> MetricResult:
        return next(result for result in self.results if result.metric == metric)


@dataclass(frozen=True)
class SeriesDay:
    """One UTC day of the daily series (today: up to now). No data → `figures.has_data` is False."""

    day: date
    figures: Figures

    @property
    def has_data(self) -> bool:
        return self.figures.has_data

    @property
    def partial(self) -> bool:
        return self.figures.partial


@dataclass(frozen=True)
class ReportRow:
    """A closed month's report and, once billed, the issued invoice its credit went on."""

    report: SlaMonthlyReport
    invoice: Invoice | None

    @property
    def credit(self) -> Money:
        return Money(self.report.credit_amount, self.report.credit_currency)

    @property
    def plan_fee(self) -> Money:
        return Money(self.report.plan_fee, self.report.credit_currency)

    @property
    def partial(self) -> bool:
        return self.report.minutes_observed < self.report.minutes_expected

    @property
    def credit_pending(self) -> bool:
        """A credit added to the next invoice, which has not been issued yet."""
        return self.report.credit_amount > 0 and self.invoice is None

    @property
    def results(self) -> list[MetricResult]:
        return report_results(self.report)


def current_month(session: Session, org: Organization, now: datetime) -> CurrentMonth:
    """The month to date of `org`: its Figures and their judgement against the month's definition."""
    now = whole_minute(now)
    start = month_start(now)
    end = next_month(start)
    definition = definitions.in_force(session, org.tier, start)
    figures = evaluation.evaluate_org(session, org.id, start, end, definition, now=now)
    return CurrentMonth(definition, figures, judge(figures, definition), end)


def _utc_day(session: Session, column):
    """The UTC calendar day of a timestamp column, spelled per dialect (SQLite stores naive UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("day", func.timezone("UTC", column)), Date)
    return func.date(column, type_=Date)


def daily_series(session: Session, org: Organization, now: datetime, days: int = 30) -> list[SeriesDay]:
    """The last `days` UTC days (today included, oldest first, days without data too), each with its Figures.

    One GROUP BY day over the organization's rollups; the down-minute rule is the definition in force now (as
    for the alerts), applied by the same SQL as the month's evaluation."""
    now = whole_minute(now)
    first = datetime.combine(now.date() - (days - 1) * DAY, time(), timezone.utc)
    definition = definitions.in_force(session, org.tier, now)
    every_tier = {tier: definition for tier in TIERS}
    minutes, orgs = SlaMinute.__table__, Organization.__table__
    day = _utc_day(session, minutes.c.minute).label("day")
    statement = (select(day, *evaluation.aggregate_columns(minutes, every_tier, orgs.c.tier))
                 .join(orgs, orgs.c.id == minutes.c.org_id)
                 .where(minutes.c.org_id == org.id, minutes.c.minute >= first, minutes.c.minute < now)
                 .group_by(day))
    found = {_as_date(row[0]): row[1:] for row in session.execute(statement)}
    series = []
    for index in range(days):
        start = first + index * DAY
        end = min(start + DAY, now)
        row = found.get(start.date())
        figures = evaluation.figures_from_row(row, start, end) if row else evaluation.empty(start, end)
        series.append(SeriesDay(start.date(), figures))
    return series


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def alerts_page(session: Session, org_id: int, limit: int, starting_after: str | None,
                status: str | None = None) -> Page[SlaAlert]:
    """The organization's alerts, newest first; `status` open or resolved narrows them. A cursor that is not
    one of these alerts is a DomainError (field starting_after)."""
    statement = owned(SlaAlert, org_id)
    if status == "open":
        statement = statement.where(SlaAlert.resolved_at.is_(None))
    elif status == "resolved":
        statement = statement.where(SlaAlert.resolved_at.is_not(None))
    elif status is not None:
        raise DomainError("Filter alerts by status open or resolved.", field="status")
    return paginate(session, statement, SlaAlert, limit, starting_after, newest_first=True)


def _with_invoice(org_id: int):
    """Reports joined to the issued invoice (drafts are not the customer's yet) their credit item went on."""
    return (owned(SlaMonthlyReport, org_id).add_columns(Invoice)
            .outerjoin(InvoiceItem, InvoiceItem.id == SlaMonthlyReport.invoice_item_id)
            .outerjoin(Invoice, and_(Invoice.id == InvoiceItem.invoice_id, Invoice.org_id == org_id,
                                     Invoice.status != "draft")))


def monthly_reports(session: Session, org_id: int) -> list[ReportRow]:
    """Every closed month of the organization, the newest first."""
    rows = session.execute(_with_invoice(org_id).order_by(SlaMonthlyReport.month_start.desc()))
    return [ReportRow(report, invoice) for report, invoice in rows]


def report(session: Session, org_id: int, public_id: str) -> ReportRow:
    """One report of the organization (another organization's is NotFound, like a missing one)."""
    found = get_owned(session, SlaMonthlyReport, org_id, public_id)
    invoice = session.execute(_with_invoice(org_id).where(SlaMonthlyReport.id == found.id)).one()[1]
    return ReportRow(found, invoice)


def report_results(row: SlaMonthlyReport) -> list[MetricResult]:
    """A closed month's figures against the definition it was judged by.

    The stored figures are rounded the cautious way (uptime down, latency and error rate up) to no finer than
    the objectives' own precision allows, so comparing them with the objectives decides as the exact values do.
    """
    definition = row.definition

    def judged(metric, objective, measured, met) -> MetricResult:
        if measured is None:
            return MetricResult(metric, objective, None, NO_DATA)
        return MetricResult(metric, objective, measured, MET if met(measured) else BREACHED)

    return [
        judged("uptime", definition.uptime_percent, row.uptime_percent, lambda v: v >= definition.uptime_percent),
        judged("latency_p95", Decimal(definition.latency_p95_ms), row.latency_p95_ms,
               lambda v: v <= definition.latency_p95_ms),
        judged("error_rate", definition.error_rate_percent, row.error_rate_percent,
               lambda v: v <= definition.error_rate_percent),
        MetricResult("throughput", Decimal(definition.throughput_rps), row.peak_rps,
                     NO_DATA if row.peak_rps is None else MET),
    ]
