"""The webhooks API: endpoints, secrets and rotation, test events that reach a real
receiver, the delivery log, resend, events, scopes, tenant isolation, bad input."""
import base64
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app import clock
from app.audit.models import AuditEvent
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint, WebhookMessage
from tests.webhooks.fixtures import deliver_due

SECRET_SHAPE = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


@pytest.fixture
def caller(client, issue_key):
    """caller(slug, scopes) -> call(method, path, **kwargs) with that organization's key."""
    def make(slug="acme", scopes=("webhooks",)):
        _, secret = issue_key(slug, scopes)

        def call(method, path, **kwargs):
            headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
            return client.http.open(path, method=method, headers=headers, **kwargs)
        return call
    return make


@pytest.fixture
def hooks(caller):
    """acme's key with the webhooks scope."""
    return caller()


def _error(response, status=400):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]


def _create(hooks, url, **fields):
    response = hooks("POST", "/api/v1/webhook_endpoints", json={"url": url, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_event_types_need_only_a_valid_key(caller, client):
    listing = caller(scopes=("read",))("GET", "/api/v1/event_types")
    assert listing.status_code == 200
    types = {t["name"]: t for t in listing.get_json()["data"]}
    assert list(types) == list(EVENT_TYPES)
    paid = types["invoice.paid"]
    assert paid["description"] and paid["example"]["status"] == "paid"
    assert paid["schema"]["type"] == "object" and "total" in paid["schema"]["properties"]
    assert client.http.get("/api/v1/event_types").status_code == 401


def test_create_list_get_patch_delete(hooks, receiver, demo):
    created = _create(hooks, receiver.url, event_types=["invoice.paid", "invoice.created", "invoice.paid"],
                      description="billing")
    assert created["id"].startswith("ep_") and created["enabled"] is True
    assert created["event_types"] == ["invoice.created", "invoice.paid"]  # catalog order, no duplicates
    assert SECRET_SHAPE.match(created["secret"])
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    everything = _create(hooks, "https://hooks.example.com/all")
    assert everything["event_types"] is None

    listing = hooks("GET", "/api/v1/webhook_endpoints").get_json()
    assert [e["id"] for e in listing["data"]] == [created["id"], everything["id"]]
    assert listing["has_more"] is False and all("secret" not in e for e in listing["data"])
    one = hooks("GET", f"/api/v1/webhook_endpoints/{created['id']}").get_json()
    assert "secret" not in one and one["url"] == receiver.url and one["description"] == "billing"

    patched = hooks("PATCH", f"/api/v1/webhook_endpoints/{created['id']}",
                    json={"description": "all of it", "event_types": None, "enabled": False})
    assert patched.status_code == 200
    body = patched.get_json()
    assert body["event_types"] is None and body["enabled"] is False and body["disabled_reason"] == "manual"
    assert body["description"] == "all of it" and body["url"] == receiver.url  # untouched field stays
    again = hooks("PATCH", f"/api/v1/webhook_endpoints/{created['id']}", json={"enabled": True}).get_json()
    assert again["enabled"] is True and again["disabled_reason"] is None

    actors = set(demo.scalars(select(AuditEvent.actor_label).where(AuditEvent.target == created["id"])))
    assert len(actors) == 1 and re.fullmatch(r"api:mtx_sk_\w{4}", actors.pop())

    deleted = hooks("DELETE", f"/api/v1/webhook_endpoints/{created['id']}")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert _error(hooks("GET", f"/api/v1/webhook_endpoints/{created['id']}"), 404)["type"] == "not_found"
    assert [e["id"] for e in hooks("GET", "/api/v1/webhook_endpoints").get_json()["data"]] == [everything["id"]]


def test_rotation_signs_with_both_secrets_for_24_hours(app, hooks, receiver):
    created = _create(hooks, receiver.url)
    old = created["secret"]
    rotated = hooks("POST", f"/api/v1/webhook_endpoints/{created['id']}/rotate_secret")
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert SECRET_SHAPE.match(new) and new != old
    expires = datetime.fromisoformat(rotated.get_json()["previous_secret_expires_at"])
    assert abs(expires - (clock.utcnow() + timedelta(hours=24))) < timedelta(minutes=1)
    assert "secret" not in hooks("GET", f"/api/v1/webhook_endpoints/{created['id']}").get_json()

    sent = hooks("POST", f"/api/v1/webhook_endpoints/{created['id']}/test").get_json()
    deliver_due(app)
    request = receiver.wait_for(1)[0]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and request.headers["webhook-id"] == sent["message_id"]
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["id"] == sent["event_id"]
        matching = [s for s in signatures if _verifies(secret, request, s)]
        assert len(matching) == 1
    # After the overlap only the new secret signs.
    clock.advance(timedelta(hours=24, minutes=1))
    hooks("POST", f"/api/v1/webhook_endpoints/{created['id']}/test")
    deliver_due(app)
    later = receiver.wait_for(2)[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(later.body, later.headers)


def _verifies(secret, request, signature) -> bool:
    try:
        Webhook(secret).verify(request.body, {**request.headers, "webhook-signature": signature})
        return True
    except WebhookVerificationError:
        return False


def test_test_event_reaches_the_receiver(app, hooks, receiver):
    created = _create(hooks, receiver.url, event_types=["invoice.paid"])
    default = hooks("POST", f"/api/v1/webhook_endpoints/{created['id']}/test")
    assert default.status_code == 201 and default.get_json()["event_type"] == "invoice.paid"
    chosen = hooks("POST", f"/api/v1/webhook_endpoints/{created['id']}/test", json={"event_type": "sla.breached"})
    sent = chosen.get_json()
    assert sent["event_id"].startswith("evt_") and sent["message_id"].startswith("msg_")
    deliver_due(app)
    arrived = {r.headers["webhook-id"]: r for r in receiver.wait_for(2)}
    payload = Webhook(created["secret"]).verify(arrived[sent["message_id"]].body, arrived[sent["message_id"]].headers)
    assert payload["id"] == sent["event_id"] and payload["type"] == "sla.breached"
    assert payload["data"] == EVENT_TYPES["sla.breached"].example


def _deliveries(hooks, endpoint_id, query=""):
    response = hooks("GET", f"/api/v1/webhook_endpoints/{endpoint_id}/deliveries{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _send_tests(hooks, endpoint_id, event_type, count):
    return [hooks("POST", f"/api/v1/webhook_endpoints/{endpoint_id}/test",
                  json={"event_type": event_type}).get_json()["message_id"] for _ in range(count)]


def test_delivery_log_filters_and_pages_newest_first(app, hooks, receiver):
    from tests.webhooks.receiver import Reply

    endpoint = _create(hooks, receiver.url)["id"]
    paid = _send_tests(hooks, endpoint, "invoice.paid", 3)
    deliver_due(app)
    receiver.default = Reply(status=500)
    failed = _send_tests(hooks, endpoint, "payment.failed", 2)
    deliver_due(app)

    everything = _deliveries(hooks, endpoint, "?limit=100")
    assert [d["id"] for d in everything["data"]] == failed[::-1] + paid[::-1]
    first = everything["data"][0]
    assert set(first) == {"id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
                          "last_attempt_at", "last_status_code", "created_at"}
    assert (first["status"], first["attempts"], first["last_status_code"]) == ("pending", 1, 500)
    assert first["next_attempt_at"] and first["last_attempt_at"] and first["event_id"].startswith("evt_")

    succeeded = _deliveries(hooks, endpoint, "?status=succeeded")["data"]
    assert [d["id"] for d in succeeded] == paid[::-1]
    assert all(d["last_status_code"] == 200 and d["next_attempt_at"] is None for d in succeeded)
    assert [d["id"] for d in _deliveries(hooks, endpoint, "?event_type=payment.failed")["data"]] == failed[::-1]
    assert _deliveries(hooks, endpoint, "?status=succeeded&event_type=payment.failed")["data"] == []

    seen, cursor, pages = [], None, 0
    while True:
        page = _deliveries(hooks, endpoint, "?limit=2" + (f"&starting_after={cursor}" if cursor else ""))
        seen += [d["id"] for d in page["data"]]
        pages += 1
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == failed[::-1] + paid[::-1] and pages == 3
    narrowed = _deliveries(hooks, endpoint, f"?status=succeeded&limit=1&starting_after={paid[2]}")
    assert [d["id"] for d in narrowed["data"]] == [paid[1]] and narrowed["has_more"] is True


def test_resend_keeps_the_message_id_and_counts_attempts(app, hooks, receiver):
    endpoint = _create(hooks, receiver.url)["id"]
    [message] = _send_tests(hooks, endpoint, "invoice.paid", 1)
    deliver_due(app)
    response = hooks("POST", f"/api/v1/deliveries/{message}/resend")
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["status"]) == (message, "pending")
    deliver_due(app)
    requests = receiver.wait_for(2)
    assert [r.headers["webhook-id"] for r in requests] == [message, message]
    [logged] = _deliveries(hooks, endpoint)["data"]
    assert (logged["status"], logged["attempts"]) == ("succeeded", 2)

    hooks("PATCH", f"/api/v1/webhook_endpoints/{endpoint}", json={"enabled": False})
    assert _error(hooks("POST", f"/api/v1/deliveries/{message}/resend"))["field"] == "enabled"
    assert _error(hooks("POST", f"/api/v1/webhook_endpoints/{endpoint}/test"))["field"] == "enabled"
    assert _error(hooks("POST", "/api/v1/deliveries/msg_unknown/resend"), 404)["type"] == "not_found"


def test_events_listing(hooks, receiver, demo):
    from app.webhooks.events import emit
    from tests.webhooks.fixtures import org_id

    endpoint = _create(hooks, receiver.url)["id"]
    _send_tests(hooks, endpoint, "invoice.paid", 2)
    real = emit(demo, org_id(demo, "acme"), "invoice.created", EVENT_TYPES["invoice.created"].example)
    demo.commit()

    events = hooks("GET", "/api/v1/events?limit=100").get_json()["data"]
    assert events[0]["id"] == real.public_id and events[0]["is_test"] is False
    assert events[0]["type"] == "invoice.created" and events[0]["data"] == EVENT_TYPES["invoice.created"].example
    assert set(events[0]) == {"id", "type", "created_at", "is_test", "data"}
    assert "api_key.created" in {e["type"] for e in events}  # issuing the key emitted one
    paid = hooks("GET", "/api/v1/events?type=invoice.paid").get_json()
    assert len(paid["data"]) == 2 and all(e["is_test"] for e in paid["data"])
    first = hooks("GET", "/api/v1/events?type=invoice.paid&limit=1").get_json()
    assert first["has_more"] is True
    rest = hooks("GET", f"/api/v1/events?type=invoice.paid&starting_after={first['data'][0]['id']}").get_json()
    assert [e["id"] for e in first["data"] + rest["data"]] == [e["id"] for e in paid["data"]]
    assert rest["has_more"] is False


def test_webhooks_scope_is_required(caller, hooks, receiver, demo):
    endpoint = _create(hooks, receiver.url)["id"]
    [message] = _send_tests(hooks, endpoint, "invoice.paid", 1)
    plain = caller(scopes=("read", "write"))
    for method, path in (("GET", "/api/v1/webhook_endpoints"), ("POST", "/api/v1/webhook_endpoints"),
                         ("GET", f"/api/v1/webhook_endpoints/{endpoint}"),
                         ("PATCH", f"/api/v1/webhook_endpoints/{endpoint}"),
                         ("DELETE", f"/api/v1/webhook_endpoints/{endpoint}"),
                         ("POST", f"/api/v1/webhook_endpoints/{endpoint}/rotate_secret"),
                         ("POST", f"/api/v1/webhook_endpoints/{endpoint}/test"),
                         ("GET", f"/api/v1/webhook_endpoints/{endpoint}/deliveries"),
                         ("POST", f"/api/v1/deliveries/{message}/resend"), ("GET", "/api/v1/events")):
        kwargs = {"json": {"url": receiver.url}} if method in ("POST", "PATCH") else {}
        assert _error(plain(method, path, **kwargs), 403)["type"] == "permission_error", (method, path)
    assert demo.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1
    assert plain("GET", "/api/v1/event_types").status_code == 200


def test_another_organizations_endpoints_and_deliveries_are_404(app, caller, hooks, receiver, demo):
    created = _create(hooks, receiver.url)
    endpoint = created["id"]
    [message] = _send_tests(hooks, endpoint, "invoice.paid", 1)
    deliver_due(app)
    globex = caller("globex")
    for method, path, body in (
            ("GET", f"/api/v1/webhook_endpoints/{endpoint}", None),
            ("PATCH", f"/api/v1/webhook_endpoints/{endpoint}", {"url": "https://evil.example.com/"}),
            ("DELETE", f"/api/v1/webhook_endpoints/{endpoint}", None),
            ("POST", f"/api/v1/webhook_endpoints/{endpoint}/rotate_secret", None),
            ("POST", f"/api/v1/webhook_endpoints/{endpoint}/test", None),
            ("GET", f"/api/v1/webhook_endpoints/{endpoint}/deliveries", None),
            ("POST", f"/api/v1/deliveries/{message}/resend", None)):
        kwargs = {"json": body} if body else {}
        assert _error(globex(method, path, **kwargs), 404)["type"] == "not_found", (method, path)
    assert globex("GET", "/api/v1/webhook_endpoints").get_json()["data"] == []
    assert _error(globex("GET", f"/api/v1/webhook_endpoints?starting_after={endpoint}"))["field"] == "starting_after"
    theirs = {e["id"] for e in hooks("GET", "/api/v1/events?limit=100").get_json()["data"]}
    mine = {e["id"] for e in globex("GET", "/api/v1/events?limit=100").get_json()["data"]}
    assert theirs and not theirs & mine

    row = demo.scalars(select(WebhookEndpoint).where(WebhookEndpoint.public_id == endpoint)).one()
    assert (row.url, row.enabled, row.previous_secret_ciphertext) == (receiver.url, True, None)
    sent = demo.scalars(select(WebhookMessage).where(WebhookMessage.public_id == message)).one()
    assert (sent.status, sent.attempt_count) == ("succeeded", 1)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("body, field", [
    ({}, "url"),
    ({"url": ""}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://hooks.example.com/x"}, "url"),
    ({"url": "http://hooks.example.com/x"}, "url"),
    ({"url": "https://10.0.0.5/hook"}, "url"),
    ({"url": "https://169.254.169.254/latest"}, "url"),
    ({"url": "https://localhost/hook"}, "url"),
    ({"url": 42}, "url"),
    ({"url": "https://hooks.example.com/x", "event_types": ["invoice.nope"]}, "event_types"),
    ({"url": "https://hooks.example.com/x", "event_types": []}, "event_types"),
    ({"url": "https://hooks.example.com/x", "event_types": "invoice.paid"}, "event_types"),
    ({"url": "https://hooks.example.com/x", "description": "x" * 501}, "description"),
    ({"url": "https://hooks.example.com/x", "colour": "red"}, "colour"),
])
def test_bad_endpoint_input_names_the_field(hooks, demo, body, field):
    error = _error(hooks("POST", "/api/v1/webhook_endpoints", json=body))
    assert error["type"] == "invalid_request_error" and error["field"] == field, error
    assert demo.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_bad_updates_and_queries_name_the_field(hooks, receiver, demo):
    endpoint = _create(hooks, receiver.url, event_types=["invoice.paid"])["id"]
    path = f"/api/v1/webhook_endpoints/{endpoint}"
    for body, field in (({"url": "http://hooks.example.com/x"}, "url"), ({"url": None}, "url"),
                        ({"url": "https://[::ffff:127.0.0.1]/"}, "url"), ({"enabled": None}, "enabled"),
                        ({"event_types": ["nope"]}, "event_types"), ({"secret": "whsec_x"}, "secret")):
        assert _error(hooks("PATCH", path, json=body))["field"] == field, body
    row = demo.scalars(select(WebhookEndpoint).where(WebhookEndpoint.public_id == endpoint)).one()
    assert (row.url, row.event_types, row.enabled) == (receiver.url, ["invoice.paid"], True)

    assert _error(hooks("POST", f"{path}/test", json={"event_type": "nope"}))["field"] == "event_type"
    assert _error(hooks("GET", f"{path}/deliveries?status=lost"))["field"] == "status"
    assert _error(hooks("GET", f"{path}/deliveries?event_type=nope"))["field"] == "event_type"
    assert _error(hooks("GET", f"{path}/deliveries?limit=0"))["field"] == "limit"
    assert _error(hooks("GET", f"{path}/deliveries?starting_after=msg_nope"))["field"] == "starting_after"
    assert _error(hooks("GET", "/api/v1/events?type=nope"))["field"] == "type"
    assert _error(hooks("POST", "/api/v1/webhook_endpoints", data="{not json",
                        headers={"Content-Type": "application/json"}))["type"] == "invalid_request_error"
    for method in ("GET", "PATCH", "DELETE"):
        assert _error(hooks(method, "/api/v1/webhook_endpoints/ep_unknown", json={}), 404)["type"] == "not_found"
    assert _error(hooks("POST", "/api/v1/webhook_endpoints/ep_unknown/test"), 404)["type"] == "not_found"


def test_the_21st_endpoint_is_refused(hooks, demo):
    for n in range(20):
        _create(hooks, f"https://hooks.example.com/{n}")
    error = _error(hooks("POST", "/api/v1/webhook_endpoints", json={"url": "https://hooks.example.com/21"}))
    assert error["field"] == "url" and "20" in error["message"]
    assert demo.scalar(select(func.count()).select_from(WebhookEndpoint)) == 20
    listing = hooks("GET", "/api/v1/webhook_endpoints?limit=100").get_json()
    assert len(listing["data"]) == 20 and listing["has_more"] is False
