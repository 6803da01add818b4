"""Outbound events for payments, refunds and disputes, in the catalog's shapes."""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.payments.models import Dispute, Payment, Refund
from app.webhooks.events import emit


def payment_data(payment: Payment) -> dict:
    return {"id": payment.public_id, "order_id": payment.order_id, "status": payment.status,
            "amount": payment.amount, "amount_captured": payment.amount_captured,
            "amount_refunded": payment.amount_refunded, "currency": payment.currency.lower(),
            "failure_message": payment.failure_message}


def refund_data(refund: Refund) -> dict:
    return {"id": refund.public_id, "payment_id": refund.payment.public_id, "status": refund.status,
            "amount": refund.amount, "currency": refund.currency.lower(), "type": refund.type,
            "reason": refund.reason}


def dispute_data(dispute: Dispute) -> dict:
    return {"id": dispute.public_id, "payment_id": dispute.payment.public_id, "status": dispute.status,
            "reason": dispute.reason, "amount": dispute.amount, "currency": dispute.currency.lower(),
            "evidence_due_by": dispute.evidence_due_by}


def payment_event(session: Session, payment: Payment, type: str) -> None:
    emit(session, payment.org_id, type, payment_data(payment))


def refund_event(session: Session, refund: Refund, type: str) -> None:
    emit(session, refund.org_id, type, refund_data(refund))


def dispute_event(session: Session, dispute: Dispute, type: str) -> None:
    emit(session, dispute.org_id, type, dispute_data(dispute))
