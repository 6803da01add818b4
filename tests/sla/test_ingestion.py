"""Metrics in, at the service: samples recorded once each (idempotent per instance, source and timestamp), summed
into their organization's minute, percentiles and histograms stored as buckets, every bad input refused with the
sample and field named and nothing written — and racing batches counting each sample exactly once."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import clock
from app.errors import DomainError
from app.rental.models import Instance
from app.sla.histogram import from_percentiles, percentile
from app.sla.ingestion import MAX_BATCH, SampleBatchResult, SampleInput, record_samples
from app.sla.models import BUCKET_COLUMNS, SlaMinute, SlaSample
from tests.sla.conftest import NOW
from tests.support import failures, race

AT = NOW - timedelta(hours=2)  # 2026-11-14 10:00 UTC
ZERO = (0,) * len(BUCKET_COLUMNS)


def sample(instance, at: datetime | None = AT, **fields) -> SampleInput:
    """A sample of `instance` (an Instance, or whatever is to be sent as its id) at `at`."""
    public_id = instance.public_id if isinstance(instance, Instance) else instance
    return SampleInput(instance=public_id, timestamp=at, **fields)


def send(db, org_id: int, samples: list[SampleInput], source: str = "api") -> SampleBatchResult:
    """Record through the service and commit, as the API does."""
    result = record_samples(db, org_id, samples, source=source)
    db.commit()
    return result


def minute(db, org_id: int, at: datetime) -> dict | None:
    """The rollup of `at`'s minute: counts and the bucket tuple."""
    db.expire_all()
    row = db.get(SlaMinute, (org_id, at.replace(second=0, microsecond=0)))
    if row is None:
        return None
    return {"samples": row.samples, "checks": row.checks, "checks_failed": row.checks_failed,
            "requests": row.requests, "errors": row.errors,
            "buckets": tuple(getattr(row, name) for name in BUCKET_COLUMNS)}


def stored(db) -> tuple[int, int]:
    """(samples stored, rollup minutes): what a refusal must leave at zero."""
    return (db.scalar(select(func.count()).select_from(SlaSample)),
            db.scalar(select(func.count()).select_from(SlaMinute)))


def second_instance(db, org_id: int) -> Instance:
    instance = Instance(org_id=org_id, name="second-gpu", gpu_type="H100", hourly_rate=3_99, currency="USD")
    db.add(instance)
    db.commit()
    return instance


def test_a_sample_is_recorded_once_and_a_resent_one_changes_nothing(db, customers):
    acme = customers.acme
    reported = sample(acme.instance, requests=6000, errors=3, available=True,
                      latency_ms={"p50": 80, "p95": 190, "p99": 350})

    first = send(db, acme.org.id, [reported])
    assert (first.recorded, first.duplicates, [r.status for r in first.results]) == (1, 0, ["recorded"])
    expected = {"samples": 1, "checks": 1, "checks_failed": 0, "requests": 6000, "errors": 3,
                "buckets": (0, 3000, 2700, 0, 300, 0, 0, 0)}  # half at p50, 45% at p95, the slowest 5% at p99
    assert minute(db, acme.org.id, AT) == expected

    again = send(db, acme.org.id, [reported])
    assert (again.recorded, again.duplicates, again.results[0].status) == (0, 1, "duplicate")
    assert minute(db, acme.org.id, AT) == expected and stored(db) == (1, 1)


def test_duplicates_within_a_batch_and_across_batches_count_once(db, customers):
    acme = customers.acme
    a, b, c = (sample(acme.instance, AT + timedelta(seconds=s), requests=100, available=True) for s in (0, 10, 20))
    a_again_otherwise = sample(acme.instance, AT, requests=999, errors=999, available=False)  # same key as a
    # The same instant in another time zone is the same sample.
    b_elsewhere = sample(acme.instance, (AT + timedelta(seconds=10)).astimezone(timezone(timedelta(hours=-5))),
                         requests=100, available=True)

    first = send(db, acme.org.id, [a, a_again_otherwise, b, b_elsewhere])
    assert [r.status for r in first.results] == ["recorded", "duplicate", "recorded", "duplicate"]
    assert (first.recorded, first.duplicates) == (2, 2)
    second = send(db, acme.org.id, [b, c])
    assert [r.status for r in second.results] == ["duplicate", "recorded"]
    assert minute(db, acme.org.id, AT) == {"samples": 3, "checks": 3, "checks_failed": 0, "requests": 300,
                                           "errors": 0, "buckets": ZERO}
    assert stored(db) == (3, 1)


