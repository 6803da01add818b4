"""Stripe does not promise order: a late event never moves a payment or refund
backwards, changes nothing, and its outcome says why."""
from __future__ import annotations

import pytest

from tests.payments import stripe_events
from tests.payments.inbound.support import (deliver, fresh, make_payment, make_refund, outbound_count, stored,
                                            work)


def intent_event(hook, payment, event_type, status, **kwargs):
    _, document = deliver(hook, event_type, stripe_events.payment_intent(
        payment.stripe_payment_intent_id, status, payment.amount, **kwargs))
    return document


def test_a_succeeded_payment_stays_succeeded_whatever_arrives_late(app, hook, db):
    payment = make_payment(db)
    intent_event(hook, payment, "payment_intent.succeeded", "succeeded")
    work(app)
    settled = fresh(db, payment)

    late = [intent_event(hook, payment, "payment_intent.created", "requires_payment_method"),
            intent_event(hook, payment, "payment_intent.created", "processing"),
            intent_event(hook, payment, "payment_intent.payment_failed", "requires_payment_method",
                         last_payment_error={"code": "card_declined", "message": "Your card was declined."}),
            intent_event(hook, payment, "payment_intent.canceled", "canceled")]
    work(app)

    payment = fresh(db, payment)
    assert (payment.status, payment.amount_captured, payment.net_amount) == (
        "succeeded", settled.amount_captured, settled.net_amount)
    assert payment.failure_message is None  # a late failure does not write its reason on a paid payment
    label = f"payment {payment.public_id}"
    assert [stored(db, doc["id"]).outcome for doc in late] == [
        f"{label}: intent created, stays succeeded",
        f"ignored: would move {label} from succeeded back to processing",
        f"ignored: would move {label} from succeeded back to failed",
        f"ignored: would move {label} from succeeded back to canceled",
    ]
    assert all(stored(db, doc["id"]).status == "processed" for doc in late)
    assert outbound_count(db, "payment.succeeded") == 1
    assert outbound_count(db, "payment.failed") == 0


def test_events_arriving_in_order_walk_the_payment_forward(app, hook, db):
    payment = make_payment(db)
    created = intent_event(hook, payment, "payment_intent.created", "requires_confirmation")
    authorized = intent_event(hook, payment, "payment_intent.created", "requires_capture")
    work(app)
    assert fresh(db, payment).status == "requires_capture"
    succeeded = intent_event(hook, payment, "payment_intent.succeeded", "succeeded", amount_received=3000)
    work(app)

    payment = fresh(db, payment)
    assert (payment.status, payment.amount_captured) == ("succeeded", 3000)
    assert stored(db, created["id"]).outcome == f"payment {payment.public_id}: intent created, stays processing"
    assert stored(db, authorized["id"]).outcome == f"payment {payment.public_id} → requires_capture"
    assert stored(db, succeeded["id"]).outcome == f"payment {payment.public_id} → succeeded"


def test_a_payment_recorded_failed_after_a_lost_answer_can_still_succeed(app, hook, db):
    """Stripe's word wins when we recorded a failure we could not confirm (transitions allow failed → succeeded)."""
    payment = make_payment(db, status="failed")
    intent_event(hook, payment, "payment_intent.succeeded", "succeeded")
    work(app)
    assert fresh(db, payment).status == "succeeded"
    assert outbound_count(db, "payment.succeeded") == 1


@pytest.fixture
def captured(db):
    return make_payment(db, status="succeeded", captured=5000)


def refund_event(hook, event_type, refund, status, **kwargs):
    _, document = deliver(hook, event_type, stripe_events.refund(
        refund.stripe_refund_id or "re_unknown", status, refund.amount, pi_id=refund.payment.stripe_payment_intent_id,
        our_id=refund.public_id, **kwargs))
    return document


def test_a_succeeded_refund_stays_succeeded_when_pending_or_failed_arrives_late(app, hook, db, captured):
    refund = make_refund(app, db, captured, 2000, stripe_refund_id="re_stripe_1")
    done = refund_event(hook, "refund.updated", refund, "succeeded")
    work(app)
    late_pending = refund_event(hook, "refund.created", refund, "pending")
    late_failed = refund_event(hook, "refund.updated", refund, "failed")
    work(app)

    refund, payment = fresh(db, refund), fresh(db, captured)
    assert refund.status == "succeeded"
    assert (payment.amount_refunded, payment.amount_refund_pending, payment.refundable) == (2000, 0, 3000)
    assert stored(db, done["id"]).outcome == f"refund {refund.public_id} → succeeded"
    assert stored(db, late_pending["id"]).outcome == (
        f"ignored: would move refund {refund.public_id} from succeeded back to pending")
    assert stored(db, late_failed["id"]).outcome == (
        f"ignored: would move refund {refund.public_id} from succeeded back to failed")
    assert outbound_count(db, "payment.refunded") == 1
    assert outbound_count(db, "refund.updated") == 1


def test_a_refund_that_fails_at_stripe_releases_its_reservation(app, hook, db, captured):
    refund = make_refund(app, db, captured, 2000, stripe_refund_id="re_stripe_2")
    assert fresh(db, captured).refundable == 3000
    refund_event(hook, "refund.updated", refund, "failed")
    work(app)

    refund, payment = fresh(db, refund), fresh(db, captured)
    assert refund.status == "failed"
    assert refund.failure_message == "Stripe could not make the refund: lost or stolen card."
    assert (payment.amount_refunded, payment.amount_refund_pending, payment.refundable) == (0, 0, 5000)
    assert outbound_count(db, "payment.refunded") == 0


def test_a_refund_is_found_by_our_metadata_before_we_stored_stripes_id(app, hook, db, captured):
    refund = make_refund(app, db, captured, 1500)
    _, document = deliver(hook, "refund.created", stripe_events.refund(
        "re_stripe_new", "pending", 1500, pi_id=captured.stripe_payment_intent_id, our_id=refund.public_id))
    work(app)
    refund = fresh(db, refund)
    assert (refund.status, refund.stripe_refund_id) == ("pending", "re_stripe_new")
    assert stored(db, document["id"]).outcome == f"refund {refund.public_id} already pending"


def test_a_refund_we_did_not_make_is_noted_not_invented(app, hook, db, captured):
    _, document = deliver(hook, "refund.updated", stripe_events.refund(
        "re_dashboard", "succeeded", 500, pi_id=captured.stripe_payment_intent_id))
    work(app)
    assert stored(db, document["id"]).outcome == "no matching refund for re_dashboard"
    payment = fresh(db, captured)
    assert (payment.amount_refunded, payment.refunds) == (0, [])


def test_a_canceled_refund_is_canceled_and_released(app, hook, db, captured):
    refund = make_refund(app, db, captured, 1000, stripe_refund_id="re_stripe_3")
    refund_event(hook, "refund.updated", refund, "canceled")
    work(app)
    assert fresh(db, refund).status == "canceled"
    assert fresh(db, captured).refundable == 5000
