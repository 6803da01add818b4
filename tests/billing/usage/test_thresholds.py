"""usage.threshold_reached: at 80% and at 100% of what the plan includes, once each per metric and period."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app import clock
from app.billing.models import Plan
from app.billing.usage import crossed
from tests.billing.usage.conftest import DECEMBER, PRO_API, PRO_GPU, alert_count, gpu, requests, send
from tests.payments.core_support import audits, events

EVENT = "usage.threshold_reached"


def _reached(db) -> list[tuple[str, int, int]]:
    return [(e["metric"], e["threshold_percent"], e["used"]) for e in events(db, EVENT)]


def test_80_then_100_percent_each_fire_once(db, customer):
    send(db, customer, [gpu("a", 288_000 - 1, customer.instance)])
    assert _reached(db) == []

    result = send(db, customer, [gpu("b", 1, customer.instance)])  # exactly 80% of 360,000
    assert [(t.metric, t.threshold_percent) for t in result.thresholds] == [("gpu_seconds", 80)]
    send(db, customer, [gpu("c", 71_999, customer.instance)])
    assert _reached(db) == [("gpu_seconds", 80, 288_000)]

    send(db, customer, [gpu("d", 1, customer.instance)])  # exactly 100%
    send(db, customer, [gpu("e", 500_000, customer.instance), gpu("b", 1, customer.instance)])
    assert _reached(db) == [("gpu_seconds", 80, 288_000), ("gpu_seconds", 100, 360_000)]
    first = events(db, EVENT)[0]
    assert (first["included"], first["period_start"], first["period_end"]) == (
        PRO_GPU, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert alert_count(db) == 2
    assert [(a.target, a.details["threshold_percent"], a.actor_label) for a in audits(db, EVENT)] == [
        ("gpu_seconds", 80, "api:mtx_test"), ("gpu_seconds", 100, "api:mtx_test")]


def test_a_batch_that_jumps_both_thresholds_emits_both(db, customer):
    result = send(db, customer, [requests("big", 700_000), requests("bigger", 400_000),
                                 gpu("g", 10, customer.instance)])

    assert [(t.metric, t.threshold_percent, t.used) for t in result.thresholds] == [
        ("api_requests", 80, 1_100_000), ("api_requests", 100, 1_100_000)]
    assert _reached(db) == [("api_requests", 80, 1_100_000), ("api_requests", 100, 1_100_000)]


def test_the_next_period_starts_over(db, customer):
    send(db, customer, [requests("nov", PRO_API)])
    clock.freeze(DECEMBER + timedelta(days=1))
    send(db, customer, [requests("dec", 900_000, at=DECEMBER + timedelta(hours=3))])

    reached = [(e["threshold_percent"], e["period_start"]) for e in events(db, EVENT)]
    assert reached == [(80, "2026-11-01T00:00:00Z"), (100, "2026-11-01T00:00:00Z"), (80, "2026-12-01T00:00:00Z")]
    assert alert_count(db) == 3


def test_a_plan_change_does_not_repeat_a_threshold_in_the_period(db, customer):
    send(db, customer, [gpu("a", 300_000, customer.instance)])  # 83% of Pro: 80 sent
    enterprise = db.query(Plan).filter_by(code="enterprise").one()
    customer.subscription.plan_id = enterprise.id
    db.commit()
    db.expire_all()

    send(db, customer, [gpu("b", 5_800_000, customer.instance)])  # past 80% of Enterprise's 7,200,000
    assert _reached(db) == [("gpu_seconds", 80, 300_000)]
    send(db, customer, [gpu("c", 1_100_000, customer.instance)])
    assert _reached(db)[-1] == ("gpu_seconds", 100, 7_200_000)


def test_nothing_included_means_no_threshold_events(db, customer):
    db.execute(update(Plan).where(Plan.code == "pro").values(included_api_requests=0))
    db.commit()
    send(db, customer, [requests("a", 1), requests("b", 5_000_000)])
    assert _reached(db) == [] and alert_count(db) == 0


def test_limits_are_compared_exactly():
    assert crossed(360_000, 0, 288_000) == [80]
    assert crossed(360_000, 0, 287_999) == []
    assert crossed(7, 5, 6) == [80]  # 80% of 7 is 5.6: reached at 6, not at 5
    assert crossed(7, 0, 5) == []
    assert crossed(7, 5, 7) == [80, 100]
    assert crossed(7, 7, 100) == []  # already past both
    assert crossed(0, 0, 10) == []
    assert crossed(1, 0, 1) == [80, 100]
