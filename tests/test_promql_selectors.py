"""The one selector reader (`slo.promql.parse_selector`): what it reads, what it refuses, how a
matcher matches, and that a matcher means the same on a page as in a real Prometheus.

Expected parses are worked out by hand from PromQL's lexer rules (Go escapes; octal and \\x
spell bytes, \\u and \\U code points); the property tests spell values with an encoder
written here from those rules, not with the module's own quoting.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, start_http_server
from support import T0

from collectors.scrape.increases import TargetIncreases
from collectors.scrape.parse import parse_page
from collectors.scrape.sli import good_total, page_sli
from slo.errors import SpecError, SpecErrors
from slo.model import LatencyThreshold
from slo.promql import Matcher, Selector, counter_increase, latency_queries, parse_selector
from slo.specs import load_slos

# --- what is read ------------------------------------------------------------------------------


def sel(name: str, *matchers: tuple[str, str, str]) -> Selector:
    return Selector(name, tuple(Matcher(label, op, value) for label, op, value in matchers))  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("up", sel("up"), id="a bare name"),
    pytest.param("up{}", sel("up"), id="empty braces"),
    pytest.param("ns:rule:rate5m", sel("ns:rule:rate5m"), id="a recording rule name"),
    pytest.param(' up { job = "api" , } ', sel("up", ("job", "=", "api")),
                 id="blanks everywhere and a trailing comma"),
    pytest.param('x{a="1",b!="2",c=~"3|4",d!~"5.*"}',
                 sel("x", ("a", "=", "1"), ("b", "!=", "2"), ("c", "=~", "3|4"),
                     ("d", "!~", "5.*")),
                 id="the four operators"),
    pytest.param('x{route="/café"}', sel("x", ("route", "=", "/café")), id="non-ASCII as is"),
    pytest.param('x{route="/cafe\u0301"}', sel("x", ("route", "=", "/cafe\u0301")),
                 id="a combining accent is not normalised"),
    pytest.param('x{path="a\\"b"}', sel("x", ("path", "=", 'a"b')), id="an escaped quote"),
    pytest.param("x{path='a\"b'}", sel("x", ("path", "=", 'a"b')),
                 id="a double quote inside single quotes"),
    pytest.param("x{path='it\\'s'}", sel("x", ("path", "=", "it's")),
                 id="an escaped single quote"),
    pytest.param('x{path="C:\\\\temp\\\\"}', sel("x", ("path", "=", "C:\\temp\\")),
                 id="escaped backslashes"),
    pytest.param("x{path=`C:\\temp\\n`}", sel("x", ("path", "=", "C:\\temp\\n")),
                 id="a raw string keeps backslashes"),
    pytest.param("x{re=~`\\d+\"`}", sel("x", ("re", "=~", '\\d+"')),
                 id="a raw regex with a double quote"),
    pytest.param('x{v="\\a\\b\\f\\n\\r\\t\\v"}', sel("x", ("v", "=", "\a\b\f\n\r\t\v")),
                 id="the character escapes"),
    pytest.param('x{v="\\x41\\102\\u00e9\\U0001F600"}', sel("x", ("v", "=", "ABé😀")),
                 id="hex, octal, \\u and \\U escapes"),
    pytest.param('x{v="caf\\xc3\\xa9"}', sel("x", ("v", "=", "café")),
                 id="\\x escapes spell UTF-8 bytes"),
    pytest.param('x{v="caf\\303\\251"}', sel("x", ("v", "=", "café")),
                 id="octal escapes spell UTF-8 bytes"),
    pytest.param('{__name__="up"}', sel("", ("__name__", "=", "up")), id="the name by __name__"),
    pytest.param('{job="api"}', sel("", ("job", "=", "api")),
                 id="no name, a matcher that needs a value"),
    pytest.param('x{on="1",bool="2"}', sel("x", ("on", "=", "1"), ("bool", "=", "2")),
                 id="PromQL keywords as label names"),
])
def test_a_selector_is_read_as_prometheus_reads_it(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize(("text", "printed"), [
    pytest.param(' x { a = "1" , b=~\'2\' , c!=`3`, } ', "x{a=\"1\",b=~'2',c!=`3`}",
                 id="quotes as written, blanks and the trailing comma dropped"),
    pytest.param('x{v="\\u00e9\\x41"}', 'x{v="\\u00e9\\x41"}', id="escapes as written"),
    pytest.param("x{}", "x", id="empty braces print as the bare name"),
])
def test_a_parsed_selector_prints_its_matchers_as_written(text, printed):
    assert str(parse_selector(text)) == printed


def test_a_matcher_made_in_code_prints_with_go_quoting():
    assert str(sel("x", ("v", "=", 'a"b\\c\nd\x01é'))) == 'x{v="a\\"b\\\\c\\nd\\x01é"}'


@pytest.mark.parametrize(("text", "fragment"), [
    pytest.param("", "expected a metric name or '{'", id="nothing"),
    pytest.param('x{a="1"', "expected ',' or '}' after a matcher (column 8)", id="unclosed"),
    pytest.param('x{a "1"}', "expected =, !=, =~ or !~ after label 'a'", id="no operator"),
    pytest.param('x{a==1}', "expected a quoted value", id="an unquoted value"),
    pytest.param('x{1a="1"}', "expected a label name (column 3)", id="a bad label name"),
    pytest.param('x{a="1"} y', "unexpected 'y' after the selector", id="trailing text"),
    pytest.param('x{a="1"}[5m]', "unexpected '[5m]'", id="a range, not a selector"),
    pytest.param("rate(x[5m])", "expected '{' after the metric name", id="a function call"),
    pytest.param('x{a="1}', "unterminated quoted string (column 5)", id="an unterminated string"),
    pytest.param("x{a=`1}", "unterminated raw string", id="an unterminated raw string"),
    pytest.param('x{a="1\n"}', "a line break inside a quoted string", id="a raw line break"),
    pytest.param('x{a="\\q"}', "unknown escape sequence \\q", id="an unknown escape"),
    pytest.param('x{a="\\\'"}', "unknown escape sequence \\'",
                 id="a single quote escaped inside double quotes"),
    pytest.param("x{a='\\\"'}", 'unknown escape sequence \\"',
                 id="a double quote escaped inside single quotes"),
    pytest.param('x{a="\\x4"}', "\\x needs 2 hex digits", id="a short hex escape"),
    pytest.param('x{a="\\400"}', "at most \\377", id="an octal escape above a byte"),
    pytest.param('x{a="\\ud800"}', "not a Unicode code point", id="a surrogate"),
    pytest.param('x{a="\\U00110000"}', "not a Unicode code point", id="beyond Unicode"),
    pytest.param('x{a="\\xff"}', "not UTF-8", id="bytes that are not UTF-8"),
    pytest.param('x{a=~"("}', "'(' is not a regular expression", id="a broken regex"),
    pytest.param('{a=~".*"}', "needs a matcher that does not match the empty string",
                 id="no name and nothing required"),
    pytest.param('x{__name__="y"}', "metric name is given twice", id="two names"),
])
def test_a_bad_selector_is_refused_saying_what_and_where(text, fragment):
    with pytest.raises(SpecError) as info:
        parse_selector(text, field="sli.total")
    assert info.value.field == "sli.total"
    assert fragment in info.value.reason


# --- how a matcher matches ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "name", "labels", "selected"), [
    pytest.param('x{a="1"}', "x", {"a": "1", "b": "2"}, True, id="other labels do not matter"),
    pytest.param('x{a="1"}', "y", {"a": "1"}, False, id="another metric"),
    pytest.param('x{a=~"1|2"}', "x", {"a": "12"}, False, id="a regex is anchored at both ends"),
    pytest.param('x{a=~"1|12"}', "x", {"a": "12"}, True, id="any alternative may match all"),
    pytest.param('x{a=~"(?i)err"}', "x", {"a": "ERR"}, True, id="inline flags"),
    pytest.param('x{a!="1"}', "x", {}, True, id="a missing label is not 1"),
    pytest.param('x{a=""}', "x", {}, True, id="a missing label equals the empty string"),
    pytest.param('x{a=~".+"}', "x", {}, False, id="a missing label has no value"),
    pytest.param('x{a!~"1.*"}', "x", {"a": "2"}, True, id="a negative regex"),
    pytest.param('{__name__=~"x|y"}', "y", {}, True, id="the name matched as __name__"),
    pytest.param('x{a=~"caf."}', "x", {"a": "café"}, True, id="a dot is one code point"),
])
def test_matching(text, name, labels, selected):
    assert parse_selector(text).matches(name, labels) is selected


# --- rendering and reading round-trip ---------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(
    lambda label: label != "__name__")
metric_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,12}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def matchers(draw: st.DrawFn) -> Matcher:
    op = draw(st.sampled_from(["=", "!=", "=~", "!~"]))
    value = draw(values)
    return Matcher(draw(label_names), op, re.escape(value) if "~" in op else value)


selectors = st.builds(lambda name, ms: Selector(name, tuple(ms)), metric_names,
                      st.lists(matchers(), max_size=4))


@given(selectors)
def test_a_rendered_selector_reads_back_the_same(selector):
    assert parse_selector(str(selector)) == selector


_SHORT = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v",
          "\\": "\\"}


@st.composite
def spelled(draw: st.DrawFn, value: str) -> str:
    """`value` quoted some way PromQL allows, each character written plainly or escaped."""
    if "`" not in value and draw(st.booleans()):
        return f"`{value}`"
    quote = draw(st.sampled_from(['"', "'"]))
    out = [quote]
    for ch in value:
        choices = ["hex", "octal", "u", "U"]
        if ch not in (quote, "\\", "\n"):
            choices.append("plain")
        if ch in _SHORT or ch == quote:
            choices.append("short")
        how = draw(st.sampled_from(choices))
        if how == "plain":
            out.append(ch)
        elif how == "short":
            out.append("\\" + _SHORT.get(ch, ch))
        elif how == "hex":
            out.extend(f"\\x{b:02x}" for b in ch.encode())
        elif how == "octal":
            out.extend(f"\\{b:03o}" for b in ch.encode())
        elif how == "u" and ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out) + quote


@given(st.data(), metric_names, st.lists(matchers(), max_size=4))
def test_every_spelling_of_a_value_reads_back_to_it(data, name, ms):
    blank = st.sampled_from(["", " ", "\t", "\n "])
    parts = [f"{data.draw(blank)}{m.label}{data.draw(blank)}{m.op}{data.draw(blank)}"
             f"{data.draw(spelled(m.value))}{data.draw(blank)}" for m in ms]
    comma = "," if ms and data.draw(st.booleans()) else ""
    text = f"{data.draw(blank)}{name}{data.draw(blank)}{{{','.join(parts)}{comma}}}"
    assert parse_selector(text) == Selector(name, tuple(ms))


# --- every caller reads the same ---------------------------------------------------------------

MATCHERS = 'route="/café",path=\'a"b\',q=~`\\d+`'


def test_rule_export_prints_the_matchers_as_written():
    errors, total = latency_queries(LatencyThreshold(f"latency_seconds{{{MATCHERS}}}", 0.25))
    assert f"latency_seconds_count{{{MATCHERS}}}" in total
    assert f'latency_seconds_bucket{{{MATCHERS},le="0.25"}}' in errors
    assert counter_increase(f"requests_total{{ {MATCHERS} }}") == (
        f"sum(increase(requests_total{{{MATCHERS}}}[{{{{.window}}}}]))")


def test_spec_formats_keep_the_matchers_as_written():
    (apollo,) = load_slos(f"""\
