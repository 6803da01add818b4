"""Sudo mode: re-authenticate before sensitive actions, valid for 15 minutes.

It lives on the server-side session row, so it ends with the session and
cannot be carried to another browser. Signing in grants it (the user has just
proved who they are), as GitHub does.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app import clock
from app.accounts import passwords
from app.accounts.models import User, UserSession
from app.audit.service import record
from app.errors import DomainError
from app.security import two_factor

DURATION = timedelta(minutes=15)


class PasswordRefused(DomainError):
    status_code = 401


def is_active(user_session: UserSession | None) -> bool:
    return bool(user_session and user_session.sudo_until and user_session.sudo_until > clock.utcnow())


def expires_at(user_session: UserSession) -> datetime | None:
    return user_session.sudo_until if is_active(user_session) else None


def grant(user_session: UserSession) -> None:
    user_session.sudo_until = clock.utcnow() + DURATION


def enter(session: Session, user: User, user_session: UserSession, password: str, *,
          code: str | None = None, recovery_code: str | None = None) -> None:
    """Check the password (and a 2FA code when 2FA is on), then grant sudo.

    A refusal is audited; commit the session before showing it.
    """
    if not passwords.verify_password(user.password_hash, password or ""):
        record(session, "sudo.failed", actor_label=user.email, actor_user_id=user.id, org_id=user.org_id,
               details={"reason": "wrong_password"})
        raise PasswordRefused("That password is not correct.", field="password")
    if two_factor.is_enabled(session, user.id):
        two_factor.verify(session, user, code=code, recovery_code=recovery_code)
    grant(user_session)
    record(session, "sudo.entered", actor_label=user.email, actor_user_id=user.id, org_id=user.org_id)
