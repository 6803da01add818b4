"""RQ jobs of the webhooks domain: deliver an endpoint's due messages, sweep,
and run a replay. Each takes ids, loads fresh state and is safe to run twice.

One delivery job drains one endpoint: it claims batches, sends them over
kept-alive connections and writes the attempts in bulk, which is what makes
delivery fast (one RQ job per message costs a fork each).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from rq import Queue
from sqlalchemy import or_, select, update

from app import clock
from app.extensions import get_redis
from app.jobs import job_session
from app.webhooks import dispatch, settings
from app.webhooks.models import WebhookEndpoint, WebhookMessage, WebhookReplay
from app.webhooks.sender import Sender

log = logging.getLogger(__name__)

QUEUE = "default"
WAKE_FLAG_TTL = 60  # seconds: a lost job's flag expires and the sweeper can wake the endpoint again
REPLAY_CHUNK = 500
STALE_REPLAY = timedelta(minutes=2)
# Retries due sooner than this get a scheduled job; later ones are the sweeper's.
SCHEDULE_RETRIES_WITHIN = timedelta(minutes=5)


def _flag(endpoint_id: int) -> str:
    return f"webhooks:wake:{endpoint_id}"


def _queue(redis) -> Queue:
    return Queue(QUEUE, connection=redis)


def wake_endpoint(redis, endpoint_id: int) -> bool:
    """Enqueue a delivery job for the endpoint unless one is already waiting."""
    if not redis.set(_flag(endpoint_id), 1, nx=True, ex=WAKE_FLAG_TTL):
        return False
    _queue(redis).enqueue(deliver_endpoint, endpoint_id, job_timeout=600)
    return True


def start_replay(redis, replay_id: int) -> None:
    _queue(redis).enqueue(run_replay, replay_id, job_timeout=3600)


def deliver_endpoint(endpoint_id: int) -> int:
    """Send the endpoint's due messages until none are due or the time budget
    is spent (then hand over to a fresh job). Returns the number of attempts."""
    redis = get_redis()
    redis.delete(_flag(endpoint_id))  # from here on, new messages need a new job
    config = settings.current()
    deadline = time.monotonic() + config.pump_budget_seconds
    attempts = 0
    with job_session() as session, Sender(config) as sender, \
            ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        while True:
            endpoint = session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
            if endpoint is None or not endpoint.enabled:
                break
            batch = dispatch.claim(session, endpoint_id, config.batch_size, config)
            if not batch:
                break
            results = dispatch.send_batch(sender, endpoint, batch, pool)
            soonest_retry = dispatch.record(session, endpoint, results)
            session.commit()
            attempts += len(results)
            if soonest_retry is not None:
                _schedule_retry(redis, endpoint_id, soonest_retry)
            if time.monotonic() > deadline:
                wake_endpoint(redis, endpoint_id)
                break
    return attempts


def _schedule_retry(redis, endpoint_id: int, retry_at) -> None:
    delay = retry_at - clock.utcnow()
    if delay <= SCHEDULE_RETRIES_WITHIN:
        _queue(redis).enqueue_in(max(delay, timedelta(0)), deliver_endpoint, endpoint_id, job_timeout=600)


def sweep() -> int:
    """Wake every enabled endpoint with due messages that nobody holds, and
    restart stalled replays. This is what makes a flushed Redis or a killed
    worker lose nothing. Returns the number of endpoints woken."""
    redis = get_redis()
    now = clock.utcnow()
    with job_session() as session:
        endpoint_ids = session.scalars(
            select(WebhookMessage.endpoint_id).distinct()
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
            .where(WebhookEndpoint.enabled.is_(True), WebhookMessage.status == "pending",
                   WebhookMessage.next_attempt_at <= now,
                   or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now))
        ).all()
        stalled = session.scalars(select(WebhookReplay.id).where(
            WebhookReplay.status != "done", WebhookReplay.created_at < now - STALE_REPLAY)).all()
    woken = sum(1 for endpoint_id in endpoint_ids if wake_endpoint(redis, endpoint_id))
    for replay_id in stalled:
        start_replay(redis, replay_id)
    if woken or stalled:
        log.info("Sweeper woke %d endpoint(s) and restarted %d replay(s).", woken, len(stalled))
    return woken


def run_replay(replay_id: int) -> int:
    """Put the endpoint's failed messages since `replay.since` back in line, in
    chunks (progress is visible as it goes). Returns how many were requeued."""
    redis = get_redis()
    with job_session() as session:
        replay = session.get(WebhookReplay, replay_id)
        if replay is None or replay.status == "done":
            return 0
        replay.status = "running"
        session.commit()
        while True:
            chunk = session.scalars(
                select(WebhookMessage.id).where(
                    WebhookMessage.endpoint_id == replay.endpoint_id, WebhookMessage.status == "failed",
                    WebhookMessage.created_at >= replay.since,
                    or_(WebhookMessage.replay_id.is_(None), WebhookMessage.replay_id != replay.id))
                .order_by(WebhookMessage.id).limit(REPLAY_CHUNK)).all()
            if not chunk:
                break
            now = clock.utcnow()
            result = session.execute(
                update(WebhookMessage)
                .where(WebhookMessage.id.in_(chunk), WebhookMessage.status == "failed")
                .values(status="pending", next_attempt_at=now, completed_at=None, replay_id=replay.id,
                        cycle_start=WebhookMessage.attempt_count)
                .execution_options(synchronize_session=False))
            replay.requeued += result.rowcount
            session.commit()
            wake_endpoint(redis, replay.endpoint_id)
        replay.status, replay.finished_at = "done", clock.utcnow()
        session.commit()
        return replay.requeued


def install_outbox(app) -> None:
    """Wire after-commit wake-ups for sessions of this app's database."""
    from app.webhooks import outbox

    redis = app.extensions["redis"]
    outbox.install(app.extensions["db"].sessionmaker,
                   wake_endpoint=lambda endpoint_id: wake_endpoint(redis, endpoint_id),
                   start_replay=lambda replay_id: start_replay(redis, replay_id))

