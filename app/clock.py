"""The one clock. Everything that needs "now" asks here, so tests can move time.

`utcnow()` is timezone-aware UTC. Tests call `freeze(dt)` / `advance(delta)` and
`reset()`; production never touches them.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

_frozen: datetime | None = None
_offset = timedelta(0)


def utcnow() -> datetime:
    """Current time, aware, in UTC (shifted or frozen by tests)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc) + _offset


def freeze(moment: datetime) -> None:
    """Stop the clock at `moment` (must be timezone-aware)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment.astimezone(timezone.utc)


def advance(delta: timedelta) -> None:
    """Move the clock forward (frozen or running)."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def reset() -> None:
    """Back to the wall clock."""
    global _frozen, _offset
    _frozen = None
    _offset = timedelta(0)
