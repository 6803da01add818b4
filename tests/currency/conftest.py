"""Fixtures of the currency tests: the shipped rates loaded, and rates files to refresh from."""
from __future__ import annotations

import json

import pytest

from app.currency import service
from tests.api.conftest import api, issue_key  # noqa: F401  (the API fixtures, for the convert tests)


@pytest.fixture
def rates(db):
    """The shipped rates file loaded (what `flask seed-demo` does): EUR 0.92, GBP 0.79, JPY 150, …"""
    service.ensure_rates(db)
    db.commit()
    return db


@pytest.fixture
def rates_file(tmp_path):
    """Write a rates file: rates_file({"EUR": "0.95"}, as_of=…) → its path."""
    def write(rates: dict, as_of: str = "2026-01-05T16:00:00Z", base: str = "USD", name: str = "rates.json"):
        path = tmp_path / name
        path.write_text(json.dumps({"base": base, "as_of": as_of, "rates": rates}))
        return path
    return write
