"""Events are processed on a real RQ worker: once, forward only, and a failure
is recorded on the event (its partial writes rolled back) for an admin to re-run."""
from __future__ import annotations

import threading

from rq import Queue
from sqlalchemy import select

from app.jobs import run_worker
from app.payments.models import Payment, StripeEvent
from app.webhooks.models import WebhookEvent
from tests.payments import stripe_events
from tests.payments.inbound.support import count, deliver, fresh, make_payment, outbound_count, stored, work


def test_an_event_is_answered_at_once_and_processed_by_the_worker(app, hook, db):
    """Through the worker entry point `flask worker` uses (app.jobs.run_worker)."""
    payment = make_payment(db)
    intent = stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000)

    response, document = deliver(hook, "payment_intent.succeeded", intent)

    assert response.get_json() == {"received": True}
    assert stored(db, document["id"]).status == "pending"  # stored; nothing processed in the request
    assert fresh(db, payment).status == "processing"
    assert Queue("default", connection=app.extensions["redis"]).count == 1

    run_worker(app, burst=True)

    event = stored(db, document["id"])
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, None)
    assert event.outcome == f"payment {payment.public_id} → succeeded"
    assert event.processed_at is not None
    payment = fresh(db, payment)
    assert (payment.status, payment.amount_captured) == ("succeeded", 5000)
    assert payment.platform_fee == 75 and payment.net_amount == 5000 - 75 - payment.gateway_fee  # acme is Pro: 1.5%
    assert outbound_count(db, "payment.succeeded") == 1


def test_the_same_event_delivered_ten_times_is_stored_once_and_changes_state_once(app, hook, db):
    payment = make_payment(db)
    document = stripe_events.event("payment_intent.succeeded",
                                   stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))

    answers = [stripe_events.post_event(hook, document) for _ in range(10)]
    work(app)
    answers += [stripe_events.post_event(hook, document) for _ in range(3)]  # Stripe retrying after we processed
    work(app)

    assert [a.status_code for a in answers] == [200] * 13
    assert answers[0].get_json() == {"received": True}
    assert all(a.get_json() == {"received": True, "duplicate": True} for a in answers[1:])
    assert count(db, StripeEvent) == 1
    event = stored(db, document["id"])
    assert (event.status, event.attempts) == ("processed", 1)
    assert fresh(db, payment).status == "succeeded"
    assert outbound_count(db, "payment.succeeded") == 1


def test_racing_deliveries_of_one_event_store_it_once(app, hook, db):
    """Stripe may deliver an event twice at the same moment: the unique id decides, one insert wins."""
    payment = make_payment(db)
    document = stripe_events.event("payment_intent.succeeded",
                                   stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))
    barrier, answers = threading.Barrier(8), []

    def deliver_once():
        client = app.test_client()
        barrier.wait()
        answers.append(stripe_events.post_event(client, document))

    threads = [threading.Thread(target=deliver_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    work(app)

    assert sorted(a.status_code for a in answers) == [200] * 8
    assert sum(1 for a in answers if not a.get_json().get("duplicate")) == 1
    assert count(db, StripeEvent) == 1
    assert fresh(db, payment).status == "succeeded"
    assert outbound_count(db, "payment.succeeded") == 1


def test_processing_an_event_twice_changes_nothing_the_second_time(app, hook, db):
    from app.payments.jobs import process_stripe_event

    payment = make_payment(db)
    _, document = deliver(hook, "payment_intent.succeeded",
                          stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))
    event_id = stored(db, document["id"]).id
    with app.app_context():
        first = process_stripe_event(event_id)
        again = process_stripe_event(event_id)  # a duplicate job: the claim refuses it
    assert first == f"payment {payment.public_id} → succeeded"
    assert again is None
    assert stored(db, document["id"]).attempts == 1
    assert outbound_count(db, "payment.succeeded") == 1


def test_event_types_we_do_not_handle_are_stored_and_marked_ignored_without_a_job(app, hook, db):
    _, document = deliver(hook, "customer.created", {"id": "cus_123", "object": "customer"})

    event = stored(db, document["id"])
    assert (event.status, event.outcome) == ("processed", "ignored: not handled")
    assert Queue("default", connection=app.extensions["redis"]).count == 0


def test_an_event_about_a_payment_we_do_not_know_is_noted_not_invented(app, hook, db):
    _, document = deliver(hook, "payment_intent.succeeded",
                          stripe_events.payment_intent("pi_from_elsewhere", "succeeded", 700))
    work(app)
    assert stored(db, document["id"]).outcome == "no matching payment"
    assert count(db, Payment) == 0


def test_a_payment_whose_intent_id_was_never_stored_is_found_by_our_metadata(app, hook, db):
    """The crash window of service.place: row committed, Stripe called, answer lost."""
    payment = make_payment(db, intent_id=None)
    intent = stripe_events.payment_intent("pi_lost_answer", "succeeded", 5000, payment_id=payment.public_id)
    deliver(hook, "payment_intent.succeeded", intent)
    work(app)
    payment = fresh(db, payment)
    assert (payment.status, payment.stripe_payment_intent_id) == ("succeeded", "pi_lost_answer")


def test_metadata_naming_a_payment_tied_to_another_intent_does_not_match(app, hook, db):
    payment = make_payment(db, intent_id="pi_ours")
    intent = stripe_events.payment_intent("pi_other", "succeeded", 5000, payment_id=payment.public_id)
    _, document = deliver(hook, "payment_intent.succeeded", intent)
    work(app)
    assert stored(db, document["id"]).outcome == "no matching payment"
    assert fresh(db, payment).status == "processing"


def test_a_failed_payment_intent_records_stripes_reason_and_emits_payment_failed(app, hook, db):
    payment = make_payment(db)
    intent = stripe_events.payment_intent(
        payment.stripe_payment_intent_id, "requires_payment_method", 5000,
        last_payment_error={"code": "card_declined", "message": "Your card was declined."})
    _, document = deliver(hook, "payment_intent.payment_failed", intent)
    work(app)
    payment = fresh(db, payment)
    assert (payment.status, payment.failure_code, payment.failure_message) == (
        "failed", "card_declined", "Your card was declined.")
    assert stored(db, document["id"]).outcome == f"payment {payment.public_id} → failed"
    assert outbound_count(db, "payment.failed") == 1


def test_a_canceled_intent_cancels_an_authorization(app, hook, db):
    payment = make_payment(db, status="requires_capture")
    deliver(hook, "payment_intent.canceled",
            stripe_events.payment_intent(payment.stripe_payment_intent_id, "canceled", 5000))
    work(app)
    assert fresh(db, payment).status == "canceled"


def test_outbound_events_of_a_processed_event_are_rows_of_the_organization(app, hook, db):
    payment = make_payment(db)
    deliver(hook, "payment_intent.succeeded",
            stripe_events.payment_intent(payment.stripe_payment_intent_id, "succeeded", 5000))
    work(app)
    emitted = db.scalars(select(WebhookEvent).where(WebhookEvent.type == "payment.succeeded")).one()
    assert emitted.org_id == payment.org_id
    assert f'"id":"{payment.public_id}"' in emitted.body
