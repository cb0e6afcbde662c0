"""An SLO's stored minutes as the SLO engine's input: good and total per minute, summed
over instances, with the minutes nothing reported left as gaps (NaN), never as zeros."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from services.store import queries
from slo.series import MINUTE_S, MinuteSeries

EPOCH = pd.Timestamp(0, tz="UTC")


def stored_series(conn: Connection, slug: str, start: int, end: int) -> MinuteSeries:
    """Minutes [start, end) (Unix seconds, whole minutes) of the SLO `slug`."""
    if start % MINUTE_S or end % MINUTE_S or end <= start:
        raise ValueError(f"expected whole minutes with start < end, got [{start}, {end})")
    frame = queries.sli(conn, datetime.fromtimestamp(start, UTC),
                        datetime.fromtimestamp(end, UTC), slos=[slug])
    n = (end - start) // MINUTE_S
    good, total = np.full(n, np.nan), np.full(n, np.nan)
    if len(frame):
        seconds = (frame["ts"] - EPOCH) // pd.Timedelta(seconds=1)  # whatever the unit
        at = (seconds.to_numpy() - start) // MINUTE_S
        good[at] = frame["good"].to_numpy(dtype=float)
        total[at] = frame["total"].to_numpy(dtype=float)
    return MinuteSeries(start, good, total)
