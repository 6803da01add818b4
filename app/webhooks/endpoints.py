"""Webhook endpoints: create, edit, enable/disable, delete, and their secrets."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import clock, crypto
from app.accounts.models import Organization
from app.audit.service import record
from app.errors import DomainError
from app.tenancy import owned
from app.webhooks import outbox, settings, signing
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint, WebhookMessage
from app.webhooks.targets import check_url

MAX_ENDPOINTS_PER_ORG = 20
ROTATION_OVERLAP = timedelta(hours=24)
UNCHANGED = object()


def list_endpoints(session: Session, org_id: int) -> list[WebhookEndpoint]:
    return list(session.scalars(owned(WebhookEndpoint, org_id).order_by(WebhookEndpoint.id)))


def clean_event_types(event_types) -> list[str] | None:
    """None (all types) or a de-duplicated list of known types in catalog order."""
    if event_types is None:
        return None
    chosen = set(event_types)
    unknown = sorted(chosen - EVENT_TYPES.keys())
    if unknown:
        raise DomainError(f"Unknown event type {unknown[0]!r}; see the event types page.", field="event_types")
    if not chosen:
        raise DomainError("Choose at least one event type, or all of them.", field="event_types")
    return [name for name in EVENT_TYPES if name in chosen]


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    check_url(url, settings.current().allow_private)
    return url


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > 500:
        raise DomainError("Keep the description under 500 characters.", field="description")
    return description


def create_endpoint(session: Session, org_id: int, *, url: str, description: str = "",
                    event_types=None, actor_label: str, actor_user_id: int | None = None):
    """Add an endpoint; returns (endpoint, secret). The secret is shown this once."""
    url, description = _clean_url(url), _clean_description(description)
    event_types = clean_event_types(event_types)
    # Lock the organization row so two concurrent creations cannot both see 19.
    session.scalars(select(Organization.id).where(Organization.id == org_id).with_for_update()).first()
    count = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.org_id == org_id))
    if count >= MAX_ENDPOINTS_PER_ORG:
        raise DomainError(f"An organization can have at most {MAX_ENDPOINTS_PER_ORG} endpoints; "
                          "delete one you no longer use first.", field="url")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(org_id=org_id, url=url, description=description, event_types=event_types,
                               enabled=True, secret_ciphertext=crypto.encrypt(secret))
    session.add(endpoint)
    session.flush()
    record(session, "webhook_endpoint.created", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=org_id, target=endpoint.public_id, details={"url": url, "event_types": event_types})
    return endpoint, secret


def update_endpoint(session: Session, endpoint: WebhookEndpoint, *, url=UNCHANGED, description=UNCHANGED,
                    event_types=UNCHANGED, enabled=UNCHANGED, actor_label: str,
                    actor_user_id: int | None = None) -> WebhookEndpoint:
    """Change what is given. Re-enabling clears the failure history and sends what waited."""
    changes = {}
    if url is not UNCHANGED:
        changes["url"] = _clean_url(url)
    if description is not UNCHANGED:
        changes["description"] = _clean_description(description)
    if event_types is not UNCHANGED:
        changes["event_types"] = clean_event_types(event_types)
    if enabled is not UNCHANGED and bool(enabled) != endpoint.enabled:
        changes["enabled"] = bool(enabled)
    changes = {k: v for k, v in changes.items() if getattr(endpoint, k) != v}
    if not changes:
        return endpoint
    for name, value in changes.items():
        setattr(endpoint, name, value)
    now = clock.utcnow()
    endpoint.updated_at = now
    if changes.get("enabled") is False:
        endpoint.disabled_reason, endpoint.disabled_at = "manual", now
    elif changes.get("enabled") is True:
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        # What waited while it was disabled goes out now, not at its old retry time (up to 24 h away).
        session.execute(update(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint.id,
                                                     WebhookMessage.status == "pending")
                        .values(next_attempt_at=now).execution_options(synchronize_session=False))
        outbox.wake_endpoints_after_commit(session, [endpoint.id])
    record(session, "webhook_endpoint.updated", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=endpoint.org_id, target=endpoint.public_id, details={"changed": sorted(changes)})
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint, *, actor_label: str,
                    actor_user_id: int | None = None) -> None:
    """Delete the endpoint with its delivery log (events stay)."""
    record(session, "webhook_endpoint.deleted", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=endpoint.org_id, target=endpoint.public_id, details={"url": endpoint.url})
    session.delete(endpoint)


def rotate_secret(session: Session, endpoint: WebhookEndpoint, *, actor_label: str,
                  actor_user_id: int | None = None) -> str:
    """A new secret; the current one keeps signing for 24 h beside it. Returns the new one."""
    now = clock.utcnow()
    secret = signing.new_secret()
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_ciphertext = crypto.encrypt(secret)
    endpoint.updated_at = now
    record(session, "webhook_endpoint.secret_rotated", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=endpoint.org_id, target=endpoint.public_id,
           details={"previous_valid_until": endpoint.previous_secret_expires_at.isoformat()})
    return secret


def reveal_secret(session: Session, endpoint: WebhookEndpoint, *, actor_label: str,
                  actor_user_id: int | None = None) -> str:
    """The current secret, decrypted; every reveal is audited."""
    record(session, "webhook_endpoint.secret_revealed", actor_label=actor_label, actor_user_id=actor_user_id,
           org_id=endpoint.org_id, target=endpoint.public_id)
    return crypto.decrypt(endpoint.secret_ciphertext)


def disable_automatically(session: Session, endpoint: WebhookEndpoint, reason: str, detail: str) -> None:
    """Disable after a 410 or 5 days of failures; audited, shown in the portal."""
    if not endpoint.enabled:
        return
    now = clock.utcnow()
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    endpoint.updated_at = now
    record(session, "webhook_endpoint.disabled", actor_label="system", org_id=endpoint.org_id,
           target=endpoint.public_id, details={"reason": reason, "detail": detail})


def pending_count(session: Session, endpoint: WebhookEndpoint) -> int:
    return session.scalar(select(func.count()).select_from(WebhookMessage).where(
        WebhookMessage.endpoint_id == endpoint.id, WebhookMessage.status == "pending")) or 0
