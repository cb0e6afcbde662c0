"""Reading a /metrics page: prometheus_client's parsers, and bad lines set aside, not fatal.

Text-format pages go through the fast path (`collectors.scrape.fastparse`), which gives the
very same `Page` about ten times sooner. A line it cannot read is shown to prometheus_client
on its own: if that refuses it too, it is a bad line, reported with its number, and the rest
of the page is kept as the fast path read it; if that reads it (a dialect the fast path does
not cover: tabs, exemplars, quoted names…), the page is read by prometheus_client without
its bad lines. OpenMetrics pages go to prometheus_client's OpenMetrics parser, and line by
line through the text parser if that fails.

Samples that cannot be counted are set aside the same way, `line: reason`: a counter, a
histogram's bucket, sum or count or a summary's sum or count that is NaN or infinite, and a
histogram bucket whose `le` is missing or not a number (no bucket at all). The non-finite
ones are named in `Page.set_aside`: their count is unknown, not zero (collectors.scrape.
increases keeps no row that would count them).
Pure: text in, samples out.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

Labels = tuple[tuple[str, str], ...]
Key = tuple[str, Labels]
OPENMETRICS = "application/openmetrics-text"
SHOWN_CHARS = 200  # of a bad line, in its report
MANY_ODD_LINES = 1_000  # more lines outside the fast grammar: another dialect, read at once
_REFUSED = (ValueError, IndexError, KeyError, OverflowError, TypeError)  # what the parsers raise
_COUNTED = {"counter", "histogram", "summary"}
_NAME_AT = re.compile(r"[ \t]*([a-zA-Z_:][a-zA-Z0-9_:]*)")  # a sample line's metric name


@dataclass(frozen=True)
class BadLine:
    line: int
    text: str
    reason: str


@dataclass
class Page:
    """Samples by (name, labels) and the type of each family (counter, gauge, histogram…)."""

    values: dict[Key, float] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # sample name -> family type
    bad_lines: list[BadLine] = field(default_factory=list)
    set_aside: set[Key] = field(default_factory=set)  # counters left out: NaN or ±Inf

    def __len__(self) -> int:
        return len(self.values)


def counted(name: str, types: Mapping[str, str]) -> bool:
    """Whether samples named `name` are cumulative counts (their increases are taken)."""
    kind = types.get(name, "untyped")
    if kind == "summary":
        return name.endswith(("_count", "_sum"))
    return kind in _COUNTED


@functools.lru_cache(maxsize=4096)
def _bound(text: str) -> float | None:
    try:
        bound = float(text)
    except ValueError:
        return None
    return None if math.isnan(bound) else bound


@functools.lru_cache(maxsize=65_536)  # the same buckets come back every scrape
def le_of(labels: Labels) -> float | None:
    """A histogram bucket's upper bound, or None when `le` is missing or not a number."""
    for name, value in labels:
        if name == "le":
            return _bound(value)
    return None


def parse_page(text: str, content_type: str = "") -> Page:
    """Every sample of the page; unreadable lines and uncountable samples are left out and
    listed in `bad_lines`."""
    if content_type.startswith(OPENMETRICS):
        page = _client_page(text, openmetrics=True) or _line_by_line(text)
    else:
        page = _text_page(text)
    _set_aside_uncountable(page, text)
    return page


def _text_page(text: str) -> Page:
    from collectors.scrape.fastparse import read_page  # it builds on this module's Page

    reading = read_page(text)
    if reading.complete:
        return reading.page
    if len(reading.odd) > MANY_ODD_LINES:  # a whole page in another dialect (tabs…)
        whole = _client_page(text)
        if whole is not None:
            return whole
    lines = text.split("\n")
    bad = [BadLine(number, _shown(lines[number - 1]), reason)
           for number, reason in reading.bad]
    readable = False  # a line the fast path skipped that prometheus_client reads
    for number in reading.odd:
        reason = _unreadable(lines[number - 1])
        if reason is None:
            readable = True
        else:
            bad.append(BadLine(number, _shown(lines[number - 1]), reason))
    page = reading.page
    if readable:
        skipped = {b.line for b in bad}
        kept = "\n".join(line for number, line in enumerate(lines, start=1)
                         if number not in skipped)
        page = _client_page(kept) or _line_by_line(text)
        if page.bad_lines:  # read line by line: that found them all
            return page
    page.bad_lines = sorted(bad, key=lambda b: b.line)
    return page


def _shown(line: str) -> str:
    return line.rstrip("\r")[:SHOWN_CHARS]


def _client_page(text: str, openmetrics: bool = False) -> Page | None:
    """The page as prometheus_client reads it, or None if it refuses it."""
    page = Page()
    try:
        _add(page, (openmetrics_families if openmetrics else text_families)(text))
    except _REFUSED:
        return None
    return page


def _add(page: Page, families: Iterator) -> None:
    for family in families:
        for sample in family.samples:
            if sample.name.endswith("_created"):  # creation times are not counts
                continue
            labels = tuple(sorted(sample.labels.items()))
            page.values[(sample.name, labels)] = float(sample.value)
            page.types[sample.name] = family.type


