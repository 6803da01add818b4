"""Tax exemption certificates: a customer submits one, an admin approves or rejects it.

An exemption applies from its approval until the end of its `expires_on`
day (UTC). A decision is taken with one guarded UPDATE (… WHERE status =
'pending'), so two admins deciding at the same moment cannot both win, on
PostgreSQL and SQLite alike.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.tax.models import TaxExemption

MAX_REFERENCE = 100
MAX_NOTE = 300


def _reference(text) -> str:
    reference = text.strip() if isinstance(text, str) else ""
    if not reference:
        raise DomainError("Enter the certificate's reference or number.", field="certificate_reference")
    if len(reference) > MAX_REFERENCE:
        raise DomainError(f"The reference is at most {MAX_REFERENCE} characters.", field="certificate_reference")
    return reference


def _future_date(value) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise DomainError("Enter the date the certificate expires, e.g. 2027-12-31.", field="expires_on")
    if value <= clock.utcnow().date():
        raise DomainError("The certificate must still be valid after today: its expiry date is in the future.",
                          field="expires_on")
    return value


def submit(session: Session, org, *, certificate_reference: str, expires_on: date, actor_label: str,
           actor_user_id: int | None = None) -> TaxExemption:
    """Record a customer's certificate as pending (audited); it changes no tax until approved."""
    exemption = TaxExemption(org_id=org.id, certificate_reference=_reference(certificate_reference),
                             expires_on=_future_date(expires_on), status="pending", submitted_by=actor_label)
    session.add(exemption)
    session.flush()
    record(session, "tax_exemption.submitted", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org.id,
           target=exemption.public_id, details={"certificate_reference": exemption.certificate_reference,
                                                "expires_on": exemption.expires_on.isoformat()})
    return exemption


def _decide(session: Session, exemption: TaxExemption, status: str, note: str, actor_label: str,
            actor_user_id: int | None) -> TaxExemption:
    """Move a pending exemption to `status`, once; the loser of a race is told who decided."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(f"The note is at most {MAX_NOTE} characters.", field="note")
    table = TaxExemption.__table__
    taken = session.execute(
        update(table).where(table.c.id == exemption.id, table.c.status == "pending")
        .values(status=status, decided_by=actor_label, decided_at=clock.utcnow(), decision_note=note or None)
    ).rowcount
    session.refresh(exemption)
    if taken != 1:
        raise DomainError(f"This exemption was already {exemption.status} by {exemption.decided_by}.")
    record(session, f"tax_exemption.{status}", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=exemption.org_id, target=exemption.public_id,
           details={"certificate_reference": exemption.certificate_reference, "note": note})
    return exemption


def approve(session: Session, exemption: TaxExemption, *, actor_label: str, note: str = "",
            actor_user_id: int | None = None) -> TaxExemption:
    """An admin accepts the certificate: no tax from now until it expires."""
    if exemption.expires_on < clock.utcnow().date():
        raise DomainError(f"This certificate expired on {exemption.expires_on.isoformat()}; reject it and ask for "
                          "a current one.")
    return _decide(session, exemption, "approved", note, actor_label, actor_user_id)


def reject(session: Session, exemption: TaxExemption, *, actor_label: str, note: str,
           actor_user_id: int | None = None) -> TaxExemption:
    """An admin refuses the certificate; the note (required) tells the customer why."""
    if not (note or "").strip():
        raise DomainError("Say why the exemption is rejected; the customer sees this note.", field="note")
    return _decide(session, exemption, "rejected", note, actor_label, actor_user_id)


def active_exemption(session: Session, org_id: int, on: date) -> TaxExemption | None:
    """The organization's approved exemption still valid on `on` (the one lasting longest), or None."""
    return session.scalars(select(TaxExemption).where(
        TaxExemption.org_id == org_id, TaxExemption.status == "approved", TaxExemption.expires_on >= on)
        .order_by(TaxExemption.expires_on.desc(), TaxExemption.id.desc()).limit(1)).first()


def status_of(exemption: TaxExemption, today: date) -> str:
    """pending, approved, rejected, or expired (its last day has passed, whether decided or not)."""
    if exemption.status != "rejected" and exemption.expires_on < today:
        return "expired"
    return exemption.status
