"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that
records every request and answers as the test tells it (status, delay,
Retry-After, a huge body, a connection reset). Given an `ssl.SSLContext` it
serves HTTPS instead (see `tls_context`), for the certificate tests."""
from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the socket with RST instead of answering
    # A slow-loris receiver: the answer goes out one byte every `trickle`
    # seconds (each gap shorter than any read timeout), the status line and
    # headers too unless `trickle_body_only`; after `trickle_for` seconds it
    # gives up and closes the connection.
    trickle: float = 0.0
    trickle_body_only: bool = False
    trickle_for: float = 4.5


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


def tls_context(ca, *names: str) -> ssl.SSLContext:
    """A server context with a certificate for `names`, issued by `ca` (a trustme.CA)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


class Receiver:
    """Start with `with Receiver() as r:`; `r.url` is where to send.

    With `tls=<server SSLContext>` it speaks HTTPS and `r.url` names `host`
    (the name its certificate is for) instead of 127.0.0.1; it still listens
    on 127.0.0.1 only.
    """

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "localhost"):
        self.requests: list[Received] = []
        self.replies: list[Reply] = []  # consumed in order; then `default`
        self.default = Reply()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def setup(self):
                with receiver._lock:
                    receiver.connections += 1
                if receiver.tls:
                    try:  # here, not in accept(): a client refusing the certificate must not stall the loop
                        self.request.do_handshake()
                    except OSError:  # ssl.SSLError included
                        with receiver._lock:
                            receiver.tls_failures += 1
                        raise
                super().setup()

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                reply = receiver._record(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body, time.time()))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.trickle:
                    self._trickle(reply)
                    return
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _trickle(self, reply: Reply):
                self.close_connection = True
                head = f"HTTP/1.1 {reply.status} Slow\r\ncontent-length: {len(reply.body)}\r\n\r\n".encode()
                data, stop = head + reply.body, time.monotonic() + reply.trickle_for
                try:
                    if reply.trickle_body_only:
                        self.wfile.write(head)
                        self.wfile.flush()
                        data = reply.body
                    for index in range(len(data)):
                        if time.monotonic() > stop:
                            break
                        self.wfile.write(data[index:index + 1])
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                except OSError:  # the client gave up first: that is the point
                    pass

        self.tls = tls is not None
        self.connections = 0  # TCP connections accepted (keep-alive reuses them)
        self.tls_failures = 0  # handshakes that failed (a client refusing our certificate)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
            self.server.handle_error = lambda request, address: None  # failed handshakes are expected
            self.url = f"https://{host}:{self.port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, received: Received) -> Reply:
        with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
            return self.replies.pop(0) if self.replies else self.default

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until `count` requests have arrived (or fail after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self._arrived.wait(remaining)
            return list(self.requests)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
