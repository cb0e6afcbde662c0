"""Cost lines: monthly cost per component from a CSV, a markdown table or OpenCost.

Three pure parsers turn text into a `CostTable` (services/documents/costs.py):
`parse_cost_csv`, `parse_cost_markdown` (the architecture overview's "Cost Analysis" table
shape) and `parse_allocation` (an OpenCost `/allocation` response). `fetch_allocation` is
the only network call; it takes an `httpx.Client` so tests point it at a local server.
`store_cost_lines` replaces one (source, month) in the store; `collect_cost_file` /
`collect_opencost` do read + store for the scheduler. Summaries and renderers live in
services/documents/costs.py: a collector computes nothing.

Money is `Decimal` throughout and the store's cents (`Numeric(14, 2)`) hold what was
read. Formats, rules and reasons: docs/roadmap-and-costs.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, delete, select, update

from collectors.runs import RunResult
from services.documents import markdown
from services.documents.costs import (
    CENT,
    DEFAULT_CURRENCY,
    CostLine,
    CostTable,
    StatedTotal,
    check_month,
    month_window,
)
from services.errors import SourceUnavailable
from services.files import mask_url, read_text
from services.store.models import CostLine as CostLineRow
from services.store.models import CostStatedTotal
from slo.errors import InputError, InputErrors

COLUMNS = ("component", "monthly_cost", "annual_cost", "cost_per_user",
           "optimization_potential", "currency")
_ALIASES = {
    "component": ("component", "item", "service", "resource"),
    "monthly_cost": ("monthly cost", "monthly", "cost per month", "cost/month"),
    "annual_cost": ("annual cost", "annual", "yearly cost", "cost per year", "cost/year"),
    "cost_per_user": ("cost per user", "cost/user", "per user"),
    "optimization_potential": ("optimization potential", "optimisation potential",
                               "potential", "savings potential"),
    "currency": ("currency",),
}
_HEADER_TO_COLUMN = {alias: column for column, aliases in _ALIASES.items()
                     for alias in (*aliases, column.replace("_", " "))}
_TOTAL_NAMES = {"total", "totals", "grand total"}
_ZERO_WORDS = {"minimal", "none", "negligible", "nil", "0"}
_UNKNOWN_WORDS = {"", "-", "–", "—", "n/a", "na", "unknown", "tbd", "?"}
_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY"}
_DOLLAR_CURRENCIES = {"USD", "CAD", "AUD", "NZD", "SGD", "HKD"}

_MONEY = re.compile(r"^(?P<pre>[A-Z]{3})?\s*(?P<symbol>[$€£¥])?\s*"
                    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<post>[A-Z]{3})?$")
_PERCENT = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*%\s*(?:\((?P<note>[^)]*)\)\s*)?(?P<rest>.*)$")
_MARKUP = re.compile(r"\*\*|__|`|~~")
_HEADER_UNIT = re.compile(r"\s*\((?P<unit>[^)]*)\)\s*$")


# --- reading cells ----------------------------------------------------------------------


def _plain(cell: str) -> str:
    """Cell text without markdown emphasis and surrounding space."""
    return _MARKUP.sub("", cell).strip()


def _header_column(header: str) -> tuple[str | None, str | None]:
    """`Monthly Cost (USD)` -> ("monthly_cost", "USD"); unknown headers -> (None, None)."""
    text = _plain(header).lower()
    unit = _HEADER_UNIT.search(text)
    currency = None
    if unit:
        text = text[: unit.start()]
        currency = unit["unit"].upper() if re.fullmatch(r"[a-z]{3}", unit["unit"]) else None
    text = " ".join(text.replace("_", " ").replace("-", " ").split())
    return _HEADER_TO_COLUMN.get(text), currency


def parse_money(cell: str, *, default_currency: str = DEFAULT_CURRENCY
                ) -> tuple[Decimal, str | None]:
    """`$12,450` -> (12450, "USD"); `1200 EUR` -> (1200, "EUR"); `12450` -> (12450, None).

    Raises ValueError for anything else, negative amounts included.
    """
    text = _plain(cell)
    if text.startswith("-") or text.startswith("$-"):
        raise ValueError(f"a cost cannot be negative, got {cell.strip()!r}")
    found = _MONEY.match(text)
    if not found or (found["pre"] and found["post"]):
        raise ValueError(f"expected an amount such as $12,450 or 12450.00, got {cell.strip()!r}")
    codes = {c for c in (found["pre"], found["post"]) if c}
    symbol = found["symbol"]
    if symbol == "$":
        codes.add(default_currency if default_currency in _DOLLAR_CURRENCIES else "USD")
    elif symbol:
        codes.add(_SYMBOLS[symbol])
    if len(codes) > 1:
        raise ValueError(f"{cell.strip()!r} names two currencies ({', '.join(sorted(codes))})")
    amount = Decimal(found["number"].replace(",", ""))
    if amount >= MAX_COST:
        raise ValueError(f"{cell.strip()[:40]!r} is past {MAX_COST:,.0f}, more than any cost "
                         "line could be")
    return amount, codes.pop() if codes else None


def parse_potential(cell: str) -> tuple[Decimal | None, str, Decimal | None]:
    """`15% (reserved instances)` -> (0.15, "reserved instances", 15).

    A word such as `Minimal` or `None` is 0% (the source says there is little to gain);
    an empty cell, `-` or `n/a` is unknown (None). Raises ValueError for anything else.
    """
    text = _plain(cell)
    if text.lower() in _UNKNOWN_WORDS:
        return None, "", None
    if text.lower() in _ZERO_WORDS:
        return Decimal(0), text, Decimal(0)
    found = _PERCENT.match(text)
    if not found:
        raise ValueError(f"expected a percentage such as '15% (reserved instances)', a word "
                         f"such as 'Minimal' (0%), or 'n/a', got {cell.strip()!r}")
    percent = Decimal(found["number"])
    if percent > 100:
        raise ValueError(f"{cell.strip()!r} is more than 100%")
    note = " ".join(p.strip() for p in (found["note"] or "", found["rest"]) if p.strip())
    return percent / 100, note, percent


# --- rows to lines ----------------------------------------------------------------------


class _Rows:
    """Turns rows of cells (column -> text) into lines, collecting every problem."""

    def __init__(self, source: str, currency: str) -> None:
        self.source, self.default_currency = source, currency
        self.lines: list[CostLine] = []
        self.total: StatedTotal | None = None
        self.errors: list[InputError] = []
        self.seen: dict[str, int] = {}
        self.currency_line: tuple[str, int] | None = None

    def error(self, msg: str, line: int, field: str) -> None:
        self.errors.append(InputError(msg, path=self.source, line=line, field=field))

    def money(self, cells: Mapping[str, str], column: str, line: int) -> Decimal | None:
        """The column's amount, or None when empty or wrong (wrong is recorded)."""
        if not _plain(cells.get(column, "")):
            return None
        try:
            amount, code = parse_money(cells[column], default_currency=self.default_currency)
        except ValueError as exc:
            self.error(str(exc), line, column)
            return None
        if code:
            self.currency(code, line, column)
        return amount

    def currency(self, code: str, line: int, field: str) -> None:
        """Every amount of a table in one currency: sums across currencies mean nothing."""
        if self.currency_line is None:
            self.currency_line = (code, line)
        elif self.currency_line[0] != code:
            first, at = self.currency_line
            self.error(f"{code} here but {first} on line {at}; a table holds one currency",
                       line, field)

    def row(self, cells: Mapping[str, str], line: int) -> None:
        component = _plain(cells.get("component", ""))
        if _plain(cells.get("currency", "")):
            self.currency(_plain(cells["currency"]).upper(), line, "currency")
        if component.lower() in _TOTAL_NAMES:
            self.total_row(cells, line)
        else:
            self.line_row(component, cells, line)

    def potential(self, cells: Mapping[str, str], line: int
                  ) -> tuple[Decimal | None, str, Decimal | None]:
        try:
            return parse_potential(cells.get("optimization_potential", ""))
        except ValueError as exc:
            self.error(str(exc), line, "optimization_potential")
            return None, "", None

    def total_row(self, cells: Mapping[str, str], line: int) -> None:
        if self.total is not None:
            self.error(f"a second Total row (the first is on line {self.total.line})", line,
                       "component")
            return
        monthly, annual = self.money(cells, "monthly_cost", line), self.money(
            cells, "annual_cost", line)
        per_user = self.money(cells, "cost_per_user", line)
        self.total = StatedTotal(line, monthly, annual, per_user, self.potential(cells, line)[2])

    def line_row(self, component: str, cells: Mapping[str, str], line: int) -> None:
        errors = len(self.errors)
        if not component:
            self.error("component name is missing", line, "component")
        elif component in self.seen:
            self.error(f"{component!r} is already on line {self.seen[component]}", line,
                       "component")
        else:
            self.seen[component] = line
        monthly = self.money(cells, "monthly_cost", line)
        if not _plain(cells.get("monthly_cost", "")):
            self.error("monthly cost is missing", line, "monthly_cost")
        elif monthly is not None and monthly != monthly.quantize(CENT):
            self.error(f"{_plain(cells['monthly_cost'])!r} has more than 2 decimals; costs "
                       "are kept in cents", line, "monthly_cost")
        annual, per_user = self.money(cells, "annual_cost", line), self.money(
            cells, "cost_per_user", line)
        ratio, note, _ = self.potential(cells, line)
        if len(self.errors) > errors or monthly is None:
            return
        self.lines.append(CostLine(component, monthly, "", ratio, note, line, annual, per_user))

    def table(self) -> CostTable:
        if self.errors:
            raise InputErrors(sorted(self.errors, key=lambda e: e.line or 0))
        if not self.lines:
            raise InputError("no cost lines", path=self.source)
        currency = self.currency_line[0] if self.currency_line else self.default_currency
        lines = tuple(CostLine(x.component, x.monthly_cost, currency, x.potential_ratio,
                               x.potential_note, x.line, x.stated_annual, x.stated_per_user)
                      for x in self.lines)
        return CostTable(self.source, currency, lines, self.total)


