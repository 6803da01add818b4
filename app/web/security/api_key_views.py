"""The organization's API keys: the list (with last use and status), create
(the secret is shown once, in the creation response), revoke with
confirmation.

Any member may look; only owners create or revoke, in sudo mode. Revoked
keys stay listed as revoked, so the list answers "which key was that?"
after the fact. htmx swaps the whole list fragment (#api-keys); without
JavaScript creating answers with the page itself (no redirect could carry
the secret without storing it) and revoking with a redirect.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.errors import DomainError
from app.security import api_keys
from app.security.models import ApiKey
from app.tenancy import get_owned, owned
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id, render
from app.web.request_context import db_session, is_htmx_partial
from app.web.security.common import is_owner, require_owner
from app.web.security.org_forms import ApiKeyForm
from app.web.sudo_guard import require_sudo

PAGE, FRAGMENT = "security/api_keys.html", "security/_api_keys.html"
WHAT = "API keys"


def _keys() -> list[ApiKey]:
    query = owned(ApiKey, current_org_id()).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    return list(db_session().scalars(query))


def _context(form: ApiKeyForm | None = None, created: api_keys.CreatedKey | None = None) -> dict:
    return {"keys": _keys(), "form": form or ApiKeyForm(formdata=None), "created": created,
            "can_change": is_owner(), "me_url": url_for("api.me", _external=True)}


def index():
    """GET lists the keys; POST creates one."""
    if request.method == "POST":
        return _create()
    return render(PAGE, FRAGMENT, **_context())


@require_owner(WHAT)
@require_sudo
def _create():
    db = db_session()
    form = ApiKeyForm()
    if form.validate_on_submit():
        who = actor()
        try:
            created = api_keys.create(db, current_org_id(), form.name.data, form.scopes.data or [],
                                      actor_label=who["actor_label"], created_by_id=who["actor_user_id"])
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            return render(PAGE, FRAGMENT, **_context(created=created)), 201
    return render(PAGE, FRAGMENT, **_context(form)), 400


def revoke(public_id: str):
    """GET asks for confirmation (the no-JavaScript path); POST revokes."""
    key = get_owned(db_session(), ApiKey, current_org_id(), public_id)
    if request.method == "POST":
        return _revoke(key)
    return _confirm(key)


@require_owner(WHAT)
def _confirm(key: ApiKey):
    if key.revoked_at is not None:
        flash(f"The key “{key.name}” is already revoked.", "info")
        return redirect(url_for(".security_api_keys"))
    return render_template("security/api_key_revoke.html", key=key)


@require_owner(WHAT)
@require_sudo
def _revoke(key: ApiKey):
    db = db_session()
    api_keys.revoke(db, key, **actor())
    db.commit()
    if is_htmx_partial():
        return render_template(FRAGMENT, **_context())
    flash(f"The key “{key.name}” ({key.display_prefix}…) is revoked: requests using it are refused from now on.",
          "success")
    return redirect(url_for(".security_api_keys"))


ROUTES = [
    ("/security/api-keys", "security_api_keys", index, ["GET", "POST"]),
    ("/security/api-keys/<public_id>/revoke", "security_api_key_revoke", revoke, ["GET", "POST"]),
]
