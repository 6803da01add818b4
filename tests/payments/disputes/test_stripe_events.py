"""Stripe's charge.dispute.* events create and move disputes: forward only, once.

Objects are built from Stripe's documented Dispute payload (tests/payments/
stripe_events.py). The first tests apply them to the service directly; the
last ones deliver signed events to /api/webhooks/stripe and let a real RQ
worker process them.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.jobs import run_worker
from app.payments.disputes import apply_stripe_dispute
from app.payments.models import Dispute, StripeEvent
from tests.payments import stripe_events
from tests.payments.disputes.conftest import disputes_of, events_of, make_payment

DUE = int(time.time()) + 5 * 86400


def stripe_dispute(payment, status="needs_response", *, dispute_id="dp_1StripeDisputeA", reason="fraudulent",
                   amount=None, by_charge_only=False, due_by=DUE):
    return stripe_events.charge_dispute(dispute_id, payment.stripe_charge_id,
                                        None if by_charge_only else payment.stripe_payment_intent_id, status,
                                        amount or payment.amount_captured, reason=reason, due_by=due_by)


def apply(app, session, event_type, obj) -> str:
    outcome = apply_stripe_dispute(session, app.config, event_type, obj)
    session.commit()
    return outcome


def test_created_makes_our_dispute_from_stripes_object(app, demo, payment):
    outcome = apply(app, demo, "charge.dispute.created", stripe_dispute(payment, amount=4_000))

    [dispute] = disputes_of(demo, payment)
    assert outcome == f"created {dispute.public_id} (needs_response)"
    assert (dispute.stripe_dispute_id, dispute.status, dispute.opened_by) == ("dp_1StripeDisputeA", "needs_response",
                                                                               "stripe")
    assert (dispute.amount, dispute.currency, dispute.reason, dispute.org_id) == (4_000, "USD", "fraudulent",
                                                                                   payment.org_id)
    assert dispute.evidence_due_by == datetime.fromtimestamp(DUE, tz=timezone.utc)
    assert events_of(demo, "dispute.created") == 1
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.target == dispute.public_id)).one()
    assert (audit.action, audit.actor_label) == ("dispute.stripe_opened", "stripe")


def test_the_payment_is_found_by_its_charge_when_the_intent_is_missing(app, demo, payment):
    apply(app, demo, "charge.dispute.created", stripe_dispute(payment, by_charge_only=True))

    assert len(disputes_of(demo, payment)) == 1


def test_reasons_we_do_not_list_become_general(app, demo, payment):
    stripe_reasons = {"duplicate": "duplicate", "unrecognized": "unrecognized", "bank_cannot_process": "general",
                      "customer_initiated": "general", "noncompliant": "general"}
    for n, stripe_reason in enumerate(stripe_reasons):
        apply(app, demo, "charge.dispute.created",
              stripe_dispute(payment, dispute_id=f"dp_reason{n}", reason=stripe_reason))

    assert [d.reason for d in disputes_of(demo, payment)] == list(stripe_reasons.values())


def test_a_dispute_on_a_payment_we_do_not_know_is_noted_not_recorded(app, demo):
    obj = stripe_events.charge_dispute("dp_1Unknown", "ch_unknown", "pi_unknown", "needs_response", 1_000)

    assert apply(app, demo, "charge.dispute.created", obj) == "no matching payment"
    assert demo.scalars(select(Dispute)).first() is None and events_of(demo, "dispute.created") == 0


def test_unknown_status_is_ignored(app, demo, payment):
    outcome = apply(app, demo, "charge.dispute.created", stripe_dispute(payment, status="prevented"))

    assert outcome == "ignored: unknown dispute status 'prevented'"
    assert disputes_of(demo, payment) == []


def test_the_lifecycle_moves_forward_with_an_event_each_step(app, demo, payment):
    apply(app, demo, "charge.dispute.created", stripe_dispute(payment, "warning_needs_response"))
    later = DUE + 86400
    outcomes = [apply(app, demo, "charge.dispute.updated", stripe_dispute(payment, "needs_response", due_by=later)),
                apply(app, demo, "charge.dispute.updated", stripe_dispute(payment, "under_review", due_by=later)),
                apply(app, demo, "charge.dispute.closed", stripe_dispute(payment, "won", due_by=later))]

    [dispute] = disputes_of(demo, payment)
    pid = dispute.public_id
    assert outcomes == [f"{pid}: warning_needs_response → needs_response", f"{pid}: needs_response → under_review",
                        f"{pid}: under_review → won"]
    assert dispute.status == "won" and dispute.closed_at is not None
    assert dispute.evidence_due_by == datetime.fromtimestamp(later, tz=timezone.utc)
    assert (events_of(demo, "dispute.created"), events_of(demo, "dispute.updated"),
            events_of(demo, "dispute.closed")) == (1, 2, 1)


def test_out_of_order_closed_then_updated_stays_closed(app, demo, payment):
    apply(app, demo, "charge.dispute.created", stripe_dispute(payment))
    apply(app, demo, "charge.dispute.closed", stripe_dispute(payment, "lost"))

    outcome = apply(app, demo, "charge.dispute.updated", stripe_dispute(payment, "under_review"))

    [dispute] = disputes_of(demo, payment)
    assert outcome == f"ignored: {dispute.public_id} is closed (lost); it stays closed"
    assert dispute.status == "lost"
    assert events_of(demo, "dispute.updated") == 0 and events_of(demo, "dispute.closed") == 1


def test_a_late_update_never_moves_backwards(app, demo, payment):
    apply(app, demo, "charge.dispute.created", stripe_dispute(payment, "under_review"))

    outcome = apply(app, demo, "charge.dispute.created", stripe_dispute(payment, "needs_response"))

    assert "does not move back from under_review to needs_response" in outcome
    assert disputes_of(demo, payment)[0].status == "under_review"


def test_first_heard_of_when_already_closed(app, demo, payment):
    """The created and updated events were lost: the closed one creates it, closed."""
    apply(app, demo, "charge.dispute.closed", stripe_dispute(payment, "lost"))

    [dispute] = disputes_of(demo, payment)
    assert dispute.status == "lost" and dispute.closed_at is not None
    assert events_of(demo, "dispute.created") == events_of(demo, "dispute.closed") == 1


def test_the_same_object_applied_ten_times_changes_state_once(app, demo, payment):
    obj = stripe_dispute(payment)
    outcomes = [apply(app, demo, "charge.dispute.created", obj) for _ in range(10)]

    [dispute] = disputes_of(demo, payment)
    assert outcomes[0].startswith("created ")
    assert outcomes[1:] == [f"ignored: {dispute.public_id} is already needs_response"] * 9
    assert events_of(demo, "dispute.created") == 1
    assert events_of(demo, "dispute.updated") == events_of(demo, "dispute.closed") == 0


# --- through the inbound endpoint and a real worker --------------------------------------------------------------


def deliver(app, document):
    response = stripe_events.post_event(app.test_client(), document)
    assert response.status_code == 200, response.get_data(as_text=True)


def outcome_of(session, document) -> str:
    session.expire_all()
    event = session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == document["id"])).one()
    assert event.status == "processed", (event.status, event.last_error)
    return event.outcome


def test_one_event_delivered_ten_times_creates_one_dispute(app, demo):
    payment = make_payment(demo)
    document = stripe_events.event("charge.dispute.created", stripe_dispute(payment))

    for _ in range(10):
        deliver(app, document)
    run_worker(app, burst=True)

    [dispute] = disputes_of(demo, payment)
    assert outcome_of(demo, document) == f"created {dispute.public_id} (needs_response)"
    assert events_of(demo, "dispute.created") == 1


def test_ten_events_with_the_same_dispute_create_it_once(app, demo):
    payment = make_payment(demo)
    documents = [stripe_events.event("charge.dispute.created", stripe_dispute(payment)) for _ in range(10)]

    for document in documents:
        deliver(app, document)
    run_worker(app, burst=True)

    assert len(disputes_of(demo, payment)) == 1 and events_of(demo, "dispute.created") == 1
    outcomes = sorted(outcome_of(demo, document) for document in documents)
    assert sum(o.startswith("created ") for o in outcomes) == 1
    assert sum(o.endswith("is already needs_response") for o in outcomes) == 9


def test_closed_delivered_before_updated_stays_closed(app, demo):
    payment = make_payment(demo)
    created = stripe_events.event("charge.dispute.created", stripe_dispute(payment), created=1_700_000_000)
    closed = stripe_events.event("charge.dispute.closed", stripe_dispute(payment, "lost"), created=1_700_000_300)
    updated = stripe_events.event("charge.dispute.updated", stripe_dispute(payment, "under_review"),
                                  created=1_700_000_200)

    for document in (created, closed):
        deliver(app, document)
    run_worker(app, burst=True)
    deliver(app, updated)  # Stripe retried it; it arrives last
    run_worker(app, burst=True)

    [dispute] = disputes_of(demo, payment)
    assert dispute.status == "lost"
    assert outcome_of(demo, updated) == f"ignored: {dispute.public_id} is closed (lost); it stays closed"
    assert events_of(demo, "dispute.closed") == 1 and events_of(demo, "dispute.updated") == 0
