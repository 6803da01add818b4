"""The recommendation lifecycle: the daily recompute, and what a customer does with a recommendation.

Recompute turns the rules' findings into rows. The same finding found again updates its active row (title, action,
savings, severity, evidence, last seen) and leaves its status alone — a dismissal stands while the evidence lasts
— except that a snooze whose date has come becomes open again. A new finding is one INSERT … ON CONFLICT DO NOTHING
against the partial UNIQUE over the active rows, so two runs racing make one row, and only the run that inserted
it audits it. An open or snoozed row whose finding is gone closes (guarded UPDATE, audited once).

Every customer transition (dismiss, snooze, apply) is a guarded UPDATE on the statuses it may leave, so a double
submission moves the row once: the second sees zero rows changed and is refused. Apply claims the row first and
then performs the action inside one savepoint: applying twice stops the instance (or changes the plan) once, and an
action that is refused leaves the recommendation as it was. The caller commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.advice.findings import Finding
from app.advice.models import ACTIVE, Recommendation
from app.advice.rules import find_all, monthly_spend_usd
from app.advice.thresholds import THRESHOLDS
from app.audit.service import record
from app.billing.subscriptions import change_plan, require_current
from app.currency.service import convert
from app.db import dialect_insert, new_public_id
from app.errors import DomainError
from app.money import Money
from app.rental.service import resize_instance, stop_instance
from app.tenancy import get_owned, owned

log = logging.getLogger(__name__)

ACTOR = "job:cost-advice"
REASON_MAX = 500
ACTIVE_WHERE = "status IN ('open', 'dismissed', 'snoozed')"  # the partial UNIQUE's predicate, as the index has it


@dataclass
class RecomputeResult:
    organizations: int = 0
    opened: int = 0  # new rows this run inserted
    updated: int = 0  # active rows found again
    reopened: int = 0  # of those, snoozed ones whose date had come
    closed: int = 0  # open or snoozed rows whose finding is gone
    failed: list[str] = field(default_factory=list)  # slugs of organizations whose recompute failed (logged)

    def add(self, other: RecomputeResult) -> None:
        self.organizations += other.organizations
        self.opened, self.updated = self.opened + other.opened, self.updated + other.updated
        self.reopened, self.closed = self.reopened + other.reopened, self.closed + other.closed
        self.failed.extend(other.failed)


def severity(savings_usd: int, spend_usd: int, bounds=THRESHOLDS.severity_bounds) -> str:
    """How much of the monthly spend the savings are: below the first bound low, the second medium, the third
    high, else critical. Compared as savings < bound × spend, exact (no division). Savings against no spend at
    all are an unbounded share: critical."""
    if spend_usd <= 0:
        return "critical"
    for name, bound in zip(("low", "medium", "high"), bounds):
        if Decimal(savings_usd) < bound * spend_usd:
            return name
    return "critical"


def customer_savings(session: Session, savings_usd: int, currency: str) -> tuple[int, str]:
    """The savings in the customer's currency at the rate in force (exact, half up). Without a rate for that
    currency the advice is still worth showing: it stays in USD, and the row's currency says so."""
    try:
        converted = convert(session, Money(savings_usd, "USD"), currency).amount
    except DomainError as refusal:
        log.warning("cost advice: savings kept in USD, not %s: %s", currency, refusal.message)
        return savings_usd, "USD"
    return converted.amount, converted.currency


def _figures(session: Session, org: Organization, finding: Finding, spend_usd: int, now: datetime) -> dict:
    """The columns a finding sets, whether it is new or found again."""
    amount, currency = customer_savings(session, finding.savings_usd, org.preferred_currency)
    return {"title": finding.title[:200], "action": finding.action, "instance_id": finding.instance_id,
            "savings_usd": finding.savings_usd, "monthly_savings": amount, "currency": currency,
            "monthly_spend_usd": spend_usd, "severity": severity(finding.savings_usd, spend_usd),
            "evidence": finding.evidence, "last_seen_at": now, "updated_at": now}


