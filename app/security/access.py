"""May a request from this address act for this organization?

One decision for portal sessions and API keys alike: the IP allowlist first,
then the geo rules. Blocks are audited, at most once a minute per
organization, address and reason, so a blocked client hammering the portal
cannot flood the log.
"""
from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app.audit.service import record
from app.security import geo_rules, ip_allowlist
from app.security.geoip import CountryLookup

AUDIT_DEDUPE_SECONDS = 60


@dataclass(frozen=True)
class AccessDecision:
    outcome: str  # "allow", "ip_blocked", "geo_blocked" or "verify"
    ip: str
    country: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


def decide(session: Session, org_id: int, ip: str, lookup: CountryLookup) -> AccessDecision:
    if not ip_allowlist.permits(ip_allowlist.networks(session, org_id), ip):
        return AccessDecision("ip_blocked", ip)
    geo = geo_rules.policy(session, org_id)
    if geo.is_open:
        return AccessDecision("allow", ip)
    country = lookup.country(ip)
    action = geo.action_for(country)
    outcome = {"allow": "allow", "block": "geo_blocked", "verify": "verify"}[action]
    return AccessDecision(outcome, ip, country)


def record_block(session: Session, redis: Redis, org_id: int, decision: AccessDecision, *,
                 actor_label: str, actor_user_id: int | None = None, channel: str) -> bool:
    """Audit a refused request (deduplicated per minute); True when a row was written.

    `channel` is "portal" or "api". If Redis is down every block is written.
    """
    action = "access.ip_blocked" if decision.outcome == "ip_blocked" else "access.geo_blocked"
    try:
        first = redis.set(f"audit-dedupe:{org_id}:{decision.ip}:{action}:{channel}", 1,
                          nx=True, ex=AUDIT_DEDUPE_SECONDS)
    except RedisError:
        first = True
    if not first:
        return False
    details = {"channel": channel}
    if decision.country:
        details["country"] = decision.country
    record(session, action, actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
           ip_address=decision.ip, details=details)
    return True
