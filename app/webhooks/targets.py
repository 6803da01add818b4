"""Where a webhook may be sent (SSRF defence).

Two checks: when an endpoint is saved (`check_url`: scheme, shape, literal
addresses) and at every send (`resolve`: every address the name resolves to
must be public). The sender then connects to the address that was checked, so
a DNS answer that changes between check and connect (rebinding) cannot
redirect it. `WEBHOOK_ALLOW_PRIVATE` names hosts or networks that are allowed
anyway, with plain http, for tests and on-premises receivers.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048
# 6to4 and NAT64 embed an IPv4 address that is what actually gets reached.
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose ranges that Python's ipaddress tables (3.11) still count as global.
_ALSO_NOT_PUBLIC = tuple(ipaddress.ip_network(net) for net in (
    "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
    "fec0::/10",  # IPv6 site-local: deprecated (RFC 3879) but still routed inside some networks
    "3fff::/20",  # documentation (RFC 9637)
))


class TargetRefused(DomainError):
    """The URL or the address it resolves to may not receive webhooks."""

    def __init__(self, message: str, kind: str = "blocked"):
        super().__init__(message, field="url")
        self.kind = kind


@dataclass(frozen=True)
class AllowPrivate:
    """Parsed `WEBHOOK_ALLOW_PRIVATE`: host names and networks exempt from the public-only rule."""

    hosts: frozenset[str] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, raw: str) -> "AllowPrivate":
        hosts, networks = set(), []
        for entry in (part.strip() for part in (raw or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-case name or address literal, as written in the URL
    port: int
    path: str  # path + query, what goes on the request line


def is_public(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses, in every spelling."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_private or address.is_loopback or address.is_link_local
        or address.is_reserved or address.is_unspecified
        or any(address.version == net.version and address in net for net in _ALSO_NOT_PUBLIC)
    )


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number means (also `0x7f.1`, `2130706433`…)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton accepts the legacy spellings that resolvers and browsers honour
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, allow: AllowPrivate) -> Target:
    """Validate an endpoint URL when it is saved. Raises TargetRefused naming `url`."""
    url = (url or "").strip()
    if not url:
        raise TargetRefused("Enter the URL that should receive the webhooks.", "invalid")
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.", "invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("That is not a valid URL.", "invalid") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        raise TargetRefused("The URL must start with https:// and name a host.", "invalid")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Put credentials in the receiver, not in the URL.", "invalid")
    if parts.fragment:
        raise TargetRefused("The URL must not contain a #fragment.", "invalid")
    if any(ch.isspace() for ch in url):
        raise TargetRefused("The URL must not contain spaces.", "invalid")
    literal = _literal_address(host)
    exempt = allow.allows_host(host) or (literal is not None and allow.allows_address(literal))
    if parts.scheme == "http" and not exempt:
        raise TargetRefused("The URL must use https://.")
    if literal is not None and not exempt and not is_public(literal):
        raise TargetRefused(f"{host} is not a public address; webhooks go only to the public internet.")
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        if not exempt:
            raise TargetRefused(f"{host} is not a public host; webhooks go only to the public internet.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def resolve(target: Target, allow: AllowPrivate) -> str:
    """The address to connect to, after checking every address the host has.

    Refuses when any of them is not public (a name with one public and one
    private address would otherwise be a coin toss), unless exempted.
    """
    literal = _literal_address(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetRefused(f"{target.host} does not resolve: {exc}", "dns") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    host_exempt = allow.allows_host(target.host)
    for address in addresses:
        if not (host_exempt or allow.allows_address(address) or is_public(address)):
            raise TargetRefused(f"{target.host} resolves to {address}, which is not a public address.")
    if target.scheme == "http" and not (host_exempt or all(allow.allows_address(a) for a in addresses)):
        raise TargetRefused("Plain http is allowed only for hosts in WEBHOOK_ALLOW_PRIVATE.")
    return str(addresses[0])
