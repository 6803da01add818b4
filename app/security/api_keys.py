"""Create, authenticate and revoke API keys.

A key is `mtx_sk_` + 40 random base62 characters (≈238 bits). Only its SHA-256
is stored; the secret is returned once, at creation.
"""
from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.errors import DomainError
from app.security.models import API_SCOPES, ApiKey
from app.webhooks.events import emit

KEY_PREFIX = "mtx_sk_"
_ALPHABET = string.ascii_letters + string.digits
LAST_USED_PRECISION = timedelta(seconds=60)


class ApiKeyRejected(Exception):
    """The presented key is unknown or revoked; `message` says which."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(scopes) -> str:
    """Validate scopes; returns them space-separated in canonical order."""
    chosen = set(scopes or ())
    unknown = chosen - set(API_SCOPES)
    if unknown:
        raise DomainError(f"Unknown scope {sorted(unknown)[0]!r}; use {', '.join(API_SCOPES)}.", field="scopes")
    if not chosen:
        raise DomainError("Choose at least one scope.", field="scopes")
    return " ".join(scope for scope in API_SCOPES if scope in chosen)


def create(session: Session, org_id: int, name: str, scopes, *, actor_label: str,
           created_by_id: int | None = None) -> CreatedKey:
    """Add a key for the organization and return it with its one-time secret."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("Give the key a name of 1 to 100 characters.", field="name")
    secret = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(40))
    key = ApiKey(org_id=org_id, name=name, scopes=parse_scopes(scopes),
                 display_prefix=secret[:len(KEY_PREFIX) + 4], secret_hash=_digest(secret),
                 created_by_id=created_by_id)
    session.add(key)
    session.flush()
    record(session, "api_key.created", actor_label=actor_label, actor_user_id=created_by_id,
           org_id=org_id, target=key.public_id, details={"name": name, "scopes": key.scopes})
    emit(session, org_id, "api_key.created", _event_data(key))
    return CreatedKey(key, secret)


def _event_data(key: ApiKey) -> dict:
    return {"id": key.public_id, "name": key.name, "scopes": sorted(key.scope_set), "prefix": key.display_prefix}


def authenticate(session: Session, secret: str, ip_address: str) -> ApiKey:
    """The live key for `secret`; raises ApiKeyRejected otherwise. Notes last use."""
    key = session.scalars(select(ApiKey).where(ApiKey.secret_hash == _digest(secret))).first()
    if key is None:
        raise ApiKeyRejected("Invalid API key.")
    if key.revoked_at is not None:
        raise ApiKeyRejected("This API key has been revoked.")
    now = clock.utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION or key.last_used_ip != ip_address:
        key.last_used_at = now
        key.last_used_ip = ip_address[:45]
    return key


def revoke(session: Session, key: ApiKey, *, actor_label: str, actor_user_id: int | None = None) -> None:
    """Revoke at once; idempotent."""
    if key.revoked_at is not None:
        return
    key.revoked_at = clock.utcnow()
    record(session, "api_key.revoked", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=key.org_id, target=key.public_id)
    emit(session, key.org_id, "api_key.revoked", _event_data(key))
