"""PromQL text as Sloth and the Prometheus clients write it: numbers, durations, selectors, SLIs.

Exported rules are compared with Sloth's output byte for byte in spirit, so every number is
printed the way Go prints it (`go_float`: 14.4, 6 not 6.0, 1e-05), durations the way
Prometheus prints them (`window_str`: 28d -> `4w`), label filters the way
`model.LabelSet.String()` does, and histogram bounds the way the client library that wrote
the series did (`bucket_bound`), because an `le` matcher only matches the exact string;
a bucket value the spec wrote itself (Pyrra's `le="1"`) is copied as written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from slo.durations import format_duration
from slo.errors import SpecError
from slo.model import (
    SLI,
    EventRatio,
    LatencyThreshold,
    RawErrorRatio,
    RequestRatio,
    Threshold,
)

# --- numbers ---------------------------------------------------------------------------------


def _digits(x: float) -> tuple[str, int]:
    """Shortest round-trip digits of |x| and its decimal exponent (x = 0.DIGITS × 10^exp)."""
    _, digits, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    text = "".join(map(str, digits))
    return text, len(text) + int(exponent)


def go_float(x: float) -> str:
    """Go's `%v`/`%g` of a float64 (shortest digits, exponent below 1e-4 and from 1e6 on).

    Python's repr switches to exponents only from 1e16, so 1e6 would differ ("1000000.0" vs
    Go's "1e+06"); Sloth prints objectives and burn factors with `%g`.
    """
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    digits, point = _digits(x)
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + go_fixed(abs(x))


def go_fixed(x: float) -> str:
    """Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent (99.9, 95)."""
    if math.isnan(x) or math.isinf(x):
        return go_float(x)
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    digits, point = _digits(x)
    sign = "-" if x < 0 else ""
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def bucket_bound(bound: float) -> str:
    """A histogram `le` label value as prometheus_client writes it (`floatToGoString`).

    0.012 -> "0.012", 1.0 -> "1.0", 2500000.0 -> "2.5e+06", inf -> "+Inf". The demo fleet
    exposes its histograms with that client; Prometheus 3 normalises scraped `le` values to
    the same text. (Go's client_golang writes whole numbers without ".0": "1", not "1.0".)
    """
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    if math.isnan(bound):
        return "NaN"
    s = repr(float(bound))
    dot = s.find(".")
    if bound > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


# --- durations and labels --------------------------------------------------------------------



def window_str(window: timedelta) -> str:
    """Prometheus's `model.Duration.String()`: 5m, 1h, 1d, 4w (28d), 1w (7d), 1y (365d)."""
    return format_duration(window)


def go_quote(value: str) -> str:
    """Go's `strconv.Quote`, which Prometheus uses for label values in selectors."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable() and ch != " ":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v"}

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def label_filter(labels: Mapping[str, str]) -> str:
    """`{a="x", b="y"}`, names sorted, as Prometheus's `LabelSet.String()` writes it."""
    return "{" + ", ".join(f"{k}={go_quote(labels[k])}" for k in sorted(labels)) + "}"


# --- query templates -------------------------------------------------------------------------

# Sloth renders queries as Go templates with one variable; its validator accepts
# `{{.window}}` and `{{ .window }}` (any spaces), and so do we.
_WINDOW_VAR = re.compile(r"\{\{ *\.window *\}\}")
_ANY_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def render_window(query: str, window: timedelta, *, where: str = "") -> str:
    """Replace Sloth's `{{.window}}` placeholder; any other `{{…}}` action is an error."""
    rendered = _WINDOW_VAR.sub(window_str(window), query)
    leftover = _ANY_ACTION.search(rendered)
    if leftover:
        raise SpecError(f"{where}unknown template action {leftover.group(0)!r} in query "
                        f"(only {{{{.window}}}} is known)", field="sli")
    return rendered


# The SLI error-ratio expressions, character for character as Sloth writes them.
EVENTS_TEMPLATE = "({errors})\n/\n({total})\n"
RAW_TEMPLATE = "({ratio})"
# Sloth's OpenSLO loader turns ratioMetrics good/total into this raw error-ratio query.
GOOD_TOTAL_TEMPLATE = """
  1 - (
    (
      {good}
    )
    /
    (
      {total}
    )
  )
"""


def sli_error_query(sli: SLI, window: timedelta, *, slo_id: str = "") -> str:
    """The error ratio of `sli` over `window` in PromQL, in Sloth's text form.

    `RequestRatio` with an error query renders as Sloth's `events` SLI, with a good query as
    its OpenSLO `1 - (good/total)` raw form (counter queries first become
    `sum(increase(…[window]))`); `RawErrorRatio` as `raw`; `LatencyThreshold` as
    an events SLI over the histogram (errors = all - the `le` bucket at the threshold).
    """
    where = f"SLO {slo_id!r}: " if slo_id else ""
    if isinstance(sli, RequestRatio):
        total, errors, good = sli.total_query, sli.error_query, sli.good_query
        if sli.counter:
            total, errors, good = (None if q is None else counter_increase(q, where=where)
                                   for q in (total, errors, good))
        if errors is not None:
            text = EVENTS_TEMPLATE.format(errors=errors, total=total)
        elif good is not None:
            text = RAW_TEMPLATE.format(ratio=GOOD_TOTAL_TEMPLATE.format(good=good, total=total))
        else:
            raise SpecError(f"{where}a request ratio needs an error or a good query",
                            field="sli")
    elif isinstance(sli, RawErrorRatio):
        text = RAW_TEMPLATE.format(ratio=sli.error_ratio_query)
    elif isinstance(sli, LatencyThreshold):
        errors, total = latency_queries(sli, where=where)
        text = EVENTS_TEMPLATE.format(errors=errors, total=total)
    elif isinstance(sli, EventRatio):
        raise SpecError(f"{where}its SLI counts ClickHouse events (table {sli.table!r}), which "
                        "Prometheus cannot query; no rules can be written for it", field="sli")
    elif isinstance(sli, Threshold):
        raise SpecError(f"{where}a threshold SLI is judged per time slice, which Sloth-style "
                        "error-ratio rules cannot express", field="sli")
    else:  # pragma: no cover - the SLI union is closed
        raise SpecError(f"{where}unsupported SLI {type(sli).__name__}", field="sli")
    return render_window(text, window, where=where)


# --- selectors -------------------------------------------------------------------------------
#
# The one reader of PromQL vector selectors in Apollo: spec parsing, rule export and the
# page SLIs all use it, so a matcher means the same everywhere, and the same as in Prometheus.

MatchOp = Literal["=", "!=", "=~", "!~"]
MATCH_OPS: tuple[MatchOp, ...] = ("=~", "!~", "!=", "=")  # longest first, as they are read
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_BLANKS = re.compile(r"[ \t\r\n]*")
_PLAIN = {'"': re.compile(r'[^"\\\n]+'), "'": re.compile(r"[^'\\\n]+")}
_CHAR_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                 "\\": "\\"}
_OCTAL = re.compile(r"[0-7]{3}")
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}  # \xHH is one byte; \u and \U a code point
_HEX = {esc: re.compile(f"[0-9a-fA-F]{{{n}}}") for esc, n in _HEX_DIGITS.items()}


