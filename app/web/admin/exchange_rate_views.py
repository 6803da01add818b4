"""Admin: the exchange rate in force for every currency, edits, "Refresh now", and each currency's history.

Edits go through app.currency.service.set_rate (which audits them with before
and after) and are committed here. With htmx each form swaps the rates block
(#exchange-rates); without JavaScript the page redirects with a notice, or is
shown again with the error beside the rate. "Refresh now" queues the refresh
job; the job writes (and audits) the rates, so the page only says it is queued.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.currency import jobs, service
from app.currency.models import BASE_CURRENCY
from app.currency.providers import describe_provider
from app.errors import DomainError
from app.money import SUPPORTED_CURRENCIES
from app.web.admin.exchange_rate_forms import RateForm
from app.web.errors import htmx_error
from app.web.forms import apply_domain_error
from app.web.portal import actor
from app.web.request_context import db_session
from app.web.webhooks.common import render, wants_fragment

PAGE = "admin/exchange_rates/index.html"
BLOCK = "admin/exchange_rates/_rates.html"
HISTORY_PER_PAGE = 25
# Refreshed daily: a rate older than this means refreshes are not landing.
STALE_AFTER = timedelta(days=2)


def age(delta: timedelta) -> str:
    """How old a rate is, the way a person says it: "just now", "5 hours", "3 days"."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "just now"


def _form(code: str, rate: service.Rate | None) -> RateForm:
    return RateForm(formdata=None, prefix=code, rate=service.rate_text(rate.rate) if rate else "")


def context(forms: dict | None = None) -> dict:
    in_force, now, forms = service.rates_in_force(db_session()), clock.utcnow(), forms or {}
    rows = []
    for code in SUPPORTED_CURRENCIES:
        rate = in_force.get(code)
        rows.append({"code": code, "rate": rate, "base": code == BASE_CURRENCY,
                     "age": age(now - rate.as_of) if rate and code != BASE_CURRENCY else None,
                     "stale": bool(rate) and code != BASE_CURRENCY and now - rate.as_of > STALE_AFTER,
                     "form": forms.get(code) or _form(code, rate)})
    return {"rows": rows, "provider": describe_provider(current_app.config), "base_currency": BASE_CURRENCY,
            "rate_text": service.rate_text}


def _answer(notice: str | None = None, forms: dict | None = None):
    """After a change: the block (htmx) or a redirect with the notice. After a refusal: the block or the
    page with the error beside the rate, status 400."""
    if not forms and not wants_fragment():
        flash(notice, "success")
        return redirect(url_for("admin.exchange_rates"))
    template = BLOCK if wants_fragment() else PAGE
    return render_template(template, notice=notice, **context(forms)), 400 if forms else 200


def _editable(code: str) -> str:
    code = code.upper()
    if code not in SUPPORTED_CURRENCIES or code == BASE_CURRENCY:
        abort(404)
    return code


def index():
    return render_template(PAGE, **context())


def set_rate(code: str):
    code, db = _editable(code), db_session()
    form = RateForm(prefix=code)
    if form.validate_on_submit():
        try:
            row = service.set_rate(db, code, form.rate.data, **actor())
        except DomainError as error:
            db.rollback()
            apply_domain_error(form, error)
        else:
            db.commit()
            return _answer(f"{code}: 1 {BASE_CURRENCY} = {service.rate_text(row.rate)} {code} from now on.")
    return _answer(forms={code: form})


def refresh():
    provider = describe_provider(current_app.config)
    if jobs.enqueue_refresh(current_user.email):
        return _answer(f"A refresh from {provider} was queued. The new rates appear here once a worker has "
                       "run it; reload in a moment.")
    message = ("The refresh could not be queued: the job queue (Redis) is not reachable. No rate was changed; "
               "try again once it is back.")
    if wants_fragment():
        return htmx_error(503, message)
    return render_template(PAGE, error=message, **context()), 503


def history(code: str):
    code = code.upper()
    page = request.args.get("page", "1")
    if code not in SUPPORTED_CURRENCIES or not page.isdigit() or int(page) < 1:
        abort(404)
    listing = service.history(db_session(), code, int(page), HISTORY_PER_PAGE)
    if int(page) > 1 and not listing.rows:
        abort(404)
    return render("admin/exchange_rates/history.html", "admin/exchange_rates/_history.html", code=code,
                  listing=listing, base=code == BASE_CURRENCY, rate_text=service.rate_text)


def register(bp: Blueprint) -> None:
    """Register this module's pages on the admin portal."""
    bp.add_url_rule("/exchange-rates", endpoint="exchange_rates", view_func=index, methods=["GET"])
    bp.add_url_rule("/exchange-rates/refresh", endpoint="exchange_rates_refresh", view_func=refresh,
                    methods=["POST"])
    bp.add_url_rule("/exchange-rates/<code>", endpoint="exchange_rate_history", view_func=history, methods=["GET"])
    bp.add_url_rule("/exchange-rates/<code>", endpoint="exchange_rate_set", view_func=set_rate, methods=["POST"])
