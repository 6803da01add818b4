"""RQ jobs of the currency domain: refresh the exchange rates from the configured provider.

Daily from the scheduler (`refresh-exchange-rates`), and on demand from the
admin page. Safe to run twice: a quote already stored with the same source
and `as_of` is not added again, and a quote that fails its checks writes nothing.
"""
from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from app.currency import service
from app.currency.providers import provider_from_config
from app.errors import DomainError
from app.jobs import enqueue, job_session

log = logging.getLogger(__name__)

QUEUE = "low"
JOB_ACTOR = "job:refresh-exchange-rates"


def refresh_exchange_rates(actor_label: str = JOB_ACTOR) -> dict:
    """Fetch, check and store one quote; commits. A refused quote fails the job (RQ keeps it as failed)."""
    with job_session() as session:
        try:
            result = service.refresh(session, provider_from_config(current_app.config), actor_label=actor_label)
        except DomainError as refusal:
            session.rollback()
            log.warning("Exchange-rate refresh refused: %s", refusal.message)
            raise
        session.commit()
    if result.added:
        log.info("Exchange rates from %s as of %s: added %s.", result.source, result.as_of.isoformat(),
                 ", ".join(result.added))
    return {"source": result.source, "as_of": result.as_of.isoformat(), "added": list(result.added),
            "already_stored": list(result.already_stored)}


def enqueue_refresh(actor_label: str) -> bool:
    """Queue a refresh on behalf of `actor_label`; False when Redis cannot be reached."""
    try:
        enqueue(refresh_exchange_rates, actor_label, queue_name=QUEUE)
    except RedisError as error:
        log.warning("Could not queue an exchange-rate refresh (%s).", type(error).__name__)
        return False
    return True
