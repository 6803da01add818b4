"""The client portal's IP allowlist page: adding IPv4 and IPv6 entries, bad
CIDRs, the self-lockout refusal, removing with confirmation, the 403 for an
address outside the list, owners only, and sudo mode. On SQLite and
PostgreSQL (the `database_url` fixture)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.security import ip_allowlist
from app.security.models import IpAllowlistEntry
from tests.webhooks.fixtures import org_id

PAGE = "/client/security/ip-allowlist"
ALICE_IP = "203.0.113.10"  # PortalClient's default socket address


def text(response) -> str:
    return response.get_data(as_text=True)


def cidrs(db, slug: str = "acme") -> list[str]:
    db.expire_all()
    rows = db.scalars(select(IpAllowlistEntry.cidr).where(IpAllowlistEntry.org_id == org_id(db, slug))
                      .order_by(IpAllowlistEntry.id))
    result = list(rows)
    db.rollback()
    return result


def audit_rows(db, action_prefix: str = "ip_allowlist.") -> list[AuditEvent]:
    db.expire_all()
    rows = list(db.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{action_prefix}%"))
                           .order_by(AuditEvent.id)))
    db.rollback()
    return rows


def arrange(db, *networks: str, current_ip: str = ALICE_IP) -> list[IpAllowlistEntry]:
    """Entries put on acme's list through the service (arrangement, not under test)."""
    made = [ip_allowlist.add(db, org_id(db, "acme"), cidr, f"entry {cidr}", current_ip=current_ip,
                             actor_label="test") for cidr in networks]
    db.commit()
    return made


