"""Where the current action comes from: the address and browser behind it.

The web layer sets this once per request; `audit.service.record()` reads it, so
every audit row written while serving a request carries the caller's address
and user agent without each service having to pass them along. Jobs and the CLI
set nothing and their rows say so (no address).
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    ip_address: str | None = None
    user_agent: str | None = None


_current: ContextVar[Origin] = ContextVar("audit_origin", default=Origin())


def set_origin(ip_address: str | None, user_agent: str | None):
    """Make (ip, user agent) the origin of audit rows; returns a token for reset_origin."""
    return _current.set(Origin(ip_address[:45] if ip_address else None,
                               user_agent[:300] if user_agent else None))


def reset_origin(token) -> None:
    _current.reset(token)


def current_origin() -> Origin:
    return _current.get()
