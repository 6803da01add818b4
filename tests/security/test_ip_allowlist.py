"""IP allowlists: what the service accepts and refuses, and what the portal
gate does with a request from an address on or off the list (IPv4, IPv6,
IPv4-mapped IPv6, forged and proxied X-Forwarded-For).
"""
import ipaddress

import pytest

from app.errors import DomainError
from app.security import ip_allowlist
from app.security.ip_allowlist import EntryInput
from tests.security.helpers import audit_rows, body, org
from tests.support import PortalClient

ALICE = "alice@acme.test"
OFFICE_V4 = "198.51.100.0/24"
OFFICE_V6 = "2001:db8:1::/48"


def _replace(session, cidrs, current_ip, slug="acme"):
    rows = ip_allowlist.replace(session, org(session, slug).id, [EntryInput(c, f"entry {c}") for c in cidrs],
                                current_ip=current_ip, actor_label=ALICE)
    session.commit()
    return rows


def _cidrs(session, slug="acme"):
    session.expire_all()
    return [entry.cidr for entry in ip_allowlist.entries(session, org(session, slug).id)]


def _signed_in(app, address: str, email: str = ALICE) -> PortalClient:
    client = PortalClient(app, remote_addr=address)
    assert client.login(email).status_code == 302
    return client


# --- parsing -----------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("203.0.113.0/24", "203.0.113.0/24"),
    (" 198.51.100.7 ", "198.51.100.7/32"),
    ("2001:db8::/32", "2001:db8::/32"),
    ("2001:DB8:0:0::5", "2001:db8::5/128"),
    ("0.0.0.0/0", "0.0.0.0/0"),
])
def test_networks_and_single_addresses_are_read(raw, expected):
    assert str(ip_allowlist.parse_network(raw)) == expected


@pytest.mark.parametrize("raw,suggestion", [("203.0.113.5/24", "203.0.113.0/24"), ("2001:db8::1/32", "2001:db8::/32")])
def test_host_bits_are_refused_with_the_network_meant(raw, suggestion):
    with pytest.raises(DomainError) as refused:
        ip_allowlist.parse_network(raw)
    assert refused.value.message == f"“{raw}” has host bits set; did you mean {suggestion}?"


@pytest.mark.parametrize("raw", ["300.1.1.1/24", "203.0.113.0/33", "example.com", "2001:db8::/129", "1.2.3"])
def test_malformed_entries_are_refused(raw):
    with pytest.raises(DomainError, match="is not a valid IPv4 or IPv6 address or CIDR network"):
        ip_allowlist.parse_network(raw)


def test_an_empty_entry_asks_for_an_address():
    with pytest.raises(DomainError, match="Enter an address or network"):
        ip_allowlist.parse_network("  ")


# --- replace() and add() -------------------------------------------------------------