def test_the_probe_and_the_reporter_are_distinct_sources(db, customers):
    acme = customers.acme
    clock.freeze(AT)
    send(db, acme.org.id, [sample(acme.instance, AT, requests=10)])
    probe = send(db, acme.org.id, [sample(acme.instance, None, available=False)], source="probe")  # None: now

    assert probe.results[0].status == "recorded"
    assert minute(db, acme.org.id, AT) == {"samples": 2, "checks": 1, "checks_failed": 1, "requests": 10,
                                           "errors": 0, "buckets": ZERO}


def test_samples_of_one_minute_from_two_instances_sum_into_one_row(db, customers):
    acme, globex = customers.acme, customers.globex
    other = second_instance(db, acme.org.id)
    send(db, acme.org.id, [
        sample(acme.instance, AT + timedelta(seconds=5), requests=1000, errors=10, available=True,
               latency_histogram={"50": 400, "100": 500, "200": 100}),
        sample(other, AT + timedelta(seconds=45), requests=500, errors=5, available=False,
               latency_ms={"p50": 40, "p95": 250}),
        sample(other, AT + timedelta(minutes=1), requests=7, available=True),  # the next minute
    ])
    send(db, globex.org.id, [sample(globex.instance, AT + timedelta(seconds=30), requests=3, available=True)])

    assert minute(db, acme.org.id, AT) == {
        "samples": 2, "checks": 2, "checks_failed": 1, "requests": 1500, "errors": 15,
        "buckets": tuple(x + y for x, y in zip((400, 500, 100, 0, 0, 0, 0, 0), from_percentiles(500, 40, 250)))}
    assert minute(db, acme.org.id, AT + timedelta(minutes=1))["requests"] == 7
    assert minute(db, globex.org.id, AT) == {"samples": 1, "checks": 1, "checks_failed": 0, "requests": 3,
                                             "errors": 0, "buckets": ZERO}


@pytest.mark.parametrize(("p95", "low", "high"), [(190, 100, 200), (200, 100, 200), (201, 200, 300),
                                                  (450, 300, 500), (2500, 2000, 2000)])
def test_reported_percentiles_put_the_p95_in_its_bucket(db, customers, p95, low, high):
    acme = customers.acme
    send(db, acme.org.id, [sample(acme.instance, requests=1000, latency_ms={"p50": 20, "p95": p95})])

    measured = percentile(minute(db, acme.org.id, AT)["buckets"])
    assert low < measured <= high or measured == low == high, measured


def test_a_histogram_is_stored_bucket_by_bucket(db, customers):
    acme = customers.acme
    send(db, acme.org.id, [sample(acme.instance, requests=35, latency_histogram={"50": 10, "100": 20, "+Inf": 5})])
    assert minute(db, acme.org.id, AT)["buckets"] == (10, 20, 0, 0, 0, 0, 0, 5)


