"""Hypothesis strategies of hostile input: each draws an `Example`, a file's name and bytes
with the recipe that made it (what a report shows instead of megabytes of data).

Most examples are a valid file (the repository's own, or the reference suites' in
`shared/reference` beside the repository) with one edit (sometimes two or three); the rest
are bombs. Every strategy shrinks towards the plain seed file and its first line, so a
failure's minimal example reads as "seed X; line N 'key: v': 'v' -> T".

Strategies (one line each; docs/testing.md lists them too):
- `edited`: delete, duplicate, swap, truncate or replace lines, put a hostile value in a
  line's value slot (a YAML value, a CSV or table cell, a label or sample value), replace
  one of the file's numbers or durations by a hostile one, add a 1 MB tail or a control /
  bidi / line-separator character.
- `encoded`: UTF-8 mostly, else a BOM, UTF-16, latin-1, cp1252 mojibake, invalid UTF-8.
- `yaml_structural` (`tree_edits`): on the parsed document: a value of the wrong type, a
  hostile value of the field's own kind (NaN, inf, 10**400, `99999999999d`), a deleted,
  misspelt, unknown or duplicated key or item.
- `yaml_bombs`: billion laughs (up to 10**9 nodes), recursive aliases (also through `<<`),
  100 to 50,000-deep flow and block nesting, 100,000 aliases of one anchor.
- `json_bombs`: 100,000-deep arrays, wrong top-level shapes, OpenCost errors.
- per input: `configs`, `specs(fmt)`, `sli_csvs` (ms timestamps, rows centuries apart),
  `roadmaps`, `cost_files` (CSV, markdown, OpenCost JSON), `pages` (NaN counters, bad `le`,
  bad `# TYPE`, duplicate series, scrape sequences with resets and gaps).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference"
T0 = 1_700_000_040  # a whole minute: 2023-11-14 22:14 UTC
CENTURY_S = 100 * 365 * 86_400


@dataclass(frozen=True)
class Example:
    name: str  # the file name it is written under; its suffix picks the reader
    data: bytes
    recipe: tuple[str, ...]
    extra: Any = None  # what the entry point needs beside the file (a series, a scrape plan)

    def __repr__(self) -> str:
        return f"<{self.name}, {len(self.data):,} bytes: {'; '.join(self.recipe)}>"

    def preview(self, limit: int = 800, lines: int = 25) -> str:
        """The data as text, runs of one character shortened, cut at `limit` characters or
        `lines` lines."""
        text = self.data[: limit * 8].decode("utf-8", "backslashreplace")
        text = _RUN.sub(lambda m: f"‹{m[1]!r} × {len(m[0]):,}›", text)
        cut = "\n".join(text.split("\n")[:lines])[:limit]
        if len(cut) < len(text) or len(self.data) > limit * 8:
            cut += f"… ({len(self.data):,} bytes in all)"
        return cut


_RUN = re.compile(r"(.)\1{31,}", re.S)


@dataclass(frozen=True)
class Token:
    """A hostile value and how a report shows it (a 1 MB one as `'x' * 1,048,577`)."""

    text: str
    shown: str


def _tokens(*texts: str) -> list[Token]:
    return [Token(t, repr(t)) for t in texts]


def _long(ch: str, n: int) -> Token:
    return Token(ch * n, f"{ch!r} * {n:,}")


LONG = st.builds(_long, st.sampled_from(["x", "9", "é", "😀", " ", "\x00"]),
                 st.sampled_from([1_025, 65_537, 1_048_577]))

NUMBERS = [*_tokens(
    "NaN", ".nan", "nan", ".inf", "-.inf", "inf", "+Inf", "-Inf", "Infinity", "1e308", "1e309",
    "-1e309", "1e-320", "5e-324", "-0.0", "-1", "-0.001", "0", "100", "100.0000001", "101",
    "99.99999999999999", "1e999", "0x1F", "0o17", "1_000", "12,450", "1.2.3", "١٢٣", "１２",
    "1e", ".5", "--5", "", " "),
    Token("9" * 400, "'9' * 400"), Token("-" + "9" * 400, "'-' + '9' * 400"),
    Token("9" * 5000, "'9' * 5,000")]
DURATIONS = _tokens(
    "99999999999d", "99999999999999999999y", "9223372036854775807s", "1e9d", "292471y", "11y",
    "3650d", "3651d", "87601h", "0s", "0", "-1m", "-0s", "1.5h", "0.5s", "1ms", "1us", "1ns",
    "1y", "1M", "1Q", "1w", "1m1m", "5", "5x", "1h-30m", "30d30d", "১d", "PT5M", "P1D", ".inf",
    "NaN", "1d12h", "0.0000001s")
DURATION_BOMBS = [Token("1m" + "9" * 65_537, "'1m' + '9' * 65,537"),
                  Token("1" * 5_000 + "d", "'1' * 5,000 + 'd'"),
                  Token("1m" * 50_000, "'1m' * 50,000")]
DURATIONS += DURATION_BOMBS
STRINGS = _tokens(
    "", " ", "\t", "~", "null", "true", "yes", "no", "\x00", "\x7f", "\u200b", "\u202e",
    "\u2028", "\ufeff", "😀", "ünïcödé", "日本語", "{{.window}}", "{{.Window}}", "{{ .window }}",
    "{{", '{job="', 'x{le="fast"}', "sum(rate(x[{{.window}}]))", 'x{__name__="y"}',
    "rate(x[5m]) / 0", "../../etc/passwd", "%s%n", "${HOME}", "\\", '"', "'", "- -", ": :",
    "#", "|", ">", "@", "`", "&a", "*a", "*undefined", "!!python/object/apply:os.system [id]",
    "!!binary ###", "!!timestamp never", "!!int x", "!!float x", "!!set {a}", "!!omap [a]",
    "!custom x", "2024-02-30", "2024-13-01", "2024-02-30T25:61:00Z", "0001-01-01",
    "9999-12-31T23:59:59Z", "[a, b]", "{a: 1, a: 2}", "{[a]: b}", "<<: 5", "'unterminated",
    '"unterminated', "[unclosed", "? x", "http://user:secret@host/", "http://[::1/m",
    "http://h:99999/", "postgresql://u:p@h/db")
SPEC_WORDS = _tokens(
    "apollo/v1", "apollo/v2", "prometheus/v1", "prometheus/v2", "sloth.slok.dev/v1",
    "openslo/v1", "openslo/v1alpha", "openslo/v2alpha", "pyrra.dev/v1alpha1",
    "monitoring.coreos.com/v1", "SLO", "SLI", "Service", "AlertPolicy", "AlertCondition",
    "DataSource", "PrometheusServiceLevel", "ServiceLevelObjective", "AlertWindows",
    "Occurrences", "Timeslices", "RatioTimeslices", "Rolling", "Calendar", "lte", "gt")
# Characters that break line counting, display or decoding, put inside a line.
CHARS = ["\x00", "\t", "\r", "\x0b", "\x0c", "\x1b", "\x85", "\u2028", "\u2029", "\ufeff",
         "\u202e", "\u200b", "\u0301", "é", "😀"]

# Values that are odd but valid, so that edited files also reach rules, report and backtest.
PLAUSIBLE = _tokens(
    "99.999", "99.9", "99", "95", "50", "0.001", "100", "0", "1", "0.5", "0.9999", "1d", "7d",
    "28d", "30d", "90d", "365d", "1h", "5m", "1m", "1w", "4w", "2w", "1M", "1Q", "1Y", "true",
    "false")

YAML_VALUES = st.one_of(st.sampled_from(PLAUSIBLE), st.sampled_from(NUMBERS),
                        st.sampled_from(DURATIONS), st.sampled_from(STRINGS), LONG)


# --- seeds --------------------------------------------------------------------------------


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def seed_files(root: Path, *patterns: str, containing: str = "") -> list[Path]:
    """Files under `root` matching `patterns` (and holding `containing`), sorted; an empty
    list is an error, not a silent pass: the fuzz test would mutate nothing."""
    found = sorted({p for pattern in patterns for p in root.glob(pattern)
                    if containing in _read(p)})
    if not found:
        raise FileNotFoundError(f"no seed files {patterns} under {root} holding "
                                f"{containing!r}")
    return found


def _label(path: Path) -> str:
    for root in (REFERENCE, REPO):  # REFERENCE first: it is not inside REPO
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return str(path)


def seeds(paths: list[Path]) -> st.SearchStrategy[tuple[str, str]]:
    """(label, text) of one seed file."""
    return st.sampled_from([(_label(p), _read(p)) for p in paths])


# --- line edits ------------------------------------------------------------------------------

EDITS = ["value", "number", "duration", "line", "insert", "delete", "duplicate", "swap",
         "truncate", "long", "char"]
Slots = Callable[[str], list[tuple[int, int]]]


def _short(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


_DURATION = re.compile(r"(\d+(\.\d+)?(ms|s|m|h|d|w|y|M|Q|Y))+")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _values_for(current: str, values: st.SearchStrategy[Token]) -> st.SearchStrategy[Token]:
    """Hostile durations for a duration, hostile numbers for a number, besides `values`."""
    text = current.strip().strip("'\"")
    if _DURATION.fullmatch(text):
        return st.one_of(st.sampled_from(DURATIONS), values)
    if _NUMBER.fullmatch(text):
        return st.one_of(st.sampled_from(NUMBERS), st.sampled_from(PLAUSIBLE), values)
    return values


def _typed_slots(lines: list[str], slots: Slots, kind: str) -> list[tuple[int, tuple[int, int]]]:
    """Every (line index, span) whose value is a number (or a duration)."""
    pattern = _DURATION if kind == "duration" else _NUMBER
    found = []
    for i, line in enumerate(lines):
        for a, b in slots(line):
            if pattern.fullmatch(line[a:b].strip().strip("'\"")):
                found.append((i, (a, b)))
    return found


@st.composite
def edited(draw: st.DrawFn, text: str, values: st.SearchStrategy[Token], slots: Slots,
           lines_to_insert: st.SearchStrategy[Token] | None = None, max_edits: int = 3
           ) -> tuple[str, list[str]]:
    """`text` with 1 to `max_edits` line edits; the recipe names each."""
    lines = text.split("\n")
    recipe: list[str] = []
    edits = 1 if draw(st.integers(0, 9)) < 6 else draw(st.integers(2, max_edits))
    for _ in range(edits):  # mostly one: a second edit's error often hides the first's
        op = draw(st.sampled_from(EDITS))
        targets = _typed_slots(lines, slots, op) if op in ("number", "duration") else []
        if targets:  # a number or duration of the file, whichever line it is on
            i, (a, b) = targets[draw(st.integers(0, len(targets) - 1))]
            pool = (st.one_of(st.sampled_from(DURATIONS), st.sampled_from(DURATION_BOMBS))
                    if op == "duration" else
                    st.one_of(st.sampled_from(NUMBERS), st.sampled_from(PLAUSIBLE)))
            line, token = lines[i], draw(pool)
            lines[i] = line[:a] + token.text + line[b:]
            recipe.append(f"line {i + 1} {_short(line)}: {_short(line[a:b])} -> {token.shown}")
            continue
        if op in ("number", "duration"):
            op = "value"
        i = draw(st.integers(0, len(lines) - 1))
        line, n = lines[i], i + 1
        spans = slots(line) if op == "value" else []
        if op == "value" and spans:
            a, b = spans[draw(st.integers(0, len(spans) - 1))]
            token = draw(_values_for(line[a:b], values))
            lines[i] = line[:a] + token.text + line[b:]
            recipe.append(f"line {n} {_short(line)}: {_short(line[a:b])} -> {token.shown}")
        elif op in ("value", "line"):
            token = draw(values)
            lines[i] = token.text
            recipe.append(f"line {n} {_short(line)} replaced by {token.shown}")
        elif op == "insert":
            token = draw(lines_to_insert if lines_to_insert is not None else values)
            lines.insert(i, token.text)
            recipe.append(f"inserted before line {n}: {token.shown}")
        elif op == "delete" and len(lines) > 1:
            del lines[i]
            recipe.append(f"deleted line {n} {_short(line)}")
        elif op == "duplicate" or op == "delete":
            lines.insert(i, line)
            recipe.append(f"duplicated line {n} {_short(line)}")
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            recipe.append(f"swapped lines {n} and {j + 1}")
        elif op == "truncate":
            cut = draw(st.integers(0, len(line)))
            lines = [*lines[:i], line[:cut]]
            recipe.append(f"truncated in line {n} after {cut} characters")
        elif op == "long":
            token = draw(LONG)
            lines[i] = line + token.text
            recipe.append(f"line {n} {_short(line)} + {token.shown}")
        else:  # "char"
            ch = draw(st.sampled_from(CHARS))
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + ch + line[at:]
            recipe.append(f"line {n}: {ch!r} inserted at column {at + 1}")
    return "\n".join(lines), recipe


@st.composite
def encoded(draw: st.DrawFn, text: str) -> tuple[bytes, list[str]]:
    """Mostly UTF-8; else a BOM, UTF-16, double-encoded mojibake, or bytes that are not
    UTF-8 (an invalid byte, a lone surrogate, a character cut in half)."""
    how = draw(st.integers(0, 15))
    data = text.encode("utf-8", "surrogatepass")
    if how <= 9:
        return data, []
    if how == 10:
        return b"\xef\xbb\xbf" + data, ["UTF-8 with a BOM"]
    if how == 11:
        return text.encode("utf-16", "surrogatepass"), ["UTF-16"]
    if how == 12:
        mojibake = data.decode("cp1252", "replace").encode("utf-8", "surrogatepass")
        return mojibake, ["UTF-8 read as cp1252 and written again (mojibake)"]
    if how == 13:
        return text.encode("latin-1", "replace"), ["latin-1"]
    bad = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xe2\x82", b"\x80"]))
    at = draw(st.integers(0, len(data)))
    return data[:at] + bad + data[at:], [f"bytes {bad!r} (not UTF-8) at offset {at}"]


def example(name: str, label: str, text_recipe: tuple[str, list[str]],
            data_recipe: tuple[bytes, list[str]], extra: Any = None) -> Example:
    return Example(name, data_recipe[0], (f"seed {label}", *text_recipe[1], *data_recipe[1]),
                   extra)


# --- value slots of each format ----------------------------------------------------------------

_YAML_KEY = re.compile(r"^\s*(?:-\s+)*[^\s#'\"][^#]*?:(?:\s+|$)")
_YAML_ITEM = re.compile(r"^\s*-\s+")


def yaml_slots(line: str) -> list[tuple[int, int]]:
    """The value after `key:` or `- `, else the whole line."""
    m = _YAML_KEY.match(line) or _YAML_ITEM.match(line)
    start = m.end() if m else len(line) - len(line.lstrip())
    value = line[start:]
    if "'" not in value and '"' not in value and " #" in value:  # a comment after it
        value = value[:value.index(" #")]
    return [(start, start + len(value.rstrip()))]


def cell_slots(line: str, sep: str = ",") -> list[tuple[int, int]]:
    """Each cell between separators (CSV commas or markdown pipes)."""
    spans, start = [], 0
    for i, ch in enumerate(line + sep):
        if ch == sep:
            spans.append((start, i))
            start = i + 1
    return spans


def table_slots(line: str) -> list[tuple[int, int]]:
    return [s for s in cell_slots(line, "|") if line[s[0]:s[1]].strip()] or [(0, len(line))]


_CHECKBOX = re.compile(r"^(\s*)([-*+]|\d+\.)\s*(\[[^\]]*\]+)?\s*(.*)$")
_HEADING = re.compile(r"^(#+)\s*(.*)$")


def roadmap_slots(line: str) -> list[tuple[int, int]]:
    """A list item's bullet, checkbox and title; a heading's marks and title."""
    m = _CHECKBOX.match(line)
    if m:
        return [m.span(k) for k in (1, 2, 3, 4) if m.group(k) is not None]
    m = _HEADING.match(line)
    if m:
        return [m.span(1), m.span(2)]
    return [(0, len(line))]


_SAMPLE = re.compile(r'^([A-Za-z_:][\w:]*)(\{.*\})?\s+(\S+)(?:\s+(\S+))?\s*$')
_LABEL_VALUE = re.compile(r'="((?:[^"\\]|\\.)*)"')


def page_slots(line: str) -> list[tuple[int, int]]:
    """A sample's name, each label value, its value and timestamp; a comment's words."""
    m = _SAMPLE.match(line)
    if m:
        spans = [m.span(1), m.span(3)]
        if m.group(2):
            base = m.start(2)
            spans += [(base + v.start(1), base + v.end(1))
                      for v in _LABEL_VALUE.finditer(m.group(2))]
            spans.append(m.span(2))
        if m.group(4):
            spans.append(m.span(4))
        return spans
    return [(w.start(), w.end()) for w in re.finditer(r"\S+", line)] or [(0, 0)]


# --- YAML and JSON on the parsed document --------------------------------------------------

EVIL_OBJECTS: list[tuple[Any, str]] = [
    (math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"), (-1, "-1"), (0, "0"),
    (10**30, "10**30"), (1e308, "1e308"), (5e-324, "5e-324"), (10**400, "10**400"),
    (-(10**400), "-10**400"), (True, "true"), (None, "null"), ("", "''"), ([], "[]"),
    ({}, "{}"), ([1, "a", None], "[1, 'a', null]"), ({"a": {"b": None}}, "{a: {b: null}}"),
    ("99999999999d", "'99999999999d'"), ("0s", "'0s'"), ("-5m", "'-5m'"), ("NaN", "'NaN'"),
    ("😀", "'😀'"), ("\x00", "'\\x00'"), ("x" * 100_000, "'x' * 100,000"),
    ("{{.window}}", "'{{.window}}'"), ('x{le="fast"}', "'x{le=\"fast\"}'"),
    ("2024-13-45T00:00:00Z", "'2024-13-45T00:00:00Z'"),
    ("0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00'"),
    ("9999-12-31T23:59:59-23:59", "'9999-12-31T23:59:59-23:59'"),
    (99.999, "99.999"), (50, "50"), ("7d", "'7d'"), ("90d", "'90d'"), ("1h", "'1h'"),
    ("365d", "'365d'"), ("1M", "'1M'"),
]
_OTHER_TYPE: list[tuple[Any, str]] = [("text", "'text'"), (7, "7"), ([], "[]"), ({}, "{}"),
                                      (None, "null"), (False, "false"), (1.5, "1.5")]
DURATION_OBJECTS = [(t.text, t.shown) for t in DURATIONS]
NUMBER_OBJECTS: list[tuple[Any, str]] = [
    (math.nan, "NaN"), (math.inf, "inf"), (-math.inf, "-inf"), (-1, "-1"), (0, "0"),
    (-0.0, "-0.0"), (100, "100"), (101, "101"), (99.99999999999999, "99.99999999999999"),
    (1e-300, "1e-300"), (5e-324, "5e-324"), (1e308, "1e308"), (10**30, "10**30"),
    (10**400, "10**400"), (2**63, "2**63"), (0.5, "0.5"), (99.999, "99.999"), (True, "true"),
    ("5", "'5'")]


def _objects_for(current: Any) -> st.SearchStrategy[tuple[Any, str]]:
    """Hostile values of the current value's kind (duration, number) or any."""
    if isinstance(current, str) and _DURATION.fullmatch(current.strip()):
        return st.one_of(st.sampled_from(DURATION_OBJECTS), st.sampled_from(EVIL_OBJECTS))
    if isinstance(current, int | float) and not isinstance(current, bool):
        return st.one_of(st.sampled_from(NUMBER_OBJECTS), st.sampled_from(EVIL_OBJECTS))
    return st.sampled_from(EVIL_OBJECTS)


