"""The FastAPI application: routers under /api/v1, operations endpoints, errors as JSON.

`create_app` is all a server needs (`apollo api` runs it under uvicorn); tests build one
per store. Routes are thin: queries live in services/store, summaries in services/documents.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from services.api import errors, middleware, telemetry
from services.api.deps import ApiState
from services.api.routers import ops
from services.api.telemetry import API_PREFIX
from services.auth import Authenticator
from services.config import Settings


def create_app(settings: Settings, engine: Engine, *, clock: Callable[[], float] = time.time,
               authenticator: Authenticator | None = None) -> FastAPI:
    """The API over `engine`; tokens and the webhook secret from the environment unless
    `authenticator` is given (a malformed APOLLO_API_TOKENS fails here, at start)."""
    from services.alerting.receiver import alertmanager_router

    app = FastAPI(
        title="Apollo Observatory API",
        version="1",
        description="SLOs, services, alerts, roadmap and costs of the platform. Times: ISO "
                    "8601, Unix seconds, `now-1h` or `-7d`; ranges are [from, to).",
    )
    auth = authenticator or Authenticator.from_env()
    app.state.apollo = ApiState(settings, engine, auth, clock)
    telemetry.install(app)
    if settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-None-Match"])
    layers = middleware.install(app, settings)
    app.state.layers = layers if callable(layers) else (lambda: layers)
    errors.install(app)  # the store unavailable: 503 with Retry-After, not 500
    app.include_router(ops.router)
    for router in _resource_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(alertmanager_router(engine, auth, clock))
    return app


def _resource_routers() -> list:  # type: ignore[type-arg]
    """Every resource router present (one module per resource under routers/)."""
    import importlib
    import pkgutil

    from services.api import routers

    found = []
    for info in sorted(pkgutil.iter_modules(routers.__path__), key=lambda i: i.name):
        if info.name == "ops":
            continue
        module = importlib.import_module(f"services.api.routers.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            found.append(router)
    return found