def test_replace_names_the_malformed_entry_and_writes_nothing(demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    before = len(audit_rows(demo))
    with pytest.raises(DomainError) as refused:
        ip_allowlist.replace(demo, org(demo, "acme").id,
                             [EntryInput(OFFICE_V4), EntryInput("10.0.0.0/8"), EntryInput("10.0.0.300")],
                             current_ip="198.51.100.7", actor_label=ALICE)
    assert "(entry 3)" in refused.value.message and "10.0.0.300" in refused.value.message
    assert refused.value.field == "entries.2.cidr"
    demo.commit()  # even a caller that commits anyway finds nothing changed
    assert _cidrs(demo) == [OFFICE_V4]
    assert len(audit_rows(demo)) == before


def test_replace_refuses_duplicates(demo):
    for second in (OFFICE_V4, " 198.51.100.0/24 "):
        with pytest.raises(DomainError) as refused:
            ip_allowlist.replace(demo, org(demo, "acme").id, [EntryInput(OFFICE_V4), EntryInput(second)],
                                 current_ip="198.51.100.7", actor_label=ALICE)
        assert refused.value.message == "198.51.100.0/24 appears twice (entry 2)."
        assert refused.value.field == "entries.1.cidr"
    demo.commit()
    assert _cidrs(demo) == []


def test_a_single_address_and_its_slash_32_are_the_same_entry(demo):
    with pytest.raises(DomainError, match="appears twice"):
        ip_allowlist.replace(demo, org(demo, "acme").id, [EntryInput("198.51.100.7"), EntryInput("198.51.100.7/32")],
                             current_ip="198.51.100.7", actor_label=ALICE)


def test_replace_refuses_to_lock_out_the_current_address(demo):
    _replace(demo, [OFFICE_V4, "203.0.113.0/24"], "203.0.113.10")
    before = len(audit_rows(demo))
    with pytest.raises(DomainError) as refused:
        ip_allowlist.replace(demo, org(demo, "acme").id, [EntryInput(OFFICE_V4)],
                             current_ip="203.0.113.10", actor_label=ALICE)
    assert "would lock you out" in refused.value.message and "203.0.113.10" in refused.value.message
    demo.commit()
    assert _cidrs(demo) == [OFFICE_V4, "203.0.113.0/24"]
    assert len(audit_rows(demo)) == before


def test_replace_with_an_empty_list_opens_the_portal_again(demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    _replace(demo, [], "203.0.113.10")
    assert _cidrs(demo) == []
    assert [row.details for row in audit_rows(demo, "ip_allowlist.replaced")] == [
        {"cidrs": [OFFICE_V4]}, {"cidrs": []}]


def test_add_refuses_self_lockout_and_repeats(demo):
    acme = org(demo, "acme").id
    with pytest.raises(DomainError, match="would lock you out: your current address 203.0.113.10"):
        ip_allowlist.add(demo, acme, OFFICE_V4, "office", current_ip="203.0.113.10", actor_label=ALICE)
    ip_allowlist.add(demo, acme, OFFICE_V4, "office", current_ip="198.51.100.7", actor_label=ALICE)
    with pytest.raises(DomainError, match="already on the list"):
        ip_allowlist.add(demo, acme, "198.51.100.0/24", "again", current_ip="198.51.100.7", actor_label=ALICE)
    demo.commit()
    assert _cidrs(demo) == [OFFICE_V4]


def test_remove_refuses_to_lock_out_the_current_address(demo):
    office, home = _replace(demo, [OFFICE_V4, "203.0.113.0/24"], "198.51.100.7")
    with pytest.raises(DomainError, match="would lock you out"):
        ip_allowlist.remove(demo, org(demo, "acme").id, office.public_id, current_ip="198.51.100.7",
                            actor_label=ALICE)
    ip_allowlist.remove(demo, org(demo, "acme").id, home.public_id, current_ip="198.51.100.7", actor_label=ALICE)
    demo.commit()
    assert _cidrs(demo) == [OFFICE_V4]


def test_permits_matches_by_version_and_reads_mapped_addresses():
    allowed = [ipaddress.ip_network(OFFICE_V4), ipaddress.ip_network(OFFICE_V6)]
    assert ip_allowlist.permits([], "192.0.2.1")
    assert ip_allowlist.permits(allowed, "198.51.100.255")
    assert ip_allowlist.permits(allowed, "::ffff:198.51.100.7")
    assert ip_allowlist.permits(allowed, "2001:db8:1:ffff::1")
    assert not ip_allowlist.permits(allowed, "198.51.101.1")
    assert not ip_allowlist.permits(allowed, "2001:db8:2::1")
    assert not ip_allowlist.permits(allowed, "not-an-address")


# --- the portal gate -------------------------------------------------------------------

def test_an_ipv4_allowlist_refuses_other_addresses_with_a_page_naming_them(app, demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    outside = _signed_in(app, "203.0.113.10")
    refused = outside.get("/client/")
    assert refused.status_code == 403
    assert "your address 203.0.113.10 is not on it" in body(refused)
    assert outside.get("/client/webhooks").status_code == 403
    assert _signed_in(app, "198.51.100.7").get("/client/").status_code == 200
    # Other organizations have their own (empty) list.
    assert _signed_in(app, "203.0.113.10", "gina@globex.test").get("/client/").status_code == 200


def test_an_ipv6_allowlist_and_ipv6_clients(app, demo):
    _replace(demo, [OFFICE_V6], "2001:db8:1::5")
    assert _signed_in(app, "2001:db8:1::5").get("/client/").status_code == 200
    refused = _signed_in(app, "2001:db8:2::5").get("/client/")
    assert refused.status_code == 403 and "2001:db8:2::5" in body(refused)
    assert _signed_in(app, "198.51.100.7").get("/client/").status_code == 403


def test_an_ipv4_mapped_ipv6_client_matches_an_ipv4_entry(app, demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    assert _signed_in(app, "::ffff:198.51.100.7").get("/client/").status_code == 200
    assert _signed_in(app, "::ffff:203.0.113.10").get("/client/").status_code == 403


def test_a_forged_forwarded_for_header_does_not_change_the_address(app, demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    forger = _signed_in(app, "203.0.113.10")
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        value = "for=198.51.100.7" if header == "Forwarded" else "198.51.100.7"
        refused = forger.get("/client/", headers={header: value})
        assert refused.status_code == 403, header
        assert "203.0.113.10" in body(refused)


def test_behind_one_trusted_proxy_the_proxys_forwarded_for_is_used(make_app):
    app, session = make_app(TRUSTED_PROXY_HOPS=1)
    _replace(session, [OFFICE_V4], "198.51.100.7")
    via_proxy = _signed_in(app, "10.0.0.2")
    assert via_proxy.get("/client/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200
    # The client may send its own header; the proxy appends the real address, which is the one used.
    assert via_proxy.get("/client/", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}).status_code == 200
    forged = via_proxy.get("/client/", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.10"})
    assert forged.status_code == 403
    assert "your address 203.0.113.10 is not on it" in body(forged)


def test_blocks_are_audited_once_a_minute_with_the_address(app, demo):
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    outside = _signed_in(app, "203.0.113.10")
    for _ in range(3):
        assert outside.get("/client/").status_code == 403
    rows = audit_rows(demo, "access.ip_blocked")
    assert len(rows) == 1
    row = rows[0]
    assert (row.ip_address, row.actor_label, row.org_id) == ("203.0.113.10", ALICE, org(demo, "acme").id)
    assert row.details == {"channel": "portal"}
    # Another address is its own entry.
    _signed_in(app, "192.0.2.9").get("/client/")
    assert [r.ip_address for r in audit_rows(demo, "access.ip_blocked")] == ["203.0.113.10", "192.0.2.9"]


def test_the_block_audit_is_written_again_after_a_minute(app, demo):
    """Deduplication lives in Redis with a 60-second expiry; once it expires the next block is a new row."""
    redis = app.extensions["redis"]
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    outside = _signed_in(app, "203.0.113.10")
    outside.get("/client/")
    keys = redis.keys("audit-dedupe:*")
    assert len(keys) == 1 and 0 < redis.ttl(keys[0]) <= 60
    redis.delete(*keys)  # what a minute does
    outside.get("/client/")
    assert len(audit_rows(demo, "access.ip_blocked")) == 2


def test_account_pages_outside_the_portal_are_refused_too(app, demo):
    """Changing the password is a signed-in action of the organization's member:
    from an address off the list it must be refused like the portal's pages,
    or stolen credentials could still lock the real owner out."""
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    outside = _signed_in(app, "203.0.113.10")
    page = outside.get("/account/password")
    assert page.status_code == 403
    assert "your address 203.0.113.10 is not on it" in body(page)
    changed = outside.http.post("/account/password", data={
        "csrf_token": outside.csrf_token("/login"), "current_password": "demo-password",
        "new_password": "a-new-password-123", "confirm_password": "a-new-password-123"})
    assert changed.status_code == 403
    assert audit_rows(demo, "password.changed") == []
    assert _signed_in(app, "198.51.100.7").get("/account/password").status_code == 200


def test_api_keys_are_refused_from_addresses_off_the_list(app, demo):
    from app.security import api_keys

    with app.app_context():
        secret = api_keys.create(demo, org(demo, "acme").id, "ci", ["read"], actor_label=ALICE).secret
    demo.commit()
    _replace(demo, [OFFICE_V4], "198.51.100.7")
    headers = {"Authorization": f"Bearer {secret}"}
    outside = app.test_client()
    refused = outside.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.10"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["type"] == "permission_error"
    assert "203.0.113.10" in refused.get_json()["error"]["message"]
    allowed = outside.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert allowed.status_code == 200
    assert [r.details for r in audit_rows(demo, "access.ip_blocked")] == [{"channel": "api"}]
