"""Per-organization geo rules: allow, block or require 2FA verification per
country, and a default for every other country (and for addresses no
database places, such as private networks).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts.models import Organization
from app.audit.service import record
from app.errors import DomainError
from app.security import countries
from app.security.models import GEO_ACTIONS, GeoRule

MAX_RULES = 250
ACTION_LABELS = {"allow": "Allow", "block": "Block", "verify": "Require 2FA verification"}


@dataclass(frozen=True)
class GeoPolicy:
    default: str = "allow"
    rules: dict[str, str] = dataclass_field(default_factory=dict)  # country -> action

    def action_for(self, country: str | None) -> str:
        return self.rules.get(country or "", self.default)

    @property
    def is_open(self) -> bool:
        """Nothing restricted: every request is allowed without a lookup."""
        return self.default == "allow" and all(action == "allow" for action in self.rules.values())


def read_action(raw: str, field: str = "action") -> str:
    action = (raw or "").strip().lower()
    if action not in GEO_ACTIONS:
        raise DomainError(f"“{raw}” is not a geo action; use allow, block or verify.", field=field)
    return action


def policy(session: Session, org_id: int) -> GeoPolicy:
    """The organization's default and rules, in one query (every request asks)."""
    rows = session.execute(
        select(Organization.geo_default_action, GeoRule.country, GeoRule.action)
        .outerjoin(GeoRule, GeoRule.org_id == Organization.id)
        .where(Organization.id == org_id)
        .order_by(GeoRule.country)
    ).all()
    default = rows[0][0] if rows else "allow"
    return GeoPolicy(default, {country: action for _, country, action in rows if country is not None})


def save(session: Session, org_id: int, default: str, rules: list[tuple[str, str]], *,
         current_country: str | None, actor_label: str, actor_user_id: int | None = None) -> GeoPolicy:
    """Replace the organization's rules and default after checking every entry.

    Refused when it would block the country of the request making the change.
    """
    default = read_action(default, "default")
    if len(rules) > MAX_RULES:
        raise DomainError(f"At most {MAX_RULES} country rules.", field="rules")
    parsed: dict[str, str] = {}
    for position, (country, action) in enumerate(rules):
        code = countries.read_country(country, field=f"rules.{position}.country")
        if code in parsed:
            raise DomainError(f"{code} has two rules (entry {position + 1}).", field=f"rules.{position}.country")
        parsed[code] = read_action(action, field=f"rules.{position}.action")
    new_policy = GeoPolicy(default, dict(sorted(parsed.items())))
    if new_policy.action_for(current_country) == "block":
        where = f"{countries.name(current_country)} ({current_country})" if current_country else "an unlisted location"
        raise DomainError(f"These rules would block your current location, {where}, and lock you out.",
                          field="default" if current_country not in parsed else "rules")
    organization = session.get(Organization, org_id)
    organization.geo_default_action = default
    session.execute(delete(GeoRule).where(GeoRule.org_id == org_id))
    session.add_all(GeoRule(org_id=org_id, country=code, action=action) for code, action in parsed.items())
    session.flush()
    record(session, "geo_rules.updated", actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id,
           details={"default": default, "rules": new_policy.rules})
    return new_policy
