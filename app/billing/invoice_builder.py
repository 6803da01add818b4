"""Assemble an invoice's lines and totals: the one calculation behind the
invoice a period's close writes and the "upcoming invoice" a customer sees.

Order of work, each step rounded on its own line (half up):
1. every line's amount in the base currency (USD): the plan fee of the plan
   in force when the period began, prorations of plan changes, usage beyond
   what the plan in force at the end includes, credits;
2. converted into the invoice's currency at one rate (kept on the invoice);
3. taxed per line at the customer's tax treatment (carried balances are not
   taxed again: they were taxed on their own invoice).
Totals are sums of rounded lines, so the printed lines always add up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from app.billing import plans
from app.billing.models import InvoiceItem, Plan
from app.billing.periods import Period
from app.currency import service as currency
from app.money import Money
from app.tax.service import TaxTreatment

@dataclass
class DraftLine:
    kind: str
    description: str
    amount: int
    base_amount: int | None = None
    quantity: int | None = None
    tax_rate: Decimal = Decimal(0)
    tax: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None


@dataclass
class DraftInvoice:
    currency: str
    rate: currency.Rate
    treatment: TaxTreatment
    period: Period
    lines: list[DraftLine] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    @property
    def amount_due(self) -> int:
        return max(self.total, 0)

    @property
    def credit_carried(self) -> int:
        return max(-self.total, 0)


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def quantity_label(metric: str, quantity: int) -> str:
    """GPU-seconds as GPU-hours (412.5 GPU-hours), requests with grouping (1,204,000 requests)."""
    if metric == "gpu_seconds":
        hours = (Decimal(quantity) / 3600).quantize(Decimal("0.01")).normalize()
        return f"{hours:,f} GPU-hours"
    return f"{quantity:,} requests"


def usage_description(plan: Plan, metric: str, used: int) -> str:
    excess = plans.overage_quantity(plan, metric, used)
    text = (f"{plans.METRIC_LABELS[metric]}: {quantity_label(metric, used)} used, "
            f"{quantity_label(metric, plans.included(plan, metric))} included")
    if excess:
        text += f"; {quantity_label(metric, excess)} beyond at {plans.unit_price_label(plan, metric)}"
    return text


class InvoiceAssembler:
    """Collects base-currency lines, then converts and taxes them into a DraftInvoice."""

    def __init__(self, session: Session, invoice_currency: str, treatment: TaxTreatment, period: Period):
        self.session = session
        self.draft = DraftInvoice(invoice_currency, currency.current_rate(session, invoice_currency), treatment,
                                  period)

    def _in_invoice_currency(self, amount: Money) -> int:
        if amount.currency == self.draft.rate.currency:
            return amount.amount
        if amount.currency == currency.BASE_CURRENCY:
            return currency.apply_rate(amount, self.draft.rate.rate, self.draft.currency).amount
        return currency.convert(self.session, amount, self.draft.currency).amount

    def add(self, kind: str, description: str, amount: Money, *, taxable: bool = True, quantity: int | None = None,
            period_start: datetime | None = None, period_end: datetime | None = None) -> DraftLine:
        converted = self._in_invoice_currency(amount)
        line = DraftLine(kind=kind, description=description, amount=converted,
                         base_amount=amount.amount if amount.currency == currency.BASE_CURRENCY else None,
                         quantity=quantity, period_start=period_start, period_end=period_end)
        if taxable:
            line.tax_rate = self.draft.treatment.rate
            line.tax = self.draft.treatment.tax_on(Money(converted, self.draft.currency)).amount
        self.draft.lines.append(line)
        return line

    def add_plan_fee(self, plan: Plan) -> None:
        period = self.draft.period
        self.add("plan", f"{plan.name} plan, {_day(period.start)} – {_day(period.end)}",
                 Money(plan.monthly_price, plan.currency), period_start=period.start, period_end=period.end)

    def add_items(self, items: list[InvoiceItem]) -> None:
        for item in sorted(items, key=lambda i: (i.created_at, i.id or 0)):
            self.add(item.kind, item.description, Money(item.amount, item.currency),
                     taxable=item.taxable, period_start=item.period_start, period_end=item.period_end)

    def add_usage(self, plan: Plan, usage: dict[str, int]) -> None:
        for metric in plans.METERING:
            used = usage.get(metric, 0)
            if used:
                self.add("usage", usage_description(plan, metric, used), plans.overage_cost(plan, metric, used),
                         quantity=plans.overage_quantity(plan, metric, used),
                         period_start=self.draft.period.start, period_end=self.draft.period.end)
