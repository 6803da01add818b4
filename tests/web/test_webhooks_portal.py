"""The webhooks pages of the client and partner portals: endpoints (create,
edit inline, enable/disable, delete), secrets, the auto-disabled banner, the
event types page, tenancy and CSRF. Each test runs for both portals (and on
SQLite and PostgreSQL)."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from app import clock, crypto
from app.audit.models import AuditEvent
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.web.webhooks_portal_support import (audit_actions, create, emit_many, endpoints_of, htmx_get,
                                               portal, text, user_id)

__all__ = ["portal"]  # the fixture, shared with test_webhooks_portal_log.py


# --- create ---------------------------------------------------------------------------------------

def test_create_shows_the_secret_once_and_audits(portal, client, db, receiver):
    response = create(client, portal, url=receiver.url, description="Billing sync", subscribe="chosen",
                      event_types=["invoice.paid", "payment.failed"])

    assert response.status_code == 201
    body = text(response)
    assert "<html" not in body and 'id="webhooks"' in body
    assert response.headers["HX-Retarget"] == "#webhooks"
    [endpoint] = endpoints_of(db, portal.slug)
    assert (endpoint.url, endpoint.description, endpoint.enabled) == (receiver.url, "Billing sync", True)
    assert endpoint.event_types == ["invoice.paid", "payment.failed"]
    secret = crypto.decrypt(endpoint.secret_ciphertext)
    assert secret.startswith("whsec_") and secret in body and "shown here this once" in body

    for later in (portal.home, portal.endpoint_page(endpoint)):
        page = text(client.get(later))
        assert receiver.url in page and secret not in page

    [created] = [a for a in audit_actions(db, endpoint.public_id) if a.action == "webhook_endpoint.created"]
    assert (created.actor_label, created.actor_user_id) == (portal.email, user_id(db, portal.email))


def test_create_without_javascript_renders_the_page_with_the_secret(portal, client, db):
    response = client.post_form(portal.home, {"url": "https://hooks.example.com/a", "subscribe": "all"},
                                token_from=portal.home)

    assert response.status_code == 201
    [endpoint] = endpoints_of(db, portal.slug)
    assert "<html" in text(response) and crypto.decrypt(endpoint.secret_ciphertext) in text(response)
    assert endpoint.event_types is None
    assert endpoint.enabled is False  # the "Enabled" box was not ticked
    assert endpoint.disabled_reason == "manual"


def test_new_form_is_a_fragment_for_htmx_and_a_page_without(portal, client):
    fragment = htmx_get(client, f"{portal.home}/new")
    assert fragment.status_code == 200 and "<html" not in text(fragment)
    assert 'id="new-endpoint"' in text(fragment) and 'name="event_types"' in text(fragment)
    assert "<html" in text(client.get(f"{portal.home}/new"))


BAD_INPUT = [  # (form fields, the field the error is beside, the message)
    ({"url": ""}, "url", "Enter the URL"),
    ({"url": "not a url"}, "url", "must start with https://"),
    ({"url": "http://hooks.example.com/x"}, "url", "must use https://"),
    ({"url": "https://10.1.2.3/hooks"}, "url", "is not a public address"),
    ({"url": "https://169.254.169.254/latest"}, "url", "is not a public address"),
    ({"subscribe": "chosen", "event_types": ["invoice.paid", "invoice.exploded"]}, "event_types",
     "Unknown event type &#39;invoice.exploded&#39;"),
    ({"subscribe": "chosen"}, "event_types", "Choose at least one event type"),
    ({"description": "x" * 501}, "description", "under 500 characters"),
]


def test_create_refuses_bad_input_beside_the_field(portal, client, db):
    for fields, field, message in BAD_INPUT:
        response = create(client, portal, **fields)

        assert response.status_code == 400, fields
        body = text(response)
        error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', body)
        assert error is not None and message in error.group(1), (fields, body)
        assert 'aria-invalid="true"' in body
    assert endpoints_of(db, portal.slug) == []
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action.like("webhook_endpoint.%"))) == 0


def test_the_21st_endpoint_is_refused(portal, client, db, make_endpoint):
    for n in range(20):
        make_endpoint(f"https://hooks.example.com/{n}", slug=portal.slug)

    response = create(client, portal, url="https://hooks.example.com/21st")

    assert response.status_code == 400
    assert re.search(r'id="url-error">[^<]*at most 20 endpoints', text(response))
    assert len(endpoints_of(db, portal.slug)) == 20
    assert "Add endpoint" not in text(client.get(portal.home))


# --- edit, enable/disable, delete -------------------------------------------------------------------

def test_edit_inline_swaps_the_row(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/old", slug=portal.slug)
    path = portal.endpoint_page(endpoint)

    editing = htmx_get(client, f"{path}/edit")
    assert editing.status_code == 200 and "<html" not in text(editing)
    assert f'id="endpoint-{endpoint.public_id}"' in text(editing) and 'value="https://hooks.example.com/old"' in text(editing)

    saved = client.htmx("POST", path, token_from=portal.home,
                        data={"url": "https://hooks.example.com/new", "description": "renamed",
                              "subscribe": "chosen", "event_types": ["dispute.created"]})
    assert saved.status_code == 200
    row = text(saved)
    assert row.lstrip().startswith(f'<tr id="endpoint-{endpoint.public_id}"') and "<html" not in row
    assert "https://hooks.example.com/new" in row and "dispute.created" in row and 'name="url"' not in row
    [endpoint] = endpoints_of(db, portal.slug)
    assert (endpoint.url, endpoint.description, endpoint.event_types) == \
        ("https://hooks.example.com/new", "renamed", ["dispute.created"])

    cancelled = htmx_get(client, f"{path}/row")
    assert cancelled.status_code == 200 and 'name="url"' not in text(cancelled)


def test_edit_with_a_bad_url_keeps_the_edit_row_and_changes_nothing(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/keep", slug=portal.slug)

    response = client.htmx("POST", portal.endpoint_page(endpoint), token_from=portal.home,
                           data={"url": "ftp://hooks.example.com", "subscribe": "all"})

    assert response.status_code == 400
    assert re.search(rf'id="url-{endpoint.public_id}-error">The URL must start with https://', text(response))
    assert 'value="ftp://hooks.example.com"' in text(response)  # what was typed stays, to correct it
    [endpoint] = endpoints_of(db, portal.slug)
    assert endpoint.url == "https://hooks.example.com/keep"


def test_edit_without_javascript_redirects_with_a_message(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/plain", slug=portal.slug)
    assert "<html" in text(client.get(f"{portal.endpoint_page(endpoint)}/edit"))

    response = client.post_form(portal.endpoint_page(endpoint), {"url": "https://hooks.example.com/plain2",
                                                                 "subscribe": "all"}, token_from=portal.home)

    assert response.status_code == 302 and response.headers["Location"].endswith(portal.home)
    assert "Endpoint https://hooks.example.com/plain2 saved." in text(client.get(portal.home))


def test_disable_and_enable(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/t", slug=portal.slug)
    toggle = f"{portal.endpoint_page(endpoint)}/enabled"

    disabled = client.htmx("POST", toggle, token_from=portal.home, data={"enabled": "0"})
    assert disabled.status_code == 200 and 'id="webhooks"' in text(disabled)
    assert ">Enable</button>" in text(disabled) and "badge-disabled" in text(disabled)
    [endpoint] = endpoints_of(db, portal.slug)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "manual")

    enabled = client.post_form(toggle, {"enabled": "1", "back": "endpoint"}, token_from=portal.home)
    assert enabled.status_code == 302 and enabled.headers["Location"].endswith(portal.endpoint_page(endpoint))
    [endpoint] = endpoints_of(db, portal.slug)
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, None)
    assert [a.action for a in audit_actions(db, endpoint.public_id)].count("webhook_endpoint.updated") == 2

    assert client.htmx("POST", toggle, token_from=portal.home, data={"enabled": "maybe"}).status_code == 400


def test_delete_asks_first_then_deletes(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/bye", slug=portal.slug)
    public_id = endpoint.public_id
    delete_path = f"{portal.endpoint_page(endpoint)}/delete"
    listing = text(client.get(portal.home))
    assert f'hx-post="{delete_path}"' in listing and "hx-confirm=" in listing

    confirm = client.get(delete_path)  # without JavaScript: a page that asks
    assert confirm.status_code == 200 and f'action="{delete_path}"' in text(confirm)
    assert len(endpoints_of(db, portal.slug)) == 1

    deleted = client.htmx("POST", delete_path, token_from=portal.home)
    assert deleted.status_code == 200 and "No webhook endpoints yet" in text(deleted)
    assert endpoints_of(db, portal.slug) == []
    assert "webhook_endpoint.deleted" in [a.action for a in audit_actions(db, public_id)]


# --- secrets ---------------------------------------------------------------------------------------

def test_reveal_and_rotate_the_secret_are_audited(portal, client, db, make_endpoint):
    clock.freeze(clock.utcnow().replace(microsecond=0))
    endpoint, first_secret = make_endpoint("https://hooks.example.com/s", slug=portal.slug)
    page = text(client.get(portal.endpoint_page(endpoint)))
    assert first_secret not in page and "Reveal secret" in page

    revealed = client.htmx("POST", f"{portal.endpoint_page(endpoint)}/secret/reveal", token_from=portal.home)
    assert revealed.status_code == 200 and "<html" not in text(revealed)
    assert first_secret in text(revealed) and 'id="secret"' in text(revealed)

    assert "Rotate the signing secret?" in text(client.get(f"{portal.endpoint_page(endpoint)}/secret/rotate"))
    rotated = client.htmx("POST", f"{portal.endpoint_page(endpoint)}/secret/rotate", token_from=portal.home)
    assert rotated.status_code == 200
    [endpoint] = endpoints_of(db, portal.slug)
    new_secret = crypto.decrypt(endpoint.secret_ciphertext)
    assert new_secret != first_secret and new_secret in text(rotated) and first_secret not in text(rotated)
    until = clock.utcnow() + timedelta(hours=24)
    assert endpoint.previous_secret_expires_at == until
    assert re.search(rf"keeps signing .* until\s+<strong>{until:%Y-%m-%d %H:%M} UTC</strong>", text(rotated))
    assert new_secret not in text(client.get(portal.endpoint_page(endpoint)))

    audit = {a.action: a for a in audit_actions(db, endpoint.public_id)}
    for action in ("webhook_endpoint.secret_revealed", "webhook_endpoint.secret_rotated"):
        assert (audit[action].actor_label, audit[action].actor_user_id) == (portal.email, user_id(db, portal.email))


def test_reveal_without_javascript_shows_the_page_with_the_secret(portal, client, db, make_endpoint):
    endpoint, secret = make_endpoint("https://hooks.example.com/s2", slug=portal.slug)
    response = client.post_form(f"{portal.endpoint_page(endpoint)}/secret/reveal",
                                token_from=portal.endpoint_page(endpoint))
    assert response.status_code == 200 and "<html" in text(response) and secret in text(response)


# --- banners ---------------------------------------------------------------------------------------

def test_automatically_disabled_endpoint_shows_a_banner_with_enable(portal, client, db, make_endpoint):
    for reason, why in (("gone", "410 Gone"), ("failing", "failed for 5 days")):
        endpoint, _ = make_endpoint(f"https://hooks.example.com/{reason}", slug=portal.slug)
        db.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                   .values(enabled=False, disabled_reason=reason, disabled_at=clock.utcnow()))
        db.commit()

        for path in (portal.home, portal.endpoint_page(endpoint)):
            page = text(client.get(path))
            assert 'data-testid="auto-disabled"' in page and why in page and "disabled automatically" in page
            assert ">Enable</button>" in page

        response = client.post_form(f"{portal.endpoint_page(endpoint)}/enabled",
                                    {"enabled": "1", "back": "endpoint"}, token_from=portal.home)
        assert response.status_code == 302
        page = text(client.get(portal.endpoint_page(endpoint)))
        assert 'data-testid="auto-disabled"' not in page and "enabled: deliveries resume now" in page
        assert db.get(WebhookEndpoint, endpoint.id, populate_existing=True).enabled


def test_a_manually_disabled_endpoint_has_no_banner(portal, client, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/manual", slug=portal.slug)
    client.htmx("POST", f"{portal.endpoint_page(endpoint)}/enabled", token_from=portal.home, data={"enabled": "0"})
    assert 'data-testid="auto-disabled"' not in text(client.get(portal.home))


# --- pages, tenancy, CSRF ----------------------------------------------------------------------------

def test_empty_state_and_nav(portal, client):
    page = text(client.get(portal.home))
    assert "No webhook endpoints yet" in page and "Add endpoint" in page and "signed" in page
    assert f'href="/{portal.name}/webhooks" aria-current="page">Webhooks' in page
    assert f'href="/{portal.name}/event-types">Event types' in page


def test_event_types_page_documents_every_type(portal, client):
    page = client.get(f"/{portal.name}/event-types")
    body = html.unescape(text(page))
    assert page.status_code == 200 and body.count('data-testid="event-type"') == len(EVENT_TYPES)
    for event_type in EVENT_TYPES.values():
        assert f'id="{event_type.name}"' in body and event_type.description in body
    # The schema as a readable table, the raw JSON Schema, and the example, indented.
    assert "<code>current_period_end</code></td><td>string (date-time)</td><td>yes</td>" in body
    assert 'one of "full", "partial", "prorated"' in body and '"additionalProperties": false' in body
    assert '  "number": "MTX-2026-000042",' in body


def test_customer_cannot_reach_another_organizations_endpoint_or_message(demo, client, make_client, db,
                                                                         make_endpoint):
    theirs, _ = make_endpoint("https://hooks.globex.example/x", slug="globex")
    ours, _ = make_endpoint("https://hooks.acme.example/x", slug="acme")
    [their_message] = emit_many(db, theirs, 1)
    client.login("alice@acme.test")

    assert "hooks.globex.example" not in text(client.get("/client/webhooks"))
    base = f"/client/webhooks/{theirs.public_id}"
    for path in (base, f"{base}/edit", f"{base}/messages/{their_message.public_id}",
                 f"/client/webhooks/{ours.public_id}/messages/{their_message.public_id}"):
        assert client.get(path).status_code == 404, path
    for path in (f"{base}/enabled", f"{base}/delete", f"{base}/secret/reveal", f"{base}/secret/rotate",
                 f"{base}/test", f"/client/webhooks/{ours.public_id}/messages/{their_message.public_id}/resend"):
        assert client.htmx("POST", path, token_from="/client/webhooks", data={"enabled": "0"}).status_code == 404
    db.expire_all()
    theirs = db.get(WebhookEndpoint, theirs.id)
    assert theirs.enabled and theirs.previous_secret_ciphertext is None
    assert audit_actions(db, theirs.public_id)[-1].action == "webhook_endpoint.created"
    assert db.get(WebhookMessage, their_message.id).status == "failed"


def test_partner_sees_only_its_own_endpoints(demo, client, make_endpoint):
    customer_endpoint, _ = make_endpoint("https://hooks.acme.example/p", slug="acme")
    partner_endpoint, _ = make_endpoint("https://hooks.northwind.example/p", slug="northwind")
    client.login("pat@northwind.test")

    page = text(client.get("/partner/webhooks"))
    assert "hooks.northwind.example" in page and "hooks.acme.example" not in page
    assert client.get(f"/partner/webhooks/{partner_endpoint.public_id}").status_code == 200
    assert client.get(f"/partner/webhooks/{customer_endpoint.public_id}").status_code == 404
    assert client.get("/client/webhooks").status_code == 403


def test_state_changes_need_the_csrf_token(portal, client, db, make_endpoint):
    endpoint, _ = make_endpoint("https://hooks.example.com/csrf", slug=portal.slug)
    base = portal.endpoint_page(endpoint)

    refused = [
        client.http.post(portal.home, data={"url": "https://hooks.example.com/new", "subscribe": "all"}),
        client.http.post(f"{base}/secret/reveal", headers={"HX-Request": "true"}),
        client.http.post(f"{base}/secret/rotate", data={"csrf_token": "forged"}),
        client.http.post(f"{base}/enabled", data={"enabled": "0"}),
        client.http.post(f"{base}/delete"),
        client.http.post(f"{base}/test", data={"event_type": "invoice.paid"}),
    ]

    assert [r.status_code for r in refused] == [400] * len(refused)
    [endpoint] = endpoints_of(db, portal.slug)
    assert endpoint.enabled and endpoint.previous_secret_ciphertext is None
    assert [a.action for a in audit_actions(db, endpoint.public_id)] == ["webhook_endpoint.created"]
    assert db.scalar(select(func.count()).select_from(WebhookMessage)) == 0
