"""The outbound event catalog: every type customers and partners can subscribe
to, its payload schema and an example.

The schemas are pydantic models, so `emit()` refuses a payload that does not
match what we document, and the portal, the API and OpenAPI all show the same
shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionData(Payload):
    id: str = Field(description="sub_… id")
    plan: str = Field(description="free, pro or enterprise")
    status: str = Field(description="active, past_due, cancelled")
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool = False


class InvoiceData(Payload):
    id: str = Field(description="in_… id")
    number: str
    status: str = Field(description="draft, open, paid, failed or void")
    currency: str = Field(description="ISO 4217, lower case")
    subtotal: int = Field(description="minor units")
    tax: int = Field(description="minor units")
    total: int = Field(description="minor units")
    period_start: datetime
    period_end: datetime


class PaymentData(Payload):
    id: str = Field(description="pay_… id")
    order_id: str
    status: str = Field(description="requires_capture, succeeded, canceled or failed")
    amount: int = Field(description="minor units")
    amount_captured: int = 0
    amount_refunded: int = 0
    currency: str
    failure_message: str | None = None


class RefundData(Payload):
    id: str = Field(description="re_… id")
    payment_id: str
    status: str = Field(description="pending, succeeded, failed or canceled")
    amount: int = Field(description="minor units")
    currency: str
    type: Literal["full", "partial", "prorated"]
    reason: str


class DisputeData(Payload):
    id: str = Field(description="dp_… id")
    payment_id: str
    status: str = Field(description="Stripe's dispute states, e.g. needs_response, won, lost")
    reason: str
    amount: int = Field(description="minor units")
    currency: str
    evidence_due_by: datetime | None = None


class UsageThresholdData(Payload):
    metric: str = Field(description="gpu_seconds or api_requests")
    threshold_percent: int = Field(description="80 or 100")
    used: int
    included: int
    period_start: datetime
    period_end: datetime


class InstanceData(Payload):
    id: str = Field(description="ins_… id")
    name: str
    gpu_type: str
    status: str = Field(description="running, stopped or suspended")
    hourly_rate: int = Field(description="minor units per hour")
    currency: str
    reason: str | None = Field(default=None, description="why it was suspended")


class ApiKeyData(Payload):
    id: str = Field(description="key_… id")
    name: str
    scopes: list[str]
    prefix: str = Field(description="the first characters of the secret, never the secret")


class CommissionData(Payload):
    id: str
    customer_id: str = Field(description="org_… id of the referred customer")
    amount: int = Field(description="minor units")
    currency: str
    period_start: datetime
    period_end: datetime


class PayoutData(Payload):
    id: str
    amount: int = Field(description="minor units")
    currency: str
    status: str = Field(description="paid or failed")
    arrival_date: datetime


class SlaBreachData(Payload):
    alert_id: str
    metric: str = Field(description="uptime, latency_p95, throughput or error_rate")
    objective: float
    measured: float
    window_start: datetime
    window_end: datetime


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    schema: type[Payload]
    example: dict


_T0, _T1 = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
_SUB = {"id": "sub_8aYd2kQ7", "plan": "pro", "status": "active", "current_period_start": _T0,
        "current_period_end": _T1, "cancel_at_period_end": False}
_INVOICE = {"id": "in_4Kd9sP2x", "number": "MTX-2026-000042", "status": "open", "currency": "usd",
            "subtotal": 4900, "tax": 0, "total": 4900, "period_start": _T0, "period_end": _T1}
_PAYMENT = {"id": "pay_7fQm1zLw", "order_id": "order_1042", "status": "succeeded", "amount": 10000,
            "amount_captured": 10000, "amount_refunded": 0, "currency": "usd", "failure_message": None}
_REFUND = {"id": "re_3Hs8vN1c", "payment_id": "pay_7fQm1zLw", "status": "succeeded", "amount": 2500,
           "currency": "usd", "type": "partial", "reason": "service_issue"}
_DISPUTE = {"id": "dp_9Lq2wE5r", "payment_id": "pay_7fQm1zLw", "status": "needs_response",
            "reason": "fraudulent", "amount": 10000, "currency": "usd", "evidence_due_by": "2026-11-20T23:59:59Z"}
_INSTANCE = {"id": "ins_5Tg7kW2p", "name": "training-a100-1", "gpu_type": "A100", "status": "running",
             "hourly_rate": 250, "currency": "usd", "reason": None}
_KEY = {"id": "key_2Bv6nM8q", "name": "CI deploys", "scopes": ["read", "webhooks"], "prefix": "mtx_sk_Ab3d"}


def _event(name: str, description: str, schema: type[Payload], example: dict) -> EventType:
    schema.model_validate(example)  # a wrong example fails at import, not in a customer's parser
    return EventType(name, description, schema, example)


EVENT_TYPES: dict[str, EventType] = {e.name: e for e in (
    _event("subscription.created", "A subscription to a plan started.", SubscriptionData, _SUB),
    _event("subscription.updated", "The plan, status or renewal of a subscription changed.", SubscriptionData,
           {**_SUB, "plan": "enterprise"}),
    _event("subscription.cancelled", "A subscription was cancelled (now or at period end).", SubscriptionData,
           {**_SUB, "status": "cancelled", "cancel_at_period_end": True}),
    _event("invoice.created", "An invoice was issued for a billing period.", InvoiceData, _INVOICE),
    _event("invoice.paid", "An invoice was paid in full.", InvoiceData, {**_INVOICE, "status": "paid"}),
    _event("invoice.failed", "Collecting an invoice's payment failed.", InvoiceData, {**_INVOICE, "status": "failed"}),
    _event("payment.succeeded", "A payment was captured.", PaymentData, _PAYMENT),
    _event("payment.failed", "A payment was declined or failed at the gateway.", PaymentData,
           {**_PAYMENT, "status": "failed", "amount_captured": 0, "failure_message": "Your card was declined."}),
    _event("payment.refunded", "Part or all of a payment was refunded.", PaymentData,
           {**_PAYMENT, "amount_refunded": 2500}),
    _event("refund.created", "A refund was requested.", RefundData, {**_REFUND, "status": "pending"}),
    _event("refund.updated", "A refund's status changed.", RefundData, _REFUND),
    _event("dispute.created", "A payment was disputed.", DisputeData, _DISPUTE),
    _event("dispute.updated", "A dispute's status or evidence changed.", DisputeData,
           {**_DISPUTE, "status": "under_review"}),
    _event("dispute.closed", "A dispute ended (won or lost).", DisputeData, {**_DISPUTE, "status": "won"}),
    _event("usage.threshold_reached", "Usage crossed 80% or 100% of what the plan includes this period.",
           UsageThresholdData, {"metric": "gpu_seconds", "threshold_percent": 80, "used": 288000,
                                "included": 360000, "period_start": _T0, "period_end": _T1}),
    _event("instance.created", "A GPU instance was created.", InstanceData, _INSTANCE),
    _event("instance.suspended", "A GPU instance was suspended.", InstanceData,
           {**_INSTANCE, "status": "suspended", "reason": "Invoice MTX-2026-000042 is past due."}),
    _event("api_key.created", "An API key was created.", ApiKeyData, _KEY),
    _event("api_key.revoked", "An API key was revoked.", ApiKeyData, _KEY),
    _event("partner.commission_calculated", "A partner's commission for a period was calculated.", CommissionData,
           {"id": "com_6Rw1pX4z", "customer_id": "org_1Ac2Me3x", "amount": 735, "currency": "usd",
            "period_start": _T0, "period_end": _T1}),
    _event("payout.processed", "A payout to a partner was sent.", PayoutData,
           {"id": "po_2Yk8dF6s", "amount": 73500, "currency": "usd", "status": "paid",
            "arrival_date": "2026-12-03T00:00:00Z"}),
    _event("sla.breached", "A service-level objective was missed in a measured window.", SlaBreachData,
           {"alert_id": "sla_4Nc7hJ9b", "metric": "latency_p95", "objective": 500.0, "measured": 731.0,
            "window_start": "2026-11-14T10:00:00Z", "window_end": "2026-11-14T11:00:00Z"}),
)}


def payload_schema(event_type: EventType) -> dict:
    """The JSON Schema of the `data` object of this event type."""
    return event_type.schema.model_json_schema()
