"""Fixtures of the security tests: a stopped clock and a test GeoIP database."""
from __future__ import annotations

import pytest

from app import clock
from tests.security.helpers import T0
from tests.security.mmdb import build_country_mmdb


@pytest.fixture
def frozen():
    """The app's clock stopped at T0 (mid-step); tests move it with clock.advance()."""
    clock.freeze(T0)
    yield T0
    clock.reset()


@pytest.fixture(scope="session")
def country_mmdb(tmp_path_factory):
    """Path of a small .mmdb placing the documentation ranges in DE, FR and JP."""
    return str(build_country_mmdb(tmp_path_factory.mktemp("geoip") / "countries.mmdb"))
