"""The endpoint page: details, secret (reveal, rotate), "Send test event",
24 h figures and the delivery log.

The page's URL carries the log's filters and cursor, so a filtered log can be
bookmarked and Back works; an htmx GET of the same URL returns the log alone
(filters, pager and the self-refresh while deliveries are due all use it).
"""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request
from htmx_flask import make_response

from app import clock
from app.errors import DomainError
from app.pagination import Page, paginate
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id
from app.web.request_context import db_session
from app.web.sudo_guard import require_sudo
from app.web.webhooks.common import endpoint_url, load_endpoint, wants_fragment
from app.web.webhooks.forms import LogFilterForm, ReplayForm, TestEventForm, event_type_choices
from app.webhooks import endpoints, events, messages, portal_queries
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookMessage

LOG_PAGE_SIZE = 25
LOG_REFRESHED = "webhooks:log-refresh"  # the log listens for it on <body>


def test_event_form(endpoint, formdata=None) -> TestEventForm:
    """The test-event form, offering the types the endpoint subscribes to (first preselected)."""
    subscribed = endpoint.event_types or list(EVENT_TYPES)
    form = TestEventForm(formdata=formdata)
    form.event_type.choices = event_type_choices(subscribed)
    if formdata is None:
        form.event_type.data = subscribed[0]
    return form


def replay_form(formdata=None) -> ReplayForm:
    form = ReplayForm(formdata=formdata)
    if formdata is None:
        form.since.data = (clock.utcnow() - timedelta(days=1)).replace(tzinfo=None, second=0, microsecond=0)
    return form


def log_context(endpoint) -> dict:
    """One page of the endpoint's messages, newest first, with the filters of the URL."""
    db = db_session()
    form = LogFilterForm(formdata=request.args)
    cursor = request.args.get("starting_after") or None
    page = Page(rows=[], has_more=False)
    if form.validate():
        status, event_type = form.status.data or None, form.event_type.data or None
        try:
            stmt = messages.message_filter(current_org_id(), endpoint, status, event_type)
            page = paginate(db, stmt, WebhookMessage, LOG_PAGE_SIZE, cursor, newest_first=True)
        except DomainError as error:
            apply_domain_error(form, error)
    filters = {"status": form.status.data, "event_type": form.event_type.data}
    older = endpoint_url(endpoint, **filters, starting_after=page.rows[-1].public_id) if page.has_more else None
    return {"filter_form": form, "page": page, "cursor": cursor, "older_url": older,
            "newest_url": endpoint_url(endpoint, **filters) if cursor else None,
            "log_url": endpoint_url(endpoint, **filters, starting_after=cursor),
            "log_failed": bool(form.errors or form.form_errors),
            "polling": portal_queries.delivering_soon(db, endpoint)}


def replay_context(endpoint) -> dict:
    db = db_session()
    replay = messages.latest_replay(db, endpoint)
    return {"progress": messages.replay_progress(db, replay) if replay else None}


def page_context(endpoint, **overrides) -> dict:
    """Everything the endpoint page shows; `overrides` replace widgets (e.g. a
    form with errors, a revealed secret)."""
    context = {"endpoint": endpoint, "stats": messages.endpoint_stats(db_session(), endpoint),
               "test_form": test_event_form(endpoint), "replay_form": replay_form(), "secret": None,
               "secret_mode": None, **replay_context(endpoint), **log_context(endpoint)}
    context.update(overrides)
    return context


def show(public_id: str):
    endpoint = load_endpoint(public_id)
    if wants_fragment():
        context = log_context(endpoint)
        return render_template("webhooks/_log.html", endpoint=endpoint, **context), \
            400 if context["log_failed"] else 200
    context = page_context(endpoint)
    return render_template("webhooks/endpoint.html", **context), 400 if context["log_failed"] else 200


def _secret_widget(endpoint, secret: str, mode: str):
    if wants_fragment():
        return render_template("webhooks/_secret.html", endpoint=endpoint, secret=secret, secret_mode=mode)
    return render_template("webhooks/endpoint.html", **page_context(endpoint, secret=secret, secret_mode=mode))


@require_sudo
def reveal_secret(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    secret = endpoints.reveal_secret(db, endpoint, **actor())
    db.commit()
    return _secret_widget(endpoint, secret, "revealed")


@require_sudo
def confirm_rotate(public_id: str):
    return render_template("webhooks/confirm.html", endpoint=load_endpoint(public_id), action="rotate")


@require_sudo
def rotate_secret(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    secret = endpoints.rotate_secret(db, endpoint, **actor())
    db.commit()
    return _secret_widget(endpoint, secret, "rotated")


def send_test(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    form = test_event_form(endpoint, formdata=request.form)
    if form.validate_on_submit():
        try:
            event = events.send_test(db, endpoint, form.event_type.data)
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            notice = f"Test event {event.type} ({event.public_id}) queued; the log below shows its delivery."
            if wants_fragment():
                return make_response(render_template("webhooks/_test_event.html", endpoint=endpoint,
                                                     test_form=test_event_form(endpoint), notice=notice),
                                     trigger_after_settle=LOG_REFRESHED)
            flash(notice, "success")
            return redirect(endpoint_url(endpoint))
    if wants_fragment():
        return render_template("webhooks/_test_event.html", endpoint=endpoint, test_form=form), 400
    return render_template("webhooks/endpoint.html", **page_context(endpoint, test_form=form)), 400


ROUTES = [
    ("/webhooks/<public_id>", "webhooks_endpoint", show, ["GET"]),
    ("/webhooks/<public_id>/secret/reveal", "webhooks_reveal_secret", reveal_secret, ["POST"]),
    ("/webhooks/<public_id>/secret/rotate", "webhooks_confirm_rotate", confirm_rotate, ["GET"]),
    ("/webhooks/<public_id>/secret/rotate", "webhooks_rotate_secret", rotate_secret, ["POST"]),
    ("/webhooks/<public_id>/test", "webhooks_send_test", send_test, ["POST"]),
]
