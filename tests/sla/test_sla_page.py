"""The client SLA page: this month's figures against the objectives (met exactly on the objective, breached one
minute beyond), partial data shown as partial, the empty state, 30-day charts, the alerts (tenant-scoped, paged
without JavaScript and with htmx), the monthly reports with their credits and the printable report."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import update

from app import clock
from app.accounts import passwords
from app.accounts.models import User
from app.billing.models import Invoice, InvoiceItem
from app.demo import DEMO_PASSWORD
from app.sla.credits import close_month
from app.sla.definitions import in_force
from app.sla.models import SlaAlert, SlaMinute, SlaMonthlyReport
from tests.sla.conftest import DECEMBER, MINUTE, NOVEMBER, write_minutes

TWENTY_DAYS = datetime(2026, 11, 21, tzinfo=timezone.utc)  # 28,800 minutes into November: 0.5% is 144 minutes
AFTER_CLOSING = DECEMBER + timedelta(minutes=20)
SEPTEMBER = datetime(2026, 9, 1, tzinfo=timezone.utc)
OCTOBER = datetime(2026, 10, 1, tzinfo=timezone.utc)


@pytest.fixture
def people(customers, db):
    """alice (owner) and bob (member) of acme, gina (owner) of globex."""
    for email, org, role in (("alice@acme.test", customers.acme.org, "owner"),
                             ("bob@acme.test", customers.acme.org, "member"),
                             ("gina@globex.test", customers.globex.org, "owner")):
        db.add(User(email=email, password_hash=passwords.hash_password(DEMO_PASSWORD), organization=org, role=role))
    db.commit()
    return customers


def signed_in(browser, email="alice@acme.test"):
    browser.login(email)
    return browser


@pytest.fixture
def alice(people, client):
    """acme's owner, signed in at the fixture's time (14 November 2026 12:00 UTC)."""
    return signed_in(client)


def page(browser, path="/client/sla", **kwargs) -> str:
    response = browser.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.get_data(as_text=True))  # as a reader sees it: whitespace collapsed


def card(html: str, metric: str) -> str:
    match = re.search(rf'<article class="card stat" data-testid="metric-{metric}">(.*?)</article>', html, re.S)
    assert match, metric
    return match.group(1)


def measured(html: str, metric: str) -> str:
    return re.search(rf'data-testid="measured-{metric}">([^<]*)<', html).group(1)


def status(html: str, metric: str) -> str:
    return re.search(rf'data-testid="status-{metric}">([^<]*)<', card(html, metric)).group(1)


def heights(html: str, chart_id: str) -> list[float]:
    figure = re.search(rf'<figure class="chart" id="{chart_id}".*?</svg>', html, re.S).group(0)
    return [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', figure)]


def bars(html: str, chart_id: str) -> list[str]:
    """The bar tooltips (label: value) of one chart."""
    figure = re.search(rf'<figure class="chart" id="{chart_id}".*?</svg>', html, re.S).group(0)
    return re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", figure)


def test_on_the_objective_is_met_and_one_minute_more_is_breached(people, client, db):
    clock.freeze(TWENTY_DAYS)  # before signing in: a week-old session would have expired
    alice = signed_in(client)
    write_minutes(db, people.acme.org.id, NOVEMBER, 28_800, down=set(range(144)))
    html = page(alice)
    assert measured(html, "uptime") == "99.5%" and status(html, "uptime") == "Met"
    assert "144 down of 28,800 measured minutes" in card(html, "uptime")
    assert 'data-testid="partial"' not in html and "uptime-partial" not in html
    assert status(html, "latency_p95") == "Met" and measured(html, "latency_p95") == "162.5 ms"
    assert status(html, "error_rate") == "Met" and measured(html, "error_rate") == "0%"
    assert measured(html, "throughput") == "16.6 req/s"  # 1,000 requests in the busiest minute
    assert "100 req/s" in card(html, "throughput") and "Informational" in card(html, "throughput")

    db.execute(update(SlaMinute).where(SlaMinute.org_id == people.acme.org.id,
                                       SlaMinute.minute == NOVEMBER + 144 * MINUTE).values(checks_failed=1))
    db.commit()
    html = page(alice)
    assert measured(html, "uptime") == "99.496%" and status(html, "uptime") == "Breached"  # 145 of 28,800, rounded down


@pytest.mark.parametrize("down, uptime, result, credit", [(216, "99.5%", "Met", "$0.00"),
                                                          (217, "99.497%", "Breached", "$4.90")])
def test_a_closed_30_day_month_216_down_minutes_meet_pro_and_217_earn_a_credit(people, client, db, down, uptime,
                                                                               result, credit):
    write_minutes(db, people.acme.org.id, NOVEMBER, 43_200, down=set(range(down)))
    clock.freeze(AFTER_CLOSING)
    alice = signed_in(client)
    close_month(db, NOVEMBER, AFTER_CLOSING)
    db.commit()
    html = page(alice)
    row = re.search(r'<tr data-testid="report-row".*?</tr>', html, re.S).group(0)
    assert "November 2026" in row and f'data-testid="report-uptime">{uptime}<' in row
    assert f'data-testid="report-status">{result}<' in row and f'data-testid="report-credit">{credit}<' in row
    # A credit waits for the next invoice (December's, not issued yet); none is pending for a month that met it.
    assert ("on your next invoice" in row) == (result == "Breached")


def test_partial_data_is_shown_as_partial(people, alice, db):
    write_minutes(db, people.acme.org.id, NOVEMBER, 10_000)  # clock at 14 November 12:00: 19,440 minutes so far
    html = page(alice)
    partial = re.search(r'data-testid="partial".*?</p>', html, re.S).group(0)
    assert "Partial data: 10,000 of 19,440 minutes measured" in partial and "51.4%" in partial
    assert 'data-testid="uptime-partial">partial' in card(html, "uptime")
    assert "0 down of 10,000 measured minutes" in card(html, "uptime")


def test_no_metrics_at_all_shows_how_to_send_them(people, alice):
    html = page(alice)
    assert 'data-testid="empty"' in html and "No metrics yet" in html and "POST /api/v1/metrics" in html
    assert 'data-testid="chart"' not in html
    for metric in ("uptime", "latency_p95", "error_rate"):
        assert status(html, metric) == "No data" and measured(html, metric) == "no data"
    assert 'data-testid="no-open-alerts"' in html and 'data-testid="no-reports"' in html
    assert '<a href="/client/sla"' in html  # in the navigation


def test_thirty_days_of_uptime_and_latency_bars(people, client, db):
    clock.freeze(TWENTY_DAYS)
    alice = signed_in(client)
    write_minutes(db, people.acme.org.id, NOVEMBER, 1440, down=set(range(144)))  # 1 November: 90%
    write_minutes(db, people.acme.org.id, NOVEMBER + timedelta(days=1), 720)  # 2 November: half a day
    write_minutes(db, people.acme.org.id, NOVEMBER + timedelta(days=2), 60, buckets=(0, 0, 0, 0, 0, 1000, 0, 0))
    html = page(alice)
    uptime, latency = bars(html, "chart-uptime"), bars(html, "chart-latency")
    assert len(uptime) == 30 and len(latency) == 30
    assert uptime[0] == "Oct 23: no data" and uptime[-1] == "Nov 21: no data"
    assert "Nov 1: 90%" in uptime
    assert "Nov 2: 100% (partial: 720 of 1,440 minutes)" in uptime
    assert "Nov 1: 162.5 ms" in latency and latency[0] == "Oct 23: no data"
    assert "Nov 3: 975 ms (partial: 60 of 1,440 minutes)" in latency  # 95% of (500, 1000] ms
    assert "Objective 99.5%" in html and "Objective 500 ms" in html
    # The uptime axis starts under the lowest day (89%), so 90% is a short bar, not nearly a full one.
    drawn = heights(html, "chart-uptime")
    assert "axis from 89%" in html and drawn[0] == 0 and 0 < drawn[9] < drawn[10] / 5 and drawn[10] == 142
    assert 'data-testid="empty"' not in html


def _alert(db, org_id, metric="uptime", *, opened_hours_ago=1, resolved=False, measured="97.5"):
    opened = clock.utcnow() - timedelta(hours=opened_hours_ago)
    alert = SlaAlert(org_id=org_id, metric=metric, objective=Decimal("99.5") if metric == "uptime" else Decimal(500),
                     measured=Decimal(measured), window_start=opened - timedelta(hours=1), window_end=opened,
                     worst_measured=Decimal(measured), last_measured=Decimal(measured), last_window_end=opened,
                     opened_at=opened, resolved_at=opened + timedelta(minutes=30) if resolved else None)
    db.add(alert)
    db.commit()
    return alert.public_id


def test_alerts_open_first_and_only_this_organizations(people, alice, db, make_client):
    resolved = _alert(db, people.acme.org.id, "latency_p95", opened_hours_ago=5, resolved=True, measured="612.4")
    open_one = _alert(db, people.acme.org.id, "uptime", opened_hours_ago=1, measured="97.5")
    theirs = _alert(db, people.globex.org.id, "uptime", measured="98.1")
    html = page(alice)
    opened = re.search(r'data-testid="open-alerts">(.*?)</div>', html, re.S).group(1)
    assert open_one in opened and resolved not in opened and "97.5%" in opened and "99.5%" in opened
    assert "2026-11-14 11:00 UTC" in opened  # opened
    listed = re.search(r'data-testid="resolved-alerts".*?</section>', html, re.S).group(0)
    assert resolved in listed and "612.4 ms" in listed and "2026-11-14 07:30 UTC" in listed
    assert theirs not in html
    assert html.index(open_one) < html.index(resolved)

    bob = make_client()
    bob.login("bob@acme.test")  # members read it as owners do
    assert open_one in page(bob)


def test_resolved_alerts_page_with_and_without_htmx(people, alice, db):
    ids = [_alert(db, people.acme.org.id, "error_rate", opened_hours_ago=30 - n, resolved=True, measured="2")
           for n in range(12)]  # ids[-1] is the newest
    html = page(alice)
    first = re.search(r'data-testid="resolved-alerts".*?</section>', html, re.S).group(0)
    assert re.findall(r'data-alert="([^"]+)"', first) == ids[:1:-1]  # the ten newest, newest first
    older = re.search(r'href="([^"]+)" hx-get="[^"]+" data-testid="older-alerts"', first).group(1)
    assert older == f"/client/sla?resolved_after={ids[2]}#sla-resolved"

    plain = page(alice, older.split("#")[0])  # without JavaScript: the whole page, the list further back
    rest = re.search(r'data-testid="resolved-alerts".*?</section>', plain, re.S).group(0)
    assert re.findall(r'data-alert="([^"]+)"', rest) == [ids[1], ids[0]]
    assert "← Newest" in rest and "older-alerts" not in rest
    assert "<nav" in plain and 'data-testid="figures"' in plain

    fragment = alice.get(older.split("#")[0], headers={"HX-Request": "true", "HX-Target": "sla-resolved"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert body.lstrip().startswith('<section id="sla-resolved"')
    assert "<html" not in body and 'class="sidenav"' not in body
    assert re.findall(r'data-alert="([^"]+)"', body) == [ids[1], ids[0]]
    assert "HX-Request" in fragment.headers.get("Vary", "")


def test_another_organizations_alert_as_a_cursor_is_not_found(people, alice, db):
    theirs = _alert(db, people.globex.org.id, resolved=True)
    assert alice.get(f"/client/sla?resolved_after={theirs}").status_code == 404


def _issued_invoice(db, org, number: str) -> Invoice:
    invoice = Invoice(org_id=org.id, issuer="matrix", number=number, status="open", currency="USD",
                      base_currency="USD", exchange_rate=Decimal(1), rate_source="identity", rate_as_of=DECEMBER,
                      period_start=NOVEMBER, period_end=DECEMBER, subtotal=4410, tax=0, total=4410,
                      amount_due=4410, customer_name=org.name, customer_country="US", tax_region="US",
                      tax_label="No tax", finalized_at=DECEMBER)
    db.add(invoice)
    db.flush()
    return invoice


def _report(db, org, month_start, month_end, *, uptime, credit_percent, credit, observed=None, item=None):
    expected = int((month_end - month_start).total_seconds() // 60)
    report = SlaMonthlyReport(
        org_id=org.id, month_start=month_start, month_end=month_end, tier=org.tier,
        definition_id=in_force(db, org.tier, month_start).id, minutes_expected=expected,
        minutes_observed=expected if observed is None else observed, down_minutes=0,
        uptime_percent=Decimal(uptime), latency_p95_ms=Decimal("180.2"), error_rate_percent=Decimal("0.0101"),
        requests=5_000_000, errors=505, peak_rps=Decimal("16.6"), plan_fee=49_00, credit_percent=credit_percent,
        credit_amount=credit, credit_currency="USD", invoice_item_id=item.id if item else None)
    db.add(report)
    db.commit()
    return report.public_id


def test_reports_list_credits_with_their_invoice_and_print(people, alice, db):
    invoice = _issued_invoice(db, people.acme.org, "MX-2026-000123")
    item = InvoiceItem(org_id=people.acme.org.id, kind="credit", description="SLA credit, October 2026",
                       amount=-4_90, currency="USD", source_key="sla-credit:test:2026-10", invoice_id=invoice.id)
    db.add(item)
    db.flush()
    october = _report(db, people.acme.org, OCTOBER, NOVEMBER, uptime="99.497", credit_percent=10, credit=4_90,
                      item=item)
    september = _report(db, people.acme.org, SEPTEMBER, OCTOBER, uptime="100", credit_percent=0, credit=0,
                        observed=20_000)
    theirs = _report(db, people.globex.org, OCTOBER, NOVEMBER, uptime="98", credit_percent=25, credit=12_25)

    html = page(alice)
    rows = re.findall(r'<tr data-testid="report-row" data-report="([^"]+)"', html)
    assert rows == [october, september]  # newest first, globex's not there
    october_row = re.search(rf'data-report="{october}".*?</tr>', html, re.S).group(0)
    assert "October 2026" in october_row and "$4.90" in october_row and "10%" in october_row
    assert f'href="/client/invoices/{invoice.public_id}">MX-2026-000123</a>' in october_row
    september_row = re.search(rf'data-report="{september}".*?</tr>', html, re.S).group(0)
    assert "partial" in september_row and 'report-status">Met' in september_row and "—" in september_row

    printed = page(alice, f"/client/sla/reports/{october}")
    assert "SLA compliance report · October 2026" in printed and "window.print()" in printed
    assert "@media print" in printed and 'class="sidenav' not in printed and "/client/invoices" in printed
    assert 'data-testid="status-uptime">Breached' in printed and "99.497%" in printed and "≥ 99.5%" in printed
    assert "10% · $4.90" in printed and "MX-2026-000123" in printed
    partial = page(alice, f"/client/sla/reports/{september}")
    assert 'data-testid="report-partial"' in partial and "20,000 of 43,200" in partial

    assert alice.get(f"/client/sla/reports/{theirs}").status_code == 404
    assert alice.get("/client/sla/reports/slr_nope").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(people, client):
    response = client.get("/client/sla")
    assert response.status_code in (302, 401) and "/login" in response.headers.get("Location", "/login")