def _bad_cases(customers):
    globex_instance = customers.globex.instance.public_id
    good_latency = {"p50": 80, "p95": 190}
    return [
        ({"at": NOW + timedelta(seconds=61)}, "timestamp", "in the future"),
        ({"at": datetime(2026, 10, 31, 23, 59, 59, tzinfo=timezone.utc)}, "timestamp", "October 2026, whose SLA "
                                                                                      "month is closed"),
        ({"at": None}, "timestamp", "required"),
        ({"at": datetime(2026, 11, 14, 10, 0)}, "timestamp", "time zone"),
        ({"instance": "ins_doesnotexist"}, "instance", "unknown instance"),
        ({"instance": globex_instance}, "instance", "unknown instance"),  # another organization's
        ({"instance": None}, "instance", "unknown instance"),
        ({"requests": -1}, "requests", "between 0 and"),
        ({"requests": 10**9 + 1}, "requests", "between 0 and"),
        ({"requests": True}, "requests", "whole number"),
        ({"requests": 1.5}, "requests", "whole number"),
        ({"requests": "10"}, "requests", "whole number"),
        ({"errors": -1}, "errors", "between 0 and"),
        ({"requests": 10, "errors": 11}, "errors", "cannot exceed requests"),
        ({"available": 1}, "available", "true, false or null"),
        ({"requests": 0, "available": None}, None, "says nothing"),
        ({"latency_ms": {"p50": -1, "p95": 190}}, "latency_ms.p50", "below zero"),
        ({"latency_ms": {"p50": 80, "p95": -0.5}}, "latency_ms.p95", "below zero"),
        ({"latency_ms": {"p50": 80}}, "latency_ms.p95", "needs p95"),
        ({"latency_ms": {"p50": True, "p95": 190}}, "latency_ms.p50", "number of milliseconds"),
        ({"latency_ms": {"p50": float("nan"), "p95": 190}}, "latency_ms.p50", "number of milliseconds"),
        ({"latency_ms": {**good_latency, "p90": 150}}, "latency_ms.p90", "unknown percentile"),
        ({"latency_ms": {"p50": 200, "p95": 190}}, "latency_ms", "must not decrease"),
        ({"latency_ms": {**good_latency, "p99": 100}}, "latency_ms", "must not decrease"),
        ({"requests": 0, "available": True, "latency_ms": good_latency}, "latency_ms", "needs requests"),
        ({"latency_ms": good_latency, "latency_histogram": {"50": 10}}, "latency_ms", "not both"),
        ({"latency_histogram": {"50": 6, "+Inf": 3}}, "latency_histogram", "counts 9 requests, but requests says 10"),
        ({"latency_histogram": {"75": 10}}, "latency_histogram", "unknown bucket"),
        ({"latency_histogram": {"50": 11, "100": -1}}, "latency_histogram.100", "whole number ≥ 0"),
        ({"latency_histogram": [10]}, "latency_histogram", "must be an object"),
    ]


def test_every_bad_input_is_refused_naming_the_sample_and_nothing_is_written(db, customers):
    acme = customers.acme
    good = {"at": AT, "requests": 10, "errors": 0, "available": True}
    for change, field, words in _bad_cases(customers):
        fields = {**good, **change}
        bad = sample(fields.pop("instance", acme.instance), fields.pop("at"), **fields)
        with pytest.raises(DomainError) as refusal:
            send(db, acme.org.id, [sample(acme.instance, requests=5, available=True), bad])
        db.rollback()
        assert refusal.value.field == ("samples[1]" if field is None else f"samples[1].{field}"), change
        assert refusal.value.message.startswith("Sample 1: ") and words in refusal.value.message, (
            change, refusal.value.message)
    assert stored(db) == (0, 0)


def test_empty_and_oversized_batches_are_refused_whole(db, customers):
    acme = customers.acme
    with pytest.raises(DomainError, match="empty") as empty:
        send(db, acme.org.id, [])
    samples = [sample(acme.instance, AT + timedelta(seconds=s), requests=1) for s in range(MAX_BATCH + 1)]
    with pytest.raises(DomainError, match="at most 1,000 samples; this one has 1,001") as oversized:
        send(db, acme.org.id, samples)
    db.rollback()
    assert empty.value.field == oversized.value.field == "samples" and stored(db) == (0, 0)
    assert send(db, acme.org.id, samples[:MAX_BATCH]).recorded == MAX_BATCH


