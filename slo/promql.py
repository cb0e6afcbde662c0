"""PromQL text as Sloth and the Prometheus clients write it: numbers, durations, selectors, SLIs.

Exported rules are compared with Sloth's output byte for byte in spirit, so every number is
printed the way Go prints it (`go_float`: 14.4, 6 not 6.0, 1e-05), durations the way
Prometheus prints them (`window_str`: 28d -> `4w`), label filters the way
`model.LabelSet.String()` does, and histogram bounds the way the client library that wrote
the series did (`bucket_bound`), because an `le` matcher only matches the exact string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

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


# --- histogram selectors ---------------------------------------------------------------------

_METRIC_NAME = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*")
_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"""
    r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*""",
    re.DOTALL,
)


def split_selector(selector: str, *, where: str = "") -> tuple[str, list[str]]:
    """`name{a="x", b=~'y'}` -> ("name", ['a="x"', "b=~'y'"]); raises SpecError if not one."""
    def fail(why: str) -> SpecError:
        return SpecError(f"{where}expected a metric name with an optional {{label matchers}} "
                         f"selector, got {selector!r} ({why})", field="sli.metric")

    head = _METRIC_NAME.match(selector)
    if not head:
        raise fail("no metric name")
    name, pos, matchers = head.group(1), head.end(), []
    if pos == len(selector):
        return name, matchers
    if selector[pos] != "{":
        raise fail(f"unexpected {selector[pos:]!r}")
    pos += 1
    while True:
        close = re.compile(r"\s*\}\s*$").match(selector, pos)
        if close:
            return name, matchers
        m = _MATCHER.match(selector, pos)
        if not m:
            raise fail(f"cannot read a matcher at {selector[pos:]!r}")
        matchers.append(f"{m.group(1)}{m.group(2)}{m.group(3)}")
        if m.group(1) == "le":
            raise fail("the `le` matcher is chosen from the threshold")
        pos = m.end()
        if selector.startswith(",", pos):
            pos += 1
        elif not re.compile(r"\s*\}").match(selector, pos):
            raise fail(f"expected ',' or '}}' at {selector[pos:]!r}")


def counter_increase(selector: str, *, where: str = "") -> str:
    """`sum(increase(SELECTOR[{{.window}}]))` for a query that returns raw counters.

    Only a plain selector can be turned into an increase safely (an expression over counters
    would need a subquery, which mishandles counter resets), so anything else is refused.
    """
    try:
        name, matchers = split_selector(selector.strip(), where=where)
    except SpecError as exc:
        raise SpecError(f"{exc.reason}; a counter query must be one series selector",
                        field="sli") from None
    return f"sum(increase({_series(name, matchers)}[{{{{.window}}}}]))"


def _series(name: str, matchers: list[str]) -> str:
    return f"{name}{{{','.join(matchers)}}}" if matchers else name


def latency_queries(sli: LatencyThreshold, *, where: str = "") -> tuple[str, str]:
    """(errors, total) queries with `{{.window}}` for a histogram latency SLI.

    errors = requests slower than the threshold = all (`_count`) - those in the `le` bucket.
    """
    if not (math.isfinite(sli.threshold_s) and sli.threshold_s > 0):
        raise SpecError(f"{where}the latency threshold must be a positive number of seconds, "
                        f"got {sli.threshold_s!r}", field="sli.threshold")
    name, matchers = split_selector(sli.metric, where=where)
    count = _series(f"{name}_count", matchers)
    bucket = _series(f"{name}_bucket", [*matchers, f'le="{bucket_bound(sli.threshold_s)}"'])
    total = f"sum(rate({count}[{{{{.window}}}}]))"
    errors = f"{total} - sum(rate({bucket}[{{{{.window}}}}]))"
    return errors, total