TREE_OPS = ["value", "type", "delete", "rename", "unknown", "duplicate"]


def _paths(node: Any, path: tuple = (), depth: int = 0) -> list[tuple]:
    out = [path]
    if depth > 40:
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k), depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i), depth + 1)
    return out


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path[1:]) or "(document)"


@st.composite
def tree_edits(draw: st.DrawFn, docs: list[Any], max_edits: int = 3) -> tuple[list[Any], list[str]]:
    """`docs` (parsed YAML or JSON documents) with 1 to `max_edits` edits on their tree."""
    docs = copy.deepcopy(docs)
    recipe = []
    edits = 1 if draw(st.integers(0, 9)) < 6 else draw(st.integers(2, max_edits))
    for _ in range(edits):
        paths = [(d, *p) for d, doc in enumerate(docs) for p in _paths(doc)]
        inner = [p for p in paths if len(p) > 1]
        if inner and draw(st.integers(0, 9)) > 0:  # a whole document replaced: rarely
            paths = inner
        path = paths[draw(st.integers(0, len(paths) - 1))]
        op = draw(st.sampled_from(TREE_OPS))
        parent: Any = docs
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        where = f"doc {path[0] + 1} {_dotted(path)}"
        if op == "value" or (op in ("delete", "rename", "unknown", "duplicate")
                             and len(path) == 1):
            value, shown = draw(_objects_for(parent[key]))
            parent[key] = value
            recipe.append(f"{where} = {shown}")
        elif op == "type":
            current = parent[key]
            choices = [c for c in _OTHER_TYPE if type(c[0]) is not type(current)]
            value, shown = draw(st.sampled_from(choices))
            parent[key] = copy.deepcopy(value)
            recipe.append(f"{where} = {shown} (was a {type(current).__name__})")
        elif op == "delete":
            del parent[key]
            recipe.append(f"deleted {where}")
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([f"{key}s", str(key).upper(), f"{key} ", f"x-{key}",
                                        str(key)[:-1] or "_"]))
            parent[new] = parent.pop(key)
            recipe.append(f"renamed {where} to {new!r}")
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
            recipe.append(f"duplicated {where}")
        else:  # an unknown key beside it (or a list item more)
            if isinstance(parent, dict):
                parent["unknownField"] = copy.deepcopy(parent[key])
            else:
                parent.append(copy.deepcopy(parent[key]))
            recipe.append(f"unknown key / extra item beside {where}")
    return docs, recipe


