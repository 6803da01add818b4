"""Per-organization IP allowlists (IPv4 and IPv6 CIDR entries with labels).

An empty list allows every address. A change that would leave the list
non-empty without the address making the change is refused: nobody locks
themselves out by accident.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.errors import DomainError, NotFound
from app.security.models import IpAllowlistEntry

MAX_ENTRIES = 100
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class EntryInput:
    cidr: str
    label: str = ""


def parse_address(raw: str) -> Address | None:
    """The client address as an ip_address; IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4."""
    try:
        address = ipaddress.ip_address((raw or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def parse_network(raw: str, field: str = "cidr", position: int | None = None) -> Network:
    """One entry: a network in CIDR form or a single address (becomes /32 or /128).

    The message names the entry, so a bad line in a long list is easy to find.
    """
    text = (raw or "").strip()
    where = f" (entry {position + 1})" if position is not None else ""
    if not text:
        raise DomainError(f"Enter an address or network in CIDR form, e.g. 203.0.113.0/24{where}.", field=field)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise DomainError(f"“{text}” is not a valid IPv4 or IPv6 address or CIDR network{where}.",
                          field=field) from None
    raise DomainError(f"“{text}” has host bits set{where}; did you mean {loose}?", field=field)


def _parse_label(raw: str, field: str) -> str:
    label = (raw or "").strip()
    if len(label) > 100:
        raise DomainError("Labels are at most 100 characters.", field=field)
    return label


def networks(session: Session, org_id: int) -> list[Network]:
    return [ipaddress.ip_network(cidr) for cidr in
            session.scalars(select(IpAllowlistEntry.cidr).where(IpAllowlistEntry.org_id == org_id))]


def permits(allowed: Iterable[Network], address: str) -> bool:
    """True when the list is empty or one of its networks holds `address`."""
    allowed = list(allowed)
    if not allowed:
        return True
    parsed = parse_address(address)
    return parsed is not None and any(parsed in network for network in allowed
                                      if network.version == parsed.version)


def entries(session: Session, org_id: int) -> list[IpAllowlistEntry]:
    return list(session.scalars(select(IpAllowlistEntry).where(IpAllowlistEntry.org_id == org_id)
                                .order_by(IpAllowlistEntry.created_at, IpAllowlistEntry.id)))


def _refuse_self_lockout(remaining: list[Network], current_ip: str, field: str = "cidr") -> None:
    if not permits(remaining, current_ip):
        raise DomainError(f"Saving this list would lock you out: your current address {current_ip} "
                          "is not in it. Add an entry that covers it first.", field=field)


def _audit(session: Session, org_id: int, actor_label: str, actor_user_id: int | None, action: str, **details):
    record(session, action, actor_label=actor_label, actor_user_id=actor_user_id, org_id=org_id, details=details)


def add(session: Session, org_id: int, cidr: str, label: str, *, current_ip: str, actor_label: str,
        actor_user_id: int | None = None) -> IpAllowlistEntry:
    """Add one entry (refused if it would lock out `current_ip` or repeats one)."""
    network = parse_network(cidr)
    existing = networks(session, org_id)
    if network in existing:
        raise DomainError(f"{network} is already on the list.", field="cidr")
    if len(existing) >= MAX_ENTRIES:
        raise DomainError(f"An allowlist holds at most {MAX_ENTRIES} entries.", field="cidr")
    _refuse_self_lockout([*existing, network], current_ip)
    entry = IpAllowlistEntry(org_id=org_id, cidr=str(network), label=_parse_label(label, "label"))
    session.add(entry)
    session.flush()
    _audit(session, org_id, actor_label, actor_user_id, "ip_allowlist.entry_added", cidr=entry.cidr, label=entry.label)
    return entry


def remove(session: Session, org_id: int, public_id: str, *, current_ip: str, actor_label: str,
           actor_user_id: int | None = None) -> None:
    """Remove one entry (refused if the rest would lock out `current_ip`)."""
    entry = session.scalars(select(IpAllowlistEntry).where(IpAllowlistEntry.org_id == org_id,
                                                           IpAllowlistEntry.public_id == public_id)).first()
    if entry is None:
        raise NotFound("No such allowlist entry.")
    rest = [ipaddress.ip_network(e.cidr) for e in entries(session, org_id) if e.id != entry.id]
    _refuse_self_lockout(rest, current_ip)
    session.delete(entry)
    _audit(session, org_id, actor_label, actor_user_id, "ip_allowlist.entry_removed", cidr=entry.cidr)


def replace(session: Session, org_id: int, new_entries: list[EntryInput], *, current_ip: str, actor_label: str,
            actor_user_id: int | None = None) -> list[IpAllowlistEntry]:
    """Replace the whole list (the API's POST). Every entry is checked before anything is written."""
    if len(new_entries) > MAX_ENTRIES:
        raise DomainError(f"An allowlist holds at most {MAX_ENTRIES} entries.", field="entries")
    parsed: list[tuple[Network, str]] = []
    for position, item in enumerate(new_entries):
        network = parse_network(item.cidr, field=f"entries.{position}.cidr", position=position)
        if any(network == seen for seen, _ in parsed):
            raise DomainError(f"{network} appears twice (entry {position + 1}).", field=f"entries.{position}.cidr")
        parsed.append((network, _parse_label(item.label, f"entries.{position}.label")))
    _refuse_self_lockout([network for network, _ in parsed], current_ip, field="entries")
    session.execute(delete(IpAllowlistEntry).where(IpAllowlistEntry.org_id == org_id))
    rows = [IpAllowlistEntry(org_id=org_id, cidr=str(network), label=label) for network, label in parsed]
    session.add_all(rows)
    session.flush()
    _audit(session, org_id, actor_label, actor_user_id, "ip_allowlist.replaced", cidrs=[row.cidr for row in rows])
    return rows
