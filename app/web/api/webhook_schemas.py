"""Request and response shapes of the webhooks API (PRODUCT.md's shapes are binding:
fields may be added, none renamed)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.web.api.schemas import ListQuery


class EventTypeOut(BaseModel):
    # `schema` is the natural name for clients but shadows a BaseModel attribute,
    # hence the alias (responses are dumped by alias).
    model_config = ConfigDict(populate_by_name=True)

    name: str
    description: str
    data_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema of the event's `data` object")
    example: dict[str, Any] = Field(description="an example `data` object")


class EventTypeList(BaseModel):
    data: list[EventTypeOut]
    has_more: bool = False


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="https URL that receives the webhooks")
    event_types: list[str] | None = Field(default=None, description="omitted or null: every type")
    description: str = ""


class EndpointUpdate(BaseModel):
    """Only the fields present change; `event_types: null` means every type."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    description: str | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str] | None = Field(description="null: every type, including ones added later")
    enabled: bool
    disabled_reason: str | None = Field(description="manual, gone (the receiver answered 410) or failing (5 days)")
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="first failed attempt since the last success")
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…; returned only when created or rotated")


class RotatedEndpoint(EndpointWithSecret):
    previous_secret_expires_at: datetime = Field(
        description="until then deliveries carry a signature with the old secret too")


class EndpointList(BaseModel):
    data: list[EndpointOut]
    has_more: bool


class SendTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str | None = Field(default=None, description="default: the first type the endpoint receives")


class SentTestEvent(BaseModel):
    event_id: str
    message_id: str
    event_type: str


class DeliveryOut(BaseModel):
    id: str = Field(description="msg_…; also the webhook-id header of every attempt")
    event_id: str
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    has_more: bool


class DeliveryQuery(ListQuery):
    status: str | None = Field(default=None, description="pending, succeeded or failed")
    event_type: str | None = Field(default=None, description="an event type of the catalog")


class EventOut(BaseModel):
    id: str
    type: str
    created_at: datetime
    is_test: bool
    data: dict[str, Any] = Field(description="the `data` object the event carried")


class EventList(BaseModel):
    data: list[EventOut]
    has_more: bool


class EventQuery(ListQuery):
    type: str | None = Field(default=None, description="only events of this type")
