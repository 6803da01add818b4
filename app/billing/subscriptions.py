"""Subscriptions: subscribe, change plan (prorated to the second), cancel at period end, resume.

A plan change takes effect at once and leaves two invoice items for the
period it falls in (credit for the old plan's unused time, charge for the new
plan's remaining time; see proration.py), billed when the period closes. The
organization's tier follows its plan: it decides fees, SLA and rate limits.
The caller commits; every change is audited and emitted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.billing.models import InvoiceItem, Plan, PlanChange, Subscription
from app.billing.periods import Period, period_containing
from app.billing.plans import plan_by_code
from app.billing.proration import Proration, prorate_change
from app.errors import DomainError
from app.money import Money
from app.rental.service import current_subscription
from app.webhooks.events import emit


def _stamp(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC")


def subscription_event(session: Session, subscription: Subscription, event_type: str) -> None:
    """Tell the organization's webhook endpoints (subscription.created / updated / cancelled)."""
    emit(session, subscription.org_id, event_type, {
        "id": subscription.public_id, "plan": subscription.plan.code, "status": subscription.status,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
        "cancel_at_period_end": subscription.cancel_at_period_end})


def require_current(session: Session, org_id: int) -> Subscription:
    subscription = current_subscription(session, org_id)
    if subscription is None:
        raise DomainError("This organization has no subscription; choose a plan first.", field="plan")
    return subscription


def subscribe(session: Session, org, plan_code: str, *, actor_label: str) -> Subscription:
    """Start a subscription now: monthly periods from this moment."""
    existing = current_subscription(session, org.id)
    if existing is not None:
        raise DomainError(f"The organization is already on the {existing.plan.name} plan; change its plan instead.",
                          field="plan")
    plan = plan_by_code(session, plan_code)
    now = clock.utcnow()
    period = period_containing(now, now)
    subscription = Subscription(org_id=org.id, plan=plan, status="active", billing_anchor=now,
                                current_period_start=period.start, current_period_end=period.end,
                                cancel_at_period_end=False, created_at=now, updated_at=now)
    session.add(subscription)
    org.tier = plan.code
    session.flush()
    record(session, "subscription.created", actor_label=actor_label, org_id=org.id, target=subscription.public_id,
           details={"plan": plan.code})
    subscription_event(session, subscription, "subscription.created")
    return subscription


@dataclass(frozen=True)
class PlanChangePreview:
    """What a change to `new_plan` now would add to the period's invoice."""

    old_plan: Plan
    new_plan: Plan
    proration: Proration
    at: datetime

    @property
    def is_upgrade(self) -> bool:
        return self.new_plan.monthly_price > self.old_plan.monthly_price

    def money(self, amount: int) -> Money:
        return Money(amount, self.new_plan.currency)


def preview_change(session: Session, subscription: Subscription, plan_code: str) -> PlanChangePreview:
    """The proration of moving to `plan_code` now; refuses changes that cannot be made."""
    if subscription.cancel_at_period_end:
        raise DomainError("The subscription is set to end; resume it before changing its plan.", field="plan")
    new_plan = plan_by_code(session, plan_code)
    if new_plan.id == subscription.plan_id:
        raise DomainError(f"The organization is already on the {new_plan.name} plan.", field="plan")
    if new_plan.currency != subscription.plan.currency:
        raise DomainError("Plans in different currencies cannot be prorated against each other.", field="plan")
    now = clock.utcnow()
    period = period_containing(subscription.billing_anchor, now)
    proration = prorate_change(subscription.plan.monthly_price, new_plan.monthly_price, period, now)
    return PlanChangePreview(subscription.plan, new_plan, proration, now)


def _proration_items(change: PlanChange, preview: PlanChangePreview) -> list[InvoiceItem]:
    period, at = preview.proration.period, preview.at
    lines = [("credit", preview.proration.credit, f"Unused time on {preview.old_plan.name} after {_stamp(at)}"),
             ("charge", preview.proration.charge, f"Remaining time on {preview.new_plan.name} after {_stamp(at)}")]
    return [InvoiceItem(org_id=change.org_id, subscription_id=change.subscription_id, kind="proration",
                        description=description, amount=amount, currency=change.currency, taxable=True,
                        period_start=at, period_end=period.end, source_key=f"plan_change:{change.id}:{side}")
            for side, amount, description in lines if amount != 0]


