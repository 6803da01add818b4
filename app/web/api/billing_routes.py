"""API v1: the subscription and invoices (read-only; plans are changed in the portal)."""
from __future__ import annotations

from app.billing import invoice_queries
from app.billing.models import Invoice, Plan, Subscription
from app.errors import NotFound
from app.pagination import paginate
from app.rental.service import current_subscription
from app.web.api.billing_schemas import (InvoiceLineOut, InvoiceList, InvoiceListQuery, InvoiceOut, PlanOut,
                                         SubscriptionOut)
from app.web.api.registry import api_route, respond
from app.web.portal import current_org_id
from app.web.request_context import db_session


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(code=plan.code, name=plan.name, monthly_price=plan.monthly_price, currency=plan.currency.lower(),
                   included_gpu_seconds=plan.included_gpu_seconds, gpu_hour_price=plan.gpu_hour_price,
                   included_api_requests=plan.included_api_requests, api_1k_price=plan.api_1k_price)


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut(id=subscription.public_id, plan=plan_out(subscription.plan), status=subscription.status,
                           current_period_start=subscription.current_period_start,
                           current_period_end=subscription.current_period_end,
                           cancel_at_period_end=subscription.cancel_at_period_end, created_at=subscription.created_at)


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.public_id, number=invoice.number, status=invoice.status, currency=invoice.currency.lower(),
        base_currency=invoice.base_currency.lower(), exchange_rate=str(invoice.exchange_rate),
        period_start=invoice.period_start, period_end=invoice.period_end, subtotal=invoice.subtotal, tax=invoice.tax,
        total=invoice.total, amount_due=invoice.amount_due, amount_paid=invoice.amount_paid,
        credit_carried=invoice.credit_carried, tax_label=invoice.tax_label, tax_note=invoice.tax_note,
        reverse_charge=invoice.reverse_charge, failure_message=invoice.failure_message,
        issued_at=invoice.finalized_at, paid_at=invoice.paid_at,
        lines=[InvoiceLineOut(kind=line.kind, description=line.description, quantity=line.quantity,
                              amount=line.amount, base_amount=line.base_amount, tax_rate=str(line.tax_rate),
                              tax=line.tax) for line in invoice.lines])


@api_route("/subscription", "GET", summary="The organization's current subscription and its period",
           response=SubscriptionOut)
def get_subscription():
    subscription = current_subscription(db_session(), current_org_id())
    if subscription is None:
        raise NotFound("This organization has no subscription.")
    return respond(subscription_out(subscription))


@api_route("/invoices", "GET", summary="The organization's invoices, newest first", query=InvoiceListQuery,
           response=InvoiceList)
def list_invoices(query: InvoiceListQuery):
    stmt = invoice_queries.customer_invoices(current_org_id(), query.status)
    page = paginate(db_session(), stmt, Invoice, query.limit, query.starting_after, newest_first=True)
    return respond(InvoiceList(data=[invoice_out(i) for i in page.rows], has_more=page.has_more))


@api_route("/invoices/<invoice_id>", "GET", summary="One invoice with its lines", response=InvoiceOut)
def get_invoice(invoice_id: str):
    return respond(invoice_out(invoice_queries.customer_invoice(db_session(), current_org_id(), invoice_id)))
