"""Exchange rates: how many units of a currency one unit of the base currency buys.

Rows are never updated: a refresh or an admin's edit adds a row, and the rate
in force is the newest one. An invoice copies the rate it used, so history
is kept twice over.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, DecimalText, UTCDateTime, created_at_column

BASE_CURRENCY = "USD"


class ExchangeRate(Base):
    """1 BASE_CURRENCY = `rate` `currency`, according to `source`, as of `as_of`."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        CheckConstraint("CAST(rate AS NUMERIC) > 0", name="rate_positive"),
        Index("ix_exchange_rates_currency_as_of", "currency", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(4), comment="upper-case ISO 4217 (or BTC, ETH, USDT)")
    rate: Mapped[Decimal] = mapped_column(DecimalText(), comment="units of `currency` per 1 USD, exact")
    source: Mapped[str] = mapped_column(String(80), comment="the provider, or admin:<email> for a manual edit")
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), comment="when the source quoted it")
    created_by: Mapped[str] = mapped_column(String(120), comment="actor label: a job name or an admin's email")
    created_at: Mapped[datetime] = created_at_column()
