"""RFC 6238 codes (pyotp): reading what the user typed, finding its time step,
and the setup QR code (segno, SVG made in-process; the secret never leaves us).

Codes are checked one step either side of now at most: enough for a phone
whose clock is a little off, no wider, so a code is useful for ~90 seconds.
"""
from __future__ import annotations

import hmac
import io
import re
import unicodedata
from datetime import datetime

import pyotp
import segno

from app.errors import DomainError

ISSUER = "Matrix Portal"
DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps either side of the current one

_SEPARATORS = re.compile(r"[\s-]+")


def new_secret() -> str:
    """160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def read_code(raw: str | None, field: str = "code") -> str:
    """The six digits the user typed. Spaces and dashes are ignored ("123 456");
    anything else is refused with a message saying what a code looks like."""
    code = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))  # full-width digits, e.g. from an IME
    if not code:
        raise DomainError("Enter the 6-digit code from your authenticator app.", field=field)
    if not (code.isascii() and code.isdigit()):  # other scripts' digits: refused, never a 500
        raise DomainError("Codes are made of digits only: enter the 6 digits your authenticator app shows "
                          "(recovery codes go in the recovery code field).", field=field)
    if len(code) != DIGITS:
        raise DomainError(f"Codes have {DIGITS} digits; this one has {len(code)}.", field=field)
    return code


def current_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (now ±1) whose code is `code`, or None. Newest first, so a
    code valid for two steps (it cannot be, but be safe) claims the later one."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = current_step(now)
    for candidate in range(step + WINDOW, step - WINDOW - 1, -1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline <svg> of the otpauth:// URI (no XML declaration, scales with CSS)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False,
                                    svgns=True, title="Two-factor setup QR code", nl=False)
    return buffer.getvalue().decode()


def grouped(secret: str) -> str:
    """The setup key in groups of four, easier to type by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
