"""Tax tests run at a fixed moment (mid-June 2026, after the standard rates of 2026-01-01 took effect)."""
from __future__ import annotations

import pytest

from app import clock
from app.tax.defaults import ensure_default_tax_rates
from tests.tax.support import NOW


@pytest.fixture
def now(app):
    clock.freeze(NOW)
    return NOW


@pytest.fixture
def rates(db, now):
    """The standard rates, as the migration seeded them (tests wipe every table first)."""
    ensure_default_tax_rates(db)
    db.commit()
    return db


@pytest.fixture
def demo_rates(demo, now):
    """The demo data and the standard rates."""
    ensure_default_tax_rates(demo)
    demo.commit()
    return demo
