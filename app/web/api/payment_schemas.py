"""Request and response shapes of the payments, refunds and disputes API.

PRODUCT.md's shapes are binding (fields may be added, none renamed). Amounts are
`StrictInt` minor units: 10.5, 1000.0 and "1000" are refused naming `amount`
before anything is written, because a float or a string is a client bug that
rounding must not hide. Whether an amount fits what is left, or a currency the
payment's, is the payments service's business; its refusals name the same fields.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.money import MAX_MINOR_UNITS, SUPPORTED_CURRENCIES
from app.payments.models import DISPUTE_REASONS, PAYMENT_STATUSES, REFUND_REASONS, REFUND_TYPES
from app.web.api.schemas import ListQuery

_CURRENCIES = ", ".join(code.lower() for code in SUPPORTED_CURRENCIES)


def _amount(description: str):
    return Field(default=None, gt=0, le=MAX_MINOR_UNITS, description=description)


class PaymentCreate(BaseModel):
    """Authorize or charge: the same fields."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(description="your own order reference: 1–100 letters, digits or _ . : # / -")
    amount: StrictInt = Field(gt=0, le=MAX_MINOR_UNITS, description="minor units of `currency` (1000 = 10.00 USD)")
    currency: str = Field(description=f"ISO 4217, any case: {_CURRENCIES}")
    payment_method: str = Field(description="a Stripe PaymentMethod id, e.g. pm_card_visa")


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = _amount("at most the authorized amount; omitted: all of it (the rest is released)")


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt | None = _amount("minor units; omitted: everything left (full) or computed (prorated)")
    type: Literal[REFUND_TYPES] | None = Field(
        default=None, description="full, partial or prorated (the unused share of the current subscription period); "
                                  "omitted: partial with an amount, full without")
    reason: Literal[REFUND_REASONS] = Field(default="customer_request", description=", ".join(REFUND_REASONS))
    currency: str | None = Field(default=None, description="if given, must be the payment's currency")
    note: str = Field(default="", max_length=500, description="your explanation, kept with the refund")


class RefundCreate(RefundRequest):
    payment: str = Field(description="pay_… of a captured payment")


class DisputeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment: str = Field(description="pay_… of a captured payment")
    reason: Literal[DISPUTE_REASONS] = Field(description=", ".join(DISPUTE_REASONS))
    description: str = Field(description="what went wrong, in your words")


class PaymentOut(BaseModel):
    id: str = Field(description="pay_…")
    object: Literal["payment"] = "payment"
    order_id: str
    status: Literal[PAYMENT_STATUSES] = Field(
        description="processing (outcome not known yet), requires_capture (authorized), succeeded, canceled, failed")
    amount: int = Field(description="authorized amount, minor units")
    amount_captured: int
    amount_refunded: int = Field(description="refunds that succeeded")
    amount_refund_pending: int = Field(description="reserved by refunds still pending")
    currency: str = Field(description="ISO 4217, lower case")
    platform_fee: int
    gateway_fee: int
    net_amount: int = Field(description="captured − platform fee − gateway fee")
    payment_method: str
    failure_code: str | None
    failure_message: str | None
    created_at: datetime


class PaymentList(BaseModel):
    data: list[PaymentOut]
    has_more: bool


class RefundOut(BaseModel):
    id: str = Field(description="re_…")
    object: Literal["refund"] = "refund"
    payment: str = Field(description="pay_…")
    status: str = Field(description="pending, succeeded, failed or canceled")
    amount: int
    currency: str = Field(description="ISO 4217, lower case")
    type: str
    reason: str
    approval: str = Field(description="not_required, awaiting (an admin decides), approved or rejected")
    failure_message: str | None
    created_at: datetime


class RefundList(BaseModel):
    data: list[RefundOut]
    has_more: bool


class DisputeOut(BaseModel):
    id: str = Field(description="dp_…")
    object: Literal["dispute"] = "dispute"
    payment: str = Field(description="pay_…")
    status: str = Field(description="Stripe's dispute states, e.g. needs_response, under_review, won, lost")
    reason: str
    amount: int
    currency: str = Field(description="ISO 4217, lower case")
    evidence_due_by: datetime | None
    created_at: datetime


class DisputeList(BaseModel):
    data: list[DisputeOut]
    has_more: bool


class ByPaymentQuery(ListQuery):
    payment: str | None = Field(default=None, description="only those of this payment (pay_…)")
