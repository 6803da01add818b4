"""API v1: the organization's refunds and disputes — list, and create naming a payment.

`POST /refunds` is `POST /payments/{id}/refund` with the payment in the body;
`POST /disputes` opens a customer dispute through the disputes service. Both
honour `Idempotency-Key`. Lists are newest first, optionally for one payment.
"""
from __future__ import annotations

from flask import current_app

from app.pagination import paginate
from app.payments.models import Dispute, Refund
from app.tenancy import owned
from app.web.api.auth import api_actor_label
from app.web.api.idempotency import idempotent
from app.web.api.payment_routes import create_refund, owned_payment, refund_out
from app.web.api.payment_schemas import (ByPaymentQuery, DisputeCreate, DisputeList, DisputeOut, RefundCreate,
                                         RefundList, RefundOut)
from app.web.api.registry import api_route, respond
from app.web.portal import current_org_id
from app.web.request_context import db_session


def dispute_out(dispute: Dispute) -> DisputeOut:
    return DisputeOut(id=dispute.public_id, payment=dispute.payment.public_id, status=dispute.status,
                      reason=dispute.reason, amount=dispute.amount, currency=dispute.currency.lower(),
                      evidence_due_by=dispute.evidence_due_by, created_at=dispute.created_at)


def _page(model, query: ByPaymentQuery):
    """One page of the organization's `model` rows, newest first, maybe for one payment."""
    stmt = owned(model, current_org_id())
    if query.payment:
        stmt = stmt.where(model.payment_id == owned_payment(query.payment, field="payment").id)
    return paginate(db_session(), stmt, model, query.limit, query.starting_after, newest_first=True)


@api_route("/refunds", "GET", summary="The organization's refunds, newest first", query=ByPaymentQuery,
           response=RefundList)
def list_refunds(query: ByPaymentQuery):
    page = _page(Refund, query)
    return respond(RefundList(data=[refund_out(r) for r in page.rows], has_more=page.has_more))


@api_route("/refunds", "POST",
           summary="Refund a captured payment: full, partial or prorated; large refunds wait for approval",
           scope="write", body=RefundCreate, response=RefundOut, status=201)
@idempotent
def create_refund_for_payment(body: RefundCreate):
    return create_refund(owned_payment(body.payment, field="payment"), body)


@api_route("/disputes", "GET", summary="The organization's disputes, newest first", query=ByPaymentQuery,
           response=DisputeList)
def list_disputes(query: ByPaymentQuery):
    page = _page(Dispute, query)
    return respond(DisputeList(data=[dispute_out(d) for d in page.rows], has_more=page.has_more))


@api_route("/disputes", "POST", summary="Dispute one of your captured payments (reason and description)",
           scope="write", body=DisputeCreate, response=DisputeOut, status=201)
@idempotent
def open_dispute(body: DisputeCreate):
    # Imported here while the disputes service is being written beside this module; it can
    # move to the top once app/payments/disputes.py exists.
    from app.payments import disputes

    db = db_session()
    payment = owned_payment(body.payment, field="payment")
    dispute = disputes.open_by_customer(db, current_app.config, payment, reason=body.reason,
                                        description=body.description, actor_label=api_actor_label())
    db.commit()
    return respond(dispute_out(dispute), 201)
