"""Error budget attribution: how much of the budget went inside each deploy or incident.

Each marker is counted on its own, so overlapping markers can together claim more than
what was spent; what fell outside every marker is reported as `unattributed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slo.budget import budget_at
from slo.model import SLO
from slo.series import MINUTE_S, MinuteSeries


@dataclass(frozen=True)
class Marker:
    name: str
    start: int  # Unix seconds
    end: int
    kind: str = "event"  # deploy, incident, …


@dataclass(frozen=True)
class Share:
    name: str
    kind: str
    bad: float
    of_spent: float | None  # share of the bad events of the period
    of_budget: float | None  # share of the period's allowance

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "bad": self.bad,
                "of_spent": self.of_spent, "of_budget": self.of_budget}


def attribute(slo: SLO, series: MinuteSeries, at: int, markers: Sequence[Marker]
              ) -> list[Share]:
    """Shares of the budget spent inside each marker over the period ending at `at`;
    the last entry is what no marker covers."""
    budget = budget_at(series, at, slo.period, slo.error_budget_ratio)
    first = max(0, (budget.period_start - series.start) // MINUTE_S)
    last = series.index_at(at)
    bad = series.bad
    covered = np.zeros(len(series), dtype=bool)

    def share(name: str, kind: str, value: float) -> Share:
        return Share(name, kind, value,
                     value / budget.bad if budget.bad > 0 else None,
                     value / budget.allowed_bad if budget.allowed_bad > 0 else None)

    out = []
    for m in markers:
        lo = max(first, (m.start - series.start) // MINUTE_S)
        hi = min(last + 1, -(-(m.end - series.start) // MINUTE_S))  # minutes touched
        if hi <= lo:
            out.append(share(m.name, m.kind, 0.0))
            continue
        covered[lo:hi] = True
        out.append(share(m.name, m.kind, float(bad[lo:hi].sum())))
    rest = float(bad[first:last + 1][~covered[first:last + 1]].sum())
    out.append(share("unattributed", "rest", rest))
    return out
