"""SLA monitoring: what Matrix promises each tier, what the instances report, and what came of it.

Samples are what was reported, once each (UNIQUE per instance, source and time). Every sample is also added to
its organization's per-minute rollup in the same transaction, and everything downstream (uptime, p95 latency,
alerts, monthly reports, service credits) reads the rollups: one row per organization and minute, however many
instances or samples fed it, so a month is 43,200 rows to aggregate in the database.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, DecimalText, UTCDateTime, created_at_column, one_of, public_id_column

TIERS = ("free", "pro", "enterprise")
ALERT_METRICS = ("uptime", "latency_p95", "error_rate")
SOURCES = ("api", "probe")
# Upper bounds (ms) of the latency histogram's buckets; the last bucket has none. The tiers' p95 objectives
# (200, 500, 1000 ms) are bounds, so "p95 within the objective" is exact, not interpolated.
LATENCY_BOUNDS_MS = (50, 100, 200, 300, 500, 1000, 2000)
BUCKET_COLUMNS = tuple(f"latency_le_{bound}" for bound in LATENCY_BOUNDS_MS) + ("latency_gt_2000",)


def _bucket():
    return mapped_column(Integer, default=0, server_default="0")


class LatencyBuckets:
    """Requests per latency bucket (`BUCKET_COLUMNS`, in order): sums of histograms stay histograms."""

    latency_le_50: Mapped[int] = _bucket()
    latency_le_100: Mapped[int] = _bucket()
    latency_le_200: Mapped[int] = _bucket()
    latency_le_300: Mapped[int] = _bucket()
    latency_le_500: Mapped[int] = _bucket()
    latency_le_1000: Mapped[int] = _bucket()
    latency_le_2000: Mapped[int] = _bucket()
    latency_gt_2000: Mapped[int] = _bucket()


class SlaDefinition(Base):
    """One tier's objectives from `effective_from` on. Never edited: a change is a new row, so every past month
    is judged by the promise that was in force when it began."""

    __tablename__ = "sla_definitions"
    __table_args__ = (
        UniqueConstraint("tier", "effective_from"),
        CheckConstraint(one_of("tier", TIERS), name="tier"),
        CheckConstraint("CAST(uptime_percent AS NUMERIC) > 0 AND CAST(uptime_percent AS NUMERIC) <= 100",
                        name="uptime_range"),
        CheckConstraint("CAST(error_rate_percent AS NUMERIC) >= 0 AND CAST(error_rate_percent AS NUMERIC) <= 100",
                        name="error_rate_range"),
        CheckConstraint("latency_p95_ms > 0", name="latency_positive"),
        CheckConstraint("throughput_rps > 0", name="throughput_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    uptime_percent: Mapped[Decimal] = mapped_column(DecimalText(), comment="monthly uptime promised, e.g. 99.5")
    latency_p95_ms: Mapped[int] = mapped_column(Integer)
    throughput_rps: Mapped[int] = mapped_column(Integer, comment="requests per second the tier is sized for")
    error_rate_percent: Mapped[Decimal] = mapped_column(
        DecimalText(), comment="a minute with more errors than this share of its requests is a down minute")
    created_by: Mapped[str] = mapped_column(String(120), comment="actor label: the migration or an admin's email")
    created_at: Mapped[datetime] = created_at_column()

    credit_steps: Mapped[list[SlaCreditStep]] = relationship(
        order_by="SlaCreditStep.uptime_below.desc()", cascade="all, delete-orphan", lazy="selectin")


class SlaCreditStep(Base):
    """One rung of a definition's service-credit ladder: a month below `uptime_below` earns `credit_percent`
    of its plan fee (the lowest rung reached wins)."""

    __tablename__ = "sla_credit_steps"
    __table_args__ = (
        UniqueConstraint("definition_id", "uptime_below"),
        CheckConstraint("credit_percent > 0 AND credit_percent <= 100", name="credit_range"),
        CheckConstraint("CAST(uptime_below AS NUMERIC) > 0 AND CAST(uptime_below AS NUMERIC) <= 100",
                        name="uptime_below_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("sla_definitions.id", ondelete="CASCADE"))
    uptime_below: Mapped[Decimal] = mapped_column(DecimalText())
    credit_percent: Mapped[int] = mapped_column(Integer)


class SlaSample(LatencyBuckets, Base):
    """One sample an instance's reporter (or our probe) sent: a re-sent sample hits the UNIQUE and is counted once."""

    __tablename__ = "sla_samples"
    __table_args__ = (
        UniqueConstraint("instance_id", "source", "sampled_at"),
        CheckConstraint(one_of("source", SOURCES), name="source"),
        CheckConstraint("requests >= 0 AND errors >= 0 AND errors <= requests", name="counts"),
        CheckConstraint("gpu_utilization_bp BETWEEN 0 AND 10000", name="gpu_utilization_range"),
        CheckConstraint("gpu_memory_utilization_bp BETWEEN 0 AND 10000", name="gpu_memory_range"),
        Index("ix_sla_samples_org_sampled", "org_id", "sampled_at"),
        {"comment": "what was reported; the evaluation reads sla_minutes"},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8))
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    available: Mapped[bool | None] = mapped_column(Boolean, comment="the availability check's result; NULL: none")
    gpu_utilization_bp: Mapped[int | None] = mapped_column(
        Integer, comment="GPU utilization in basis points (0–10,000 = 0–100%); NULL: not reported")
    gpu_memory_utilization_bp: Mapped[int | None] = mapped_column(
        Integer, comment="share of the GPU's memory in use, basis points; NULL: not reported")
    created_at: Mapped[datetime] = created_at_column()


