"""A hard deadline for each delivery attempt.

urllib3's timeouts bound each socket operation, not the attempt: a receiver
that trickles one byte a second (headers or body) never trips a 15 s read
timeout and could hold a worker for hours. A `Watchdog` thread per Sender
shuts down the socket of any attempt still running at its deadline; the
blocked read then fails at once and the attempt is recorded as a timeout.

The pools use connection classes that tell the watchdog which connection the
current thread's attempt is using (set on connect and on every request, so
kept-alive connections are tracked too).
"""
from __future__ import annotations

import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Attempt:
    """One attempt under watch: its deadline, its connection, whether it was cut."""

    __slots__ = ("deadline", "connection", "cut")

    def __init__(self, deadline: float):
        self.deadline, self.connection, self.cut = deadline, None, False


def _note(connection) -> None:
    attempt = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.connection = connection


class _Tracked:
    def connect(self):
        _note(self)
        return super().connect()

    def request(self, *args, **kwargs):
        _note(self)
        return super().request(*args, **kwargs)


class TrackedHTTPConnection(_Tracked, HTTPConnection):
    pass


class TrackedHTTPSConnection(_Tracked, HTTPSConnection):
    pass


class TrackedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = TrackedHTTPConnection


class TrackedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = TrackedHTTPSConnection


class Watchdog:
    """Cuts off attempts that outlive their deadline (checked every `tick` s)."""

    def __init__(self, tick: float = 0.05):
        self._attempts: set[Attempt] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(tick,), daemon=True, name="webhook-deadlines")
        self._thread.start()

    def begin(self, deadline: float) -> Attempt:
        attempt = Attempt(deadline)
        _current.attempt = attempt
        with self._lock:
            self._attempts.add(attempt)
        return attempt

    def end(self, attempt: Attempt) -> bool:
        """Stop watching (before the connection goes back to the pool). True if it was cut."""
        _current.attempt = None
        with self._lock:
            self._attempts.discard(attempt)
            return attempt.cut

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self, tick: float) -> None:
        while not self._stop.wait(tick):
            now = time.monotonic()
            with self._lock:  # under the lock: end() cannot hand the connection on meanwhile
                for attempt in self._attempts:
                    if attempt.deadline <= now and not attempt.cut:
                        attempt.cut = True
                        sock = getattr(attempt.connection, "sock", None)
                        if sock is not None:
                            try:  # the plain socket method: for TLS too, without touching the SSL object
                                socket.socket.shutdown(sock, socket.SHUT_RDWR)
                            except OSError:
                                pass
