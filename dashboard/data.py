"""The dashboard's data edge: the store opened once, query results cached briefly."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from services.config import Settings, load_settings
from services.store import queries
from services.store.engine import make_engine
from services.store.queries import Resolution


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def engine() -> Engine:
    return make_engine(settings().store_url)


@st.cache_data(ttl=30)
def service_metrics(start: datetime, end: datetime, resolution: Resolution) -> pd.DataFrame:
    with engine().connect() as conn:
        return queries.service_metrics(conn, start, end, resolution=resolution)


@st.cache_data(ttl=30)
def latency_buckets(start: datetime, end: datetime, resolution: Resolution) -> pd.DataFrame:
    with engine().connect() as conn:
        return queries.latency_buckets(conn, start, end, resolution=resolution)
