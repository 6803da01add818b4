"""The organization's audit log in the client portal: filters, cursor pages
(newest first) and CSV export.

The filter form is a GET form, so a filtered log is a URL that can be
bookmarked; an htmx GET of the same URL returns only the results (the form
stays, and field errors are swapped beside their fields out of band). The
admin portal's audit log (app/web/admin/audit_views.py) reuses the form, the
listing and the export below with every organization in scope.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Callable

from flask import Response, render_template, request, stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from app import clock
from app.accounts.devices import describe
from app.accounts.models import Organization
from app.audit import queries
from app.audit.models import AuditEvent
from app.audit.service import record
from app.errors import DomainError
from app.pagination import Page
from app.web.forms import apply_domain_error
from app.web.portal import current_org_id
from app.web.request_context import db_session
from app.web.webhooks.common import wants_fragment

PAGE_SIZE = 50
DETAILS_LENGTH = 120
AGENT_LENGTH = 40
FILTER_FIELDS = ("action", "actor", "since", "until")
_BAD_DATE = "Enter a date as YYYY-MM-DD, e.g. 2026-03-01."


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AuditFilterForm(FlaskForm):
    """What to show; a GET form, so no CSRF token. Choices are set per request."""

    class Meta:
        csrf = False

    # Unknown but well-formed actions are allowed (a bookmarked filter may name
    # one no longer present): they simply match nothing.
    action = SelectField("Action", validate_choice=False, validators=[
        Optional(), Regexp(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", message="Choose an action from the list.")])
    actor = StringField("Actor", filters=[_strip], validators=[
        Length(max=254, message="At most 254 characters.")])
    since = DateField("From (UTC)", validators=[Optional()], invalid_value_message=_BAD_DATE)
    until = DateField("To (UTC)", validators=[Optional()], invalid_value_message=_BAD_DATE)

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")

    def url_params(self) -> dict[str, str]:
        """The filters as query parameters (empty ones left out), for links."""
        params = {}
        for name in FILTER_FIELDS:
            value = getattr(self, name).data
            if value:
                params[name] = value.isoformat() if isinstance(value, date) else value
        return params


def action_choices(names: list[str], current: str | None) -> list[SelectChoice]:
    """"Any action", then each family ("two_factor.*") and each exact action."""
    families = sorted({name.split(".", 1)[0] for name in names if "." in name})
    choices = [SelectChoice("", "Any action")]
    choices += [SelectChoice(family, f"{family}.*") for family in families]
    choices += [SelectChoice(name, name) for name in names if name not in families]
    if current and all(choice.value != current for choice in choices):
        choices.append(SelectChoice(current, current))
    return choices


def action_names(org_id: int | None, *, all_organizations: bool = False) -> list[str]:
    """Distinct actions present, for the filter's choices."""
    return queries.action_names(db_session(), org_id, all_organizations=all_organizations)


def filter_form(names: list[str], form_class=AuditFilterForm) -> AuditFilterForm:
    """The filters of the request's query string, offering the actions in `names`."""
    form = form_class(formdata=request.args)
    form.action.choices = action_choices(names, request.args.get("action"))
    return form


@dataclass(frozen=True)
class AuditRow:
    """One event as the table shows it."""

    event: AuditEvent
    organization: str  # slug, "" for platform-level events
    agent_short: str
    details_short: str
    details_full: str


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def compact_details(details: dict | None) -> str:
    """`key=value, …` with non-text values as compact JSON."""
    parts = []
    for key, value in sorted((details or {}).items()):
        shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def short_agent(user_agent: str | None) -> str:
    """"Firefox on Linux" where we recognise the browser, else the start of the string."""
    if not user_agent:
        return "—"
    described = describe(user_agent)
    return described if not described.startswith("Unknown") else _shorten(user_agent, AGENT_LENGTH)


def present(events: list[AuditEvent]) -> list[AuditRow]:
    slugs = queries.organization_slugs(db_session(), events)
    rows = []
    for event in events:
        details = compact_details(event.details)
        rows.append(AuditRow(event, slugs.get(event.org_id, ""), short_agent(event.user_agent),
                             _shorten(details, DETAILS_LENGTH), details))
    return rows


def listing(form: AuditFilterForm, filters_for: Callable[[AuditFilterForm], queries.AuditFilters],
            url: Callable[..., str], *, all_organizations: bool = False) -> dict:
    """One page of events matching the form's filters, and the links around it.

    `filters_for` turns a valid form into AuditFilters (it may raise DomainError
    naming a field); `url(**params)` builds a link to the same listing.
    """
    cursor = request.args.get("starting_after") or None
    page: Page = Page(rows=[], has_more=False)
    if form.validate():
        try:
            filters = filters_for(form)
            page = queries.page(db_session(), filters, PAGE_SIZE, cursor, all_organizations=all_organizations)
        except DomainError as error:
            apply_domain_error(form, error)
    params = form.url_params()
    failed = bool(form.errors or form.form_errors)
    return {"filter_form": form, "rows": present(page.rows), "failed": failed,
            "filtered": bool(params), "cursor": cursor,
            "older_url": url(**params, starting_after=page.rows[-1].public_id) if page.has_more else None,
            "newest_url": url(**params) if cursor else None,
            "params": params, "page_size": PAGE_SIZE}


def render_listing(page_template: str, context: dict, **extra):
    """The page, or the results fragment for htmx; 400 when a filter was refused."""
    status = 400 if context["failed"] else 200
    if wants_fragment():
        return render_template("security/_audit_results.html", oob_errors=True, **context, **extra), status
    return render_template(page_template, oob_errors=False, **context, **extra), status


def csv_response(filters: queries.AuditFilters, name: str, *, all_organizations: bool = False) -> Response:
    """Stream the matching events as CSV; the database session lives as long as the stream."""
    db = db_session()
    events = queries.iter_events(db, filters, all_organizations=all_organizations)
    filename = f"audit-log-{name}-{clock.utcnow():%Y-%m-%d}.csv"
    response = Response(stream_with_context(queries.csv_chunks(db, events)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def record_export(org_id: int | None, details: dict) -> None:
    """Exports are audited (who took a copy of the log, with which filters)."""
    db = db_session()
    record(db, "audit_log.exported", actor_label=current_user.email, actor_user_id=current_user.id,
           org_id=org_id, details=details)
    db.commit()


# --- the client portal's pages -------------------------------------------------

def _organization_filters(form: AuditFilterForm) -> queries.AuditFilters:
    return queries.AuditFilters(org_id=current_org_id(), action=form.action.data or None,
                                actor=form.actor.data or None, since=form.since.data, until=form.until.data)


def _client_url(**params) -> str:
    return url_for(".security_audit", **params)


def audit_log():
    context = listing(filter_form(action_names(current_org_id())), _organization_filters, _client_url)
    return render_listing("security/audit_log.html", context,
                          organization=db_session().get(Organization, current_org_id()),
                          export_endpoint=".security_audit_export", list_endpoint=".security_audit", show_org=False)


def export():
    form = filter_form(action_names(current_org_id()))
    if not form.validate():
        return audit_log()
    organization = db_session().get(Organization, current_org_id())
    record_export(organization.id, form.url_params())
    return csv_response(_organization_filters(form), organization.slug)


ROUTES = [
    ("/security/audit-log", "security_audit", audit_log, ["GET"]),
    ("/security/audit-log.csv", "security_audit_export", export, ["GET"]),
]
