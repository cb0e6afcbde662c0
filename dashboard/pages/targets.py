"""Targets: every scrape target and source with its newest run, as Prometheus's /targets
shows them (pools headed "3 / 4 up", endpoint, labels, last scrape and its duration,
samples, state, the last error in red under its row, gaps), filters in the URL (`pool`,
`health`, `q`), and the collector runs over the range."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import context
from dashboard.data import targets as targets_data
from dashboard.figures import targets as figures

POOL, HEALTH, TEXT = "pool", "health", "q"  # URL parameters
_KEYS = {POOL: "targets.pool", HEALTH: "targets.health", TEXT: "targets.q"}


def _listed(name: str) -> list[str]:
    value = st.query_params.get(name, "")
    return [v for v in value.split(",") if v]


def _reset() -> None:
    for param, key in _KEYS.items():
        st.query_params.pop(param, None)
        st.session_state.pop(key, None)


view = context.current()
frame = targets_data.targets(view.start, view.end)
runs = targets_data.runs(view.start, view.end, view.step_s)
now = time.time()

if frame.empty:
    st.info("No scrape target is configured and no collector ran in the range. Targets are "
            "listed under `sources.scrape.targets` (or scraped from the demo fleet by "
            "`apollo demo`); runs appear here once `apollo collect` runs.",
            icon=":material/radar:")
    st.stop()

# --- headline ---------------------------------------------------------------------------------
summary = figures.pool_summary(frame)
first, second, third = st.columns(3)
first.metric("Targets up", f"{summary['up'].sum()} / {summary['total'].sum()}", border=True,
             help="A target is up when its newest run (within a day) brought samples.")
total_runs = int(runs["runs"].sum()) if len(runs) else 0
failed_runs = int(runs.loc[runs["status"] == "failed", "runs"].sum()) if len(runs) else 0
second.metric("Runs in range", f"{total_runs:,}", border=True)
third.metric("Failed runs", f"{failed_runs:,}",
             delta=f"{failed_runs / total_runs:.2%} of runs" if total_runs else None,
             delta_color="inverse" if failed_runs else "off", border=True)

# --- filters (URL: pool, health, q) -------------------------------------------------------------
options = sorted(frame["pool"].unique())
left, middle, right = st.columns([2, 2, 3])
pools = left.multiselect("Pool", options, default=[p for p in _listed(POOL) if p in options],
                         key=_KEYS[POOL])
health = middle.multiselect("Health", figures.STATES,
                            default=[h for h in _listed(HEALTH) if h in figures.STATES],
                            key=_KEYS[HEALTH])
text = right.text_input("Filter by endpoint, label or error", st.query_params.get(TEXT, ""),
                        key=_KEYS[TEXT])
for param, value in ((POOL, ",".join(pools)), (HEALTH, ",".join(health)), (TEXT, text)):
    if value:
        st.query_params[param] = value
    else:
        st.query_params.pop(param, None)

shown = figures.filter_targets(frame, pools=pools, health=health, text=text)
shown_pools = figures.pool_summary(shown)
hidden = len(summary) - len(shown_pools)
if hidden:
    note, button = st.columns([4, 1])
    note.caption(f"{hidden} pool(s) and {len(frame) - len(shown)} target(s) hidden by filters.")
    button.button("Reset filters", on_click=_reset, icon=":material/filter_alt_off:")

# --- pools ------------------------------------------------------------------------------------
WIDTHS = [3, 4, 3, 1.3]
for pool in shown_pools.itertuples(index=False):
    with st.expander(figures.pool_header(pool.pool, pool.up, pool.total, pool.health),
                     expanded=True):
        head = st.columns(WIDTHS)
        for column, name in zip(head, ("Endpoint", "Labels", "Last run", "State"),
                                strict=True):
            column.caption(f"**{name}**")
        for _, row in shown[shown["pool"] == pool.pool].iterrows():
            cells = st.columns(WIDTHS)
            cells[0].markdown(f"`{row['endpoint']}`")
            cells[1].markdown(figures.label_chips(figures.labels_of(row)))
            last = row["last_at"]
            seconds = now - last.timestamp() if last is not None and last == last else None
            samples = f" · {int(row['samples']):,} samples" if seconds is not None else ""
            took = figures.duration_text(row["duration_s"])
            cells[2].markdown(f"{figures.ago(seconds)} ({took}){samples}" if seconds is not None
                              else "never run")
            cells[2].caption(f"{row['runs']:,} runs in range, {row['failed']:,} failed")
            cells[3].markdown(figures.state_badge(row["state"]))
            if row["error"]:
                st.markdown(f":red[{figures.escape(row['error'])}]")
            if row["gaps"]:
                st.caption(f"gaps: {figures.gap_text(row['gaps'])}")

st.download_button("Download the targets (CSV)",
                   frame.drop(columns=["labels", "gaps"]).to_csv(index=False).encode(),
                   file_name="targets.csv", mime="text/csv", icon=":material/download:")

# --- runs over time -------------------------------------------------------------------------------
st.subheader("Collector runs")
if runs.empty:
    st.caption(f"No collector run started in {view.label.lower()}.")
else:
    span = dict(start=view.start, end=view.end, step=view.step_s)
    left, right = st.columns(2)
    left.plotly_chart(figures.runs_over_time(runs, **span), width="stretch", theme="streamlit")
    right.plotly_chart(figures.run_durations(runs, **span), width="stretch",
                       theme="streamlit")
