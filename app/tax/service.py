"""What tax a customer pays, at a given moment, and how much on each amount.

`treatment_for` decides, in this order: an approved exemption still valid
→ 0%; an EU business with a well-formed VAT ID → reverse charge, 0% (the
customer accounts for the VAT); otherwise the rate in force for its region
and country. Invoices call `calculate`, which taxes each line on its own
and rounds it half up, so an invoice's tax is the sum of its lines' tax.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.audit.service import record
from app.billing.models import BillingProfile
from app.errors import DomainError
from app.money import Money
from app.tax import exemptions
from app.tax.models import TAX_REGIONS, TaxRate
from app.tax.regions import check_country_in, check_region, region_for_country
from app.tax.vat_ids import is_valid_vat_id
from app.effective_dates import effective_start

REVERSE_CHARGE_NOTE = ("Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive "
                       "2006/112/EC). Customer VAT ID: {tax_id}.")
EXEMPT_NOTE = "Exempt from {name}: tax exemption certificate {reference}, valid until {expires_on}."


def format_rate(rate: Decimal) -> str:
    """19 → "19", 25.50 → "25.5", 8.875 → "8.875" (exact, no trailing zeros)."""
    return format(Decimal(rate).normalize(), "f")


@dataclass(frozen=True)
class TaxTreatment:
    """How one customer is taxed at one moment; invoices print its label and note."""

    region: str
    country: str
    name: str
    rate: Decimal
    reverse_charge: bool
    exemption_reference: str | None
    tax_id: str | None
    exemption_expires_on: date | None = None

    @property
    def label(self) -> str:
        if self.exemption_reference is not None:
            return f"Exempt (certificate {self.exemption_reference})"
        if self.reverse_charge:
            return f"Reverse charge ({self.name} 0%)"
        return f"{self.name} {format_rate(self.rate)}%"

    @property
    def note(self) -> str | None:
        if self.exemption_reference is not None:
            expires = self.exemption_expires_on.isoformat() if self.exemption_expires_on else "its expiry"
            return EXEMPT_NOTE.format(name=self.name, reference=self.exemption_reference, expires_on=expires)
        if self.reverse_charge:
            return REVERSE_CHARGE_NOTE.format(tax_id=self.tax_id)
        return None

    def tax_on(self, amount: Money) -> Money:
        """amount × rate / 100, rounded half up (away from zero) to a minor unit: a credit's tax is negative."""
        with localcontext() as exact:
            exact.prec = 60  # a BIGINT amount times a rate of any precision, without loss
            tax = (Decimal(amount.amount) * self.rate).scaleb(-2).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return Money(int(tax), amount.currency)


@dataclass(frozen=True)
class LineTax:
    amount: Money
    tax: Money


@dataclass(frozen=True)
class TaxCalculation:
    treatment: TaxTreatment
    lines: list[LineTax]
    subtotal: Money
    tax: Money
    total: Money


def _profile(session: Session, org_id: int) -> tuple[str, str | None]:
    """(customer type, tax ID) without writing: an organization without a profile is an individual."""
    profile = session.get(BillingProfile, org_id)
    return (profile.customer_type, profile.tax_id) if profile is not None else ("individual", None)


def treatment_for(session: Session, org, at: datetime) -> TaxTreatment:
    """The tax of `org` at `at`: exemption, else EU reverse charge, else the rate in force (else "Tax" 0%)."""
    country = (org.country or "").strip().upper()
    region = region_for_country(country)
    customer_type, tax_id = _profile(session, org.id)
    rate = rate_in_force(session, region, country, at)
    name, percent = (rate.name, rate.rate) if rate is not None else ("Tax", Decimal(0))
    facts = {"region": region, "country": country, "tax_id": tax_id}
    exemption = exemptions.active_exemption(session, org.id, at.astimezone(timezone.utc).date())
    if exemption is not None:
        return TaxTreatment(**facts, name=name, rate=Decimal(0), reverse_charge=False,
                            exemption_reference=exemption.certificate_reference,
                            exemption_expires_on=exemption.expires_on)
    if region == "EU" and customer_type == "business" and is_valid_vat_id(tax_id, country):
        return TaxTreatment(**facts, name="VAT", rate=Decimal(0), reverse_charge=True, exemption_reference=None)
    return TaxTreatment(**facts, name=name, rate=percent, reverse_charge=False, exemption_reference=None)


