"""SLA figures of a window, computed by the database from the per-minute rollups.

One GROUP BY over `sla_minutes` gives every organization's observed minutes, down minutes, requests, errors,
peak minute and summed latency buckets; Python only turns those few numbers per organization into percentages.
A minute is down when one of its availability checks failed or its error rate exceeds the tier's error-rate
objective. Minutes without a rollup row have no data: they are neither up nor down, and a window with fewer
observed minutes than elapsed ones is *partial* (uptime is then over the observed minutes, and says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.sla.histogram import percentile, shown_latency
from app.sla.models import BUCKET_COLUMNS, TIERS, SlaDefinition, SlaMinute
from app.sla.months import minutes_between, whole_minute

HUNDRED = Decimal(100)
P95 = Decimal("0.95")


@dataclass(frozen=True)
class Figures:
    """What a window measured for one organization. `end` is capped at the evaluation time."""

    start: datetime
    end: datetime
    minutes_expected: int
    minutes_observed: int = 0
    down_minutes: int = 0
    requests: int = 0
    errors: int = 0
    peak_minute_requests: int = 0
    buckets: tuple[int, ...] = (0,) * len(BUCKET_COLUMNS)

    @property
    def has_data(self) -> bool:
        return self.minutes_observed > 0

    @property
    def partial(self) -> bool:
        return self.minutes_observed < self.minutes_expected

    @property
    def uptime_exact(self) -> Decimal | None:
        """100 × up minutes ÷ observed minutes, exact (compare this one with objectives); None without data."""
        if not self.has_data:
            return None
        return HUNDRED * (self.minutes_observed - self.down_minutes) / self.minutes_observed

    @property
    def uptime(self) -> Decimal | None:
        """Uptime for display: rounded *down* to 3 decimals, so a breach never shows as meeting the objective."""
        exact = self.uptime_exact
        return None if exact is None else exact.quantize(Decimal("0.001"), rounding=ROUND_FLOOR)

    @property
    def coverage(self) -> Decimal:
        """Percent of the window's minutes that have data (rounded down to 0.1)."""
        if self.minutes_expected == 0:
            return Decimal(0)
        share = HUNDRED * self.minutes_observed / self.minutes_expected
        return share.quantize(Decimal("0.1"), rounding=ROUND_FLOOR)

    @property
    def error_rate_exact(self) -> Decimal | None:
        return None if self.requests == 0 else HUNDRED * self.errors / self.requests

    @property
    def error_rate(self) -> Decimal | None:
        """Percent of requests that failed, rounded *up* to 4 decimals; None without requests."""
        exact = self.error_rate_exact
        return None if exact is None else exact.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)

    @property
    def latency_p95_exact(self) -> Decimal | None:
        return percentile(self.buckets, P95)

    @property
    def latency_p95(self) -> Decimal | None:
        return shown_latency(self.latency_p95_exact)

    @property
    def peak_rps(self) -> Decimal | None:
        """The busiest minute's requests per second (1 decimal), the throughput the platform delivered at peak."""
        if not self.has_data:
            return None
        return (Decimal(self.peak_minute_requests) / 60).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)

    @property
    def mean_rps(self) -> Decimal | None:
        if not self.has_data:
            return None
        return (Decimal(self.requests) / (60 * self.minutes_observed)).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


def error_threshold(definitions: dict[str, SlaDefinition], tier_column):
    """The tier's error-rate objective in thousandths of a percent (definitions have at most 3 decimals), as SQL."""
    return case({tier: int(definition.error_rate_percent * 1000) for tier, definition in definitions.items()},
                value=tier_column, else_=0)


def minute_is_down(minutes, definitions: dict[str, SlaDefinition], tier_column):
    """SQL: 1 for a down minute. errors/requests > objective% ⟺ errors × 100,000 > requests × objective × 1,000."""
    threshold = error_threshold(definitions, tier_column)
    return case((or_(minutes.c.checks_failed > 0, minutes.c.errors * 100_000 > minutes.c.requests * threshold), 1),
                else_=0)


def aggregate_columns(minutes, definitions: dict[str, SlaDefinition], tier_column) -> list:
    """The SELECT list a window's Figures are built from (`figures_from_row` reads it in this order)."""
    return [func.count(), func.sum(minute_is_down(minutes, definitions, tier_column)), func.sum(minutes.c.requests),
            func.sum(minutes.c.errors), func.max(minutes.c.requests),
            *[func.sum(minutes.c[name]) for name in BUCKET_COLUMNS]]


def figures_from_row(row, start: datetime, end: datetime) -> Figures:
    observed, down, requests, errors, peak, *buckets = row
    return Figures(start, end, minutes_between(start, end), int(observed), int(down or 0), int(requests or 0),
                   int(errors or 0), int(peak or 0), tuple(int(b or 0) for b in buckets))


def evaluate(session: Session, start: datetime, end: datetime, definitions: dict[str, SlaDefinition], *,
             now: datetime, org_ids: list[int] | None = None) -> dict[int, Figures]:
    """Figures of [start, min(end, now)) per organization that has data in it (all, or those in `org_ids`).

    `definitions` (tier → definition) decide which minutes are down; organizations with no rollup rows in the
    window are absent (see `empty`). The minute in progress is left out: it is neither expected nor observed yet."""
    end = min(end, whole_minute(now))
    minutes, orgs = SlaMinute.__table__, Organization.__table__
    statement = (select(minutes.c.org_id, *aggregate_columns(minutes, definitions, orgs.c.tier))
                 .join(orgs, orgs.c.id == minutes.c.org_id)
                 .where(minutes.c.minute >= start, minutes.c.minute < end)
                 .group_by(minutes.c.org_id))
    if org_ids is not None:
        statement = statement.where(minutes.c.org_id.in_(org_ids))
    return {row[0]: figures_from_row(row[1:], start, end) for row in session.execute(statement)}


def evaluate_org(session: Session, org_id: int, start: datetime, end: datetime, definition: SlaDefinition, *,
                 now: datetime) -> Figures:
    """One organization's Figures of a window (empty ones when it has no data there)."""
    every_tier = {tier: definition for tier in TIERS}  # whatever the organization's tier, this definition judges
    figures = evaluate(session, start, end, every_tier, now=now, org_ids=[org_id])
    return figures.get(org_id) or empty(start, min(end, whole_minute(now)))


def empty(start: datetime, end: datetime) -> Figures:
    return Figures(start, end, minutes_between(start, end))
