"""Streamlit entry point: `streamlit run streamlit_app.py` (or `apollo dashboard`)."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Apollo Observatory", page_icon=":material/monitoring:",
                   layout="wide")

page = st.navigation([
    st.Page("dashboard/pages/platform.py", title="Platform", icon=":material/dns:",
            default=True),
])
st.title(page.title)
page.run()
