"""Request and response shapes of the tax API: calculate, and exemption certificates.

Amounts are `StrictInt` minor units, as everywhere in the API; a line may be
negative (a credit), and its tax is then negative too. Rates are strings
("19", "25.5"): a percentage is exact, and JSON numbers invite floats.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.money import MAX_MINOR_UNITS, SUPPORTED_CURRENCIES

_CURRENCIES = ", ".join(code.lower() for code in SUPPORTED_CURRENCIES)
MAX_LINES = 100


def _signed_amount(description: str, default=...):
    return Field(default, ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS, description=description)


class TaxLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = _signed_amount("minor units of `currency`; negative for a credit")
    description: str = Field(default="", max_length=300, description="your label for the line, echoed back")


class TaxCalculateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(description=f"ISO 4217, any case: {_CURRENCIES}")
    lines: list[TaxLineIn] | None = Field(default=None, min_length=1, max_length=MAX_LINES,
                                          description=f"1 to {MAX_LINES} lines, each taxed and rounded on its own")
    amount: StrictInt | None = _signed_amount("a single amount instead of `lines`", default=None)


class TaxTreatmentOut(BaseModel):
    region: str = Field(description="EU, US, CA, UK, AU, SG, IN or OTHER")
    country: str = Field(description="ISO 3166 code of your organization")
    name: str = Field(description="VAT, GST, Sales tax, …")
    rate: str = Field(description="percent actually applied, exact (0 under reverse charge or an exemption)")
    reverse_charge: bool
    exempt: bool
    label: str = Field(description='as printed on invoices, e.g. "VAT 19%" or "Reverse charge (VAT 0%)"')
    note: str | None = Field(description="the legal mention printed on invoices under reverse charge or exemption")
    tax_id: str | None
    exemption: str | None = Field(description="the certificate reference when exempt")


class TaxLineOut(BaseModel):
    amount: int
    tax: int
    description: str


class TaxCalculationOut(BaseModel):
    object: Literal["tax_calculation"] = "tax_calculation"
    currency: str = Field(description="ISO 4217, lower case")
    treatment: TaxTreatmentOut
    lines: list[TaxLineOut]
    subtotal: int
    tax: int = Field(description="the sum of the lines' tax, each rounded half up on its line")
    total: int
    calculated_at: datetime


class TaxExemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_reference: str = Field(description="the certificate's reference, 1–100 characters")
    expires_on: date = Field(description="its last valid day (UTC), after today")


class TaxExemptionOut(BaseModel):
    id: str = Field(description="tex_…")
    object: Literal["tax_exemption"] = "tax_exemption"
    certificate_reference: str
    expires_on: date
    status: Literal["pending", "approved", "rejected", "expired"] = Field(
        description="pending until an admin decides; an approved one applies until the end of expires_on")
    decision_note: str | None
    decided_at: datetime | None
    created_at: datetime


class TaxExemptionList(BaseModel):
    data: list[TaxExemptionOut]
    has_more: bool
