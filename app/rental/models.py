"""What customers rent: GPU instances. (Plans and subscriptions are billing's: app/billing/models.py.)"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, created_at_column, public_id_column

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
    health_url: Mapped[str | None] = mapped_column(
        String(2048), comment="probed every minute while running (app/sla/probe.py); NULL: not probed")
    created_at: Mapped[datetime] = created_at_column()
