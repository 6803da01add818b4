"""The demo organizations with billing arranged: acme (Pro, US, USD, pays with pm_card_visa) subscribed since
1 November 2026, the clock at 16 November (half the period left)."""
from __future__ import annotations

import pytest

from app import clock
from tests.billing.support import HALFWAY, arrange_billing


@pytest.fixture
def acme(db, app):
    from app.demo import seed_demo

    arrange_billing(db)          # the clock at 1 November while the demo subscriptions are made
    seed_demo(db)
    db.commit()
    clock.freeze(HALFWAY)
    return db


@pytest.fixture
def alice(acme, client):
    client.login("alice@acme.test")
    return client


@pytest.fixture
def bob(acme, make_client):
    browser = make_client()
    browser.login("bob@acme.test")
    return browser
