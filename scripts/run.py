"""`make run`: migrate, seed the demo, then run web + worker + scheduler together.

With no REDIS_URL a private redis-server is started on a free port. With no
STRIPE_API_BASE payments go to a private localstripe (a fake Stripe, state in
memory) on a free port, with throwaway keys, and its webhook sender is pointed
at our `/api/webhooks/stripe` once the web server listens. Ctrl-C (or any of
the processes dying) stops them all.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
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


def start_private_redis(processes: list[subprocess.Popen]) -> str:
    """A redis-server on a free port, added to `processes` before waiting so it is stopped even if it hangs."""
    port = free_port()
    data_dir = ROOT / "instance" / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    processes.append(subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(data_dir), "--loglevel", "warning"],
    ))
    wait_for_port(port)
    return f"redis://127.0.0.1:{port}/0"


LOCALSTRIPE_LOG = ROOT / "instance" / "localstripe.log"
WEBHOOK_ID = "matrix-portal"


def start_localstripe(processes: list[subprocess.Popen]) -> str:
    """scripts/localstripe_server.py on a free port (added to `processes` like Redis); its request
    log goes to instance/localstripe.log, not the terminal."""
    port = free_port()
    LOCALSTRIPE_LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOCALSTRIPE_LOG.open("ab") as log:
        processes.append(subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT))
    wait_for_port(port)
    return f"http://127.0.0.1:{port}"


def localstripe_settings(base: str) -> dict[str, str]:
    """The Stripe settings for web, worker and scheduler: localstripe, throwaway keys."""
    return {"STRIPE_API_BASE": base, "STRIPE_SECRET_KEY": f"sk_test_local_{secrets.token_hex(12)}",
            "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_urlsafe(24)}"}


def register_stripe_webhook(base: str, url: str, secret: str) -> None:
    """Point localstripe's webhook sender at `url`, signing with `secret` (as Stripe's dashboard would)."""
    form = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/_config/webhooks/{WEBHOOK_ID}", data=form),
                                timeout=10) as response:
        response.read()


def banner(port: str, localstripe: str | None = None) -> str:
    logins = "\n".join(f"    {email:<22} ({'admin' if slug is None else slug + ' ' + role})"
                       for email, _name, slug, role in USERS)
    payments = (f"  Payments go to localstripe (a fake Stripe, nothing real is charged) at {localstripe};\n"
                f"  its events come back to /api/webhooks/stripe. Test card: pm_card_visa "
                f"(declined: pm_card_visa_chargeDeclined).\n" if localstripe else "")
    return (f"\n  Matrix Portal is running at http://127.0.0.1:{port}/\n"
            f"  Demo logins (password: {DEMO_PASSWORD}):\n{logins}\n{payments}"
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
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    port = env.get("PORT", "5000")
    host = env.get("HOST", "127.0.0.1")
    localstripe = None
    try:
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_private_redis(processes)
            print(f"Started a private redis-server at {env['REDIS_URL']}")
        if not env.get("STRIPE_API_BASE"):
            localstripe = start_localstripe(processes)
            env.update(localstripe_settings(localstripe))
            print(f"Started localstripe at {localstripe} (log: {LOCALSTRIPE_LOG.relative_to(ROOT)})")
        subprocess.run(flask + ["db", "upgrade"], env=env, check=True)
        subprocess.run(flask + ["seed-demo"], env=env, check=True)
        # The SLA pages' demo traffic (with an outage), written once: a restart adds no second outage.
        subprocess.run(flask + ["simulate-metrics", "--if-empty"], env=env, check=True)
        # Cost advice from that traffic now, rather than at the daily job's 03:15 UTC.
        subprocess.run(flask + ["recompute-advice"], env=env, check=True)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", "2",
             "--threads", "4", "--access-logfile", "-", "wsgi:app"], env=env))
        processes.append(subprocess.Popen(flask + ["worker"], env=env))
        processes.append(subprocess.Popen(flask + ["scheduler"], env=env))
        wait_for_port(int(port), timeout=30)
        if localstripe:
            register_stripe_webhook(localstripe, f"http://127.0.0.1:{port}/api/webhooks/stripe",
                                    env["STRIPE_WEBHOOK_SECRET"])
        print(banner(port, localstripe), flush=True)
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
    except OSError as error:  # localstripe refused the webhook registration
        print(f"Could not point localstripe's webhooks at the portal: {error}", file=sys.stderr)
        return 1
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
