"""Evidence drafts: Stripe's text fields with their limits, and files checked by their content."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.errors import DomainError
from app.payments import dispute_evidence as evidence
from app.payments.models import DisputeEvidenceFile
from tests.payments.disputes.conftest import EXE, PDF, PNG, make_dispute

ADMIN = {"actor_label": "admin@matrix.test"}


def actions(session, dispute) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(AuditEvent.target == dispute.public_id)
                                .order_by(AuditEvent.id)))


def test_a_draft_keeps_fields_not_given_and_clears_emptied_ones(demo, payment):
    dispute = make_dispute(demo, payment)
    evidence.save_evidence(demo, dispute, {"product_description": "  40 GPU hours on an A100  ",
                                           "customer_name": "Alice   Example", "uncategorized_text": "Logs attached."},
                           **ADMIN)
    demo.commit()

    changed = evidence.save_evidence(demo, dispute, {"customer_email_address": "alice@acme.test",
                                                     "uncategorized_text": ""}, **ADMIN)
    demo.commit()

    assert changed == ["customer_email_address", "uncategorized_text"]
    assert dispute.evidence == {"product_description": "40 GPU hours on an A100", "customer_name": "Alice Example",
                                "customer_email_address": "alice@acme.test"}
    assert evidence.save_evidence(demo, dispute, {"customer_name": "Alice Example"}, **ADMIN) == []  # no change
    assert actions(demo, dispute) == ["dispute.evidence_saved", "dispute.evidence_saved"]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"customer_name": "n" * 501}, "customer_name", "Customer name is at most 500 characters (it has 501)"),
    ({"product_description": "p" * 20_001}, "product_description", "at most 20000 characters"),
    ({"customer_email_address": "not an address"}, "customer_email_address", "is not an email address"),
    ({"shipping_carrier": "UPS"}, "shipping_carrier", "shipping_carrier is not an evidence field"),
    ({"customer_name": 42}, "customer_name", "Customer name must be text"),
])
def test_bad_text_names_the_field_and_saves_nothing(demo, payment, fields, field, message):
    dispute = make_dispute(demo, payment)
    with pytest.raises(DomainError) as refused:
        evidence.save_evidence(demo, dispute, fields, **ADMIN)

    assert refused.value.field == field and message in refused.value.message
    assert dispute.evidence == {}


def test_evidence_is_frozen_once_submitted_or_closed(app, demo, payment):
    for status in ("under_review", "warning_under_review", "won", "lost", "warning_closed"):
        dispute = make_dispute(demo, payment, status)
        for change in (lambda: evidence.save_evidence(demo, dispute, {"customer_name": "A"}, **ADMIN),
                       lambda: evidence.add_file(demo, app.config, dispute, "receipt", "r.pdf", "application/pdf",
                                                 PDF, **ADMIN),
                       lambda: evidence.submit_evidence(demo, app.config, dispute, **ADMIN)):
            with pytest.raises(DomainError, match="under review|closed") as refused:
                change()
            assert refused.value.field == "status", status
        assert dispute.evidence == {} and dispute.status == status


def test_files_are_kept_with_the_type_their_content_shows(app, demo, payment):
    dispute = make_dispute(demo, payment, "warning_needs_response")

    pdf = evidence.add_file(demo, app.config, dispute, "receipt", "../../etc/receipt.pdf", "application/pdf", PDF,
                            **ADMIN)
    png = evidence.add_file(demo, app.config, dispute, "customer_communication", "chat.png",
                            "application/octet-stream", PNG, **ADMIN)  # the browser did not know: the bytes do
    demo.commit()

    assert (pdf.filename, pdf.content_type, pdf.size, pdf.data) == ("receipt.pdf", "application/pdf", len(PDF), PDF)
    assert (png.content_type, png.evidence_field) == ("image/png", "customer_communication")
    assert [f.public_id for f in evidence.files_of(demo, dispute)] == [pdf.public_id, png.public_id]
    audit = demo.scalars(select(AuditEvent).where(AuditEvent.action == "dispute.file_added")).first()
    assert audit.details == {"file": pdf.public_id, "field": "receipt", "filename": "receipt.pdf", "size": len(PDF),
                             "type": "application/pdf"}


@pytest.mark.parametrize(("field", "filename", "declared", "data", "error_field", "message"), [
    ("receipt", "setup.pdf", "application/pdf", EXE, "file",
     "The file for Receipt is not a PDF, PNG or JPEG file (judged by its content, not its name or the declared type "
     "application/pdf)."),
    ("receipt", "notes.txt", "text/plain", b"just some text", "file", "is not a PDF, PNG or JPEG file"),
    ("receipt", "empty.pdf", "application/pdf", b"", "file", "The file for Receipt is empty."),
    ("refund_policy", "big.pdf", "application/pdf", PDF + b"x" * 1024, "file",
     "The file for Refund policy is larger than the 1 KiB limit."),
    ("shipping_documentation", "r.pdf", "application/pdf", PDF, "evidence_field", "Choose what the file shows"),
])
def test_bad_uploads_are_refused_with_a_message(app, demo, payment, field, filename, declared, data, error_field,
                                                message):
    app.config["DISPUTE_EVIDENCE_MAX_BYTES"] = 1024
    dispute = make_dispute(demo, payment)

    with pytest.raises(DomainError) as refused:
        evidence.add_file(demo, app.config, dispute, field, filename, declared, data, **ADMIN)
    demo.rollback()

    assert refused.value.field == error_field and message in refused.value.message
    assert demo.scalars(select(DisputeEvidenceFile)).first() is None


def test_a_file_at_exactly_the_limit_is_accepted(app, demo, payment):
    app.config["DISPUTE_EVIDENCE_MAX_BYTES"] = 1024
    dispute = make_dispute(demo, payment)

    row = evidence.add_file(demo, app.config, dispute, "receipt", "r.pdf", "application/pdf",
                            PDF + b" " * (1024 - len(PDF)), **ADMIN)

    assert row.size == 1024


def test_one_file_per_field_until_it_is_removed(app, demo, payment):
    dispute = make_dispute(demo, payment)
    first = evidence.add_file(demo, app.config, dispute, "receipt", "a.pdf", "application/pdf", PDF, **ADMIN)
    demo.commit()

    with pytest.raises(DomainError, match=r"Receipt already has a file \(a.pdf\); remove it first"):
        evidence.add_file(demo, app.config, dispute, "receipt", "b.pdf", "application/pdf", PDF, **ADMIN)
    demo.rollback()

    evidence.remove_file(demo, dispute, first.public_id, **ADMIN)
    evidence.add_file(demo, app.config, dispute, "receipt", "b.pdf", "application/pdf", PDF, **ADMIN)
    demo.commit()
    assert [f.filename for f in evidence.files_of(demo, dispute)] == ["b.pdf"]
    assert actions(demo, dispute) == ["dispute.file_added", "dispute.file_removed", "dispute.file_added"]


def test_removing_another_disputes_file_is_refused(app, demo, payment):
    mine, other = make_dispute(demo, payment), make_dispute(demo, payment)
    theirs = evidence.add_file(demo, app.config, other, "receipt", "a.pdf", "application/pdf", PDF, **ADMIN)
    demo.commit()

    with pytest.raises(DomainError, match="not part of this dispute's evidence"):
        evidence.remove_file(demo, mine, theirs.public_id, **ADMIN)


def test_nothing_to_submit_is_refused(app, demo, payment):
    dispute = make_dispute(demo, payment)

    with pytest.raises(DomainError, match="Add some evidence") as refused:
        evidence.submit_evidence(demo, app.config, dispute, **ADMIN)
    assert refused.value.field == "evidence" and dispute.status == "needs_response"


def test_a_customer_dispute_is_submitted_here_and_goes_under_review(app, demo, payment):
    dispute = make_dispute(demo, payment, opened_by="customer")
    evidence.save_evidence(demo, dispute, {"access_activity_log": "Instance ran 40 h."}, **ADMIN)
    demo.commit()

    evidence.submit_evidence(demo, app.config, dispute, **ADMIN)

    assert dispute.status == "under_review" and dispute.evidence_submitted_at is not None
    assert actions(demo, dispute)[-1] == "dispute.evidence_submitted"
    with pytest.raises(DomainError, match="under review"):
        evidence.submit_evidence(demo, app.config, dispute, **ADMIN)


def test_the_fields_together_cannot_exceed_stripes_text_limit():
    """Stripe refuses more than 150,000 characters of text evidence in all; our per-field limits keep under it."""
    assert sum(spec.max_length for spec in evidence.TEXT_FIELDS.values()) <= 150_000
