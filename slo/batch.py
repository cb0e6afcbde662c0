"""Many SLOs at once: every window's error ratio, the rolling budget and both alert verdicts
at every minute, for a stack of SLOs (rows × minutes), in bounded memory.

The same math as `slo.burn`, `slo.budget` and `slo.report`, arranged for speed: rows are
taken a few at a time into preallocated buffers (prefix sums, window sums, ratios), so each
numpy pass works on a few MB and nothing grows with the number of SLOs but the per-row
summary. Several workers may take row chunks in parallel (numpy releases the GIL).

Conventions are those of `slo.series`: minute i covers [start + 60 i, start + 60 (i + 1)),
"at minute i" is at its end, a window of W minutes at minute i holds minutes i-W+1 … i
(fewer at the start of the data), a minute whose `total` is NaN holds no events. A window
without events has a NaN ratio and never fires; a pair fires when both its windows'
ratios exceed `burn_factor × budget_ratio` (strictly), a severity when any of its pairs
does. Counts are floats; integer-valued counts (below 2**53 in total) sum exactly, so the
ratios equal `slo.report.report`'s to the last bit.

Entry points:
- `Plan.of(windows)`: the windows and pairs to evaluate, from an `AlertWindows`;
- `evaluate(good, total, budget_ratio, plan)`: every minute of every row, reduced to a
  `Summary` per row; `visit` sees each chunk's full per-minute results before reuse;
- `prefix_sums(good, total)`, then `ratios_at(prefix_bad, prefix_total, width, at)`:
  window ratios at chosen minutes only;
- `ratios_every(good, total, widths, step)`: window ratios at every `step`-th minute;
- `current(...)` / `current_from_prefix(...)`: the verdicts at the last minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from slo.series import minutes
from slo.windows import AlertWindows, burn_factor

SEVERITIES = ("page", "ticket")


@dataclass(frozen=True)
class Pair:
    """One window pair: indexes into `Plan.widths`, its severity and its burn factor."""

    severity: str
    short: int
    long: int
    factor: float


@dataclass(frozen=True)
class Plan:
    """Window widths in minutes (the alert windows, then the period last) and the pairs."""

    widths: tuple[int, ...]
    pairs: tuple[Pair, ...]
    windows: AlertWindows

    @classmethod
    def of(cls, windows: AlertWindows) -> Plan:
        widths = [minutes(d) for d in windows.durations]
        period = minutes(windows.period)
        if period not in widths:
            widths.append(period)
        index = {w: k for k, w in enumerate(widths)}
        pairs = tuple(
            Pair(w.severity, index[minutes(w.short)], index[minutes(w.long)],
                 burn_factor(w, windows.period))
            for w in windows.windows
        )
        return cls(tuple(widths), pairs, windows)

    @property
    def period_index(self) -> int:
        return self.widths.index(minutes(self.windows.period))

    def limits(self, budget_ratio: np.ndarray) -> np.ndarray:
        """Error ratio each pair must exceed, per row (pairs × rows): burn factor × budget
        ratio, the same float product as `slo.burn.threshold`."""
        factors = np.array([p.factor for p in self.pairs])
        return factors[:, None] * np.asarray(budget_ratio, dtype=float).reshape(1, -1)


@dataclass
class Summary:
    """Per row, over every minute evaluated."""

    peak_ratio: np.ndarray  # rows × windows: highest error ratio (NaN: never any events)
    min_remaining: np.ndarray  # rows: lowest rolling budget remaining (negative: overspent)
    firing_minutes: dict[str, np.ndarray]  # severity -> rows: minutes the severity fired
    episodes: dict[str, np.ndarray]  # severity -> rows: times it started firing

    @classmethod
    def empty(cls, rows: int, windows: int) -> Summary:
        return cls(
            peak_ratio=np.full((rows, windows), np.nan),
            min_remaining=np.full(rows, np.nan),
            firing_minutes={s: np.zeros(rows, dtype=np.int64) for s in SEVERITIES},
            episodes={s: np.zeros(rows, dtype=np.int64) for s in SEVERITIES},
        )


@dataclass
class Chunk:
    """One chunk's per-minute results; views into reused buffers, valid during `visit` only."""

    rows: slice
    ratios: np.ndarray  # windows × rows × minutes
    remaining: np.ndarray  # rows × minutes
    pairs: np.ndarray  # pairs × rows × minutes (bool)
    severities: dict[str, np.ndarray]  # severity -> rows × minutes (bool)


Visit = Callable[[Chunk], None]


