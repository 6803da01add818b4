"""The platform's audit log for staff: every organization's events and the
platform-level ones (no organization), with an organization filter.

Looking at the log is not itself audited (it would drown the log in its own
reads); taking a copy with the CSV export is, as "audit_log.exported".
"""
from __future__ import annotations

from flask import Blueprint, url_for
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Length

from app.accounts.models import Organization
from app.audit import queries
from app.errors import DomainError
from app.web.request_context import db_session
from app.web.security.audit_views import (AuditFilterForm, action_names, csv_response, filter_form, listing,
                                          record_export, render_listing)


class AdminAuditFilterForm(AuditFilterForm):
    organization = StringField("Organization", filters=[lambda value: value.strip().lower() if value else value],
                               validators=[Length(max=63, message="At most 63 characters.")],
                               render_kw={"list": "organization-slugs", "autocomplete": "off"})

    def url_params(self) -> dict[str, str]:
        params = super().url_params()
        if self.organization.data:
            params["organization"] = self.organization.data
        return params


def _organization_id(slug: str) -> int:
    org_id = db_session().scalar(select(Organization.id).where(Organization.slug == slug))
    if org_id is None:
        raise DomainError(f"No organization has the slug “{slug}”.", field="organization")
    return org_id


def _filters(form: AdminAuditFilterForm) -> queries.AuditFilters:
    """Every organization unless one is chosen (DomainError beside the field if unknown)."""
    org_id = _organization_id(form.organization.data) if form.organization.data else None
    return queries.AuditFilters(org_id=org_id, action=form.action.data or None, actor=form.actor.data or None,
                                since=form.since.data, until=form.until.data)


def _form() -> AdminAuditFilterForm:
    return filter_form(action_names(None, all_organizations=True), AdminAuditFilterForm)


def _slugs() -> list[str]:
    return list(db_session().scalars(select(Organization.slug).order_by(Organization.slug)))


def audit():
    context = listing(_form(), _filters, lambda **params: url_for("admin.audit", **params),
                      all_organizations=True)
    return render_listing("admin/audit/index.html", context, export_endpoint="admin.audit_export",
                          list_endpoint="admin.audit", show_org=True, organization_slugs=_slugs())


def export():
    form = _form()
    if not form.validate():
        return audit()
    try:
        filters = _filters(form)
    except DomainError:
        return audit()  # shows the refusal beside the organization field
    record_export(None, {"organization": "all", **form.url_params()})
    return csv_response(filters, form.organization.data or "all", all_organizations=True)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit-log", endpoint="audit", view_func=audit, methods=["GET"])
    bp.add_url_rule("/audit-log.csv", endpoint="audit_export", view_func=export, methods=["GET"])
