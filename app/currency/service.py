"""Exchange rates in force, conversion through USD, and the two ways rates change.

A rate is how many units of a currency 1 USD (BASE_CURRENCY) buys, as an exact
Decimal. Rows are only ever added — by a provider refresh or an admin's edit —
and the rate in force for a currency is its newest row (by `as_of`, then id),
so any invoice that copied a rate can be traced to where it came from.

A cross rate (EUR → GBP) goes through USD: GBP per USD / EUR per USD, computed
to CROSS_RATE_DIGITS significant digits, and that rate — the one reported — is
the one applied, so anyone holding it can redo the conversion. Amounts are
rounded once, half up, to the target currency's minor units.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.audit import service as audit
from app.currency.models import BASE_CURRENCY, ExchangeRate
from app.currency.providers import SHIPPED_RATES_FILE, FileRateProvider, RateProvider, RateQuote, RateSourceError
from app.errors import DomainError
from app.money import Money, MoneyError
from app.payments.amounts import currency_code

# Sane bounds for a rate per 1 USD: BTC at a billion dollars still fits, and so
# does any currency in circulation; the stored text stays well within 50 characters.
MIN_RATE = Decimal("0.0000000001")
MAX_RATE = Decimal("10000000000")
MAX_RATE_DIGITS = 18
CROSS_RATE_DIGITS = 24
# A quote dated later than this ahead of our clock is refused: it would
# outrank every edit until that time came.
FUTURE_TOLERANCE = timedelta(hours=1)
# Wide enough that amount × rate is exact before the one rounding to minor units.
_EXACT = Context(prec=80)


@dataclass(frozen=True)
class Rate:
    currency: str      # upper-case code
    rate: Decimal      # units of `currency` per 1 USD
    source: str        # e.g. "file:rates.json", "admin:ada@matrix.test", "base currency"
    as_of: datetime    # aware UTC


BASE_RATE = Rate(BASE_CURRENCY, Decimal(1), "base currency", datetime(1970, 1, 1, tzinfo=timezone.utc))


@dataclass(frozen=True)
class Conversion:
    amount: Money      # the result, in the target currency
    rate: Decimal      # target units per 1 source unit (to_rate.rate / from_rate.rate), exact as used
    from_rate: Rate
    to_rate: Rate

    def _quoted(self) -> list[Rate]:
        return [r for r in (self.from_rate, self.to_rate) if r.currency != BASE_CURRENCY] or [self.from_rate]

    @property
    def source(self) -> str:
        """Where the rate came from: the source of each non-base rate, once each."""
        return " + ".join(dict.fromkeys(r.source for r in self._quoted()))

    @property
    def as_of(self) -> datetime:
        """A cross rate is as old as its older part."""
        return min(r.as_of for r in self._quoted())


@dataclass(frozen=True)
class RefreshResult:
    source: str
    as_of: datetime
    added: tuple[str, ...]            # currencies that got a new row
    already_stored: tuple[str, ...]   # quoted with this source and as_of before: not added twice


@dataclass(frozen=True)
class HistoryPage:
    rows: list[ExchangeRate]
    page: int
    pages: int
    total: int


def rate_text(rate: Decimal) -> str:
    """An exact rate as plain digits (0.0000105, 150), never exponent notation."""
    return format(rate.normalize(_EXACT), "f")


def parse_rate(value, field: str = "rate") -> Decimal:
    """A rate typed by a person or quoted by a provider, as an exact Decimal, or a refusal naming `field`."""
    if isinstance(value, (float, bool)):
        raise DomainError("Rates are exact decimals: give them as text, e.g. “0.92”, not as a float.", field=field)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError("Enter the rate as a number, e.g. 0.92.", field=field) from None
    if not number.is_finite():
        raise DomainError("Enter the rate as a number, e.g. 0.92.", field=field)
    if number <= 0:
        raise DomainError("The rate must be greater than zero.", field=field)
    if not MIN_RATE <= number <= MAX_RATE:
        raise DomainError(f"The rate must be between {rate_text(MIN_RATE)} and {MAX_RATE:,} units per 1 USD.",
                          field=field)
    if len(number.normalize(_EXACT).as_tuple().digits) > MAX_RATE_DIGITS:
        raise DomainError(f"Give the rate with at most {MAX_RATE_DIGITS} significant digits.", field=field)
    return number


def _rate_of(row: ExchangeRate) -> Rate:
    return Rate(row.currency, row.rate, row.source, row.as_of)


def _newest(session: Session, code: str) -> ExchangeRate | None:
    return session.scalars(select(ExchangeRate).where(ExchangeRate.currency == code)
                           .order_by(ExchangeRate.as_of.desc(), ExchangeRate.id.desc()).limit(1)).first()


def current_rate(session: Session, currency: str, field: str = "currency") -> Rate:
    """The rate in force for `currency`; refusals (unsupported, no rate yet) name `field`."""
    code = currency_code(currency, field)
    if code == BASE_CURRENCY:
        return BASE_RATE
    row = _newest(session, code)
    if row is None:
        raise DomainError(f"No exchange rate for {code} yet; an admin can set one under Admin → Exchange rates.",
                          field=field)
    return _rate_of(row)


def rates_in_force(session: Session) -> dict[str, Rate]:
    """The rate in force of every currency that has one (USD included), in one query."""
    ranked = select(ExchangeRate.id, func.row_number().over(
        partition_by=ExchangeRate.currency, order_by=(ExchangeRate.as_of.desc(), ExchangeRate.id.desc()))
        .label("rank")).subquery()
    rows = session.scalars(select(ExchangeRate).join(ranked, ranked.c.id == ExchangeRate.id)
                           .where(ranked.c.rank == 1))
    return {BASE_CURRENCY: BASE_RATE} | {row.currency: _rate_of(row) for row in rows}


def apply_rate(amount: Money, rate: Decimal, to_currency: str) -> Money:
    """`amount` × `rate`, rounded half up to `to_currency`'s minor units. Pure; refuses floats."""
    if isinstance(rate, float):
        raise MoneyError("Use a Decimal, not a float, for exchange rates")
    with localcontext(_EXACT):
        return Money.from_decimal(amount.to_decimal() * Decimal(rate), to_currency)


