"""Admin → Exchange rates: every currency's rate in force, edits (errors beside
the rate, htmx swaps the table, audited), "Refresh now" queued for a real
worker, each currency's history; nobody else gets in."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rq import Queue

from app import clock
from app.currency import service
from app.jobs import AppWorker
from app.web.admin.exchange_rate_views import STALE_AFTER, age
from tests.conftest import free_port, make_test_app
from tests.payments.core_support import audits
from tests.support import user

PAGE = "/admin/exchange-rates"
SHIPPED_AS_OF = datetime(2026, 11, 30, 16, tzinfo=timezone.utc)


@pytest.fixture
def admin(demo, rates, make_client):
    staff = make_client()
    staff.login_admin()  # on the wall clock: the TOTP code is
    clock.freeze(clock.utcnow())
    return staff


def text(response) -> str:
    return response.get_data(as_text=True)


def row(page: str, code: str) -> str:
    match = re.search(rf'<tr id="rate-{code}".*?</tr>', page, re.S)
    assert match, f"no row for {code}"
    return match.group(0)


def errors_beside(page: str, code: str) -> list[str]:
    return re.findall(rf'<p class="error" id="{code}-rate-error">([^<]*)</p>', page)


def test_the_page_lists_the_rate_in_force_for_every_currency(admin):
    page = text(admin.get(PAGE))

    assert 'data-testid="rate-EUR">0.92<' in page and 'data-testid="rate-BTC">0.0000105<' in page
    assert "base currency" in row(page, "USD") and "<form" not in row(page, "USD")
    eur = row(page, "EUR")
    assert "file:rates.json" in eur and "2026-11-30 16:00 UTC" in eur
    elapsed = clock.utcnow() - SHIPPED_AS_OF  # the page runs on the wall clock (the admin signed in with TOTP)
    stale = ' <span class="badge badge-pending">stale' if elapsed > STALE_AFTER else "</td>"
    assert f'data-testid="age-EUR">{age(elapsed)}{stale}' in eur
    assert len(re.findall(r'<tr id="rate-', page)) == 14


def test_ages_read_like_a_person_says_them():
    assert [age(timedelta(seconds=s)) for s in (-5, 59, 60, 7200, 86400, 3 * 86400 + 3600)] == \
        ["just now", "just now", "1 minute", "2 hours", "1 day", "3 days"]


def test_an_edit_swaps_the_table_and_is_in_force_at_once(admin, demo):
    response = admin.post_form(f"{PAGE}/EUR", {"EUR-rate": " 0.9512 "}, token_from=PAGE,
                               headers={"HX-Request": "true"})

    assert response.status_code == 200
    block = text(response)
    assert 'id="exchange-rates"' in block
    assert "<html" not in block and "EUR: 1 USD = 0.9512 EUR from now on." in block
    eur = row(block, "EUR")
    assert 'data-testid="rate-EUR">0.9512<' in eur and "admin:admin@matrix.test" in eur and "just now" in eur
    assert service.current_rate(demo, "EUR").rate == Decimal("0.9512")
    [audit] = audits(demo, "exchange_rate.set")
    assert (audit.actor_label, audit.actor_user_id, audit.target) == \
        ("admin@matrix.test", user(demo, "admin@matrix.test").id, "EUR")


def test_without_javascript_an_edit_redirects_with_a_notice(admin, demo):
    response = admin.post_form(f"{PAGE}/jpy", {"JPY-rate": "151.25"}, token_from=PAGE)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    assert "JPY: 1 USD = 151.25 JPY from now on." in text(admin.get(PAGE))


@pytest.mark.parametrize("typed, message", [
    ("0", "The rate must be greater than zero."), ("-1", "The rate must be greater than zero."),
    ("abc", "Enter the rate as a number, e.g. 0.92."), ("", "Enter the rate, e.g. 0.92"),
    ("1e400", "The rate must be between"),
])
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_a_bad_rate_is_shown_beside_the_field_and_changes_nothing(admin, demo, typed, message, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = admin.post_form(f"{PAGE}/GBP", {"GBP-rate": typed}, token_from=PAGE, headers=headers)

    assert response.status_code == 400
    page = text(response)
    assert ("<html" in page) is not htmx
    [error] = errors_beside(page, "GBP")
    assert error.startswith(message)
    assert f'value="{typed}"' in row(page, "GBP") and 'aria-invalid="true"' in row(page, "GBP")
    assert service.current_rate(demo, "GBP").rate == Decimal("0.79") and audits(demo, "exchange_rate.set") == []


def test_the_base_currency_and_unknown_codes_cannot_be_edited(admin):
    for code in ("USD", "KWD", "XYZ"):
        assert admin.post_form(f"{PAGE}/{code}", {f"{code}-rate": "1.1"}, token_from=PAGE).status_code == 404


def test_refresh_now_queues_the_job_and_a_worker_runs_it(admin, app, demo, rates_file):
    app.config["EXCHANGE_RATES_FILE"] = str(rates_file({"EUR": "0.9444"}, as_of="2026-11-30T17:00:00Z"))

    response = admin.post_form(f"{PAGE}/refresh", token_from=PAGE, headers={"HX-Request": "true"})

    assert response.status_code == 200 and "A refresh from file:rates.json was queued." in text(response)
    redis = app.extensions["redis"]
    assert Queue("low", connection=redis).count == 1
    with app.app_context():
        AppWorker([Queue("low", connection=redis)], connection=redis).work(burst=True, with_scheduler=False)
    demo.expire_all()
    assert service.current_rate(demo, "EUR").rate == Decimal("0.9444")
    [audit] = audits(demo, "exchange_rate.refreshed")
    assert audit.actor_label == "admin@matrix.test" and audit.details["rates"] == {"EUR": "0.9444"}
    assert 'data-testid="rate-EUR">0.9444<' in text(admin.get(PAGE))


def test_refresh_now_says_so_when_redis_is_down(admin, app, database_url, tmp_path):
    down = make_test_app(database_url, f"redis://127.0.0.1:{free_port()}/0", tmp_path)
    try:
        staff = type(admin)(down)
        staff.http.set_cookie(app.config["SESSION_COOKIE_NAME"], admin.session_cookie())
        page = staff.post_form(f"{PAGE}/refresh", token_from=PAGE)
        fragment = staff.htmx("POST", f"{PAGE}/refresh", token_from=PAGE)
    finally:
        down.extensions["db"].engine.dispose()

    assert page.status_code == 503 and "the job queue (Redis) is not reachable" in text(page)
    assert 'data-testid="rate-EUR">0.92<' in text(page)
    assert fragment.status_code == 503 and "not reachable" in fragment.headers["HX-Trigger"]


def test_history_lists_a_currency_newest_first_in_pages(admin, demo):
    start = clock.utcnow() - timedelta(hours=1)
    for minutes in range(30):
        service.set_rate(demo, "CAD", f"1.{300 + minutes}", actor_label="ada@matrix.test",
                         as_of=start + timedelta(minutes=minutes))
    demo.commit()

    first = text(admin.get(f"{PAGE}/cad"))
    rates_shown = re.findall(r'<td class="num">([\d.]+)</td>', first)
    assert rates_shown[:3] == ["1.329", "1.328", "1.327"] and len(rates_shown) == 25
    assert "in force" in first and "Page 1 of 2 · 31 rates" in first and "?page=2" in first

    second = admin.get(f"{PAGE}/CAD?page=2", headers={"HX-Request": "true"})
    assert second.status_code == 200 and "<html" not in text(second)
    assert re.findall(r'<td class="num">([\d.]+)</td>', text(second)) == ["1.304", "1.303", "1.302", "1.301",
                                                                          "1.3", "1.37"]
    assert "in force" not in text(second)
    assert admin.get(f"{PAGE}/CAD?page=3").status_code == 404
    assert admin.get(f"{PAGE}/KWD").status_code == 404
    assert "always 1 USD" in text(admin.get(f"{PAGE}/USD"))


def test_a_currency_without_rates_says_so(admin, demo):
    from sqlalchemy import delete

    from app.currency.models import ExchangeRate

    demo.execute(delete(ExchangeRate).where(ExchangeRate.currency == "INR"))
    demo.commit()
    assert "No rate yet: conversions to and from INR are refused" in row(text(admin.get(PAGE)), "INR")
    assert "No INR rate has been recorded yet." in text(admin.get(f"{PAGE}/INR"))


@pytest.mark.parametrize("email", ["alice@acme.test", "bob@acme.test", "gina@globex.test"])
def test_only_admins_see_or_change_exchange_rates(demo, rates, make_client, email):
    customer = make_client()
    customer.login(email)
    assert customer.get(PAGE).status_code == 403
    assert customer.get(f"{PAGE}/EUR").status_code == 403
    assert customer.post_form(f"{PAGE}/EUR", {"EUR-rate": "2"}, token_from="/client/").status_code == 403
    assert customer.post_form(f"{PAGE}/refresh", token_from="/client/").status_code == 403
    assert service.current_rate(demo, "EUR").rate == Decimal("0.92")
