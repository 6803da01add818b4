"""Client portal: the subscription — current plan, plan comparison, change (with
its proration shown before confirming), cancel at period end, resume — and the
upcoming invoice.

Changing a plan is two steps: "Switch to …" shows what the change adds to this
period's invoice (with htmx in a panel on the page, without JavaScript on a
page of its own), and only the confirmation changes it. Owners change the
subscription; members see it.
"""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for

from app.billing import invoices, plans, subscriptions
from app.billing.models import Subscription
from app.errors import DomainError
from app.money import Money
from app.rental.service import current_subscription
from app.web.billing.forms import ConfirmForm, PlanForm
from app.web.portal import actor, current_org_id, current_organization
from app.web.request_context import db_session
from app.web.security.common import is_owner, require_owner
from app.web.sudo_guard import leave_page
from app.web.webhooks.common import render


def _upcoming(subscription: Subscription | None):
    """The upcoming invoice, or the reason it cannot be shown (e.g. no exchange rate yet)."""
    if subscription is None:
        return None, None
    try:
        return invoices.upcoming(db_session(), subscription), None
    except DomainError as error:
        return None, error.message


def page_context(**extra) -> dict:
    db = db_session()
    subscription = current_subscription(db, current_org_id())
    upcoming, upcoming_error = _upcoming(subscription)
    return {"subscription": subscription, "plans": plans.plans_by_price(db), "upcoming": upcoming,
            "upcoming_error": upcoming_error, "can_change": is_owner(), "plan_form": PlanForm(formdata=None),
            "confirm_form": ConfirmForm(), "metrics": plans.METERING, "metric_labels": plans.METRIC_LABELS,
            "unit_price_label": plans.unit_price_label, "organization": current_organization(), **extra}


def index():
    return render_template("client/subscription/index.html", **page_context())


def _back(message: str, category: str = "success"):
    flash(message, category)
    return leave_page(url_for("client.subscription"))


def _refused(error: DomainError):
    return render_template("client/subscription/index.html", **page_context(error=error.message)), 400


def change_preview():
    """What switching to ?plan= would cost, before anything changes."""
    db = db_session()
    try:
        subscription = subscriptions.require_current(db, current_org_id())
        preview = subscriptions.preview_change(db, subscription, request.args.get("plan", ""))
    except DomainError as error:
        return render("client/subscription/index.html", "client/subscription/_change_refused.html",
                      **page_context(error=error.message)), 400
    form = PlanForm(formdata=None, plan=preview.new_plan.code)
    return render("client/subscription/change.html", "client/subscription/_change_panel.html", preview=preview,
                  subscription=subscription, form=form, can_change=is_owner(), money=Money)


@require_owner("the subscription")
def change_plan():
    db = db_session()
    form = PlanForm()
    if not form.validate_on_submit():
        return _refused(DomainError("Choose a plan."))
    try:
        subscription = subscriptions.require_current(db, current_org_id())
        preview = subscriptions.change_plan(db, subscription, form.plan.data, actor_label=actor()["actor_label"])
    except DomainError as error:
        db.rollback()
        return _refused(error)
    db.commit()
    net = preview.money(preview.proration.net)
    said = "adds" if preview.proration.net >= 0 else "takes"
    return _back(f"You are now on the {preview.new_plan.name} plan. The change {said} "
                 f"{Money(abs(net.amount), net.currency).format()} to this period's invoice (prorated).")


@require_owner("the subscription")
def subscribe():
    db = db_session()
    form = PlanForm()
    if not form.validate_on_submit():
        return _refused(DomainError("Choose a plan."))
    try:
        subscription = subscriptions.subscribe(db, current_organization(), form.plan.data, actor_label=actor()["actor_label"])
    except DomainError as error:
        db.rollback()
        return _refused(error)
    db.commit()
    return _back(f"Subscribed to the {subscription.plan.name} plan. The first period ends on "
                 f"{subscription.current_period_end:%d %b %Y}.")


def confirm_cancel():
    """Without JavaScript there is no hx-confirm: this page asks instead."""
    return render_template("client/subscription/cancel_confirm.html", subscription=current_subscription(
        db_session(), current_org_id()), confirm_form=ConfirmForm())


@require_owner("the subscription")
def cancel():
    return _toggle(subscriptions.schedule_cancellation, "The subscription ends on {end}; until then nothing "
                   "changes. You can resume it before then.")


@require_owner("the subscription")
def resume():
    return _toggle(subscriptions.resume, "The subscription continues: it renews on {end}.")


def _toggle(action, message: str):
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        return _refused(DomainError("The form expired; reload the page and try again."))
    try:
        subscription = subscriptions.require_current(db, current_org_id())
        action(db, subscription, actor_label=actor()["actor_label"])
    except DomainError as error:
        db.rollback()
        return _refused(error)
    db.commit()
    return _back(message.format(end=f"{subscription.current_period_end:%d %b %Y}"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/subscription", endpoint="subscription", view_func=index, methods=["GET"])
    bp.add_url_rule("/subscription", endpoint="subscribe", view_func=subscribe, methods=["POST"])
    bp.add_url_rule("/subscription/change", endpoint="subscription_change", view_func=change_preview,
                    methods=["GET"])
    bp.add_url_rule("/subscription/change", endpoint="subscription_change_confirm", view_func=change_plan,
                    methods=["POST"])
    bp.add_url_rule("/subscription/cancel", endpoint="subscription_cancel_confirm", view_func=confirm_cancel,
                    methods=["GET"])
    bp.add_url_rule("/subscription/cancel", endpoint="subscription_cancel", view_func=cancel, methods=["POST"])
    bp.add_url_rule("/subscription/resume", endpoint="subscription_resume", view_func=resume, methods=["POST"])
