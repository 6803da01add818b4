"""Fixtures for inbound Stripe webhook tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def hook(demo, app):
    """A Flask test client for the (session-less) webhook endpoint, with the demo data seeded."""
    return app.test_client()
