"""`Idempotency-Key` for the API's POSTs: a retry gets the first answer, money moves once.

Stripe's rules (https://docs.stripe.com/api/idempotent_requests), on top of
`app.payments.idempotency` (claim/finish on a unique (org, key) row):

- The key is optional; without it a request simply runs.
- The request's fingerprint is method + path + raw body: the same key with
  anything else is a 400 `idempotency_error` naming `Idempotency-Key`.
- While the first request runs, a retry gets 409 (retry shortly).
- The first answer is stored exactly as sent — status and body — and replayed
  with `Idempotent-Replayed: true`. That includes 4xx refusals raised while the
  operation ran (a declined card, an amount over what is left): the retry must
  not succeed where the first failed, or a client could not tell which one to
  believe. 5xx answers are not stored: the key is released for a retry.
- A request refused before the operation starts (authentication, scope, a body
  that fails the schema) never claims the key, as at Stripe: nothing ran.

Errors raised inside the view are turned into their JSON answer here, through
the app's own error handlers, so the stored body is the one the client got.
"""
from __future__ import annotations

import logging
from functools import wraps
from typing import Callable

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from app.errors import DomainError
from app.payments import idempotency as store
from app.web.portal import current_org_id
from app.web.request_context import db_session

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

log = logging.getLogger(__name__)


def _fingerprint() -> str:
    return store.fingerprint(request.method, request.path, request.get_data(cache=True))


def _replay(replay: store.Replay) -> Response:
    response = Response(replay.body, status=replay.status, mimetype="application/json")
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _run(view: Callable, kwargs: dict, record_id: int) -> Response:
    """The view's answer as a response; a refusal becomes its JSON error, a crash releases the key."""
    try:
        return current_app.make_response(view(**kwargs))
    except (DomainError, HTTPException) as error:
        return current_app.make_response(current_app.handle_user_exception(error))
    except Exception:
        _release(record_id)
        raise


def _release(record_id: int) -> None:
    """Forget the claim after a crash so the client may retry with the same key."""
    session = db_session()
    try:
        session.rollback()
        store.finish(session, record_id, 500, "")
    except Exception:  # noqa: BLE001 — the original error matters more; the key stays in progress (409)
        log.exception("Could not release idempotency record %s", record_id)


def idempotent(view: Callable) -> Callable:
    """Honour `Idempotency-Key` on a POST view (place it under `api_route`)."""

    @wraps(view)
    def wrapped(**kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(**kwargs)
        session = db_session()
        claimed = store.claim(session, current_org_id(), key, _fingerprint())
        if isinstance(claimed, store.Replay):
            return _replay(claimed)
        response = _run(view, kwargs, claimed)
        # The view committed its own work; whatever a refusal left half-done is dropped,
        # so finish() commits the record alone.
        session.rollback()
        store.finish(session, claimed, response.status_code, response.get_data(as_text=True))
        return response

    wrapped.idempotent = True  # read by the OpenAPI document
    return wrapped