def _columns(headers: Sequence[str], source: str, line: int, *, strict: bool
             ) -> tuple[list[str | None], str | None]:
    """Column of each header (None: ignored) and a currency named in a header.

    `strict` (CSV) makes unknown headers errors, so a misspelt column is not silently lost.
    """
    columns: list[str | None] = []
    errors: list[InputError] = []
    currency = None
    for header in headers:
        column, unit = _header_column(header)
        currency = currency or unit
        if column is None and strict and header.strip():
            errors.append(InputError(f"unknown column {header.strip()!r}; expected "
                                     f"{', '.join(COLUMNS)}", path=source, line=line,
                                     field="header"))
        elif column is not None and column in columns:
            errors.append(InputError(f"column {header.strip()!r} is given twice", path=source,
                                     line=line, field="header"))
        columns.append(column)
    missing = [c for c in ("component", "monthly_cost") if c not in columns]
    if missing:
        errors.append(InputError(f"missing column(s) {', '.join(missing)}", path=source,
                                 line=line, field="header"))
    if errors:
        raise InputErrors(errors)
    return columns, currency


def _cells(columns: Sequence[str | None], values: Sequence[str]) -> dict[str, str]:
    return {c: v for c, v in zip(columns, values, strict=False) if c is not None}


# --- CSV --------------------------------------------------------------------------------


