"""Two-factor settings of the signed-in user: set up (QR + setup key, enabled
only after a valid code), recovery codes (shown once), regenerate, turn off.

Every change needs sudo mode; regenerating and turning off also need a current
code or a recovery code (the service checks it).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError
from app.security import recovery_codes, two_factor
from app.web.auth.forms import SecondFactorForm
from app.web.forms import apply_domain_error
from app.web.request_context import db_session
from app.web.sudo_guard import require_sudo


class ConfirmSetupForm(SecondFactorForm):
    """Only the TOTP field is used when confirming a setup."""


def _codes_page(codes: list[str], heading: str):
    return render_template("security/recovery_codes.html", codes=codes, heading=heading)


@require_sudo
def setup():
    db = db_session()
    if two_factor.is_enabled(db, current_user.id):
        return redirect(url_for(".security"))
    form = ConfirmSetupForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_setup(db, current_user, form.code.data)
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
            status = 400
        else:
            db.commit()
            return _codes_page(codes, "Two-factor authentication is on")
    elif request.method == "POST":
        status = 400
    pending = two_factor.start_setup(db, current_user)
    db.commit()
    return render_template("security/two_factor_setup.html", form=form, pending=pending,
                           required=two_factor.is_required(current_user)), status


def _with_code(action, success_message: str | None):
    """Run a change that needs a current code; on refusal, back to the overview with the reason."""
    db = db_session()
    form = SecondFactorForm()
    if not form.validate_on_submit():  # CSRF is checked before the view: only a too-long code gets here
        flash("Enter the 6-digit code from your authenticator app, or one of your recovery codes.", "error")
        return None
    try:
        result = action(db, current_user, **form.submitted_codes())
    except DomainError as error:
        db.commit()  # keep the failure count and audit rows
        flash(error.message, "error")
        return None
    db.commit()
    if success_message:
        flash(success_message, "success")
    return result


@require_sudo
def disable():
    _with_code(two_factor.disable, "Two-factor authentication is off. Your recovery codes no longer work.")
    return redirect(url_for(".security"))


@require_sudo
def regenerate_codes():
    codes = _with_code(two_factor.regenerate_recovery_codes, None)
    if codes is None:
        return redirect(url_for(".security"))
    return _codes_page(codes, "New recovery codes")


def status_context() -> dict:
    """For the overview page: is 2FA on, is it required, how many codes remain."""
    db = db_session()
    enabled = two_factor.is_enabled(db, current_user.id)
    return {"two_factor_enabled": enabled, "two_factor_required": two_factor.is_required(current_user),
            "recovery_codes_left": recovery_codes.remaining(db, current_user.id) if enabled else 0,
            "code_form": SecondFactorForm()}


ROUTES = [
    ("/security/two-factor", "security_two_factor_setup", setup, ["GET", "POST"]),
    ("/security/two-factor/disable", "security_two_factor_disable", disable, ["POST"]),
    ("/security/two-factor/recovery-codes", "security_recovery_codes", regenerate_codes, ["POST"]),
]