apiVersion: apollo/v1
kind: SLO
service: shop
name: latency
objective: 99
sli:
  latency_threshold:
    histogram: latency_seconds{{{MATCHERS}}}
    threshold: 250ms
""", path="apollo.yaml")
    assert apollo.sli == LatencyThreshold(f"latency_seconds{{{MATCHERS}}}", 0.25)
    (pyrra,) = load_slos(f"""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: shop}}
spec:
  target: "99"
  window: 28d
  indicator:
    latency:
      success: {{metric: 'latency_seconds_bucket{{{MATCHERS.replace("'", "''")},le="0.25"}}'}}
      total: {{metric: 'latency_seconds_count{{{MATCHERS.replace("'", "''")}}}'}}
""", path="pyrra.yaml")
    assert pyrra.sli == LatencyThreshold(f"latency_seconds{{{MATCHERS}}}", 0.25)


def test_a_spec_with_a_bad_selector_names_the_field_and_the_problem():
    with pytest.raises(SpecErrors) as info:
        load_slos("""\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: shop}
spec:
  target: "99"
  window: 28d
  indicator:
    ratio:
      errors:
        metric: requests_total{path="a\\'b"}
      total:
        metric: requests_total
""", path="pyrra.yaml")
    assert "spec.indicator.ratio.errors.metric" in str(info.value)
    assert "unknown escape sequence \\'" in str(info.value)


# --- end to end: a real page and a real Prometheus ---------------------------------------------

# (route, code) -> requests, as a prometheus_client counter counts them
REQUESTS = {
    ("/café", "200"): 7, ("/café", "500"): 2,
    ("/cafe\u0301", "200"): 50,  # the same word with a combining accent: another label value
    ("/cafe", "200"): 100,
    ('a"b', "200"): 11, ('a"b', "500"): 3,
    ("a\\b", "200"): 40, ("a", "200"): 1000,
}

# selector -> the requests it selects, summed by hand from REQUESTS
COUNTS = {
    'http_requests_total{route="/café"}': 9,
    'http_requests_total{route="/café",code=~"5.."}': 2,
    'http_requests_total{route="/caf\\u00e9"}': 9,
    'http_requests_total{route="/caf\\303\\251"}': 9,
    'http_requests_total{route="/cafe\\u0301"}': 50,
    'http_requests_total{route=~"/caf."}': 109,  # é and e are one code point each
    'http_requests_total{route=~"/caf.*",route!="/cafe"}': 59,
    'http_requests_total{route="a\\"b"}': 14,
    "http_requests_total{route='a\"b'}": 14,
    'http_requests_total{route="a\\"b",code="500"}': 3,
    'http_requests_total{route="a\\\\b"}': 40,
    "http_requests_total{route=`a\\b`}": 40,
    'http_requests_total{route=~"a.b"}': 54,
    'http_requests_total{route!~"/.*",code!="500"}': 1051,
}


@contextmanager
def page_of(counts: Callable[[], dict[tuple[str, str], int]]) -> Iterator[tuple[str, Counter]]:
    """A real prometheus_client /metrics endpoint on loopback whose counter starts at zero."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "Requests served.", ["route", "code"],
                       registry=registry)
    for route, code in counts():
        requests.labels(route=route, code=code)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def count_requests(requests: Counter) -> None:
    for (route, code), n in REQUESTS.items():
        requests.labels(route=route, code=code).inc(n)


def slo_text(name: str, selector: str) -> str:
    errors = selector[:-1] + ',code=~"5.."}'
    return f"""\
apiVersion: apollo/v1
kind: SLO
service: shop
name: {name}
objective: 99
sli:
  request_ratio:
    errors: sum(rate({errors}[{{{{.window}}}}]))
    total: sum(rate({selector}[{{{{.window}}}}]))
"""


def test_a_page_sli_counts_the_requests_its_matchers_select():
    """Two scrapes of a real page a minute apart: the minute holds every request of REQUESTS,
    and each SLO's reading counts those of its route only."""
    slos = load_slos("---\n".join([
        slo_text("cafe", 'http_requests_total{route="/café"}'),
        slo_text("quote", 'http_requests_total{route="a\\"b"}'),
        slo_text("quote-single", "http_requests_total{route='a\"b'}"),
        slo_text("backslash", "http_requests_total{route=`a\\b`}"),
    ]), path="shop.yaml")
    state = TargetIncreases()
    with page_of(lambda: REQUESTS) as (url, requests):
        assert state.observe(T0, parse_page(httpx.get(url, trust_env=False).text)) == []
        count_requests(requests)
        (minute,) = state.observe(T0 + 60, parse_page(httpx.get(url, trust_env=False).text))
    got = {slo.id: good_total(page_sli(slo), minute.increases, job="shop", instance="pod-1")
           for slo in slos}
    assert got == {"shop-cafe": (7, 9), "shop-quote": (11, 14), "shop-quote-single": (11, 14),
                   "shop-backslash": (40, 40)}


def page_counts(url: str) -> dict[str, float]:
    """Each selector of COUNTS applied by our reader to the series of the page at `url`."""
    page = parse_page(httpx.get(url, trust_env=False, timeout=5).text)
    counts = {}
    for text in COUNTS:
        selector = parse_selector(text)
        counts[text] = sum(v for (name, labels), v in page.values.items()
                           if selector.matches(name, dict(labels)))
    return counts


def test_the_page_reading_agrees_with_the_hand_count():
    with page_of(lambda: REQUESTS) as (url, requests):
        count_requests(requests)
        assert page_counts(url) == COUNTS


def test_page_slis_read_their_selectors_with_the_one_reader():
    for text in COUNTS:
        reading = page_sli(load_slos(slo_text("any", text), path="any.yaml")[0])
        assert reading.total == parse_selector(text) and str(reading.total) == text


@pytest.mark.servers
def test_prometheus_counts_the_same_requests_with_the_same_matchers(prometheus_factory):
    with page_of(lambda: REQUESTS) as (url, requests):
        count_requests(requests)
        target = url.removeprefix("http://").removesuffix("/metrics")
        prometheus = prometheus_factory(scrape_configs=[
            {"job_name": "shop", "scrape_interval": "1s",
             "static_configs": [{"targets": [target]}]}])
        prometheus.wait_for_targets_up(1, timeout=30)
        deadline = time.monotonic() + 20
        while not prometheus.query("http_requests_total")["result"]:
            assert time.monotonic() < deadline, "Prometheus stored no sample of the page"
            time.sleep(0.2)
        answers = {}
        for text in COUNTS:
            result = prometheus.query(f"sum({text})")["result"]
            answers[text] = float(result[0]["value"][1]) if result else 0.0
        ours = page_counts(url)
    assert answers == ours == COUNTS
