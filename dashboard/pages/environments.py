"""Environments: the platform's configuration matrix (database, cache, CDN, regions, zones,
autoscaling per environment) from the configuration's `environments:`, the settings that
differ marked, and the environment the sidebar scopes every page to shown in bold."""

from __future__ import annotations

import streamlit as st

from dashboard import context, data
from dashboard.figures import environments as figures

view = context.current()
settings = data.settings()
environments = settings.environments

if not environments:
    st.info("No environments are configured. Describe them under `environments:` in the "
            "configuration, and name one on each scrape target (`environment:`); with two "
            "or more, the sidebar scopes every page to one of them.",
            icon=":material/layers:")
    st.code("environments:\n  staging:\n    database: PostgreSQL 15 (HA)\n"
            "    cache: Redis Cluster\n    cdn: [CloudFront]\n    regions: [us-west-1]\n"
            "    autoscaling: {min_nodes: 2, max_nodes: 5}\n  production:\n"
            "    database: PostgreSQL 15 (HA)\n    zones: 5\n", language="yaml")
    st.stop()

frame = figures.matrix(environments, settings.sources.scrape.targets)
changed = figures.differing(frame)
first, second, third = st.columns(3)
first.metric("Environments", len(environments), border=True)
second.metric("Settings that differ", f"{len(changed)} of {len(frame)}", border=True,
              help=", ".join(changed) or None)
third.metric("Scoped to", view.environment or "all environments", border=True,
             help="Pick one in the sidebar: every page then shows only it (URL: env=).")

st.dataframe(figures.styled(frame, view.environment), width="stretch",
             column_config={"Across environments": st.column_config.TextColumn(
                 help="differs: not the same in every environment (shaded)")})
st.caption(f"Shaded: what differs from {view.environment} (in bold)." if view.environment
           else "Shaded: settings that differ between environments; pick one in the sidebar "
                "to compare the others with it.")
st.download_button("Download the matrix (CSV)", frame.to_csv().encode(),
                   file_name="environments.csv", mime="text/csv", icon=":material/download:")
