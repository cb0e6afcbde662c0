"""One simulated service: counters that advance with the load model, shown as a /metrics page.

Simulating 100,000 requests a second one by one is out of reach, so the simulator keeps
the *expected* cumulative counts as floats, advanced minute segment by minute segment,
and the page shows their integer parts. Counters therefore only go up, buckets stay
cumulative, and the page is the same whoever scrapes it and how often.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from services.fleet.faults import FaultBoard
from services.fleet.model import LatencyModel, LoadModel, bucket_bounds, daily_factor, unit_noise

CLIENT_ERROR_RATIO = 0.01  # 404s: part of normal traffic, not errors of the service
SERVER_ERROR_CODES = (("500", 0.7), ("503", 0.3))
PLATFORM_VERSION = "2.4.0"


@dataclass(frozen=True)
class ServiceProfile:
    """What the fleet needs to simulate one service (from the configuration's baseline)."""

    slug: str
    name: str
    routes: tuple[str, ...]
    p95_ms: float
    throughput_rps: float
    cpu_ratio: float
    memory_gib: float
    error_ratio: float = 0.0005


def route_weights(n: int) -> np.ndarray:
    """Traffic share per route: each route gets 60% of the one before it."""
    weights = 0.6 ** np.arange(n)
    return weights / weights.sum()


class ServiceSimulator:
    """Expected cumulative counts of one service since its (simulated) process started."""

    def __init__(
        self, profile: ServiceProfile, *, seed: int, start: float,
        amplitude: float = 0.2, noise: float = 0.02, faults: FaultBoard | None = None,
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.load = LoadModel(profile.throughput_rps, seed, profile.slug, amplitude, noise)
        self.latency = LatencyModel(profile.p95_ms / 1000)
        self.bounds = np.array(bucket_bounds(profile.p95_ms / 1000))
        self.weights = route_weights(len(profile.routes))
        self.faults = faults if faults is not None else FaultBoard()
        self.noise = noise
        self.amplitude = amplitude
        self._lock = threading.Lock()
        self._keys: list[tuple[str, Labels]] | None = None
        self.restart(start)

    def restart(self, at: float) -> None:
        """A process restart: every counter starts again from zero."""
        with self._lock:
            self.started = at
            self.last = at
            codes = ["200", "404", *(c for c, _ in SERVER_ERROR_CODES)]
            self.requests = {code: np.zeros(len(self.weights)) for code in codes}
            self.buckets = np.zeros((len(self.weights), len(self.bounds)))
            self.count = np.zeros(len(self.weights))
            self.sum = np.zeros(len(self.weights))

    def advance(self, now: float) -> None:
        """Add the traffic of [last, now) to the counters.

        Traffic is added minute by minute (the load model's noise is per minute), and each
        minute is split again where a fault starts or ends, so every piece is served
        under the faults that held during it, whenever the page happens to be read.
        """
        with self._lock:
            t = self.last
            while t < now:
                seg_end = min(now, (t // 60 + 1) * 60)
                self._add_segment(t, seg_end)
                t = seg_end
            self.last = max(self.last, now)
            self.faults.forget(self.last)

    def _add_segment(self, start: float, end: float) -> None:
        cuts = self.faults.changes(start, end)
        for a, b in zip([start, *cuts], [*cuts, end], strict=True):
            self._add_piece(a, b)

    def _add_piece(self, start: float, end: float) -> None:
        """Traffic of [start, end): inside one minute, under one set of faults."""
        mid = (start + end) / 2
        faults = self.faults.active(mid)
        if "down" in faults:  # the process is not running: it serves (and counts) nothing
            return
        minute = int(start // 60)
        n = self.load.rate(mid) * (end - start) * self.weights
        burst = faults.get("error_burst")
        err = burst.rate if burst else self.profile.error_ratio
        slow = faults.get("latency")
        scale = (slow.factor if slow else 1.0) * (
            1.0 + 0.5 * self.noise * unit_noise(self.seed, self.profile.slug + ":lat", minute)
        )
        client = min(CLIENT_ERROR_RATIO, 1 - err)  # a burst of 100% leaves no 404s either
        self.requests["200"] += n * (1 - err - client)
        self.requests["404"] += n * client
        for code, share in SERVER_ERROR_CODES:
            self.requests[code] += n * err * share
        self.buckets += np.outer(n, self.latency.cdf(self.bounds, scale))
        self.count += n
        self.sum += n * self.latency.mean_s(scale)

    def cpu_ratio(self, now: float) -> float:
        """Share of the allotted CPU: the baseline scaled by load, with a little noise."""
        load = daily_factor(now, self.amplitude)
        jitter = 1 + 0.5 * self.noise * unit_noise(self.seed, self.profile.slug + ":cpu",
                                                   int(now // 15))
        slow = self.faults.latency_factor(now)
        value = self.profile.cpu_ratio * (0.6 + 0.4 * load) * jitter * (1 + 0.1 * (slow - 1))
        return min(value, 1.0)

    def memory_bytes(self, now: float) -> float:
        drift = 1 + 0.01 * math.sin(2 * math.pi * now / 3600)
        jitter = 1 + 0.25 * self.noise * unit_noise(self.seed, self.profile.slug + ":mem",
                                                    int(now // 15))
        return self.profile.memory_gib * 2**30 * drift * jitter

    def families(self, now: float) -> Iterator[Metric]:
        """The metric families of the page at `now` (counters shown as whole numbers)."""
        self.advance(now)
        routes = self.profile.routes
        with self._lock:
            requests = CounterMetricFamily(
                "http_requests", "Requests served, by route and status code.",
                labels=["route", "code"],
            )
            for code, per_route in self.requests.items():
                for route, value in zip(routes, per_route, strict=True):
                    requests.add_metric([route, code], math.floor(value))
            yield requests

            latency = HistogramMetricFamily(
                "http_request_duration_seconds", "Time to serve a request.", labels=["route"]
            )
            for i, route in enumerate(routes):
                cumulative = [(_le(b), math.floor(v)) for b, v in zip(self.bounds,
                                                                       self.buckets[i],
                                                                       strict=True)]
                cumulative.append(("+Inf", math.floor(self.count[i])))
                latency.add_metric([route], cumulative, sum_value=float(self.sum[i]))
            yield latency

        cpu = GaugeMetricFamily("process_cpu_usage", "Share of the allotted CPU in use (0-1).")
        cpu.add_metric([], round(self.cpu_ratio(now), 4))
        yield cpu
        memory = GaugeMetricFamily("process_resident_memory_bytes", "Resident memory.")
        memory.add_metric([], round(self.memory_bytes(now)))
        yield memory
        start = GaugeMetricFamily("process_start_time_seconds", "When the process started.")
        start.add_metric([], self.started)
        yield start
        info = GaugeMetricFamily(
            "service_build_info", "Build of the running service.",
            labels=["service", "name", "version"],
        )
        info.add_metric([self.profile.slug, self.profile.name, PLATFORM_VERSION], 1)
        yield info


    def samples(self, now: float) -> tuple[dict[tuple[str, Labels], float], dict[str, str]]:
        """The page at `now` as a scrape parses it: (name, sorted labels) -> value, and each
        sample name's family type; equal to reading `metrics_page` (a test holds them
        equal), without writing and reading the text, for writing history fast."""
        self.advance(now)
        keys = self._sample_keys()
        with self._lock:  # counters are shown rounded down, as `families` writes them
            count = np.floor(self.count)
            per_route = np.column_stack([np.floor(self.buckets), count, count, self.sum])
            values = np.concatenate([np.floor(np.array(list(self.requests.values()))).ravel(),
                                     per_route.ravel()]).tolist()
            started = self.started
        values += [round(self.cpu_ratio(now), 4), float(round(self.memory_bytes(now))),
                   started, 1.0]
        return dict(zip(keys, values, strict=True)), _SAMPLE_TYPES

    def _sample_keys(self) -> list[tuple[str, Labels]]:
        """The sample keys in the order `samples` lists the values (made once)."""
        if self._keys is None:
            routes = self.profile.routes
            keys = [("http_requests_total", _sorted({"route": r, "code": c}))
                    for c in self.requests for r in routes]
            for r in routes:
                keys += [("http_request_duration_seconds_bucket",
                          _sorted({"route": r, "le": _le(b)})) for b in self.bounds]
                keys += [("http_request_duration_seconds_bucket",
                          _sorted({"route": r, "le": "+Inf"})),
                         ("http_request_duration_seconds_count", (("route", r),)),
                         ("http_request_duration_seconds_sum", (("route", r),))]
            keys += [("process_cpu_usage", ()), ("process_resident_memory_bytes", ()),
                     ("process_start_time_seconds", ()),
                     ("service_build_info", _sorted({"service": self.profile.slug,
                                                     "name": self.profile.name,
                                                     "version": PLATFORM_VERSION}))]
            self._keys = keys
        return self._keys


Labels = tuple[tuple[str, str], ...]
_SAMPLE_TYPES = {
    "http_requests_total": "counter",
    **{f"http_request_duration_seconds{suffix}": "histogram"
       for suffix in ("_bucket", "_count", "_sum")},
    "process_cpu_usage": "gauge", "process_resident_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge", "service_build_info": "gauge",
}


def _sorted(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _le(bound: float) -> str:
    return repr(float(bound))


class _PageCollector:
    def __init__(self, simulator: ServiceSimulator, clock: object) -> None:
        self.simulator = simulator
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        return self.simulator.families(self.clock())  # type: ignore[operator]


def metrics_page(simulator: ServiceSimulator, now: float) -> bytes:
    """The Prometheus text exposition of `simulator` at `now`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_PageCollector(simulator, lambda: now))  # type: ignore[arg-type]
    return generate_latest(registry)
