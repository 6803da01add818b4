"""A batch is all or nothing: the first bad record refuses it, named by index and field, and nothing is written."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.billing.models import Subscription, UsageTotal
from app.billing.usage import UsageInput, record_batch
from app.errors import DomainError
from tests.billing.usage.conftest import NOVEMBER, NOW, gpu, record_count, requests

GOOD = requests("fine", 10)


def _refused(db, customer, records) -> DomainError:
    with pytest.raises(DomainError) as refusal:
        record_batch(db, customer.org, records, actor_label="api:mtx_test")
    db.rollback()
    assert record_count(db) == 0
    assert db.scalar(select(func.count()).select_from(UsageTotal)) == 0
    return refusal.value


# (what is wrong, the record at index 1, the field named, words the message uses)
CASES = [
    ("negative quantity", lambda c: gpu("k", -1, c.instance), "quantity", "between 0 and"),
    ("quantity as a string", lambda c: gpu("k", "3600", c.instance), "quantity", "whole number"),
    ("quantity as a decimal", lambda c: gpu("k", 3600.0, c.instance), "quantity", "whole number"),
    ("quantity as a boolean", lambda c: gpu("k", True, c.instance), "quantity", "whole number"),
    ("unknown metric", lambda c: UsageInput("k", "gpu_hours", 1, instance=c.instance), "metric", "unknown metric"),
    ("unknown instance", lambda c: gpu("k", 60, "ins_doesnotexist"), "instance", "no instance 'ins_doesnotexist'"),
    ("another organization's instance", lambda c: gpu("k", 60, c.foreign_instance), "instance", "no instance"),
    ("GPU time without an instance", lambda c: gpu("k", 60, None), "instance", "need the instance"),
    ("API requests without a model", lambda c: requests("k", 5, model=None), "model", "need the model"),
    ("a model of 81 characters", lambda c: requests("k", 5, model="m" * 81), "model", "1–80"),
    ("an instance on API requests", lambda c: UsageInput("k", "api_requests", 5, model="m", instance=c.instance),
     "instance", "gpu_seconds only"),
    ("an empty key", lambda c: requests("", 5), "idempotency_key", "1–100 printable"),
    ("a key of 101 characters", lambda c: requests("k" * 101, 5), "idempotency_key", "1–100 printable"),
    ("a key with a newline", lambda c: requests("run\n1", 5), "idempotency_key", "printable"),
    ("more than 5 minutes ahead", lambda c: requests("k", 5, at=NOW + timedelta(minutes=5, seconds=1)),
     "timestamp", "more than 5 minutes in the future"),
    ("in an invoiced period", lambda c: requests("k", 5, at=NOVEMBER - timedelta(seconds=1)),
     "timestamp", "already invoiced"),
    ("no time zone", lambda c: requests("k", 5, at=datetime(2026, 11, 14, 10, 0)), "timestamp", "time zone"),
]


@pytest.mark.parametrize("build, field, words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_bad_record_refuses_the_whole_batch(db, customer, build, field, words):
    error = _refused(db, customer, [GOOD, build(customer), requests("after", 3)])

    assert error.field == f"records[1].{field}"
    assert error.message.startswith("Record 1: ") and words in error.message


def test_the_first_bad_record_is_the_one_named(db, customer):
    error = _refused(db, customer, [GOOD, requests("a", 5, at=NOW + timedelta(hours=1)),
                                    gpu("b", -5, customer.instance)])
    assert error.field == "records[1].timestamp"


def test_a_copy_of_a_key_is_checked_like_any_record(db, customer):
    error = _refused(db, customer, [requests("same", 5), requests("same", -5)])
    assert error.field == "records[1].quantity"


@pytest.mark.parametrize("size, words", [(0, "empty"), (1001, "at most 1,000")])
def test_batch_size_is_1_to_1000(db, customer, size, words):
    error = _refused(db, customer, [requests(f"k{i}", 1) for i in range(size)])
    assert error.field == "records" and words in error.message


def test_usage_without_a_current_subscription_is_refused(db, customer):
    db.execute(update(Subscription).values(status="cancelled"))
    db.commit()
    error = _refused(db, customer, [GOOD])
    assert error.field == "records" and "no current subscription" in error.message


def test_the_edges_are_accepted(db, customer):
    result = record_batch(db, customer.org, [
        requests("five-minutes-ahead", 1, at=NOW + timedelta(minutes=5)),
        requests("period-start", 1, at=NOVEMBER), requests("k" * 100, 1), requests("model-80", 1, model="m" * 80),
        *[requests(f"bulk-{i}", 1) for i in range(996)]], actor_label="api:mtx_test")
    assert result.recorded == 1000