def calculate(session: Session, org, amounts: list[Money], at: datetime,
              currency: str | None = None) -> TaxCalculation:
    """Tax each amount on its own (rounded per line), then sum. All amounts share one currency;
    an empty list gives zeros in `currency` (default: the organization's preferred one)."""
    currencies = {amount.currency for amount in amounts}
    if len(currencies) > 1:
        raise DomainError(f"All amounts must be in one currency, not {', '.join(sorted(currencies))}.",
                          field="currency")
    code = currencies.pop() if currencies else Money.zero(currency or org.preferred_currency).currency
    treatment = treatment_for(session, org, at)
    lines = [LineTax(amount, treatment.tax_on(amount)) for amount in amounts]
    subtotal = sum((line.amount for line in lines), Money.zero(code))
    tax = sum((line.tax for line in lines), Money.zero(code))
    return TaxCalculation(treatment, lines, subtotal, tax, subtotal + tax)


def rate_in_force(session: Session, region: str, country: str, at: datetime) -> TaxRate | None:
    """The newest rate of (region, country) started by `at`, else the newest of the whole region."""
    return session.scalars(select(TaxRate).where(
        TaxRate.region == region, TaxRate.country.in_({country, ""}), TaxRate.effective_from <= at)
        .order_by(TaxRate.country.desc(), TaxRate.effective_from.desc()).limit(1)).first()


def _percent(value) -> Decimal:
    """A percentage between 0 and 100 with at most four decimals, or an error naming `rate`."""
    try:
        if isinstance(value, (bool, float)):
            raise ValueError
        percent = Decimal(value.strip().rstrip("%").strip() if isinstance(value, str) else value)
    except (ArithmeticError, ValueError, TypeError):
        raise DomainError("Enter the rate as a percentage, e.g. 19 or 8.875.", field="rate") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise DomainError("The rate must be between 0 and 100 percent.", field="rate")
    if percent != percent.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP):
        raise DomainError("The rate can have at most four decimals.", field="rate")
    return percent



def _name(text) -> str:
    name = text.strip() if isinstance(text, str) else ""
    if not name or len(name) > 40:
        raise DomainError("Name the tax in 1 to 40 characters, e.g. VAT, GST or Sales tax.", field="name")
    return name


def add_rate(session: Session, *, region: str, country: str, name: str, rate, effective_from,
             actor_label: str, actor_user_id: int | None = None) -> TaxRate:
    """A new rate of a region (country '') or of one country in it, from `effective_from` on; audited.

    Rates are never edited: a change is a new row, and a start in the past is
    refused. Each refusal names its field and writes nothing.
    """
    region = check_region(region)
    start = effective_start(effective_from, clock.utcnow(), what="rate",
                            why="invoices already issued must stay explainable")
    row = TaxRate(region=region, country=check_country_in(region, country), name=_name(name),
                  rate=_percent(rate), effective_from=start, created_by=actor_label)
    taken = DomainError(f"A rate of {row.country or region} already starts then; choose another date.",
                        field="effective_from")
    if session.scalar(select(TaxRate.id).where(TaxRate.region == row.region, TaxRate.country == row.country,
                                               TaxRate.effective_from == row.effective_from)) is not None:
        raise taken
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another admin added the same start a moment ago
        raise taken from None
    record(session, "tax_rate.added", actor_label=actor_label, actor_user_id=actor_user_id, target=row.public_id,
           details={"region": row.region, "country": row.country, "name": row.name, "rate": format_rate(row.rate),
                    "effective_from": row.effective_from.isoformat()})
    return row


def rates_overview(session: Session, at: datetime) -> tuple[list[TaxRate], list[TaxRate]]:
    """(the rate in force at `at` of each region and country, by region; the rates scheduled after `at`)."""
    rows = session.scalars(select(TaxRate).order_by(TaxRate.effective_from, TaxRate.id)).all()
    in_force = {(row.region, row.country): row for row in rows if row.effective_from <= at}
    order = {region: index for index, region in enumerate(TAX_REGIONS)}
    current = sorted(in_force.values(), key=lambda row: (order[row.region], row.country))
    return current, [row for row in rows if row.effective_from > at]
