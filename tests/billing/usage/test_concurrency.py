"""Racing batches: eight threads, each in its own database session, released together, sending overlapping windows of
the same keys in shuffled order. Each key counts once, the total is the sum of the distinct records, and each
threshold is emitted exactly once — on PostgreSQL (row locks, ON CONFLICT waiting for the other transaction) and on
SQLite (one writer at a time)."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.exc import OperationalError

from app.accounts.models import Organization
from app.billing.models import Subscription
from app.billing.usage import record_batch
from app.errors import DomainError
from tests.billing.usage.conftest import DECEMBER, NOW, PRO_GPU, alert_count, gpu, record_count, send, total
from tests.payments.core_support import events
from tests.support import failures, race

THREADS = 8
WINDOW, STEP, QUANTITY = 10, 5, 9_000  # thread t sends keys t*5 … t*5+9: each overlaps its neighbours


def _race(app, org_id: int, batches: list[list]) -> tuple[list, list]:
    outcomes = race(app, lambda session, records: record_batch(session, session.get(Organization, org_id), records,
                                                               actor_label="api:mtx_test"), batches)
    errors = failures(outcomes)
    return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)], errors


def test_overlapping_concurrent_batches_count_each_key_once_and_alert_once(app, db, customer):
    keys = [f"run-{n:03d}" for n in range(STEP * (THREADS - 1) + WINDOW)]  # 45 distinct keys
    batches = []
    for t in range(THREADS):
        window = [gpu(key, QUANTITY, customer.instance) for key in keys[t * STEP:t * STEP + WINDOW]]
        random.Random(t).shuffle(window)
        batches.append(window)

    results, errors = _race(app, customer.org.id, batches)

    assert errors == [], [repr(e) for e in errors]
    assert sum(r.recorded for r in results) == len(keys) == record_count(db)
    assert sum(r.duplicates for r in results) == THREADS * WINDOW - len(keys)
    assert total(db, "gpu_seconds") == len(keys) * QUANTITY == 405_000
    reached = [(e["threshold_percent"], e["used"]) for e in events(db, "usage.threshold_reached")]
    assert [percent for percent, _ in reached] == [80, 100] and alert_count(db) == 2
    assert reached[0][1] >= PRO_GPU * 80 // 100 and reached[1][1] >= PRO_GPU
    assert sorted(t.threshold_percent for r in results for t in r.thresholds) == [80, 100]


def test_a_period_cannot_close_under_a_batch(app, db, customer):
    """The closing job moves the period while a batch is between its checks and its first write: on PostgreSQL the
    batch's share lock on the subscription keeps the job out; on SQLite the batch sees the move and refuses."""
    engine, seen = app.extensions["db"].engine, {}

    def close_the_period_now(_conn, _cursor, statement, *_args):
        if not statement.startswith("INSERT INTO usage_records") or seen:
            return
        with engine.connect() as other:
            try:
                if engine.dialect.name == "postgresql":
                    other.execute(text("SELECT id FROM subscriptions FOR UPDATE NOWAIT"))
                other.execute(update(Subscription.__table__).values(
                    current_period_start=DECEMBER, current_period_end=DECEMBER + timedelta(days=31)))
                other.commit()
                seen["closed"] = True
            except OperationalError:
                seen["closed"] = False

    event.listen(engine, "before_cursor_execute", close_the_period_now)
    try:
        if engine.dialect.name == "postgresql":
            send(db, customer, [gpu("late", 60, customer.instance, at=NOW - timedelta(days=1))])
            assert seen == {"closed": False} and total(db, "gpu_seconds") == 60
        else:
            with pytest.raises(DomainError, match="closed while this batch") as refusal:
                send(db, customer, [gpu("late", 60, customer.instance, at=NOW - timedelta(days=1))])
            db.rollback()
            assert seen == {"closed": True} and refusal.value.field == "records" and record_count(db) == 0
    finally:
        event.remove(engine, "before_cursor_execute", close_the_period_now)