def cross_rate(from_rate: Decimal, to_rate: Decimal) -> Decimal:
    """Target units per source unit; exact when the source is the base currency."""
    if from_rate == 1:
        return to_rate
    with localcontext(Context(prec=CROSS_RATE_DIGITS, rounding=ROUND_HALF_UP)):
        return to_rate / from_rate


def convert(session: Session, amount: Money, to_currency: str, *, from_field: str = "currency",
            to_field: str = "currency") -> Conversion:
    """`amount` in `to_currency` at the rates in force (through USD); the same currency converts at 1.

    Refusals name `from_field` / `to_field` (unsupported code, no rate yet) or
    `amount` (a result too large for 64-bit minor units).
    """
    to_code = currency_code(to_currency, to_field)
    from_rate = current_rate(session, amount.currency, from_field)
    if to_code == from_rate.currency:
        return Conversion(amount, Decimal(1), from_rate, from_rate)
    to_rate = current_rate(session, to_code, to_field)
    rate = cross_rate(from_rate.rate, to_rate.rate)
    try:
        converted = apply_rate(amount, rate, to_code)
    except MoneyError:
        raise DomainError(f"The amount is too large to convert to {to_code}.", field="amount") from None
    return Conversion(converted, rate, from_rate, to_rate)


def _snapshot(row: ExchangeRate | None) -> dict | None:
    if row is None:
        return None
    return {"rate": rate_text(row.rate), "source": row.source, "as_of": row.as_of.isoformat()}


def set_rate(session: Session, currency: str, rate, *, actor_label: str, as_of: datetime | None = None,
             actor_user_id: int | None = None) -> ExchangeRate:
    """An admin's edit: a new row in force from `as_of` (now), audited with before and after."""
    code = currency_code(currency, "currency")
    if code == BASE_CURRENCY:
        raise DomainError(f"{BASE_CURRENCY} is the base currency: its rate is always 1.", field="currency")
    value = parse_rate(rate)
    moment = as_of or clock.utcnow()
    if moment.tzinfo is None:
        raise DomainError("The time of a rate needs a time zone.", field="as_of")
    before = _newest(session, code)
    if before is not None and before.as_of > moment:
        raise DomainError(f"The {code} rate in force is quoted as of {before.as_of:%Y-%m-%d %H:%M} UTC, later "
                          "than this edit; an older one would not take effect.", field="as_of")
    row = ExchangeRate(currency=code, rate=value, source=f"admin:{actor_label}"[:80], as_of=moment,
                       created_by=actor_label[:120])
    session.add(row)
    session.flush()
    audit.record(session, "exchange_rate.set", actor_label=actor_label, actor_user_id=actor_user_id, target=code,
                 details={"before": _snapshot(before), "after": _snapshot(row)})
    return row


