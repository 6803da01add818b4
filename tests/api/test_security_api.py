"""The security API: IP allowlist, geo rules and audit log. Happy paths, bad
input that names its field and writes nothing, self-lockout refusals, scopes,
revoked keys, the allowlist and geo rules applied to keys (IPv4 and IPv6,
forged X-Forwarded-For, a trusted proxy), and the audit trail they leave."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.audit.service import record
from app.security import api_keys, ip_allowlist
from app.security.models import IpAllowlistEntry
from tests.security.mmdb import FRANCE_V4, GERMANY_V4, build_country_mmdb
from tests.webhooks.fixtures import org_id

OFFICE = "203.0.113.10"  # the address PortalClient and these calls use unless told otherwise


def call(app, secret: str, method: str, path: str, ip: str = OFFICE, headers: dict | None = None, **kwargs):
    """One API request from `ip` (the socket address), as a separate HTTP client would make it."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", **(headers or {})}
    return client.open(path, method=method, headers=headers, environ_base={"REMOTE_ADDR": ip}, **kwargs)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def events(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def cidrs(db, slug: str = "acme") -> list[str]:
    db.expire_all()
    return [entry.cidr for entry in ip_allowlist.entries(db, org_id(db, slug))]


@pytest.fixture
def acme_key(issue_key):
    """acme's read+write key: (ApiKey, secret)."""
    return issue_key("acme", ("read", "write"))


# --- IP allowlist -------------------------------------------------------------

def test_allowlist_is_replaced_read_back_audited_and_cleared(app, demo, acme_key):
    key, secret = acme_key
    assert call(app, secret, "GET", "/api/v1/ip_allowlist").get_json() == {"data": []}

    response = call(app, secret, "POST", "/api/v1/ip_allowlist", json={"entries": [
        {"cidr": "203.0.113.0/24", "label": "office"}, {"cidr": " 2001:DB8::/32 ", "label": "v6 office"},
        {"cidr": "198.51.100.7"}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()["data"]
    assert [(e["cidr"], e["label"]) for e in data] == [
        ("203.0.113.0/24", "office"), ("2001:db8::/32", "v6 office"), ("198.51.100.7/32", "")]
    assert all(e["id"].startswith("ipa_") and e["created_at"] for e in data)
    assert call(app, secret, "GET", "/api/v1/ip_allowlist").get_json()["data"] == data
    [audited] = events(demo, "ip_allowlist.replaced")
    assert audited.actor_label == f"api:{key.display_prefix}" and audited.actor_user_id is None
    assert audited.ip_address == OFFICE and audited.org_id == org_id(demo, "acme")
    assert audited.details == {"cidrs": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"]}

    cleared = call(app, secret, "POST", "/api/v1/ip_allowlist", json={"entries": []})
    assert cleared.status_code == 200 and cleared.get_json() == {"data": []} and cidrs(demo) == []


@pytest.mark.parametrize("entries, field, message", [
    ([{"cidr": "203.0.113.0/24"}, {"cidr": "10.0.0.300/8"}], "entries.1.cidr",
     "“10.0.0.300/8” is not a valid IPv4 or IPv6 address or CIDR network (entry 2)."),
    ([{"cidr": "203.0.113.0/24"}, {"cidr": "10.0.0.1/8"}], "entries.1.cidr",
     "“10.0.0.1/8” has host bits set (entry 2); did you mean 10.0.0.0/8?"),
    ([{"cidr": ""}], "entries.0.cidr", "Enter an address or network in CIDR form, e.g. 203.0.113.0/24 (entry 1)."),
    ([{"cidr": "203.0.113.0/24"}, {"cidr": "203.0.113.0/24"}], "entries.1.cidr", "203.0.113.0/24 appears twice"),
    ([{"cidr": "203.0.113.0/24", "label": "x" * 101}], "entries.0.label", "Labels are at most 100 characters."),
    ([{"cidr": 203}], "entries.0.cidr", "entries.0.cidr: Input should be a valid string"),
    ([{"cidr": "203.0.113.0/24", "note": "x"}], "entries.0.note", "Extra inputs are not permitted"),
    (None, "entries", "entries: Field required"),
])
def test_bad_allowlist_names_the_entry_and_writes_nothing(app, demo, acme_key, entries, field, message):
    _, secret = acme_key
    call(app, secret, "POST", "/api/v1/ip_allowlist", json={"entries": [{"cidr": "203.0.113.0/24", "label": "v1"}]})
    before = call(app, secret, "GET", "/api/v1/ip_allowlist").get_json()

    body = {} if entries is None else {"entries": entries}
    error = error_of(call(app, secret, "POST", "/api/v1/ip_allowlist", json=body), 400)

    assert error["type"] == "invalid_request_error" and error["field"] == field and message in error["message"]
    assert call(app, secret, "GET", "/api/v1/ip_allowlist").get_json() == before
    assert len(events(demo, "ip_allowlist.replaced")) == 1


@pytest.mark.parametrize("caller_ip, entries", [
    ("198.51.100.20", ["203.0.113.0/24"]),
    ("2001:db8:1::5", ["198.51.100.0/24", "2001:db8:2::/48"]),
])
def test_a_list_that_would_lock_out_the_caller_is_refused(app, demo, acme_key, caller_ip, entries):
    _, secret = acme_key
    response = call(app, secret, "POST", "/api/v1/ip_allowlist", ip=caller_ip,
                    json={"entries": [{"cidr": cidr} for cidr in entries]})
    error = error_of(response, 400)
    assert error["field"] == "entries"
    assert f"would lock you out: your current address {caller_ip} is not in it" in error["message"]
    assert cidrs(demo) == [] and events(demo, "ip_allowlist.replaced") == []
    # Covering the caller's address is accepted.
    covered = call(app, secret, "POST", "/api/v1/ip_allowlist", ip=caller_ip,
                   json={"entries": [{"cidr": cidr} for cidr in [*entries, caller_ip]]})
    assert covered.status_code == 200, covered.get_data(as_text=True)


@pytest.mark.parametrize("allowed, inside, outside", [
    ("198.51.100.0/24", "198.51.100.20", "192.0.2.99"),
    ("2001:db8:1::/48", "2001:db8:1::5", "2001:db8:2::5"),
], ids=["ipv4", "ipv6"])
def test_the_allowlist_refuses_the_key_from_other_addresses_and_audits_once_a_minute(
        app, demo, acme_key, allowed, inside, outside):
    key, secret = acme_key
    assert call(app, secret, "POST", "/api/v1/ip_allowlist", ip=inside,
                json={"entries": [{"cidr": allowed, "label": "datacenter"}]}).status_code == 200

    assert call(app, secret, "GET", "/api/v1/me", ip=inside).status_code == 200
    for _ in range(3):
        error = error_of(call(app, secret, "GET", "/api/v1/ip_allowlist", ip=outside), 403)
        assert error["type"] == "permission_error"
        assert f"your address {outside} is not on it" in error["message"]
    refused_write = call(app, secret, "POST", "/api/v1/ip_allowlist", ip=outside, json={"entries": []})
    assert refused_write.status_code == 403 and cidrs(demo) == [allowed]

    [blocked] = events(demo, "access.ip_blocked")  # four refusals, one row this minute
    assert blocked.ip_address == outside and blocked.actor_label == f"api:{key.display_prefix}"
    assert blocked.actor_user_id is None and blocked.details == {"channel": "api"}
    redis = app.extensions["redis"]
    dedupe_key = f"audit-dedupe:{key.org_id}:{outside}:access.ip_blocked:api"
    assert 0 < redis.ttl(dedupe_key) <= 60
    redis.delete(dedupe_key)  # the minute is over
    error_of(call(app, secret, "GET", "/api/v1/me", ip=outside), 403)
    assert len(events(demo, "access.ip_blocked")) == 2


def test_a_forged_x_forwarded_for_does_not_get_past_the_allowlist(app, demo, acme_key):
    _, secret = acme_key
    call(app, secret, "POST", "/api/v1/ip_allowlist", ip="198.51.100.20",
         json={"entries": [{"cidr": "198.51.100.0/24"}]})
    forged = call(app, secret, "GET", "/api/v1/me", ip="192.0.2.99",
                  headers={"X-Forwarded-For": "198.51.100.20", "X-Real-IP": "198.51.100.20"})
    assert "your address 192.0.2.99 is not on it" in error_of(forged, 403)["message"]
    assert [e.ip_address for e in events(demo, "access.ip_blocked")] == ["192.0.2.99"]


def test_behind_one_trusted_proxy_the_last_forwarded_hop_counts(make_app):
    app, session = make_app(TRUSTED_PROXY_HOPS=1)
    created = api_keys.create(session, org_id(session, "acme"), "proxied", ["read", "write"], actor_label="test")
    session.commit()
    proxy = "10.0.0.2"

    def via_proxy(method, path, forwarded_for, **kwargs):
        return call(app, created.secret, method, path, ip=proxy, headers={"X-Forwarded-For": forwarded_for},
                    **kwargs)

    saved = via_proxy("POST", "/api/v1/ip_allowlist", "198.51.100.20", json={"entries": [{"cidr": "198.51.100.0/24"}]})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    # The client can put anything in front; only the hop our proxy appended counts.
    assert via_proxy("GET", "/api/v1/me", "192.0.2.99, 198.51.100.20").status_code == 200
    refused = via_proxy("GET", "/api/v1/me", "198.51.100.20, 192.0.2.99")
    assert "your address 192.0.2.99 is not on it" in error_of(refused, 403)["message"]
    [replaced] = events(session, "ip_allowlist.replaced")
    assert replaced.ip_address == "198.51.100.20"


# --- geo rules ------------------------------------------------------------------

def test_geo_rules_are_replaced_normalised_and_audited(app, demo, acme_key):
    key, secret = acme_key
    assert call(app, secret, "GET", "/api/v1/geo_rules").get_json() == {"default": "allow", "rules": []}
    response = call(app, secret, "POST", "/api/v1/geo_rules", json={
        "default": "Allow", "rules": [{"country": "jp", "action": "verify"}, {"country": "DE", "action": "BLOCK"}]})
    expected = {"default": "allow", "rules": [{"country": "DE", "action": "block"},
                                              {"country": "JP", "action": "verify"}]}
    assert response.status_code == 200 and response.get_json() == expected
    assert call(app, secret, "GET", "/api/v1/geo_rules").get_json() == expected
    [audited] = events(demo, "geo_rules.updated")
    assert audited.actor_label == f"api:{key.display_prefix}" and audited.actor_user_id is None
    assert audited.details == {"default": "allow", "rules": {"DE": "block", "JP": "verify"}}


@pytest.mark.parametrize("body, field, message", [
    ({"default": "allow", "rules": [{"country": "XX", "action": "block"}]}, "rules.0.country",
     "“XX” is not an ISO 3166-1 country code"),
    ({"default": "allow", "rules": [{"country": "DE", "action": "block"}, {"country": "Germany", "action": "block"}]},
     "rules.1.country", "“Germany” is not an ISO 3166-1 country code"),
    ({"default": "allow", "rules": [{"country": "DE", "action": "block"}, {"country": "de", "action": "allow"}]},
     "rules.1.country", "DE has two rules (entry 2)."),
    ({"default": "allow", "rules": [{"country": "FR", "action": "deny"}]}, "rules.0.action",
     "“deny” is not a geo action; use allow, block or verify."),
    ({"default": "maybe", "rules": []}, "default", "“maybe” is not a geo action"),
    ({"rules": []}, "default", "default: Field required"),
    ({"default": "allow", "rules": [{"country": "FR"}]}, "rules.0.action", "Field required"),
])
def test_bad_geo_rules_are_refused_naming_the_field(app, demo, acme_key, body, field, message):
    _, secret = acme_key
    call(app, secret, "POST", "/api/v1/geo_rules",
         json={"default": "allow", "rules": [{"country": "JP", "action": "verify"}]})
    error = error_of(call(app, secret, "POST", "/api/v1/geo_rules", json=body), 400)
    assert error["field"] == field and message in error["message"]
    assert call(app, secret, "GET", "/api/v1/geo_rules").get_json() == {
        "default": "allow", "rules": [{"country": "JP", "action": "verify"}]}


def test_geo_rules_come_from_the_geoip_database_and_apply_to_keys(make_app, tmp_path):
    app, session = make_app(GEOIP_DATABASE=str(build_country_mmdb(tmp_path / "countries.mmdb")))
    created = api_keys.create(session, org_id(session, "acme"), "geo", ["read", "write"], actor_label="test")
    session.commit()
    secret = created.secret

    own_country = call(app, secret, "POST", "/api/v1/geo_rules", ip=GERMANY_V4,
                       json={"default": "allow", "rules": [{"country": "DE", "action": "block"}]})
    assert "would block your current location, Germany (DE)" in error_of(own_country, 400)["message"]
    saved = call(app, secret, "POST", "/api/v1/geo_rules", ip=GERMANY_V4,
                 json={"default": "block", "rules": [{"country": "DE", "action": "allow"}]})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert call(app, secret, "GET", "/api/v1/me", ip=GERMANY_V4).status_code == 200
    refused = error_of(call(app, secret, "GET", "/api/v1/me", ip=FRANCE_V4), 403)
    assert refused["message"] == (f"Your organization does not allow access from France (FR). "
                                  f"Your address is {FRANCE_V4}.")
    [blocked] = events(session, "access.geo_blocked")
    assert blocked.details == {"channel": "api", "country": "FR"} and blocked.ip_address == FRANCE_V4


# --- audit log ----------------------------------------------------------------

def _arrange(db, action, slug="acme", actor="alice@acme.test", day=None, **fields):
    if day:
        clock.freeze(datetime(2021, 5, day, 8, 0, tzinfo=timezone.utc))
    try:
        event = record(db, action, actor_label=actor, org_id=org_id(db, slug) if slug else None, **fields)
        db.commit()
    finally:
        clock.reset()
    return event


def test_audit_logs_list_the_keys_organization_newest_first(app, demo, acme_key):
    key, secret = acme_key
    first = _arrange(demo, "login.succeeded", day=1, ip_address="198.51.100.7", details={"method": "password"})
    _arrange(demo, "geo_rules.updated", slug="globex", actor="gina@globex.test", day=2)
    _arrange(demo, "admin.created", slug=None, actor="cli", day=2)
    call(app, secret, "POST", "/api/v1/ip_allowlist", json={"entries": [{"cidr": OFFICE}]})

    response = call(app, secret, "GET", "/api/v1/audit_logs", headers={"User-Agent": "deploy-bot/1.0"})
    body = response.get_json()
    assert response.status_code == 200 and body["has_more"] is False
    assert [e["action"] for e in body["data"]] == ["ip_allowlist.replaced", "login.succeeded", "api_key.created"]
    change = body["data"][0]
    assert change["id"].startswith("aud_") and change["actor"] == f"api:{key.display_prefix}"
    assert change["ip_address"] == OFFICE and change["details"] == {"cidrs": [f"{OFFICE}/32"]}
    assert set(change) == {"id", "created_at", "action", "actor", "target", "ip_address", "user_agent", "details"}
    login = body["data"][1]
    assert login == {"id": first.public_id, "created_at": "2021-05-01T08:00:00Z", "action": "login.succeeded",
                     "actor": "alice@acme.test", "target": None, "ip_address": "198.51.100.7", "user_agent": None,
                     "details": {"method": "password"}}


def test_audit_logs_filter_and_paginate(app, demo, acme_key):
    key, secret = acme_key
    for day in (1, 2, 3):
        _arrange(demo, "login.failed", actor="bob@acme.test", day=day)
    _arrange(demo, "two_factor.enabled", day=2)
    _arrange(demo, "two_factor.disabled", day=3)
    globex = _arrange(demo, "login.failed", slug="globex", actor="bob@globex.test", day=2)

    def ids(query):
        response = call(app, secret, "GET", f"/api/v1/audit_logs?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [(e["action"], e["created_at"][:10]) for e in response.get_json()["data"]]

    assert ids("action=two_factor") == [("two_factor.disabled", "2021-05-03"), ("two_factor.enabled", "2021-05-02")]
    assert ids("action=login.failed&since=2021-05-02&until=2021-05-02") == [("login.failed", "2021-05-02")]
    assert ids("actor=BOB") == [("login.failed", "2021-05-03"), ("login.failed", "2021-05-02"),
                                ("login.failed", "2021-05-01")]

    page1 = call(app, secret, "GET", "/api/v1/audit_logs?limit=4").get_json()
    page2 = call(app, secret, "GET", f"/api/v1/audit_logs?limit=4&starting_after={page1['data'][-1]['id']}").get_json()
    assert page1["has_more"] is True and page2["has_more"] is False
    assert len(page1["data"]) == 4 and len(page2["data"]) == 2  # 6 acme events in all, globex's not among them
    assert not {e["id"] for e in page1["data"]} & {e["id"] for e in page2["data"]}
    foreign = call(app, secret, "GET", f"/api/v1/audit_logs?starting_after={globex.public_id}")
    assert error_of(foreign, 400)["field"] == "starting_after"


def test_audit_logs_filter_by_the_key_that_acted(app, demo, acme_key, issue_key):
    """Key prefixes are mixed case (mtx_sk_AbC9): the actor filter must not care."""
    key, secret = acme_key
    while key.display_prefix == key.display_prefix.lower():  # make sure this one has capitals
        key, secret = issue_key("acme", ("read", "write"))
    _, other_secret = issue_key("acme", ("read", "write"))
    call(app, secret, "POST", "/api/v1/ip_allowlist", json={"entries": [{"cidr": OFFICE}]})
    call(app, other_secret, "POST", "/api/v1/geo_rules", json={"default": "allow", "rules": []})
    for actor in (key.display_prefix, key.display_prefix.lower(), key.display_prefix.upper()):
        response = call(app, secret, "GET", f"/api/v1/audit_logs?actor={actor}")
        assert [e["action"] for e in response.get_json()["data"]] == ["ip_allowlist.replaced"], actor


@pytest.mark.parametrize("query, field", [
    ("since=2026-13-01", "since"), ("until=yesterday", "until"), ("since=2021-05-03&until=2021-05-01", "until"),
    ("limit=0", "limit"), ("limit=101", "limit"), ("action=" + "x" * 61, "action"), ("colour=blue", "colour"),
])
def test_audit_logs_refuse_bad_queries_naming_the_parameter(app, acme_key, query, field):
    _, secret = acme_key
    error = error_of(call(app, secret, "GET", f"/api/v1/audit_logs?{query}"), 400)
    assert error["type"] == "invalid_request_error" and error["field"] == field


# --- scopes and revocation ----------------------------------------------------

def test_a_read_only_key_reads_but_cannot_change_anything(app, demo, issue_key):
    _, secret = issue_key("acme", ("read",))
    for path in ("/api/v1/ip_allowlist", "/api/v1/geo_rules", "/api/v1/audit_logs"):
        assert call(app, secret, "GET", path).status_code == 200, path
    writes = [("/api/v1/ip_allowlist", {"entries": [{"cidr": OFFICE}]}),
              ("/api/v1/geo_rules", {"default": "allow", "rules": [{"country": "FR", "action": "block"}]})]
    for path, body in writes:
        error = error_of(call(app, secret, "POST", path, json=body), 403)
        assert error == {"type": "permission_error", "message": "This API key lacks the 'write' scope."}
    assert cidrs(demo) == [] and events(demo, "geo_rules.updated") == []


def test_a_webhooks_only_key_cannot_read_security_settings(app, issue_key):
    _, secret = issue_key("acme", ("webhooks",))
    for path in ("/api/v1/ip_allowlist", "/api/v1/geo_rules", "/api/v1/audit_logs"):
        assert error_of(call(app, secret, "GET", path), 403)["message"] == "This API key lacks the 'read' scope."


def test_a_revoked_key_is_refused_at_once(app, demo, acme_key):
    key, secret = acme_key
    assert call(app, secret, "GET", "/api/v1/ip_allowlist").status_code == 200
    api_keys.revoke(demo, key, actor_label="alice@acme.test")
    demo.commit()
    for method, path, body in [("GET", "/api/v1/ip_allowlist", None), ("GET", "/api/v1/audit_logs", None),
                               ("POST", "/api/v1/geo_rules", {"default": "block", "rules": []}),
                               ("POST", "/api/v1/ip_allowlist", {"entries": [{"cidr": "192.0.2.0/24"}]})]:
        error = error_of(call(app, secret, method, path, json=body), 401)
        assert error == {"type": "authentication_error", "message": "This API key has been revoked."}
    assert cidrs(demo) == [] and demo.scalars(select(IpAllowlistEntry)).all() == []


def test_openapi_documents_the_security_operations(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    allowlist, geo, audit = paths["/api/v1/ip_allowlist"], paths["/api/v1/geo_rules"], paths["/api/v1/audit_logs"]
    assert allowlist["get"]["x-required-scope"] == "read" and allowlist["post"]["x-required-scope"] == "write"
    assert allowlist["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AllowlistReplace")
    assert geo["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/GeoRulesOut")
    assert {p["name"] for p in audit["get"]["parameters"]} == {
        "limit", "starting_after", "action", "actor", "since", "until"}
