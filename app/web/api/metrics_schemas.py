"""Request and response shapes of the metrics API (SLA samples in).

Only the shape is checked here (types: an integer is not a string, a bool or a decimal); whether a sample fits (its
instance is yours, its time is not ahead or in a closed month, errors ≤ requests, the histogram adds up) is the
ingestion service's business. Both name the sample the same way, `samples[<index>].<field>`, as the usage API
does: pydantic's complaint is turned into the service's DomainError inside the validator.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError,
                      model_validator)

from app.sla.histogram import HISTOGRAM_KEYS
from app.sla.ingestion import MAX_BATCH, MAX_COUNT
from app.web.api.schemas import batch_item_error

Milliseconds = Annotated[float, Field(strict=True, allow_inf_nan=False, description="milliseconds, ≥ 0")]
Percent = Annotated[float, Field(strict=True, allow_inf_nan=False, description="percent, 0–100, at most 2 decimals")]


class MetricLatencyIn(BaseModel):
    """Latency percentiles of the sample's requests; spread over the histogram's buckets when stored."""

    model_config = ConfigDict(extra="forbid")

    p50: Milliseconds
    p95: Milliseconds
    p99: Milliseconds | None = None


class MetricSampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance: str = Field(description="the ins_… id of your instance the sample is about")
    timestamp: AwareDatetime = Field(
        description="when the sample was taken, ISO 8601 with a time zone; at most 60 s ahead, and not in an SLA "
                    "month already closed (a month closes 15 minutes after it ends). With the instance, the "
                    "sample's identity: a sample sent again is counted once")
    requests: StrictInt = Field(default=0, description=f"requests served, an integer 0–{MAX_COUNT:,}")
    errors: StrictInt = Field(default=0, description="of those, the ones that failed (≤ requests)")
    available: StrictBool | None = Field(default=None,
                                         description="an availability check's result; null or absent: none made")
    latency_ms: MetricLatencyIn | None = Field(
        default=None, description="percentiles p50 ≤ p95 (≤ p99) in ms; needs requests > 0")
    latency_histogram: dict[str, StrictInt] | None = Field(
        default=None, description=f"requests per latency bucket, keyed by upper bound in ms: "
                                  f"{', '.join(HISTOGRAM_KEYS)}; the counts add up to requests. Not with latency_ms")
    gpu_utilization: Percent | None = Field(
        default=None, description="how busy the GPU was, percent 0–100 with at most 2 decimals; sent with "
                                  "gpu_memory_utilization or not at all. Cost advice reads it")
    gpu_memory_utilization: Percent | None = Field(
        default=None, description="share of the GPU's memory in use, percent 0–100 with at most 2 decimals; sent "
                                  "with gpu_utilization or not at all")


class MetricsBatch(BaseModel):
    """Up to 1,000 samples, recorded all or none."""

    model_config = ConfigDict(extra="forbid")

    samples: list[MetricSampleIn] = Field(description=f"1–{MAX_BATCH:,} samples; one bad sample refuses the "
                                                      "batch, naming it as samples[<index>].<field>")

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_sample(cls, data, handler):
        try:
            return handler(data)
        except ValidationError as error:
            raise batch_item_error(error, "samples", "Sample") from None


class MetricSampleResult(BaseModel):
    index: int = Field(description="the sample's position in the batch")
    status: Literal["recorded", "duplicate"] = Field(
        description="duplicate: a sample of this instance at this timestamp was recorded already")


class MetricsBatchResult(BaseModel):
    data: list[MetricSampleResult] = Field(description="one per sample sent, in the same order")
    recorded: int
    duplicates: int
