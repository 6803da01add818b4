"""Fixtures of the billing tests (tests/billing/support.py has the arrangements)."""
from __future__ import annotations

import pytest

from tests.billing.support import arrange_billing


@pytest.fixture
def billing(db):
    """Plans, tax rates and exact exchange rates; the clock stopped at 1 November 2026."""
    arrange_billing(db)
    return db
