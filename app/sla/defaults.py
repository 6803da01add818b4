"""The SLA table of PRODUCT.md and the service-credit ladders, as seeded (the migration holds a frozen copy)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

SEEDED_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Objectives:
    uptime_percent: Decimal
    latency_p95_ms: int
    throughput_rps: int
    error_rate_percent: Decimal
    # (uptime below, credit percent of the month's plan fee), highest threshold first.
    credit_steps: tuple[tuple[Decimal, int], ...]


def _ladder(*steps: tuple[str, int]) -> tuple[tuple[Decimal, int], ...]:
    return tuple((Decimal(below), percent) for below, percent in steps)


# As the big clouds do (AWS compute): 10% below the objective, 25% below 99.0%, 100% below 95.0%. Free's
# objective is 95% itself, so its ladder steps down from there (its plan fee is 0, so are its credits).
DEFAULT_OBJECTIVES: dict[str, Objectives] = {
    "free": Objectives(Decimal("95"), 1000, 10, Decimal("5"), _ladder(("95", 10), ("90", 25), ("80", 100))),
    "pro": Objectives(Decimal("99.5"), 500, 100, Decimal("1"), _ladder(("99.5", 10), ("99.0", 25), ("95.0", 100))),
    "enterprise": Objectives(Decimal("99.9"), 200, 1000, Decimal("0.1"),
                             _ladder(("99.9", 10), ("99.0", 25), ("95.0", 100))),
}