class _Workspace:
    """Buffers for `rows` rows of `n` minutes, allocated once per worker."""

    def __init__(self, rows: int, n: int, plan: Plan) -> None:
        self.prefix_bad = np.zeros((rows, n + 1))
        self.prefix_total = np.zeros((rows, n + 1))
        self.bad = np.empty((rows, n))
        self.total = np.empty((rows, n))
        self.sum_bad = np.empty((rows, n))
        self.sum_total = np.empty((rows, n))
        self.ratios = np.empty((len(plan.widths), rows, n))
        self.remaining = np.empty((rows, n))
        self.low = np.empty((rows, n))
        self.pairs = np.empty((len(plan.pairs), rows, n), dtype=bool)
        self.severities = {s: np.empty((rows, n), dtype=bool) for s in SEVERITIES}
        self.edge = np.empty((rows, n - 1), dtype=bool) if n > 1 else np.empty((rows, 0), bool)


def _window_sums(prefix: np.ndarray, width: int, out: np.ndarray) -> None:
    """`slo.series.window_sums` into `out` (rows × n) from `prefix` (rows × n+1)."""
    n = out.shape[-1]
    head = min(width, n)
    out[:, :head] = prefix[:, 1:head + 1]
    if n > width:
        np.subtract(prefix[:, width + 1:], prefix[:, 1:n - width + 1], out=out[:, width:])


def _load(ws: _Workspace, good: np.ndarray, total: np.ndarray, r: int) -> bool:
    """Bad and total events per minute into the workspace, NaN as no events; prefix sums.

    Returns False when some minute breaks 0 <= bad <= total (then a window with no events
    may still have bad ones, and ratios must be masked rather than left to 0/0 = NaN).
    """
    bad, tot = ws.bad[:r], ws.total[:r]
    np.subtract(total, good, out=bad)
    np.copyto(tot, total)
    pb, pt = ws.prefix_bad[:r], ws.prefix_total[:r]
    np.cumsum(bad, axis=1, out=pb[:, 1:])
    np.cumsum(tot, axis=1, out=pt[:, 1:])
    if np.isnan(pb[:, -1]).any() or np.isnan(pt[:, -1]).any():  # NaN anywhere in a row
        np.copyto(bad, 0.0, where=np.isnan(bad))
        np.copyto(tot, 0.0, where=np.isnan(tot))
        np.cumsum(bad, axis=1, out=pb[:, 1:])
        np.cumsum(tot, axis=1, out=pt[:, 1:])
    return bool((bad >= 0).all() and (bad <= tot).all())


def _evaluate_chunk(ws: _Workspace, good: np.ndarray, total: np.ndarray,
                    budget: np.ndarray, limits: np.ndarray, plan: Plan, rows: slice) -> Chunk:
    r = good.shape[0]
    sane = _load(ws, good, total, r)
    pb, pt = ws.prefix_bad[:r], ws.prefix_total[:r]
    sb, st = ws.sum_bad[:r], ws.sum_total[:r]
    ratios = ws.ratios[:, :r]
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, width in enumerate(plan.widths):
            _window_sums(pb, width, sb)
            _window_sums(pt, width, st)
            np.divide(sb, st, out=ratios[k])  # 0/0 = NaN: a window without events
            if not sane:
                np.copyto(ratios[k], np.nan, where=st <= 0)
            if k == plan.period_index:
                # 1 - bad / (total × budget), as slo.budget.rolling_remaining computes it
                remaining = ws.remaining[:r]
                np.multiply(st, budget[:, None], out=remaining)
                np.divide(sb, remaining, out=remaining)
                np.subtract(1.0, remaining, out=remaining)
                if not sane:
                    np.copyto(remaining, np.nan, where=st <= 0)
    low, pairs = ws.low[:r], ws.pairs[:, :r]
    for p, pair in enumerate(plan.pairs):
        # both > limit  <=>  min(both) > limit; NaN in either propagates and compares False
        np.minimum(ratios[pair.short], ratios[pair.long], out=low)
        np.greater(low, limits[p][:, None], out=pairs[p])
    severities = {}
    for severity in SEVERITIES:
        mine = [p for p, pair in enumerate(plan.pairs) if pair.severity == severity]
        out = ws.severities[severity][:r]
        if not mine:
            out[...] = False
        else:
            np.copyto(out, pairs[mine[0]])
            for p in mine[1:]:
                np.logical_or(out, pairs[p], out=out)
        severities[severity] = out
    return Chunk(rows, ratios, remaining, pairs, severities)


def _summarise(chunk: Chunk, ws: _Workspace, summary: Summary) -> None:
    rows = chunk.rows
    summary.peak_ratio[rows] = np.fmax.reduce(chunk.ratios, axis=2).T
    summary.min_remaining[rows] = np.fmin.reduce(chunk.remaining, axis=1)
    r = chunk.remaining.shape[0]
    edge = ws.edge[:r]
    for severity, fired in chunk.severities.items():
        summary.firing_minutes[severity][rows] = np.count_nonzero(fired, axis=1)
        np.greater(fired[:, 1:], fired[:, :-1], out=edge)  # False -> True
        summary.episodes[severity][rows] = np.count_nonzero(edge, axis=1) + fired[:, 0]


