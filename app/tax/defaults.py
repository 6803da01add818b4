"""The standard rates every region starts with (copied by the migration that seeded them).

Inside the EU each member state has its own VAT rate; the other regions have
one rate for the whole region (country ''). US sales tax depends on the state
and on nexus, which Matrix does not collect, so it starts at 0 for admins to
refine. Rates are percent, as exact strings.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.tax.models import TaxRate

SEEDED_RATES_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)
STANDARD_TAX_RATES = [  # region, country ('' = whole region), name, percent
    ("EU", "AT", "VAT", "20"), ("EU", "BE", "VAT", "21"), ("EU", "BG", "VAT", "20"), ("EU", "HR", "VAT", "25"),
    ("EU", "CY", "VAT", "19"), ("EU", "CZ", "VAT", "21"), ("EU", "DK", "VAT", "25"), ("EU", "EE", "VAT", "24"),
    ("EU", "FI", "VAT", "25.5"), ("EU", "FR", "VAT", "20"), ("EU", "DE", "VAT", "19"), ("EU", "GR", "VAT", "24"),
    ("EU", "HU", "VAT", "27"), ("EU", "IE", "VAT", "23"), ("EU", "IT", "VAT", "22"), ("EU", "LV", "VAT", "21"),
    ("EU", "LT", "VAT", "21"), ("EU", "LU", "VAT", "17"), ("EU", "MT", "VAT", "18"), ("EU", "NL", "VAT", "21"),
    ("EU", "PL", "VAT", "23"), ("EU", "PT", "VAT", "23"), ("EU", "RO", "VAT", "21"), ("EU", "SK", "VAT", "23"),
    ("EU", "SI", "VAT", "22"), ("EU", "ES", "VAT", "21"), ("EU", "SE", "VAT", "25"),
    ("US", "", "Sales tax", "0"), ("CA", "", "GST", "5"), ("UK", "", "VAT", "20"), ("AU", "", "GST", "10"),
    ("SG", "", "GST", "9"), ("IN", "", "GST", "18"), ("OTHER", "", "Tax", "0"),
]


def ensure_default_tax_rates(session: Session) -> int:
    """Add the standard rate of every (region, country) that has no rate at all; returns how many.

    Idempotent, and never touches a region an admin has rates for: their
    rates, not these, are the truth once they exist.
    """
    present = {(region, country) for region, country in session.execute(select(TaxRate.region, TaxRate.country))}
    missing = [spec for spec in STANDARD_TAX_RATES if (spec[0], spec[1]) not in present]
    now = clock.utcnow()
    session.add_all(TaxRate(region=region, country=country, name=name, rate=Decimal(rate),
                            effective_from=SEEDED_RATES_FROM, created_by="defaults", created_at=now)
                    for region, country, name, rate in missing)
    session.flush()
    return len(missing)
