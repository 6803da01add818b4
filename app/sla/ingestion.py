"""SLA metrics in: record the samples instances report (and our probe takes), once each, and add every new one to
its organization's per-minute rollup in the same transaction.

A batch is all or nothing, as usage metering's is (`app/billing/usage.py`): every sample is checked before
anything is written, and a refusal names the sample (`samples[3].errors`), so the client fixes that one and sends
the whole batch again. A sample is identified by (instance, source, timestamp); the UNIQUE on those is the
idempotency, enforced by INSERT … ON CONFLICT DO NOTHING, not by a read before the write, so a re-sent sample,
whether stored already, earlier in the batch or racing in another request, is a `duplicate` and changes nothing.
Only the samples this batch inserted (RETURNING says which) reach `SlaMinute`, by one upsert per minute.

Latency comes as a histogram over `HISTOGRAM_KEYS`, or as percentiles spread over those buckets by
`histogram.from_percentiles`; both are stored as bucket counts, so minutes and months sum exactly. GPU utilization,
when sent, is checked and summed per instance and hour by `app.sla.utilization` (what cost advice reads).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app import clock
from app.db import dialect_insert
from app.errors import DomainError
from app.rental.service import instance_ids
from app.sla.histogram import BUCKET_COUNT, HISTOGRAM_KEYS, from_percentiles
from app.sla.models import BUCKET_COLUMNS, SOURCES, SlaMinute, SlaSample
from app.sla.months import CLOSE_GRACE, earliest_open_minute, month_start, whole_minute
from app.sla.utilization import Utilization, add_to_hours, checked_utilization, sample_columns

MAX_BATCH = 1000
MAX_COUNT = 10**9  # requests or errors in one sample
FUTURE_TOLERANCE = timedelta(seconds=60)  # reporters' clocks drift a little
UTILIZATION_MAX_AGE = timedelta(days=35)  # utilization-only samples, whatever the SLA month
PERCENTILES = ("p50", "p95", "p99")  # p99 optional
COUNTED = ("samples", "checks", "checks_failed", "requests", "errors") + BUCKET_COLUMNS  # what a minute sums

Key = tuple[int, datetime]  # (instance row id, sampled_at in UTC); the source is the batch's


@dataclass(frozen=True)
class SampleInput:
    """One sample as a reporter sends it (checked by `record_samples`, not here)."""

    instance: str  # ins_… public id of one of the org's instances
    timestamp: datetime | None  # aware; required for api samples (a probe's None means now)
    requests: int = 0
    errors: int = 0
    available: bool | None = None  # availability check result, None = no check
    latency_ms: dict | None = None  # {"p50": 80, "p95": 190, "p99": 350}
    latency_histogram: dict | None = None  # {"50": n, "100": n, ..., "2000": n, "+Inf": n}
    gpu_utilization: float | None = None  # percent 0–100, at most 2 decimals; both utilizations or neither
    gpu_memory_utilization: float | None = None


@dataclass(frozen=True)
class SampleResult:
    index: int  # position in the batch
    status: str  # "recorded" | "duplicate"


@dataclass(frozen=True)
class SampleBatchResult:
    results: list[SampleResult]  # one per sample sent, in order
    recorded: int
    duplicates: int


@dataclass(frozen=True)
class _Checked:
    """A sample that passed every check, in the units it is stored in."""

    index: int
    instance_id: int
    sampled_at: datetime
    requests: int
    errors: int
    available: bool | None
    buckets: tuple[int, ...]  # requests per latency bucket, BUCKET_COLUMNS order
    utilization: Utilization | None

    @property
    def key(self) -> Key:
        return self.instance_id, self.sampled_at

    def row(self, org_id: int, source: str) -> dict:
        return {"org_id": org_id, "instance_id": self.instance_id, "source": source, "sampled_at": self.sampled_at,
                "requests": self.requests, "errors": self.errors, "available": self.available,
                **dict(zip(BUCKET_COLUMNS, self.buckets)), **sample_columns(self.utilization)}


def record_samples(session: Session, org_id: int, samples: list[SampleInput], *,
                   source: str = "api") -> SampleBatchResult:
    """Record `samples` for the organization (all or none) and add the new ones to its per-minute rollups.

    Refusals are DomainErrors naming `samples` or `samples[<index>].<field>`; nothing is written then. A sample
    already stored is a duplicate without being re-checked against the clock, so retrying an accepted batch
    succeeds even after its month closed. The caller commits.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown sample source {source!r}")
    if not samples:
        raise DomainError("The batch is empty: send at least one sample.", field="samples")
    if len(samples) > MAX_BATCH:
        raise DomainError(f"A batch holds at most {MAX_BATCH:,} samples; this one has {len(samples):,}. "
                          "Split it.", field="samples")
    now = clock.utcnow()
    instances = instance_ids(session, org_id, (sample.instance for sample in samples))
    stored = _stored_keys(session, source, _candidate_keys(samples, instances))
    checked = [_checked(index, sample, instances, stored, source, now) for index, sample in enumerate(samples)]
    first: dict[Key, _Checked] = {}
    for sample in checked:
        first.setdefault(sample.key, sample)  # a later copy in the batch is a duplicate
    new = [sample for key, sample in first.items() if key not in stored]
    inserted = _insert_samples(session, org_id, source, new)
    recorded = [sample for sample in new if sample.key in inserted]
    # A utilization-only sample says nothing of availability: as a minute of its own it would count as observed, up.
    _add_to_minutes(session, org_id, [s for s in recorded if s.requests or s.available is not None])
    add_to_hours(session, org_id, [(s.instance_id, s.sampled_at, s.utilization) for s in recorded
                                   if s.utilization is not None])
    recorded_at = {first[key].index for key in inserted}
    results = [SampleResult(index, "recorded" if index in recorded_at else "duplicate")
               for index in range(len(samples))]
    return SampleBatchResult(results, len(recorded_at), len(samples) - len(recorded_at))


