"""Client portal: the customer's dashboard and instances."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from app.accounts.models import Organization
from app.errors import DomainError
from app.rental import service as rental
from app.webhooks import portal_queries as webhook_queries
from app.web.client import bp
from app.web.client.forms import HealthUrlForm, RenameInstanceForm
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id, guard, render
from app.web.request_context import db_session, is_htmx_partial
from app.web.advice import client_views as advice_views
from app.web.billing import invoice_views, settings_views as billing_settings_views, subscription_views, usage_views
from app.web.payments import client_views as payment_views, dispute_views
from app.web.security.common import is_owner, require_owner
from app.web.security.views import register as register_security
from app.web.sla import client_views as sla_views
from app.web.webhooks.views import register as register_webhooks

guard(bp, "client")
register_webhooks(bp, "client")
register_security(bp, "client")
payment_views.register(bp)
dispute_views.register(bp)
subscription_views.register(bp)
usage_views.register(bp)
invoice_views.register(bp)
billing_settings_views.register(bp)
sla_views.register(bp)
advice_views.register(bp)


@bp.route("/")
def dashboard():
    db = db_session()
    org_id = current_org_id()
    counts = rental.instance_counts(db, org_id)
    subscription = rental.current_subscription(db, org_id)
    open_items = []
    if counts.suspended:
        open_items.append(f"{counts.suspended} suspended instance{'s' if counts.suspended != 1 else ''}")
    if subscription and subscription.status == "past_due":
        open_items.append("Subscription payment is past due")
    disabled_endpoints = webhook_queries.automatically_disabled(db, org_id)
    if disabled_endpoints:
        open_items.append(f"{len(disabled_endpoints)} webhook endpoint{'s' if len(disabled_endpoints) != 1 else ''} "
                          "disabled automatically")
    return render("client/dashboard.html", organization=db.get(Organization, org_id), counts=counts,
                  subscription=subscription, open_items=open_items, disabled_endpoints=disabled_endpoints)


@bp.route("/instances")
def instances():
    return render("client/instances/index.html",
                  instances=rental.list_instances(db_session(), current_org_id()))


@bp.route("/instances/<public_id>")
def instance_detail(public_id: str):
    instance = rental.get_instance(db_session(), current_org_id(), public_id)
    return render("client/instances/detail.html", instance=instance, **_health_context(instance))


HEALTH_FRAGMENT = "client/instances/_health_url.html"


def _health_context(instance, form: HealthUrlForm | None = None, saved: str | None = None) -> dict:
    if form is None:
        form = HealthUrlForm(formdata=None, data={"health_url": instance.health_url or ""})
    return {"health_form": form, "can_change_health_url": is_owner(), "health_saved": saved}


@bp.route("/instances/<public_id>/health-url", methods=["POST"])
@require_owner("health URLs")
def set_health_url(public_id: str):
    """Owners set or clear the URL the SLA probe checks every minute (htmx swaps the card)."""
    db = db_session()
    instance = rental.get_instance(db, current_org_id(), public_id)
    form = HealthUrlForm()
    if form.validate_on_submit():
        try:
            rental.set_health_url(db, current_org_id(), public_id, form.health_url.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            saved = ("Health URL saved: Matrix checks it every minute while the instance runs."
                     if instance.health_url else "Health URL removed: the instance is no longer checked.")
            if is_htmx_partial():
                return render_template(HEALTH_FRAGMENT, instance=instance, **_health_context(instance, saved=saved))
            flash(saved, "success")
            return redirect(url_for("client.instance_detail", public_id=public_id))
    return render("client/instances/detail.html", HEALTH_FRAGMENT, instance=instance,
                  **_health_context(instance, form)), 400


@bp.route("/instances/<public_id>/row")
def instance_row(public_id: str):
    """The read-only row (htmx: cancel an inline edit)."""
    instance = rental.get_instance(db_session(), current_org_id(), public_id)
    return render("client/instances/detail.html", "client/instances/_row.html", instance=instance)


@bp.route("/instances/<public_id>/edit")
def edit_instance(public_id: str):
    instance = rental.get_instance(db_session(), current_org_id(), public_id)
    form = RenameInstanceForm(data={"name": instance.name})
    return render("client/instances/edit.html", "client/instances/_edit_row.html", instance=instance, form=form)


@bp.route("/instances/<public_id>", methods=["POST"])
def rename_instance(public_id: str):
    db = db_session()
    instance = rental.get_instance(db, current_org_id(), public_id)
    form = RenameInstanceForm()
    if form.validate_on_submit():
        try:
            rental.rename_instance(db, current_org_id(), public_id, form.name.data)
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            if is_htmx_partial():
                return render("client/instances/detail.html", "client/instances/_row.html", instance=instance)
            flash(f"Instance renamed to “{instance.name}”.", "success")
            return redirect(url_for("client.instances"))
    return render("client/instances/edit.html", "client/instances/_edit_row.html",
                  instance=instance, form=form), 400
