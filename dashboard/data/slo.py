"""The SLO pages' reads: every configured SLO as the API's list reports it, one SLO in full
(the engine's report, its history on a step grid, every window's burn rate over the range,
the backtest, forecast and attribution over its period) and the Prometheus rules it
exports. Each figure comes from its one home (services/store/slo_evaluation, slo_history,
markers; slo/backtest, forecast, attribution, rules), composed as the API's /slos routes
compose them, cached briefly; dashboard/figures/slo turns them into tables and charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import Connection

from dashboard.data import TTL_S, connect, services_in, settings
from dashboard.figures.slo import PairState, SloSummary
from services.alerting.read import STATE_ORDER, alerts
from services.errors import InputError
from services.files import slo_catalog
from services.store.catalog import slo_labels
from services.store.markers import attribution_markers
from services.store.slo_data import stored_series
from services.store.slo_evaluation import Evaluation, evaluate, period_seconds, summary_series
from services.store.slo_history import history_points
from slo.attribution import Marker, Share, attribute
from slo.backtest import Backtest, backtest
from slo.burn import Prefix, error_ratios
from slo.durations import format_duration
from slo.errors import SpecError
from slo.forecast import Exhaustion, forecast
from slo.model import SLO, LatencyThreshold, Threshold
from slo.rules import prometheus_rules, render_rules, unexportable
from slo.series import MINUTE_S, MinuteSeries
from slo.timeslices import to_timeslices
from slo.windows import slo_windows

SEVERITIES = ("page", "ticket")


# --- which SLOs -----------------------------------------------------------------------------


def catalog() -> tuple[list[SLO], str | None]:
    """The configured SLOs (`files.slo_catalog`, parsed again only when a file changes), or
    none and every problem when the files do not load."""
    try:
        return list(slo_catalog(settings().slo_files)), None
    except InputError as exc:
        return [], str(exc)


def find(slo_id: str) -> SLO | None:
    return next((s for s in catalog()[0] if s.id == slo_id), None)


def scoped(slos: Sequence[SLO], environment: str | None) -> list[SLO]:
    chosen = services_in(environment)
    return list(slos) if chosen is None else [s for s in slos if s.service in set(chosen)]


# --- the list -------------------------------------------------------------------------------


def sli_kind(slo: SLO) -> str:
    """"latency" when a bad event is a slow one (Pyrra then says "Too slow"), else
    "errors"."""
    return "latency" if isinstance(slo.sli, LatencyThreshold | Threshold) else "errors"


def pair_states(ev: Evaluation) -> list[PairState]:
    """Every window pair of the page and ticket alerts as the report judged it."""
    if ev.report is None:
        return []
    out = []
    for alert in ev.report.alerts:
        for p in alert.pairs:
            out.append(PairState(
                alert.severity, format_duration(p.window.short), format_duration(p.window.long),
                p.factor, p.threshold, p.short.burn_rate, p.long.burn_rate,
                p.firing and not alert.disabled, p.can_fire))
    return out


def stored_states(rows: Sequence[Mapping[str, Any]], slo_id: str) -> dict[str, str]:
    """The stored state of the SLO's page and ticket burn alerts ("inactive" when the
    evaluator wrote none) and of its absent-data alert, as the API's list reads them."""
    mine = sorted((r for r in rows if r["slo"] == slo_id),
                  key=lambda r: STATE_ORDER.get(r["state"], 9))
    out = {}
    for severity in SEVERITIES:
        row = next((r for r in mine if r["kind"] == "burn" and r["severity"] == severity), None)
        out[severity] = row["state"] if row is not None else "inactive"
    absent = next((r for r in mine if r["kind"] == "absent"), None)
    out["absent"] = absent["state"] if absent is not None else "inactive"
    return out


def summarise(ev: Evaluation, labels: Mapping[str, str],
              rows: Sequence[Mapping[str, Any]]) -> SloSummary:
    slo, rep = ev.slo, ev.report
    b = rep.budget if rep else None
    return SloSummary(
        id=slo.id, service=slo.service, name=slo.name, description=slo.description,
        labels=dict(labels), objective=slo.objective,
        period=format_duration(slo.period.length), kind=sli_kind(slo),
        sli=b.sli if b else None, budget=b.remaining_ratio if b else None,
        good=b.good if b else None, total=b.total if b else None,
        burns={format_duration(w.window): w.burn_rate for w in rep.windows} if rep else {},
        pairs=pair_states(ev), states=stored_states(rows, slo.id), problem=ev.problem,
        has_data=ev.has_data, at=ev.at)


def summaries_at(conn: Connection, slos: Sequence[SLO], at: int) -> list[SloSummary]:
    """The API's list (GET /slos?at=): each SLO's report on the cheap series
    (`summary_series`), its labels and its stored alerts."""
    if not slos:
        return []
    labels = slo_labels(conn, slos)
    rows = alerts(conn, source="apollo")
    series = summary_series(conn, slos, at)
    return [summarise(evaluate(conn, s, at, series[s.id]), labels[s.id], rows) for s in slos]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def summaries(at: int, environment: str | None) -> tuple[list[SloSummary], str | None]:
    """Every configured SLO (of the environment's services) at `at`, or the reason the
    SLO files do not load."""
    slos, problem = catalog()
    with connect() as conn:
        return summaries_at(conn, scoped(slos, environment), at), problem


# --- one SLO --------------------------------------------------------------------------------


