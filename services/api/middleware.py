"""Response cache and rate limits around /api/v1, in process, shared through Redis.

One plain ASGI layer, outermost (a cached answer skips routing, dependencies and the
telemetry middleware, so it records its own request count and latency):

1. Rate limit, every /api/v1 request: per bearer token (a digest of a token the API
   accepts) or per client address (anonymous callers, and callers with a token the API
   does not know). Over the limit: `429` with `Retry-After` and a JSON reason
   (services/api/ratelimit.py).
2. Cache, GET /api/v1/* only (never /health, /ready, /metrics, never writes): a hit of the
   in-process LRU is served at once (`304` when If-None-Match names its ETag); on a miss,
   with Redis up, the answer another API process shared is fetched (one GET in a worker
   thread, 0.25 s at most), else the route answers and a `200` is kept, and shared
   (services/api/cache.py). A write through the API (`POST`, `PUT`, `PATCH`, `DELETE` with
   a 2xx/3xx answer) drops this process's entries at once and bumps the shared version.
   Requests that miss on a key whose answer another request is computing wait for that
   answer instead of computing it again (every relative key turns cold when its minute
   ends, and a dashboard's viewers all ask at once).

Redis is never waited on by a request: a sync thread (`Layers.sync_once`, every second)
reads the shared version `apollo:cache:version` (a change drops the local entries), adds
the buckets' counts of the last second and reads back the global ones, and writes the
answers queued for sharing, all in one pipeline with short timeouts. If Redis stops
answering, everything keeps working in process and `/ready` says `degraded: redis
unreachable` until a sync succeeds again. Without Redis, entries live at most
min(api.cache_ttl, 60 s): nothing tells this process that a collector wrote new minutes.

Responses carry `X-Apollo-Cache: hit` (this process), `shared` (from Redis) or `miss`
(computed and kept); answers that are not cached carry none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from services.api import cache as response_cache
from services.api import ratelimit
from services.api.cache import LOCAL_TTL_CAP_S, CachedResponse, ResponseCache, request_key
from services.api.ratelimit import RateLimiter
from services.api.telemetry import LATENCY, REQUESTS
from services.auth import AuthError, Tokens, bearer_token
from services.config import Settings
from services.store.cache_version import VERSION_KEY, redis_client

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/api/v1/"
SYNC_INTERVAL_S = 1.0  # the shared version is read, and counts exchanged, this often
SYNC_TIMEOUT_S = 0.5  # the sync thread's socket timeouts
GET_TIMEOUT_S = 0.25  # a request's one look for a shared answer, at most
MAX_PENDING_SHARES = 512  # answers waiting for the next sync to be shared (oldest dropped)
CACHE_HEADER = b"x-apollo-cache"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VARY_KEYED = frozenset({"accept", "origin", "authorization"})  # in the key, or in its scope
RATE_LIMITED_ROUTE = "rate_limited"  # the route label of a refused request
MAX_REMEMBERED_KEYS = 4096  # request keys remembered within one second
FOLLOW_TIMEOUT_S = 30.0  # a request waiting on another's answer to the same key, at most
_UNKNOWN = object()

LOCAL, REDIS = "local", "redis"
CONNECTING = "redis (connecting)"
DEGRADED = "degraded: redis unreachable"


class Layers:
    """The cache and rate-limit state of one app, and its link to Redis.

    `app.state.layers` is this object: calling it gives the state /ready shows.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time,
                 sync_interval_s: float = SYNC_INTERVAL_S) -> None:
        self.clock = clock
        self.url = settings.redis_url
        self.cache = ResponseCache()
        self.limiter = RateLimiter(settings.api.rate_limit_per_minute, shared=bool(self.url))
        self.ttl_s = settings.api.cache_ttl.total_seconds()
        self.local_ttl_s = min(self.ttl_s, LOCAL_TTL_CAP_S)
        self.sync_interval_s = sync_interval_s
        self.epoch = 0  # entries of another epoch are never served
        self.version: int | None = None  # the shared version; None while Redis is not up
        self.redis_state = CONNECTING if self.url else LOCAL
        self._bump_pending = False
        self._shares: deque[tuple[str, bytes, int]] = deque(maxlen=MAX_PENDING_SHARES)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._client = redis_client(self.url, timeout_s=SYNC_TIMEOUT_S) if self.url else None
        self._fast = redis_client(self.url, timeout_s=GET_TIMEOUT_S) if self.url else None

    def __call__(self) -> dict[str, str]:
        """What /ready shows: where the cache and the limits keep their state."""
        state = {LOCAL: LOCAL, CONNECTING: CONNECTING, "up": REDIS, "down": DEGRADED}[
            self.redis_state]
        return {"cache": state, "rate_limit": state}

    @property
    def shared(self) -> bool:
        """Whether Redis answered at the last try."""
        return self.redis_state == "up"

    def ttl(self) -> float:
        """How long an entry may be served: the configured TTL while a shared version can
        invalidate it, else at most LOCAL_TTL_CAP_S."""
        return self.ttl_s if self.shared else self.local_ttl_s

    def invalidate(self) -> None:
        """Drop this process's answers now, and bump the shared version at the next sync
        (an API write; also for in-process callers that wrote to the store)."""
        with self._lock:
            if self.url:
                self._bump_pending = True
            self._new_epoch()

    def _new_epoch(self) -> None:
        self.epoch += 1
        self.cache.clear()

    # --- the Redis link ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start the sync thread (with Redis configured; idempotent)."""
        if self.url is None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._loop, args=(self._stop,),
                                            name="apollo-api-redis-sync", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the sync thread (a last sync shares what is pending) and close clients."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout=5 * SYNC_TIMEOUT_S + self.sync_interval_s)
        for client in (self._client, self._fast):
            if client is not None:
                client.close()

    def _loop(self, stop: threading.Event) -> None:
        while True:
            try:
                self.sync_once()
            except Exception:  # a bug must not end the link: log it, try again
                log.exception("redis sync failed")
            if stop.wait(self.sync_interval_s):
                self.sync_once()
                return

    def sync_once(self) -> bool:
        """One exchange with Redis: bump (if an API write asked), read the version, add
        the rate-limit counts and read back the global ones, share queued answers. False
        (and degraded) when Redis does not answer; nothing taken is lost."""
        if self._client is None:
            return False
        now = self.clock()
        sent = self.limiter.take_unsent(now)
        shares = []
        while self._shares:
            shares.append(self._shares.popleft())
        with self._lock:
            bump, self._bump_pending = self._bump_pending, False
        window = self.limiter.window
        try:
            pipe = self._client.pipeline(transaction=False)
            if bump:
                pipe.incr(VERSION_KEY)
            pipe.get(VERSION_KEY)
            for item in sent:
                key = ratelimit.redis_key(item.minute, item.identity)
                if item.count:
                    pipe.incrby(key, item.count)
                    pipe.expire(key, 3 * window)
                else:
                    pipe.get(key)
                pipe.get(ratelimit.redis_key(item.minute - 1, item.identity))
            for key, payload, ttl in shares:
                pipe.set(key, payload, ex=ttl)
            replies = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self.limiter.return_unsent(sent)
            with self._lock:
                self._bump_pending = self._bump_pending or bump
            self._down(exc)
            return False
        at = 1 if bump else 0
        version = int(replies[at] or 0)
        at += 1
        current: list[int] = []
        previous: list[int | None] = []
        for item in sent:
            current.append(int(replies[at] or 0))
            at += 2 if item.count else 1
            previous.append(int(replies[at] or 0))
            at += 1
        self.limiter.apply_remote(sent, current, previous)
        self._up(version)
        return True

    def _up(self, version: int) -> None:
        with self._lock:
            recovered = self.redis_state != "up"
            moved = version != self.version
            self.version, self.redis_state = version, "up"
            if recovered or moved:
                self._new_epoch()
        if recovered:
            log.info("redis answers: cache and rate limits shared")

    def _down(self, exc: BaseException) -> None:
        with self._lock:
            was = self.redis_state
            self.redis_state, self.version = "down", None
            if was == "up":
                self._new_epoch()
        if was != "down":
            log.warning("redis unreachable, cache and rate limits in process: %s",
                        " ".join(str(exc).split())[:200])

    def shared_get(self, version: int, key: str, epoch: int) -> CachedResponse | None:
        """The answer another process shared under `version` (blocking: call it in a
        worker thread); None when there is none or Redis does not answer."""
        assert self._fast is not None
        try:
            data = self._fast.get(response_cache.redis_key(version, key))
        except (redis.RedisError, OSError) as exc:
            self._down(exc)
            return None
        if data is None:
            return None
        try:
            return CachedResponse.decode(data, epoch=epoch)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            return None

    def share(self, version: int, key: str, entry: CachedResponse) -> None:
        """Queue `entry` for the next sync to SET in Redis (with the TTL)."""
        self._shares.append((response_cache.redis_key(version, key), entry.encode(),
                             max(1, math.ceil(self.ttl_s))))

    def may_read_shared(self) -> int | None:
        """The version to look up shared answers under, or None (Redis not up, or an API
        write not yet bumped: a shared answer could be older than that write)."""
        version = self.version
        if self.redis_state != "up" or self._bump_pending:
            return None
        return version


