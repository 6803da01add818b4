"""Register the security settings pages on a portal blueprint.

Every portal gets the personal settings (two-factor, sessions); the client
portal also gets its organization's settings (IP allowlist, geo rules, API
keys, audit log, members). Endpoint names start with `security`.
"""
from __future__ import annotations

from flask import Blueprint, request

from app.web.portal import render
from app.web.security import (allowlist_views, api_key_views, audit_views, geo_views, member_views,
                               session_views, two_factor_views)

PORTALS = ("client", "partner", "admin")


# The client portal's organization settings, as cards on the overview:
# (endpoint, title, description).
ORGANIZATION_SECTIONS = [
    ("security_members", "Members", "Who can sign in, their roles, and requiring two-factor authentication."),
    ("security_allowlist", "IP allowlist", "Only let the portal and API keys in from your own networks."),
    ("security_geo", "Geo rules", "Allow, block or ask for verification by country."),
    ("security_api_keys", "API keys", "Keys for the REST API, their scopes and when they were last used."),
    ("security_audit", "Audit log", "Every sign-in and security change in your organization."),
]


def organization_sections() -> list[tuple[str, str, str]]:
    """ORGANIZATION_SECTIONS with relative endpoints; only the client portal has them."""
    if request.blueprint != "client":
        return []
    return [(f".{endpoint}", title, description) for endpoint, title, description in ORGANIZATION_SECTIONS]


def overview():
    """Two-factor status and actions, links to the account's other settings, and
    (client portal) the organization's security settings."""
    return render("security/index.html", organization_sections=organization_sections(),
                  **two_factor_views.status_context(), **session_views.summary())


ACCOUNT_ROUTES = [
    ("/security", "security", overview, ["GET"]),
    *two_factor_views.ROUTES,
    *session_views.ROUTES,
]
ORGANIZATION_ROUTES = [
    *allowlist_views.ROUTES,
    *geo_views.ROUTES,
    *api_key_views.ROUTES,
    *audit_views.ROUTES,
    *member_views.ROUTES,
]


def register(bp: Blueprint, portal: str) -> None:
    if portal not in PORTALS:
        raise ValueError(f"Security pages exist for {PORTALS}, not {portal!r}")
    routes = ACCOUNT_ROUTES + (ORGANIZATION_ROUTES if portal == "client" else [])
    for rule, endpoint, view, methods in routes:
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)
