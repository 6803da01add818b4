"""`@require_sudo`: sensitive portal actions need a recent re-authentication.

Without an active sudo window the user is sent to /sudo and brought back to
the page they were on (for a POST or an htmx request: the page that made it).
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import flash, make_response, redirect, request, url_for

from app.security import sudo
from app.web.auth.session_loader import current_user_session


def return_path() -> str:
    """Where to come back to after a detour (sudo, step-up): this page, or for a
    POST or htmx request the page that made it."""
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return request.full_path.rstrip("?")
    source = request.headers.get("HX-Current-URL") or request.referrer or ""
    parts = urlsplit(source)
    if parts.netloc and parts.netloc != request.host:
        return "/"
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def sudo_redirect():
    """Send the browser to the sudo page (a full redirect, also for htmx)."""
    flash("Confirm your identity to continue: this is a sensitive action.", "info")
    return leave_page(url_for("auth.sudo", next=return_path()))


def leave_page(target: str):
    """Redirect the whole page, also for htmx (a 302 would be followed inside
    the XHR and its page swapped into a fragment)."""
    if request.headers.get("HX-Request"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def require_sudo(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if sudo.is_active(current_user_session()):
            return view(*args, **kwargs)
        return sudo_redirect()

    return wrapped
