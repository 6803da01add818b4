"""API v1: webhooks (event types, endpoints, deliveries, events). Thin: validate →
webhooks service → serialize. Customer rows are loaded only through tenancy
helpers, so another organization's ids answer 404 like unknown ones."""
from __future__ import annotations

import json


from app.errors import DomainError
from app.tenancy import get_owned, owned
from app.pagination import paginate
from app.web.api.auth import api_actor_label
from app.web.api.registry import api_route, respond
from app.web.api.schemas import ListQuery
from app.web.api.webhook_schemas import (DeliveryList, DeliveryOut, DeliveryQuery, EndpointCreate, EndpointList,
                                         EndpointOut, EndpointUpdate, EndpointWithSecret, EventList, EventOut,
                                         EventQuery, EventTypeList, EventTypeOut, RotatedEndpoint, SendTestRequest,
                                         SentTestEvent)
from app.web.portal import current_org_id
from app.web.request_context import db_session
from app.webhooks import endpoints as endpoint_service
from app.webhooks import events as event_service
from app.webhooks import messages as message_service
from app.webhooks.catalog import EVENT_TYPES, payload_schema
from app.webhooks.models import WebhookEndpoint, WebhookEvent, WebhookMessage

SCOPE = "webhooks"
_ENDPOINT_FIELDS = ("url", "description", "event_types", "enabled")



def _endpoint_fields(endpoint: WebhookEndpoint) -> dict:
    return {"id": endpoint.public_id, "url": endpoint.url, "description": endpoint.description,
            "event_types": endpoint.event_types, "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at,
            "failing_since": endpoint.failing_since, "created_at": endpoint.created_at,
            "updated_at": endpoint.updated_at}


def _delivery_out(message: WebhookMessage) -> DeliveryOut:
    return DeliveryOut(id=message.public_id, event_id=message.event.public_id, event_type=message.event_type,
                       status=message.status, attempts=message.attempt_count,
                       next_attempt_at=message.next_attempt_at, last_attempt_at=message.last_attempt_at,
                       last_status_code=message.last_status_code, created_at=message.created_at)


def _event_out(event: WebhookEvent) -> EventOut:
    return EventOut(id=event.public_id, type=event.type, created_at=event.created_at, is_test=event.is_test,
                    data=json.loads(event.body)["data"])


def _endpoint(public_id: str) -> WebhookEndpoint:
    return get_owned(db_session(), WebhookEndpoint, current_org_id(), public_id)


@api_route("/event_types", "GET", summary="Every event type with the JSON Schema of its data and an example",
           scope=None, response=EventTypeList)
def list_event_types():
    return respond(EventTypeList(data=[
        EventTypeOut(name=e.name, description=e.description, data_schema=payload_schema(e), example=e.example)
        for e in EVENT_TYPES.values()]))


@api_route("/webhook_endpoints", "GET", summary="List the organization's webhook endpoints", scope=SCOPE,
           query=ListQuery, response=EndpointList)
def list_webhook_endpoints(query: ListQuery):
    db = db_session()
    page = paginate(db, owned(WebhookEndpoint, current_org_id()), WebhookEndpoint, query.limit,
                    query.starting_after)
    return respond(EndpointList(data=[EndpointOut(**_endpoint_fields(e)) for e in page.rows],
                                 has_more=page.has_more))


@api_route("/webhook_endpoints", "POST", summary="Add a webhook endpoint (the response carries its secret)",
           scope=SCOPE, body=EndpointCreate, response=EndpointWithSecret, status=201)
def create_webhook_endpoint(body: EndpointCreate):
    db = db_session()
    endpoint, secret = endpoint_service.create_endpoint(
        db, current_org_id(), url=body.url, description=body.description, event_types=body.event_types,
        actor_label=api_actor_label())
    db.commit()
    return respond(EndpointWithSecret(**_endpoint_fields(endpoint), secret=secret), 201)


@api_route("/webhook_endpoints/<public_id>", "GET", summary="Get one webhook endpoint (without its secret)",
           scope=SCOPE, response=EndpointOut)
def get_webhook_endpoint(public_id: str):
    return respond(EndpointOut(**_endpoint_fields(_endpoint(public_id))))


@api_route("/webhook_endpoints/<public_id>", "PATCH",
           summary="Change url, description, event_types (null: all) or enabled", scope=SCOPE,
           body=EndpointUpdate, response=EndpointOut)
