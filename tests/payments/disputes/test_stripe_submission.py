"""Evidence goes to Stripe (localstripe, through the official SDK): files uploaded, text and file ids
submitted, the dispute under review on both sides; or the loss accepted, lost on both sides."""
from __future__ import annotations

import requests
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.errors import DomainError
from app.payments import dispute_evidence as evidence
from app.payments import disputes, gateway
from app.payments.disputes import apply_stripe_dispute
from app.payments.models import Dispute
from tests.payments.disputes.conftest import PDF, PNG, events_of

ADMIN = {"actor_label": "admin@matrix.test", "actor_user_id": None}


def open_stripe_dispute(app, session, stripe_server, payment, **extra) -> Dispute:
    """The card issuer disputes the charge at (local)Stripe; its object reaches us as charge.dispute.created would."""
    answer = requests.post(f"{stripe_server.url}/_config/disputes",
                        json={"charge": payment.stripe_charge_id, "reason": "fraudulent", **extra}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert apply_stripe_dispute(session, app.config, "charge.dispute.created", answer.json()).startswith("created ")
    session.commit()
    return session.scalars(select(Dispute).where(Dispute.stripe_dispute_id == answer.json()["id"])).one()


def at_stripe(app, dispute: Dispute):
    return gateway.client(app.config).v1.disputes.retrieve(dispute.stripe_dispute_id)


def test_submitting_sends_text_and_files_and_puts_it_under_review(app, demo, stripe_server, stripe_payment):
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment)
    assert (dispute.status, dispute.amount, dispute.reason) == ("needs_response", 10_000, "fraudulent")
    evidence.save_evidence(demo, dispute, {"product_description": "40 GPU hours on an A100",
                                           "customer_email_address": "alice@acme.test"}, **ADMIN)
    receipt = evidence.add_file(demo, app.config, dispute, "receipt", "receipt.pdf", "application/pdf", PDF, **ADMIN)
    chat = evidence.add_file(demo, app.config, dispute, "customer_communication", "chat.png", "image/png", PNG,
                             **ADMIN)
    demo.commit()

    evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    demo.expire_all()
    assert dispute.status == "under_review" and dispute.evidence_submitted_at is not None
    remote = at_stripe(app, dispute)
    assert remote.status == "under_review" and remote.evidence_details["submission_count"] == 1
    assert remote.evidence["product_description"] == "40 GPU hours on an A100"
    assert remote.evidence["customer_email_address"] == "alice@acme.test"
    files = {f.evidence_field: f for f in evidence.files_of(demo, dispute)}
    assert files["receipt"].stripe_file_id.startswith("file_")
    assert remote.evidence["receipt"] == files["receipt"].stripe_file_id
    assert remote.evidence["customer_communication"] == files["customer_communication"].stripe_file_id
    uploaded = gateway.client(app.config).v1.files.retrieve(files["receipt"].stripe_file_id)
    assert (uploaded.purpose, uploaded.filename, uploaded.size) == ("dispute_evidence", "receipt.pdf", len(PDF))
    assert {receipt.public_id, chat.public_id} == {f.public_id for f in files.values()}
    assert events_of(demo, "dispute.updated") == 1
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.evidence_submitted")).one()
    assert audit.details["to_stripe"] is True and audit.details["status"] == "under_review"

    # Stripe's own charge.dispute.updated (same state) changes nothing more.
    outcome = apply_stripe_dispute(demo, app.config, "charge.dispute.updated", remote.to_dict())
    assert outcome == f"ignored: {dispute.public_id} is already under_review"


def test_an_inquiry_goes_to_warning_under_review(app, demo, stripe_server, stripe_payment):
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment, warning="true")
    evidence.save_evidence(demo, dispute, {"uncategorized_text": "Usage logs attached."}, **ADMIN)
    demo.commit()

    evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    assert dispute.status == "warning_under_review" == at_stripe(app, dispute).status


def test_accepting_the_loss_closes_it_at_stripe(app, demo, stripe_server, stripe_payment):
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment)

    disputes.accept_loss(demo, app.config, dispute, **ADMIN)

    demo.expire_all()
    assert dispute.status == "lost" and dispute.closed_at is not None
    assert at_stripe(app, dispute).status == "lost"
    assert events_of(demo, "dispute.closed") == 1
    with pytest.raises(DomainError, match="closed already"):
        disputes.accept_loss(demo, app.config, dispute, **ADMIN)


def test_conceding_an_inquiry_closes_it_as_warning_closed(app, demo, stripe_server, stripe_payment):
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment, warning="true")

    disputes.accept_loss(demo, app.config, dispute, **ADMIN)

    assert dispute.status == "warning_closed" == at_stripe(app, dispute).status


def test_a_gateway_refusal_is_shown_audited_and_changes_nothing(app, demo, stripe_server, stripe_payment):
    """Stripe already closed it (we have not heard yet): the submission is refused, our dispute unchanged."""
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment)
    requests.post(f"{stripe_server.url}/_config/disputes/{dispute.stripe_dispute_id}/resolve", json={"status": "lost"},
               timeout=10).raise_for_status()
    evidence.save_evidence(demo, dispute, {"uncategorized_text": "Too late."}, **ADMIN)
    demo.commit()

    with pytest.raises(DomainError, match="Stripe refused: ") as refused:
        evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    assert refused.value.field == "evidence"
    demo.expire_all()
    assert dispute.status == "needs_response" and dispute.evidence_submitted_at is None
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.gateway_error")).one()
    assert audit.details["operation"] == "submit_evidence" and audit.target == dispute.public_id
    assert events_of(demo, "dispute.updated") == 0
    with pytest.raises(DomainError, match="Stripe refused: "):
        disputes.accept_loss(demo, app.config, dispute, **ADMIN)
    assert dispute.status == "needs_response"


def test_under_review_cannot_be_conceded(app, demo, stripe_server, stripe_payment):
    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment)
    evidence.save_evidence(demo, dispute, {"uncategorized_text": "Logs."}, **ADMIN)
    demo.commit()
    evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    with pytest.raises(DomainError, match="no longer be conceded"):
        disputes.accept_loss(demo, app.config, dispute, **ADMIN)


def test_stripe_unreachable_is_shown_and_changes_nothing(app, demo, stripe_server, stripe_payment):
    from tests.conftest import free_port

    dispute = open_stripe_dispute(app, demo, stripe_server, stripe_payment)
    evidence.save_evidence(demo, dispute, {"uncategorized_text": "Logs."}, **ADMIN)
    demo.commit()
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with pytest.raises(DomainError, match="could not be reached. Try again: a retry is safe."):
        evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    demo.expire_all()
    assert dispute.status == "needs_response" and dispute.evidence_submitted_at is None
    [failure] = demo.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.gateway_error")).all()
    assert failure.details["code"] == "gateway_unreachable"
