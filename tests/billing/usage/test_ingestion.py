"""Recording usage: each record once by its idempotency key, totals per metric and period, nothing more."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from app import clock
from app.billing.models import Subscription, UsageRecord
from tests.billing.usage.conftest import DECEMBER, NOVEMBER, NOW, gpu, record_count, requests, send, total


def test_a_batch_is_recorded_with_public_ids_and_totals_per_metric(db, customer):
    result = send(db, customer, [gpu("run-1", 3600, customer.instance, at=NOW - timedelta(hours=2)),
                                 gpu("run-2", 1800, customer.second_instance),
                                 requests("api-1", 500)])

    assert (result.recorded, result.duplicates) == (3, 0)
    assert [(r.idempotency_key, r.status) for r in result.records] == [
        ("run-1", "recorded"), ("run-2", "recorded"), ("api-1", "recorded")]
    assert all(r.id.startswith("mu_") for r in result.records) and len({r.id for r in result.records}) == 3
    assert (total(db, "gpu_seconds"), total(db, "api_requests")) == (5400, 500)
    stored = db.scalars(select(UsageRecord).where(UsageRecord.public_id == result.records[0].id)).one()
    assert (stored.metric, stored.quantity, stored.occurred_at, stored.period_start, stored.invoice_id) == (
        "gpu_seconds", 3600, NOW - timedelta(hours=2), NOVEMBER, None)
    api_record = db.scalars(select(UsageRecord).where(UsageRecord.idempotency_key == "api-1")).one()
    assert (api_record.model, api_record.instance_id, api_record.occurred_at) == ("llama-3-70b", None, NOW)


def test_a_key_sent_again_in_a_later_batch_is_counted_once(db, customer):
    first = send(db, customer, [gpu("run-1", 3600, customer.instance), requests("api-1", 500)])
    again = send(db, customer, [requests("api-1", 500), gpu("run-1", 3600, customer.instance),
                                gpu("run-2", 60, customer.instance)])

    assert [r.status for r in again.records] == ["duplicate", "duplicate", "recorded"]
    assert (again.recorded, again.duplicates) == (1, 2)
    assert again.records[1].id == first.records[0].id and again.records[0].id == first.records[1].id
    assert (total(db, "gpu_seconds"), total(db, "api_requests")) == (3660, 500)
    assert record_count(db) == 3


def test_a_key_repeated_inside_one_batch_is_counted_once(db, customer):
    result = send(db, customer, [gpu("run-1", 3600, customer.instance), gpu("run-1", 3600, customer.instance),
                                 gpu("run-2", 60, customer.instance), gpu("run-1", 9999, customer.instance)])

    assert [r.status for r in result.records] == ["recorded", "duplicate", "recorded", "duplicate"]
    assert result.records[0].id == result.records[1].id == result.records[3].id
    assert total(db, "gpu_seconds") == 3660
    assert record_count(db) == 2


def test_resending_a_batch_after_its_period_was_invoiced_answers_duplicate(db, customer):
    send(db, customer, [gpu("run-1", 3600, customer.instance, at=NOW)])
    db.execute(update(Subscription).values(current_period_start=DECEMBER,
                                           current_period_end=datetime(2027, 1, 1, tzinfo=timezone.utc)))
    db.commit()
    clock.freeze(DECEMBER + timedelta(days=1))

    result = send(db, customer, [gpu("run-1", 3600, customer.instance, at=NOW)])

    assert [r.status for r in result.records] == ["duplicate"]
    assert total(db, "gpu_seconds") == 3600 and total(db, "gpu_seconds", DECEMBER) is None


def test_usage_after_the_period_ended_counts_in_the_next_one_before_it_is_closed(db, customer):
    clock.freeze(DECEMBER + timedelta(minutes=10))  # the closing job has not moved the period yet
    send(db, customer, [gpu("late-nov", 600, customer.instance, at=DECEMBER - timedelta(seconds=1)),
                        gpu("early-dec", 900, customer.instance, at=DECEMBER + timedelta(minutes=5))])

    assert (total(db, "gpu_seconds"), total(db, "gpu_seconds", DECEMBER)) == (600, 900)
    starts = dict(db.execute(select(UsageRecord.idempotency_key, UsageRecord.period_start)).all())
    assert starts == {"late-nov": NOVEMBER, "early-dec": DECEMBER}


def test_a_zero_quantity_is_recorded_and_adds_nothing(db, customer):
    result = send(db, customer, [requests("idle", 0), requests("busy", 7)])

    assert result.recorded == 2 and total(db, "api_requests") == 7
