"""The organization's IP allowlist page: the entries, an add form, remove with
confirmation.

Any member may look; only owners change it, and only in sudo mode. The
service refuses a change that would lock out the address making it, so the
page shows that address. htmx swaps the whole list fragment (#allowlist)
after an add or a remove; without JavaScript every change is a plain post
answered with a redirect (or the page with the error, status 400).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.errors import DomainError
from app.extensions import client_ip
from app.security import ip_allowlist
from app.security.models import IpAllowlistEntry
from app.tenancy import get_owned
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id, render
from app.web.request_context import db_session, is_htmx_partial
from app.web.security.common import is_owner, require_owner
from app.web.security.org_forms import AllowlistEntryForm
from app.web.sudo_guard import require_sudo

PAGE, FRAGMENT = "security/allowlist.html", "security/_allowlist.html"
WHAT = "the IP allowlist"


def _context(form: AllowlistEntryForm | None = None, remove_error: str | None = None) -> dict:
    entries = ip_allowlist.entries(db_session(), current_org_id())
    if form is None:
        form = AllowlistEntryForm(formdata=None)
        if not entries:  # the first entry must cover the current address: offer it
            form.cidr.data = client_ip()
    return {"entries": entries, "form": form, "current_ip": client_ip(), "can_change": is_owner(),
            "remove_error": remove_error, "max_entries": ip_allowlist.MAX_ENTRIES}


def allowlist():
    """GET shows the list; POST adds an entry."""
    if request.method == "POST":
        return _add()
    return render(PAGE, FRAGMENT, **_context())


@require_owner(WHAT)
@require_sudo
def _add():
    db = db_session()
    form = AllowlistEntryForm()
    if form.validate_on_submit():
        try:
            entry = ip_allowlist.add(db, current_org_id(), form.cidr.data, form.label.data or "",
                                     current_ip=client_ip(), **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            if is_htmx_partial():
                return render_template(FRAGMENT, **_context(), added=entry)
            flash(f"{entry.cidr} is on the allowlist.", "success")
            return redirect(url_for(".security_allowlist"))
    return render(PAGE, FRAGMENT, **_context(form)), 400


def remove(public_id: str):
    """GET asks for confirmation (the no-JavaScript path); POST removes."""
    entry = get_owned(db_session(), IpAllowlistEntry, current_org_id(), public_id)
    if request.method == "POST":
        return _remove(entry)
    return _confirm_remove(entry)


@require_owner(WHAT)
def _confirm_remove(entry: IpAllowlistEntry):
    remaining = len(ip_allowlist.entries(db_session(), current_org_id())) - 1
    return render_template(PAGE, confirm_entry=entry, remaining=remaining, current_ip=client_ip())


@require_owner(WHAT)
@require_sudo
def _remove(entry: IpAllowlistEntry):
    db = db_session()
    cidr = entry.cidr
    try:
        ip_allowlist.remove(db, current_org_id(), entry.public_id, current_ip=client_ip(), **actor())
    except DomainError as error:
        db.rollback()
        return render(PAGE, FRAGMENT, **_context(remove_error=error.message)), 400
    db.commit()
    if is_htmx_partial():
        return render_template(FRAGMENT, **_context(), removed=cidr)
    flash(f"{cidr} was removed from the allowlist.", "success")
    return redirect(url_for(".security_allowlist"))


ROUTES = [
    ("/security/ip-allowlist", "security_allowlist", allowlist, ["GET", "POST"]),
    ("/security/ip-allowlist/<public_id>/remove", "security_allowlist_remove", remove, ["GET", "POST"]),
]
