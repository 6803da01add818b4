"""EU VAT identification numbers: normalised and checked against each member state's format.

Only the format is checked (the country prefix and the national pattern of
digits and letters), not whether the number is registered: there is no
online VIES lookup. Greece's VAT IDs start with EL, not its ISO code GR.
Outside the EU a tax ID (GST/HST number, EIN, ABN…) is kept as given, in a
normal form, for the invoice; it changes no tax.
"""
from __future__ import annotations

import re

from app.errors import DomainError
from app.security.countries import names as country_names
from app.tax.regions import EU_MEMBER_STATES

MAX_LENGTH = 20  # the billing profile's column
_SEPARATORS = re.compile(r"[\s.\-]+")
_VAT_PREFIX = {"GR": "EL"}  # every other member state uses its ISO code
# The national part after the prefix (formats of the European Commission's VIES), and an example.
FORMATS = {
    "AT": (r"U\d{8}", "U12345678"), "BE": (r"[01]\d{9}", "0123456789"), "BG": (r"\d{9,10}", "123456789"),
    "CY": (r"\d{8}[A-Z]", "12345678L"), "CZ": (r"\d{8,10}", "12345678"), "DE": (r"\d{9}", "123456789"),
    "DK": (r"\d{8}", "12345678"), "EE": (r"\d{9}", "123456789"), "EL": (r"\d{9}", "123456789"),
    "ES": (r"[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]", "B12345678"), "FI": (r"\d{8}", "12345678"),
    "FR": (r"[A-HJ-NP-Z0-9]{2}\d{9}", "AB123456789"), "HR": (r"\d{11}", "12345678901"),
    "HU": (r"\d{8}", "12345678"), "IE": (r"\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]", "1234567T"),
    "IT": (r"\d{11}", "12345678901"), "LT": (r"\d{9}|\d{12}", "123456789"), "LU": (r"\d{8}", "12345678"),
    "LV": (r"\d{11}", "12345678901"), "MT": (r"\d{8}", "12345678"), "NL": (r"\d{9}B\d{2}", "123456789B01"),
    "PL": (r"\d{10}", "1234567890"), "PT": (r"\d{9}", "123456789"), "RO": (r"[1-9]\d{1,9}", "1234567"),
    "SE": (r"\d{10}01", "123456789001"), "SI": (r"[1-9]\d{7}", "12345678"), "SK": (r"[1-9]\d{9}", "1234567890"),
}
_PATTERNS = {prefix: re.compile(rf"(?:{pattern})") for prefix, (pattern, _) in FORMATS.items()}


def vat_prefix(country: str) -> str:
    """The two letters a member state's VAT IDs start with (EL for Greece)."""
    return _VAT_PREFIX.get(country, country)


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text if isinstance(text, str) else "").upper()


def normalise_vat_id(text: str, country: str) -> str:
    """"de 123.456-789" for a German customer → "DE123456789"; DomainError(field="tax_id") otherwise."""
    country = (country or "").strip().upper()
    if country not in EU_MEMBER_STATES:
        raise DomainError(f"VAT IDs are checked for EU member states; {country or 'this country'} is not one.",
                          field="tax_id")
    compact, prefix = _compact(text), vat_prefix(country)
    example = prefix + FORMATS[prefix][1]
    if not compact:
        raise DomainError("Enter the VAT ID, e.g. " + example + ".", field="tax_id")
    if compact[:2] != prefix:
        hint = " (Greece's VAT IDs start with EL, not GR)" if prefix == "EL" else ""
        raise DomainError(f"Your organization is in {country_names()[country]}: its VAT ID starts with {prefix}"
                          f"{hint}, e.g. {example}.", field="tax_id")
    if not _PATTERNS[prefix].fullmatch(compact[2:]):
        raise DomainError(f"“{compact}” does not have the format of a {prefix} VAT ID, e.g. {example}.",
                          field="tax_id")
    return compact


def normalise_tax_id(text: str, country: str) -> str:
    """A VAT ID checked as above inside the EU; elsewhere 2–20 letters and digits, upper-cased."""
    if (country or "").strip().upper() in EU_MEMBER_STATES:
        return normalise_vat_id(text, country)
    compact = _compact(text)
    if not re.fullmatch(rf"[A-Z0-9]{{2,{MAX_LENGTH}}}", compact):
        raise DomainError(f"A tax ID is 2 to {MAX_LENGTH} letters and digits (spaces, dots and dashes are "
                          "dropped).", field="tax_id")
    return compact


def is_valid_vat_id(text: str | None, country: str) -> bool:
    """Whether `text` is, as stored, a well-formed VAT ID of `country` (which must be in the EU)."""
    try:
        return bool(text) and normalise_vat_id(text, country) == text
    except DomainError:
        return False