def _candidate_keys(samples: list[SampleInput], instances: dict[str, int]) -> set[Key]:
    """The keys of the samples well-formed enough to have one (the others are refused by the checks)."""
    keys = set()
    for sample in samples:
        instance_id = instances.get(sample.instance) if isinstance(sample.instance, str) else None
        moment = sample.timestamp
        if instance_id is not None and isinstance(moment, datetime) and moment.tzinfo is not None:
            keys.add((instance_id, moment.astimezone(timezone.utc)))
    return keys


def _stored_keys(session: Session, source: str, keys: set[Key]) -> set[Key]:
    if not keys:
        return set()
    moments = {moment for _, moment in keys}
    # The range lets the UNIQUE index seek to the batch's minutes; the IN list alone made PostgreSQL read every
    # sample of the instances, slower with every batch.
    rows = session.execute(select(SlaSample.instance_id, SlaSample.sampled_at).where(
        SlaSample.source == source, SlaSample.instance_id.in_({instance_id for instance_id, _ in keys}),
        SlaSample.sampled_at.between(min(moments), max(moments)), SlaSample.sampled_at.in_(moments)))
    return {(instance_id, moment) for instance_id, moment in rows} & keys


def _refuse(index: int, name: str | None, why: str) -> DomainError:
    field = f"samples[{index}]" if name is None else f"samples[{index}].{name}"
    return DomainError(f"Sample {index}: {why}", field=field)