def recompute(session: Session, org: Organization, now: datetime, findings: list[Finding] | None = None, *,
              spend_usd: int | None = None) -> RecomputeResult:
    """Bring the organization's recommendations in line with what the rules find now (`findings`, or every
    rule's when None; `spend_usd`, or `monthly_spend_usd`, is what severity is a share of). The caller commits."""
    findings = find_all(session, org, now) if findings is None else findings
    spend_usd = monthly_spend_usd(session, org, now) if spend_usd is None else spend_usd
    result = RecomputeResult(organizations=1)
    today = now.astimezone(timezone.utc).date()
    active = {(row.kind, row.subject): row for row in session.scalars(
        owned(Recommendation, org.id).where(Recommendation.status.in_(ACTIVE)))}
    for finding in findings:
        values = _figures(session, org, finding, spend_usd, now)
        row = active.pop((finding.kind, finding.subject), None)
        if row is None:
            result.opened += _open(session, org.id, finding, values, now)
            continue
        for name, value in values.items():
            setattr(row, name, value)
        result.updated += 1
        if row.status == "snoozed" and row.snoozed_until <= today:
            result.reopened += _reopen(session, row, now)
    for row in active.values():
        if row.status in ("open", "snoozed"):
            result.closed += _close(session, row, now)
    return result


def _open(session: Session, org_id: int, finding: Finding, values: dict, now: datetime) -> int:
    """Insert the finding as an open recommendation unless an active one exists; audit only if this call did."""
    public_id = new_public_id("rec")
    table = Recommendation.__table__
    statement = (dialect_insert(session, table)
                 .values(public_id=public_id, org_id=org_id, kind=finding.kind, subject=finding.subject,
                         status="open", first_seen_at=now, **values)
                 .on_conflict_do_nothing(index_elements=["org_id", "kind", "subject"], index_where=text(ACTIVE_WHERE))
                 .returning(table.c.id))
    if session.execute(statement).scalar_one_or_none() is None:
        return 0
    record(session, "advice.recommendation_opened", actor_label=ACTOR, org_id=org_id, target=public_id,
           details={"kind": finding.kind, "subject": finding.subject, "action": finding.action,
                    "savings_usd": finding.savings_usd, "monthly_savings": values["monthly_savings"],
                    "currency": values["currency"], "severity": values["severity"]})
    return 1


