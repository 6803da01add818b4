"""The client portal's geo rules page, with a real GeoIP database built for
the test (tests/security/mmdb.py): the detected country, saving, the
refusal to block the country the change comes from, unknown codes and
actions, removing rules, owners only, sudo mode. SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.security import geo_rules
from tests.security.mmdb import FRANCE_V4, GERMANY_V4, GERMANY_V6, JAPAN_V4, build_country_mmdb
from tests.support import PortalClient, enrol_two_factor
from tests.webhooks.fixtures import org_id

PAGE = "/client/security/geo-rules"


@pytest.fixture
def geo_app(make_app, tmp_path):
    """(app, session with the demo data), its GeoIP database the test one."""
    return make_app(GEOIP_DATABASE=str(build_country_mmdb(tmp_path / "countries.mmdb")))


@pytest.fixture
def alice(geo_app) -> PortalClient:
    """The owner of acme, signed in from Germany."""
    app, _ = geo_app
    client = PortalClient(app, remote_addr=GERMANY_V4)
    client.login("alice@acme.test")
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def policy(session) -> geo_rules.GeoPolicy:
    session.expire_all()
    result = geo_rules.policy(session, org_id(session, "acme"))
    session.rollback()
    return result


def arrange(session, default: str = "allow", **rules: str) -> None:
    geo_rules.save(session, org_id(session, "acme"), default, list(rules.items()), current_country=None,
                   actor_label="test")
    session.commit()


def save(client, default: str = "allow", rows=(), remove=(), new=("", "block"), **kwargs):
    """Post the form as the page sends it: the table's rows, ticked removals, the new-rule row."""
    data = {"default": default, "country": [code for code, _ in rows], "action": [action for _, action in rows],
            "remove": list(remove), "new_country": new[0], "new_action": new[1]}
    return client.post_form(PAGE, data, **kwargs)


def error_with_id(body: str, element_id: str) -> str | None:
    match = re.search(rf'<p class="error" id="{element_id}">([^<]*)</p>', body)
    return match.group(1) if match else None


def geo_audit_rows(session) -> list[AuditEvent]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "geo_rules.updated")))
    session.rollback()
    return rows


# --- viewing ----------------------------------------------------------------------------------------------

def test_the_page_shows_the_address_the_detected_country_and_the_rules(geo_app, alice):
    _, session = geo_app
    arrange(session, "verify", FR="block", DE="allow")

    body = text(alice.get(PAGE))

    assert f"Your current address is <code>{GERMANY_V4}</code>" in body
    assert "in <strong>Germany (DE)</strong>" in body and "the current rules <strong>allow</strong> it" in body
    assert re.search(r'id="geo-rule-FR".*?<option value="block" selected>', body, re.S)
    assert re.search(r'id="default".*?<option value="verify" selected>', body, re.S)
    assert '<option value="JP" >Japan (JP)</option>' in body  # the new-rule country select


def test_an_address_the_database_does_not_place_is_said_so(geo_app):
    app, _ = geo_app
    client = PortalClient(app, remote_addr="10.1.2.3")
    client.login("alice@acme.test")

    assert "which the GeoIP database does not place in any country" in text(client.get(PAGE))


def test_members_see_the_rules_read_only(geo_app):
    app, session = geo_app
    arrange(session, FR="block")
    bob = PortalClient(app, remote_addr=GERMANY_V4)
    bob.login("bob@acme.test")

    body = text(bob.get(PAGE))

    assert "France" in body and "Only the organization's owners can change the geo rules" in body
    assert "<fieldset disabled" in body and "Save geo rules" not in body


# --- saving -------------------------------------------------------------------------------------------------

def test_a_block_rule_for_another_country_refuses_clients_from_there(geo_app, alice):
    app, session = geo_app

    response = save(alice, new=("FR", "block"))

    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert policy(session).rules == {"FR": "block"}
    [audit] = geo_audit_rows(session)
    assert (audit.actor_label, audit.ip_address) == ("alice@acme.test", GERMANY_V4)

    from_france = PortalClient(app, remote_addr=FRANCE_V4)
    from_france.login("bob@acme.test")
    refused = from_france.get("/client/")
    assert refused.status_code == 403
    assert "France (FR)" in text(refused) and FRANCE_V4 in text(refused)
    assert alice.get("/client/").status_code == 200  # Germany is still allowed
    from_japan = PortalClient(app, remote_addr=JAPAN_V4)
    from_japan.login("bob@acme.test")
    assert from_japan.get("/client/").status_code == 200


def test_saving_with_htmx_swaps_the_fragment(geo_app, alice):
    _, session = geo_app

    response = alice.htmx("POST", PAGE, token_from=PAGE,
                          data={"default": "verify", "new_country": "DE", "new_action": "allow"})

    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and body.lstrip().startswith('<div id="geo-rules"') and "Geo rules saved." in body
    assert 'id="geo-rule-DE"' in body
    assert policy(session) == geo_rules.GeoPolicy("verify", {"DE": "allow"})


