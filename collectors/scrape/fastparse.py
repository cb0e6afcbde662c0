"""A strict fast path for the Prometheus text format (0.0.4): the same `Page` as
prometheus_client's parser, 9-10 times sooner (bench/collect.py), or None when unsure.

prometheus_client reads a page character by character in Python (≈ 11 µs a sample). Here
one regular expression, run over the whole page at once, checks and splits every line; the
Python loop only files the pieces. The grammar is deliberately narrower than what
prometheus_client accepts, and anything outside it makes `fast_page` return None, so that
`parse_page` reads the page the usual way.

`read_page` is the same reader for a page with bad lines: it reads every line it can, as if
the others were not there, and lists the rest by number: lines prometheus_client refuses
too (a value that is not a number, a label name twice) and lines outside the grammar, for
`parse_page` to ask prometheus_client about. So one bad line in a 50 MB page costs no more
than the page itself. The grammar:

- sample lines: `name value`, `name value timestamp`, `name{l="v",…} value [timestamp]`,
  single spaces, optional trailing comma in the braces, leading/trailing blanks, `\\r`;
  label values may hold anything but a raw newline (escapes `\\\\`, `\\"`, `\\n` are read
  as prometheus_client reads them, and any other `\\x` is kept as it is);
- values: at most 64 characters of `[-+.0-9A-Za-z]` that `float()` reads (NaN, ±Inf,
  scientific notation); timestamps: an integer of at most 18 digits (read, then dropped,
  as `Page` drops them);
- comments: `# HELP name …` and `# TYPE name counter|gauge|histogram|summary|untyped`;
  any other comment is ignored unless it contains `HELP` or `TYPE`.

Declined: OpenMetrics (`parse_page` never asks), exemplars, duplicate or reserved (`__…`)
label names, label names with `:`, blanks inside the braces or around `=`, anything but one
space between the series and its value or the value and its timestamp (tabs, two spaces,
none), other whitespace at line ends (unicode, vertical tab), `# TYPE` of another type
(`info`, `stateset`, `unknown`, …) or repeated after a family's samples, HELP/TYPE lines
with extra blanks or quoted names, any line the grammar does not cover.

What `Page` keeps mirrors prometheus_client's families exactly: samples are grouped under
the last HELP/TYPE, a sample whose name the family does not allow (a histogram's
`_created`, a stray line) closes it and is read as an untyped singleton, as is every sample
after it until the next HELP/TYPE; counters not named `…_total` get `_total` appended to
their samples' names; untyped reads as `unknown`; `_created` samples are dropped; the last
of two equal series wins.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field

from collectors.scrape.parse import Labels, Page

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"(?!__)[a-zA-Z_][a-zA-Z0-9_]*"
_ESCAPED_VALUE = r'[^"\\\n]*(?:\\.[^"\\\n]*)*'  # a quoted label value, unrolled: no backtracking
_PLAIN_VALUE = r'[^"\\\n]*'  # the same on a page without a backslash, a little faster


def _line_re(value: str) -> re.Pattern[str]:
    """One line of the page: a comment, a sample or a blank, else (last group) the line
    outside the grammar. The first three labels are captured one by one (most series have no
    more), any others as one block. Every line of the page gives one match, in order."""
    pair = f'({_LABEL})="({value})"'
    pairs = f'{_LABEL}="{value}"(?:,{_LABEL}="{value}")*,?'
    return re.compile(
        r"^(?:[ \t]*(?:"
        r"(#[^\n]*)"
        rf"|({_NAME})"
        rf"(?:\{{(?:{pair}(?:,{pair}(?:,{pair}(?:,({pairs}))?)?)?,?)?\}})?"
        r" ([-+.0-9A-Za-z]{1,64})(?: -?[0-9]{1,18})?"
        r"|)[ \t\r]*|(.+))$",
        re.MULTILINE,
    )


_PLAIN_LINE_RE = _line_re(_PLAIN_VALUE)
_ESCAPED_LINE_RE = _line_re(_ESCAPED_VALUE)
_PAIR_RE = re.compile(f'({_LABEL})="({_ESCAPED_VALUE})"')
_HELP_RE = re.compile(rf"# HELP ({_NAME})(?:[ \t].*)?")
_TYPE_RE = re.compile(rf"# TYPE ({_NAME}) (counter|gauge|histogram|summary|untyped)")
_ESCAPE_RE = re.compile(r'\\[\\n"]')
_ESCAPES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
# The sample names each family type takes, as suffixes of the family name.
_SUFFIXES = {
    "counter": ("",),
    "gauge": ("",),
    "untyped": ("",),
    "summary": ("_count", "_sum", ""),
    "histogram": ("_count", "_sum", "_bucket"),
}


class _Decline(Exception):
    """The line is outside the fast path's grammar."""


