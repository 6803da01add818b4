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
from rq import Queue, Worker
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


class AppWorker(Worker):
    """An RQ worker whose forked work horses get fresh database connections.

    A connection inherited across fork() is shared with the parent and corrupts
    both; `dispose(close=False)` drops the inherited pool without closing the
    parent's sockets, as SQLAlchemy's docs prescribe for multiprocessing.
    """

    flask_app: Flask | None = None

    def main_work_horse(self, job, queue):
        if self.flask_app is not None:
            self.flask_app.extensions["db"].engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def run_worker(app: Flask, burst: bool = False, queues: list[str] | None = None) -> bool:
    """Process jobs until stopped (or until the queues are empty with `burst`)."""
    names = queues or list(app.config["RQ_QUEUES"])
    # Fail at start, not at the first job, when the database is unreachable. (This
    # also leaves a pooled connection in the parent: AppWorker keeps horses off it.)
    with app.extensions["db"].engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    # Configure the ORM once here, not again in every forked work horse.
    configure_mappers()
    with app.app_context():
        connection = get_redis()
        worker = AppWorker([Queue(n, connection=connection) for n in names], connection=connection)
        worker.flask_app = app
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
