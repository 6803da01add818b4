"""Client portal: Usage — the current billing period's usage against what the plan includes.

Read-only, so members see it as owners do. The per-model and per-instance tables page by themselves: their pager
links are plain links (the whole page, without JavaScript) that htmx turns into a swap of that table alone,
recognised by the table's id in `HX-Target`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, request, url_for

from app.billing.plans import METRIC_LABELS
from app.billing.usage_queries import UsageSummary, usage_summary
from app.rental.service import current_subscription
from app.web.portal import current_org_id
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

TABLES = {"usage-models": "client/usage/_models.html", "usage-instances": "client/usage/_instances.html"}
PAGE_ARGS = ("models_page", "instances_page")


def quantity_text(metric: str, quantity: int) -> str:
    """How people read a quantity: GPU time in hours (to the hundredth), requests counted."""
    if metric == "gpu_seconds":
        hours = (Decimal(quantity) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return f"{hours:,} GPU-hours"
    return f"{quantity:,} request{'s' if quantity != 1 else ''}"


@dataclass(frozen=True)
class Chart:
    labels: list[str]
    values: list[int]
    texts: list[str]


def daily_chart(summary: UsageSummary, metric: str) -> Chart:
    """The chart's bars: each day's total to date (it grows towards the included line), the day's own in the text."""
    points = summary.series(metric)
    return Chart([f"{day:%b} {day.day}" for day, _, _ in points], [to_date for _, _, to_date in points],
                 [f"{quantity_text(metric, to_date)} ({quantity_text(metric, that_day)} that day)"
                  for _, that_day, to_date in points])


def _page_arg(name: str) -> int:
    value = request.args.get(name, "1")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 10**6 else 1


def page_url(**pages: int) -> str:
    """This page with one table moved to another page, the other table's page kept."""
    current = {name: _page_arg(name) for name in PAGE_ARGS}
    current.update(pages)
    return url_for("client.usage", **{name: page for name, page in current.items() if page > 1})


def index():
    db = db_session()
    org_id = current_org_id()
    subscription = current_subscription(db, org_id)
    summary = None
    if subscription is not None:
        summary = usage_summary(db, org_id, subscription, models_page=_page_arg("models_page"),
                                instances_page=_page_arg("instances_page"))
    fragment = TABLES.get(request.headers.get("HX-Target", "")) if summary and wants_fragment() else None
    return render("client/usage/index.html", fragment, subscription=subscription, summary=summary,
                  quantity_text=quantity_text, daily_chart=daily_chart, page_url=page_url,
                  metric_labels=METRIC_LABELS)


def register(bp: Blueprint) -> None:
    """The Usage page of the client portal (`client.usage`)."""
    bp.add_url_rule("/usage", endpoint="usage", view_func=index, methods=["GET"])
