"""Each SLO's good/total for one minute, from the increases of the pages scraped directly.

Without Prometheus there is no PromQL engine, so this reads the small part of PromQL that
SLO specs use on counters: `sum(rate(SELECTOR[{{.window}}]))` (or `increase`) for request
ratios, the histogram's `le` bucket and `_count` for latency thresholds, and
`histogram_quantile(q, sum by (le) (rate(NAME_bucket{…}[{{.window}}])))` compared with a
value for timeslice SLOs. Anything else is reported as needing Prometheus.
Scraped samples get `job` (the service) and `instance` labels, as Prometheus adds them.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from collectors.scrape.increases import Key
from collectors.scrape.parse import Labels, le_of
from slo.errors import SpecError
from slo.histogram import histogram_quantile
from slo.model import SLO, LatencyThreshold, RequestRatio, Threshold
from slo.promql import Selector, bucket_matcher, parse_selector, split_selector

_SUM_RATE = re.compile(
    r"^\s*sum\s*\(\s*(?:rate|increase)\s*\(\s*(?P<sel>.+?)\s*\[\s*\{\{\s*\.window\s*\}\}\s*\]"
    r"\s*\)\s*\)\s*$", re.DOTALL)
_QUANTILE = re.compile(
    r"^\s*histogram_quantile\s*\(\s*(?P<q>[0-9.]+)\s*,\s*sum\s+by\s*\(\s*le\s*\)\s*\(\s*"
    r"(?:rate|increase)\s*\(\s*(?P<sel>.+?)\s*\[\s*\{\{\s*\.window\s*\}\}\s*\]\s*\)\s*\)\s*\)"
    r"\s*$", re.DOTALL)
MAX_REMEMBERED = 200_000  # selector verdicts kept per SLO (series x targets)
_COMPARE = {"lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
            "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b}


def _sum_of(query: str) -> Selector:
    found = _SUM_RATE.match(query)
    if not found:
        raise SpecError(f"only sum(rate(SELECTOR[{{{{.window}}}}])) can be read from pages, got "
                        f"{query.strip()!r}", field="sli")
    return parse_selector(found.group("sel"), field="sli")


@dataclass(frozen=True)
class PageSli:
    """How to get one SLO's good and total from a minute of page increases."""

    slo: SLO
    total: Selector
    good: Selector | None = None  # good = total - errors when None
    errors: Selector | None = None
    quantile: float | None = None  # timeslices: the quantile that is compared
    compare: tuple[str, float] | None = None
    # Which series each selector takes, remembered: the same series come every minute.
    chosen: dict[tuple, bool] = field(default_factory=dict, compare=False, repr=False)
    # (selector, job, instance) -> (the minute's series in order, those the selector
    # takes): a minute with the same series as the last one skips the per-series checks.
    picked: dict[tuple, tuple[tuple[Key, ...], list[Key]]] = field(
        default_factory=dict, compare=False, repr=False)

    def selects(self, selector: Selector, name: str, labels: Labels, job: str,
                instance: str) -> bool:
        key = (id(selector), name, labels, job, instance)
        hit = self.chosen.get(key)
        if hit is None:
            if len(self.chosen) > MAX_REMEMBERED:  # series churn: start again, stay bounded
                self.chosen.clear()
            hit = self.chosen[key] = _named(selector, name) and selector.matches(
                name, _with_target(labels, job, instance))
        return hit

    @functools.cached_property
    def job(self) -> str | None:  # asked for every target every minute: worked out once
        return self.total.value_of("job")


def page_sli(slo: SLO) -> PageSli:
    """The page reading of an SLO, or SpecError saying it needs Prometheus."""
    sli = slo.sli
    if isinstance(sli, RequestRatio) and not sli.counter:
        total = _sum_of(sli.total_query)
        if sli.error_query:
            return PageSli(slo, total, errors=_sum_of(sli.error_query))
        return PageSli(slo, total, good=_sum_of(sli.good_query or ""))
    if isinstance(sli, LatencyThreshold):
        base = split_selector(sli.metric, where=f"SLO {slo.id!r}: ")
        le = bucket_matcher(sli)  # `le="1"` as the spec wrote it: Go clients expose "1"
        return PageSli(slo, base.renamed(f"{base.name}_count"),
                       good=base.renamed(f"{base.name}_bucket", le))
    if isinstance(sli, Threshold):
        found = _QUANTILE.match(sli.query)
        if found:
            sel = parse_selector(found.group("sel"), field="sli")
            return PageSli(slo, sel, quantile=float(found.group("q")),
                           compare=(sli.op, sli.value))
    raise SpecError(f"{type(sli).__name__} SLIs of this shape need Prometheus", field="sli")


