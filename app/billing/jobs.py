"""RQ jobs of billing: the billing cycle (close due periods, finalize drafts,
queue collection) and collecting one invoice.

Both take ids or nothing, load fresh state and are safe to run twice: closing
locks the subscription and is refused by the UNIQUE per period, finalizing
checks the draft under a lock, collecting takes a lease. The database is the
record of what is due; Redis only carries the nudges.
"""
from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.billing import collection, invoices
from app.billing.models import Invoice, Subscription
from app.errors import DomainError
from app.jobs import enqueue, job_session

log = logging.getLogger(__name__)

QUEUE = "default"
MAX_PERIODS_PER_RUN = 24  # a subscription left behind for two years catches up over several runs


def _close_due(session: Session, subscription_id: int) -> int:
    """Close every ended period of one subscription; returns how many invoices it drafted."""
    drafted = 0
    for _ in range(MAX_PERIODS_PER_RUN):
        try:
            invoice = invoices.close_period(session, subscription_id)
        except DomainError as error:  # e.g. no exchange rate for the customer's currency: retried next run
            session.rollback()
            log.warning("Could not close a period of subscription %s: %s", subscription_id, error.message)
            return drafted
        if invoice is None:
            session.rollback()
            return drafted
        session.commit()
        drafted += 1
    return drafted


def _finalize_drafts(session: Session) -> list[int]:
    finalized = []
    for invoice in session.scalars(select(Invoice).where(Invoice.status == "draft").order_by(Invoice.id)).all():
        invoices.finalize(session, invoice)
        session.commit()
        finalized.append(invoice.id)
    return finalized


def _collectable(session: Session) -> list[int]:
    """Open invoices with money due that no collector holds."""
    now = clock.utcnow()
    return list(session.scalars(select(Invoice.id).where(
        Invoice.status == "open", Invoice.amount_due > 0,
        (Invoice.collecting_until.is_(None)) | (Invoice.collecting_until < now)).order_by(Invoice.id)))


def run_billing_cycle() -> dict:
    """Periodic: invoice every ended period, issue the drafts, queue their collection."""
    with job_session() as session:
        due = list(session.scalars(select(Subscription.id).where(
            Subscription.status != "cancelled", Subscription.current_period_end <= clock.utcnow())))
        drafted = sum(_close_due(session, subscription_id) for subscription_id in due)
        finalized = _finalize_drafts(session)
        to_collect = _collectable(session)
    queued = 0
    for invoice_id in to_collect:
        try:
            enqueue(collect_invoice, invoice_id, queue_name=QUEUE)
            queued += 1
        except RedisError as error:
            log.warning("Could not queue collection of invoice %s (%s); the next cycle will.", invoice_id,
                        type(error).__name__)
    return {"drafted": drafted, "finalized": len(finalized), "collection_queued": queued}


def collect_invoice(invoice_id: int) -> str | None:
    """Collect one invoice (a lease keeps two of these from charging it twice)."""
    with job_session() as session:
        invoice = collection.collect(session, current_app.config, invoice_id)
        return invoice.status if invoice else None
