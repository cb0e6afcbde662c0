"""A recording HTTP sink for bench/alerting.py: every request is kept as (time, path, body).

`Sink` serves on 127.0.0.1 from an asyncio loop in a thread of this process (the
time-to-page part: a few requests a minute). `SinkProcess` runs the same sink in a child
process, so a benchmark that floods it (the outbox part) does not share this process's GIL
with it; its records come back on `records()`. Either may answer a share of the requests
with 503 (`fail_ratio`, drawn from a seeded RNG: 0.5 fails half of them).

The receive time is `time.time()` when the whole request has arrived. (A first version on
http.server answered ~22 requests a second on one connection: headers and body went out
in two writes and waited on the client's delayed ACK; with TCP_NODELAY it managed ~900 a
second, below what the outbox must be shown to deliver.)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import random
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    t: float  # Unix seconds the request arrived
    path: str
    body: Any  # the parsed JSON (or the text when it is not JSON)
    status: int  # what the sink answered


class _Recorder(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough of it: a request line, headers, a body of
    Content-Length bytes; every request answered at once (asyncio, one thread), so the sink
    keeps up with thousands of requests a second."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                return
            arrived = time.time()
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            parts = head[0].split(" ")
            path = parts[1] if len(parts) > 1 else "/"
            status = self.sink.record(arrived, path, body)
            reply = b'{"status":"unavailable"}' if status != 200 else b'{"status":"ok"}'
            reason = b"OK" if status == 200 else b"Service Unavailable"
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s"
                                 % (status, reason, len(reply), reply))


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


class Sink:
    """The sink on an asyncio loop in a thread of this process; `records()` is a snapshot,
    safe at any time. `fail_ratio` of the requests (drawn with a seeded RNG) get 503."""

    def __init__(self, fail_ratio: float = 0.0, seed: int = 1) -> None:
        self._raw: list[tuple[float, str, bytes, int]] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.fail_ratio = fail_ratio
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-sink",
                                        daemon=True)

    def record(self, arrived: float, path: str, body: bytes) -> int:
        status = 503 if self.fail_ratio and self._rng.random() < self.fail_ratio else 200
        with self._lock:
            self._raw.append((arrived, path, body, status))
        return status

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sink:
        async def serve() -> asyncio.Server:
            return await self._loop.create_server(lambda: _Recorder(self), "127.0.0.1", 0,
                                                  backlog=1024)

        self._server = self._loop.run_until_complete(serve())
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._thread.start()
        return self

    def records(self) -> list[Received]:
        with self._lock:
            raw = list(self._raw)
        return [Received(t, path, _parse(body), status) for t, path, body, status in raw]

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_child(conn: Any, fail_ratio: float, seed: int) -> None:
    sink = Sink(fail_ratio, seed).start()
    conn.send(sink.port)
    try:
        while True:
            message = conn.recv()
            if message == "records":
                conn.send([(r.t, r.path, r.body, r.status) for r in sink.records()])
            elif message == "stop":
                break
    finally:
        sink.stop()


class SinkProcess:
    """The sink in a child process (spawned); stopped and joined in `stop()`."""

    def __init__(self, fail_ratio: float = 0.0, seed: int = 1) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve_child, args=(child, fail_ratio, seed),
                                   daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SinkProcess:
        self.process.start()
        if not self._conn.poll(60):
            self.stop()
            raise RuntimeError("the sink process did not start within 60 s")
        self.port = int(self._conn.recv())
        return self

    def records(self) -> list[Received]:
        self._conn.send("records")
        if not self._conn.poll(120):
            raise RuntimeError("the sink process did not answer within 120 s")
        return [Received(*r) for r in self._conn.recv()]

    def stop(self) -> None:
        with suppress(OSError, BrokenPipeError):
            self._conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)

    def __enter__(self) -> SinkProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
