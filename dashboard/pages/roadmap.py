"""Roadmap: each stored roadmap's phases with "5 / 9 done" and progress bars, the nested
checklist as a tree with status words, and progress over the chosen range."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from dashboard import context
from dashboard.data import roadmap as data
from dashboard.figures import roadmap as figures
from services.documents.roadmap import tree_from_rows

view = context.current()
stored = data.items()
if not stored:
    st.info("No data: no roadmap is stored yet. List markdown checklists under "
            "`sources.roadmap.files` in the configuration; the collector reads them on its "
            "next round (or run `apollo collect --once`).", icon=":material/checklist:")
    st.stop()

names = list(stored)
document = names[0]
if len(names) > 1:
    wanted = st.query_params.get("document")
    document = st.selectbox("Document", names,
                            index=names.index(wanted) if wanted in names else 0)
    st.query_params["document"] = document
tree = tree_from_rows(document, stored[document])
updated = max(r.updated_at for r in stored[document])

done, total = tree.leaves_done, tree.leaves
phases_done = sum(1 for p in tree.phases if p.progress == "done")
left, middle, right = st.columns(3)
left.metric("Items", figures.done_of(done, total),
            help="Leaf items ticked; a parent counts through its sub-items, never twice.")
middle.metric("Completion", "No data" if tree.completion is None else f"{tree.completion:.0%}")
right.metric("Phases", figures.done_of(phases_done, len(tree.phases)))
st.progress(tree.completion or 0.0, text=f"{figures.done_of(done, total)} · "
            f"{figures.badge(tree.progress)}")
st.caption(f"`{figures.escape(document)}` · items last changed {updated:%Y-%m-%d %H:%M} UTC")

for flag in tree.flags:
    st.warning(f"Item {flag.key} (line {flag.line}): {figures.escape(flag.message)}",
               icon=":material/flag:")

progress = st.column_config.ProgressColumn("Progress", min_value=0, max_value=1,
                                           format="percent", color="green")
groups = figures.group_table(tree)
if not groups.empty:
    st.subheader("Groups")
    st.dataframe(figures.coloured_status(groups), hide_index=True,
                 column_config={"Progress": progress})
st.subheader("Phases")
phases = figures.phase_table(tree)
st.dataframe(figures.coloured_status(phases), hide_index=True, placeholder="No items",
             column_config={"Progress": progress, "Items done": None, "Items": None})
st.download_button("Download CSV", phases.to_csv(index=False).encode(),
                   file_name="roadmap-phases.csv", mime="text/csv", on_click="ignore")

st.subheader("Checklist")
for phase in tree.phases:
    with st.expander(figures.phase_label(phase), expanded=phase.progress == "in_progress"):
        st.progress(phase.completion or 0.0)
        st.markdown(figures.checklist_markdown(phase))

history = data.snapshots(document)
# a live range runs to this instant: a box ticked in the current minute already shows
until = datetime.fromtimestamp(view.now, UTC) if view.live else view.end_dt
st.plotly_chart(figures.history(history, view.start_dt, until), theme="streamlit")
if history.empty:
    st.caption("No progress recorded yet: the collector adds a point each time a box is "
               "ticked.")
