"""Admin → SLA (every customer's compliance this month, open alerts, credits issued) and Admin → SLA definitions
(in force, scheduled, history; adding one after a confirmation, audited; bad input refused beside its field)."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from app import clock
from app.accounts import passwords
from app.accounts.models import Organization, User
from app.audit.models import AuditEvent
from app.billing.models import Invoice, InvoiceItem
from app.demo import DEMO_PASSWORD
from app.sla.definitions import in_force
from app.sla.models import SlaAlert, SlaDefinition, SlaMonthlyReport
from tests.sla.conftest import DECEMBER, NOVEMBER, NOW, write_minutes

OCTOBER = datetime(2026, 10, 1, tzinfo=timezone.utc)
ADMIN_EMAIL = "admin@matrix.test"
DEFINITIONS = "/admin/sla/definitions"


def _user(db, email: str, **fields) -> None:
    db.add(User(email=email, name=email.split("@")[0], password_hash=passwords.hash_password(DEMO_PASSWORD), **fields))
    db.commit()


@pytest.fixture
def admin(customers, db, make_client):
    """A platform admin signed in with a TOTP code of the real time; then the clock goes back to 14 November."""
    _user(db, ADMIN_EMAIL, is_admin=True)
    clock.reset()
    browser = make_client()
    browser.login_admin(ADMIN_EMAIL)
    clock.freeze(NOW)
    return browser


@pytest.fixture
def customer_owner(customers, db, make_client):
    _user(db, "owner@acme.test", org_id=customers.acme.org.id, role="owner")
    browser = make_client()
    browser.login("owner@acme.test")
    return browser


def text(response) -> str:
    return response.get_data(as_text=True)


def row(page: str, testid: str) -> str:
    """The table row (or element up to its `</tr>`) carrying `data-testid="<testid>"`."""
    match = re.search(rf'<tr data-testid="{re.escape(testid)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def error_of(page: str, field_id: str) -> str:
    """The error shown beside the input `field_id` (its aria-describedby target)."""
    tag = re.search(rf'<(?:input|select)[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    assert tag and 'aria-invalid="true"' in tag.group(0), f"{field_id} is not marked invalid"
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    assert match, f"no error beside {field_id}"
    return html.unescape(match.group(1))


# ---------------------------------------------------------------- who gets in


def test_customers_are_refused_and_visitors_sent_to_login(customer_owner, make_client):
    assert customer_owner.get("/admin/sla").status_code == 403
    assert customer_owner.get(DEFINITIONS).status_code == 403
    assert customer_owner.post_form(DEFINITIONS, _form(), token_from="/client/").status_code == 403
    anonymous = make_client()
    for path in ("/admin/sla", DEFINITIONS):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_the_admin_navigation_links_both_pages(admin):
    page = text(admin.get("/admin/"))
    assert 'href="/admin/sla">SLA<' in page and 'href="/admin/sla/definitions">SLA definitions<' in page


# ---------------------------------------------------------------- overview


@pytest.fixture
def arranged(customers, db):
    """acme (Pro, 99.5%): 1,000 minutes measured, 10 down → 99.0%, breached, partial. globex (Enterprise): every
    minute of the month so far, all up. initech (Free): nothing reported."""
    db.add(Organization(slug="initech", name="Initech", kind="customer", tier="free", country="US"))
    db.commit()
    write_minutes(db, customers.acme.org.id, NOVEMBER, 1000, down=set(range(10)))
    write_minutes(db, customers.globex.org.id, NOVEMBER, int((NOW - NOVEMBER).total_seconds() // 60))
    return customers


def test_the_overview_judges_every_customer_this_month(admin, arranged):
    page = text(admin.get("/admin/sla"))
    acme = row(page, "compliance-acme")
    assert 'data-status="breached"' in acme
    assert re.search(r'data-testid="metric-uptime" data-status="breached">\s*<strong>99\.000%</strong>', acme)
    assert "≥ 99.5%" in acme and 'data-testid="partial"' in acme and "10 down of 1000 min" in acme
    assert 'data-testid="metric-latency_p95" data-status="met"' in acme and 'data-status="met"' in acme
    globex = row(page, "compliance-globex")
    assert 'data-status="met"' in globex and "<strong>100.000%</strong>" in globex and "≥ 99.9%" in globex
    assert "complete" in globex and 'data-testid="partial"' not in globex
    initech = row(page, "compliance-initech")
    assert 'data-status="no_data"' in initech and "no data" in initech
    assert "Page 1 of 1 · 3 customers" in page and "November 2026" in page


def test_the_overview_reads_the_rollups_with_one_grouped_query(admin, arranged, app):
    statements = []

    def seen(conn, cursor, statement, *args):
        if "sla_minutes" in statement:
            statements.append(statement)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert admin.get("/admin/sla").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "GROUP BY" in statements[0].upper()


def test_a_long_list_of_customers_is_paginated_fifty_a_page(admin, customers, db):
    db.add_all([Organization(slug=f"zz-{n:02}", name=f"Zz {n:02}", kind="customer", tier="free", country="US")
                for n in range(50)])
    db.commit()  # 52 customers: acme, globex, then Zz 00 … Zz 49
    first = text(admin.get("/admin/sla"))
    assert "Page 1 of 2 · 52 customers" in first and 'data-testid="compliance-zz-47"' in first
    assert 'data-testid="compliance-zz-48"' not in first and 'href="/admin/sla?page=2"' in first
    second = admin.get("/admin/sla?page=2", headers={"HX-Request": "true", "HX-Target": "sla-compliance"})
    fragment = text(second)
    assert fragment.startswith('<div id="sla-compliance"') and "<html" not in fragment
    assert 'data-testid="compliance-zz-48"' in fragment and 'data-testid="compliance-zz-49"' in fragment
    assert 'data-testid="compliance-acme"' not in fragment and "HX-Request" in second.headers["Vary"]
    assert admin.get("/admin/sla?page=3").status_code == 404
    assert admin.get("/admin/sla?page=0").status_code == 404


def test_open_alerts_of_every_organization_are_listed_with_its_name(admin, customers, db):
    opened = SlaAlert(org_id=customers.acme.org.id, metric="uptime", objective=Decimal("99.5"),
                      measured=Decimal("98.2"), window_start=NOW - timedelta(hours=1), window_end=NOW,
                      worst_measured=Decimal("97.5"), last_measured=Decimal("98.4"), last_window_end=NOW,
                      opened_at=NOW - timedelta(minutes=30), updated_at=NOW)
    latency = SlaAlert(org_id=customers.globex.org.id, metric="latency_p95", objective=Decimal("200"),
                       measured=Decimal("312.5"), window_start=NOW - timedelta(hours=1), window_end=NOW,
                       worst_measured=Decimal("480.0"), last_measured=Decimal("312.5"), last_window_end=NOW,
                       opened_at=NOW - timedelta(minutes=10), updated_at=NOW)
    resolved = SlaAlert(org_id=customers.globex.org.id, metric="uptime", objective=Decimal("99.9"),
                        measured=Decimal("99.0"), window_start=NOW - timedelta(days=2),
                        window_end=NOW - timedelta(days=2),
                        worst_measured=Decimal("99.0"), last_measured=Decimal("100"), last_window_end=NOW,
                        opened_at=NOW - timedelta(days=2), resolved_at=NOW - timedelta(days=1), updated_at=NOW)
    db.add_all([opened, latency, resolved])
    db.commit()
    page = text(admin.get("/admin/sla"))
    acme = row(page, f"alert-{opened.public_id}")
    assert "Acme" in acme and "Uptime" in acme and "99.5%" in acme and "98.4%" in acme and "97.5%" in acme
    globex = row(page, f"alert-{latency.public_id}")
    assert "Globex" in globex and "Latency p95" in globex and "200 ms" in globex and "480 ms" in globex
    assert resolved.public_id not in page
    assert page.index(latency.public_id) < page.index(opened.public_id)  # the newest first


def _report(db, org, definition, month_start, *, uptime: str, percent: int, fee: int, currency: str,
            invoice: Invoice | None = None) -> SlaMonthlyReport:
    amount = fee * percent // 100
    item = InvoiceItem(org_id=org.id, kind="credit", description=f"SLA credit {month_start:%B %Y}", amount=-amount,
                       currency=currency, taxable=True, source_key=f"sla:{org.slug}:{month_start:%Y-%m}",
                       invoice_id=invoice.id if invoice else None)
    db.add(item)
    db.flush()
    report = SlaMonthlyReport(org_id=org.id, month_start=month_start, month_end=month_start + timedelta(days=31),
                              tier=definition.tier, definition_id=definition.id, minutes_expected=44_640,
                              minutes_observed=44_640, down_minutes=500, uptime_percent=Decimal(uptime),
                              requests=0, errors=0, plan_fee=fee, credit_percent=percent, credit_amount=amount,
                              credit_currency=currency, invoice_item_id=item.id, created_at=NOW)
    db.add(report)
    db.commit()
    return report


def _invoice(db, org) -> Invoice:
    invoice = Invoice(org_id=org.id, issuer="matrix", number="MX-2026-000042", status="open", currency="USD",
                      base_currency="USD", exchange_rate=Decimal(1), rate_source="identity", rate_as_of=NOVEMBER,
                      period_start=NOVEMBER, period_end=DECEMBER, subtotal=36_75, tax=0, total=36_75,
                      amount_due=36_75, customer_name=org.name, customer_country="US", tax_region="US",
                      tax_label="Sales tax 0%")
    db.add(invoice)
    db.flush()
    return invoice


def test_credits_issued_with_their_invoice_and_totals_per_currency(admin, customers, db):
    pro = in_force(db, "pro", OCTOBER)
    enterprise = in_force(db, "enterprise", OCTOBER)
    billed = _report(db, customers.acme.org, pro, OCTOBER, uptime="98.879", percent=25, fee=49_00, currency="USD",
                     invoice=_invoice(db, customers.acme.org))
    pending = _report(db, customers.acme.org, pro, datetime(2026, 9, 1, tzinfo=timezone.utc), uptime="99.2",
                      percent=10, fee=49_00, currency="USD")
    euros = _report(db, customers.globex.org, enterprise, OCTOBER, uptime="94.1", percent=100, fee=450_00,
                    currency="EUR")
    nothing = SlaMonthlyReport(org_id=customers.globex.org.id, month_start=datetime(2026, 9, 1, tzinfo=timezone.utc),
                               month_end=OCTOBER, tier="enterprise", definition_id=enterprise.id,
                               minutes_expected=43_200, minutes_observed=43_200, down_minutes=0,
                               uptime_percent=Decimal("100"), requests=0, errors=0, plan_fee=450_00,
                               credit_percent=0, credit_amount=0, credit_currency="EUR", created_at=NOW)
    db.add(nothing)
    db.commit()
    page = text(admin.get("/admin/sla"))
    first = row(page, f"credit-{billed.public_id}")
    assert "Acme" in first and "October 2026" in first and "98.879%" in first and "$12.25" in first
    assert "25% of $49.00" in first and "billed on" in first and "MX-2026-000042" in first
    second = row(page, f"credit-{pending.public_id}")
    assert "September 2026" in second and "$4.90" in second and "pending" in second and "billed on" not in second
    third = row(page, f"credit-{euros.public_id}")
    assert "Globex" in third and "€450.00" in third and "100% of €450.00" in third
    assert nothing.public_id not in page  # a month that earned nothing is no credit
    totals = re.search(r'data-testid="credit-totals">(.*?)</p>', page, re.S).group(1)
    assert re.search(r'credit-total-USD">\$17\.15</strong>\s*<span class="muted small">\(2 credits\)', totals)
    assert re.search(r'credit-total-EUR">€450\.00</strong>\s*<span class="muted small">\(1 credit\)', totals)


def test_the_empty_overview_says_so(admin):
    page = text(admin.get("/admin/sla"))
    assert 'data-testid="no-open-alerts"' in page and 'data-testid="no-credits"' in page


# ---------------------------------------------------------------- definitions


def _form(tier: str = "pro", effective_from: str = "2026-12-01", uptime: str = "99.9", latency: str = "400",
          throughput: str = "200", error_rate: str = "0.5", steps=(("99.9", "10"), ("99.0", "25"), ("95", "100")),
          **extra) -> dict:
    data = {"tier": tier, "effective_from": effective_from, "uptime_percent": uptime, "latency_p95_ms": latency,
            "throughput_rps": throughput, "error_rate_percent": error_rate, **extra}
    for index in range(5):
        below, percent = steps[index] if index < len(steps) else ("", "")
        data[f"credit_steps-{index}-uptime_below"] = below
        data[f"credit_steps-{index}-credit_percent"] = percent
    return data


def _written(db, tier: str = "pro") -> tuple[int, int]:
    """(definitions of the tier, sla.definition_added audit events): what a refusal must leave as it was."""
    db.expire_all()
    return (db.scalar(select(func.count(SlaDefinition.id)).where(SlaDefinition.tier == tier)),
            db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "sla.definition_added")))


def test_the_page_shows_each_tiers_definition_in_force_and_prefills_the_form(admin, customers):
    page = text(admin.get(f"{DEFINITIONS}?tier=pro"))
    pro = row(page, "definition-pro")
    assert 'data-state="in force"' in pro and "99.5%" in pro and "500 ms" in pro and "100 req/s" in pro
    assert "below 99.5% → 10%" in pro and "below 99% → 25%" in pro and "below 95% → 100%" in pro
    assert 'data-state="in force"' in row(page, "definition-enterprise")
    assert '<option selected value="pro">' in page
    assert re.search(r'id="uptime_percent"[^>]*value="99.5"', page)
    assert re.search(r'id="credit_steps-2-uptime_below"[^>]*value="95"', page)
    assert re.search(r'id="credit_steps-2-credit_percent"[^>]*value="100"', page)
    assert re.search(r'id="credit_steps-3-uptime_below"[^>]*value=""', page)
    assert re.search(r'id="effective_from"[^>]*value="2026-12-01"', page)  # the next month, by default
    assert 'name="csrf_token"' in page and "hx-confirm=" in page


def test_choosing_another_tier_reloads_the_form_with_its_values(admin, customers):
    response = admin.get(f"{DEFINITIONS}?tier=enterprise",
                         headers={"HX-Request": "true", "HX-Target": "sla-definition-form"})
    fragment = text(response)
    assert fragment.lstrip().startswith("<section") and "<html" not in fragment
    assert re.search(r'id="uptime_percent"[^>]*value="99.9"', fragment)
    assert re.search(r'id="latency_p95_ms"[^>]*value="200"', fragment)


def test_adding_a_definition_asks_first_then_saves_it_scheduled_and_audited(admin, customers, db):
    before = _written(db)
    confirm = admin.post_form(DEFINITIONS, _form(), token_from=DEFINITIONS)
    page = text(confirm)
    assert confirm.status_code == 200 and "Change what Pro customers are promised?" in page
    assert "2026-12-01 00:00 UTC" in page and "December 2026" in page and "1 customer organization now" in page
    assert "99.5%" in page and "<strong>99.9%</strong>" in page and "<strong>400 ms</strong>" in page
    assert _written(db) == before  # asking wrote nothing, not even the audit row

    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert hidden["uptime_percent"] == "99.9" and hidden["credit_steps-1-uptime_below"] == "99.0"
    saved = admin.http.post(DEFINITIONS, data={**hidden, "confirmed": "1"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"{DEFINITIONS}?tier=pro")
    assert _written(db) == (before[0] + 1, before[1] + 1)

    added = db.scalars(select(SlaDefinition).where(SlaDefinition.tier == "pro")
                       .order_by(SlaDefinition.effective_from.desc())).first()
    assert added.effective_from == DECEMBER and added.uptime_percent == Decimal("99.9")
    assert added.latency_p95_ms == 400 and added.created_by == ADMIN_EMAIL
    assert [(step.uptime_below, step.credit_percent) for step in added.credit_steps] == [
        (Decimal("99.9"), 10), (Decimal("99.0"), 25), (Decimal("95"), 100)]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "sla.definition_added")).one()
    assert audit.actor_label == ADMIN_EMAIL and audit.target == "pro" and audit.details["uptime_percent"] == "99.9"

    after = text(admin.get(saved.headers["Location"]))
    assert "new definition from 2026-12-01 00:00 UTC" in after
    scheduled = re.findall(r'<tr data-testid="definition-pro" data-state="([^"]+)">\s*<td>([^<]+)</td>', after)
    assert scheduled[:2] == [("scheduled", "2026-12-01 00:00 UTC"), ("in force", "2026-01-01 00:00 UTC")]
    assert in_force(db, "pro", NOW).uptime_percent == Decimal("99.5")  # today's promise is unchanged


def test_change_it_on_the_confirmation_page_brings_the_form_back_as_typed(admin, customers, db):
    page = text(admin.post_form(DEFINITIONS, _form(uptime="99.95"), token_from=DEFINITIONS))
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    back = admin.http.post(DEFINITIONS, data={**hidden, "edit": "1"})
    assert back.status_code == 200 and re.search(r'id="uptime_percent"[^>]*value="99.95"', text(back))
    assert _written(db)[0] == 1


def test_with_htmx_the_browser_confirms_and_the_block_swaps_in_place(admin, customers, db):
    response = admin.htmx("POST", DEFINITIONS, token_from=DEFINITIONS, data=_form(confirmed="1"),
                          headers={"HX-Target": "sla-definitions"})
    fragment = text(response)
    assert response.status_code == 200 and fragment.startswith('<div id="sla-definitions"')
    assert 'data-testid="definitions-notice"' in fragment and 'data-state="scheduled"' in fragment
    assert '<option selected value="pro">' in fragment  # the form starts again from the same tier
    assert _written(db) == (2, 1)


def test_a_definition_from_today_starts_now_and_is_in_force_at_once(admin, customers, db):
    admin.post_form(DEFINITIONS, _form(effective_from="2026-11-14", confirmed="1"), token_from=DEFINITIONS)
    assert in_force(db, "pro", NOW).uptime_percent == Decimal("99.9")
    assert in_force(db, "pro", NOW).effective_from == NOW  # what was measured earlier today keeps its promise


REFUSALS = {
    "an unknown tier": (_form(tier="gold"), "tier", "Unknown tier"),
    "uptime above 100": (_form(uptime="101"), "uptime_percent", "at most 100"),
    "a start in the past": (_form(effective_from="2026-11-13"), "effective_from", "cannot start in the past"),
    "no start date": (_form(effective_from=""), "effective_from", "Enter the date it takes effect"),
    "a step above the objective": (_form(steps=(("99.95", "10"), ("99.0", "25"))),
                                   "credit_steps-0-uptime_below", "above the uptime objective (99.9%)"),
    "a lower threshold with a smaller credit": (_form(steps=(("99.9", "25"), ("99.0", "10"))),
                                                "credit_steps-1-credit_percent", "cannot be smaller"),
    "a bad step after a blank row": (_form(steps=(("", ""), ("99.9", "25"), ("99.0", "10"))),
                                     "credit_steps-2-credit_percent", "cannot be smaller"),
    "a credit above 100%": (_form(steps=(("99.9", "10"), ("", ""), ("95", "150"))),
                            "credit_steps-2-credit_percent", "whole number from 1 to 100"),
    "non-numeric latency": (_form(latency="fast"), "latency_p95_ms", "Enter a whole number"),
    "zero throughput": (_form(throughput="0"), "throughput_rps", "Enter a whole number"),
    "an error rate that is not a number": (_form(error_rate="a lot"), "error_rate_percent", "Enter a percentage"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(admin, customers, db, case):
    data, field_id, message = REFUSALS[case]
    before = _written(db)
    response = admin.post_form(DEFINITIONS, {**data, "confirmed": "1"}, token_from=DEFINITIONS)
    page = text(response)
    assert response.status_code == 400
    assert message in error_of(page, field_id)
    assert _written(db) == before
    assert re.search(r'id="latency_p95_ms"[^>]*value="' + re.escape(html.escape(data["latency_p95_ms"])), page)


def test_a_refusal_with_htmx_comes_back_in_the_block(admin, customers, db):
    response = admin.htmx("POST", DEFINITIONS, token_from=DEFINITIONS, data=_form(uptime="101", confirmed="1"))
    assert response.status_code == 400 and text(response).startswith('<div id="sla-definitions"')
    assert "at most 100" in error_of(text(response), "uptime_percent")
    assert _written(db) == (1, 0)


def test_a_second_definition_starting_the_same_moment_is_refused(admin, customers, db):
    admin.post_form(DEFINITIONS, _form(confirmed="1"), token_from=DEFINITIONS)
    again = admin.post_form(DEFINITIONS, _form(uptime="99.95", confirmed="1"), token_from=DEFINITIONS)
    assert again.status_code == 400 and "already starts then" in error_of(text(again), "effective_from")
    assert _written(db) == (2, 1)


def test_a_post_without_the_csrf_token_is_refused(admin, customers, db):
    data = _form(confirmed="1")
    assert admin.http.post(DEFINITIONS, data=data).status_code == 400
    assert admin.http.post(DEFINITIONS, data={**data, "csrf_token": "forged"}).status_code == 400
    htmx = admin.http.post(DEFINITIONS, data=data, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert _written(db) == (1, 0)
