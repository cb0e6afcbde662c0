"""The fast text-format path reads every page exactly as prometheus_client does, or declines.

"Exactly" is the `Page` `parse_page` builds from prometheus_client's families: the same
series in the same order, the same values to the bit (NaN, -0.0), the same types. A page
prometheus_client refuses (or reads with bad lines) must be declined. Pages come from the
corpus in tests/data/pages (`decline-*.prom` must be declined, all others read), from the
demo fleet, and from hypothesis: well-formed pages that must be read, and mutated or random
ones that must be read the same or declined.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from support import PROFILES, T0

from collectors.scrape import fastparse
from collectors.scrape import parse as exposition
from collectors.scrape.fastparse import fast_page
from collectors.scrape.parse import Page, le_of, parse_page
from services.fleet.faults import Fault, FaultBoard
from services.fleet.simulator import ServiceSimulator, metrics_page

PAGES = sorted((Path(__file__).parent / "data" / "pages").glob("*.prom"))


def slow_page(text: str) -> Page | None:
    """What parse_page gives without the fast path, or None where prometheus_client fails."""
    page = Page()
    try:
        exposition._add(page, text_string_to_metric_families(text))
    except Exception:  # ValueError, IndexError, OverflowError…: the page is not clean
        return None
    return page


def assert_same(fast: Page, slow: Page) -> None:
    assert list(fast.values) == list(slow.values)  # the same series in the same order
    # repr tells NaN from NaN-free values and -0.0 from 0.0, where == cannot
    assert [repr(v) for v in fast.values.values()] == [repr(v) for v in slow.values.values()]
    assert fast.types == slow.types
    assert fast.bad_lines == slow.bad_lines == []


def check(text: str) -> Page | None:
    """The fast page after checking it against prometheus_client's (None: declined)."""
    fast = fast_page(text)
    if fast is not None:
        slow = slow_page(text)
        assert slow is not None, "the fast path read a page prometheus_client refuses"
        assert_same(fast, slow)
    return fast


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # bytes: keep \r and \r\n as they are


# --- the corpus ------------------------------------------------------------------------------


def test_the_corpus_is_there():
    names = {p.name for p in PAGES}
    assert {"escapes.prom", "prometheus-2.42-self.prom", "node-exporter-1.5.prom"} <= names
    assert sum(n.startswith("decline-") for n in names) >= 10


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_corpus_pages_are_read_as_prometheus_client_reads_them_or_declined(path):
    fast = check(read(path))
    if path.name.startswith("decline-"):
        assert fast is None
    else:
        assert fast is not None and len(fast) > 0


def test_what_the_corpus_pages_hold():
    """A few values spelled out, so agreement is not agreement on nothing."""
    page = check(read(PAGES[0].parent / "escapes.prom"))
    assert page is not None
    assert page.values[("http_requests_total",
                        (("method", "GET"), ("path", "C:\\temp\\")))] == 3
    assert ("http_requests_total", (("method", "POST"), ("path", 'say "hi"'))) in page.values
    assert ("http_requests_total",
            (("method", "PUT"), ("path", "line one\nline two"))) in page.values
    assert ("http_requests_total",
            (("method", "GET"), ("path", "tab \\t and \\x stay as written"))) in page.values
    values = check(read(PAGES[0].parent / "special-values.prom")).values  # type: ignore[union-attr]
    by_sensor = {dict(labels)["sensor"]: v for (_, labels), v in values.items()}
    assert math.isnan(by_sensor["nan"]) and by_sensor["minus_inf"] == -math.inf
    assert by_sensor["sci_big"] == 6.02214076e23 and by_sensor["overflow"] == math.inf
    assert math.copysign(1, by_sensor["neg_zero_int"]) == 1  # int("-0") is 0
    assert math.copysign(1, by_sensor["neg_zero_float"]) == -1
    hist = check(read(PAGES[0].parent / "histogram-summary.prom"))
    assert hist is not None
    assert hist.types["rpc_duration_seconds_bucket"] == "histogram"
    assert hist.types["rpc_size_bytes_sum"] == "summary"
    assert hist.values[("rpc_size_bytes", (("quantile", "0.9"),))] == 9001
    assert not any(name.endswith("_created") for name, _ in hist.values)
    # after a _created line inside the family, prometheus_client reads the rest untyped
    assert hist.types["queue_wait_seconds_sum"] == "unknown"
    assert hist.types["rpc_size_bytes"] == "unknown"  # the last rpc_size_bytes line is
    counters = check(read(PAGES[0].parent / "counters.prom"))
    assert counters is not None
    assert counters.values[("jobs_total", (("queue", "a"),))] == 10  # `jobs` + _total
    assert counters.values[("duplicates_total", (("x", "1"),))] == 2  # the last one wins
    assert counters.types["cache_created_total"] == "counter"


# --- the demo fleet --------------------------------------------------------------------------


