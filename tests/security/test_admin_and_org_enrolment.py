"""Where 2FA is required, a user without it reaches nothing but the setup page:
administrators always, and members of an organization whose owner requires it.
Once enrolled they get in, and they cannot turn it off again.
"""
from datetime import timedelta

from app import clock
from app.security import two_factor
from tests.security.helpers import (audit_rows, body, oathtool_code, org, recovery_codes_on, setup_secret,
                                    user)

ADMIN = "admin@matrix.test"


def _enrol_on_the_page(client, setup_path: str) -> str:
    page = client.get(setup_path)
    assert page.status_code == 200
    secret = setup_secret(body(page))
    done = client.post_form(setup_path, {"code": oathtool_code(secret)})
    assert done.status_code == 200
    assert len(recovery_codes_on(body(done))) == 10
    return secret


def _is_enabled(app, demo, email) -> bool:
    with app.app_context():
        return two_factor.is_enabled(demo, user(demo, email).id)


def test_an_admin_without_two_factor_is_sent_to_the_setup_page(app, demo, client, frozen):
    assert client.login(ADMIN).headers["Location"] == "/admin/"
    for path in ("/admin/", "/admin/organizations", "/admin/webhooks", "/admin/security"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/admin/security/two-factor", path
    page = client.get("/admin/security/two-factor")
    assert page.status_code == 200
    assert "Administrators must turn on two-factor authentication" in body(page)


def test_an_admin_enrols_on_the_setup_page_and_then_gets_in(app, demo, client, frozen):
    client.login(ADMIN)
    _enrol_on_the_page(client, "/admin/security/two-factor")
    assert _is_enabled(app, demo, ADMIN)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/organizations").status_code == 200
    assert [e.actor_label for e in audit_rows(demo, "two_factor.enabled")] == [ADMIN]


def test_a_wrong_code_on_the_admin_setup_page_keeps_the_portal_closed(app, demo, client, frozen):
    client.login(ADMIN)
    secret = setup_secret(body(client.get("/admin/security/two-factor")))
    code = oathtool_code(secret)
    refused = client.post_form("/admin/security/two-factor", {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert refused.status_code == 400
    assert not _is_enabled(app, demo, ADMIN)
    assert client.get("/admin/").headers["Location"] == "/admin/security/two-factor"


def test_an_admin_cannot_turn_two_factor_off(app, demo, client, frozen):
    client.login(ADMIN)
    secret = _enrol_on_the_page(client, "/admin/security/two-factor")
    clock.advance(timedelta(seconds=30))
    response = client.post_form("/admin/security/two-factor/disable", {"code": oathtool_code(secret)},
                                token_from="/admin/security", follow_redirects=True)
    assert "required for administrators" in body(response)
    assert _is_enabled(app, demo, ADMIN)
    assert audit_rows(demo, "two_factor.disabled") == []


def test_an_organization_requiring_two_factor_sends_members_to_setup(app, demo, client, make_client, frozen):
    acme = org(demo, "acme")
    acme.require_two_factor = True
    demo.commit()

    client.login("bob@acme.test")
    for path in ("/client/", "/client/webhooks", "/client/security"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/client/security/two-factor", path
    page = client.get("/client/security/two-factor")
    assert "Your organization requires two-factor authentication" in body(page)

    _enrol_on_the_page(client, "/client/security/two-factor")
    assert client.get("/client/").status_code == 200

    # Another organization is not affected.
    gina = make_client(remote_addr="198.51.100.40")
    gina.login("gina@globex.test")
    assert gina.get("/client/").status_code == 200


def test_htmx_requests_of_a_member_who_must_enrol_leave_the_page_for_setup(app, demo, client, frozen):
    """As for sudo: htmx would follow a 302 inside its XHR and swap the whole
    setup page into a fragment, so the gate must answer with HX-Redirect."""
    acme = org(demo, "acme")
    acme.require_two_factor = True
    demo.commit()
    client.login("bob@acme.test")
    response = client.http.get("/client/webhooks", headers={
        "HX-Request": "true", "HX-Current-URL": "http://localhost/client/"})
    assert not 300 <= response.status_code < 400, response.headers.get("Location")
    assert response.headers["HX-Redirect"] == "/client/security/two-factor"


def test_a_member_cannot_turn_off_two_factor_the_organization_requires(app, demo, client, frozen):
    acme = org(demo, "acme")
    acme.require_two_factor = True
    demo.commit()
    client.login("bob@acme.test")
    secret = _enrol_on_the_page(client, "/client/security/two-factor")
    clock.advance(timedelta(seconds=30))
    response = client.post_form("/client/security/two-factor/disable", {"code": oathtool_code(secret)},
                                token_from="/client/security", follow_redirects=True)
    assert "required for members of your organization" in body(response)
    assert _is_enabled(app, demo, "bob@acme.test")


def test_without_the_requirement_a_member_may_turn_two_factor_off(app, demo, client, frozen):
    """The control case: the refusals above come from the requirement, not from disable being broken."""
    client.login("bob@acme.test")
    secret = _enrol_on_the_page(client, "/client/security/two-factor")
    clock.advance(timedelta(seconds=30))
    client.post_form("/client/security/two-factor/disable", {"code": oathtool_code(secret)},
                     token_from="/client/security")
    assert not _is_enabled(app, demo, "bob@acme.test")
    assert [e.actor_label for e in audit_rows(demo, "two_factor.disabled")] == ["bob@acme.test"]
