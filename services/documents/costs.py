"""Cost tables as read and as computed: the model, the summary and its renderers.

A collector turns a CSV, a markdown table or an OpenCost response into a `CostTable`;
`summarize_costs` computes everything a person would otherwise type in — annual figures,
totals, cost per user, the cost-weighted optimisation potential — and flags every figure
the source states that the computation does not reproduce. `costs_json` / `costs_text`
render a summary for the CLI, the API and the dashboard. Pure: no file, network or store.

Money is `Decimal` throughout, so $12,450 + $8,900 is exactly $21,350. Rules and reasons:
docs/roadmap-and-costs.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

MONTHS_PER_YEAR = 12
CENT = Decimal("0.01")
MILLION = Decimal(1_000_000)
DEFAULT_CURRENCY = "USD"

_CURRENCY_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


# --- what a source says -----------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """One component's monthly cost as read, with any figures the source states about it."""

    component: str
    monthly_cost: Decimal
    currency: str
    potential_ratio: Decimal | None  # 0..1; None when the source gives none
    potential_note: str
    line: int | None
    stated_annual: Decimal | None = None
    stated_per_user: Decimal | None = None

    @property
    def annual_cost(self) -> Decimal:
        return self.monthly_cost * MONTHS_PER_YEAR

    @property
    def potential_monthly(self) -> Decimal | None:
        """What its potential would save a month; None where the potential is unknown."""
        return None if self.potential_ratio is None else self.monthly_cost * self.potential_ratio


@dataclass(frozen=True)
class StatedTotal:
    """A table's Total row: compared with the computed totals, never imported as a line."""

    line: int
    monthly_cost: Decimal | None
    annual_cost: Decimal | None
    cost_per_user: Decimal | None
    potential_percent: Decimal | None  # as written: 18 for "18% overall"


@dataclass(frozen=True)
class CostTable:
    source: str
    currency: str
    lines: tuple[CostLine, ...]
    stated_total: StatedTotal | None = None
    window: tuple[datetime, datetime] | None = None  # OpenCost: the span the costs cover


# --- what is computed from it -----------------------------------------------------------


@dataclass(frozen=True)
class LineFigures:
    line: CostLine
    annual_cost: Decimal
    cost_per_user: Decimal | None
    share: Decimal | None  # of the monthly total


@dataclass(frozen=True)
class CostFlag:
    """A stated figure the computation does not reproduce (`mismatch`), only reproduces
    rounded (`rounded`), or cannot check (`unchecked`)."""

    kind: str
    line: int | None
    component: str
    field: str
    stated: str
    computed: str
    message: str


@dataclass(frozen=True)
class CostSummary:
    table: CostTable
    mau: int | None
    lines: tuple[LineFigures, ...]
    monthly_total: Decimal
    annual_total: Decimal
    cost_per_user: Decimal | None
    potential_ratio: Decimal | None  # weighted by cost, over lines with a known potential
    potential_monthly: Decimal | None  # what those potentials would save a month
    potential_coverage: Decimal | None  # share of the cost whose potential is known
    flags: tuple[CostFlag, ...] = field(default=())


# --- computing --------------------------------------------------------------------------


def _compare(stated: Decimal, computed: Decimal) -> str | None:
    """None when equal; `rounded` within half a unit of the last digit written; else
    `mismatch`."""
    if stated == computed:
        return None
    exponent = stated.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1)
    return "rounded" if abs(stated - computed) <= half else "mismatch"


def format_money(amount: Decimal, currency: str, *, places: int | None = None) -> str:
    """`$33,060`, `$1.75`, `€0.03306`; `places` None: cents only when there are some."""
    if places is None:
        places = 0 if amount == amount.to_integral_value() else 2
    symbol = _CURRENCY_SYMBOL.get(currency)
    number = f"{amount:,.{places}f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def _per_user_text(amount: Decimal, currency: str) -> str:
    """Per-user figures are fractions of a cent: as many places as they have, up to 6."""
    places = -int(amount.normalize().as_tuple().exponent)
    return format_money(amount, currency, places=min(6, max(2, places)))


def _flag(kind: str | None, line: int | None, component: str, field: str, stated: str,
          computed: str, what: str) -> list[CostFlag]:
    if kind is None:
        return []
    if kind == "rounded":
        message = f"{component}: {what} stated {stated} is {computed} rounded"
    else:
        message = f"{component}: {what} stated {stated}, computed {computed}"
    return [CostFlag(kind, line, component, field, stated, computed, message)]


def _check_line(f: LineFigures, currency: str) -> list[CostFlag]:
    x, flags = f.line, []
    if x.stated_annual is not None:
        flags += _flag(_compare(x.stated_annual, f.annual_cost), x.line, x.component,
                       "annual_cost", format_money(x.stated_annual, currency),
                       format_money(f.annual_cost, currency), "annual cost (12 × monthly)")
    if x.stated_per_user is not None and f.cost_per_user is not None:
        flags += _flag(_compare(x.stated_per_user, f.cost_per_user), x.line, x.component,
                       "cost_per_user", _per_user_text(x.stated_per_user, currency),
                       _per_user_text(f.cost_per_user, currency), "cost per user")
    return flags


