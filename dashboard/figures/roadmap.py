"""Roadmap figures: phases as a table with progress, the checklist as an indented tree with
status words, and progress over time as steps. Pure: trees and frames in, figures,
frames and markdown out; built from whatever headings the stored rows carry."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from services.documents.roadmap import (
    DONE,
    IN_PROGRESS,
    PLANNED,
    Item,
    Phase,
    Roadmap,
    progress_of,
)

GREEN, AMBER, GREY = "#21a366", "#e8a317", "#8c8c8c"
STATUS_COLOUR = {DONE: GREEN, IN_PROGRESS: AMBER, PLANNED: GREY}
# Streamlit's colour names for the same words (badges and labels in markdown)
STATUS_BADGE = {DONE: "green", IN_PROGRESS: "orange", PLANNED: "gray"}
STATUS_WORD = {DONE: "done", IN_PROGRESS: "in progress", PLANNED: "planned", None: "no items"}
OVERALL = "All phases"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~<>:])")
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=360, hovermode="x unified",
               legend=dict(orientation="h", yanchor="top", y=-0.15, x=0))


def done_of(done: int, total: int) -> str:
    """`5 / 9 done`, as Prometheus heads a pool `3 / 4 up`."""
    return f"{done} / {total} done"


def escape(text: str) -> str:
    """Text shown as itself in Streamlit markdown (no emphasis, links, maths or colours)."""
    return _MARKDOWN.sub(r"\\\1", text)


def badge(status: str | None, text: str | None = None) -> str:
    """A coloured word: `:green-badge[done]`; grey for anything without a status."""
    colour = STATUS_BADGE.get(status or "", "gray")
    return f":{colour}-badge[{text or STATUS_WORD.get(status, 'no items')}]"


def phase_label(phase: Phase) -> str:
    """An expander's heading: `Phase 2: Core Services · 5 / 9 done · :orange[in progress]`."""
    colour = STATUS_BADGE.get(phase.progress or "", "gray")
    return (f"{escape(phase.full_title)} · {done_of(phase.leaves_done, phase.leaves)} · "
            f":{colour}[{STATUS_WORD[phase.progress]}]")


def phase_table(tree: Roadmap) -> pd.DataFrame:
    """One row per phase in document order: its group path, counts, share done (None for a
    phase without items, never 0) and status word."""
    rows = [{
        "Group": " / ".join(p.path),
        "Phase": p.title,
        "Done": done_of(p.leaves_done, p.leaves),
        "Progress": p.completion,
        "Status": STATUS_WORD[p.progress],
        "Items done": p.leaves_done,
        "Items": p.leaves,
    } for p in tree.phases]
    frame = pd.DataFrame(rows, columns=["Group", "Phase", "Done", "Progress", "Status",
                                        "Items done", "Items"])
    if not frame.empty and not frame["Group"].astype(bool).any():
        frame = frame.drop(columns="Group")
    return frame


def coloured_status(frame: pd.DataFrame) -> Styler:
    """The table with its Status words in their colours (the word stays: colour is extra)."""
    colours = {word: STATUS_COLOUR.get(status, GREY) for status, word in STATUS_WORD.items()}
    return frame.style.map(lambda word: f"color: {colours.get(word, GREY)}; font-weight: 600",
                           subset=["Status"])


def group_table(tree: Roadmap) -> pd.DataFrame:
    """Groups (headings over phases) with the sums of their phases; empty without groups."""
    return pd.DataFrame([{
        "Group": g.full_title,
        "Phases": len(g.phases),
        "Done": done_of(g.leaves_done, g.leaves),
        "Progress": g.completion,
        "Status": STATUS_WORD[g.progress],
    } for g in tree.groups], columns=["Group", "Phases", "Done", "Progress", "Status"])


def _item_status(item: Item) -> str:
    if not item.children:
        return badge(DONE) if item.checked else badge(PLANNED, "open")
    return badge(progress_of(item.leaves_done, item.leaves),
                 done_of(item.leaves_done, item.leaves))


def checklist_markdown(phase: Phase) -> str:
    """The phase's checklist as a nested markdown list, each item with its status word
    (a leaf: done or open; a parent: its leaves done) and its target."""
    lines = []
    for item in phase.walk():
        target = f" · target: {escape(item.target)}" if item.target else ""
        lines.append(f"{'    ' * (item.depth - 1)}- {_item_status(item)} "
                     f"{escape(item.title)}{target}")
    return "\n".join(lines) if lines else "_No checklist items under this heading._"


def history_frame(snapshots: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Completion (% of items done) per phase and overall over [start, end]: each snapshot
    holds until the next, so the one in force at `start` opens the range and the last one
    runs on to `end`. Columns: taken_at, one per phase (NaN while it did not exist), OVERALL.
    Empty when no snapshot was taken before `end`."""
    if snapshots.empty:
        return pd.DataFrame(columns=["taken_at", OVERALL])
    frame = snapshots.assign(taken_at=pd.to_datetime(snapshots["taken_at"], utc=True))
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    frame = frame[frame["taken_at"] <= end_ts]
    if frame.empty:
        return pd.DataFrame(columns=["taken_at", OVERALL])
    opening = frame.loc[frame["taken_at"] <= start_ts, "taken_at"].max()
    if pd.notna(opening):
        frame = frame[frame["taken_at"] >= opening]
    done = frame.pivot_table(index="taken_at", columns="phase", values="done", aggfunc="sum")
    total = frame.pivot_table(index="taken_at", columns="phase", values="total", aggfunc="sum")
    share = (done / total.where(total > 0)) * 100
    share[OVERALL] = done.sum(axis=1) / total.sum(axis=1).where(lambda t: t > 0) * 100
    share.index = share.index.where(share.index >= start_ts, start_ts)  # in force at start
    share.loc[end_ts] = share.iloc[-1]  # the last snapshot holds until the range ends
    return share.reset_index(names="taken_at")


def history(snapshots: pd.DataFrame, start: datetime, end: datetime) -> go.Figure:
    """Progress over the range as steps (a snapshot holds until the next), one line per
    phase and a thicker one for all phases, x pinned to the range."""
    frame = history_frame(snapshots, start, end)
    figure = go.Figure()
    for column in [c for c in frame.columns if c not in ("taken_at", OVERALL)]:
        figure.add_trace(go.Scatter(x=frame["taken_at"], y=frame[column], name=column,
                                    mode="lines", line_shape="hv", connectgaps=False))
    if not frame.empty:
        figure.add_trace(go.Scatter(x=frame["taken_at"], y=frame[OVERALL], name=OVERALL,
                                    mode="lines", line_shape="hv", connectgaps=False,
                                    line=dict(width=3, color=GREEN, dash="dot")))
    else:
        figure.add_annotation(text="No data: no progress recorded before the range ends",
                              showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    figure.update_layout(title="Progress over time", yaxis_title="items done (%)", **_LAYOUT)
    figure.update_xaxes(type="date", range=[start, end], title_text="time (UTC)")
    figure.update_yaxes(range=[0, 105], ticksuffix=" %")
    return figure
