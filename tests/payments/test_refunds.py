"""Refunds through `app.payments.refunds` against localstripe, on both databases:
full, partial and prorated (to the second, rounded half up), the refusals that
keep refunded ≤ captured, the approval queue above the threshold, and every way
a reservation is released (rejection, a refusing or unreachable gateway).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.errors import DomainError
from app.payments import refunds, service
from app.payments.models import Payment, Refund
from app.billing.models import Subscription
from tests.payments.core_support import (ACTOR, OtherStripeAccount, audits, closed_port_url, count, events, place,
                                         refund, stripe_refunds)

PERIOD_START = datetime(2026, 11, 1, tzinfo=timezone.utc)
PERIOD_END = datetime(2026, 12, 1, tzinfo=timezone.utc)  # 30 days = 2 592 000 s


def fresh(db, payment: Payment) -> Payment:
    db.expire_all()
    return db.get(Payment, payment.id)


def assert_invariant(payment: Payment) -> None:
    assert 0 <= payment.amount_refunded + payment.amount_refund_pending <= payment.amount_captured


@pytest.fixture
def charged(app, demo) -> Payment:
    """acme's captured 100.00 USD."""
    return place(app, demo)


@pytest.fixture
def acme_period(demo):
    """acme's active subscription set to November 2026."""
    subscription = demo.scalars(select(Subscription).join(Subscription.organization)
                                .where(Subscription.organization.has(slug="acme"))).one()
    subscription.current_period_start, subscription.current_period_end = PERIOD_START, PERIOD_END
    subscription.status = "active"
    demo.commit()
    return subscription


def test_full_refund_returns_everything_captured(app, demo, charged):
    made = refund(app, demo, charged, refund_type="full")
    assert made.public_id.startswith("re_")
    assert (made.status, made.amount, made.currency, made.type, made.approval) == \
        ("succeeded", 10000, "USD", "full", "not_required")
    assert made.stripe_refund_id.startswith("re_")
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending, stored.refundable) == (10000, 0, 0)
    assert [(r.id, r.amount, r.status) for r in stripe_refunds(app, stored)] == [(made.stripe_refund_id, 10000,
                                                                                   "succeeded")]


def test_refund_events_are_emitted_once_each(app, demo, charged):
    made = refund(app, demo, charged, amount=2500)
    assert refunds.succeed(demo, made, made.stripe_refund_id) is False  # the webhook arriving later: no-op
    demo.commit()

    [created] = events(demo, "refund.created")
    assert created == {"id": made.public_id, "payment_id": charged.public_id, "status": "pending", "amount": 2500,
                       "currency": "usd", "type": "partial", "reason": "customer_request"}
    [updated] = events(demo, "refund.updated")
    assert updated["status"] == "succeeded" and updated["id"] == made.public_id
    [refunded] = events(demo, "payment.refunded")
    assert refunded["id"] == charged.public_id and refunded["amount_refunded"] == 2500
    [requested] = audits(demo, "refund.requested")
    assert requested.target == made.public_id and requested.actor_label == ACTOR
    assert requested.details == {"payment": charged.public_id, "amount": 2500, "type": "partial",
                                 "reason": "customer_request", "awaiting_approval": False}


def test_partial_refunds_up_to_the_captured_amount_then_not_one_minor_unit_more(app, demo, charged):
    for amount in (3000, 3000, 3999, 1):
        assert refund(app, demo, charged, amount=amount).status == "succeeded"
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.refundable) == (10000, 0)

    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, stored, refund_type="partial", reason="other", amount=1, actor_label=ACTOR)
    assert error.value.field == "amount" and "more than the $0.00 left" in error.value.message
    demo.rollback()
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, stored, refund_type="full", reason="other", actor_label=ACTOR)
    assert error.value.field == "amount"
    demo.rollback()
    assert count(demo, Refund) == 4 and len(stripe_refunds(app, stored)) == 4


