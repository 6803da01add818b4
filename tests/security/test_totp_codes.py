"""TOTP codes: what an authenticator app computes is accepted, within ±1 step
and no wider; what a person types (spaces, full-width digits) is read, anything
else is refused with a message saying what a code looks like, never a crash.

Codes come from `oathtool` (an independent RFC 6238 implementation), at times
set with `-N`, while the app's clock is frozen.
"""
from datetime import timedelta

import pytest

from app import clock
from app.errors import DomainError
from app.security import totp, two_factor
from app.security.two_factor import CodeRefused
from tests.security.helpers import STEP_SECONDS, enrol, oathtool_code, user

ALICE = "alice@acme.test"
STEP = timedelta(seconds=STEP_SECONDS)


def _verify(app, demo, code):
    with app.app_context():
        return two_factor.verify(demo, user(demo, ALICE), code=code)


def test_oathtool_codes_at_other_times_are_accepted(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    for minutes in (1, 7, 60 * 24 * 40):  # a minute, a few, and weeks later
        clock.advance(timedelta(minutes=minutes))
        assert _verify(app, demo, oathtool_code(secret)) == "totp"
        demo.commit()


def test_the_code_that_enabled_two_factor_cannot_sign_in(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    with pytest.raises(CodeRefused, match="already been used"):
        _verify(app, demo, oathtool_code(secret))


def test_window_is_one_step_either_side(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(10 * STEP)  # well past the step that enabled 2FA
    now = clock.utcnow()
    for steps in (-2, 2):
        with pytest.raises(CodeRefused, match="not correct"):
            _verify(app, demo, oathtool_code(secret, at=now + steps * STEP))
    # Oldest first: each accepted code claims its step, and only newer steps may follow.
    for steps in (-1, 0, 1):
        assert _verify(app, demo, oathtool_code(secret, at=now + steps * STEP)) == "totp", steps


def test_a_code_typed_with_a_space_is_accepted(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(STEP)
    code = oathtool_code(secret)
    assert _verify(app, demo, f" {code[:3]} {code[3:]} ") == "totp"


def test_a_wrong_code_with_a_space_is_still_wrong(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(STEP)
    wrong = f"{(int(oathtool_code(secret)) + 1) % 1_000_000:06d}"
    with pytest.raises(CodeRefused, match="not correct"):
        _verify(app, demo, f"{wrong[:3]} {wrong[3:]}")


@pytest.mark.parametrize("raw", ["12a456", "abcdef", "12345O", "١٢٣٤٥٦", "12-34-5x"])
def test_letters_are_refused_with_a_message(raw):
    with pytest.raises(DomainError, match="digits only") as refused:
        totp.read_code(raw)
    assert refused.value.field == "code"


def test_full_width_digits_are_read_as_digits():
    """What a Japanese or Chinese input method types; comparing them raw used to crash (500)."""
    assert totp.read_code("１２３　４５６") == "123456"


def test_the_right_code_in_full_width_digits_is_accepted(app, demo, frozen):
    secret, _ = enrol(app, ALICE)
    clock.advance(STEP)
    wide = oathtool_code(secret).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert _verify(app, demo, wide) == "totp"


def test_verify_refuses_letters_with_the_same_message(app, demo, frozen):
    enrol(app, ALICE)
    with pytest.raises(DomainError, match="digits only"):
        _verify(app, demo, "12a456")


@pytest.mark.parametrize("raw,digits", [("12345", 5), ("1234567", 7), ("1", 1)])
def test_wrong_length_is_refused_naming_the_length(raw, digits):
    with pytest.raises(DomainError, match=f"Codes have 6 digits; this one has {digits}"):
        totp.read_code(raw)


def test_an_empty_code_asks_for_one():
    with pytest.raises(DomainError, match="Enter the 6-digit code"):
        totp.read_code("   ")


def test_oathtool_agrees_with_the_step_the_portal_claims(app, demo, frozen):
    """The step stored as used is the step oathtool computed the code for (replay bookkeeping)."""
    secret, _ = enrol(app, ALICE)
    clock.advance(3 * STEP)
    code = oathtool_code(secret, at=clock.utcnow() - STEP)
    assert totp.matching_step(secret, code, clock.utcnow()) == totp.current_step(clock.utcnow()) - 1
