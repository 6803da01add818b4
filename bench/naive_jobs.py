"""The naive way to deliver webhooks, kept only as the benchmark's yardstick.

One RQ job per delivery: load the message from the database, sign it, do a
plain `requests.post` (a new connection every time), then write the attempt
and the message's new state in a transaction of its own. This is what most
first implementations look like; bench/webhooks.py measures ours against it.
RQ workers import it as `bench.naive_jobs` (they run with cwd = the project).
"""
from __future__ import annotations

import time
from datetime import timedelta

import requests

from app import clock
from app.db import new_public_id
from app.jobs import job_session
from app.webhooks import signing
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage


def deliver_one(message_id: int) -> bool:
    """Deliver one message once; True if the receiver answered 2xx."""
    with job_session() as session:
        message = session.get(WebhookMessage, message_id)
        if message is None or message.status != "pending":
            return False
        endpoint = session.get(WebhookEndpoint, message.endpoint_id)
        body = message.event.body.encode()
        headers = signing.headers(signing.signing_secrets(endpoint, clock.utcnow()), message.public_id,
                                  int(time.time()), body)
        attempted_at, started = clock.utcnow(), time.monotonic()
        status = text = error = None
        try:
            response = requests.post(endpoint.url, data=body, headers=headers, timeout=(5, 15),
                                     allow_redirects=False)
            status, text = response.status_code, response.text[:4096]
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        succeeded = status is not None and 200 <= status < 300
        session.add(DeliveryAttempt(
            public_id=new_public_id("att"), org_id=message.org_id, message_id=message.id,
            endpoint_id=endpoint.id, attempted_at=attempted_at,
            duration_ms=int((time.monotonic() - started) * 1000), succeeded=succeeded, status_code=status,
            error_kind=None if succeeded else ("http_status" if status else "network"), error_detail=error,
            request_headers=headers, response_body=text))
        message.attempt_count += 1
        message.last_attempt_at, message.last_status_code = attempted_at, status
        if succeeded:
            message.status, message.next_attempt_at, message.completed_at = "succeeded", None, attempted_at
        else:  # naive: a fixed retry, and nobody schedules it; good enough for a yardstick
            message.next_attempt_at = clock.utcnow() + timedelta(seconds=5)
        session.commit()
        return succeeded
