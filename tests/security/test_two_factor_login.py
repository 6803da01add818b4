"""Two-factor authentication in the browser: enrolment on the setup page, the
code step after the password, single use of codes, recovery codes, the
lockout, and the pending sign-in that expires.

Codes are computed by `oathtool`, on the app's frozen clock.
"""
from datetime import timedelta

from app import clock
from app.security import two_factor
from tests.support import PortalClient
from tests.security.helpers import (STEP_SECONDS, audit_rows, body, enrol, oathtool_code, recovery_codes_on,
                                    setup_secret, user)

ALICE = "alice@acme.test"
STEP = timedelta(seconds=STEP_SECONDS)
SETUP = "/client/security/two-factor"
SECOND_STEP = "/login/two-factor"


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def _password_step(client, email=ALICE):
    response = client.login(email)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(SECOND_STEP)
    return response


def _code_step(client, **codes):
    return client.post_form(SECOND_STEP, codes)


def _enabled(app, demo) -> bool:
    with app.app_context():
        return two_factor.is_enabled(demo, user(demo, ALICE).id)


# --- enrolment -----------------------------------------------------------------

def test_setup_page_enables_two_factor_only_after_a_right_code(app, demo, client, frozen):
    client.login(ALICE)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "<svg" in body(page).split('data-testid="setup-qr"')[1][:200]
    secret = setup_secret(body(page))
    assert setup_secret(body(client.get(SETUP))) == secret  # a reload shows the same key

    refused = client.post_form(SETUP, {"code": _wrong(oathtool_code(secret))})
    assert refused.status_code == 400
    assert "That code is not correct" in body(refused)
    assert not _enabled(app, demo)

    accepted = client.post_form(SETUP, {"code": oathtool_code(secret)})
    assert accepted.status_code == 200
    codes = recovery_codes_on(body(accepted))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert _enabled(app, demo)
    assert [e.actor_label for e in audit_rows(demo, "two_factor.enabled")] == [ALICE]


def test_setup_page_refuses_letters_with_a_message(app, demo, client, frozen):
    client.login(ALICE)
    client.get(SETUP)
    refused = client.post_form(SETUP, {"code": "abc123"})
    assert refused.status_code == 400
    assert "digits only" in body(refused)
    assert not _enabled(app, demo)


# --- signing in ------------------------------------------------------------------

def test_login_asks_for_the_code_after_the_password(app, demo, client, frozen):
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    assert client.get("/client/").headers["Location"].startswith("/login")
    clock.advance(STEP)
    code = oathtool_code(secret)
    response = _code_step(client, code=f"{code[:3]} {code[3:]}")
    assert response.status_code == 302 and response.headers["Location"] == "/client/"
    assert client.get("/client/").status_code == 200
    succeeded = audit_rows(demo, "login.succeeded")
    assert [(e.actor_label, e.details) for e in succeeded] == [(ALICE, {"second_factor": "totp"})]


def test_a_wrong_code_keeps_the_user_out(app, demo, client, frozen):
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    clock.advance(STEP)
    refused = _code_step(client, code=_wrong(oathtool_code(secret)))
    assert refused.status_code == 401
    assert "That code is not correct" in body(refused)
    assert client.get("/client/").status_code == 302
    assert audit_rows(demo, "login.succeeded") == []


def test_codes_typed_in_other_scripts_get_an_answer_not_a_crash(app, demo, client, frozen):
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    arabic = _code_step(client, code="١٢٣٤٥٦")
    assert arabic.status_code == 400 and "digits only" in body(arabic)
    clock.advance(STEP)
    wide = oathtool_code(secret).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert _code_step(client, code=wide).status_code == 302


