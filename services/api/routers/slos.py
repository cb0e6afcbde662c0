"""/slos: the configured SLOs with their budget, burn rates and alert state; one SLO in
full, its history, a backtest of its alerts and a forecast of its budget.

The SLOs are those of the configured `slo_files`; their minutes come from the store
(`stored_series`) and the figures from the SLO engine, exactly as `apollo slo report NAME`
and `apollo slo backtest NAME` compute them: the period ending at `at` (default: this
minute), turned into slices for timeslice budgets, reported at the end of the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import Connection

from services.alerting import read as alert_reads
from services.api.deps import (
    Conn,
    LabelFilter,
    Paging,
    Range,
    Reader,
    bad_parameter,
    configured_slos,
    json_response,
    state,
)
from services.api.schemas import (
    AttributionOut,
    BacktestOut,
    BudgetOut,
    BurnPairOut,
    ExhaustionOut,
    FiringOut,
    ForecastOut,
    GapOut,
    HistoryPointOut,
    IncidentOut,
    NeverFireOut,
    PeriodOut,
    Resolution,
    SloAlertOut,
    SloDetailOut,
    SloHistoryOut,
    SloListOut,
    SloSummaryOut,
    SpecSourceOut,
    WindowOut,
    responses,
)
from services.errors import InputError
from services.store.catalog import slo_labels
from services.store.markers import attribution_markers
from services.store.slo_data import stored_series
from services.store.slo_evaluation import Evaluation, evaluate, summary_series
from services.store.slo_history import history_points
from services.timerange import LATEST, floor_minute, parse_time
from slo.attribution import attribute
from slo.backtest import backtest
from slo.budget import period_bounds
from slo.durations import format_duration
from slo.errors import SpecError
from slo.forecast import Exhaustion, forecast
from slo.model import SLO, EventRatio, LatencyThreshold, RawErrorRatio, RequestRatio, Threshold
from slo.report import SloReport
from slo.timeslices import to_timeslices
from slo.windows import slo_windows

router = APIRouter(prefix="/slos", tags=["slos"])

STEPS: dict[str, int] = {"minute": 60, "5m": 300, "hour": 3600}
MAX_POINTS = 10_000  # a history's intervals
MAX_RANGE_S = 400 * 86_400  # history and backtest ranges
SEVERITIES = ("page", "ticket")

AtParam = Annotated[str | None, Query(
    max_length=64, description="When the figures hold: ISO 8601, Unix seconds, now-1h or "
                               "-7d; floored to the minute. Default: now.")]


# --- the configured SLOs ------------------------------------------------------------------


def _find(request: Request, slo_id: str) -> SLO:
    slos = configured_slos(state(request).settings)
    found = [s for s in slos if s.id == slo_id]
    if not found:
        raise HTTPException(404, detail=f"no SLO {slo_id[:200]!r} in the configured "
                                        "slo_files")
    return found[0]


def sli_kind(slo: SLO) -> str:
    kinds = ((RequestRatio, "request_ratio"), (RawErrorRatio, "raw_error_ratio"),
             (LatencyThreshold, "latency_threshold"), (Threshold, "threshold"),
             (EventRatio, "event_ratio"))
    return next((name for cls, name in kinds if isinstance(slo.sli, cls)), "unknown")


def _at(request: Request, at: str | None) -> int:
    now = state(request).clock()
    try:
        t = parse_time(at, now, field="at") if at is not None else math.floor(now)
    except InputError as exc:
        raise bad_parameter("at", exc.reason) from None
    return floor_minute(t)


# --- the engine's figures -------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _windows(rep: SloReport, *, complete: bool = True) -> list[WindowOut]:
    return [WindowOut(window=format_duration(w.window), error_ratio=_num(w.error_ratio),
                      burn_rate=_num(w.burn_rate), complete=w.complete if complete else None)
            for w in rep.windows]


def _since(row: Mapping[str, Any]) -> float | None:
    return {"firing": row["fired_at"], "pending": row["active_since"],
            "resolved": row["resolved_at"]}.get(row["state"]) or row["updated_at"]


def _alerts(ev: Evaluation, rows: Sequence[Mapping[str, Any]], *, pairs: bool
            ) -> list[SloAlertOut]:
    """Page and ticket (the stored state beside the engine's verdict on the data), then
    the SLO's other alerts (no data, explicit conditions' severities)."""
    mine = sorted((r for r in rows if r["slo"] == ev.slo.id),
                  key=lambda r: alert_reads.STATE_ORDER.get(r["state"], 9))
    computed = {a.severity: a for a in ev.report.alerts} if ev.report else {}
    rules = {"page": ev.slo.alerting.page, "ticket": ev.slo.alerting.ticket}
    out, used = [], set()
    for severity in SEVERITIES:
        row = next((r for r in mine if r["kind"] == "burn" and r["severity"] == severity), None)
        verdict = computed.get(severity)
        if row is not None:
            used.add(row["id"])
        out.append(SloAlertOut(
            severity=severity, kind="burn",
            state=row["state"] if row is not None else "inactive",
            alert_id=row["id"] if row is not None else None,
            since=_since(row) if row is not None else None,
            firing_now=verdict.firing if verdict is not None else None,
            disabled=rules[severity].disabled,
            pairs=[BurnPairOut(short=format_duration(p.window.short),
                               long=format_duration(p.window.long), factor=p.factor,
                               threshold=p.threshold, firing=p.firing, can_fire=p.can_fire)
                   for p in verdict.pairs] if pairs and verdict is not None else []))
    for row in mine:
        if row["id"] not in used:
            out.append(SloAlertOut(severity=row["severity"], kind=row["kind"],
                                   state=row["state"], alert_id=row["id"], since=_since(row),
                                   firing_now=None))
    return out


def _summary_fields(ev: Evaluation, labels: dict[str, str],
                    alert_rows: Sequence[Mapping[str, Any]], *, pairs: bool = False,
                    complete: bool = True) -> dict[str, Any]:
    slo, rep = ev.slo, ev.report
    return dict(
        id=slo.id, service=slo.service, name=slo.name, description=slo.description,
        labels=labels, sli_kind=sli_kind(slo), budgeting=slo.budgeting,
        objective=slo.objective, period=format_duration(slo.period.length),
        rolling=slo.period.rolling, at=ev.at, has_data=ev.has_data,
        problem=ev.problem,
        sli=_num(rep.budget.sli) if rep else None,
        budget_remaining=_num(rep.budget.remaining_ratio) if rep else None,
        current_burn_rate=_num(rep.current_burn_rate) if rep else None,
        burn_rates=_windows(rep, complete=complete) if rep else [],
        alerts=_alerts(ev, alert_rows, pairs=pairs),
    )


def _exhaustion(items: Sequence[Exhaustion]) -> list[ExhaustionOut]:
    return [ExhaustionOut(basis=e.basis, burn_rate=_num(e.burn_rate), hours=_num(e.hours),
                          earliest_hours=_num(e.earliest_hours),
                          latest_hours=_num(e.latest_hours)) for e in items]


def _forecast(ev: Evaluation) -> list[Exhaustion]:
    if ev.report is None or ev.series is None:
        return []
    return forecast(ev.slo, ev.series, ev.at)


def _attribution(conn: Connection, ev: Evaluation) -> list[AttributionOut]:
    """`apollo slo report --markers` with the store's markers of the SLO's service."""
    if ev.report is None or ev.series is None:
        return []
    b = ev.report.budget
    found = attribution_markers(conn, service=ev.slo.service, start=b.period_start,
                                end=ev.at)
    return [AttributionOut(name=s.name, kind=s.kind, bad=s.bad, of_spent=_num(s.of_spent),
                           of_budget=_num(s.of_budget))
            for s in attribute(ev.slo, ev.series, ev.at, found)]


def _detail(ev: Evaluation, labels: dict[str, str], rows: Sequence[Mapping[str, Any]],
            attribution: list[AttributionOut]) -> SloDetailOut:
    slo, rep = ev.slo, ev.report
    start, end = period_bounds(ev.at, slo.period)
    exhaustion = _forecast(ev)
    b = rep.budget if rep else None
    current = next((e for e in exhaustion if e.basis == "current"), None)
    return SloDetailOut(
        **_summary_fields(ev, labels, rows, pairs=True),
        source=SpecSourceOut(path=slo.source.path, line=slo.source.line,
                             format=slo.source.format),
        period_window=PeriodOut(start=start, end=end,
                                length=format_duration(slo.period.length),
                                rolling=slo.period.rolling),
        good=b.good if b else None, total=b.total if b else None, bad=b.bad if b else None,
        coverage=_num(b.coverage) if b else None,
        period_burn_rate=_num(rep.period_burn_rate) if rep else None,
        budget=BudgetOut(
            ratio=b.budget_ratio, spent=_num(b.spent_ratio), remaining=_num(b.remaining_ratio),
            minutes=b.budget_minutes, spent_minutes=_num(b.spent_minutes),
            remaining_minutes=_num(b.remaining_minutes), requests=b.allowed_bad,
            remaining_requests=b.remaining_requests) if b else None,
        gaps=[GapOut(start=g.start, end=g.end, minutes=g.minutes) for g in rep.gaps]
        if rep else [],
        exhaustion=_exhaustion(exhaustion),
        time_to_exhaustion_hours=_num(current.hours) if current else None,
        attribution=attribution,
    )


# --- routes -------------------------------------------------------------------------------


@router.get("", response_model=SloListOut, responses=responses(304, 401, 403, 503))
def list_slos(request: Request, conn: Conn, _reader: Reader, labels: LabelFilter,
              page: Paging, at: AtParam = None) -> Response:
    """Every configured SLO (by id) with its SLI kind, objective, period, budget left,
    burn rate per alert window and the state of its page and ticket alerts."""
    t = _at(request, at)
    slos = sorted(configured_slos(state(request).settings), key=lambda s: s.id)
    found = slo_labels(conn, slos)
    chosen = [(s, found[s.id]) for s in slos]
    chosen = [(s, lab) for s, lab in chosen if labels.matches(lab)]
    shown, total = page.slice(chosen)
    rows = alert_reads.alerts(conn, source="apollo")
    series = summary_series(conn, [s for s, _ in shown], t)
    items = [SloSummaryOut(**_summary_fields(evaluate(conn, s, t, series[s.id]), lab, rows,
                                             complete=False)) for s, lab in shown]
    return json_response(request, SloListOut(items=items, total=total, limit=page.limit,
                                             offset=page.offset))


@router.get("/{slo_id}", response_model=SloDetailOut,
            responses=responses(304, 401, 403, 404, 503))
def read_slo(request: Request, slo_id: str, conn: Conn, _reader: Reader,
             at: AtParam = None) -> Response:
    """One SLO in full: its budget in requests and minutes, every window's burn rate, each
    alert's pairs, the gaps in its data and the time until the budget runs out."""
    slo = _find(request, slo_id)
    ev = evaluate(conn, slo, _at(request, at))
    labels = slo_labels(conn, [slo])[slo.id]
    rows = alert_reads.alerts(conn, source="apollo", slo=slo.id)
    return json_response(request, _detail(ev, labels, rows, _attribution(conn, ev)))


