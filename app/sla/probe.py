"""The availability probe: every minute, GET each running instance's health URL and record whether it answered 2xx.

The URLs are the customers' and the requests come from our servers, so they pass the webhook SSRF checks
(`app.webhooks.targets`): the URL's shape first, then every address its host resolves to, and the request goes
to the checked address (a DNS answer that changes in between cannot move it). A refused URL is a failed check
with its reason, never a request. Redirects are not followed (a 3xx is not 2xx). Each check has a hard deadline
(the webhook watchdog cuts a receiver that trickles), and the run stops waiting for checks still stuck (in DNS,
which has no timeout) a little after that, so one bad host never stalls the minute.

One sample per instance and minute (source "probe"): the UNIQUE (instance, source, minute) behind
`record_samples` makes a second run in the same minute a duplicate, and instances already probed in the minute
are not even requested again.
"""
from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import urllib3
from sqlalchemy import select
from sqlalchemy.orm import Session
from urllib3.exceptions import (ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError,
                                ReadTimeoutError, SSLError)

from app.errors import DomainError
from app.rental.models import Instance
from app.sla.ingestion import SampleInput, record_samples
from app.sla.models import SlaSample
from app.sla.months import whole_minute
from app.webhooks.deadlines import TrackedHTTPConnectionPool, TrackedHTTPSConnectionPool, Watchdog
from app.webhooks.targets import AllowPrivate, Target, TargetRefused, check_url, resolve

log = logging.getLogger(__name__)

SOURCE = "probe"
WORKERS = 16
USER_AGENT = "MatrixPortal-Probe/1.0"
# How long past its own deadline the run waits for a check (a resolver that hangs has no timeout of ours).
GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    """What a worker thread needs: plain values, no ORM object crosses threads."""

    public_id: str
    org_id: int
    url: str


@dataclass(frozen=True)
class CheckResult:
    instance: str  # ins_… public id
    org_id: int
    available: bool
    status_code: int | None = None
    reason: str | None = None  # why it is down (never the URL's query string)
    duration_ms: int = 0


@dataclass
class ProbeRun:
    minute: datetime
    results: list[CheckResult] = field(default_factory=list)
    already_probed: int = 0  # instances with a probe sample for this minute before the run
    recorded: int = 0
    duplicates: int = 0
    not_recorded: int = 0  # refused by ingestion (logged)

    @property
    def probed(self) -> int:
        return len(self.results)

    @property
    def up(self) -> int:
        return sum(1 for result in self.results if result.available)

    @property
    def down(self) -> int:
        return self.probed - self.up

    def as_dict(self) -> dict:
        return {"minute": self.minute.isoformat(), "probed": self.probed, "up": self.up, "down": self.down,
                "already_probed": self.already_probed, "recorded": self.recorded, "duplicates": self.duplicates,
                "not_recorded": self.not_recorded}


