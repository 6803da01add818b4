"""Close a billing period into an invoice, finalize it, void it; the upcoming invoice.

Closing is safe to run twice: the subscription row is locked first (a second
closer waits, then finds the period already moved on), and the UNIQUE
(subscription, period_start) on invoices backs that up. Usage records and
pending items are claimed by setting their `invoice_id` in the same
transaction, so each is billed exactly once; a record that slips in while a
period closes is billed on the next invoice rather than lost.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.billing import numbering, subscriptions
from app.billing.invoice_builder import DraftInvoice, InvoiceAssembler
from app.billing.models import Invoice, InvoiceItem, InvoiceLine, Subscription, UsageRecord
from app.billing.periods import Period
from app.billing.profile import get_profile
from app.currency.models import BASE_CURRENCY
from app.db import lock_row
from app.errors import DomainError
from app.tax import service as tax
from app.webhooks.events import emit

_LAST_INSTANT = timedelta(microseconds=1)


def invoice_data(invoice: Invoice) -> dict:
    """The catalog's InvoiceData for invoice.* events."""
    return {"id": invoice.public_id, "number": invoice.number or "", "status": invoice.status,
            "currency": invoice.currency.lower(), "subtotal": invoice.subtotal, "tax": invoice.tax,
            "total": invoice.total, "period_start": invoice.period_start, "period_end": invoice.period_end}


def _pending_items(org_id: int, period: Period):
    """Items waiting for an invoice of this period: prorations inside it, credits and balances."""
    return select(InvoiceItem).where(InvoiceItem.org_id == org_id, InvoiceItem.invoice_id.is_(None),
                                     or_(InvoiceItem.period_start.is_(None), InvoiceItem.period_start < period.end))


def _usage_totals(session: Session, where) -> dict[str, int]:
    rows = session.execute(select(UsageRecord.metric, func.sum(UsageRecord.quantity)).where(*where)
                           .group_by(UsageRecord.metric))
    return {metric: int(total) for metric, total in rows}


def _unbilled_usage(org_id: int, period: Period) -> tuple:
    return (UsageRecord.org_id == org_id, UsageRecord.invoice_id.is_(None), UsageRecord.period_start <= period.start)


def _assembler(session: Session, subscription: Subscription, period: Period) -> InvoiceAssembler:
    """Taxed as at the period's last instant: the period's supply, even if a new rate starts as it ends."""
    org = subscription.organization
    treatment = tax.treatment_for(session, org, period.end - _LAST_INSTANT)
    return InvoiceAssembler(session, org.preferred_currency, treatment, period)


def _fill(session: Session, assembler: InvoiceAssembler, subscription: Subscription, items, usage) -> DraftInvoice:
    period = assembler.draft.period
    assembler.add_plan_fee(subscriptions.plan_at(session, subscription, period.start))
    assembler.add_items(items)
    assembler.add_usage(subscriptions.plan_at(session, subscription, period.end - _LAST_INSTANT), usage)
    return assembler.draft


def upcoming(session: Session, subscription: Subscription) -> DraftInvoice:
    """The invoice the current period would get if it closed now with what is known (nothing written)."""
    period = Period(subscription.current_period_start, subscription.current_period_end)
    items = list(session.scalars(_pending_items(subscription.org_id, period)))
    usage = _usage_totals(session, _unbilled_usage(subscription.org_id, period))
    return _fill(session, _assembler(session, subscription, period), subscription, items, usage)


def _shell(session: Session, subscription: Subscription, draft: DraftInvoice) -> Invoice:
    """The invoice row before its lines: who, which period, which rate and tax treatment."""
    org, profile, treatment = subscription.organization, get_profile(session, subscription.org_id), draft.treatment
    return Invoice(
        org_id=org.id, subscription_id=subscription.id, issuer=numbering.ISSUER, status="draft",
        currency=draft.currency, base_currency=BASE_CURRENCY, exchange_rate=draft.rate.rate,
        rate_source=draft.rate.source, rate_as_of=draft.rate.as_of, period_start=draft.period.start,
        period_end=draft.period.end, subtotal=0, tax=0, total=0, amount_due=0, amount_paid=0, credit_carried=0,
        customer_name=profile.legal_name or org.name, customer_address=profile.address,
        customer_country=org.country, customer_tax_id=treatment.tax_id, tax_region=treatment.region,
        tax_label=treatment.label, tax_note=treatment.note,
        reverse_charge=treatment.reverse_charge)


def _claim(session: Session, invoice: Invoice, period: Period) -> tuple[list[InvoiceItem], dict[str, int]]:
    """Mark the period's pending items and unbilled usage as this invoice's; return them."""
    item_ids = list(session.scalars(_pending_items(invoice.org_id, period).with_only_columns(InvoiceItem.id)))
    if item_ids:
        session.execute(update(InvoiceItem).where(InvoiceItem.id.in_(item_ids), InvoiceItem.invoice_id.is_(None))
                        .values(invoice_id=invoice.id).execution_options(synchronize_session=False))
    session.execute(update(UsageRecord).where(*_unbilled_usage(invoice.org_id, period))
                    .values(invoice_id=invoice.id).execution_options(synchronize_session=False))
    items = list(session.scalars(select(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id)))
    return items, _usage_totals(session, (UsageRecord.invoice_id == invoice.id,))


