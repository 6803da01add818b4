"""Delivery over real TLS: a receiver with a certificate from a private CA
(trustme), trusted through WEBHOOK_CA_BUNDLE. The certificate is verified for
the name in the URL although the connection goes to the checked address; a
certificate for another name, or an unknown CA, is a `tls` failure.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from app.webhooks import endpoints
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import DeliveryAttempt, WebhookMessage
from tests.webhooks.fixtures import deliver_due, org_id
from tests.webhooks.receiver import Receiver, tls_context


def deliver_one(app, session, url: str) -> tuple[DeliveryAttempt, str]:
    _, secret = endpoints.create_endpoint(session, org_id(session, "acme"), url=url, actor_label="test")
    session.commit()
    emit(session, org_id(session, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
    session.commit()
    assert deliver_due(app) == 1
    session.expire_all()
    return session.scalars(select(DeliveryAttempt)).one(), secret


def test_https_delivery_with_a_trusted_certificate(make_app, ca):
    app, session = make_app(WEBHOOK_ALLOW_PRIVATE="localhost", WEBHOOK_CA_BUNDLE=ca.bundle_path)
    with Receiver(tls=tls_context(ca, "localhost")) as receiver:
        assert receiver.url.startswith("https://localhost:")
        attempt, secret = deliver_one(app, session, receiver.url)
        [request] = receiver.requests

    assert attempt.succeeded and attempt.status_code == 200 and attempt.error_kind is None
    assert request.headers["host"] == f"localhost:{receiver.port}"
    message = session.scalars(select(WebhookMessage)).one()
    assert message.status == "succeeded" and request.body == message.event.body.encode()
    Webhook(secret).verify(request.body, request.headers)


def test_keep_alive_reuses_the_tls_connection(make_app, ca):
    """Many messages, one handshake per pooled connection, not one per message."""
    app, session = make_app(WEBHOOK_ALLOW_PRIVATE="localhost", WEBHOOK_CA_BUNDLE=ca.bundle_path, WEBHOOK_CONCURRENCY=1)
    with Receiver(tls=tls_context(ca, "localhost")) as receiver:
        endpoints.create_endpoint(session, org_id(session, "acme"), url=receiver.url, actor_label="test")
        session.commit()
        for _ in range(5):
            emit(session, org_id(session, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
        session.commit()
        assert deliver_due(app) == 5
        assert len(receiver.requests) == 5
        assert receiver.connections == 1


@pytest.mark.parametrize("setup", ["certificate-for-another-name", "no-ca-bundle"])
def test_an_untrusted_certificate_is_a_tls_failure(make_app, ca, setup):
    if setup == "no-ca-bundle":  # the system trust store does not know our private CA
        app, session = make_app(WEBHOOK_ALLOW_PRIVATE="localhost", WEBHOOK_CA_BUNDLE="")
        context = tls_context(ca, "localhost")
    else:
        app, session = make_app(WEBHOOK_ALLOW_PRIVATE="localhost", WEBHOOK_CA_BUNDLE=ca.bundle_path)
        context = tls_context(ca, "other.example")
    with Receiver(tls=context) as receiver:
        attempt, _ = deliver_one(app, session, receiver.url)
        assert receiver.requests == []  # the body never left

    assert not attempt.succeeded and attempt.error_kind == "tls" and attempt.status_code is None
    assert attempt.duration_ms >= 0 and attempt.error_detail
    message = session.scalars(select(WebhookMessage)).one()
    assert message.status == "pending" and message.attempt_count == 1  # retried later
