"""API v1: metrics in — instances' SLA samples, in batches.

Thin: validate → ingestion service → serialize. Samples are idempotent by (instance, timestamp), so the batch needs
no Idempotency-Key header: resending a batch answers `duplicate` for what was recorded and records the rest.
"""
from __future__ import annotations

from app.sla.ingestion import SampleInput, record_samples
from app.web.api.metrics_schemas import MetricSampleResult, MetricsBatch, MetricsBatchResult
from app.web.api.registry import api_route, respond
from app.web.portal import current_org_id
from app.web.request_context import db_session


@api_route("/metrics", "POST", summary="Report SLA samples: up to 1,000, recorded all or none; a sample of an "
                                       "instance at a timestamp already recorded is counted once (status duplicate)",
           scope="write", body=MetricsBatch, response=MetricsBatchResult)
def report_metrics(body: MetricsBatch):
    db = db_session()
    samples = [SampleInput(instance=s.instance, timestamp=s.timestamp, requests=s.requests, errors=s.errors,
                           available=s.available,
                           latency_ms=None if s.latency_ms is None else s.latency_ms.model_dump(exclude_none=True),
                           latency_histogram=s.latency_histogram, gpu_utilization=s.gpu_utilization,
                           gpu_memory_utilization=s.gpu_memory_utilization)
               for s in body.samples]
    result = record_samples(db, current_org_id(), samples, source="api")
    db.commit()
    return respond(MetricsBatchResult(
        data=[MetricSampleResult(index=r.index, status=r.status) for r in result.results],
        recorded=result.recorded, duplicates=result.duplicates))