def _check_total(s: CostSummary, total: StatedTotal) -> list[CostFlag]:
    cur, flags = s.table.currency, []
    pairs = [("monthly_cost", total.monthly_cost, s.monthly_total, "monthly total"),
             ("annual_cost", total.annual_cost, s.annual_total, "annual total")]
    for field_name, stated, computed, what in pairs:
        if stated is not None:
            flags += _flag(_compare(stated, computed), total.line, "Total", field_name,
                           format_money(stated, cur), format_money(computed, cur), what)
    if total.cost_per_user is not None and s.cost_per_user is not None:
        flags += _flag(_compare(total.cost_per_user, s.cost_per_user), total.line, "Total",
                       "cost_per_user", _per_user_text(total.cost_per_user, cur),
                       _per_user_text(s.cost_per_user, cur), "cost per user")
    if total.potential_percent is not None and s.potential_ratio is not None:
        computed = s.potential_ratio * 100
        flags += _flag(_compare(total.potential_percent, computed), total.line, "Total",
                       "optimization_potential", f"{total.potential_percent}%",
                       f"{float(computed):.1f}%", "optimisation potential (weighted by cost)")
    return flags


def _unchecked(table: CostTable) -> list[CostFlag]:
    """Per-user figures cannot be checked without the number of users."""
    stated = [x.line for x in table.lines if x.stated_per_user is not None]
    if table.stated_total and table.stated_total.cost_per_user is not None:
        stated.append(table.stated_total.line)
    if not stated:
        return []
    return [CostFlag("unchecked", min(n or 0 for n in stated), "", "cost_per_user", "", "",
                     "cost per user is stated but no monthly active users were given; "
                     "not checked")]


def summarize_costs(table: CostTable, *, mau: int | None = None) -> CostSummary:
    """Annual figures, totals, cost per user and weighted potential, with every flag.

    `mau` is the month's active users (from ClickHouse later); without it there is no
    cost per user. Raises ValueError for a `mau` below 1.
    """
    if mau is not None and mau < 1:
        raise ValueError(f"monthly active users must be 1 or more, got {mau}")
    monthly = sum((x.monthly_cost for x in table.lines), Decimal(0))
    known = [x for x in table.lines if x.potential_ratio is not None]
    known_cost = sum((x.monthly_cost for x in known), Decimal(0))
    savings = sum((x.monthly_cost * x.potential_ratio for x in known
                   if x.potential_ratio is not None), Decimal(0))
    figures = tuple(LineFigures(x, x.annual_cost, x.monthly_cost / mau if mau else None,
                                x.monthly_cost / monthly if monthly else None)
                    for x in table.lines)
    summary = CostSummary(
        table, mau, figures, monthly, monthly * MONTHS_PER_YEAR,
        monthly / mau if mau else None,
        savings / known_cost if known_cost else None,
        savings if known else None,
        known_cost / monthly if monthly else None,
    )
    flags = [flag for f in figures for flag in _check_line(f, table.currency)]
    if table.stated_total is not None:
        flags += _check_total(summary, table.stated_total)
    if mau is None:
        flags += _unchecked(table)
    return replace(summary, flags=tuple(flags))


# --- from the store's rows -------------------------------------------------------------


class CostRow(Protocol):
    """What a table needs of a stored `cost_lines` row."""

    source: str
    component: str
    monthly_cost: Any  # Numeric: int or float on SQLite, Decimal on PostgreSQL
    currency: str
    potential_ratio: float | None
    potential_note: str
    line: int | None
    stated_annual: Any
    stated_per_user: Any


class StatedTotalRow(Protocol):
    """What a table needs of a stored `cost_stated_totals` row."""

    source: str
    line: int
    monthly_cost: str | None
    annual_cost: str | None
    cost_per_user: str | None
    potential_percent: str | None


def _exact(value: Any) -> Decimal | None:
    """A stated figure stored as the decimal text read, back to that Decimal."""
    return None if value is None else Decimal(str(value))


def tables_from_rows(rows: Iterable[CostRow], totals: Iterable[StatedTotalRow] = ()
                     ) -> list[CostTable]:
    """One month's stored lines as one table per source (sources by name, lines in the
    order given), money back to exact cents, with what each source stated (its lines'
    annual and per-user cells, its Total row) for `summarize_costs` to compare."""
    by_source: dict[str, list[CostLine]] = defaultdict(list)
    for row in rows:
        ratio = None if row.potential_ratio is None else Decimal(str(row.potential_ratio))
        by_source[row.source].append(CostLine(
            component=row.component, monthly_cost=Decimal(str(row.monthly_cost)).quantize(CENT),
            currency=row.currency, potential_ratio=ratio, potential_note=row.potential_note,
            line=row.line, stated_annual=_exact(row.stated_annual),
            stated_per_user=_exact(row.stated_per_user)))
    stated = {t.source: StatedTotal(t.line, _exact(t.monthly_cost), _exact(t.annual_cost),
                                    _exact(t.cost_per_user), _exact(t.potential_percent))
              for t in totals}
    return [CostTable(source=source, currency=lines[0].currency, lines=tuple(lines),
                      stated_total=stated.get(source))
            for source, lines in sorted(by_source.items())]