@st.composite
def yaml_structural(draw: st.DrawFn, text: str) -> tuple[str, list[str]]:
    docs, recipe = draw(tree_edits(_yaml_docs(text)))
    try:
        out = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=1 << 30)
    except (yaml.YAMLError, ValueError, RecursionError):
        out = text
    return out, recipe


@cache
def _yaml_docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


@st.composite
def yaml_bombs(draw: st.DrawFn) -> tuple[str, str]:
    """(top-level YAML keys, what they are)."""
    kind = draw(st.sampled_from(["laughs", "recursive", "deep-flow", "deep-block",
                                 "deep-map", "aliases"]))
    if kind == "laughs":
        depth, width = draw(st.integers(2, 9)), draw(st.integers(2, 10))
        lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
        lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * width)}]"
                  for k in range(1, depth)]
        return "\n".join(lines), f"billion laughs: {width}**{depth} = {width**depth:,} nodes"
    if kind == "recursive":
        text = draw(st.sampled_from(["loop: &r [*r]", "loop: &r {self: *r}",
                                     "loop: &r {<<: *r}", "loop: &r [a, [b, *r]]",
                                     "loop: &r {a: [*r, *r]}"]))
        return text, f"recursive alias {text!r}"
    n = draw(st.sampled_from([100, 1_000, 5_000, 50_000]))
    if kind == "deep-flow":
        return "deep: " + "[" * n + "]" * n, f"{n:,}-deep flow sequences"
    if kind == "deep-map":
        return "deep: " + "{a: " * n + "1" + "}" * n, f"{n:,}-deep flow mappings"
    if kind == "deep-block":
        return "deep:\n  " + "- " * n + "x", f"{n:,}-deep block sequences"
    k = draw(st.sampled_from([1_000, 100_000]))
    return (f"anchor: &a [x, y]\naliases: [{', '.join(['*a'] * k)}]",
            f"{k:,} aliases of one anchor")


