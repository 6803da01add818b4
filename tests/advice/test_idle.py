"""Idle instance: a day is idle when the GPU averaged ≤ 10% over the hours the instance ran; 4 idle days of the
14 are enough to advise stopping it, with the idle hours' cost scaled to a 30-day month."""
from __future__ import annotations

import json

from sqlalchemy import update

from app.advice.rules import find_all
from app.sla.models import InstanceHour
from tests.advice.conftest import BUSY, NOW, found, window_hours, write_hours

IDLE_DAYS = range(4)  # 1–4 November


def idle_on(days, level: int):
    return lambda at: level if (at.day - 1) in days else BUSY


def test_four_days_at_exactly_ten_percent_is_idle_and_savings_are_the_idle_hours_for_a_month(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(), gpu=idle_on(IDLE_DAYS, 1000))
    [finding] = found(db, acme, "idle_instance")
    # $2.49/h × 96 idle hours (4 days × 24) × 30 ÷ 14 = 717,120 ÷ 14 = 51,222.857… → 51,223 cents
    assert finding.savings_usd == 51_223
    assert (finding.subject, finding.instance_id, finding.action) == (acme.a100.public_id, acme.a100.id,
                                                                     "stop_instance")
    assert finding.title == "Stop idle instance acme-a100"
    evidence = finding.evidence
    assert (evidence["idle_days"], evidence["idle_hours"], evidence["idle_threshold_percent"]) == (4, 96, 10.0)
    assert evidence["hourly_rate_usd_cents"] == 2_49
    assert evidence["idle_dates"] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert evidence["series"][0] == {"label": "Nov 1", "value": 10.0}
    assert evidence["series"][13] == {"label": "Nov 14", "value": 60.0} and len(evidence["series"]) == 14
    json.dumps(evidence)  # stored as JSON as it is


def test_a_day_is_averaged_over_the_hours_the_instance_ran_and_only_those_hours_are_saved(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(days=range(4, 14)))
    write_hours(db, acme.a100, window_hours(days=IDLE_DAYS, hours=range(9, 15)), gpu=500)  # 6 hours, 5%
    [finding] = found(db, acme, "idle_instance")
    # $2.49/h × 24 idle hours (4 days × 6) × 30 ÷ 14 = 179,280 ÷ 14 = 12,805.714… → 12,806 cents
    assert finding.savings_usd == 12_806
    assert finding.evidence["idle_hours"] == 24 and finding.evidence["running_hours"] == 24 + 240


def test_a_day_with_idle_and_busy_hours_is_judged_on_its_average(db, customers):
    """Four days with 20 hours at 0% and 4 hours at 60.06%: the day averages 10.01% and is not idle."""
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(days=range(4, 14)))
    write_hours(db, acme.a100, window_hours(days=IDLE_DAYS, hours=range(20)), gpu=0)
    write_hours(db, acme.a100, window_hours(days=IDLE_DAYS, hours=range(20, 24)), gpu=6006)  # 24,024 ÷ 24 = 1,001
    assert found(db, acme, "idle_instance") == []


def test_three_idle_days_are_not_enough(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu=idle_on(range(3), 0))
    assert found(db, customers.acme, "idle_instance") == []


def test_a_daily_average_of_ten_point_zero_one_percent_is_not_idle(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu=idle_on(range(10), 1001))
    assert found(db, customers.acme, "idle_instance") == []


def test_the_hourly_average_is_the_samples_sum_divided_down(db, customers):
    """3 samples summing to 3,002 bp average 1,000 bp (rounded down to the basis point): at the threshold."""
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(days=range(4, 14)))
    write_hours(db, acme.l4, window_hours(days=IDLE_DAYS), gpu=1000, samples=3)
    db.execute(update(InstanceHour).where(InstanceHour.samples == 3).values(gpu_sum_bp=3002))
    db.commit()
    [finding] = found(db, acme, "idle_instance")
    # $0.59/h × 96 idle hours × 30 ÷ 14 = 169,920 ÷ 14 = 12,137.142… → 12,137 cents
    assert finding.savings_usd == 12_137


def test_a_stopped_instance_gets_no_advice_whatever_its_history(db, customers):
    write_hours(db, customers.acme.stopped, window_hours(), gpu=0)
    assert [finding for finding in find_all(db, customers.acme.org, NOW) if finding.subject != "plan"] == []


def test_another_organizations_idle_instance_is_not_acmes(db, customers):
    write_hours(db, customers.globex.a100, window_hours(), gpu=0)
    assert found(db, customers.acme, "idle_instance") == []
    [finding] = found(db, customers.globex, "idle_instance")
    assert finding.subject == customers.globex.a100.public_id
    assert finding.savings_usd == 2_49 * 720  # every hour idle: the whole month, 179,280 cents