def field_error(body: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', body)
    return match.group(1) if match else None


def add(client, cidr: str, label: str = "", **kwargs):
    return client.post_form(PAGE, {"cidr": cidr, "label": label}, **kwargs)


# --- viewing ----------------------------------------------------------------------------------------

def test_the_page_shows_the_current_address_and_what_an_empty_list_means(demo, client):
    client.login("alice@acme.test")

    body = text(client.get(PAGE, headers={"X-Forwarded-For": "198.51.100.7"}))

    assert f"Your current address is <code>{ALICE_IP}</code>" in body
    assert "198.51.100.7" not in body  # a forged header does not change the address
    assert "every address is allowed" in body
    assert re.search(rf'<input [^>]*name="cidr"[^>]*value="{re.escape(ALICE_IP)}"', body)  # offered as the first entry
    assert 'action="/client/security/ip-allowlist"' in body


def test_members_see_the_list_without_the_forms(demo, client, db):
    arrange(db, "203.0.113.0/24")
    client.login("bob@acme.test")

    body = text(client.get(PAGE))

    assert "203.0.113.0/24" in body and "entry 203.0.113.0/24" in body
    assert 'name="cidr"' not in body and "/remove" not in body
    assert "Only the organization's owners can change the allowlist" in body


# --- adding -------------------------------------------------------------------------------------------

def test_owner_adds_an_ipv4_network_without_javascript(demo, client, db):
    client.login("alice@acme.test")

    response = add(client, "203.0.113.0/24", "Berlin office")

    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert cidrs(db) == ["203.0.113.0/24"]
    page = text(client.get(PAGE))
    assert "203.0.113.0/24 is on the allowlist." in page
    assert "<code>203.0.113.0/24</code>" in page and "Berlin office" in page
    [row] = audit_rows(db)
    assert (row.action, row.actor_label, row.ip_address) == ("ip_allowlist.entry_added", "alice@acme.test", ALICE_IP)
    assert row.details == {"cidr": "203.0.113.0/24", "label": "Berlin office"}


def test_owner_adds_ipv6_entries_with_htmx(demo, make_client, db):
    client = make_client(remote_addr="2001:db8:1::5")
    client.login("alice@acme.test")

    first = client.htmx("POST", PAGE, token_from=PAGE, data={"cidr": "2001:db8:1::/48", "label": "v6 office"})
    second = client.htmx("POST", PAGE, token_from=PAGE, data={"cidr": "2001:DB8:2::1", "label": "one host"})

    assert first.status_code == 200 and second.status_code == 200
    body = text(second)
    assert "<html" not in body and body.lstrip().startswith('<div id="allowlist"')
    assert "2001:db8:1::/48" in body and "2001:db8:2::1/128" in body and "(one address)" in body
    assert cidrs(db) == ["2001:db8:1::/48", "2001:db8:2::1/128"]
    assert "Your current address is <code>2001:db8:1::5</code>" in text(client.get(PAGE))


MALFORMED = [  # what was typed, a part of the message that names it
    ("203.0.113.0/33", "“203.0.113.0/33” is not a valid"),
    ("10.0.0.300", "“10.0.0.300” is not a valid"),
    ("office wifi", "“office wifi” is not a valid"),
    ("2001:db8:::/48", "“2001:db8:::/48” is not a valid"),
    ("203.0.113.7/24", "“203.0.113.7/24” has host bits set; did you mean 203.0.113.0/24?"),
    ("", "Enter an address or a network"),
]


def test_a_malformed_cidr_is_named_beside_the_field_and_nothing_is_written(demo, client, db):
    client.login("alice@acme.test")
    for typed, message in MALFORMED:
        response = add(client, typed, "label")

        assert response.status_code == 400, typed
        body = text(response)
        error = field_error(body, "cidr")
        assert error is not None and message in error, (typed, body)
        assert 'aria-invalid="true"' in body
    # htmx gets the fragment with the error (400 is swapped by the page's htmx config)
    fragment = client.htmx("POST", PAGE, token_from=PAGE, data={"cidr": "1.2.3.4/99"})
    assert fragment.status_code == 400 and "<html" not in text(fragment)
    assert "“1.2.3.4/99” is not a valid" in field_error(text(fragment), "cidr")
    assert cidrs(db) == [] and audit_rows(db) == []


def test_a_label_over_100_characters_is_refused_beside_the_label(demo, client, db):
    client.login("alice@acme.test")

    response = add(client, "203.0.113.0/24", "x" * 101)

    assert response.status_code == 400
    assert "at most 100 characters" in field_error(text(response), "label")
    assert cidrs(db) == []


def test_adding_a_list_without_the_current_address_is_refused(demo, client, db):
    client.login("alice@acme.test")

    response = add(client, "198.51.100.0/24", "not us")

    assert response.status_code == 400
    error = field_error(text(response), "cidr")
    assert error is not None and "would lock you out" in error and ALICE_IP in error
    assert cidrs(db) == [] and audit_rows(db) == []


def test_a_repeated_entry_is_refused(demo, client, db):
    arrange(db, "203.0.113.0/24")
    client.login("alice@acme.test")

    response = add(client, "203.0.113.0/24")

    assert response.status_code == 400 and "already on the list" in field_error(text(response), "cidr")
    assert cidrs(db) == ["203.0.113.0/24"]


# --- removing -------------------------------------------------------------------------------------------

def test_remove_asks_for_confirmation_first(demo, client, db):
    [entry, _] = arrange(db, "203.0.113.0/24", "198.51.100.0/24")
    client.login("alice@acme.test")
    remove_url = f"{PAGE}/{entry.public_id}/remove"

    listing = text(client.get(PAGE))
    assert f'hx-post="{remove_url}"' in listing and 'hx-confirm="Remove 203.0.113.0/24 from the allowlist?' in listing

    confirm = client.get(remove_url)
    assert confirm.status_code == 200
    body = text(confirm)
    assert "Remove <code>203.0.113.0/24</code> from the allowlist?" in body
    assert f'<form method="post" action="{remove_url}">' in body
    assert cidrs(db) == ["203.0.113.0/24", "198.51.100.0/24"]  # looking changes nothing


def test_removing_the_entry_that_covers_you_is_refused_while_others_remain(demo, client, db):
    [covering, other] = arrange(db, "203.0.113.0/24", "198.51.100.0/24")
    client.login("alice@acme.test")

    refused = client.post_form(f"{PAGE}/{covering.public_id}/remove", token_from=PAGE)

    assert refused.status_code == 400
    assert re.search(rf'data-testid="remove-error">[^<]*would lock you out[^<]*{re.escape(ALICE_IP)}', text(refused))
    assert cidrs(db) == ["203.0.113.0/24", "198.51.100.0/24"]

    removed = client.htmx("POST", f"{PAGE}/{other.public_id}/remove", token_from=PAGE)
    assert removed.status_code == 200 and "<html" not in text(removed)
    assert "198.51.100.0/24 was removed from the allowlist." in text(removed)
    assert 'id="entry-' + other.public_id not in text(removed) and "<code>203.0.113.0/24</code>" in text(removed)

    last = client.post_form(f"{PAGE}/{covering.public_id}/remove", token_from=PAGE)  # empty list: allowed
    assert last.status_code == 302
    assert cidrs(db) == []
    assert "every address is allowed" in text(client.get(PAGE))
    assert [row.action for row in audit_rows(db, "ip_allowlist.entry_removed")] == ["ip_allowlist.entry_removed"] * 2


def test_another_organizations_entry_is_not_found(demo, client, db):
    globex = ip_allowlist.add(db, org_id(db, "globex"), "198.51.100.0/24", "", current_ip="198.51.100.1",
                              actor_label="test")
    db.commit()
    client.login("alice@acme.test")

    assert client.get(f"{PAGE}/{globex.public_id}/remove").status_code == 404
    assert client.post_form(f"{PAGE}/{globex.public_id}/remove", token_from=PAGE).status_code == 404
    assert cidrs(db, "globex") == ["198.51.100.0/24"]


# --- the list takes effect ----------------------------------------------------------------------------------

def test_an_address_outside_the_saved_list_gets_a_403_naming_it(demo, client, make_client):
    client.login("alice@acme.test")
    assert add(client, "203.0.113.0/24", "office").status_code == 302

    outsider = make_client(remote_addr="198.51.100.7")
    outsider.login("bob@acme.test")
    refused = outsider.get("/client/")
    assert refused.status_code == 403
    assert "198.51.100.7" in text(refused) and "IP allowlist" in text(refused)

    insider = make_client(remote_addr="203.0.113.77")
    insider.login("bob@acme.test")
    assert insider.get("/client/").status_code == 200


# --- who may change it -----------------------------------------------------------------------------------

def test_members_get_403_on_every_change(demo, client, db):
    [entry] = arrange(db, "203.0.113.0/24")
    client.login("bob@acme.test")

    for response in (add(client, "203.0.113.0/25"),
                     client.get(f"{PAGE}/{entry.public_id}/remove"),
                     client.post_form(f"{PAGE}/{entry.public_id}/remove", token_from=PAGE)):
        assert response.status_code == 403
        assert "Only the organization&#39;s owners can change the IP allowlist" in text(response)
    htmx = client.htmx("POST", PAGE, token_from=PAGE, data={"cidr": "203.0.113.0/25"})
    assert htmx.status_code == 403 and "owners" in htmx.headers["HX-Trigger"]
    assert cidrs(db) == ["203.0.113.0/24"]


def test_changes_need_sudo_mode(demo, client, db):
    [entry] = arrange(db, "203.0.113.0/24")
    client.login("alice@acme.test")  # signing in grants sudo for 15 minutes
    clock.advance(timedelta(minutes=16))

    token_page = text(client.get(PAGE))  # viewing needs no sudo (and keeps the session alive)
    assert "203.0.113.0/24" in token_page
    came_from = {"Referer": f"http://localhost{PAGE}"}  # as the browser sends it with the form
    refused_add = add(client, "198.51.100.0/24", headers=came_from)
    refused_remove = client.post_form(f"{PAGE}/{entry.public_id}/remove", token_from=PAGE, headers=came_from)
    refused_htmx = client.htmx("POST", PAGE, token_from=PAGE, data={"cidr": "198.51.100.0/24"},
                               headers={"HX-Current-URL": f"http://localhost{PAGE}"})

    for response in (refused_add, refused_remove):
        assert response.status_code == 302
        assert response.headers["Location"] == "/sudo?next=/client/security/ip-allowlist"
    assert refused_htmx.status_code == 204
    assert refused_htmx.headers["HX-Redirect"] == "/sudo?next=/client/security/ip-allowlist"
    assert cidrs(db) == ["203.0.113.0/24"]

    confirmed = client.post_form("/sudo", {"password": "demo-password"})
    assert confirmed.status_code == 302
    assert add(client, "198.51.100.0/24").status_code == 302
    assert cidrs(db) == ["203.0.113.0/24", "198.51.100.0/24"]
