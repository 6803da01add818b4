"""Build small MaxMind-format country databases for tests (mmdb-writer).

The portal reads them with `maxminddb` exactly as it would read GeoLite2-Country.
Test networks come from the documentation ranges (RFC 5737, RFC 3849).
"""
from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# Address → country used across the security tests.
GERMANY_V4, FRANCE_V4, JAPAN_V4 = "198.51.100.7", "203.0.113.9", "192.0.2.44"
GERMANY_V6 = "2001:db8:de::7"
TEST_NETWORKS = {
    "198.51.100.0/24": "DE",
    "203.0.113.0/24": "FR",
    "192.0.2.0/24": "JP",
    "2001:db8:de::/48": "DE",
    "2001:db8:f::/48": "FR",
}


def build_country_mmdb(path: Path, networks: dict[str, str] = TEST_NETWORKS) -> Path:
    """Write a GeoIP2-Country-shaped database mapping each CIDR to an ISO code."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Country",
                        languages=["en"], description="Matrix Portal test countries")
    for cidr, code in networks.items():
        writer.insert_network(IPSet([cidr]), {"country": {"iso_code": code}})
    writer.to_db_file(str(path))
    return path