def _quoted_rate(quote: RateQuote, code, value) -> tuple[str, Decimal]:
    try:
        currency = currency_code(code)
    except DomainError:
        raise RateSourceError(f"{quote.source} quotes {code!r}, which is not a supported currency. "
                              "Nothing was changed.") from None
    try:
        rate = parse_rate(value)
    except DomainError as refusal:
        raise RateSourceError(f"{quote.source} quotes {currency} at {value}: {refusal.message} "
                              "Nothing was changed.") from None
    if currency == BASE_CURRENCY and rate != 1:
        raise RateSourceError(f"{quote.source} quotes {BASE_CURRENCY} at {value}; the base currency is always 1.")
    return currency, rate


def validate_quote(quote: RateQuote, now: datetime | None = None) -> dict[str, Decimal]:
    """Every rate of a quote, checked before any is written (USD, at 1, dropped); refusals are RateSourceError."""
    if not quote.source or len(quote.source) > 80:
        raise RateSourceError("A rate provider must name its source in 1 to 80 characters.")
    if not isinstance(quote.as_of, datetime) or quote.as_of.tzinfo is None:
        raise RateSourceError(f"{quote.source} gave no time (with a zone) for its rates. Nothing was changed.")
    if now is not None and quote.as_of > now + FUTURE_TOLERANCE:
        raise RateSourceError(f"{quote.source} dates its rates {quote.as_of.isoformat()}, in the future. "
                              "Nothing was changed.")
    if not quote.rates:
        raise RateSourceError(f"{quote.source} quoted no rates. Nothing was changed.")
    rates = dict(_quoted_rate(quote, code, value) for code, value in quote.rates.items())
    rates.pop(BASE_CURRENCY, None)
    return rates


def _add(session: Session, quote: RateQuote, rates: dict[str, Decimal], actor_label: str) -> None:
    session.add_all([ExchangeRate(currency=code, rate=rate, source=quote.source, as_of=quote.as_of,
                                  created_by=actor_label[:120]) for code, rate in rates.items()])
    session.flush()


def refresh(session: Session, provider: RateProvider, *, actor_label: str) -> RefreshResult:
    """Store a row per currency the provider quotes, unless this source's quote of that time is stored already.

    The whole quote is checked first: one bad rate and nothing is written.
    """
    quote = provider.fetch()
    rates = validate_quote(quote, clock.utcnow())
    stored = set(session.scalars(select(ExchangeRate.currency).where(
        ExchangeRate.source == quote.source, ExchangeRate.as_of == quote.as_of)))
    added = {code: rate for code, rate in rates.items() if code not in stored}
    _add(session, quote, added, actor_label)
    if added:
        audit.record(session, "exchange_rate.refreshed", actor_label=actor_label, target=quote.source,
                     details={"as_of": quote.as_of.isoformat(),
                              "rates": {code: rate_text(rate) for code, rate in added.items()}})
    return RefreshResult(quote.source, quote.as_of, tuple(added), tuple(code for code in rates if code in stored))


def ensure_rates(session: Session, path=None) -> None:
    """Seed data: the shipped rates file's rate for each currency that has no row yet (not audited)."""
    quote = FileRateProvider(path or SHIPPED_RATES_FILE).fetch()
    have = set(session.scalars(select(ExchangeRate.currency).distinct()))
    _add(session, quote, {code: rate for code, rate in validate_quote(quote).items() if code not in have}, "seed")


def history(session: Session, currency: str, page: int = 1, per_page: int = 25) -> HistoryPage:
    """A currency's rates, newest first (the first row is the one in force)."""
    code = currency_code(currency)
    where = ExchangeRate.currency == code
    total = session.scalar(select(func.count(ExchangeRate.id)).where(where)) or 0
    rows = list(session.scalars(select(ExchangeRate).where(where)
                                .order_by(ExchangeRate.as_of.desc(), ExchangeRate.id.desc())
                                .limit(per_page).offset((page - 1) * per_page)))
    return HistoryPage(rows=rows, page=page, pages=max(1, -(-total // per_page)), total=total)
