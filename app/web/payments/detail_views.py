"""Client portal: one payment — amounts, fees, Stripe ids, capture and cancel.

The refund panel on the same page is refund_views.py's. Capture and cancel
change most of the page, so they are plain form posts answered with a
redirect; cancelling asks first (hx-confirm, or a confirmation page without
JavaScript).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from app.errors import DomainError
from app.money import Money
from app.payments import amounts, service
from app.payments.models import Payment
from app.tenancy import get_owned
from app.web.forms import apply_domain_error
from app.web.payments.forms import REASON_LABELS, CaptureForm, ConfirmForm, RefundForm
from app.web.portal import actor, current_org_id
from app.web.request_context import db_session
from app.web.sudo_guard import leave_page


def load_payment(payment_id: str) -> Payment:
    """One of the organization's payments (another organization's is a 404)."""
    return get_owned(db_session(), Payment, current_org_id(), payment_id)


def approval_threshold(payment: Payment) -> Money | None:
    """Refunds above this wait for an admin (None: no threshold for this currency)."""
    limit = current_app.config["REFUND_APPROVAL_THRESHOLD"].get(payment.currency)
    return None if limit is None else Money(limit, payment.currency)


def dispute_url(payment: Payment) -> str | None:
    """The "Dispute this payment" page, once the disputes pages are registered."""
    if "client.open_dispute" not in current_app.view_functions:
        return None
    return url_for("client.open_dispute", payment_id=payment.public_id)


def refund_panel_context(payment: Payment, refund_form: RefundForm | None = None, notice=None) -> dict:
    """What the refund panel (form and history) shows; shared with refund_views."""
    return {"payment": payment, "refund_form": refund_form or RefundForm(formdata=None, reason="customer_request"),
            "refunds": sorted(payment.refunds, key=lambda r: r.id, reverse=True), "notice": notice,
            "reason_labels": REASON_LABELS, "threshold": approval_threshold(payment)}


def page_context(payment: Payment, capture_form: CaptureForm | None = None, **panel) -> dict:
    return {"capture_form": capture_form or CaptureForm(formdata=None), "cancel_form": ConfirmForm(),
            "dispute_url": dispute_url(payment), **refund_panel_context(payment, **panel)}


def detail(payment_id: str):
    return render_template("client/payments/detail.html", **page_context(load_payment(payment_id)))


def capture(payment_id: str):
    """Capture all of an authorization, or the part typed (the rest is released)."""
    db = db_session()
    payment = load_payment(payment_id)
    form = CaptureForm()
    if form.validate_on_submit():
        try:
            amount = amounts.from_major(form.amount.data, payment.currency) if form.amount.data else None
            service.capture(db, current_app.config, payment, amount, actor_label=actor()["actor_label"])
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            flash(f"Captured {Money(payment.amount_captured, payment.currency).format()}.", "success")
            return redirect(url_for("client.payment_detail", payment_id=payment.public_id))
    return render_template("client/payments/detail.html", **page_context(payment, capture_form=form)), 400


def confirm_cancel(payment_id: str):
    """Without JavaScript there is no hx-confirm: this page asks instead."""
    return render_template("client/payments/cancel_confirm.html", payment=load_payment(payment_id),
                           cancel_form=ConfirmForm())


def cancel(payment_id: str):
    db = db_session()
    payment = load_payment(payment_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.cancel(db, current_app.config, payment, actor_label=actor()["actor_label"])
        except DomainError as error:
            db.rollback()
            flash(error.message, "error")
        else:
            flash("The authorization was cancelled: nothing will be charged.", "success")
    # htmx (after hx-confirm) navigates the whole page there too.
    return leave_page(url_for("client.payment_detail", payment_id=payment.public_id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/payments/<payment_id>", endpoint="payment_detail", view_func=detail, methods=["GET"])
    bp.add_url_rule("/payments/<payment_id>/capture", endpoint="payment_capture", view_func=capture,
                    methods=["POST"])
    bp.add_url_rule("/payments/<payment_id>/cancel", endpoint="payment_cancel_confirm", view_func=confirm_cancel,
                    methods=["GET"])
    bp.add_url_rule("/payments/<payment_id>/cancel", endpoint="payment_cancel", view_func=cancel,
                    methods=["POST"])
