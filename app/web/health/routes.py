"""Liveness and readiness for load balancers and orchestrators."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from app.extensions import get_redis, limiter
from app.web.health import bp
from app.web.request_context import db_session


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """The process is up and serving requests."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
@limiter.exempt
def readyz():
    """200 when the database and Redis answer; 503 naming what failed otherwise."""
    checks: dict[str, str] = {}
    try:
        db_session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 — any failure means not ready
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["redis"] = f"unreachable: {type(error).__name__}"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ready" if not failed else "unavailable", "checks": checks, "failed": failed}
    return jsonify(body), (200 if not failed else 503)
