"""Response shapes of the subscription and invoices API.

Amounts are integers in minor units; currencies lower-case; the exchange rate
a string, since it is an exact decimal a float would round.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.billing.models import INVOICE_STATUSES
from app.web.api.schemas import ListQuery


class PlanOut(BaseModel):
    code: str = Field(description="free, pro or enterprise")
    name: str
    monthly_price: int = Field(description="minor units of `currency`")
    currency: str
    included_gpu_seconds: int
    gpu_hour_price: int = Field(description="minor units per GPU-hour beyond the included seconds")
    included_api_requests: int
    api_1k_price: int = Field(description="minor units per 1,000 API requests beyond the included ones")


class SubscriptionOut(BaseModel):
    id: str = Field(description="sub_…")
    plan: PlanOut
    status: str = Field(description="active, past_due or cancelled")
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    created_at: datetime


class InvoiceLineOut(BaseModel):
    kind: str = Field(description="plan, proration, usage, credit or balance")
    description: str
    quantity: int | None = Field(description="usage lines: units billed beyond what the plan includes")
    amount: int = Field(description="minor units of the invoice's currency")
    base_amount: int | None = Field(description="the line in the invoice's base currency before conversion")
    tax_rate: str = Field(description="percent applied to this line")
    tax: int


class InvoiceOut(BaseModel):
    id: str = Field(description="in_…")
    number: str
    status: str = Field(description="open, paid, failed or void")
    currency: str
    base_currency: str
    exchange_rate: str = Field(description="units of `currency` per 1 `base_currency`, as used by this invoice")
    period_start: datetime
    period_end: datetime
    subtotal: int
    tax: int
    total: int
    amount_due: int
    amount_paid: int
    credit_carried: int = Field(description="a negative total, credited to the next invoice")
    tax_label: str
    tax_note: str | None
    reverse_charge: bool
    failure_message: str | None
    issued_at: datetime | None
    paid_at: datetime | None
    lines: list[InvoiceLineOut]


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    has_more: bool


class InvoiceListQuery(ListQuery):
    status: Literal[tuple(s for s in INVOICE_STATUSES if s != "draft")] | None = Field(
        default=None, description="open, paid, failed or void")
