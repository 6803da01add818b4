"""Sign in, sign out, change password or email, and the front door."""
from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts import service as accounts
from app.audit.service import record
from app.errors import DomainError
from app.extensions import client_ip, limiter
from app.web import access_gate
from app.web.auth import bp
from app.security import two_factor
from app.web.auth.forms import EmailChangeForm, LoginForm, PasswordChangeForm
from app.web.auth.second_factor_routes import portal_home, safe_next, start_pending_login
from app.web.auth.session_loader import begin_login_session, end_login_session
from app.web.forms import apply_domain_error
from app.web.request_context import db_session
from app.web.sudo_guard import require_sudo

GENERIC_LOGIN_ERROR = "Incorrect email or password."
THROTTLED_MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


def _login_failed(_response) -> bool:
    # Only failed attempts use up the allowance; a good login costs nothing.
    return bool(g.get("login_failed"))


def _account_key() -> str:
    return "account:" + accounts.normalise_email(request.form.get("email", ""))


def _throttled(_limit):
    return make_response(render_template("auth/login.html", form=LoginForm(), error=THROTTLED_MESSAGE), 429)


# Signed-in pages outside the portals that still act for the member's
# organization: its IP allowlist and geo rules apply. (/login/verify and
# /logout stay out, or a user asked to verify could never get anywhere.)
ACCOUNT_ENDPOINTS = frozenset({"auth.change_password", "auth.change_email", "auth.sudo"})


@bp.before_request
def organization_access_on_account_pages():
    if request.endpoint in ACCOUNT_ENDPOINTS and current_user.is_authenticated and current_user.org_id is not None:
        return access_gate.check_organization_access()
    return None


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(portal_home(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], key_func=client_ip, methods=["POST"],
               deduct_when=_login_failed, on_breach=_throttled, scope="login-ip")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_account_key, methods=["POST"],
               deduct_when=_login_failed, on_breach=_throttled, scope="login-account")
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(portal_home(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            g.login_failed = True
        return render_template("auth/login.html", form=form), (400 if request.method == "POST" else 200)

    db = db_session()
    user = accounts.authenticate(db, form.email.data, form.password.data, client_ip())
    if user is None:
        db.commit()  # keep the audit entry of the failure
        g.login_failed = True
        return render_template("auth/login.html", form=form, error=GENERIC_LOGIN_ERROR), 401
    if two_factor.is_enabled(db, user.id):
        db.commit()  # a rehashed password, if any
        return redirect(start_pending_login(user))
    begin_login_session(user)
    accounts.complete_login(db, user)
    db.commit()
    return redirect(safe_next(user, portal_home(user)))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        db = db_session()
        record(db, "logout", actor_label=current_user.email, actor_user_id=current_user.id,
               org_id=current_user.org_id, ip_address=client_ip())
        end_login_session()
        db.commit()
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@require_sudo
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            accounts.change_password(db, current_user, form.current_password.data,
                                     form.new_password.data, client_ip())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            begin_login_session(current_user._get_current_object())
            db.commit()
            flash("Password changed. Every other session was signed out.", "success")
            return redirect(url_for("auth.change_password"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@require_sudo
def change_email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            email = accounts.change_email(db, current_user, form.email.data,
                                          actor_label=current_user.email, actor_user_id=current_user.id)
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            flash(f"Your email address is now {email}. Use it the next time you sign in.", "success")
            return redirect(url_for("auth.change_email"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/email.html", form=form), status
