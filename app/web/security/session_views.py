"""The signed-in user's active sessions: see where they are signed in, end one,
or end every other one.

The session making the request cannot revoke itself here (that is what Sign
out is for), so nobody locks themselves out by a stray click. Revoking marks
the server-side row, so the other browser's cookie stops working on its very
next request. htmx swaps the table (#sessions); without JavaScript each action
has a confirmation page and answers with a redirect.
"""
from __future__ import annotations

from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from app.accounts import devices, sessions
from app.audit.service import record
from app.web.auth.session_loader import current_user_session, session_policy
from app.web.portal import actor, render
from app.web.request_context import db_session, is_htmx_partial

CURRENT_SESSION_MESSAGE = "This is the session you are using now. To end it, use Sign out."


def _rows() -> list[dict]:
    """The user's live sessions, newest activity first, the current one marked."""
    current = current_user_session()
    return [{"session": row, "device": devices.describe(row.user_agent),
             "is_current": current is not None and row.id == current.id}
            for row in sessions.active_for_user(db_session(), current_user.id, session_policy())]


def _context(notice: str | None = None, error: str | None = None) -> dict:
    rows = _rows()
    return {"rows": rows, "others": sum(not r["is_current"] for r in rows), "notice": notice, "error": error}


def _answer(message: str, category: str, status: int = 200):
    """htmx: the refreshed table with the message in it; otherwise flash and back to the list."""
    if is_htmx_partial():
        context = _context(**({"error": message} if category == "error" else {"notice": message}))
        return make_response(render_template("security/_sessions.html", **context), status)
    flash(message, category)
    return redirect(url_for(".security_sessions"))


def _audit(action: str, target: str | None = None, **details) -> None:
    record(db_session(), action, org_id=current_user.org_id, target=target, details=details, **actor())


def summary() -> dict:
    """For the overview page: how many sessions are live."""
    return {"active_sessions": len(_rows())}


def index():
    return render("security/sessions.html", "security/_sessions.html", **_context())


def _find(public_id: str) -> dict | None:
    return next((r for r in _rows() if r["session"].public_id == public_id), None)


def confirm_revoke(public_id: str):
    """Without JavaScript there is no hx-confirm: this page asks instead."""
    found = _find(public_id)
    if found is None or found["is_current"]:
        flash(CURRENT_SESSION_MESSAGE if found else "That session has already ended.", "info")
        return redirect(url_for(".security_sessions"))
    return render_template("security/session_confirm.html", action="one", row=found)


def revoke(public_id: str):
    current = current_user_session()
    if current is not None and public_id == current.public_id:
        return _answer(CURRENT_SESSION_MESSAGE, "error", 400)
    db = db_session()
    found = _find(public_id)
    if found is None or not sessions.revoke_one(db, current_user.id, public_id):
        return _answer("That session has already ended.", "info")
    _audit("session.revoked", target=public_id, device=found["device"], count=1)
    db.commit()
    return _answer(f"Signed out {found['device']} ({found['session'].ip_address or 'unknown address'}).",
                   "success")


def confirm_revoke_others():
    return render_template("security/session_confirm.html", action="others", others=_context()["others"])


def revoke_others():
    current = current_user_session()
    db = db_session()
    count = sessions.revoke_others(db, current_user.id, current.id)
    if count:
        _audit("session.revoked_others", count=count)
        db.commit()
        message = f"Signed out {count} other session{'s' if count != 1 else ''}. This one stays signed in."
    else:
        message = "There were no other sessions to sign out."
    return _answer(message, "success")


ROUTES = [
    ("/security/sessions", "security_sessions", index, ["GET"]),
    ("/security/sessions/revoke-others", "security_sessions_confirm_revoke_others", confirm_revoke_others, ["GET"]),
    ("/security/sessions/revoke-others", "security_sessions_revoke_others", revoke_others, ["POST"]),
    ("/security/sessions/<public_id>/revoke", "security_session_confirm_revoke", confirm_revoke, ["GET"]),
    ("/security/sessions/<public_id>/revoke", "security_session_revoke", revoke, ["POST"]),
]
