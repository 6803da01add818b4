"""Countries map to the eight tax regions, and EU VAT IDs are normalised and checked
against their member state's format (no online lookup). No database needed."""
from __future__ import annotations

import pytest

from app.errors import DomainError
from app.tax.regions import EU_MEMBER_STATES, region_for_country
from app.tax.vat_ids import FORMATS, normalise_tax_id, normalise_vat_id, vat_prefix


def test_the_27_member_states_are_the_eu_region():
    assert len(EU_MEMBER_STATES) == 27
    assert {region_for_country(code) for code in EU_MEMBER_STATES} == {"EU"}


@pytest.mark.parametrize("country, region", [
    ("US", "US"), ("CA", "CA"), ("GB", "UK"), ("AU", "AU"), ("SG", "SG"), ("IN", "IN"), ("de", "EU"),
    (" fr ", "EU"), ("GR", "EU"), ("CH", "OTHER"), ("NO", "OTHER"), ("JP", "OTHER"), ("UK", "OTHER"), ("", "OTHER"),
])
def test_countries_outside_the_eu(country, region):
    assert region_for_country(country) == region


@pytest.mark.parametrize("country", sorted(EU_MEMBER_STATES))
def test_every_member_states_example_is_accepted(country):
    prefix = vat_prefix(country)
    assert normalise_vat_id(prefix + FORMATS[prefix][1], country) == prefix + FORMATS[prefix][1]


@pytest.mark.parametrize("typed, country, stored", [
    ("de 123.456-789", "DE", "DE123456789"),
    ("ATU12345678", "AT", "ATU12345678"),
    ("nl123456789b01", "NL", "NL123456789B01"),
    ("FR XX 123456789", "FR", "FRXX123456789"),
    ("IE8Z49289F", "IE", "IE8Z49289F"),
    ("IE1234567WA", "IE", "IE1234567WA"),
    ("ESX1234567X", "ES", "ESX1234567X"),
    ("ES12345678Z", "ES", "ES12345678Z"),
    ("SE 5560360793 01", "SE", "SE556036079301"),
    ("EL 094259216", "GR", "EL094259216"),
])
def test_good_vat_ids_are_normalised(typed, country, stored):
    assert normalise_vat_id(typed, country) == stored


@pytest.mark.parametrize("typed, country, message", [
    ("DE12345678", "DE", "does not have the format of a DE VAT ID, e.g. DE123456789"),
    ("DE1234567890", "DE", "format of a DE VAT ID"),
    ("ATU1234567", "AT", "format of a AT VAT ID"),
    ("NL123456789A01", "NL", "format of a NL VAT ID"),
    ("ES123456789", "ES", "format of a ES VAT ID"),
    ("SE123456789012", "SE", "format of a SE VAT ID"),
    ("FRIO123456789", "FR", "format of a FR VAT ID"),
    ("FR12345678901", "DE", "Your organization is in Germany: its VAT ID starts with DE"),
    ("123456789", "DE", "starts with DE"),
    ("GR094259216", "GR", "Greece's VAT IDs start with EL, not GR"),
    ("", "DE", "Enter the VAT ID, e.g. DE123456789."),
    ("US123456789", "US", "VAT IDs are checked for EU member states; US is not one."),
])
def test_malformed_or_foreign_vat_ids_are_refused_naming_tax_id(typed, country, message):
    with pytest.raises(DomainError) as refused:
        normalise_vat_id(typed, country)
    assert refused.value.field == "tax_id" and message in refused.value.message


def test_outside_the_eu_a_tax_id_is_kept_in_normal_form():
    assert normalise_tax_id("12-3456789", "US") == "123456789"
    assert normalise_tax_id("gb 123 4567 89", "GB") == "GB123456789"
    assert normalise_tax_id("de 123456789", "DE") == "DE123456789"  # inside the EU: the VAT ID rules
    for bad in ("1", "A" * 21, "12/34"):
        with pytest.raises(DomainError) as refused:
            normalise_tax_id(bad, "US")
        assert refused.value.field == "tax_id"
