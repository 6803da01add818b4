"""Checks every portal request makes after sign-in, before its view runs:

1. the organization's IP allowlist and geo rules (403 naming the address, or a
   2FA step-up for "require verification" countries);
2. two-factor enrolment where it is required (admins; members of an
   organization whose owner requires it): everything but the setup page
   redirects there.
"""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_login import current_user

from app.extensions import client_ip, get_redis
from app.security import access, countries, two_factor
from app.security.geoip import CountryLookup
from app.web.auth.session_loader import current_user_session
from app.web.request_context import db_session
from app.web.sudo_guard import leave_page, return_path

# Endpoints (without the blueprint) a user who must enrol may still reach.
ENROLMENT_ENDPOINTS = frozenset({"security_two_factor_setup"})


def country_lookup() -> CountryLookup:
    return current_app.extensions["geoip"]


def current_country() -> str | None:
    """Where the request comes from, by the app's GeoIP database (None: not placed)."""
    return country_lookup().country(client_ip())


def refusal_message(decision: access.AccessDecision) -> str:
    if decision.outcome == "ip_blocked":
        return (f"Your organization only allows access from the addresses on its IP allowlist, "
                f"and your address {decision.ip} is not on it.")
    place = f"{countries.name(decision.country)} ({decision.country})" if decision.country else "your location"
    return f"Your organization does not allow access from {place}. Your address is {decision.ip}."


def check_organization_access():
    """IP allowlist and geo rules for the signed-in user's organization."""
    from app.web.errors import error_page

    db = db_session()
    decision = access.decide(db, current_user.org_id, client_ip(), country_lookup())
    if decision.allowed:
        return None
    if decision.outcome == "verify":
        user_session = current_user_session()
        if user_session is not None and user_session.verified_ip == decision.ip:
            return None
        return leave_page(url_for("auth.step_up", next=return_path()))
    if access.record_block(db, get_redis(), current_user.org_id, decision, actor_label=current_user.email,
                           actor_user_id=current_user.id, channel="portal"):
        db.commit()
    return error_page(403, refusal_message(decision))


def check_two_factor_enrolment(portal: str):
    endpoint = (request.endpoint or "").partition(".")[2]
    if endpoint in ENROLMENT_ENDPOINTS or not two_factor.is_required(current_user):
        return None
    if two_factor.is_enabled(db_session(), current_user.id):
        return None
    reason = ("Administrators must turn on two-factor authentication before using the admin portal."
              if current_user.is_admin else
              "Your organization requires two-factor authentication. Set it up to continue.")
    flash(reason, "info")
    return leave_page(url_for(f"{portal}.security_two_factor_setup"))
