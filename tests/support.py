"""Test helpers: a test client that behaves like a browser with forms and CSRF."""
from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select

from app.demo import DEMO_PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[1]

_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CSRF_HEADER = re.compile(r'hx-headers="([^"]+)"')


def csrf_token_from(page: str) -> str:
    """The CSRF token a page carries (hidden input, else the htmx header on <body>)."""
    match = _CSRF_INPUT.search(page)
    if match:
        return match.group(1)
    match = _CSRF_HEADER.search(page)
    if match:
        import json

        return json.loads(html.unescape(match.group(1)))["X-CSRFToken"]
    raise AssertionError("no CSRF token on the page")


class PortalClient:
    """Wraps Flask's test client: log in through the form, post with CSRF tokens."""

    def __init__(self, app, remote_addr: str = "203.0.113.10"):
        self.app = app
        self.http: FlaskClient = app.test_client()
        self.http.environ_base["REMOTE_ADDR"] = remote_addr

    def get(self, path, **kwargs):
        return self.http.get(path, **kwargs)

    def csrf_token(self, path: str = "/login") -> str:
        return csrf_token_from(self.get(path, follow_redirects=True).get_data(as_text=True))

    def post_form(self, path: str, data: dict | None = None, token_from: str | None = None, **kwargs):
        """POST a form with the CSRF token the page at `token_from` (or `path`) carries."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from or path))
        return self.http.post(path, data=data, **kwargs)

    def login(self, email: str, password: str = DEMO_PASSWORD, totp_secret: str | None = None):
        """Sign in through the form; with `totp_secret`, also pass the 2FA step with a fresh code."""
        response = self.post_form("/login", {"email": email, "password": password})
        if totp_secret is None:
            return response
        assert "/login/two-factor" in response.headers.get("Location", ""), response.headers
        return self.post_form("/login/two-factor", {"code": fresh_totp_code(self.app, email, totp_secret)})

    def login_admin(self, email: str = "admin@matrix.test"):
        """Admins must use 2FA: enrol (once) and sign in with a code."""
        return self.login(email, totp_secret=enrol_two_factor(self.app, email))

    def logout(self):
        return self.http.post("/logout", data={"csrf_token": self.csrf_token("/")})

    def htmx(self, method: str, path: str, token_from: str, **kwargs):
        """An htmx request: HX-Request header, CSRF token in X-CSRFToken as hx-headers sends it."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf_token(token_from)}
        headers.update(kwargs.pop("headers", {}))
        return self.http.open(path, method=method, headers=headers, **kwargs)

    def session_cookie(self) -> str | None:
        cookie = self.http.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        return cookie.value if cookie else None

    def set_session_cookie(self, value: str) -> None:
        self.http.set_cookie(self.app.config["SESSION_COOKIE_NAME"], value)


def enrol_two_factor(app, email: str) -> str:
    """Turn 2FA on for `email` through the service (arrangement); returns the secret.

    Idempotent: an enrolled user's secret is read back.
    """
    from app import crypto
    from app.accounts.service import find_user_by_email
    from app.security import two_factor

    with app.app_context():
        session = app.extensions["db"].session()
        try:
            user = find_user_by_email(session, email)
            existing = two_factor.credential(session, user.id)
            if existing is not None and existing.enabled_at is not None:
                return crypto.decrypt(existing.secret_ciphertext)
            secret = two_factor.start_setup(session, user).secret
            two_factor.confirm_setup(session, user, pyotp.TOTP(secret).now())
            session.commit()
            return secret
        finally:
            session.close()


def fresh_totp_code(app, email: str, secret: str) -> str:
    """A code the server has not seen yet (arrangement for tests that are not about replay).

    Codes are single-use per 30-second step and the window is ±1 step; when a
    test signs the same user in more often than that allows, the stored last
    step is moved back rather than the test waiting for real time to pass.
    The step is never behind the current one: a 30-second boundary passing
    between here and the server's check must leave the code inside the window
    (a code for the previous step would then be two behind and refused).
    """
    from sqlalchemy import update

    from app import clock
    from app.accounts.service import find_user_by_email
    from app.security import totp
    from app.security.models import TotpCredential

    session = app.extensions["db"].session()
    try:
        user = find_user_by_email(session, email)
        last = session.scalar(select(TotpCredential.last_used_step).where(TotpCredential.user_id == user.id))
        now_step = totp.current_step(clock.utcnow())
        step = now_step if last is None else max(now_step, last + 1)
        if step > now_step + 1:
            session.execute(update(TotpCredential).where(TotpCredential.user_id == user.id)
                            .values(last_used_step=now_step - 1))
            session.commit()
            step = now_step
        return pyotp.TOTP(secret).generate_otp(step)
    finally:
        session.close()


def user(session, email: str):
    """The user row as the database has it now (earlier loads forgotten)."""
    from app.accounts.models import User

    session.expire_all()
    return session.scalars(select(User).where(User.email == email)).one()


def org(session, slug: str):
    """The organization row as the database has it now."""
    from app.accounts.models import Organization

    session.expire_all()
    return session.scalars(select(Organization).where(Organization.slug == slug)).one()


def flask_env(database_url: str, redis_url: str, instance_dir) -> dict[str, str]:
    """The environment a deployed worker or scheduler would get."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="testing",
               SECRET_KEY="test-secret-key", INSTANCE_DIR=str(instance_dir))
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def spawn_worker(database_url: str, redis_url: str, instance_dir, log_path, **env) -> subprocess.Popen:
    """A real `flask worker` process in its own session, configured like the test
    apps (same SECRET_KEY, so it can decrypt webhook secrets) plus `env`."""
    environment = flask_env(database_url, redis_url, instance_dir)
    environment.update(WEBHOOK_ALLOW_PRIVATE="127.0.0.1", **env)
    return subprocess.Popen(flask_command("worker"), cwd=REPO_ROOT, env=environment, start_new_session=True,
                            stdout=Path(log_path).open("w"), stderr=subprocess.STDOUT)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (RQ's work horse runs in its own process group)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process and everything below it."""
    for victim in [pid, *descendants(pid)]:
        try:
            os.kill(victim, sig)
        except ProcessLookupError:
            pass


def race(app, work, arguments: list, timeout: float = 120) -> list:
    """Run `work(session, argument)` for every argument at once: one thread and one database session each, let go
    together by a barrier, each committing what it did. Returns, in the order of `arguments`, what each call
    returned or the exception it raised (its session rolled back). A thread still running after `timeout` fails
    the test: a race that hangs is a finding, not a pass."""
    import threading

    barrier = threading.Barrier(len(arguments))
    outcomes: list = [None] * len(arguments)

    def run(index: int, argument) -> None:
        session = app.extensions["db"].session()
        try:
            barrier.wait(timeout=30)
            outcomes[index] = work(session, argument)
            session.commit()
        except BaseException as error:  # noqa: BLE001 — any failure is the test's finding
            session.rollback()
            outcomes[index] = error
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(index, argument)) for index, argument in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing call hung"
    return outcomes


def failures(outcomes: list) -> list[BaseException]:
    """The exceptions among `race`'s outcomes."""
    return [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
