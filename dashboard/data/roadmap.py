"""Roadmap rows for the Roadmap page, read through the store's document reads and cached
briefly; the page rebuilds the trees (services.documents.roadmap), as the API does."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import TTL_S, connect
from services.store import document_rows
from services.store.document_rows import ItemRow, SnapshotRow


@st.cache_data(ttl=TTL_S)
def items() -> dict[str, list[ItemRow]]:
    """Every stored document's checklist rows, by document name."""
    with connect() as conn:
        return document_rows.roadmap_items(conn)


@st.cache_data(ttl=TTL_S)
def snapshots(document: str) -> pd.DataFrame:
    """A document's phase counts each time they changed (taken_at, phase, done, total)."""
    with connect() as conn:
        rows = document_rows.roadmap_snapshots(conn, document)
    return pd.DataFrame(rows, columns=list(SnapshotRow._fields))
