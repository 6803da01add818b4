"""Client portal: Cost advice — what the customer could save a month, the open recommendations by savings, and
each one's evidence with Apply, Dismiss and Snooze.

Apply changes something real (stops an instance, changes the plan), so it is confirmed first: with htmx the
browser asks (hx-confirm) and the detail's action panel swaps in place; without JavaScript the Apply button is a
link to a page that asks, whose form does it. Owners act; members see the same pages read-only (the actions are
not offered, and posting them is a 403). The advice service decides and audits; the commit happens here.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for

from app import clock
from app.advice import queries, service
from app.errors import DomainError
from app.web.advice import evidence
from app.web.advice.forms import ApplyForm, DismissForm, SnoozeForm, place_on_field
from app.web.advice.presenting import HELPERS, action_text, daily_job_time
from app.web.portal import actor, current_org_id, current_organization
from app.web.request_context import db_session
from app.web.security.common import is_owner, require_owner
from app.web.webhooks.common import render, wants_fragment

DETAIL = "client/advice/detail.html"
ACTIONS = "client/advice/_actions.html"
SECONDARY = ("dismissed", "snoozed")
OWNERS_ONLY = "cost-advice recommendations"


def index():
    db, now = db_session(), clock.utcnow()
    org = current_organization()
    return render_template("client/advice/index.html", organization=org, job_time=daily_job_time(),
                           listing=queries.advice_list(db, org.id, now),
                           others=queries.advice_list(db, org.id, now, statuses=SECONDARY), **HELPERS)


def _load(rec_id: str):
    """The organization's recommendation (another organization's id is a 404, raised by the query)."""
    return queries.get_recommendation(db_session(), current_org_id(), rec_id)


def detail_context(rec, **extra) -> dict:
    """Everything the detail page and its action panel show; blank forms unless `extra` brings filled ones."""
    db, today = db_session(), clock.utcnow().date()
    context = {"rec": rec, "status": queries.effective_status(rec, today), "facts": evidence.facts(rec),
               "chart": evidence.chart(rec), "plan_table": evidence.plan_table(rec),
               "estimate": evidence.estimate(rec), "action": action_text(db, rec), "can_act": is_owner(),
               "apply_form": ApplyForm(), "dismiss_form": DismissForm(formdata=None),
               "snooze_form": SnoozeForm(formdata=None),
               "earliest_snooze": today + timedelta(days=1), "notice": None, **HELPERS}
    context.update(extra)
    return context


def detail(rec_id: str):
    return render_template(DETAIL, **detail_context(_load(rec_id)))


def confirm_apply(rec_id: str):
    """Without JavaScript there is no hx-confirm: this page says what Apply will do and asks."""
    rec = _load(rec_id)
    if not rec.action or queries.effective_status(rec, clock.utcnow().date()) != "open":
        return redirect(url_for("client.cost_advice_detail", rec_id=rec.public_id))
    return render_template("client/advice/apply_confirm.html", **detail_context(rec))


def _refused(rec_id: str, error: DomainError | None = None, **forms):
    """The action panel again (or the whole page), the refusal beside its field; nothing is written."""
    db_session().rollback()
    context = detail_context(_load(rec_id), **forms)
    form = next(iter(forms.values()), None)
    if error is not None and (form is None or not place_on_field(form, error)):
        context["panel_error"] = error.message
    return render(DETAIL, ACTIONS, **context), 400


def _done(rec, message: str):
    """After a change: the panel in place for htmx, else back to the page with the message."""
    if wants_fragment():
        return render_template(ACTIONS, **detail_context(rec, notice=message))
    flash(message, "success")
    return redirect(url_for("client.cost_advice_detail", rec_id=rec.public_id))


@require_owner(OWNERS_ONLY)
def apply(rec_id: str):
    """Do what the recommendation says (CSRFProtect has checked the token; the confirmation came first)."""
    db = db_session()
    described = action_text(db, _load(rec_id))  # a 404 first for another organization's id
    try:
        rec = service.apply(db, current_org_id(), rec_id, **actor())
    except DomainError as error:
        return _refused(rec_id, error)
    db.commit()
    return _done(rec, f"Done: {described.label if described else 'applied'}.")


@require_owner(OWNERS_ONLY)
def dismiss(rec_id: str):
    db = db_session()
    _load(rec_id)
    form = DismissForm()
    if not form.validate_on_submit():
        return _refused(rec_id, dismiss_form=form)
    try:
        rec = service.dismiss(db, current_org_id(), rec_id, form.reason.data, **actor())
    except DomainError as error:
        return _refused(rec_id, error, dismiss_form=form)
    db.commit()
    return _done(rec, "Dismissed. It stays out of your list while the evidence lasts.")


@require_owner(OWNERS_ONLY)
def snooze(rec_id: str):
    db = db_session()
    _load(rec_id)
    form = SnoozeForm()
    if not form.validate_on_submit():
        return _refused(rec_id, snooze_form=form)
    try:
        rec = service.snooze(db, current_org_id(), rec_id, form.until.data, **actor())
    except DomainError as error:
        return _refused(rec_id, error, snooze_form=form)
    db.commit()
    return _done(rec, f"Snoozed until {rec.snoozed_until:%d %b %Y}: it comes back to your list then if the "
                      "evidence still holds.")


def register(bp: Blueprint) -> None:
    """Cost advice (`client.cost_advice`), a recommendation, and its actions."""
    bp.add_url_rule("/cost-advice", endpoint="cost_advice", view_func=index, methods=["GET"])
    bp.add_url_rule("/cost-advice/<rec_id>", endpoint="cost_advice_detail", view_func=detail, methods=["GET"])
    bp.add_url_rule("/cost-advice/<rec_id>/apply", endpoint="cost_advice_apply_confirm", view_func=confirm_apply,
                    methods=["GET"])
    bp.add_url_rule("/cost-advice/<rec_id>/apply", endpoint="cost_advice_apply", view_func=apply, methods=["POST"])
    bp.add_url_rule("/cost-advice/<rec_id>/dismiss", endpoint="cost_advice_dismiss", view_func=dismiss,
                    methods=["POST"])
    bp.add_url_rule("/cost-advice/<rec_id>/snooze", endpoint="cost_advice_snooze", view_func=snooze,
                    methods=["POST"])
