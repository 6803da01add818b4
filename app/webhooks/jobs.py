"""RQ jobs of the webhooks domain: deliver an endpoint's due messages, sweep,
and run a replay. Each takes ids, loads fresh state and is safe to run twice.

One delivery job sends one batch of one endpoint: it claims the batch, sends
it over connections kept alive across jobs, and writes the attempts in bulk.
That, and workers that do not fork per job, is what makes delivery fast.
"""
from __future__ import annotations

import logging
import os
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


_shared: dict = {}


def _sender_and_pool(config) -> tuple[Sender, ThreadPoolExecutor]:
    """One Sender (its kept-alive connections) and one thread pool per worker
    process, reused by every job; rebuilt when the settings change or after a fork."""
    if _shared.get("pid") != os.getpid() or _shared.get("config") is not config:
        if _shared.get("pid") == os.getpid():  # after a fork the old threads do not exist
            _shared["sender"].close()
            _shared["pool"].shutdown(wait=False)
        _shared.update(pid=os.getpid(), config=config, sender=Sender(config),
                       pool=ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="webhooks"))
    return _shared["sender"], _shared["pool"]


def deliver_endpoint(endpoint_id: int) -> int:
    """Send one batch of the endpoint's due messages; returns the attempts made.

    A full batch queues the endpoint again, at the back: a busy endpoint takes
    turns with the others, and a second worker can take its next batch at once.
    """
    redis = get_redis()
    redis.delete(_flag(endpoint_id))  # from here on, new messages need a new job
    config = settings.current()
    sender, pool = _sender_and_pool(config)
    with job_session() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return 0
        batch = dispatch.claim(session, endpoint_id, config.batch_size, config)
        if not batch:
            return 0
        if len(batch) >= config.batch_size:
            wake_endpoint(redis, endpoint_id)
        results = dispatch.send_batch(sender, endpoint, batch, pool)
        soonest_retry = dispatch.record(session, endpoint, results)
        session.commit()
    if soonest_retry is not None:
        _schedule_retry(redis, endpoint_id, soonest_retry)
    return len(results)


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
        endpoint_ids = dispatch.due_endpoint_ids(session, now)
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

