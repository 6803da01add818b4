"""The endpoint service: limits and validation that name the field, secrets
that are `whsec_` + 32 random bytes and stored encrypted, rotation with a 24 h
overlap, audited reveals, and deletion that takes the delivery log with it but
leaves the events.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from app import clock, crypto
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.webhooks import endpoints, signing
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookEvent, WebhookMessage
from tests.webhooks.fixtures import deliver_due, org_id
from tests.webhooks.receiver import Reply

SECRET_SHAPE = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")  # base64 of exactly 32 bytes
URL = "https://hooks.example.com/in"


def create(session, slug="acme", **values):
    values.setdefault("url", URL)
    return endpoints.create_endpoint(session, org_id(session, slug), actor_label="alice@acme.test", **values)


def refused_field(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.field


def audits(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_at_most_20_endpoints_per_organization(app, demo):
    for number in range(20):
        create(demo, url=f"{URL}/{number}")
    demo.commit()
    assert refused_field(lambda: create(demo, url=f"{URL}/21")) == "url"
    demo.rollback()
    assert count(demo, WebhookEndpoint) == 20

    create(demo, slug="globex")  # the limit is per organization
    demo.commit()

    first = demo.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).first()
    endpoints.delete_endpoint(demo, first, actor_label="test")
    demo.commit()
    create(demo, url=f"{URL}/again")  # room again after a deletion


def test_event_types_are_checked_and_kept_in_catalog_order(app, demo):
    assert refused_field(lambda: create(demo, event_types=["invoice.paid", "invoice.exploded"])) == "event_types"
    assert refused_field(lambda: create(demo, event_types=[])) == "event_types"
    endpoint, _ = create(demo, event_types=["payment.failed", "invoice.paid", "invoice.paid"])
    assert endpoint.event_types == ["invoice.paid", "payment.failed"]
    everything, _ = create(demo, event_types=None)
    assert everything.event_types is None

    assert refused_field(lambda: endpoints.update_endpoint(demo, endpoint, event_types=["nope"],
                                                           actor_label="test")) == "event_types"


def test_description_is_limited(app, demo):
    assert refused_field(lambda: create(demo, description="x" * 501)) == "description"
    endpoint, _ = create(demo, description="  " + "x" * 500 + "  ")
    assert endpoint.description == "x" * 500


def test_url_is_required_and_checked(app, demo):
    assert refused_field(lambda: create(demo, url="")) == "url"
    assert refused_field(lambda: create(demo, url="https://192.168.0.10/hooks")) == "url"
    endpoint, _ = create(demo, url="  https://hooks.example.com/in?token=1  ")
    assert endpoint.url == "https://hooks.example.com/in?token=1"


def test_the_secret_is_whsec_and_32_random_bytes(app, demo):
    secrets_ = {create(demo, url=f"{URL}/{n}")[1] for n in range(3)} | {signing.new_secret()}
    assert len(secrets_) == 4
    for secret in secrets_:
        assert SECRET_SHAPE.match(secret), secret
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_the_secret_is_stored_encrypted(app, demo):
    endpoint, secret = create(demo)
    demo.commit()
    key_part = secret.removeprefix("whsec_")
    [stored] = demo.execute(text("SELECT secret_ciphertext FROM webhook_endpoints")).scalars().all()
    assert key_part not in stored and key_part[:16] not in stored
    assert crypto.decrypt(stored) == secret
    created = audits(demo, "webhook_endpoint.created")[0]
    assert key_part not in str(created.details)

    crypto.configure("a-different-secret-key")  # another deployment's key cannot read it
    try:
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(stored)
    finally:
        crypto.configure(app.config["SECRET_KEY"], app.config["DATA_ENCRYPTION_KEYS"])


def test_rotation_keeps_the_previous_secret_for_24_hours(app, demo):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    clock.freeze(now)
    endpoint, old = create(demo)
    new = endpoints.rotate_secret(demo, endpoint, actor_label="alice@acme.test")
    demo.commit()

    assert new != old and SECRET_SHAPE.match(new)
    assert endpoint.previous_secret_expires_at == now + timedelta(hours=24)
    assert signing.signing_secrets(endpoint, now) == [new, old]
    assert signing.signing_secrets(endpoint, now + timedelta(hours=23, minutes=59)) == [new, old]
    assert signing.signing_secrets(endpoint, now + timedelta(hours=24)) == [new]
    assert endpoints.reveal_secret(demo, endpoint, actor_label="alice@acme.test") == new
    [rotated] = audits(demo, "webhook_endpoint.secret_rotated")
    assert rotated.target == endpoint.public_id and old not in str(rotated.details) and new not in str(rotated.details)

    newest = endpoints.rotate_secret(demo, endpoint, actor_label="alice@acme.test")  # rotating again
    assert signing.signing_secrets(endpoint, now) == [newest, new]  # the first one is gone for good


def test_every_reveal_is_audited(app, demo):
    endpoint, secret = create(demo)
    demo.commit()
    for _ in range(2):
        assert endpoints.reveal_secret(demo, endpoint, actor_label="bob@acme.test") == secret
    demo.commit()
    revealed = audits(demo, "webhook_endpoint.secret_revealed")
    assert len(revealed) == 2
    assert all(a.actor_label == "bob@acme.test" and a.target == endpoint.public_id and
               a.org_id == endpoint.org_id and secret not in str(a.details) for a in revealed)


def test_delete_removes_messages_and_attempts_but_keeps_events(app, demo, receiver):
    doomed, _ = create(demo, url=receiver.url + "/doomed")
    kept, _ = create(demo, url=receiver.url + "/kept")
    demo.commit()
    receiver.replies = [Reply(status=500)]
    for _ in range(2):
        emit(demo, org_id(demo, "acme"), "invoice.paid", EVENT_TYPES["invoice.paid"].example)
    demo.commit()
    assert deliver_due(app) == 4
    assert count(demo, DeliveryAttempt) == 4

    endpoints.delete_endpoint(demo, doomed, actor_label="alice@acme.test")
    demo.commit()
    demo.expire_all()
    assert count(demo, WebhookEndpoint) == 1
    assert set(demo.scalars(select(WebhookMessage.endpoint_id))) == {kept.id}
    assert set(demo.scalars(select(DeliveryAttempt.endpoint_id))) == {kept.id}
    assert count(demo, WebhookEvent) == 2  # the events happened; other endpoints may still need them
    [deleted] = audits(demo, "webhook_endpoint.deleted")
    assert deleted.target == doomed.public_id and deleted.details["url"] == receiver.url + "/doomed"


def test_update_changes_only_what_is_given_and_audits_it(app, demo):
    endpoint, _ = create(demo, description="first")
    demo.commit()
    endpoints.update_endpoint(demo, endpoint, description="first", actor_label="test")  # no change
    assert audits(demo, "webhook_endpoint.updated") == []

    endpoints.update_endpoint(demo, endpoint, description="second", enabled=False, actor_label="test")
    demo.commit()
    assert endpoint.description == "second" and endpoint.url == URL
    assert not endpoint.enabled and endpoint.disabled_reason == "manual"
    [updated] = audits(demo, "webhook_endpoint.updated")
    assert updated.details["changed"] == ["description", "enabled"]
