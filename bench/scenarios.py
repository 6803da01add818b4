"""What the benchmark measures, one function per scenario.

Every scenario works on endpoints of its own, resets the receiver, notes the
highest message id, emits, and waits until the receiver has every
`webhook-id` AND the database shows every message of the scenario succeeded.
"""
from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field

from redis import Redis
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organization
from app.webhooks import endpoints as endpoint_service
from app.webhooks import signing
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.jobs import wake_endpoint
from app.webhooks.models import WebhookEndpoint, WebhookEvent, WebhookMessage
from bench.harness import ReceiverProcess
from bench.naive_jobs import deliver_one

EVENT_TYPE = "payment.succeeded"
PAYLOAD = EVENT_TYPES[EVENT_TYPE].example


class Stalled(RuntimeError):
    """Deliveries stopped progressing; the benchmark cannot finish honestly."""


@dataclass
class Context:
    app: object
    redis: Redis
    receiver: ReceiverProcess
    tx_size: int
    stall_seconds: float = 120.0

    @property
    def factory(self):
        """Sessions with the outbox hooks: commits enqueue delivery jobs."""
        return self.app.extensions["db"].sessionmaker

    @property
    def engine(self):
        return self.app.extensions["db"].engine

    def plain_session(self) -> Session:
        """A session WITHOUT the outbox hooks: its commits enqueue nothing."""
        return Session(self.engine, expire_on_commit=False)


@dataclass
class Group:
    """Organizations (each with the same number of endpoints) used by one scenario."""
    org_ids: list[int]
    endpoint_ids: list[int] = field(default_factory=list)


@dataclass
class Result:
    name: str
    deliveries: int
    seconds: float
    emit_seconds: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds else 0.0


def seed_group(ctx: Context, slug: str, orgs: int, endpoints_per_org: int) -> Group:
    group = Group(org_ids=[])
    with ctx.plain_session() as session:
        for n in range(orgs):
            org = Organization(slug=f"{slug}-{n}", name=f"Bench {slug} {n}", kind="customer", tier="pro",
                               country="US")
            session.add(org)
            session.flush()
            group.org_ids.append(org.id)
            for e in range(endpoints_per_org):
                endpoint, _secret = endpoint_service.create_endpoint(
                    session, org.id, url=f"{ctx.receiver.base}/{slug}/{n}/{e}", actor_label="bench")
                group.endpoint_ids.append(endpoint.id)
        session.commit()
    return group


def _max_message_id(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return conn.scalar(select(func.coalesce(func.max(WebhookMessage.id), 0)))


def _succeeded_since(ctx: Context, start_id: int) -> int:
    with ctx.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(WebhookMessage)
                           .where(WebhookMessage.id > start_id, WebhookMessage.status == "succeeded"))


def wait_idle(ctx: Context, timeout: float = 120.0) -> None:
    """Until no RQ job is queued or running (leftover wake-ups find nothing to do)."""
    queues = [Queue(name, connection=ctx.redis) for name in ctx.app.config["RQ_QUEUES"]]
    deadline = time.monotonic() + timeout
    while any(q.count or q.started_job_registry.count for q in queues):
        if time.monotonic() > deadline:
            raise Stalled("RQ queues did not empty")
        time.sleep(0.05)


def wait_delivered(ctx: Context, start_id: int, expected: int, started: float) -> tuple[float, dict]:
    """Seconds from `started` until all `expected` arrived and are recorded as succeeded."""
    last, last_change = -1, time.monotonic()
    while True:
        stats = ctx.receiver.stats()
        if stats["unique"] >= expected and _succeeded_since(ctx, start_id) >= expected:
            return time.perf_counter() - started, stats
        if stats["unique"] != last:
            last, last_change = stats["unique"], time.monotonic()
        elif time.monotonic() - last_change > ctx.stall_seconds:
            raise Stalled(f"stuck at {stats['unique']}/{expected} received, "
                          f"{_succeeded_since(ctx, start_id)} recorded as succeeded")
        time.sleep(0.02)


def _order(group: Group, events_per_org: int) -> list[int]:
    """Round-robin over the organizations, as real traffic interleaves them."""
    return [org_id for _ in range(events_per_org) for org_id in group.org_ids]


def _begin(ctx: Context) -> int:
    wait_idle(ctx)
    ctx.receiver.reset()
    return _max_message_id(ctx)


def ours_end_to_end(ctx: Context, name: str, group: Group, events_per_org: int) -> Result:
    """emit() in transactions of tx_size, committed; the after-commit hook wakes the workers."""
    expected = len(group.endpoint_ids) * events_per_org
    start_id = _begin(ctx)
    order = _order(group, events_per_org)
    started = time.perf_counter()
    for offset in range(0, len(order), ctx.tx_size):
        with ctx.factory() as session:
            for org_id in order[offset:offset + ctx.tx_size]:
                emit(session, org_id, EVENT_TYPE, PAYLOAD)
            session.commit()
    emitted = time.perf_counter() - started
    seconds, stats = wait_delivered(ctx, start_id, expected, started)
    return Result(name, expected, seconds, emitted, extra={"duplicates": stats["total"] - stats["unique"]})


