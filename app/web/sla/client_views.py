"""Client portal: SLA — this month's figures against the tier's objectives, the last 30 days, the alerts, and
the closed months' compliance reports with the service credits they earned.

Read-only, so members see it as owners do. The resolved alerts page by themselves: their pager links are plain
links (the whole page, without JavaScript) that htmx turns into a swap of that list alone, recognised by the
list's id in `HX-Target`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, render_template, request, url_for

from app import clock
from app.errors import DomainError
from app.sla import queries
from app.sla.compliance import BREACHED, MET, UNITS
from app.sla.models import ALERT_METRICS
from app.web.portal import current_organization
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

RESOLVED_PER_PAGE = 10
RESOLVED_LIST = "sla-resolved"
STATUS_BADGES = {MET: ("badge-succeeded", "Met"), BREACHED: ("badge-failed", "Breached")}


@dataclass(frozen=True)
class Chart:
    labels: list[str]
    values: list[float]
    texts: list[str]
    reference: float
    floor: float = 0


def measured_text(metric: str, value: Decimal | None) -> str:
    """A measured value or objective with its unit: "99.497%", "180.0 ms", "16.6 req/s"; "no data" for None."""
    if value is None:
        return "no data"
    text = f"{value:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")  # 99.500 → 99.5, 180.0 → 180: the digits that carry information
    unit = UNITS[metric]
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def status_badge(status: str) -> tuple[str, str]:
    return STATUS_BADGES.get(status, ("badge-disabled", "No data"))


def _label(day) -> str:
    return f"{day:%b} {day.day}"


def uptime_chart(series: list[queries.SeriesDay], objective: Decimal) -> Chart:
    """Each day's uptime. The axis starts a little under the lowest day (or the objective), since uptimes all
    sit near 100% and a bar from zero would hide a bad day; a day without data draws no bar."""
    measured = [day.figures.uptime for day in series if day.has_data]
    floor = max(0, int(min([objective, *measured])) - 1)
    return Chart([_label(day.day) for day in series],
                 [float(day.figures.uptime) if day.has_data else float(floor) for day in series],
                 [_day_text(day, measured_text("uptime", day.figures.uptime)) for day in series],
                 float(objective), floor)


def latency_chart(series: list[queries.SeriesDay], objective: int) -> Chart:
    """Each day's p95 latency (ms) against the objective; a day without requests draws no bar."""
    return Chart([_label(day.day) for day in series],
                 [float(day.figures.latency_p95 or 0) for day in series],
                 [_day_text(day, measured_text("latency_p95", day.figures.latency_p95)) for day in series],
                 float(objective))


def _day_text(day: queries.SeriesDay, text: str) -> str:
    if day.has_data and day.partial:
        return f"{text} (partial: {day.figures.minutes_observed:,} of {day.figures.minutes_expected:,} minutes)"
    return text


def _resolved_page():
    cursor = request.args.get("resolved_after") or None
    try:
        page = queries.alerts_page(db_session(), current_organization().id, RESOLVED_PER_PAGE, cursor, "resolved")
    except DomainError:
        abort(404)  # a cursor that is not one of this organization's resolved alerts
    return {"resolved": page,
            "older_url": url_for("client.sla", resolved_after=page.rows[-1].public_id) + f"#{RESOLVED_LIST}"
            if page.has_more else None,
            "newest_url": url_for("client.sla") + f"#{RESOLVED_LIST}" if cursor else None}


def index():
    helpers = {"measured_text": measured_text, "status_badge": status_badge}
    if wants_fragment() and request.headers.get("HX-Target") == RESOLVED_LIST:
        return render_template("client/sla/_resolved.html", **_resolved_page(), **helpers)
    db = db_session()
    org = current_organization()
    now = clock.utcnow()
    month = queries.current_month(db, org, now)
    series = queries.daily_series(db, org, now)
    open_alerts = queries.alerts_page(db, org.id, len(ALERT_METRICS), None, "open").rows  # one per metric at most
    return render("client/sla/index.html", None, organization=org, month=month, series=series,
                  has_any_data=month.figures.has_data or any(day.has_data for day in series),
                  uptime_chart=uptime_chart(series, month.definition.uptime_percent),
                  latency_chart=latency_chart(series, month.definition.latency_p95_ms),
                  open_alerts=open_alerts, reports=queries.monthly_reports(db, org.id), **_resolved_page(),
                  **helpers)


def printable_report(report_id: str):
    """The month's compliance report as a page to print or save as PDF (no portal navigation)."""
    row = queries.report(db_session(), current_organization().id, report_id)
    return render_template("client/sla/report_print.html", row=row, organization=current_organization(),
                           measured_text=measured_text, status_badge=status_badge)


def register(bp: Blueprint) -> None:
    """The SLA page (`client.sla`) and the printable monthly reports (`client.sla_report`)."""
    bp.add_url_rule("/sla", endpoint="sla", view_func=index, methods=["GET"])
    bp.add_url_rule("/sla/reports/<report_id>", endpoint="sla_report", view_func=printable_report, methods=["GET"])