def parse_cost_csv(text: str, *, source: str, currency: str = DEFAULT_CURRENCY) -> CostTable:
    """`component,monthly_cost[,annual_cost][,cost_per_user][,optimization_potential]
    [,currency]` with a header row. Blank lines and lines starting with `#` are skipped.

    `currency` applies when no cell or header names one. Raises InputErrors with every
    problem (file, line, field).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = _Rows(source, currency)
    columns: list[str | None] | None = None
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell past the csv module's field limit
            raise InputError(f"not CSV: {exc}", path=source, line=reader.line_num) from None
        line = reader.line_num
        if not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns, unit = _columns(record, source, line, strict=True)
            rows.default_currency = unit or currency
            continue
        if len(record) != len(columns):
            rows.error(f"{len(record)} cells for {len(columns)} columns", line, "row")
            continue
        rows.row(_cells(columns, record), line)
    if columns is None:
        raise InputError("no header row", path=source, line=1)
    return rows.table()


# --- markdown ---------------------------------------------------------------------------


def parse_cost_markdown(text: str, *, source: str, currency: str = DEFAULT_CURRENCY
                        ) -> CostTable:
    """The first markdown table with Component and Monthly Cost columns.

    Other columns it knows: Annual Cost, Cost/User, Optimization Potential, Currency; any
    other column is ignored (a document's table may carry notes). A row named Total is the
    stated total, compared by `summarize_costs`, not a line.
    """
    for table in markdown.tables(markdown.scan(text)):
        line, headers, body = table.line, table.header, table.rows
        columns = [_header_column(h)[0] for h in headers]
        if "component" not in columns or "monthly_cost" not in columns:
            continue
        columns, unit = _columns(headers, source, line, strict=False)
        reader = _Rows(source, unit or currency)
        for number, cells in body:
            if len(cells) != len(columns):
                reader.error(f"{len(cells)} cells for {len(columns)} columns", number, "row")
                continue
            reader.row(_cells(columns, cells), number)
        return reader.table()
    raise InputError("no cost table: expected a table with Component and Monthly Cost columns",
                     path=source)


# --- OpenCost ---------------------------------------------------------------------------


MAX_COST = Decimal(10) ** 15  # a quadrillion a month: past it, a typo (and past cents' precision)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 at +01:00 is before datetime.min in UTC
        return None


def _finite(value: Any) -> float | None:
    """A cost OpenCost could mean: a finite number below MAX_COST, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer past a float's range
        return None
    return number if math.isfinite(number) and abs(number) < MAX_COST else None


@dataclass
class _Allocation:
    cost: Decimal = Decimal(0)
    efficiency_weight: Decimal = Decimal(0)  # Σ efficiency × cost over steps that have one
    weighted_cost: Decimal = Decimal(0)


def _allocations(payload: Mapping[str, Any], source: str
                 ) -> tuple[dict[str, _Allocation], list[datetime], list[InputError]]:
    """Sum each allocation's totalCost over the response's steps."""
    found: dict[str, _Allocation] = {}
    times: list[datetime] = []
    errors: list[InputError] = []
    steps = payload.get("data")
    if not isinstance(steps, list):
        return found, times, [InputError("expected a list of allocation sets", path=source,
                                         field="data")]
    for s, step in enumerate(steps):
        if step is not None and not isinstance(step, Mapping):
            errors.append(InputError(f"expected an allocation set (a mapping), got "
                                     f"{type(step).__name__}", path=source, field=f"data[{s}]"))
            continue
        for name, alloc in (step or {}).items():
            where = f"data[{s}].{name}"
            cost = _finite(alloc.get("totalCost")) if isinstance(alloc, dict) else None
            if cost is None or cost < 0:
                shown = alloc.get("totalCost") if isinstance(alloc, dict) else alloc
                errors.append(InputError(f"expected a cost from 0 to 1e15, got {shown!r:.60} "
                                         "(OpenCost writes NaN and Inf as null)", path=source,
                                         field=f"{where}.totalCost"))
                continue
            total = found.setdefault(name, _Allocation())
            amount = Decimal(str(cost))
            total.cost += amount
            efficiency = _finite(alloc.get("totalEfficiency"))
            if efficiency is not None and name not in ("__idle__", "__unallocated__"):
                total.efficiency_weight += Decimal(str(efficiency)) * amount
                total.weighted_cost += amount
            times.extend(t for t in (_time(alloc.get("start")), _time(alloc.get("end"))) if t)
    return found, times, errors


def _efficiency_potential(alloc: _Allocation) -> tuple[Decimal | None, str]:
    """Unused share of what was requested (1 − efficiency), the rightsizing upper bound."""
    if not alloc.weighted_cost:
        return None, ""
    efficiency = alloc.efficiency_weight / alloc.weighted_cost
    ratio = min(max(1 - efficiency, Decimal(0)), Decimal(1))
    return ratio, f"unused requests at {float(efficiency):.0%} efficiency"


def parse_allocation(payload: Mapping[str, Any] | str, *, source: str,
                     currency: str = DEFAULT_CURRENCY) -> CostTable:
    """Cost lines from an OpenCost `/allocation` response (one line per aggregate key).

    Steps are summed; `__idle__` and `__unallocated__` stay lines of their own, since they
    are spend too. Costs are rounded to cents; `window` is the span the response covers.
    """
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", path=source, line=exc.lineno) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, deep nesting
            reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:120]
            raise InputError(f"not JSON Apollo can read: {reason}", path=source) from None
    if not isinstance(payload, Mapping):
        raise InputError("expected a JSON object", path=source)
    if payload.get("code", 200) != 200:
        raise InputError(f"OpenCost answered code {payload.get('code')}: "
                         f"{payload.get('message', '')}".rstrip(": "), path=source, field="code")
    found, times, errors = _allocations(payload, source)
    if errors:
        raise InputErrors(errors)
    if not found:
        raise InputError("no allocations in the response", path=source, field="data")
    lines = []
    for name, alloc in found.items():
        ratio, note = _efficiency_potential(alloc)
        lines.append(CostLine(name, alloc.cost.quantize(CENT), currency, ratio, note, None))
    window = (min(times), max(times)) if times else None
    return CostTable(source, currency, tuple(lines), None, window)


