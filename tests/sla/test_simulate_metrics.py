"""`flask simulate-metrics` on the demo data: one sample per running instance and minute through the ingestion
service, healthy traffic within every objective, one outage that shows as down minutes and an alert, and a re-run
that writes nothing new."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import clock
from app.accounts.models import Organization
from app.rental.models import Instance
from app.sla.definitions import all_in_force
from app.sla.evaluation import evaluate
from app.sla.models import InstanceHour, SlaAlert, SlaMinute, SlaSample

NOW = datetime(2026, 11, 14, 12, 0, tzinfo=timezone.utc)
DAY_AGO = NOW - timedelta(days=1)
OUTAGE = (NOW - timedelta(minutes=135), NOW - timedelta(minutes=90))  # the defaults: 45 minutes ending 90 ago


@pytest.fixture
def cli(app, demo):
    clock.freeze(NOW)
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["simulate-metrics", *args])


def org(db, slug) -> Organization:
    return db.scalars(select(Organization).where(Organization.slug == slug)).one()


def per_instance(db) -> dict[str, int]:
    db.expire_all()
    rows = db.execute(select(Instance.name, func.count(SlaSample.id)).outerjoin(SlaSample)
                      .group_by(Instance.name)).all()
    return dict(rows)


def figures(db, slug, start=DAY_AGO, end=NOW):
    definitions = all_in_force(db, NOW)
    return evaluate(db, start, end, definitions, now=NOW, org_ids=[org(db, slug).id])[org(db, slug).id]


def test_a_sample_per_running_instance_and_minute_with_the_outage_for_acme(cli, db):
    result = cli("--days", "1")
    assert result.exit_code == 0, result.output
    assert "7,200 samples written, 0 duplicates" in result.output
    assert "Outage: acme, 2026-11-14 09:45 to 2026-11-14 10:30 UTC (45 minutes)" in result.output
    assert per_instance(db) == {"training-a100-1": 1440, "inference-l4-1": 1440, "notebook-t4": 0,
                                "llm-h100-1": 1440, "llm-h100-2": 1440, "batch-a10-1": 1440, "legacy-v100": 0}
    first, last = db.execute(select(func.min(SlaSample.sampled_at), func.max(SlaSample.sampled_at))).one()
    assert (first, last) == (DAY_AGO, NOW - timedelta(minutes=1))
    assert set(db.scalars(select(SlaSample.source).distinct())) == {"api"}

    acme = figures(db, "acme")
    assert (acme.minutes_observed, acme.down_minutes) == (1440, 45)
    assert figures(db, "acme", *OUTAGE).down_minutes == 45
    assert figures(db, "acme", DAY_AGO, OUTAGE[0]).down_minutes == 0
    assert figures(db, "acme", OUTAGE[1], NOW).down_minutes == 0
    outage_minutes = db.scalars(select(SlaMinute).where(SlaMinute.org_id == org(db, "acme").id,
                                                        SlaMinute.minute >= OUTAGE[0], SlaMinute.minute < OUTAGE[1]))
    for minute in outage_minutes:
        assert minute.checks == minute.checks_failed == 2 and minute.errors > minute.requests * 0.8
        assert minute.latency_gt_2000 > minute.requests / 2


def test_healthy_traffic_is_within_the_tiers_objectives(cli, db):
    assert cli("--days", "1").exit_code == 0
    globex = figures(db, "globex")  # Enterprise: 99.9%, p95 200 ms, 1,000 req/s, errors 0.1%
    assert globex.down_minutes == 0 and globex.uptime == 100
    assert globex.latency_p95 < 200 and globex.error_rate < 0.05
    assert 800 <= globex.peak_rps <= 1000 and globex.mean_rps > 200
    acme = figures(db, "acme", DAY_AGO, OUTAGE[0])  # Pro: p95 500 ms, 100 req/s, errors 1%
    assert acme.latency_p95 < 500 and acme.error_rate < 0.5 and 80 <= acme.peak_rps <= 100


def test_the_outage_opens_alerts_that_resolve_after_it_and_a_rerun_writes_nothing_new(cli, db):
    first = cli("--days", "1")
    assert "opened" in first.output
    alerts = list(db.scalars(select(SlaAlert)))
    assert {alert.org_id for alert in alerts} == {org(db, "acme").id}
    [uptime] = [alert for alert in alerts if alert.metric == "uptime"]
    assert OUTAGE[0] < uptime.window_end and uptime.window_start < OUTAGE[1]
    assert uptime.resolved_at is not None and uptime.resolved_at <= NOW

    again = cli("--days", "1")
    assert again.exit_code == 0, again.output
    assert "0 samples written, 7,200 duplicates" in again.output and "0 opened" in again.output
    assert sum(per_instance(db).values()) == 7200
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SlaAlert)) == len(alerts)


def test_chosen_organizations_and_outage(cli, db):
    result = cli("--days", "1", "--org", "globex", "--org", "acme", "--outage-org", "acme",
                 "--outage-minutes", "10", "--outage-ago", "0")
    assert result.exit_code == 0, result.output
    assert figures(db, "acme").down_minutes == 10 and figures(db, "globex").down_minutes == 0
    assert figures(db, "acme", NOW - timedelta(minutes=10), NOW).down_minutes == 10
    assert db.scalar(select(func.count()).select_from(SlaAlert).where(SlaAlert.resolved_at.is_(None))) >= 1

    db.execute(SlaSample.__table__.delete())
    db.execute(SlaMinute.__table__.delete())
    db.execute(InstanceHour.__table__.delete())
    db.commit()
    only = cli("--days", "1", "--org", "globex", "--outage-minutes", "0")
    assert only.exit_code == 0 and "No outage simulated." in only.output
    assert per_instance(db)["training-a100-1"] == 0 and per_instance(db)["llm-h100-1"] == 1440
    assert figures(db, "globex").down_minutes == 0


def test_the_start_is_clamped_to_the_open_sla_month(cli, db):
    clock.freeze(datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc))
    result = cli("--days", "3", "--org", "acme")
    assert result.exit_code == 0, result.output
    assert "Started at 2026-11-01 00:00 UTC, not 2026-10-29 06:00" in result.output
    november = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert db.scalar(select(func.min(SlaMinute.minute))) == november  # the SLA figures start with the open month
    assert "720 samples written" in result.output  # 2 instances × 360 minutes
    # Before it, GPU utilization only (what cost advice needs), every 10 minutes from 29 October 06:00:
    # 2 instances × 66 hours × 6.
    assert "792 samples, one every 10 minutes" in result.output
    assert db.scalar(select(func.count()).select_from(SlaSample).where(SlaSample.sampled_at < november)) == 792
    assert db.scalar(select(func.count()).select_from(SlaSample).where(
        SlaSample.sampled_at < november, SlaSample.requests > 0)) == 0
    assert db.scalar(select(func.min(InstanceHour.hour))) == datetime(2026, 10, 29, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize(("args", "message"), [
    (("--days", "0"), "--days must be between 1 and 400; got 0."),
    (("--days", "-3"), "--days must be between 1 and 400"),
    (("--org", "nope"), "No customer organization with slug 'nope'."),
    (("--org", "northwind"), "No customer organization with slug 'northwind'."),  # a partner
    (("--org", "acme", "--outage-org", "globex"), "--outage-org 'globex' is not one of the organizations"),
    (("--outage-minutes", "-1"), "cannot be negative"),
])
def test_bad_arguments_are_refused_with_a_message_and_write_nothing(cli, db, args, message):
    result = cli("--days", "1", *args) if args[0] != "--days" else cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert db.scalar(select(func.count()).select_from(SlaSample)) == 0


def test_if_empty_writes_only_into_an_empty_table(cli, db):
    """`make run` passes --if-empty: the first start writes the demo traffic, a restart adds no second outage."""
    first = cli("--days", "1", "--if-empty")
    assert first.exit_code == 0 and "samples written" in first.output
    clock.advance(timedelta(hours=5))
    again = cli("--days", "1", "--if-empty")
    assert again.exit_code == 0 and "nothing written" in again.output
    assert sum(per_instance(db).values()) == 7200


FORTNIGHT_END = datetime(2026, 11, 29, tzinfo=timezone.utc)  # 14 whole days back, all in November's open month
IDLE_BP = 1000  # the idle-instance rule's line: a day (or hour) averaging at most 10% is idle


def hours_of(db, name) -> list[InstanceHour]:
    return list(db.scalars(select(InstanceHour).join(Instance).where(Instance.name == name)
                           .order_by(InstanceHour.hour)))


def daily_gpu_bp(hours: list[InstanceHour]) -> dict:
    days: dict = {}
    for hour in hours:
        total = days.setdefault(hour.hour.date(), [0, 0])
        total[0], total[1] = total[0] + hour.gpu_sum_bp, total[1] + hour.samples
    return {day: gpu / samples for day, (gpu, samples) in days.items()}


def idle_share_by_hour_of_day(hours: list[InstanceHour]) -> dict[int, float]:
    """Hour of the day → share of the days on which that hour averaged idle (the schedule rule's view)."""
    seen: dict[int, list[int]] = {}
    for hour in hours:
        seen.setdefault(hour.hour.hour, []).append(hour.gpu_sum_bp / hour.samples <= IDLE_BP)
    return {of_day: sum(flags) / len(flags) for of_day, flags in seen.items()}


def p95(values) -> float:
    ordered = sorted(values)
    return ordered[-(-95 * len(ordered) // 100) - 1]  # nearest rank


def test_utilization_patterns_give_each_kind_of_advice_something_to_find(app, demo, db):
    """A fortnight of demo traffic, read back from InstanceHour as the advice rules read it."""
    clock.freeze(FORTNIGHT_END)
    result = app.test_cli_runner().invoke(args=["simulate-metrics", "--days", "14"])
    assert result.exit_code == 0 and "100,800 samples written" in result.output, result.output
    assert db.scalar(select(func.count()).select_from(SlaSample)
                     .where(SlaSample.gpu_utilization_bp.is_(None))) == 0
    assert db.scalar(select(func.sum(InstanceHour.samples))) == 100_800

    inference = hours_of(db, "inference-l4-1")  # → idle instance
    assert len(inference) == 14 * 24
    days = daily_gpu_bp(inference)
    assert len(days) == 14 and sum(gpu <= IDLE_BP for gpu in days.values()) == 11  # the rule needs 4
    assert sum(gpu <= 500 for gpu in days.values()) == 11 and all(gpu > 1500 for gpu in days.values() if gpu > 500)
    assert max(idle_share_by_hour_of_day(inference).values()) == 11 / 14  # < 80%: no schedule
    assert p95(h.memory_sum_bp / h.samples for h in inference) > 3333  # over half a T4's 16 GB: no rightsizing

    training = hours_of(db, "training-a100-1")  # → schedule
    days = daily_gpu_bp(training)
    assert sorted(day.isoformat() for day, gpu in days.items() if gpu <= IDLE_BP) == ["2026-11-15", "2026-11-22"]
    idle_hours = {of_day for of_day, share in idle_share_by_hour_of_day(training).items() if share >= 0.8}
    assert idle_hours == set(range(0, 8)) | set(range(18, 24))
    working = [h for h in training if h.hour.weekday() < 5 and 8 <= h.hour.hour < 18]
    assert len(working) == 100 and all(6000 <= h.gpu_sum_bp / h.samples <= 9000 for h in working)
    assert p95(h.memory_sum_bp / h.samples for h in training) >= 7000

    for name in ("llm-h100-1", "llm-h100-2"):  # → commitment, no rightsizing
        steady = hours_of(db, name)
        assert len(steady) == 14 * 24
        assert all(6000 <= h.gpu_sum_bp / h.samples and h.gpu_max_bp <= 8500 for h in steady)
        assert all(7000 <= h.memory_sum_bp / h.samples and h.memory_max_bp <= 9000 for h in steady)

    batch = hours_of(db, "batch-a10-1")  # → rightsize to L4
    days = daily_gpu_bp(batch)
    assert sum(gpu <= IDLE_BP for gpu in days.values()) == 1
    assert max(h.memory_max_bp for h in batch) < 3000  # under 30% of its 24 GB in every minute
    assert p95(h.gpu_sum_bp / h.samples for h in batch) < 4000 and max(h.gpu_max_bp for h in batch) <= 3800
    assert max(idle_share_by_hour_of_day(batch).values()) == 1 / 14
