"""`make run`: migrate, seed the demo, then run web + worker + scheduler together.

With no REDIS_URL a private redis-server is started on a free port. Ctrl-C (or
any of the processes dying) stops them all.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.demo import DEMO_PASSWORD, USERS  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"Nothing answered on port {port} within {timeout:.0f}s")


def start_private_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    data_dir = ROOT / "instance" / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(data_dir), "--loglevel", "warning"],
    )
    wait_for_port(port)
    return proc, f"redis://127.0.0.1:{port}/0"


def banner(port: str) -> str:
    logins = "\n".join(f"    {email:<22} ({'admin' if slug is None else slug + ' ' + role})"
                       for email, _name, slug, role in USERS)
    return (f"\n  Matrix Portal is running at http://127.0.0.1:{port}/\n"
            f"  Demo logins (password: {DEMO_PASSWORD}):\n{logins}\n"
            "  Web, worker and scheduler are running. Press Ctrl-C to stop them all.\n")


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Stop in reverse start order, so Redis outlives the worker that uses it."""
    deadline = time.monotonic() + 10
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    os.chdir(ROOT)
    env = os.environ.copy()
    processes: list[subprocess.Popen] = []
    if not env.get("REDIS_URL"):
        redis_proc, env["REDIS_URL"] = start_private_redis()
        processes.append(redis_proc)
        print(f"Started a private redis-server at {env['REDIS_URL']}")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    port = env.get("PORT", "5000")
    host = env.get("HOST", "127.0.0.1")
    try:
        subprocess.run(flask + ["db", "upgrade"], env=env, check=True)
        subprocess.run(flask + ["seed-demo"], env=env, check=True)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", "2",
             "--threads", "4", "--access-logfile", "-", "wsgi:app"], env=env))
        processes.append(subprocess.Popen(flask + ["worker"], env=env))
        processes.append(subprocess.Popen(flask + ["scheduler"], env=env))
        wait_for_port(int(port), timeout=30)
        print(banner(port), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(proc.poll() is None for proc in processes):
            time.sleep(0.5)
        dead = [proc.args for proc in processes if proc.poll() is not None]
        print(f"A process stopped ({dead[0][:4]}…); stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    except subprocess.CalledProcessError as error:
        print(f"Setup step failed: {' '.join(map(str, error.cmd))}", file=sys.stderr)
        return 1
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
