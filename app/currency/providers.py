"""Where exchange rates come from: a provider quotes rates, the service stores them.

A provider is anything with `fetch() -> RateQuote`. The one shipped reads a JSON
file (by default `app/currency/rates.json`, kept with the app):

    {
      "base": "USD",
      "as_of": "2026-11-30T16:00:00Z",
      "rates": {"EUR": "0.92", "JPY": "150.0", "BTC": "0.0000105"}
    }

`base` must be USD (rates are units of the currency per 1 USD), `as_of` is ISO
8601 with a time zone, and every rate is a *string* so that it stays exact: a
JSON number would pass through a float on the way in. Whether the codes are
supported and the rates sane (> 0, bounded) is checked by the service for every
provider alike, before anything is written.

`EXCHANGE_RATE_PROVIDER` picks the provider: `file` (the default) or
`package.module:callable`, a callable that takes the app's config and returns
a provider, e.g. one that asks a bank's API.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping, Protocol

from app.errors import DomainError

SHIPPED_RATES_FILE = Path(__file__).with_name("rates.json")


class RateSourceError(DomainError):
    """The provider's answer cannot be used; nothing was written."""


@dataclass(frozen=True)
class RateQuote:
    """Rates one source quoted at one moment: units of each currency per 1 USD."""

    source: str
    as_of: datetime
    rates: dict[str, Decimal] = field(default_factory=dict)


class RateProvider(Protocol):
    def fetch(self) -> RateQuote: ...


class FileRateProvider:
    """Rates from a JSON file in the format above; source `file:<file name>`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def source(self) -> str:
        return f"file:{self.path.name}"

    def fetch(self) -> RateQuote:
        document = self._read()
        base = document.get("base")
        if not isinstance(base, str) or base.strip().upper() != "USD":
            raise self._error('"base" must be "USD": rates are units of each currency per 1 USD')
        rates = document.get("rates")
        if not isinstance(rates, dict) or not rates:
            raise self._error('"rates" must be an object such as {"EUR": "0.92"}')
        parsed = {code.strip().upper(): self._rate(code, value) for code, value in rates.items()}
        if len(parsed) != len(rates):
            raise self._error("a currency is listed twice")
        return RateQuote(self.source, self._as_of(document.get("as_of")), parsed)

    def _error(self, problem: str) -> RateSourceError:
        return RateSourceError(f"The rates file {self.path} cannot be used: {problem}. Nothing was changed.")

    def _read(self) -> dict:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as error:
            raise self._error(error.strerror or type(error).__name__) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise self._error(f"it is not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise self._error("it must hold a JSON object")
        return document

    def _as_of(self, value) -> datetime:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise self._error('"as_of" must be an ISO 8601 time with a zone, e.g. "2026-11-30T16:00:00Z"')
        return moment

    def _rate(self, code, value) -> Decimal:
        if not isinstance(value, str):
            raise self._error(f'the rate of {code} must be a string such as "0.92", so it stays exact')
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise self._error(f"the rate of {code} ({value!r}) is not a number") from None


def provider_from_config(config: Mapping) -> RateProvider:
    """The provider `EXCHANGE_RATE_PROVIDER` names (`file`, or `package.module:callable`)."""
    name = (config.get("EXCHANGE_RATE_PROVIDER") or "file").strip()
    if name == "file":
        return FileRateProvider(config.get("EXCHANGE_RATES_FILE") or SHIPPED_RATES_FILE)
    module_name, _, attribute = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute) if attribute else None
    except (ImportError, AttributeError) as error:
        raise RateSourceError(f"EXCHANGE_RATE_PROVIDER {name!r} cannot be loaded: {error}") from None
    if not callable(factory):
        raise RateSourceError(f"EXCHANGE_RATE_PROVIDER must be 'file' or 'package.module:callable', got {name!r}")
    return factory(config)


def describe_provider(config: Mapping) -> str:
    """What the admin page says refreshes read from, without loading the provider."""
    name = (config.get("EXCHANGE_RATE_PROVIDER") or "file").strip()
    if name == "file":
        return FileRateProvider(config.get("EXCHANGE_RATES_FILE") or SHIPPED_RATES_FILE).source
    return name
