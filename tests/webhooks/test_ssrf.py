"""SSRF: webhooks go to the public internet only. Refused when an endpoint is
saved (scheme, credentials, private literals in every spelling) and again at
every send (each address a name resolves to), and the connection goes to the
address that was checked. WEBHOOK_ALLOW_PRIVATE exempts exactly what it lists.

These tests build their own apps: the suite's default one allows 127.0.0.1.
"""
from __future__ import annotations

import ipaddress
import socket

import pytest
from sqlalchemy import select

from app import crypto
from app.errors import DomainError
from app.webhooks import endpoints, signing
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.events import emit
from app.webhooks.models import DeliveryAttempt, WebhookEndpoint, WebhookMessage
from app.webhooks.targets import AllowPrivate, TargetRefused, check_url, is_public, resolve
from tests.webhooks.fixtures import deliver_due, org_id
from tests.webhooks.receiver import Receiver, tls_context

NOTHING_EXEMPT = AllowPrivate()

REFUSED_AT_SAVE = [
    "http://example.com/hooks",  # plain http
    "ftp://example.com/hooks",
    "https:///hooks",  # no host
    "https://user:pass@example.com/hooks",
    "https://token@example.com/hooks",
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://LOCALHOST./hooks",
    "https://api.localhost/hooks",
    "https://10.0.0.1/hooks",
    "https://172.16.5.4/hooks",
    "https://192.168.1.1/hooks",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://100.64.0.1/hooks",  # CGNAT
    "https://[fd00::1]/hooks",  # unique local
    "https://[fe80::1]/hooks",  # link-local
    "https://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/hooks",  # 169.254.169.254, mapped, in hex
    "https://[2002:7f00:1::]/hooks",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a00:1]/hooks",  # NAT64 around 10.0.0.1
    "https://0.0.0.0/hooks",
    "https://[::]/hooks",
    "https://224.0.0.1/hooks",  # multicast
    "https://[ff02::1]/hooks",
    "https://240.0.0.1/hooks",  # reserved
    "https://255.255.255.255/hooks",
    "https://[::1]/hooks",
    "https://0x7f000001/hooks",  # 127.0.0.1 as one hex number
    "https://2130706433/hooks",  # ... as one decimal number
    "https://0177.0.0.1/hooks",  # ... in octal
    "https://127.1/hooks",  # ... abbreviated
    "https://0x7f.0x0.0x0.0x1/hooks",
    "https://017700000001/hooks",
    "https://0xa9.0xfe.0xa9.0xfe/hooks",  # 169.254.169.254
    "https://127.0.0.1.:8443/hooks",  # trailing dot
    "https://example.com/hooks#part",
    "https://exa mple.com/hooks",
    "",
]

NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "240.0.0.1",
    "255.255.255.255", "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9",
    "::1", "::", "fd00::1", "fc00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "2002:7f00:1::", "2002:a00:1::", "64:ff9b::7f00:1", "2001:db8::1",
]


def emit_one(session):
    event = emit(session, org_id(session, "acme"), "payment.succeeded", EVENT_TYPES["payment.succeeded"].example)
    session.commit()
    return event


def attempts(session) -> list[DeliveryAttempt]:
    session.expire_all()
    return list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))


# --- when an endpoint is saved ---------------------------------------------

@pytest.mark.parametrize("url", REFUSED_AT_SAVE)
def test_check_url_refuses(url):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, NOTHING_EXEMPT)
    assert refused.value.field == "url"


def test_saving_a_private_or_non_https_url_names_the_url_field(make_app):
    _app, session = make_app(WEBHOOK_ALLOW_PRIVATE="")
    acme = org_id(session, "acme")
    for url in REFUSED_AT_SAVE:
        with pytest.raises(DomainError) as refused:
            endpoints.create_endpoint(session, acme, url=url, actor_label="test")
        assert refused.value.field == "url", url
        session.rollback()
    assert session.scalars(select(WebhookEndpoint)).all() == []

    endpoint, _ = endpoints.create_endpoint(session, acme, url="https://hooks.example.com/in", actor_label="test")
    with pytest.raises(DomainError) as refused:
        endpoints.update_endpoint(session, endpoint, url="https://169.254.169.254/", actor_label="test")
    assert refused.value.field == "url"


@pytest.mark.parametrize("url", ["https://hooks.example.com/in?x=1", "https://8.8.8.8:8443/",
                                 "https://[2606:4700::1]/hooks", "https://EXAMPLE.com./"])
def test_public_https_urls_are_accepted(url):
    target = check_url(url, NOTHING_EXEMPT)
    assert target.scheme == "https"


# --- the address check ------------------------------------------------------

@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_is_public_refuses(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1", "2001:4860:4860::8888"])
def test_is_public_accepts_public_unicast(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    "fec0::1",  # deprecated IPv6 site-local: still routed inside some old networks
    "192.0.0.100",  # IETF protocol assignments (only .9 and .10 are global)
    "3fff::1",  # documentation (RFC 9637)
])
def test_is_public_refuses_special_purpose_ranges_python_misses(address):
    assert not is_public(ipaddress.ip_address(address))


def test_resolve_refuses_a_name_with_a_private_address():
    # `vm` is in /etc/hosts as 127.0.0.1: a public-looking name, a private answer.
    target = check_url("https://vm/hooks", NOTHING_EXEMPT)  # saving cannot know
    with pytest.raises(TargetRefused) as refused:
        resolve(target, NOTHING_EXEMPT)
    assert refused.value.kind == "blocked" and "127.0.0.1" in refused.value.message


