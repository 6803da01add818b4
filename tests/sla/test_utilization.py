"""GPU utilization on metrics samples: stored as basis points, summed per instance and UTC hour into
`InstanceHour` (sums and maxima, across samples and batches, each new sample once), and every bad figure refused
with the sample and field named and nothing written — at the service and through POST /api/v1/metrics."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.rental.models import Instance
from app.security import api_keys
from app.sla.ingestion import SampleInput, record_samples
from app.sla.models import InstanceHour, SlaMinute, SlaSample
from tests.sla.conftest import NOW
from tests.support import failures, race

AT = NOW - timedelta(hours=2)  # 2026-11-14 10:00 UTC


def sample(instance, at: datetime = AT, gpu=None, memory=None, **fields) -> SampleInput:
    return SampleInput(instance=instance.public_id, timestamp=at, gpu_utilization=gpu, gpu_memory_utilization=memory,
                       **fields)


def send(db, org_id: int, samples: list[SampleInput]):
    result = record_samples(db, org_id, samples)
    db.commit()
    return result


def stored_bp(db) -> list[tuple]:
    db.expire_all()
    return db.execute(select(SlaSample.sampled_at, SlaSample.gpu_utilization_bp, SlaSample.gpu_memory_utilization_bp)
                      .order_by(SlaSample.sampled_at)).all()


def hours(db) -> dict[tuple[int, datetime], tuple]:
    """(instance id, hour) → (org id, samples, GPU sum, GPU max, memory sum, memory max)."""
    db.expire_all()
    return {(h.instance_id, h.hour): (h.org_id, h.samples, h.gpu_sum_bp, h.gpu_max_bp, h.memory_sum_bp,
                                      h.memory_max_bp) for h in db.scalars(select(InstanceHour))}


def counts(db) -> tuple[int, int, int]:
    """(samples, rollup minutes, instance hours): what a refusal must leave at zero."""
    return tuple(db.scalar(select(func.count()).select_from(table)) for table in (SlaSample, SlaMinute, InstanceHour))


def second_instance(db, org_id: int) -> Instance:
    instance = Instance(org_id=org_id, name="second-gpu", gpu_type="L4-24GB", hourly_rate=59, currency="USD")
    db.add(instance)
    db.commit()
    return instance


def test_figures_are_stored_as_basis_points(db, customers):
    acme = customers.acme
    figures = [(12.34, 56.7), (0, 100), (50, 99.99), (Decimal("0.01"), Decimal("33.30")), (100.0, 0.0)]
    samples = [sample(acme.instance, AT + timedelta(seconds=10 * k), gpu, memory, requests=10)
               for k, (gpu, memory) in enumerate(figures)]
    samples.append(sample(acme.instance, AT + timedelta(seconds=50), requests=10))  # none reported: NULLs
    assert send(db, acme.org.id, samples).recorded == 6
    assert [(gpu, memory) for _, gpu, memory in stored_bp(db)] == [
        (1234, 5670), (0, 10000), (5000, 9999), (1, 3330), (10000, 0), (None, None)]
    assert hours(db) == {(acme.instance.id, AT): (acme.org.id, 5, 1234 + 0 + 5000 + 1 + 10000, 10000,
                                                  5670 + 10000 + 9999 + 3330 + 0, 10000)}


def test_hours_sum_and_keep_the_maximum_across_samples_and_batches(db, customers):
    acme = customers.acme
    other = second_instance(db, acme.org.id)
    send(db, acme.org.id, [sample(acme.instance, AT, 20, 40, requests=5),
                           sample(acme.instance, AT + timedelta(minutes=59, seconds=59), 60.5, 30, requests=5),
                           sample(acme.instance, AT + timedelta(hours=1), 7, 8, requests=5),  # the next hour
                           sample(other, AT + timedelta(minutes=15), 90, 95, requests=5)])
    assert hours(db) == {(acme.instance.id, AT): (acme.org.id, 2, 8050, 6050, 7000, 4000),
                         (acme.instance.id, AT + timedelta(hours=1)): (acme.org.id, 1, 700, 700, 800, 800),
                         (other.id, AT): (acme.org.id, 1, 9000, 9000, 9500, 9500)}

    # A later batch: a lower GPU figure keeps the maximum, a higher memory one raises it; the sums grow.
    send(db, acme.org.id, [sample(acme.instance, AT + timedelta(minutes=30), 10, 45.25, requests=5),
                           sample(other, AT + timedelta(minutes=16), 95.01, 1, requests=5)])
    assert hours(db) == {(acme.instance.id, AT): (acme.org.id, 3, 9050, 6050, 11525, 4525),
                         (acme.instance.id, AT + timedelta(hours=1)): (acme.org.id, 1, 700, 700, 800, 800),
                         (other.id, AT): (acme.org.id, 2, 18501, 9501, 9600, 9500)}


def test_duplicates_do_not_count_twice(db, customers):
    acme = customers.acme
    first = [sample(acme.instance, AT, 20, 40, requests=5), sample(acme.instance, AT + timedelta(minutes=1), 30, 50,
                                                                   requests=5)]
    send(db, acme.org.id, first)
    again = [*first, sample(acme.instance, AT + timedelta(minutes=2), 40, 60, requests=5),
             # a second copy in the batch, other figures: the first copy is the sample, this one a duplicate
             sample(acme.instance, AT + timedelta(minutes=2), 99, 99, requests=5)]
    result = send(db, acme.org.id, again)
    assert (result.recorded, result.duplicates) == (1, 3)
    assert hours(db) == {(acme.instance.id, AT): (acme.org.id, 3, 9000, 4000, 15000, 6000)}
    assert send(db, acme.org.id, again).recorded == 0
    assert hours(db)[acme.instance.id, AT][1:] == (3, 9000, 4000, 15000, 6000)


def test_utilization_alone_says_something_but_nothing_of_availability(db, customers):
    """requests 0 and no check: recorded for cost advice, but no SLA minute (it would count as observed and up)."""
    acme = customers.acme
    assert send(db, acme.org.id, [sample(acme.instance, AT, 3, 45)]).recorded == 1
    assert counts(db) == (1, 0, 1)
    with pytest.raises(DomainError, match="says nothing") as refusal:
        send(db, acme.org.id, [sample(acme.instance, AT + timedelta(minutes=1))])
    db.rollback()
    assert refusal.value.field == "samples[0]"


@pytest.mark.parametrize(("gpu", "memory", "field", "words"), [
    (50, None, "samples[1].gpu_memory_utilization", "gpu_memory_utilization is missing"),
    (None, 50, "samples[1].gpu_utilization", "gpu_utilization is missing"),
    (-0.1, 50, "samples[1].gpu_utilization", "between 0 and 100"),
    (100.01, 50, "samples[1].gpu_utilization", "between 0 and 100"),
    (50, -0.1, "samples[1].gpu_memory_utilization", "between 0 and 100"),
    (50, 100.01, "samples[1].gpu_memory_utilization", "between 0 and 100"),
    (101, 50, "samples[1].gpu_utilization", "between 0 and 100"),
    (12.345, 50, "samples[1].gpu_utilization", "at most 2 decimals"),
    (50, 0.001, "samples[1].gpu_memory_utilization", "at most 2 decimals"),
    (1e-05, 50, "samples[1].gpu_utilization", "at most 2 decimals"),
    (Decimal("12.345"), 50, "samples[1].gpu_utilization", "at most 2 decimals"),
    (True, 50, "samples[1].gpu_utilization", "not a string or a boolean"),
    (50, False, "samples[1].gpu_memory_utilization", "not a string or a boolean"),
    ("50", 50, "samples[1].gpu_utilization", "not a string or a boolean"),
    (float("nan"), 50, "samples[1].gpu_utilization", "got nan"),
    (50, float("inf"), "samples[1].gpu_memory_utilization", "got inf"),
    (Decimal("NaN"), 50, "samples[1].gpu_utilization", "got NaN"),
])
def test_bad_figures_are_refused_naming_the_field_and_write_nothing(db, customers, gpu, memory, field, words):
    acme = customers.acme
    batch = [sample(acme.instance, AT, 20, 40, requests=5),
             sample(acme.instance, AT + timedelta(minutes=1), gpu, memory, requests=5)]
    with pytest.raises(DomainError) as refusal:
        send(db, acme.org.id, batch)
    db.rollback()
    assert refusal.value.field == field
    assert str(refusal.value).startswith("Sample 1: ") and words in str(refusal.value), str(refusal.value)
    assert counts(db) == (0, 0, 0)


def test_racing_batches_add_each_sample_to_its_hour_once(app, db, customers):
    """Overlapping batches at once (row locks on PostgreSQL, a single writer on SQLite): every hour holds exactly
    the distinct samples, whichever batch inserted them."""
    acme = customers.acme
    series = [sample(acme.instance, AT - timedelta(hours=1) + timedelta(minutes=3 * k), k % 101, (7 * k) % 101,
                     requests=1) for k in range(40)]  # two hours, twenty samples each
    batches = [random.Random(t).sample(series[t * 4:t * 4 + 16], 16) for t in range(7)]
    errors = failures(race(app, lambda session, samples: record_samples(session, acme.org.id, samples), batches))
    assert errors == [], [repr(e) for e in errors]
    sent = {s.timestamp: s for batch in batches for s in batch}.values()
    expected = {}
    for s in sent:
        hour = s.timestamp.replace(minute=0)
        row = expected.setdefault((acme.instance.id, hour), [acme.org.id, 0, 0, 0, 0, 0])
        gpu, memory = s.gpu_utilization * 100, s.gpu_memory_utilization * 100
        row[1:] = [row[1] + 1, row[2] + gpu, max(row[3], gpu), row[4] + memory, max(row[5], memory)]
    assert hours(db) == {key: tuple(row) for key, row in expected.items()}
    assert sum(row[1] for row in expected.values()) == counts(db)[0] == 40


def test_through_the_api_figures_are_stored_and_refusals_name_the_field(client, db, customers):
    secret = api_keys.create(db, customers.acme.org.id, "utilization test key", ("write",), actor_label="test").secret
    db.commit()
    instance = customers.acme.instance

    def post(*samples):
        body = {"samples": [{"instance": instance.public_id, "timestamp": "2026-11-14T10:00:00Z", **s}
                            for s in samples]}
        return client.http.post("/api/v1/metrics", json=body, headers={"Authorization": f"Bearer {secret}"})

    good = {"gpu_utilization": 12.5, "gpu_memory_utilization": 80}
    accepted = post(good, {"timestamp": "2026-11-14T10:00:30Z", "gpu_utilization": 0, "gpu_memory_utilization": 99.99})
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["recorded"] == 2
    assert [(gpu, memory) for _, gpu, memory in stored_bp(db)] == [(1250, 8000), (0, 9999)]
    assert hours(db) == {(instance.id, AT): (customers.acme.org.id, 2, 1250, 1250, 17999, 9999)}

    cases = [  # the schema's findings, then the service's: the same naming either way
        ({"gpu_utilization": "50"}, "samples[1].gpu_utilization", "valid number"),
        ({"gpu_utilization": True}, "samples[1].gpu_utilization", "valid number"),
        ({"gpu_memory_utilization": None}, "samples[1].gpu_memory_utilization", "is missing"),
        ({"gpu_utilization": 100.01}, "samples[1].gpu_utilization", "between 0 and 100"),
        ({"gpu_memory_utilization": -0.1}, "samples[1].gpu_memory_utilization", "between 0 and 100"),
        ({"gpu_utilization": 12.345}, "samples[1].gpu_utilization", "at most 2 decimals"),
    ]
    for change, field, words in cases:
        response = post(good, {**good, "timestamp": "2026-11-14T10:01:00Z", **change})
        assert response.status_code == 400, (change, response.get_json())
        error = response.get_json()["error"]
        assert (error["type"], error["field"]) == ("invalid_request_error", field), (change, error)
        assert error["message"].startswith("Sample 1: ") and words in error["message"], (change, error)
    assert counts(db)[0] == 2

    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["MetricSampleIn"]["properties"]
    assert {"gpu_utilization", "gpu_memory_utilization"} <= set(spec)


def test_utilization_only_samples_may_be_older_than_the_open_sla_month(db, customers):
    """On 14 November the open SLA month started on the 1st; a utilization-only sample of 20 October changes no
    SLA figure, so it is taken (cost advice looks back a fortnight whatever the month), up to 35 days old."""
    instance = customers.acme.instance
    october = NOW - timedelta(days=25)
    assert send(db, customers.acme.org.id, [sample(instance, october, gpu=3, memory=40)]).recorded == 1
    assert counts(db) == (1, 0, 1)  # no SLA minute: the sample says nothing the SLA judges

    with pytest.raises(DomainError) as too_old:
        record_samples(db, customers.acme.org.id, [sample(instance, NOW - timedelta(days=36), gpu=3, memory=40)])
    assert too_old.value.field == "samples[0].timestamp" and "35 days" in too_old.value.message
    with pytest.raises(DomainError) as judged:  # requests belong to the SLA month: a closed one refuses them
        record_samples(db, customers.acme.org.id, [sample(instance, october + timedelta(minutes=1), gpu=3, memory=40,
                                                          requests=10)])
    assert judged.value.field == "samples[0].timestamp" and "closed" in judged.value.message
    db.rollback()
    assert counts(db) == (1, 0, 1)
