"""The pages that ask for a second factor: the 2FA step of sign-in, the geo
step-up inside a session, and sudo mode (password, plus a code when enrolled).

All three are throttled per address and per account (failures only), on top of
the 2FA lockout the service keeps in the database.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app import clock
from app.accounts import service as accounts
from app.accounts.models import User
from app.errors import DomainError
from app.extensions import client_ip, limiter
from app.security import sudo, two_factor
from app.web.auth import bp
from app.web.auth.forms import SecondFactorForm, SudoForm
from app.web.auth.session_loader import begin_login_session, current_user_session
from app.web.forms import apply_domain_error
from app.web.request_context import db_session

PENDING_LOGIN_KEY = "pending_2fa"
PENDING_LOGIN_LIFETIME = timedelta(minutes=5)
THROTTLED_MESSAGE = "Too many attempts. Wait a few minutes and try again."


# --- throttling ------------------------------------------------------------

def _failed(_response) -> bool:
    return bool(g.get("second_factor_failed"))


def _pending_user_id() -> int | None:
    pending = session.get(PENDING_LOGIN_KEY) or {}
    return pending.get("user_id")


def _account_key() -> str:
    user_id = current_user.id if current_user.is_authenticated else _pending_user_id()
    return f"account:{user_id}"


def _throttled(_limit):
    form = SecondFactorForm()
    form.form_errors.append(THROTTLED_MESSAGE)
    return make_response(render_template("auth/second_factor.html", form=form, purpose="throttled"), 429)


def throttled(scope: str):
    """Per-address and per-account limits on a second-factor page (POSTs that fail)."""

    def decorate(view):
        per_account = limiter.limit(lambda: current_app.config["TWO_FACTOR_LIMIT_PER_ACCOUNT"], key_func=_account_key,
                                    methods=["POST"], deduct_when=_failed, on_breach=_throttled,
                                    scope=f"{scope}-account")
        per_ip = limiter.limit(lambda: current_app.config["TWO_FACTOR_LIMIT_PER_IP"], key_func=client_ip,
                               methods=["POST"], deduct_when=_failed, on_breach=_throttled, scope=f"{scope}-ip")
        return per_ip(per_account(view))

    return decorate


def _refused(form, error: DomainError) -> int:
    """Show the refusal on the form; keep what the service recorded (failures, audit)."""
    db = db_session()
    db.commit()
    g.second_factor_failed = True
    if isinstance(error, two_factor.TwoFactorLocked):
        g.retry_after = max(1, math.ceil((error.locked_until - clock.utcnow()).total_seconds()))
    apply_domain_error(form, error)
    return error.status_code


@bp.after_request
def tell_when_to_retry(response):
    """A locked 2FA step says, like a 429 from the rate limiter, when to come back."""
    if g.get("retry_after") and response.status_code == 429:
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def safe_next(user: User, default: str) -> str:
    """Follow ?next= only to a path inside the user's own portal or their account pages."""
    target = request.args.get("next", "")
    prefix = f"/{user.portal}"
    inside = target == prefix or target.startswith(prefix + "/") or target.startswith("/account/")
    if target.startswith("/") and not target.startswith("//") and inside:
        return target
    return default


def portal_home(user: User) -> str:
    return url_for(f"{user.portal}.dashboard")


# --- sign-in, step two -------------------------------------------------------

def start_pending_login(user: User) -> str:
    """Password accepted, 2FA still to come: remember who, briefly; returns where to go."""
    session.clear()
    session[PENDING_LOGIN_KEY] = {"user_id": user.id, "at": clock.utcnow().isoformat()}
    return url_for("auth.two_factor", next=request.args.get("next") or None)


def _pending_user() -> User | None:
    pending = session.get(PENDING_LOGIN_KEY) or {}
    try:
        started = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if clock.utcnow() - started > PENDING_LOGIN_LIFETIME:
        return None
    return db_session().get(User, pending.get("user_id"))


@bp.route("/login/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@throttled("two-factor")
def second_step():
    user = _pending_user()
    if user is None:
        session.pop(PENDING_LOGIN_KEY, None)
        flash("Sign in again: the sign-in expired before the code was entered.", "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        db = db_session()
        try:
            method = two_factor.verify(db, user, **form.submitted_codes())
        except DomainError as error:
            status = _refused(form, error)
        else:
            begin_login_session(user, two_factor_passed=True)
            accounts.complete_login(db, user, second_factor=method)
            db.commit()
            if method == "recovery_code":
                flash("You signed in with a recovery code. It cannot be used again; "
                      "generate new codes if you are running out.", "info")
            return redirect(safe_next(user, portal_home(user)))
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_factor.html", form=form, purpose="login"), status


# --- geo step-up -------------------------------------------------------------

@bp.route("/login/verify", methods=["GET", "POST"])
@login_required
@throttled("step-up")
def step_up():
    """Asked for by geo rules that require verification from the current location."""
    db = db_session()
    if not two_factor.is_enabled(db, current_user.id):
        message = ("Your organization requires two-factor verification for sign-ins from your location, "
                   "and your account has no two-factor authentication. Sign in from another location "
                   "to set it up, or ask your organization's owner.")
        return render_template("auth/second_factor.html", form=None, purpose="step_up_unavailable",
                               message=message), 403
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            two_factor.verify(db, current_user, **form.submitted_codes())
        except DomainError as error:
            status = _refused(form, error)
        else:
            current_user_session().verified_ip = client_ip()
            db.commit()
            return redirect(safe_next(current_user, portal_home(current_user)))
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_factor.html", form=form, purpose="step_up"), status


# --- sudo mode ---------------------------------------------------------------

@bp.route("/sudo", methods=["GET", "POST"], endpoint="sudo")
@login_required
@throttled("sudo")
def sudo_mode():
    db = db_session()
    form = SudoForm()
    needs_code = two_factor.is_enabled(db, current_user.id)
    status = 200
    if form.validate_on_submit():
        try:
            sudo.enter(db, current_user, current_user_session(), form.password.data, **form.submitted_codes())
        except DomainError as error:
            status = _refused(form, error)
        else:
            db.commit()
            flash(f"Confirmed. Sensitive actions are allowed for the next "
                  f"{int(sudo.DURATION.total_seconds() // 60)} minutes.", "success")
            return redirect(safe_next(current_user, portal_home(current_user)))
    elif request.method == "POST":
        status = 400
    return render_template("auth/sudo.html", form=form, needs_code=needs_code), status