def test_resolve_reports_an_unknown_name_as_dns():
    target = check_url("https://no-such-host.invalid/hooks", NOTHING_EXEMPT)
    with pytest.raises(TargetRefused) as refused:
        resolve(target, NOTHING_EXEMPT)
    assert refused.value.kind == "dns"


# --- WEBHOOK_ALLOW_PRIVATE --------------------------------------------------

def allowed(url: str, allow: AllowPrivate) -> str | None:
    """The address a send would go to, or None if refused at save or send time."""
    try:
        return resolve(check_url(url, allow), allow)
    except TargetRefused:
        return None


def test_allow_private_by_host_name_exempts_that_host_only():
    allow = AllowPrivate.parse("vm")
    assert allowed("https://vm:8443/hooks", allow) == "127.0.0.1"
    assert allowed("http://vm:8080/hooks", allow) == "127.0.0.1"  # http too, for that host
    assert allowed("http://VM./hooks", allow) == "127.0.0.1"
    for url in ("https://runsc/hooks", "http://runsc/hooks", "https://localhost/", "https://127.0.0.1/",
                "https://10.0.0.1/", "http://example.com/", "http://8.8.8.8/"):
        assert allowed(url, allow) is None, url


def test_allow_private_by_network_exempts_that_network_only():
    allow = AllowPrivate.parse("10.1.0.0/16, fd00:1::/64")
    assert allowed("https://10.1.2.3/hooks", allow) == "10.1.2.3"
    assert allowed("http://10.1.2.3:8080/hooks", allow) == "10.1.2.3"
    assert allowed("http://[fd00:1::5]/hooks", allow) == "fd00:1::5"
    for url in ("https://10.2.0.1/", "http://10.2.0.1/", "https://127.0.0.1/", "https://[fd00:2::1]/",
                "https://localhost/", "https://vm/", "http://8.8.8.8/", "https://169.254.169.254/"):
        assert allowed(url, allow) is None, url


def test_allow_private_by_network_covers_names_that_resolve_into_it():
    assert allowed("https://vm/hooks", AllowPrivate.parse("127.0.0.0/8")) == "127.0.0.1"
    assert allowed("https://vm/hooks", AllowPrivate.parse("127.0.0.2/32")) is None


# --- at send time -----------------------------------------------------------

def insert_endpoint(session, url: str) -> WebhookEndpoint:
    """Store an endpoint as if it had been saved while its name was public."""
    endpoint = WebhookEndpoint(org_id=org_id(session, "acme"), url=url, description="", event_types=None,
                               enabled=True, secret_ciphertext=crypto.encrypt(signing.new_secret()))
    session.add(endpoint)
    session.commit()
    return endpoint


@pytest.mark.parametrize("host", ["vm", "localhost"])
def test_a_name_resolving_to_a_private_address_is_blocked_at_send_time(make_app, ca, host):
    app, session = make_app(WEBHOOK_ALLOW_PRIVATE="", WEBHOOK_CA_BUNDLE=ca.bundle_path)
    with Receiver(tls=tls_context(ca, host), host=host) as receiver:
        insert_endpoint(session, receiver.url)  # https://<host>:<port>/hooks, a receiver that would answer
        emit_one(session)
        assert deliver_due(app) == 1
        assert receiver.requests == [] and receiver.tls_failures == 0  # nothing reached it

    [attempt] = attempts(session)
    assert not attempt.succeeded and attempt.error_kind == "blocked" and attempt.status_code is None
    assert attempt.attempted_at is not None and attempt.duration_ms >= 0
    message = session.scalars(select(WebhookMessage)).one()
    assert message.status == "pending" and message.attempt_count == 1  # retried; DNS may change back


def test_the_same_endpoint_is_delivered_when_its_host_is_exempt(make_app, ca):
    """The control for the test above: the receiver does answer when allowed."""
    app, session = make_app(WEBHOOK_ALLOW_PRIVATE="vm", WEBHOOK_CA_BUNDLE=ca.bundle_path)
    with Receiver(tls=tls_context(ca, "vm"), host="vm") as receiver:
        endpoints.create_endpoint(session, org_id(session, "acme"), url=receiver.url, actor_label="test")
        session.commit()
        emit_one(session)
        assert deliver_due(app) == 1
        assert len(receiver.requests) == 1
    assert attempts(session)[0].succeeded


def test_the_connection_goes_to_the_checked_address(make_app, monkeypatch):
    """The name is looked up once per attempt (the check), and the connection
    is made to the literal address that check returned: no second lookup that
    a rebinding DNS server could answer differently."""
    app, session = make_app(WEBHOOK_ALLOW_PRIVATE="localhost")
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, port, *args, **kwargs):
        lookups.append((host, port))
        return real_getaddrinfo(host, port, *args, **kwargs)

    with Receiver() as receiver:
        url = f"http://localhost:{receiver.port}/hooks"
        endpoints.create_endpoint(session, org_id(session, "acme"), url=url, actor_label="test")
        session.commit()
        for _ in range(3):
            emit_one(session)
        monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
        assert deliver_due(app) == 3
        monkeypatch.undo()

    assert len(receiver.requests) == 3 and all(a.succeeded for a in attempts(session))
    assert {r.headers["host"] for r in receiver.requests} == {f"localhost:{receiver.port}"}
    by_name = [lookup for lookup in lookups if lookup[0] == "localhost"]
    assert len(by_name) == 3  # checked at every attempt
    to_receiver = [host for host, port in lookups if port == receiver.port and host != "localhost"]
    assert to_receiver and set(to_receiver) == {"127.0.0.1"}  # connected by address
