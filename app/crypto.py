"""Encryption at rest for secrets we must be able to read back (webhook signing
secrets). Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

Keys come from `DATA_ENCRYPTION_KEYS` (comma-separated Fernet keys, the first
encrypts, all decrypt, so keys can be rotated); without it one key is derived
from `SECRET_KEY` with HKDF, so a deployment has encryption at rest from day one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_fernet: MultiFernet | None = None
_hash_key: bytes | None = None


class DecryptionFailed(RuntimeError):
    """The ciphertext was not made with any configured key (or was altered)."""


def derive_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"matrix-portal",
                info=b"data-encryption-key v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def configure(secret_key: str, explicit_keys: str = "") -> None:
    keys = [k.strip().encode() for k in explicit_keys.split(",") if k.strip()]
    if not keys:
        keys = [derive_key(secret_key)]
    try:
        fernets = [Fernet(k) for k in keys]
    except ValueError as exc:
        raise ValueError("DATA_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64 bytes)") from exc
    global _fernet, _hash_key
    _fernet = MultiFernet(fernets)
    _hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"matrix-portal",
                     info=b"keyed-hash v1").derive(secret_key.encode())


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 hex of `value` under a key derived from SECRET_KEY.

    For short secrets we only ever compare (recovery codes): a stolen database
    alone does not let anyone brute-force them offline, and lookups stay exact.
    """
    if _hash_key is None:
        raise RuntimeError("app.crypto.configure() has not been called")
    return hmac.new(_hash_key, value.encode(), hashlib.sha256).hexdigest()


def encrypt(plaintext: str) -> str:
    if _fernet is None:
        raise RuntimeError("app.crypto.configure() has not been called")
    return _fernet.encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if _fernet is None:
        raise RuntimeError("app.crypto.configure() has not been called")
    try:
        return _fernet.decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionFailed("A stored secret could not be decrypted with the configured keys.") from None
