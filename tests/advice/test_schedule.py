"""Schedule: an hour of the day (UTC) is an idle hour when the instance ran in it on at least half of the 14 days
and was idle (hourly average ≤ 10%) in it on at least 80% of the days it ran then; 6 such hours a day make a
schedule, saving the idle occurrences of those hours scaled to a 30-day month. Advice only (no action), and never
for an instance the idle rule already reports."""
from __future__ import annotations

import json

from tests.advice.conftest import BUSY, found, window_hours, write_hours

NIGHT = range(8)  # 00:00–08:00 UTC


def nights_idle(idle_hours=NIGHT, level: int = 500):
    return lambda at: level if at.hour in idle_hours else BUSY


def test_eight_idle_night_hours_every_day_make_a_schedule(db, customers):
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(), gpu=nights_idle())  # each day averages 41.66%: no idle day
    [finding] = found(db, acme, "schedule")
    # $0.59/h × 112 idle hours (8 hours × 14 days) × 30 ÷ 14 = 59 × 240 = 14,160 cents
    assert finding.savings_usd == 14_160
    assert finding.action is None and finding.subject == acme.l4.public_id
    assert finding.evidence["stop_hours_utc"] == list(NIGHT)
    assert finding.evidence["stop_ranges_utc"] == ["00:00–08:00"]
    assert finding.title == "Stop acme-l4 at its idle hours (00:00–08:00 UTC)"
    assert finding.evidence["series"][0] == {"label": "00:00", "value": 100.0}
    assert finding.evidence["series"][8] == {"label": "08:00", "value": 0.0}
    assert found(db, acme, "idle_instance") == []
    json.dumps(finding.evidence)


def test_idle_hours_across_midnight_are_one_range(db, customers):
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(), gpu=nights_idle({22, 23, 0, 1, 2, 3}))
    [finding] = found(db, acme, "schedule")
    assert finding.evidence["stop_ranges_utc"] == ["22:00–04:00"]
    assert finding.savings_usd == 59 * 6 * 30  # 84 idle hours × 30 ÷ 14 = 180 hours a month: 10,620 cents


def test_five_idle_hours_a_day_are_not_a_schedule(db, customers):
    write_hours(db, customers.acme.l4, window_hours(), gpu=nights_idle(range(5)))
    assert found(db, customers.acme, "schedule") == []


def test_an_hour_idle_on_11_of_14_days_is_under_80_percent(db, customers):
    """Hours 0–4 idle every day; hour 5 idle on 11 days (78.6%): five idle hours, no schedule."""
    write_hours(db, customers.acme.l4, window_hours(),
                gpu=lambda at: 500 if at.hour < 5 or (at.hour == 5 and at.day <= 11) else BUSY)
    assert found(db, customers.acme, "schedule") == []


def test_an_hour_idle_on_12_of_14_days_counts_with_its_12_idle_occurrences(db, customers):
    write_hours(db, customers.acme.l4, window_hours(),
                gpu=lambda at: 500 if at.hour < 5 or (at.hour == 5 and at.day <= 12) else BUSY)
    [finding] = found(db, customers.acme, "schedule")
    # $0.59/h × (5 hours × 14 + 12) = 82 idle hours × 30 ÷ 14 = 145,140 ÷ 14 = 10,367.142… → 10,367 cents
    assert finding.savings_usd == 10_367 and finding.evidence["stop_hours_utc"] == [0, 1, 2, 3, 4, 5]


def test_an_hour_it_ran_in_on_only_6_of_14_days_is_not_a_habit(db, customers):
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(hours=[*range(5), *range(6, 24)]), gpu=nights_idle(range(5)))
    write_hours(db, acme.l4, window_hours(days=range(6), hours=[5]), gpu=0)
    assert found(db, acme, "schedule") == []


def test_an_hour_it_ran_in_on_7_of_14_days_all_idle_counts(db, customers):
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(hours=[*range(5), *range(6, 24)]), gpu=nights_idle(range(5)))
    write_hours(db, acme.l4, window_hours(days=range(7), hours=[5]), gpu=0)
    [finding] = found(db, acme, "schedule")
    # $0.59/h × (5 × 14 + 7) = 77 idle hours × 30 ÷ 14 = 136,290 ÷ 14 = 9,735 cents exactly
    assert finding.savings_usd == 9_735


def test_an_instance_the_idle_rule_reports_gets_no_schedule_as_well(db, customers):
    """Idle at night every day and idle all day on 4 days: stopping it covers the nights; counted once."""
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(), gpu=lambda at: 500 if at.hour in NIGHT or at.day <= 4 else BUSY)
    assert found(db, acme, "schedule") == []
    [idle] = found(db, acme, "idle_instance")
    # $0.59/h × 96 hours of the 4 idle days × 30 ÷ 14 = 169,920 ÷ 14 = 12,137.142… → 12,137 cents
    assert idle.savings_usd == 12_137