def _checked(index: int, sample: SampleInput, instances: dict[str, int], stored: set[Key], source: str,
             now: datetime) -> _Checked:
    """Sample `index`, checked field by field (the first fault found is the refusal)."""
    instance_id = instances.get(sample.instance) if isinstance(sample.instance, str) else None
    if instance_id is None:
        shown = repr(sample.instance[:60]) if isinstance(sample.instance, str) else "(none)"
        raise _refuse(index, "instance", f"unknown instance {shown}: not one of this organization's instances.")
    sampled_at = _checked_time(index, sample.timestamp, source, now)
    requests = _checked_count(index, "requests", sample.requests)
    errors = _checked_count(index, "errors", sample.errors)
    if errors > requests:
        raise _refuse(index, "errors", f"errors ({errors:,}) cannot exceed requests ({requests:,}).")
    available = sample.available
    if available is not None and not isinstance(available, bool):
        raise _refuse(index, "available", "available must be true, false or null (no availability check).")
    utilization = checked_utilization(index, sample.gpu_utilization, sample.gpu_memory_utilization)
    if requests == 0 and available is None and utilization is None:
        raise _refuse(index, None, "the sample says nothing: send requests above 0, an availability check "
                                   "result (available), or GPU utilization.")
    if (instance_id, sampled_at) not in stored:
        _check_window(index, sampled_at, now, sla_data=requests > 0 or available is not None)
    buckets = _checked_buckets(index, sample, requests)
    return _Checked(index, instance_id, sampled_at, requests, errors, available, buckets, utilization)


def _checked_time(index: int, timestamp, source: str, now: datetime) -> datetime:
    if timestamp is None:
        if source == "api":
            raise _refuse(index, "timestamp", "timestamp is required, e.g. 2026-11-14T10:00:00Z.")
        return now
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise _refuse(index, "timestamp", "timestamp needs a time zone, e.g. 2026-11-14T10:00:00Z.")
    return timestamp.astimezone(timezone.utc)


def _check_window(index: int, sampled_at: datetime, now: datetime, *, sla_data: bool) -> None:
    """Not ahead of the clock (beyond its drift), and, when it says something the SLA judges (requests or an
    availability check), not in a month already closed (its report is made). A utilization-only sample changes no
    SLA figure, so it may be up to UTILIZATION_MAX_AGE old: cost advice looks back a fortnight, whatever the month."""
    if sampled_at > now + FUTURE_TOLERANCE:
        raise _refuse(index, "timestamp", f"{sampled_at.isoformat()} is more than "
                                          f"{int(FUTURE_TOLERANCE.total_seconds())} seconds in the future.")
    if not sla_data:
        if sampled_at < now - UTILIZATION_MAX_AGE:
            raise _refuse(index, "timestamp", f"{sampled_at.isoformat()} is more than "
                                              f"{UTILIZATION_MAX_AGE.days} days old.")
        return
    if sampled_at < earliest_open_minute(now):
        grace = int(CLOSE_GRACE.total_seconds()) // 60
        raise _refuse(index, "timestamp", f"{sampled_at.isoformat()} falls in {month_start(sampled_at):%B %Y}, "
                                          f"whose SLA month is closed (samples are accepted until {grace} "
                                          "minutes after their month ends).")