def _guarded(session: Session, row: Recommendation, allowed, now: datetime, **values) -> bool:
    """Move `row` only if it is still in a status `allowed` (a SQL condition) matches; re-read it either way."""
    changed = session.execute(
        update(Recommendation).where(Recommendation.id == row.id, allowed).values(updated_at=now, **values)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(row)
    return changed == 1


def _reopen(session: Session, row: Recommendation, now: datetime) -> int:
    until = row.snoozed_until
    if not _guarded(session, row, Recommendation.status == "snoozed", now, status="open", snoozed_until=None):
        return 0
    record(session, "advice.recommendation_opened", actor_label=ACTOR, org_id=row.org_id, target=row.public_id,
           details={"kind": row.kind, "subject": row.subject, "reopened": True, "snoozed_until": until.isoformat()})
    return 1


def _close(session: Session, row: Recommendation, now: datetime) -> int:
    if not _guarded(session, row, Recommendation.status.in_(("open", "snoozed")), now,
                    status="closed", closed_at=now, snoozed_until=None):
        return 0
    record(session, "advice.recommendation_closed", actor_label=ACTOR, org_id=row.org_id, target=row.public_id,
           details={"kind": row.kind, "subject": row.subject, "reason": "the evidence is gone"})
    return 1


def recompute_all(session: Session, now: datetime) -> RecomputeResult:
    """The daily job's body: every customer organization, one at a time, each committed on its own so one that
    fails (logged, rolled back, named in `failed`) costs the others nothing."""
    total = RecomputeResult()
    organizations = session.execute(select(Organization.id, Organization.slug)
                                    .where(Organization.kind == "customer").order_by(Organization.id)).all()
    for org_id, slug in organizations:
        try:
            total.add(recompute(session, session.get(Organization, org_id), now))
            session.commit()
        except Exception:  # noqa: BLE001 — one organization's failure must not stop the run
            session.rollback()
            log.exception("cost advice: recompute failed for organization %s", slug)
            total.failed.append(slug)
    return total


def _today() -> date:
    return clock.utcnow().date()


def _open_now(today: date):
    """Open, or snoozed until a date that has come (it reads as open before the next recompute reopens it)."""
    return or_(Recommendation.status == "open",
               and_(Recommendation.status == "snoozed", Recommendation.snoozed_until <= today))


def _refused(row: Recommendation, verb: str, allowed: str) -> DomainError:
    return DomainError(f"This recommendation is {row.status}; only {allowed} ones can be {verb}.", field="status")


def _audit(session: Session, row: Recommendation, what: str, actor_label: str, actor_user_id, details: dict):
    record(session, f"advice.recommendation_{what}", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=row.org_id, target=row.public_id, details={"kind": row.kind, "subject": row.subject, **details})


def dismiss(session: Session, org_id: int, public_id: str, reason: str, *, actor_label: str,
            actor_user_id: int | None = None) -> Recommendation:
    """Dismiss an open or snoozed recommendation, with a reason (1–500 characters) the team will read later.
    It stays dismissed through later recomputes while the finding lasts."""
    row = get_owned(session, Recommendation, org_id, public_id)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise DomainError("Say why you dismiss it (1 to 500 characters).", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"The reason must be at most {REASON_MAX} characters.", field="reason")
    if not _guarded(session, row, Recommendation.status.in_(("open", "snoozed")), clock.utcnow(),
                    status="dismissed", dismiss_reason=reason, snoozed_until=None):
        raise _refused(row, "dismissed", "open or snoozed")
    _audit(session, row, "dismissed", actor_label, actor_user_id, {"reason": reason})
    return row


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def snooze(session: Session, org_id: int, public_id: str, until: date, *, actor_label: str,
           actor_user_id: int | None = None) -> Recommendation:
    """Hide an open (or snoozed) recommendation until `until`, a UTC date after today and at most a year ahead;
    on that date it is open again."""
    row = get_owned(session, Recommendation, org_id, public_id)
    if not isinstance(until, date) or isinstance(until, datetime):
        raise DomainError("Give the date to snooze until as YYYY-MM-DD.", field="until")
    today = _today()
    if until <= today:
        raise DomainError(f"Snooze until a date after today ({today.isoformat()}, UTC).", field="until")
    if until > _a_year_after(today):
        raise DomainError(f"Snooze for at most a year (until {_a_year_after(today).isoformat()}).", field="until")
    if not _guarded(session, row, Recommendation.status.in_(("open", "snoozed")), clock.utcnow(),
                    status="snoozed", snoozed_until=until):
        raise _refused(row, "snoozed", "open or snoozed")
    _audit(session, row, "snoozed", actor_label, actor_user_id, {"until": until.isoformat()})
    return row


def apply(session: Session, org_id: int, public_id: str, *, actor_label: str,
          actor_user_id: int | None = None) -> Recommendation:
    """Do what an open recommendation says (stop the instance, move it to a smaller GPU, change the plan), and
    mark it applied. Claimed by a guarded UPDATE before the action, in one savepoint with it: a second apply is
    refused without acting again, and a refused action leaves the recommendation open."""
    row = get_owned(session, Recommendation, org_id, public_id)
    if row.action is None:
        raise DomainError("This recommendation is advice only: there is nothing to apply here.", field="action")
    now = clock.utcnow()
    with session.begin_nested():
        if not _guarded(session, row, _open_now(now.date()), now, status="applied", applied_at=now,
                        applied_by=actor_label[:254], snoozed_until=None):
            raise _refused(row, "applied", "open")
        _perform(session, row, actor_label, actor_user_id)
    _audit(session, row, "applied", actor_label, actor_user_id,
           {"action": row.action, "savings_usd": row.savings_usd, "monthly_savings": row.monthly_savings,
            "currency": row.currency})
    return row


def _perform(session: Session, row: Recommendation, actor_label: str, actor_user_id: int | None) -> None:
    verb, _, argument = row.action.partition(":")
    if row.action == "stop_instance":
        stop_instance(session, row.org_id, row.subject, actor_label=actor_label, actor_user_id=actor_user_id)
    elif verb == "resize" and argument:
        resize_instance(session, row.org_id, row.subject, argument, actor_label=actor_label,
                        actor_user_id=actor_user_id)
    elif verb == "change_plan" and argument:
        change_plan(session, require_current(session, row.org_id), argument, actor_label=actor_label)
    else:
        raise DomainError(f"Matrix cannot perform {row.action!r} for you.", field="action")
