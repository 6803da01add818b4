"""Two-factor authentication: enrol, check codes, disable, recovery codes.

Every check goes through `verify()`, which enforces the three rules of the
issue in the database, so they hold across processes:
  - a TOTP code is accepted at most once: the step it belongs to must be newer
    than `last_used_step` (a guarded UPDATE claims it);
  - 5 wrong codes lock the 2FA step for 15 minutes for that account;
  - replays, lockouts and recovery-code use are audited.
On a refusal the failure count and the audit rows are already in the session:
the caller commits them before showing the error.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock, crypto
from app.accounts.models import User
from app.audit.service import record
from app.errors import DomainError
from app.security import recovery_codes, totp
from app.security.models import TotpCredential

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
# A setup page left open longer than this gets a fresh secret.
PENDING_SETUP_LIFETIME = timedelta(minutes=30)


class CodeRefused(DomainError):
    """A wrong, malformed or replayed code (`field` says which input)."""

    status_code = 401


class TwoFactorLocked(DomainError):
    """Too many wrong codes: the 2FA step is locked until `locked_until`."""

    status_code = 429

    def __init__(self, locked_until: datetime):
        super().__init__("Too many wrong codes. Two-factor verification for this account is locked until "
                         f"{locked_until:%H:%M} UTC.", field="code")
        self.locked_until = locked_until


@dataclass(frozen=True)
class PendingSetup:
    secret: str
    uri: str
    qr_svg: str

    @property
    def grouped_secret(self) -> str:
        return totp.grouped(self.secret)


def credential(session: Session, user_id: int) -> TotpCredential | None:
    return session.scalars(select(TotpCredential).where(TotpCredential.user_id == user_id)).first()


def is_enabled(session: Session, user_id: int) -> bool:
    found = credential(session, user_id)
    return bool(found and found.enabled_at)


def is_required(user: User) -> bool:
    """Admins must use 2FA; so must members of an organization whose owner requires it."""
    return user.is_admin or bool(user.organization and user.organization.require_two_factor)


def _audit(session: Session, user: User, action: str, **details) -> None:
    record(session, action, actor_label=user.email, actor_user_id=user.id, org_id=user.org_id,
           target=user.public_id, details=details or None)


# --- enrolment ------------------------------------------------------------

def start_setup(session: Session, user: User) -> PendingSetup:
    """The secret to scan. Reused while the setup is recent, so a reload shows the same QR."""
    found = credential(session, user.id)
    if found and found.enabled_at:
        raise DomainError("Two-factor authentication is already on.")
    now = clock.utcnow()
    if found is None or now - found.created_at > PENDING_SETUP_LIFETIME:
        if found is not None:
            session.delete(found)
            session.flush()
        found = TotpCredential(user_id=user.id, secret_ciphertext=crypto.encrypt(totp.new_secret()), created_at=now)
        session.add(found)
        session.flush()
    secret = crypto.decrypt(found.secret_ciphertext)
    uri = totp.provisioning_uri(secret, user.email)
    return PendingSetup(secret, uri, totp.qr_svg(uri))


def confirm_setup(session: Session, user: User, raw_code: str) -> list[str]:
    """Turn 2FA on once the user proves their app works; returns the recovery codes."""
    found = credential(session, user.id)
    if found is None or found.enabled_at:
        raise DomainError("Start the setup again: there is no setup waiting for a code.")
    code = totp.read_code(raw_code)
    step = totp.matching_step(crypto.decrypt(found.secret_ciphertext), code, clock.utcnow())
    if step is None:
        raise CodeRefused("That code is not correct. Check that your device's clock is right and "
                          "enter the code showing now.", field="code")
    found.enabled_at = clock.utcnow()
    found.last_used_step = step  # the code that enabled 2FA cannot also sign in
    found.failed_attempts, found.locked_until = 0, None
    codes = recovery_codes.replace(session, user.id)
    _audit(session, user, "two_factor.enabled")
    return codes


# --- checking codes -------------------------------------------------------

def _enabled_credential(session: Session, user: User) -> TotpCredential:
    found = credential(session, user.id)
    if found is None or found.enabled_at is None:
        raise DomainError("Two-factor authentication is not on for this account.")
    return found


def _note_failure(session: Session, user: User, found: TotpCredential, reason: str) -> None:
    """Count a wrong code; the fifth locks the 2FA step (audited once)."""
    session.execute(update(TotpCredential).where(TotpCredential.id == found.id)
                    .values(failed_attempts=TotpCredential.failed_attempts + 1)
                    .execution_options(synchronize_session=False))
    now = clock.utcnow()
    locked = session.execute(
        update(TotpCredential)
        .where(TotpCredential.id == found.id, TotpCredential.failed_attempts >= MAX_FAILED_ATTEMPTS)
        .values(failed_attempts=0, locked_until=now + LOCKOUT)
        .execution_options(synchronize_session=False)
    ).rowcount
    _audit(session, user, "two_factor.failed", reason=reason)
    if locked:
        _audit(session, user, "two_factor.locked", minutes=int(LOCKOUT.total_seconds() // 60))
    session.refresh(found)


def _check_totp(session: Session, user: User, found: TotpCredential, raw_code: str) -> None:
    code = totp.read_code(raw_code)
    step = totp.matching_step(crypto.decrypt(found.secret_ciphertext), code, clock.utcnow())
    if step is None:
        _note_failure(session, user, found, "wrong_code")
        raise CodeRefused("That code is not correct.", field="code")
    claimed = session.execute(
        update(TotpCredential)
        .where(TotpCredential.id == found.id,
               (TotpCredential.last_used_step.is_(None)) | (TotpCredential.last_used_step < step))
        .values(last_used_step=step, failed_attempts=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        _audit(session, user, "two_factor.replay_refused")
        _note_failure(session, user, found, "replayed_code")
        raise CodeRefused("That code has already been used. Wait for your app to show a new one.", field="code")
    session.refresh(found)


def _check_recovery_code(session: Session, user: User, found: TotpCredential, raw_code: str) -> None:
    if not (raw_code or "").strip():
        raise CodeRefused("Enter one of your recovery codes.", field="recovery_code")
    outcome = recovery_codes.consume(session, user.id, raw_code)
    if outcome != "used":
        _note_failure(session, user, found, f"recovery_code_{outcome}")
        message = ("That recovery code has already been used." if outcome == "already_used"
                   else "That recovery code is not correct.")
        raise CodeRefused(message, field="recovery_code")
    found.failed_attempts = 0
    _audit(session, user, "two_factor.recovery_code_used", remaining=recovery_codes.remaining(session, user.id))


def verify(session: Session, user: User, *, code: str | None = None, recovery_code: str | None = None) -> str:
    """Check a TOTP code or, when `code` is None, a recovery code.

    Returns "totp" or "recovery_code". Raises TwoFactorLocked or CodeRefused
    (after recording the failure in `session`; commit it).
    """
    found = _enabled_credential(session, user)
    now = clock.utcnow()
    if found.locked_until and found.locked_until > now:
        raise TwoFactorLocked(found.locked_until)
    if code is not None:
        _check_totp(session, user, found, code)
        return "totp"
    _check_recovery_code(session, user, found, recovery_code or "")
    return "recovery_code"


# --- changing an enrolment --------------------------------------------------

def regenerate_recovery_codes(session: Session, user: User, *, code: str | None = None,
                              recovery_code: str | None = None) -> list[str]:
    """A new set of 10 (the old ones stop working); needs a current code."""
    verify(session, user, code=code, recovery_code=recovery_code)
    codes = recovery_codes.replace(session, user.id)
    _audit(session, user, "two_factor.recovery_codes_regenerated")
    return codes


def disable(session: Session, user: User, *, code: str | None = None, recovery_code: str | None = None) -> None:
    """Turn 2FA off; needs a current code, and is refused where 2FA is required."""
    if is_required(user):
        who = "administrators" if user.is_admin else "members of your organization"
        raise DomainError(f"Two-factor authentication is required for {who}; it cannot be turned off.")
    found = _enabled_credential(session, user)
    verify(session, user, code=code, recovery_code=recovery_code)
    session.delete(found)
    recovery_codes.remove_all(session, user.id)
    _audit(session, user, "two_factor.disabled")