class CacheAndLimits:
    """The ASGI layer (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, layers: Layers, tokens: Tokens | None,
                 reads_need_token: bool) -> None:
        self.app, self.layers = app, layers
        self.tokens, self.reads_need_token = tokens, reads_need_token
        self._keys: dict[tuple[str, bytes, str, bytes, bytes], str | None] = {}
        self._keys_second = 0
        self._computing: dict[str, asyncio.Event] = {}  # keys whose answer is on its way

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                receive = self._lifespan(receive)
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        layers = self.layers
        if layers.url and not layers.running:
            layers.start()
        started = time.perf_counter()
        now = layers.clock()
        authorization = accept = origin = if_none_match = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"accept":
                accept = value
            elif name == b"origin":
                origin = value
            elif name == b"if-none-match":
                if_none_match = value
        granted, identity = self._caller(authorization, scope)
        method: str = scope["method"]

        decision = layers.limiter.allow(identity, now)
        if not decision.allowed:
            await self._refuse(send, decision.retry_after, identity, method, started)
            return

        if method in WRITES:
            await self.app(scope, receive, self._watch_write(send))
            return
        cache_scope = granted if self.reads_need_token else "open"
        key = None
        if method == "GET" and cache_scope is not None:
            key = self._key(path, scope["query_string"], now, cache_scope, accept, origin)
        if key is None:
            await self.app(scope, receive, send)
            return

        epoch, version = layers.epoch, layers.may_read_shared()
        entry = layers.cache.get(key, epoch=epoch, now=now, ttl_s=layers.ttl())
        if entry is not None:
            await self._replay(send, entry, if_none_match, b"hit", started)
            return
        if version is not None:
            entry = await run_in_threadpool(layers.shared_get, version, key, epoch)
            if entry is not None:
                layers.cache.put(key, entry)
                await self._replay(send, entry, if_none_match, b"shared", started)
                return
        computing = self._computing.get(key)
        if computing is not None:  # the same question is being answered: wait for it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(computing.wait(), FOLLOW_TIMEOUT_S)
            entry = layers.cache.get(key, epoch=epoch, now=now, ttl_s=layers.ttl())
            if entry is not None:
                await self._replay(send, entry, if_none_match, b"hit", started)
                return
            # not kept (an error, too large, a new epoch): answer it ourselves
            await self.app(scope, receive, self._keeper(scope, send, key, epoch, version, now))
            return
        computing = self._computing[key] = asyncio.Event()
        try:
            await self.app(scope, receive, self._keeper(scope, send, key, epoch, version, now))
        finally:
            del self._computing[key]
            computing.set()

    def _key(self, path: str, query: bytes, now: float, cache_scope: str, accept: bytes,
             origin: bytes) -> str | None:
        """`request_key`, remembered for the rest of the second (the same question asked
        again within it has the same key: relative times resolve to whole seconds)."""
        second = int(now)
        if second != self._keys_second or len(self._keys) >= MAX_REMEMBERED_KEYS:
            self._keys, self._keys_second = {}, second
        raw = (path, query, cache_scope, accept, origin)
        found = self._keys.get(raw, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._keys[raw] = request_key(
                "GET", path, query, now=now, scope=cache_scope,
                accept=accept.decode("latin-1"), origin=origin.decode("latin-1"))
        return found  # type: ignore[return-value]

    def _caller(self, authorization: bytes, scope: Scope) -> tuple[str | None, str]:
        """(scope the token grants or None, rate-limit identity)."""
        if authorization and self.tokens is not None:
            header = authorization.decode("latin-1")
            try:
                granted = self.tokens.check(header, "read")
            except AuthError:
                pass
            else:
                digest = hashlib.sha256(bearer_token(header).encode()).hexdigest()[:32]
                return granted, "token:" + digest
        client = scope.get("client")
        return None, "addr:" + (client[0] if client else "unknown")

    def _keeper(self, scope: Scope, send: Send, key: str, epoch: int, version: int | None,
                now: float) -> Send:
        """`send`, keeping a cacheable 200 on its way out."""
        layers = self.layers
        limit = layers.cache.max_entry_bytes
        state: dict[str, Any] = {"keep": False, "headers": (), "chunks": [], "size": 0}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if message["status"] == 200 and _storable(headers):
                    state.update(keep=True, headers=tuple(headers))
                    message = {**message, "headers": [*headers, (CACHE_HEADER, b"miss")]}
            elif message["type"] == "http.response.body" and state["keep"]:
                body = message.get("body", b"")
                state["size"] += len(body)
                if state["size"] > limit:
                    state.update(keep=False, chunks=[])
                else:
                    state["chunks"].append(body)
                if not message.get("more_body", False) and state["keep"]:
                    route = getattr(scope.get("route"), "path", "unmatched")
                    entry = CachedResponse(200, state["headers"], b"".join(state["chunks"]),
                                           route, epoch, now)
                    if layers.epoch == epoch and layers.cache.put(key, entry) and (
                            version is not None and layers.shared):
                        layers.share(version, key, entry)
            await send(message)

        return keep

    def _watch_write(self, send: Send) -> Send:
        """`send`, invalidating the cache when a write succeeded."""

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.layers.invalidate()
            await send(message)

        return watch

    async def _replay(self, send: Send, entry: CachedResponse, if_none_match: bytes,
                      how: bytes, started: float) -> None:
        if if_none_match and response_cache.not_modified(entry, if_none_match):
            status = 304
            headers = [(k, v) for k, v in entry.headers if k in (b"etag", b"cache-control")]
            body = b""
        else:
            status, headers, body = entry.status, list(entry.headers), entry.body
        headers.append((CACHE_HEADER, how))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        _observe(entry.route, "GET", status, started)

    async def _refuse(self, send: Send, retry_after: int, identity: str, method: str,
                      started: float) -> None:
        who = "token" if identity.startswith("token:") else "client address"
        limit = self.layers.limiter.limit
        body = json.dumps({
            "detail": f"rate limit exceeded: {limit} requests per minute per {who}; "
                      f"retry in {retry_after} s",
            "limit": limit, "retry_after": retry_after,
        }, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode())]})
        await send({"type": "http.response.body", "body": body})
        _observe(RATE_LIMITED_ROUTE, method, 429, started)

    def _lifespan(self, receive: Receive) -> Receive:
        """`receive`, starting the Redis link at startup and stopping it at shutdown."""

        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.layers.start()
            elif message["type"] == "lifespan.shutdown":
                await run_in_threadpool(self.layers.close)
            return message

        return wrapped


def _storable(headers: list[tuple[bytes, bytes]]) -> bool:
    """A 200 may be kept unless it sets a cookie, says no-store or private, or varies by a
    header the key does not hold."""
    for name, value in headers:
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and (b"no-store" in value or b"private" in value):
            return False
        if name == b"vary":
            named = {v.strip().lower() for v in value.decode("latin-1").split(",")}
            if not named <= VARY_KEYED:
                return False
    return True


def _observe(route: str, method: str, status: int, started: float) -> None:
    """The API's own metrics for an answer the routes never saw (label children kept:
    routes, methods and statuses are few)."""
    children = _CHILDREN.get((route, method, status))
    if children is None:
        children = _CHILDREN[route, method, status] = (
            LATENCY.labels(route), REQUESTS.labels(route, method, str(status)))
    children[0].observe(time.perf_counter() - started)
    children[1].inc()


_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _document_429(app: FastAPI) -> None:
    """Every /api/v1 operation may answer 429: say so in the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["RateLimited"] = {
            "title": "RateLimited", "type": "object",
            "required": ["detail", "limit", "retry_after"],
            "properties": {"detail": {"type": "string"}, "limit": {"type": "integer"},
                           "retry_after": {"type": "integer"}},
        }
        answer = {
            "description": "Too many requests: the caller's rate limit is spent.",
            "headers": {"Retry-After": {"description": "Seconds to wait.",
                                        "schema": {"type": "integer"}}},
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/RateLimited"}}},
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(PREFIX):
                for operation in operations.values():
                    if isinstance(operation, dict) and "responses" in operation:
                        operation["responses"].setdefault("429", answer)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: Settings) -> Layers:
    """Add the cache and rate-limit layer (outermost); returns its state for /ready."""
    api_state = getattr(app.state, "apollo", None)
    clock = api_state.clock if api_state is not None else time.time
    tokens = api_state.authenticator.tokens if api_state is not None else None
    layers = Layers(settings, clock=clock)
    app.add_middleware(CacheAndLimits, layers=layers, tokens=tokens,
                       reads_need_token=settings.api.require_token_for_reads)
    _document_429(app)
    return layers
