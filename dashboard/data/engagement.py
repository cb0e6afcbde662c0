"""Engagement days for the Engagement page (and the Cost page's user hint): the ClickHouse
rollup as the collector stored it, read through the store and cached briefly."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard.data import TTL_S, connect
from services.store import document_rows


@st.cache_data(ttl=TTL_S)
def days(first: date, last: date) -> pd.DataFrame:
    """Stored rows of the days from `first` to `last` (inclusive): day, event_type,
    active_users, events, avg_session_s, p95_response_ms; `all` is every type together."""
    with connect() as conn:
        return document_rows.engagement_days(conn, first, last)
