"""A customer opens a dispute on a payment: reason, description, one open dispute per payment."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.payments import disputes
from app.payments.models import Payment
from tests.payments.disputes.conftest import disputes_of, events_of, make_dispute, make_payment


def open_dispute(app, session, payment, reason="product_not_received", description="The GPU never started."):
    return disputes.open_by_customer(session, app.config, payment, reason=reason, description=description,
                                     actor_label="alice@acme.test")


def test_opening_starts_needs_response_with_the_evidence_deadline(app, demo):
    payment = make_payment(demo, amount=10_000, refunded=2_500)
    now = clock.utcnow()

    dispute = open_dispute(app, demo, payment)
    demo.commit()

    assert dispute.public_id.startswith("dp_")
    assert (dispute.status, dispute.opened_by, dispute.reason) == ("needs_response", "customer", "product_not_received")
    assert dispute.amount == 7_500 and dispute.currency == "USD"  # captured − refunded
    assert dispute.description == "The GPU never started."
    assert dispute.stripe_dispute_id is None
    expected = now + timedelta(days=app.config["DISPUTE_EVIDENCE_DAYS"])
    assert abs((dispute.evidence_due_by - expected).total_seconds()) < 5
    assert events_of(demo, "dispute.created") == 1
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.target == dispute.public_id)).one()
    assert (audit.action, audit.actor_label, audit.org_id) == ("dispute.opened", "alice@acme.test", payment.org_id)


@pytest.mark.parametrize(("reason", "description", "field", "message"), [
    ("because", "It is wrong.", "reason", "The reason is one of fraudulent, duplicate"),
    ("", "It is wrong.", "reason", "The reason is one of"),
    ("duplicate", "   ", "description", "Describe what went wrong"),
    ("duplicate", None, "description", "Describe what went wrong"),
    ("duplicate", "x" * 2001, "description", "at most 2000 characters"),
])
def test_bad_input_names_the_field_and_writes_nothing(app, demo, payment, reason, description, field, message):
    with pytest.raises(DomainError) as refused:
        open_dispute(app, demo, payment, reason=reason, description=description)
    demo.rollback()

    assert refused.value.field == field and message in refused.value.message
    assert disputes_of(demo, payment) == [] and events_of(demo, "dispute.created") == 0


def test_only_a_succeeded_payment_can_be_disputed(app, demo):
    for status in ("processing", "requires_capture", "canceled", "failed"):
        payment = make_payment(demo, status=status)

        with pytest.raises(DomainError, match=f"Only a succeeded payment can be disputed; this one is {status}") \
                as refused:
            open_dispute(app, demo, payment)

        assert refused.value.field == "payment"


def test_a_fully_refunded_payment_has_nothing_left_to_dispute(app, demo):
    payment = make_payment(demo, amount=5_000, refunded=5_000)

    with pytest.raises(DomainError, match="refunded in full"):
        open_dispute(app, demo, payment)


def test_one_open_dispute_per_payment_but_a_new_one_after_it_closed(app, demo, payment):
    first = open_dispute(app, demo, payment)
    demo.commit()

    with pytest.raises(DomainError, match=f"already has an open dispute \\({first.public_id}\\)") as refused:
        open_dispute(app, demo, payment, reason="duplicate", description="Charged twice.")
    demo.rollback()
    assert refused.value.field == "payment"

    disputes.resolve(demo, first, "won", "Usage logs show the instance ran.", actor_label="admin@matrix.test")
    demo.commit()
    second = open_dispute(app, demo, payment, reason="duplicate", description="Charged twice.")
    demo.commit()
    assert [d.public_id for d in disputes_of(demo, payment)] == [first.public_id, second.public_id]


def test_a_stripe_dispute_in_progress_also_blocks_a_customer_one(app, demo, payment):
    make_dispute(demo, payment, "under_review")

    with pytest.raises(DomainError, match="already has an open dispute"):
        open_dispute(app, demo, payment)


def test_concurrent_requests_open_one_dispute(app, demo, payment):
    """Eight people press "Open dispute" at once: one dispute, the others are told it exists."""
    outcomes, start = [], threading.Barrier(8)

    def attempt():
        session = app.extensions["db"].session()
        try:
            mine = session.get(Payment, payment.id)
            start.wait()
            open_dispute(app, session, mine)
            session.commit()
            outcomes.append("opened")
        except DomainError as error:
            session.rollback()
            outcomes.append(error.message)
        finally:
            session.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("opened") == 1, outcomes
    assert all("already has an open dispute" in o for o in outcomes if o != "opened"), outcomes
    assert len(disputes_of(demo, payment)) == 1


def test_resolve_is_for_customer_disputes_and_needs_a_note(demo, payment):
    stripe_dispute = make_dispute(demo, payment, "needs_response")
    with pytest.raises(DomainError, match="card issuer decides") as refused:
        disputes.resolve(demo, stripe_dispute, "won", "We think so.", actor_label="admin@matrix.test")
    assert refused.value.field is None  # about the dispute, not an input

    mine = make_dispute(demo, make_payment(demo), "needs_response", opened_by="customer")
    for outcome, note, field in (("maybe", "x", "outcome"), ("lost", "  ", "note"), ("lost", "n" * 501, "note")):
        with pytest.raises(DomainError) as refused:
            disputes.resolve(demo, mine, outcome, note, actor_label="admin@matrix.test")
        assert refused.value.field == field

    disputes.resolve(demo, mine, "lost", "Instance never started; refund sent.", actor_label="admin@matrix.test")
    demo.commit()
    assert mine.status == "lost" and mine.closed_at is not None
    assert events_of(demo, "dispute.closed") == 1
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.resolved")).one()
    assert audit.details == {"from": "needs_response", "outcome": "lost",
                             "note": "Instance never started; refund sent."}
    with pytest.raises(DomainError, match="cannot be decided now"):
        disputes.resolve(demo, mine, "won", "Changed my mind.", actor_label="admin@matrix.test")
