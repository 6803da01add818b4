"""The RQ worker and the scheduler, for real: a redis-server, the migrated
databases, and `flask worker` / `flask scheduler` run as separate processes."""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta

import pytest
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job, JobStatus
from sqlalchemy import select

from app import clock
from app.accounts import sessions
from app.accounts.jobs import expire_sessions
from app.accounts.models import UserSession
from app.accounts.service import create_user
from app.jobs import SchedulerAlreadyRunning, build_scheduler, enqueue
from app.schedule import PERIODIC_JOBS
from tests.conftest import make_test_app
from tests.support import REPO_ROOT, flask_command, flask_env

EXPIRE_SESSIONS = "app.accounts.jobs.expire_sessions"


def snapshot(db) -> list[tuple]:
    db.expire_all()
    rows = db.scalars(select(UserSession).order_by(UserSession.id))
    return [(r.id, r.revoked_at, r.revoked_reason) for r in rows]


@pytest.fixture
def user_id(db):
    user = create_user(db, "worker-test@matrix.test", "a long enough password", is_admin=True)
    db.commit()
    return user.id


def start_session(db, user_id: int, *, idle_for: timedelta = timedelta(0),
                  age: timedelta | None = None) -> int:
    """A session row whose last_seen_at is `idle_for` ago (created `age` ago).

    The worker runs in another process, so app.clock cannot move its time:
    the timestamps go on the row instead."""
    token = sessions.start(db, user_id, "203.0.113.7", "pytest")
    db.flush()
    row = db.scalars(select(UserSession).where(UserSession.token_hash == sessions._hash(token))).one()
    now = clock.utcnow()
    row.last_seen_at = now - idle_for
    row.created_at = now - (age if age is not None else idle_for)
    db.commit()
    return row.id


def test_worker_process_runs_expire_sessions(app, db, user_id, redis_url, database_url, tmp_path):
    idle = start_session(db, user_id, idle_for=timedelta(hours=2))
    live = start_session(db, user_id, idle_for=timedelta(minutes=1))
    db.close()

    with app.app_context():
        job = enqueue(expire_sessions, queue_name="low")
    assert Queue("low", connection=app.extensions["redis"]).count == 1

    done = subprocess.run(flask_command("worker", "--burst"), cwd=REPO_ROOT,
                          env=flask_env(database_url, redis_url, tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

    job = Job.fetch(job.id, connection=app.extensions["redis"])
    assert job.get_status() == JobStatus.FINISHED, done.stdout + done.stderr
    assert job.return_value() == {"expired": 1, "purged": 0}
    assert Queue("low", connection=app.extensions["redis"]).count == 0

    rows = {r.id: r for r in db.scalars(select(UserSession))}
    assert rows[idle].revoked_at is not None
    assert rows[idle].revoked_reason == "expired_idle"
    assert rows[live].revoked_at is None and rows[live].revoked_reason is None


def test_expire_sessions_is_idempotent(app, db, user_id):
    idle = start_session(db, user_id, idle_for=timedelta(hours=1))
    too_old = start_session(db, user_id, idle_for=timedelta(minutes=5), age=timedelta(hours=13))
    live = start_session(db, user_id, idle_for=timedelta(minutes=5))
    long_revoked = start_session(db, user_id)
    row = db.get(UserSession, long_revoked)
    row.revoked_at, row.revoked_reason = clock.utcnow() - timedelta(days=31), "logout"
    db.commit()

    with app.app_context():
        first = expire_sessions()
        after_first = snapshot(db)
        second = expire_sessions()
        after_second = snapshot(db)

    assert first == {"expired": 2, "purged": 1}
    assert second == {"expired": 0, "purged": 0}
    assert after_second == after_first
    states = {row_id: reason for row_id, _, reason in after_first}
    assert states == {idle: "expired_idle", too_old: "expired_absolute", live: None}


@pytest.fixture
def redis_app(redis_url, tmp_path):
    """An app for tests that only need Redis (the scheduler never touches the database)."""
    application = make_test_app(f"sqlite:///{tmp_path / 'unused.db'}", redis_url, tmp_path)
    application.extensions["redis"].flushdb()
    yield application
    application.extensions["redis"].flushdb()
    application.extensions["db"].engine.dispose()


def test_build_scheduler_registers_every_periodic_job(redis_app):
    scheduler = build_scheduler(redis_app)
    registered = scheduler.get_jobs()
    assert [job.name for job in registered] == [p.name for p in PERIODIC_JOBS]
    for job, periodic in zip(registered, PERIODIC_JOBS):
        assert job.func is periodic.func
        assert job.queue_name == periodic.queue
        assert (job.interval, job.cron) == (periodic.interval, periodic.cron)
        assert periodic.queue in redis_app.config["RQ_QUEUES"]


def test_scheduler_enqueues_each_periodic_job_once_on_its_queue(redis_app):
    redis = redis_app.extensions["redis"]
    scheduler = build_scheduler(redis_app)
    # Interval jobs are due at once; cron jobs (the daily exchange-rate refresh) wait for their time.
    due = [periodic for periodic in PERIODIC_JOBS if periodic.interval]

    enqueued = scheduler.enqueue_jobs()

    assert sorted(job.name for job in enqueued) == sorted(p.name for p in due)
    assert "expire-sessions" in [job.name for job in enqueued]
    for periodic in due:
        queue = Queue(periodic.queue, connection=redis)
        funcs = [Job.fetch(job_id, connection=redis).func_name for job_id in queue.job_ids]
        assert funcs.count(f"{periodic.func.__module__}.{periodic.func.__name__}") == 1
    assert sum(Queue(q, connection=redis).count for q in ("high", "default", "low")) == len(due)
    # Not due again until its interval has passed.
    assert scheduler.enqueue_jobs() == []


def test_flask_scheduler_starts_enqueues_and_stops_on_sigterm(redis_app, redis_url, tmp_path):
    redis = redis_app.extensions["redis"]
    low = Queue("low", connection=redis)
    # A server whose local time is not UTC: the schedule's cron times are UTC all the same.
    env = {**flask_env(f"sqlite:///{tmp_path / 'unused.db'}", redis_url, tmp_path), "TZ": "Asia/Tokyo"}
    proc = subprocess.Popen(flask_command("scheduler"), cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while low.count == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, f"scheduler exited early:\n{proc.stdout.read()}"
        assert low.count >= 1, "the scheduler enqueued nothing within 10 s"
        assert Job.fetch(low.job_ids[0], connection=redis).func_name == EXPIRE_SESSIONS
        [running] = CronScheduler.all(redis)
        [refresh] = [job for job in running.get_jobs() if job.name == "refresh-exchange-rates"]
        assert (refresh.next_enqueue_time.hour, refresh.next_enqueue_time.minute) == (16, 30)  # "30 16 * * *" UTC
        # A second scheduler would enqueue everything twice: it is refused.
        with pytest.raises(SchedulerAlreadyRunning):
            build_scheduler(redis_app)

        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("the scheduler did not stop within 10 s of SIGTERM")
        output = proc.stdout.read()
        assert code == 0, output
        # It said goodbye: no stale scheduler left in the registry.
        assert CronScheduler.all(redis) == [], output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_worker_refuses_to_start_without_a_database(redis_url, tmp_path):
    from tests.conftest import free_port

    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    proc = subprocess.run(flask_command("worker", "--burst"), cwd=REPO_ROOT, capture_output=True, text=True,
                          env=flask_env(unreachable, redis_url, tmp_path), timeout=60)
    assert proc.returncode != 0
    assert "Cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:" in proc.stderr
    assert "Traceback" not in proc.stderr
