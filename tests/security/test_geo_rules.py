"""Geo rules: allow, block or ask for 2FA per country, with a default for the
rest; countries come from a real MaxMind-format database (a small test
.mmdb, or the data bundled with the app).

Test database (tests/security/mmdb.py): 198.51.100.0/24 and 2001:db8:de::/48
are Germany, 203.0.113.0/24 France (the default test client, 203.0.113.10),
192.0.2.0/24 Japan.
"""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app import clock
from app.errors import DomainError
from app.security import countries, geo_rules
from app.security.geoip import open_lookup
from tests.security.helpers import STEP_SECONDS, audit_rows, body, enrol, oathtool_code, org
from tests.security.mmdb import FRANCE_V4, GERMANY_V4, GERMANY_V6, JAPAN_V4
from tests.support import PortalClient

ALICE = "alice@acme.test"
HOME = "203.0.113.10"  # France


@pytest.fixture
def geo_app(make_app, country_mmdb):
    """(app, session with the demo data) reading countries from the test database."""
    return make_app(GEOIP_DATABASE=country_mmdb)


def _save(session, default, rules, current_country="FR"):
    saved = geo_rules.save(session, org(session, "acme").id, default, rules, current_country=current_country,
                           actor_label=ALICE)
    session.commit()
    return saved


def _signed_in(app, address, email=ALICE) -> PortalClient:
    client = PortalClient(app, remote_addr=address)
    assert client.login(email).status_code == 302
    return client


def _move(client: PortalClient, address: str) -> None:
    """The same browser (same session cookie), now on another network."""
    client.http.environ_base["REMOTE_ADDR"] = address


# --- the lookup ------------------------------------------------------------------------

def test_the_test_database_places_addresses(country_mmdb):
    lookup = open_lookup(country_mmdb)
    assert [lookup.country(ip) for ip in (GERMANY_V4, GERMANY_V6, FRANCE_V4, JAPAN_V4)] == ["DE", "DE", "FR", "JP"]
    assert lookup.country("::ffff:198.51.100.7") == "DE"
    assert lookup.country("100.64.0.1") is None
    assert lookup.country("garbage") is None


def test_the_bundled_database_places_real_addresses():
    lookup = open_lookup("")
    assert lookup.country("81.2.69.142") == "GB"
    assert lookup.country("2a02:8108::1") == "DE"
    assert lookup.country("10.1.2.3") is None  # private: the default rule applies


# --- blocking ---------------------------------------------------------------------------

def test_a_block_rule_refuses_that_country_naming_it_and_the_address(geo_app):
    app, session = geo_app
    _save(session, "allow", [("DE", "block")])
    refused = _signed_in(app, GERMANY_V4).get("/client/")
    assert refused.status_code == 403
    assert "does not allow access from Germany (DE). Your address is 198.51.100.7." in body(refused)
    assert _signed_in(app, GERMANY_V6).get("/client/").status_code == 403
    assert _signed_in(app, HOME).get("/client/").status_code == 200
    assert _signed_in(app, JAPAN_V4).get("/client/").status_code == 200
    rows = audit_rows(session, "access.geo_blocked")
    assert [(r.ip_address, r.details) for r in rows] == [
        (GERMANY_V4, {"channel": "portal", "country": "DE"}),
        (GERMANY_V6, {"channel": "portal", "country": "DE"}),
    ]


def test_default_block_with_an_allowed_country(geo_app):
    app, session = geo_app
    _save(session, "block", [("fr", "allow")])
    assert _signed_in(app, HOME).get("/client/").status_code == 200
    japan = _signed_in(app, JAPAN_V4).get("/client/")
    assert japan.status_code == 403 and "Japan (JP)" in body(japan)
    unplaced = _signed_in(app, "100.64.0.1").get("/client/")  # no country: the default applies
    assert unplaced.status_code == 403
    assert "does not allow access from your location. Your address is 100.64.0.1." in body(unplaced)
    # Another organization's rules are its own.
    assert _signed_in(app, JAPAN_V4, "gina@globex.test").get("/client/").status_code == 200


def test_a_blocked_country_is_refused_to_api_keys_too(geo_app):
    from app.security import api_keys

    app, session = geo_app
    with app.app_context():
        secret = api_keys.create(session, org(session, "acme").id, "ci", ["read"], actor_label=ALICE).secret
    session.commit()
    _save(session, "allow", [("DE", "block"), ("JP", "verify")])
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for address, country in ((GERMANY_V4, "Germany (DE)"), (JAPAN_V4, "Japan (JP)")):
        refused = api.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": address})
        assert refused.status_code == 403
        assert country in refused.get_json()["error"]["message"]
    assert api.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": HOME}).status_code == 200


# --- require verification ---------------------------------------------------------------

