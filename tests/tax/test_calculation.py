"""Tax on invoice lines: each line taxed and rounded half up on its own, then summed;
credits get a negative tax; JPY has no minor unit. Labels print the exact rate.
On SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.errors import DomainError
from app.money import Money
from app.tax import service as tax
from tests.tax.support import NOW, customer


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def test_each_line_is_rounded_half_up_on_its_own(rates):
    germany = customer(rates, "DE")
    result = tax.calculate(rates, germany, [eur(250), eur(250), eur(150)], NOW)

    # 19% of 2.50 = 0.475 → 0.48; of 1.50 = 0.285 → 0.29. Rounding the sum (6.50 → 1.235) would give 1.24.
    assert [line.tax for line in result.lines] == [eur(48), eur(48), eur(29)]
    assert (result.subtotal, result.tax, result.total) == (eur(650), eur(125), eur(775))
    assert result.treatment.label == "VAT 19%"


def test_a_credit_line_gets_a_negative_tax(rates):
    germany = customer(rates, "DE")
    result = tax.calculate(rates, germany, [eur(4900), eur(-250)], NOW)
    assert [line.tax for line in result.lines] == [eur(931), eur(-48)]  # -0.475 → -0.48, like +0.475
    assert (result.subtotal, result.tax, result.total) == (eur(4650), eur(883), eur(5533))


def test_yen_have_no_minor_unit(rates):
    germany = customer(rates, "DE", currency="JPY")
    result = tax.calculate(rates, germany, [Money(1050, "JPY"), Money(1, "JPY")], NOW)
    assert [line.tax.amount for line in result.lines] == [200, 0]  # 199.5 → 200; 0.19 → 0
    assert result.total == Money(1251, "JPY")


def test_fractional_rates_are_exact(rates):
    finland = customer(rates, "FI")
    result = tax.calculate(rates, finland, [eur(1000), eur(3)], NOW)
    assert result.treatment.label == "VAT 25.5%" and result.treatment.rate == Decimal("25.5")
    assert [line.tax for line in result.lines] == [eur(255), eur(1)]  # 0.765 → 1


def test_bitcoin_amounts_keep_their_eight_decimals(rates):
    uk = customer(rates, "GB", currency="BTC")
    result = tax.calculate(rates, uk, [Money(12_345_678, "BTC")], NOW)  # 0.12345678 BTC at 20%
    assert (result.treatment.label, result.tax) == ("VAT 20%", Money(2_469_136, "BTC"))


def test_no_lines_is_zero_in_the_organizations_currency_and_currencies_do_not_mix(rates):
    germany = customer(rates, "DE")
    empty = tax.calculate(rates, germany, [], NOW)
    assert (empty.lines, empty.total) == ([], eur(0))
    with pytest.raises(DomainError) as refused:
        tax.calculate(rates, germany, [eur(100), Money(100, "USD")], NOW)
    assert refused.value.field == "currency"
