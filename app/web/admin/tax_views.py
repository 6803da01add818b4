"""Admin → Tax rates and Tax exemptions.

Rates are never edited: the page shows the rate in force for each region
and country, the ones scheduled to start later, and every rate ever added;
the form adds a new one from a date (today or later). Exemptions wait in a
queue, oldest first; approving one (note optional) makes the customer's
invoices tax-free until it expires, rejecting one needs a note, which the
customer sees. Each block swaps itself with htmx; everything is audited by
the tax services and committed here.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app import clock
from app.errors import DomainError, NotFound
from app.pagination import paginate
from app.security.countries import names as country_names
from app.tax import exemptions, service as tax
from app.tax.models import TaxExemption, TaxRate
from app.tax.regions import EU_MEMBER_STATES, REGION_NAMES
from app.web.admin.tax_forms import DecisionForm, TaxRateForm
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

PER_PAGE = 25
RECENT = 10


def _page_of(stmt, model, endpoint: str, newest_first: bool):
    """One page of `stmt` from the `starting_after` cursor, and the links around it."""
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db_session(), stmt, model, PER_PAGE, cursor, newest_first=newest_first)
    except DomainError:
        abort(404)
    next_url = url_for(endpoint, starting_after=page.rows[-1].public_id) if page.has_more else None
    return page, next_url, url_for(endpoint) if cursor else None


def rates_context(form: TaxRateForm | None = None, notice: str | None = None) -> dict:
    current, scheduled = tax.rates_overview(db_session(), clock.utcnow())
    history, older_url, newest_url = _page_of(select(TaxRate), TaxRate, "admin.tax_rates", newest_first=True)
    return {"current": current, "scheduled": scheduled, "history": history, "older_url": older_url,
            "newest_url": newest_url, "form": form or TaxRateForm(formdata=None, region="EU"), "notice": notice,
            "region_names": REGION_NAMES, "country_names": country_names(), "format_rate": tax.format_rate,
            "eu_countries": sorted(EU_MEMBER_STATES)}


def rates_index():
    return render("admin/tax/rates.html", "admin/tax/_rates.html", **rates_context())


def add_rate():
    db = db_session()
    form = TaxRateForm()
    if form.validate_on_submit():
        try:
            rate = tax.add_rate(db, region=form.region.data, country=form.country.data, name=form.name.data,
                                rate=form.rate.data, effective_from=form.effective_from.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            notice = (f"{rate.name} {tax.format_rate(rate.rate)}% for {rate.country or REGION_NAMES[rate.region]} "
                      f"from {rate.effective_from:%Y-%m-%d %H:%M} UTC.")
            if wants_fragment():
                return render_template("admin/tax/_rates.html", **rates_context(notice=notice))
            flash(notice, "success")
            return redirect(url_for("admin.tax_rates"))
    template = "admin/tax/_rates.html" if wants_fragment() else "admin/tax/rates.html"
    return render_template(template, **rates_context(form)), 400


def exemptions_context(errors: dict | None = None, notes: dict | None = None, notice: str | None = None) -> dict:
    pending = select(TaxExemption).where(TaxExemption.status == "pending")
    queue, next_url, first_url = _page_of(pending, TaxExemption, "admin.tax_exemptions", newest_first=False)
    decided = db_session().scalars(select(TaxExemption).where(TaxExemption.status != "pending")
                                   .order_by(TaxExemption.decided_at.desc(), TaxExemption.id.desc()).limit(RECENT))
    return {"queue": queue, "next_url": next_url, "first_url": first_url, "decided": list(decided),
            "errors": errors or {}, "notes": notes or {}, "notice": notice, "today": clock.utcnow().date(),
            "status_of": exemptions.status_of}


def exemptions_index():
    return render("admin/tax/exemptions.html", "admin/tax/_exemptions.html", **exemptions_context())


def _decide(exemption_id: str, approve: bool):
    db = db_session()
    exemption = db.scalars(select(TaxExemption).where(TaxExemption.public_id == exemption_id)).first()
    if exemption is None:
        raise NotFound(f"No such exemption: {exemption_id}")
    form = DecisionForm()
    try:
        if not form.validate_on_submit():
            raise DomainError(" ".join(form.note.errors) or "The form could not be read.", field="note")
        decide = exemptions.approve if approve else exemptions.reject
        decide(db, exemption, note=form.note.data or "", **actor())
    except DomainError as error:
        db.rollback()
        template = "admin/tax/_exemptions.html" if wants_fragment() else "admin/tax/exemptions.html"
        return render_template(template, **exemptions_context(errors={exemption_id: error.message},
                                                               notes={exemption_id: form.note.data})), 400
    db.commit()
    notice = f"{exemption.organization.name}: certificate {exemption.certificate_reference} {exemption.status}."
    if wants_fragment():
        return render_template("admin/tax/_exemptions.html", **exemptions_context(notice=notice))
    flash(notice, "success")
    return redirect(url_for("admin.tax_exemptions"))


def approve(exemption_id: str):
    return _decide(exemption_id, approve=True)


def reject(exemption_id: str):
    return _decide(exemption_id, approve=False)


def register(bp: Blueprint) -> None:
    """Register this module's pages on the admin portal."""
    bp.add_url_rule("/tax-rates", endpoint="tax_rates", view_func=rates_index, methods=["GET"])
    bp.add_url_rule("/tax-rates", endpoint="tax_rates_add", view_func=add_rate, methods=["POST"])
    bp.add_url_rule("/tax-exemptions", endpoint="tax_exemptions", view_func=exemptions_index, methods=["GET"])
    bp.add_url_rule("/tax-exemptions/<exemption_id>/approve", endpoint="tax_exemption_approve", view_func=approve,
                    methods=["POST"])
    bp.add_url_rule("/tax-exemptions/<exemption_id>/reject", endpoint="tax_exemption_reject", view_func=reject,
                    methods=["POST"])