@st.composite
def bombed(draw: st.DrawFn, text: str) -> tuple[str, list[str]]:
    """A YAML bomb alone, appended to the seed's last document, or as a document more."""
    bomb, what = draw(yaml_bombs())
    where = draw(st.sampled_from(["appended", "alone", "document"]))
    out = {"appended": text.rstrip("\n") + "\n" + bomb + "\n", "alone": bomb + "\n",
           "document": text.rstrip("\n") + "\n---\n" + bomb + "\n"}[where]
    return out, [f"{what} ({where})"]


@st.composite
def yaml_examples(draw: st.DrawFn, name: str, paths: list[Path], extra: Any = None,
                  words: list[Token] | None = None) -> Example:
    """A YAML file: a seed with line edits, tree edits or a bomb, then encoded."""
    label, text = draw(seeds(paths))
    values = YAML_VALUES if words is None else st.one_of(YAML_VALUES, st.sampled_from(words))
    how = draw(st.integers(0, 9))
    if how <= 4:
        made = draw(edited(text, values, yaml_slots))
    elif how <= 7:
        made = draw(yaml_structural(text))
    else:
        made = draw(bombed(text))
    return example(name, label, made, draw(encoded(made[0])),
                   draw(extra) if extra is not None else None)


# --- the inputs ------------------------------------------------------------------------------