def test_verify_asks_an_existing_session_for_a_code_once_per_address(geo_app, frozen):
    app, session = geo_app
    secret, _ = enrol(app, ALICE)
    _save(session, "allow", [("DE", "verify")])
    browser = PortalClient(app, remote_addr=HOME)
    browser.login(ALICE)
    clock.advance(timedelta(seconds=STEP_SECONDS))
    assert browser.post_form("/login/two-factor", {"code": oathtool_code(secret)}).status_code == 302
    assert browser.get("/client/").status_code == 200

    _move(browser, GERMANY_V4)
    asked = browser.get("/client/webhooks")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/login/verify?next=/client/webhooks"
    assert "Verify it" in body(browser.get("/login/verify"))
    wrong = browser.post_form("/login/verify?next=/client/webhooks", {"code": "000000"}, token_from="/login/verify")
    assert wrong.status_code == 401
    assert browser.get("/client/").status_code == 302

    clock.advance(timedelta(seconds=STEP_SECONDS))
    passed = browser.post_form("/login/verify?next=/client/webhooks", {"code": oathtool_code(secret)},
                               token_from="/login/verify")
    assert passed.status_code == 302 and passed.headers["Location"] == "/client/webhooks"
    assert browser.get("/client/").status_code == 200
    assert browser.get("/client/webhooks").status_code == 200  # not asked again from here

    _move(browser, "198.51.100.8")  # still Germany, another address: asked again
    assert browser.get("/client/").headers["Location"].startswith("/login/verify")


def test_an_htmx_request_needing_verification_sends_the_whole_page_there(geo_app, frozen):
    """A 302 would be followed inside htmx's XHR and the verify page swapped into a
    fragment; the browser must leave the page instead (HX-Redirect), as for sudo."""
    app, session = geo_app
    secret, _ = enrol(app, ALICE)
    _save(session, "allow", [("DE", "verify")])
    browser = PortalClient(app, remote_addr=HOME)
    browser.login(ALICE)
    clock.advance(timedelta(seconds=STEP_SECONDS))
    browser.post_form("/login/two-factor", {"code": oathtool_code(secret)})
    _move(browser, GERMANY_V4)
    response = browser.http.get("/client/webhooks", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/client/webhooks"})
    assert not 300 <= response.status_code < 400, response.headers.get("Location")
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login/verify" and parse_qs(target.query)["next"] == ["/client/webhooks"]


def test_verify_without_two_factor_explains_why_access_is_refused(geo_app):
    app, session = geo_app
    _save(session, "allow", [("DE", "verify")])
    bob = _signed_in(app, GERMANY_V4, "bob@acme.test")
    assert bob.get("/client/").headers["Location"].startswith("/login/verify")
    page = bob.get("/login/verify")
    assert page.status_code == 403
    assert "requires two-factor verification for sign-ins from your location" in body(page)
    assert 'name="code"' not in body(page)  # no code form: there is nothing to enter
    assert bob.get("/client/").status_code == 302


# --- saving rules -----------------------------------------------------------------------

@pytest.mark.parametrize("code", ["XX", "Germany", "D", "DEU", "", "EU"])
def test_unknown_country_codes_are_refused_naming_them(code):
    with pytest.raises(DomainError, match="is not an ISO 3166-1 country code") as refused:
        countries.read_country(code, field="rules.1.country")
    assert f"“{code}”" in refused.value.message and refused.value.field == "rules.1.country"


def test_an_unknown_country_code_saves_nothing(demo):
    _save(demo, "allow", [("JP", "block")])
    with pytest.raises(DomainError) as refused:
        geo_rules.save(demo, org(demo, "acme").id, "allow", [("DE", "verify"), ("XX", "block")],
                       current_country="FR", actor_label=ALICE)
    assert "“XX” is not an ISO 3166-1 country code" in refused.value.message
    assert refused.value.field == "rules.1.country"
    demo.commit()
    assert geo_rules.policy(demo, org(demo, "acme").id) == geo_rules.GeoPolicy("allow", {"JP": "block"})
    assert len(audit_rows(demo, "geo_rules.updated")) == 1


def test_unknown_actions_and_repeated_countries_are_refused(demo):
    acme = org(demo, "acme").id
    with pytest.raises(DomainError, match="not a geo action") as refused:
        geo_rules.save(demo, acme, "deny", [], current_country="FR", actor_label=ALICE)
    assert refused.value.field == "default"
    with pytest.raises(DomainError, match="not a geo action"):
        geo_rules.save(demo, acme, "allow", [("DE", "maybe")], current_country="FR", actor_label=ALICE)
    with pytest.raises(DomainError, match="DE has two rules"):
        geo_rules.save(demo, acme, "allow", [("DE", "block"), ("de", "verify")], current_country="FR",
                       actor_label=ALICE)


@pytest.mark.parametrize("default,rules,current,field", [
    ("allow", [("FR", "block")], "FR", "rules"),
    ("block", [("DE", "allow")], "FR", "default"),
    ("block", [("DE", "allow")], None, "default"),
])
def test_rules_that_block_the_current_location_are_refused(demo, default, rules, current, field):
    with pytest.raises(DomainError, match="would block your current location") as refused:
        geo_rules.save(demo, org(demo, "acme").id, default, rules, current_country=current, actor_label=ALICE)
    assert refused.value.field == field
    assert ("France (FR)" if current else "an unlisted location") in refused.value.message
    demo.commit()
    assert geo_rules.policy(demo, org(demo, "acme").id) == geo_rules.GeoPolicy("allow", {})
    assert audit_rows(demo, "geo_rules.updated") == []


def test_saving_is_audited_with_the_rules(demo):
    _save(demo, "verify", [("fr", "allow"), ("JP", "block")])
    assert [r.details for r in audit_rows(demo, "geo_rules.updated")] == [
        {"default": "verify", "rules": {"FR": "allow", "JP": "block"}}]
