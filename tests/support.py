"""Helpers shared by tests: reading metrics pages the way Prometheus would, serving pages."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.parser import text_string_to_metric_families

from services.config import EXAMPLE_CONFIG, load_settings
from services.fleet.runner import profiles

PROFILES = {p.slug: p for p in profiles(load_settings(EXAMPLE_CONFIG))}
T0 = 1_793_613_600.0  # 2026-11-02 10:00 UTC


class Clock:
    """A clock the test moves by hand, so counts over an interval are known exactly."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def histogram_quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """Prometheus's histogram_quantile, written out: linear interpolation in the bucket."""
    total = cumulative[-1]
    rank = q * total
    for i, (bound, count) in enumerate(zip(bounds, cumulative, strict=True)):
        if count >= rank:
            if math.isinf(bound):
                return bounds[i - 1]
            lower = bounds[i - 1] if i else 0.0
            below = cumulative[i - 1] if i else 0.0
            return lower + (bound - lower) * (rank - below) / (count - below)
    raise AssertionError("unreachable")


def page_histogram(page: str, name: str = "http_request_duration_seconds") -> tuple[list, list]:
    """Buckets of every route summed by `le`, as `sum by (le)` would."""
    sums: dict[float, float] = {}
    for family in text_string_to_metric_families(page):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                sums[le] = sums.get(le, 0.0) + sample.value
    bounds = sorted(sums)
    return bounds, [sums[b] for b in bounds]


def requests_by_code(page: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        if family.name == "http_requests":
            for sample in family.samples:
                if sample.name == "http_requests_total":
                    code = sample.labels["code"]
                    out[code] = out.get(code, 0.0) + sample.value
    return out


def gauge(page: str, name: str) -> float:
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise KeyError(name)


def fill_store_from_fleet(engine, start: float, minutes: int, slugs=None, seed: int = 42) -> None:
    """Write per-minute rows for the seed's services straight from the fleet simulators.

    Stands in for a collector in tests of the readers: the increases are the simulators'
    own expected counts per minute, so a reader's figures can be checked against the model.
    """
    from services.fleet.simulator import ServiceSimulator
    from services.store import writes
    from services.store.catalog import ServiceInfo, ensure_services
    from services.store.models import LatencyBucketMinute, ServiceMinute

    chosen = [PROFILES[s] for s in (slugs or PROFILES)]
    with engine.begin() as conn:
        ids = ensure_services(conn, [ServiceInfo(p.slug, p.name) for p in chosen])
        service_rows, bucket_rows = [], []
        for profile in chosen:
            sim = ServiceSimulator(profile, seed=seed, start=start)
            for minute in range(minutes):
                t0 = start + 60 * minute
                before = (sum(v.sum() for v in sim.requests.values()),
                          sim.requests["500"].sum() + sim.requests["503"].sum(),
                          sim.buckets.sum(axis=0).copy(), sim.count.sum(), sim.sum.sum())
                sim.advance(t0 + 60)
                after = (sum(v.sum() for v in sim.requests.values()),
                         sim.requests["500"].sum() + sim.requests["503"].sum(),
                         sim.buckets.sum(axis=0), sim.count.sum(), sim.sum.sum())
                service_rows.append((int(t0), ids[profile.slug], after[0] - before[0],
                                     after[1] - before[1], after[4] - before[4],
                                     after[3] - before[3], sim.cpu_ratio(t0 + 60),
                                     sim.memory_bytes(t0 + 60)))
                increases = [*(after[2] - before[2]).tolist(), after[3] - before[3]]
                bounds = [*sim.bounds.tolist(), math.inf]
                bucket_rows += [(int(t0), ids[profile.slug], le, float(c))
                                for le, c in zip(bounds, increases, strict=True)]
        writes.upsert(conn, ServiceMinute.__table__, service_rows)
        writes.upsert(conn, LatencyBucketMinute.__table__, bucket_rows)


Answer = tuple[int, str, bytes]  # status, content type, body


@contextmanager
def loopback_http(answer: Callable[[BaseHTTPRequestHandler], Answer | None]
                  ) -> Iterator[str]:
    """A loopback server whose every GET is `answer(request)` (None: 404); its base URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answered = answer(self)
            if answered is None:
                self.send_error(404)
                return
            status, content_type, body = answered
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serving(pages: dict[str, str]) -> Iterator[str]:
    """A loopback server answering GET /<name> with the text `pages[name]` holds right now."""
    with loopback_http(lambda request: (200, "text/plain; version=0.0.4; charset=utf-8",
                                        pages[request.path.lstrip("/")].encode())) as url:
        yield url


LEASE_PREFIX = "apollo:lease:"  # services/runtime/leases.py's keys


def leases_in(redis_url: str) -> dict[str, str]:
    """Every lease in Redis: name -> owner."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        return {k.decode().removeprefix(LEASE_PREFIX): client.get(k).decode()
                for k in client.scan_iter(f"{LEASE_PREFIX}*")}
