"""Commitment: running at least 95% of the window's 336 hours (320 of them) and never idle on a day it ran →
the 30% committed-use discount on its monthly cost. Advice only (no action)."""
from __future__ import annotations

import json

from tests.advice.conftest import found, window_hours, write_hours

HOURS = window_hours()


def test_a_steady_instance_running_329_of_336_hours_would_save_the_discount(db, customers):
    acme = customers.acme
    write_hours(db, acme.v100, HOURS[:329], memory_max=9000)  # 97.9%, 60% GPU
    [finding] = found(db, acme, "commitment")
    # $0.87/h × 329 hours × 30 ÷ 14 × 0.30 = 257,607 ÷ 14 = 18,400.5 → half up: 18,401 cents (half-even: 18,400)
    assert finding.savings_usd == 18_401
    assert finding.action is None and finding.subject == acme.v100.public_id
    evidence = finding.evidence
    assert (evidence["running_hours"], evidence["window_hours"], evidence["uptime_percent"]) == (329, 336, 97.92)
    assert (evidence["uptime_min_percent"], evidence["discount_percent"]) == (95.0, 30.0)
    json.dumps(evidence)


def test_every_hour_of_the_window_is_the_whole_month_discounted(db, customers):
    write_hours(db, customers.acme.a100, HOURS)
    [finding] = found(db, customers.acme, "commitment")
    assert finding.savings_usd == 2_49 * 720 * 3 // 10  # $2.49 × 720 hours × 0.30 = 53,784 cents


def test_exactly_320_hours_is_95_percent_or_more(db, customers):
    write_hours(db, customers.acme.a100, HOURS[:320])  # 95.24%
    [finding] = found(db, customers.acme, "commitment")
    # $2.49/h × 320 hours × 30 ÷ 14 × 0.30 = 717,120 ÷ 14 = 51,222.857… → 51,223 cents
    assert finding.savings_usd == 51_223


def test_319_hours_is_94_9_percent_uptime_and_not_steady_enough(db, customers):
    write_hours(db, customers.acme.a100, HOURS[:319])  # 94.94%
    assert found(db, customers.acme, "commitment") == []


def test_one_idle_day_rules_it_out(db, customers):
    write_hours(db, customers.acme.a100, HOURS, gpu=lambda at: 1000 if at.day == 7 else 6000)
    assert found(db, customers.acme, "commitment") == []


def test_a_day_just_above_idle_keeps_it(db, customers):
    write_hours(db, customers.acme.a100, HOURS, gpu=lambda at: 1001 if at.day == 7 else 6000)
    assert [finding.savings_usd for finding in found(db, customers.acme, "commitment")] == [53_784]


def test_up_to_5_percent_idle_hours_is_still_steady(db, customers):
    """336 running hours: 5% is 16.8, so 16 idle hours (one or two a day, no idle day) keep it a commitment
    candidate and 17 do not."""
    idle = set(HOURS[3::21][:16])  # 16 scattered hours
    write_hours(db, customers.acme.a100, HOURS, gpu=lambda at: 500 if at in idle else 6000)
    [finding] = found(db, customers.acme, "commitment")
    assert finding.evidence["idle_hours"] == 16


def test_17_idle_hours_are_more_than_5_percent(db, customers):
    idle = set(HOURS[3::19][:17])
    write_hours(db, customers.acme.a100, HOURS, gpu=lambda at: 500 if at in idle else 6000)
    assert found(db, customers.acme, "commitment") == []


def test_an_instance_idle_every_night_is_a_schedule_not_a_commitment(db, customers):
    write_hours(db, customers.acme.a100, HOURS, gpu=lambda at: 500 if at.hour < 8 else 6000)
    assert found(db, customers.acme, "commitment") == []
    assert [finding.kind for finding in found(db, customers.acme, "schedule")] == ["schedule"]
