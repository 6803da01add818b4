"""All the rules for one organization: the usage read in one query over the window [now truncated to the hour −
14 days, now truncated), only running instances and only the organization's own rows; every finding well formed;
thresholds passed in are the ones used; and the monthly spend the severities are a share of."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, update

from app.advice.instance_usage import load_usage
from app.advice.models import KINDS
from app.advice.rules import each_rule, find_all, monthly_spend_usd
from app.advice.thresholds import Thresholds
from app.billing.models import Subscription
from app.rental.models import Instance
from tests.advice.conftest import BUSY, HOUR, NOW, WINDOW_HOURS, WINDOW_START, found, window_hours, write_hours


@contextmanager
def statements_run(db):
    """The SQL statements sent to the database inside the block."""
    statements = []

    def listen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        event.remove(db.get_bind(), "before_cursor_execute", listen)


def test_the_window_is_the_last_14_whole_utc_days(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, [WINDOW_START - HOUR, *window_hours(), WINDOW_START + WINDOW_HOURS * HOUR])
    [usage] = load_usage(db, acme.org, NOW)
    assert (usage.window.start, usage.window.end) == (WINDOW_START, WINDOW_START + timedelta(days=14))
    assert usage.running_hours == WINDOW_HOURS  # 31 Oct 23:00 and 15 Nov 00:00 are outside
    assert [day.day.day for day in usage.days] == list(range(1, 15)) and usage.days[0].hours == 24


def test_one_query_reads_every_running_instance_and_only_the_organizations_rows(db, customers):
    acme, globex = customers.acme, customers.globex
    for instance in (acme.a100, acme.l4, acme.stopped, globex.a100):
        write_hours(db, instance, window_hours())
    db.expire_all()
    assert acme.org.id  # loaded again now, not inside the count
    with statements_run(db) as statements:
        usages = load_usage(db, acme.org, NOW)
    assert len(statements) == 1
    assert [usage.instance.id for usage in usages] == [acme.a100.id, acme.l4.id]  # not the stopped one, not globex's


def test_hourly_figures_are_the_samples_averages_and_maxima(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(days=[0], hours=[3]), gpu=4321, gpu_max=9000, memory=1234,
                memory_max=2000, samples=7)
    [usage] = load_usage(db, acme.org, NOW)
    [hour] = usage.hours
    assert (hour.gpu_avg_bp, hour.gpu_max_bp, hour.memory_avg_bp, hour.memory_max_bp) == (4321, 9000, 1234, 2000)
    assert usage.days[0].gpu_avg_percent == 43.21


def test_an_instance_that_fits_several_rules_gets_the_advice_that_saves_most(db, customers):
    """Busy by day, idle by night, room to shrink: schedule and rightsizing each fit alone (commitment does not: it is
    idle a third of its hours), but their savings overlap, so the instance gets the larger one only."""
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(), gpu=lambda at: 500 if at.hour < 8 else BUSY, gpu_max=4000,
                memory_max=2000)
    write_hours(db, acme.l4, window_hours(), gpu=0, memory_max=9000)  # idle; no room for a T4
    alone = [finding for finding in each_rule(db, acme.org, NOW) if finding.subject == acme.a100.public_id]
    assert sorted(finding.kind for finding in alone) == ["rightsize", "schedule"]  # each fires on its own
    best = max(alone, key=lambda finding: finding.savings_usd)
    findings = find_all(db, acme.org, NOW)
    assert sorted((finding.kind, finding.subject) for finding in findings) == sorted([
        (best.kind, acme.a100.public_id), ("idle_instance", acme.l4.public_id), ("tier_fit", "plan")])
    for finding in findings:
        assert finding.kind in KINDS and finding.savings_usd > 0 and isinstance(finding.savings_usd, int)
        json.dumps(finding.evidence)
        assert finding.evidence["series"]


def test_the_thresholds_given_are_the_ones_used(db, customers):
    acme = customers.acme
    write_hours(db, acme.a100, window_hours(), gpu=lambda at: 0 if at.day <= 3 else BUSY)
    assert found(db, acme, "idle_instance") == []
    [finding] = found(db, acme, "idle_instance", thresholds=Thresholds(idle_days_min=3))
    assert finding.savings_usd == 38_417  # $2.49/h × 72 hours × 30 ÷ 14 = 537,840 ÷ 14 = 38,417.14… → 38,417


def test_monthly_spend_is_the_plan_fee_and_the_running_instances_for_720_hours(db, customers):
    acme = customers.acme
    # Pro $49 + ($2.49 + $0.59 + $0.87 + $1.00) × 720 (the stopped A100 costs nothing) = 4,900 + 356,400
    assert monthly_spend_usd(db, acme.org, NOW) == 361_300
    db.execute(update(Instance).where(Instance.org_id == acme.org.id).values(status="stopped"))
    db.execute(update(Subscription).where(Subscription.org_id == acme.org.id).values(status="cancelled"))
    db.commit()
    assert monthly_spend_usd(db, acme.org, NOW) == 0


def test_later_in_the_day_the_window_still_ends_at_midnight(db, customers):
    """At 20:30 the day is still going: its hours wait for tomorrow's run, so the window stays 14 whole dates."""
    acme = customers.acme
    write_hours(db, acme.a100, [*window_hours(), WINDOW_START + WINDOW_HOURS * HOUR + 5 * HOUR])  # 15 Nov 05:00
    [usage] = load_usage(db, acme.org, NOW.replace(hour=20))
    assert (usage.window.start, usage.window.end) == (WINDOW_START, WINDOW_START + timedelta(days=14))
    assert usage.running_hours == WINDOW_HOURS and len(usage.days) == 14
