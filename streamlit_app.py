"""Streamlit entry point: `streamlit run streamlit_app.py` (or `apollo dashboard`).

The shell: navigation over the pages, the shared range and environment (dashboard/context),
how fresh the figures are with auto-refresh for live ranges, and a banner instead of a
traceback when the configuration or the store is broken."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import context, data, shell
from dashboard.data.targets import down_sources
from services.errors import ConfigError, StoreError
from services.files import mask_url

# A local favicon: a :material/…: one is fetched from fonts.gstatic.com, and the dashboard
# makes no request beyond the machine.
st.set_page_config(page_title="Apollo Observatory", layout="wide",
                   page_icon=str(Path(__file__).with_name("dashboard") / "assets" / "favicon.png"))


@st.cache_data(ttl=5, show_spinner=False)
def _store_problem(url: str) -> str | None:
    """The store's health, asked at most every 5 s (each run would add a round trip)."""
    return shell.store_problem(data.engine())


page = shell.navigation()
try:
    settings = data.settings()
except ConfigError as exc:
    st.error(f"**The configuration does not load**, so no page can be shown:\n\n```\n{exc}\n```",
             icon=":material/settings_alert:")
    st.stop()

view = context.choose_view(settings)
every = shell.choose_refresh(view)
st.title(page.title)
st.caption(shell.status_line(view, time.time(), every))
problem = _store_problem(settings.store_url)
if problem is not None:
    st.error(f"**The store is not answering.**\n\n{problem}\n\nThe figures come back when "
             "it does; this page retries on its own.", icon=":material/database_off:")
    shell.start_timer(every or shell.refresh_interval(3600))
    st.stop()
if every is not None:
    shell.start_timer(every)
down = down_sources(int(time.time()) // 60 * 60)
if down:
    names = "; ".join(f"**{collector}** {mask_url(target)}: {mask_url(error)[:160]}"
                      for collector, target, error in down[:5])
    more = f" (and {len(down) - 5} more)" if len(down) > 5 else ""
    st.warning(f"**A source is down**, so its figures stop at its last good run: {names}"
               f"{more}. [Targets](/targets) has every run.", icon=":material/cloud_off:")
try:
    page.run()
except (SQLAlchemyError, StoreError) as exc:  # the store went away during this run
    _store_problem.clear()
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    st.error(f"**The store stopped answering** ({mask_url(settings.store_url)}): "
             f"{mask_url(reason)}", icon=":material/database_off:")
