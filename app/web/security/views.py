"""Register the security settings pages on a portal blueprint.

Every portal gets the personal settings (two-factor, sessions); the client
portal also gets its organization's settings (IP allowlist, geo rules, API
keys, audit log, members). Endpoint names start with `security`.
"""
from __future__ import annotations

from flask import Blueprint

from app.web.security import (allowlist_views, api_key_views, audit_views, geo_views, member_views,
                               session_views, two_factor_views)
from app.web.security.common import render

PORTALS = ("client", "partner", "admin")


def overview():
    return render("security/index.html", **two_factor_views.status_context())


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
