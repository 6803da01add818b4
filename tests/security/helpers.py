"""Shared arrangement for the security tests: codes from an independent TOTP
implementation (the OS's `oathtool`), enrolment on the app's clock, rows.

The portal computes codes with pyotp; the tests compute them with oathtool
(liboath, C), so a bug in how we use pyotp cannot hide behind the same bug in
the test.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from tests.support import org, user  # noqa: F401 (org, user: re-exported for the security tests)

# A moment in the middle of a 30-second step, so ±1 step never crosses a boundary by accident.
T0 = datetime(2026, 11, 22, 10, 0, 15, tzinfo=timezone.utc)
STEP_SECONDS = 30

_SECRET_ATTR = re.compile(r'data-testid="setup-key"[^>]*data-secret="([A-Z2-7]+)"')
_RECOVERY_LIST = re.compile(r'data-testid="recovery-codes">(.*?)</ul>', re.S)
_CODE_ITEM = re.compile(r"<code>([a-z0-9-]+)</code>")


def oathtool_code(secret: str, at: datetime | None = None) -> str:
    """The 6-digit code `oathtool --totp` computes for `secret` at `at` (default: the app's clock)."""
    if shutil.which("oathtool") is None:
        pytest.fail("oathtool is not installed (the OS package `oathtool`; make test installs it)", pytrace=False)
    moment = (at or clock.utcnow()).astimezone(timezone.utc)
    result = subprocess.run(["oathtool", "--totp", "-b", "-N", moment.strftime("%Y-%m-%d %H:%M:%S UTC"), secret],
                            capture_output=True, text=True, check=True, timeout=10)
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), result
    return code


def setup_secret(page: str) -> str:
    """The setup key the two-factor setup page shows (data-secret of the setup-key element)."""
    match = _SECRET_ATTR.search(page)
    assert match, "no setup key on the page"
    return match.group(1)


def recovery_codes_on(page: str) -> list[str]:
    """The recovery codes listed on a "save these codes" page."""
    match = _RECOVERY_LIST.search(page)
    assert match, "no recovery code list on the page"
    return _CODE_ITEM.findall(match.group(1))


def enrol(app, email: str) -> tuple[str, list[str]]:
    """Turn 2FA on through the service with a code for the app's clock; (secret, recovery codes).

    The enrolling code's step counts as used, as it does in the portal.
    """
    from app.security import two_factor

    session = app.extensions["db"].session()
    try:
        with app.app_context():
            account = user(session, email)
            secret = two_factor.start_setup(session, account).secret
            codes = two_factor.confirm_setup(session, account, oathtool_code(secret))
            session.commit()
            return secret, codes
    finally:
        session.close()


def audit_rows(session, action: str | None = None) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


def body(response) -> str:
    """The page as text with HTML entities decoded, so messages read as the user sees them."""
    return html.unescape(response.get_data(as_text=True))
