"""Signing secrets and Standard Webhooks signatures.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is those bytes.
The signature header is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one
per valid secret, space-separated (both during a rotation's overlap).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from app import crypto

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signing_secrets(endpoint, now: datetime) -> list[str]:
    """The endpoint's current secret, plus the previous one while it is still valid."""
    current = [crypto.decrypt(endpoint.secret_ciphertext)]
    if endpoint.previous_secret_ciphertext and endpoint.previous_secret_expires_at \
            and endpoint.previous_secret_expires_at > now:
        current.append(crypto.decrypt(endpoint.previous_secret_ciphertext))
    return current


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (and our content type and agent)."""
    return {
        "content-type": "application/json",
        "user-agent": "MatrixPortal-Webhooks/1.0",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_),
    }