class SlaMinute(LatencyBuckets, Base):
    """An organization's minute: every sample of every instance in it, summed. A minute with no row has no data."""

    __tablename__ = "sla_minutes"
    __table_args__ = (
        CheckConstraint("checks_failed >= 0 AND checks_failed <= checks", name="checks"),
        CheckConstraint("requests >= 0 AND errors >= 0 AND errors <= requests", name="counts"),
    )

    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    checks: Mapped[int] = mapped_column(Integer, default=0, comment="availability checks reported in the minute")
    checks_failed: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)


class SlaAlert(Base):
    """A breach seen in a window. At most one open alert per organization and metric (partial UNIQUE), so two
    evaluations racing open it once and `sla.breached` is emitted once; it resolves when the metric recovers."""

    __tablename__ = "sla_alerts"
    __table_args__ = (
        CheckConstraint(one_of("metric", ALERT_METRICS), name="metric"),
        Index("uq_sla_alerts_open", "org_id", "metric", unique=True,
              sqlite_where=text("resolved_at IS NULL"), postgresql_where=text("resolved_at IS NULL")),
        Index("ix_sla_alerts_org_opened", "org_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("sla")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(16))
    objective: Mapped[Decimal] = mapped_column(
        DecimalText(), comment="percent for uptime and error_rate, ms for latency")
    measured: Mapped[Decimal] = mapped_column(DecimalText(), comment="in the window that opened the alert")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    worst_measured: Mapped[Decimal] = mapped_column(DecimalText(), comment="the worst window while it was open")
    last_measured: Mapped[Decimal] = mapped_column(DecimalText())
    last_window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = created_at_column()


class SlaMonthlyReport(Base):
    """A closed month's figures, frozen, and the service credit they earned (UNIQUE per organization and month:
    closing a month twice reports and credits it once)."""

    __tablename__ = "sla_monthly_reports"
    __table_args__ = (
        UniqueConstraint("org_id", "month_start"),
        CheckConstraint("credit_percent >= 0 AND credit_percent <= 100", name="credit_range"),
        CheckConstraint("credit_amount >= 0", name="credit_not_negative"),
        CheckConstraint("minutes_observed <= minutes_expected AND down_minutes <= minutes_observed",
                        name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("slr")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    month_start: Mapped[datetime] = mapped_column(UTCDateTime())
    month_end: Mapped[datetime] = mapped_column(UTCDateTime())
    tier: Mapped[str] = mapped_column(String(16))
    definition_id: Mapped[int] = mapped_column(ForeignKey("sla_definitions.id"))
    minutes_expected: Mapped[int] = mapped_column(Integer)
    minutes_observed: Mapped[int] = mapped_column(Integer)
    down_minutes: Mapped[int] = mapped_column(Integer)
    uptime_percent: Mapped[Decimal | None] = mapped_column(DecimalText(), comment="NULL: no data at all")
    latency_p95_ms: Mapped[Decimal | None] = mapped_column(DecimalText())
    error_rate_percent: Mapped[Decimal | None] = mapped_column(DecimalText())
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    peak_rps: Mapped[Decimal | None] = mapped_column(DecimalText())
    plan_fee: Mapped[int] = mapped_column(BigInteger, comment="the month's plan fee, minor units of credit_currency")
    credit_percent: Mapped[int] = mapped_column(Integer, default=0)
    credit_amount: Mapped[int] = mapped_column(BigInteger, default=0, comment="minor units, positive")
    credit_currency: Mapped[str] = mapped_column(String(4))
    invoice_item_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_items.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()

    definition: Mapped[SlaDefinition] = relationship()


class InstanceHour(Base):
    """An instance's hour of GPU utilization, summed from the samples that reported it (cost advice reads these:
    a fortnight is 336 rows per instance). An hour with no row: the instance reported no utilization (stopped,
    or not reporting)."""

    __tablename__ = "instance_hours"
    __table_args__ = (
        CheckConstraint("samples > 0", name="samples_positive"),
        CheckConstraint("gpu_max_bp BETWEEN 0 AND 10000 AND memory_max_bp BETWEEN 0 AND 10000", name="maxima"),
        Index("ix_instance_hours_org_hour", "org_id", "hour"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    samples: Mapped[int] = mapped_column(Integer, comment="samples with a utilization in the hour")
    gpu_sum_bp: Mapped[int] = mapped_column(BigInteger, comment="sum of the samples' GPU utilization, basis points")
    gpu_max_bp: Mapped[int] = mapped_column(Integer)
    memory_sum_bp: Mapped[int] = mapped_column(BigInteger)
    memory_max_bp: Mapped[int] = mapped_column(Integer)
