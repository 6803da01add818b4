"""Read and change what a customer rents; dashboard figures."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.advice.gpus import gpu_type
from app.audit.service import record
from app.currency.service import convert
from app.errors import DomainError
from app.money import Money
from app.billing.models import Subscription
from app.rental.models import Instance
from app.tenancy import get_owned, owned
from app.webhooks import settings as webhook_settings
from app.webhooks.targets import TargetRefused, check_url

INSTANCE_NAME_MAX = 100


def list_instances(session: Session, org_id: int) -> list[Instance]:
    return list(session.scalars(owned(Instance, org_id).order_by(Instance.created_at, Instance.id)))


def get_instance(session: Session, org_id: int, public_id: str) -> Instance:
    return get_owned(session, Instance, org_id, public_id)


def instance_ids(session: Session, org_id: int, public_ids) -> dict[str, int]:
    """ins_… → row id for those of `public_ids` that are this organization's instances (another organization's
    is as unknown as a made-up one). Non-strings are ignored: the caller refuses them by name."""
    wanted = {public_id for public_id in public_ids if isinstance(public_id, str)}
    if not wanted:
        return {}
    return dict(session.execute(select(Instance.public_id, Instance.id)
                                .where(Instance.org_id == org_id, Instance.public_id.in_(wanted))).all())


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


def set_health_url(session: Session, org_id: int, public_id: str, url: str | None, *, actor_label: str,
                   actor_user_id: int | None = None) -> Instance:
    """Set (or, with an empty URL, clear) the URL the SLA probe requests every minute while the instance runs.

    Our servers fetch it, so it passes the webhook target checks (https, a public host, unless
    WEBHOOK_ALLOW_PRIVATE exempts it). Audited; the audit entry leaves out the query string, which may hold a
    token."""
    instance = get_instance(session, org_id, public_id)
    url = (url or "").strip() or None
    if url is not None:
        try:
            check_url(url, webhook_settings.current().allow_private)
        except TargetRefused as refused:
            message = refused.message.replace("webhooks go only", "health checks go only")
            raise DomainError(message, field="health_url") from None
    if url == instance.health_url:
        return instance
    previous, instance.health_url = instance.health_url, url
    record(session, "instance.health_url_changed", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=org_id, target=instance.public_id,
           details={"health_url": _without_query(url), "previous": _without_query(previous)})
    return instance


def _without_query(url: str | None) -> str | None:
    return None if url is None else url.split("?", 1)[0] + ("?…" if "?" in url else "")


def stop_instance(session: Session, org_id: int, public_id: str, *, actor_label: str,
                  actor_user_id: int | None = None) -> Instance:
    """Stop a running instance (billing by the hour ends with it). Audited.

    A guarded UPDATE (… WHERE status = 'running'): of two stops racing — a double click, Apply and the Stop button
    — one stops it and the other is refused, so the audit trail holds one `instance.stopped`."""
    instance = get_instance(session, org_id, public_id)
    stopped = session.execute(
        update(Instance).where(Instance.id == instance.id, Instance.status == "running").values(status="stopped")
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(instance)
    if stopped != 1:
        raise DomainError(f"Instance {instance.name} is {instance.status}, not running; there is nothing to stop.",
                          field="instance")
    record(session, "instance.stopped", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
           target=instance.public_id, details={"name": instance.name, "gpu_type": instance.gpu_type})
    return instance


def resize_instance(session: Session, org_id: int, public_id: str, gpu_code: str, *, actor_label: str,
                    actor_user_id: int | None = None) -> Instance:
    """Move an instance to another GPU type at that type's list price (in the instance's currency). Audited.

    Guarded on the type it had, so two resizes racing cannot both start from the same old type."""
    target = gpu_type(gpu_code)
    instance = get_instance(session, org_id, public_id)
    if instance.gpu_type == target.code:
        raise DomainError(f"Instance {instance.name} already runs on {target.code}.", field="gpu_type")
    before = (instance.gpu_type, instance.hourly_rate)
    rate = target.hourly_price
    if instance.currency != "USD":
        rate = convert(session, Money(rate, "USD"), instance.currency).amount.amount
    resized = session.execute(
        update(Instance).where(Instance.id == instance.id, Instance.gpu_type == before[0])
        .values(gpu_type=target.code, hourly_rate=rate).execution_options(synchronize_session=False)).rowcount
    session.refresh(instance)
    if resized != 1:
        raise DomainError("The instance was changed meanwhile; reload the page and try again.", field="gpu_type")
    record(session, "instance.resized", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
           target=instance.public_id,
           details={"from": before[0], "to": target.code, "hourly_rate_before": before[1], "hourly_rate": rate,
                    "currency": instance.currency})
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
