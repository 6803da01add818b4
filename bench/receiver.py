"""A fast webhook receiver for the benchmark: `python -m bench.receiver`.

It runs in its own process (so it never shares a GIL with the benchmark
driver or the workers), speaks just enough HTTP/1.1 with keep-alive on
asyncio, answers every POST `200 ok` at once, and remembers when each
`webhook-id` first arrived (wall clock, comparable with the events'
`created_at`). It prints its port on the first line of stdout.

Control requests on the same port: `GET /_stats` -> {"total", "unique"},
`GET /_arrivals` -> {webhook-id: first arrival (epoch seconds)},
`POST /_reset` forgets everything.
"""
from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


class State:
    def __init__(self):
        self.total = 0
        self.first: dict[str, float] = {}

    def reset(self) -> None:
        self.total = 0
        self.first = {}


def _reply(body: bytes, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


class Hook(asyncio.Protocol):
    """One client connection; requests may arrive pipelined or in pieces."""

    def __init__(self, state: State):
        self.state = state
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            total = end + 4 + int(headers.get("content-length") or 0)
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            method, _, rest = lines[0].partition(" ")
            path = rest.partition(" ")[0]
            self.transport.write(self.handle(method, path, headers))
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                return

    def handle(self, method: str, path: str, headers: dict) -> bytes:
        state = self.state
        if method == "POST" and not path.startswith("/_"):
            state.total += 1
            webhook_id = headers.get("webhook-id")
            if webhook_id and webhook_id not in state.first:
                state.first[webhook_id] = time.time()
            return OK
        if path == "/_stats":
            return _reply(json.dumps({"total": state.total, "unique": len(state.first)}).encode())
        if path == "/_arrivals":
            return _reply(json.dumps(state.first).encode())
        if path == "/_reset":
            state.reset()
            return _reply(b"{}")
        return _reply(b"{}", "404 Not Found")


async def main() -> None:
    state = State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Hook(state), "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
