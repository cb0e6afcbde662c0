"""The API's response cache and rate limits (services/api/middleware.py, cache.py,
ratelimit.py), in process and shared through a real Redis that the tests stop and start.

Apps are `create_app` over a migrated SQLite store with a small probe router of their own:
GET /api/v1/probe reads the store once (counted by a SQLAlchemy listener) and answers with
the range it read and how many times it ran; POST /api/v1/probe is a write. Clocks are
fixed by hand, so keys, TTLs and rate-limit windows are known; only the Redis link's sync
(once a second, in real time) is waited for, with generous bounds.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient
from harness import free_port, wait_until
from prometheus_client.parser import text_string_to_metric_families
from support import T0, Clock

from collectors.scrape import PageScraper, Target
from collectors.scrape.names import names_by_service
from services.api.app import create_app
from services.api.cache import CachedResponse, ResponseCache, request_key
from services.api.deps import Conn, Range, Reader, Writer, json_response
from services.api.middleware import DEGRADED, Layers
from services.api.ratelimit import RateLimiter, estimate, retry_after
from services.auth import Authenticator, parse_tokens
from services.config import EXAMPLE_CONFIG, Settings, load_settings
from services.errors import SourceUnavailable
from services.files import load_slo_files
from services.store import queries
from services.store.cache_version import VERSION_KEY, CacheVersion, bump_version
from services.store.engine import make_engine
from services.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
READ = "read-token-fedcba9876543210"
WRITE = "write-token-0123456789abcdef"
OTHER_READ = "read-token-another-one-0000"
PROBE = "/api/v1/probe"
SYNCED_WITHIN = 15.0  # seconds: the link syncs every second; generous on a busy machine


# --- apps with a probe router ----------------------------------------------------------------


@dataclass
class Probe:
    """One app and what its probe route saw."""

    app: FastAPI
    engine: sa.Engine
    clock: Clock
    calls: int = 0
    queries: list[str] = field(default_factory=list)

    @property
    def layers(self) -> Layers:
        return self.app.state.layers  # type: ignore[no-any-return]


def probe_app(engine: sa.Engine, *, clock: Clock, reads_need_token: bool = False,
              **settings: object) -> Probe:
    api = {"require_token_for_reads": reads_need_token, **settings.pop("api", {})}  # type: ignore[dict-item]
    config = Settings(api=api, **settings)
    tokens = parse_tokens(f"read:{READ},write:{WRITE},read:{OTHER_READ}")
    app = create_app(config, engine, clock=clock, authenticator=Authenticator(tokens=tokens))
    probe = Probe(app, engine, clock)
    router = APIRouter()

    @router.get("/probe")
    def read_probe(request: Request, conn: Conn, window: Range, reader: Reader) -> Response:
        probe.calls += 1
        runs = conn.execute(sa.text("SELECT count(*) FROM collector_runs")).scalar()
        return json_response(request, {"from": window.start, "to": window.end, "runs": runs,
                                       "calls": probe.calls, "scope": reader})

    @router.get("/probe/unavailable", status_code=503)
    def unavailable() -> Response:
        return Response(status_code=503)

    @router.post("/probe", status_code=201)
    def write_probe(request: Request, writer: Writer) -> Response:
        return json_response(request, {"written": True}, status_code=201)

    app.include_router(router, prefix="/api/v1")

    @sa.event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        probe.queries.append(statement)

    return probe


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 5)  # 5 s into a minute


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def served(response) -> str | None:
    return response.headers.get("x-apollo-cache")


# --- keys ------------------------------------------------------------------------------------


def key(query: str = "", *, now: float = T0 + 5, path: str = PROBE, scope: str = "open",
        accept: str = "", origin: str = "") -> str | None:
    return request_key("GET", path, query.encode(), now=now, scope=scope, accept=accept,
                       origin=origin)


@pytest.mark.parametrize(("first", "second"), [
    pytest.param("from=now-1h", "from=-1h", id="now is implied"),
    pytest.param("from=now-1h", "from=now-60m", id="durations are resolved"),
    pytest.param("from=now-1h", f"from={int(T0) - 3600}", id="relative resolves to absolute"),
    pytest.param("from=now-1h&to=now", "to=now&from=now-1h", id="parameter order"),
    pytest.param("from=2026-11-02T09:00:30Z", f"from={int(T0) - 3600}",
                 id="from and to are read in whole minutes"),
    pytest.param("limit=10&team=a", "team=a&limit=10", id="sorted by name"),
])
def test_requests_asking_the_same_thing_share_one_key(first, second):
    assert key(first) == key(second)


@pytest.mark.parametrize(("first", "second", "kwargs"), [
    pytest.param("from=now-1h", "from=now-2h", {}, id="another range"),
    pytest.param("label=a=1&label=b=2", "label=b=2&label=a=1", {},
                 id="repeated parameters keep their order"),
    pytest.param("from=now-1h", "from=now-1h", {"now": T0 + 65}, id="the next minute"),
    pytest.param("", "", {"scope": "read"}, id="another authorised scope"),
    pytest.param("", "", {"path": "/api/v1/other"}, id="another path"),
    pytest.param("", "", {"accept": "text/csv"}, id="another Accept"),
    pytest.param("", "", {"origin": "https://a.example"}, id="another Origin (CORS)"),
])
def test_requests_asking_different_things_get_different_keys(first, second, kwargs):
    assert key(first) != key(second, **kwargs)


def test_a_bad_time_gives_no_key_the_route_answers_422():
    assert key("from=yesterday-ish") is None


def test_keys_are_sha256_digests_the_same_in_every_process():
    """Never Python's hash(): another interpreter, another hash seed, the same key."""
    here = key("from=now-1h&team=platform")
    assert here is not None and len(here) == 64 and int(here, 16) >= 0
    code = ("from services.api.cache import request_key; "
            f"print(request_key('GET', {PROBE!r}, b'team=platform&from=-60m', now={T0 + 50!r}, "
            "scope='open'))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60, check=True).stdout.strip()
    assert other == here


# --- the in-process cache --------------------------------------------------------------------


def test_a_hit_returns_identical_bytes_without_touching_the_store(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)
    first = client.get(PROBE, params={"from": "now-1h"})
    assert first.status_code == 200 and served(first) == "miss"
    assert probe.calls == 1 and probe.queries
    probe.queries.clear()
    second = client.get(PROBE, params={"from": "now-1h"})
    assert served(second) == "hit"
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/json"
    assert probe.queries == [] and probe.calls == 1


def test_now_minus_1h_read_twice_within_a_minute_is_one_entry(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)
    assert served(client.get(PROBE, params={"from": "now-1h"})) == "miss"
    clock.now = T0 + 59.5  # the same minute
    assert served(client.get(PROBE, params={"from": "-60m"})) == "hit"
    clock.now = T0 + 60  # the next one: the range moved
    later = client.get(PROBE, params={"from": "now-1h"})
    assert served(later) == "miss"
    assert later.json()["from"] == T0 + 60 - 3600 and probe.calls == 2


def test_concurrent_misses_of_one_key_compute_it_once(engine, clock):
    """Every relative key turns cold when its minute ends; the requests that then ask at
    once wait for the first one's answer instead of each computing it."""
    probe = probe_app(engine, clock=clock)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=probe.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://apollo") as client:
            return await asyncio.gather(*(client.get(PROBE, params={"from": "now-1h"})
                                          for _ in range(20)))

    answers = asyncio.run(asyncio.wait_for(burst(), timeout=60))
    assert [a.status_code for a in answers] == [200] * 20
    assert probe.calls == 1
    assert sorted(served(a) for a in answers) == ["hit"] * 19 + ["miss"]
    assert len({a.content for a in answers}) == 1


def test_if_none_match_gets_304_from_the_cache(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)
    tag = client.get(PROBE).headers["etag"]
    probe.queries.clear()
    again = client.get(PROBE, headers={"If-None-Match": tag})
    assert again.status_code == 304 and served(again) == "hit"
    assert again.content == b"" and again.headers["etag"] == tag
    assert probe.queries == [] and probe.calls == 1
    other = client.get(PROBE, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and served(other) == "hit"


def test_entries_expire_after_the_ttl(engine, clock):
    probe = probe_app(engine, clock=clock, api={"cache_ttl": "20s"})
    client = TestClient(probe.app)
    assert served(client.get(PROBE)) == "miss"
    clock.now = T0 + 24  # 19 s later
    assert served(client.get(PROBE)) == "hit"
    clock.now = T0 + 25  # 20 s later
    assert served(client.get(PROBE)) == "miss"
    assert probe.calls == 2


def test_without_redis_entries_live_at_most_a_minute():
    layers = Layers(Settings(api={"cache_ttl": "5m"}))
    assert layers.ttl() == 60.0
    assert layers() == {"cache": "local", "rate_limit": "local"}


def test_a_write_through_the_api_drops_cached_answers(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)
    client.get(PROBE)
    assert served(client.get(PROBE)) == "hit"
    refused = client.post(PROBE)  # no token: nothing was written, nothing dropped
    assert refused.status_code == 401 and served(client.get(PROBE)) == "hit"
    assert client.post(PROBE, headers=bearer(WRITE)).status_code == 201
    assert served(client.get(PROBE)) == "miss" and probe.calls == 2


def test_only_gets_under_api_v1_with_a_200_are_kept(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)
    for path in ("/health", "/ready", "/metrics"):
        assert served(client.get(path)) is None and served(client.get(path)) is None
    bad = client.get(PROBE, params={"from": "whenever"})
    assert bad.status_code == 422 and served(bad) is None
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and served(client.get("/api/v1/nothing-here")) is None


def test_when_reads_need_a_token_entries_are_per_scope_and_never_skip_the_check(engine, clock):
    probe = probe_app(engine, clock=clock, reads_need_token=True)
    client = TestClient(probe.app)
    assert client.get(PROBE).status_code == 401
    assert served(client.get(PROBE, headers=bearer(READ))) == "miss"
    assert served(client.get(PROBE, headers=bearer(OTHER_READ))) == "hit"  # same scope
    assert client.get(PROBE).status_code == 401  # a cached answer is no way around auth
    assert client.get(PROBE, headers=bearer("not-a-known-token-000000")).status_code == 401
    as_writer = client.get(PROBE, headers=bearer(WRITE))
    assert served(as_writer) == "miss" and as_writer.json()["scope"] == "write"


def test_cached_answers_are_counted_in_the_apis_own_metrics(engine, clock):
    probe = probe_app(engine, clock=clock)
    client = TestClient(probe.app)

    def count() -> float:  # under the route label the telemetry middleware gives it
        return sum(sample.value
                   for family in text_string_to_metric_families(client.get("/metrics").text)
                   for sample in family.samples
                   if sample.name == "apollo_api_requests_total"
                   and sample.labels["route"].endswith("/probe")
                   and sample.labels["method"] == "GET" and sample.labels["status"] == "200")

    before = count()
    client.get(PROBE, params={"team": "metrics"})
    client.get(PROBE, params={"team": "metrics"})  # a hit: the routes never see it
    assert count() == before + 2


def test_the_lru_is_bounded_in_entries_and_in_bytes():
    def entry(size: int) -> CachedResponse:
        return CachedResponse(200, ((b"etag", b'"x"'),), b"x" * size, "/r", 0, 0.0)

    cache = ResponseCache(max_entries=3, max_bytes=10_000, max_entry_bytes=4000)
    for name in "abcd":
        cache.put(name, entry(10))
    assert len(cache) == 3 and cache.get("a", epoch=0, now=0, ttl_s=60) is None
    assert cache.get("b", epoch=0, now=0, ttl_s=60) is not None  # b is now the newest
    assert not cache.put("huge", entry(5000))
    cache.put("e", entry(3900))
    cache.put("f", entry(3900))
    cache.put("g", entry(3900))
    assert cache.bytes <= 10_000 and "g" in cache._entries and "b" not in cache._entries
    assert cache.get("g", epoch=1, now=0, ttl_s=60) is None  # another epoch: dropped
    assert "g" not in cache._entries


# --- rate limits -----------------------------------------------------------------------------


def test_n_plus_one_requests_get_429_with_retry_after(engine, clock):
    probe = probe_app(engine, clock=clock, api={"rate_limit_per_minute": 5})
    client = TestClient(probe.app)
    for i in range(5):
        assert client.get(PROBE, params={"n": i}).status_code == 200
    refused = client.get(PROBE)
    assert refused.status_code == 429
    # 5 s into the minute with 5 counted: they weigh the whole next minute, fading as it goes.
    assert refused.headers["retry-after"] == "56"
    body = refused.json()
    assert body["limit"] == 5 and body["retry_after"] == 56
    assert "5 requests per minute per client address" in body["detail"]
    assert client.get("/health").status_code == 200  # operations are never limited
    clock.now = T0 + 61  # 56 s later the previous minute weighs 5 × 59/60 < 5
    assert client.get(PROBE).status_code == 200


@pytest.mark.parametrize(("previous", "current", "elapsed", "limit", "wait"), [
    pytest.param(0, 5, 5, 5, 56, id="full now: the next minute, when this one fades"),
    pytest.param(10, 0, 0, 5, 31, id="the previous minute must fade to under the limit"),
    pytest.param(10, 4, 30, 5, 25, id="the previous minute's share must fall under one"),
    pytest.param(0, 20, 0, 10, 91, id="far over: into the next minute until half fades"),
])
def test_retry_after_is_the_first_second_one_more_request_passes(previous, current, elapsed,
                                                                  limit, wait):
    def at(t: float) -> float:  # the estimate t seconds after this minute began
        return estimate(previous, current, t) if t < 60 else estimate(current, 0, t - 60)

    assert retry_after(previous, current, elapsed, limit) == wait
    assert at(elapsed + wait) < limit <= at(elapsed + wait - 1)


def test_separate_identities_have_separate_buckets(engine, clock):
    probe = probe_app(engine, clock=clock, api={"rate_limit_per_minute": 2})
    here = TestClient(probe.app, client=("10.0.0.1", 5000))
    there = TestClient(probe.app, client=("10.0.0.2", 5000))
    for _ in range(2):
        assert here.get(PROBE).status_code == 200
    assert here.get(PROBE).status_code == 429
    assert there.get(PROBE).status_code == 200  # another address
    for token in (READ, OTHER_READ):  # each token its own bucket, whatever the address
        assert here.get(PROBE, headers=bearer(token)).status_code == 200
        assert here.get(PROBE, headers=bearer(token)).status_code == 200
        assert here.get(PROBE, headers=bearer(token)).status_code == 429
    # A token the API does not know counts against the address, not a bucket of its own.
    assert there.get(PROBE, headers=bearer("made-up-token-0000000000")).status_code == 200
    assert there.get(PROBE, headers=bearer("another-made-up-token-000")).status_code == 429


def test_the_openapi_document_lists_429_for_every_api_operation(engine, clock):
    probe = probe_app(engine, clock=clock)
    document = TestClient(probe.app).get("/openapi.json").json()
    for method in ("get", "post"):
        answer = document["paths"][PROBE][method]["responses"]["429"]
        assert "Retry-After" in answer["headers"]
    assert "429" not in document["paths"]["/ready"]["get"]["responses"]
    assert set(document["components"]["schemas"]["RateLimited"]["required"]) == {
        "detail", "limit", "retry_after"}


def test_the_limiter_forgets_old_buckets_when_full():
    limiter = RateLimiter(3, max_buckets=10)
    for i in range(10):
        assert limiter.allow(f"addr:{i}", T0).allowed
    assert limiter.allow("addr:new", T0 + 120).allowed  # the others are two minutes old
    assert len(limiter) == 1


# --- shared through a real Redis -------------------------------------------------------------


@pytest.fixture
def opened() -> Iterator[list[TestClient]]:
    """TestClients entered (lifespan: the Redis link starts), all left at the end."""
    clients: list[TestClient] = []
    yield clients
    for client in reversed(clients):
        client.__exit__(None, None, None)


def enter(opened: list[TestClient], app: FastAPI) -> TestClient:
    client = TestClient(app)
    client.__enter__()
    opened.append(client)
    return client


def linked(probe: Probe) -> bool:
    return probe.layers() == {"cache": "redis", "rate_limit": "redis"}


@pytest.mark.servers
def test_two_apps_sharing_redis_share_one_limit(engine, clock, redis_url, opened):
    one = probe_app(engine, clock=clock, redis_url=redis_url, api={"rate_limit_per_minute": 10})
    two = probe_app(engine, clock=clock, redis_url=redis_url, api={"rate_limit_per_minute": 10})
    first, second = enter(opened, one.app), enter(opened, two.app)
    assert wait_until(lambda: linked(one) and linked(two), SYNCED_WITHIN)
    for i in range(6):
        assert first.get(PROBE, params={"n": i}).status_code == 200
    for i in range(4):
        assert second.get(PROBE, params={"n": i}).status_code == 200
    who = "addr:testclient"
    assert wait_until(lambda: one.layers.limiter.count(who, clock()) >= 10
                      and two.layers.limiter.count(who, clock()) >= 10, SYNCED_WITHIN)
    assert first.get(PROBE).status_code == 429
    assert second.get(PROBE).status_code == 429
    with redis.Redis.from_url(redis_url) as client:
        minute = int(clock() // 60)
        assert int(client.get(f"apollo:ratelimit:{minute}:{who}")) == 10
        assert 0 < client.ttl(f"apollo:ratelimit:{minute}:{who}") <= 180


@pytest.mark.servers
def test_an_answer_is_shared_with_another_api_process(engine, clock, redis_url, opened, tmp_path):
    other_engine = make_engine(f"sqlite:///{tmp_path / 'apollo.db'}")  # the same store
    try:
        one = probe_app(engine, clock=clock, redis_url=redis_url)
        two = probe_app(other_engine, clock=clock, redis_url=redis_url)
        first, second = enter(opened, one.app), enter(opened, two.app)
        assert wait_until(lambda: linked(one) and linked(two), SYNCED_WITHIN)
        computed = first.get(PROBE, params={"from": "now-1h"})
        assert served(computed) == "miss"
        with redis.Redis.from_url(redis_url) as client:
            assert wait_until(lambda: any(client.scan_iter("apollo:cache:r:*")), SYNCED_WITHIN)
        fetched = second.get(PROBE, params={"from": "-60m"})
        assert served(fetched) == "shared" and fetched.content == computed.content
        assert two.calls == 0 and two.queries == []
        assert served(second.get(PROBE, params={"from": "now-1h"})) == "hit"
    finally:
        other_engine.dispose()


@pytest.mark.servers
def test_a_version_bump_invalidates_every_process_after_the_sync(engine, clock, redis_url,
                                                                 opened):
    one = probe_app(engine, clock=clock, redis_url=redis_url)
    client = enter(opened, one.app)
    assert wait_until(lambda: linked(one), SYNCED_WITHIN)
    client.get(PROBE)
    assert served(client.get(PROBE)) == "hit"
    job = CacheVersion(redis_url)  # the collector's job after each round
    try:
        assert job.run() == []
    finally:
        job.close()
    with redis.Redis.from_url(redis_url) as direct:
        assert int(direct.get(VERSION_KEY)) == 1
    assert wait_until(lambda: served(client.get(PROBE)) == "miss", SYNCED_WITHIN)
    assert one.calls == 2 and served(client.get(PROBE)) == "hit"


@pytest.mark.servers
def test_a_write_in_one_process_invalidates_the_others(engine, clock, redis_url, opened):
    one = probe_app(engine, clock=clock, redis_url=redis_url)
    two = probe_app(engine, clock=clock, redis_url=redis_url)
    first, second = enter(opened, one.app), enter(opened, two.app)
    assert wait_until(lambda: linked(one) and linked(two), SYNCED_WITHIN)
    second.get(PROBE)
    assert served(second.get(PROBE)) == "hit"
    with redis.Redis.from_url(redis_url) as client:
        before = int(client.get(VERSION_KEY) or 0)
        assert first.post(PROBE, headers=bearer(WRITE)).status_code == 201
        assert wait_until(lambda: int(client.get(VERSION_KEY) or 0) > before, SYNCED_WITHIN)
    assert wait_until(lambda: served(second.get(PROBE)) == "miss", SYNCED_WITHIN)


@pytest.mark.servers
def test_redis_stopped_the_api_answers_degraded_and_recovers_when_it_returns(
        engine, redis_server, redis_url, opened):
    clock = Clock(time.time())  # real time: the link's state is what is tested here
    one = probe_app(engine, clock=clock, redis_url=redis_url)
    two = probe_app(engine, clock=clock, redis_url=redis_url)
    first, second = enter(opened, one.app), enter(opened, two.app)

    def ready() -> dict:
        clock.now = time.time()
        return first.get("/ready").json()

    assert wait_until(lambda: ready()["status"] == "ready" and linked(two), SYNCED_WITHIN)
    assert ready()["cache"] == "redis"
    assert served(first.get(PROBE, params={"team": "before"})) == "miss"
    try:
        redis_server.stop()
        assert wait_until(lambda: ready()["status"] == "degraded", SYNCED_WITHIN)
        assert ready() | {"schema_revision": None} == {
            "status": "degraded", "store": "ok", "schema_revision": None,
            "cache": DEGRADED, "rate_limit": DEGRADED}
        for team in ("during", "during"):  # answered from the store, then from this process
            started = time.monotonic()
            answer = first.get(PROBE, params={"team": team})
            assert answer.status_code == 200 and time.monotonic() - started < 2.0
        assert served(answer) == "hit"
        with pytest.raises(SourceUnavailable, match="Redis"):
            bump_version(redis_url)  # the collector's bump fails: a failed run, not a hang
    finally:
        if not redis_server.is_running():
            redis_server.start()
    assert wait_until(lambda: ready()["status"] == "ready" and linked(two), SYNCED_WITHIN)
    assert ready()["cache"] == "redis" and ready()["rate_limit"] == "redis"
    computed = first.get(PROBE, params={"team": "after"})
    assert served(computed) == "miss"
    with redis.Redis.from_url(redis_url) as client:
        assert wait_until(lambda: any(client.scan_iter("apollo:cache:r:*")), SYNCED_WITHIN)
    fetched = second.get(PROBE, params={"team": "after"})
    assert served(fetched) == "shared" and fetched.content == computed.content


def test_layers_without_redis_start_no_thread():
    layers = Layers(Settings())
    layers.start()
    assert not layers.running and layers.sync_once() is False
    layers.close()


def test_a_cached_entry_round_trips_through_its_shared_bytes():
    entry = CachedResponse(200, ((b"etag", b'"abc"'), (b"content-type", b"application/json")),
                           b'{"a":"\\n"}\n', "/api/v1/x", 3, T0)
    back = CachedResponse.decode(entry.encode(), epoch=7)
    assert back == CachedResponse(entry.status, entry.headers, entry.body, entry.route, 7, T0)
    with pytest.raises(ValueError):
        CachedResponse.decode(b"not an entry", epoch=0)
    assert json.loads(entry.encode().partition(b"\n")[0])["status"] == 200


# --- the API as a scrape target with its own SLOs ------------------------------------------


@pytest.fixture
def served_api(engine) -> Iterator[tuple[str, Probe]]:
    """The probe app under uvicorn on a free loopback port, in a thread."""
    probe = probe_app(engine, clock=Clock(time.time()))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(probe.app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started or not thread.is_alive(), 15)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}", probe
    finally:
        server.should_exit = True
        thread.join(15)


def test_the_apis_own_metrics_feed_its_slos_as_the_example_config_names_them(served_api,
                                                                           engine):
    url, _ = served_api
    settings = load_settings(EXAMPLE_CONFIG)
    clock = Clock(T0 - 10)  # counting starts in the minute before: minute T0 is whole
    scraper = PageScraper(engine, [Target("apollo-api", f"{url}/metrics")],
                          slos=load_slo_files([ROOT / "slos" / "apollo-api.yaml"]),
                          names=names_by_service(settings.services), clock=clock)
    assert [r.slo.id for r in scraper.readings] == ["apollo-api-availability",
                                                    "apollo-api-latency"]
    assert scraper.scrape_once()[0].status == "ok"
    clock.now = T0 + 5
    assert scraper.scrape_once()[0].status == "ok"
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        answers = [client.get(PROBE).status_code for _ in range(20)]
        answers += [client.get(f"{PROBE}/unavailable").status_code for _ in range(2)]
    assert answers == [200] * 20 + [503] * 2
    for i in range(1, 13):  # every 15 s until three whole minutes are written
        clock.now = T0 + 5 + 15 * i
        assert scraper.scrape_once()[0].status == "ok"
    start, end = T0, T0 + 180
    with engine.connect() as conn:
        service = queries.service_metrics(conn, start, end, services=["apollo-api"])
        sli = queries.sli(conn, start, end, slos=["apollo-api-availability",
                                                  "apollo-api-latency"])
    assert service["requests"].sum() >= 22 and service["errors"].sum() == 2
    by_slo = sli.groupby("slo")[["good", "total"]].sum()
    availability = by_slo.loc["apollo-api-availability"]
    assert availability["total"] - availability["good"] == 2
    assert availability["total"] == service["requests"].sum()
    assert by_slo.loc["apollo-api-latency", "total"] == service["requests"].sum()
