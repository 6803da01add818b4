"""The client portal's API keys page: create (secret shown once), use it on
the API, last use shown, revoke with confirmation (the API then answers 401),
the audit rows and webhook events (never the secret), bad input, owners
only, sudo mode, tenancy. SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.security import api_keys
from app.security.models import ApiKey
from app.webhooks.models import WebhookEvent
from tests.webhooks.fixtures import org_id

PAGE = "/client/security/api-keys"
ALICE_IP = "203.0.113.10"  # PortalClient's default socket address
SECRET = re.compile(r"mtx_sk_[A-Za-z0-9]{40}")


def text(response) -> str:
    return response.get_data(as_text=True)


def keys(db, slug: str = "acme") -> list[ApiKey]:
    db.expire_all()
    rows = list(db.scalars(select(ApiKey).where(ApiKey.org_id == org_id(db, slug)).order_by(ApiKey.id)))
    db.rollback()
    return rows


def create(client, name: str = "billing sync", scopes=("read",), **kwargs):
    return client.post_form(PAGE, {"name": name, "scopes": list(scopes)}, **kwargs)


def secret_of(response) -> str:
    [secret] = set(SECRET.findall(text(response)))
    return secret


def call_me(app, secret: str, remote_addr: str = ALICE_IP):
    http = app.test_client()
    return http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                    environ_base={"REMOTE_ADDR": remote_addr})


def field_error(body: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', body)
    return match.group(1) if match else None


# --- create ----------------------------------------------------------------------------------------------

def test_creating_shows_the_secret_once(demo, client, db):
    client.login("alice@acme.test")

    response = create(client, "billing sync", ["read", "webhooks"])

    assert response.status_code == 201
    body = text(response)
    secret = secret_of(response)
    assert f'data-copy="{secret}"' in body  # the copy button
    assert "This is the only time the secret is shown." in body
    [key] = keys(db)
    assert (key.name, key.scopes, key.display_prefix) == ("billing sync", "read webhooks", secret[:11])
    assert secret not in (key.secret_hash, key.display_prefix)

    later = text(client.get(PAGE))
    assert secret not in later and SECRET.search(later) is None
    assert "billing sync" in later and f"<code>{secret[:11]}…</code>" in later
    assert 'data-testid="status">active' in later and "Never" in later


def test_creating_with_htmx_swaps_the_list_fragment(demo, client, db):
    client.login("alice@acme.test")

    response = client.htmx("POST", PAGE, token_from=PAGE, data={"name": "ci", "scopes": ["write"]})

    assert response.status_code == 201
    body = text(response)
    assert "<html" not in body and body.lstrip().startswith('<div id="api-keys"')
    assert secret_of(response).startswith("mtx_sk_") and 'id="key-' in body
    assert [key.scopes for key in keys(db)] == ["write"]


BAD_INPUT = [  # (form fields, the field the message is beside, the message)
    ({"name": "", "scopes": ["read"]}, "name", "Give the key a name"),
    ({"name": "x" * 101, "scopes": ["read"]}, "name", "1 to 100 characters"),
    ({"name": "ci", "scopes": []}, "scopes", "Choose at least one scope."),
    ({"name": "ci", "scopes": ["read", "admin"]}, "scopes", "Unknown scope &#39;admin&#39;"),
]


def test_bad_input_is_refused_beside_the_field_and_nothing_is_written(demo, client, db):
    client.login("alice@acme.test")
    for fields, field, message in BAD_INPUT:
        response = client.post_form(PAGE, fields)

        assert response.status_code == 400, fields
        error = field_error(text(response), field)
        assert error is not None and message in error, (fields, text(response))
        assert SECRET.search(text(response)) is None
    assert keys(db) == []
    db.expire_all()
    assert db.scalars(select(AuditEvent).where(AuditEvent.action.like("api_key.%"))).all() == []


# --- use and revoke ---------------------------------------------------------------------------------------------

def test_the_key_works_on_the_api_until_it_is_revoked(app, demo, client, db):
    client.login("alice@acme.test")
    secret = secret_of(create(client, "deploy bot", ["read"]))
    [key] = keys(db)

    me = call_me(app, secret, remote_addr="198.51.100.23")
    assert me.status_code == 200 and me.get_json()["api_key"]["id"] == key.public_id
    listing = text(client.get(PAGE))
    assert "<code>198.51.100.23</code>" in listing  # last used from

    confirm_url = f"{PAGE}/{key.public_id}/revoke"
    assert f'hx-post="{confirm_url}"' in listing and 'hx-confirm="Revoke the key “deploy bot”' in listing
    confirm = client.get(confirm_url)
    assert confirm.status_code == 200
    assert "Revoke the key “deploy bot”?" in text(confirm) and f'action="{confirm_url}"' in text(confirm)
    assert "198.51.100.23" in text(confirm)
    assert call_me(app, secret).status_code == 200  # the confirmation page revokes nothing

    revoked = client.post_form(confirm_url, token_from=PAGE)
    assert revoked.status_code == 302 and revoked.headers["Location"] == PAGE

    refused = call_me(app, secret)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["type"] == "authentication_error"
    after = text(client.get(PAGE))
    assert "deploy bot" in after and 'data-testid="status">revoked' in after  # still listed, as revoked
    assert f'href="{confirm_url}"' not in after  # nothing left to revoke
    assert keys(db)[0].revoked_at is not None


def test_revoking_with_htmx_swaps_the_list(demo, client, db):
    client.login("alice@acme.test")
    create(client, "one")
    [key] = keys(db)

    response = client.htmx("POST", f"{PAGE}/{key.public_id}/revoke", token_from=PAGE)

    assert response.status_code == 200 and "<html" not in text(response)
    assert 'data-testid="status">revoked' in text(response)


def test_a_key_gets_only_the_scopes_ticked(app, demo, client):
    client.login("alice@acme.test")
    secret = secret_of(create(client, "hooks only", ["webhooks"]))

    response = call_me(app, secret)  # /me needs "read"

    assert response.status_code == 403


def test_audit_rows_and_events_name_the_actor_and_address_never_the_secret(demo, client, db):
    client.login("alice@acme.test")
    secret = secret_of(create(client, "audited", ["read", "write"]))
    [key] = keys(db)
    client.post_form(f"{PAGE}/{key.public_id}/revoke", token_from=PAGE)

    db.expire_all()
    rows = {row.action: row for row in db.scalars(select(AuditEvent).where(AuditEvent.target == key.public_id))}
    assert set(rows) == {"api_key.created", "api_key.revoked"}
    alice_id = db.scalar(select(User.id).where(User.email == "alice@acme.test"))
    for row in rows.values():
        assert (row.actor_label, row.ip_address, row.org_id) == ("alice@acme.test", ALICE_IP, org_id(db, "acme"))
        assert row.actor_user_id == alice_id
    assert rows["api_key.created"].details == {"name": "audited", "scopes": "read write"}

    everything = [json.dumps(row.details) for row in db.scalars(select(AuditEvent))]
    assert not any(secret in details or secret[11:] in details for details in everything)
    events = list(db.scalars(select(WebhookEvent).where(WebhookEvent.type.like("api_key.%"))))
    assert sorted(event.type for event in events) == ["api_key.created", "api_key.revoked"]
    assert not any(secret in event.body for event in events)


# --- who may change them -----------------------------------------------------------------------------------------

def test_members_see_the_keys_but_get_403_on_changes(demo, client, db):
    created = api_keys.create(db, org_id(db, "acme"), "existing", ["read"], actor_label="test")
    db.commit()
    client.login("bob@acme.test")

    page = text(client.get(PAGE))
    assert "existing" in page and "Only the organization's owners can create or revoke API keys" in page
    assert 'name="name"' not in page and "/revoke" not in page

    revoke_url = f"{PAGE}/{created.key.public_id}/revoke"
    for response in (create(client, "mine"), client.get(revoke_url),
                     client.post_form(revoke_url, token_from=PAGE)):
        assert response.status_code == 403
        assert "Only the organization&#39;s owners can change API keys" in text(response)
    assert [(key.name, key.revoked_at) for key in keys(db)] == [("existing", None)]


def test_changes_need_sudo_mode(demo, client, db):
    client.login("alice@acme.test")
    create(client, "before")
    [key] = keys(db)
    clock.advance(timedelta(minutes=16))
    assert client.get(PAGE).status_code == 200  # viewing needs no sudo

    came_from = {"Referer": f"http://localhost{PAGE}"}
    for response in (create(client, "after", headers=came_from),
                     client.post_form(f"{PAGE}/{key.public_id}/revoke", token_from=PAGE, headers=came_from)):
        assert response.status_code == 302 and response.headers["Location"] == f"/sudo?next={PAGE}"
    htmx = client.htmx("POST", PAGE, token_from=PAGE, data={"name": "after", "scopes": ["read"]})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"].startswith("/sudo?next=")
    assert [(k.name, k.revoked_at) for k in keys(db)] == [("before", None)]

    assert client.post_form("/sudo", {"password": "demo-password"}).status_code == 302
    assert create(client, "after").status_code == 201
    assert [k.name for k in keys(db)] == ["before", "after"]


def test_another_organizations_key_is_not_found(demo, client, db):
    other = api_keys.create(db, org_id(db, "globex"), "globex key", ["read"], actor_label="test")
    db.commit()
    client.login("alice@acme.test")

    assert client.get(f"{PAGE}/{other.key.public_id}/revoke").status_code == 404
    assert client.post_form(f"{PAGE}/{other.key.public_id}/revoke", token_from=PAGE).status_code == 404
    assert "globex key" not in text(client.get(PAGE))
    assert keys(db, "globex")[0].revoked_at is None
