"""The benchmark's real components: a private redis-server, a database of its
own (PostgreSQL if reachable, else SQLite), the receiver process and N RQ
worker processes (bench/meters.py watches their memory and CPU).

Every child runs in a session of its own (Ctrl-C reaches only the driver, which
then stops them in order) and gets SIGTERM if the driver dies (PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import ctypes
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from redis import Redis
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _child_setup() -> None:
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """The children we started; stop() ends them (and their groups) newest first."""

    def __init__(self):
        self.started: list[tuple[str, subprocess.Popen]] = []

    def pid(self, name: str) -> int:
        return next(proc.pid for n, proc in self.started if n == name)

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(args, preexec_fn=_child_setup, **kwargs)
        self.started.append((name, proc))
        return proc

    def stop(self, name_prefix: str = "", timeout: float = 10.0) -> None:
        chosen = [(n, p) for n, p in self.started if n.startswith(name_prefix)]
        for _name, proc in reversed(chosen):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for _name, proc in reversed(chosen):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group: an RQ work horse or scheduler left behind
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        self.started = [(n, p) for n, p in self.started if (n, p) not in chosen]


def git_commit() -> str:
    """The commit measured, and whether app/ had uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "migrations"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + uncommitted changes in app/ or migrations/" if dirty else "")


def start_redis(procs: Processes, data_dir: Path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (`make test` installs it).")
    port = free_port()
    procs.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", str(data_dir), "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            return url
        except Exception:  # noqa: BLE001 — still starting
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def postgres_reachable(admin_url: str = DEFAULT_PG) -> bool:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


class PostgresDatabase:
    """A fresh `matrix_bench_…` database, dropped by drop()."""

    def __init__(self, admin_url: str = DEFAULT_PG):
        admin = make_url(admin_url)
        self.conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        self.name = f"matrix_bench_{secrets.token_hex(4)}"
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
            self.version = conn.execute("SHOW server_version").fetchone()[0]
        self.url = admin.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ReceiverProcess:
    """bench/receiver.py in its own process, and a client for its control paths."""

    def __init__(self, procs: Processes):
        self.proc = procs.start("receiver", [sys.executable, "-m", "bench.receiver"], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip():
            raise SystemExit("the receiver did not start")
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}"
        self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def _call(self, method: str, path: str) -> dict:
        try:
            self._conn.request(method, path)
            response = self._conn.getresponse()
        except (http.client.HTTPException, OSError):
            self._conn.close()  # reconnect once
            self._conn.request(method, path)
            response = self._conn.getresponse()
        return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("GET", "/_stats")

    def arrivals(self) -> dict[str, float]:
        return self._call("GET", "/_arrivals")

    def reset(self) -> None:
        self._call("POST", "/_reset")


def start_workers(procs: Processes, count: int, env: dict, app_module: str, log_dir: Path,
                  redis_url: str) -> list[subprocess.Popen]:
    """`flask --app <module> worker` × count; waits until all have registered."""
    from rq import Worker

    workers = []
    for n in range(count):
        log = open(log_dir / f"worker-{n}.log", "w")  # noqa: SIM115 — lives as long as the worker
        workers.append(procs.start(f"worker-{n}", [sys.executable, "-m", "flask", "--app", app_module, "worker"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + 60
    while Worker.count(connection=redis) < count:
        for n, proc in enumerate(workers):
            if proc.poll() is not None:
                raise SystemExit(f"worker {n} exited; see {log_dir / f'worker-{n}.log'}:\n"
                                 + (log_dir / f"worker-{n}.log").read_text()[-2000:])
        if time.monotonic() > deadline:
            raise SystemExit("the RQ workers did not register within 60 s")
        time.sleep(0.1)
    return workers