def fetch_allocation(client: httpx.Client, *, month: date, aggregate: str = "namespace",
                     path: str = "/allocation") -> dict[str, Any]:
    """GET the month's allocation from OpenCost (the client carries base URL and timeout).

    Raises SourceUnavailable when OpenCost does not answer, answers an HTTP error or
    answers something that is not JSON.
    """
    start, end = month_window(month)
    window = f"{start:%Y-%m-%dT%H:%M:%SZ},{end:%Y-%m-%dT%H:%M:%SZ}"
    params = {"window": window, "aggregate": aggregate, "accumulate": "true"}
    request = client.build_request("GET", path, params=params)
    url = mask_url(str(request.url.copy_with(query=None)))
    try:
        response = client.send(request)
    except httpx.HTTPError as exc:
        raise SourceUnavailable(f"OpenCost {url}", str(exc) or type(exc).__name__) from exc
    if response.status_code != 200:
        raise SourceUnavailable(f"OpenCost {url}", f"HTTP {response.status_code}: "
                                f"{response.text[:200].strip()}")
    try:
        return response.json()
    except ValueError as exc:
        raise SourceUnavailable(f"OpenCost {url}", "answered something that is not JSON"
                                ) from exc


# --- storing ----------------------------------------------------------------------------

COST_LINES = CostLineRow.__table__
STATED_TOTALS = CostStatedTotal.__table__