def test_the_step_cannot_be_skipped(app, demo, client, frozen):
    enrol(app, ALICE)
    _password_step(client)
    for path in ("/client/", "/client/security", SETUP, "/client/webhooks"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    assert client.get(SECOND_STEP).status_code == 200  # the code form is still there


def test_the_code_step_needs_the_password_first(app, demo, client, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(STEP)
    response = client.post_form(SECOND_STEP, {"code": oathtool_code(secret)}, token_from="/login")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/client/").status_code == 302


def test_a_code_is_accepted_once(app, demo, client, make_client, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(STEP)
    code = oathtool_code(secret)
    _password_step(client)
    assert _code_step(client, code=code).status_code == 302

    other = make_client(remote_addr="198.51.100.20")
    _password_step(other)
    replay = _code_step(other, code=code)
    assert replay.status_code == 401
    assert "already been used" in body(replay)
    assert other.get("/client/").status_code == 302
    replays = audit_rows(demo, "two_factor.replay_refused")
    assert [(e.actor_label, e.ip_address) for e in replays] == [(ALICE, "198.51.100.20")]

    clock.advance(STEP)  # the next code works
    assert _code_step(other, code=oathtool_code(secret)).status_code == 302


def test_a_recovery_code_signs_in_once(app, demo, client, frozen):
    _, codes = enrol(app, ALICE)
    _password_step(client)
    response = _code_step(client, recovery_code=codes[0])
    assert response.status_code == 302 and response.headers["Location"] == "/client/"
    assert "signed in with a recovery code" in body(client.get("/client/"))
    used = audit_rows(demo, "two_factor.recovery_code_used")
    assert [(e.actor_label, e.details) for e in used] == [(ALICE, {"remaining": 9})]
    client.logout()

    _password_step(client)
    again = _code_step(client, recovery_code=codes[0])
    assert again.status_code == 401
    assert "That recovery code has already been used" in body(again)
    assert client.get("/client/").status_code == 302
    # Typed in capitals, without the dash: another unused code still works.
    assert _code_step(client, recovery_code=codes[1].replace("-", "").upper()).status_code == 302


def test_regenerating_invalidates_the_old_recovery_codes(app, demo, client, frozen):
    secret, old_codes = enrol(app, ALICE)
    _password_step(client)
    clock.advance(STEP)
    assert _code_step(client, code=oathtool_code(secret)).status_code == 302

    clock.advance(STEP)
    page = client.post_form("/client/security/two-factor/recovery-codes", {"code": oathtool_code(secret)},
                            token_from="/client/security")
    assert page.status_code == 200
    new_codes = recovery_codes_on(body(page))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.logout()

    _password_step(client)
    old = _code_step(client, recovery_code=old_codes[1])
    assert old.status_code == 401 and "That recovery code is not correct" in body(old)
    assert _code_step(client, recovery_code=new_codes[0]).status_code == 302


def test_regenerating_needs_a_current_code(app, demo, client, frozen):
    secret, old_codes = enrol(app, ALICE)
    _password_step(client)
    clock.advance(STEP)
    _code_step(client, code=oathtool_code(secret))
    refused = client.post_form("/client/security/two-factor/recovery-codes", {"code": "000000"},
                               token_from="/client/security", follow_redirects=True)
    assert "not correct" in body(refused)
    assert 'data-testid="recovery-codes"' not in body(refused)
    client.logout()
    _password_step(client)
    assert _code_step(client, recovery_code=old_codes[0]).status_code == 302  # old codes still good


def test_five_wrong_codes_lock_the_step_for_fifteen_minutes(app, demo, client, make_client, frozen):
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    clock.advance(STEP)
    wrong = _wrong(oathtool_code(secret))
    for _ in range(5):
        assert _code_step(client, code=wrong).status_code == 401

    locked = _code_step(client, code=oathtool_code(secret))
    assert locked.status_code == 429
    assert "locked until 10:15 UTC" in body(locked)
    assert client.get("/client/").status_code == 302
    # The lock is the account's, not the browser's.
    elsewhere = make_client(remote_addr="198.51.100.30")
    _password_step(elsewhere)
    assert _code_step(elsewhere, code=oathtool_code(secret)).status_code == 429
    assert len(audit_rows(demo, "two_factor.locked")) == 1
    assert audit_rows(demo, "two_factor.locked")[0].actor_label == ALICE

    clock.advance(timedelta(minutes=15))
    _password_step(client)  # the pending sign-in expired meanwhile
    assert _code_step(client, code=oathtool_code(secret)).status_code == 302
    assert client.get("/client/").status_code == 200


def test_wrong_recovery_codes_count_towards_the_lockout(app, demo, client, frozen):
    _, codes = enrol(app, ALICE)
    _password_step(client)
    for guess in ("aaaaa-bbbbb", "ccccc-ddddd", "eeeee-fffff", "ggggg-hhhhh", "jjjjj-kkkkk"):
        refused = _code_step(client, recovery_code=guess)
        assert refused.status_code == 401 and "That recovery code is not correct" in body(refused)
    locked = _code_step(client, recovery_code=codes[0])
    assert locked.status_code == 429 and "locked until" in body(locked)
    assert client.get("/client/").status_code == 302


def test_the_pending_sign_in_expires_after_five_minutes(app, demo, client, make_client, frozen):
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    clock.advance(timedelta(minutes=5, seconds=1))
    expired = _code_step(client, code=oathtool_code(secret))
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/login")
    assert "the sign-in expired" in body(client.get(expired.headers["Location"]))
    assert client.get("/client/").status_code == 302

    in_time = make_client(remote_addr="198.51.100.31")
    _password_step(in_time)
    clock.advance(timedelta(minutes=4, seconds=50))
    assert _code_step(in_time, code=oathtool_code(secret)).status_code == 302


def test_the_lockout_says_how_long_is_left(make_app, frozen):
    # Flask-Limiter also sets Retry-After on these pages: the larger of its
    # window's reset (real time) and ours. One-minute windows keep its value
    # below the lockout's, so the header shows the lockout left.
    app, _ = make_app(TWO_FACTOR_LIMIT_PER_ACCOUNT="100 per minute", TWO_FACTOR_LIMIT_PER_IP="100 per minute")
    client = PortalClient(app)
    secret, _ = enrol(app, ALICE)
    _password_step(client)
    clock.advance(STEP)
    wrong = _wrong(oathtool_code(secret))
    for _ in range(5):
        _code_step(client, code=wrong)

    clock.advance(timedelta(minutes=10))
    _password_step(client)
    later = _code_step(client, code=oathtool_code(secret))

    assert later.status_code == 429
    # Flask-Limiter re-derives the header from ours against its own clock: a second may tick off.
    assert 5 * 60 - 1 <= int(later.headers["Retry-After"]) <= 5 * 60
