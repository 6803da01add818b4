"""Read and change what a customer rents; dashboard figures."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.billing.models import Subscription
from app.rental.models import Instance
from app.tenancy import get_owned, owned

INSTANCE_NAME_MAX = 100


def list_instances(session: Session, org_id: int) -> list[Instance]:
    return list(session.scalars(owned(Instance, org_id).order_by(Instance.created_at, Instance.id)))


def get_instance(session: Session, org_id: int, public_id: str) -> Instance:
    return get_owned(session, Instance, org_id, public_id)


def rename_instance(session: Session, org_id: int, public_id: str, name: str) -> Instance:
    """Rename an instance of the organization; the name is trimmed and must be 1–100 chars."""
    instance = get_instance(session, org_id, public_id)
    name = (name or "").strip()
    if not name:
        raise DomainError("Name cannot be empty.", field="name")
    if len(name) > INSTANCE_NAME_MAX:
        raise DomainError(f"Name must be at most {INSTANCE_NAME_MAX} characters.", field="name")
    instance.name = name
    return instance


def current_subscription(session: Session, org_id: int) -> Subscription | None:
    return session.scalars(
        owned(Subscription, org_id).where(Subscription.status != "cancelled")
        .order_by(Subscription.current_period_start.desc())
    ).first()


@dataclass(frozen=True)
class InstanceCounts:
    running: int = 0
    stopped: int = 0
    suspended: int = 0

    @property
    def total(self) -> int:
        return self.running + self.stopped + self.suspended


def instance_counts(session: Session, org_id: int) -> InstanceCounts:
    rows = session.execute(
        owned(Instance, org_id)
        .with_only_columns(Instance.status, func.count(Instance.id))
        .group_by(Instance.status)
    ).all()
    return InstanceCounts(**{status: count for status, count in rows})
