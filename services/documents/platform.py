"""The platform table: each service's live figures beside the ones it is expected to show.

Pure transforms of query-layer frames, shared by the dashboard and the API.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from services.config import ServiceConfig
from slo.histogram import histogram_quantile

GIB = 2**30
SUMMARY_COLUMNS = [
    "service", "name", "unit", "throughput_rps", "error_ratio", "p95_ms", "cpu_ratio",
    "memory_gib", "baseline_p95_ms", "baseline_throughput_rps", "baseline_cpu_ratio",
    "baseline_memory_gib", "baseline_status", "minutes",
]


def p95_by_interval(buckets: pd.DataFrame, q: float = 0.95) -> pd.DataFrame:
    """Per service and interval, the q-quantile (ms) of bucket increases (`le` in seconds)."""
    if buckets.empty:
        return pd.DataFrame(columns=["ts", "service", "p95_ms"])
    wide = buckets.pivot_table(index=["ts", "service"], columns="le", values="count",
                               aggfunc="sum").sort_index(axis=1)
    values = histogram_quantile(q, wide.columns.to_numpy(dtype=float), wide.to_numpy())
    out = wide.index.to_frame(index=False)
    out["p95_ms"] = values * 1000
    return out


def service_summary(
    services: Sequence[ServiceConfig], metrics: pd.DataFrame, buckets: pd.DataFrame
) -> pd.DataFrame:
    """One row per configured service over the frames' whole range.

    Throughput is requests per second over the minutes present; p95 comes from the summed
    bucket increases of the range, as `histogram_quantile(0.95, sum by (le) (increase…))`.
    A service with no data keeps NaN in its live columns (shown as "no data").
    """
    by_service = (metrics.groupby("service").agg(
        minutes=("ts", "nunique"), requests=("requests", "sum"), errors=("errors", "sum"),
        cpu_ratio=("cpu_ratio", "mean"), memory_bytes=("memory_bytes", "mean"))
        if len(metrics) else None)
    p95s = _range_p95_ms(buckets)
    rows = []
    for s in services:
        m = (by_service.loc[s.slug] if by_service is not None and s.slug in by_service.index
             else None)
        minutes = int(m["minutes"]) if m is not None else 0
        requests = float(m["requests"]) if minutes else np.nan
        base = s.baseline
        rows.append({
            "service": s.slug, "name": s.name, "unit": s.unit,
            "throughput_rps": requests / (60 * minutes) if minutes else np.nan,
            "error_ratio": float(m["errors"]) / requests if minutes and requests else np.nan,
            "p95_ms": p95s.get(s.slug, np.nan),
            "cpu_ratio": float(m["cpu_ratio"]) if minutes else np.nan,
            "memory_gib": float(m["memory_bytes"]) / GIB if minutes else np.nan,
            "baseline_p95_ms": base.p95_ms if base else np.nan,
            "baseline_throughput_rps": base.throughput_rps if base else np.nan,
            "baseline_cpu_ratio": base.cpu_ratio if base else np.nan,
            "baseline_memory_gib": base.memory_gib if base else np.nan,
            "baseline_status": base.status if base else "",
            "minutes": minutes,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _range_p95_ms(buckets: pd.DataFrame) -> dict[str, float]:
    """service -> p95 (ms) of its bucket increases summed over the whole range (each
    service on its own bounds: layouts differ between services)."""
    if buckets.empty:
        return {}
    summed = buckets.groupby(["service", "le"])["count"].sum()
    out = {}
    for service, part in summed.groupby(level="service"):
        bounds = part.index.get_level_values("le").to_numpy(dtype=float)
        order = np.argsort(bounds)
        out[str(service)] = float(histogram_quantile(
            0.95, bounds[order], part.to_numpy()[order])[0]) * 1000
    return out
