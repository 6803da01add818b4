"""Invoice numbers: sequential per issuer, gap-free, never reused.

The number is taken by `UPDATE invoice_sequences SET next_number = next_number
+ 1 … RETURNING` inside the transaction that finalizes the invoice. The row
lock makes concurrent finalizers wait for each other; a rollback gives the
number back with everything else, so no number is skipped, and a committed
number is never handed out again (a voided invoice keeps its number).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.billing.models import InvoiceSequence

ISSUER = "matrix"  # Matrix Compute, Inc.: the one issuer today; the table holds one row per issuer
ISSUERS = {"matrix": "MTX"}
_SEQUENCES = InvoiceSequence.__table__


def _ensure_sequence(session: Session, issuer: str) -> None:
    """Create the issuer's sequence at 1 if it is missing (a fresh or wiped database)."""
    if session.scalar(select(_SEQUENCES.c.issuer).where(_SEQUENCES.c.issuer == issuer)) is not None:
        return
    try:
        with session.begin_nested():
            session.execute(_SEQUENCES.insert().values(issuer=issuer, prefix=ISSUERS[issuer], next_number=1))
    except IntegrityError:  # a concurrent finalizer created it first: use theirs
        pass


def take_number(session: Session, issuer: str, at: datetime) -> str:
    """The issuer's next invoice number, e.g. MTX-2026-000042 (the year is the year of issue)."""
    _ensure_sequence(session, issuer)
    row = session.execute(
        update(_SEQUENCES).where(_SEQUENCES.c.issuer == issuer)
        .values(next_number=_SEQUENCES.c.next_number + 1)
        .returning(_SEQUENCES.c.next_number, _SEQUENCES.c.prefix)).one()
    return f"{row.prefix}-{at.year}-{row.next_number - 1:06d}"
