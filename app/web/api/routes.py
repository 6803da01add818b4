"""API v1: identity and instances. Thin: validate → service → serialize."""
from __future__ import annotations

from flask import current_app, g, jsonify

from app.rental import service as rental
from app.rental.models import Instance
from app.tenancy import owned
from app.web.api import auth  # noqa: F401  (registers authentication)
from app.web.api.openapi import build_document
from app.pagination import paginate
from app.web.api.registry import api_route, respond
from app.web.api.schemas import (ApiKeyOut, InstanceList, InstanceOut, InstanceUpdate, ListQuery,
                                 MeResponse, OrganizationOut)
from app.web.portal import current_org_id
from app.web.request_context import db_session


def instance_out(instance: Instance) -> InstanceOut:
    return InstanceOut(id=instance.public_id, name=instance.name, gpu_type=instance.gpu_type,
                       hourly_rate=instance.hourly_rate, currency=instance.currency.lower(),
                       status=instance.status, created_at=instance.created_at)



@api_route("/openapi.json", "GET", summary="This document", scope=None, public=True)
def openapi_document():
    return jsonify(build_document(current_app))


@api_route("/me", "GET", summary="The organization and key making the request", response=MeResponse)
def me():
    org, key = g.organization, g.api_key
    return respond(MeResponse(
        organization=OrganizationOut(id=org.public_id, slug=org.slug, name=org.name, kind=org.kind,
                                     tier=org.tier, country=org.country,
                                     preferred_currency=org.preferred_currency.lower()),
        api_key=ApiKeyOut(id=key.public_id, name=key.name, scopes=sorted(key.scope_set)),
    ))


@api_route("/instances", "GET", summary="List the organization's GPU instances", query=ListQuery,
           response=InstanceList)
def list_instances(query: ListQuery):
    db = db_session()
    page = paginate(db, owned(Instance, current_org_id()), Instance, query.limit, query.starting_after)
    return respond(InstanceList(data=[instance_out(i) for i in page.rows], has_more=page.has_more))


@api_route("/instances/<public_id>", "GET", summary="Get one instance", response=InstanceOut)
def get_instance(public_id: str):
    return respond(instance_out(rental.get_instance(db_session(), current_org_id(), public_id)))


@api_route("/instances/<public_id>", "PATCH", summary="Rename an instance", scope="write",
           body=InstanceUpdate, response=InstanceOut)
def update_instance(public_id: str, body: InstanceUpdate):
    db = db_session()
    instance = rental.rename_instance(db, current_org_id(), public_id, body.name)
    db.commit()
    return respond(instance_out(instance))


from app.web.api import webhook_routes  # noqa: E402,F401  (registers the webhooks API)
from app.web.api import security_routes  # noqa: E402,F401  (registers the security API)
from app.web.api import payment_routes  # noqa: E402,F401  (registers payments, refunds and disputes)
from app.web.api import usage_routes  # noqa: E402,F401  (registers usage metering)
from app.web.api import currency_routes  # noqa: E402,F401  (registers currency conversion)
from app.web.api import tax_routes  # noqa: E402,F401  (registers tax calculation and exemptions)
from app.web.api import billing_routes  # noqa: E402,F401  (registers subscription and invoices)
from app.web.api import metrics_routes  # noqa: E402,F401  (registers SLA metrics ingestion)
from app.web.api import sla_routes  # noqa: E402,F401  (registers the SLA figures and alerts)
from app.web.api import advice_routes  # noqa: E402,F401  (registers cost advice)
