"""Platform-wide counts and listings (staff only: no tenant scope by design)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization, User
from app.rental.models import Instance


@dataclass(frozen=True)
class PlatformFigures:
    customers: int
    partners: int
    users: int
    admins: int
    running_instances: int


def figures(session: Session) -> PlatformFigures:
    by_kind = dict(session.execute(
        select(Organization.kind, func.count(Organization.id)).group_by(Organization.kind)).all())
    admins = session.scalar(select(func.count(User.id)).where(User.is_admin.is_(True))) or 0
    users = session.scalar(select(func.count(User.id))) or 0
    running = session.scalar(select(func.count(Instance.id)).where(Instance.status == "running")) or 0
    return PlatformFigures(customers=by_kind.get("customer", 0), partners=by_kind.get("partner", 0),
                           users=users, admins=admins, running_instances=running)


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    users: int
    instances: int


@dataclass(frozen=True)
class OrganizationsPage:
    rows: list[OrganizationRow]
    page: int
    pages: int
    total: int


def organizations_page(session: Session, page: int, per_page: int) -> OrganizationsPage:
    total = session.scalar(select(func.count(Organization.id))) or 0
    user_counts = select(User.org_id, func.count(User.id).label("n")).group_by(User.org_id).subquery()
    instance_counts = select(Instance.org_id, func.count(Instance.id).label("n")).group_by(Instance.org_id).subquery()
    rows = session.execute(
        select(Organization, func.coalesce(user_counts.c.n, 0), func.coalesce(instance_counts.c.n, 0))
        .outerjoin(user_counts, user_counts.c.org_id == Organization.id)
        .outerjoin(instance_counts, instance_counts.c.org_id == Organization.id)
        .order_by(Organization.name, Organization.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return OrganizationsPage(rows=[OrganizationRow(o, u, i) for o, u, i in rows], page=page,
                             pages=max(1, -(-total // per_page)), total=total)
