"""Multiwindow, multi-burn-rate alert windows: the SRE numbers as data, the factor a function.

A window pair (short, long) alerts when both windows burn the error budget faster than
`burn_factor`: the speed at which `budget_percent` of the whole period's budget would be
spent within the long window. For 30 days: 2% in 1h pages at 14.4, 5% in 6h pages at 6,
10% in 1d tickets at 3, 10% in 3d tickets at 1 (the SRE workbook's table).

Window sets for other periods come from Sloth-format `AlertWindows` files
(`parse_windows_document`, given the file's already-parsed YAML and its line map). Pyrra
SLOs need no file: Pyrra scales its four pairs from any period (`pyrra_windows`), with
fixed burn factors 14, 7, 2 and 1, and Apollo does the same for them (`slo_windows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from slo.durations import format_duration, parse_duration
from slo.errors import SpecError
from slo.model import SLO

Severity = Literal["page", "ticket"]
Speed = Literal["quick", "slow"]


@dataclass(frozen=True)
class BurnWindow:
    severity: Severity
    speed: Speed
    short: timedelta
    long: timedelta
    budget_percent: float  # share of the period's budget this alert lets go, in percent
    # The burn factor when it is given rather than derived from the budget share: Pyrra's
    # factors are whole numbers by definition, and recomputing 14 from its percent would
    # print 14.000000000000002 in the rules.
    factor: float | None = None


@dataclass(frozen=True)
class AlertWindows:
    period: timedelta
    windows: tuple[BurnWindow, ...]  # page quick, page slow, ticket quick, ticket slow

    def of(self, severity: Severity) -> tuple[BurnWindow, ...]:
        return tuple(w for w in self.windows if w.severity == severity)

    @property
    def durations(self) -> list[timedelta]:
        """Every distinct window, shortest first (the rates to record)."""
        return sorted({d for w in self.windows for d in (w.short, w.long)})


def burn_factor(window: BurnWindow, period: timedelta) -> float:
    """Burn rate at which `budget_percent` of the budget goes in `window.long`.

    Written in Sloth's operation order (hours of the period × share ÷ hours of the long
    window) so that exported thresholds are the same floats Sloth prints: 28d gives
    13.44, 5.6000000000000005, 2.8000000000000003, 0.9333333333333333. A window with its
    own `factor` (Pyrra's) keeps it.
    """
    if window.factor is not None:
        return window.factor
    period_h = period.total_seconds() / 3600
    long_h = window.long.total_seconds() / 3600
    return window.budget_percent / 100 * period_h / long_h


def _std(period_days: int, page: tuple[float, float], ticket: tuple[float, float]) -> AlertWindows:
    h = timedelta(hours=1)
    return AlertWindows(
        period=timedelta(days=period_days),
        windows=(
            BurnWindow("page", "quick", timedelta(minutes=5), h, page[0]),
            BurnWindow("page", "slow", timedelta(minutes=30), 6 * h, page[1]),
            BurnWindow("ticket", "quick", 2 * h, 24 * h, ticket[0]),
            BurnWindow("ticket", "slow", 6 * h, 72 * h, ticket[1]),
        ),
    )


# The SRE workbook's recommendation, as Sloth ships it for 30 and 28 days.
GOOGLE_30D = _std(30, (2, 5), (10, 10))
GOOGLE_28D = _std(28, (2, 5), (10, 10))
DEFAULT_WINDOWS: Mapping[timedelta, AlertWindows] = {
    w.period: w for w in (GOOGLE_30D, GOOGLE_28D)
}


# --- Pyrra's windows, scaled from the period ---------------------------------------------------

PYRRA_FORMAT = "pyrra.dev/v1alpha1"
_NS = 1_000_000_000  # Go durations are int64 nanoseconds
_MINUTE_NS = 60 * _NS

# Pyrra's `Windows()` (slo/rules.go): each pair as the divisors of the period it writes, in
# its own spelling (`28 * 24 * (60 / 5)` is 5m of 28 days), and its burn factor.
# (severity, speed, short divisor, long divisor, factor)
PYRRA_PAIRS: tuple[tuple[Severity, Speed, int, int, float], ...] = (
    ("page", "quick", 28 * 24 * (60 // 5), 28 * 24, 14),  # critical: 5m and 1h of 28d
    ("page", "slow", 28 * 24 * (60 // 30), 28 * (24 // 6), 7),  # critical: 30m and 6h
    ("ticket", "quick", 28 * (24 // 2), 28, 2),  # warning: 2h and 1d
    ("ticket", "slow", 28 * (24 // 6), 7, 1),  # warning: 6h and 4d
)


def go_duration_round(ns: int, multiple: int) -> int:
    """Go's `time.Duration.Round` for a positive duration: to the nearest multiple, halves
    away from zero (2m30s -> 3m)."""
    remainder = ns % multiple
    return ns - remainder if remainder + remainder < multiple else ns + multiple - remainder


def _pyrra_scaled(period_ns: int, divisor: int) -> timedelta:
    """`(sloWindow / divisor).Round(time.Minute)`: Go's integer division of nanoseconds
    (truncating), then rounding to the minute."""
    ns = go_duration_round(period_ns // divisor, _MINUTE_NS)
    return timedelta(microseconds=ns // 1000)


def pyrra_windows(period: timedelta) -> AlertWindows:
    """Pyrra's four window pairs for `period`, exactly as its `Windows()` computes them.

    Critical (Apollo's page) and warning (ticket) pairs, each at Pyrra's fixed factor; the
    budget share is what that factor spends in the long window (14 × 1h / 28d = 2.08%).
    A period so short that a window rounds to nothing, or the short window to the long one,
    is an error: Pyrra would write `[0s]` ranges Prometheus refuses.
    """
    period_ns = (period.days * 86400 + period.seconds) * _NS + period.microseconds * 1000
    windows = []
    for severity, speed, short_div, long_div, factor in PYRRA_PAIRS:
        short, long = _pyrra_scaled(period_ns, short_div), _pyrra_scaled(period_ns, long_div)
        if not timedelta(0) < short < long:
            raise SpecError(
                f"a {format_duration(period)} period is too short for Pyrra's alert windows: "
                f"its {severity} {speed} pair would be {format_duration(short)} and "
                f"{format_duration(long)} (give a windows file)", field="period")
        budget = factor * (long / period) * 100
        windows.append(BurnWindow(severity, speed, short, long, budget, factor=factor))
    return AlertWindows(period=period, windows=tuple(windows))


# --- choosing a window set ---------------------------------------------------------------------


def windows_for(period: timedelta, extra: Mapping[timedelta, AlertWindows] | None = None
                ) -> AlertWindows:
    """The window set for `period`: from `extra` (window files) first, then the defaults."""
    for source in (extra or {}, DEFAULT_WINDOWS):
        if period in source:
            return source[period]
    known = sorted({*DEFAULT_WINDOWS, *(extra or {})})
    raise SpecError(
        f"no alert windows for a {format_duration(period)} period; known: "
        f"{', '.join(format_duration(p) for p in known)} (give a windows file)",
        field="period",
    )


def windows_of(slo: SLO, extra: Mapping[timedelta, AlertWindows] | None = None, *,
               period: timedelta | None = None) -> AlertWindows:
    """The window set of `slo` over `period` (default: its own): a windows file for that
    period first, as Sloth's `--slo-period-windows-path`; then, for a Pyrra SLO, Pyrra's
    windows scaled from the period (what Pyrra itself alerts on); else `windows_for`."""
    length = slo.period.length if period is None else period
    if extra and length in extra:
        return extra[length]
    if slo.source.format == PYRRA_FORMAT:
        return pyrra_windows(length)
    return windows_for(length, extra)


def slo_windows(slo: SLO, extra: Mapping[timedelta, AlertWindows] | None = None
                ) -> AlertWindows:
    """`windows_of` the SLO's own period, an error located at the SLO's own spec."""
    try:
        return windows_of(slo, extra)
    except SpecError as exc:
        raise SpecError(f"SLO {slo.id!r}: {exc.reason}", path=slo.source.path,
                        line=slo.source.line, field=exc.field) from None


def parse_windows_document(data: Any, *, path: str, line_of: Any = None) -> AlertWindows:
    """A Sloth `AlertWindows` document (already parsed YAML) -> AlertWindows.

    `line_of(path_tuple)` gives the line of a field, for messages.
    """
    def fail(msg: str, where: tuple[str, ...]) -> SpecError:
        line = line_of(where) if line_of else None
        return SpecError(msg, path=path, line=line, field=".".join(where))

    if not isinstance(data, dict) or data.get("kind") != "AlertWindows":
        raise fail("expected kind: AlertWindows", ("kind",))
    if data.get("apiVersion") != "sloth.slok.dev/v1":
        raise fail(f"expected sloth.slok.dev/v1, got {data.get('apiVersion')!r}", ("apiVersion",))
    spec = data.get("spec") or {}
    try:
        period = parse_duration(spec.get("sloPeriod", ""))
    except ValueError as exc:
        raise fail(str(exc), ("spec", "sloPeriod")) from None
    windows = []
    for severity in ("page", "ticket"):
        for speed in ("quick", "slow"):
            where = ("spec", severity, speed)
            entry = (spec.get(severity) or {}).get(speed)
            if not isinstance(entry, dict):
                raise fail("missing", where)
            try:
                short = parse_duration(entry.get("shortWindow", ""))
                long = parse_duration(entry.get("longWindow", ""))
            except ValueError as exc:
                raise fail(str(exc), where) from None
            budget = entry.get("errorBudgetPercent")
            if not isinstance(budget, int | float) or not 0 < budget <= 100:
                raise fail(f"expected a percent in (0, 100], got {budget!r}",
                           (*where, "errorBudgetPercent"))
            if short >= long:
                raise fail("shortWindow must be shorter than longWindow", where)
            windows.append(BurnWindow(severity, speed, short, long, float(budget)))  # type: ignore[arg-type]
    return AlertWindows(period=period, windows=tuple(windows))
