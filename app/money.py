"""Money as integer minor units plus an ISO 4217 code. Never a float.

Exponents: how many minor-unit digits a currency has. Crypto currencies get a
bounded precision (8 for BTC/ETH, 6 for USDT) so that any realistic amount fits a
64-bit integer column; ETH's native 18 decimals would not.

Customers choose among SUPPORTED_CURRENCIES (PRODUCT.md's fourteen); the
exponent table also knows the three-decimal dinars, so arithmetic and rounding
are right for them the day one is offered (and are tested now).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SUPPORTED_CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "JPY", "CNY", "INR", "AUD", "CAD", "SGD",
                                         "AED", "SAR", "BTC", "ETH", "USDT")
EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "CNY": 2, "INR": 2, "AUD": 2,
    "CAD": 2, "SGD": 2, "AED": 2, "SAR": 2, "BTC": 8, "ETH": 8, "USDT": 6,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
}

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹",
            "AUD": "A$", "CAD": "CA$", "SGD": "S$"}

# Largest amount a BIGINT column holds; Money refuses anything beyond it.
MAX_MINOR_UNITS = 2**63 - 1


class MoneyError(ValueError):
    """Bad currency, mixed currencies, or an amount out of range."""


def normalise_currency(code: str) -> str:
    """ISO code in upper case; raises MoneyError for codes customers cannot use."""
    upper = (code or "").strip().upper()
    if upper not in SUPPORTED_CURRENCIES:
        raise MoneyError(f"Unsupported currency {code!r}; use one of {', '.join(SUPPORTED_CURRENCIES)}")
    return upper


def _known_currency(code: str) -> str:
    upper = (code or "").strip().upper() if isinstance(code, str) else ""
    if upper not in EXPONENTS:
        raise MoneyError(f"Unknown currency {code!r}")
    return upper


def exponent(code: str) -> int:
    return EXPONENTS[_known_currency(code)]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (cents, yen, satoshi…) of one currency."""

    amount: int
    currency: str

    def __post_init__(self):
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError(f"Money amounts are integers in minor units, got {self.amount!r}")
        if abs(self.amount) > MAX_MINOR_UNITS:
            raise MoneyError("Amount is too large")
        object.__setattr__(self, "currency", _known_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str,
                     rounding: str = ROUND_HALF_UP) -> "Money":
        """Major units (e.g. Decimal("12.345") USD) → Money, rounded to the exponent."""
        try:
            major = Decimal(value)
        except (InvalidOperation, TypeError) as exc:
            raise MoneyError(f"Not a number: {value!r}") from exc
        if not major.is_finite():
            raise MoneyError(f"Not a finite amount: {value!r}")
        exp = exponent(currency)
        minor = (major * (Decimal(10) ** exp)).quantize(Decimal(1), rounding=rounding)
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        """Major units as an exact Decimal (1234 USD cents → Decimal('12.34'))."""
        return Decimal(self.amount).scaleb(-EXPONENTS[self.currency])

    def _same_currency(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise MoneyError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise MoneyError(f"Cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __lt__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def multiply(self, factor: Decimal | int | str, rounding: str = ROUND_HALF_UP) -> "Money":
        """Scale by an exact factor (a rate, a share), rounded explicitly to minor units."""
        if isinstance(factor, float):
            raise MoneyError("Use Decimal, not float, for money factors")
        scaled = (Decimal(self.amount) * Decimal(factor)).quantize(Decimal(1), rounding=rounding)
        return Money(int(scaled), self.currency)

    def format(self, symbol: bool = True) -> str:
        """Human form with grouping: `$1,234.50`, `¥1,200`, `0.00012000 BTC`."""
        exp = EXPONENTS[self.currency]
        number = f"{abs(self.to_decimal()):,.{exp}f}"
        sign = "-" if self.amount < 0 else ""
        if symbol and self.currency in _SYMBOLS:
            return f"{sign}{_SYMBOLS[self.currency]}{number}"
        return f"{sign}{number} {self.currency}"

    def __str__(self) -> str:
        return self.format()
