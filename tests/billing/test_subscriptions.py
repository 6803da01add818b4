"""Subscribe, change plan with proration, cancel at period end, resume: what it writes, emits and refuses."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.billing import invoices, subscriptions
from app.billing.models import InvoiceItem, PlanChange, Subscription
from app.errors import DomainError
from app.rental.service import current_subscription
from tests.billing.support import DECEMBER, HALFWAY, NOVEMBER, close_and_finalize, customer
from tests.payments.core_support import audits, events
from tests.support import org

ACTOR = "owner@test"


def _items(db, subscription):
    db.expire_all()
    return [(i.kind, i.amount, i.description) for i in db.scalars(
        select(InvoiceItem).where(InvoiceItem.subscription_id == subscription.id).order_by(InvoiceItem.id))]


def test_an_upgrade_leaves_the_prorations_and_moves_the_tier(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    clock.freeze(HALFWAY)

    preview = subscriptions.change_plan(db, subscription, "enterprise", actor_label=ACTOR)
    db.commit()

    assert (preview.proration.credit, preview.proration.charge) == (-24_50, 999_50)
    assert _items(db, subscription) == [
        ("proration", -24_50, "Unused time on Pro after 16 Nov 2026 00:00 UTC"),
        ("proration", 999_50, "Remaining time on Enterprise after 16 Nov 2026 00:00 UTC")]
    assert subscription.plan.code == "enterprise" and org(db, "initech").tier == "enterprise"
    [change] = db.scalars(select(PlanChange)).all()
    assert (change.from_plan.code, change.to_plan.code, change.credit, change.charge) == (
        "pro", "enterprise", -24_50, 999_50)
    [updated] = events(db, "subscription.updated")
    assert (updated["plan"], updated["status"]) == ("enterprise", "active")
    [audit] = audits(db, "subscription.plan_changed")
    assert audit.details["from"] == "pro" and audit.details["charge"] == 999_50


def test_a_downgrade_credits_and_a_free_plan_charges_nothing(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    clock.freeze(HALFWAY)
    subscriptions.change_plan(db, subscription, "free", actor_label=ACTOR)
    db.commit()
    assert _items(db, subscription) == [("proration", -24_50, "Unused time on Pro after 16 Nov 2026 00:00 UTC")]
    assert org(db, "initech").tier == "free"


def test_changes_that_cannot_be_made_are_refused_and_write_nothing(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    for plan, message in (("pro", "already on the Pro plan"), ("platinum", "Unknown plan")):
        with pytest.raises(DomainError, match=message) as refused:
            subscriptions.change_plan(db, subscription, plan, actor_label=ACTOR)
        assert refused.value.field == "plan"
    subscriptions.schedule_cancellation(db, subscription, actor_label=ACTOR)
    db.commit()
    with pytest.raises(DomainError, match="resume it before changing"):
        subscriptions.change_plan(db, subscription, "enterprise", actor_label=ACTOR)
    db.rollback()
    assert _items(db, subscription) == [] and db.scalars(select(PlanChange)).all() == []


def test_a_change_that_lost_a_race_is_refused(billing, app):
    """Two owners switch at the same moment: the second one's guarded UPDATE finds the plan changed."""
    db = billing
    subscription = customer(db, "initech", plan="pro")
    stale = app.extensions["db"].session()
    try:
        stale_subscription = stale.get(Subscription, subscription.id)
        stale_subscription.plan  # loaded as Pro
        subscriptions.change_plan(db, subscription, "enterprise", actor_label=ACTOR)
        db.commit()
        with pytest.raises(DomainError, match="changed meanwhile"):
            subscriptions.change_plan(stale, stale_subscription, "free", actor_label=ACTOR)
        stale.rollback()
    finally:
        stale.close()
    assert [kind for kind, _, _ in _items(db, subscription)] == ["proration", "proration"]


def test_cancel_at_period_end_invoices_the_period_then_ends(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    subscriptions.schedule_cancellation(db, subscription, actor_label=ACTOR)
    db.commit()
    with pytest.raises(DomainError, match="already set to end"):
        subscriptions.schedule_cancellation(db, subscription, actor_label=ACTOR)

    invoice = close_and_finalize(db, subscription)

    db.expire_all()
    assert invoice.total > 0 and (invoice.period_start, invoice.period_end) == (NOVEMBER, DECEMBER)
    assert subscription.status == "cancelled" and subscription.cancelled_at == DECEMBER
    assert current_subscription(db, subscription.org_id) is None
    [cancelled] = events(db, "subscription.cancelled")
    assert (cancelled["status"], cancelled["cancel_at_period_end"]) == ("cancelled", True)
    clock.advance(timedelta(days=40))
    assert invoices.close_period(db, subscription.id) is None  # nothing more is billed


def test_resume_keeps_the_subscription_renewing(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    with pytest.raises(DomainError, match="not set to end"):
        subscriptions.resume(db, subscription, actor_label=ACTOR)
    subscriptions.schedule_cancellation(db, subscription, actor_label=ACTOR)
    subscriptions.resume(db, subscription, actor_label=ACTOR)
    db.commit()
    close_and_finalize(db, subscription)
    db.expire_all()
    assert subscription.status == "active" and subscription.current_period_start == DECEMBER
    assert [e["cancel_at_period_end"] for e in events(db, "subscription.updated")] == [True, False]


def test_subscribe_starts_monthly_periods_from_now(billing):
    db = billing
    subscription = customer(db, "initech", plan="pro")
    subscriptions.schedule_cancellation(db, subscription, actor_label=ACTOR)
    db.commit()
    close_and_finalize(db, subscription)
    moment = DECEMBER + timedelta(days=3, hours=5)
    clock.freeze(moment)

    renewed = subscriptions.subscribe(db, org(db, "initech"), "enterprise", actor_label=ACTOR)
    db.commit()

    assert (renewed.current_period_start, renewed.current_period_end) == (moment, moment.replace(month=1, year=2027))
    assert org(db, "initech").tier == "enterprise"
    [created] = events(db, "subscription.created")
    assert created["plan"] == "enterprise"
    with pytest.raises(DomainError, match="already on the Enterprise plan"):
        subscriptions.subscribe(db, org(db, "initech"), "pro", actor_label=ACTOR)