def ours_backlog(ctx: Context, name: str, group: Group, events_per_org: int) -> Result:
    """The same work emitted first with nothing enqueued, then every endpoint
    woken at once: delivery throughput alone, without the driver's emit cost."""
    expected = len(group.endpoint_ids) * events_per_org
    start_id = _begin(ctx)
    order = _order(group, events_per_org)
    for offset in range(0, len(order), ctx.tx_size):
        with ctx.plain_session() as session:
            for org_id in order[offset:offset + ctx.tx_size]:
                emit(session, org_id, EVENT_TYPE, PAYLOAD)
            session.commit()
    started = time.perf_counter()
    for endpoint_id in group.endpoint_ids:
        wake_endpoint(ctx.redis, endpoint_id)
    seconds, stats = wait_delivered(ctx, start_id, expected, started)
    return Result(name, expected, seconds, extra={"duplicates": stats["total"] - stats["unique"]})


def naive(ctx: Context, name: str, group: Group, events_per_org: int) -> Result:
    """Same emit() in the same transactions, then one RQ job per delivery."""
    expected = len(group.endpoint_ids) * events_per_org
    start_id = _begin(ctx)
    queue = Queue("default", connection=ctx.redis)
    order = _order(group, events_per_org)
    started = time.perf_counter()
    for offset in range(0, len(order), ctx.tx_size):
        with ctx.plain_session() as session:
            event_ids = [emit(session, org_id, EVENT_TYPE, PAYLOAD).id for org_id in order[offset:offset + ctx.tx_size]]
            message_ids = session.scalars(select(WebhookMessage.id).where(WebhookMessage.event_id.in_(event_ids))
                                          .order_by(WebhookMessage.id)).all()
            session.commit()
        queue.enqueue_many([Queue.prepare_data(deliver_one, (message_id,), timeout=180)
                            for message_id in message_ids])
    emitted = time.perf_counter() - started
    seconds, stats = wait_delivered(ctx, start_id, expected, started)
    return Result(name, expected, seconds, emitted, extra={"duplicates": stats["total"] - stats["unique"]})


def raw_limit(ctx: Context, name: str, endpoint_id: int, count: int) -> Result:
    """One process, one kept-alive connection, the same signed bodies: no queue, no database."""
    with ctx.plain_session() as session:
        have = session.scalar(select(func.count()).select_from(WebhookMessage)
                              .where(WebhookMessage.endpoint_id == endpoint_id))
        org_id = session.scalar(select(WebhookEndpoint.org_id).where(WebhookEndpoint.id == endpoint_id))
        for _ in range(count - have):  # only when (a) did not run: bodies made by emit(), never sent
            emit(session, org_id, EVENT_TYPE, PAYLOAD)
        session.commit()
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        keys = signing.signing_secrets(endpoint, clock.utcnow())
        rows = session.execute(select(WebhookMessage.public_id, WebhookEvent.body)
                               .join(WebhookEvent, WebhookEvent.id == WebhookMessage.event_id)
                               .where(WebhookMessage.endpoint_id == endpoint_id)
                               .order_by(WebhookMessage.id).limit(count)).all()
    bodies = [(public_id, body.encode()) for public_id, body in rows]
    _begin(ctx)
    conn = http.client.HTTPConnection("127.0.0.1", ctx.receiver.port, timeout=15)
    failures = 0
    started = time.perf_counter()
    for public_id, body in bodies:
        headers = signing.headers(keys, public_id, int(time.time()), body)
        conn.request("POST", "/raw", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        failures += response.status != 200
    seconds = time.perf_counter() - started
    conn.close()
    received = ctx.receiver.stats()["unique"]
    if failures or received != len(bodies):
        raise Stalled(f"raw limit: {failures} failures, {received}/{len(bodies)} received")
    return Result(name, len(bodies), seconds)


def latency(ctx: Context, name: str, group: Group, rate: float, seconds: float, emitters: int = 4) -> Result:
    """emit() paced at `rate` events/s, one event per transaction (as domain
    actions do), from a few threads (as several web processes would: one
    alone cannot commit 200 times a second on a busy 2-core machine);
    event created_at → the receiver's first arrival of its message."""
    count = int(rate * seconds)
    start_id = _begin(ctx)
    started = time.perf_counter()
    errors: list[BaseException] = []

    def emitter(first: int) -> None:
        try:
            for n in range(first, count, emitters):
                pause = started + n / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                with ctx.factory() as session:
                    emit(session, group.org_ids[n % len(group.org_ids)], EVENT_TYPE, PAYLOAD)
                    session.commit()
        except BaseException as error:  # noqa: BLE001 — reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=emitter, args=(k,), daemon=True) for k in range(emitters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    emitted = time.perf_counter() - started
    expected = count * len(group.endpoint_ids) // len(group.org_ids)
    total, _stats = wait_delivered(ctx, start_id, expected, started)
    arrivals = ctx.receiver.arrivals()
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(WebhookMessage.public_id, WebhookEvent.created_at)
                            .join(WebhookEvent, WebhookEvent.id == WebhookMessage.event_id)
                            .where(WebhookMessage.id > start_id)).all()
    waits = sorted((arrivals[public_id] - created.timestamp()) * 1000 for public_id, created in rows)
    p = statistics.quantiles(waits, n=100, method="inclusive")
    return Result(name, expected, total, emitted,
                  extra={"p50_ms": p[49], "p95_ms": p[94], "p99_ms": p[98], "max_ms": waits[-1],
                         "achieved_rate": count / emitted, "requested_rate": rate,
                         "emitters": emitters})
