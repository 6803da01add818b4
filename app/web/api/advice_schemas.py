"""Request and response shapes of the cost-advice API (`/api/v1/cost_advice`).

Savings are integers in the minor units of `currency` (the customer's preferred currency when the daily job last
ran, lower case), with the same estimate in USD cents beside them; `status` is what the customer sees: a snooze
whose date has come reads as open.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.web.api.schemas import ListQuery

Status = Literal["open", "dismissed", "snoozed", "applied", "closed"]


class CostAdviceQuery(ListQuery):
    status: Status = Field(default="open", description="open (default), dismissed, snoozed, applied or closed")


class RecommendationOut(BaseModel):
    id: str = Field(description="rec_…")
    kind: Literal["idle_instance", "rightsize", "tier_fit", "schedule", "commitment"]
    subject: str = Field(description="what it is about: an instance id (ins_…) or 'plan'")
    status: Status
    severity: Literal["low", "medium", "high", "critical"] = Field(
        description="the savings as a share of the monthly spend: < 5% low, < 15% medium, < 30% high, else critical")
    title: str
    action: str | None = Field(description="what apply does: stop_instance, resize:<GPU type>, change_plan:<plan>; "
                                           "null: advice only, nothing to apply")
    monthly_savings: int = Field(description="estimated, minor units of `currency` per month (30 days)")
    currency: str = Field(description="ISO 4217, lower case")
    savings_usd: int = Field(description="the same estimate in USD cents")
    monthly_spend_usd: int = Field(description="the monthly spend (USD cents) the severity is a share of")
    evidence: dict = Field(description="the numbers the rule used, with a small daily `series`")
    dismiss_reason: str | None
    snoozed_until: dt.date | None
    applied_at: dt.datetime | None
    applied_by: str | None
    closed_at: dt.datetime | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime = Field(description="the last daily run that found it")


class CostAdviceList(BaseModel):
    data: list[RecommendationOut] = Field(description="biggest monthly savings first, then oldest")
    total_monthly_savings: int = Field(description="what every recommendation of this status saves together "
                                                   "(all pages), minor units of `currency`")
    currency: str = Field(description="ISO 4217, lower case")
    has_more: bool


class DismissBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why it does not apply (1 to 500 characters)")


class SnoozeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: dt.date = Field(description="YYYY-MM-DD (UTC), after today and at most a year ahead")
