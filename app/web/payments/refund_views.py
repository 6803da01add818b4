"""Client portal: request a refund on a payment, and the organization's refunds.

A request reserves its amount (refunds.request, committed), then goes to
Stripe at once unless it is above the approval threshold, in which case it
waits in the admin queue. With htmx the refund panel (form and history) swaps
itself and the amounts card is updated out of band.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from app.errors import DomainError
from app.money import Money
from app.pagination import paginate
from app.payments import amounts, refunds
from app.payments.models import Refund
from app.tenancy import owned
from app.web.forms import apply_domain_error
from app.web.payments.detail_views import load_payment, page_context, refund_panel_context
from app.web.payments.forms import REASON_LABELS, RefundForm
from app.web.portal import actor, current_org_id
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

PER_PAGE = 25


def outcome_message(refund: Refund) -> tuple[str, str]:
    """(flash category, sentence) saying where a just-requested refund stands."""
    amount = Money(refund.amount, refund.currency).format()
    if refund.approval == "awaiting":
        return "info", (f"Refund {refund.public_id} of {amount} is waiting for approval: refunds of this size are "
                        "reviewed by our staff first. Its amount is reserved meanwhile.")
    if refund.status == "succeeded":
        return "success", f"Refund {refund.public_id} of {amount} succeeded."
    if refund.status == "failed":
        return "error", f"Refund {refund.public_id} of {amount} failed: {refund.failure_message}"
    return "info", f"Refund {refund.public_id} of {amount} was sent to the payment provider and is pending."


def _place(payment, form: RefundForm) -> Refund:
    """Reserve and record the refund (committed), then send it unless it awaits approval."""
    db, config = db_session(), current_app.config
    amount = amounts.from_major(form.amount.data, payment.currency) if form.amount.data else None
    refund = refunds.request(db, config, payment, refund_type=form.type.data, reason=form.reason.data,
                             amount=amount, note=form.note.data or "", actor_label=actor()["actor_label"])
    db.commit()
    if refund.approval != "awaiting":
        refunds.execute(db, config, refund)
    db.refresh(payment)
    return refund


def _panel(payment, status: int, **panel):
    return render_template("client/payments/_refund_response.html", **refund_panel_context(payment, **panel)), status


def request_refund(payment_id: str):
    db = db_session()
    payment = load_payment(payment_id)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            refund = _place(payment, form)
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            notice = outcome_message(refund)
            if wants_fragment():
                return _panel(payment, 201, notice=notice)
            flash(notice[1], notice[0])
            return redirect(url_for("client.payment_detail", payment_id=payment.public_id))
    if wants_fragment():
        return _panel(payment, 400, refund_form=form)
    return render_template("client/payments/detail.html", **page_context(payment, refund_form=form)), 400


def index():
    """Every refund of the organization, newest first."""
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db_session(), owned(Refund, current_org_id()), Refund, PER_PAGE, cursor, newest_first=True)
    except DomainError:
        abort(404)
    older_url = url_for("client.refunds", starting_after=page.rows[-1].public_id) if page.has_more else None
    return render("client/refunds/index.html", "client/refunds/_list.html", page=page, older_url=older_url,
                  newest_url=url_for("client.refunds") if cursor else None, reason_labels=REASON_LABELS)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/payments/<payment_id>/refunds", endpoint="payment_refund", view_func=request_refund,
                    methods=["POST"])
    bp.add_url_rule("/refunds", endpoint="refunds", view_func=index, methods=["GET"])
