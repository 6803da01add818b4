"""Fixtures for the browser tests: a live portal on a seeded SQLite file, and Chromium.

Chromium is the OS package (/usr/bin/chromium), driven through the Python
`playwright` package; Playwright's own browser download is not used. A missing
Chromium (or htmx asset) skips the tests locally and fails them with CI=true.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_test_app, unavailable, wipe

E2E_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = E2E_DIR.parent.parent
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
HTMX_ASSET = PROJECT_ROOT / "static" / "vendor" / "htmx.min.js"
# Waiting assertions and actions give up after this long (ms): the app is local, so
# anything slower than this is a bug, and a failing test should not hang the suite.
TIMEOUT_MS = 5_000


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a real browser: mark it `e2e`."""
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", f"{CHROMIUM} not found (make test installs the OS package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover — it is in requirements.lock
        unavailable("Playwright", str(error))
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as error:  # noqa: BLE001 — report why the browser would not start
            unavailable("Chromium", f"did not start: {str(error).strip().splitlines()[0]}")
        yield chromium
        chromium.close()


@contextmanager
def seeded_live_app(redis_url: str, directory: Path, **config) -> Iterator[tuple[str, object]]:
    """A portal on a fresh, seeded SQLite file served over real HTTP on 127.0.0.1.

    Yields (base URL, app); the app is there so a test can read rows and point
    a worker process at the same database.
    """
    from app.demo import seed_demo
    from app.migrate import upgrade

    database_url = f"sqlite:///{directory / 'e2e.db'}"
    upgrade(database_url)
    app = make_test_app(database_url, redis_url, directory, **config)
    wipe(app)  # also clears login-throttle counters other tests may have left in Redis
    session = app.extensions["db"].session()
    try:
        seed_demo(session)
        session.commit()
    finally:
        session.close()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        wipe(app)
        app.extensions["db"].engine.dispose()


@pytest.fixture(scope="session")
def live_server(redis_url, tmp_path_factory, stripe_server):
    """The demo portal shared by the browser tests, paying through localstripe; yields the base URL."""
    with seeded_live_app(redis_url, tmp_path_factory.mktemp("e2e"), **stripe_server.config()) as (url, _app):
        yield url


@contextmanager
def fresh_page(browser, base_url: str):
    """A page in a fresh browser context (own cookies) on `base_url`, closed afterwards."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    """A page on the shared demo portal."""
    with fresh_page(browser, live_server) as new_page:
        yield new_page


@pytest.fixture
def htmx_asset():
    """htmx is built from the npm registry into static/vendor (gitignored; `make test` builds it)."""
    if not HTMX_ASSET.is_file():
        unavailable("htmx", f"{HTMX_ASSET.relative_to(PROJECT_ROOT)} is missing (run `make assets`)")
    return HTMX_ASSET