def fleet_pages() -> list[tuple[str, str]]:
    pages = []
    for slug, profile in PROFILES.items():
        faults = FaultBoard()
        faults.set(Fault("error_burst", until=T0 + 300, rate=0.2))
        faults.set(Fault("latency", until=T0 + 300, factor=3))
        for seed, board in ((1, None), (7, faults)):
            sim = ServiceSimulator(profile, seed=seed, start=T0, faults=board)
            for minutes in (0, 1, 17):
                pages.append((f"{slug}-{seed}-{minutes}",
                              metrics_page(sim, T0 + 60 * minutes + 5).decode()))
    many = dataclasses.replace(PROFILES["api-gateway"],
                               routes=tuple(f"/api/v1/r{i}/{{id}}" for i in range(95)))
    pages.append(("many-routes", metrics_page(ServiceSimulator(many, seed=1, start=T0),
                                              T0 + 600).decode()))
    return pages


def test_every_fleet_page_is_read_by_the_fast_path_and_agrees():
    pages = fleet_pages()
    for name, text in pages:
        fast = check(text)
        assert fast is not None, name
    assert len(check(pages[-1][1]) or ()) > 1900


# --- parse_page goes through the fast path ---------------------------------------------------


def test_parse_page_answers_text_pages_with_the_fast_path(monkeypatch):
    text = fleet_pages()[0][1]
    calls = []
    real = fastparse.read_page

    def counting(page: str) -> fastparse.Reading:
        calls.append(page)
        return real(page)

    monkeypatch.setattr(fastparse, "read_page", counting)
    page = parse_page(text, "text/plain; version=0.0.4; charset=utf-8")
    assert calls == [text]
    assert_same(page, slow_page(text))  # type: ignore[arg-type]


def test_openmetrics_pages_never_reach_the_fast_path(monkeypatch):
    def refuse(page: str) -> Page | None:
        raise AssertionError("the fast path was asked about an OpenMetrics page")

    monkeypatch.setattr(fastparse, "fast_page", refuse)
    monkeypatch.setattr(fastparse, "read_page", refuse)
    text = ("# TYPE rpc_seconds histogram\n"
            'rpc_seconds_bucket{le="0.1"} 8 # {trace_id="abc"} 0.05 1700000000.0\n'
            'rpc_seconds_bucket{le="+Inf"} 17\nrpc_seconds_sum 3.2\nrpc_seconds_count 17\n'
            "rpc_seconds_created 1.7e9\n# EOF\n")
    page = parse_page(text, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert page.values[("rpc_seconds_bucket", (("le", "0.1"),))] == 8
    assert ("rpc_seconds_created", ()) not in page.values


def test_a_declined_page_still_gets_its_bad_lines_reported():
    text = read(PAGES[0].parent / "decline-bad-value.prom")
    assert fast_page(text) is None
    page = parse_page(text)
    assert [b.line for b in page.bad_lines] == [3, 4]
    assert page.values == {("jobs_total", (("queue", "a"),)): 10.0}


# --- line endings and whitespace, built here so no editor or git setting can touch them ------


@pytest.mark.parametrize("ending", ["\n", "\r\n", " \n", "\t\r\n", "  \r\n"])
def test_line_endings_and_trailing_blanks(ending):
    lines = ["# HELP up Up.", "# TYPE up gauge", 'up{job="a"} 1', "", 'up{job="b"} 0 1700000000000']
    text = ending.join(lines) + ending
    assert check(text) is not None
    assert check(text.rstrip()) is not None  # no newline at the end


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r"])
def test_unicode_line_separators_inside_label_values_are_not_line_breaks(separator):
    text = f'# TYPE x gauge\nx{{v="a{separator}b"}} 1\n'
    page = check(text)
    assert page is not None and page.values == {("x", (("v", f"a{separator}b"),)): 1.0}


@pytest.mark.parametrize("line", [
    "x  1", "x 1  2", "x\t1", "x{a=\"1\"}1", "x {a=\"1\"} 1", "x{a=\"1\" } 1", "x{,} 1",
    "x{a=\"1\",,b=\"2\"} 1", "x 1 2 3", "x 1 2.5", "x 0x10", "x 1_000", "x ١", "x 1e",
    "x{a:b=\"1\"} 1", "x{a=\"1\"} 1 # {t=\"1\"} 1", "x{a=\"unterminated} 1", "\u00a0x 1",
    "x 1\u00a0", "x{a=\"1\\\"} 1", "# TYPE x  gauge", "# TYPE x gauge extra", "#\tHELP x y",
    "# HELP \"x\" quoted", "x " + "9" * 65,
])
def test_lines_outside_the_grammar_are_declined_or_agree(line):
    check(f"# TYPE x gauge\n{line}\nx{{z=\"0\"}} 2\n")
    check(f"{line}\n")


# --- hypothesis ------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,8}", fullmatch=True)
LABEL_NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,5}", fullmatch=True).filter(
    lambda n: not n.startswith("__"))
