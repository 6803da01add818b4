"""Response shapes of the SLA read API (`GET /api/v1/sla/metrics`, `GET /api/v1/sla/alerts`).

Figures are JSON numbers, already rounded the cautious way the portal shows them (uptime down to 0.001, latency up
to 0.1 ms, error rate up to 0.0001): a client comparing them with the objectives decides as we do.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.web.api.schemas import ListQuery


class SlaObjectivesOut(BaseModel):
    tier: str = Field(description="free, pro or enterprise")
    effective_from: dt.datetime = Field(description="when this definition took effect")
    uptime_percent: float
    latency_p95_ms: int
    throughput_rps: int = Field(description="requests per second the tier is sized for")
    error_rate_percent: float = Field(
        description="also the down-minute rule: a minute with a higher error rate is down")


class SlaMetricOut(BaseModel):
    metric: Literal["uptime", "latency_p95", "error_rate", "throughput"]
    objective: float = Field(description="percent (uptime, error_rate), ms (latency_p95) or req/s (throughput)")
    measured: float | None = Field(description="this month so far; null without data (throughput: the busiest "
                                               "minute's requests per second)")
    unit: str = Field(description="%, ms or req/s")
    status: Literal["met", "breached", "no_data"] = Field(
        description="throughput is informational: met whenever there is data, never breached")


class SlaDayOut(BaseModel):
    date: dt.date = Field(description="UTC day")
    uptime_percent: float | None = Field(description="null: no data that day")
    latency_p95_ms: float | None = Field(description="null: no requests that day")
    requests: int
    errors: int
    minutes_expected: int = Field(description="1,440, or the minutes so far today")
    minutes_observed: int
    down_minutes: int
    partial: bool = Field(description="some minutes of the day have no data (all of them: minutes_observed 0)")


class SlaMetricsOut(BaseModel):
    month_start: dt.datetime
    month_end: dt.datetime
    as_of: dt.datetime = Field(description="the figures cover month_start up to this minute")
    objectives: SlaObjectivesOut = Field(description="the definition in force when the month began")
    metrics: list[SlaMetricOut] = Field(description="uptime, latency_p95, error_rate, throughput")
    minutes_expected: int
    minutes_observed: int
    down_minutes: int
    coverage_percent: float = Field(description="share of the month's minutes so far that have data")
    partial: bool = Field(description="some minutes so far have no data: uptime is over the measured ones")
    requests: int
    errors: int
    daily: list[SlaDayOut] = Field(description="the last 30 UTC days, oldest first, today included")


class SlaAlertsQuery(ListQuery):
    status: Literal["open", "resolved"] | None = Field(default=None, description="open or resolved (default: both)")


class SlaAlertOut(BaseModel):
    id: str = Field(description="sla_…")
    metric: Literal["uptime", "latency_p95", "error_rate"]
    status: Literal["open", "resolved"]
    unit: str = Field(description="% or ms")
    objective: float
    measured: float = Field(description="in the window that opened the alert")
    window_start: dt.datetime
    window_end: dt.datetime
    worst_measured: float = Field(description="the worst window while the alert was open")
    last_measured: float = Field(description="the latest window judged")
    last_window_end: dt.datetime
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


class SlaAlertList(BaseModel):
    data: list[SlaAlertOut] = Field(description="newest first")
    has_more: bool
