"""Inbound Stripe events for staff: what Stripe sent, what processing did with
it, and "Re-run processing" once the cause of a failure is fixed.

The list's URL carries its filters and cursor (bookmarkable, Back works); an
htmx GET of the same URL returns the table alone. Looking is not audited;
re-running is (`stripe_event.rerun`).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.errors import DomainError, NotFound
from app.pagination import Page, paginate
from app.payments import inbound, jobs
from app.payments.inbound_handlers import HANDLED_TYPES
from app.payments.models import INBOUND_STATUSES, StripeEvent
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import wants_fragment
from app.web.webhooks.presenting import pretty_json

PAGE_SIZE = 25


class EventFilterForm(FlaskForm):
    """A GET form: no CSRF token."""

    class Meta:
        csrf = False

    status = SelectField("Status", validators=[Optional()],
                         choices=[SelectChoice("", "All statuses")]
                         + [SelectChoice(s, s.capitalize()) for s in INBOUND_STATUSES])
    type = SelectField("Type", validators=[Optional()])


def _filter_form() -> EventFilterForm:
    """Types offered: the ones we handle and any other Stripe has sent."""
    seen = set(db_session().scalars(select(StripeEvent.type).distinct()))
    form = EventFilterForm(formdata=request.args)
    form.type.choices = [SelectChoice("", "All types")] + [SelectChoice(t) for t in sorted(HANDLED_TYPES | seen)]
    return form


def _list_url(**params) -> str:
    return url_for("admin.stripe_events", **{key: value for key, value in params.items() if value})


def _listing() -> dict:
    form = _filter_form()
    cursor = request.args.get("starting_after") or None
    page = Page(rows=[], has_more=False)
    if form.validate():
        stmt = select(StripeEvent)
        if form.status.data:
            stmt = stmt.where(StripeEvent.status == form.status.data)
        if form.type.data:
            stmt = stmt.where(StripeEvent.type == form.type.data)
        try:
            page = paginate(db_session(), stmt, StripeEvent, PAGE_SIZE, cursor, newest_first=True,
                            cursor_column=StripeEvent.stripe_event_id)
        except DomainError as error:
            apply_domain_error(form, error)
    filters = {"status": form.status.data, "type": form.type.data}
    return {"filter_form": form, "page": page, "filtered": any(filters.values()),
            "failed": bool(form.errors or form.form_errors),
            "older_url": _list_url(**filters, starting_after=page.rows[-1].stripe_event_id) if page.has_more else None,
            "newest_url": _list_url(**filters) if cursor else None}


def index():
    context = _listing()
    template = "admin/stripe_events/_list.html" if wants_fragment() else "admin/stripe_events/index.html"
    return render_template(template, **context), 400 if context["failed"] else 200


def _load(stripe_event_id: str) -> StripeEvent:
    event = db_session().scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == stripe_event_id)).first()
    if event is None:
        raise NotFound(f"No such Stripe event: {stripe_event_id}")
    return event


def detail(stripe_event_id: str):
    """The event page; htmx polls the summary alone while a worker has it."""
    event = _load(stripe_event_id)
    if wants_fragment():
        return render_template("admin/stripe_events/_summary.html", event=event)
    return render_template("admin/stripe_events/detail.html", event=event, payload=pretty_json(event.payload))


def rerun(stripe_event_id: str):
    """Reset to pending (refused while a worker holds it), audit, commit, then queue."""
    db = db_session()
    event = _load(stripe_event_id)
    inbound.rerun(db, event, **actor())
    db.commit()
    jobs.enqueue_processing(event.id)
    if wants_fragment():
        return render_template("admin/stripe_events/_summary.html", event=event)
    flash(f"Processing of {event.stripe_event_id} was queued again.", "success")
    return redirect(url_for("admin.stripe_event_detail", stripe_event_id=event.stripe_event_id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/stripe-events", endpoint="stripe_events", view_func=index, methods=["GET"])
    bp.add_url_rule("/stripe-events/<stripe_event_id>", endpoint="stripe_event_detail", view_func=detail,
                    methods=["GET"])
    bp.add_url_rule("/stripe-events/<stripe_event_id>/rerun", endpoint="stripe_event_rerun", view_func=rerun,
                    methods=["POST"])
