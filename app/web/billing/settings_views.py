"""Client portal → Billing settings: who is invoiced, how they pay, and the tax that applies.

Owners change the profile and submit exemption certificates; members see the
same page read-only (their POSTs get 403). With htmx the profile block
(form and "tax that applies now") and the exemptions block each swap
themselves; without JavaScript a save redirects with a notice, a refusal
re-renders the page with the error beside its field (status 400).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from app import clock
from app.accounts.models import Organization
from app.billing import profile as billing_profile
from app.errors import DomainError
from app.pagination import paginate
from app.security.countries import name as country_name
from app.tax import exemptions, service as tax
from app.tax.models import TaxExemption
from app.tax.regions import REGION_NAMES
from app.tenancy import owned
from app.web.billing.settings_forms import BillingProfileForm, ExemptionForm
from app.web.forms import apply_domain_error
from app.web.payments.forms import TEST_PAYMENT_METHODS
from app.web.portal import actor, current_org_id, current_organization
from app.web.request_context import db_session
from app.web.security.common import is_owner, require_owner
from app.web.webhooks.common import wants_fragment

PER_PAGE = 10
PAGE = "client/billing/settings.html"
PROFILE_BLOCK = "client/billing/_profile.html"
EXEMPTIONS_BLOCK = "client/billing/_exemptions.html"


def explain(treatment: tax.TaxTreatment, customer_type: str) -> str:
    """The label in a sentence a customer understands."""
    country, region = country_name(treatment.country), REGION_NAMES[treatment.region]
    where = country if country == region else f"{country} ({region})"
    if treatment.exemption_reference is not None:
        return (f"Your exemption certificate {treatment.exemption_reference} is approved: no tax is charged until "
                f"it expires on {treatment.exemption_expires_on.isoformat()}.")
    if treatment.reverse_charge:
        return (f"You are a business in {where} with VAT ID {treatment.tax_id}: invoices carry no VAT and the "
                "reverse-charge mention below; you account for the VAT in your own return.")
    if treatment.rate == 0:
        return f"No tax is charged to customers in {where}."
    sentence = f"Customers in {where} pay {treatment.label} on every invoice line."
    if treatment.region == "EU" and customer_type == "business":
        sentence += " Add your VAT ID to be invoiced without VAT (reverse charge)."
    return sentence


def profile_context(org: Organization, form: BillingProfileForm | None = None, notice: str | None = None) -> dict:
    profile = billing_profile.get_profile(db_session(), org.id)
    treatment = tax.treatment_for(db_session(), org, clock.utcnow())
    return {"org": org, "profile_form": form or BillingProfileForm.of(org, profile), "treatment": treatment,
            "explanation": explain(treatment, profile.customer_type), "notice": notice, "owner": is_owner(),
            "test_methods": TEST_PAYMENT_METHODS, "country_name": country_name(org.country)}


def exemptions_context(form: ExemptionForm | None = None, notice: str | None = None) -> dict:
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db_session(), owned(TaxExemption, current_org_id()), TaxExemption, PER_PAGE, cursor,
                        newest_first=True)
    except DomainError:
        abort(404)
    today = clock.utcnow().date()
    return {"page": page, "statuses": {e.id: exemptions.status_of(e, today) for e in page.rows},
            "exemption_form": form or ExemptionForm(formdata=None), "exemption_notice": notice,
            "owner": is_owner(), "today": today,
            "older_url": url_for("client.billing_exemptions", starting_after=page.rows[-1].public_id)
            if page.has_more else None,
            "newest_url": url_for("client.billing_exemptions") if cursor else None}


def page_context(org: Organization, profile_form=None, exemption_form=None) -> dict:
    return profile_context(org, profile_form) | exemptions_context(exemption_form)


def index():
    return render_template(PAGE, **page_context(current_organization()))


def exemption_list():
    """The exemptions block alone for htmx ("Older" pages); the whole page otherwise."""
    if wants_fragment():
        return render_template(EXEMPTIONS_BLOCK, **exemptions_context())
    return render_template(PAGE, **page_context(current_organization()))


def _refused(org: Organization, block: str, profile_form=None, exemption_form=None):
    if wants_fragment():
        context = profile_context(org, profile_form) if block == PROFILE_BLOCK else exemptions_context(exemption_form)
        return render_template(block, **context), 400
    return render_template(PAGE, **page_context(org, profile_form, exemption_form)), 400


@require_owner("billing settings")
def save_profile():
    db, org = db_session(), current_organization()
    form = BillingProfileForm()
    if form.validate_on_submit():
        try:
            billing_profile.update_profile(
                db, org, legal_name=form.legal_name.data, address=form.address.data,
                customer_type=form.customer_type.data, tax_id=form.tax_id.data,
                preferred_currency=form.preferred_currency.data, payment_method=form.payment_method.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            notice = "Billing settings saved. Invoices from now on use them."
            if wants_fragment():
                return render_template(PROFILE_BLOCK, **profile_context(org, notice=notice))
            flash(notice, "success")
            return redirect(url_for("client.billing_settings"))
    return _refused(current_organization(), PROFILE_BLOCK, profile_form=form)


@require_owner("billing settings")
def submit_exemption():
    db, org = db_session(), current_organization()
    form = ExemptionForm()
    if form.validate_on_submit():
        try:
            exemption = exemptions.submit(db, org, certificate_reference=form.certificate_reference.data,
                                          expires_on=form.expires_on.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            notice = (f"Certificate {exemption.certificate_reference} submitted. Our staff review it; tax is "
                      "charged as usual until it is approved.")
            if wants_fragment():
                return render_template(EXEMPTIONS_BLOCK, **exemptions_context(notice=notice)), 201
            flash(notice, "success")
            return redirect(url_for("client.billing_settings"))
    return _refused(current_organization(), EXEMPTIONS_BLOCK, exemption_form=form)


def register(bp: Blueprint) -> None:
    """Register this module's pages on the client portal."""
    bp.add_url_rule("/billing", endpoint="billing_settings", view_func=index, methods=["GET"])
    bp.add_url_rule("/billing", endpoint="billing_settings_save", view_func=save_profile, methods=["POST"])
    bp.add_url_rule("/billing/exemptions", endpoint="billing_exemptions", view_func=exemption_list, methods=["GET"])
    bp.add_url_rule("/billing/exemptions", endpoint="billing_exemption_submit", view_func=submit_exemption,
                    methods=["POST"])
