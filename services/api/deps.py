"""What every route needs: a store connection, who is calling, the time range, labels,
pages, and JSON answers with ETags (`304 Not Modified` when the caller has them)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from sqlalchemy import Connection, Engine

from services.auth import Authenticator, AuthError
from services.config import Settings
from services.errors import InputError
from services.files import slo_catalog
from services.timerange import TimeRange, parse_range
from slo.model import SLO

MAX_PAGE = 1000


@dataclass
class ApiState:
    """What the app holds for its routes (app.state.apollo)."""

    settings: Settings
    engine: Engine
    authenticator: Authenticator
    clock: Callable[[], float]
    _slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = field(
        default_factory=weakref.WeakKeyDictionary, repr=False)

    def store_slots(self) -> asyncio.Semaphore:
        """As many slots as the engine's pool holds connections (one semaphore per event
        loop: test clients run a loop per client)."""
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(pool_capacity(self.engine))
        return slots


def pool_capacity(engine: Engine) -> int:
    """Connections the engine's pool hands out before a checkout waits."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if not callable(size):  # NullPool, StaticPool, SingletonThreadPool: no queue to wait on
        return 64
    return max(1, size() + max(0, overflow))


def state(request: Request) -> ApiState:
    return request.app.state.apollo  # type: ignore[no-any-return]


async def connection(request: Request) -> AsyncIterator[Connection]:
    """A read connection to the store for one request.

    A request first waits, on the event loop, for one of the pool's slots, and only then
    takes a thread to check its connection out. Checking out inside a worker thread and
    waiting there deadlocked under load: with more requests in flight than threads plus
    connections, every thread waited for a connection held by a request that waited for a
    thread, until the pool's timeout turned them into 500s."""
    s = state(request)
    async with s.store_slots():
        conn = await to_thread.run_sync(s.engine.connect)
        try:
            yield conn
        finally:
            await to_thread.run_sync(conn.close)


def _auth_failure(exc: AuthError) -> HTTPException:
    from services.alerting.receiver import auth_failure

    return auth_failure(exc)


def require_read(request: Request) -> str | None:
    """Reads are open unless `api.require_token_for_reads`; then a read (or write) token."""
    s = state(request)
    if not s.settings.api.require_token_for_reads:
        return None
    tokens = s.authenticator.tokens
    if tokens is None:
        raise HTTPException(401, "reads need a token and none is configured",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        return tokens.check(request.headers.get("authorization"), "read")
    except AuthError as exc:
        raise _auth_failure(exc) from None


def require_write(request: Request) -> str:
    """Writes always need a bearer token with scope write."""
    tokens = state(request).authenticator.tokens
    if tokens is None:
        raise HTTPException(401, "writes need a token and none is configured "
                                 "(APOLLO_API_TOKENS)", headers={"WWW-Authenticate": "Bearer"})
    try:
        return tokens.check(request.headers.get("authorization"), "write")
    except AuthError as exc:
        raise _auth_failure(exc) from None


Conn = Annotated[Connection, Depends(connection)]
Reader = Annotated[str | None, Depends(require_read)]
Writer = Annotated[str, Depends(require_write)]


def time_range(
    request: Request,
    start: Annotated[str, Query(alias="from", description="Start: ISO 8601, Unix seconds, "
                                "now-24h or -7d.", max_length=64)] = "now-24h",
    end: Annotated[str, Query(alias="to", description="End (excluded), same forms.",
                              max_length=64)] = "now",
) -> TimeRange:
    """[from, to) in whole minutes, relative forms read against one `now`."""
    try:
        return parse_range(start, end, state(request).clock(), fields=("from", "to"))
    except InputError as exc:
        raise bad_parameter(exc.field or "from", exc.reason) from None


Range = Annotated[TimeRange, Depends(time_range)]


def configured_slos(settings: Settings) -> list[SLO]:
    """The SLOs of `settings.slo_files` (`files.slo_catalog`: parsed again only when a file
    changes); 503 naming every file, line and field when they do not load."""
    try:
        return slo_catalog(settings.slo_files)
    except InputError as exc:  # InputErrors too: every problem of every file
        raise HTTPException(503, detail=f"the configured slo_files do not load: {exc}"
                            ) from None


@dataclass(frozen=True)
class Labels:
    """Label filters every list takes: team, environment, service, and any `label=k=v`."""

    team: str | None = None
    environment: str | None = None
    service: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, str]:
        out = dict(self.extra)
        for k in ("team", "environment"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        return out

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` (a service's or an SLO's, `service` among them) hold every
        pair asked for; an empty team, environment or service asks nothing."""
        if self.service and labels.get("service") != self.service:
            return False
        return all(labels.get(k) == v for k, v in self.as_dict().items())


def labels(
    team: Annotated[str | None, Query(max_length=200)] = None,
    environment: Annotated[str | None, Query(max_length=200)] = None,
    service: Annotated[str | None, Query(max_length=200)] = None,
    label: Annotated[list[str] | None, Query(description="key=value, repeatable.",
                                             max_length=50)] = None,
) -> Labels:
    extra = []
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise bad_parameter("label", f"expected key=value, got {item[:64]!r}")
        extra.append((key, value))
    return Labels(team, environment, service, tuple(extra))


LabelFilter = Annotated[Labels, Depends(labels)]


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int

    def slice(self, items: list[Any]) -> tuple[list[Any], int]:
        return items[self.offset:self.offset + self.limit], len(items)


def page(limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> PageParams:
    return PageParams(limit, offset)


Paging = Annotated[PageParams, Depends(page)]


def bad_parameter(name: str, reason: str) -> HTTPException:
    """422 naming the parameter, in FastAPI's own error shape."""
    return HTTPException(422, detail=[{"loc": ["query", name], "msg": reason,
                                       "type": "value_error"}])


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_response(request: Request, payload: Any, *, status_code: int = 200) -> Response:
    """JSON (NaN and ±Inf as null) with a strong ETag; `304` when If-None-Match has it."""
    body = json.dumps(_finite(jsonable_encoder(payload)), separators=(",", ":"),
                      ensure_ascii=False).encode()
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("if-none-match", "")
    if status_code == 200 and tag in {t.strip() for t in wanted.split(",")} | (
            {tag} if wanted.strip() == "*" else set()):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type="application/json",
                    headers=headers)
