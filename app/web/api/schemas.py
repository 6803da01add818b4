"""Request and response shapes of the API (pydantic: validation + JSON Schema)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, not_found, "
                                  "rate_limit_error, idempotency_error, card_error or api_error")
    message: str
    field: str | None = None
    code: str | None = Field(default=None, description="card_error: the gateway's decline code")
    payment: str | None = Field(default=None, description="card_error: the failed payment's id (pay_…)")


class ErrorResponse(BaseModel):
    error: ErrorBody


class OrganizationOut(BaseModel):
    id: str
    slug: str
    name: str
    kind: str
    tier: str | None
    country: str
    preferred_currency: str


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[str]


class MeResponse(BaseModel):
    organization: OrganizationOut
    api_key: ApiKeyOut


class InstanceOut(BaseModel):
    id: str
    name: str
    gpu_type: str
    hourly_rate: int = Field(description="minor units of `currency` per hour")
    currency: str = Field(description="ISO 4217, lower case")
    status: str = Field(description="running, stopped or suspended")
    created_at: datetime


class InstanceList(BaseModel):
    data: list[InstanceOut]
    has_more: bool


class InstanceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=100, description="1 to 100, default 10")
    starting_after: str | None = Field(default=None, description="the last id of the previous page")