def _write_lines(session: Session, invoice: Invoice, draft: DraftInvoice) -> None:
    for position, line in enumerate(draft.lines, start=1):
        session.add(InvoiceLine(invoice_id=invoice.id, position=position, kind=line.kind,
                                description=line.description[:300], quantity=line.quantity,
                                base_amount=line.base_amount, amount=line.amount, tax_rate=line.tax_rate,
                                tax=line.tax, period_start=line.period_start, period_end=line.period_end))
    invoice.subtotal, invoice.tax, invoice.total = draft.subtotal, draft.tax, draft.total
    invoice.amount_due, invoice.credit_carried = draft.amount_due, draft.credit_carried
    if draft.credit_carried:
        session.add(InvoiceItem(
            org_id=invoice.org_id, subscription_id=invoice.subscription_id, kind="balance", taxable=False,
            description=f"Credit carried from the invoice for {draft.period.start:%d %b %Y} – "
                        f"{draft.period.end:%d %b %Y}",
            amount=-draft.credit_carried, currency=invoice.currency, source_key=f"balance:{invoice.public_id}"))


def close_period(session: Session, subscription_id: int) -> Invoice | None:
    """Invoice the subscription's current period if it has ended (a draft); None when nothing is due.

    The caller commits. Returns the new draft; a period already closed returns None.
    """
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        return None
    lock_row(session, subscription)
    if subscription.status == "cancelled" or subscription.current_period_end > clock.utcnow():
        return None
    period = Period(subscription.current_period_start, subscription.current_period_end)
    assembler = _assembler(session, subscription, period)
    invoice = _shell(session, subscription, assembler.draft)
    session.add(invoice)
    session.flush()  # the UNIQUE (subscription, period_start) refuses a second invoice here
    items, usage = _claim(session, invoice, period)
    _write_lines(session, invoice, _fill(session, assembler, subscription, items, usage))
    subscriptions.advance_period(session, subscription, period)
    record(session, "invoice.drafted", actor_label="billing", org_id=invoice.org_id, target=invoice.public_id,
           details={"period_start": period.start.isoformat(), "total": invoice.total, "currency": invoice.currency})
    return invoice


def finalize(session: Session, invoice: Invoice) -> Invoice:
    """Number a draft and issue it (open); a zero amount due is paid at once. The caller commits."""
    lock_row(session, invoice)
    if invoice.status != "draft":
        return invoice
    now = clock.utcnow()
    invoice.number = numbering.take_number(session, invoice.issuer, now)
    invoice.status, invoice.finalized_at, invoice.updated_at = "open", now, now
    record(session, "invoice.finalized", actor_label="billing", org_id=invoice.org_id, target=invoice.public_id,
           details={"number": invoice.number, "amount_due": invoice.amount_due, "currency": invoice.currency})
    emit(session, invoice.org_id, "invoice.created", invoice_data(invoice))
    if invoice.amount_due == 0:
        mark_paid(session, invoice)
    return invoice


def _update_standing(session: Session, invoice: Invoice) -> None:
    """Past due while any of its invoices stays failed; active again once none does."""
    subscription = session.get(Subscription, invoice.subscription_id) if invoice.subscription_id else None
    if subscription is None:
        return
    failed = session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.subscription_id == subscription.id, Invoice.status == "failed"))
    subscriptions.set_past_due(session, subscription, failed > 0)


def mark_paid(session: Session, invoice: Invoice) -> None:
    now = clock.utcnow()
    invoice.status, invoice.amount_paid, invoice.paid_at, invoice.updated_at = "paid", invoice.amount_due, now, now
    invoice.failure_message = None
    emit(session, invoice.org_id, "invoice.paid", invoice_data(invoice))
    _update_standing(session, invoice)


def mark_failed(session: Session, invoice: Invoice, message: str) -> None:
    invoice.status, invoice.failure_message, invoice.updated_at = "failed", message[:300], clock.utcnow()
    emit(session, invoice.org_id, "invoice.failed", invoice_data(invoice))
    _update_standing(session, invoice)


def void(session: Session, invoice: Invoice, *, reason: str, actor_label: str) -> Invoice:
    """Cancel an issued, unpaid invoice: nothing is owed for it; it keeps its number."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the invoice is voided; the customer sees it.", field="reason")
    lock_row(session, invoice)
    if invoice.status not in ("open", "failed"):
        raise DomainError(f"Only an open or failed invoice can be voided; this one is {invoice.status}.",
                          field="status")
    now = clock.utcnow()
    invoice.status, invoice.voided_at, invoice.updated_at = "void", now, now
    invoice.void_reason = reason[:300]
    record(session, "invoice.voided", actor_label=actor_label, org_id=invoice.org_id, target=invoice.public_id,
           details={"number": invoice.number, "reason": reason[:300]})
    _update_standing(session, invoice)
    return invoice
