"""One message with every attempt, "Resend", and "Replay all failed since …"
with its progress (polled by htmx until the replay has settled)."""
from __future__ import annotations

from flask import flash, redirect, render_template
from htmx_flask import make_response

from app.errors import DomainError
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import endpoint_url, load_endpoint, load_message, load_replay, wants_fragment
from app.web.webhooks.detail_views import LOG_REFRESHED, page_context, replay_context, replay_form
from app.web.webhooks.forms import ReplayForm
from app.web.webhooks.presenting import pretty_json
from app.webhooks import messages


def show_message(public_id: str, message_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    message = load_message(endpoint, message_id)
    attempts = messages.attempts_of(db, message)
    return render_template("webhooks/message.html", endpoint=endpoint, message=message, attempts=attempts,
                           body=pretty_json(message.event.body))


def resend(public_id: str, message_id: str):
    """Send it again now. A disabled endpoint's refusal (DomainError) becomes
    the portal's error toast (htmx) or error page."""
    db = db_session()
    endpoint = load_endpoint(public_id)
    message = load_message(endpoint, message_id)
    messages.resend(db, message, endpoint, **actor())
    db.commit()
    if wants_fragment():
        return make_response(render_template("webhooks/_log_row.html", endpoint=endpoint, message=message),
                             trigger_after_settle=LOG_REFRESHED)
    flash(f"Message {message.public_id} queued to be sent again.", "success")
    return redirect(endpoint_url(endpoint))


def request_replay(public_id: str):
    db = db_session()
    endpoint = load_endpoint(public_id)
    form = ReplayForm()
    if form.validate_on_submit():
        try:
            replay = messages.request_replay(db, endpoint, form.since_utc(), **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            if wants_fragment():  # the log refreshes too, and keeps refreshing while the replay delivers
                return make_response(render_template("webhooks/_replay.html", endpoint=endpoint,
                                                     replay_form=replay_form(), **replay_context(endpoint)),
                                     trigger_after_settle=LOG_REFRESHED)
            flash(f"Replay of the failed messages since {replay.since:%Y-%m-%d %H:%M} UTC started.", "success")
            return redirect(endpoint_url(endpoint))
    if wants_fragment():
        return render_template("webhooks/_replay.html", endpoint=endpoint, replay_form=form,
                               **replay_context(endpoint)), 400
    return render_template("webhooks/endpoint.html", **page_context(endpoint, replay_form=form)), 400


def replay_progress(public_id: str, replay_id: str):
    """The progress box alone (htmx polls it every second until it is finished)."""
    db = db_session()
    endpoint = load_endpoint(public_id)
    replay = load_replay(endpoint, replay_id)
    if not wants_fragment():
        return redirect(endpoint_url(endpoint))
    progress = messages.replay_progress(db, replay)
    fragment = render_template("webhooks/_replay_progress.html", endpoint=endpoint, progress=progress)
    # The last poll (finished) also refreshes the log, which shows the outcome.
    return make_response(fragment, trigger_after_settle=LOG_REFRESHED) if progress.finished else fragment


ROUTES = [
    ("/webhooks/<public_id>/messages/<message_id>", "webhooks_message", show_message, ["GET"]),
    ("/webhooks/<public_id>/messages/<message_id>/resend", "webhooks_resend", resend, ["POST"]),
    ("/webhooks/<public_id>/replay", "webhooks_replay", request_replay, ["POST"]),
    ("/webhooks/<public_id>/replays/<replay_id>", "webhooks_replay_progress", replay_progress, ["GET"]),
]