def evaluate(good: np.ndarray, total: np.ndarray, budget_ratio: Sequence[float] | np.ndarray,
             plan: Plan, *, chunk_rows: int = 4, workers: int = 1,
             visit: Visit | None = None) -> Summary:
    """Every window's ratio, the rolling budget remaining and the page/ticket verdicts at
    every minute of every row (rows × minutes arrays), reduced to a per-row `Summary`.

    `visit(chunk)` (called from the worker that computed it) may read the full per-minute
    results of each chunk before its buffers are reused. Memory: `workers` × about
    (20 + windows) × `chunk_rows` × minutes × 8 bytes, plus the summary.
    """
    good, total = np.asarray(good, dtype=float), np.asarray(total, dtype=float)
    if good.shape != total.shape or good.ndim != 2:
        raise ValueError("good and total: expected two 2-D arrays (rows × minutes), same shape")
    budget = np.asarray(budget_ratio, dtype=float).reshape(-1)
    n_rows, n = good.shape
    if budget.shape != (n_rows,):
        raise ValueError(f"budget_ratio: expected {n_rows} values, got {budget.shape[0]}")
    if n == 0 or n_rows == 0:
        return Summary.empty(n_rows, len(plan.widths))
    limits = plan.limits(budget)
    summary = Summary.empty(n_rows, len(plan.widths))
    chunk_rows = max(1, min(chunk_rows, n_rows))
    starts = list(range(0, n_rows, chunk_rows))
    workers = max(1, min(workers, len(starts)))

    def run(worker: int) -> None:
        ws = _Workspace(chunk_rows, n, plan)
        for lo in starts[worker::workers]:
            rows = slice(lo, min(lo + chunk_rows, n_rows))
            chunk = _evaluate_chunk(ws, good[rows], total[rows], budget[rows],
                                    limits[:, rows], plan, rows)
            if visit is not None:
                visit(chunk)
            _summarise(chunk, ws, summary)

    if workers == 1:
        run(0)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, range(workers)))
    return summary


# --- chosen instants ------------------------------------------------------------------------


