"""Shared by the webhooks portal tests: the two portals and their users, and
helpers to drive the pages and read what they changed."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app import clock
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.webhooks import events
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.webhooks.fixtures import org_id


@dataclass(frozen=True)
class Portal:
    name: str
    email: str
    slug: str

    @property
    def home(self) -> str:
        return f"/{self.name}/webhooks"

    def endpoint_page(self, endpoint) -> str:
        return f"{self.home}/{endpoint.public_id}"


CLIENT = Portal("client", "alice@acme.test", "acme")
PARTNER = Portal("partner", "pat@northwind.test", "northwind")


@pytest.fixture(params=[CLIENT, PARTNER], ids=["client", "partner"])
def portal(request, demo, client) -> Portal:
    """A user of the portal, signed in on `client`."""
    client.login(request.param.email)
    return request.param


def text(response) -> str:
    return response.get_data(as_text=True)


def endpoints_of(db, slug: str) -> list[WebhookEndpoint]:
    db.expire_all()
    return list(db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id(db, slug))))


def audit_actions(db, target: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.id)))


def user_id(db, email: str) -> int:
    return db.scalars(select(User.id).where(User.email == email)).one()


def create(client, portal: Portal, **fields):
    data = {"url": "https://hooks.example.com/matrix", "description": "", "subscribe": "all", "enabled": "y"}
    data.update(fields)
    return client.htmx("POST", portal.home, token_from=portal.home, data=data)


def htmx_get(client, path: str):
    return client.get(path, headers={"HX-Request": "true"})


def emit_many(db, endpoint, count: int) -> list[WebhookMessage]:
    """`count` messages to `endpoint`, alternating two types; every third failed, the rest succeeded."""
    for n in range(count):
        event_type = "invoice.paid" if n % 2 else "payment.failed"
        events.emit(db, endpoint.org_id, event_type, EVENT_TYPES[event_type].example)
    db.commit()
    messages = list(db.scalars(select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint.id)
                               .order_by(WebhookMessage.id)))
    now = clock.utcnow()
    for n, message in enumerate(messages):
        message.status = "failed" if n % 3 == 0 else "succeeded"
        message.next_attempt_at, message.completed_at, message.attempt_count = None, now, 1
    db.commit()
    return messages


def message_ids(body: str) -> list[str]:
    return re.findall(r'<tr id="message-(msg_\w+)"', body)
