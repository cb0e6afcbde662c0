"""What every spec format shares: located fields, a list of errors, names, labels, durations.

A `Field` is a value of a YAML document with its path, so each check can say
`file:line: field: what was expected` without the format modules passing lines around.
Checks record errors in the shared `Report` and go on, so one run reports them all.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import yaml

from slo.durations import parse_duration
from slo.errors import SpecError
from slo.model import Comparison
from slo.promql import LABEL_NAME, Selector, parse_selector
from slo.promql_check import promql_error
from slo.yamlpos import Path, YamlDocument

COMPARISONS: tuple[Comparison, ...] = ("lt", "lte", "gt", "gte")

# Sloth's name rule (also used for services): alphanumeric ends, `-`, `_`, `.` inside.
_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$")
_PROM_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
# The one template action Sloth (and `slo.promql.render_window`) fills in.
WINDOW_PLACEHOLDER = re.compile(r"{{ *\.window *}}")
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")
MINUTE = timedelta(minutes=1)


class _Missing:
    """A field that is absent (or null) in the document."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Report:
    """The errors of one text, in the order found; `load_slos` sorts them by line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[SpecError] = []

    def add(self, msg: str, *, line: int | None, field: str = "") -> None:
        """Record once: an object two SLOs share (an SLI, a policy) is checked twice."""
        if not any((e.line, e.field, e.reason) == (line, field, msg) for e in self.errors):
            self.errors.append(SpecError(msg, path=self.path, line=line, field=field))


def field_name(keys: Iterable[str | int]) -> str:
    """`("slos", 1, "objective")` -> `slos[1].objective`."""
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def describe(value: Any) -> str:
    """A value as a message shows it: numbers plainly, text quoted, containers by kind."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Field:
    """A value at `keys` in `doc`; `base` leading keys (an object's place in a list) are not
    shown in field names, since the line already says where the object is."""

    __slots__ = ("base", "doc", "keys", "report", "value")

    def __init__(self, value: Any, *, doc: YamlDocument, report: Report, keys: Path = (),
                 base: int = 0) -> None:
        self.value = MISSING if value is None else value
        self.doc, self.report, self.keys, self.base = doc, report, keys, base

    # --- where -------------------------------------------------------------------------------

    @property
    def line(self) -> int:
        return self.doc.line_of(self.keys)

    @property
    def name(self) -> str:
        return field_name(self.keys[self.base:])

    def fail(self, msg: str) -> None:
        """Record an error about this field (never raises: checks go on)."""
        self.report.add(msg, line=self.line, field=self.name)

    # --- navigation ----------------------------------------------------------------------------

    @property
    def missing(self) -> bool:
        return self.value is MISSING

    def __getitem__(self, key: str | int) -> Field:
        value: Any = MISSING
        if isinstance(self.value, dict) and isinstance(key, str):
            value = self.value.get(key, MISSING)
        elif isinstance(self.value, list) and isinstance(key, int) and key < len(self.value):
            value = self.value[key]
        return Field(value, doc=self.doc, report=self.report, keys=(*self.keys, key),
                     base=self.base)

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    # --- typed reads: each records an error and returns None when the value does not fit ----

    def mapping(self, *, required: bool = False) -> Field | None:
        if self.missing:
            if required:
                self.fail("is required")
            return None
        if not isinstance(self.value, dict):
            self.fail(f"must be a mapping, got {describe(self.value)}")
            return None
        return self

    def items(self, *, required: bool = False) -> list[Field]:
        """The fields of a list (an error and [] if it is not one)."""
        if self.missing:
            if required:
                self.fail("is required")
            return []
        if not isinstance(self.value, list):
            self.fail(f"must be a list, got {describe(self.value)}")
            return []
        return [self[i] for i in range(len(self.value))]

    def entries(self) -> list[tuple[str, Field]]:
        """Key and field of each entry of a mapping (none if it is not one)."""
        if self.mapping() is None:
            return []
        return [(str(k), Field(v, doc=self.doc, report=self.report, keys=(*self.keys, str(k)),
                               base=self.base)) for k, v in self.value.items()]

    def text(self, *, required: bool = False, nonempty: bool = False) -> str | None:
        if self.missing:
            if required:
                self.fail("is required")
            return None
        if not isinstance(self.value, str):
            self.fail(f"must be a string, got {describe(self.value)}")
            return None
        if nonempty and not self.value.strip():
            self.fail("must not be empty")
            return None
        return self.value

    def number(self, *, required: bool = False) -> float | None:
        """A finite number: NaN and infinities (`.nan`, `.inf`) are refused, since every
        comparison with NaN is false and the checks after this one would pass it."""
        if self.missing:
            if required:
                self.fail("is required")
            return None
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            self.fail(f"must be a number, got {describe(self.value)}")
            return None
        return finite(self, self.value)

    def boolean(self, *, default: bool = False) -> bool:
        if self.missing:
            return default
        if not isinstance(self.value, bool):
            self.fail(f"must be true or false, got {describe(self.value)}")
            return default
        return self.value

    def choice(self, options: Iterable[str], *, required: bool = False) -> str | None:
        value = self.text(required=required)
        options = tuple(options)
        if value is not None and value not in options:
            self.fail(f"must be one of {', '.join(options)}, got {value!r}")
            return None
        return value

    def name_text(self, *, required: bool = True) -> str | None:
        """A name as Sloth accepts it (used in ids and rule labels)."""
        value = self.text(required=required, nonempty=required)
        if value is not None and value and not _NAME.match(value):
            self.fail("must be 2 or more letters, digits, '-', '_' or '.', starting and "
                      f"ending with a letter or digit, got {value!r}")
            return None
        return value

    def check_keys(self, known: Iterable[str]) -> None:
        """Strict formats: every key must be known (with a hint for typos)."""
        known = tuple(known)
        for key, child in self.entries():
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                child.fail(f"unknown field{hint}")