@dataclass(frozen=True)
class CostWrite:
    inserted: int
    updated: int
    deleted: int

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted)


def _stored_cents(value: Any) -> Decimal:
    """A stored Numeric as exact cents (SQLite hands back int or float, PostgreSQL Decimal)."""
    return Decimal(str(value)).quantize(CENT)


def _row_values(x: CostLine) -> dict[str, Any]:
    ratio = None if x.potential_ratio is None else float(x.potential_ratio)
    return {"monthly_cost": x.monthly_cost.quantize(CENT), "currency": x.currency,
            "potential_ratio": ratio, "potential_note": x.potential_note, "line": x.line,
            "stated_annual": _text(x.stated_annual), "stated_per_user": _text(x.stated_per_user)}


def _text(value: Decimal | None) -> str | None:
    """A stated figure as the decimal text read (its places kept)."""
    return None if value is None else str(value)


def _differs(row: Any, values: Mapping[str, Any]) -> bool:
    return (_stored_cents(row.monthly_cost) != values["monthly_cost"]
            or any(getattr(row, k) != values[k]
                   for k in ("currency", "potential_ratio", "potential_note", "line",
                             "stated_annual", "stated_per_user")))


def store_stated_total(conn: Connection, table: CostTable, *, month: date) -> None:
    """Keep the table's Total row for (source, month), or none when it has none."""
    where = (STATED_TOTALS.c.source == table.source, STATED_TOTALS.c.month == month)
    conn.execute(delete(STATED_TOTALS).where(*where))
    total = table.stated_total
    if total is not None:
        conn.execute(STATED_TOTALS.insert().values(
            source=table.source, month=month, line=total.line,
            monthly_cost=_text(total.monthly_cost), annual_cost=_text(total.annual_cost),
            cost_per_user=_text(total.cost_per_user),
            potential_percent=_text(total.potential_percent)))