def _resolution(resolution: str | None, start: int, end: int) -> str:
    if resolution is not None:
        return resolution
    span = end - start
    return "minute" if span <= 6 * 3600 else ("5m" if span <= 7 * 86_400 else "hour")


@router.get("/{slo_id}/history", response_model=SloHistoryOut,
            responses=responses(304, 401, 403, 404, 503))
def slo_history(
    request: Request, slo_id: str, conn: Conn, _reader: Reader, time_range: Range,
    resolution: Annotated[Resolution | None, Query(
        description="minute, 5m or hour; default by the range (up to 6h: minute, up to "
                    "7d: 5m, else hour).")] = None,
) -> Response:
    """The SLI and burn rate of each interval, and the budget left at the end of each
    (over the period ending there), on the minutes the budget is computed from."""
    slo = _find(request, slo_id)
    chosen = _resolution(resolution, time_range.start, time_range.end)
    step = STEPS[chosen]
    start = time_range.start - time_range.start % step
    end = -(-time_range.end // step) * step
    if end > LATEST:
        raise bad_parameter("to", f"the last {chosen} interval would end past 9999-12-31")
    if end - start > MAX_RANGE_S:
        raise bad_parameter("from", "the range may span at most 400 days")
    if (end - start) // step > MAX_POINTS:
        raise bad_parameter("resolution", f"{chosen} gives {(end - start) // step} "
                            f"intervals over this range; at most {MAX_POINTS}: choose a "
                            "coarser one or a shorter range")
    points = [HistoryPointOut(**asdict(p)) for p in history_points(conn, slo, start, end, step)]
    return json_response(request, SloHistoryOut(slo=slo.id, resolution=chosen, step_s=step,
                                                start=start, end=end, points=points))


def _optional_range(request: Request, slo: SLO, start: str | None, end: str | None
                    ) -> tuple[int, int]:
    """[from, to) in whole minutes; `from` defaults to one SLO period before `to`."""
    now = state(request).clock()
    try:
        last = floor_minute(parse_time(end, now, field="to") if end else math.floor(now))
        first = (floor_minute(parse_time(start, now, field="from")) if start
                 else last - int(slo.period.length.total_seconds()))
    except InputError as exc:
        raise bad_parameter(exc.field or "from", exc.reason) from None
    if first >= last:
        raise bad_parameter("to", f"{end or 'now'!r} is not after from {start!r} "
                                  "(in whole minutes)")
    if last - first > MAX_RANGE_S:
        raise bad_parameter("from", "the range may span at most 400 days")
    return first, last


FromParam = Annotated[str | None, Query(
    alias="from", max_length=64, description="Start: ISO 8601, Unix seconds, now-7d or -7d. "
                                             "Default: one SLO period before `to`.")]
ToParam = Annotated[str | None, Query(alias="to", max_length=64,
                                      description="End (excluded). Default: now.")]


@router.get("/{slo_id}/backtest", response_model=BacktestOut,
            responses=responses(304, 401, 403, 404, 409, 503))
def slo_backtest(request: Request, slo_id: str, conn: Conn, _reader: Reader,
                 start: FromParam = None, end: ToParam = None) -> Response:
    """Replay the SLO's alert windows over [from, to): each firing, each incident
    (inferred: minutes burning at twice the budget pace) with its detection time and the
    budget spent before the page, and the window pairs that can never fire."""
    slo = _find(request, slo_id)
    first, last = _optional_range(request, slo, start, end)
    sliced = to_timeslices(stored_series(conn, slo.id, first, last), slo)
    if not len(sliced):
        raise bad_parameter("from", "the range is shorter than one slice of the SLO")
    try:
        result = backtest(slo, sliced, slo_windows(slo))
    except SpecError as exc:
        raise HTTPException(409, detail=f"SLO {slo.id}: {exc.reason}") from None
    return json_response(request, BacktestOut(
        slo=slo.id, start=result.start, end=result.end,
        firings=[FiringOut(severity=f.severity, start=f.start, end=f.end)
                 for f in result.firings],
        incidents=[IncidentOut(start=i.start, end=i.end, bad=i.bad,
                               first_alert_at=i.first_alert_at, detection_s=i.detection_s,
                               first_page_at=i.first_page_at,
                               budget_spent_before_page=_num(i.budget_spent_before_page),
                               resolved_at=i.resolved_at, reset_s=i.reset_s)
                   for i in result.incidents],
        never_fire=[NeverFireOut(severity=w.severity, short=format_duration(w.short),
                                 long=format_duration(w.long)) for w in result.never_fire]))


@router.get("/{slo_id}/forecast", response_model=ForecastOut,
            responses=responses(304, 401, 403, 404, 409, 503))
def slo_forecast(request: Request, slo_id: str, conn: Conn, _reader: Reader,
                 at: AtParam = None) -> Response:
    """When the budget runs out at the current (1h), 1-day and 7-day burn rates, on the
    traffic of a median day (busy and quiet days give the band)."""
    slo = _find(request, slo_id)
    ev = evaluate(conn, slo, _at(request, at))
    if ev.report is None:
        raise HTTPException(409, detail=f"SLO {slo.id}: {ev.problem}")
    b = ev.report.budget
    return json_response(request, ForecastOut(
        slo=slo.id, at=ev.at, budget_remaining=_num(b.remaining_ratio),
        remaining_requests=b.remaining_requests, exhaustion=_exhaustion(_forecast(ev))))