def test_the_clock_limits_and_the_closing_month(db, customers):
    """60 s ahead is accepted, a second more is not; last month is open for 15 minutes after it ends, and a sample
    stored then is still answered duplicate (not refused) when re-sent after the month closed."""
    acme = customers.acme
    assert send(db, acme.org.id, [sample(acme.instance, NOW + timedelta(seconds=60), requests=1)]).recorded == 1
    last_of_november = datetime(2026, 11, 30, 23, 59, 30, tzinfo=timezone.utc)
    late = sample(acme.instance, last_of_november, requests=5, available=True)

    clock.freeze(datetime(2026, 12, 1, 0, 14, 59, tzinfo=timezone.utc))
    assert send(db, acme.org.id, [late]).recorded == 1
    clock.freeze(datetime(2026, 12, 1, 0, 15, tzinfo=timezone.utc))
    assert send(db, acme.org.id, [late]).results[0].status == "duplicate"
    with pytest.raises(DomainError, match="November 2026, whose SLA month is closed") as refusal:
        send(db, acme.org.id, [sample(acme.instance, last_of_november + timedelta(seconds=1), requests=5)])
    db.rollback()
    assert refusal.value.field == "samples[0].timestamp"
    assert minute(db, acme.org.id, last_of_november)["requests"] == 5


THREADS = 8
WINDOW, STEP = 16, 6  # thread t sends samples t*6 … t*6+15 of each instance: each window overlaps its neighbours


def _race(app, org_id: int, batches: list[list[SampleInput]]) -> tuple[list, list]:
    outcomes = race(app, lambda session, samples: record_samples(session, org_id, samples), batches)
    errors = failures(outcomes)
    return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)], errors


def test_overlapping_concurrent_batches_count_each_sample_once(app, db, customers):
    acme = customers.acme
    instances = [acme.instance, second_instance(db, acme.org.id)]
    count = STEP * (THREADS - 1) + WINDOW  # 58 timestamps, every 20 s: three per minute per instance
    series = {instance.public_id: [sample(instance, AT + timedelta(seconds=20 * k), requests=100 + k, errors=k % 3,
                                          available=k % 7 != 0, latency_ms={"p50": 40 + k, "p95": 150 + 5 * k})
                                   for k in range(count)] for instance in instances}
    batches = []
    for t in range(THREADS):
        window = [s for samples in series.values() for s in samples[t * STEP:t * STEP + WINDOW]]
        random.Random(t).shuffle(window)
        batches.append(window)

    results, errors = _race(app, acme.org.id, batches)

    assert errors == [], [repr(e) for e in errors]
    distinct = [s for samples in series.values() for s in samples]
    assert sum(r.recorded for r in results) == len(distinct) == stored(db)[0]
    assert sum(r.duplicates for r in results) == THREADS * 2 * WINDOW - len(distinct)
    expected: dict[datetime, dict] = {}
    for s in distinct:
        row = expected.setdefault(s.timestamp.replace(second=0), {"samples": 0, "checks": 0, "checks_failed": 0,
                                                                  "requests": 0, "errors": 0, "buckets": ZERO})
        row.update(samples=row["samples"] + 1, checks=row["checks"] + 1,
                   checks_failed=row["checks_failed"] + (not s.available), requests=row["requests"] + s.requests,
                   errors=row["errors"] + s.errors,
                   buckets=tuple(x + y for x, y in zip(row["buckets"], from_percentiles(s.requests, **s.latency_ms))))
    assert {at: minute(db, acme.org.id, at) for at in expected} == expected
    assert stored(db)[1] == len(expected) == 20


def test_a_minute_whose_bucket_count_would_overflow_is_refused_not_a_500(db, customers):
    """PostgreSQL's bucket counts are 32-bit: three samples of a billion requests in one minute and bucket would
    overflow them. The batch is refused with a message; SQLite's integers are 64-bit and take it."""
    at = NOW.replace(second=0) - timedelta(minutes=3)
    samples = [SampleInput(instance=customers.acme.instance.public_id, timestamp=at + timedelta(seconds=i),
                           requests=10**9, latency_histogram={"50": 10**9}) for i in range(3)]
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DomainError) as refused:
            record_samples(db, customers.acme.org.id, samples)
        assert refused.value.field == "samples"
        db.rollback()
        assert db.scalar(select(func.count()).select_from(SlaSample)) == 0
    else:
        assert record_samples(db, customers.acme.org.id, samples).recorded == 3
