"""What the admin SLA pages read, across every organization (staff only: no tenant scope by design).

The compliance overview judges a page of customer organizations with one grouped query over the month's rollups
(`evaluation.evaluate` restricted to the page's ids), never a query per organization: a whole month for every
customer is the benchmark's minute-long job, not a page load, and the open alerts already show what is breached
right now across all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.billing.models import Invoice, InvoiceItem
from app.sla.compliance import BREACHED, MET, NO_DATA, MetricResult, judge
from app.sla.definitions import all_in_force, history
from app.sla.evaluation import Figures, empty, evaluate
from app.sla.models import TIERS, SlaAlert, SlaDefinition, SlaMonthlyReport
from app.sla.months import month_start, next_month

OPEN_ALERTS_SHOWN = 200


@dataclass(frozen=True)
class TierDefinitions:
    """One tier's definitions: in force now, starting later (soonest first), and those before the current one."""

    tier: str
    current: SlaDefinition | None
    scheduled: list[SlaDefinition]
    past: list[SlaDefinition]


def definitions_overview(session: Session, now: datetime) -> list[TierDefinitions]:
    """Every tier's definitions, split around `now`."""
    overview = []
    for tier in TIERS:
        rows = history(session, tier)  # newest start first
        started = [row for row in rows if row.effective_from <= now]
        overview.append(TierDefinitions(tier, started[0] if started else None,
                                        list(reversed([row for row in rows if row.effective_from > now])),
                                        started[1:]))
    return overview


def customers_on_tier(session: Session, tier: str) -> int:
    """How many customer organizations a change to `tier`'s promise concerns."""
    return session.scalar(select(func.count(Organization.id))
                          .where(Organization.kind == "customer", Organization.tier == tier)) or 0


@dataclass(frozen=True)
class ComplianceRow:
    organization: Organization
    definition: SlaDefinition
    figures: Figures
    results: list[MetricResult]  # uptime, latency_p95, error_rate, throughput (informational)

    @property
    def status(self) -> str:
        """breached when a judged metric is, no_data when none has data, else met."""
        judged = [result.status for result in self.results if result.metric != "throughput"]
        if BREACHED in judged:
            return BREACHED
        return NO_DATA if all(status == NO_DATA for status in judged) else MET


@dataclass(frozen=True)
class CompliancePage:
    month_start: datetime
    rows: list[ComplianceRow]
    page: int
    pages: int
    total: int


def compliance_page(session: Session, now: datetime, page: int, per_page: int) -> CompliancePage:
    """This month so far, for one page of customer organizations (by name), judged by the definitions in force
    when the month began, as the month's report will be."""
    start = month_start(now)
    customers = select(Organization).where(Organization.kind == "customer", Organization.tier.is_not(None))
    total = session.scalar(customers.with_only_columns(func.count(Organization.id))) or 0
    orgs = list(session.scalars(customers.order_by(Organization.name, Organization.id)
                                .limit(per_page).offset((page - 1) * per_page)))
    definitions = all_in_force(session, start)
    figures = evaluate(session, start, next_month(start), definitions, now=now,
                       org_ids=[org.id for org in orgs]) if orgs else {}
    rows = []
    for org in orgs:
        window = figures.get(org.id) or empty(start, min(next_month(start), now))
        rows.append(ComplianceRow(org, definitions[org.tier], window, judge(window, definitions[org.tier])))
    return CompliancePage(start, rows, page, max(1, -(-total // per_page)), total)


@dataclass(frozen=True)
class OpenAlerts:
    rows: list[tuple[SlaAlert, Organization]]  # newest first
    total: int


def open_alerts(session: Session, limit: int = OPEN_ALERTS_SHOWN) -> OpenAlerts:
    """Alerts not yet resolved, in every organization (at most three per organization: one per metric)."""
    unresolved = select(SlaAlert, Organization).join(Organization, Organization.id == SlaAlert.org_id) \
        .where(SlaAlert.resolved_at.is_(None))
    total = session.scalar(select(func.count(SlaAlert.id)).where(SlaAlert.resolved_at.is_(None))) or 0
    rows = session.execute(unresolved.order_by(SlaAlert.opened_at.desc(), SlaAlert.id.desc()).limit(limit)).all()
    return OpenAlerts([(alert, org) for alert, org in rows], total)


@dataclass(frozen=True)
class CreditRow:
    report: SlaMonthlyReport
    organization: Organization
    item: InvoiceItem | None
    invoice: Invoice | None  # the invoice that billed the credit; None while it waits for the next one


@dataclass(frozen=True)
class CreditsPage:
    rows: list[CreditRow]
    totals: list[tuple[str, int, int]]  # (currency, sum of credit_amount, number of credits), every page
    page: int
    pages: int
    total: int


def credits_page(session: Session, page: int, per_page: int) -> CreditsPage:
    """Service credits issued (monthly reports that earned one), the latest month first, with what billed them."""
    earned = SlaMonthlyReport.credit_amount > 0
    totals = session.execute(
        select(SlaMonthlyReport.credit_currency, func.sum(SlaMonthlyReport.credit_amount), func.count())
        .where(earned).group_by(SlaMonthlyReport.credit_currency).order_by(SlaMonthlyReport.credit_currency)).all()
    count = sum(number for _, _, number in totals)
    rows = session.execute(
        select(SlaMonthlyReport, Organization, InvoiceItem, Invoice)
        .join(Organization, Organization.id == SlaMonthlyReport.org_id)
        .outerjoin(InvoiceItem, InvoiceItem.id == SlaMonthlyReport.invoice_item_id)
        .outerjoin(Invoice, Invoice.id == InvoiceItem.invoice_id)
        .where(earned)
        .order_by(SlaMonthlyReport.month_start.desc(), Organization.name, SlaMonthlyReport.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    return CreditsPage([CreditRow(*row) for row in rows], [(c, int(s), int(n)) for c, s, n in totals], page,
                       max(1, -(-count // per_page)), count)
