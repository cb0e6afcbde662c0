"""The API's own metrics: requests by route and status, and their latency."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram

API_PREFIX = "/api/v1"  # where app.create_app mounts the resource routers
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("apollo_api_requests", "API requests by route template, method and status.",
                   ["route", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("apollo_api_request_duration_seconds", "API request latency by route.",
                    ["route"], registry=REGISTRY,
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))


def install(app: FastAPI) -> None:
    """Count every request under its route template (never the raw path: bounded labels)."""

    @app.middleware("http")
    async def observe(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500  # a route that raises is an error the SLO must see
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            template = route_template(request)
            LATENCY.labels(template).observe(time.perf_counter() - started)
            REQUESTS.labels(template, request.method, str(status)).inc()


def route_template(request: Request) -> str:
    """The matched route's path with its mount prefix (`/api/v1/slos/{slo_id}`), never the
    raw path; `unmatched` for a 404 outside every route."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path is None:
        return "unmatched"
    # a router included with a prefix keeps its own paths (FastAPI >= 0.115)
    if request.url.path.startswith(API_PREFIX + "/") and not path.startswith(API_PREFIX):
        return API_PREFIX + path
    return str(path)