def store_cost_lines(conn: Connection, table: CostTable, *, month: date) -> CostWrite:
    """Make the store's lines of (table.source, month) equal the table's; rows that did not
    change are not touched, so writing the same table twice changes nothing."""
    check_month(month)
    where = (COST_LINES.c.source == table.source, COST_LINES.c.month == month)
    stored = {row.component: row for row in conn.execute(select(COST_LINES).where(*where))}
    new = {x.component: _row_values(x) for x in table.lines}
    gone = sorted(stored.keys() - new.keys())
    if gone:
        conn.execute(delete(COST_LINES).where(*where, COST_LINES.c.component.in_(gone)))
    inserts = [{"source": table.source, "month": month, "component": c, **v}
               for c, v in new.items() if c not in stored]
    if inserts:
        conn.execute(COST_LINES.insert(), inserts)
    changed = [(stored[c].id, v) for c, v in new.items() if c in stored and _differs(stored[c], v)]
    for row_id, values in changed:
        conn.execute(update(COST_LINES).where(COST_LINES.c.id == row_id).values(**values))
    store_stated_total(conn, table, month=month)
    return CostWrite(len(inserts), len(changed), len(gone))


# --- reading files and OpenCost into the store ------------------------------------------

_PARSERS = {".csv": parse_cost_csv, ".md": parse_cost_markdown,
            ".markdown": parse_cost_markdown}


def read_costs(path: Path, *, currency: str = DEFAULT_CURRENCY) -> CostTable:
    """A cost file by its suffix: `.csv`, `.md` / `.markdown`, or `.json` (an OpenCost
    response saved to disk)."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_allocation(text, source=str(path), currency=currency)
    if suffix not in _PARSERS:
        raise InputError(f"unknown cost file type {suffix or '(none)'!r}; expected .csv, .md "
                         "or .json", path=str(path))
    return _PARSERS[suffix](text, source=str(path), currency=currency)


def _gaps(window: tuple[datetime, datetime] | None, month: date) -> list[dict[str, int]]:
    """The parts of the month the costs do not cover (Unix seconds), for the run record."""
    start, end = month_window(month)
    if window is None:
        return [{"start": int(start.timestamp()), "end": int(end.timestamp())}]
    spans = [(start, min(window[0], end)), (max(window[1], start), end)]
    return [{"start": int(a.timestamp()), "end": int(b.timestamp())} for a, b in spans if a < b]


def _store(engine: Engine, run: RunResult, table: CostTable, month: date) -> RunResult:
    with engine.begin() as conn:
        store_cost_lines(conn, table, month=month)
    run.samples = len(table.lines)
    return run.finish()


def _failed(run: RunResult, exc: Exception) -> RunResult:
    run.errors = [str(e) for e in getattr(exc, "errors", [exc])]
    return run.finish()


def collect_cost_file(engine: Engine, path: Path, *, month: date, source: str | None = None,
                      currency: str = DEFAULT_CURRENCY) -> RunResult:
    """Read one cost file into the store for `month`; problems become the run's errors.

    `source` (default: the file's absolute path) is the key the lines are replaced under.
    """
    check_month(month)
    name = source or str(path.resolve())
    run = RunResult("costs", name)
    try:
        table = read_costs(path, currency=currency)
    except InputError as exc:
        return _failed(run, exc)
    return _store(engine, run, replace(table, source=name), month)


def collect_opencost(engine: Engine, client: httpx.Client, *, month: date,
                     aggregate: str = "namespace", currency: str = DEFAULT_CURRENCY
                     ) -> RunResult:
    """Fetch the month's allocation from OpenCost and store one line per aggregate key.

    The source is `opencost:<base URL>?aggregate=<aggregate>`; parts of the month the
    response does not cover are the run's gaps (a month still running has one).
    """
    source = f"opencost:{mask_url(str(client.base_url)).rstrip('/')}?aggregate={aggregate}"
    run = RunResult("costs", source)
    try:
        payload = fetch_allocation(client, month=month, aggregate=aggregate)
        table = parse_allocation(payload, source=source, currency=currency)
    except (SourceUnavailable, InputError) as exc:
        return _failed(run, exc)
    run.gaps = _gaps(table.window, month)
    return _store(engine, run, table, month)
