"""Request and response shapes of the security API: IP allowlist, geo rules,
audit log. Only the shape is checked here; what makes a CIDR, a country or an
action acceptable is the security service's business, whose refusals name the
same fields (e.g. `entries.1.cidr`)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.web.api.schemas import ListQuery


class AllowlistEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cidr: str = Field(description="IPv4 or IPv6 network in CIDR form, or one address "
                                  "(e.g. 203.0.113.0/24, 2001:db8::/32)")
    label: str = Field(default="", description="what the network is, at most 100 characters")


class AllowlistReplace(BaseModel):
    """The whole new list; an empty list lets every address in."""

    model_config = ConfigDict(extra="forbid")

    entries: list[AllowlistEntryIn] = Field(
        description="replaces the whole list; refused if it would not include the address making the request")


class AllowlistEntryOut(BaseModel):
    id: str = Field(description="ipa_…")
    cidr: str = Field(description="normalised network")
    label: str
    created_at: datetime


class AllowlistOut(BaseModel):
    data: list[AllowlistEntryOut] = Field(description="empty: every address is allowed")


class GeoRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. DE")
    action: str = Field(description="allow, block or verify (verify refuses API keys: they cannot do 2FA)")


class GeoRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str = Field(description="allow, block or verify: for every country without a rule")
    rules: list[GeoRuleIn] = Field(default_factory=list, description="replaces every rule")


class GeoRulesOut(BaseModel):
    default: str
    rules: list[GeoRuleIn]


class AuditEventOut(BaseModel):
    id: str = Field(description="aud_…")
    created_at: datetime
    action: str = Field(description="e.g. login.succeeded, ip_allowlist.replaced, api_key.created")
    actor: str = Field(description="email of the person, prefix of the API key, or 'system'")
    target: str | None = Field(description="public id of the object acted on")
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditEventList(BaseModel):
    data: list[AuditEventOut]
    has_more: bool


class AuditLogQuery(ListQuery):
    action: str | None = Field(default=None, max_length=60,
                               description="an exact action (login.failed) or a family (login)")
    actor: str | None = Field(default=None, max_length=254, description="part of the actor's email or key prefix")
    since: date | None = Field(default=None, description="YYYY-MM-DD, UTC, inclusive")
    until: date | None = Field(default=None, description="YYYY-MM-DD, UTC, inclusive")
