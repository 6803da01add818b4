"""What the security settings views share."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from app.web.request_context import is_htmx_partial


def actor() -> dict:
    """Who the services write into the audit log."""
    return {"actor_label": current_user.email, "actor_user_id": current_user.id}


def render(template: str, fragment: str | None = None, **context) -> str:
    """Full page normally; only `fragment` when htmx asks for a partial swap."""
    if fragment and is_htmx_partial():
        return render_template(fragment, **context)
    return render_template(template, **context)
