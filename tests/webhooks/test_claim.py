"""Claims: a worker leases exactly the batch it asked for, two claims never
share a message, and an expired lease (a dead worker's) can be taken again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.webhooks import dispatch, settings
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import WebhookMessage
from tests.webhooks.fixtures import org_id

pytestmark = pytest.mark.usefixtures("frozen_clock")


def leased(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(WebhookMessage).where(
        WebhookMessage.leased_until.is_not(None)))


def test_a_claim_leases_exactly_its_batch_and_claims_do_not_overlap(app, demo, make_endpoint, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    for _ in range(30):
        emit(demo, org_id(demo, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
    demo.commit()
    config = settings.current()
    other = app.extensions["db"].session()

    first = dispatch.claim(demo, endpoint.id, 5, config)
    assert len(first) == 5 and leased(demo) == 5
    second = dispatch.claim(other, endpoint.id, 5, config)
    assert len(second) == 5 and leased(demo) == 10
    assert not {m.id for m in first} & {m.id for m in second}

    clock.advance(config.lease + timedelta(seconds=1))  # both workers died holding their batches
    third = dispatch.claim(other, endpoint.id, 25, config)
    assert len(third) == 25  # the 20 never claimed and 5 whose lease ran out, oldest first
    assert {m.id for m in first} <= {m.id for m in third}
    other.close()