def test_refund_more_than_left_is_refused_naming_the_amount(app, demo, charged):
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, charged, refund_type="partial", reason="other", amount=10001,
                        actor_label=ACTOR)
    assert error.value.field == "amount" and "$100.00 left" in error.value.message
    demo.rollback()
    refund(app, demo, charged, amount=4000)
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, fresh(demo, charged), refund_type="partial", reason="other", amount=6001,
                        actor_label=ACTOR)
    assert "$60.00 left" in error.value.message
    demo.rollback()
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (4000, 0)
    assert count(demo, Refund) == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({"amount": "100"}, "amount"),
    ({"amount": None}, "amount"),  # a partial refund needs one
    ({"currency": "EUR", "amount": 100}, "currency"),
    ({"currency": "XYZ", "amount": 100}, "currency"),
    ({"refund_type": "half", "amount": 100}, "type"),
    ({"reason": "because", "amount": 100}, "reason"),
    ({"refund_type": "full", "amount": 500}, "amount"),  # full means everything left
])
def test_bad_refund_input_names_the_field_and_reserves_nothing(app, demo, charged, changes, field):
    arguments = {"refund_type": "partial", "reason": "customer_request", **changes}
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, charged, actor_label=ACTOR, **arguments)
    assert error.value.field == field
    demo.rollback()
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (0, 0)
    assert count(demo, Refund) == 0 and events(demo, "refund.created") == []


def test_currency_of_the_payment_is_accepted_in_any_case(app, demo, charged):
    assert refund(app, demo, charged, amount=100, currency="usd").status == "succeeded"


def test_authorized_but_not_captured_payment_cannot_be_refunded(app, demo):
    authorized = place(app, demo, capture=False)
    declined = place(app, demo, order_id="ord-2", payment_method="pm_card_visa_chargeDeclined")
    for payment in (authorized, declined):
        with pytest.raises(DomainError) as error:
            refunds.request(demo, app.config, payment, refund_type="full", reason="other", actor_label=ACTOR)
        assert error.value.field == "payment" and payment.status in error.value.message
        demo.rollback()
    assert count(demo, Refund) == 0


def test_after_partial_capture_only_the_captured_amount_is_refundable(app, demo):
    payment = place(app, demo, capture=False)
    service.capture(demo, app.config, payment, 6000, actor_label=ACTOR)
    assert refund(app, demo, payment, refund_type="full").amount == 6000


def test_prorated_refund_is_the_unused_share_to_the_second(app, demo, charged, acme_period):
    now = PERIOD_START + timedelta(days=10, hours=3, minutes=7, seconds=11)
    clock.freeze(now)
    left = int((PERIOD_END - now).total_seconds())
    length = int((PERIOD_END - PERIOD_START).total_seconds())
    # captured × seconds left / period seconds = 10000 × 1 716 769 / 2 592 000 = 6623.34 → 6623
    assert (left, length) == (1_716_769, 2_592_000)
    made = refund(app, demo, charged, refund_type="prorated", reason="service_issue")
    assert (made.type, made.amount, made.status) == ("prorated", 6623, "succeeded")
    assert fresh(demo, charged).amount_refunded == 6623


def test_every_second_counts(app, demo, acme_period):
    """A payment of one minor unit per second of the period: the refund drops by one each second."""
    config = dict(app.config, REFUND_APPROVAL_THRESHOLD={"USD": 10**9})
    payments = [place(app, demo, amount=2_592_000, order_id=f"ord-{n}") for n in range(2)]
    clock.freeze(PERIOD_START + timedelta(days=20, seconds=1))
    first = refund(app, demo, payments[0], refund_type="prorated", config=config)
    clock.advance(timedelta(seconds=1))
    second = refund(app, demo, payments[1], refund_type="prorated", config=config)
    assert (first.amount, second.amount) == (863_999, 863_998)


