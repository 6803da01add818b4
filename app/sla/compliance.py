"""Figures against objectives: per metric, met, breached or no data.

Comparisons use the exact values (a 99.5% objective is met by exactly 99.5%); what is shown is rounded the
cautious way (see `Figures`). Throughput is reported, not judged: fewer requests than the tier is sized for
usually means less demand, not a failure, so it opens no alert and earns no credit.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.sla.evaluation import Figures
from app.sla.models import SlaDefinition

MET, BREACHED, NO_DATA = "met", "breached", "no_data"
UNITS = {"uptime": "%", "latency_p95": "ms", "error_rate": "%", "throughput": "req/s"}
LABELS = {"uptime": "Uptime", "latency_p95": "Latency p95", "error_rate": "Error rate", "throughput": "Peak throughput"}


@dataclass(frozen=True)
class MetricResult:
    metric: str
    objective: Decimal
    measured: Decimal | None  # rounded for display
    status: str  # met | breached | no_data; throughput is met or no_data (informational)

    @property
    def label(self) -> str:
        return LABELS[self.metric]

    @property
    def unit(self) -> str:
        return UNITS[self.metric]


def judge(figures: Figures, definition: SlaDefinition) -> list[MetricResult]:
    """Uptime, p95 latency and error rate against `definition`, then throughput (informational)."""
    return [
        _result("uptime", definition.uptime_percent, figures.uptime_exact, figures.uptime,
                lambda exact: exact >= definition.uptime_percent),
        _result("latency_p95", Decimal(definition.latency_p95_ms), figures.latency_p95_exact, figures.latency_p95,
                lambda exact: exact <= definition.latency_p95_ms),
        _result("error_rate", definition.error_rate_percent, figures.error_rate_exact, figures.error_rate,
                lambda exact: exact <= definition.error_rate_percent),
        MetricResult("throughput", Decimal(definition.throughput_rps), figures.peak_rps,
                     MET if figures.has_data else NO_DATA),
    ]


def breaches(figures: Figures, definition: SlaDefinition) -> dict[str, MetricResult]:
    """The judged metrics (throughput aside) by name."""
    return {result.metric: result for result in judge(figures, definition) if result.metric != "throughput"}


def _result(metric: str, objective: Decimal, exact: Decimal | None, shown: Decimal | None, met) -> MetricResult:
    if exact is None:
        return MetricResult(metric, objective, None, NO_DATA)
    return MetricResult(metric, objective, shown, MET if met(exact) else BREACHED)
