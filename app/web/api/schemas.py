"""Request and response shapes of the API (pydantic: validation + JSON Schema)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import DomainError


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


def batch_item_error(error: ValidationError, items: str, noun: str) -> DomainError:
    """pydantic's first complaint about a batch, in the services' words: `records[3].quantity`, "Record 3: …"
    (`items` the list's name, `noun` what one item is called), so a client sees one naming whoever checked."""
    first = error.errors()[0]
    location = list(first["loc"])
    if len(location) >= 3 and location[0] == items and isinstance(location[1], int):
        index, name = location[1], ".".join(str(part) for part in location[2:])
        return DomainError(f"{noun} {index}: {name}: {first['msg']}", field=f"{items}[{index}].{name}")
    if len(location) == 2 and location[0] == items:
        return DomainError(f"{noun} {location[1]}: {first['msg']}", field=f"{items}[{location[1]}]")
    field = ".".join(str(part) for part in location) or None
    return DomainError(f"{field}: {first['msg']}" if field else first["msg"], field=field)