REQUEST_UNIT = "req/s"  # services counted in requests; others (queries/s) are another unit


def requests_served(served: Any) -> float:
    """The platform's requests in a `served_by_service` frame (service, unit, served): the
    services counted in requests only, never a database's queries."""
    return float(served.loc[served["unit"] == REQUEST_UNIT, "served"].sum())


def cost_per_million(cost: Decimal, requests: float) -> float | None:
    """Cost per million requests; None without requests (never a division by zero)."""
    if requests <= 0:
        return None
    return float(cost * MILLION / Decimal(repr(requests)))


# --- rendering --------------------------------------------------------------------------


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def costs_json(s: CostSummary) -> dict[str, Any]:
    """The summary as plain JSON types (floats; null where a figure cannot be computed)."""
    t = s.table.stated_total
    return {
        "source": s.table.source, "currency": s.table.currency, "mau": s.mau,
        "window": [w.isoformat() for w in s.table.window] if s.table.window else None,
        "lines": [{
            "component": f.line.component, "line": f.line.line,
            "monthly_cost": float(f.line.monthly_cost), "annual_cost": float(f.annual_cost),
            "cost_per_user": _num(f.cost_per_user), "share": _num(f.share),
            "potential_ratio": _num(f.line.potential_ratio),
            "potential_note": f.line.potential_note,
        } for f in s.lines],
        "total": {
            "monthly_cost": float(s.monthly_total), "annual_cost": float(s.annual_total),
            "cost_per_user": _num(s.cost_per_user), "potential_ratio": _num(s.potential_ratio),
            "potential_monthly": _num(s.potential_monthly),
            "potential_coverage": _num(s.potential_coverage),
        },
        "stated_total": None if t is None else {
            "line": t.line, "monthly_cost": _num(t.monthly_cost),
            "annual_cost": _num(t.annual_cost), "cost_per_user": _num(t.cost_per_user),
            "potential_ratio": _num(t.potential_percent / 100) if t.potential_percent is not None
            else None,
        },
        "flags": [{"kind": f.kind, "line": f.line, "component": f.component, "field": f.field,
                   "stated": f.stated, "computed": f.computed, "message": f.message}
                  for f in s.flags],
    }


def _ratio(value: Decimal | None) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def costs_text(s: CostSummary) -> str:
    """A table for people: each line with its computed figures, the totals, the flags."""
    cur = s.table.currency
    rows = [("component", "monthly", "annual", "per user", "potential")]
    for f in s.lines:
        per_user = "-" if f.cost_per_user is None else _per_user_text(f.cost_per_user, cur)
        note = f" ({f.line.potential_note})" if f.line.potential_note else ""
        rows.append((f.line.component, format_money(f.line.monthly_cost, cur),
                     format_money(f.annual_cost, cur), per_user,
                     _ratio(f.line.potential_ratio) + note))
    per_user = "-" if s.cost_per_user is None else _per_user_text(s.cost_per_user, cur)
    rows.append(("Total (computed)", format_money(s.monthly_total, cur),
                 format_money(s.annual_total, cur), per_user,
                 f"{_ratio(s.potential_ratio)} weighted by cost"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{s.table.source}" + (f" at {s.mau:,} monthly active users" if s.mau else "")]
    lines += ["  ".join([r[0].ljust(widths[0]), *(r[i].rjust(widths[i]) for i in (1, 2, 3)),
                         r[4]]) for r in rows]
    if s.potential_monthly is not None:
        lines.append(f"potential saving {format_money(s.potential_monthly, cur, places=2)} a "
                     f"month ({_ratio(s.potential_coverage)} of the cost has a stated potential)")
    for kind, title in (("mismatch", "does not add up"), ("rounded", "rounded in the source"),
                        ("unchecked", "not checked")):
        chosen = [f for f in s.flags if f.kind == kind]
        if chosen:
            lines.append(f"{title}:")
            lines += [f"  {s.table.source}:{f.line}: {f.message}" if f.line
                      else f"  {f.message}" for f in chosen]
    return "\n".join(lines)


# --- months -------------------------------------------------------------------------


def check_month(month: date) -> None:
    if isinstance(month, datetime) or month.day != 1:
        raise ValueError(f"month must be the first day of a month, got {month}")


def parse_month(text: str) -> date:
    """`2026-01` (or `2026-01-01`) -> date(2026, 1, 1), for the CLI's --month."""
    try:
        parsed = date.fromisoformat(text if text.count("-") == 2 else f"{text}-01")
    except ValueError:
        raise ValueError(f"--month: expected YYYY-MM, got {text!r}") from None
    check_month(parsed)
    return parsed



def month_window(month: date) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next) in UTC."""
    check_month(month)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    after = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(after.year, after.month, 1, tzinfo=UTC)
