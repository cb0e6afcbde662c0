"""The Environments page's matrix: one row per setting (database, cache, CDN, regions,
zones, autoscaling, scrape targets), one column per environment, with the rows whose
values differ marked in words and in colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from services.config import Environment, ScrapeTarget

NONE = "none"
NOT_SET = "not set"
DIFFERS, SAME = "differs", "same"
DIFFERS_BACKGROUND = "background-color: rgba(255, 159, 14, 0.22)"  # amber, readable on both themes
CHOSEN_STYLE = "font-weight: 700"
SETTINGS = ("Database", "Cache", "CDN", "Regions", "Zones", "Autoscaling", "Scrape targets")


def _cells(env: Environment, targets: int) -> dict[str, str]:
    scaling = env.autoscaling
    return {
        "Database": env.database or NOT_SET,
        "Cache": env.cache or NOT_SET,
        "CDN": ", ".join(env.cdn) or NONE,
        "Regions": ", ".join(env.regions) or NOT_SET,
        "Zones": str(env.zones) if env.zones is not None else NOT_SET,
        "Autoscaling": f"{scaling.min_nodes}-{scaling.max_nodes} nodes" if scaling
        else "fixed nodes",
        "Scrape targets": str(targets),
    }


def matrix(environments: Mapping[str, Environment],
           targets: Sequence[ScrapeTarget] = ()) -> pd.DataFrame:
    """Setting x environment, as text, plus a `Across environments` column saying whether
    the row differs."""
    columns = {name: _cells(env, sum(t.environment == name for t in targets))
               for name, env in environments.items()}
    frame = pd.DataFrame(columns, index=list(SETTINGS), columns=list(environments))
    frame.index.name = "Setting"
    frame["Across environments"] = [DIFFERS if frame.loc[s, list(environments)].nunique() > 1
                                    else SAME for s in SETTINGS]
    return frame


def differing(frame: pd.DataFrame) -> list[str]:
    """The settings whose value is not the same in every environment."""
    return [s for s in frame.index if frame.loc[s, "Across environments"] == DIFFERS]


def styled(frame: pd.DataFrame, chosen: str | None = None) -> Styler:
    """The matrix with differences shaded amber (the last column says them in words): with
    an environment chosen, the cells that differ from its value, in bold; otherwise every
    cell of a row that differs."""
    rows = set(differing(frame))
    environments = [c for c in frame.columns if c != "Across environments"]

    def shade(row: pd.Series) -> list[str]:
        styles = []
        for column in row.index:
            if chosen in environments:
                differs = column in environments and row[column] != row[chosen]
            else:
                differs = row.name in rows
            style = DIFFERS_BACKGROUND if differs else ""
            if column == chosen:
                style = CHOSEN_STYLE
            styles.append(style)
        return styles

    return frame.style.apply(shade, axis=1)
