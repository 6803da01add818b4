"""Register the webhooks pages on a portal blueprint.

The same views serve /client and /partner: the blueprint's gate has already
set the organization (current_org_id()), every row is loaded through it, and
templates extend the portal's own layout (`portal_layout`, see templating).
"""
from __future__ import annotations

from flask import Blueprint

from app import clock
from app.web.webhooks import delivery_views, detail_views, endpoint_views

PORTALS = ("client", "partner")


def register(bp: Blueprint, portal: str) -> None:
    """Add the webhooks routes (endpoint names `webhooks…`) to `bp`, the blueprint of `portal`."""
    if portal not in PORTALS:
        raise ValueError(f"Webhooks pages exist for {PORTALS}, not {portal!r}")
    for rule, endpoint, view, methods in (*endpoint_views.ROUTES, *detail_views.ROUTES, *delivery_views.ROUTES):
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)

    @bp.context_processor
    def rotation_clock():
        # The secret widget says whether a rotation's overlap is still running.
        return {"now_utc": clock.utcnow}
