"""Serving the fleet: one /metrics listener per service, and a control endpoint for faults.

Control API (JSON, on its own port):
    GET    /                      services, their /metrics URLs and active faults
    POST   /faults/{slug}         {"kind": "error_burst", "rate": 0.2, "duration": "5m"}
                                  {"kind": "latency", "factor": 3, "duration": "10m"}
                                  {"kind": "down", "duration": "2m"}
    DELETE /faults/{slug}[?kind=K] clear one kind, or every fault of the service

A fault starts when it is posted and ends after its duration or when cleared, whichever
comes first; traffic is split at both times (the answer carries `start` and `until`, Unix
seconds). A clear ends a fault at the clear time: the errors it already caused stay.

A `down` service really stops listening (connections are refused) and comes back as a
fresh process whose counters start from zero, as a crashed and restarted service would.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from services.errors import PortInUseError
from services.fleet.faults import Fault, FaultBoard
from services.fleet.simulator import ServiceProfile, ServiceSimulator, metrics_page
from slo.durations import parse_duration

log = logging.getLogger(__name__)
Clock = Callable[[], float]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _bind(host: str, port: int, what: str, handler: type[BaseHTTPRequestHandler]) -> _Server:
    try:
        return _Server((host, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port, what) from exc
        raise


def _serve(server: _Server, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True,
                              kwargs={"poll_interval": 0.1})
    thread.start()
    return thread


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except ConnectionError:  # the scraper gave up (its timeout): nobody to answer
            log.debug("%s went away before its answer", self.address_string())
            self.close_connection = True

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload, indent=1).encode(), "application/json")


class ServiceEndpoint:
    """One service's listener; stopped and started again by `down` faults."""

    def __init__(self, simulator: ServiceSimulator, host: str, port: int, clock: Clock) -> None:
        self.simulator = simulator
        self.host = host
        self.clock = clock
        self.server: _Server | None = None
        self.port = port
        self._lock = threading.Lock()

    @property
    def slug(self) -> str:
        return self.simulator.profile.slug

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    @property
    def running(self) -> bool:
        return self.server is not None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                path = urlparse(self.path).path
                if path == "/metrics":
                    body = metrics_page(endpoint.simulator, endpoint.clock())
                    self._send(200, body, CONTENT_TYPE)
                elif path in ("/health", "/ready"):
                    self._json(200, {"status": "ok", "service": endpoint.slug})
                else:
                    self._json(404, {"error": f"no page {path}; try /metrics"})

        return Handler

    def start(self) -> None:
        with self._lock:
            if self.server is not None:
                return
            self.server = _bind(self.host, self.port, f"fleet service {self.slug}",
                                self._handler())
            self.port = self.server.server_address[1]
            _serve(self.server, f"fleet-{self.slug}")

    def stop(self) -> None:
        with self._lock:
            server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class Fleet:
    """The demo platform: simulators, their listeners, faults and the control endpoint."""

    def __init__(
        self, profiles: Sequence[ServiceProfile], *, host: str = "127.0.0.1",
        base_port: int = 0, control_port: int = 0, seed: int = 42,
        amplitude: float = 0.2, noise: float = 0.02, clock: Clock = time.time,
    ) -> None:
        self.host = host
        self.clock = clock
        self.control_port = control_port
        start = clock()
        self.endpoints: dict[str, ServiceEndpoint] = {}
        for index, profile in enumerate(profiles):
            simulator = ServiceSimulator(profile, seed=seed, start=start, amplitude=amplitude,
                                         noise=noise, faults=FaultBoard(clock))
            port = base_port + index if base_port else 0
            self.endpoints[profile.slug] = ServiceEndpoint(simulator, host, port, clock)
        self._control: _Server | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Bind every listener (all or nothing) and start serving."""
        try:
            for endpoint in self.endpoints.values():
                endpoint.start()
            self._control = _bind(self.host, self.control_port, "fleet control",
                                  self._control_handler())
        except BaseException:
            self.stop()
            raise
        self.control_port = self._control.server_address[1]
        _serve(self._control, "fleet-control")
        self._watcher = threading.Thread(target=self._watch, name="fleet-faults", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        for endpoint in self.endpoints.values():
            endpoint.stop()
        if self._control is not None:
            self._control.shutdown()
            self._control.server_close()
            self._control = None

    def __enter__(self) -> Fleet:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------

    def endpoint(self, slug: str) -> ServiceEndpoint:
        try:
            return self.endpoints[slug]
        except KeyError:
            known = ", ".join(self.endpoints)
            raise KeyError(f"no service {slug!r} in the fleet; known: {known}") from None

    def inject(self, slug: str, fault: Fault) -> Fault:
        """Set `fault` on a service (starting now unless it says when); returns it as set."""
        fault = self.endpoint(slug).simulator.faults.set(fault)
        self._reconcile()
        return fault

    def clear(self, slug: str, kind: str | None = None) -> list[Fault]:
        """End a service's faults (of `kind`, or all) now; returns the faults ended."""
        ended = self.endpoint(slug).simulator.faults.clear(kind, now=self.clock())
        self._reconcile()
        return ended

    def _reconcile(self) -> None:
        """Stop services that are down, bring back (as fresh processes) those that are not."""
        now = self.clock()
        for endpoint in self.endpoints.values():
            down = endpoint.simulator.faults.is_down(now)
            if down and endpoint.running:
                endpoint.stop()
            elif not down and not endpoint.running:
                endpoint.simulator.restart(now)
                endpoint.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self._reconcile()
            except Exception:  # keep the fleet alive; the next pass retries
                log.exception("fleet fault watcher")

    # -- views -------------------------------------------------------------------------

    @property
    def control_url(self) -> str:
        return f"http://{self.host}:{self.control_port}"

    @property
    def urls(self) -> dict[str, str]:
        return {slug: endpoint.url for slug, endpoint in self.endpoints.items()}

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "control_url": self.control_url,
            "services": [
                {
                    "slug": e.slug,
                    "name": e.simulator.profile.name,
                    "metrics_url": e.url,
                    "up": e.running,
                    "faults": [f.to_json() for f in e.simulator.faults.active(now).values()],
                }
                for e in self.endpoints.values()
            ],
        }

    def _control_handler(self) -> type[BaseHTTPRequestHandler]:
        fleet = self

        class Handler(_Quiet):
            def _slug(self) -> str | None:
                parts = urlparse(self.path).path.strip("/").split("/")
                if len(parts) != 2 or parts[0] != "faults":
                    self._json(404, {"error": "expected /faults/{service}"})
                    return None
                if parts[1] not in fleet.endpoints:
                    self._json(404, {"error": f"no service {parts[1]!r}",
                                     "known": list(fleet.endpoints)})
                    return None
                return parts[1]

            def do_GET(self) -> None:
                if urlparse(self.path).path in ("/", "/services", "/health"):
                    self._json(200, fleet.state())
                else:
                    self._json(404, {"error": "try GET /"})

            def do_POST(self) -> None:
                slug = self._slug()
                if slug is None:
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    fault = fault_from_json(json.loads(self.rfile.read(length) or b"{}"),
                                            now=fleet.clock())
                except (ValueError, TypeError) as exc:
                    self._json(400, {"error": str(exc)})
                    return
                fault = fleet.inject(slug, fault)
                self._json(201, {"service": slug, "fault": fault.to_json()})

            def do_DELETE(self) -> None:
                slug = self._slug()
                if slug is None:
                    return
                kind = parse_qs(urlparse(self.path).query).get("kind", [None])[0]
                ended = fleet.clear(slug, kind)
                self._json(200, {"service": slug, "cleared": kind or "all",
                                 "ended": [f.to_json() for f in ended]})

        return Handler


def fault_from_json(body: object, *, now: float) -> Fault:
    """A fault from the control API's JSON body; errors name the field."""
    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object")
    unknown = set(body) - {"kind", "rate", "factor", "duration"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown field")
    if "kind" not in body:
        raise ValueError("kind: required (error_burst, latency or down)")
    try:
        duration = parse_duration(body.get("duration", "5m")).total_seconds()
    except ValueError as exc:
        raise ValueError(f"duration: {exc}") from None
    if duration <= 0:
        raise ValueError("duration: must be positive")
    return Fault(kind=body["kind"], start=now, until=now + duration,
                 rate=float(body.get("rate", 0)), factor=float(body.get("factor", 1)))
