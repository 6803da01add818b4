"""Converting money: one rounding, half up, to the target currency's minor units;
cross rates through USD; the rate reported is the rate applied."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from app.currency import service
from app.currency.service import apply_rate, convert, current_rate
from app.errors import DomainError
from app.money import MAX_MINOR_UNITS, Money, MoneyError

# --- apply_rate: pure arithmetic, no database -------------------------------------------------------------


def test_half_a_minor_unit_rounds_up():
    # 1.00 USD × 0.925 = 0.925 EUR: exactly half a cent.
    assert apply_rate(Money(100, "USD"), Decimal("0.925"), "EUR") == Money(93, "EUR")
    # Just under half rounds down; credits round away from zero like charges do.
    assert apply_rate(Money(100, "USD"), Decimal("0.92499"), "EUR") == Money(92, "EUR")
    assert apply_rate(Money(-100, "USD"), Decimal("0.925"), "EUR") == Money(-93, "EUR")


def test_usd_to_yen_has_no_decimals():
    # 12.34 USD × 150.5 = 1857.17 yen → 1857; 0.01 USD × 150 = 1.5 yen → 2.
    assert apply_rate(Money(1234, "USD"), Decimal("150.5"), "JPY") == Money(1857, "JPY")
    assert apply_rate(Money(1, "USD"), Decimal("150"), "JPY") == Money(2, "JPY")


def test_three_decimal_currency_rounds_to_the_fils():
    # 10.00 USD × 0.30745 = 3.0745 KWD → 3.075 (half up at the third decimal).
    assert apply_rate(Money(1000, "USD"), Decimal("0.30745"), "KWD") == Money(3075, "KWD")
    assert apply_rate(Money(3075, "KWD"), Decimal("3.2526"), "USD") == Money(1000, "USD")  # 10.0017… → 10.00


def test_crypto_keeps_its_bounded_precision():
    # 100,000.00 USD at 0.0000105 BTC per USD = 1.05 BTC = 105,000,000 satoshi.
    assert apply_rate(Money(100_000_00, "USD"), Decimal("0.0000105"), "BTC") == Money(105_000_000, "BTC")
    # 12.34 USD at 1.0005 = 12.34617 USDT (6 decimals).
    assert apply_rate(Money(1234, "USD"), Decimal("1.0005"), "USDT") == Money(12_346_170, "USDT")
    # A billion dollars is 10,500 BTC: 1,050,000,000,000 satoshi, well inside 64 bits.
    assert apply_rate(Money(1_000_000_000_00, "USD"), Decimal("0.0000105"), "BTC") == Money(1_050_000_000_000, "BTC")


def test_no_precision_is_lost_before_the_one_rounding():
    # 0.4999…(32 nines) of a cent: rounds to 0. Decimal's default 28 digits would make it 0.5 → 1 cent.
    rate = Decimal("0.0049999999999999999999999999999999")
    assert apply_rate(Money(100, "USD"), rate, "EUR") == Money(0, "EUR")


def test_floats_and_overflow_are_refused():
    with pytest.raises(MoneyError):
        apply_rate(Money(100, "USD"), 0.92, "EUR")
    with pytest.raises(MoneyError, match="too large"):
        apply_rate(Money(MAX_MINOR_UNITS, "BTC"), Decimal("95000"), "USDT")


# --- convert: the rates in force -------------------------------------------------------------------------


def test_usd_to_eur_uses_the_rate_in_force(rates):
    conversion = convert(rates, Money(1000, "USD"), "eur")
    assert conversion.amount == Money(920, "EUR")
    assert conversion.rate == Decimal("0.92")
    assert (conversion.from_rate, conversion.to_rate.currency) == (service.BASE_RATE, "EUR")
    assert conversion.source == "file:rates.json"
    assert conversion.as_of == datetime(2026, 11, 30, 16, tzinfo=timezone.utc)


def test_cross_rate_goes_through_usd_and_is_the_rate_applied(rates):
    # EUR → GBP: 0.79 / 0.92 = 0.858695652173913043478261 (24 significant digits, half up).
    conversion = convert(rates, Money(100_00, "EUR"), "GBP")
    assert conversion.rate == Decimal("0.858695652173913043478261")
    assert conversion.amount == Money(85_87, "GBP")
    assert apply_rate(Money(100_00, "EUR"), conversion.rate, "GBP") == conversion.amount
    # And back to USD: 1 / 0.79.
    assert convert(rates, Money(79_00, "GBP"), "USD").amount == Money(100_00, "USD")
    # BTC → JPY: 1 BTC = 150 / 0.0000105 yen = 14,285,714.2857… → ¥14,285,714.
    assert convert(rates, Money(100_000_000, "BTC"), "JPY").amount == Money(14_285_714, "JPY")


def test_the_same_currency_converts_at_one(rates):
    conversion = convert(rates, Money(12_345, "JPY"), "jpy")
    assert (conversion.amount, conversion.rate) == (Money(12_345, "JPY"), Decimal(1))
    assert convert(rates, Money(500, "USD"), "USD").amount == Money(500, "USD")


def test_a_currency_without_a_rate_is_refused_naming_the_field(db):
    with pytest.raises(DomainError, match="No exchange rate for EUR yet") as refused:
        convert(db, Money(1000, "USD"), "EUR", to_field="to")
    assert refused.value.field == "to"
    assert current_rate(db, "usd") == service.BASE_RATE


def test_customers_cannot_use_the_three_decimal_dinars(rates):
    for call in (lambda: current_rate(rates, "KWD"), lambda: convert(rates, Money(1000, "USD"), "KWD", to_field="to"),
                 lambda: convert(rates, Money(1000, "KWD"), "USD", from_field="from")):
        with pytest.raises(DomainError, match="Unsupported currency 'KWD'") as refused:
            call()
        assert refused.value.field in ("currency", "to", "from")


def test_a_result_too_large_for_64_bits_is_refused_naming_the_amount(rates):
    with pytest.raises(DomainError, match="too large") as refused:
        convert(rates, Money(MAX_MINOR_UNITS, "BTC"), "USDT")
    assert refused.value.field == "amount"