@dataclass(frozen=True)
class Matcher:
    """`label op value`, one label matcher of a selector.

    `value` is the text with its escapes undone. A regex matches the whole label value, as
    PromQL anchors it (`=~"a|b"` matches "a" and "b", not "ab"); it is run by Python's `re`,
    which reads RE2's syntax except a few rarities (`\\pL`, `[[:alpha:]]`) and whose `\\d`,
    `\\w` and `\\s` also accept non-ASCII digits, letters and spaces. `written` is the value
    as the selector spelled it, quotes included, so a parsed selector prints back unchanged;
    a matcher made in code prints its value with Go's quoting.
    """

    label: str
    op: MatchOp
    value: str
    written: str = field(default="", compare=False, repr=False)
    _regex: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not LABEL_NAME.fullmatch(self.label):
            raise SpecError(f"{self.label!r} is not a label name", field="selector")
        if self.op not in MATCH_OPS:
            raise SpecError(f"{self.op!r} is not a matcher operator (=, !=, =~ or !~)",
                            field="selector")
        if self.op in ("=~", "!~"):
            try:
                regex = re.compile(self.value)
            except re.error as exc:
                raise SpecError(f"label {self.label!r}: {self.value!r} is not a regular "
                                f"expression ({exc})", field="selector") from None
            object.__setattr__(self, "_regex", regex)

    def matches(self, value: str) -> bool:
        """Whether a label with `value` is selected ("" stands for a missing label)."""
        if self._regex is None:
            return (value == self.value) == (self.op == "=")
        return (self._regex.fullmatch(value) is not None) == (self.op == "=~")

    def __str__(self) -> str:
        return f"{self.label}{self.op}{self.written or go_quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A PromQL vector selector, `name{label op "value", …}`.

    `name` is "" when the selector names its metrics by `__name__` matchers only. `str()`
    prints it back: matchers as written, joined by "," (`name` alone without matchers).
    """

    name: str = ""
    matchers: tuple[Matcher, ...] = ()

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        """Whether the series `name{labels}` is selected; a missing label counts as ""."""
        if self.name and name != self.name:
            return False
        return all(m.matches(name if m.label == "__name__" else labels.get(m.label, ""))
                   for m in self.matchers)

    def value_of(self, label: str) -> str | None:
        """The value an equality matcher requires of `label`, or None."""
        return next((m.value for m in self.matchers if m.label == label and m.op == "="), None)

    def renamed(self, name: str, *extra: Matcher) -> Selector:
        """The same matchers (and `extra` after them) on the metric `name`."""
        return Selector(name, (*self.matchers, *extra))

    def __str__(self) -> str:
        body = ",".join(map(str, self.matchers))
        return f"{self.name}{{{body}}}" if body or not self.name else self.name


class _Unreadable(ValueError):
    """What is wrong with a selector text, and where (0-based column)."""

    def __init__(self, why: str, at: int) -> None:
        super().__init__(f"{why} (column {at + 1})")


def parse_selector(text: str, *, field: str = "selector", where: str = "") -> Selector:
    """Read a PromQL vector selector as Prometheus reads it.

    `name{label op "value", …}`: ops `=`, `!=`, `=~`, `!~`; values in double or single quotes
    with Go's escapes (`\\\\ \\" \\' \\n \\t \\a \\b \\f \\r \\v \\xHH \\uHHHH \\UHHHHHHHH`
    and three-digit octal `\\NNN`; a quote is escaped only inside its own kind of quotes),
    or in backticks, raw; blanks anywhere between tokens, a trailing comma allowed, any other
    Unicode kept as it is. The name may be left out when a matcher (such as `__name__`) does
    not match the empty string, as PromQL requires. Raises SpecError naming `field`, what was
    expected and the column.
    """
    try:
        return _SelectorReader(text).read()
    except _Unreadable as exc:
        raise SpecError(f"{where}cannot read {text!r}: {exc}", field=field) from None


class _SelectorReader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def read(self) -> Selector:
        self._skip()
        name = self._take(METRIC_NAME)
        self._skip()
        if self._at("") and name:
            return Selector(name)
        if not self._at("{"):
            raise self._fail("expected '{' after the metric name" if name
                             else "expected a metric name or '{'")
        self.pos += 1
        matchers: list[Matcher] = []
        self._skip()
        while not self._at("}"):
            matchers.append(self._matcher())
            self._skip()
            if self._at(","):
                self.pos += 1
                self._skip()
            elif not self._at("}"):
                raise self._fail("expected ',' or '}' after a matcher")
        self.pos += 1
        self._skip()
        if not self._at(""):
            raise self._fail(f"unexpected {self.text[self.pos:]!r} after the selector")
        if name and any(m.label == "__name__" for m in matchers):
            raise _Unreadable("the metric name is given twice, before the braces and by "
                              "__name__", 0)
        if not name and all(m.matches("") for m in matchers):
            raise _Unreadable("without a metric name, a selector needs a matcher that does "
                              "not match the empty string", 0)
        return Selector(name, tuple(matchers))

    def _matcher(self) -> Matcher:
        label = self._take(LABEL_NAME)
        if not label:
            raise self._fail("expected a label name")
        self._skip()
        op = next((o for o in MATCH_OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self._fail(f"expected =, !=, =~ or !~ after label {label!r}")
        self.pos += len(op)
        self._skip()
        start = self.pos
        value = self._string()
        try:
            return Matcher(label, op, value, self.text[start:self.pos])
        except SpecError as exc:
            raise _Unreadable(exc.reason, start) from None

    def _string(self) -> str:
        """A quoted value with its escapes undone; `pos` moves past the closing quote."""
        text, start = self.text, self.pos
        quote = text[start:start + 1]
        if quote == "`":
            end = text.find("`", start + 1)
            if end < 0:
                raise _Unreadable("unterminated raw string", start)
            self.pos = end + 1
            return text[start + 1:end]
        if quote not in _PLAIN:
            raise self._fail("expected a quoted value (\"…\", '…' or `…`)")
        out, i = bytearray(), start + 1
        while True:
            plain = _PLAIN[quote].match(text, i)
            if plain:
                out += plain.group().encode("utf-8", "surrogatepass")
                i = plain.end()
            if i >= len(text):
                raise _Unreadable("unterminated quoted string", start)
            if text[i] == quote:
                break
            if text[i] == "\n":
                raise _Unreadable("a line break inside a quoted string (write \\n)", i)
            i = self._escape(out, i, quote)
        self.pos = i + 1
        try:
            return out.decode("utf-8")
        except UnicodeDecodeError:
            raise _Unreadable("its escapes spell bytes that are not UTF-8", start) from None

    def _escape(self, out: bytearray, i: int, quote: str) -> int:
        """Append the escape at `text[i]` (a backslash) to `out`; returns where it ends."""
        esc = self.text[i + 1:i + 2]
        if not esc:
            raise _Unreadable("unterminated escape sequence", i)
        if esc in _CHAR_ESCAPES or esc == quote:
            out += _CHAR_ESCAPES.get(esc, esc).encode()
            return i + 2
        if esc in "01234567":
            digits = _OCTAL.match(self.text, i + 1)
            if not digits or int(digits.group(), 8) > 255:
                raise _Unreadable("an octal escape is three digits 0-7, at most \\377", i)
            out.append(int(digits.group(), 8))
            return digits.end()
        if esc in _HEX:
            digits = _HEX[esc].match(self.text, i + 2)
            if not digits:
                raise _Unreadable(f"\\{esc} needs {_HEX_DIGITS[esc]} hex digits", i)
            code = int(digits.group(), 16)
            if esc == "x":
                out.append(code)
            elif code > 0x10FFFF or 0xD800 <= code < 0xE000:
                raise _Unreadable(f"\\{esc}{digits.group()} is not a Unicode code point", i)
            else:
                out += chr(code).encode()
            return digits.end()
        raise _Unreadable(f"unknown escape sequence \\{esc}", i)

    def _skip(self) -> None:
        self.pos = _BLANKS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def _take(self, pattern: re.Pattern[str]) -> str:
        found = pattern.match(self.text, self.pos)
        if not found:
            return ""
        self.pos = found.end()
        return found.group()

    def _at(self, token: str) -> bool:
        """At `token`, or at the end for ""."""
        return self.text.startswith(token, self.pos) if token else self.pos >= len(self.text)

    def _fail(self, why: str) -> _Unreadable:
        return _Unreadable(why, self.pos)


