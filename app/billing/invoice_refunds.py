"""Refund part of a paid invoice, at the rate the invoice was issued at.

Plan prices are in the base currency (USD) and the invoice converted them at
its own rate. A refund of "10.00 USD of the plan fee" must give back what
those 10.00 USD cost the customer then, not what they cost today: the amount
is converted with `invoice.exchange_rate`, never with the rate in force now.
The refund itself is an ordinary refund of the invoice's payment (reserved by
the payments service's guarded UPDATE, so it can never exceed what was paid).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.service import record
from app.billing.models import Invoice
from app.currency.service import apply_rate
from app.errors import DomainError
from app.money import Money
from app.payments import amounts, refunds
from app.payments.models import Refund


def refund_amount(invoice: Invoice, amount_text: str, typed_currency: str) -> Money:
    """The refund in the invoice's currency for an amount typed in the invoice's or the base currency."""
    typed = amounts.currency_code(typed_currency)
    if typed not in (invoice.currency, invoice.base_currency):
        raise DomainError(f"Type the amount in {invoice.currency} or {invoice.base_currency}.", field="currency")
    minor = amounts.from_major(amount_text, typed)
    if typed == invoice.currency:
        return Money(minor, invoice.currency)
    converted = apply_rate(Money(minor, typed), invoice.exchange_rate, invoice.currency)
    if converted.amount <= 0:
        raise DomainError("That amount is less than one minor unit of the invoice's currency.", field="amount")
    return converted


def request_refund(session: Session, config, invoice: Invoice, *, amount_text: str, typed_currency: str,
                   reason: str, note: str, actor_label: str) -> Refund:
    """Reserve the refund on the invoice's payment (the caller commits, then `refunds.execute`s it)."""
    if invoice.status != "paid" or invoice.payment is None:
        raise DomainError(f"Only a paid invoice can be refunded; this one is {invoice.status}.", field="amount")
    amount = refund_amount(invoice, amount_text, typed_currency)
    typed = amounts.currency_code(typed_currency)
    mention = f"Invoice {invoice.number}"
    if typed != invoice.currency:
        mention += f": {amount_text} {typed} at the invoice's rate {invoice.exchange_rate}"
    refund = refunds.request(session, config, invoice.payment, refund_type="partial", reason=reason,
                             amount=amount.amount, note=f"{mention}. {note}".strip(), actor_label=actor_label)
    record(session, "invoice.refund_requested", actor_label=actor_label, org_id=invoice.org_id,
           target=invoice.public_id, details={"refund": refund.public_id, "amount": amount.amount,
                                              "currency": invoice.currency, "typed": f"{amount_text} {typed}",
                                              "rate": str(invoice.exchange_rate)})
    return refund
