"""Country of an IP address, from a real GeoIP database.

`GEOIP_DATABASE` names a MaxMind-format `.mmdb` file (GeoLite2-Country,
GeoIP2-Country or any file with `country.iso_code`), read with `maxminddb`.
Without it the data bundled in the `geoip2fast` package is used (IPv4 and
IPv6, from MaxMind GeoLite2 CSVs). Private and unknown addresses have no
country; geo rules treat them with the organization's default.
"""
from __future__ import annotations

import threading
from typing import Protocol

import maxminddb

from app.security.ip_allowlist import parse_address


class CountryLookup(Protocol):
    source: str

    def country(self, ip: str) -> str | None: ...


class MaxMindLookup:
    def __init__(self, path: str):
        self._reader = maxminddb.open_database(path)
        self.source = f"MaxMind database {path}"

    def country(self, ip: str) -> str | None:
        address = parse_address(ip)
        if address is None:
            return None
        try:
            record = self._reader.get(str(address))
        except ValueError:  # an IPv6 address in an IPv4-only database
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            code = (record.get(key) or {}).get("iso_code")
            if code:
                return str(code).upper()
        return None


class BundledLookup:
    """geoip2fast's IPv4+IPv6 data; loaded on first use (about 0.2 s)."""

    source = "geoip2fast bundled data"

    def __init__(self):
        self._reader = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._reader is None:
                from geoip2fast import GeoIP2Fast

                self._reader = GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz")
        return self._reader

    def country(self, ip: str) -> str | None:
        address = parse_address(ip)
        if address is None or address.is_private or address.is_loopback:
            return None
        code = self._load().lookup(str(address)).country_code
        return code if code and len(code) == 2 and code.isalpha() else None


_bundled = BundledLookup()


def open_lookup(path: str) -> CountryLookup:
    """The lookup for a configured path (`GEOIP_DATABASE`), else the bundled data."""
    return MaxMindLookup(path) if path else _bundled
