"""Checking amounts and currencies as people and programs send them.

The API takes integers in minor units; the portal takes major units as typed
("12.50"). Both end here, so the same refusal names the same field.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.errors import DomainError
from app.money import MAX_MINOR_UNITS, MoneyError, exponent, normalise_currency


def currency_code(value, field: str = "currency") -> str:
    """Upper-case ISO code of a supported currency, or an error naming `field`."""
    try:
        return normalise_currency(value if isinstance(value, str) else "")
    except MoneyError as error:
        raise DomainError(str(error), field=field) from None


def minor_units(value, field: str = "amount") -> int:
    """A positive whole number of minor units (the API's form)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("Amounts are whole numbers of minor units (e.g. 1000 for 10.00 USD).", field=field)
    if value <= 0:
        raise DomainError("The amount must be greater than zero.", field=field)
    if value > MAX_MINOR_UNITS:
        raise DomainError("The amount is too large.", field=field)
    return value


def from_major(text: str, currency: str, field: str = "amount") -> int:
    """"12.50" USD → 1250; refuses more decimals than the currency has (JPY has none)."""
    digits = exponent(currency)
    try:
        value = Decimal((text or "").strip().replace(",", ""))
    except InvalidOperation:
        raise DomainError("Enter an amount such as 12.50.", field=field) from None
    if not value.is_finite():
        raise DomainError("Enter an amount such as 12.50.", field=field)
    if value.as_tuple().exponent < -digits:  # type: ignore[operator]
        places = "no decimals" if digits == 0 else f"at most {digits} decimals"
        raise DomainError(f"{currency} amounts have {places}.", field=field)
    return minor_units(int(value.scaleb(digits)), field)
