"""Reading disputes for the admin desk and the customer's list, and a dispute's history.

The desk is sorted by evidence due date, soonest first, so the dispute about
to be lost by default is on top; closed ones come after the open ones. That
order is not the id order the cursor pagination of `app.pagination` walks,
so the desk pages by number.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import Organization
from app.audit.models import AuditEvent
from app.payments.models import DISPUTE_STATUSES, Dispute
from app.payments.transitions import DISPUTE_TERMINAL

# Desk filters: "open" (the default), "closed", "all", or one status.
DESK_FILTERS = ("open", "closed", "all", *DISPUTE_STATUSES)


@dataclass(frozen=True)
class DeskPage:
    rows: list[tuple[Dispute, Organization]]
    page: int
    pages: int
    total: int


def _filtered(stmt: Select, status_filter: str) -> Select:
    if status_filter == "open":
        return stmt.where(Dispute.status.not_in(DISPUTE_TERMINAL))
    if status_filter == "closed":
        return stmt.where(Dispute.status.in_(DISPUTE_TERMINAL))
    if status_filter in DISPUTE_STATUSES:
        return stmt.where(Dispute.status == status_filter)
    return stmt


def desk_page(session: Session, status_filter: str, page: int, per_page: int) -> DeskPage:
    """Every organization's disputes: open before closed, then by due date (none last)."""
    total = session.scalar(_filtered(select(func.count(Dispute.id)), status_filter)) or 0
    closed_last = case((Dispute.status.in_(DISPUTE_TERMINAL), 1), else_=0)
    rows = session.execute(
        _filtered(select(Dispute, Organization).join(Organization, Organization.id == Dispute.org_id), status_filter)
        .options(joinedload(Dispute.payment))
        .order_by(closed_last, Dispute.evidence_due_by.is_(None), Dispute.evidence_due_by, Dispute.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    return DeskPage(rows=[(d, o) for d, o in rows], page=page, pages=max(1, -(-total // per_page)), total=total)


def history(session: Session, dispute: Dispute) -> list[AuditEvent]:
    """What happened to the dispute, oldest first: the audit rows that name it."""
    # The organization narrows it through the (org_id, created_at) index; target has none.
    return list(session.scalars(select(AuditEvent).where(AuditEvent.org_id == dispute.org_id,
                                                         AuditEvent.target == dispute.public_id)
                                .order_by(AuditEvent.created_at, AuditEvent.id)))
