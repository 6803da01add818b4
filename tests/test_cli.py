"""`flask` commands: seed-demo, create-admin, create-api-key.

Most run through Flask's CLI runner against the test app; one runs the real
`flask --app wsgi create-api-key` process to prove the last-line contract that
scripts rely on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.accounts.models import Organization, User
from app.accounts.service import authenticate
from app.demo import DEMO_PASSWORD, USERS
from app.billing.models import Plan, Subscription
from app.rental.models import Instance
from app.security.models import ApiKey

REPO_ROOT = Path(__file__).resolve().parents[1]
COUNTED = (Organization, User, Instance, Subscription, Plan)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def counts(db) -> dict[str, int]:
    db.expire_all()
    return {model.__name__: db.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def api_key_count(db) -> int:
    return db.scalar(select(func.count()).select_from(ApiKey))


# seed-demo

def test_seed_demo_is_idempotent(cli, db):
    first = cli("seed-demo")
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output
    after_first = counts(db)
    assert all(after_first.values()), after_first

    second = cli("seed-demo")
    assert second.exit_code == 0, second.output
    assert counts(db) == after_first

    for email, *_ in USERS:
        assert authenticate(db, email, DEMO_PASSWORD, "127.0.0.1") is not None, email
    db.rollback()


def test_seed_demo_repairs_what_was_removed(cli, db):
    assert cli("seed-demo").exit_code == 0
    expected = counts(db)
    instance = db.scalars(select(Instance).order_by(Instance.id)).first()
    db.delete(instance)
    db.commit()

    again = cli("seed-demo")
    assert again.exit_code == 0, again.output
    assert counts(db) == expected


# create-admin

def test_create_admin(cli, db):
    result = cli("create-admin", "Ops@Matrix.test", "--password", "a long enough password")
    assert result.exit_code == 0, result.output

    user = db.scalars(select(User).where(User.email == "ops@matrix.test")).one()
    assert user.is_admin is True
    assert user.org_id is None and user.role is None
    assert authenticate(db, "ops@matrix.test", "a long enough password", "127.0.0.1") is not None
    db.rollback()


def test_create_admin_refuses_a_duplicate_email(cli, db):
    assert cli("create-admin", "ops@matrix.test", "--password", "a long enough password").exit_code == 0

    again = cli("create-admin", "OPS@matrix.test", "--password", "another long password")
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_create_admin_refuses_a_short_password(cli, db):
    result = cli("create-admin", "ops@matrix.test", "--password", "short-pass1")  # 11 characters
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert db.scalar(select(func.count()).select_from(User)) == 0


# create-api-key

def test_create_api_key_prints_a_working_secret_last(app, demo, cli):
    result = cli("create-api-key", "acme", "CI deploys", "--scope", "read", "--scope", "write")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("mtx_sk_") and " " not in secret

    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["organization"]["slug"] == "acme"
    assert body["api_key"]["scopes"] == ["read", "write"]
    assert body["api_key"]["name"] == "CI deploys"


def test_create_api_key_defaults_to_read(app, demo, cli):
    result = cli("create-api-key", "globex", "dashboards")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.get_json()["organization"]["slug"] == "globex"
    assert response.get_json()["api_key"]["scopes"] == ["read"]


def test_create_api_key_unknown_org(demo, cli):
    result = cli("create-api-key", "no-such-org", "key")
    assert result.exit_code != 0
    assert "no-such-org" in result.output
    assert api_key_count(demo) == 0


def test_create_api_key_unknown_scope(demo, cli):
    result = cli("create-api-key", "acme", "key", "--scope", "admin")
    assert result.exit_code != 0
    assert "admin" in result.output
    assert api_key_count(demo) == 0


def test_create_api_key_real_command_last_line_is_the_secret(app, demo, database_url, redis_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, APP_ENV="testing", SECRET_KEY="x",
               INSTANCE_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "create-api-key", "acme", "nightly export",
         "--scope", "read", "--scope", "write"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    secret = lines[-1]
    assert secret.startswith("mtx_sk_") and secret == secret.strip(), done.stdout
    assert secret not in "\n".join(lines[:-1]), "the secret must appear once, alone on the last line"
    # Logging goes to stderr, never between the secret and the end of stdout.
    assert "mtx_sk_" not in done.stderr

    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["organization"]["slug"] == "acme"
    assert body["api_key"]["scopes"] == ["read", "write"]