def shown_url(url: str) -> str:
    """The URL without its query string (it may carry a token), for logs and messages."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")
    except ValueError:
        return "<not a valid URL>"


def probe_instances(session: Session, now: datetime, *, allow: AllowPrivate, timeout: float = 3.0,
                    ca_bundle: str | None = None, workers: int = WORKERS) -> ProbeRun:
    """Probe every running instance with a health URL once for the minute of `now`; the caller commits."""
    run = ProbeRun(whole_minute(now))
    checks, run.already_probed = _due_checks(session, run.minute)
    run.results = check_all(checks, allow=allow, timeout=timeout, ca_bundle=ca_bundle, workers=workers)
    urls = {check.public_id: check.url for check in checks}
    for result in run.results:
        if not result.available:
            log.info("Probe of instance %s (%s) down: %s", result.instance, shown_url(urls[result.instance]),
                     result.reason)
    _record(session, run)
    return run


def _due_checks(session: Session, minute: datetime) -> tuple[list[Check], int]:
    instances = session.execute(
        select(Instance.id, Instance.public_id, Instance.org_id, Instance.health_url)
        .where(Instance.status == "running", Instance.health_url.is_not(None), Instance.health_url != "")
        .order_by(Instance.id)).all()
    done = set(session.scalars(select(SlaSample.instance_id).where(
        SlaSample.source == SOURCE, SlaSample.sampled_at == minute,
        SlaSample.instance_id.in_([row.id for row in instances])))) if instances else set()
    checks = [Check(row.public_id, row.org_id, row.health_url) for row in instances if row.id not in done]
    return checks, len(done)


def check_all(checks: list[Check], *, allow: AllowPrivate, timeout: float, ca_bundle: str | None = None,
              workers: int = WORKERS) -> list[CheckResult]:
    """Run the checks concurrently; a check still running well past its deadline counts as down."""
    if not checks:
        return []
    fetcher = _Fetcher(allow, timeout, ca_bundle)
    executor = ThreadPoolExecutor(max_workers=min(workers, len(checks)), thread_name_prefix="sla-probe")
    try:
        futures = [executor.submit(fetcher.check, check) for check in checks]
        rounds = math.ceil(len(checks) / min(workers, len(checks)))
        done, _ = wait(futures, timeout=rounds * timeout + GRACE_SECONDS)
        results = []
        for check, future in zip(checks, futures):
            if future not in done:
                results.append(_down(check, f"no answer within {timeout:g} s"))
            elif future.exception() is not None:
                log.exception("Probe of instance %s failed", check.public_id, exc_info=future.exception())
                results.append(_down(check, f"probe error: {type(future.exception()).__name__}"))
            else:
                results.append(future.result())
        return results
    finally:
        fetcher.close()
        executor.shutdown(wait=False, cancel_futures=True)


def _record(session: Session, run: ProbeRun) -> None:
    """One batch per organization, each in a savepoint: one organization's refusal keeps the others'."""
    by_org: dict[int, list[SampleInput]] = defaultdict(list)
    for result in run.results:
        by_org[result.org_id].append(SampleInput(instance=result.instance, timestamp=run.minute,
                                                 available=result.available))
    for org_id, samples in sorted(by_org.items()):
        try:
            with session.begin_nested():
                batch = record_samples(session, org_id, samples, source=SOURCE)
        except DomainError as error:
            log.warning("Probe samples of organization %s not recorded: %s (%s)", org_id, error.message,
                        error.field)
            run.not_recorded += len(samples)
            continue
        run.recorded += batch.recorded
        run.duplicates += batch.duplicates


def _down(check: Check, reason: str, status_code: int | None = None, duration_ms: int = 0) -> CheckResult:
    return CheckResult(check.public_id, check.org_id, False, status_code, reason, duration_ms)


class _Fetcher:
    """GETs a health URL at its checked address, within a hard deadline. Thread-safe: a pool per check."""

    def __init__(self, allow: AllowPrivate, timeout: float, ca_bundle: str | None):
        self.allow, self.timeout, self.ca_bundle = allow, timeout, ca_bundle
        self._watchdog = Watchdog()
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._watchdog.close()

    def check(self, check: Check) -> CheckResult:
        started = time.monotonic()
        try:
            target = check_url(check.url, self.allow)
            address = resolve(target, self.allow)
        except TargetRefused as refused:
            return _down(check, f"refused: {refused.message}")
        if self._closed:  # the run gave up on this check while it resolved: send nothing now
            return _down(check, f"no answer within {self.timeout:g} s")
        pool = self._pool(target, address)
        attempt = self._watchdog.begin(started + self.timeout)
        try:
            response = pool.urlopen("GET", target.path, headers=self._headers(target), redirect=False,
                                    retries=False, preload_content=False, assert_same_host=False)
            status = response.status
            response.close()  # the body does not matter; never read an unbounded answer
        except (HTTPError, OSError) as error:
            cut = self._watchdog.end(attempt)
            reason = f"no answer within {self.timeout:g} s" if cut else _reason(error, self.timeout)
            return _down(check, reason, duration_ms=_ms_since(started))
        finally:
            pool.close()
        self._watchdog.end(attempt)
        elapsed = _ms_since(started)
        if elapsed > self.timeout * 1000:
            return _down(check, f"answered after {self.timeout:g} s", status, elapsed)
        if 200 <= status < 300:
            return CheckResult(check.public_id, check.org_id, True, status, None, elapsed)
        reason = f"HTTP {status} (redirects are not followed)" if 300 <= status < 400 else f"HTTP {status}"
        return _down(check, reason, status, elapsed)

    def _pool(self, target: Target, address: str) -> urllib3.HTTPConnectionPool:
        common = dict(port=target.port, maxsize=1, retries=False,
                      timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout))
        if target.scheme == "https":
            # Connect to the checked address; verify the certificate (and send SNI) for the name in the URL.
            return TrackedHTTPSConnectionPool(address, server_hostname=target.host, assert_hostname=target.host,
                                              cert_reqs="CERT_REQUIRED", ca_certs=self.ca_bundle, **common)
        return TrackedHTTPConnectionPool(address, **common)

    @staticmethod
    def _headers(target: Target) -> dict[str, str]:
        host = target.host if ":" not in target.host else f"[{target.host}]"
        if target.port != (443 if target.scheme == "https" else 80):
            host += f":{target.port}"
        return {"host": host, "user-agent": USER_AGENT, "accept": "*/*", "connection": "close"}


def _reason(error: Exception, timeout: float) -> str:
    """A short cause; urllib3's own messages are kept only where they cannot contain the request's path."""
    if isinstance(error, NewConnectionError):  # before the timeouts: urllib3 makes it a ConnectTimeoutError
        return f"could not connect: {str(error).rsplit(': ', 1)[-1][:200]}"
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(error, SSLError):
        return f"TLS error: {str(error)[:200]}"
    if isinstance(error, ProtocolError):
        return "connection closed without an answer"
    return f"network error: {type(error).__name__}"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
