"""Bearer API-key authentication for every /api/v1 route that is not public."""
from __future__ import annotations

from flask import g, request

from app.accounts.models import Organization
from app.errors import DomainError
from app.extensions import client_ip
from app.security import api_keys
from app.web.api import bp
from app.web.api.registry import OPERATIONS
from app.web.request_context import db_session


class AuthenticationFailed(DomainError):
    error_type = "authentication_error"
    status_code = 401


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
    return None


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response
