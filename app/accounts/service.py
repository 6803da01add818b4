"""Accounts: authenticate, create users, change passwords and email addresses. No Flask in here."""
from __future__ import annotations

import email_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.accounts import passwords, sessions
from app.accounts.models import Organization, User
from app.audit.service import record
from app.errors import DomainError


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalise_email(email))).first()


def authenticate(session: Session, email: str, password: str, ip_address: str) -> User | None:
    """The user whose credentials these are, or None. Audits a failure; the
    caller calls `complete_login` once every factor has passed.

    An unknown email and a wrong password take the same time and produce the
    same result, so the login page cannot be used to find accounts.
    """
    user = find_user_by_email(session, email)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not (user and ok):
        record(session, "login.failed", actor_label=normalise_email(email)[:254],
               actor_user_id=user.id if user else None, org_id=user.org_id if user else None,
               ip_address=ip_address)
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def complete_login(session: Session, user: User, second_factor: str | None = None) -> None:
    """Note a finished sign-in: after the password, and the 2FA code when enrolled."""
    user.last_login_at = clock.utcnow()
    record(session, "login.succeeded", actor_label=user.email, actor_user_id=user.id, org_id=user.org_id,
           details={"second_factor": second_factor} if second_factor else None)


def create_user(session: Session, email: str, password: str, *, name: str = "",
                organization: Organization | None = None, role: str | None = None,
                is_admin: bool = False) -> User:
    """Add a user; refuses a duplicate email or a weak password (field named)."""
    email = normalise_email(email)
    if "@" not in email:
        raise DomainError("Enter a valid email address.", field="email")
    if find_user_by_email(session, email):
        raise DomainError("A user with this email already exists.", field="email")
    problem = passwords.password_problem(password)
    if problem:
        raise DomainError(problem, field="password")
    user = User(email=email, name=name, password_hash=passwords.hash_password(password),
                organization=organization, role=role, is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user: User, current_password: str, new_password: str,
                    ip_address: str) -> None:
    """Set a new password and end every session of the user on the server.

    The caller starts a fresh session for the browser that made the change.
    """
    if not passwords.verify_password(user.password_hash, current_password):
        raise DomainError("Your current password is not correct.", field="current_password")
    problem = passwords.password_problem(new_password)
    if problem:
        raise DomainError(problem, field="new_password")
    if passwords.verify_password(user.password_hash, new_password):
        raise DomainError("Choose a password different from the current one.", field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = clock.utcnow()
    sessions.revoke_all_for_user(session, user.id, reason="password_changed")
    record(session, "password.changed", actor_label=user.email, actor_user_id=user.id,
           org_id=user.org_id, ip_address=ip_address)



def _valid_email(email: str) -> str:
    """The address normalised (lower-cased), or a DomainError saying what is wrong with it.

    Deliverability is not checked (no DNS from a web request). `.test`
    addresses are allowed because the demo and the tests use them; other
    special-use names (`.local`, `.invalid`, `localhost`) are refused.
    """
    email = normalise_email(email)
    if not email:
        raise DomainError("Enter the new email address.", field="email")
    try:
        checked = email_validator.validate_email(email, check_deliverability=False, test_environment=True)
    except email_validator.EmailNotValidError as error:
        raise DomainError(f"Enter a valid email address. {error}", field="email") from None
    email = normalise_email(checked.normalized)
    if len(email) > 254:
        raise DomainError("Email addresses are at most 254 characters long.", field="email")
    return email


def change_email(session: Session, user: User, new_email: str, *, actor_label: str,
                 actor_user_id: int | None) -> str:
    """Give `user` a new sign-in address; refuses an invalid, unchanged or taken one (field `email`).

    Returns the normalised address. Audited as `email.changed` with both
    addresses, so a hijacked account's owner can see where it went.
    """
    email = _valid_email(new_email)
    if email == user.email:
        raise DomainError("That is already your email address.", field="email")
    if find_user_by_email(session, email):
        raise DomainError("Another account already uses this email address.", field="email")
    old_email = user.email
    user.email = email
    try:
        session.flush()
    except IntegrityError:  # taken by a concurrent request since the check: the caller rolls back
        raise DomainError("Another account already uses this email address.", field="email") from None
    record(session, "email.changed", actor_label=actor_label, actor_user_id=actor_user_id, org_id=user.org_id,
           target=user.public_id, details={"old_email": old_email, "new_email": email})
    return email