def prefix_sums(good: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums (rows × minutes+1, leading zero) of bad and total events, NaN as none."""
    good, total = np.asarray(good, dtype=float), np.asarray(total, dtype=float)
    bad = np.nan_to_num(total - good, nan=0.0)
    tot = np.nan_to_num(total, nan=0.0)
    out_bad = np.zeros((*bad.shape[:-1], bad.shape[-1] + 1))
    out_total = np.zeros_like(out_bad)
    np.cumsum(bad, axis=-1, out=out_bad[..., 1:])
    np.cumsum(tot, axis=-1, out=out_total[..., 1:])
    return out_bad, out_total


def ratios_at(prefix_bad: np.ndarray, prefix_total: np.ndarray, width: int,
              at: np.ndarray) -> np.ndarray:
    """Error ratio of the `width` minutes ending at minutes `at` (indexes), per row:
    rows × len(at), NaN where the window saw no events (or fewer minutes at the start)."""
    at = np.asarray(at, dtype=np.int64)
    hi = at + 1
    lo = np.maximum(hi - width, 0)
    bad = prefix_bad[:, hi] - prefix_bad[:, lo]
    total = prefix_total[:, hi] - prefix_total[:, lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, bad / total, np.nan)


def _step_sums(values: np.ndarray, step: int, m: int) -> np.ndarray:
    """Sums of consecutive `step`-minute blocks (rows × m), NaN minutes counted as none."""
    out = values[:, 0:m * step:step].copy()
    for k in range(1, step):
        out += values[:, k:m * step:step]
    holes = np.isnan(out)
    if holes.any():  # rare: redo only the blocks that hold a minute without data
        r, c = np.nonzero(holes)
        blocks = values[:, :m * step].reshape(values.shape[0], m, step)
        out[r, c] = np.nansum(blocks[r, c], axis=-1)
    return out


def ratios_every(good: np.ndarray, total: np.ndarray, widths: Sequence[int], step: int
                 ) -> np.ndarray:
    """Error ratios of each window at every `step`-th minute boundary: at the ends of minutes
    step-1, 2 step-1, … (windows × rows × n // step), NaN where a window saw no events.

    Minutes are first summed into `step`-minute blocks, so a window that is a whole number
    of steps costs one subtraction per instant on block prefix sums; other widths fall back
    to per-minute prefix sums (`ratios_at`).
    """
    good, total = np.asarray(good, dtype=float), np.asarray(total, dtype=float)
    m = total.shape[-1] // step
    bad = total - good
    q_bad, q_total = np.zeros((total.shape[0], m + 1)), np.zeros((total.shape[0], m + 1))
    np.cumsum(_step_sums(bad, step, m), axis=1, out=q_bad[:, 1:])
    np.cumsum(_step_sums(total, step, m), axis=1, out=q_total[:, 1:])
    out = np.empty((len(widths), total.shape[0], m))
    sum_bad, sum_total = np.empty((total.shape[0], m)), np.empty((total.shape[0], m))
    per_minute: tuple[np.ndarray, np.ndarray] | None = None
    for k, width in enumerate(widths):
        if width % step:
            if per_minute is None:
                per_minute = prefix_sums(good, total)
            out[k] = ratios_at(*per_minute, width, np.arange(1, m + 1) * step - 1)
            continue
        _window_sums(q_bad, width // step, sum_bad)
        _window_sums(q_total, width // step, sum_total)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(sum_bad, sum_total, out=out[k])
        np.copyto(out[k], np.nan, where=sum_total <= 0)
    return out


@dataclass(frozen=True)
class Current:
    """The verdicts at one minute: each window's ratio, each pair's and severity's verdict."""

    ratios: dict[int, np.ndarray]  # width (minutes) -> one ratio per row (NaN: no events)
    pairs: np.ndarray  # pairs × rows (bool)
    severities: dict[str, np.ndarray]  # severity -> rows (bool)


def _verdicts(ratios: dict[int, np.ndarray], limits: np.ndarray, plan: Plan) -> Current:
    with np.errstate(invalid="ignore"):
        pairs = np.array([(ratios[plan.widths[p.short]] > limits[k])
                          & (ratios[plan.widths[p.long]] > limits[k])
                          for k, p in enumerate(plan.pairs)])
    severities = {}
    for severity in SEVERITIES:
        mine = [k for k, p in enumerate(plan.pairs) if p.severity == severity]
        severities[severity] = (pairs[mine].any(axis=0) if mine
                                else np.zeros(pairs.shape[1], dtype=bool))
    return Current(ratios, pairs, severities)


def _ratio(bad: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, bad / total, np.nan)


def current_from_prefix(prefix_bad: np.ndarray, prefix_total: np.ndarray, limits: np.ndarray,
                        plan: Plan, at: int = -1) -> Current:
    """The verdicts at minute `at` (default the last) from kept prefix sums (`prefix_sums`):
    one gather and one division per window, whatever its length, every window of the plan.
    `limits` is `plan.limits(budget_ratio)`."""
    n = prefix_bad.shape[-1] - 1
    hi = n + at + 1 if at < 0 else at + 1
    end_bad, end_total = prefix_bad[:, hi], prefix_total[:, hi]
    ratios = {}
    for width in plan.widths:
        lo = max(hi - width, 0)
        ratios[width] = _ratio(end_bad - prefix_bad[:, lo], end_total - prefix_total[:, lo])
    return _verdicts(ratios, limits, plan)


def _tail_sums(good: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bad and total events over all minutes of each row; NaN minutes count as none.

    Plain sums (bad = Σ total - Σ good, exact for integer counts); rows holding a NaN are
    redone minute by minute as `MinuteSeries.bad` defines them."""
    sum_total = total.sum(axis=1)
    sum_bad = sum_total - good.sum(axis=1)
    holes = np.flatnonzero(np.isnan(sum_bad))
    if len(holes):
        part_total = total[holes]
        sum_bad[holes] = np.nansum(part_total - good[holes], axis=1)
        sum_total[holes] = np.nansum(part_total, axis=1)
    return sum_bad, sum_total


def current(good: np.ndarray, total: np.ndarray, limits: np.ndarray, plan: Plan) -> Current:
    """The verdicts at the last minute straight from per-minute good and total events (rows ×
    minutes, NaN = no data), nothing precomputed: the pairs' windows only, each window's sums
    built from the next shorter one's, so the longest alert window's minutes are read once."""
    n = total.shape[-1]
    used = sorted({plan.widths[i] for p in plan.pairs for i in (p.short, p.long)})
    acc_bad, acc_total = np.zeros(total.shape[0]), np.zeros(total.shape[0])
    ratios, done = {}, 0
    for width in used:
        reach = min(width, n)
        if reach > done:
            part_bad, part_total = _tail_sums(good[:, n - reach:n - done],
                                              total[:, n - reach:n - done])
            acc_bad, acc_total = acc_bad + part_bad, acc_total + part_total
            done = reach
        ratios[width] = _ratio(acc_bad, acc_total)
    return _verdicts(ratios, limits, plan)
