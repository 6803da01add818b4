"""API v1: the SLA read side — this month's figures against the objectives, and the alerts.

Thin: the same queries as the client SLA page (`app.sla.queries`), serialized.
"""
from __future__ import annotations

from decimal import Decimal

from flask import g

from app import clock
from app.sla import queries
from app.sla.compliance import UNITS
from app.sla.models import SlaAlert
from app.web.api.registry import api_route, respond
from app.web.api.sla_schemas import (SlaAlertList, SlaAlertOut, SlaAlertsQuery, SlaDayOut, SlaMetricOut,
                                     SlaMetricsOut, SlaObjectivesOut)
from app.web.portal import current_org_id
from app.web.request_context import db_session


def number(value: Decimal | None) -> float | None:
    """A figure as a JSON number (figures carry at most 4 decimals, which a float keeps as written)."""
    return None if value is None else float(value)


@api_route("/sla/metrics", "GET", summary="This month's SLA figures so far against the tier's objectives, with "
                                          "the last 30 days day by day", response=SlaMetricsOut)
def get_sla_metrics():
    db = db_session()
    now = clock.utcnow()
    month = queries.current_month(db, g.organization, now)
    figures, definition = month.figures, month.definition
    return respond(SlaMetricsOut(
        month_start=month.month_start, month_end=month.month_end, as_of=figures.end,
        objectives=SlaObjectivesOut(
            tier=definition.tier, effective_from=definition.effective_from,
            uptime_percent=number(definition.uptime_percent), latency_p95_ms=definition.latency_p95_ms,
            throughput_rps=definition.throughput_rps, error_rate_percent=number(definition.error_rate_percent)),
        metrics=[SlaMetricOut(metric=r.metric, objective=number(r.objective), measured=number(r.measured),
                              unit=r.unit, status=r.status) for r in month.results],
        minutes_expected=figures.minutes_expected, minutes_observed=figures.minutes_observed,
        down_minutes=figures.down_minutes, coverage_percent=number(figures.coverage),
        partial=figures.partial, requests=figures.requests, errors=figures.errors,
        daily=[day_out(day) for day in queries.daily_series(db, g.organization, now)]))


def day_out(day: queries.SeriesDay) -> SlaDayOut:
    f = day.figures
    return SlaDayOut(date=day.day, uptime_percent=number(f.uptime), latency_p95_ms=number(f.latency_p95),
                     requests=f.requests, errors=f.errors, minutes_expected=f.minutes_expected,
                     minutes_observed=f.minutes_observed, down_minutes=f.down_minutes,
                     partial=f.partial)


@api_route("/sla/alerts", "GET", summary="The organization's SLA alerts, newest first (filter by status)",
           query=SlaAlertsQuery, response=SlaAlertList)
def list_sla_alerts(query: SlaAlertsQuery):
    page = queries.alerts_page(db_session(), current_org_id(), query.limit, query.starting_after, query.status)
    return respond(SlaAlertList(data=[alert_out(alert) for alert in page.rows], has_more=page.has_more))


def alert_out(alert: SlaAlert) -> SlaAlertOut:
    return SlaAlertOut(
        id=alert.public_id, metric=alert.metric, status="open" if alert.resolved_at is None else "resolved",
        unit=UNITS[alert.metric], objective=number(alert.objective), measured=number(alert.measured),
        window_start=alert.window_start, window_end=alert.window_end, worst_measured=number(alert.worst_measured),
        last_measured=number(alert.last_measured), last_window_end=alert.last_window_end,
        opened_at=alert.opened_at, resolved_at=alert.resolved_at)
