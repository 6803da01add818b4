"""Request and response shapes of the usage API.

Only the shape is checked here; whether a record fits (its instance is yours, its time is in an open period) is the
usage service's business. Both name the record the same way, `records[<index>].<field>`: a shape error found by
pydantic is turned into the service's DomainError (raised from the validator, which pydantic lets through), so a
client sees one convention whatever was wrong.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from app.billing.models import METRICS
from app.billing.usage import MAX_BATCH, MAX_KEY_LENGTH, MAX_MODEL_LENGTH
from app.web.api.schemas import batch_item_error


class UsageRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(description=f"your id for this record (1–{MAX_KEY_LENGTH} printable characters): "
                                             "a record sent again with the same key is counted once")
    metric: Literal[METRICS] = Field(description="gpu_seconds or api_requests")
    quantity: StrictInt = Field(description="GPU-seconds, or a number of requests; an integer ≥ 0")
    timestamp: AwareDatetime | None = Field(
        default=None, description="when the usage happened, ISO 8601 with a time zone (default: now); at most "
                                  "5 minutes ahead, and not in a billing period already invoiced")
    instance: str | None = Field(default=None, description="gpu_seconds: the ins_… id of your instance")
    model: str | None = Field(default=None, description=f"api_requests: the model (1–{MAX_MODEL_LENGTH} characters)")


class UsageBatch(BaseModel):
    """Up to 1,000 records, recorded all or none."""

    model_config = ConfigDict(extra="forbid")

    records: list[UsageRecordIn] = Field(description=f"1–{MAX_BATCH:,} records; one bad record refuses the batch, "
                                                     "naming it as records[<index>].<field>")

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_record(cls, data, handler):
        try:
            return handler(data)
        except ValidationError as error:
            raise batch_item_error(error, "records", "Record") from None


class UsageRecordResult(BaseModel):
    idempotency_key: str
    id: str = Field(description="mu_… of the stored record (for a duplicate: the one stored first)")
    status: Literal["recorded", "duplicate"] = Field(description="duplicate: this key was recorded already")


class UsageBatchResult(BaseModel):
    data: list[UsageRecordResult] = Field(description="one per record sent, in the same order")
    recorded: int
    duplicates: int


class UsageMetricOut(BaseModel):
    metric: str = Field(description="gpu_seconds or api_requests")
    used: int = Field(description="this period so far")
    included: int = Field(description="what the plan includes per period")
    percent: float | None = Field(description="used / included, to 0.1 (null when the plan includes none)")
    overage_quantity: int = Field(description="used beyond the included quantity")
    overage_cost: int = Field(description="what the excess costs so far, minor units of `currency`")
    currency: str = Field(description="ISO 4217, lower case (plans are priced in usd)")
    thresholds_reached: list[int] = Field(description="80 and/or 100: the usage.threshold_reached events sent")


class UsageDayOut(BaseModel):
    date: dt.date = Field(description="UTC day")
    gpu_seconds: int
    api_requests: int


class UsageModelOut(BaseModel):
    model: str
    requests: int


class UsageInstanceOut(BaseModel):
    instance: str | None = Field(description="ins_… (null: an instance deleted since)")
    name: str
    gpu_seconds: int


class UsageSummaryOut(BaseModel):
    period_start: dt.datetime
    period_end: dt.datetime
    plan: str = Field(description="free, pro or enterprise")
    metrics: list[UsageMetricOut]
    daily: list[UsageDayOut] = Field(description="each day of the period up to today")
    models: list[UsageModelOut] = Field(description="API requests per model, largest first (the first 100)")
    models_has_more: bool
    instances: list[UsageInstanceOut] = Field(description="GPU-seconds per instance, largest first (the first 100)")
    instances_has_more: bool
