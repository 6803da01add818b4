"""API v1: usage metering — report usage in batches, read the current period's summary.

Thin: validate → usage service → serialize. Records are idempotent by their own keys, so the batch needs no
Idempotency-Key header: resending a batch answers `duplicate` for what was recorded and records the rest.
"""
from __future__ import annotations

from flask import g

from app.billing.usage import UsageInput, record_batch
from app.billing.usage_queries import UsageSummary, usage_summary
from app.errors import NotFound
from app.rental.service import current_subscription
from app.web.api.auth import api_actor_label
from app.web.api.registry import api_route, respond
from app.web.api.usage_schemas import (UsageBatch, UsageBatchResult, UsageDayOut, UsageInstanceOut, UsageMetricOut,
                                       UsageModelOut, UsageRecordResult, UsageSummaryOut)
from app.web.portal import current_org_id
from app.web.request_context import db_session

API_BREAKDOWN = 100


@api_route("/usage", "POST", summary="Report usage: up to 1,000 records, recorded all or none; a record whose "
                                     "idempotency_key was recorded already is counted once (status duplicate)",
           scope="write", body=UsageBatch, response=UsageBatchResult)
def report_usage(body: UsageBatch):
    db = db_session()
    records = [UsageInput(idempotency_key=r.idempotency_key, metric=r.metric, quantity=r.quantity,
                          timestamp=r.timestamp, instance=r.instance, model=r.model) for r in body.records]
    result = record_batch(db, g.organization, records, actor_label=api_actor_label())
    db.commit()
    return respond(UsageBatchResult(
        data=[UsageRecordResult(idempotency_key=r.idempotency_key, id=r.id, status=r.status) for r in result.records],
        recorded=result.recorded, duplicates=result.duplicates))


@api_route("/usage", "GET", summary="The current billing period's usage: per metric against the plan, per day, "
                                    "per model and per instance", response=UsageSummaryOut)
def get_usage():
    db = db_session()
    subscription = current_subscription(db, current_org_id())
    if subscription is None:
        raise NotFound("This organization has no current subscription, so no usage is metered.")
    summary = usage_summary(db, current_org_id(), subscription, per_page=API_BREAKDOWN)
    return respond(summary_out(summary))


def summary_out(summary: UsageSummary) -> UsageSummaryOut:
    return UsageSummaryOut(
        period_start=summary.period.start, period_end=summary.period.end, plan=summary.plan.code,
        metrics=[UsageMetricOut(metric=m.metric, used=m.used, included=m.included,
                                percent=None if m.percent is None else float(m.percent),
                                overage_quantity=m.overage_quantity, overage_cost=m.overage_cost.amount,
                                currency=m.overage_cost.currency.lower(),
                                thresholds_reached=sorted(m.thresholds_reached))
                 for m in summary.metrics],
        daily=[UsageDayOut(date=day.day, gpu_seconds=day.quantities["gpu_seconds"],
                           api_requests=day.quantities["api_requests"]) for day in summary.days],
        models=[UsageModelOut(model=row.name, requests=row.quantity) for row in summary.models.rows],
        models_has_more=summary.models.has_more,
        instances=[UsageInstanceOut(instance=row.key, name=row.name, gpu_seconds=row.quantity)
                   for row in summary.instances.rows],
        instances_has_more=summary.instances.has_more)
