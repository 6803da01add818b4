"""`--timing`: where the workers' time goes inside a delivery job.

bench/worker_app.py wraps the delivery job and its three steps (claim, send,
record) in the worker process; each wrapper adds its wall time to a Redis hash
that the driver reads, and resets, around every scenario.
"""
from __future__ import annotations

import functools
import time

TIMING_KEY = "bench:timing"


def _timed(name: str, func):
    from app.extensions import get_redis

    @functools.wraps(func)  # keeps the name RQ enqueues jobs under
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            pipe = get_redis().pipeline(transaction=False)
            pipe.hincrbyfloat(TIMING_KEY, f"{name}_s", time.perf_counter() - started)
            pipe.hincrby(TIMING_KEY, f"{name}_n", 1)
            pipe.execute()
    return wrapper


def install() -> None:
    """Time deliver_endpoint and dispatch.claim/send_batch/record in this (worker) process."""
    from app.webhooks import dispatch, jobs

    dispatch.claim = _timed("claim", dispatch.claim)
    dispatch.send_batch = _timed("send", dispatch.send_batch)
    dispatch.record = _timed("record", dispatch.record)
    jobs.deliver_endpoint = _timed("job", jobs.deliver_endpoint)


def read(redis) -> dict[str, float]:
    """Seconds and calls per step since the last read (then reset)."""
    pipe = redis.pipeline()
    pipe.hgetall(TIMING_KEY)
    pipe.delete(TIMING_KEY)
    raw, _ = pipe.execute()
    return {key.decode(): float(value) for key, value in raw.items()}
