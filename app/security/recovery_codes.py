"""Single-use recovery codes: 10 per set, shown once, stored as keyed hashes.

A code is `xxxxx-xxxxx` from a 32-letter alphabet without look-alikes (50 bits).
Using one is a guarded UPDATE (`used_at IS NULL`), so two requests racing with
the same code cannot both succeed.
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app import clock, crypto
from app.security.models import RecoveryCode

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0, 1
_SEPARATORS = re.compile(r"[\s-]+")


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _digest(code: str) -> str:
    return crypto.keyed_hash("recovery:" + _SEPARATORS.sub("", code).lower())


def replace(session: Session, user_id: int) -> list[str]:
    """Issue a new set, invalidating every earlier code; returns the codes (shown once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_code() for _ in range(COUNT)]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(code)) for code in codes)
    session.flush()
    return codes


def consume(session: Session, user_id: int, code: str) -> str:
    """Use `code` once. Returns "used", "already_used" or "unknown"."""
    digest = _digest(code)
    claimed = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == digest, RecoveryCode.used_at.is_(None))
        .values(used_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed == 1:
        return "used"
    exists = session.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id,
                                                          RecoveryCode.code_hash == digest))
    return "already_used" if exists else "unknown"


def remaining(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


def remove_all(session: Session, user_id: int) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
