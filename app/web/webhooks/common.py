"""What every webhooks view shares: tenant-scoped loading,
and full page vs fragment.

Views are registered on both portal blueprints, so links use relative
endpoint names (`url_for(".webhooks")`) that resolve in the blueprint of the
request: a partner stays under /partner, a customer under /client.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from app.errors import NotFound
from app.tenancy import get_owned
from app.web.portal import current_org_id
from app.web.request_context import db_session, is_htmx_partial
from app.webhooks.models import WebhookEndpoint, WebhookMessage, WebhookReplay


def load_endpoint(public_id: str) -> WebhookEndpoint:
    return get_owned(db_session(), WebhookEndpoint, current_org_id(), public_id)


def load_message(endpoint: WebhookEndpoint, public_id: str) -> WebhookMessage:
    """A message of this endpoint (another endpoint's, or another org's, is a 404)."""
    message = get_owned(db_session(), WebhookMessage, current_org_id(), public_id)
    if message.endpoint_id != endpoint.id:
        raise NotFound(f"No such message: {public_id}")
    return message


def load_replay(endpoint: WebhookEndpoint, public_id: str) -> WebhookReplay:
    replay = get_owned(db_session(), WebhookReplay, current_org_id(), public_id)
    if replay.endpoint_id != endpoint.id:
        raise NotFound(f"No such replay: {public_id}")
    return replay


def wants_fragment() -> bool:
    """htmx swapping part of the page. A history restore (Back after a pushed
    URL, cache miss) asks with HX-Request too but needs the whole page."""
    return is_htmx_partial() and not request.headers.get("HX-History-Restore-Request")


def render(template: str, fragment: str | None = None, **context) -> str:
    """Full page normally; only `fragment` when htmx asks for a partial swap."""
    if fragment and wants_fragment():
        return render_template(fragment, **context)
    return render_template(template, **context)


def endpoint_url(endpoint: WebhookEndpoint, **params) -> str:
    """The endpoint page, with log filters/cursor when given (empty ones dropped)."""
    return url_for(".webhooks_endpoint", public_id=endpoint.public_id,
                   **{key: value for key, value in params.items() if value})