def _unreadable(line: str) -> str | None:
    """None if prometheus_client's text parser reads `line` on its own, else its complaint."""
    try:
        _add(Page(), text_families(line + "\n"))
    except _REFUSED as exc:
        return str(exc) or type(exc).__name__
    return None


def _line_by_line(text: str) -> Page:
    """The slow way, for pages neither parser reads whole: every line alone, then the
    lines prometheus_client reads, together."""
    bad: list[BadLine] = []
    good: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped == "# EOF":
            continue
        reason = _unreadable(stripped)
        if reason is None:
            good.append((number, line))
        else:
            bad.append(BadLine(number, _shown(line), reason))
    page = _client_page("\n".join(line for _, line in good) + "\n")
    if page is None:  # every line reads alone, not together: read family by family
        page = Page()
        for group in _families_of(good):
            part = _client_page("\n".join(line for _, line in group) + "\n")
            if part is None:
                number, line = group[0]
                bad.append(BadLine(number, _shown(line), f"this family ({len(group)} lines) "
                                   "reads line by line but not together"))
            else:
                page.values.update(part.values)
                page.types.update(part.types)
    page.bad_lines = sorted(bad, key=lambda b: b.line)
    return page


def _families_of(lines: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """The lines in groups, one a family: a `#` line after a sample starts the next."""
    groups: list[list[tuple[int, str]]] = []
    sampled = True
    for number, line in lines:
        comment = line.lstrip().startswith("#")
        if not groups or (comment and sampled):
            groups.append([])
            sampled = False
        groups[-1].append((number, line))
        sampled = sampled or not comment
    return groups


# --- samples that cannot be counted ------------------------------------------------------------


def uncountable(page: Page) -> dict[Key, str]:
    """The counted samples of `page` that cannot be counted, with the reason."""
    found: dict[Key, str] = {}
    types = page.types
    if not math.isfinite(sum(page.values.values())):  # a NaN or ±Inf somewhere (or huge)
        for (name, labels), value in page.values.items():
            if not math.isfinite(value) and counted(name, types):
                shown = "NaN" if math.isnan(value) else f"{value:+}".replace("inf", "Inf")
                found[(name, labels)] = f"{types[name]} value {shown} cannot be counted"
    buckets = {name for name, kind in types.items()
               if kind == "histogram" and name.endswith("_bucket")}
    if buckets:
        for key in page.values:
            if key[0] in buckets and key not in found and le_of(key[1]) is None:
                le = dict(key[1]).get("le")
                found[key] = ("histogram bucket without an le label" if le is None else
                              f"histogram bucket le={le!r} is not a number")
    return found


def _set_aside_uncountable(page: Page, text: str) -> None:
    found = uncountable(page)
    if not found:
        return
    where = _lines_of(text, found)
    for key, reason in found.items():
        if not math.isfinite(page.values.pop(key)):
            page.set_aside.add(key)  # its count is unknown, not zero (a bad le: no bucket)
        number, line = where.get(key, (0, f"{key[0]}{dict(key[1])}"))
        page.bad_lines.append(BadLine(number, _shown(line), reason))
    page.bad_lines.sort(key=lambda b: b.line)


def _lines_of(text: str, keys: Iterable[Key]) -> dict[Key, tuple[int, str]]:
    """The last line (number, text) that gives each series of `keys` (as the page keeps the
    last of two equal series). Only lines that start with one of their names and hold their
    quoted label values are read, so a few series are found fast in a large page."""
    by_name: dict[str, list[tuple[Key, list[str]]]] = {}
    for key in keys:
        name, labels = key
        needles = [f'"{value}"' for _, value in labels if not set(value) & set('\\"\n')]
        for written in (name, name[:-6]) if name.endswith("_total") else (name,):
            by_name.setdefault(written, []).append((key, needles))  # counters gain _total
    where: dict[Key, tuple[int, str]] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        found = _NAME_AT.match(line)
        candidates = by_name.get(found[1]) if found else None
        if not candidates:
            continue
        if len(candidates) <= 8 and not any(all(n in line for n in needles)
                                            for _, needles in candidates):
            continue
        wanted = {key for key, _ in candidates}
        series = _series_of(line)
        for name, labels in series:
            for key in ((name, labels), (name + "_total", labels)):
                if key in wanted:
                    where[key] = (number, line)
        if not series:  # a line that means nothing without its page's TYPE lines (a lone
            # `x_created` sample), or a value no parser reads alone: match it by its text
            labelled = line[found.end():found.end() + 1] == "{"
            for key, needles in candidates:
                if bool(key[1]) == labelled and all(n in line for n in needles):
                    where[key] = (number, line)
    return where


def _series_of(line: str) -> list[Key]:
    """The series of one sample line read on its own (none if it is not one)."""
    from collectors.scrape.fastparse import fast_page

    page = fast_page(line) or _client_page(line + "\n")
    return list(page.values) if page is not None else []
