"""Client portal: invoices — the list, one invoice, its printable page, and "Pay now".

"Pay now" charges the card on file for an open or failed invoice at once,
through the same collection the billing cycle runs (its lease keeps the two
from charging twice). Owners pay; members see the invoices.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for

from app.billing import collection, invoice_queries
from app.billing.models import Invoice
from app.errors import DomainError
from app.pagination import paginate
from app.web.billing.forms import ConfirmForm, InvoiceFilterForm
from app.web.portal import actor, current_org_id
from app.web.request_context import db_session
from app.web.security.common import is_owner, require_owner
from app.web.sudo_guard import leave_page
from app.web.webhooks.common import render

PER_PAGE = 20


def load_invoice(invoice_id: str) -> Invoice:
    return invoice_queries.customer_invoice(db_session(), current_org_id(), invoice_id)


def listing(stmt, form, endpoint: str, **params) -> dict:
    """A page of invoices, newest first, with the links around it (shared with the admin list)."""
    cursor = request.args.get("starting_after") or None
    try:
        page = paginate(db_session(), stmt, Invoice, PER_PAGE, cursor, newest_first=True)
    except DomainError:
        abort(404)  # a cursor that is not one of these invoices
    filters = {key: value for key, value in {**form.data, **params}.items() if value}
    return {"filter_form": form, "page": page, "filtered": bool(filters),
            "older_url": url_for(endpoint, starting_after=page.rows[-1].public_id, **filters)
            if page.has_more else None,
            "newest_url": url_for(endpoint, **filters) if cursor else None}


def index():
    form = InvoiceFilterForm(request.args)
    status = form.status.data if form.validate() else None
    context = listing(invoice_queries.customer_invoices(current_org_id(), status), form, "client.invoices")
    return render("client/invoices/index.html", "client/invoices/_list.html", **context)


def detail(invoice_id: str):
    invoice = load_invoice(invoice_id)
    return render_template("client/invoices/detail.html", invoice=invoice, pay_form=ConfirmForm(),
                           can_pay=is_owner() and invoice.status in ("open", "failed") and invoice.amount_due > 0)


def printable(invoice_id: str):
    return render_template("billing/print.html", invoice=load_invoice(invoice_id))


@require_owner("how invoices are paid")
def pay(invoice_id: str):
    invoice = load_invoice(invoice_id)
    if ConfirmForm().validate_on_submit():
        db = db_session()
        collected = collection.collect(db, current_app.config, invoice.id, actor_label=actor()["actor_label"])
        if collected.status == "paid":
            flash(f"Invoice {collected.number} is paid. Thank you.", "success")
        elif collected.status == "failed":
            flash(f"The payment failed: {collected.failure_message}", "error")
        elif collected.collecting_until is not None:
            flash("This invoice is being charged right now; reload in a moment.", "info")
        else:
            flash("The payment is being processed; the invoice updates when the provider confirms it.", "info")
    return leave_page(url_for("client.invoice_detail", invoice_id=invoice.public_id))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/invoices", endpoint="invoices", view_func=index, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>", endpoint="invoice_detail", view_func=detail, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>/print", endpoint="invoice_print", view_func=printable, methods=["GET"])
    bp.add_url_rule("/invoices/<invoice_id>/pay", endpoint="invoice_pay", view_func=pay, methods=["POST"])
