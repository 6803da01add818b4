"""Queues, the enqueue helper, and the worker and scheduler entry points.

Jobs take ids, load fresh state and are safe to run twice. Enqueue only after
the transaction that recorded the work has committed (outbox); Redis is never
the only record of work that must happen.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Callable, Iterator

from flask import Flask, current_app
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import text
from sqlalchemy.orm import Session, configure_mappers

from app.extensions import get_redis

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"


def queue(name: str = DEFAULT_QUEUE) -> Queue:
    if name not in current_app.config["RQ_QUEUES"]:
        raise ValueError(f"Unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def enqueue(func: Callable, *args, queue_name: str = DEFAULT_QUEUE, **kwargs):
    """Put `func(*args, **kwargs)` on a queue. Call after commit, with ids as args."""
    return queue(queue_name).enqueue(func, *args, **kwargs)


@contextmanager
def job_session() -> Iterator[Session]:
    """A database session for a job; the job commits what it means to keep."""
    session = current_app.extensions["db"].session()
    try:
        yield session
    finally:
        session.close()


class AppWorker(SimpleWorker):
    """An RQ worker that runs jobs in its own process instead of forking a work
    horse per job.

    A fork costs more than most of our jobs (a webhook batch takes tens of
    milliseconds) and throws away what makes the next job fast: the pooled
    database connection, the kept-alive connections to webhook receivers,
    configured mappers. Job timeouts still apply (RQ's SIGALRM death penalty),
    and a job that dies with its worker is the sweeper's to redo.
    """


def run_worker(app: Flask, burst: bool = False, queues: list[str] | None = None) -> bool:
    """Process jobs until stopped (or until the queues are empty with `burst`)."""
    names = queues or list(app.config["RQ_QUEUES"])
    # Fail at start, not at the first job, when the database is unreachable.
    with app.extensions["db"].engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    configure_mappers()
    with app.app_context():
        connection = get_redis()
        worker = AppWorker([Queue(n, connection=connection) for n in names], connection=connection)
        return worker.work(burst=burst, with_scheduler=True)


class SchedulerAlreadyRunning(RuntimeError):
    """Two schedulers would enqueue every periodic job twice."""


def build_scheduler(app: Flask) -> CronScheduler:
    """A CronScheduler with every periodic job from app.schedule registered.

    Refuses to build a second one while another is alive (RQ keeps a registry of
    live cron schedulers with heartbeats; dead entries are cleaned up first).
    """
    from app.schedule import PERIODIC_JOBS

    connection = app.extensions["redis"]
    running = CronScheduler.all(connection)
    if running:
        raise SchedulerAlreadyRunning(
            f"Another scheduler is already running ({running[0].name}); run only one per Redis.")
    scheduler = CronScheduler(connection=connection)
    for periodic in PERIODIC_JOBS:
        scheduler.register(periodic.func, queue_name=periodic.queue, interval=periodic.interval,
                           cron=periodic.cron, name=periodic.name)
    return scheduler