def finite(field: Field, value: float | str) -> float | None:
    """`value` (a number, or the text of one) as a finite float; else an error on `field`."""
    try:
        number = float(value)
    except OverflowError:  # an int past the floats
        number = math.inf
    if not math.isfinite(number):
        shown = "a number that large" if isinstance(value, int) else repr(value)
        field.fail(f"must be a finite number, got {shown}")
        return None
    return number


def expect_kind(obj: Field, kind: str, why: str) -> bool:
    """Whether the object's `kind` is `kind`; if not, an error ending with `why`."""
    field = obj["kind"]
    if field.value == kind:
        return True
    got = "nothing" if field.missing else describe(field.value)
    field.fail(f"must be {kind} {why}, got {got}")
    return False


def comparison(field: Field, *, required: bool = True) -> Comparison | None:
    """`lt`, `lte`, `gt` or `gte`."""
    value = field.choice(COMPARISONS, required=required)
    return cast(Comparison, value) if value is not None else None


def exactly_one(parent: Field, kinds: Iterable[str], *, what: str) -> str | None:
    """The one key of `kinds` set under `parent`, with an error when none or several are."""
    kinds = tuple(kinds)
    found = [k for k in kinds if parent.has(k)]
    if len(found) == 1:
        return found[0]
    if not found:
        parent.fail(f"one {what} is required: {', '.join(kinds)}")
    else:
        parent[found[1]].fail(f"only one {what} may be set, found {' and '.join(found)}")
    return None


# --- labels ----------------------------------------------------------------------------------


def is_label_name(name: str) -> bool:
    """A name Prometheus takes for a rule's label or annotation (the rule export's check)."""
    return LABEL_NAME.fullmatch(name) is not None and name != "__name__"


def prometheus_labels(field: Field, *, what: str = "label", go_strings: bool = False
                      ) -> dict[str, str]:
    """Labels or annotations that end up on Prometheus rules, checked as Sloth checks them:
    valid label names (not `__name__`), non-empty string values. With `go_strings`, an
    unquoted number or boolean is taken as text the way Sloth's prometheus/v1 loader takes
    it (`go_string`), not refused."""
    out: dict[str, str] = {}
    for key, child in field.entries():
        if not is_label_name(key):
            child.fail(f"{key!r} is not a valid {what} name (letters, digits and '_', "
                       "not starting with a digit, not __name__)")
            continue
        value = go_string(child) if go_strings else child.text(required=True, nonempty=True)
        if value is not None:
            out[key] = value
    return out


