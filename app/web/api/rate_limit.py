"""Requests per API key, by the organization's tier (`API_RATE_LIMITS`).

Counted in Flask-Limiter's storage (Redis) with its strategy, after the key is
known, which a decorator evaluated before authentication could not do. Every
answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`; a refusal is
429 with `Retry-After`, in the API's error shape. If Redis is unreachable the
request is let through: rate limits protect capacity, not data.
"""
from __future__ import annotations

import logging
import math
import time

from flask import current_app, g
from limits import parse

from app.accounts.models import Organization
from app.errors import DomainError
from app.extensions import limiter
from app.security.models import ApiKey

log = logging.getLogger(__name__)


class RateLimited(DomainError):
    error_type = "rate_limit_error"
    status_code = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def limit_for(organization: Organization) -> str:
    limits_by_tier = current_app.config["API_RATE_LIMITS"]
    return limits_by_tier.get(organization.tier or "partner", limits_by_tier["partner"])


def check(key: ApiKey, organization: Organization) -> None:
    """Count this request against the key; raise RateLimited when over."""
    item = parse(limit_for(organization))
    try:
        allowed = limiter.limiter.hit(item, "api-key", key.public_id)
        stats = limiter.limiter.get_window_stats(item, "api-key", key.public_id)
    except Exception:  # noqa: BLE001 — storage down: fail open, loudly
        log.warning("API rate limit storage unavailable; request from %s not counted", key.public_id)
        return
    g.rate_limit_headers = {
        "X-RateLimit-Limit": str(item.amount),
        "X-RateLimit-Remaining": str(max(stats.remaining, 0)),
        "X-RateLimit-Reset": str(int(stats.reset_time)),
    }
    if not allowed:
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(f"Rate limit of {item} for this API key exceeded. Retry in {retry_after} s.", retry_after)


def add_headers(response):
    for name, value in (g.get("rate_limit_headers") or {}).items():
        response.headers[name] = value
    return response
