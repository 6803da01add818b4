"""Plans, subscriptions, usage, invoices: what a customer owes and why.

Money columns are BIGINT minor units of the row's `currency`. Plans are priced
in the platform's base currency (USD); an invoice converts each line into the
customer's currency at one rate, which it keeps. Invariants live in CHECK and
UNIQUE constraints so that no code path (or a job run twice) can break them.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization
from app.db import Base, DecimalText, UTCDateTime, created_at_column, one_of, public_id_column

PLAN_CODES = ("free", "pro", "enterprise")
SUBSCRIPTION_STATUSES = ("active", "past_due", "cancelled")
METRICS = ("gpu_seconds", "api_requests")
INVOICE_STATUSES = ("draft", "open", "paid", "failed", "void")
LINE_KINDS = ("plan", "proration", "usage", "credit", "balance")
ITEM_KINDS = ("proration", "credit", "balance")
CUSTOMER_TYPES = ("individual", "business")



class Plan(Base):
    """free, pro or enterprise: the monthly fee, what it includes, and the price beyond."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("code IN ('free', 'pro', 'enterprise')", name="code"),
        CheckConstraint("monthly_price >= 0", name="price_not_negative"),
        CheckConstraint("included_gpu_seconds >= 0 AND included_api_requests >= 0", name="included_not_negative"),
        CheckConstraint("gpu_hour_price >= 0 AND api_1k_price >= 0", name="unit_prices_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    monthly_price: Mapped[int] = mapped_column(BigInteger, comment="minor units of `currency`")
    currency: Mapped[str] = mapped_column(String(4), default="USD")
    included_gpu_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    gpu_hour_price: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0",
        comment="minor units per GPU-hour beyond the included seconds (billed per second)")
    included_api_requests: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    api_1k_price: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0",
        comment="minor units per 1,000 API requests beyond the included ones (billed per request)")


class Subscription(Base):
    """An organization's plan and its current billing period.

    Periods are calendar months counted from `billing_anchor` (a subscription
    started on the 31st renews on the last day of shorter months and on the
    31st again after them, as Stripe does). The period is billed in arrears
    when it closes; plan changes inside it leave proration items.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(one_of("status", SUBSCRIPTION_STATUSES), name="status"),
        CheckConstraint("current_period_end > current_period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("sub")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    billing_anchor: Mapped[datetime] = mapped_column(UTCDateTime(), comment="periods are whole months from here")
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0",
        comment="set by the customer: the subscription ends when the current period closes")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    plan: Mapped[Plan] = relationship()
    organization: Mapped[Organization] = relationship()


class PlanChange(Base):
    """A subscription moved from one plan to another: the history the period's
    plan fee is read from (the plan in force when the period began), and what
    the change prorated."""

    __tablename__ = "plan_changes"
    __table_args__ = (
        CheckConstraint("from_plan_id <> to_plan_id", name="changes_plan"),
        CheckConstraint("credit <= 0 AND charge >= 0", name="signs"),
        Index("ix_plan_changes_subscription_changed", "subscription_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    from_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    to_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    credit: Mapped[int] = mapped_column(BigInteger, comment="unused time on the old plan, minor units (≤ 0)")
    charge: Mapped[int] = mapped_column(BigInteger, comment="remaining time on the new plan, minor units (≥ 0)")
    currency: Mapped[str] = mapped_column(String(4))
    actor_label: Mapped[str] = mapped_column(String(120))

    from_plan: Mapped[Plan] = relationship(foreign_keys=[from_plan_id])
    to_plan: Mapped[Plan] = relationship(foreign_keys=[to_plan_id])


class BillingProfile(Base):
    """How an organization is invoiced and taxed: who it is, and how it pays."""

    __tablename__ = "billing_profiles"
    __table_args__ = (CheckConstraint(one_of("customer_type", CUSTOMER_TYPES), name="customer_type"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    legal_name: Mapped[str] = mapped_column(
        String(200), default="", comment="printed on invoices; the org name if empty")
    address: Mapped[str] = mapped_column(Text, default="")
    customer_type: Mapped[str] = mapped_column(String(12), default="individual")
    tax_id: Mapped[str | None] = mapped_column(
        String(20), comment="an EU VAT ID (normalised, e.g. DE123456789): business customers get reverse charge")
    payment_method: Mapped[str | None] = mapped_column(
        String(64), comment="the Stripe PaymentMethod invoices are charged to")
    updated_at: Mapped[datetime] = created_at_column()


class UsageRecord(Base):
    """One metered fact a customer reported: GPU-seconds of an instance, API requests of a model.

    `idempotency_key` is the customer's id for the record: a re-sent record
    hits the UNIQUE and is counted once. `invoice_id` is set when an invoice
    bills it, so every record is billed exactly once.
    """

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key"),
        CheckConstraint(one_of("metric", METRICS), name="metric"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        Index("ix_usage_records_unbilled", "org_id", "invoice_id", "period_start"),
        Index("ix_usage_records_org_occurred", "org_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("mu")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(BigInteger)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id", ondelete="SET NULL"))
    model: Mapped[str | None] = mapped_column(String(80), comment="the model an API request was for")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), comment="start of the billing period it counts in")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class UsageTotal(Base):
    """Running total of a metric in one billing period, updated with each record.

    The increment is one `UPDATE … SET quantity = quantity + :q RETURNING`, so
    concurrent batches are serialised by the row and exactly one of them sees
    a threshold being crossed.
    """

    __tablename__ = "usage_totals"
    __table_args__ = (
        UniqueConstraint("org_id", "metric", "period_start"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageAlert(Base):
    """`usage.threshold_reached` was emitted for this threshold in this period (once: UNIQUE)."""

    __tablename__ = "usage_alerts"
    __table_args__ = (UniqueConstraint("org_id", "metric", "period_start", "threshold_percent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    threshold_percent: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(BigInteger)
    included: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at_column()


class InvoiceSequence(Base):
    """The next invoice number of one issuer. Taken by a guarded UPDATE in the
    invoice's own transaction, so numbers are gap-free and never reused."""

    __tablename__ = "invoice_sequences"
    __table_args__ = (CheckConstraint("next_number >= 1", name="positive"),)

    issuer: Mapped[str] = mapped_column(String(20), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(12))
    next_number: Mapped[int] = mapped_column(BigInteger, default=1)


