"""SLO reports and backtests as text for people (the JSON form is each result's to_dict)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slo.attribution import Share
from slo.backtest import Backtest
from slo.durations import format_duration
from slo.forecast import Exhaustion
from slo.report import SloReport


def when(t: int | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def pct(value: float | None, digits: int = 2) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f}%"


def num(value: float | None, fmt: str = ",.2f") -> str:
    return "no data" if value is None else format(value, fmt)


def _hours(value: float | None) -> str:
    if value is None:
        return "never at this rate"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def report_text(r: SloReport, exhaustion: Sequence[Exhaustion] = (),
                shares: Sequence[Share] = ()) -> str:
    slo, b = r.slo, r.budget
    kind = "rolling" if slo.period.rolling else f"calendar {slo.period.calendar_unit}"
    lines = [
        f"{slo.id}: objective {slo.objective:g}% over {format_duration(slo.period.length)} "
        f"({kind}), at {when(r.at)}",
        f"  SLI           {pct(b.sli, 3)}  ({num(b.good, ',.0f')} good of "
        f"{num(b.total, ',.0f')}; {num(b.bad, ',.0f')} bad) since {when(b.period_start)}",
        f"  error budget  {pct(b.remaining_ratio, 1)} left; spent {pct(b.spent_ratio, 1)} = "
        f"{num(b.spent_minutes, '.1f')} of {b.budget_minutes:.1f} min, "
        f"{num(b.bad, ',.0f')} of {num(b.allowed_bad, ',.0f')} requests",
        "  burn rate     " + "  ".join(
            f"{format_duration(w.window)} {num(w.burn_rate)}{'' if w.complete else '*'}"
            for w in r.windows),
    ]
    for alert in r.alerts:
        state = "disabled" if alert.disabled else ("FIRING" if alert.firing else "ok")
        pairs = "; ".join(
            f"{format_duration(p.window.short)}/{format_duration(p.window.long)} > "
            f"{p.factor:g}x{'' if p.can_fire else ' (can never fire)'}"
            f"{' firing' if p.firing else ''}"
            for p in alert.pairs)
        lines.append(f"  {alert.severity:<13} {state}  ({pairs})")
    for e in exhaustion:
        band = ""
        if e.hours is not None and e.earliest_hours is not None and e.latest_hours is not None:
            band = f" (busy days {_hours(e.earliest_hours)}, quiet days {_hours(e.latest_hours)})"
        lines.append(f"  exhaustion    at the {e.basis} burn {num(e.burn_rate)}: "
                     f"{_hours(e.hours)}{band}")
    for s in shares:
        lines.append(f"  budget spent  {s.name} ({s.kind}): {pct(s.of_spent, 1)} of spent, "
                     f"{pct(s.of_budget, 1)} of budget")
    gap_minutes = sum(g.minutes for g in r.gaps)
    lines.append(f"  gaps          {'none' if not r.gaps else f'{len(r.gaps)} ({gap_minutes} min)'}"
                 f"; coverage {pct(b.coverage, 1)}")
    if any(not w.complete for w in r.windows):
        lines.append("  (* window not full of data)")
    return "\n".join(lines)


def backtest_text(bt: Backtest) -> str:
    lines = [f"{bt.slo.id}: backtest {when(bt.start)} to {when(bt.end)}"]
    for w in bt.never_fire:
        lines.append(f"  never fires: {w.severity} {format_duration(w.short)}/"
                     f"{format_duration(w.long)} (needs an error ratio of 1 or more)")
    lines.append(f"  alerts ({len(bt.firings)}):")
    for f in bt.firings:
        lines.append(f"    {f.severity:<6} fired {when(f.start)}  resolved {when(f.end)}")
    lines.append(f"  incidents ({len(bt.incidents)}):")
    for i in bt.incidents:
        detect = "not detected" if i.detection_s is None else f"detected after " \
            f"{i.detection_s // 60} min"
        spent = "" if i.budget_spent_before_page is None else \
            f", {pct(i.budget_spent_before_page, 1)} of budget spent before the page"
        reset = "" if i.reset_s is None else f", alerts quiet {i.reset_s // 60} min after it ended"
        lines.append(f"    {when(i.start)} to {when(i.end)}: {i.bad:,.0f} bad, {detect}"
                     f"{spent}{reset}")
    return "\n".join(lines)