def update_webhook_endpoint(public_id: str, body: EndpointUpdate):
    db = db_session()
    endpoint = _endpoint(public_id)
    changes = {name: getattr(body, name) for name in _ENDPOINT_FIELDS if name in body.model_fields_set}
    for name in ("url", "enabled"):
        if name in changes and changes[name] is None:
            raise DomainError(f"{name} cannot be null.", field=name)
    if "description" in changes and changes["description"] is None:
        changes["description"] = ""
    endpoint_service.update_endpoint(db, endpoint, actor_label=api_actor_label(), **changes)
    db.commit()
    return respond(EndpointOut(**_endpoint_fields(endpoint)))


@api_route("/webhook_endpoints/<public_id>", "DELETE", summary="Delete an endpoint and its delivery log",
           scope=SCOPE, status=204)
def delete_webhook_endpoint(public_id: str):
    db = db_session()
    endpoint_service.delete_endpoint(db, _endpoint(public_id), actor_label=api_actor_label())
    db.commit()
    return "", 204


@api_route("/webhook_endpoints/<public_id>/rotate_secret", "POST",
           summary="New signing secret; the old one keeps signing beside it for 24 h", scope=SCOPE,
           response=RotatedEndpoint)
def rotate_webhook_endpoint_secret(public_id: str):
    db = db_session()
    endpoint = _endpoint(public_id)
    secret = endpoint_service.rotate_secret(db, endpoint, actor_label=api_actor_label())
    db.commit()
    return respond(RotatedEndpoint(**_endpoint_fields(endpoint), secret=secret,
                                    previous_secret_expires_at=endpoint.previous_secret_expires_at))


@api_route("/webhook_endpoints/<public_id>/test", "POST",
           summary="Send the catalog example of an event type to this endpoint only", scope=SCOPE,
           body=SendTestRequest, response=SentTestEvent, status=201)
def send_webhook_test_event(public_id: str, body: SendTestRequest):
    db = db_session()
    endpoint = _endpoint(public_id)
    event = event_service.send_test(db, endpoint, body.event_type)
    message = db.scalars(owned(WebhookMessage, endpoint.org_id).where(
        WebhookMessage.event_id == event.id, WebhookMessage.endpoint_id == endpoint.id)).one()
    result = SentTestEvent(event_id=event.public_id, message_id=message.public_id, event_type=event.type)
    db.commit()
    return respond(result, 201)


@api_route("/webhook_endpoints/<public_id>/deliveries", "GET",
           summary="The endpoint's delivery log, newest first", scope=SCOPE, query=DeliveryQuery,
           response=DeliveryList)
def list_webhook_deliveries(public_id: str, query: DeliveryQuery):
    db = db_session()
    endpoint = _endpoint(public_id)
    stmt = message_service.message_filter(current_org_id(), endpoint, query.status, query.event_type)
    page = paginate(db, stmt, WebhookMessage, query.limit, query.starting_after, newest_first=True)
    return respond(DeliveryList(data=[_delivery_out(m) for m in page.rows], has_more=page.has_more))


@api_route("/deliveries/<public_id>/resend", "POST",
           summary="Send a delivery again now (same webhook-id, fresh retry schedule)", scope=SCOPE,
           response=DeliveryOut)
def resend_webhook_delivery(public_id: str):
    db = db_session()
    org_id = current_org_id()
    message = get_owned(db, WebhookMessage, org_id, public_id)
    endpoint = db.scalars(owned(WebhookEndpoint, org_id).where(WebhookEndpoint.id == message.endpoint_id)).one()
    message_service.resend(db, message, endpoint, actor_label=api_actor_label())
    db.commit()
    return respond(_delivery_out(message))


@api_route("/events", "GET", summary="Events emitted to the organization, newest first", scope=SCOPE,
           query=EventQuery, response=EventList)
def list_webhook_events(query: EventQuery):
    db = db_session()
    stmt = owned(WebhookEvent, current_org_id())
    if query.type:
        if query.type not in EVENT_TYPES:
            raise DomainError(f"Unknown event type {query.type!r}.", field="type")
        stmt = stmt.where(WebhookEvent.type == query.type)
    page = paginate(db, stmt, WebhookEvent, query.limit, query.starting_after, newest_first=True)
    return respond(EventList(data=[_event_out(e) for e in page.rows], has_more=page.has_more))
