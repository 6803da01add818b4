"""API v1: payments — authorize, capture, charge, cancel, refund, get, list per order.

Thin: validate → payments service → serialize. Payments are loaded only through
the tenancy helpers, so another organization's pay_ id answers 404 like an
unknown one. Every POST honours `Idempotency-Key` (app/web/api/idempotency.py).

A declined card is not an exception: the service records a `failed` payment and
this answers 402 in Stripe's card_error shape with that payment's id, so the
client can look it up. A payment whose outcome the gateway has not told yet (a
lost connection) answers 202 `processing`: the row exists and Stripe's webhook
completes it; answering 5xx would release the key and let a retry charge twice.
"""
from __future__ import annotations

from flask import current_app, g, jsonify

from app.errors import NotFound
from app.pagination import paginate
from app.payments import refunds, service
from app.payments.models import Payment, Refund
from app.tenancy import get_owned
from app.web.api.auth import api_actor_label
from app.web.api.idempotency import idempotent
from app.web.api.payment_schemas import (CaptureRequest, PaymentCreate, PaymentList, PaymentOut, RefundRequest,
                                         RefundOut)
from app.web.api.registry import api_route, respond
from app.web.api.schemas import ListQuery
from app.web.portal import current_org_id
from app.web.request_context import db_session



def payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut(id=payment.public_id, order_id=payment.order_id, status=payment.status, amount=payment.amount,
                      amount_captured=payment.amount_captured, amount_refunded=payment.amount_refunded,
                      amount_refund_pending=payment.amount_refund_pending, currency=payment.currency.lower(),
                      platform_fee=payment.platform_fee, gateway_fee=payment.gateway_fee,
                      net_amount=payment.net_amount, payment_method=payment.payment_method,
                      failure_code=payment.failure_code, failure_message=payment.failure_message,
                      created_at=payment.created_at)


def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(id=refund.public_id, payment=refund.payment.public_id, status=refund.status,
                     amount=refund.amount, currency=refund.currency.lower(), type=refund.type, reason=refund.reason,
                     approval=refund.approval, failure_message=refund.failure_message, created_at=refund.created_at)


def owned_payment(public_id: str, field: str | None = None) -> Payment:
    """The organization's payment, or 404 (naming `field` when the id came in the body or query)."""
    try:
        return get_owned(db_session(), Payment, current_org_id(), public_id)
    except NotFound as missing:
        missing.field = field
        raise


def create_refund(payment: Payment, body: RefundRequest):
    """Reserve (committed), then send to Stripe unless an admin must approve first."""
    db = db_session()
    refund_type = body.type or ("partial" if body.amount is not None else "full")
    refund = refunds.request(db, current_app.config, payment, refund_type=refund_type, reason=body.reason,
                             amount=body.amount, currency=body.currency, note=body.note,
                             actor_label=api_actor_label())
    db.commit()
    if refund.approval != "awaiting":
        refunds.execute(db, current_app.config, refund)
    return respond(refund_out(refund), 201)


def _placed(payment: Payment):
    if payment.status == "failed":
        return jsonify({"error": {"type": "card_error", "message": payment.failure_message or "The payment failed.",
                                  "code": payment.failure_code, "payment": payment.public_id}}), 402
    return respond(payment_out(payment), 202 if payment.status == "processing" else 201)


def _place(body: PaymentCreate, capture: bool):
    payment = service.place(db_session(), current_app.config, g.organization, order_id=body.order_id,
                            amount=body.amount, currency=body.currency, payment_method=body.payment_method,
                            capture=capture, actor_label=api_actor_label())
    return _placed(payment)


@api_route("/payments/authorize", "POST",
           summary="Authorize a payment method for later capture (402 card_error with the failed payment's id "
                   "when declined)", scope="write", body=PaymentCreate, response=PaymentOut, status=201)
@idempotent
def authorize_payment(body: PaymentCreate):
    return _place(body, capture=False)


@api_route("/payments/charge", "POST",
           summary="Authorize and capture at once (402 card_error with the failed payment's id when declined)",
           scope="write", body=PaymentCreate, response=PaymentOut, status=201)
@idempotent
def charge_payment(body: PaymentCreate):
    return _place(body, capture=True)


@api_route("/payments/<public_id>/capture", "POST",
           summary="Capture all or part of an authorization; the rest is released", scope="write",
           body=CaptureRequest, response=PaymentOut)
@idempotent
def capture_payment(public_id: str, body: CaptureRequest):
    payment = service.capture(db_session(), current_app.config, owned_payment(public_id), body.amount,
                              actor_label=api_actor_label())
    return respond(payment_out(payment))


@api_route("/payments/<public_id>/cancel", "POST", summary="Release an authorization that will not be captured",
           scope="write", response=PaymentOut)
@idempotent
def cancel_payment(public_id: str):
    payment = service.cancel(db_session(), current_app.config, owned_payment(public_id),
                             actor_label=api_actor_label())
    return respond(payment_out(payment))


@api_route("/payments/<public_id>/refund", "POST",
           summary="Refund a captured payment: full, partial or prorated; large refunds wait for approval",
           scope="write", body=RefundRequest, response=RefundOut, status=201)
@idempotent
def refund_payment(public_id: str, body: RefundRequest):
    return create_refund(owned_payment(public_id), body)


@api_route("/payments/<public_id>", "GET", summary="Get one payment", response=PaymentOut)
def get_payment(public_id: str):
    return respond(payment_out(owned_payment(public_id)))


@api_route("/orders/<order_id>/payments", "GET", summary="The payments of one of your orders, newest first",
           query=ListQuery, response=PaymentList)
def list_order_payments(order_id: str, query: ListQuery):
    db = db_session()
    page = paginate(db, service.by_order(db, current_org_id(), order_id), Payment, query.limit,
                    query.starting_after, newest_first=True)
    return respond(PaymentList(data=[payment_out(p) for p in page.rows], has_more=page.has_more))


from app.web.api import refund_dispute_routes  # noqa: E402,F401  (registers /refunds and /disputes)
