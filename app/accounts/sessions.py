"""Server-side login sessions.

The browser's (signed) cookie holds a random token; the database holds its
hash, the creation and last-seen times, and whether it was revoked. A session is
valid only while its row says so: idle for 30 minutes or older than 12 hours
(configurable) and it is over, whatever the cookie claims.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import UserSession

# Writing last_seen_at on every request would make every page a write; a
# minute's precision is plenty for a 30-minute idle timeout.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: timedelta
    absolute_timeout: timedelta


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int, ip_address: str, user_agent: str) -> str:
    """Record a new session and return the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.utcnow()
    session.add(UserSession(user_id=user_id, token_hash=_hash(token), created_at=now,
                            last_seen_at=now, ip_address=ip_address[:45], user_agent=user_agent[:300]))
    return token


def resolve(session: Session, token: str | None, policy: SessionPolicy) -> UserSession | None:
    """The live session for `token`, touched; None if unknown, revoked or expired.

    Expired sessions are revoked on the spot so the reason is kept.
    """
    if not token:
        return None
    row = session.scalars(select(UserSession).where(UserSession.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = clock.utcnow()
    if now - row.created_at > policy.absolute_timeout:
        _revoke(row, "expired_absolute")
        return None
    if now - row.last_seen_at > policy.idle_timeout:
        _revoke(row, "expired_idle")
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
    return row


def _revoke(row: UserSession, reason: str) -> None:
    row.revoked_at = clock.utcnow()
    row.revoked_reason = reason


def revoke_token(session: Session, token: str | None, reason: str = "logout") -> None:
    """End the session behind `token` (logout)."""
    if not token:
        return
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.utcnow(), revoked_reason=reason)
    )


def revoke_all_for_user(session: Session, user_id: int, reason: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.utcnow(), revoked_reason=reason)
    )


def expire_and_purge(session: Session, policy: SessionPolicy,
                     keep_revoked_for: timedelta = timedelta(days=30)) -> tuple[int, int]:
    """Revoke sessions past their idle or absolute limit, delete long-revoked ones.

    Returns (expired, purged). Revoked rows are kept a while so users and admins
    can see recent sign-in history. Safe to run any number of times.
    """
    now = clock.utcnow()
    live = UserSession.revoked_at.is_(None)
    expired = 0
    # Same reasons as resolve(), so sign-in history reads the same whichever path ended it.
    for reason, past_limit in (
        ("expired_absolute", UserSession.created_at < now - policy.absolute_timeout),
        ("expired_idle", UserSession.last_seen_at < now - policy.idle_timeout),
    ):
        expired += session.execute(
            update(UserSession).where(live, past_limit).values(revoked_at=now, revoked_reason=reason)
        ).rowcount or 0
    purged = session.execute(
        delete(UserSession).where(UserSession.revoked_at < now - keep_revoked_for)
    ).rowcount or 0
    return expired, purged


def active_for_user(session: Session, user_id: int, policy: SessionPolicy) -> list[UserSession]:
    """The user's live sessions, most recently seen first (expired ones left out)."""
    now = clock.utcnow()
    return list(session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
               UserSession.created_at >= now - policy.absolute_timeout,
               UserSession.last_seen_at >= now - policy.idle_timeout)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


def revoke_one(session: Session, user_id: int, public_id: str, reason: str = "revoked_by_user") -> bool:
    """End one of the user's own sessions; False when there is no such live session."""
    return bool(session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.public_id == public_id,
               UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.utcnow(), revoked_reason=reason)
    ).rowcount)


def revoke_others(session: Session, user_id: int, keep_id: int, reason: str = "revoked_by_user") -> int:
    """End every session of the user except `keep_id` (the one asking); returns how many."""
    return session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.id != keep_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=clock.utcnow(), revoked_reason=reason)
    ).rowcount or 0
