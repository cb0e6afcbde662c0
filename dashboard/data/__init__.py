"""The dashboard's data edge: settings and the store opened once per process, query results
cached briefly (`st.cache_data` with short TTLs). One module per domain beside this one;
pages call these, never the store directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pandas as pd
import streamlit as st
from sqlalchemy import Connection, Engine

from services.config import Settings, load_settings
from services.store import queries
from services.store.catalog import service_labels
from services.store.engine import make_engine
from services.store.queries import Resolution

TTL_S = 30  # a collection round lands every 15 s; live pages rerun at most this often


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def engine() -> Engine:
    return make_engine(settings().store_url)


@contextmanager
def connect() -> Iterator[Connection]:
    """A read connection to the store for one cached read."""
    with engine().connect() as conn:
        yield conn


@st.cache_data(ttl=TTL_S)
def service_metrics(start: datetime, end: datetime, resolution: Resolution) -> pd.DataFrame:
    with connect() as conn:
        return queries.service_metrics(conn, start, end, resolution=resolution)


@st.cache_data(ttl=TTL_S)
def latency_buckets(start: datetime, end: datetime, resolution: Resolution) -> pd.DataFrame:
    with connect() as conn:
        return queries.latency_buckets(conn, start, end, resolution=resolution)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def services_in(environment: str | None) -> list[str] | None:
    """Slugs of the configured services labelled with `environment` (the store's rows, the
    configuration's labels or their scrape targets, as the API's filters read them);
    None: every service (no environment chosen)."""
    if environment is None:
        return None
    config = settings()
    with connect() as conn:
        labels = service_labels(conn, config, config.services)
    return [c.slug for c in config.services if labels[c.slug].get("environment") == environment]
