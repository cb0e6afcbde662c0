"""The demo's stand-in for a team's alert receiver: a webhook endpoint on loopback that
accepts Apollo's notifications and keeps the last ones, so the whole alert path (SLO →
evaluation → outbox → delivery) runs in the demo without an outside service."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEPT = 200  # notifications remembered


class WebhookSink:
    """`start()` binds a free loopback port; `url` is the address to notify."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.received: deque[dict[str, Any]] = deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/alerts"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20))
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with sink._lock:
                    sink.received.append(payload)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo's terminal tells deliveries from the store's attempts

        return Handler

    def start(self) -> WebhookSink:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="demo-webhook-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
