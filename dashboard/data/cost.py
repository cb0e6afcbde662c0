"""Cost lines and the requests they are divided by, for the Cost page: read through the
store's document reads (as the API's /costs reads them) and cached briefly."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboard.data import TTL_S, connect
from services.store import document_rows
from services.store.document_rows import CostRow, StatedTotalRow


@st.cache_data(ttl=TTL_S)
def months() -> list[date]:
    """Months with stored cost lines, newest first."""
    with connect() as conn:
        return document_rows.cost_months(conn)


@st.cache_data(ttl=TTL_S)
def lines(first: date, last: date) -> list[CostRow]:
    """Every source's lines of the months from `first` to `last` (first days)."""
    with connect() as conn:
        return document_rows.cost_rows(conn, first, last)


@st.cache_data(ttl=TTL_S)
def stated_totals(first: date, last: date) -> list[StatedTotalRow]:
    """Every source's stated Total row of the months from `first` to `last`."""
    with connect() as conn:
        return document_rows.stated_totals(conn, first, last)


@st.cache_data(ttl=TTL_S)
def served(start: datetime, end: datetime) -> pd.DataFrame:
    """What each service served in [start, end): service, unit, served."""
    with connect() as conn:
        return document_rows.served_by_service(conn, start, end)
