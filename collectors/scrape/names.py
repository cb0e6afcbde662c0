"""Which metrics of a /metrics page hold a service's figures, and those figures for a minute.

Client libraries name the same figures differently:

    figure      prometheus_client, Go client          Micrometer (Spring Boot)
    requests    http_requests_total{code|status}      http_server_requests_seconds_count{status}
    latency     http_request_duration_seconds         http_server_requests_seconds
    CPU         process_cpu_seconds_total (counter)   process_cpu_usage (gauge, 0..1)
    memory      process_resident_memory_bytes         jvm_memory_used_bytes (summed)

A service's `metrics:` configuration (`services.config.ServiceMetrics`) names any of them;
every name it leaves out is recognised from the page (the first of the names above that the
page exposes), so one collector reads Python, Go and Java services side by side.

CPU: a metric whose name ends in `_seconds_total` is a counter of CPU seconds: its increase
over the minute / 60 is the cores used, and `cpu_ratio` = cores / `cpu_limit_cores` (one
core when no limit is configured, so 1.5 cores unlimited reads 1.5, as `top` shows 150 %).
Any other CPU metric is a gauge of the share of the CPU in use (Micrometer's
`process_cpu_usage`), kept as it is. Memory is the sum of the memory metric's series (one
for a process's resident memory, one per pool for the JVM), each averaged over the minute.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collectors.scrape.increases import Key, MinuteValues
from collectors.scrape.parse import Labels, Page
from services.config import ServiceConfig

SERVER_ERROR = re.compile(r"5(\d\d|xx)")  # 503, or 5xx where codes are grouped
STATUS_LABELS = ("code", "status", "status_code")
REQUESTS = ("http_requests_total",)  # else the latency histogram's _count
LATENCY = ("http_request_duration_seconds", "http_server_requests_seconds")
CPU = ("process_cpu_usage", "process_cpu_seconds_total")
MEMORY = ("process_resident_memory_bytes", "jvm_memory_used_bytes")
MINUTE_S = 60.0


@dataclass(frozen=True)
class MetricNames:
    """The metrics one service's figures are read from.

    The defaults are the demo fleet's names; `resolve` gives a page's own. An empty `cpu`
    or `memory` means the page has none: the figure is unknown (None), not zero.
    """

    requests: str = "http_requests_total"
    status_label: str = "code"
    latency: str = "http_request_duration_seconds"
    cpu: str = "process_cpu_usage"
    memory: str = "process_resident_memory_bytes"
    cpu_limit_cores: float | None = None

    @property
    def cpu_is_seconds(self) -> bool:
        """A counter of CPU seconds (`…_seconds_total`), not a 0..1 gauge."""
        return self.cpu.endswith("_seconds_total")

    def counts_any(self, keys: Iterable[Key]) -> bool:
        """Whether the service row adds up any of these counter series."""
        counted = {self.requests, f"{self.latency}_sum", f"{self.latency}_count", self.cpu}
        return any(name in counted for name, _ in keys)


@dataclass(frozen=True)
class ConfiguredNames:
    """What a service's configuration says; None: recognise that name from the page."""

    requests: str | None = None
    status_label: str | None = None
    latency: str | None = None
    cpu: str | None = None
    memory: str | None = None
    cpu_limit_cores: float | None = None

    @classmethod
    def of(cls, service: ServiceConfig) -> ConfiguredNames:
        metrics = service.metrics
        if metrics is None:
            return cls(cpu_limit_cores=service.cpu_limit_cores)
        return cls(requests=metrics.requests, status_label=metrics.status_label,
                   latency=metrics.latency, cpu=metrics.cpu, memory=metrics.memory,
                   cpu_limit_cores=service.cpu_limit_cores)

    def resolve(self, page: Page) -> MetricNames:
        """The names to read `page` with: configured ones, else the first the page has."""
        types = page.types
        latency = self.latency or _first(LATENCY, types, suffixes=("_count", "_bucket"))
        latency = latency or MetricNames.latency
        requests = self.requests or _first((*REQUESTS, f"{latency}_count"), types)
        requests = requests or MetricNames.requests
        cpu = self.cpu or _first(CPU, types)
        memory = self.memory or _first(MEMORY, types)
        return MetricNames(
            requests=requests,
            status_label=self.status_label or _status_label(page, requests),
            latency=latency,
            cpu=cpu if cpu in types else "",
            memory=memory if memory in types else "",
            cpu_limit_cores=self.cpu_limit_cores,
        )


def names_by_service(services: Iterable[ServiceConfig]) -> dict[str, ConfiguredNames]:
    """Each configured service's names, by slug (for `PageScraper(names=…)`)."""
    return {service.slug: ConfiguredNames.of(service) for service in services}


def _first(names: Iterable[str], types: Mapping[str, str], suffixes: tuple[str, ...] = ("",)
           ) -> str:
    return next((n for n in names if any(n + s in types for s in suffixes)), "")


def _status_label(page: Page, requests: str) -> str:
    """The status label of the first request series on the page ("code" if it has none)."""
    for name, labels in page.values:
        if name == requests:
            present = {label for label, _ in labels}
            return next((s for s in STATUS_LABELS if s in present), MetricNames.status_label)
    return MetricNames.status_label


@dataclass(frozen=True)
class ServiceValues:
    """One minute of one target: counts are increases over the minute."""

    requests: float
    errors: float  # requests answered with a server error (5xx)
    latency_sum: float
    latency_count: float
    cpu_ratio: float | None
    memory_bytes: float | None


@functools.lru_cache(maxsize=65_536)  # the same series come back every scrape
def is_server_error(labels: Labels, status_label: str) -> bool:
    """Whether a request series' status (5xx, or a grouped `5xx`) is a server error."""
    return SERVER_ERROR.fullmatch(dict(labels).get(status_label, "")) is not None


def service_values(minute: MinuteValues, names: MetricNames) -> ServiceValues:
    """The service figures of one completed minute, read with `names`."""
    requests = errors = latency_sum = latency_count = cpu_seconds = 0.0
    sum_name, count_name = f"{names.latency}_sum", f"{names.latency}_count"
    for (name, labels), value in minute.increases.items():
        if name == names.requests:  # may also be count_name (Micrometer): not elif
            requests += value
            if is_server_error(labels, names.status_label):
                errors += value
        if name == sum_name:
            latency_sum += value
        elif name == count_name:
            latency_count += value
        elif name == names.cpu:
            cpu_seconds += value
    return ServiceValues(requests, errors, latency_sum, latency_count,
                         cpu_ratio(minute.gauges, names, cpu_seconds),
                         _sum(minute.gauges, names.memory))


def cpu_ratio(gauges: Mapping[Key, float], names: MetricNames, cpu_seconds: float
              ) -> float | None:
    """The share of the allotted CPU: cores / limit for a seconds counter, else the gauge."""
    if not names.cpu:
        return None
    if names.cpu_is_seconds:
        return cpu_seconds / MINUTE_S / (names.cpu_limit_cores or 1.0)
    values = [v for (n, _), v in gauges.items() if n == names.cpu]
    return sum(values) / len(values) if values else None


def _sum(gauges: Mapping[Key, float], name: str) -> float | None:
    values = [v for (n, _), v in gauges.items() if n == name]
    return sum(values) if values else None
