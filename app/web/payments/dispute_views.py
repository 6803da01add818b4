"""The customer's disputes: the list, and opening one on a payment.

Everything is loaded through the organization of the signed-in user
(`get_owned` / `owned`): another organization's payment is a 404. Opening a
dispute is audited by the service; the platform's staff answer it on the
admin dispute desk.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from htmx_flask import make_response
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from app.errors import DomainError
from app.pagination import paginate
from app.payments import disputes
from app.payments.models import Dispute, Payment
from app.tenancy import get_owned, owned
from app.web.forms import apply_domain_error
from app.web.portal import actor, current_org_id, render
from app.web.request_context import db_session, is_htmx_partial

PER_PAGE = 25
# The reasons in the customer's words (Stripe's reason codes underneath).
REASON_LABELS = {
    "fraudulent": "I did not make or authorize this payment",
    "duplicate": "I was charged more than once",
    "product_not_received": "I paid but did not get the service",
    "product_unacceptable": "The service was not as described or did not work",
    "subscription_canceled": "I was charged after cancelling",
    "credit_not_processed": "A promised refund or credit never arrived",
    "unrecognized": "I do not recognize this payment",
    "general": "Something else",
}


class OpenDisputeForm(FlaskForm):
    # The service checks the choice and names the field, in the same words as the API.
    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason…"),
                                            *(SelectChoice(code, label) for code, label in REASON_LABELS.items())],
                         validate_choice=False)
    description = TextAreaField("What went wrong", render_kw={"rows": 5, "maxlength": disputes.DESCRIPTION_MAX,
                                                                  "style": "width:100%"})


def payment_url(payment: Payment) -> str:
    return url_for("client.payment_detail", payment_id=payment.public_id)


def index():
    db = db_session()
    page = paginate(db, owned(Dispute, current_org_id()), Dispute, PER_PAGE,
                    request.args.get("starting_after") or None, newest_first=True)
    older = url_for("client.disputes", starting_after=page.rows[-1].public_id) if page.has_more else None
    return render("client/disputes/index.html", "client/disputes/_list.html", page=page, older_url=older,
                  newest_url=url_for("client.disputes") if request.args.get("starting_after") else None,
                  reason_labels=REASON_LABELS, payment_url=payment_url)


def _form_page(payment: Payment, form: OpenDisputeForm, status: int = 200):
    context = {"payment": payment, "form": form, "payment_url": payment_url(payment),
               "open_dispute": disputes.open_for_payment(db_session(), payment),
               "days": current_app.config["DISPUTE_EVIDENCE_DAYS"]}
    return render("client/disputes/open.html", "client/disputes/_open_form.html", **context), status


def open_dispute(payment_id: str):
    db = db_session()
    payment = get_owned(db, Payment, current_org_id(), payment_id)
    form = OpenDisputeForm()
    if request.method == "GET":
        return _form_page(payment, form)
    if form.validate_on_submit():
        try:
            dispute = disputes.open_by_customer(db, current_app.config, payment, reason=form.reason.data,
                                                description=form.description.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            flash(f"Dispute {dispute.public_id} opened on payment {payment.public_id}. "
                  f"We look into it and answer within {current_app.config['DISPUTE_EVIDENCE_DAYS']} days.", "success")
            if is_htmx_partial():
                return make_response("", 200, redirect=url_for("client.disputes"))
            return redirect(url_for("client.disputes"))
    return _form_page(payment, form, 400)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/disputes", endpoint="disputes", view_func=index, methods=["GET"])
    bp.add_url_rule("/payments/<payment_id>/dispute", endpoint="open_dispute", view_func=open_dispute,
                    methods=["GET", "POST"])
