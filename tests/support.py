"""Helpers shared by tests: reading metrics pages the way Prometheus would."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from services.config import EXAMPLE_CONFIG, load_settings
from services.fleet.runner import profiles

PROFILES = {p.slug: p for p in profiles(load_settings(EXAMPLE_CONFIG))}
T0 = 1_793_613_600.0  # 2026-11-02 10:00 UTC


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
