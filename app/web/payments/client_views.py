"""Client portal: the payments list with its filters and the new-payment form.

A new payment is placed at most once per rendered form (see checkout.py); the
submit button is also disabled while the request runs. With htmx the form
swaps itself (result or errors) and tells the list to refresh
(`payments:changed`); without JavaScript a success redirects to the payment
and an error re-renders the page with the form's errors.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from htmx_flask import make_response

from app.accounts.models import Organization
from app.errors import DomainError
from app.pagination import paginate
from app.payments import amounts, idempotency
from app.payments.models import Payment
from app.tenancy import owned
from app.web.forms import apply_domain_error
from app.web.payments import detail_views, refund_views
from app.web.payments.checkout import Outcome, place_once
from app.web.payments.forms import TEST_PAYMENT_METHODS, NewPaymentForm, PaymentFilterForm
from app.web.portal import actor, current_org_id, current_organization
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

PER_PAGE = 20
CHANGED = "payments:changed"  # the list refreshes itself on this event


def new_payment_form(org: Organization) -> NewPaymentForm:
    """A blank form in the organization's preferred currency, with its own one-time token."""
    form = NewPaymentForm(formdata=None, currency=org.preferred_currency)
    return form.fresh()


def _listing() -> dict:
    """The filtered page of payments, newest first, and the links around it."""
    form = PaymentFilterForm(request.args)
    stmt = owned(Payment, current_org_id())
    filters = {}
    if form.validate():
        filters = {name: value for name, value in form.data.items() if value}
        if "order_id" in filters:
            stmt = stmt.where(Payment.order_id == filters["order_id"])
        if "status" in filters:
            stmt = stmt.where(Payment.status == filters["status"])
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db_session(), stmt, Payment, PER_PAGE, cursor, newest_first=True)
    except DomainError:
        abort(404)  # a cursor that is not one of this organization's payments
    return {
        "filter_form": form, "page": page, "filtered": bool(filters),
        "list_url": url_for("client.payments", **filters, **({"starting_after": cursor} if cursor else {})),
        "older_url": url_for("client.payments", starting_after=page.rows[-1].public_id, **filters)
        if page.has_more else None,
        "newest_url": url_for("client.payments", **filters) if cursor else None,
    }


def result_message(outcome: Outcome) -> str:
    """Where the payment a submit made stands, in one sentence."""
    payment = outcome.payment
    said = "This form was already submitted: payment " if outcome.replayed else "Payment "
    if payment.status == "succeeded":
        return f"{said}{payment.public_id} charged."
    if payment.status == "requires_capture":
        return f"{said}{payment.public_id} authorized: capture it from its page."
    return (f"{said}{payment.public_id} is {payment.status}: "
            f"{payment.failure_message or 'the payment provider has not confirmed it yet.'}")


def _page_context(form: NewPaymentForm, outcome: Outcome | None = None) -> dict:
    return {"form": form, "outcome": outcome, "test_methods": TEST_PAYMENT_METHODS, "result_message": result_message,
            **_listing()}


def index():
    return render("client/payments/index.html", "client/payments/_list.html",
                  **_page_context(new_payment_form(current_organization())))


def _form_fragment(form: NewPaymentForm, outcome: Outcome | None, status: int):
    """The form (with the outcome or the errors) for htmx, and a nudge to the list."""
    body = render_template("client/payments/_new_form.html", form=form, outcome=outcome,
                           test_methods=TEST_PAYMENT_METHODS, result_message=result_message)
    return make_response(body, status, trigger_after_settle=CHANGED if outcome else None)


def _answer(form: NewPaymentForm, outcome: Outcome):
    """Show what the submit (or the earlier submit of the same form) led to."""
    payment = outcome.payment
    if payment.status == "failed":
        form.payment_method.errors = [payment.failure_message or "The payment failed."]
        form.fresh()
        if wants_fragment():
            return _form_fragment(form, outcome, 400)
        return render_template("client/payments/index.html", **_page_context(form, outcome)), 400
    if wants_fragment():
        return _form_fragment(new_payment_form(current_organization()), outcome, 200)
    flash(result_message(outcome), "success" if payment.status in ("succeeded", "requires_capture") else "info")
    return redirect(url_for("client.payment_detail", payment_id=payment.public_id))


def create():
    db = db_session()
    form = NewPaymentForm()
    if form.validate_on_submit():
        try:
            currency = amounts.currency_code(form.currency.data)
            amount = amounts.from_major(form.amount.data, currency)
        except DomainError as error:
            apply_domain_error(form, error)  # nothing claimed yet: the form keeps its token
        else:
            try:
                outcome = place_once(db, current_app.config, current_organization(), token=form.token.data,
                                     order_id=form.order_id.data, amount=amount, currency=currency,
                                     payment_method=form.payment_method.data, capture=form.capture.data == "charge",
                                     actor_label=actor()["actor_label"])
            except idempotency.IdempotencyConflict as error:
                apply_domain_error(form, error)  # the first submit is still running: keep its token
            except DomainError as error:
                db.rollback()
                apply_domain_error(form, error)
                form.fresh()  # that token is spent (its refusal is stored); correcting the form needs a new one
            else:
                return _answer(form, outcome)
    if wants_fragment():
        return _form_fragment(form, None, 400)
    return render_template("client/payments/index.html", **_page_context(form)), 400


def register(bp: Blueprint) -> None:
    """Payments and refunds pages of the client portal (endpoint names `client.payments…`)."""
    bp.add_url_rule("/payments", endpoint="payments", view_func=index, methods=["GET"])
    bp.add_url_rule("/payments", endpoint="payments_create", view_func=create, methods=["POST"])
    detail_views.register(bp)
    refund_views.register(bp)
