"""A recommendation's evidence as the page shows it: labelled figures, the chart of its series, how the savings
were estimated, and (tier fit) the plans priced month by month.

Evidence is what the rule saw (JSON written by `app/advice/rules/`); a figure the page has no label for is still
shown, under its key, so nothing the rule used is hidden. Money in evidence is USD cents, the prices the rules
compare; the savings themselves are shown in the customer's currency by the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.advice.models import Recommendation
from app.money import Money


def usd(cents) -> str:
    return Money(int(cents), "USD").format()


def _percent(value) -> str:
    return f"{value:g}%"


def _hours(value) -> str:
    return f"{int(value):,} h"


def _joined(values) -> str:
    return ", ".join(str(value) for value in values)


# Evidence keys → (label, formatter), for every kind; KIND_FIELDS override a key's label where a kind means
# something else by it. Keys not listed are shown as they are, after these.
FIELDS = {
    "window_days": ("Looked at", lambda v: f"the last {v} days"),
    "window_hours": ("Hours in them", _hours),
    "running_hours": ("Hours it ran in them", _hours),
    "idle_days": ("Idle days (UTC dates)", str),
    "idle_days_min": ("Idle days that trigger this", lambda v: f"at least {v}"),
    "idle_threshold_percent": ("Idle at", lambda v: f"≤ {_percent(v)} average GPU utilization"),
    "idle_hours": ("Hours it ran on idle days", _hours),
    "hourly_rate_usd_cents": ("Hourly rate", lambda v: f"{usd(v)}/h"),
    "gpu_type": ("GPU type now", str),
    "smaller_gpu_type": ("Smaller type", str),
    "memory_gb": ("Memory now", lambda v: f"{v} GB"),
    "smaller_memory_gb": ("Memory of the smaller type", lambda v: f"{v} GB"),
    "memory_p95_gb": ("Memory in use, p95", lambda v: f"{v:g} GB"),
    "memory_limit_gb": ("Fits the smaller type below", lambda v: f"{v:g} GB"),
    "gpu_p95_percent": ("GPU utilization, p95", _percent),
    "gpu_limit_percent": ("Fits the smaller type below", _percent),
    "smaller_hourly_price_usd_cents": ("Smaller type's list price", lambda v: f"{usd(v)}/h"),
    "stop_ranges_utc": ("Idle every day at (UTC)", _joined),
    "schedule_hours_min": ("Idle hours a day that trigger this", lambda v: f"at least {v}"),
    "hour_share_percent": ("An hour counts when", lambda v: f"idle on ≥ {_percent(v)} of the days it ran then"),
    "uptime_percent": ("Running", lambda v: f"{_percent(v)} of the hours"),
    "uptime_min_percent": ("Steady from", lambda v: f"≥ {_percent(v)} of the hours, busy every day"),
    "discount_percent": ("Committed-use discount", _percent),
    "min_share_percent": ("Advised when it saves", lambda v: f"at least {_percent(v)} of what your plan cost"),
}
KIND_FIELDS = {"schedule": {"idle_hours": ("Idle hours at those times", _hours)}}
HIDDEN = {"series", "series_unit", "idle_dates", "stop_hours_utc", "months", "plans", "current_plan",
          "suggested_plan"}


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    text: str


def facts(rec: Recommendation) -> list[Fact]:
    """The numbers the rule used, labelled, in the rule's order (tier fit's months and plans are a table)."""
    known = {**FIELDS, **KIND_FIELDS.get(rec.kind, {})}
    shown = []
    for key, value in (rec.evidence or {}).items():
        if key in HIDDEN or (isinstance(value, (dict, list)) and key not in known):
            continue
        label, render = known.get(key, (key.replace("_", " ").capitalize(), _plain))
        shown.append(Fact(key, label, render(value)))
    return shown


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Chart:
    title: str
    labels: list[str]
    values: list[float]
    texts: list[str]
    reference: float | None
    reference_label: str
    label_header: str


def chart(rec: Recommendation) -> Chart | None:
    """The rule's series as bars, with the threshold it was judged by as the dashed line; None without one."""
    evidence = rec.evidence or {}
    series = evidence.get("series") or []
    if not series:
        return None
    unit = evidence.get("series_unit", "")
    labels = [str(point.get("label", "")) for point in series]
    raw = [max(float(point.get("value") or 0), 0.0) for point in series]
    if unit.startswith("USD cents"):  # tier fit: what the plan cost each billing period
        return Chart("What your plan cost each billing period (USD)", labels, [value / 100 for value in raw],
                     [usd(value) for value in raw], None, "", "Period from")
    if unit == "percent of days idle":  # schedule: per hour of the day
        share = evidence.get("hour_share_percent")
        return Chart("Share of days idle at each hour (UTC)", labels, raw, [f"{value:g}%" for value in raw],
                     float(share) if share is not None else None,
                     f"stop hours from {_percent(share)}" if share is not None else "", "Hour (UTC)")
    if unit == "GB":
        limit = evidence.get("memory_limit_gb")
        return Chart("Peak GPU memory in use per day (GB)", labels, raw, [f"{value:g} GB" for value in raw],
                     float(limit) if limit is not None else None,
                     f"fits {evidence.get('smaller_gpu_type', 'the smaller type')} below {limit:g} GB"
                     if limit is not None else "", "Day (UTC)")
    threshold = evidence.get("idle_threshold_percent")
    return Chart("Average GPU utilization per day (%)", labels, raw, [f"{value:g}%" for value in raw],
                 float(threshold) if threshold is not None else None,
                 f"idle at ≤ {_percent(threshold)}" if threshold is not None else "", "Day (UTC)")


