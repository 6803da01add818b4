"""Bearer API-key authentication for every /api/v1 route that is not public."""
from __future__ import annotations

from flask import g, request

from app.accounts.models import Organization
from app.errors import DomainError, PermissionDenied
from app.extensions import client_ip, get_redis
from app.security import access, api_keys, countries
from app.web.access_gate import country_lookup, refusal_message
from app.web.api import bp, rate_limit
from app.web.api.registry import OPERATIONS
from app.web.request_context import db_session


class AuthenticationFailed(DomainError):
    error_type = "authentication_error"
    status_code = 401


def api_actor_label() -> str:
    """Audit label of the key acting: `api:` + its display prefix, never the secret."""
    return f"api:{g.api_key.display_prefix}"


@bp.before_request
def authenticate_api_key():
    operation = OPERATIONS.get(request.endpoint or "")
    if operation is not None and operation.public:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthenticationFailed("Missing API key. Send it as 'Authorization: Bearer <key>'.")
    db = db_session()
    try:
        key = api_keys.authenticate(db, secret.strip(), client_ip())
    except api_keys.ApiKeyRejected as rejected:
        raise AuthenticationFailed(rejected.message) from None
    db.commit()  # keeps last-used time and address
    g.api_key = key
    g.org_id = key.org_id
    g.organization = db.get(Organization, key.org_id)
    _refuse_blocked_address(key)
    rate_limit.check(key, g.organization)
    return None


def _refuse_blocked_address(key) -> None:
    """The organization's IP allowlist and geo rules apply to its API keys too.

    Keys cannot answer a 2FA step-up, so "require verification" refuses them.
    """
    db = db_session()
    decision = access.decide(db, key.org_id, client_ip(), country_lookup())
    if decision.allowed:
        return
    if access.record_block(db, get_redis(), key.org_id, decision, actor_label=f"api:{key.display_prefix}",
                           channel="api"):
        db.commit()
    message = refusal_message(decision)
    if decision.outcome == "verify":
        message = (f"Your organization requires two-factor verification for access from "
                   f"{countries.name(decision.country)} ({decision.country}), which API keys cannot give. "
                   f"Your address is {decision.ip}.")
    raise PermissionDenied(message)


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return rate_limit.add_headers(response)
