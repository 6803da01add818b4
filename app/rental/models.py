"""The rental core later features (billing, SLA, advice) build on."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization
from app.db import Base, UTCDateTime, created_at_column, public_id_column

class Plan(Base):
    """free, pro or enterprise, with its monthly price in minor units."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("code IN ('free', 'pro', 'enterprise')", name="code"),
        CheckConstraint("monthly_price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    monthly_price: Mapped[int] = mapped_column(BigInteger, comment="minor units of `currency`")
    currency: Mapped[str] = mapped_column(String(4), default="USD")


class Subscription(Base):
    """An organization's plan and its current billing period."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'past_due', 'cancelled')", name="status"),
        CheckConstraint("current_period_end > current_period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("sub")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    plan: Mapped[Plan] = relationship()
    organization: Mapped[Organization] = relationship()


class Instance(Base):
    """A rented GPU machine, billed by the hour while running."""

    __tablename__ = "instances"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'stopped', 'suspended')", name="status"),
        CheckConstraint("hourly_rate >= 0", name="rate_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("ins")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    gpu_type: Mapped[str] = mapped_column(String(40))
    hourly_rate: Mapped[int] = mapped_column(BigInteger, comment="minor units of `currency` per hour")
    currency: Mapped[str] = mapped_column(String(4), default="USD")
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = created_at_column()
