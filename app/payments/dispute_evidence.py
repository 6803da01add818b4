"""Dispute evidence: Stripe's text fields, uploaded documents, and the one submission.

Stripe takes one evidence submission per dispute, so evidence is a draft here
(saved, files kept in the database) until an admin submits it. Files are
checked by their first bytes, not by the name or the type the browser
declared: a program renamed `receipt.pdf` is refused. Stripe accepts PDF, PNG
and JPEG for dispute evidence.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.payments import gateway
from app.payments.disputes import AWAITING_RESPONSE, gateway_refusal, is_open, move
from app.payments.models import Dispute, DisputeEvidenceFile
from app.payments.notify import dispute_event


@dataclass(frozen=True)
class EvidenceField:
    name: str
    label: str
    max_length: int
    multiline: bool
    hint: str = ""


# The Stripe evidence text fields we collect (https://docs.stripe.com/api/disputes/update#update_dispute-evidence).
# Together they stay under Stripe's 150,000-character limit for all text evidence.
TEXT_FIELDS: dict[str, EvidenceField] = {f.name: f for f in (
    EvidenceField("product_description", "Product or service description", 20_000, True,
                  "What was bought: GPU hours, model access, the plan and its period."),
    EvidenceField("customer_name", "Customer name", 500, False),
    EvidenceField("customer_email_address", "Customer email address", 254, False),
    EvidenceField("billing_address", "Billing address", 1_000, True),
    EvidenceField("service_date", "Service date", 100, False,
                  "When the service was provided, e.g. 2025-03-01 to 2025-03-31."),
    EvidenceField("access_activity_log", "Access activity log", 20_000, True,
                  "Sign-ins, API calls and instance usage around the purchase: dates, addresses, what was used."),
    EvidenceField("refund_policy_disclosure", "Refund policy disclosure", 20_000, True,
                  "How and when the customer was shown the refund policy."),
    EvidenceField("cancellation_rebuttal", "Cancellation rebuttal", 20_000, True,
                  "Why the customer is not owed a refund for cancelling."),
    EvidenceField("uncategorized_text", "Other evidence", 20_000, True, "Anything else that supports the charge."),
)}
# Stripe evidence fields that take a file (one file each).
FILE_FIELDS: dict[str, str] = {
    "receipt": "Receipt", "customer_communication": "Customer communication",
    "service_documentation": "Service documentation", "refund_policy": "Refund policy",
    "cancellation_policy": "Cancellation policy", "uncategorized_file": "Other file",
}
# Content type by the file's first bytes.
_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
ACCEPTED_TYPES = "PDF, PNG or JPEG"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")


def human_size(size: int) -> str:
    """1536 → "1.5 KiB", 5242880 → "5 MiB" (for limits people read)."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def sniff(data: bytes) -> str | None:
    """The content type the bytes say they are (PDF, PNG, JPEG), else None."""
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)


def check_editable(dispute: Dispute) -> None:
    """Evidence changes only while a response is awaited."""
    if dispute.status in AWAITING_RESPONSE:
        return
    if not is_open(dispute):
        raise DomainError(f"This dispute is closed ({dispute.status}); its evidence cannot change.", field="status")
    raise DomainError("The evidence was submitted and is under review; it cannot change any more.", field="status")