@dataclass
class Reading:
    """What the fast path read of a page, and the lines (numbered from 1) it left out."""

    page: Page
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): refused
    odd: list[int] = field(default_factory=list)  # outside the grammar: unread, unjudged

    @property
    def complete(self) -> bool:
        return not self.bad and not self.odd


def fast_page(text: str) -> Page | None:
    """The page's samples and types, exactly as `parse_page` reads text format 0.0.4,
    or None if the page holds anything the fast path does not fully understand."""
    reading = read_page(text)
    return reading.page if reading.complete else None


def read_page(text: str) -> Reading:
    """Every line of the page the fast path reads, read as prometheus_client reads the page
    without the other lines; those are listed (`Reading.bad`, `Reading.odd`)."""
    escaped = "\\" in text
    collecting = gc.isenabled()
    gc.disable()  # ~5 short-lived tuples a sample: collecting them costs ~12% of the time
    try:
        return _read((_ESCAPED_LINE_RE if escaped else _PLAIN_LINE_RE).findall(text), escaped)
    finally:
        if collecting:
            gc.enable()


def _allowed(family: str, kind: str) -> dict[str, str]:
    """Sample name -> name it is kept under ('' = dropped), for a family of `kind`."""
    out = {}
    for suffix in _SUFFIXES[kind]:
        name = family + suffix
        kept = name + "_total" if kind == "counter" and not name.endswith("_total") else name
        out[name] = "" if kept.endswith("_created") else kept
    return out


class _Family:
    """What prometheus_client's parser knows of the family being read."""

    __slots__ = ("allowed", "has_samples", "kind", "name")

    def __init__(self, name: str = "", kind: str = "unknown",
                 allowed: dict[str, str] | None = None) -> None:
        self.name = name
        self.kind = kind  # as prometheus_client reports it: untyped is "unknown"
        self.allowed = allowed or {}  # sample name -> name kept under ('' = dropped)
        self.has_samples = False


def _comment(line: str, family: _Family) -> _Family:
    """The family after a comment line: a new one on HELP/TYPE of another name."""
    line = line.strip()
    if line.startswith("# HELP "):
        found = _HELP_RE.fullmatch(line)
        if found is None:
            raise _Decline
        if found[1] != family.name:
            return _Family(found[1], "unknown", _allowed(found[1], "untyped"))
    elif line.startswith("# TYPE "):
        found = _TYPE_RE.fullmatch(line)
        if found is None:
            raise _Decline
        name, kind = found[1], found[2]
        if name == family.name and family.has_samples:
            raise _Decline  # the type of samples already read would change
        return _Family(name, "unknown" if kind == "untyped" else kind, _allowed(name, kind))
    elif "HELP" in line or "TYPE" in line:
        raise _Decline  # `#  HELP x`, `#\tTYPE x`: prometheus_client reads these too
    return family


def _read(lines: list[tuple[str, ...]], escaped: bool) -> Reading:
    values: dict[tuple[str, Labels], float] = {}
    types: dict[str, str] = {}
    reading = Reading(Page(values=values, types=types))
    family = _Family()
    allowed = family.allowed
    for line, (comment, name, n1, v1, n2, v2, n3, v3, rest, value, other) in enumerate(
            lines, start=1):
        if not name:
            if comment:
                try:
                    family = _comment(comment, family)
                except _Decline:
                    reading.odd.append(line)
                    continue
                allowed = family.allowed
            elif other:
                reading.odd.append(line)
            continue  # a blank line
        try:
            number = float(value)
        except ValueError:
            reading.bad.append((line, f"invalid value {value!r}"))
            continue
        if not number and value[0] == "-" and value[1:].isdigit():
            number = 0.0  # prometheus_client reads "-0" with int(): no negative zero
        if n2:
            if n3:
                pairs = [(n1, v1), (n2, v2), (n3, v3), *(_PAIR_RE.findall(rest) if rest else ())]
                if len({n for n, _ in pairs}) != len(pairs):
                    reading.bad.append((line, "a label name twice"))
                    continue
                pairs.sort()
                labels: Labels = tuple(pairs)
            elif n1 < n2:
                labels = ((n1, v1), (n2, v2))
            elif n2 < n1:
                labels = ((n2, v2), (n1, v1))
            else:
                reading.bad.append((line, "a label name twice"))
                continue
        elif n1:
            labels = ((n1, v1),)
        else:
            labels = ()
        if escaped:
            labels = tuple((n, _unescape(v)) for n, v in labels)
        kept = allowed.get(name)
        if kept is None:  # not this family's: an untyped family of its own, and the end
            family = _Family()
            allowed = family.allowed
            if not name.endswith("_created"):
                values[(name, labels)] = number
                types[name] = "unknown"
            continue
        family.has_samples = True
        if kept:
            values[(kept, labels)] = number
            types[kept] = family.kind
    return reading


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m[0]], value)
