"""Admin: every organization's invoices — list, detail, void, refund at the
invoice's rate, and "Collect now".

Voiding asks for a reason (the customer sees it) and a confirmation. A refund
may be typed in the invoice's currency or in USD, the currency of the prices;
USD is converted at the rate the invoice was issued at (invoice_refunds.py).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, render_template, request, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.billing import collection, invoice_queries, invoice_refunds, invoices
from app.billing.models import Invoice
from app.errors import DomainError, NotFound
from app.money import Money
from app.payments import refunds
from app.web.billing.forms import AdminInvoiceFilterForm, ConfirmForm, InvoiceRefundForm, VoidInvoiceForm
from app.web.billing.invoice_views import listing
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.sudo_guard import leave_page
from app.web.webhooks.common import render


def load_invoice(invoice_id: str) -> Invoice:
    invoice = db_session().scalars(select(Invoice).where(Invoice.public_id == invoice_id)).first()
    if invoice is None:
        raise NotFound(f"No such invoice: {invoice_id}")
    return invoice


def _refund_form(invoice: Invoice, formdata=None) -> InvoiceRefundForm:
    form = InvoiceRefundForm(formdata=formdata, currency=invoice.currency)
    form.currency.choices = [SelectChoice(invoice.currency, invoice.currency)] + (
        [SelectChoice(invoice.base_currency, f"{invoice.base_currency} (converted at the invoice's rate)")]
        if invoice.base_currency != invoice.currency else [])
    return form


def _detail(invoice: Invoice, status: int = 200, **forms):
    context = {"invoice": invoice, "void_form": forms.get("void_form") or VoidInvoiceForm(formdata=None),
               "refund_form": forms.get("refund_form") or _refund_form(invoice),
               "collect_form": ConfirmForm()}
    return render_template("admin/invoices/detail.html", **context), status


def index():
    form = AdminInvoiceFilterForm(request.args)
    status, slug = (form.status.data, form.organization.data) if form.validate() else (None, None)
    try:
        stmt = invoice_queries.all_invoices(db_session(), status, slug)
    except DomainError as error:
        apply_domain_error(form, error)
        stmt = invoice_queries.all_invoices(db_session(), status)
    return render("admin/invoices/index.html", "admin/invoices/_list.html",
                  **listing(stmt, form, "admin.invoices"))


def detail(invoice_id: str):
    return _detail(load_invoice(invoice_id))


def void(invoice_id: str):
    db, invoice = db_session(), load_invoice(invoice_id)
    form = VoidInvoiceForm()
    if form.validate_on_submit():
        try:
            invoices.void(db, invoice, reason=form.reason.data, actor_label=actor()["actor_label"])
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            flash(f"Invoice {invoice.number} is void.", "success")
            return leave_page(url_for("admin.invoice_detail", invoice_id=invoice.public_id))
    return _detail(invoice, 400, void_form=form)


def refund(invoice_id: str):
    db, config, invoice = db_session(), current_app.config, load_invoice(invoice_id)
    form = _refund_form(invoice, request.form)
    if form.validate_on_submit():
        try:
            made = invoice_refunds.request_refund(
                db, config, invoice, amount_text=form.amount.data, typed_currency=form.currency.data,
                reason=form.reason.data, note=form.note.data or "", actor_label=actor()["actor_label"])
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            if made.approval != "awaiting":
                refunds.execute(db, config, made)
            waiting = " (waiting for approval)" if made.approval == "awaiting" else ""
            flash(f"Refund {made.public_id} of {Money(made.amount, made.currency).format()}: {made.status}{waiting}.",
                  "error" if made.status == "failed" else "success")
            return leave_page(url_for("admin.invoice_detail", invoice_id=invoice.public_id))
    return _detail(invoice, 400, refund_form=form)


def collect(invoice_id: str):
    invoice = load_invoice(invoice_id)
    if ConfirmForm().validate_on_submit():
        done = collection.collect(db_session(), current_app.config, invoice.id, actor_label=actor()["actor_label"])
        flash(f"Invoice {done.number}: {done.status}"
              f"{' — ' + done.failure_message if done.status == 'failed' and done.failure_message else ''}.",
              "error" if done.status == "failed" else "success")
    return leave_page(url_for("admin.invoice_detail", invoice_id=invoice.public_id))


def printable(invoice_id: str):
    return render_template("billing/print.html", invoice=load_invoice(invoice_id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/invoices", endpoint="invoices", view_func=index, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>", endpoint="invoice_detail", view_func=detail, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>/print", endpoint="invoice_print", view_func=printable, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>/void", endpoint="invoice_void", view_func=void, methods=["POST"])
    bp.add_url_rule("/invoices/<invoice_id>/refund", endpoint="invoice_refund", view_func=refund, methods=["POST"])
    bp.add_url_rule("/invoices/<invoice_id>/collect", endpoint="invoice_collect", view_func=collect,
                    methods=["POST"])
