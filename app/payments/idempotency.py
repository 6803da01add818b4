"""Idempotency keys: a retried request gets the first answer, and money moves once.

`claim()` inserts the key's record and commits before any work starts; the
unique (org, key) constraint makes exactly one request the owner, even when two
retries arrive together. Others get the stored answer, or a conflict while the
first is still running. The same key with different parameters is an error
(Stripe's rule).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.payments.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class IdempotencyConflict(DomainError):
    status_code = 409
    error_type = "idempotency_error"


class IdempotencyMismatch(DomainError):
    error_type = "idempotency_error"


@dataclass(frozen=True)
class Replay:
    """The first request's stored answer."""

    status: int
    body: str


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def claim(session: Session, org_id: int, key: str, request_fingerprint: str) -> Replay | int:
    """Own `key` (returns the record id to `finish`), or get the first answer (a Replay).

    Commits the claim. Raises IdempotencyConflict while the first request runs and
    IdempotencyMismatch when the key was used with other parameters.
    """
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters.", field="Idempotency-Key")
    record = IdempotencyRecord(org_id=org_id, key=key, request_fingerprint=request_fingerprint)
    session.add(record)
    try:
        session.commit()
        return record.id
    except IntegrityError:
        session.rollback()
    existing = session.scalars(select(IdempotencyRecord).where(
        IdempotencyRecord.org_id == org_id, IdempotencyRecord.key == key)).one()
    if existing.request_fingerprint != request_fingerprint:
        raise IdempotencyMismatch("This Idempotency-Key was already used with different parameters.",
                                  field="Idempotency-Key")
    if existing.response_status is None:
        raise IdempotencyConflict("A request with this Idempotency-Key is still being processed; retry shortly.",
                                  field="Idempotency-Key")
    return Replay(existing.response_status, existing.response_body or "")


def finish(session: Session, record_id: int, status: int, body: str) -> None:
    """Store the answer for retries (commits). A 5xx answer is not kept: the key may be retried."""
    record = session.get(IdempotencyRecord, record_id)
    if status >= 500:
        session.delete(record)
    else:
        record.response_status, record.response_body = status, body
    session.commit()