RAW_LABEL_VALUES = st.text(st.characters(codec="utf-8"), max_size=8)
NUMBERS = st.one_of(
    st.floats().map(repr),
    st.floats(allow_nan=False).map(lambda x: f"{x:.6e}"),
    st.floats(allow_nan=False).map(lambda x: f"{x:G}"),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["NaN", "+Inf", "-Inf", "Inf", "nan", "-0", "-0.0", "+0", ".5", "5.",
                     "1e3", "1E-3", "007", "-00", "infinity", "+inf", "-nan"]),
)
TIMESTAMPS = st.integers(-(10**17), 10**17).map(str)
HELP_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=20)
SUFFIXES = {
    "counter": ["", "_total", "_created"],
    "gauge": [""],
    "untyped": [""],
    "summary": ["", "_sum", "_count", "_created"],
    "histogram": ["_bucket", "_sum", "_count", "_created"],
    None: ["", "_total"],
}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@st.composite
def sample_lines(draw, name: str) -> str:
    labels = draw(st.dictionaries(LABEL_NAMES, RAW_LABEL_VALUES.map(escape), max_size=5))
    items = draw(st.permutations(list(labels.items())))
    body = ",".join(f'{k}="{v}"' for k, v in items)
    if body and draw(st.booleans()):
        body += ","  # a trailing comma
    braces = f"{{{body}}}" if items or draw(st.booleans()) else ""
    stamp = f" {draw(TIMESTAMPS)}" if draw(st.booleans()) else ""
    blank = draw(st.sampled_from(["", "", " ", "\t", "\r", " \r"]))
    return f"{name}{braces} {draw(NUMBERS)}{stamp}{blank}"


@st.composite
def families(draw, name: str) -> list[str]:
    kind = draw(st.sampled_from(["counter", "gauge", "histogram", "summary", "untyped", None]))
    lines = []
    if draw(st.booleans()):
        lines.append(f"# HELP {name} {escape(draw(HELP_TEXT))}".rstrip())
    if kind is not None:
        lines.append(f"# TYPE {name} {kind}")
    for _ in range(draw(st.integers(0, 6))):
        suffix = draw(st.sampled_from(SUFFIXES[kind]))
        lines.append(draw(sample_lines(name + suffix)))
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "# a comment", "   "])))
    return lines


@st.composite
def pages(draw) -> str:
    """Well-formed in the fast path's grammar: it must read them all."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    lines = [line for name in names for line in draw(families(name))]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


TRICKY = ' \t{}=",\\#\n\r_:.+-eEInfNa0123456789abxy\u00a0\u2028é'


@st.composite
def mutated_pages(draw) -> str:
    text = draw(pages())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace", "line"]))
        if how == "insert":
            text = text[:at] + draw(st.text(st.sampled_from(TRICKY), min_size=1, max_size=3)) \
                + text[at:]
        elif how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 3)):]
        elif how == "replace":
            text = text[:at] + draw(st.sampled_from(TRICKY)) + text[at + 1:]
        else:
            line = draw(st.text(st.sampled_from(TRICKY), max_size=30))
            text = text[:at] + "\n" + line + "\n" + text[at:]
    return text


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(pages())
def test_well_formed_pages_are_read_and_agree(text):
    assert check(text) is not None


@FUZZ
@given(mutated_pages())
def test_mutated_pages_agree_or_are_declined(text):
    check(text)


@FUZZ
@given(st.text(st.sampled_from(TRICKY), max_size=80))
def test_random_text_agrees_or_is_declined(text):
    check(text)


UNCOUNTABLE = re.compile(r".* cannot be counted|histogram bucket .*")  # a sample, not a line


@FUZZ
@given(mutated_pages())
def test_a_page_with_bad_lines_is_the_rest_of_it_as_prometheus_client_reads_that(text):
    """parse_page names each bad line by its number; without those lines, prometheus_client
    reads the very same page (less the uncountable samples it also named)."""
    page = parse_page(text)
    lines = text.split("\n")
    named = {b.line: b for b in page.bad_lines}
    assert len(named) == len(page.bad_lines) and 0 not in named
    for number, bad in named.items():
        if not UNCOUNTABLE.fullmatch(bad.reason):
            assert slow_page(lines[number - 1] + "\n") is None, bad  # refused alone too
    rest = slow_page("\n".join(line for n, line in enumerate(lines, 1) if n not in named))
    if rest is None:
        return  # lines that read alone but not together: no line to name (never seen)
    # a series written twice is the last line's: set aside if that is NaN, even if not the first
    kept = {key: value for key, value in rest.values.items() if key not in page.set_aside
            and not (rest.types[key[0]] == "histogram" and key[0].endswith("_bucket")
                     and le_of(key[1]) is None)}
    assert list(page.values) == list(kept)
    assert [repr(v) for v in page.values.values()] == [repr(v) for v in kept.values()]
    assert {n: page.types[n] for n, _ in page.values} == {n: rest.types[n] for n, _ in kept}


@FUZZ
@given(st.lists(st.tuples(LABEL_NAMES, st.text(max_size=6)), min_size=1, max_size=7), NUMBERS)
def test_any_label_set_agrees_or_is_declined(pairs, number):
    body = ",".join(f'{k}="{escape(v)}"' for k, v in pairs)
    page = check(f"# TYPE m gauge\nm{{{body}}} {number}\n")
    names = [k for k, _ in pairs]
    if page is not None:
        assert len(set(names)) == len(names)  # duplicates are always declined
        ((_, labels),) = page.values
        assert labels == tuple(sorted((k, v) for k, v in pairs))
