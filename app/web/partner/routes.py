"""Partner portal: the partner's dashboard."""
from __future__ import annotations

from app.accounts.models import Organization
from app.partners import service as partners
from app.webhooks import portal_queries as webhook_queries
from app.web.partner import bp
from app.web.security.views import register as register_security
from app.web.portal import current_org_id, guard, render
from app.web.request_context import db_session
from app.web.webhooks.views import register as register_webhooks

guard(bp, "partner")
register_security(bp, "partner")
register_webhooks(bp, "partner")


@bp.route("/")
def dashboard():
    db = db_session()
    org_id = current_org_id()
    return render("partner/dashboard.html", organization=db.get(Organization, org_id),
                  referred=partners.referred_customers(db, org_id),
                  disabled_endpoints=webhook_queries.automatically_disabled(db, org_id))