# YAML 1.1 booleans as Go's yaml.v2 resolves them (PyYAML leaves y, Y, n and N as text).
_GO_BOOLS = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on",
                              "On", "ON"), "true"),
             **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off",
                              "Off", "OFF"), "false")}


def go_string(field: Field) -> str | None:
    """A scalar read into a Go `string` the way Sloth reads prometheus/v1 specs
    (sigs.k8s.io/yaml: go-yaml v2 resolves the scalar, then a number or boolean bound for a
    string field becomes its text): `true` -> "true", `2` -> "2", `0x10` -> "16", `2.50`
    -> "2.5" (a float as Go's `FormatFloat(v, 'g', -1, 32)`), a date -> RFC 3339. Empty
    or missing is an error, as in Sloth ("the label value is required")."""
    value = field.value
    node = field.doc.node_of(field.keys)
    plain = isinstance(node, yaml.ScalarNode) and not node.style  # libyaml says '' for plain
    text = node.value if plain and isinstance(node, yaml.ScalarNode) else None
    if isinstance(value, str):
        return _go_plain(value) if plain else field.text(nonempty=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if text is not None and ":" in text and isinstance(value, int | float):
        return text  # PyYAML's base 60 (1:30 -> 90): a string to go-yaml v2
    if isinstance(value, int) and -2**63 <= value < 2**64:
        return str(value)
    if isinstance(value, int | float):
        return go_float32(float(value) if abs(value) < 2**1024 else math.copysign(
            math.inf, value))
    if isinstance(value, datetime):
        return _rfc3339(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    return field.text(required=True, nonempty=True)


_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _go_plain(text: str) -> str:
    """A plain scalar PyYAML read as text that go-yaml v2 reads as a boolean (`y`), an
    integer (`0o17`) or a float (`1e6`, which YAML 1.1 wants written `1.0e+6`)."""
    if text in _GO_BOOLS:
        return _GO_BOOLS[text]
    digits = text.replace("_", "")
    try:
        number = int(digits, 0)
    except ValueError:
        pass
    else:
        return str(number) if -2**63 <= number < 2**64 else go_float32(float(digits))
    if _GO_FLOAT.match(digits):
        return go_float32(float(digits))
    return text


def _rfc3339(value: datetime) -> str:
    """Go's time.Time in JSON (RFC 3339, nanoseconds trimmed), UTC when YAML gave no zone."""
    if value.tzinfo is None or value.utcoffset() == timedelta(0):
        zone = "Z"
    else:
        offset = value.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


def go_float32(x: float) -> str:
    """Go's `strconv.FormatFloat(x, 'g', -1, 32)`: the shortest digits that read back as
    the same float32, in %e form when the exponent is below -4 or from 6 on."""
    f32 = np.float32(x) if math.isfinite(x) and abs(x) < 3.5e38 else np.float32(
        math.copysign(math.inf, x) if not math.isnan(x) else math.nan)
    if math.isnan(f32):
        return "NaN"
    if math.isinf(f32):
        return "+Inf" if f32 > 0 else "-Inf"
    if f32 == 0:
        return "-0" if math.copysign(1, f32) < 0 else "0"
    mantissa, exponent = np.format_float_scientific(f32, unique=True, trim="-").split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    exp = int(exponent)
    if exp < -4 or exp >= 6:
        rest = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{rest}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def sanitize_label_name(key: str) -> str:
    """A metadata key (`app.kubernetes.io/team`) as a Prometheus label name, the way
    kube-state-metrics does it: every other character becomes `_`."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    return f"_{name}" if name[:1].isdigit() else name


def metadata_label(field: Field, key: str) -> str | None:
    """`key` sanitized as a label name, or an error on `field` if even that is no label
    name the rules could carry (an empty key, `__name__`)."""
    name = sanitize_label_name(key)
    if not is_label_name(name):
        made = f" (made into {name!r})" if name != key else ""
        field.fail(f"{key!r} cannot be a Prometheus label name{made}")
        return None
    return name


# --- durations and numbers -----------------------------------------------------------------


def prometheus_duration(field: Field, *, required: bool = False) -> timedelta | None:
    """A Prometheus duration (`30d`, `1h30m`, `4w`) of at most 10 years; bare numbers are
    refused as Prometheus refuses them."""
    if field.missing:
        if required:
            field.fail("is required")
        return None
    text = field.value
    if not isinstance(text, str) or not _PROM_DURATION.match(text.strip()):
        field.fail(f"expected a duration such as '30s', '5m', '28d' or '1h30m', got {text!r}")
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        field.fail(str(exc))
        return None
    if value <= timedelta(0):
        field.fail(f"must be longer than 0, got {text!r}")
        return None
    return value


def whole_minutes(field: Field, value: timedelta | None, what: str) -> timedelta | None:
    """`value` if it is a whole number of minutes (SLO data is per minute), else an error."""
    if value is not None and value % MINUTE:
        field.fail(f"{what} must be a whole number of minutes (SLO data is counted per "
                   f"minute), got {field.value!r}")
        return None
    return value


def time_zone(field: Field, *, required: bool = False) -> str | None:
    """An IANA time zone name that the report can find (`UTC`, `Europe/Paris`); by default
    UTC. Looked up as the budget's calendar does (`zoneinfo`, the system's time zone data),
    so a name `validate` passes is one `report` can use."""
    if field.missing and not required:
        return "UTC"
    name = field.text(required=True)
    if name is None:
        return None
    try:
        found = _TIMEZONE.match(name) is not None and ZoneInfo(name) is not None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        found = False
    if not found:
        field.fail(f"unknown time zone {name!r}; expected an IANA name such as 'UTC', "
                   "'Europe/Paris' or 'America/New_York'")
        return None
    return name


def percent(value: float) -> str:
    """101 -> `101`, 99.95 -> `99.95`: numbers in messages as the user wrote them."""
    return repr(int(value)) if float(value).is_integer() else repr(value)


# --- Prometheus selectors -------------------------------------------------------------------


def selector(field: Field, text: str, *, example: str) -> Selector | None:
    """`text` read as a PromQL vector selector (`slo.promql`, the one reader); on a problem
    the error is recorded on `field` with an `example` of what is expected, and None returned."""
    try:
        return parse_selector(text)
    except SpecError as exc:
        field.fail(f"{exc.reason}; expected a selector such as {example}")
        return None


def needs_window(field: Field, query: str | None) -> str | None:
    """Sloth's rule: a query must hold `{{.window}}` so each alert window can fill it in
    (and no other template action: `template_actions`)."""
    if query is not None and not WINDOW_PLACEHOLDER.search(query):
        field.fail("must hold the {{.window}} placeholder, e.g. rate(x[{{.window}}])")
        return None
    return template_actions(field, query)


def template_actions(field: Field, query: str | None) -> str | None:
    """Queries are Go templates that know one variable: `{{.window}}` (`{{ .window }}`).
    Any other action (`{{.Window}}`, `{{ window }}`, an unclosed `{{`) is refused here, as
    rule export and the Prometheus collector (`slo.promql.render_window`) would refuse it."""
    if query is None:
        return None
    rest = WINDOW_PLACEHOLDER.sub("", query)
    if "{{" in rest:
        action = rest[rest.index("{{"):]
        end = action.find("}}")
        shown = action[:end + 2] if 0 <= end < 40 else action[:40]
        field.fail(f"unknown template action {shown!r}: only {{{{.window}}}} is known")
        return None
    return query


def promql(field: Field, query: str | None, *, source: str = "") -> str | None:
    """`query` if a real PromQL parser reads it (its `{{.window}}` filled in as Sloth fills
    it); else the parser's message on `field` and None, so `validate` refuses what
    Prometheus would refuse in the exported rules. `source` names a metric source that is
    not Prometheus (Apollo queries Prometheus whatever the spec says)."""
    if query is None:
        return None
    error = promql_error(query)
    if error is not None:
        field.fail(f"{error} (Apollo sends this {source} source's query to Prometheus)"
                   if source else error)
        return None
    return query


def slug(text: str) -> str:
    """`Internal objective` -> `internal-objective`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