def change_plan(session: Session, subscription: Subscription, plan_code: str, *,
                actor_label: str) -> PlanChangePreview:
    """Move to another plan now; the prorations wait for the period's invoice.

    The plan is swapped by a guarded UPDATE on the plan it had, so two changes
    made at the same moment cannot both prorate against the same old plan.
    """
    preview = preview_change(session, subscription, plan_code)
    old_plan, new_plan = preview.old_plan, preview.new_plan
    swapped = session.execute(
        update(Subscription).where(Subscription.id == subscription.id, Subscription.plan_id == old_plan.id,
                                   Subscription.cancel_at_period_end.is_(False))
        .values(plan_id=new_plan.id, updated_at=preview.at)
        .execution_options(synchronize_session=False)).rowcount
    if swapped != 1:
        raise DomainError("The subscription was changed meanwhile; reload the page and try again.", field="plan")
    session.refresh(subscription)
    change = PlanChange(org_id=subscription.org_id, subscription_id=subscription.id, from_plan_id=old_plan.id,
                        to_plan_id=new_plan.id, changed_at=preview.at, credit=preview.proration.credit,
                        charge=preview.proration.charge, currency=new_plan.currency, actor_label=actor_label)
    session.add(change)
    session.flush()
    session.add_all(_proration_items(change, preview))
    subscription.organization.tier = new_plan.code
    record(session, "subscription.plan_changed", actor_label=actor_label, org_id=subscription.org_id,
           target=subscription.public_id,
           details={"from": old_plan.code, "to": new_plan.code, "credit": preview.proration.credit,
                    "charge": preview.proration.charge, "currency": new_plan.currency,
                    "seconds_left": preview.proration.seconds_left})
    subscription_event(session, subscription, "subscription.updated")
    return preview


def schedule_cancellation(session: Session, subscription: Subscription, *, actor_label: str) -> Subscription:
    """End the subscription when the current period closes (it is still invoiced)."""
    if subscription.cancel_at_period_end:
        raise DomainError("The subscription is already set to end with this period.", field="subscription")
    subscription.cancel_at_period_end, subscription.updated_at = True, clock.utcnow()
    record(session, "subscription.cancellation_scheduled", actor_label=actor_label, org_id=subscription.org_id,
           target=subscription.public_id, details={"ends_at": subscription.current_period_end.isoformat()})
    subscription_event(session, subscription, "subscription.updated")
    return subscription


def resume(session: Session, subscription: Subscription, *, actor_label: str) -> Subscription:
    """Undo a scheduled cancellation before the period ends."""
    if not subscription.cancel_at_period_end:
        raise DomainError("The subscription is not set to end.", field="subscription")
    subscription.cancel_at_period_end, subscription.updated_at = False, clock.utcnow()
    record(session, "subscription.resumed", actor_label=actor_label, org_id=subscription.org_id,
           target=subscription.public_id)
    subscription_event(session, subscription, "subscription.updated")
    return subscription


def plan_at(session: Session, subscription: Subscription, moment: datetime) -> Plan:
    """The plan the subscription was on at `moment`, read from its plan changes."""
    later = session.scalars(select(PlanChange).where(
        PlanChange.subscription_id == subscription.id, PlanChange.changed_at > moment)
        .order_by(PlanChange.changed_at, PlanChange.id)).first()
    return later.from_plan if later is not None else subscription.plan


def advance_period(session: Session, subscription: Subscription, closed: Period) -> None:
    """After `closed` is invoiced: start the next period, or end a subscription set to end.

    Guarded on the period it had, so a second closer of the same period
    changes nothing (its invoice insert has already failed on the UNIQUE).
    """
    now = clock.utcnow()
    if subscription.cancel_at_period_end:
        values = {"status": "cancelled", "cancelled_at": closed.end}
    else:
        following = period_containing(subscription.billing_anchor, closed.end)
        values = {"current_period_start": following.start, "current_period_end": following.end}
    moved = session.execute(
        update(Subscription).where(Subscription.id == subscription.id,
                                   Subscription.current_period_start == closed.start)
        .values(updated_at=now, **values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise DomainError("The billing period was closed by someone else meanwhile.")
    session.refresh(subscription)
    if subscription.status == "cancelled":
        subscription.organization.tier = "free"
        record(session, "subscription.cancelled", actor_label="billing", org_id=subscription.org_id,
               target=subscription.public_id, details={"ended_at": closed.end.isoformat()})
        subscription_event(session, subscription, "subscription.cancelled")


def set_past_due(session: Session, subscription: Subscription, past_due: bool) -> None:
    """An unpaid invoice makes the subscription past due; paying it makes it active again."""
    wanted, current = ("past_due", "active") if past_due else ("active", "past_due")
    if subscription.status == current:
        subscription.status, subscription.updated_at = wanted, clock.utcnow()
        subscription_event(session, subscription, "subscription.updated")
