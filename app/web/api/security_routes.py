"""API v1: the organization's IP allowlist, geo rules and audit log.

Thin: validate → security service → serialize. Changes are made in the name of
the key (its display prefix in the audit log, no user), from the request's
address, so the services' self-lockout refusals protect API callers too.
"""
from __future__ import annotations


from app.audit import queries
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.extensions import client_ip
from app.security import geo_rules, ip_allowlist
from app.security.models import IpAllowlistEntry
from app.web.access_gate import current_country
from app.web.api.auth import api_actor_label
from app.web.api.registry import api_route, respond
from app.web.api.security_schemas import (AllowlistEntryOut, AllowlistOut, AllowlistReplace, AuditEventList,
                                          AuditEventOut, AuditLogQuery, GeoRuleIn, GeoRulesIn, GeoRulesOut)
from app.web.portal import current_org_id
from app.web.request_context import db_session



def _actor() -> dict:
    """Who the services write into the audit log: the key, never its secret."""
    return {"actor_label": api_actor_label(), "actor_user_id": None}


def _allowlist(entries: list[IpAllowlistEntry]) -> AllowlistOut:
    return AllowlistOut(data=[AllowlistEntryOut(id=e.public_id, cidr=e.cidr, label=e.label, created_at=e.created_at)
                              for e in entries])


def _geo(policy: geo_rules.GeoPolicy) -> GeoRulesOut:
    return GeoRulesOut(default=policy.default,
                       rules=[GeoRuleIn(country=country, action=action) for country, action in policy.rules.items()])


def _event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(id=event.public_id, created_at=event.created_at, action=event.action,
                         actor=event.actor_label, target=event.target, ip_address=event.ip_address,
                         user_agent=event.user_agent, details=event.details or {})


@api_route("/ip_allowlist", "GET", summary="The organization's IP allowlist (empty: every address allowed)",
           response=AllowlistOut)
def get_ip_allowlist():
    return respond(_allowlist(ip_allowlist.entries(db_session(), current_org_id())))


@api_route("/ip_allowlist", "POST",
           summary="Replace the whole IP allowlist; refused if it would lock out the calling address",
           scope="write", body=AllowlistReplace, response=AllowlistOut)
def replace_ip_allowlist(body: AllowlistReplace):
    db = db_session()
    new_entries = [ip_allowlist.EntryInput(cidr=entry.cidr, label=entry.label) for entry in body.entries]
    ip_allowlist.replace(db, current_org_id(), new_entries, current_ip=client_ip(), **_actor())
    db.commit()
    return respond(_allowlist(ip_allowlist.entries(db, current_org_id())))


@api_route("/geo_rules", "GET", summary="The organization's geo rules and the default for other countries",
           response=GeoRulesOut)
def get_geo_rules():
    return respond(_geo(geo_rules.policy(db_session(), current_org_id())))


@api_route("/geo_rules", "POST",
           summary="Replace the default and every country rule; refused if it would block the calling location",
           scope="write", body=GeoRulesIn, response=GeoRulesOut)
def save_geo_rules(body: GeoRulesIn):
    db = db_session()
    country = current_country()
    policy = geo_rules.save(db, current_org_id(), body.default, [(rule.country, rule.action) for rule in body.rules],
                            current_country=country, **_actor())
    db.commit()
    return respond(_geo(policy))


@api_route("/audit_logs", "GET", summary="The organization's audit log, newest first", query=AuditLogQuery,
           response=AuditEventList)
def list_audit_logs(query: AuditLogQuery):
    if query.since and query.until and query.until < query.since:
        raise DomainError("until: must not be before since.", field="until")
    filters = queries.AuditFilters(org_id=current_org_id(), action=query.action or None, actor=query.actor or None,
                                   since=query.since, until=query.until)
    page = queries.page(db_session(), filters, query.limit, query.starting_after)
    return respond(AuditEventList(data=[_event_out(e) for e in page.rows], has_more=page.has_more))
