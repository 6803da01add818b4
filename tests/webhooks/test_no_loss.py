"""No loss: a worker killed with SIGKILL mid-delivery, or Redis flushed in the
middle of a run, loses no delivery. Real `flask worker` processes, a real
redis-server, both databases. Receivers may see a duplicate (the same
webhook-id), never a gap."""
from __future__ import annotations

import subprocess
import time

import pytest
from sqlalchemy import func, select

from app.webhooks.events import emit
from app.webhooks.jobs import sweep
from app.webhooks.models import WebhookMessage
from tests.support import kill_tree, spawn_worker
from tests.webhooks.fixtures import org_id
from tests.webhooks.receiver import Reply

EVENTS = 30
PAYLOAD = {"id": "ins_nl", "name": "n", "gpu_type": "A100", "status": "running", "hourly_rate": 1,
           "currency": "usd"}


@pytest.fixture
def start_worker(database_url, redis_url, tmp_path):
    """Start `flask worker` processes configured like production but with a 2 s lease."""
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = spawn_worker(database_url, redis_url, tmp_path, tmp_path / f"worker-{len(started)}.log",
                            WEBHOOK_LEASE_SECONDS="2", WEBHOOK_BATCH_SIZE="5", WEBHOOK_CONCURRENCY="1",
                            WEBHOOK_TIMEOUT="5")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        kill_tree(proc.pid)
        proc.wait(timeout=10)


def emit_events(demo, count: int) -> list[str]:
    acme = org_id(demo, "acme")
    for _ in range(count):
        emit(demo, acme, "instance.created", PAYLOAD)
    demo.commit()
    return list(demo.scalars(select(WebhookMessage.public_id)))


def succeeded(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(WebhookMessage).where(WebhookMessage.status == "succeeded"))


def sweep_until_all_delivered(app, db, expected: int, timeout: float = 60) -> None:
    """Run the periodic sweeper (as `flask scheduler` would, only more often)."""
    deadline = time.monotonic() + timeout
    while succeeded(db) < expected:
        assert time.monotonic() < deadline, f"only {succeeded(db)} of {expected} delivered"
        with app.app_context():
            sweep()
        time.sleep(0.3)


def test_sigkill_mid_delivery_loses_nothing(app, demo, make_endpoint, receiver, start_worker):
    make_endpoint(receiver.url)
    receiver.default = Reply(delay=0.4)  # slow enough to kill the worker in the middle of a batch
    message_ids = emit_events(demo, EVENTS)

    worker = start_worker()
    receiver.wait_for(3)
    kill_tree(worker.pid)
    worker.wait(timeout=10)

    demo.rollback()
    in_flight = demo.scalar(select(func.count()).select_from(WebhookMessage).where(
        WebhookMessage.status == "pending", WebhookMessage.leased_until.is_not(None)))
    assert in_flight >= 1, "the kill should have caught a claimed batch"
    assert succeeded(demo) < EVENTS

    receiver.default = Reply()
    start_worker()
    sweep_until_all_delivered(app, demo, EVENTS)

    seen = {r.headers["webhook-id"] for r in receiver.requests}
    assert seen == set(message_ids)  # every message arrived; duplicates are allowed, gaps are not


def test_redis_flushall_mid_run_loses_nothing(app, demo, make_endpoint, receiver, start_worker):
    make_endpoint(receiver.url)
    receiver.default = Reply(delay=0.1)
    message_ids = emit_events(demo, EVENTS)

    start_worker()
    receiver.wait_for(5)
    app.extensions["redis"].flushall()  # queued jobs, wake flags and RQ's registries are gone
    assert succeeded(demo) < EVENTS

    sweep_until_all_delivered(app, demo, EVENTS)

    seen = {r.headers["webhook-id"] for r in receiver.requests}
    assert seen == set(message_ids)


def test_work_committed_while_redis_is_empty_is_found_by_the_sweeper(app, demo, make_endpoint, receiver,
                                                                     start_worker):
    make_endpoint(receiver.url)
    message_ids = emit_events(demo, 5)
    app.extensions["redis"].flushall()  # as if Redis restarted right after the commit

    start_worker()
    time.sleep(1.0)
    assert receiver.requests == []  # nothing in Redis: nothing would ever happen without the sweeper

    sweep_until_all_delivered(app, demo, 5)
    assert {r.headers["webhook-id"] for r in receiver.requests} == set(message_ids)