def test_prorated_refund_rounds_half_up(app, demo, charged, acme_period):
    # 648 s left of 2 592 000: 10000 × 648 / 2 592 000 = 2.5 → 3 (banker's rounding would say 2)
    clock.freeze(PERIOD_END - timedelta(seconds=648))
    assert refund(app, demo, charged, refund_type="prorated").amount == 3
    # one second later: 10000 × 647 / 2 592 000 = 2.496… → 2
    clock.advance(timedelta(seconds=1))
    assert refund(app, demo, fresh(demo, charged), refund_type="prorated").amount == 2


def test_prorated_amount_to_the_second(app):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = start + timedelta(seconds=1000)
    assert refunds.prorated_amount(999, start, end, start + timedelta(seconds=500)) == 500  # 499.5 → 500
    assert refunds.prorated_amount(999, start, end, start) == 999
    assert refunds.prorated_amount(999, start, end, start - timedelta(days=1)) == 999  # never more than all
    assert refunds.prorated_amount(999, start, end, end + timedelta(days=1)) == 0


def test_prorated_refund_needs_an_active_subscription(app, demo, charged, acme_period):
    acme_period.status = "cancelled"
    demo.commit()
    clock.freeze(PERIOD_START + timedelta(days=1))
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, charged, refund_type="prorated", reason="other", actor_label=ACTOR)
    assert error.value.field == "type" and "active subscription" in error.value.message
    demo.rollback()
    assert count(demo, Refund) == 0 and fresh(demo, charged).amount_refund_pending == 0


def test_prorated_refund_after_the_period_ended_is_refused(app, demo, charged, acme_period):
    clock.freeze(PERIOD_END + timedelta(seconds=1))
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, charged, refund_type="prorated", reason="other", actor_label=ACTOR)
    assert error.value.field == "type"
    demo.rollback()
    with pytest.raises(DomainError) as error:
        refunds.request(demo, app.config, charged, refund_type="prorated", reason="other", amount=100,
                        actor_label=ACTOR)
    assert error.value.field == "amount"  # it computes its own


def low_threshold(app, usd_minor_units: int) -> dict:
    return dict(app.config, REFUND_APPROVAL_THRESHOLD={**app.config["REFUND_APPROVAL_THRESHOLD"],
                                                       "USD": usd_minor_units})


def test_refund_above_the_threshold_waits_for_an_admin(app, demo, charged):
    config = low_threshold(app, 1000)
    assert refund(app, demo, charged, amount=1000, config=config).approval == "not_required"  # at it: no wait

    waiting = refund(app, demo, charged, amount=5000, config=config)
    assert (waiting.status, waiting.approval, waiting.stripe_refund_id) == ("pending", "awaiting", None)
    assert len(stripe_refunds(app, charged)) == 1  # not sent to Stripe
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending, stored.refundable) == (1000, 5000, 4000)
    assert audits(demo, "refund.requested")[-1].details["awaiting_approval"] is True

    waiting = demo.get(Refund, waiting.id)
    refunds.approve(demo, config, waiting, note="ok, outage on the 3rd", actor_label="admin@matrix.test",
                    actor_user_id=None)
    assert (waiting.status, waiting.approval, waiting.reviewed_by) == ("succeeded", "approved", "admin@matrix.test")
    assert len(stripe_refunds(app, charged)) == 2
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (6000, 0)
    [approved] = audits(demo, "refund.approved")
    assert approved.target == waiting.public_id and approved.details == {"amount": 5000,
                                                                          "note": "ok, outage on the 3rd"}
    with pytest.raises(DomainError):
        refunds.reject(demo, waiting, note="too late", actor_label="admin@matrix.test")