def estimate(rec: Recommendation) -> str:
    """How the monthly savings were worked out, in one sentence with the rule's own figures."""
    e = rec.evidence or {}
    days = e.get("window_days", 14)
    scaled = f"scaled to a 30-day month (× 30 ÷ {days})"
    try:
        if rec.kind == "idle_instance":
            return (f"The hourly rate ({usd(e['hourly_rate_usd_cents'])}) × the {e['idle_hours']:,} hours it ran "
                    f"on idle days in the last {days} days, {scaled}.")
        if rec.kind == "rightsize":
            return (f"The difference between its rate ({usd(e['hourly_rate_usd_cents'])}/h) and the "
                    f"{e['smaller_gpu_type']} list price ({usd(e['smaller_hourly_price_usd_cents'])}/h) × the "
                    f"{e['running_hours']:,} hours it ran in the last {days} days, {scaled}.")
        if rec.kind == "schedule":
            return (f"The hourly rate ({usd(e['hourly_rate_usd_cents'])}) × the {e['idle_hours']:,} hours it sat "
                    f"idle at those times in the last {days} days, {scaled}.")
        if rec.kind == "commitment":
            return (f"The {_percent(e['discount_percent'])} discount on its rate "
                    f"({usd(e['hourly_rate_usd_cents'])}/h) × the {e['running_hours']:,} hours it ran in the last "
                    f"{days} days, {scaled}.")
        if rec.kind == "tier_fit":
            table = plan_table(rec)
            return (f"What your usage of the last {len(table.periods)} billing period"
                    f"{'s' if len(table.periods) != 1 else ''} cost on average a month on {table.current} "
                    f"({usd(table.current_average)}), less what it would have cost on {table.suggested} "
                    f"({usd(table.suggested_average)}): each plan's fee plus its overage, priced as your "
                    "invoices are.")
    except (AttributeError, KeyError, TypeError, ValueError):  # evidence of an older shape: say less
        pass
    return "From the usage shown here, over a 30-day month."


@dataclass(frozen=True)
class PlanRow:
    name: str
    costs: list[str]
    average: str
    mark: str  # "current", "suggested" or ""


@dataclass(frozen=True)
class PlanTable:
    periods: list[str]  # "Aug 2026"
    usage: list[tuple[str, list[str]]]  # ("GPU-hours", ["1,200", …])
    plans: list[PlanRow]
    current: str
    suggested: str
    current_average: int
    suggested_average: int


def plan_table(rec: Recommendation) -> PlanTable | None:
    """Tier fit's months: the usage of each and what every plan would have charged for it (USD); None for other
    kinds (or evidence of another shape)."""
    e = rec.evidence or {}
    if rec.kind != "tier_fit" or not e.get("months") or not e.get("plans"):
        return None
    try:
        return _plan_table(e)
    except (KeyError, TypeError, ValueError):
        return None


def _plan_table(e: dict) -> PlanTable:
    periods = [datetime.fromisoformat(month["period_start"]).strftime("%b %Y") for month in e["months"]]
    usage = [("GPU-hours", [f"{month.get('gpu_seconds', 0) / 3600:,.1f}" for month in e["months"]]),
             ("API requests", [f"{month.get('api_requests', 0):,}" for month in e["months"]])]
    marks = {e.get("current_plan"): "current", e.get("suggested_plan"): "suggested"}
    rows = [PlanRow(plan["name"], [usd(cost) for cost in plan["costs_usd_cents"]], usd(plan["average_usd_cents"]),
                    marks.get(plan["code"], "")) for plan in e["plans"]]
    by_code = {plan["code"]: plan for plan in e["plans"]}
    current, suggested = by_code[e["current_plan"]], by_code[e["suggested_plan"]]
    return PlanTable(periods, usage, rows, current["name"], suggested["name"], current["average_usd_cents"],
                     suggested["average_usd_cents"])
