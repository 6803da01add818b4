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
from app.sla.models import SlaAlert, SlaMinute, SlaSample

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
    assert db.scalar(select(func.min(SlaSample.sampled_at))) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert "720 samples written" in result.output  # 2 instances × 360 minutes


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
