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
    rows = []
    for s in services:
        m = metrics[metrics["service"] == s.slug] if len(metrics) else metrics
        b = buckets[buckets["service"] == s.slug] if len(buckets) else buckets
        minutes = int(m["ts"].nunique()) if len(m) else 0
        requests = float(m["requests"].sum()) if minutes else np.nan
        p95 = np.nan
        if len(b):
            summed = b.groupby("le")["count"].sum().sort_index()
            p95 = float(histogram_quantile(0.95, summed.index.to_numpy(dtype=float),
                                           summed.to_numpy())[0]) * 1000
        base = s.baseline
        rows.append({
            "service": s.slug, "name": s.name, "unit": s.unit,
            "throughput_rps": requests / (60 * minutes) if minutes else np.nan,
            "error_ratio": float(m["errors"].sum()) / requests if requests else np.nan,
            "p95_ms": p95,
            "cpu_ratio": float(m["cpu_ratio"].mean()) if minutes else np.nan,
            "memory_gib": float(m["memory_bytes"].mean()) / GIB if minutes else np.nan,
            "baseline_p95_ms": base.p95_ms if base else np.nan,
            "baseline_throughput_rps": base.throughput_rps if base else np.nan,
            "baseline_cpu_ratio": base.cpu_ratio if base else np.nan,
            "baseline_memory_gib": base.memory_gib if base else np.nan,
            "baseline_status": base.status if base else "",
            "minutes": minutes,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
