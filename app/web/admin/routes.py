"""Admin portal: platform-wide figures for staff."""
from __future__ import annotations

from flask import abort, current_app, request

from app.admin import service as platform
from app.extensions import get_redis
from app.web.admin import (advice_views, audit_views, bp, dispute_views, exchange_rate_views, invoice_views,
                           payment_views, sla_views, stripe_event_views, tax_views)
from app.web.security.views import register as register_security
from app.web.portal import guard, render
from app.web.request_context import db_session
from app.webhooks import operations

guard(bp, "admin")
register_security(bp, "admin")
audit_views.register(bp)
payment_views.register(bp)
dispute_views.register(bp)
stripe_event_views.register(bp)
invoice_views.register(bp)
exchange_rate_views.register(bp)
tax_views.register(bp)
sla_views.register(bp)
advice_views.register(bp)

ORGS_PER_PAGE = 25


@bp.route("/")
def dashboard():
    return render("admin/dashboard.html", figures=platform.figures(db_session()))


@bp.route("/organizations")
def organizations():
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    listing = platform.organizations_page(db_session(), int(page), ORGS_PER_PAGE)
    if int(page) > 1 and not listing.rows:
        abort(404)
    return render("admin/organizations/index.html", "admin/organizations/_table.html", listing=listing)


@bp.route("/webhooks")
def webhooks():
    """Delivery operations across every organization; htmx refreshes the figures."""
    figures = operations.overview(db_session(), get_redis(), current_app.config["RQ_QUEUES"])
    return render("admin/webhooks/index.html", "admin/webhooks/_overview.html", overview=figures)
