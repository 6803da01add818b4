"""Reading the audit log: filters, cursor pages (newest first) and CSV export."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.audit.models import AuditEvent
from app.pagination import Page, paginate

EXPORT_BATCH = 1000
CSV_COLUMNS = ("id", "time_utc", "organization", "actor", "action", "target", "ip_address", "user_agent", "details")


@dataclass(frozen=True)
class AuditFilters:
    """What to show. `org_id=None` means every organization (admins only: the
    caller decides who may ask for that)."""

    org_id: int | None = None
    action: str | None = None  # exact action, or a family such as "two_factor"
    actor: str | None = None  # part of the actor's email or label
    since: date | None = None
    until: date | None = None  # inclusive


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def statement(filters: AuditFilters, *, all_organizations: bool = False) -> Select:
    """The filtered query. Without `all_organizations` it is always scoped to one org."""
    stmt = select(AuditEvent)
    if filters.org_id is not None or not all_organizations:
        stmt = stmt.where(AuditEvent.org_id == filters.org_id)
    if filters.action:
        stmt = stmt.where((AuditEvent.action == filters.action) | AuditEvent.action.startswith(filters.action + "."))
    if filters.actor:
        stmt = stmt.where(func.lower(AuditEvent.actor_label).contains(filters.actor.strip().lower(), autoescape=True))
    if filters.since:
        stmt = stmt.where(AuditEvent.created_at >= _day_start(filters.since))
    if filters.until:
        stmt = stmt.where(AuditEvent.created_at < _day_start(filters.until + timedelta(days=1)))
    return stmt


def page(session: Session, filters: AuditFilters, limit: int, starting_after: str | None, *,
         all_organizations: bool = False) -> Page[AuditEvent]:
    return paginate(session, statement(filters, all_organizations=all_organizations), AuditEvent, limit,
                    starting_after, newest_first=True)


def action_names(session: Session, org_id: int | None, *, all_organizations: bool = False) -> list[str]:
    """Distinct actions present, for the filter's choices."""
    stmt = select(AuditEvent.action).distinct()
    if org_id is not None or not all_organizations:
        stmt = stmt.where(AuditEvent.org_id == org_id)
    return sorted(session.scalars(stmt))


def iter_events(session: Session, filters: AuditFilters, *, all_organizations: bool = False) -> Iterator[AuditEvent]:
    """Every matching event, newest first, fetched in batches (exports of any size)."""
    stmt = statement(filters, all_organizations=all_organizations).order_by(AuditEvent.id.desc())
    last_id = None
    while True:
        batch_stmt = stmt if last_id is None else stmt.where(AuditEvent.id < last_id)
        batch = list(session.scalars(batch_stmt.limit(EXPORT_BATCH)))
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        last_id = batch[-1].id


def organization_slugs(session: Session, events: Iterable[AuditEvent]) -> dict[int, str]:
    ids = {event.org_id for event in events if event.org_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Organization.id, Organization.slug).where(Organization.id.in_(ids)))
    return {org_id: slug for org_id, slug in rows}


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: defuse it.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_chunks(session: Session, events: Iterator[AuditEvent]) -> Iterator[str]:
    """CSV text in chunks: header, then one line per event (streamed, not built in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    slugs: dict[int, str] = {}
    for event in events:
        if event.org_id is not None and event.org_id not in slugs:
            slugs.update(organization_slugs(session, [event]))
        writer.writerow([_csv_safe(str(value)) for value in (
            event.public_id, event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), slugs.get(event.org_id, ""),
            event.actor_label, event.action, event.target or "", event.ip_address or "", event.user_agent or "",
            json.dumps(event.details or {}, sort_keys=True),
        )])
        if buffer.tell() > 32_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
