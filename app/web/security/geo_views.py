"""The organization's geo rules page: a default action and per-country rules
(allow, block, require 2FA verification), saved together.

The whole policy is one form: the table's rows (each with a "remove" box),
an optional new rule and the default. Saving sends it all to
`geo_rules.save`, which checks every entry and refuses a policy that would
block the country the change comes from; its refusal is shown beside the row
or select it concerns. The page also refuses "require verification" for that
country when the user has no 2FA (a lockout too). Any member may look; owners
change it, in sudo mode.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.errors import DomainError
from app.extensions import client_ip
from app.security import countries, geo_rules, two_factor
from app.web.access_gate import current_country
from app.web.portal import actor, current_org_id, render
from app.web.request_context import db_session, is_htmx_partial
from app.web.security.common import is_owner, require_owner
from app.web.security.org_forms import GeoRulesForm
from app.web.sudo_guard import require_sudo

PAGE, FRAGMENT = "security/geo_rules.html", "security/_geo_rules.html"
_ROW_FIELD = re.compile(r"^rules\.(\d+)\.(country|action)$")


@dataclass
class Row:
    """One line of the rules table, as shown (after a refused save: as sent)."""

    country: str
    action: str
    removed: bool = False
    error: str | None = None


def _context(form: GeoRulesForm | None = None, rows: list[Row] | None = None, new_error: str | None = None) -> dict:
    policy = geo_rules.policy(db_session(), current_org_id())
    if form is None:
        form = GeoRulesForm(formdata=None, data={"default": policy.default})
    if rows is None:
        rows = [Row(code, action) for code, action in policy.rules.items()]
    here = current_country()
    return {"form": form, "rows": rows, "new_error": new_error, "names": countries.names(),
            "labels": geo_rules.ACTION_LABELS, "current_ip": client_ip(), "current_country": here,
            "current_action": policy.action_for(here), "can_change": is_owner()}


def geo():
    """GET shows the policy; POST saves it."""
    if request.method == "POST":
        return _save()
    return render(PAGE, FRAGMENT, **_context())


@require_owner("the geo rules")
@require_sudo
def _save():
    form = GeoRulesForm()
    table = form.table_rows() if form.validate_on_submit() else None
    if table is None:
        if not form.errors:
            form.form_errors.append("The rules could not be read. Reload the page and try again.")
        return render(PAGE, FRAGMENT, **_context(form)), 400
    rows = [Row(code, action, removed) for code, action, removed in table]
    kept = [row for row in rows if not row.removed]
    new = form.new_rule()
    submitted = [(row.country, row.action) for row in kept] + ([new] if new else [])
    db = db_session()
    try:
        saved = geo_rules.save(db, current_org_id(), form.default.data, submitted,
                               current_country=current_country(), **actor())
        _refuse_unanswerable_verification(saved)  # rolled back with the save if refused
    except DomainError as error:
        db.rollback()
        return _refused(form, error, rows, kept, submitted)
    db.commit()
    if is_htmx_partial():
        return render_template(FRAGMENT, **_context(), saved=True)
    flash("Geo rules saved. They apply to the portal and the API from the next request.", "success")
    return redirect(url_for(".security_geo"))


def _refuse_unanswerable_verification(policy: geo_rules.GeoPolicy) -> None:
    """"Require verification" where you are, without 2FA, would lock you out as surely as a block
    (the step-up page has no code to ask you for), so it is refused the same way."""
    here = current_country()
    if policy.action_for(here) != "verify" or two_factor.is_enabled(db_session(), current_user.id):
        return
    where = f"{countries.name(here)} ({here})" if here else "an unlisted location"
    raise DomainError(f"These rules would ask you for a two-factor code from your current location, {where}, "
                      "but your account has no two-factor authentication. Turn it on first, or you would be "
                      "locked out.", field="rules" if here in policy.rules else "default")


def _refused(form: GeoRulesForm, error: DomainError, rows: list[Row], kept: list[Row], submitted: list):
    """Show the form as sent, with the service's message beside the row, new rule or select it names."""
    index, new_error = _row_of(error, submitted), None
    if index is not None and index >= len(kept):
        new_error = error.message
    elif index is not None:
        kept[index].error = error.message
    elif error.field == "default":
        form.default.errors = [*form.default.errors, error.message]
    else:
        form.form_errors.append(error.message)
    return render(PAGE, FRAGMENT, **_context(form, rows, new_error)), 400


def _row_of(error: DomainError, submitted: list[tuple[str, str]]) -> int | None:
    """The submitted rule an error concerns: named by index, or (a lockout) the current country's."""
    match = _ROW_FIELD.match(error.field or "")
    if match:
        return int(match.group(1))
    here = current_country()
    if error.field == "rules" and here:
        for index, (code, _action) in enumerate(submitted):
            if code.strip().upper() == here:
                return index
    return None


ROUTES = [
    ("/security/geo-rules", "security_geo", geo, ["GET", "POST"]),
]
