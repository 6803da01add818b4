"""SLA alerts: every run judges the last hour of each organization that has data in it, opens an alert for a
metric that is breached, and resolves the alert once a window with data shows the metric within its objective.

Opening is one INSERT … ON CONFLICT DO NOTHING against the partial UNIQUE on (org, metric) of open alerts: two
evaluations racing (a job run twice, two workers) open the alert once, and only the one that inserted it emits
`sla.breached` and writes the audit entry. Resolving is a guarded UPDATE (… WHERE resolved_at IS NULL), so it also
happens once. A window without data decides nothing: the alert stays as it is until there is evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import dialect_insert, new_public_id
from app.accounts.models import Organization
from app.sla.compliance import BREACHED, NO_DATA, MetricResult, breaches
from app.sla.definitions import all_in_force
from app.sla.evaluation import evaluate
from app.sla.models import SlaAlert
from app.sla.months import whole_minute
from app.webhooks import events

WINDOW = timedelta(minutes=60)
ACTOR = "job:sla-evaluate"


@dataclass
class AlertRun:
    window_start: datetime
    window_end: datetime
    opened: list[str] = field(default_factory=list)  # sla_… ids
    resolved: list[str] = field(default_factory=list)
    still_open: int = 0


def evaluate_alerts(session: Session, now: datetime) -> AlertRun:
    """Judge [now − 1 h, now) (whole minutes) for every organization with data; open and resolve alerts.
    The caller commits."""
    end = whole_minute(now)
    run = AlertRun(end - WINDOW, end)
    definitions = all_in_force(session, now)
    figures = evaluate(session, run.window_start, end, definitions, now=now)
    tiers = dict(session.execute(select(Organization.id, Organization.tier)
                                 .where(Organization.id.in_(list(figures)))).all()) if figures else {}
    open_alerts = _open_alerts(session, list(figures))
    for org_id, window in sorted(figures.items()):
        definition = definitions.get(tiers.get(org_id))
        if definition is None:
            continue
        for metric, result in breaches(window, definition).items():
            alert = open_alerts.get((org_id, metric))
            if result.status == NO_DATA:
                continue
            if result.status == BREACHED:
                if alert is None:
                    opened = _open(session, org_id, result, run)
                    if opened:
                        run.opened.append(opened)
                else:
                    _still_breached(alert, result, run.window_end)
                    run.still_open += 1
            elif alert is not None and _resolve(session, alert, result, run.window_end):
                run.resolved.append(alert.public_id)
    return run


def _open_alerts(session: Session, org_ids: list[int]) -> dict[tuple[int, str], SlaAlert]:
    if not org_ids:
        return {}
    rows = session.scalars(select(SlaAlert).where(SlaAlert.org_id.in_(org_ids), SlaAlert.resolved_at.is_(None)))
    return {(alert.org_id, alert.metric): alert for alert in rows}


def _open(session: Session, org_id: int, result: MetricResult, run: AlertRun) -> str | None:
    """Insert the alert unless one is open already; emit and audit only when this call inserted it."""
    public_id = new_public_id("sla")
    table = SlaAlert.__table__
    values = {"public_id": public_id, "org_id": org_id, "metric": result.metric, "objective": result.objective,
              "measured": result.measured, "worst_measured": result.measured, "last_measured": result.measured,
              "window_start": run.window_start, "window_end": run.window_end, "last_window_end": run.window_end,
              "opened_at": run.window_end, "updated_at": run.window_end}
    statement = (dialect_insert(session, table).values(**values)
                 .on_conflict_do_nothing(index_elements=["org_id", "metric"], index_where=text("resolved_at IS NULL"))
                 .returning(table.c.id))
    if session.execute(statement).scalar_one_or_none() is None:
        return None
    payload = {"alert_id": public_id, "metric": result.metric, "objective": float(result.objective),
               "measured": float(result.measured), "window_start": run.window_start, "window_end": run.window_end}
    events.emit(session, org_id, "sla.breached", payload)
    record(session, "sla.alert_opened", actor_label=ACTOR, org_id=org_id, target=public_id,
           details={**payload, "window_start": run.window_start.isoformat(), "window_end": run.window_end.isoformat()})
    return public_id


def _worse(metric: str, a, b):
    """The worse of two measurements: lower uptime, higher latency or error rate."""
    return min(a, b) if metric == "uptime" else max(a, b)


def _still_breached(alert: SlaAlert, result: MetricResult, window_end: datetime) -> None:
    alert.last_measured = result.measured
    alert.worst_measured = _worse(alert.metric, alert.worst_measured, result.measured)
    alert.last_window_end = window_end
    alert.updated_at = window_end


def _resolve(session: Session, alert: SlaAlert, result: MetricResult, window_end: datetime) -> bool:
    resolved = session.execute(
        update(SlaAlert).where(SlaAlert.id == alert.id, SlaAlert.resolved_at.is_(None))
        .values(resolved_at=window_end, last_measured=result.measured, last_window_end=window_end,
                updated_at=window_end)
        .execution_options(synchronize_session=False)).rowcount
    if not resolved:
        return False
    session.expire(alert)
    record(session, "sla.alert_resolved", actor_label=ACTOR, org_id=alert.org_id, target=alert.public_id,
           details={"metric": alert.metric, "measured": str(result.measured), "window_end": window_end.isoformat()})
    return True

