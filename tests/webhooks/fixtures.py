"""Fixtures for webhook tests anywhere in the suite: a receiver, endpoints, and
a way to run the delivery jobs until nothing is due."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import trustme
from sqlalchemy import select

from app import clock
from app.accounts.models import Organization
from app.webhooks import endpoints
from app.webhooks.dispatch import due_endpoint_ids
from app.webhooks.jobs import deliver_endpoint
from tests.conftest import make_test_app, wipe
from tests.webhooks.receiver import Receiver

# Where tests that move the clock start: now, to the second (signature timestamps
# use the wall clock, and receivers refuse ones far from it).
T0 = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def frozen_clock():
    """The app's clock stopped at T0; tests move it with clock.advance()."""
    clock.freeze(T0)
    yield T0
    clock.reset()


@pytest.fixture(scope="session")
def ca(tmp_path_factory):
    """A private certificate authority (trustme); `ca.bundle_path` is its PEM for WEBHOOK_CA_BUNDLE."""
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    authority.bundle_path = str(path)
    return authority


@pytest.fixture
def make_app(database_url, redis_url, tmp_path):
    """make_app(**config) -> (app, session with the demo data): an app with other
    webhook settings (e.g. WEBHOOK_ALLOW_PRIVATE="" to see the SSRF rules bite)."""
    made = []

    def make(**config):
        app = make_test_app(database_url, redis_url, tmp_path, **config)
        wipe(app)
        session = app.extensions["db"].session()
        from app.demo import seed_demo

        seed_demo(session)
        session.commit()
        made.append((app, session))
        return app, session

    yield make
    clock.reset()
    for app, session in made:
        session.close()
        wipe(app)
        app.extensions["db"].engine.dispose()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def org_id(session, slug: str) -> int:
    return session.scalars(select(Organization.id).where(Organization.slug == slug)).one()


@pytest.fixture
def make_endpoint(demo):
    """make_endpoint(url, slug="acme", event_types=None) -> (endpoint, secret), committed."""
    def make(url: str, slug: str = "acme", event_types=None, description: str = ""):
        endpoint, secret = endpoints.create_endpoint(demo, org_id(demo, slug), url=url, event_types=event_types,
                                                     description=description, actor_label="test")
        demo.commit()
        return endpoint, secret
    return make


def deliver_due(app, rounds: int = 20) -> int:
    """Run the delivery job (in this process) for every endpoint with due
    messages, until none are due. Returns the number of attempts made."""
    total = 0
    session = app.extensions["db"].session()
    try:
        with app.app_context():
            for _ in range(rounds):
                ids = due_endpoint_ids(session, clock.utcnow())
                session.rollback()
                if not ids:
                    return total
                for endpoint_id in ids:
                    total += deliver_endpoint(endpoint_id)
    finally:
        session.close()
    raise AssertionError("deliveries still due after many rounds")
