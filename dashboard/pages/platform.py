"""Platform: every service's live latency, throughput, errors, CPU and memory, beside the
figures it is expected to show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard import data
from dashboard.figures import platform as figures
from services.documents.platform import p95_by_interval, service_summary

RANGES = {"Last hour": timedelta(hours=1), "Last 6 hours": timedelta(hours=6),
          "Last 24 hours": timedelta(days=1), "Last 7 days": timedelta(days=7)}

settings = data.settings()
choice = st.segmented_control("Range", list(RANGES), default="Last hour",
                              label_visibility="collapsed") or "Last hour"
end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
start = end - RANGES[choice]
resolution = "minute" if RANGES[choice] <= timedelta(days=1) else "hour"

metrics = data.service_metrics(start, end, resolution)
buckets = data.latency_buckets(start, end, resolution)
summary = service_summary(settings.services, metrics, buckets)

live = summary[summary["minutes"] > 0]
left, middle, right = st.columns(3)
left.metric("Services", f"{len(live)} reporting of {len(summary)}")
middle.metric("Requests / s", f"{live['throughput_rps'].sum():,.0f}" if len(live) else "no data")
slowest = (live["p95_ms"] / live["baseline_p95_ms"]).max() if len(live) else float("nan")
right.metric("Slowest p95 vs expected",
             f"{slowest:.2f}x" if slowest == slowest else "no data")

st.dataframe(figures.platform_table(summary), hide_index=True, use_container_width=True)
if metrics.empty:
    st.info(f"No metrics collected between {start:%Y-%m-%d %H:%M} and {end:%H:%M} UTC. "
            "The expected figures come from the configuration.")
else:
    step = 60 if resolution == "minute" else 3600
    st.plotly_chart(figures.throughput(metrics, step_s=step), use_container_width=True)
    st.plotly_chart(figures.latency_p95(p95_by_interval(buckets)), use_container_width=True)
