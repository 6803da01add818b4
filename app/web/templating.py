"""Template filters and globals: money, dates, the portal a page belongs to."""
from __future__ import annotations

from flask import Flask, request

from app.money import Money


def portal_of_path(path: str) -> str | None:
    for portal in ("client", "partner", "admin"):
        if path == f"/{portal}" or path.startswith(f"/{portal}/"):
            return portal
    return None


def init_app(app: Flask) -> None:
    @app.template_filter("money")
    def money_filter(amount: int, currency: str) -> str:
        return Money(amount, currency).format()

    @app.template_filter("datetime")
    def datetime_filter(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"

    @app.template_filter("date")
    def date_filter(value) -> str:
        return value.strftime("%Y-%m-%d") if value else "—"

    @app.context_processor
    def portal_context():
        portal = portal_of_path(request.path) if request else None
        # Pages shared by several portals extend the layout of the one they are in.
        return {"current_portal": portal, "portal_layout": f"{portal}/layout.html" if portal else "base.html"}
