"""Inbound webhooks: `POST /api/webhooks/stripe` and `GET /api/webhooks/health`.

Stripe authenticates with the Stripe-Signature header, not a session: no
login, no CSRF (the blueprint is exempt), no API key, and no rate limit (a
burst of retries from Stripe must not be refused). The route answers as soon
as the event is stored; an RQ worker processes it.
"""
from __future__ import annotations

import logging

from flask import current_app, jsonify, request

from app.extensions import client_ip, get_redis, limiter
from app.payments import inbound, jobs
from app.web.errors import api_error
from app.web.hooks import bp
from app.web.request_context import db_session

log = logging.getLogger(__name__)

# Stripe's events are a few KB; far larger is not Stripe, and is not read into memory.
MAX_BODY = 1024 * 1024


@bp.route("/stripe", methods=["POST"])
@limiter.exempt
def stripe_webhook():
    if (request.content_length or 0) > MAX_BODY:
        return api_error(413, f"The body is larger than {MAX_BODY} bytes.")
    try:
        event, duplicate = inbound.receive(db_session(), current_app.config, request.get_data(),
                                           request.headers.get("Stripe-Signature"))
    except inbound.InvalidStripeEvent as refusal:
        # Why and from where; never the body or the secret.
        log.warning("Refused an inbound Stripe webhook from %s: %s", client_ip(), refusal.message)
        raise
    except inbound.InboundNotConfigured:
        log.error("An inbound Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set; answered 503.")
        raise
    if duplicate:
        return jsonify({"received": True, "duplicate": True})
    if event.status == "pending":
        jobs.enqueue_processing(event.id)
    return jsonify({"received": True})


@bp.route("/health", methods=["GET"])
@limiter.exempt
def health():
    """200 `ok`, or 503 `degraded` with the problems named (database, Redis, events waiting too long)."""
    report, ok = inbound.health(db_session(), get_redis())
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ok else 503
