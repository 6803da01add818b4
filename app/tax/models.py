"""Tax rates per region (with effective dates) and customers' tax exemptions.

A rate is never edited in place: a new rate is a new row with the date it
takes effect, so an invoice of last year can still be explained.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization
from app.db import Base, DecimalText, UTCDateTime, created_at_column, public_id_column

TAX_REGIONS = ("EU", "US", "CA", "UK", "AU", "SG", "IN", "OTHER")
EXEMPTION_STATUSES = ("pending", "approved", "rejected")


class TaxRate(Base):
    """The rate of one region (or one country inside it, e.g. DE in EU) from `effective_from` on."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        CheckConstraint("region IN ('EU', 'US', 'CA', 'UK', 'AU', 'SG', 'IN', 'OTHER')", name="region"),
        CheckConstraint("CAST(rate AS NUMERIC) >= 0 AND CAST(rate AS NUMERIC) <= 100", name="rate_range"),
        UniqueConstraint("region", "country", "effective_from"),
        Index("ix_tax_rates_lookup", "region", "country", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("txr")
    region: Mapped[str] = mapped_column(String(8))
    country: Mapped[str] = mapped_column(
        String(2), default="", comment="ISO 3166 code inside the region, or '' for the whole region")
    name: Mapped[str] = mapped_column(String(40), comment="VAT, GST, HST, Sales tax …")
    rate: Mapped[Decimal] = mapped_column(DecimalText(), comment="percent, e.g. 19 or 8.875")
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = created_at_column()


class TaxExemption(Base):
    """A customer's exemption certificate: applies once approved, until it expires."""

    __tablename__ = "tax_exemptions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        Index("ix_tax_exemptions_org_id_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("tex")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    certificate_reference: Mapped[str] = mapped_column(String(100))
    expires_on: Mapped[date] = mapped_column(Date(), comment="the last day it applies (UTC)")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    submitted_by: Mapped[str] = mapped_column(String(120))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = created_at_column()

    organization: Mapped[Organization] = relationship()
