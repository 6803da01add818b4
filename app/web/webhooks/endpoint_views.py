"""The endpoint list: create, edit inline, enable/disable, delete; and the
event types page.

In the list, htmx swaps the whole list fragment (#webhooks) after a create,
toggle or delete, so banners, the empty state and the rows always agree; an
inline edit swaps only its row. Without JavaScript every action is a plain
form post answered with a redirect (or the page with the errors, status 400).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from htmx_flask import make_response

from app.errors import DomainError
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id
from app.web.request_context import db_session
from app.web.webhooks.common import endpoint_url, load_endpoint, render, wants_fragment
from app.web.webhooks.forms import CreateEndpointForm, EndpointForm
from app.web.webhooks.presenting import pretty_json, schema_fields
from app.webhooks import endpoints, portal_queries
from app.webhooks.catalog import EVENT_TYPES, payload_schema


def list_context(created=None, secret: str | None = None) -> dict:
    db, org_id = db_session(), current_org_id()
    return {"endpoints": endpoints.list_endpoints(db, org_id), "rates": portal_queries.success_rates(db, org_id),
            "created": created, "secret": secret, "max_endpoints": endpoints.MAX_ENDPOINTS_PER_ORG}


def _list_fragment(status: int = 200):
    """The list fragment, retargeted at #webhooks whichever widget asked."""
    return make_response(render_template("webhooks/_endpoints.html", **list_context()), status,
                         retarget="#webhooks", reswap="outerHTML")


def index():
    return render("webhooks/index.html", "webhooks/_endpoints.html", **list_context())


def event_types():
    catalog = [{"name": t.name, "description": t.description, "schema": payload_schema(t),
                "fields": schema_fields(payload_schema(t)), "example": pretty_json(t.example)}
               for t in EVENT_TYPES.values()]
    return render("webhooks/event_types.html", event_types=catalog, pretty_json=pretty_json)


def new():
    return render("webhooks/new.html", "webhooks/_create_form.html", form=CreateEndpointForm())


def create():
    form = CreateEndpointForm()
    if form.validate_on_submit():
        db = db_session()
        try:
            endpoint, secret = endpoints.create_endpoint(
                db, current_org_id(), url=form.url.data, description=form.description.data or "",
                event_types=form.chosen_event_types(), **actor())
            if not form.enabled.data:
                endpoints.update_endpoint(db, endpoint, enabled=False, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            # The secret is in this response only: no redirect could carry it
            # without storing it somewhere it should not be.
            context = list_context(created=endpoint, secret=secret)
            if wants_fragment():
                return make_response(render_template("webhooks/_endpoints.html", **context), 201,
                                     retarget="#webhooks", reswap="outerHTML")
            return render_template("webhooks/index.html", **context), 201
    return render("webhooks/new.html", "webhooks/_create_form.html", form=form), 400


def _row(endpoint):
    rates = portal_queries.success_rates(db_session(), current_org_id())
    return render_template("webhooks/_row.html", endpoint=endpoint, rate=rates.get(endpoint.id))


def row(public_id: str):
    """The read-only row (htmx: cancel an inline edit)."""
    endpoint = load_endpoint(public_id)
    if not wants_fragment():
        return redirect(url_for(".webhooks"))
    return _row(endpoint)


def edit(public_id: str):
    endpoint = load_endpoint(public_id)
    form = EndpointForm(formdata=None)
    form.load(endpoint)
    return render("webhooks/edit.html", "webhooks/_edit_row.html", endpoint=endpoint, form=form)


def update(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoints.update_endpoint(db, endpoint, url=form.url.data, description=form.description.data or "",
                                      event_types=form.chosen_event_types(), **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            if wants_fragment():
                return _row(endpoint)
            flash(f"Endpoint {endpoint.url} saved.", "success")
            return redirect(url_for(".webhooks"))
    return render("webhooks/edit.html", "webhooks/_edit_row.html", endpoint=endpoint, form=form), 400


def _back_to(endpoint):
    """Where a plain (non-htmx) form goes afterwards: the page it came from."""
    return redirect(endpoint_url(endpoint) if request.form.get("back") == "endpoint" else url_for(".webhooks"))


def toggle(public_id: str):
    """Enable (`enabled=1`) or disable (`enabled=0`) the endpoint."""
    db = db_session()
    endpoint = load_endpoint(public_id)
    wanted = request.form.get("enabled")
    if wanted not in ("0", "1"):
        abort(400)
    endpoints.update_endpoint(db, endpoint, enabled=wanted == "1", **actor())
    db.commit()
    if wants_fragment():
        return _list_fragment()
    if endpoint.enabled:
        flash(f"Endpoint {endpoint.url} enabled: deliveries resume now.", "success")
    else:
        flash(f"Endpoint {endpoint.url} disabled: no events are sent to it until you enable it.", "success")
    return _back_to(endpoint)


def confirm_delete(public_id: str):
    """Without JavaScript there is no hx-confirm: this page asks instead."""
    return render_template("webhooks/confirm.html", endpoint=load_endpoint(public_id), action="delete")


def delete(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    url = endpoint.url
    endpoints.delete_endpoint(db, endpoint, **actor())
    db.commit()
    if wants_fragment():
        return _list_fragment()
    flash(f"Endpoint {url} deleted with its delivery log.", "success")
    return redirect(url_for(".webhooks"))


ROUTES = [
    ("/webhooks", "webhooks", index, ["GET"]),
    ("/webhooks", "webhooks_create", create, ["POST"]),
    ("/webhooks/new", "webhooks_new", new, ["GET"]),
    ("/event-types", "webhooks_event_types", event_types, ["GET"]),
    ("/webhooks/<public_id>/row", "webhooks_row", row, ["GET"]),
    ("/webhooks/<public_id>/edit", "webhooks_edit", edit, ["GET"]),
    ("/webhooks/<public_id>", "webhooks_update", update, ["POST"]),
    ("/webhooks/<public_id>/enabled", "webhooks_toggle", toggle, ["POST"]),
    ("/webhooks/<public_id>/delete", "webhooks_confirm_delete", confirm_delete, ["GET"]),
    ("/webhooks/<public_id>/delete", "webhooks_delete", delete, ["POST"]),
]
