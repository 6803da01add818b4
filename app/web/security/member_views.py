"""The organization's members (client portal): who they are, their role and
whether they use 2FA. Owners change roles and require 2FA for everyone; both
are sensitive (sudo). Members see the list read-only; their POSTs get 403
before any sudo prompt, since no password would let them do it.

htmx swaps the whole members widget (#members), so the table and the 2FA
requirement always agree; without JavaScript each form answers with a redirect.
"""
from __future__ import annotations


from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from app.accounts import members
from app.accounts.models import Organization
from app.errors import DomainError
from app.security import two_factor
from app.web.portal import actor, current_org_id, render
from app.web.request_context import db_session, is_htmx_partial
from app.web.security.common import is_owner, require_owner
from app.web.sudo_guard import require_sudo

WHAT = "members' roles or the two-factor requirement"


class RoleForm(FlaskForm):
    """The template renders the <select>; the service has the last word on roles."""

    role = StringField("Role", validators=[AnyOf(members.ROLES, message="Choose a role: owner or member.")])


class RequireTwoFactorForm(FlaskForm):
    required = HiddenField(validators=[DataRequired(), AnyOf(("1", "0"))])


def _context(notice: str | None = None, error: str | None = None) -> dict:
    db = db_session()
    return {"members": members.list_members(db, current_org_id()),
            "organization": db.get(Organization, current_org_id()),
            "is_owner": is_owner(),
            "self_two_factor": two_factor.is_enabled(db, current_user.id),
            "notice": notice, "error": error}


def _answer(message: str, category: str, status: int = 200):
    """htmx: the refreshed widget with the message in it; otherwise flash and back to the list."""
    if is_htmx_partial():
        context = _context(**({"error": message} if category == "error" else {"notice": message}))
        return make_response(render_template("security/_members.html", **context), status)
    flash(message, category)
    return redirect(url_for(".security_members"))


def index():
    return render("security/members.html", "security/_members.html", **_context())


def _apply(change):
    """Run a service change that returns the success message; a refusal is shown, nothing written.

    A 403 or 404 from the service goes to the error pages as usual.
    """
    db = db_session()
    try:
        message = change(db)
    except DomainError as error:
        db.rollback()
        if error.status_code in (403, 404):
            raise
        return _answer(error.message, "error", 400)
    db.commit()
    return _answer(message, "success")


@require_owner(WHAT)
@require_sudo
def change_role(public_id: str):
    form = RoleForm()
    if not form.validate_on_submit():
        return _answer("Choose a role: owner or member.", "error", 400)

    def change(db):
        target = members.change_role(db, current_org_id(), public_id, form.role.data, **actor())
        return f"{target.email} is now {'an owner' if target.role == 'owner' else 'a member'}."

    return _apply(change)


@require_owner(WHAT)
@require_sudo
def require_two_factor():
    form = RequireTwoFactorForm()
    if not form.validate_on_submit():
        return _answer("The form expired. Try again.", "error", 400)
    wanted = form.required.data == "1"

    def change(db):
        organization = db.get(Organization, current_org_id())
        members.set_require_two_factor(db, organization, wanted, **actor())
        if wanted:
            return ("Two-factor authentication is now required: members without it are asked to set it up "
                    "before they can use the portal.")
        return "Two-factor authentication is no longer required for members."

    return _apply(change)


ROUTES = [
    ("/security/members", "security_members", index, ["GET"]),
    ("/security/members/require-two-factor", "security_require_two_factor", require_two_factor, ["POST"]),
    ("/security/members/<public_id>/role", "security_member_role", change_role, ["POST"]),
]