@st.cache_data(ttl=TTL_S, show_spinner=False)
def evaluation(slo_id: str, at: int) -> Evaluation | None:
    """The SLO's report on its period's stored minutes (`evaluate`, as GET /slos/{id})."""
    slo = find(slo_id)
    if slo is None:
        return None
    with connect() as conn:
        return evaluate(conn, slo, at)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def summary(slo_id: str, at: int) -> SloSummary | None:
    """The SLO as GET /slos/{id} reports it: on its period's minutes, with its labels and
    its stored alerts."""
    slo, ev = find(slo_id), evaluation(slo_id, at)
    if slo is None or ev is None:
        return None
    with connect() as conn:
        labels = slo_labels(conn, [slo])[slo.id]
        rows = alerts(conn, source="apollo", slo=slo_id)
    return summarise(ev, labels, rows)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def history(slo_id: str, start: int, end: int, step: int) -> pd.DataFrame:
    """`history_points` (GET /slos/{id}/history) as a frame indexed by interval start."""
    slo = find(slo_id)
    if slo is None:
        return pd.DataFrame()
    with connect() as conn:
        points = history_points(conn, slo, start, end, step)
    frame = pd.DataFrame([asdict(p) for p in points])
    if frame.empty:
        return frame
    return frame.astype({c: float for c in ("good", "total", "sli", "burn_rate",
                                            "budget_remaining")}).set_index("ts")


def window_burns_of(series_start: int, good: np.ndarray, total: np.ndarray, slo: SLO,
                    ends: np.ndarray) -> pd.DataFrame:
    """Burn rate over each alert window ending at each instant of `ends` (whole minutes),
    from the minutes the series holds (NaN where a window saw no events)."""
    sliced = to_timeslices(MinuteSeries(series_start, good, total), slo)
    windows = slo_windows(slo).durations
    ratios = error_ratios(Prefix.of_series(sliced), windows)
    at = np.clip((ends - sliced.start) // MINUTE_S - 1, 0, len(sliced) - 1)
    inside = (ends - sliced.start) // MINUTE_S - 1 >= 0
    out = {}
    for w in windows:
        values = ratios[w][at] / slo.error_budget_ratio
        out[format_duration(w)] = np.where(inside, values, np.nan)
    return pd.DataFrame(out, index=pd.Index(ends, name="at"))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def window_burns(slo_id: str, start: int, end: int, step: int) -> pd.DataFrame:
    """Every alert window's burn rate at each step end in (start, end], each window ending
    there (its minutes read back from before `start` so every window is whole)."""
    slo = find(slo_id)
    if slo is None or slo.error_budget_ratio <= 0:
        return pd.DataFrame()
    try:
        longest = max(slo_windows(slo).durations)
    except SpecError:
        return pd.DataFrame()
    first = start - int(longest.total_seconds())
    slice_s = MINUTE_S * (int(slo.timeslices.window.total_seconds()) // MINUTE_S
                          if slo.timeslices else 1)
    first -= first % slice_s
    with connect() as conn:
        series = stored_series(conn, slo.id, first, end)
    ends = np.arange(start + step, end + 1, step, dtype=np.int64)
    return window_burns_of(series.start, series.good, series.total, slo, ends)


@dataclass(frozen=True)
class PeriodFigures:
    """What the detail shows over the SLO's period ending at `at`: the backtest of the
    current alert policy, the forecast and the budget each marker spent."""

    start: int
    end: int
    backtest: Backtest | None
    backtest_problem: str | None
    forecast: list[Exhaustion]
    markers: list[Marker]
    shares: list[Share]


@st.cache_data(ttl=TTL_S, show_spinner=False)
def period_figures(slo_id: str, at: int) -> PeriodFigures | None:
    """GET /slos/{id}/backtest (its default range: one period before `to`), /forecast and
    the detail's attribution, for `at`."""
    slo = find(slo_id)
    ev = evaluation(slo_id, at)
    if slo is None or ev is None:
        return None
    first, last = at - period_seconds(slo), at
    with connect() as conn:
        sliced = to_timeslices(stored_series(conn, slo.id, first, last), slo)
        markers = (attribution_markers(conn, service=slo.service,
                                       start=ev.report.budget.period_start, end=ev.at)
                   if ev.report is not None else [])
    result, problem = None, None
    if not len(sliced):
        problem = "the period is shorter than one slice of the SLO"
    else:
        try:
            result = backtest(slo, sliced, slo_windows(slo))
        except SpecError as exc:
            problem = exc.reason
    has = ev.report is not None and ev.series is not None
    return PeriodFigures(
        start=first, end=last, backtest=result, backtest_problem=problem,
        forecast=forecast(slo, ev.series, ev.at) if has else [],  # type: ignore[arg-type]
        markers=markers,
        shares=attribute(slo, ev.series, ev.at, markers) if has else [],  # type: ignore[arg-type]
    )


def rules_yaml(slo: SLO) -> tuple[str | None, str | None]:
    """(the Prometheus rules `apollo slo rules` writes for this SLO, why not)."""
    reason = unexportable(slo)
    if reason:
        return None, reason
    try:
        return render_rules(prometheus_rules([slo])), None
    except SpecError as exc:
        return None, str(exc)


def pending_for(severity: str) -> timedelta:
    """How long a burn must hold before the alert fires (the configuration's `for`)."""
    return settings().alerting.pending_for(severity)
