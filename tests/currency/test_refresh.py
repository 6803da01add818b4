"""Refreshing from a provider: the whole quote is checked before anything is
written, a quote already stored is not stored twice, and the RQ job commits
what the configured provider (a rates file by default) quotes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.currency import service
from app.currency.jobs import refresh_exchange_rates
from app.currency.models import ExchangeRate
from app.currency.providers import FileRateProvider, RateQuote, RateSourceError, provider_from_config
from app.money import SUPPORTED_CURRENCIES
from tests.payments.core_support import audits

JOB = "job:refresh-exchange-rates"
QUOTED = datetime(2026, 1, 5, 16, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _now():
    clock.freeze(datetime(2026, 1, 5, 18, tzinfo=timezone.utc))


def stored(db) -> list[tuple[str, str, str]]:
    db.expire_all()
    return [(r.currency, service.rate_text(r.rate), r.source)
            for r in db.scalars(select(ExchangeRate).order_by(ExchangeRate.currency, ExchangeRate.id))]


def test_a_file_refresh_adds_a_row_per_quoted_currency(db, rates_file):
    provider = FileRateProvider(rates_file({"EUR": "0.9301", "jpy": "156.75", "BTC": "0.0000098", "USD": "1"}))

    result = service.refresh(db, provider, actor_label=JOB)
    db.commit()

    assert (result.source, result.as_of, result.added, result.already_stored) == \
        ("file:rates.json", QUOTED, ("EUR", "JPY", "BTC"), ())
    assert stored(db) == [("BTC", "0.0000098", "file:rates.json"), ("EUR", "0.9301", "file:rates.json"),
                          ("JPY", "156.75", "file:rates.json")]
    assert service.current_rate(db, "JPY") == service.Rate("JPY", Decimal("156.75"), "file:rates.json", QUOTED)
    [audit] = audits(db, "exchange_rate.refreshed")
    assert (audit.actor_label, audit.target) == (JOB, "file:rates.json")
    assert audit.details == {"as_of": QUOTED.isoformat(), "rates": {"EUR": "0.9301", "JPY": "156.75",
                                                                    "BTC": "0.0000098"}}


def test_refreshing_the_same_quote_twice_adds_it_once(db, rates_file):
    provider = FileRateProvider(rates_file({"EUR": "0.93", "GBP": "0.78"}))
    service.refresh(db, provider, actor_label=JOB)
    db.commit()

    again = service.refresh(db, provider, actor_label=JOB)
    db.commit()

    assert (again.added, again.already_stored) == ((), ("EUR", "GBP"))
    assert len(stored(db)) == 2 and len(audits(db, "exchange_rate.refreshed")) == 1
    # A new quote from the same file (a later as_of) is stored again.
    newer = FileRateProvider(rates_file({"EUR": "0.94", "GBP": "0.78"}, as_of="2026-01-05T17:00:00Z"))
    assert service.refresh(db, newer, actor_label=JOB).added == ("EUR", "GBP")
    assert service.current_rate(db, "EUR").rate == Decimal("0.94")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('["EUR", "0.92"]', "a JSON object"),
    ('{"base": "EUR", "as_of": "2026-01-05T16:00:00Z", "rates": {"GBP": "0.86"}}', '"base" must be "USD"'),
    ('{"base": "USD", "as_of": "yesterday", "rates": {"EUR": "0.92"}}', '"as_of" must be an ISO 8601'),
    ('{"base": "USD", "as_of": "2026-01-05T16:00:00", "rates": {"EUR": "0.92"}}', "with a zone"),
    ('{"base": "USD", "as_of": "2026-01-05T16:00:00Z", "rates": {}}', '"rates" must be an object'),
    ('{"base": "USD", "as_of": "2026-01-05T16:00:00Z", "rates": {"EUR": 0.92}}', "must be a string"),
    ('{"base": "USD", "as_of": "2026-01-05T16:00:00Z", "rates": {"EUR": "0,92"}}', "is not a number"),
    ('{"base": "USD", "as_of": "2026-01-05T16:00:00Z", "rates": {"EUR": "0.9", "eur": "0.91"}}', "listed twice"),
])
def test_a_malformed_file_fails_the_refresh_and_writes_nothing(rates, tmp_path, content, message):
    before = stored(rates)
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(RateSourceError, match=message):
        service.refresh(rates, FileRateProvider(path), actor_label=JOB)
    rates.rollback()
    assert stored(rates) == before


@pytest.mark.parametrize("quoted, message", [
    ({"EUR": "0.93", "GBP": "0"}, "GBP at 0: The rate must be greater than zero"),
    ({"EUR": "0.93", "GBP": "-0.78"}, "greater than zero"),
    ({"EUR": "0.93", "XAU": "0.0004"}, "'XAU', which is not a supported currency"),
    ({"EUR": "0.93", "KWD": "0.307"}, "'KWD', which is not a supported currency"),
    ({"EUR": "0.93", "USD": "1.01"}, "the base currency is always 1"),
])
def test_one_bad_rate_fails_the_whole_quote(rates, rates_file, quoted, message):
    before = stored(rates)
    with pytest.raises(RateSourceError, match=message):
        service.refresh(rates, FileRateProvider(rates_file(quoted)), actor_label=JOB)
    rates.rollback()
    assert stored(rates) == before


def test_a_missing_file_and_a_future_quote_are_refused(db, rates_file, tmp_path):
    with pytest.raises(RateSourceError, match="No such file"):
        service.refresh(db, FileRateProvider(tmp_path / "absent.json"), actor_label=JOB)
    with pytest.raises(RateSourceError, match="in the future"):
        service.refresh(db, FileRateProvider(rates_file({"EUR": "0.9"}, as_of="2026-01-06T16:00:00Z")),
                        actor_label=JOB)
    assert stored(db) == []


def test_the_job_refreshes_from_the_configured_file_and_commits(app, db, rates_file):
    app.config["EXCHANGE_RATES_FILE"] = str(rates_file({"EUR": "0.935", "SGD": "1.351"}, name="daily.json"))
    with app.app_context():
        first = refresh_exchange_rates()
        second = refresh_exchange_rates()

    assert first == {"source": "file:daily.json", "as_of": QUOTED.isoformat(), "added": ["EUR", "SGD"],
                     "already_stored": []}
    assert (second["added"], second["already_stored"]) == ([], ["EUR", "SGD"])
    assert stored(db) == [("EUR", "0.935", "file:daily.json"), ("SGD", "1.351", "file:daily.json")]


def test_a_refused_quote_fails_the_job_without_writing(app, db, tmp_path):
    path = tmp_path / "rates.json"
    path.write_text("{}")
    app.config["EXCHANGE_RATES_FILE"] = str(path)
    with app.app_context(), pytest.raises(RateSourceError, match='"base" must be "USD"'):
        refresh_exchange_rates()
    assert stored(db) == []


class StaticProvider:
    """A provider as an operator would plug in with EXCHANGE_RATE_PROVIDER=package.module:callable."""

    def __init__(self, config):
        self.rate = config["TEST_EUR_RATE"]

    def fetch(self) -> RateQuote:
        return RateQuote("bank:test", QUOTED, {"EUR": Decimal(self.rate)})


def test_the_provider_is_chosen_by_configuration(app, db):
    assert provider_from_config({}).fetch().source == "file:rates.json"  # the shipped file by default
    app.config.update(EXCHANGE_RATE_PROVIDER="tests.currency.test_refresh:StaticProvider", TEST_EUR_RATE="0.9333")
    with app.app_context():
        assert refresh_exchange_rates()["added"] == ["EUR"]
    assert stored(db) == [("EUR", "0.9333", "bank:test")]
    for name in ("tests.currency.nowhere:Provider", "tests.currency.test_refresh:Absent", "not-a-path"):
        with pytest.raises(RateSourceError, match="EXCHANGE_RATE_PROVIDER"):
            provider_from_config({"EXCHANGE_RATE_PROVIDER": name})


def test_ensure_rates_seeds_every_currency_once_and_keeps_existing_ones(db):
    service.set_rate(db, "EUR", "0.95", actor_label="ada@matrix.test")
    service.ensure_rates(db)
    service.ensure_rates(db)
    db.commit()

    in_force = service.rates_in_force(db)
    assert sorted(in_force) == sorted(SUPPORTED_CURRENCIES)
    assert in_force["EUR"].rate == Decimal("0.95")
    assert (in_force["JPY"].rate, in_force["BTC"].rate, in_force["AED"].rate) == \
        (Decimal("150"), Decimal("0.0000105"), Decimal("3.6725"))
    assert db.scalar(select(func.count(ExchangeRate.id))) == 13


def test_the_scheduler_refreshes_daily_on_the_low_queue():
    from rq.cron import CronJob

    from app.schedule import PERIODIC_JOBS

    periodic = {job.name: job for job in PERIODIC_JOBS}["refresh-exchange-rates"]
    assert (periodic.func, periodic.queue, periodic.interval) == (refresh_exchange_rates, "low", None)
    cron = CronJob("low", func=periodic.func, cron=periodic.cron)
    cron.latest_enqueue_time = cron.next_enqueue_time  # as if it had just run
    assert cron.get_next_enqueue_time() - cron.latest_enqueue_time == timedelta(days=1)
