"""ISO 3166-1 alpha-2 country codes and names (pycountry), for geo rules."""
from __future__ import annotations

from functools import lru_cache

import pycountry

from app.errors import DomainError


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    """Code → name, sorted by name (for select boxes)."""
    pairs = sorted(((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
                   key=lambda pair: pair[1])
    return dict(pairs)


def read_country(raw: str, field: str = "country") -> str:
    """An upper-case ISO code; anything else is refused naming what was typed."""
    code = (raw or "").strip().upper()
    if code not in names():
        raise DomainError(f"“{(raw or '').strip()}” is not an ISO 3166-1 country code (e.g. DE, US, JP).",
                          field=field)
    return code


def name(code: str | None) -> str:
    return names().get(code or "", "unknown country")
