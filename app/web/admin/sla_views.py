"""Admin → SLA (every customer's compliance this month, open alerts, credits issued) and Admin → SLA definitions.

Definitions are never edited: the page shows each tier's definition in force, the scheduled ones and the
history, and the form adds a new one from a date (today or later), pre-filled from the tier's current one.
Saving changes what customers are promised, so it is confirmed first: htmx asks in the browser (hx-confirm) and
sends `confirmed=1`; without JavaScript the first post is checked by the service, rolled back, and answered with
a confirmation page that posts the same values again. The service audits; the commit happens here.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app import clock
from app.errors import DomainError
from app.sla import admin_queries, definitions
from app.sla.compliance import LABELS, UNITS
from app.sla.models import TIERS
from app.sla.months import month_start, next_month
from app.web.admin.sla_forms import TIER_LABELS, SlaDefinitionForm, prefilled
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import wants_fragment

ORGS_PER_PAGE = 50
CREDITS_PER_PAGE = 50
DEFINITIONS_FRAGMENTS = {"sla-definitions": "admin/sla/_definitions.html",
                         "sla-definition-form": "admin/sla/_definition_form.html"}
OVERVIEW_FRAGMENTS = {"sla-compliance": "admin/sla/_compliance.html", "sla-credits": "admin/sla/_credits.html"}


def _render(page: str, fragments: dict[str, str], status: int = 200, **context):
    """The whole page, or the block htmx targets (each block swaps itself: `HX-Target` names it)."""
    fragment = fragments.get(request.headers.get("HX-Target", "")) if wants_fragment() else None
    return render_template(fragment or page, **context), status


def _page_number(name: str) -> int:
    value = request.args.get(name, "1")
    if not value.isdigit() or int(value) < 1:
        abort(404)
    return int(value)


def overview():
    db, now = db_session(), clock.utcnow()
    page, credits_page = _page_number("page"), _page_number("credits_page")
    compliance = admin_queries.compliance_page(db, now, page, ORGS_PER_PAGE)
    credits = admin_queries.credits_page(db, credits_page, CREDITS_PER_PAGE)
    if (page > 1 and not compliance.rows) or (credits_page > 1 and not credits.rows):
        abort(404)
    return _render("admin/sla/overview.html", OVERVIEW_FRAGMENTS, compliance=compliance, credits=credits,
                   alerts=admin_queries.open_alerts(db), now=now, labels=LABELS, units=UNITS)


def definitions_context(form: SlaDefinitionForm | None = None, notice: str | None = None,
                        tier: str | None = None) -> dict:
    """The page's context; without `form`, a blank one pre-filled from `tier` (or ?tier=, or the first tier)."""
    db, now = db_session(), clock.utcnow()
    overview_rows = admin_queries.definitions_overview(db, now)
    if form is None:
        tier = tier or (request.args.get("tier") if request.args.get("tier") in TIERS else TIERS[0])
        current = next(row.current for row in overview_rows if row.tier == tier)
        form = prefilled(current, tier, next_month(now).date())
    return {"tiers": overview_rows, "form": form, "notice": notice, "tier_labels": TIER_LABELS, "now": now}


def definitions_index():
    return _render("admin/sla/definitions.html", DEFINITIONS_FRAGMENTS, **definitions_context())


def _refused(form: SlaDefinitionForm, error: DomainError | None = None):
    """Back to the form, the refusal beside the input it concerns; nothing is written."""
    db_session().rollback()
    if error is not None:
        target = form.field_for(error.field)
        if target is not None:
            target.errors = [*target.errors, error.message]
        else:
            form.form_errors.append(error.message)
    template = "admin/sla/_definitions.html" if wants_fragment() else "admin/sla/definitions.html"
    return render_template(template, **definitions_context(form)), 400


def first_month_judged(effective_from: datetime) -> datetime:
    """Months are judged by the definition in force when they begin: the first one this definition judges."""
    start = month_start(effective_from)
    return start if start == effective_from else next_month(start)


def _confirmation(form: SlaDefinitionForm, added):
    """The page that asks before saving (no JavaScript): the new promise, checked but not written, beside the one
    it takes over from."""
    db = db_session()
    context = {"form": form, "new": definitions.describe(added), "effective_from": added.effective_from,
               "first_month": first_month_judged(added.effective_from),
               "customers": admin_queries.customers_on_tier(db, added.tier), "tier_labels": TIER_LABELS}
    try:  # the promise it takes over from: the one in force the moment before it starts
        replaced = definitions.in_force(db, added.tier, added.effective_from - timedelta(microseconds=1))
    except LookupError:
        replaced = None
    context["replaced"] = definitions.describe(replaced) if replaced else None
    return render_template("admin/sla/confirm_definition.html", **context)


def add_definition():
    db = db_session()
    form = SlaDefinitionForm()
    if request.form.get("edit") == "1":  # "Change it" on the confirmation page: the form again, as typed
        return render_template("admin/sla/definitions.html", **definitions_context(form))
    if not form.validate_on_submit():
        return _refused(form)
    try:
        if request.form.get("confirmed") != "1":
            return _confirmation(form, definitions.checked_definition(db, form.to_input(),
                                                                      actor_label=actor()["actor_label"]))
        added = definitions.add_definition(db, form.to_input(), **actor())
    except DomainError as error:
        return _refused(form, error)
    db.commit()
    notice = (f"{TIER_LABELS[added.tier]}: new definition from {added.effective_from:%Y-%m-%d %H:%M} UTC "
              f"(uptime {added.uptime_percent}%, p95 {added.latency_p95_ms} ms).")
    if wants_fragment():
        return render_template("admin/sla/_definitions.html", **definitions_context(notice=notice, tier=added.tier))
    flash(notice, "success")
    return redirect(url_for("admin.sla_definitions", tier=added.tier))


def register(bp: Blueprint) -> None:
    """Register this module's pages on the admin portal."""
    bp.add_url_rule("/sla", endpoint="sla_overview", view_func=overview, methods=["GET"])
    bp.add_url_rule("/sla/definitions", endpoint="sla_definitions", view_func=definitions_index, methods=["GET"])
    bp.add_url_rule("/sla/definitions", endpoint="sla_definitions_add", view_func=add_definition,
                    methods=["POST"])