def test_rejecting_releases_the_reservation(app, demo, charged):
    config = low_threshold(app, 0)
    waiting = refund(app, demo, charged, refund_type="full", config=config)
    assert fresh(demo, charged).refundable == 0

    waiting = demo.get(Refund, waiting.id)
    with pytest.raises(DomainError) as error:
        refunds.reject(demo, waiting, note="  ", actor_label="admin@matrix.test")
    assert error.value.field == "note"
    refunds.reject(demo, waiting, note="Duplicate request", actor_label="admin@matrix.test")
    demo.commit()

    assert (waiting.status, waiting.approval, waiting.review_note) == ("canceled", "rejected", "Duplicate request")
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending, stored.refundable) == (0, 0, 10000)
    assert stripe_refunds(app, stored) == []
    assert [e["status"] for e in events(demo, "refund.updated")] == ["canceled"]
    assert events(demo, "payment.refunded") == []
    assert audits(demo, "refund.rejected")[0].details["note"] == "Duplicate request"
    assert refunds.execute(demo, app.config, waiting).status == "canceled"  # never sent afterwards
    with pytest.raises(DomainError):
        refunds.approve(demo, app.config, waiting, note="", actor_label="admin@matrix.test")


def test_a_refund_the_gateway_refuses_fails_and_releases_its_reservation(app, demo, charged):
    """The keys point at another Stripe account, which does not know the PaymentIntent."""
    with OtherStripeAccount() as other:
        made = refund(app, demo, charged, amount=2500, config=dict(app.config, STRIPE_API_BASE=other))
    assert made.status == "failed" and made.failure_message
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending, stored.refundable) == (0, 0, 10000)
    assert [e["status"] for e in events(demo, "refund.updated")] == ["failed"]
    assert events(demo, "payment.refunded") == []
    assert refunds.succeed(demo, made, "re_late") is False  # a finished refund stays finished
    assert refund(app, demo, stored, refund_type="full").amount == 10000  # the money is refundable again


def test_unreachable_gateway_keeps_the_refund_pending_for_the_retry(app, demo, charged):
    made = refund(app, demo, charged, amount=2500, config=dict(app.config, STRIPE_API_BASE=closed_port_url()))
    assert (made.status, made.stripe_refund_id) == ("pending", None)
    assert made.failure_message == "The payment gateway could not be reached."
    assert fresh(demo, charged).amount_refund_pending == 2500  # still reserved: the outcome is unknown

    assert refunds.retry_ids(demo) == []  # too recent
    clock.advance(timedelta(minutes=3))
    assert refunds.retry_ids(demo) == [made.id]
    refunds.execute(demo, app.config, demo.get(Refund, made.id))
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (2500, 0)
    assert refunds.retry_ids(demo) == []
    assert len(stripe_refunds(app, stored)) == 1


def test_fail_and_succeed_settle_a_refund_once(app, demo, charged):
    made = refunds.request(demo, app.config, charged, refund_type="partial", reason="other", amount=700,
                           actor_label=ACTOR)
    demo.commit()
    assert refunds.fail(demo, made, "declined by the bank") is True
    assert refunds.fail(demo, made, "again") is False
    assert refunds.succeed(demo, made, "re_x") is False
    demo.commit()
    stored = fresh(demo, charged)
    assert (stored.amount_refunded, stored.amount_refund_pending) == (0, 0)
    assert made.failure_message == "declined by the bank"
    assert_invariant(stored)


def test_two_admins_deciding_at_once_cannot_both_win(app, demo, charged):
    """Both pages were loaded while the refund awaited; one approves (sent to Stripe), then the other rejects."""
    config = low_threshold(app, 0)
    waiting = refund(app, demo, charged, amount=5000, config=config)
    first, second = app.extensions["db"].session(), app.extensions["db"].session()
    try:
        mine, theirs = first.get(Refund, waiting.id), second.get(Refund, waiting.id)
        refunds.approve(first, config, mine, note="ok", actor_label="admin@matrix.test")
        assert mine.status == "succeeded"
        with pytest.raises(DomainError):
            refunds.reject(second, theirs, note="no", actor_label="other-admin@matrix.test")
        second.rollback()
    finally:
        first.close()
        second.close()
    demo.expire_all()
    stored = demo.get(Refund, waiting.id)
    assert (stored.status, stored.approval, stored.reviewed_by) == ("succeeded", "approved", "admin@matrix.test")
    assert audits(demo, "refund.rejected") == []
