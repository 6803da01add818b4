"""The audit log pages: the client portal's (one organization) and the admin
portal's (every organization and the platform's own events). Filters, cursor
pages, htmx fragments, CSV export (audited, formulas defused), bad input,
tenant scoping."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit.context import reset_origin, set_origin
from app.audit.models import AuditEvent
from app.audit.service import record
from tests.webhooks.fixtures import org_id

CLIENT_LOG = "/client/security/audit-log"
ADMIN_LOG = "/admin/audit-log"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DAY1, DAY2, DAY3 = (datetime(2021, 3, day, 9, 30, tzinfo=timezone.utc) for day in (1, 2, 3))


def arrange(db, action: str, *, org: str | None = "acme", actor: str = "alice@acme.test", when=None,
            target: str | None = None, ip: str | None = None, agent: str | None = None,
            details: dict | None = None) -> AuditEvent:
    """Write an event through the audit service as a request from `ip`/`agent` at `when` would."""
    if when is not None:
        clock.freeze(when)
    token = set_origin(ip, agent)
    try:
        event = record(db, action, actor_label=actor, org_id=org_id(db, org) if org else None, target=target,
                       details=details)
        db.commit()
    finally:
        reset_origin(token)
        clock.reset()
    return event


def text(response) -> str:
    return response.get_data(as_text=True)


def row_ids(page: str) -> list[str]:
    return re.findall(r'id="audit-(aud_[A-Za-z0-9]+)"', page)


def older_link(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)"[^>]*>Older →</a>', page)
    return match.group(1).replace("&amp;", "&") if match else None


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text(response))))


def audit_count(db, action: str | None = None) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return db.scalar(stmt)


@pytest.fixture
def history(demo):
    """Events of acme, of globex and of the platform over three days."""
    db = demo
    return {
        "enrolled": arrange(db, "two_factor.enabled", when=DAY1, ip="198.51.100.7", agent=FIREFOX),
        "key": arrange(db, "api_key.created", when=DAY1, target="key_acme1",
                       details={"name": "deploy bot", "scopes": "read write"}),
        "bob_failed": arrange(db, "login.failed", actor="bob@acme.test", when=DAY2, ip="2001:db8::7"),
        "recovery": arrange(db, "two_factor.recovery_code_used", actor="bob@acme.test", when=DAY2),
        "allowlist": arrange(db, "ip_allowlist.replaced", when=DAY3, details={"cidrs": ["203.0.113.0/24"]}),
        "globex": arrange(db, "geo_rules.updated", org="globex", actor="gina@globex.test", when=DAY2,
                          target="globex-only-target"),
        "platform": arrange(db, "admin.created", org=None, actor="cli", when=DAY3, target="usr_platform"),
    }


@pytest.fixture
def alice(client, history):
    client.login("alice@acme.test")
    return client


# --- the client portal ------------------------------------------------------------

def test_shows_the_organizations_events_newest_first_with_every_column(alice, history):
    response = alice.get(CLIENT_LOG)
    page = text(response)
    assert response.status_code == 200
    ids = row_ids(page)
    acme = [history[name].public_id for name in ("enrolled", "key", "bob_failed", "recovery", "allowlist")]
    assert ids[1:] == acme[::-1]  # newest first; the newest of all is alice's own sign-in
    enrolled = page.split(f'id="audit-{history["enrolled"].public_id}"')[1].split("</tr>")[0]
    assert '<time datetime="2021-03-01T09:30:00+00:00">2021-03-01 09:30:00</time>' in enrolled
    assert "alice@acme.test" in enrolled and "two_factor.enabled" in enrolled and "198.51.100.7" in enrolled
    assert f'title="{FIREFOX}">Firefox on Linux<' in enrolled  # short name, the full user agent on hover
    key_row = page.split(f'id="audit-{history["key"].public_id}"')[1].split("</tr>")[0]
    assert "key_acme1" in key_row and "name=deploy bot, scopes=read write" in key_row
    assert "cidrs=[&#34;203.0.113.0/24&#34;]" in page or 'cidrs=["203.0.113.0/24"]' in page
    assert "2001:db8::7" in page


def test_other_organizations_and_platform_events_are_never_shown(alice, history):
    page = text(alice.get(CLIENT_LOG))
    assert history["globex"].public_id not in page and "globex-only-target" not in page
    assert "gina@globex.test" not in page and history["platform"].public_id not in page
    assert "geo_rules.updated" not in page  # not even offered as a filter: only globex has it
    exported = alice.get(CLIENT_LOG + ".csv")
    assert "globex" not in text(exported) and "usr_platform" not in text(exported)
    # A cursor from another organization is refused like an unknown one.
    refused = alice.get(f"{CLIENT_LOG}?starting_after={history['globex'].public_id}")
    assert refused.status_code == 400 and "globex-only-target" not in text(refused)
    assert f"No object &#39;{history['globex'].public_id}&#39; to start after." in text(refused)


def test_filter_by_action_family_exact_action_actor_and_dates(alice, history):
    def shown(query: str) -> set[str]:
        response = alice.get(f"{CLIENT_LOG}?{query}")
        assert response.status_code == 200, text(response)
        return set(row_ids(text(response)))

    ids = {name: event.public_id for name, event in history.items()}
    assert shown("action=two_factor") == {ids["enrolled"], ids["recovery"]}
    assert shown("action=two_factor.enabled") == {ids["enrolled"]}
    assert shown("actor=BOB@acme") == {ids["bob_failed"], ids["recovery"]}
    assert shown("since=2021-03-02&until=2021-03-02") == {ids["bob_failed"], ids["recovery"]}
    assert shown("since=2021-03-03&action=ip_allowlist") == {ids["allowlist"]}
    assert shown("until=2021-03-01") == {ids["enrolled"], ids["key"]}
    page = text(alice.get(CLIENT_LOG))
    # The choices: families and the exact actions present in the organization's log.
    assert '<option value="two_factor">two_factor.*</option>' in page
    assert '<option value="two_factor.recovery_code_used">' in page


def test_nothing_matching_says_so(alice, history):
    response = alice.get(f"{CLIENT_LOG}?actor=nobody-at-all")
    assert response.status_code == 200 and row_ids(text(response)) == []
    assert "No audit events match these filters." in text(response)


@pytest.mark.parametrize("query, field, message", [
    ("since=2026-13-01", "since", "Enter a date as YYYY-MM-DD, e.g. 2026-03-01."),
    ("until=yesterday", "until", "Enter a date as YYYY-MM-DD, e.g. 2026-03-01."),
    ("since=2021-03-03&until=2021-03-01", "until", "The end date is before the start date."),
    ("action=drop%20table", "action", "Choose an action from the list."),
])
def test_bad_filter_input_is_named_beside_its_field(alice, history, query, field, message):
    response = alice.get(f"{CLIENT_LOG}?{query}")
    page = text(response)
    assert response.status_code == 400
    assert re.search(rf'id="audit-{field}-errors"[^>]*><p class="error" id="{field}-error">{re.escape(message)}</p>',
                     page), page
    assert re.search(rf'<(input|select) aria-describedby="{field}-error" aria-invalid="true" id="{field}"', page)
    assert row_ids(page) == [] and "Export CSV" not in page
    assert alice.get(f"{CLIENT_LOG}.csv?{query}").status_code == 400  # no export of a refused filter either


def test_htmx_filter_swaps_the_results_and_the_field_messages(alice, history):
    response = alice.http.get(f"{CLIENT_LOG}?action=api_key", headers={"HX-Request": "true"})
    fragment = text(response)
    assert response.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<section id="audit-results"')
    assert row_ids(fragment) == [history["key"].public_id]
    assert f'href="{CLIENT_LOG}.csv?action=api_key"' in fragment  # the export follows the filters
    # Out-of-band slots clear (or fill) the messages beside the fields of the form that stays on the page.
    assert 'id="audit-since-errors" class="audit-errors" hx-swap-oob="true"></div>' in fragment

    refused = alice.http.get(f"{CLIENT_LOG}?since=2026-13-01", headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "<html" not in text(refused)
    assert re.search(r'id="audit-since-errors" class="audit-errors" hx-swap-oob="true"><p class="error"[^>]*>'
                     r'Enter a date', text(refused))
    # The full page's form targets the fragment and pushes the filtered URL.
    page = text(alice.get(CLIENT_LOG))
    assert 'hx-target="#audit-results"' in page and 'hx-push-url="true"' in page
    # A history restore (Back, cache miss) gets the whole page.
    restore = alice.http.get(CLIENT_LOG, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in text(restore)


def test_cursor_pages_of_fifty(client, demo):
    for number in range(120):
        arrange(demo, "login.failed", actor=f"user{number:03}@acme.test")
    client.login("alice@acme.test")
    first = text(client.get(f"{CLIENT_LOG}?action=login.failed"))
    assert len(row_ids(first)) == 50 and "user119@acme.test" in first and "user070@acme.test" in first
    assert "user069@acme.test" not in first and "← Newest" not in first
    second_url = older_link(first)
    assert second_url and parse_qs(urlsplit(second_url).query)["action"] == ["login.failed"]
    second = text(client.get(second_url))
    assert len(row_ids(second)) == 50 and "user069@acme.test" in second and "user020@acme.test" in second
    assert "← Newest" in second
    third = text(client.get(older_link(second)))
    assert len(row_ids(third)) == 20 and "user000@acme.test" in third and older_link(third) is None
    assert not set(row_ids(first)) & set(row_ids(second)) and not set(row_ids(second)) & set(row_ids(third))


def test_csv_export_streams_the_filtered_log_and_is_audited(alice, demo, history):
    arrange(demo, "login.failed", actor='=HYPERLINK("http://evil.test","x")@acme.test', when=DAY2)
    response = alice.get(f"{CLIENT_LOG}.csv?since=2021-03-02&until=2021-03-02")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == f'attachment; filename="audit-log-acme-{today}.csv"'
    header = "id,time_utc,organization,actor,action,target,ip_address,user_agent,details"
    assert text(response).splitlines()[0] == header
    rows = csv_rows(response)
    assert [row["actor"] for row in rows] == ["'=HYPERLINK(\"http://evil.test\",\"x\")@acme.test",  # defused
                                              "bob@acme.test", "bob@acme.test"]
    assert rows[2]["id"] == history["bob_failed"].public_id and rows[2]["ip_address"] == "2001:db8::7"
    assert rows[2]["time_utc"] == "2021-03-02T09:30:00Z" and rows[2]["organization"] == "acme"
    [exported] = demo.scalars(select(AuditEvent).where(AuditEvent.action == "audit_log.exported")).all()
    assert exported.actor_label == "alice@acme.test" and exported.org_id == org_id(demo, "acme")
    assert exported.details == {"since": "2021-03-02", "until": "2021-03-02"}
    assert exported.ip_address == "203.0.113.10"


def test_the_page_needs_a_signed_in_customer(client, demo):
    assert client.get(CLIENT_LOG).status_code == 302
    assert client.get(CLIENT_LOG + ".csv").status_code == 302
    client.login("pat@northwind.test")
    assert client.get(CLIENT_LOG).status_code == 403  # partners have no organization log page in /client


# --- the admin portal -------------------------------------------------------------

@pytest.fixture
def admin(client, history):
    client.login_admin()
    return client


def test_admin_sees_every_organization_and_the_platform(admin, history, demo):
    before = audit_count(demo)
    response = admin.get(ADMIN_LOG)
    page = text(response)
    assert response.status_code == 200
    assert set(row_ids(page)) >= {event.public_id for event in history.values()}
    platform_row = page.split(f'id="audit-{history["platform"].public_id}"')[1].split("</tr>")[0]
    assert '<span class="muted">platform</span>' in platform_row and "admin.created" in platform_row
    globex_row = page.split(f'id="audit-{history["globex"].public_id}"')[1].split("</tr>")[0]
    assert "<code>globex</code>" in globex_row and "gina@globex.test" in globex_row
    assert f'href="{ADMIN_LOG}" aria-current="page">Audit log</a>' in page
    admin.get(f"{ADMIN_LOG}?organization=acme")
    assert audit_count(demo) == before  # looking at the log is not itself audited


def test_admin_filters_by_organization(admin, history):
    page = text(admin.get(f"{ADMIN_LOG}?organization=globex"))
    assert row_ids(page) == [history["globex"].public_id]
    both = text(admin.get(f"{ADMIN_LOG}?organization=ACME&actor=bob"))
    assert set(row_ids(both)) == {history["bob_failed"].public_id, history["recovery"].public_id}
    unknown = admin.get(f"{ADMIN_LOG}?organization=initech")
    assert unknown.status_code == 400
    assert re.search(r'id="audit-organization-errors"[^>]*><p class="error"[^>]*>No organization has the slug '
                     r'“initech”.</p>', text(unknown))
    refused_date = admin.get(f"{ADMIN_LOG}?since=2026-13-01")
    assert refused_date.status_code == 400 and "Enter a date as YYYY-MM-DD" in text(refused_date)


def test_admin_export_is_audited_and_carries_the_organization(admin, history, demo):
    everything = admin.get(f"{ADMIN_LOG}.csv?since=2021-03-01&until=2021-03-03")
    assert everything.status_code == 200
    assert re.fullmatch(r'attachment; filename="audit-log-all-\d{4}-\d{2}-\d{2}.csv"',
                        everything.headers["Content-Disposition"])
    by_id = {row["id"]: row for row in csv_rows(everything)}
    assert set(by_id) == {event.public_id for event in history.values()}
    assert by_id[history["globex"].public_id]["organization"] == "globex"
    assert by_id[history["platform"].public_id]["organization"] == ""
    one = admin.get(f"{ADMIN_LOG}.csv?organization=globex")
    assert [row["id"] for row in csv_rows(one)] == [history["globex"].public_id]
    assert 'filename="audit-log-globex-' in one.headers["Content-Disposition"]
    exports = demo.scalars(select(AuditEvent).where(AuditEvent.action == "audit_log.exported")
                           .order_by(AuditEvent.id)).all()
    assert [(e.actor_label, e.org_id) for e in exports] == [("admin@matrix.test", None)] * 2
    assert exports[1].details == {"organization": "globex"}
    assert admin.get(f"{ADMIN_LOG}.csv?organization=initech").status_code == 400


def test_customers_cannot_open_the_admin_log(alice):
    assert alice.get(ADMIN_LOG).status_code == 403
    assert alice.get(ADMIN_LOG + ".csv").status_code == 403
