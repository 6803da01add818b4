"""Rightsizing: when the p95 (nearest rank, over the window's running hours) of memory in use is under half the
next smaller GPU type's memory and the p95 of hourly peak GPU utilization is under 50%, advise moving down; the
saving is the rate difference over the running hours, scaled to a 30-day month."""
from __future__ import annotations

import json

from sqlalchemy import update

from app.advice.rules import find_all
from app.rental.models import Instance
from tests.advice.conftest import NOW, WINDOW_HOURS, found, window_hours, write_hours

# A100-80GB → A100-40GB: half of 40 GB is 20 GB, which is 2,500 bp of an A100-80GB's 80 GB.
# Nearest-rank p95 of 336 hours is the 320th smallest (⌈0.95 × 336⌉ = ⌈319.2⌉): the top 16 hours do not count.
PEAK_HOURS = 16


def peaky(low: int, high: int, peaks: int = PEAK_HOURS):
    """`high` in the first `peaks` hours of the window, `low` in the others."""
    hours = window_hours()
    peak_set = set(hours[:peaks])
    return lambda at: high if at in peak_set else low


def test_an_a100_80gb_using_19_gb_moves_down_to_an_a100_40gb(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(), gpu=2000, gpu_max=peaky(4000, 9500),
                memory=2000, memory_max=peaky(2400, 9000))  # 19.2 GB in use at p95, 72 GB in the 16 peaks
    [finding] = found(db, acme, "rightsize")
    # ($2.49 − $1.49) × 336 running hours × 30 ÷ 14 = 100 × 720 = 72,000 cents
    assert finding.savings_usd == 72_000
    assert (finding.action, finding.subject, finding.title) == ("resize:A100-40GB", acme.a100.public_id,
                                                               "Move acme-a100 to A100-40GB")
    evidence = finding.evidence
    assert (evidence["memory_p95_gb"], evidence["memory_limit_gb"], evidence["gpu_p95_percent"]) == (19.2, 20.0, 40.0)
    assert evidence["running_hours"] == WINDOW_HOURS and evidence["smaller_hourly_price_usd_cents"] == 1_49
    assert evidence["series"][0] == {"label": "Nov 1", "value": 72.0}  # the day's peak memory, GB
    json.dumps(evidence)


def test_seventeen_peak_hours_reach_the_p95_and_the_move_is_not_advised(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu_max=4000, memory_max=peaky(2400, 9000, peaks=17))
    assert found(db, customers.acme, "rightsize") == []


def test_p95_memory_exactly_half_of_the_smaller_type_is_not_under_it(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu_max=4000, memory_max=2500)  # 20.00 GB of 40 GB
    assert found(db, customers.acme, "rightsize") == []


def test_p95_memory_one_basis_point_under_half_moves_down(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu_max=4000, memory_max=2499)  # 19.992 GB
    [finding] = found(db, customers.acme, "rightsize")
    assert finding.savings_usd == 72_000 and finding.evidence["memory_p95_gb"] == 19.992


def test_p95_gpu_utilization_at_fifty_percent_is_too_busy_to_move_down(db, customers):
    write_hours(db, customers.acme.a100, window_hours(), gpu_max=5000, memory_max=1000)
    assert found(db, customers.acme, "rightsize") == []


def test_savings_count_only_the_hours_it_ran(db, customers):
    """An L4-24GB ($0.59/h) → T4-16GB ($0.35/h) running 10 hours a day; 3,333 bp of 24 GB is 7.9992 GB < 8 GB."""
    acme = customers.acme
    write_hours(db, acme.l4, window_hours(hours=range(8, 18)), gpu_max=3000, memory_max=3333)  # 140 hours
    [finding] = found(db, acme, "rightsize")
    # ($0.59 − $0.35) × 140 hours × 30 ÷ 14 = 24 × 300 = 7,200 cents
    assert finding.savings_usd == 7_200 and finding.action == "resize:T4-16GB"
    assert finding.evidence["running_hours"] == 140 and finding.evidence["memory_p95_gb"] == 7.999  # 7.9992


def test_an_instance_rented_below_the_smaller_types_price_saves_nothing_by_moving(db, customers):
    acme = customers.acme
    db.execute(update(Instance).where(Instance.id == acme.a100.id).values(hourly_rate=1_40))
    db.commit()
    write_hours(db, acme.a100, window_hours(), gpu_max=1000, memory_max=1000)
    assert found(db, acme, "rightsize") == []


def test_an_unknown_gpu_type_is_skipped_without_an_error(db, customers):
    acme = customers.acme
    write_hours(db, acme.mystery, window_hours(), gpu=0, gpu_max=100, memory_max=100)
    findings = [finding for finding in find_all(db, acme.org, NOW) if finding.subject == acme.mystery.public_id]
    assert [finding.kind for finding in findings] == ["idle_instance"]  # the other rules still see it


def test_the_smallest_type_has_nothing_to_move_down_to(db, customers):
    acme = customers.acme
    db.execute(update(Instance).where(Instance.id == acme.l4.id).values(gpu_type="T4-16GB"))
    db.commit()
    write_hours(db, acme.l4, window_hours(), gpu_max=1000, memory_max=100)
    assert found(db, acme, "rightsize") == []
