"""Latency as a fixed histogram (`LATENCY_BOUNDS_MS`): samples, minutes and months all sum bucket by bucket, so a
month's p95 is computed from its summed buckets in the database, not from every request.

Samples may send percentiles instead; they are spread over the buckets of the values given (half the requests
in p50's bucket, 45% in p95's, the slowest 5% in p99's, or p95's without a p99), which puts the month's p95 in
the bucket the reporters said it was in.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from app.sla.models import BUCKET_COLUMNS, LATENCY_BOUNDS_MS

BUCKET_COUNT = len(BUCKET_COLUMNS)
# The keys a histogram sample may use, in bucket order: "50", "100", …, "2000", "+Inf".
HISTOGRAM_KEYS = tuple(str(bound) for bound in LATENCY_BOUNDS_MS) + ("+Inf",)


def bucket_of(latency_ms) -> int:
    """The index of the bucket a latency falls in (a value on a bound belongs to that bound's bucket)."""
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if latency_ms <= bound:
            return index
    return BUCKET_COUNT - 1


def from_percentiles(requests: int, p50, p95, p99=None) -> list[int]:
    """`requests` spread over the buckets of the percentiles (see the module docstring)."""
    buckets = [0] * BUCKET_COUNT
    fastest = requests * 50 // 100
    slowest = requests * 5 // 100
    buckets[bucket_of(p50)] += fastest
    buckets[bucket_of(p99 if p99 is not None else p95)] += slowest
    buckets[bucket_of(p95)] += requests - fastest - slowest
    return buckets


def percentile(buckets, fraction: Decimal = Decimal("0.95")) -> Decimal | None:
    """The latency (ms) below which `fraction` of the requests fall, interpolated linearly inside its bucket (as
    Prometheus' histogram_quantile does); None without requests. Exact at the bounds: when the requests at or
    under a bound are at least `fraction` of all, the result is at most that bound. A percentile in the open
    last bucket is reported as its lower bound, 2000 ms."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = fraction * total
    below = 0
    for index, count in enumerate(buckets):
        if count and below + count >= rank:
            if index == BUCKET_COUNT - 1:
                return Decimal(LATENCY_BOUNDS_MS[-1])
            lower = Decimal(LATENCY_BOUNDS_MS[index - 1]) if index else Decimal(0)
            upper = Decimal(LATENCY_BOUNDS_MS[index])
            return lower + (upper - lower) * (rank - below) / count
        below += count
    return Decimal(LATENCY_BOUNDS_MS[-1])  # pragma: no cover — the loop always reaches the rank


def shown_latency(value: Decimal | None) -> Decimal | None:
    """A latency for display and storage: rounded up to 0.1 ms, so a p95 over its objective never shows as on it."""
    return None if value is None else value.quantize(Decimal("0.1"), rounding=ROUND_CEILING)