SEEDS = Path(__file__).resolve().parent / "seeds"
CONFIG_SEEDS = [REPO / "apollo.example.yaml", SEEDS / "config-sources.yaml"]


def configs() -> st.SearchStrategy[Example]:
    return yaml_examples("apollo.yaml", CONFIG_SEEDS)


SPEC_FORMATS: dict[str, Callable[[], list[Path]]] = {
    "apollo": lambda: seed_files(REPO, "slos/*.yaml", containing="apollo/v1"),
    "sloth": lambda: seed_files(REFERENCE / "sloth", "*.spec.yml", "integration/in-*.yaml",
                                "integration/validate-*/*.yaml", containing="prometheus/v1"),
    "sloth-k8s": lambda: seed_files(REFERENCE / "sloth", "*.spec.yml",
                                    "integration/validate-*/*.yaml",
                                    containing="PrometheusServiceLevel"),
    "openslo": lambda: seed_files(REFERENCE, "openslo/*.yaml", "sloth/*.spec.yml",
                                  "sloth/integration/in-*.yaml", containing="openslo/v1"),
    "pyrra": lambda: seed_files(REFERENCE / "pyrra", "*.spec.yaml", containing="pyrra.dev"),
}


@st.composite
def series_plans(draw: st.DrawFn) -> tuple[int, float, int, int, float, int]:
    """(minutes, requests a minute, outage start, outage length, good share in it, gap
    length): a small series for report and backtest."""
    n = draw(st.sampled_from([181, 1, 2, 61, 1_440]))
    total = draw(st.sampled_from([100.0, 0.0, 1.0, 1e300]))
    start = draw(st.integers(0, n - 1))
    length = draw(st.integers(0, n - start))
    good = draw(st.sampled_from([0.5, 0.0, 1.0, 0.999]))
    gap = draw(st.integers(0, n))
    return n, total, start, length, good, gap