class Invoice(Base):
    """What one billing period cost: lines, tax, total, and its collection."""

    __tablename__ = "invoices"
    __table_args__ = (
        # Closing the same period twice makes one invoice.
        UniqueConstraint("subscription_id", "period_start"),
        UniqueConstraint("number"),
        CheckConstraint(one_of("status", INVOICE_STATUSES), name="status"),
        CheckConstraint("status = 'draft' OR number IS NOT NULL", name="numbered_unless_draft"),
        CheckConstraint("total = subtotal + tax", name="total_adds_up"),
        CheckConstraint("amount_due >= 0 AND amount_paid >= 0 AND amount_paid <= amount_due", name="due_and_paid"),
        CheckConstraint("amount_due = CASE WHEN total > 0 THEN total ELSE 0 END", name="due_is_positive_total"),
        CheckConstraint("CAST(exchange_rate AS NUMERIC) > 0", name="rate_positive"),
        Index("ix_invoices_org_id_id", "org_id", "id"),
        Index("ix_invoices_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("in")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))
    issuer: Mapped[str] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(40), comment="assigned when the draft is finalized")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    currency: Mapped[str] = mapped_column(String(4), comment="the customer's preferred currency at closing")
    base_currency: Mapped[str] = mapped_column(String(4), comment="what plan prices are set in")
    exchange_rate: Mapped[Decimal] = mapped_column(
        DecimalText(), comment="units of `currency` per 1 `base_currency`; refunds use it too")
    rate_source: Mapped[str] = mapped_column(String(80))
    rate_as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    subtotal: Mapped[int] = mapped_column(BigInteger, comment="sum of the lines before tax; credits are negative")
    tax: Mapped[int] = mapped_column(BigInteger, comment="sum of the lines' tax, each rounded on its line")
    total: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger, comment="the total, or 0 when credits exceed it")
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_carried: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="a negative total, carried to the next invoice as a balance line")
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_address: Mapped[str] = mapped_column(Text, default="")
    customer_country: Mapped[str] = mapped_column(String(2))
    customer_tax_id: Mapped[str | None] = mapped_column(String(20))
    tax_region: Mapped[str] = mapped_column(String(8))
    tax_label: Mapped[str] = mapped_column(String(80), comment="e.g. VAT 19%, Reverse charge, Exempt (cert …)")
    tax_note: Mapped[str | None] = mapped_column(String(300), comment="the legal mention printed on the invoice")
    reverse_charge: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="EU business customer: no VAT charged, the customer accounts for it")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    payment_attempts: Mapped[int] = mapped_column(Integer, default=0)
    collecting_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="lease of the job charging it; another job waits until it ends")
    failure_message: Mapped[str | None] = mapped_column(String(300), comment="why collecting it failed")
    void_reason: Mapped[str | None] = mapped_column(String(300), comment="staff's reason, shown to the customer")
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()

    organization: Mapped[Organization] = relationship()
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan")
    payment = relationship("Payment")


class InvoiceLine(Base):
    """One line: its amount in the invoice's currency and its tax, rounded on the line."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        CheckConstraint(one_of("kind", LINE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int | None] = mapped_column(BigInteger, comment="metered units billed (usage lines)")
    base_amount: Mapped[int | None] = mapped_column(
        BigInteger, comment="the line in the invoice's base currency, before conversion")
    amount: Mapped[int] = mapped_column(BigInteger, comment="minor units of the invoice's currency")
    tax_rate: Mapped[Decimal] = mapped_column(DecimalText(), comment="percent applied to this line")
    tax: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceItem(Base):
    """A charge or credit waiting for the next invoice: plan-change prorations,
    service credits, a balance carried from a negative invoice.

    `source_key` names what made it (e.g. `balance:in_…`): UNIQUE, so a job
    run twice cannot add the same credit twice.
    """

    __tablename__ = "invoice_items"
    __table_args__ = (
        CheckConstraint(one_of("kind", ITEM_KINDS), name="kind"),
        UniqueConstraint("source_key"),
        Index("ix_invoice_items_pending", "org_id", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("ii")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int] = mapped_column(BigInteger, comment="signed minor units of `currency`; credits < 0")
    currency: Mapped[str] = mapped_column(String(4))
    taxable: Mapped[bool] = mapped_column(
        Boolean, default=True, comment="a carried balance was taxed on its own invoice already")
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_key: Mapped[str | None] = mapped_column(String(120))
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), comment="set when an invoice bills it")
    created_at: Mapped[datetime] = created_at_column()

