"""A recording HTTP sink on loopback: the receiver at the end of every alert path in tests.

    with RecordingSink() as sink:                  # 127.0.0.1, a free port
        httpx.post(sink.url + "/hook", json={...})
        sink.wait_for(lambda reqs: len(reqs) >= 1, timeout=10)
        sink.requests[0].json

Every request (any method) is recorded with its method, path, headers, body bytes, parsed
JSON (None when the body is not JSON), the time it arrived and the status it got, under a
lock; `wait_for` wakes as each one arrives. Answers are 200 unless told otherwise:

- `fail_next(n, status=503)`: the next n requests get `status`;
- `fail_share(share, status=503)`: a deterministic share of the requests from now on get
  `status` (0.5: the 2nd, 4th, 6th…; 0.25: every 4th), the rest 200;
- `respond_ok()`: back to 200 for everything.

`stop()` closes the listening socket and every open connection (a client's kept-alive
connection too), so the next request is refused as by a receiver that is down; `start()`
listens again on the same port. HTTP/1.1 with keep-alive, one thread per connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .servers import LOOPBACK, HarnessError

MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sink saw it."""

    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    json: Any  # the parsed body, None when it is not JSON
    received_at: float  # time.time() when it was read
    status: int  # what the sink answered

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Predicate = Callable[[list[RecordedRequest]], bool]


class RecordingSink:
    """An HTTP server on 127.0.0.1 that records every request; see the module docstring."""

    def __init__(self, *, port: int | None = None, host: str = LOOPBACK) -> None:
        self.host = host
        self.port = port or 0  # 0: the OS picks at the first start, kept for restarts
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._fail_next = 0
        self._fail_next_status = 503
        self._share = Fraction(0)
        self._share_status = 503
        self._share_seen = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self.port:
            raise HarnessError("sink: not started yet, so it has no port")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> RecordingSink:
        """Listen (again, on the same port after a stop)."""
        if self._server is not None:
            return self
        try:
            server = _Server((self.host, self.port), _handler_for(self))
        except OSError as exc:
            raise HarnessError(f"sink: cannot listen on {self.host}:{self.port}: {exc}") from exc
        server.sink = self
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                         name=f"sink-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: the listening socket and every open connection are closed."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if thread is not None:
            thread.join(timeout=5.0)

    def __enter__(self) -> RecordingSink:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- answers ------------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next `n` requests get `status` (before any share applies)."""
        with self._lock:
            self._fail_next, self._fail_next_status = n, status

    def fail_share(self, share: float, status: int = 503) -> None:
        """From now on, a deterministic `share` (0..1) of the requests get `status`: request
        i (counted from this call, from 1) fails when floor(i·share) > floor((i-1)·share)."""
        if not 0 <= share <= 1:
            raise ValueError(f"sink: share {share} is not between 0 and 1")
        with self._lock:
            self._share = Fraction(share).limit_denominator(1_000_000)
            self._share_status, self._share_seen = status, 0

    def respond_ok(self) -> None:
        """Every request gets 200 again."""
        with self._lock:
            self._fail_next, self._share, self._share_seen = 0, Fraction(0), 0

    def _next_status(self) -> int:  # called with the lock held
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._fail_next_status
        if self._share:
            self._share_seen += 1
            i = self._share_seen
            if int(i * self._share) > int((i - 1) * self._share):
                return self._share_status
        return 200

    # --- what arrived -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request recorded so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def delivered(self) -> list[RecordedRequest]:
        """The requests that got a 2xx answer."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(self, predicate: Predicate, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until `predicate(requests)` is true, at most `timeout` seconds; returns the
        requests then. Raises HarnessError (saying how many arrived) when time runs out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError(f"sink {self.port}: condition not met within {timeout}s "
                                       f"({len(self._requests)} requests recorded)")
                self._lock.wait(min(left, 0.5))
            return list(self._requests)

    def wait_for_count(self, n: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least `n` requests arrived (see wait_for)."""
        return self.wait_for(lambda reqs: len(reqs) >= n, timeout)

    # --- called by the handler ----------------------------------------------------------

    def _record(self, method: str, path: str, headers: Mapping[str, str],
                body: bytes) -> int:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            status = self._next_status()
            self._requests.append(RecordedRequest(method, path, dict(headers), body, parsed,
                                                  time.time(), status))
            self._lock.notify_all()
        return status

    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sink: RecordingSink

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (or a connection stop() closed) is no error of ours."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handle_error(request, client_address)


def _handler_for(sink: RecordingSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as httpx's pool expects
        disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stalls)

        def setup(self) -> None:
            super().setup()
            sink._opened(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                sink._closed(self.connection)

        def _handle(self) -> None:
            body = self._read_body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = sink._record(self.command, self.path, headers, body)
            reply = json.dumps({"ok": status < 400, "status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the recorded requests are the log

    return Handler