def test_blocking_the_current_country_is_refused_beside_what_would_do_it(geo_app, alice):
    _, session = geo_app

    new_rule = save(alice, new=("DE", "block"))
    assert new_rule.status_code == 400
    message = error_with_id(text(new_rule), "new_country-error")
    assert message is not None and "would block your current location, Germany (DE)" in message

    by_default = save(alice, default="block", rows=[], new=("FR", "allow"))
    assert by_default.status_code == 400
    assert "Germany (DE)" in error_with_id(text(by_default), "default-error")

    arrange(session, DE="allow", FR="verify")
    changed_row = save(alice, rows=[("DE", "block"), ("FR", "verify")])
    assert changed_row.status_code == 400
    body = text(changed_row)
    assert "Germany (DE)" in error_with_id(body, "rule-0-error")
    assert re.search(r'id="geo-rule-DE".*?<option value="block" selected>', body, re.S)  # shown as sent

    assert policy(session) == geo_rules.GeoPolicy("allow", {"DE": "allow", "FR": "verify"})
    assert len(geo_audit_rows(session)) == 1  # the arrangement's only


def test_the_refusal_also_holds_for_ipv6_clients(geo_app):
    app, session = geo_app
    client = PortalClient(app, remote_addr=GERMANY_V6)
    client.login("alice@acme.test")

    response = save(client, new=("DE", "block"))

    assert response.status_code == 400 and "Germany (DE)" in text(response)
    assert policy(session).rules == {}


def test_requiring_verification_where_you_are_needs_two_factor_on_your_account(geo_app, alice):
    app, session = geo_app

    new_rule = save(alice, new=("DE", "verify"))
    by_default = save(alice, default="verify")

    assert new_rule.status_code == 400 and by_default.status_code == 400
    assert "no two-factor authentication" in error_with_id(text(new_rule), "new_country-error")
    assert "Germany (DE)" in error_with_id(text(by_default), "default-error")
    assert policy(session) == geo_rules.GeoPolicy("allow", {})
    assert geo_audit_rows(session) == []

    enrol_two_factor(app, "alice@acme.test")
    assert save(alice, new=("DE", "verify")).status_code == 302
    assert policy(session).rules == {"DE": "verify"}
    step_up = alice.get("/client/")  # the rule bites at once, with a code to answer it
    assert step_up.status_code == 302 and step_up.headers["Location"].startswith("/login/verify")


def test_unknown_country_codes_and_actions_are_refused_naming_them(geo_app, alice):
    _, session = geo_app
    arrange(session, FR="block")

    unknown_new = save(alice, rows=[("FR", "block")], new=("XX", "block"))
    assert unknown_new.status_code == 400
    assert "“XX” is not an ISO 3166-1 country code" in error_with_id(text(unknown_new), "new_country-error")

    tampered_row = save(alice, rows=[("ZZ", "allow"), ("FR", "block")])
    assert tampered_row.status_code == 400
    assert "“ZZ” is not an ISO 3166-1 country code" in error_with_id(text(tampered_row), "rule-0-error")

    unknown_action = save(alice, rows=[("FR", "explode")])
    assert "“explode” is not a geo action" in error_with_id(text(unknown_action), "rule-0-error")

    unknown_default = save(alice, default="maybe", rows=[("FR", "block")])
    assert "“maybe” is not a geo action" in error_with_id(text(unknown_default), "default-error")

    garbled = alice.post_form(PAGE, {"default": "allow", "country": ["FR", "JP"], "action": ["block"]})
    assert garbled.status_code == 400 and "could not be read" in text(garbled)

    assert policy(session) == geo_rules.GeoPolicy("allow", {"FR": "block"})


def test_a_second_rule_for_the_same_country_is_refused(geo_app, alice):
    _, session = geo_app
    arrange(session, FR="block")

    response = save(alice, rows=[("FR", "block")], new=("FR", "allow"))

    assert response.status_code == 400 and "FR has two rules" in error_with_id(text(response), "new_country-error")
    assert policy(session).rules == {"FR": "block"}


def test_removing_a_rule(geo_app, alice):
    _, session = geo_app
    arrange(session, FR="block", JP="verify")

    response = save(alice, rows=[("FR", "block"), ("JP", "verify")], remove=["FR"])

    assert response.status_code == 302
    assert policy(session).rules == {"JP": "verify"}
    assert 'id="geo-rule-FR"' not in text(alice.get(PAGE))


# --- who may change it ----------------------------------------------------------------------------------------

def test_members_get_403(geo_app):
    app, session = geo_app
    bob = PortalClient(app, remote_addr=GERMANY_V4)
    bob.login("bob@acme.test")

    response = save(bob, new=("FR", "block"))

    assert response.status_code == 403 and "Only the organization&#39;s owners can change the geo rules" in text(response)
    assert policy(session).rules == {}


def test_changes_need_sudo_mode(geo_app, alice):
    _, session = geo_app
    clock.advance(timedelta(minutes=16))
    assert alice.get(PAGE).status_code == 200  # viewing needs no sudo

    response = save(alice, new=("FR", "block"), headers={"Referer": f"http://localhost{PAGE}"})

    assert response.status_code == 302 and response.headers["Location"] == f"/sudo?next={PAGE}"
    assert policy(session).rules == {}
    assert alice.post_form("/sudo", {"password": "demo-password"}).status_code == 302
    assert save(alice, new=("FR", "block")).status_code == 302
    assert policy(session).rules == {"FR": "block"}
