"""charge.succeeded / charge.failed / charge.refunded, built from Stripe's
documented Charge object: they move our payment as the intent would, and
settle the refunds the charge lists that are ours."""
from __future__ import annotations

from app.payments.models import Refund
from tests.payments import stripe_events
from tests.payments.inbound.support import (charge, count, deliver, fresh, make_payment, make_refund, outbound_count,
                                            stored, work)


def test_a_captured_charge_moves_the_payment_to_succeeded_with_what_was_captured(app, hook, db):
    payment = make_payment(db, status="requires_capture", amount=5000)
    _, document = deliver(hook, "charge.succeeded",
                          charge("ch_1", payment.stripe_payment_intent_id, 5000, amount_captured=3500))
    work(app)
    payment = fresh(db, payment)
    assert (payment.status, payment.amount_captured, payment.stripe_charge_id) == ("succeeded", 3500, "ch_1")
    assert payment.platform_fee == 53  # 1.5% of 35.00, rounded half up
    assert stored(db, document["id"]).outcome == f"payment {payment.public_id} → succeeded"
    assert outbound_count(db, "payment.succeeded") == 1


def test_an_uncaptured_charge_is_an_authorization(app, hook, db):
    payment = make_payment(db)
    deliver(hook, "charge.succeeded", charge("ch_2", payment.stripe_payment_intent_id, 5000, captured=False))
    work(app)
    assert fresh(db, payment).status == "requires_capture"


def test_a_failed_charge_fails_the_payment_with_the_issuers_reason(app, hook, db):
    payment = make_payment(db)
    deliver(hook, "charge.failed", charge("ch_3", payment.stripe_payment_intent_id, 5000, status="failed",
                                          captured=False, failure_code="insufficient_funds",
                                          failure_message="Your card has insufficient funds."))
    work(app)
    payment = fresh(db, payment)
    assert (payment.status, payment.failure_code, payment.failure_message) == (
        "failed", "insufficient_funds", "Your card has insufficient funds.")
    assert outbound_count(db, "payment.failed") == 1


def test_charge_succeeded_after_payment_intent_succeeded_changes_nothing(app, hook, db):
    """Stripe sends both for every payment: the second says so and emits nothing."""
    payment = make_payment(db)
    deliver(hook, "payment_intent.succeeded",
            stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))
    _, second = deliver(hook, "charge.succeeded", charge("ch_4", payment.stripe_payment_intent_id, 5000))
    work(app)
    assert stored(db, second["id"]).outcome == f"payment {payment.public_id} already succeeded"
    assert fresh(db, payment).stripe_charge_id == "ch_4"
    assert outbound_count(db, "payment.succeeded") == 1


def test_a_failed_charge_after_success_is_ignored(app, hook, db):
    payment = make_payment(db, status="succeeded", captured=5000)
    _, document = deliver(hook, "charge.failed", charge("ch_5", payment.stripe_payment_intent_id, 5000,
                                                        status="failed", captured=False))
    work(app)
    assert fresh(db, payment).status == "succeeded"
    assert stored(db, document["id"]).outcome.startswith("ignored: would move")


def test_a_charge_of_an_unknown_payment_is_noted(app, hook, db):
    _, document = deliver(hook, "charge.succeeded", charge("ch_6", "pi_not_ours", 5000))
    work(app)
    assert stored(db, document["id"]).outcome == "no matching payment"


def test_charge_refunded_settles_our_refunds_and_notes_the_others(app, hook, db):
    payment = make_payment(db, status="succeeded", captured=5000)
    ours = make_refund(app, db, payment, 2000)  # Stripe's id not stored yet: found by metadata.refund_id
    pi = payment.stripe_payment_intent_id
    listed = [stripe_events.refund("re_ours", "succeeded", 2000, pi_id=pi, charge_id="ch_7", our_id=ours.public_id),
              stripe_events.refund("re_dashboard", "succeeded", 700, pi_id=pi, charge_id="ch_7")]
    _, document = deliver(hook, "charge.refunded", charge("ch_7", pi, 5000, refunds_data=listed))
    work(app)

    ours, payment = fresh(db, ours), fresh(db, payment)
    assert (ours.status, ours.stripe_refund_id) == ("succeeded", "re_ours")
    assert (payment.amount_refunded, payment.amount_refund_pending) == (2000, 0)
    assert count(db, Refund) == 1  # the dashboard refund is not invented
    assert stored(db, document["id"]).outcome == (
        f"refund {ours.public_id} → succeeded; not ours, not recorded: re_dashboard")
    assert outbound_count(db, "payment.refunded") == 1


def test_charge_refunded_twice_settles_once(app, hook, db):
    payment = make_payment(db, status="succeeded", captured=5000)
    ours = make_refund(app, db, payment, 5000, stripe_refund_id="re_full")
    listed = [stripe_events.refund("re_full", "succeeded", 5000, pi_id=payment.stripe_payment_intent_id)]
    deliver(hook, "charge.refunded", charge("ch_8", payment.stripe_payment_intent_id, 5000, refunds_data=listed))
    _, again = deliver(hook, "refund.updated", listed[0])
    work(app)
    assert fresh(db, ours).status == "succeeded"
    assert fresh(db, payment).amount_refunded == 5000
    assert stored(db, again["id"]).outcome == f"refund {ours.public_id} already succeeded"
    assert outbound_count(db, "payment.refunded") == 1


def test_charge_refunded_without_a_refund_list_says_so(app, hook, db):
    """Newer API versions leave `refunds` off the charge; refund.updated events settle them instead."""
    payment = make_payment(db, status="succeeded", captured=5000)
    _, document = deliver(hook, "charge.refunded", charge("ch_9", payment.stripe_payment_intent_id, 5000))
    work(app)
    assert stored(db, document["id"]).outcome == "the charge lists no refunds; refund.updated events settle them"
