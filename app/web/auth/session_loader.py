"""Flask-Login wiring: a user is signed in only while their server-side session lives."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_login import login_user, logout_user

from app.accounts import sessions
from app.accounts.models import User, UserSession
from app.security import sudo
from app.extensions import client_ip, login_manager
from app.web.request_context import db_session

SESSION_TOKEN_KEY = "sid"


def session_policy() -> sessions.SessionPolicy:
    return sessions.SessionPolicy(current_app.config["SESSION_IDLE_TIMEOUT"],
                                  current_app.config["SESSION_ABSOLUTE_TIMEOUT"])


def begin_login_session(user: User, *, two_factor_passed: bool = False) -> UserSession:
    """Rotate: drop everything the anonymous session held, then issue a new token.

    The new session starts in sudo mode (the user has just proved who they
    are) and, after a 2FA check, counts as verified for this address.
    """
    session.clear()
    db = db_session()
    token = sessions.start(db, user.id, client_ip(), request.user_agent.string or "")
    db.flush()
    row = sessions.resolve(db, token, session_policy())
    sudo.grant(row)
    if two_factor_passed:
        row.verified_ip = client_ip()
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True
    login_user(user)
    g.user_session = row
    return row


def current_user_session() -> UserSession | None:
    """The server-side session row behind the signed-in request (None when anonymous)."""
    return g.get("user_session")


def end_login_session(reason: str = "logout") -> None:
    sessions.revoke_token(db_session(), session.get(SESSION_TOKEN_KEY), reason=reason)
    logout_user()
    session.clear()


def init_login_manager(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection

    @login_manager.user_loader
    def load_user(user_id: str):
        db = db_session()
        row = sessions.resolve(db, session.get(SESSION_TOKEN_KEY), session_policy())
        valid = row is not None and str(row.user_id) == user_id
        g.user_session = row if valid else None
        if row is None and session.get(SESSION_TOKEN_KEY):
            g.session_ended = True
        db.commit()  # keeps the touch, or the revocation of an expired session
        return row.user if valid else None

    @login_manager.unauthorized_handler
    def unauthorized():
        message = ("Your session has ended. Please sign in again."
                   if g.get("session_ended") else login_manager.login_message)
        session.pop(SESSION_TOKEN_KEY, None)
        flash(message, "info")
        if request.headers.get("HX-Request"):
            # Come back to the page the user was on, not the fragment htmx asked for.
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            back_to = (current.path + (f"?{current.query}" if current.query else "")) or "/"
            response = jsonify({})
            response.headers["HX-Redirect"] = url_for("auth.login", next=back_to)
            return response, 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

