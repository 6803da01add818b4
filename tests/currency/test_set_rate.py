"""An admin's edit: a new row in force from now, audited with before and after;
anything that is not a sane, exact, positive rate of a supported currency is
refused naming its field, and nothing is written."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.currency import service
from app.currency.models import ExchangeRate
from app.errors import DomainError
from app.money import Money
from tests.payments.core_support import audits

ADMIN = "ada@matrix.test"
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


def row_count(db) -> int:
    return db.scalar(select(func.count(ExchangeRate.id)))


def test_an_edit_is_in_force_at_once_and_audited_with_before_and_after(rates):
    clock.freeze(NOW)
    row = service.set_rate(rates, "eur", "0.9512", actor_label=ADMIN)
    rates.commit()

    assert (row.currency, row.rate, row.source, row.as_of, row.created_by) == \
        ("EUR", Decimal("0.9512"), f"admin:{ADMIN}", NOW, ADMIN)
    assert service.current_rate(rates, "EUR") == service.Rate("EUR", Decimal("0.9512"), f"admin:{ADMIN}", NOW)
    assert service.convert(rates, Money(100_00, "USD"), "EUR").amount == Money(95_12, "EUR")
    [audit] = audits(rates, "exchange_rate.set")
    assert (audit.actor_label, audit.target) == (ADMIN, "EUR")
    assert audit.details == {
        "before": {"rate": "0.92", "source": "file:rates.json", "as_of": "2026-11-30T16:00:00+00:00"},
        "after": {"rate": "0.9512", "source": f"admin:{ADMIN}", "as_of": NOW.isoformat()}}


def test_the_newest_rate_wins_and_earlier_rows_stay(rates):
    clock.freeze(NOW)
    service.set_rate(rates, "JPY", "151", actor_label=ADMIN)
    service.set_rate(rates, "JPY", "152.25", actor_label=ADMIN)  # same instant: the later row wins
    clock.advance(timedelta(hours=1))
    service.set_rate(rates, "JPY", Decimal("149.5"), actor_label=ADMIN)
    rates.commit()

    assert service.current_rate(rates, "JPY").rate == Decimal("149.5")
    assert [service.rate_text(r.rate) for r in service.history(rates, "JPY").rows] == ["149.5", "152.25", "151", "150"]


@pytest.mark.parametrize("value, message", [
    ("0", "greater than zero"), ("-1", "greater than zero"), ("abc", "as a number"), ("", "as a number"),
    ("NaN", "as a number"), ("Infinity", "as a number"), ("1e400", "between"), ("0.00000000001", "between"),
    ("1.2345678901234567891", "significant digits"), (0.92, "not as a float"), (True, "not as a float"),
    (None, "as a number"),
])
def test_bad_rates_are_refused_beside_the_rate_and_write_nothing(rates, value, message):
    before = row_count(rates)
    with pytest.raises(DomainError, match=message) as refused:
        service.set_rate(rates, "EUR", value, actor_label=ADMIN)
    assert refused.value.field == "rate"
    rates.rollback()
    assert row_count(rates) == before and audits(rates, "exchange_rate.set") == []


@pytest.mark.parametrize("currency, message", [
    ("XYZ", "Unsupported currency 'XYZ'"), ("KWD", "Unsupported currency 'KWD'"), ("usd", "base currency"),
])
def test_unknown_currencies_and_the_base_currency_are_refused(rates, currency, message):
    before = row_count(rates)
    with pytest.raises(DomainError, match=message) as refused:
        service.set_rate(rates, currency, "1.5", actor_label=ADMIN)
    assert refused.value.field == "currency"
    rates.rollback()
    assert row_count(rates) == before


def test_an_edit_older_than_the_rate_in_force_is_refused(rates):
    clock.freeze(NOW)
    service.set_rate(rates, "GBP", "0.8", actor_label=ADMIN)
    with pytest.raises(DomainError, match="later than this edit") as refused:
        service.set_rate(rates, "GBP", "0.81", actor_label=ADMIN, as_of=NOW - timedelta(minutes=1))
    assert refused.value.field == "as_of"
    assert service.current_rate(rates, "GBP").rate == Decimal("0.8")
