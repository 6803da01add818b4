"""Fixtures for real components: SQLite and PostgreSQL, a private Redis, apps, clients.

Outside CI a missing PostgreSQL or redis-server skips the tests that need it
(with the reason); with CI=true it fails them.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from app import clock, create_app
from app.db import Base
from app.migrate import upgrade
from tests.support import PortalClient

pytest_plugins = ["tests.webhooks.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def unavailable(component: str, reason: str):
    """Skip locally, fail in CI: CI must never go green without a real component."""
    message = f"{component} is not available: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing component is a failure)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private redis-server on a free port (or TEST_REDIS_URL), flushed freely."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", "not installed (make test installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis")), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except Exception:  # noqa: BLE001 — still starting
            time.sleep(0.05)
    else:
        proc.kill()
        unavailable("redis-server", "did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the PostgreSQL server, dropped at the end."""
    admin_url = make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG))
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"matrix_test_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", str(error).strip().splitlines()[0])
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """Each database test runs on SQLite and on PostgreSQL, schema built by the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


STRIPE_WEBHOOK_SECRET = "whsec_test_matrix_portal"


@dataclass(frozen=True)
class StripeServer:
    """A running localstripe (scripts/localstripe_server.py) and how to reach it."""

    url: str

    def config(self) -> dict:
        """App settings that point the stripe SDK at this server."""
        return {"STRIPE_API_BASE": self.url, "STRIPE_SECRET_KEY": "sk_test_matrix",
                "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET}


@pytest.fixture(scope="session")
def stripe_server():
    """localstripe as a subprocess on a free port, for the whole session."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                unavailable("localstripe", f"exited with {proc.returncode}")
            time.sleep(0.05)
    else:
        proc.kill()
        unavailable("localstripe", "did not start listening")
    yield StripeServer(url)
    proc.terminate()
    proc.wait(timeout=10)


def make_test_app(database_url: str, redis_url: str, instance_dir, **overrides):
    config = {
        "APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "INSTANCE_DIR": str(instance_dir),
        # Cheap argon2id so the suite stays fast; the algorithm is the same.
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
        # Webhook receivers in tests listen on 127.0.0.1 over plain http, as an
        # on-premises receiver would be allowed to; SSRF tests build their own
        # policy. Short timeouts keep "the receiver hangs" tests quick.
        "WEBHOOK_ALLOW_PRIVATE": "127.0.0.1", "WEBHOOK_TIMEOUT": 2.0, "WEBHOOK_CONNECT_TIMEOUT": 1.0,
    }
    config.update(overrides)
    return create_app(config)


def wipe(app) -> None:
    """Empty every table (children first) and Redis, so tests do not leak state."""
    engine = app.extensions["db"].engine
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    app.extensions["redis"].flushdb()


@pytest.fixture
def app(database_url, redis_url, tmp_path, stripe_server):
    """The app on each database, with Redis, pointed at localstripe."""
    application = make_test_app(database_url, redis_url, tmp_path, **stripe_server.config())
    wipe(application)
    yield application
    wipe(application)
    application.extensions["db"].engine.dispose()


@pytest.fixture(autouse=True)
def wall_clock_after_each_test():
    """A test that stopped or moved the clock never leaves it so for the next one
    (the browser tests' live servers and TOTP codes run on real time)."""
    yield
    clock.reset()


@pytest.fixture
def db(app):
    """A session on the app's database for arranging and checking rows."""
    session = app.extensions["db"].session()
    yield session
    session.close()


@pytest.fixture
def demo(app, db):
    """The demo data of `flask seed-demo`."""
    from app.demo import seed_demo

    seed_demo(db)
    db.commit()
    return db


@pytest.fixture
def client(app) -> PortalClient:
    return PortalClient(app)


@pytest.fixture
def make_client(app):
    """More browsers, e.g. one per user or one per address."""
    return lambda **kwargs: PortalClient(app, **kwargs)
