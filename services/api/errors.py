"""The store unavailable is `503` with `Retry-After`, never a `500`.

A route (or its `connection` dependency) that meets the store down, restarting, out of
connections or locked gets `503 {"detail": "the store is unavailable (…); retry in N s"}`
with `Retry-After: N` and `Cache-Control: no-store` (the response cache keeps only `200`s
anyway). What counts is `services.store.outage.store_unavailable`: a bad statement or a
refused row is a bug and stays a `500` with its traceback. The answer names the error's
type only (as `/ready` does); the log says more, in one warning line per minute at most.
Every /api/v1 operation declares the `503` in the OpenAPI document.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from services.api.telemetry import API_PREFIX
from services.errors import StoreError
from services.store.outage import (
    store_unavailable,
    unavailable_detail,
    unavailable_headers,
)

log = logging.getLogger(__name__)
LOG_EVERY_S = 60.0  # one warning line per this while the store stays unavailable
DESCRIPTION = "The store or the configured SLO files cannot be read; retry"


class _Throttle:
    """One warning line per LOG_EVERY_S, counting the 503s between them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._since_last = 0

    def warn(self, reason: str, route: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._since_last += 1
            if now - self._last < LOG_EVERY_S:
                return
            count, self._since_last, self._last = self._since_last, 0, now
        log.warning("store unavailable, answering 503 (%s: %s; %d answers since the last "
                    "line)", route, reason, count)


def install(app: FastAPI) -> None:
    """Map store outages to 503 and declare the 503 on every /api/v1 operation."""
    throttle = _Throttle()

    async def store_failure(request: Request, exc: Exception) -> JSONResponse:
        reason = store_unavailable(exc)
        if reason is None:
            raise exc  # a bug: the server's 500, with its traceback in the log
        throttle.warn(reason, f"{request.method} {request.url.path}")
        return JSONResponse({"detail": unavailable_detail(exc)}, status_code=503,
                            headers=unavailable_headers())

    app.add_exception_handler(SQLAlchemyError, store_failure)
    app.add_exception_handler(StoreError, store_failure)
    _document_503(app)


def _document_503(app: FastAPI) -> None:
    """Every /api/v1 operation reads or writes the store, so any may answer 503."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        retry_after = {"description": "Seconds to wait before trying again (a store "
                                      "outage).", "schema": {"type": "integer"}}
        default = {"description": DESCRIPTION, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}}
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", {
            "title": "Problem", "description": "Why a request was refused.", "type": "object",
            "required": ["detail"], "properties": {"detail": {"type": "string",
                                                              "title": "Detail"}}})
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(API_PREFIX + "/"):
                continue
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    answer = operation["responses"].setdefault("503", dict(default))
                    answer.setdefault("headers", {}).setdefault("Retry-After", retry_after)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
