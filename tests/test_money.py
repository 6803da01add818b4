"""Money: integer minor units, the exponent table, explicit rounding, no floats."""
from decimal import ROUND_DOWN, Decimal

import pytest

from app.money import EXPONENTS, SUPPORTED_CURRENCIES, Money, MoneyError


def test_the_fourteen_currencies_and_their_exponents():
    assert SUPPORTED_CURRENCIES == ("USD", "EUR", "GBP", "JPY", "CNY", "INR", "AUD", "CAD", "SGD",
                                    "AED", "SAR", "BTC", "ETH", "USDT")
    assert (EXPONENTS["USD"], EXPONENTS["JPY"], EXPONENTS["BTC"], EXPONENTS["USDT"]) == (2, 0, 8, 6)


def test_currency_codes_are_case_insensitive():
    assert Money(100, "usd") == Money(100, "USD")
    with pytest.raises(MoneyError):
        Money(100, "XYZ")


@pytest.mark.parametrize("value,currency,minor", [
    ("12.345", "USD", 1235),   # half up
    ("12.344", "USD", 1234),
    ("-12.345", "USD", -1235),  # half away from zero
    ("1234.5", "JPY", 1235),
    ("0.000000005", "BTC", 1),
    ("100", "EUR", 10000),
])
def test_from_decimal_rounds_half_up_to_the_exponent(value, currency, minor):
    assert Money.from_decimal(value, currency).amount == minor


def test_explicit_rounding_mode():
    assert Money.from_decimal("12.349", "USD", rounding=ROUND_DOWN).amount == 1234


def test_product_fee_example_in_minor_units():
    # 100.00 USD on Starter: platform 3.0 % → 3.00; gateway 2.9 % + 0.30 → 3.20; net 93.80.
    gross = Money(10000, "USD")
    platform = gross.multiply(Decimal("0.030"))
    gateway = gross.multiply(Decimal("0.029")) + Money(30, "USD")
    assert (platform.amount, gateway.amount, (gross - platform - gateway).amount) == (300, 320, 9380)


def test_floats_and_mixed_currencies_are_refused():
    with pytest.raises(MoneyError):
        Money(1.5, "USD")
    with pytest.raises(MoneyError):
        Money(100, "USD").multiply(0.1)
    with pytest.raises(MoneyError):
        Money(100, "USD") + Money(100, "EUR")
    with pytest.raises(MoneyError):
        Money.from_decimal("abc", "USD")
    with pytest.raises(MoneyError):
        Money.from_decimal("NaN", "USD")
    with pytest.raises(MoneyError):
        Money(2**63, "USD")


def test_formatting():
    assert Money(123450, "USD").format() == "$1,234.50"
    assert Money(1200, "JPY").format() == "¥1,200"
    assert Money(12000, "BTC").format() == "0.00012000 BTC"
    assert Money(-505, "EUR").format() == "-€5.05"
    assert Money(100, "AED").format() == "1.00 AED"
    assert Money(1234, "USD").to_decimal() == Decimal("12.34")
