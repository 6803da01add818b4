"""Reading cost advice: a customer's list with its total, one recommendation, and the admins' overview.

A snooze whose date has come reads as open at once, before the next daily recompute reopens the row: the customer
asked to be reminded on that date, not on the morning after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.advice.models import STATUSES, Recommendation
from app.errors import DomainError
from app.tenancy import get_owned, owned


def effective_status(row: Recommendation, today: date) -> str:
    """The status a person should see: a snooze that has run out is open."""
    if row.status == "snoozed" and row.snoozed_until is not None and row.snoozed_until <= today:
        return "open"
    return row.status


def status_condition(statuses, today: date):
    """SQL for "reads as one of `statuses`" (open includes run-out snoozes; snoozed excludes them)."""
    conditions = []
    for status in statuses:
        if status not in STATUSES:
            raise DomainError(f"Filter by status {', '.join(STATUSES)}.", field="status")
        if status == "open":
            conditions.append(or_(Recommendation.status == "open", and_(
                Recommendation.status == "snoozed", Recommendation.snoozed_until <= today)))
        elif status == "snoozed":
            conditions.append(and_(Recommendation.status == "snoozed", Recommendation.snoozed_until > today))
        else:
            conditions.append(Recommendation.status == status)
    if not conditions:
        raise DomainError("Choose at least one status.", field="status")
    return or_(*conditions)


@dataclass(frozen=True)
class AdviceList:
    rows: list[Recommendation]  # biggest savings first, then oldest
    total_monthly_savings: int  # minor units of `currency`, over every row
    currency: str  # upper case
    today: date

    def status_of(self, row: Recommendation) -> str:
        return effective_status(row, self.today)


def advice_list(session: Session, org_id: int, now: datetime, *, statuses=("open",)) -> AdviceList:
    """The organization's recommendations reading as one of `statuses`, sorted by monthly savings (desc) then id,
    and what they save together. The rows carry the customer's currency; should they not all carry the same one
    (the preferred currency changed since the last recompute), the total is given in USD from `savings_usd`."""
    today = now.date()
    rows = list(session.scalars(owned(Recommendation, org_id).where(status_condition(statuses, today))
                                .order_by(Recommendation.monthly_savings.desc(), Recommendation.id)))
    currencies = {row.currency for row in rows}
    if len(currencies) > 1:
        return AdviceList(rows, sum(row.savings_usd for row in rows), "USD", today)
    currency = currencies.pop() if currencies else session.scalar(
        select(Organization.preferred_currency).where(Organization.id == org_id)) or "USD"
    return AdviceList(rows, sum(row.monthly_savings for row in rows), currency.upper(), today)


def get_recommendation(session: Session, org_id: int, public_id: str) -> Recommendation:
    """One recommendation of the organization; another organization's is NotFound, like a missing one."""
    return get_owned(session, Recommendation, org_id, public_id)


@dataclass(frozen=True)
class OrgSavings:
    slug: str
    name: str
    open_count: int
    savings_usd: int
    savings: dict[str, int]  # currency → minor units (one currency, unless it changed since the last run)


@dataclass(frozen=True)
class KindCount:
    kind: str
    count: int  # open recommendations of this kind, across customers
    organizations: int
    savings_usd: int


@dataclass(frozen=True)
class AdminOverview:
    total_usd: int
    totals: dict[str, int]  # currency → minor units, the customers' own currencies
    organizations: list[OrgSavings]  # biggest savings (USD) first
    kinds: list[KindCount]  # most common first


def admin_overview(session: Session, now: datetime | None = None) -> AdminOverview:
    """What the open advice could save across customers: in total (USD, and per customer currency), per
    organization, and which findings are the most common."""
    where = and_(status_condition(("open",), (now or clock.utcnow()).date()), Organization.kind == "customer")
    base = select().select_from(Recommendation).join(Organization, Organization.id == Recommendation.org_id)
    totals = dict(session.execute(base.add_columns(Recommendation.currency, func.sum(Recommendation.monthly_savings))
                                  .where(where).group_by(Recommendation.currency)).all())
    per_org: dict[str, dict] = {}
    for slug, name, currency, count, savings_usd, savings in session.execute(
            base.add_columns(Organization.slug, Organization.name, Recommendation.currency,
                             func.count(Recommendation.id), func.sum(Recommendation.savings_usd),
                             func.sum(Recommendation.monthly_savings))
            .where(where).group_by(Organization.slug, Organization.name, Recommendation.currency)):
        entry = per_org.setdefault(slug, {"name": name, "count": 0, "usd": 0, "savings": {}})
        entry["count"] += count
        entry["usd"] += int(savings_usd)
        entry["savings"][currency] = int(savings)
    organizations = sorted((OrgSavings(slug, e["name"], e["count"], e["usd"], e["savings"])
                            for slug, e in per_org.items()), key=lambda o: (-o.savings_usd, o.slug))
    kinds = [KindCount(kind, count, orgs, int(usd)) for kind, count, orgs, usd in session.execute(
        base.add_columns(Recommendation.kind, func.count(Recommendation.id),
                         func.count(func.distinct(Recommendation.org_id)), func.sum(Recommendation.savings_usd))
        .where(where).group_by(Recommendation.kind))]
    kinds.sort(key=lambda k: (-k.count, -k.savings_usd, k.kind))
    return AdminOverview(sum(o.savings_usd for o in organizations), {c: int(v) for c, v in totals.items()},
                         organizations, kinds)