# --- histogram and counter selectors ---------------------------------------------------------


def split_selector(selector: str, *, where: str = "") -> Selector:
    """A histogram's selector: a metric name, matchers, and no `le` (the threshold picks it).

    `name{a="x", b=~'y'}` -> Selector("name", (a="x", b=~'y')); raises SpecError otherwise.
    """
    def fail(why: str) -> SpecError:
        return SpecError(f"{where}expected a metric name with an optional {{label matchers}} "
                         f"selector, got {selector!r} ({why})", field="sli.metric")

    try:
        parsed = _SelectorReader(selector).read()
    except _Unreadable as exc:
        raise fail(str(exc)) from None
    if not parsed.name:
        raise fail("no metric name")
    if any(m.label == "le" for m in parsed.matchers):
        raise fail("the `le` matcher is chosen from the threshold")
    return parsed


def counter_increase(selector: str, *, where: str = "") -> str:
    """`sum(increase(SELECTOR[{{.window}}]))` for a query that returns raw counters.

    Only a plain selector can be turned into an increase safely (an expression over counters
    would need a subquery, which mishandles counter resets), so anything else is refused.
    """
    try:
        parsed = parse_selector(selector.strip(), field="sli", where=where)
    except SpecError as exc:
        raise SpecError(f"{exc.reason}; a counter query must be one series selector",
                        field="sli") from None
    return f"sum(increase({parsed}[{{{{.window}}}}]))"


def bucket_matcher(sli: LatencyThreshold) -> Matcher:
    """The `le` matcher of the threshold's bucket: the value the spec wrote if it wrote one
    (`le="1"` stays "1"), else the threshold as prometheus_client prints it (`bucket_bound`)."""
    return Matcher("le", "=", sli.le if sli.le is not None else bucket_bound(sli.threshold_s))


def latency_queries(sli: LatencyThreshold, *, where: str = "") -> tuple[str, str]:
    """(errors, total) queries with `{{.window}}` for a histogram latency SLI.

    errors = requests slower than the threshold = all (`_count`) - those in the `le` bucket.
    """
    if not (math.isfinite(sli.threshold_s) and sli.threshold_s > 0):
        raise SpecError(f"{where}the latency threshold must be a positive number of seconds, "
                        f"got {sli.threshold_s!r}", field="sli.threshold")
    base = split_selector(sli.metric, where=where)
    count = base.renamed(f"{base.name}_count")
    bucket = base.renamed(f"{base.name}_bucket", bucket_matcher(sli))
    total = f"sum(rate({count}[{{{{.window}}}}]))"
    errors = f"{total} - sum(rate({bucket}[{{{{.window}}}}]))"
    return errors, total