def _clean_text(spec: EvidenceField, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(f"{spec.label} must be text.", field=spec.name)
    text = value.replace("\r\n", "\n").strip()
    if not spec.multiline:
        text = " ".join(text.split())
    if len(text) > spec.max_length:
        raise DomainError(f"{spec.label} is at most {spec.max_length} characters (it has {len(text)}).",
                          field=spec.name)
    if spec.name == "customer_email_address" and text and not _EMAIL.match(text):
        raise DomainError("Customer email address is not an email address.", field=spec.name)
    return text


def save_evidence(session: Session, dispute: Dispute, fields: dict, *, actor_label: str,
                  actor_user_id: int | None = None) -> list[str]:
    """Save text evidence as a draft: the given fields are set (empty clears one),
    others are kept. Returns the names that changed. The caller commits."""
    check_editable(dispute)
    evidence = dict(dispute.evidence or {})
    for name, value in fields.items():
        spec = TEXT_FIELDS.get(name)
        if spec is None:
            raise DomainError(f"{name} is not an evidence field.", field=name)
        text = _clean_text(spec, value)
        if text:
            evidence[name] = text
        else:
            evidence.pop(name, None)
    changed = sorted(name for name in TEXT_FIELDS if evidence.get(name) != (dispute.evidence or {}).get(name))
    if changed:
        dispute.evidence, dispute.updated_at = evidence, clock.utcnow()
        record(session, "dispute.evidence_saved", actor_label=actor_label, actor_user_id=actor_user_id,
               org_id=dispute.org_id, target=dispute.public_id, details={"fields": changed})
    return changed


def files_of(session: Session, dispute: Dispute) -> list[DisputeEvidenceFile]:
    """The dispute's files without their bytes (for lists)."""
    return list(session.scalars(select(DisputeEvidenceFile).options(defer(DisputeEvidenceFile.data))
                                .where(DisputeEvidenceFile.dispute_id == dispute.id).order_by(DisputeEvidenceFile.id)))


def _safe_filename(filename, evidence_field: str, content_type: str) -> str:
    name = _UNSAFE_NAME.sub("", os.path.basename(str(filename or "").replace("\\", "/"))).strip()
    return name[-200:] or f"{evidence_field}.{content_type.rsplit('/', 1)[1]}"


def add_file(session: Session, config, dispute: Dispute, evidence_field: str, filename, content_type, data: bytes, *,
             actor_label: str, actor_user_id: int | None = None) -> DisputeEvidenceFile:
    """Keep an uploaded document for `evidence_field` (one file per field). The caller commits.

    `content_type` is what the browser declared; the stored type is the one the
    bytes show, and bytes that are no PDF, PNG or JPEG are refused.
    """
    check_editable(dispute)
    label = FILE_FIELDS.get(evidence_field)
    if label is None:
        raise DomainError(f"Choose what the file shows: one of {', '.join(FILE_FIELDS.values())}.",
                          field="evidence_field")
    limit = config["DISPUTE_EVIDENCE_MAX_BYTES"]
    if not data:
        raise DomainError(f"The file for {label} is empty.", field="file")
    if len(data) > limit:
        raise DomainError(f"The file for {label} is larger than the {human_size(limit)} limit.", field="file")
    detected = sniff(data)
    if detected is None:
        raise DomainError(f"The file for {label} is not a {ACCEPTED_TYPES} file (judged by its content, "
                          f"not its name{f' or the declared type {content_type}' if content_type else ''}).",
                          field="file")
    taken = next((f for f in files_of(session, dispute) if f.evidence_field == evidence_field), None)
    if taken is not None:
        raise DomainError(f"{label} already has a file ({taken.filename}); remove it first.", field="evidence_field")
    row = DisputeEvidenceFile(dispute_id=dispute.id, evidence_field=evidence_field,
                              filename=_safe_filename(filename, evidence_field, detected), content_type=detected,
                              size=len(data), data=data, uploaded_by=actor_label)
    session.add(row)
    session.flush()
    dispute.updated_at = clock.utcnow()
    record(session, "dispute.file_added", actor_label=actor_label, actor_user_id=actor_user_id, org_id=dispute.org_id,
           target=dispute.public_id, details={"file": row.public_id, "field": evidence_field,
                                              "filename": row.filename, "size": row.size, "type": detected})
    return row


def remove_file(session: Session, dispute: Dispute, file_public_id: str, *, actor_label: str,
                actor_user_id: int | None = None) -> None:
    """Delete a draft file of this dispute. The caller commits."""
    check_editable(dispute)
    row = next((f for f in files_of(session, dispute) if f.public_id == file_public_id), None)
    if row is None:
        raise DomainError("That file is not part of this dispute's evidence.", field="file")
    session.delete(row)
    dispute.updated_at = clock.utcnow()
    record(session, "dispute.file_removed", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=dispute.org_id, target=dispute.public_id,
           details={"file": file_public_id, "field": row.evidence_field, "filename": row.filename})


def _upload_files(session: Session, stripe, dispute: Dispute) -> dict[str, str]:
    """Upload files Stripe does not have yet; evidence field → Stripe file id for all."""
    ids = {}
    for row in files_of(session, dispute):
        if not row.stripe_file_id:
            stream = io.BytesIO(row.data)  # the deferred bytes load here, one file at a time
            stream.name = row.filename
            uploaded = stripe.v1.files.create(params={"purpose": "dispute_evidence", "file": stream},
                                              options={"idempotency_key": f"dispute-file-{row.public_id}"})
            row.stripe_file_id = uploaded.id
        ids[row.evidence_field] = row.stripe_file_id
    return ids


def submit_evidence(session: Session, config, dispute: Dispute, *, actor_label: str,
                    actor_user_id: int | None = None) -> Dispute:
    """Send the evidence (text and files) to Stripe and submit it; commits.

    A dispute opened by a customer here has no Stripe side: the submission is
    recorded and it goes under review for an admin to decide. A Stripe refusal
    is audited and raised as a DomainError; the status does not change (files
    Stripe already took keep their ids, so a retry does not upload them twice).
    """
    check_editable(dispute)
    files = files_of(session, dispute)
    if not dispute.evidence and not files:
        raise DomainError("Add some evidence, text or a file, before submitting.", field="evidence")
    previous = dispute.status
    status = "warning_under_review" if previous.startswith("warning") else "under_review"
    if dispute.stripe_dispute_id:
        stripe = gateway.client(config)
        try:
            evidence = {**dispute.evidence, **_upload_files(session, stripe, dispute)}
            digest = hashlib.sha256(json.dumps(evidence, sort_keys=True).encode()).hexdigest()[:24]
            result = stripe.v1.disputes.update(
                dispute.stripe_dispute_id, params={"evidence": evidence, "submit": True},
                options={"idempotency_key": f"dispute-evidence-{dispute.public_id}-{digest}"})
        except gateway.stripe_errors as error:
            raise gateway_refusal(session, dispute, error, "submit_evidence", actor_label, actor_user_id,
                                  field="evidence") from None
        status = gateway.field(result, "status", status)
    now = clock.utcnow()
    if not move(session, dispute, status, evidence_submitted_at=now):
        dispute.evidence_submitted_at = now
        dispute_event(session, dispute, "dispute.updated")
    record(session, "dispute.evidence_submitted", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=dispute.org_id, target=dispute.public_id,
           details={"from": previous, "status": dispute.status, "fields": sorted(dispute.evidence),
                    "files": [f.public_id for f in files], "to_stripe": bool(dispute.stripe_dispute_id)})
    session.commit()
    return dispute