def specs(fmt: str) -> st.SearchStrategy[Example]:
    return yaml_examples("spec.yaml", SPEC_FORMATS[fmt](), extra=series_plans(),
                         words=SPEC_WORDS)


TIMESTAMPS = _tokens(
    str(T0 * 1000), str(T0 + 2 * CENTURY_S), str(T0 - 3 * CENTURY_S), str(-T0), "0", "-60",
    "1e9", "1700000040.0", "1700000040.5", "17000000400", "99999999999", "100000000000",
    "9" * 30, "2023-11-14T22:14:00Z", "2023-11-14T22:14:00+14:00", "2023-11-14T22:14:00+25:00",
    "2023-11-14 22:14", "2023-11-14", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:00Z", "9999-12-31T23:59:00-01:00", "10000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z", "now", "now-1h", "-7d", "١٧٠٠٠٠٠٠٤٠", "2023-W46", "T22:14")
CSV_LINES = [*_tokens("timestamp,good,total", "timestamp,good", "good,total,timestamp",
                      "timestamp,good,total,good", "timestamp;good;total", '"a,b', "\x00",
                      ",,", f"{T0},1,2,3,4", f'"{T0}","1","2"', f"{T0} ,1 , 2"),
             Token(f"{T0 * 1000},1,1", "a millisecond row"),
             Token(f"{T0 + 3 * CENTURY_S},1,1", "a row 300 years later")]


@st.composite
def sli_csvs(draw: st.DrawFn) -> Example:
    """`timestamp,good,total` minutes in one time format, then edits."""
    n = draw(st.integers(1, 30))
    style = draw(st.sampled_from(["seconds", "iso", "offset", "milliseconds", "centuries"]))

    def stamp(i: int) -> str:
        t = T0 + 60 * i
        if style == "iso":
            return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if style == "offset":
            return datetime.fromtimestamp(t, UTC).astimezone(timezone(timedelta(hours=-5))
                                                              ).isoformat()
        if style == "milliseconds":
            return str(t * 1000)
        if style == "centuries" and i == n - 1:
            return str(t + 2 * CENTURY_S)
        return str(t)

    bad = draw(st.integers(0, n))
    rows = [f"{stamp(i)},{100 - (10 if i < bad else 0)},100" for i in range(n)]
    text = "timestamp,good,total\n" + "\n".join(rows) + "\n"
    values = st.one_of(st.sampled_from(TIMESTAMPS), st.sampled_from(NUMBERS),
                       st.sampled_from(STRINGS), LONG)
    made = draw(edited(text, values, cell_slots, st.sampled_from(CSV_LINES)))
    made = (made[0], [f"{n} rows, {style} timestamps", *made[1]])
    return example("sli.csv", "generated", made, draw(encoded(made[0])))


ROADMAP_SEEDS = lambda: seed_files(REPO, "tests/data/documents/roadmap-*.md",  # noqa: E731
                                   "tests/data/roadmap/*.md", "docs/platform/roadmap.md")
ROADMAP_WORDS = [*_tokens(
    "- [ ]", "- [x]", "- [X]", "- [ x]", "- [x ]", "- [[x]]", "- [✓]", "- [-]", "- []",
    "* [x]", "+ [x]", "1. [x]", "-[x]", "-\t[x]", "[x]", "[ ]", "[x", "#", "##", "###",
    "#######", "## Phase 1: A ✅", "## Phase 99999999999999999999: x", "## Phase -1:",
    "## Phase 1.5", "## ✅", "## 🔄 📋 ✅", "### Phase 1: Infrastructure ✅", "```", "````",
    "~~~", "<!--", "-->", "\t- [x] tab", "(target: 99999999-99-99)", "(target: Q5 2024)",
    "(target: )", "|", "> - [x] quote", "---", "===", "✅", "🔄", "📋"),
    Token("    " * 200 + "- [x] deep", "'    ' * 200 + '- [x] deep'"),
    Token("\n".join("  " * i + "- [ ] level" for i in range(500)), "500 nested items")]


@st.composite
def roadmaps(draw: st.DrawFn) -> Example:
    label, text = draw(seeds(ROADMAP_SEEDS()))
    values = st.one_of(st.sampled_from(ROADMAP_WORDS), st.sampled_from(STRINGS), LONG)
    made = draw(edited(text, values, roadmap_slots, st.sampled_from(ROADMAP_WORDS)))
    return example("roadmap.md", label, made, draw(encoded(made[0])))


MONEY = _tokens(
    "$12,450", "$-5", "-$5", "$1e309", "$1e308", "1e309", "$NaN", "NaN", "inf", "$Infinity",
    "$9999999999999999999999999999", "$0.001", "$0.005", "$1,2,3", "12.450,00 €", "€1.234,56",
    "¥1000", "£", "$", "USD 5", "5 USD", "(1,200)", "$ 1 200", "**$1**", "~~$5~~", "`$5`",
    "$5 / month", "—", "-", "N/A", "150%", "-5%", "NaN%", "1e309%", "%", "100%", "0%",
    "15% (x)", "15%%", "Minimal", "1e-400%", "15.5.5%", "USD", "usd", "XXX", "US$", "💵",
    "**Total**", "Total", "total")
COST_LINES = _tokens(
    "| Component | Monthly Cost |", "|---|---|", "| a | b | c |", "| a |", "|", "||||",
    "| **Total** | **$1** |", "| Total | $99,999,999 |", "```", "````", "<!--",
    "component,monthly_cost", "component,monthly_cost,currency", "component", ",,,",
    "Total,1", "total,-1", '"a', "\x00")
COST_SEEDS = lambda: seed_files(REPO, "tests/data/costs/*.csv",  # noqa: E731
                                "tests/data/costs/*.json", "docs/platform/costs.md",
                                "tests/data/documents/costs-*.md")
JSON_FILES = _tokens(
    "null", "[]", '"x"', "7", "{}", '{"code": 500, "message": "boom"}', '{"code": "200"}',
    '{"data": {}}', '{"data": [[1, 2]]}', '{"data": ["x"]}', '{"data": [7]}',
    '{"data": [{"a": []}]}', '{"data": [{"a": {"totalCost": "1"}}]}',
    '{"data": [{"a": {"totalCost": NaN}}]}', '{"data": [{"a": {"totalCost": 1e999}}]}',
    '{"data": [{"a": {"totalCost": 1, "totalEfficiency": Infinity}}]}',
    '{"data": [{"a": {"totalCost": ' + "9" * 400 + "}}]}",
    '{"data": [{"a": {"totalCost": 1, "start": "0001-01-01T00:00:00+01:00"}}]}',
    '{"data": [{"a": {"totalCost": 1, "start": "9999-12-31T23:59:59-23:59"}}]}',
    '{"data": [{"a": {"totalCost": 1, "start": 5}}]}', '{"data": [null, {}]}')


@st.composite
def json_bombs(draw: st.DrawFn) -> tuple[str, list[str]]:
    n = draw(st.sampled_from([1_000, 100_000]))
    shape = draw(st.sampled_from(["[", '{"a":', '{"data": [']))
    close = {"[": "]", '{"a":': "}", '{"data": [': "]}"}[shape]
    return shape * n + "1" + close * n, [f"{shape!r} nested {n:,} deep"]


@st.composite
def cost_files(draw: st.DrawFn) -> Example:
    label, text = draw(seeds(COST_SEEDS()))
    suffix = Path(label).suffix
    how = draw(st.integers(0, 9))
    if suffix == ".json" and how >= 4:
        if how <= 7:
            docs, recipe = draw(tree_edits([json.loads(text)]))
            made = (json.dumps(docs[0]), recipe)
        elif how == 8:
            token = draw(st.sampled_from(JSON_FILES))
            made = (token.text, [f"replaced by {token.shown}"])
        else:
            made = draw(json_bombs())
    else:
        slots = cell_slots if suffix == ".csv" else (
            table_slots if suffix == ".md" else yaml_slots)
        values = st.one_of(st.sampled_from(MONEY), st.sampled_from(NUMBERS),
                           st.sampled_from(STRINGS), LONG)
        made = draw(edited(text, values, slots, st.sampled_from(COST_LINES)))
    return example(f"costs{suffix}", label, made, draw(encoded(made[0])))


PAGE_SEEDS = lambda: seed_files(REPO, "tests/data/pages/*.prom",  # noqa: E731
                                "tests/data/pages/clients/*.prom")
PAGE_VALUES = [*_tokens(
    "NaN", "+Inf", "-Inf", "Inf", "nan", "1e309", "-1", "-1e308", "1e308", "0x1f", "1_000",
    "", "five", "1 2 3", "1 99999999999999999999", "1 -1", "1 1.5", 'le="fast"', "le",
    "fast", "+Inf", "NaN", "-Inf", "1e309", "0x1", "", "counter", "gauge", "histogram",
    "summary", "untyped", "bogus", "HELP", "TYPE", "EOF", "http_requests_total",
    "http_request_duration_seconds_bucket", "process_cpu_seconds_total"),
    Token("9" * 400, "'9' * 400")]
PAGE_LINES = [*_tokens(
    "# TYPE x", "# TYPE x bogus", "# TYPE x counter extra", "# TYPE", "#TYPE x counter",
    "# TYPE http_requests_total gauge", "# TYPE http_requests_total histogram",
    "# TYPE http_request_duration_seconds counter", "# HELP", "# HELP x \\q", "# EOF",
    "x{", 'x{a="b"', "x{a=b} 1", '{a="b"} 1', 'x{a="\\x"} 1', 'x{a="b",a="c"} 1', "x{,} 1",
    'x 1 # {a="b"} 1', 'x{le="fast"} 1', "x_bucket 1", "9x 1", "x\t1", "x  1", "x 1 1 1",
    'http_requests_total{job="api-gateway",code="500"} NaN',
    'http_requests_total{job="api-gateway",code="200"} +Inf',
    'http_requests_total{job="api-gateway",code="200"} -1',
    'http_request_duration_seconds_bucket{le="fast"} 5',
    "http_request_duration_seconds_bucket 5",
    'http_request_duration_seconds_bucket{le="NaN"} 5',
    'http_request_duration_seconds_bucket{le="0.1"} NaN',
    'http_request_duration_seconds_bucket{le="+Inf"} 1e309',
    'process_cpu_seconds_total NaN', "process_resident_memory_bytes -Inf"),
    Token('big{l="' + "x" * 1_048_577 + '"} 1', "a sample with a 1 MB label value"),
    Token("x" * 1_048_577 + " 1", "a 1 MB metric name")]
SCRAPE_STEPS = [60.0, 15.0, 0.0, 1.0, 301.0, -5.0, 0.001]


@st.composite
def pages(draw: st.DrawFn) -> Example:
    """A page with edits; `extra` is the scrape plan: (seconds after the previous scrape,
    whether the edited page or its seed is served) for each scrape after the first."""
    label, text = draw(seeds(PAGE_SEEDS()))
    values = st.one_of(st.sampled_from(PAGE_VALUES), st.sampled_from(STRINGS), LONG)
    made = draw(edited(text, values, page_slots, st.sampled_from(PAGE_LINES)))
    if draw(st.integers(0, 9)) == 0:  # a duplicate series block
        made = (made[0] + "\n" + made[0], [*made[1], "the whole page twice"])
    kind = draw(st.sampled_from(["page.prom", "page.openmetrics"]))
    steps = draw(st.lists(st.tuples(st.sampled_from(SCRAPE_STEPS), st.booleans()),
                          min_size=1, max_size=4))
    plan = (("seed", _read_seed(label)), tuple(steps))
    return example(kind, label, made, draw(encoded(made[0])), plan)


def _read_seed(label: str) -> str:
    return _read(REPO / label)
