"""Gates for the three portals and the organization the request acts for."""
from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from flask_login import current_user

from app.accounts.models import Organization
from app.extensions import login_manager
from app.web import access_gate
from app.web.request_context import db_session, is_htmx_partial


def guard(bp: Blueprint, portal: str) -> None:
    """Let only users of `portal` in; everyone else signed in gets 403.

    Sets `g.org_id`, the organization every query of the request is scoped to,
    then applies the organization's IP and geo rules and 2FA enrolment rules.
    """

    @bp.before_request
    def require_portal_user():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.portal != portal:
            abort(403)
        g.org_id = current_user.org_id
        if current_user.org_id is not None:
            refused = access_gate.check_organization_access()
            if refused is not None:
                return refused
        return access_gate.check_two_factor_enrolment(portal)


def current_org_id() -> int:
    """The organization of the signed-in user or API key (set by the gate)."""
    return g.org_id


def current_organization() -> Organization:
    """The organization row of the request (loaded in the request's session)."""
    return db_session().get(Organization, current_org_id())


def actor() -> dict:
    """Who the services write into the audit log: the signed-in user."""
    return {"actor_label": current_user.email, "actor_user_id": current_user.id}


def render(template: str, fragment: str | None = None, **context):
    """Full page normally; only `fragment` when htmx asks for a partial swap."""
    if fragment and is_htmx_partial():
        return render_template(fragment, **context)
    return render_template(template, **context)
