"""The audit trail: sign-ins and every 2FA event leave a row with the actor,
address and browser; no row holds a secret; rows cannot be rewritten, on
either database, while deleting what they point at only nulls the link.
"""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app import clock
from app.accounts.models import Organization
from app.accounts.service import create_user
from app.audit.models import AuditEvent
from app.audit.service import record
from app.security import api_keys
from tests.security.helpers import (STEP_SECONDS, audit_rows, body, oathtool_code, org, recovery_codes_on,
                                    setup_secret, user)
from tests.support import PortalClient

ALICE = "alice@acme.test"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
STEP = timedelta(seconds=STEP_SECONDS)


def _browser(app, address="203.0.113.10", agent=FIREFOX) -> PortalClient:
    client = PortalClient(app, remote_addr=address)
    client.http.environ_base["HTTP_USER_AGENT"] = agent
    return client


def test_sign_in_rows_carry_address_and_browser(app, demo):
    browser = _browser(app)
    assert browser.login(ALICE, "wrong-password").status_code == 401
    assert browser.login(ALICE).status_code == 302
    rows = [(r.action, r.actor_label, r.ip_address, r.user_agent) for r in audit_rows(demo)]
    assert rows == [("login.failed", ALICE, "203.0.113.10", FIREFOX),
                    ("login.succeeded", ALICE, "203.0.113.10", FIREFOX)]
    assert all(r.org_id == org(demo, "acme").id for r in audit_rows(demo))


def _two_factor_life(app, demo) -> dict:
    """Alice enrols, signs in, is replayed, uses a recovery code, gets locked out,
    comes back and turns 2FA off; an API key is made on the way. Returns every
    secret that passed through, for the scan."""
    browser, thief = _browser(app), _browser(app, "192.0.2.99", "curl/8.5.0")
    browser.login(ALICE)
    secret = setup_secret(body(browser.get("/client/security/two-factor")))
    codes = recovery_codes_on(body(browser.post_form("/client/security/two-factor", {"code": oathtool_code(secret)})))
    browser.logout()

    clock.advance(STEP)
    browser.login(ALICE)
    code = oathtool_code(secret)
    assert browser.post_form("/login/two-factor", {"code": code}).status_code == 302
    thief.login(ALICE)
    assert thief.post_form("/login/two-factor", {"code": code}).status_code == 401  # replay
    assert thief.post_form("/login/two-factor", {"recovery_code": codes[0]}).status_code == 302
    thief.logout()

    thief.login(ALICE)
    for _ in range(5):  # five wrong codes (the recovery code reset the count): locked
        thief.post_form("/login/two-factor", {"code": "000000"})
    assert thief.post_form("/login/two-factor", {"code": oathtool_code(secret)}).status_code == 429

    clock.advance(timedelta(minutes=15))
    browser.logout()
    browser.login(ALICE, "wrong-password")
    browser.login(ALICE)
    assert browser.post_form("/login/two-factor", {"code": oathtool_code(secret)}).status_code == 302
    clock.advance(STEP)
    browser.post_form("/client/security/two-factor/disable", {"code": oathtool_code(secret)},
                      token_from="/client/security")
    with app.app_context():
        key = api_keys.create(demo, org(demo, "acme").id, "deploy", ["read"], actor_label=ALICE).secret
    demo.commit()
    return {"totp secret": secret, "api key": key, "password": "demo-password",
            "wrong password": "wrong-password", **{f"recovery code {n}": c for n, c in enumerate(codes)}}


def test_two_factor_events_are_audited_with_the_actor_and_no_secret(app, demo, frozen):
    secrets = _two_factor_life(app, demo)
    alice = user(demo, ALICE)
    expected = ["two_factor.enabled", "two_factor.replay_refused", "two_factor.recovery_code_used",
                "two_factor.failed", "two_factor.locked", "two_factor.disabled", "login.failed", "api_key.created"]
    for action in expected:
        rows = audit_rows(demo, action)
        assert rows, f"no {action} row"
        assert all(r.actor_label == ALICE for r in rows), action
        assert all(r.org_id == alice.org_id for r in rows), action
    for action in ("two_factor.enabled", "two_factor.disabled", "two_factor.locked", "two_factor.replay_refused"):
        assert all(r.actor_user_id == alice.id and r.user_agent for r in audit_rows(demo, action)), action
    assert len(audit_rows(demo, "two_factor.locked")) == 1
    assert [r.ip_address for r in audit_rows(demo, "two_factor.replay_refused")] == ["192.0.2.99"]
    assert [r.user_agent for r in audit_rows(demo, "two_factor.recovery_code_used")] == ["curl/8.5.0"]

    for row in audit_rows(demo):
        written = json.dumps([row.action, row.actor_label, row.target, row.ip_address, row.user_agent,
                              row.details]).lower()
        for what, value in secrets.items():
            assert value.lower() not in written, f"{row.action} row contains the {what}"
            assert value.replace("-", "").lower() not in written, f"{row.action} row contains the {what}"


def _some_rows(demo):
    record(demo, "test.first", actor_label="someone", org_id=org(demo, "acme").id, details={"n": 1})
    record(demo, "test.second", actor_label="someone", details={"n": 2})
    demo.commit()


def test_rows_cannot_be_rewritten(demo):
    _some_rows(demo)
    for change in ({"action": "login.succeeded"}, {"actor_label": "someone-else"}, {"details": {"n": 0}},
                   {"ip_address": "127.0.0.1"}, {"user_agent": "forged"}, {"created_at": clock.utcnow()}):
        with pytest.raises(DBAPIError, match="append-only"):
            demo.execute(update(AuditEvent).values(**change))
        demo.rollback()
    assert [(r.action, r.actor_label, r.details, r.ip_address) for r in audit_rows(demo)] == [
        ("test.first", "someone", {"n": 1}, None), ("test.second", "someone", {"n": 2}, None)]


def test_raw_sql_cannot_rewrite_rows_either(demo):
    _some_rows(demo)
    with pytest.raises(DBAPIError, match="append-only"):
        demo.execute(text("UPDATE audit_events SET action = 'nothing.happened'"))
    demo.rollback()
    assert [r.action for r in audit_rows(demo)] == ["test.first", "test.second"]


def test_deleting_the_organization_or_user_keeps_the_rows_and_nulls_the_link(demo):
    initech = Organization(slug="initech", name="Initech", kind="customer", tier="free", country="US")
    demo.add(initech)
    demo.flush()
    peter = create_user(demo, "peter@initech.test", "a-long-password-1", organization=initech, role="owner")
    record(demo, "test.kept", actor_label=peter.email, actor_user_id=peter.id, org_id=initech.id)
    demo.commit()

    demo.delete(peter)
    demo.delete(initech)
    demo.commit()
    demo.expire_all()
    row = demo.scalars(select(AuditEvent).where(AuditEvent.action == "test.kept")).one()
    assert (row.org_id, row.actor_user_id, row.actor_label) == (None, None, "peter@initech.test")
