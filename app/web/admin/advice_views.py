"""Admin → Cost advice: what the open recommendations could save across customers (in total, per organization
with its number of open recommendations, biggest savings first) and which findings are the most common.

Read-only: the recommendations are the customers' to act on. Totals are in USD (every estimate is also kept in USD
cents), with each customer's own currency beside it.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from app import clock
from app.advice import queries
from app.web.advice.presenting import KIND_LABELS, daily_job_time
from app.web.request_context import db_session


def overview():
    now = clock.utcnow()
    return render_template("admin/advice/overview.html", overview=queries.admin_overview(db_session(), now),
                           kind_labels=KIND_LABELS, job_time=daily_job_time(), now=now)


def register(bp: Blueprint) -> None:
    """Register this module's page on the admin portal (`admin.cost_advice`)."""
    bp.add_url_rule("/cost-advice", endpoint="cost_advice", view_func=overview, methods=["GET"])
