"""Which tax region a country belongs to (PRODUCT.md: EU US CA UK AU SG IN OTHER).

The region decides the kind of tax (VAT, GST, sales tax) and whether EU
reverse charge can apply; the country picks the rate inside the EU, where
every member state has its own.
"""
from __future__ import annotations

from app.errors import DomainError
from app.security.countries import names as country_names
from app.tax.models import TAX_REGIONS

EU_MEMBER_STATES = frozenset((
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
))
# Regions of one country each; ISO 3166 calls the United Kingdom GB.
_SINGLE_COUNTRY = {"US": "US", "CA": "CA", "GB": "UK", "AU": "AU", "SG": "SG", "IN": "IN"}
REGION_NAMES = {"EU": "European Union", "US": "United States", "CA": "Canada", "UK": "United Kingdom",
                "AU": "Australia", "SG": "Singapore", "IN": "India", "OTHER": "Rest of the world"}


def region_for_country(country: str) -> str:
    """The 27 EU member states → "EU", US, CA, GB → "UK", AU, SG, IN; anything else → "OTHER"."""
    code = (country or "").strip().upper()
    if code in EU_MEMBER_STATES:
        return "EU"
    return _SINGLE_COUNTRY.get(code, "OTHER")


def check_region(region) -> str:
    """An upper-case region code, or an error naming `region`."""
    code = region.strip().upper() if isinstance(region, str) else ""
    if code not in TAX_REGIONS:
        raise DomainError(f"Choose one of the tax regions {', '.join(TAX_REGIONS)}.", field="region")
    return code


def check_country_in(region: str, country) -> str:
    """'' (the whole region) or an ISO 3166 code of a country inside `region`; else an error naming `country`."""
    code = country.strip().upper() if isinstance(country, str) else ""
    if not code:
        return ""
    if code not in country_names():
        raise DomainError(f"“{code}” is not an ISO 3166-1 country code (e.g. DE, FR).", field="country")
    if region_for_country(code) != region:
        raise DomainError(f"{country_names()[code]} ({code}) is in the {region_for_country(code)} region, "
                          f"not {region}. Leave the country empty for a rate of the whole region.", field="country")
    return code
