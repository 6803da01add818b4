"""The people of an organization: who they are, their role, whether they use 2FA;
owners change roles and decide whether every member must use 2FA.

An organization always keeps at least one owner: otherwise nobody could manage
its members or security settings again. The check is a guarded UPDATE (and a
lock on the organization row where the database has row locks), so two owners
demoting each other at the same moment cannot both succeed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Organization, User
from app.audit.service import record
from app.errors import DomainError, NotFound, PermissionDenied
from app.security import two_factor
from app.security.models import TotpCredential

ROLES = ("owner", "member")


@dataclass(frozen=True)
class Member:
    public_id: str
    email: str
    name: str
    role: str
    two_factor_enabled: bool


def list_members(session: Session, org_id: int) -> list[Member]:
    """Everyone in the organization, owners first, then by email."""
    users = session.scalars(
        select(User).where(User.org_id == org_id)
        .order_by(case((User.role == "owner", 0), else_=1), User.email)
    ).all()
    enrolled = set(session.scalars(
        select(TotpCredential.user_id)
        .where(TotpCredential.user_id.in_([u.id for u in users]), TotpCredential.enabled_at.is_not(None))
    ))
    return [Member(u.public_id, u.email, u.name, u.role, u.id in enrolled) for u in users]


def is_owner(session: Session, org_id: int, user_id: int | None) -> bool:
    return bool(user_id) and session.scalar(
        select(func.count()).select_from(User)
        .where(User.id == user_id, User.org_id == org_id, User.role == "owner")) == 1


def _require_owner(session: Session, org_id: int, actor_user_id: int | None) -> None:
    if not is_owner(session, org_id, actor_user_id):
        raise PermissionDenied("Only an owner of the organization can do this.")


def _owner_count(org_id: int):
    """How many owners the organization has, as the UPDATE sees it (not a stale read)."""
    owners = User.__table__.alias("owners")
    return (select(func.count()).select_from(owners)
            .where(owners.c.org_id == org_id, owners.c.role == "owner").scalar_subquery())


def change_role(session: Session, org_id: int, target_public_id: str, role: str, *,
                actor_label: str, actor_user_id: int | None) -> User:
    """Make a member an owner or an owner a member (the actor must be an owner).

    Refuses to demote the last owner. Audited `member.role_changed` with the
    old and new role; setting the role a member already has changes nothing.
    """
    if role not in ROLES:
        raise DomainError("Choose a role: owner or member.", field="role")
    _require_owner(session, org_id, actor_user_id)
    # Serialises role changes per organization where row locks exist (PostgreSQL).
    session.scalars(select(Organization.id).where(Organization.id == org_id).with_for_update()).first()
    target = session.scalars(select(User).where(User.org_id == org_id, User.public_id == target_public_id)).first()
    if target is None:
        raise NotFound("There is no such member in your organization.")
    old_role = target.role
    if old_role == role:
        return target
    guarded = update(User).where(User.id == target.id, User.role == old_role)
    if old_role == "owner":
        guarded = guarded.where(_owner_count(org_id) > 1)
    if not session.execute(guarded.values(role=role).execution_options(synchronize_session=False)).rowcount:
        raise DomainError("An organization needs at least one owner: make someone else an owner first.",
                          field="role")
    session.refresh(target)
    record(session, "member.role_changed", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
           target=target.public_id, details={"email": target.email, "old_role": old_role, "new_role": role})
    return target


def set_require_two_factor(session: Session, org: Organization, value: bool, *,
                           actor_label: str, actor_user_id: int | None) -> bool:
    """Require (or stop requiring) 2FA for every member; returns whether anything changed.

    The owner turning it on must use 2FA themselves, so they are not the
    first person the requirement locks out of the portal.
    """
    _require_owner(session, org.id, actor_user_id)
    value = bool(value)
    if value and not two_factor.is_enabled(session, actor_user_id):
        raise DomainError("Set up two-factor authentication for your own account first, "
                          "then require it for everyone.", field="required")
    if org.require_two_factor == value:
        return False
    org.require_two_factor = value
    record(session, "organization.two_factor_requirement_changed", actor_label=actor_label,
           actor_user_id=actor_user_id, org_id=org.id, target=org.public_id, details={"required": value})
    return True