def _checked_count(index: int, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(index, name, f"{name} must be a whole number (an integer, not a string or a decimal).")
    if not 0 <= value <= MAX_COUNT:
        raise _refuse(index, name, f"{name} must be between 0 and {MAX_COUNT:,}; got {value:,}.")
    return value


def _checked_buckets(index: int, sample: SampleInput, requests: int) -> tuple[int, ...]:
    """The sample's requests per latency bucket: from its histogram, its percentiles, or none given (zeros)."""
    if sample.latency_ms is not None and sample.latency_histogram is not None:
        raise _refuse(index, "latency_ms", "send latency_ms (percentiles) or latency_histogram, not both.")
    if sample.latency_ms is not None:
        return _from_percentiles(index, sample.latency_ms, requests)
    if sample.latency_histogram is not None:
        return _from_histogram(index, sample.latency_histogram, requests)
    return (0,) * BUCKET_COUNT


def _from_percentiles(index: int, latency, requests: int) -> tuple[int, ...]:
    if not isinstance(latency, dict):
        raise _refuse(index, "latency_ms", 'latency_ms must be an object like {"p50": 80, "p95": 190, "p99": 350}.')
    for key in latency:
        if key not in PERCENTILES:
            raise _refuse(index, f"latency_ms.{key}", f"unknown percentile {str(key)[:20]!r}; use p50, p95, p99.")
    values = {}
    for key in PERCENTILES:
        value = latency.get(key)
        if value is None:
            if key != "p99":
                raise _refuse(index, f"latency_ms.{key}", f"latency_ms needs {key}.")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not math.isfinite(value):
            raise _refuse(index, f"latency_ms.{key}", f"{key} must be a number of milliseconds.")
        if value < 0:
            raise _refuse(index, f"latency_ms.{key}", f"{key} cannot be below zero; got {value}.")
        values[key] = value
    given = [values[key] for key in PERCENTILES if key in values]
    if given != sorted(given):
        raise _refuse(index, "latency_ms", "percentiles must not decrease: p50 ≤ p95 ≤ p99.")
    if requests == 0:
        raise _refuse(index, "latency_ms", "latency needs requests: a sample without requests has no latency.")
    return tuple(from_percentiles(requests, values["p50"], values["p95"], values.get("p99")))


def _from_histogram(index: int, histogram, requests: int) -> tuple[int, ...]:
    if not isinstance(histogram, dict):
        raise _refuse(index, "latency_histogram", "latency_histogram must be an object of request counts per "
                                                  f"bucket: {', '.join(HISTOGRAM_KEYS)}.")
    for key, count in histogram.items():
        if key not in HISTOGRAM_KEYS:
            raise _refuse(index, "latency_histogram", f"unknown bucket {str(key)[:20]!r}; the buckets are "
                                                      f"{', '.join(HISTOGRAM_KEYS)} (upper bounds in ms).")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _refuse(index, f"latency_histogram.{key}", "a bucket's count must be a whole number ≥ 0.")
    counted = sum(histogram.values())
    if counted != requests:
        raise _refuse(index, "latency_histogram", f"the histogram counts {counted:,} requests, but requests "
                                                  f"says {requests:,}; they must be equal.")
    return tuple(histogram.get(key, 0) for key in HISTOGRAM_KEYS)


def _insert_samples(session: Session, org_id: int, source: str, new: list[_Checked]) -> set[Key]:
    """Insert the new samples; returns the keys this statement stored (a racing request may have stored others).

    Rows go in key order, so two batches sharing samples wait for each other in the same order (no deadlock).
    """
    if not new:
        return set()
    table = SlaSample.__table__
    rows = [sample.row(org_id, source) for sample in sorted(new, key=lambda s: s.key)]
    statement = (dialect_insert(session, table)
                 .on_conflict_do_nothing(index_elements=["instance_id", "source", "sampled_at"])
                 .returning(table.c.instance_id, table.c.sampled_at))
    return {(instance_id, sampled_at) for instance_id, sampled_at in session.execute(statement, rows)}


def _add_to_minutes(session: Session, org_id: int, inserted: list[_Checked]) -> None:
    """Sum the inserted samples per minute here, then one upsert per minute, in minute order (the same lock order
    for every batch): racing batches queue on the minute's row and each adds exactly its own samples."""
    if not inserted:
        return
    minutes: dict[datetime, Counter] = {}
    for sample in inserted:
        total = minutes.setdefault(whole_minute(sample.sampled_at), Counter())
        total.update({"samples": 1, "checks": int(sample.available is not None),
                      "checks_failed": int(sample.available is False), "requests": sample.requests,
                      "errors": sample.errors, **dict(zip(BUCKET_COLUMNS, sample.buckets))})
    rows = [{"org_id": org_id, "minute": minute, **{name: total[name] for name in COUNTED}}
            for minute, total in sorted(minutes.items())]
    table = SlaMinute.__table__
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "minute"],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTED})
    try:
        with session.begin_nested():
            session.execute(statement, rows)
    except DataError:  # PostgreSQL's 32-bit bucket counts: over 35 million requests a second in one bucket
        raise DomainError("These samples would take one minute's count of requests in a latency bucket past "
                          "2,147,483,647; report fewer requests per minute.", field="samples") from None