def _with_target(labels: tuple[tuple[str, str], ...], job: str, instance: str
                 ) -> dict[str, str]:
    return {**dict(labels), "job": job, "instance": instance}


def _named(selector: Selector, name: str) -> bool:
    """The cheap first test of a sample: its name (a selector by `__name__` takes any)."""
    return not selector.name or selector.name == name


def good_total(reading: PageSli, increases: Mapping[Key, float], *, job: str, instance: str
               ) -> tuple[float, float] | None:
    """(good, total) of one minute of one target, or None if the SLO has nothing here."""
    if reading.job is not None and reading.job != job:
        return None
    picked = _Picker(reading, increases, job, instance)
    if reading.quantile is not None and reading.compare is not None:
        return _timeslice(reading, increases, picked(reading.total))
    total = sum(increases[key] for key in picked(reading.total))
    if reading.good is not None:
        return sum(increases[key] for key in picked(reading.good)), total
    assert reading.errors is not None
    return total - sum(increases[key] for key in picked(reading.errors)), total


@dataclass
class _Picker:
    """The series of one minute of one target that a selector takes; remembered per
    selector and target while the minute's series are the same as the last one's."""

    reading: PageSli
    increases: Mapping[Key, float]
    job: str
    instance: str
    series: tuple[Key, ...] = ()
    by_name: dict[str, list[Key]] = field(default_factory=dict)

    def __call__(self, selector: Selector) -> list[Key]:
        if not self.series:
            self.series = tuple(self.increases)
        memo = (id(selector), self.job, self.instance)
        seen = self.reading.picked.get(memo)
        if seen is None or seen[0] != self.series:
            if not self.by_name:
                for key in self.series:
                    self.by_name.setdefault(key[0], []).append(key)
            candidates = self.by_name.get(selector.name, ()) if selector.name else self.series
            seen = self.reading.picked[memo] = (self.series, [
                key for key in candidates
                if self.reading.selects(selector, key[0], key[1], self.job, self.instance)])
        return seen[1]


def counts_any(reading: PageSli, keys: Iterable[Key], *, job: str, instance: str) -> bool:
    """Whether the SLO's good or total counts any of these series of a target."""
    selectors = [s for s in (reading.total, reading.good, reading.errors) if s is not None]
    return any(reading.selects(selector, name, labels, job, instance)
               for name, labels in keys for selector in selectors)


def _timeslice(reading: PageSli, increases: Mapping[Key, float], keys: Iterable[Key]
               ) -> tuple[float, float] | None:
    by_le: dict[float, float] = {}
    for key in keys:
        le = le_of(key[1])
        if le is not None:  # a page never hands out another bucket (parse.uncountable)
            by_le[le] = by_le.get(le, 0.0) + increases[key]
    if not by_le or by_le.get(math.inf, 0.0) <= 0:
        return None  # no requests this minute: no verdict
    bounds = sorted(by_le)
    value = float(histogram_quantile(reading.quantile or 0.0, np.array(bounds),
                                     np.array([by_le[b] for b in bounds]))[0])
    op, limit = reading.compare or ("lte", math.inf)
    return (1.0 if _COMPARE[op](value, limit) else 0.0), 1.0


def readings(slos: Iterable[SLO]) -> tuple[list[PageSli], list[tuple[SLO, str]]]:
    """The SLOs pages can serve, and the others with the reason."""
    ok, skipped = [], []
    for slo in slos:
        try:
            ok.append(page_sli(slo))
        except SpecError as exc:
            skipped.append((slo, exc.reason))
    return ok, skipped
