"""HTTP delivery of one signed message: POST to the checked address, over
kept-alive connections, with hard limits on time and on what we read back.

One `Sender` lives for one job and keeps a connection pool per (host, address),
so a batch to the same receiver reuses its TLS connections.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import urllib3
from urllib3.exceptions import (ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError,
                                ProtocolError, ReadTimeoutError, SSLError)

from app import clock
from app.webhooks.deadlines import TrackedHTTPConnectionPool, TrackedHTTPSConnectionPool, Watchdog
from app.webhooks.settings import WebhookSettings
from app.webhooks.targets import TargetRefused, check_url, resolve

RESPONSE_BODY_LIMIT = 4096
# Read (and discard) at most this much more so the connection can be reused;
# a bigger answer costs us the connection, never memory.
DRAIN_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    duration_ms: int
    succeeded: bool
    status_code: int | None = None
    error_kind: str | None = None
    error_detail: str | None = None
    response_body: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - clock.utcnow()).total_seconds())


def _classify(error: Exception) -> tuple[str, str]:
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, SSLError):
        return "tls", str(error)
    if isinstance(error, NewConnectionError):
        return "connect", str(error)
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
        return "timeout", str(error)
    if isinstance(error, ProtocolError):
        return "reset", str(error)
    return "network", f"{type(error).__name__}: {error}"


class Sender:
    """Sends signed POSTs; thread-safe, so a batch can go out concurrently."""

    def __init__(self, settings: WebhookSettings):
        self.settings = settings
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self._watchdog = Watchdog()

    def __enter__(self) -> "Sender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._watchdog.close()
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()

    def _pool(self, scheme: str, host: str, address: str, port: int) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, address, port)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                s = self.settings
                common = dict(port=port, maxsize=s.concurrency, block=True, retries=False,
                              timeout=urllib3.Timeout(connect=s.connect_timeout, read=s.total_timeout))
                if scheme == "https":
                    # Connect to the checked address, but verify the certificate
                    # (and send SNI) for the name in the URL.
                    pool = TrackedHTTPSConnectionPool(address, server_hostname=host, assert_hostname=host,
                                                       cert_reqs="CERT_REQUIRED", ca_certs=s.ca_bundle, **common)
                else:
                    pool = TrackedHTTPConnectionPool(address, **common)
                self._pools[key] = pool
            return pool

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        attempted_at = clock.utcnow()
        started = time.monotonic()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        allow = self.settings.allow_private
        try:
            target = check_url(url, allow)
            address = resolve(target, allow)
        except TargetRefused as refused:
            return Outcome(attempted_at, elapsed_ms(), False, error_kind=refused.kind, error_detail=refused.message)
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != default_port:
            host_header += f":{target.port}"
        pool = self._pool(target.scheme, target.host, address, target.port)
        deadline = started + self.settings.total_timeout
        watched = self._watchdog.begin(deadline)
        try:
            response = pool.urlopen("POST", target.path, body=body, headers={**headers, "host": host_header},
                                    redirect=False, preload_content=False, assert_same_host=False,
                                    release_conn=False)
        except (HTTPError, OSError) as error:
            kind, detail = _classify(error)
            if self._watchdog.end(watched):
                kind, detail = "timeout", f"No answer within {self.settings.total_timeout:g} s."
            return Outcome(attempted_at, elapsed_ms(), False, error_kind=kind, error_detail=detail[:300])
        within_time = time.monotonic() <= deadline
        text = self._read_head_and_release(response, deadline, watched)
        status = response.status
        succeeded = 200 <= status < 300 and within_time
        if succeeded:
            kind = None
        elif not within_time:
            kind = "timeout"
        else:
            kind = "redirect" if 300 <= status < 400 else "http_status"
        return Outcome(attempted_at, elapsed_ms(), succeeded, status_code=status, error_kind=kind,
                       response_body=text, retry_after=parse_retry_after(response.headers.get("retry-after")))

    def _read_head_and_release(self, response, deadline: float, watched) -> str | None:
        """The first 4 KB of the body; the connection is kept only if the rest is small
        and arrived in time (the watchdog cuts a body that trickles past the deadline)."""
        try:
            head = response.read(RESPONSE_BODY_LIMIT)
            drained, finished = 0, len(head) < RESPONSE_BODY_LIMIT
            while not finished and drained < DRAIN_LIMIT and time.monotonic() < deadline:
                chunk = response.read(8192)
                drained += len(chunk)
                finished = not chunk
        except (HTTPError, OSError):
            self._watchdog.end(watched)
            response.close()
            response.release_conn()
            return None
        if self._watchdog.end(watched) or not finished:
            response.close()  # cut, or the rest is not worth reading: drop the connection
        response.release_conn()
        # PostgreSQL text cannot hold NUL: one binary answer would make the batch unrecordable.
        return head.decode("utf-8", errors="replace").replace("\x00", "\ufffd") if head else ""
