"""Admin: platform fee tiers and per-organization overrides.

Every change goes through app.payments.fees (which audits it with before and
after) and is committed here. The page shows the gateway fee in force and a
worked example, 100.00 USD on each tier, so the effect of an edit is visible
before the next payment is captured. With htmx each form swaps the whole
settings block (#fees): the example follows the tiers.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.accounts.models import Organization
from app.errors import DomainError, NotFound
from app.payments import fees
from app.payments.models import FeeOverride, FeeTier
from app.web.admin.payment_forms import OverrideForm, RateForm
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import wants_fragment

EXAMPLE_AMOUNT = 100_00  # 100.00 USD, the example of PRODUCT.md
EXAMPLE_CURRENCY = "USD"


def _tiers() -> list[FeeTier]:
    order = list(fees.DEFAULT_TIERS)
    rows = db_session().scalars(select(FeeTier))
    return sorted(rows, key=lambda t: (order.index(t.code) if t.code in order else len(order), t.code))


def _tier_form(tier: FeeTier) -> RateForm:
    return RateForm(formdata=None, prefix=tier.code, rate=f"{tier.rate_bps / 100:.2f}", fixed_fee=str(tier.fixed_fee))


def _customer(slug: str) -> Organization:
    org = db_session().scalars(select(Organization).where(Organization.slug == slug,
                                                          Organization.kind == "customer")).first()
    if org is None:
        raise DomainError(f"No customer organization has the slug “{slug}”.", field="organization")
    return org


def _override_form(slug: str | None) -> OverrideForm:
    """Blank, or filled from the override of `slug` (the Edit link)."""
    form = OverrideForm(formdata=None, prefix="override")
    override = None
    if slug:
        override = db_session().scalars(select(FeeOverride).join(Organization)
                                        .where(Organization.slug == slug)).first()
    if override is not None:
        form.organization.data, form.note.data = slug, override.note
        form.rate.data, form.fixed_fee.data = f"{override.rate_bps / 100:.2f}", str(override.fixed_fee)
    return form


def context(tier_forms: dict | None = None, override_form: OverrideForm | None = None) -> dict:
    db, gateway = db_session(), fees.gateway_rate(current_app.config)
    tiers = _tiers()
    forms = {tier.code: _tier_form(tier) for tier in tiers} | (tier_forms or {})
    overrides = db.execute(select(FeeOverride, Organization).join(Organization).order_by(Organization.name)).all()
    examples = [(tier, fees.breakdown(EXAMPLE_AMOUNT, fees.FeeRate(tier.rate_bps, tier.fixed_fee), gateway))
                for tier in tiers]
    return {"tiers": tiers, "tier_forms": forms, "overrides": overrides, "gateway": gateway,
            "examples": examples, "example_amount": EXAMPLE_AMOUNT, "example_currency": EXAMPLE_CURRENCY,
            "override_form": override_form or _override_form(request.args.get("edit")),
            "customer_slugs": list(db.scalars(select(Organization.slug).where(Organization.kind == "customer")
                                              .order_by(Organization.slug)))}


def _answer(notice: str | None = None, error: str | None = None, **forms):
    """After a change: the settings block (htmx) or a redirect with the notice. After a refusal: the
    block or the page with the error beside its field (or above, for `error`), status 400."""
    if error is None and not forms and not wants_fragment():
        flash(notice, "success")
        return redirect(url_for("admin.fees"))
    status = 400 if error or forms else 200
    template = "admin/payments/_fees.html" if wants_fragment() else "admin/payments/fees.html"
    return render_template(template, notice=notice, error=error, **context(**forms)), status


def index():
    return render_template("admin/payments/fees.html", **context())


def update_tier(code: str):
    db = db_session()
    tier = db.scalars(select(FeeTier).where(FeeTier.code == code)).first()
    if tier is None:
        raise NotFound(f"No fee tier {code}")
    form = RateForm(prefix=code)
    if form.validate_on_submit():
        try:
            rate_bps, fixed_fee = form.parsed()
            fees.update_tier(db, code, rate_bps=rate_bps, fixed_fee=fixed_fee, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            return _answer(f"{tier.name}: {rate_bps / 100:.2f}% + {fixed_fee} from the next captured payment.")
    return _answer(tier_forms={code: form})


def save_override():
    """Add or change one organization's rate."""
    db = db_session()
    form = OverrideForm(prefix="override")
    if form.validate_on_submit():
        try:
            org = _customer(form.organization.data)
            rate_bps, fixed_fee = form.parsed()
            fees.set_override(db, org, rate_bps=rate_bps, fixed_fee=fixed_fee, note=form.note.data or "",
                              **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            return _answer(f"{org.name} pays {rate_bps / 100:.2f}% + {fixed_fee} from the next captured payment.")
    return _answer(override_form=form)


def _customer_or_404(slug: str) -> Organization:
    try:
        return _customer(slug)
    except DomainError:
        raise NotFound(f"No customer {slug}") from None


def confirm_remove(slug: str):
    """Without JavaScript there is no hx-confirm: this page asks instead."""
    return render_template("admin/payments/override_remove.html", org=_customer_or_404(slug))


def remove_override(slug: str):
    db = db_session()
    org = _customer_or_404(slug)
    try:
        fees.remove_override(db, org, **actor())
    except DomainError as error:
        db.rollback()
        return _answer(error=error.message)
    db.commit()
    return _answer(f"{org.name} pays its tier's rate again.")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/fees", endpoint="fees", view_func=index, methods=["GET"])
    bp.add_url_rule("/fees/tiers/<code>", endpoint="fees_update_tier", view_func=update_tier, methods=["POST"])
    bp.add_url_rule("/fees/overrides", endpoint="fees_save_override", view_func=save_override, methods=["POST"])
    bp.add_url_rule("/fees/overrides/<slug>/remove", endpoint="fees_confirm_remove", view_func=confirm_remove,
                    methods=["GET"])
    bp.add_url_rule("/fees/overrides/<slug>/remove", endpoint="fees_remove_override", view_func=remove_override,
                    methods=["POST"])
