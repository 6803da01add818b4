"""SLA alerts over the last hour: a breach opens one alert and one `sla.breached` webhook however often the
evaluation runs, the alert resolves when the metric recovers, and a window without data decides nothing."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from app.sla.alerts import evaluate_alerts
from app.sla.models import SlaAlert
from app.webhooks import endpoints
from app.webhooks.models import WebhookEvent
from tests.sla.conftest import NOW, write_minutes
from tests.webhooks.fixtures import deliver_due
from tests.support import failures, race

HOUR_AGO = NOW - timedelta(hours=1)


def alerts(db) -> list[SlaAlert]:
    db.expire_all()
    return list(db.scalars(select(SlaAlert).order_by(SlaAlert.id)))


def breached_events(db) -> list[dict]:
    return [json.loads(body)["data"] for body in
            db.scalars(select(WebhookEvent.body).where(WebhookEvent.type == "sla.breached"))]


def run(db, at):
    result = evaluate_alerts(db, at)
    db.commit()
    return result


def test_a_down_minute_opens_one_uptime_alert_with_its_window_and_one_event(db, customers):
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, down={30})
    first = run(db, NOW)
    [alert] = alerts(db)
    assert first.opened == [alert.public_id]
    assert (alert.metric, alert.objective, alert.measured) == ("uptime", Decimal("99.5"), Decimal("98.333"))
    assert (alert.window_start, alert.window_end, alert.resolved_at) == (HOUR_AGO, NOW, None)
    [event] = breached_events(db)
    assert event["alert_id"] == alert.public_id and event["metric"] == "uptime"
    assert event["objective"] == 99.5 and event["measured"] == 98.333

    again = run(db, NOW + timedelta(minutes=5))  # the job runs again, the breach goes on
    assert again.opened == [] and len(alerts(db)) == 1 and len(breached_events(db)) == 1
    audit_count = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sla.alert_opened"))
    assert audit_count == 1


def test_the_alert_resolves_itself_when_the_metric_recovers(db, customers):
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, down={59})
    run(db, NOW)
    write_minutes(db, customers.acme.org.id, NOW, 60)
    assert run(db, NOW + timedelta(minutes=30)).resolved == []  # the down minute is still in the window
    later = NOW + timedelta(minutes=60)
    result = run(db, later)
    [alert] = alerts(db)
    assert result.resolved == [alert.public_id] and alert.resolved_at == later
    assert alert.worst_measured == Decimal("98.333") and alert.last_measured == Decimal("100")
    assert run(db, later + timedelta(minutes=5)).resolved == []  # resolved once


def test_a_new_breach_after_recovery_is_a_new_alert_and_a_new_event(db, customers):
    org_id = customers.acme.org.id
    write_minutes(db, org_id, HOUR_AGO, 60, down={0})
    run(db, NOW)
    write_minutes(db, org_id, NOW, 60)
    run(db, NOW + timedelta(minutes=60))
    write_minutes(db, org_id, NOW + timedelta(minutes=60), 60, down={10})
    run(db, NOW + timedelta(minutes=120))
    assert [a.resolved_at is None for a in alerts(db)] == [False, True]
    assert len(breached_events(db)) == 2


def test_a_window_without_data_keeps_the_alert_open(db, customers):
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, down={59})
    run(db, NOW)
    result = run(db, NOW + timedelta(hours=3))  # the reporter went quiet
    assert result.resolved == [] and alerts(db)[0].resolved_at is None


def test_latency_and_error_rate_breaches_are_alerts_of_their_own(db, customers):
    slow = (0, 0, 0, 0, 900, 100, 0, 0)  # p95 within (500, 1000] ms: over Pro's 500
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, buckets=slow, errors=5)
    write_minutes(db, customers.globex.org.id, HOUR_AGO, 60, errors=2)  # 0.2% > Enterprise's 0.1%
    run(db, NOW)
    opened = {(a.org_id, a.metric) for a in alerts(db)}
    assert opened == {(customers.acme.org.id, "latency_p95"), (customers.globex.org.id, "error_rate"),
                      (customers.globex.org.id, "uptime")}  # every globex minute is down on its error rate


def test_a_healthy_hour_opens_nothing(db, customers):
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60)
    assert run(db, NOW).opened == [] and alerts(db) == []


def test_racing_evaluations_open_the_alert_once(app, db, customers):
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, down={1})
    errors = failures(race(app, lambda session, _: evaluate_alerts(session, NOW), [None] * 4))
    assert len(alerts(db)) == 1 and len(breached_events(db)) == 1
    assert not [e for e in errors if "locked" not in str(e)]  # SQLite may refuse a writer; none opens twice


def test_one_breach_reaches_a_subscribed_endpoint_once(app, db, customers, receiver):
    endpoints.create_endpoint(db, customers.acme.org.id, url=f"{receiver.url}/hooks", event_types=["sla.breached"],
                              actor_label="test")
    db.commit()
    write_minutes(db, customers.acme.org.id, HOUR_AGO, 60, down={5, 6})
    run(db, NOW)
    run(db, NOW + timedelta(minutes=5))
    clock.freeze(NOW + timedelta(minutes=6))
    deliver_due(app)
    [delivery] = receiver.wait_for(1)
    body = json.loads(delivery.body)
    assert body["type"] == "sla.breached" and body["data"]["metric"] == "uptime"
    deliver_due(app)  # nothing else is due: the second run emitted nothing
    assert len(receiver.requests) == 1
