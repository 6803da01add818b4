"""Per-request plumbing: request id, the database session, `Vary: HX-Request`."""
from __future__ import annotations

import re
import secrets

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from app.audit.context import reset_origin, set_origin
from app.extensions import client_ip

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def db_session() -> Session:
    """The request's database session, opened on first use, closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db"].session()
    return g.db_session


def is_htmx_partial() -> bool:
    """htmx asked to swap a fragment (a boosted link still wants the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def request_id() -> str:
    return g.get("request_id", "-")


def init_app(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else "req_" + secrets.token_hex(8)
        # Audit rows written while serving this request carry its address and browser.
        g.audit_origin_token = set_origin(client_ip(), request.user_agent.string)

    @app.after_request
    def tag_response(response):
        response.headers["X-Request-ID"] = request_id()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.blueprint in ("client", "partner", "admin", "auth"):
            # Same URL, full page or htmx fragment: caches must keep them apart.
            response.vary.add("HX-Request")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def forget_audit_origin(_exc):
        token = g.pop("audit_origin_token", None)
        if token is not None:
            try:
                reset_origin(token)
            except ValueError:  # torn down in another context: nothing of ours is left there
                pass

    @app.teardown_appcontext
    def close_db_session(exc):
        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()
