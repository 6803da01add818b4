"""Payments, refunds, disputes, their fees, and inbound Stripe events.

Money columns are BIGINT minor units of the row's `currency` (upper-case ISO
4217). The refund invariant is the database's to keep, not the gateway's: a
payment's refunded plus reserved-for-pending refunds never exceeds what was
captured (CHECK constraint), and reservations are taken with one guarded UPDATE
(see refunds.py), which is atomic on PostgreSQL and SQLite alike.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, created_at_column, one_of, public_id_column

PAYMENT_STATUSES = ("processing", "requires_capture", "succeeded", "canceled", "failed")
REFUND_TYPES = ("full", "partial", "prorated")
REFUND_REASONS = ("customer_request", "duplicate_charge", "fraudulent", "service_issue", "billing_error", "other")
REFUND_STATUSES = ("pending", "succeeded", "failed", "canceled")
APPROVAL_STATES = ("not_required", "awaiting", "approved", "rejected")
DISPUTE_STATUSES = ("warning_needs_response", "warning_under_review", "warning_closed",
                    "needs_response", "under_review", "won", "lost")
DISPUTE_REASONS = ("fraudulent", "duplicate", "product_not_received", "product_unacceptable",
                   "subscription_canceled", "credit_not_processed", "unrecognized", "general")
INBOUND_STATUSES = ("pending", "processing", "processed", "failed")



class FeeTier(Base):
    """A platform fee tier (Starter, Professional, Enterprise) that admins edit."""

    __tablename__ = "fee_tiers"
    __table_args__ = (
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_range"),
        CheckConstraint("fixed_fee >= 0", name="fixed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    rate_bps: Mapped[int] = mapped_column(Integer, comment="basis points: 150 = 1.5%")
    fixed_fee: Mapped[int] = mapped_column(BigInteger, default=0, comment="minor units added per payment")
    customer_tier: Mapped[str | None] = mapped_column(
        String(16), unique=True, comment="organizations on this plan tier get this fee tier unless overridden")
    updated_at: Mapped[datetime] = created_at_column()


class FeeOverride(Base):
    """A negotiated platform fee for one organization, replacing its tier's."""

    __tablename__ = "fee_overrides"
    __table_args__ = (
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_range"),
        CheckConstraint("fixed_fee >= 0", name="fixed_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), unique=True)
    rate_bps: Mapped[int] = mapped_column(Integer)
    fixed_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(String(300), default="", comment="why this customer pays differently")
    updated_at: Mapped[datetime] = created_at_column()

    organization = relationship("Organization")


class StripeCustomer(Base):
    """The Stripe Customer an organization's payment methods are attached to."""

    __tablename__ = "stripe_customers"

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()


class Payment(Base):
    """One PaymentIntent: authorized, captured (maybe partly), refunded (maybe partly)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_captured >= 0 AND amount_captured <= amount", name="captured_range"),
        CheckConstraint("amount_refunded >= 0 AND amount_refund_pending >= 0", name="refunds_not_negative"),
        # The refund invariant: what is refunded or reserved never exceeds what was captured.
        CheckConstraint("amount_refunded + amount_refund_pending <= amount_captured", name="refunds_within_captured"),
        CheckConstraint("platform_fee >= 0 AND gateway_fee >= 0", name="fees_not_negative"),
        Index("ix_payments_org_order", "org_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("pay")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[str] = mapped_column(String(100), comment="the customer's own order reference")
    amount: Mapped[int] = mapped_column(BigInteger, comment="authorized amount, minor units")
    currency: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(20), default="processing")
    capture_method: Mapped[str] = mapped_column(String(10), comment="manual (authorize) or automatic (charge)")
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0, comment="refunds that succeeded")
    amount_refund_pending: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="reserved by refunds not yet finished; released if they fail")
    fee_rate_bps: Mapped[int] = mapped_column(Integer, default=0, comment="platform rate in force at capture")
    platform_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    gateway_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    net_amount: Mapped[int] = mapped_column(BigInteger, default=0, comment="captured − platform − gateway fee")
    payment_method: Mapped[str] = mapped_column(String(64))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(64), index=True)
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(120), comment="actor label: a user's email or api:<key prefix>")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    refunds: Mapped[list["Refund"]] = relationship(back_populates="payment", order_by="Refund.id")

    @property
    def refundable(self) -> int:
        """What is left to refund: captured minus refunded minus reserved."""
        return self.amount_captured - self.amount_refunded - self.amount_refund_pending


class Refund(Base):
    """Money going back to the customer, reserved against its payment on creation."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(one_of("type", REFUND_TYPES), name="type"),
        CheckConstraint(one_of("reason", REFUND_REASONS), name="reason"),
        CheckConstraint(one_of("status", REFUND_STATUSES), name="status"),
        CheckConstraint(one_of("approval", APPROVAL_STATES), name="approval"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("re")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="", comment="the requester's explanation")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    approval: Mapped[str] = mapped_column(String(12), default="not_required")
    review_note: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stripe_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_message: Mapped[str | None] = mapped_column(String(300))
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class Dispute(Base):
    """A chargeback or inquiry on a payment, in Stripe's states."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(one_of("status", DISPUTE_STATUSES), name="status"),
        CheckConstraint(one_of("reason", DISPUTE_REASONS), name="reason"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("opened_by IN ('customer', 'stripe')", name="opened_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("dp")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    stripe_dispute_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(30))
    opened_by: Mapped[str] = mapped_column(String(10))
    evidence_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict, comment="Stripe evidence text fields")
    evidence_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    payment: Mapped[Payment] = relationship()
    files: Mapped[list["DisputeEvidenceFile"]] = relationship(back_populates="dispute", order_by="DisputeEvidenceFile.id",
                                                              cascade="all, delete-orphan")


class DisputeEvidenceFile(Base):
    """An uploaded evidence document (receipt, log, correspondence), kept until submitted."""

    __tablename__ = "dispute_evidence_files"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("file")
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    evidence_field: Mapped[str] = mapped_column(String(40), comment="Stripe evidence field this file answers")
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stripe_file_id: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = created_at_column()

    dispute: Mapped[Dispute] = relationship(back_populates="files")


class StripeEvent(Base):
    """An inbound Stripe webhook event, stored before it is processed (its id unique)."""

    __tablename__ = "stripe_events"
    __table_args__ = (CheckConstraint(one_of("status", INBOUND_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[str] = mapped_column(Text, comment="the raw JSON body as Stripe sent it")
    stripe_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(300), comment="what processing did, or why it ignored it")
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """The first response to an API request with an `Idempotency-Key`, replayed to retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "key", name="org_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64), comment="SHA-256 of method, path and body")
    response_status: Mapped[int | None] = mapped_column(Integer, comment="NULL while the first request runs")
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
